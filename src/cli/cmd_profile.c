/*
 * `modserve profile`: measure an OpenAI-compatible endpoint stage by stage
 * (loadgen/loadgen_profile.c) and write the profile table src/perf reads, then print
 * the fit report (each point measured vs what the written table gives back).
 */
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

/* A list option's bounds and where it goes (a CLI_FN row's dest). */
struct list_opt {
	uint32_t lo, hi, *out, *n;
};

static int list_opt(const char *cmd, const char *usage, const char *name, const char *v, void *dest)
{
	const struct list_opt *l = dest;
	struct ms_error err;

	if (!loadgen_profile_list(v, l->lo, l->hi, l->out, l->n, &err))
		return 0;
	return cli_usage_error(cmd, usage, "%s: %s", name, err.msg);
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
	double to = 300;
	int tp = 0, rc;

	loadgen_profile_config_default(&c);
	c.progress = 1;
	struct list_opt prompts = { 1, 1000000, c.prompts, &c.n_prompts },
			outputs = { 1, 100000, c.outputs, &c.n_outputs },
			conc = { 1, 64, c.conc, &c.n_conc };
	struct cli_opt opts[] = {
		CLI_STR("endpoint", &endpoint),
		CLI_STR("out", &out),
		CLI_STR("model", &c.model),
		CLI_STR("gpu", &c.gpu),
		CLI_INT("tp", &tp, 1, 1024),
		CLI_STR("served-model", &c.lg.model),
		CLI_FN("prompts", list_opt, &prompts),
		CLI_FN("outputs", list_opt, &outputs),
		CLI_FN("concurrency", list_opt, &conc),
		CLI_INT("max-images", &c.max_images, 0, 64),
		CLI_INT("image-px", &c.image_side, 16, 8192),
		CLI_INT("chunk", &c.chunk, 1, 1000000),
		CLI_INT("repeats", &c.repeats, 1, 64),
		CLI_STR("role-encode", &enc),
		CLI_INT("seed", &c.lg.seed, 0, ~0ULL),
		CLI_POS("timeout", &to, 1e6),
	};
	rc = cli_opts_parse(cmd, usage_text, opts, CLI_NOPTS(opts), argc, argv);
	if (rc != CLI_GO)
		return rc;
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
	c.tp = tp ? tp : m.default_tp;
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
