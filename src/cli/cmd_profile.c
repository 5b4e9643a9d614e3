/*
 * `modserve profile`: measure an OpenAI-compatible endpoint stage by stage
 * (loadgen/loadgen_profile.c) and write the profile table src/perf reads, then print
 * the fit report (each point measured vs what the written table gives back).
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "loadgen/loadgen_profile.h"
#include "model/model.h"

static const char usage_text[] =
	"usage: modserve profile --endpoint URL --out FILE [options]\n"
	"\n"
	"Sends a designed set of requests to an OpenAI-compatible chat endpoint and writes\n"
	"the measured stage table that `sim --profile`, `plan` and `engine --profile` read.\n"
	"\n"
	"  --endpoint URL         http://HOST:PORT[/v1/chat/completions]\n"
	"  --out FILE             the profile CSV to write\n"
	"  --model M              model spec the endpoint serves (data/models) [llama-3.2-11b-vision]\n"
	"  --gpu G                GPU spec it runs on (data/gpus) [a100-80gb]\n"
	"  --tp N                 GPUs of the instance [the model's default TP]\n"
	"  --served-model NAME    \"model\" sent in requests [the first of GET /v1/models]\n"
	"  --prompts LIST         prompt tokens of the prefill and decode runs [128,512,2048]\n"
	"  --outputs LIST         output tokens of the decode runs [64]\n"
	"  --concurrency LIST     batch sizes (requests sent together, <= 64) [1,4,16]\n"
	"  --max-images N         encode measured at 1, 2, 4 .. N images (0: none) [4]\n"
	"  --image-px N           side of the square images sent [896]\n"
	"  --chunk N              the endpoint's prefill chunk: vLLM --max-num-batched-tokens,\n"
	"                         engine --token-budget [4096]\n"
	"  --repeats N            requests per TTFT point and runs per batch, median kept [5]\n"
	"  --role-encode URL      measure encode on this encode endpoint (vLLM EPD encoder)\n"
	"  --seed S               image content [1]\n"
	"  --timeout S            inactivity timeout per request [300]\n"
	"  -h, --help\n";

enum { O_EP = 256, O_OUT, O_MODEL, O_GPU, O_TP, O_SERVED, O_PROMPTS, O_OUTPUTS, O_CONC, O_MI,
       O_PX, O_CHUNK, O_REP, O_ENC, O_SEED, O_TO };

static const struct option long_opts[] = {
	{ "endpoint", required_argument, NULL, O_EP },
	{ "out", required_argument, NULL, O_OUT },
	{ "model", required_argument, NULL, O_MODEL },
	{ "gpu", required_argument, NULL, O_GPU },
	{ "tp", required_argument, NULL, O_TP },
	{ "served-model", required_argument, NULL, O_SERVED },
	{ "prompts", required_argument, NULL, O_PROMPTS },
	{ "outputs", required_argument, NULL, O_OUTPUTS },
	{ "concurrency", required_argument, NULL, O_CONC },
	{ "max-images", required_argument, NULL, O_MI },
	{ "image-px", required_argument, NULL, O_PX },
	{ "chunk", required_argument, NULL, O_CHUNK },
	{ "repeats", required_argument, NULL, O_REP },
	{ "role-encode", required_argument, NULL, O_ENC },
	{ "seed", required_argument, NULL, O_SEED },
	{ "timeout", required_argument, NULL, O_TO },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int list_opt(const char *name, const char *v, uint32_t lo, uint32_t hi, uint32_t *out,
		    uint32_t *n)
{
	struct ms_error err;

	if (!loadgen_profile_list(v, lo, hi, out, n, &err))
		return 0;
	return cli_usage_error("profile", usage_text, "%s: %s", name, err.msg);
}

int cmd_profile(int argc, char **argv)
{
	static const char cmd[] = "profile";
	struct loadgen_profile_config c;
	struct loadgen_profile prof = { 0 };
	struct model_spec m;
	struct ms_error err;
	const char *endpoint = NULL, *enc = NULL, *out = NULL;
	char served[256];
	unsigned long long v;
	uint32_t tp = 0;
	double to = 300;
	int ch;

	loadgen_profile_config_default(&c);
	c.progress = 1;
	while ((ch = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		switch (ch) {
		case O_EP: endpoint = optarg; break;
		case O_OUT: out = optarg; break;
		case O_MODEL: c.model = optarg; break;
		case O_GPU: c.gpu = optarg; break;
		case O_TP:
			if (cli_opt_u32(cmd, usage_text, "--tp", optarg, 1, 1024, &tp))
				return CLI_EXIT_USAGE;
			break;
		case O_SERVED: c.lg.model = optarg; break;
		case O_PROMPTS:
			if (list_opt("--prompts", optarg, 1, 1000000, c.prompts, &c.n_prompts))
				return CLI_EXIT_USAGE;
			break;
		case O_OUTPUTS:
			if (list_opt("--outputs", optarg, 1, 100000, c.outputs, &c.n_outputs))
				return CLI_EXIT_USAGE;
			break;
		case O_CONC:
			if (list_opt("--concurrency", optarg, 1, 64, c.conc, &c.n_conc))
				return CLI_EXIT_USAGE;
			break;
		case O_MI:
			if (cli_opt_u32(cmd, usage_text, "--max-images", optarg, 0, 64, &c.max_images))
				return CLI_EXIT_USAGE;
			break;
		case O_PX:
			if (cli_opt_u32(cmd, usage_text, "--image-px", optarg, 16, 8192, &c.image_side))
				return CLI_EXIT_USAGE;
			break;
		case O_CHUNK:
			if (cli_opt_u32(cmd, usage_text, "--chunk", optarg, 1, 1000000, &c.chunk))
				return CLI_EXIT_USAGE;
			break;
		case O_REP:
			if (cli_opt_u32(cmd, usage_text, "--repeats", optarg, 1, 64, &c.repeats))
				return CLI_EXIT_USAGE;
			break;
		case O_ENC: enc = optarg; break;
		case O_SEED:
			if (cli_opt_u64(cmd, usage_text, "--seed", optarg, 0, ~0ULL, &v))
				return CLI_EXIT_USAGE;
			c.lg.seed = v;
			break;
		case O_TO:
			if (cli_opt_pos(cmd, usage_text, "--timeout", optarg, 1e6, &to))
				return CLI_EXIT_USAGE;
			break;
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
	if (!endpoint || !out)
		return cli_usage_error(cmd, usage_text, "--endpoint and --out are required");
	if (loadgen_endpoint_parse(&c.lg, endpoint, &err))
		return cli_usage_error(cmd, usage_text, "%s", err.msg);
	if (enc) {
		if (loadgen_endpoint_parse(&c.enc, enc, &err))
			return cli_usage_error(cmd, usage_text, "--role-encode: %s", err.msg);
		c.enc_set = 1;
	}
	c.lg.timeout_s = c.enc.timeout_s = to;
	c.enc.whole = 1;
	if (model_spec_load(&m, c.model, &err))
		return cli_fail(&err);
	c.tp = tp ? (int)tp : m.default_tp;
	signal(SIGPIPE, SIG_IGN);
	if (!c.lg.model) {
		if (loadgen_fetch_model(&c.lg, served, sizeof(served), &err))
			return cli_fail(&err);
		c.lg.model = served;
	}
	c.enc.model = c.lg.model;
	if (loadgen_profile_run(&c, &prof, &err) || loadgen_profile_write(&prof, &c, out, &err) ||
	    loadgen_profile_report(stdout, &prof, &c, out, NULL, &err)) {
		loadgen_profile_release(&prof);
		return cli_fail(&err);
	}
	fprintf(stderr, "modserve profile: wrote %s\n", out);
	loadgen_profile_release(&prof);
	return CLI_EXIT_OK;
}
