/*
 * `modserve bench`: replay a trace with images against an OpenAI-compatible endpoint
 * (loadgen/), print the summary as `vllm bench serve` does, save its JSON.
 */
#include <getopt.h>
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

enum { O_EP = 256, O_TRACE, O_SKIP, O_MODEL, O_RS, O_RATE, O_MC, O_NR, O_DUR, O_SEED, O_IT, O_MI,
       O_POOL, O_TO, O_OUT, O_PR, O_IDIR, O_WARM };

static const struct option long_opts[] = {
	{ "endpoint", required_argument, NULL, O_EP },
	{ "trace", required_argument, NULL, O_TRACE },
	{ "skip-bad", no_argument, NULL, O_SKIP },
	{ "model", required_argument, NULL, O_MODEL },
	{ "rate-scale", required_argument, NULL, O_RS },
	{ "rate", required_argument, NULL, O_RATE },
	{ "max-concurrency", required_argument, NULL, O_MC },
	{ "num-requests", required_argument, NULL, O_NR },
	{ "duration", required_argument, NULL, O_DUR },
	{ "seed", required_argument, NULL, O_SEED },
	{ "image-tokens", required_argument, NULL, O_IT },
	{ "max-images", required_argument, NULL, O_MI },
	{ "image-pool", required_argument, NULL, O_POOL },
	{ "image-dir", required_argument, NULL, O_IDIR },
	{ "warmup", required_argument, NULL, O_WARM },
	{ "timeout", required_argument, NULL, O_TO },
	{ "out", required_argument, NULL, O_OUT },
	{ "per-request", required_argument, NULL, O_PR },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

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
	unsigned long long v, warmup = 0;
	int c, skip = 0, have_rate = 0, have_scale = 0, rc = CLI_EXIT_FAIL;

	loadgen_config_default(&cfg);
	cfg.progress = 1;
	while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		switch (c) {
		case O_EP: endpoint = optarg; break;
		case O_TRACE: trace = optarg; break;
		case O_SKIP: skip = 1; break;
		case O_MODEL: cfg.model = optarg; break;
		case O_RS:
			if (cli_opt_pos(cmd, usage_text, "--rate-scale", optarg, 1e9, &cfg.rate_scale))
				return CLI_EXIT_USAGE;
			have_scale = 1;
			break;
		case O_RATE:
			if (cli_opt_pos(cmd, usage_text, "--rate", optarg, 1e9, &cfg.rate))
				return CLI_EXIT_USAGE;
			have_rate = 1;
			break;
		case O_MC:
			if (cli_opt_u32(cmd, usage_text, "--max-concurrency", optarg, 0, 1000000, &cfg.max_concurrency))
				return CLI_EXIT_USAGE;
			break;
		case O_NR:
			if (cli_opt_u64(cmd, usage_text, "--num-requests", optarg, 1, 100000000, &v))
				return CLI_EXIT_USAGE;
			cfg.num_requests = v;
			break;
		case O_DUR:
			if (cli_opt_pos(cmd, usage_text, "--duration", optarg, 1e9, &cfg.duration_s))
				return CLI_EXIT_USAGE;
			break;
		case O_SEED:
			if (cli_opt_u64(cmd, usage_text, "--seed", optarg, 0, ~0ULL, &v))
				return CLI_EXIT_USAGE;
			cfg.seed = v;
			break;
		case O_IT:
			if (cli_opt_u32(cmd, usage_text, "--image-tokens", optarg, 0, 100000, &cfg.image_tokens_in_trace))
				return CLI_EXIT_USAGE;
			break;
		case O_MI:
			if (cli_opt_u32(cmd, usage_text, "--max-images", optarg, 0, 64, &cfg.max_images))
				return CLI_EXIT_USAGE;
			break;
		case O_POOL:
			if (cli_opt_u32(cmd, usage_text, "--image-pool", optarg, 1, 100000, &cfg.image_pool))
				return CLI_EXIT_USAGE;
			break;
		case O_TO:
			if (cli_opt_pos(cmd, usage_text, "--timeout", optarg, 1e6, &cfg.timeout_s))
				return CLI_EXIT_USAGE;
			break;
		case O_IDIR: cfg.image_dir = optarg; break;
		case O_WARM:
			if (cli_opt_u64(cmd, usage_text, "--warmup", optarg, 0, 100000, &warmup))
				return CLI_EXIT_USAGE;
			break;
		case O_OUT: out = optarg; break;
		case O_PR: per = optarg; break;
		case 'h':
			fputs(usage_text, stdout);
			return CLI_EXIT_OK;
		default:
			fputs(usage_text, stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind < argc)
		return cli_usage_error(cmd, usage_text, "unexpected argument '%s'", argv[optind]);
	if (!endpoint)
		return cli_usage_error(cmd, usage_text, "--endpoint is required");
	if (have_rate && have_scale)
		return cli_usage_error(cmd, usage_text, "--rate and --rate-scale exclude each "
			"other");
	if (out && per && !strcmp(out, "-") && !strcmp(per, "-"))
		return cli_usage_error(cmd, usage_text, "--out and --per-request cannot both be "
			"'-'");
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
