-- wrk script for bench/serve.sh: POST the streamed chat completion in the file named
-- by the environment variable SERVE_BODY (text-only or with one image); wrk counts a
-- request when the whole chunked reply (up to data: [DONE]) is read.
local f = assert(io.open(os.getenv("SERVE_BODY"), "rb"))
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = f:read("*a")
f:close()
