/*
 * `modserve plan`: the cheapest static pools per design that meet the SLO at
 * P99 per class on a trace, and the highest rate scale each GPU budget
 * sustains within it (plan/). Every answer comes from simulation.
 */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/ms_progress.h"
#include "cli/cli.h"
#include "perf/perf.h"
#include "plan/plan.h"
#include "sim/sim.h"

static const char usage_text[] =
	"usage: modserve plan [options]\n"
	"\n"
	"Finds, by simulation, the cheapest pools per design that meet the SLO at P99\n"
	"for text and for image requests, and the highest load each GPU budget sustains.\n"
	"\n"
	"input:\n"
	"  --trace FILE          trace CSV/CSV.gz, or 'synth' [synth]\n"
	"  --synth N             requests of the built-in synthetic week [1000000]\n"
	"  --skip-bad            skip bad trace rows (counted on stderr)\n"
	"  --rate-scale K        plan for arrivals at K x the trace's rate [1]\n"
	"  --max-images N        cap images per request, as the paper does [16]\n"
	"cluster:\n"
	"  --model M, --gpu G    [llama-3.2-11b-vision, a100-80gb]\n"
	"  --profile CSV         measured stage profile (overrides the roofline)\n"
	"  --engine E            engine constants (data/engines/): NAME for every stage, or\n"
	"                        llm=NAME,enc=NAME,inline=NAME [vllm: every stage on vLLM,\n"
	"                        as EPD deployments run today; the paper's own mix is\n"
	"                        llm=vllm,enc=hf-eager,inline=vllm]\n"
	"  --design D            mono | pd | modserve | all [all]\n"
	"  --tp LIST             LLM TP degrees to try, e.g. 4 or 2,4,8 [the model's]\n"
	"  --max-gpus N          largest cluster considered [128]\n"
	"  --budgets LIST        GPU budgets for the highest sustained load, e.g. 32,64,128;\n"
	"                        'none' skips that search [32,64,128]\n"
	"  --split S             a budget's pools at each rate: search (from the work rule's\n"
	"                        split towards the pool the misses name) or work (the work\n"
	"                        rule of `sim` only) [search]\n"
	"SLOs:\n"
	"  --slo-scale K         targets = K x an isolated request on the monolith [5]\n"
	"  --slo-ttft S, --slo-tpot S   fixed targets in seconds for both classes\n"
	"  --slo-mode M          request: each request against its own isolated latency;\n"
	"                        class: the paper's text and one-image reference requests,\n"
	"                        which many of the trace's requests miss even alone\n"
	"                        (docs/plan.md) [request]\n"
	"  --mono-tp N           TP of the reference monolith [the model's]\n"
	"output:\n"
	"  --threads N           simulations at once [cores]\n"
	"  --json                JSON on stdout instead of the table\n"
	"  --verbose             one line per simulated candidate on stderr\n"
	"  --seed S              [1]\n"
	"  -h, --help\n"
	"\n"
	"A class meets its SLO when at most 1% of its requests miss the TTFT target and\n"
	"at most 1% miss the TPOT target (the P99 condition, counted).\n";

enum {
	O_TRACE = 256, O_SYNTH, O_SKIP, O_RATE, O_MAXIMG, O_MODEL, O_GPU, O_PROFILE, O_DESIGN,
	O_TP, O_MAXGPUS, O_BUDGETS, O_SLOSCALE, O_TTFT, O_TPOT, O_SLOMODE, O_MONOTP, O_THREADS,
	O_JSON, O_VERBOSE, O_SEED, O_SPLIT, O_ENGINE,
};

static const struct option long_opts[] = {
	{ "trace", required_argument, NULL, O_TRACE },
	{ "synth", required_argument, NULL, O_SYNTH },
	{ "skip-bad", no_argument, NULL, O_SKIP },
	{ "rate-scale", required_argument, NULL, O_RATE },
	{ "max-images", required_argument, NULL, O_MAXIMG },
	{ "model", required_argument, NULL, O_MODEL },
	{ "gpu", required_argument, NULL, O_GPU },
	{ "profile", required_argument, NULL, O_PROFILE },
	{ "design", required_argument, NULL, O_DESIGN },
	{ "tp", required_argument, NULL, O_TP },
	{ "max-gpus", required_argument, NULL, O_MAXGPUS },
	{ "budgets", required_argument, NULL, O_BUDGETS },
	{ "slo-scale", required_argument, NULL, O_SLOSCALE },
	{ "slo-ttft", required_argument, NULL, O_TTFT },
	{ "slo-tpot", required_argument, NULL, O_TPOT },
	{ "slo-mode", required_argument, NULL, O_SLOMODE },
	{ "mono-tp", required_argument, NULL, O_MONOTP },
	{ "threads", required_argument, NULL, O_THREADS },
	{ "json", no_argument, NULL, O_JSON },
	{ "verbose", no_argument, NULL, O_VERBOSE },
	{ "seed", required_argument, NULL, O_SEED },
	{ "split", required_argument, NULL, O_SPLIT },
	{ "engine", required_argument, NULL, O_ENGINE },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

#define PARSE_HELP 100
#define MAX_BUDGETS 16

struct opts {
	const char *trace, *model, *gpu, *profile, *engine;
	unsigned long long synth, max_gpus, mono_tp, threads, seed;
	double rate, slo_scale, slo_ttft, slo_tpot;
	enum sim_deploy_kind kinds[SIM_DEPLOY__COUNT];
	int n_kinds, tps[4], n_tps, skip_bad, json, verbose, request_mode, mode_set, split_work;
	uint32_t budgets[MAX_BUDGETS];
	int n_budgets;
	unsigned long long max_images;
};

/* "4" or "2,4,8" into out[] (at most max), each in [lo, hi]. */
static int parse_list(const char *name, const char *v, unsigned long long lo,
		      unsigned long long hi, uint32_t *out, int max, int *n)
{
	char buf[256], *tok, *save = NULL;

	*n = 0;
	if (strlen(v) >= sizeof(buf) || !*v)
		return cli_usage_error("plan", usage_text, "%s: expected a list like 2,4,8", name);
	strcpy(buf, v);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		unsigned long long x;
		int rc;
		if (*n >= max)
			return cli_usage_error("plan", usage_text, "%s: at most %d values", name,
					       max);
		if ((rc = cli_opt_u64("plan", usage_text, name, tok, lo, hi, &x)))
			return rc;
		out[(*n)++] = (uint32_t)x;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	uint32_t tmp[4];
	long nproc = sysconf(_SC_NPROCESSORS_ONLN);
	int c, i;

	memset(o, 0, sizeof(*o));
	o->model = "llama-3.2-11b-vision";
	o->gpu = "a100-80gb";
	o->synth = 1000000;
	o->max_gpus = 128;
	o->rate = 1;
	o->slo_scale = 5;
	o->seed = 1;
	o->max_images = 16;
	o->request_mode = 1;
	o->threads = nproc > 0 ? (unsigned long long)nproc : 1;
	o->budgets[0] = 32, o->budgets[1] = 64, o->budgets[2] = 128, o->n_budgets = 3;
	for (i = 0; i < SIM_DEPLOY__COUNT; i++)
		o->kinds[i] = (enum sim_deploy_kind)i;
	o->n_kinds = SIM_DEPLOY__COUNT;
	while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		int rc = 0, n = 0;
		switch (c) {
		case 'h':
			fputs(usage_text, stdout);
			return PARSE_HELP;
		case O_TRACE: o->trace = optarg; break;
		case O_SYNTH: rc = cli_opt_u64("plan", usage_text, "--synth", optarg, 1, 100000000, &o->synth); break;
		case O_SKIP: o->skip_bad = 1; break;
		case O_RATE: rc = cli_opt_pos("plan", usage_text, "--rate-scale", optarg, 1e6, &o->rate); break;
		case O_MAXIMG: rc = cli_opt_u64("plan", usage_text, "--max-images", optarg, 0, 100000, &o->max_images); break;
		case O_MODEL: o->model = optarg; break;
		case O_GPU: o->gpu = optarg; break;
		case O_PROFILE: o->profile = optarg; break;
		case O_ENGINE: o->engine = optarg; break;
		case O_DESIGN:
			if (!strcmp(optarg, "all")) {
				o->n_kinds = SIM_DEPLOY__COUNT;
				break;
			}
			o->n_kinds = 1;
			if (sim_deploy_parse_kind(optarg, &o->kinds[0], NULL) < 0)
				return cli_usage_error("plan", usage_text,
						       "--design: expected mono, pd, modserve or all, "
						       "got '%s'", optarg);
			break;
		case O_TP:
			rc = parse_list("--tp", optarg, 1, 64, tmp, 4, &n);
			for (i = 0; i < n; i++)
				o->tps[i] = (int)tmp[i];
			o->n_tps = n;
			break;
		case O_MAXGPUS: rc = cli_opt_u64("plan", usage_text, "--max-gpus", optarg, 1, 100000, &o->max_gpus); break;
		case O_BUDGETS:
			if (!strcmp(optarg, "none")) {
				o->n_budgets = 0;
				break;
			}
			rc = parse_list("--budgets", optarg, 1, 100000, o->budgets, MAX_BUDGETS,
					&o->n_budgets);
			break;
		case O_SLOSCALE: rc = cli_opt_pos("plan", usage_text, "--slo-scale", optarg, 1e6, &o->slo_scale); break;
		case O_TTFT: rc = cli_opt_pos("plan", usage_text, "--slo-ttft", optarg, 1e6, &o->slo_ttft); break;
		case O_TPOT: rc = cli_opt_pos("plan", usage_text, "--slo-tpot", optarg, 1e6, &o->slo_tpot); break;
		case O_SLOMODE:
			o->mode_set = 1;
			if (!strcmp(optarg, "class"))
				o->request_mode = 0;
			else if (!strcmp(optarg, "request"))
				o->request_mode = 1;
			else
				return cli_usage_error("plan", usage_text,
						       "--slo-mode: expected class or request, got '%s'",
						       optarg);
			break;
		case O_MONOTP: rc = cli_opt_u64("plan", usage_text, "--mono-tp", optarg, 1, 64, &o->mono_tp); break;
		case O_THREADS: rc = cli_opt_u64("plan", usage_text, "--threads", optarg, 1, 64, &o->threads); break;
		case O_JSON: o->json = 1; break;
		case O_VERBOSE: o->verbose = 1; break;
		case O_SPLIT:
			if (!strcmp(optarg, "work") || !strcmp(optarg, "search"))
				o->split_work = !strcmp(optarg, "work");
			else
				return cli_usage_error("plan", usage_text,
						       "--split: expected search or work, got '%s'",
						       optarg);
			break;
		case O_SEED: rc = cli_opt_u64("plan", usage_text, "--seed", optarg, 0, UINT64_MAX, &o->seed); break;
		default:
			return cli_usage_error("plan", usage_text, "unknown option");
		}
		if (rc)
			return rc;
	}
	if (optind < argc)
		return cli_usage_error("plan", usage_text, "unexpected argument '%s'", argv[optind]);
	if ((o->slo_ttft > 0) != (o->slo_tpot > 0))
		return cli_usage_error("plan", usage_text,
				       "--slo-ttft and --slo-tpot go together (or use --slo-scale)");
	if (o->mode_set && o->request_mode && o->slo_ttft > 0)
		return cli_usage_error("plan", usage_text,
				       "--slo-mode request derives each request's targets; "
				       "drop --slo-ttft/--slo-tpot");
	if (o->slo_ttft > 0)
		o->request_mode = 0; /* fixed targets are class targets */
	return 0;
}

static void pools_str(const struct sim_deploy *d, char *buf, size_t n)
{
	if (sim_deploy_format(d, buf, n) < 0 && n)
		buf[0] = 0;
}

struct step_ctx {
	int verbose;
	struct ms_progress prog;
};

static void on_step(void *arg, const char *design, const struct sim_deploy *d,
		    const struct plan_verdict *v, double wall_s)
{
	struct step_ctx *s = arg;
	char pools[128], rate[32];

	if (!s->verbose)
		return;
	pools_str(d, pools, sizeof(pools));
	if (v && v->rate > 0)
		snprintf(rate, sizeof(rate), "x%.4g", v->rate);
	else
		snprintf(rate, sizeof(rate), "idle");
	if (!v) {
		fprintf(stderr, "plan: %-8s %-22s %4u GPUs  cannot run (TP or memory)\n", design,
			pools, sim_deploy_gpus(d));
		return;
	}
	fprintf(stderr,
		"plan: %-8s %-22s %4u GPUs %-8s %s  TTFT misses text %llu/%llu image %llu/%llu, "
		"TPOT misses text %llu image %llu  (%.2f s, %s at %.0f%%)\n",
		design, pools, sim_deploy_gpus(d), rate, v->met ? "meets " : "misses",
		(unsigned long long)v->miss_ttft[PLAN_TEXT], (unsigned long long)v->n[PLAN_TEXT],
		(unsigned long long)v->miss_ttft[PLAN_IMAGE], (unsigned long long)v->n[PLAN_IMAGE],
		(unsigned long long)v->miss_tpot[PLAN_TEXT],
		(unsigned long long)v->miss_tpot[PLAN_IMAGE], wall_s,
		v->stopped ? "stopped" : "ran to the end", 100 * v->finished);
}

static void on_progress(void *arg, unsigned done)
{
	struct step_ctx *s = arg;
	ms_progress_update(&s->prog, (double)done);
}

static json_t *deploy_json(const struct sim_deploy *d)
{
	json_t *a = json_array();
	int i;

	for (i = 0; i < d->n_pools; i++)
		json_array_append_new(a, json_pack("{s:s,s:i,s:i}", "role",
						   sim_role_name(d->pool[i].role), "count",
						   (json_int_t)d->pool[i].count, "tp", d->pool[i].tp));
	return a;
}

static json_t *num(double x)
{
	return isfinite(x) ? json_real(x) : json_null();
}

/* 1234567 as "1,234,567" */
static const char *grouped(uint64_t x, char *buf, size_t n)
{
	char raw[32];
	size_t len, i, o = 0;

	snprintf(raw, sizeof(raw), "%llu", (unsigned long long)x);
	len = strlen(raw);
	for (i = 0; i < len && o + 2 < n; i++) {
		if (i && (len - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = raw[i];
	}
	buf[o] = 0;
	return buf;
}

/* The search's reach: how much of the space plan decides over has a verdict (plan.h). */
static void print_reach(const struct plan_reach *r)
{
	char a[32], b[32], c[32], d[32];

	printf("verdicts on %s of %s configurations (designs x TPs x %d rate%s x pools within "
	       "%u GPUs): %s simulated, %s implied by monotonicity",
	       grouped(r->simulated + r->implied, a, sizeof(a)), grouped(r->space, b, sizeof(b)),
	       r->n_rates, r->n_rates == 1 ? "" : "s", r->cap, grouped(r->simulated, c, sizeof(c)),
	       grouped(r->implied, d, sizeof(d)));
	if (r->conflicts)
		printf("; %s implied both ways, not counted (the simulator is not monotone there)",
		       grouped(r->conflicts, a, sizeof(a)));
	if (!r->counted)
		printf(" (not counted in full: the space is too large to count here)");
	printf("\n");
}

static void print_table(const struct opts *o, const char *label, const struct perf *perf,
			const struct plan_slo *slo, const struct plan_choice *ch,
			const struct plan_capacity *cap, const struct plan_stats *st, double wall)
{
	char pools[128];
	int k, b;

	printf("modserve plan: %s, %s on %s, rate x%g\n", label, perf->model.name, perf->gpu.name,
	       o->rate);
	if (slo->mode == PLAN_SLO_CLASS)
		printf("SLO (P99 per class, %s): text TTFT %.3f s TPOT %.4f s; image TTFT %.3f s "
		       "TPOT %.4f s\n",
		       o->slo_ttft > 0 ? "fixed" : "scale x isolated request on the monolith",
		       slo->ttft[PLAN_TEXT], slo->tpot[PLAN_TEXT], slo->ttft[PLAN_IMAGE],
		       slo->tpot[PLAN_IMAGE]);
	else
		printf("SLO (P99 per class): each request within %g x its own isolated latency on "
		       "a TP-%d monolith\n", slo->scale, slo->mono_tp);
	printf("\ncheapest pools meeting the SLO (up to %llu GPUs):\n", o->max_gpus);
	printf("  %-9s %-24s %5s %9s %9s %9s %9s %9s %6s\n", "design", "pools", "GPUs", "$/hour",
	       "p99TTFTt", "p99TTFTi", "p99TPOTt", "p99TPOTi", "runs");
	for (k = 0; k < o->n_kinds; k++) {
		const struct plan_choice *c = &ch[k];
		if (!c->found) {
			printf("  %-9s %-24s %5s %9s %9s %9s %9s %9s %6u\n",
			       sim_deploy_name(c->kind), "none fits", "-", "-", "-", "-", "-", "-",
			       c->evals);
			continue;
		}
		pools_str(&c->deploy, pools, sizeof(pools));
		printf("  %-9s %-24s %5u %9.2f %9.3f %9.3f %9.4f %9.4f %6u\n",
		       sim_deploy_name(c->kind), pools, c->gpus, c->usd_per_hour,
		       c->v.p99_ttft[PLAN_TEXT], c->v.p99_ttft[PLAN_IMAGE], c->v.p99_tpot[PLAN_TEXT],
		       c->v.p99_tpot[PLAN_IMAGE], c->evals);
	}
	for (k = 0; k < o->n_kinds; k++)
		if (!ch[k].found && ch[k].kind == SIM_DEPLOY_PD) {
			printf("  (pd: the KV hand-over to decode lands before the second token, so\n"
			       "   short outputs can miss a TPOT target of a few isolated tokens at any size)\n");
			break;
		}
	if (o->n_budgets) {
		if (o->split_work)
			printf("\nhighest rate scale within the SLO (each budget split by the work rule of\n"
			       "`sim` at each rate, not searched: a split can sustain less than the cheapest\n"
			       "pools above):\n");
		else
			printf("\nhighest rate scale within the SLO (at each rate the budget's split is\n"
			       "searched from the work rule's towards the pool the misses name):\n");
		printf("  %-9s", "design");
		for (b = 0; b < o->n_budgets; b++)
			printf(" %7u GPUs", o->budgets[b]);
		printf("\n");
		for (k = 0; k < o->n_kinds; k++) {
			printf("  %-9s", sim_deploy_name(ch[k].kind));
			for (b = 0; b < o->n_budgets; b++) {
				const struct plan_capacity *c = &cap[k * o->n_budgets + b];
				if (c->rate_scale > 0)
					printf(" %11.2fx", c->rate_scale);
				else
					printf(" %12s", "-");
			}
			printf("\n");
		}
	}
	printf("\n%u candidates simulated (%u answered again from the memo) in %.1f s\n",
	       st->simulated, st->reused, wall);
	print_reach(&st->reach);
}

static json_t *plan_json(const struct opts *o, const char *label, const struct perf *perf,
			 const struct plan_slo *slo, const struct plan_choice *ch,
			 const struct plan_capacity *cap, const struct plan_stats *st, double wall)
{
	json_t *j = json_object(), *designs = json_array(), *caps = json_array();
	int k, b;

	json_object_set_new(j, "trace", json_string(label));
	json_object_set_new(j, "model", json_string(perf->model.name));
	json_object_set_new(j, "gpu", json_string(perf->gpu.name));
	json_object_set_new(j, "rate_scale", json_real(o->rate));
	json_object_set_new(j, "max_gpus", json_integer((json_int_t)o->max_gpus));
	json_object_set_new(j, "slo", json_pack("{s:s,s:f,s:f,s:i,s:o,s:o,s:o,s:o}", "mode",
						slo->mode == PLAN_SLO_CLASS ? "class" : "request",
						"scale", slo->scale, "quantile", slo->quantile,
						"mono_tp", slo->mono_tp,
						"text_ttft_s", num(slo->ttft[PLAN_TEXT]),
						"text_tpot_s", num(slo->tpot[PLAN_TEXT]),
						"image_ttft_s", num(slo->ttft[PLAN_IMAGE]),
						"image_tpot_s", num(slo->tpot[PLAN_IMAGE])));
	for (k = 0; k < o->n_kinds; k++) {
		const struct plan_choice *c = &ch[k];
		json_t *d = json_pack("{s:s,s:b,s:i}", "design", sim_deploy_name(c->kind), "found",
				      c->found, "simulations", (json_int_t)c->evals);
		if (c->found) {
			json_object_set_new(d, "pools", deploy_json(&c->deploy));
			json_object_set_new(d, "gpus", json_integer(c->gpus));
			json_object_set_new(d, "usd_per_hour", json_real(c->usd_per_hour));
			json_object_set_new(d, "p99_ttft_s", json_pack("{s:o,s:o}", "text",
					     num(c->v.p99_ttft[PLAN_TEXT]), "image",
					     num(c->v.p99_ttft[PLAN_IMAGE])));
			json_object_set_new(d, "p99_tpot_s", json_pack("{s:o,s:o}", "text",
					     num(c->v.p99_tpot[PLAN_TEXT]), "image",
					     num(c->v.p99_tpot[PLAN_IMAGE])));
		}
		json_array_append_new(designs, d);
		for (b = 0; b < o->n_budgets; b++) {
			const struct plan_capacity *p = &cap[k * o->n_budgets + b];
			json_t *e = json_pack("{s:s,s:i,s:o,s:i}", "design", sim_deploy_name(p->kind),
					      "gpus", (json_int_t)p->gpus, "max_rate_scale",
					      p->rate_scale > 0 ? json_real(p->rate_scale)
								: json_null(),
					      "simulations", (json_int_t)p->evals);
			json_object_set_new(e, "splits", json_integer((json_int_t)p->splits));
			if (p->rate_scale > 0)
				json_object_set_new(e, "pools", deploy_json(&p->deploy));
			json_array_append_new(caps, e);
		}
	}
	json_object_set_new(j, "cheapest", designs);
	json_object_set_new(j, "capacity", caps);
	json_object_set_new(j, "split", json_string(o->split_work ? "work" : "search"));
	json_object_set_new(j, "simulations", json_integer((json_int_t)st->simulated));
	json_object_set_new(j, "memo_hits", json_integer((json_int_t)st->reused));
	json_object_set_new(j, "reach", json_pack("{s:I,s:I,s:I,s:I,s:I,s:i,s:i,s:b}", "space",
						  (json_int_t)st->reach.space, "established",
						  (json_int_t)(st->reach.simulated +
							       st->reach.implied),
						  "simulated", (json_int_t)st->reach.simulated,
						  "implied", (json_int_t)st->reach.implied,
						  "conflicts", (json_int_t)st->reach.conflicts,
						  "rates", st->reach.n_rates, "gpu_cap",
						  (json_int_t)st->reach.cap, "counted",
						  st->reach.counted));
	json_object_set_new(j, "wall_s", json_real(wall));
	return j;
}

int cmd_plan(int argc, char **argv)
{
	struct opts o;
	struct ms_error err = { 0 };
	struct perf perf;
	struct trace_set ts;
	struct sim_config base;
	struct plan_slo slo;
	struct plan_opts po;
	struct plan_choice ch[SIM_DEPLOY__COUNT];
	struct plan_capacity *cap = NULL;
	struct step_ctx sc;
	struct plan_stats stats;
	char label[4096];
	double t0 = ms_wall_seconds();
	int rc, status = CLI_EXIT_FAIL, have_perf = 0, i;

	rc = parse_args(argc, argv, &o);
	if (rc)
		return rc == PARSE_HELP ? CLI_EXIT_OK : rc;
	trace_set_init(&ts);
	plan_slo_init(&slo);
	/*
	 * plan answers "what should I deploy", so by default every stage runs on vLLM, as a
	 * vLLM EPD deployment does today; sim and reproduce keep the paper's mix (its image
	 * instances ran Hugging Face eager), which would plan encoders several times slower
	 * than anyone deploys now.
	 */
	if (perf_open(&perf, o.model, o.gpu, o.engine ? o.engine : "vllm", o.profile, &err) < 0)
		goto fail;
	have_perf = 1;
	if (cli_trace_or_synth(&ts, o.trace, o.synth, o.seed, o.skip_bad, label, sizeof(label),
			       &err) < 0)
		goto fail;
	if (ts.n == 0) {
		ms_error_set(&err, MS_EPARSE, "%s: no requests to plan for", label);
		goto fail;
	}
	sim_config_default(&base, &perf);
	base.seed = o.seed;
	base.rate_scale = o.rate;
	base.max_images = (uint32_t)o.max_images;
	if (plan_slo_reference(&slo, &base, o.mono_tp ? (int)o.mono_tp : perf.model.default_tp,
			       o.slo_scale, &err) < 0)
		goto usage_or_fail;
	if (o.slo_ttft > 0)
		for (i = 0; i < PLAN__CLASSES; i++) {
			slo.ttft[i] = o.slo_ttft;
			slo.tpot[i] = o.slo_tpot;
		}
	if (o.request_mode && plan_slo_per_request(&slo, &base, &ts, &err) < 0)
		goto fail;
	memset(&po, 0, sizeof(po));
	po.base = &base;
	po.ts = &ts;
	po.slo = &slo;
	po.max_gpus = (uint32_t)o.max_gpus;
	po.threads = (int)o.threads;
	for (i = 0; i < o.n_tps; i++)
		po.tps[i] = o.tps[i];
	po.n_tps = o.n_tps;
	memset(&sc, 0, sizeof(sc));
	sc.verbose = o.verbose;
	ms_progress_init(&sc.prog, "plan: simulations", 0);
	po.step = on_step;
	po.step_arg = &sc;
	po.progress = on_progress;
	po.progress_arg = &sc;
	po.split_search = !o.split_work;
	/* the capacity search scales the rate itself, from the trace's own */
	cap = calloc((size_t)(o.n_kinds * (o.n_budgets ? o.n_budgets : 1)), sizeof(*cap));
	if (!cap) {
		ms_error_set(&err, MS_ENOMEM, "plan: results");
		goto fail;
	}
	if (plan_run(&po, o.kinds, o.n_kinds, ch, o.budgets, o.n_budgets, 0.05, cap, &stats,
		     &err) < 0)
		goto fail;
	ms_progress_done(&sc.prog);
	if (o.json) {
		json_t *j = plan_json(&o, label, &perf, &slo, ch, cap, &stats, ms_wall_seconds() - t0);
		if (!j || json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10)) < 0) {
			json_decref(j);
			ms_error_set(&err, MS_EIO, "plan: writing JSON failed");
			goto fail;
		}
		fputc('\n', stdout);
		json_decref(j);
	} else {
		print_table(&o, label, &perf, &slo, ch, cap, &stats, ms_wall_seconds() - t0);
	}
	status = CLI_EXIT_OK;
	goto out;
usage_or_fail:
	if (err.code == MS_EINVAL) {
		status = cli_usage_error("plan", usage_text, "%s", err.msg);
		goto out;
	}
fail:
	status = cli_fail(&err);
out:
	free(cap);
	plan_slo_release(&slo);
	trace_set_release(&ts);
	if (have_perf)
		perf_release(&perf);
	return status;
}
