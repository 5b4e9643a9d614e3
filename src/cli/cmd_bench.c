/*
 * `modserve bench`: replay a trace with images against an OpenAI-compatible endpoint
 * (loadgen/), print the summary as `vllm bench serve` does, save its JSON.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "loadgen/loadgen.h"
#include "trace/trace_synth.h"

static const char usage_text[] =
	"usage: modserve bench --endpoint URL [--trace FILE|synth] [options]\n"
	"\n"
	"Replays a trace against an OpenAI-compatible chat endpoint, with generated images,\n"
	"and measures TTFT, TPOT, ITL and E2E latency from the streams.\n"
	"\n"
	"  --endpoint URL         http://HOST:PORT[/v1/chat/completions]\n"
	"  --trace FILE|synth     trace CSV/CSV.gz, or the built-in synthetic trace [synth]\n"
	"  --skip-bad             skip bad trace rows (counted) instead of failing\n"
	"  --model M              model name to send [the first of GET /v1/models]\n"
	"  --rate-scale K         divide arrival times by K [1]\n"
	"  --rate R               Poisson arrivals at R requests/s instead of trace times\n"
	"  --max-concurrency N    requests open at once; due ones wait (0: no limit) [0]\n"
	"  --num-requests N       first N rows (synth: N requests) [all; synth 1000]\n"
	"  --duration S           send only rows arriving in the first S seconds\n"
	"  --seed S               images picked and Poisson times [1]\n"
	"  --warmup N             first send N requests shaped like the first N rows, all\n"
	"                         at once, and discard them (not in any result) [0]\n"
	"  --image-tokens N       image tokens per image inside ContextTokens [85]\n"
	"  --max-images N         images per request, capped as sim caps them [16]\n"
	"  --image-pool N         distinct generated images [64]\n"
	"  --image-dir DIR        send the PNG/JPEG files of DIR instead of generated images\n"
	"  --timeout S            inactivity timeout per request [300]\n"
	"  --out FILE             results as JSON (vllm bench serve keys; '-' = stdout)\n"
	"  --per-request FILE     per-request CSV\n"
	"  -h, --help\n";

/* The first n rows' shapes, all due at once, results discarded: warms the endpoint's
 * connections and caches before anything is measured. */
static int run_warmup(const struct trace_set *ts, const struct loadgen_config *cfg,
		      unsigned long long n, struct ms_error *err)
{
	struct loadgen_config w = *cfg;
	struct loadgen_result r;
	struct trace_set wt;
	size_t i;
	int rc = 0;

	trace_set_init(&wt);
	for (i = 0; i < ts->n && i < n && !rc; i++)
		rc = trace_set_push(&wt, 0, ts->images[i], ts->ctx[i], ts->gen[i], err);
	w.rate = 0;
	w.rate_scale = 1;
	w.num_requests = 0;
	w.duration_s = 0;
	w.progress = 0;
	if (!rc && !(rc = loadgen_run(&wt, &w, &r, err))) {
		fprintf(stderr, "modserve bench: warm-up: %zu requests, %llu failed\n", r.n,
			(unsigned long long)(r.fails[LOADGEN_FAIL_STATUS] + r.fails[LOADGEN_FAIL_TIMEOUT] +
					     r.fails[LOADGEN_FAIL_CONNECT] + r.fails[LOADGEN_FAIL_STREAM]));
		loadgen_result_release(&r);
	}
	trace_set_release(&wt);
	return rc;
}

int cmd_bench(int argc, char **argv)
{
	static const char cmd[] = "bench";
	struct loadgen_config cfg;
	struct loadgen_result res = { 0 };
	struct trace_set ts;
	struct ms_error err;
	const char *endpoint = NULL, *trace = "synth", *out = NULL, *per = NULL;
	char model[256];
	unsigned long long warmup = 0;
	double scale = 0; /* --rate-scale: > 0 once given */
	int skip = 0, rc = CLI_EXIT_FAIL;

	loadgen_config_default(&cfg);
	cfg.progress = 1;
	struct cli_opt opts[] = {
		CLI_STR("endpoint", &endpoint),
		CLI_STR("trace", &trace),
		CLI_FLAG("skip-bad", &skip),
		CLI_STR("model", &cfg.model),
		CLI_POS("rate-scale", &scale, 1e9),
		CLI_POS("rate", &cfg.rate, 1e9),
		CLI_INT("max-concurrency", &cfg.max_concurrency, 0, 1000000),
		CLI_INT("num-requests", &cfg.num_requests, 1, 100000000),
		CLI_POS("duration", &cfg.duration_s, 1e9),
		CLI_INT("seed", &cfg.seed, 0, ~0ULL),
		CLI_INT("image-tokens", &cfg.image_tokens_in_trace, 0, 100000),
		CLI_INT("max-images", &cfg.max_images, 0, 64),
		CLI_INT("image-pool", &cfg.image_pool, 1, 100000),
		CLI_STR("image-dir", &cfg.image_dir),
		CLI_INT("warmup", &warmup, 0, 100000),
		CLI_POS("timeout", &cfg.timeout_s, 1e6),
		CLI_STR("out", &out),
		CLI_STR("per-request", &per),
	};
	int parsed = cli_opts_parse(cmd, usage_text, opts, CLI_NOPTS(opts), argc, argv);

	if (parsed != CLI_GO)
		return parsed;
	if (!endpoint)
		return cli_usage_error(cmd, usage_text, "--endpoint is required");
	if (cfg.rate > 0 && scale > 0) /* both were given: each is > 0 once given */
		return cli_usage_error(cmd, usage_text, "--rate and --rate-scale exclude each "
			"other");
	if (out && per && !strcmp(out, "-") && !strcmp(per, "-"))
		return cli_usage_error(cmd, usage_text, "--out and --per-request cannot both be "
			"'-'");
	if (scale > 0)
		cfg.rate_scale = scale;
	if (loadgen_endpoint_parse(&cfg, endpoint, &err))
		return cli_usage_error(cmd, usage_text, "%s", err.msg);
	signal(SIGPIPE, SIG_IGN);
	trace_set_init(&ts);
	if (!strcmp(trace, "synth")) {
		struct trace_synth_opts so;
		trace_synth_opts_default(&so);
		so.requests = cfg.num_requests ? cfg.num_requests : 1000;
		so.seed = cfg.seed;
		if (trace_synth(&ts, &so, &err)) {
			cli_fail(&err);
			goto cleanup;
		}
	} else if (cli_trace_load(&ts, trace, skip, &err)) {
		cli_fail(&err);
		goto cleanup;
	}
	if (!cfg.model) {
		if (loadgen_fetch_model(&cfg, model, sizeof(model), &err)) {
			cli_fail(&err);
			goto cleanup;
		}
		cfg.model = model;
	}
	if (warmup && run_warmup(&ts, &cfg, warmup, &err)) {
		cli_fail(&err);
		goto cleanup;
	}
	if (loadgen_run(&ts, &cfg, &res, &err)) {
		cli_fail(&err);
		goto cleanup;
	}
	loadgen_print_summary(out && !strcmp(out, "-") ? stderr : stdout, &res);
	if (out && loadgen_write_json(&res, out, &err)) {
		cli_fail(&err);
		goto cleanup;
	}
	if (per && loadgen_write_csv(&res, per, &err)) {
		cli_fail(&err);
		goto cleanup;
	}
	rc = CLI_EXIT_OK;
cleanup:
	loadgen_result_release(&res);
	trace_set_release(&ts);
	return rc;
}
