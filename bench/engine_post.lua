-- wrk script for bench/engine.sh: POST a streamed 16-token chat completion.
-- wrk counts a request when the whole chunked reply (up to data: [DONE]) is read.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"llama-3.2-11b-vision","messages":[{"role":"user","content":"hello hello hello hello"}],"max_tokens":16,"ignore_eos":true,"stream":true}'

