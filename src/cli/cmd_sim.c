/*
 * `modserve sim`: simulate a serving cluster on a trace (sim/), print what
 * users care about (report/sim_report). --compare runs mono, pd and modserve
 * on the same trace and GPU budget; --system runs the paper's named systems
 * (sim_system), one or several side by side; --autoscale (plan_autoscale.c)
 * resizes the pools during the run.
 */
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/ms_progress.h"
#include "cli/cli.h"
#include "perf/perf.h"
#include "plan/plan.h"
#include "report/sim_report.h"
#include "sim/sim.h"
#include "plan/plan_autoscale.h"
#include "sim/sim_autoscale.h"

static const char usage_text[] =
	"usage: modserve sim [options]\n"
	"\n"
	"Simulates an LMM serving cluster request by request on a trace.\n"
	"\n"
	"input:\n"
	"  --trace FILE          trace CSV/CSV.gz (Azure LMM 2025 or LLM 2023 format)\n"
	"  --synth N             N requests of the built-in synthetic week (default: 1000000)\n"
	"  --skip-bad            skip bad trace rows (counted on stderr) instead of failing\n"
	"  --rate-scale K        divide arrival times by K (K > 1: more load) [1]\n"
	"  --max-images N        cap images per request, as the paper does [16]\n"
	"  --src-image-tokens N  image tokens per image inside the trace's ContextTokens [85]\n"
	"cluster:\n"
	"  --model M             model spec name or path [llama-3.2-11b-vision]\n"
	"  --gpu G               GPU spec name or path [a100-80gb]\n"
	"  --profile CSV         measured stage profile (overrides the roofline)\n"
	"  --engine E            engine constants (data/engines/): NAME for every stage or\n"
	"                        llm=NAME,enc=NAME,inline=NAME (enc: encoder pools, inline:\n"
	"                        the encoder inside mono/prefill instances)\n"
	"                        [llm=vllm,enc=hf-eager,inline=vllm, the paper's]\n"
	"  --deploy D            mono | pd | modserve [modserve, or read off --pools],\n"
	"                        or a deployment file: a path or a name in data/deploy/\n"
	"                        (paper-128-modserve: the paper's static 48x1 + 20x4)\n"
	"  --gpus N              GPU budget, split in proportion to the GPU time each\n"
	"                        pool's stage needs on this trace (docs/sim.md) [128]\n"
	"  --pools SPEC          explicit pools, e.g. enc=48x1,llm=20x4 or\n"
	"                        prefill=8x4,decode=8x4 or mono=32x4 (COUNTxTP)\n"
	"  --compare             run mono, pd and modserve side by side (same trace, GPUs)\n"
	"  --system S[,S...]     the paper's systems (side by side when several):\n"
	"                        vllm | decoup | sched | modserve | pd | epd (docs/sim.md)\n"
	"  --order O             queue order: fcfs | slo [fcfs; the system's with --system]\n"
	"  --order-age S         SLO order: ageing cap on a request's slack, s [10]\n"
	"  --autoscale           resize the pools during the run (enc + llm: ModServe's\n"
	"                        stage-aware rule; mono, pd: a request-rate baseline)\n"
	"  --scale-interval S    autoscaler period, s [300]\n"
	"  --startup S           delay before a new instance takes work, s [60]\n"
	"  --min N, --max N      instances per pool [1; the static split's size]\n"
	"  --no-history          start at --max instead of the trace's history sizes\n"
	"  --token-budget N      tokens per LLM iteration (chunked prefill) [4096]\n"
	"  --max-seqs N          running requests per LLM instance [256]\n"
	"  --enc-batch N         images per encoder batch [8]\n"
	"  --kv-tokens N         KV cache tokens per LLM instance, >= 4 KV blocks (64)\n"
	"                        [free HBM after weights]\n"
	"  --kv-block N          tokens per KV block (vLLM's block_size) [16]\n"
	"  --route-llm R, --route-enc R   least | rr | random [least; the system's]\n"
	"  --link L              ib | tcp | nvlink, between instances [ib]\n"
	"SLOs and output:\n"
	"  --slo-ttft S, --slo-tpot S   targets in seconds (default: --slo-scale x the\n"
	"                        isolated TTFT/TPOT of a one-image request on the monolith)\n"
	"  --slo-scale K         [5]\n"
	"  --seed S              0 to 2^63-1 [1]\n"
	"  --json                JSON on stdout instead of the table\n"
	"  --per-request FILE    per-request CSV (single run only); '-' = stdout, the\n"
	"                        table then goes to stderr (not with --json)\n"
	"  --report DIR          DIR/index.html: setup, table, TTFT/TPOT CDFs and\n"
	"                        per-pool time series (PNG and SVG beside it)\n"
	"  --step-decode         one event per decode iteration (slow; for checking)\n"
	"  --stats               simulator speed and memory on stderr\n"
	"  -h, --help\n"
	"\n"
	"Percentiles (p50/p90/p99) interpolate linearly between order statistics at\n"
	"p/100 x (n - 1), numpy's and pandas' default, as in `modserve trace stats`.\n";

enum {
	O_TRACE = 256, O_SYNTH, O_SKIP, O_RATE, O_MAXIMG, O_SRCTOK, O_MODEL, O_GPU, O_PROFILE,
	O_DEPLOY, O_GPUS, O_POOLS, O_COMPARE, O_BUDGET, O_SEQS, O_ENCB, O_RLLM, O_RENC, O_LINK,
	O_TTFT, O_TPOT, O_SLOSCALE, O_SEED, O_JSON, O_PERREQ, O_REPORT, O_STEP, O_STATS, O_KV,
	O_ENGINE, O_KVBLOCK,
	O_SYSTEM, O_ORDER, O_AGE, O_SCALE, O_SINT, O_STARTUP, O_MIN, O_MAX, O_NOHIST,
};

static const struct option long_opts[] = {
	{ "trace", required_argument, NULL, O_TRACE },
	{ "synth", required_argument, NULL, O_SYNTH },
	{ "skip-bad", no_argument, NULL, O_SKIP },
	{ "rate-scale", required_argument, NULL, O_RATE },
	{ "max-images", required_argument, NULL, O_MAXIMG },
	{ "src-image-tokens", required_argument, NULL, O_SRCTOK },
	{ "model", required_argument, NULL, O_MODEL },
	{ "gpu", required_argument, NULL, O_GPU },
	{ "profile", required_argument, NULL, O_PROFILE },
	{ "engine", required_argument, NULL, O_ENGINE },
	{ "deploy", required_argument, NULL, O_DEPLOY },
	{ "gpus", required_argument, NULL, O_GPUS },
	{ "pools", required_argument, NULL, O_POOLS },
	{ "compare", no_argument, NULL, O_COMPARE },
	{ "token-budget", required_argument, NULL, O_BUDGET },
	{ "max-seqs", required_argument, NULL, O_SEQS },
	{ "enc-batch", required_argument, NULL, O_ENCB },
	{ "route-llm", required_argument, NULL, O_RLLM },
	{ "route-enc", required_argument, NULL, O_RENC },
	{ "link", required_argument, NULL, O_LINK },
	{ "slo-ttft", required_argument, NULL, O_TTFT },
	{ "slo-tpot", required_argument, NULL, O_TPOT },
	{ "slo-scale", required_argument, NULL, O_SLOSCALE },
	{ "seed", required_argument, NULL, O_SEED },
	{ "json", no_argument, NULL, O_JSON },
	{ "per-request", required_argument, NULL, O_PERREQ },
	{ "report", required_argument, NULL, O_REPORT },
	{ "step-decode", no_argument, NULL, O_STEP },
	{ "stats", no_argument, NULL, O_STATS },
	{ "kv-tokens", required_argument, NULL, O_KV },
	{ "kv-block", required_argument, NULL, O_KVBLOCK },
	{ "system", required_argument, NULL, O_SYSTEM },
	{ "order", required_argument, NULL, O_ORDER },
	{ "order-age", required_argument, NULL, O_AGE },
	{ "autoscale", no_argument, NULL, O_SCALE },
	{ "scale-interval", required_argument, NULL, O_SINT },
	{ "startup", required_argument, NULL, O_STARTUP },
	{ "min", required_argument, NULL, O_MIN },
	{ "max", required_argument, NULL, O_MAX },
	{ "no-history", no_argument, NULL, O_NOHIST },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* runs side by side at most: every named system */
#define MAX_RUNS SIM_SYSTEM__COUNT

/* parse_args: 0 = run, PARSE_HELP = help printed, else the exit status of a usage error */
#define PARSE_HELP 100

struct opts {
	const char *trace, *model, *gpu, *profile, *engine, *pools, *per_request, *report;
	const char *deploy_file, *kv_tokens;
	unsigned long long synth, gpus;
	double slo_ttft, slo_tpot, slo_scale;
	enum sim_deploy_kind deploy;
	struct sim_config cfg; /* what the options set; perf and pools are filled per run */
	int skip_bad, compare, json, stats;
	int synth_set, gpus_set, deploy_set;
	const struct sim_system *sys[SIM_SYSTEM__COUNT];
	int n_sys, order_set, rllm_set, renc_set;
	int autoscale, scale_opt;
	struct plan_scale_opts scale;
};

static void progress_cb(void *arg, double done, double total)
{
	ms_progress_update(arg, done);
	(void)total;
}

/*
 * ru_maxrss is the whole process's high-water mark: under --compare a later run
 * inherits the earlier runs' peak (and the trace's), so it is labelled as such
 * rather than charged to the run.
 */
static void print_stats(const char *name, const struct sim_result *r, double wall)
{
	struct rusage ru;
	double rss = 0;

	if (getrusage(RUSAGE_SELF, &ru) == 0)
		rss = (double)ru.ru_maxrss * 1024.0; /* Linux reports KiB */
	fprintf(stderr,
		"sim %s: %zu requests, %llu events in %.3f s: %.0f requests/s, %.0f events/s; "
		"max in flight %llu; results %zu B/request; process peak RSS so far %.1f MB\n",
		name, r->n, (unsigned long long)r->events, wall,
		wall > 0 ? (double)r->n / wall : 0, wall > 0 ? (double)r->events / wall : 0,
		(unsigned long long)r->max_in_flight, sizeof(struct metrics_req), rss / 1e6);
}

/* The --gpus cap, for pools given any other way; summed wide so no count wraps. */
#define GPUS_MAX 1000000ull

static unsigned long long deploy_gpus_wide(const struct sim_deploy *d)
{
	unsigned long long g = 0;
	int p;

	for (p = 0; p < d->n_pools; p++)
		g += (unsigned long long)d->pool[p].count * (unsigned long long)d->pool[p].tp;
	return g;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && !strcasecmp(s + n - k, suffix);
}

static int parse_u64(const char *name, const char *v, unsigned long long lo,
		     unsigned long long hi, unsigned long long *out)
{
	return cli_opt_u64("sim", usage_text, name, v, lo, hi, out);
}

/* Library messages of sim/ start with "sim: "; the usage line already says it. */
static const char *no_prefix(const char *msg)
{
	return strncmp(msg, "sim: ", 5) ? msg : msg + 5;
}

static int parse_pos(const char *name, const char *v, double *out)
{
	return cli_opt_pos("sim", usage_text, name, v, 1e12, out);
}

/* --system a,b,c: each name once, in the order given. */
static int parse_systems(struct opts *o, const char *v)
{
	struct ms_error err = { 0 };
	char buf[256], *tok, *save = NULL;
	int i;

	if (strlen(v) >= sizeof(buf))
		return cli_usage_error("sim", usage_text, "--system: list too long");
	snprintf(buf, sizeof(buf), "%s", v);
	o->n_sys = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		const struct sim_system *sys;
		if (sim_system_find(tok, &sys, &err) < 0)
			return cli_usage_error("sim", usage_text, "--system: %s", err.msg);
		for (i = 0; i < o->n_sys; i++)
			if (o->sys[i] == sys)
				return cli_usage_error("sim", usage_text, "--system: '%s' twice", tok);
		o->sys[o->n_sys++] = sys;
	}
	if (!o->n_sys)
		return cli_usage_error("sim", usage_text, "--system: no system named");
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	struct ms_error err = { 0 };
	unsigned long long v = 0;
	int c;

	memset(o, 0, sizeof(*o));
	o->model = "llama-3.2-11b-vision";
	o->gpu = "a100-80gb";
	o->synth = 1000000;
	o->gpus = 128;
	sim_config_default(&o->cfg, NULL); /* the simulator's own defaults: no second copy here */
	o->slo_scale = 5;
	o->deploy = SIM_DEPLOY_MODSERVE;
	o->scale.startup_s = 60;
	while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		int rc = 0;
		switch (c) {
		case 'h':
			fputs(usage_text, stdout);
			return PARSE_HELP;
		case O_TRACE: o->trace = optarg; break;
		case O_SYNTH:
			rc = parse_u64("--synth", optarg, 1, 100000000, &o->synth);
			o->synth_set = 1;
			break;
		case O_SKIP: o->skip_bad = 1; break;
		case O_RATE: rc = parse_pos("--rate-scale", optarg, &o->cfg.rate_scale); break;
		case O_MAXIMG:
			rc = parse_u64("--max-images", optarg, 0, 100000, &v);
			o->cfg.max_images = (uint32_t)v;
			break;
		case O_SRCTOK:
			rc = parse_u64("--src-image-tokens", optarg, 0, 1000000, &v);
			o->cfg.src_tokens_per_image = (uint32_t)v;
			break;
		case O_MODEL: o->model = optarg; break;
		case O_GPU: o->gpu = optarg; break;
		case O_PROFILE: o->profile = optarg; break;
		case O_ENGINE: o->engine = optarg; break;
		case O_DEPLOY:
			/* not a kind: a deployment file (name under data/deploy/ or path) */
			o->deploy_file = NULL;
			o->deploy_set = 1;
			if (sim_deploy_parse_kind(optarg, &o->deploy, &err) < 0)
				o->deploy_file = optarg;
			break;
		case O_GPUS:
			rc = parse_u64("--gpus", optarg, 1, GPUS_MAX, &o->gpus);
			o->gpus_set = 1;
			break;
		case O_POOLS: o->pools = optarg; break;
		case O_COMPARE: o->compare = 1; break;
		case O_BUDGET:
			rc = parse_u64("--token-budget", optarg, 1, 100000000, &v);
			o->cfg.token_budget = (uint32_t)v;
			break;
		case O_SEQS:
			rc = parse_u64("--max-seqs", optarg, 1, 1000000, &v);
			o->cfg.max_seqs = (uint32_t)v;
			break;
		case O_ENCB:
			rc = parse_u64("--enc-batch", optarg, 1, 1000000, &v);
			o->cfg.enc_max_images = (uint32_t)v;
			break;
		case O_RLLM:
		case O_RENC:
			if (policy_route_parse(optarg, c == O_RLLM ? &o->cfg.route_llm : &o->cfg.route_enc, &err) < 0)
				return cli_usage_error("sim", usage_text, "%s", err.msg);
			*(c == O_RLLM ? &o->rllm_set : &o->renc_set) = 1;
			break;
		case O_SYSTEM: rc = parse_systems(o, optarg); break;
		case O_ORDER:
			if (policy_order_parse(optarg, &o->cfg.order, &err) < 0)
				return cli_usage_error("sim", usage_text, "--order: %s", err.msg);
			o->order_set = 1;
			break;
		case O_AGE: rc = parse_pos("--order-age", optarg, &o->cfg.order_age_s); break;
		case O_SCALE: o->autoscale = 1; break;
		case O_SINT:
			rc = parse_pos("--scale-interval", optarg, &o->scale.interval_s);
			o->scale_opt = 1;
			break;
		case O_STARTUP:
			rc = cli_parse_double(optarg, &o->scale.startup_s) || o->scale.startup_s > 1e6
				     ? cli_usage_error("sim", usage_text,
						       "--startup: expected seconds from 0 to 1e6, "
						       "got '%s'", optarg)
				     : 0;
			o->scale_opt = 1;
			break;
		case O_MIN:
			rc = parse_u64("--min", optarg, 1, 100000, &o->scale.min);
			o->scale_opt = 1;
			break;
		case O_MAX:
			rc = parse_u64("--max", optarg, 1, 100000, &o->scale.max);
			o->scale_opt = 1;
			break;
		case O_NOHIST: o->scale.no_history = 1; o->scale_opt = 1; break;
		case O_LINK:
			if (!strcmp(optarg, "ib"))
				o->cfg.link = PERF_LINK_IB;
			else if (!strcmp(optarg, "tcp"))
				o->cfg.link = PERF_LINK_TCP;
			else if (!strcmp(optarg, "nvlink"))
				o->cfg.link = PERF_LINK_NVLINK;
			else
				return cli_usage_error("sim", usage_text,
						       "--link: expected ib, tcp or nvlink, got '%s'",
						       optarg);
			break;
		case O_TTFT: rc = parse_pos("--slo-ttft", optarg, &o->slo_ttft); break;
		case O_TPOT: rc = parse_pos("--slo-tpot", optarg, &o->slo_tpot); break;
		case O_SLOSCALE: rc = parse_pos("--slo-scale", optarg, &o->slo_scale); break;
		case O_SEED:
			/* the JSON report holds the seed as a signed 64-bit integer (jansson) */
			rc = parse_u64("--seed", optarg, 0, INT64_MAX, &v);
			o->cfg.seed = v;
			break;
		case O_JSON: o->json = 1; break;
		case O_PERREQ: o->per_request = optarg; break;
		case O_REPORT: o->report = optarg; break;
		case O_STEP: o->cfg.step_decode = 1; break;
		case O_STATS: o->stats = 1; break;
		case O_KV: o->kv_tokens = optarg; break; /* parsed once --kv-block is known */
		case O_KVBLOCK:
			rc = parse_u64("--kv-block", optarg, 1, 1u << 20, &v);
			o->cfg.kv_block = (uint32_t)v;
			break;
		default:
			return cli_usage_error("sim", usage_text, "unknown option");
		}
		if (rc)
			return rc;
	}
	if (optind < argc)
		return cli_usage_error("sim", usage_text, "unexpected argument '%s'", argv[optind]);
	if (o->kv_tokens) {
		/* sim_run needs 4 KV blocks per instance; it checks again */
		int rc = parse_u64("--kv-tokens", o->kv_tokens, 4ull * o->cfg.kv_block,
				   1000000000000ull, &v);
		if (rc)
			return rc;
		o->cfg.kv_tokens = v;
	}
	if (o->compare && o->pools)
		return cli_usage_error("sim", usage_text,
				       "--compare splits --gpus by the default rule; drop --pools");
	if (o->deploy_file && (o->compare || o->pools))
		return cli_usage_error("sim", usage_text,
				       "--deploy FILE fixes the pools: drop --compare and --pools");
	if (o->scale_opt && !o->autoscale)
		return cli_usage_error("sim", usage_text,
				       "--scale-interval, --startup, --min, --max and --no-history "
				       "go with --autoscale");
	if (o->scale.min && o->scale.max && o->scale.min > o->scale.max)
		return cli_usage_error("sim", usage_text, "--min %llu is above --max %llu",
				       o->scale.min, o->scale.max);
	if (o->n_sys && (o->compare || o->deploy_set))
		return cli_usage_error("sim", usage_text,
				       "--system sets the design: drop --compare and --deploy");
	if (o->n_sys > 1 && o->pools)
		return cli_usage_error("sim", usage_text,
				       "--pools fits one design: name one --system with it");
	if (o->n_sys == 1 && o->pools) {
		o->deploy = o->sys[0]->kind;
		o->deploy_set = 1;
	}
	if (o->n_sys > 1 && o->per_request)
		return cli_usage_error("sim", usage_text, "--per-request needs a single run");
	if (o->compare && o->per_request)
		return cli_usage_error("sim", usage_text, "--per-request needs a single run");
	if (o->synth_set && o->trace)
		return cli_usage_error("sim", usage_text,
				       "--synth %llu and --trace %s: choose one input", o->synth,
				       o->trace);
	if (o->per_request && ends_with(o->per_request, ".gz"))
		return cli_usage_error("sim", usage_text,
				       "--per-request writes plain CSV; name it .csv or pipe "
				       "`--per-request -` through gzip");
	if (o->per_request && !*o->per_request)
		return cli_usage_error("sim", usage_text, "--per-request: empty file name");
	if (o->report && (!*o->report || !strcmp(o->report, "-")))
		return cli_usage_error("sim", usage_text,
				       "--report '%s': the report needs a directory, not stdout",
				       o->report);
	if (o->per_request && !strcmp(o->per_request, "-") && o->json)
		return cli_usage_error("sim", usage_text,
				       "--per-request - and --json both want stdout: choose one");
	if (o->pools) {
		struct sim_deploy d;
		int r = o->deploy_set ? sim_deploy_parse_pools(&d, o->deploy, o->pools, &err)
				      : sim_deploy_parse_pools_infer(&d, o->pools, &err);
		if (r < 0)
			return cli_usage_error("sim", usage_text, "%s", no_prefix(err.msg));
		o->deploy = d.kind;
		if (deploy_gpus_wide(&d) > GPUS_MAX)
			return cli_usage_error("sim", usage_text,
					       "--pools %s adds up to %llu GPUs; at most %llu",
					       o->pools, deploy_gpus_wide(&d), GPUS_MAX);
		if (o->gpus_set && sim_deploy_gpus(&d) != o->gpus)
			return cli_usage_error("sim", usage_text,
					       "--pools %s adds up to %u GPUs but --gpus says %llu: "
					       "drop one", o->pools, sim_deploy_gpus(&d), o->gpus);
	}
	return 0;
}

/*
 * Deadlines for the SLO order: arrival + the class's TTFT target, the paper's
 * reference requests (text-only, one image) on the monolith x --slo-scale, or
 * --slo-ttft for both classes. Measured once (d[] caches it).
 */
static int set_deadlines(const struct opts *o, struct sim_config *c, double d[2],
			 struct ms_error *err)
{
	struct plan_slo slo;
	int rc;

	if (!(d[0] > 0)) {
		if (o->slo_ttft > 0) {
			d[0] = d[1] = o->slo_ttft;
		} else {
			plan_slo_init(&slo);
			rc = plan_slo_reference(&slo, c, c->perf->model.default_tp, o->slo_scale, err);
			plan_slo_release(&slo);
			if (rc < 0)
				return rc;
			d[0] = slo.ttft[PLAN_TEXT];
			d[1] = slo.ttft[PLAN_IMAGE];
		}
	}
	c->deadline_ttft_s[0] = d[0];
	c->deadline_ttft_s[1] = d[1];
	return 0;
}

int cmd_sim(int argc, char **argv)
{
	struct opts o;
	struct ms_error err = { 0 };
	struct perf perf;
	struct trace_set ts;
	struct sim_config cfg[MAX_RUNS];
	struct sim_result res[MAX_RUNS];
	struct sim_report_run runs[MAX_RUNS];
	struct sim_autoscale scale[MAX_RUNS];
	struct plan_slo row_slo;
	double deadline[2] = { 0, 0 };
	struct sim_report_ctx ctx;
	struct sim_work work;
	struct ms_progress prog;
	char label[4096];
	double t0;
	int rc, status = CLI_EXIT_FAIL, have_perf = 0, i, n_runs = 0, csv_stdout, n_plan;
	int n_scale = 0;

	rc = parse_args(argc, argv, &o);
	if (rc)
		return rc == PARSE_HELP ? CLI_EXIT_OK : rc;
	csv_stdout = o.per_request && !strcmp(o.per_request, "-");
	trace_set_init(&ts);
	memset(res, 0, sizeof(res));
	memset(scale, 0, sizeof(scale));
	plan_slo_init(&row_slo);
	o.scale.row_slo = &row_slo;
	if (perf_open(&perf, o.model, o.gpu, o.engine, o.profile, &err) < 0)
		goto fail;
	have_perf = 1;
	if (cli_trace_or_synth(&ts, o.trace, o.synth, o.cfg.seed, o.skip_bad, label, sizeof(label),
			       &err) < 0)
		goto fail;
	if (ts.n == 0) {
		ms_error_set(&err, MS_EPARSE, "%s: no requests to simulate", label);
		goto fail;
	}

	memset(&ctx, 0, sizeof(ctx));
	ctx.trace = label;
	ctx.model = perf.model.name;
	ctx.gpu = perf.gpu.name;
	ctx.slo_scale = o.slo_scale;
	ctx.slo_ttft_s = o.slo_ttft;
	ctx.slo_tpot_s = o.slo_tpot;
	ctx.slo_ttft_given = o.slo_ttft > 0;
	ctx.slo_tpot_given = o.slo_tpot > 0;
	if (!o.slo_ttft || !o.slo_tpot) {
		double t1, t2;
		if (sim_slo_default(&perf, o.slo_scale, &t1, &t2, &err) < 0)
			goto fail;
		if (!o.slo_ttft)
			ctx.slo_ttft_s = t1;
		if (!o.slo_tpot)
			ctx.slo_tpot_s = t2;
		ctx.slo_default = 1;
	}
	n_plan = o.compare ? SIM_DEPLOY__COUNT : o.n_sys ? o.n_sys : 1;
	for (i = 0; i < n_plan; i++) {
		const struct sim_system *sys = o.n_sys ? o.sys[i] : NULL;
		enum sim_deploy_kind kind = o.compare ? (enum sim_deploy_kind)i
					    : sys ? sys->kind : o.deploy;
		struct sim_config *c = &cfg[n_runs];
		*c = o.cfg;
		c->perf = &perf;
		if (sys) {
			/* the system's policies, unless an option names its own */
			sim_system_apply(sys, c);
			if (o.order_set)
				c->order = o.cfg.order;
			if (o.rllm_set)
				c->route_llm = o.cfg.route_llm;
			if (o.renc_set)
				c->route_enc = o.cfg.route_enc;
		}
		if (c->order == POLICY_ORDER_SLO &&
		    set_deadlines(&o, c, deadline, &err) < 0)
			goto fail;
		if (o.deploy_file) {
			if (sim_deploy_load(&c->deploy, o.deploy_file, &err) < 0)
				goto fail;
			kind = c->deploy.kind;
			rc = 0;
			if (deploy_gpus_wide(&c->deploy) > GPUS_MAX) {
				status = cli_usage_error("sim", usage_text,
							 "--deploy %s uses %llu GPUs; at most %llu",
							 o.deploy_file,
							 deploy_gpus_wide(&c->deploy), GPUS_MAX);
				goto out;
			}
			if (o.gpus_set && sim_deploy_gpus(&c->deploy) != o.gpus) {
				status = cli_usage_error("sim", usage_text,
							 "--deploy %s uses %u GPUs but --gpus says "
							 "%llu: drop one", o.deploy_file,
							 sim_deploy_gpus(&c->deploy), o.gpus);
				goto out;
			}
		} else if (o.pools) {
			rc = sim_deploy_parse_pools(&c->deploy, kind, o.pools, &err);
		} else {
			/* one estimate serves every run: the mapping options are the same */
			if (!ctx.work) {
				if (sim_work_estimate(c, &ts, perf.model.default_tp, &work, &err) < 0)
					goto fail;
				ctx.work = &work;
				ctx.gpu_budget = (uint32_t)o.gpus;
			}
			rc = sys ? sim_system_split(sys, (uint32_t)o.gpus, &work, &c->deploy, &err)
				 : sim_deploy_by_work(&c->deploy, kind, (uint32_t)o.gpus, &work, &err);
		}
		if (rc < 0) {
			status = cli_usage_error("sim", usage_text, "%s", no_prefix(err.msg));
			goto out;
		}
		if (o.autoscale) {
			o.scale.slo_scale = o.slo_scale;
			o.scale.slo_ttft = o.slo_ttft;
			o.scale.slo_tpot = o.slo_tpot;
			o.scale.slo_ttft_run = ctx.slo_ttft_s;
			o.scale.slo_tpot_run = ctx.slo_tpot_s;
			rc = plan_autoscale_setup(&o.scale, &ts, c, ctx.work, &scale[n_runs], &err);
			if (rc == -MS_EINVAL) {
				status = cli_usage_error("sim", usage_text, "%s", no_prefix(err.msg));
				goto out;
			}
			if (rc < 0)
				goto fail;
			n_scale = n_runs + 1;
		}
		ms_progress_init(&prog, sys ? sys->name : sim_deploy_name(kind), (double)ts.n);
		c->progress = progress_cb;
		c->progress_arg = &prog;
		t0 = ms_wall_seconds();
		rc = sim_run(c, &ts, &res[n_runs], &err);
		t0 = ms_wall_seconds() - t0;
		ms_progress_done(&prog);
		if (rc == 0 && o.stats)
			print_stats(sys ? sys->name : sim_deploy_name(kind), &res[n_runs], t0);
		c->progress = NULL;
		c->progress_arg = NULL;
		if (rc == -MS_EINVAL) {
			/* the options (or deployment file) ask for what cannot run */
			status = cli_usage_error("sim", usage_text, "%s", no_prefix(err.msg));
			goto out;
		}
		if (rc < 0)
			goto fail;
		runs[n_runs].cfg = c;
		runs[n_runs].res = &res[n_runs];
		runs[n_runs].label = sys ? sys->name : NULL;
		runs[n_runs].scale = o.autoscale ? &scale[n_runs] : NULL;
		if (metrics_summary_compute(&runs[n_runs].sum, res[n_runs].req, res[n_runs].n,
					    ctx.slo_ttft_s, ctx.slo_tpot_s, &err) < 0) {
			n_runs++;
			goto fail;
		}
		n_runs++;
	}
	/* the budget split (--compare: the same for all), else what the pools use */
	ctx.gpus = ctx.work ? ctx.gpu_budget : sim_deploy_gpus(&cfg[0].deploy);
	if (o.json) {
		json_t *j = sim_report_json(&ctx, runs, (size_t)n_runs);
		if (!j || json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10)) < 0) {
			json_decref(j);
			ms_error_set(&err, MS_EIO, "sim: writing JSON failed");
			goto fail;
		}
		fputc('\n', stdout);
		json_decref(j);
	} else {
		/* `--per-request -` owns stdout: the table moves to stderr */
		sim_report_table(csv_stdout ? stderr : stdout, &ctx, runs, (size_t)n_runs);
	}
	if (csv_stdout && sim_report_csv_file(stdout, "stdout", &res[0], &err) < 0)
		goto fail;
	if (o.per_request && !csv_stdout && sim_report_csv(o.per_request, &res[0], &err) < 0)
		goto fail;
	if (o.report && (sim_report_plots(o.report, &ctx, runs, (size_t)n_runs, &err) < 0 ||
			 sim_report_html(o.report, &ctx, runs, (size_t)n_runs, &err) < 0))
		goto fail;
	status = CLI_EXIT_OK;
	goto out;
fail:
	status = cli_fail(&err);
out:
	for (i = 0; i < n_runs; i++)
		sim_result_release(&res[i]);
	for (i = 0; i < n_scale; i++)
		sim_autoscale_release(&scale[i]);
	plan_slo_release(&row_slo);
	trace_set_release(&ts);
	if (have_perf)
		perf_release(&perf);
	return status;
}
