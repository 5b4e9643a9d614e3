/*
 * `modserve trace export`: the workload `sim` replays from a trace, written for other
 * tools (BLIS's TraceV2, vLLM-bench JSONL). The mapping is sim's own (sim_map_row), so
 * the exported requests are the simulated ones; trace/trace_export.c writes the formats.
 */
#include <getopt.h>
#include <inttypes.h>
#include <string.h>

#include "cli/cli.h"
#include "perf/perf.h"
#include "sim/sim.h"
#include "trace/trace_export.h"

static const char export_usage[] =
	"usage: modserve trace export FILE --format blis|vllm-jsonl --out OUT\n"
	"                             [--rate-scale K] [--src-image-tokens N] [--max-images N]\n"
	"                             [--model M] [--no-prompt] [--skip-bad]\n\n"
	"Writes the requests `modserve sim` replays from FILE (a trace, or `synth`): text\n"
	"tokens = ContextTokens - NumImages x N (at least 0), images capped, image tokens of\n"
	"the model, output tokens = GeneratedTokens (at least 1), arrival = time / K.\n"
	"docs/export.md says what each field holds.\n\n"
	"  -F, --format F          blis: OUT.yaml + OUT.csv, BLIS TraceV2 (blis replay\n"
	"                          --trace-header OUT.yaml --trace-data OUT.csv);\n"
	"                          vllm-jsonl: one JSON object per request (vLLM's\n"
	"                          --dataset-name custom keys prompt, output_tokens)\n"
	"  -o, --out OUT           blis: a prefix (a trailing .csv is dropped); vllm-jsonl: a\n"
	"                          file, - = stdout\n"
	"  -k, --rate-scale K      divide arrival times by K, as sim does [1]\n"
	"      --src-image-tokens N  image tokens per image inside ContextTokens [85]\n"
	"      --max-images N      images per request at most [16]\n"
	"  -m, --model M           model whose image tokens the images become [llama-3.2-11b-vision]\n"
	"      --no-prompt         vllm-jsonl: leave out the prompt text (one word per token)\n"
	"      --skip-bad          skip and count bad input rows instead of stopping\n"
	"  -h, --help              this help\n";

enum { O_SRCTOK = 256, O_MAXIMG, O_NOPROMPT, O_SKIPBAD };

/* sim's mapping of one row, as the exporter's row callback */
struct export_ctx {
	const struct trace_set *ts;
	struct sim_map map;
	double rate_scale;
};

static int export_row(void *vctx, size_t i, struct trace_export_row *out, struct ms_error *err)
{
	const struct export_ctx *x = vctx;
	struct sim_shape sh;

	(void)err;
	sim_map_row(&x->map, x->ts, i, &sh);
	out->t_s = x->ts->t[i] / x->rate_scale;
	/* what the LLM prefills as text: the prompt less the image tokens it holds */
	out->image_tokens = sh.img_tokens;
	out->text_tokens = x->map.cross ? sh.prompt : sh.prompt - sh.img_tokens;
	out->images = sh.images;
	out->output_tokens = sh.gen;
	return 0;
}

int cmd_trace_export(int argc, char **argv)
{
	static const char cmd[] = "trace export";
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'F' },
		{ "out", required_argument, NULL, 'o' },
		{ "rate-scale", required_argument, NULL, 'k' },
		{ "model", required_argument, NULL, 'm' },
		{ "src-image-tokens", required_argument, NULL, O_SRCTOK },
		{ "max-images", required_argument, NULL, O_MAXIMG },
		{ "no-prompt", no_argument, NULL, O_NOPROMPT },
		{ "skip-bad", no_argument, NULL, O_SKIPBAD },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct trace_export_opts eo = { .format = TRACE_EXPORT_BLIS, .prompt_text = 1 };
	struct export_ctx x = { .rate_scale = 1.0 };
	struct sim_config sc;
	struct trace_set ts;
	struct perf p;
	struct ms_error err;
	const char *outp = NULL, *format = NULL, *model = "llama-3.2-11b-vision", *path;
	uint32_t src_tok = 85, max_img = 16;
	uint64_t with_images = 0;
	size_t i;
	int c, rc, skip_bad = 0;

	ms_error_clear(&err);
	optind = 0;
	while ((c = getopt_long(argc, argv, "F:o:k:m:h", opts, NULL)) != -1) {
		switch (c) {
		case 'F':
			format = optarg;
			break;
		case 'o':
			outp = optarg;
			break;
		case 'k':
			if (cli_opt_pos(cmd, export_usage, "--rate-scale", optarg, 1e9, &x.rate_scale))
				return CLI_EXIT_USAGE;
			break;
		case 'm':
			model = optarg;
			break;
		case O_SRCTOK:
			if (cli_opt_u32(cmd, export_usage, "--src-image-tokens", optarg, 0, 1000000, &src_tok))
				return CLI_EXIT_USAGE;
			break;
		case O_MAXIMG:
			if (cli_opt_u32(cmd, export_usage, "--max-images", optarg, 0, 1000, &max_img))
				return CLI_EXIT_USAGE;
			break;
		case O_NOPROMPT:
			eo.prompt_text = 0;
			break;
		case O_SKIPBAD:
			skip_bad = 1;
			break;
		case 'h':
			fputs(export_usage, stdout);
			return CLI_EXIT_OK;
		default:
			return cli_usage_error(cmd, export_usage, "bad option");
		}
	}
	if (optind >= argc)
		return cli_usage_error(cmd, export_usage, "missing input FILE");
	if (optind + 1 < argc)
		return cli_usage_error(cmd, export_usage, "unexpected argument '%s'", argv[optind + 1]);
	if (!format)
		return cli_usage_error(cmd, export_usage, "--format blis|vllm-jsonl is required");
	if (trace_export_format_parse(format, &eo.format, &err) < 0)
		return cli_usage_error(cmd, export_usage, "%s", err.msg);
	if (!outp || !*outp)
		return cli_usage_error(cmd, export_usage, "--out OUT is required");
	if (eo.format == TRACE_EXPORT_BLIS && !strcmp(outp, "-"))
		return cli_usage_error(cmd, export_usage,
				       "--out -: blis writes two files (OUT.yaml, OUT.csv); give a prefix");
	if (!eo.prompt_text && eo.format != TRACE_EXPORT_VLLM_JSONL)
		return cli_usage_error(cmd, export_usage, "--no-prompt goes with --format vllm-jsonl");
	path = argv[optind];

	/* the model fixes the image tokens; no GPU time is asked for, so the GPU is any */
	if (perf_open(&p, model, "a100-80gb", NULL, NULL, &err) < 0)
		return cli_fail(&err);
	trace_set_init(&ts);
	rc = cli_trace_load(&ts, path, skip_bad, &err);
	if (rc < 0)
		goto out;
	sim_config_default(&sc, &p);
	sc.src_tokens_per_image = src_tok;
	sc.max_images = max_img;
	x.ts = &ts;
	sim_map_init(&x.map, &sc);
	for (i = 0; i < ts.n; i++)
		with_images += ts.images[i] && max_img;
	if (with_images && !perf_image_tokens(&p)) {
		rc = ms_error_set(&err, MS_EINVAL,
				  "%s: %" PRIu64 " requests carry images, but %s has no vision encoder "
				  "(pick a vision --model, or --max-images 0 to drop the images)",
				  path, with_images, p.model.name);
		goto out;
	}
	rc = trace_export_write(outp, &eo, ts.n, export_row, &x, &err);
	if (rc == 0 && strcmp(outp, "-"))
		fprintf(stderr, "modserve: %s: %zu requests (%" PRIu64 " with images), %s\n", outp, ts.n,
			with_images, eo.format == TRACE_EXPORT_BLIS ? "BLIS TraceV2" : "vLLM JSONL");
out:
	rc = rc < 0 ? cli_fail(&err) : CLI_EXIT_OK;
	trace_set_release(&ts);
	perf_release(&p);
	return rc;
}
