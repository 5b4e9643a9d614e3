#include "report/sim_report.h"

#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report/report_int.h"
#include "report/report_plot.h"

static json_t *num(double v)
{
	/* JSON has no NaN: a missing value (no request in the class) is null */
	return isfinite(v) ? json_real(v) : json_null();
}

static json_t *dist_json(const struct metrics_dist *d)
{
	json_t *o = json_object();

	json_object_set_new(o, "n", json_integer((json_int_t)d->n));
	json_object_set_new(o, "mean", num(d->mean));
	json_object_set_new(o, "p50", num(d->p50));
	json_object_set_new(o, "p90", num(d->p90));
	json_object_set_new(o, "p99", num(d->p99));
	json_object_set_new(o, "max", num(d->max));
	return o;
}

static const char *const stage_names[METRICS__STAGES] = { "encode", "prefill", "decode" };

static json_t *class_json(const struct metrics_class *c)
{
	json_t *o = json_object(), *st = json_object();
	int k;

	json_object_set_new(o, "requests", json_integer((json_int_t)c->n));
	json_object_set_new(o, "finished", json_integer((json_int_t)c->finished));
	json_object_set_new(o, "ttft_s", dist_json(&c->ttft));
	json_object_set_new(o, "tpot_s", dist_json(&c->tpot));
	json_object_set_new(o, "e2e_s", dist_json(&c->e2e));
	json_object_set_new(o, "slo_ttft", num(c->slo_ttft));
	json_object_set_new(o, "slo_tpot", num(c->slo_tpot));
	json_object_set_new(o, "slo_both", num(c->slo_both));
	for (k = 0; k < METRICS__STAGES; k++) {
		json_t *x = json_object();
		json_object_set_new(x, "queued_mean_s", num(c->queued_mean[k]));
		json_object_set_new(x, "served_mean_s", num(c->served_mean[k]));
		json_object_set_new(st, stage_names[k], x);
	}
	json_object_set_new(o, "stages", st);
	return o;
}

/* Per-bucket means, rounded to 6 digits: enough for plots, a fraction of the bytes. */
static json_t *series_json(const struct metrics_series *s)
{
	static const char *const names[METRICS__SER] = { "queue", "busy", "kv" };
	json_t *o = json_object();
	size_t i;
	int k;

	json_object_set_new(o, "dt_s", num(s->dt));
	for (k = 0; k < METRICS__SER; k++) {
		json_t *a = json_array();
		for (i = 0; i < s->n; i++)
			json_array_append_new(a, num(round(s->v[k][i] * 1e6) / 1e6));
		json_object_set_new(o, names[k], a);
	}
	return o;
}

/*
 * The split's estimate for a run's pools (GPU-s each) and the decode batch it assumed, or
 * 0 when the pools were given (no estimate) or nothing decodes.
 */
static double run_estimate(const struct sim_work *w, const struct sim_config *c, double *gpu_s)
{
	double batch = 0;
	int p;

	sim_work_pools(w, &c->deploy, gpu_s);
	for (p = 0; p < c->deploy.n_pools; p++) {
		enum sim_role r = c->deploy.pool[p].role;
		if (r == SIM_ROLE_MONO || r == SIM_ROLE_LLM || r == SIM_ROLE_DECODE)
			sim_work_decode(w, c->deploy.pool[p].count, &batch);
	}
	return batch;
}

const char *sim_report_run_name(const struct sim_report_run *r)
{
	return r->label ? r->label : sim_deploy_name(r->cfg->deploy.kind);
}

static json_t *run_json(const struct sim_report_run *r, const struct sim_work *w)
{
	const struct sim_result *res = r->res;
	const struct sim_config *c = r->cfg;
	json_t *o = json_object(), *pools = json_array(), *cnt = json_object();
	double est[SIM_MAX_POOLS] = { 0 }, batch = 0;
	char buf[256];
	int p;

	if (w)
		batch = run_estimate(w, c, est);
	sim_deploy_format(&c->deploy, buf, sizeof(buf));
	json_object_set_new(o, "deploy", json_string(sim_deploy_name(c->deploy.kind)));
	if (r->label) {
		json_object_set_new(o, "system", json_string(r->label));
		json_object_set_new(o, "order", json_string(policy_order_name(c->order)));
		json_object_set_new(o, "route_enc", json_string(policy_route_name(c->route_enc)));
		json_object_set_new(o, "route_llm", json_string(policy_route_name(c->route_llm)));
	}
	json_object_set_new(o, "pools_spec", json_string(buf));
	json_object_set_new(o, "gpus", json_integer(res->gpus));
	for (p = 0; p < res->n_pools; p++) {
		const struct sim_pool_result *pr = &res->pool[p];
		json_t *x = json_object();
		double span = res->end_s > 0 ? res->end_s : 1;
		json_object_set_new(x, "name", json_string(pr->name));
		json_object_set_new(x, "instances", json_integer(pr->count));
		json_object_set_new(x, "tp", json_integer(pr->tp));
		json_object_set_new(x, "kv_blocks_per_instance", json_integer((json_int_t)pr->kv_blocks));
		json_object_set_new(x, "busy_gpu_s", num(pr->busy_gpu_s));
		json_object_set_new(x, "busy_share", num(pr->busy_gpu_s / (span * pr->count * pr->tp)));
		if (w && p < c->deploy.n_pools)
			json_object_set_new(x, "estimated_gpu_s", num(est[p]));
		json_object_set_new(x, "series", series_json(&pr->series));
		json_array_append_new(pools, x);
	}
	json_object_set_new(o, "pools", pools);
	if (w)
		json_object_set_new(o, "estimated_decode_batch", num(batch));
	json_object_set_new(o, "all", class_json(&r->sum.all));
	json_object_set_new(o, "image", class_json(&r->sum.image));
	json_object_set_new(o, "text", class_json(&r->sum.text));
	json_object_set_new(o, "span_s", num(r->sum.span_s));
	json_object_set_new(o, "throughput_rps", num(r->sum.throughput_rps));
	json_object_set_new(o, "goodput_rps", num(r->sum.goodput_rps));
	json_object_set_new(o, "gpu_s", num(res->gpu_s));
	json_object_set_new(o, "cost_usd", num(res->cost_usd));
	json_object_set_new(cnt, "events", json_integer((json_int_t)res->events));
	json_object_set_new(cnt, "capped_images", json_integer((json_int_t)res->capped_images));
	json_object_set_new(cnt, "clamped_text", json_integer((json_int_t)res->clamped_text));
	json_object_set_new(cnt, "truncated", json_integer((json_int_t)res->truncated));
	json_object_set_new(cnt, "preemptions", json_integer((json_int_t)res->preemptions));
	json_object_set_new(cnt, "max_in_flight", json_integer((json_int_t)res->max_in_flight));
	json_object_set_new(o, "counters", cnt);
	if (r->scale)
		json_object_set_new(o, "autoscale", sim_report__scale_json(r));
	return o;
}

json_t *sim_report_json(const struct sim_report_ctx *ctx, const struct sim_report_run *runs,
			size_t n)
{
	json_t *o = json_object(), *in = json_object(), *arr = json_array();
	const struct sim_config *c = n ? runs[0].cfg : NULL;
	size_t i;

	if (!o || !in || !arr)
		goto fail;
	json_object_set_new(in, "trace", json_string(ctx->trace));
	json_object_set_new(in, "model", json_string(ctx->model));
	json_object_set_new(in, "gpu", json_string(ctx->gpu));
	json_object_set_new(in, "gpus", json_integer(ctx->gpus));
	json_object_set_new(in, "slo_ttft_s", num(ctx->slo_ttft_s));
	json_object_set_new(in, "slo_tpot_s", num(ctx->slo_tpot_s));
	json_object_set_new(in, "slo_scale", num(ctx->slo_scale));
	json_object_set_new(in, "slo_from_monolith", json_boolean(ctx->slo_default));
	json_object_set_new(in, "slo_ttft_source", json_string(ctx->slo_ttft_given ?
			    "--slo-ttft" : ctx->slo_default ? "monolith" : "given"));
	json_object_set_new(in, "slo_tpot_source", json_string(ctx->slo_tpot_given ?
			    "--slo-tpot" : ctx->slo_default ? "monolith" : "given"));
	if (ctx->work) {
		json_t *wj = json_object();
		if (!wj)
			goto fail;
		json_object_set_new(wj, "gpu_budget", json_integer(ctx->gpu_budget));
		json_object_set_new(wj, "encode_gpu_h", num(ctx->work->enc_gpu_s / 3600));
		json_object_set_new(wj, "encode_inline_gpu_h",
				    num(ctx->work->enc_inline_gpu_s / 3600));
		json_object_set_new(wj, "prefill_gpu_h", num(ctx->work->prefill_gpu_s / 3600));
		/* what decode needs (the split's weight); each pool's at its size: runs[].pools[] */
		json_object_set_new(wj, "decode_gpu_h", num(ctx->work->decode_gpu_s / 3600));
		json_object_set_new(wj, "decode_batch", num(ctx->work->decode_batch));
		json_object_set_new(wj, "decode_instances", json_integer(ctx->work->decode_instances));
		json_object_set_new(wj, "decode_batch_max", json_integer(ctx->work->decode_batch_max));
		json_object_set_new(in, "split_by_work", wj);
	}
	if (c) {
		json_object_set_new(in, "seed", json_integer((json_int_t)c->seed));
		json_object_set_new(in, "rate_scale", num(c->rate_scale));
		json_object_set_new(in, "max_images", json_integer(c->max_images));
		json_object_set_new(in, "src_tokens_per_image", json_integer(c->src_tokens_per_image));
		json_object_set_new(in, "token_budget", json_integer(c->token_budget));
		json_object_set_new(in, "max_seqs", json_integer(c->max_seqs));
		json_object_set_new(in, "enc_max_images", json_integer(c->enc_max_images));
		json_object_set_new(in, "route_enc", json_string(policy_route_name(c->route_enc)));
		json_object_set_new(in, "route_llm", json_string(policy_route_name(c->route_llm)));
		json_object_set_new(in, "requests", json_integer((json_int_t)runs[0].res->n));
	}
	json_object_set_new(o, "input", in);
	for (i = 0; i < n; i++)
		json_array_append_new(arr, run_json(&runs[i], ctx->work));
	json_object_set_new(o, "runs", arr);
	return o;
fail:
	json_decref(o);
	json_decref(in);
	json_decref(arr);
	return NULL;
}

#define GETTER(name, expr) \
	static double name(const struct sim_report_run *r) { return (expr); }
GETTER(g_ttft_mean, r->sum.all.ttft.mean)
GETTER(g_ttft_p50, r->sum.all.ttft.p50)
GETTER(g_ttft_p90, r->sum.all.ttft.p90)
GETTER(g_ttft_p99, r->sum.all.ttft.p99)
GETTER(g_ttft_img_p99, r->sum.image.ttft.p99)
GETTER(g_ttft_txt_p99, r->sum.text.ttft.p99)
GETTER(g_tpot_mean, r->sum.all.tpot.mean * 1e3)
GETTER(g_tpot_p50, r->sum.all.tpot.p50 * 1e3)
GETTER(g_tpot_p99, r->sum.all.tpot.p99 * 1e3)
GETTER(g_e2e_mean, r->sum.all.e2e.mean)
GETTER(g_e2e_p99, r->sum.all.e2e.p99)
GETTER(g_slo_ttft, 100 * r->sum.all.slo_ttft)
GETTER(g_slo_tpot, 100 * r->sum.all.slo_tpot)
GETTER(g_slo_both, 100 * r->sum.all.slo_both)
GETTER(g_slo_img, r->sum.image.finished ? 100 * r->sum.image.slo_both : NAN) /* no class: "-" */
GETTER(g_slo_txt, r->sum.text.finished ? 100 * r->sum.text.slo_both : NAN)
GETTER(g_thr, r->sum.throughput_rps)
GETTER(g_good, r->sum.goodput_rps)
GETTER(g_gpu_h, r->res->gpu_s / 3600)
GETTER(g_cost, r->res->cost_usd)
GETTER(g_q_enc, r->sum.all.queued_mean[METRICS_ENC])
GETTER(g_q_pf, r->sum.all.queued_mean[METRICS_PREFILL])
GETTER(g_q_dec, r->sum.all.queued_mean[METRICS_DECODE])
GETTER(g_pre, (double)r->res->preemptions)

/* One row per line of the side-by-side table; the text and HTML tables both walk it. */
struct row_def {
	const char *label;
	double (*get)(const struct sim_report_run *r);
	int digits;
	int floor; /* shares: truncate, so 100.00 means every request, never 99.995 */
};

static const struct row_def rows[] = {
	{ "TTFT mean (s)", g_ttft_mean, 3, 0 },
	{ "TTFT p50 (s)", g_ttft_p50, 3, 0 },
	{ "TTFT p90 (s)", g_ttft_p90, 3, 0 },
	{ "TTFT p99 (s)", g_ttft_p99, 3, 0 },
	{ "TTFT p99 image (s)", g_ttft_img_p99, 3, 0 },
	{ "TTFT p99 text (s)", g_ttft_txt_p99, 3, 0 },
	{ "TPOT mean (ms)", g_tpot_mean, 2, 0 },
	{ "TPOT p50 (ms)", g_tpot_p50, 2, 0 },
	{ "TPOT p99 (ms)", g_tpot_p99, 2, 0 },
	{ "E2E mean (s)", g_e2e_mean, 3, 0 },
	{ "E2E p99 (s)", g_e2e_p99, 3, 0 },
	{ "queued encode mean (s)", g_q_enc, 3, 0 },
	{ "queued prefill mean (s)", g_q_pf, 3, 0 },
	{ "queued decode mean (s)", g_q_dec, 3, 0 },
	{ "SLO TTFT met (%)", g_slo_ttft, 2, 1 },
	{ "SLO TPOT met (%)", g_slo_tpot, 2, 1 },
	{ "SLO both met (%)", g_slo_both, 2, 1 },
	{ "SLO both, image (%)", g_slo_img, 2, 1 },
	{ "SLO both, text (%)", g_slo_txt, 2, 1 },
	{ "throughput (req/s)", g_thr, 3, 0 },
	{ "goodput (req/s)", g_good, 3, 0 },
	{ "GPU-hours", g_gpu_h, 1, 0 },
	{ "cost (USD)", g_cost, 2, 0 },
	{ "preemptions", g_pre, 0, 0 },
};

/*
 * One cell of the side-by-side table, the same text in the table and the page.
 * A share is floored at its last digit; the 1e-9 absorbs binary error in exact
 * decimals (a share is met/n and, n < 1e8, sits >= 1e-8 from the next step).
 */
static void cell_fmt(char *buf, size_t size, const struct row_def *rd, double v)
{
	double scale = pow(10, rd->digits);

	if (isnan(v))
		snprintf(buf, size, "-");
	else if (rd->floor && isfinite(v))
		snprintf(buf, size, "%.*f", rd->digits, floor(v * scale + 1e-9) / scale);
	else
		snprintf(buf, size, "%.*f", rd->digits, v);
}

void sim_report_fmt_s(char *buf, size_t size, double s)
{
	if (s >= 0.1 || !(s > 0))
		snprintf(buf, size, "%.3f s", s);
	else
		snprintf(buf, size, "%.3g ms", s * 1e3);
}

/* Where each target came from: an option, or the isolated request on the monolith. */
static void slo_source(char *buf, size_t size, const struct sim_report_ctx *ctx)
{
	char mono[64];

	snprintf(mono, sizeof(mono), "%g x isolated request on the monolith", ctx->slo_scale);
	if (ctx->slo_ttft_given && ctx->slo_tpot_given)
		snprintf(buf, size, "--slo-ttft, --slo-tpot");
	else if (ctx->slo_ttft_given)
		snprintf(buf, size, "TTFT from --slo-ttft, TPOT %s", mono);
	else if (ctx->slo_tpot_given)
		snprintf(buf, size, "TTFT %s, TPOT from --slo-tpot", mono);
	else if (ctx->slo_default)
		snprintf(buf, size, "both %s", mono);
	else
		snprintf(buf, size, "given");
}

void sim_report_table(FILE *out, const struct sim_report_ctx *ctx,
		      const struct sim_report_run *runs, size_t n)
{
	size_t i, k;
	char buf[256];

	fprintf(out, "trace %s, model %s, gpu %s, %u GPUs\n", ctx->trace, ctx->model, ctx->gpu,
		ctx->gpus);
	{
		char a[64], b[64], src[128];
		sim_report_fmt_s(a, sizeof(a), ctx->slo_ttft_s);
		sim_report_fmt_s(b, sizeof(b), ctx->slo_tpot_s);
		slo_source(src, sizeof(src), ctx);
		fprintf(out, "SLO: TTFT %s, TPOT %s (%s)\n", a, b, src);
	}
	if (ctx->work) {
		const struct sim_work *w = ctx->work;
		fprintf(out, "split of %u GPUs by estimated work (GPU-h): encode %.3g on TP-1 "
			"(%.3g inline at TP %d), prefill %.3g, decode %.3g at batch %.3g (the "
			"arrivals' on %u instance%s)\n",
			ctx->gpu_budget, w->enc_gpu_s / 3600, w->enc_inline_gpu_s / 3600, w->tp,
			w->prefill_gpu_s / 3600, w->decode_gpu_s / 3600, w->decode_batch,
			w->decode_instances, w->decode_instances == 1 ? "" : "s");
	}
	if (n) {
		const struct sim_result *r = runs[0].res;
		fprintf(out, "requests %zu: %llu with images capped to %u, %llu with text clamped "
			"to 0, %llu truncated to fit KV\n", r->n,
			(unsigned long long)r->capped_images, runs[0].cfg->max_images,
			(unsigned long long)r->clamped_text, (unsigned long long)r->truncated);
	}
	for (i = 0; i < n; i++) {
		sim_deploy_format(&runs[i].cfg->deploy, buf, sizeof(buf));
		fprintf(out, "%-9s %s (%u GPUs)", sim_report_run_name(&runs[i]), buf,
			runs[i].res->gpus);
		if (ctx->work) {
			double est[SIM_MAX_POOLS] = { 0 }, batch;
			int p;
			batch = run_estimate(ctx->work, runs[i].cfg, est);
			fputs(", estimated GPU-h", out);
			for (p = 0; p < runs[i].cfg->deploy.n_pools; p++)
				fprintf(out, "%c%.3g", p ? '/' : ' ', est[p] / 3600);
			fprintf(out, " (decode batch %.3g)", batch);
		}
		fputc('\n', out);
	}
	fprintf(out, "\n  %-26s", "");
	for (i = 0; i < n; i++)
		fprintf(out, " %14s", sim_report_run_name(&runs[i]));
	fputc('\n', out);
	for (k = 0; k < sizeof(rows) / sizeof(rows[0]); k++) {
		fprintf(out, "  %-26s", rows[k].label);
		for (i = 0; i < n; i++) {
			char cell[64];
			cell_fmt(cell, sizeof(cell), &rows[k], rows[k].get(&runs[i]));
			fprintf(out, " %14s", cell);
		}
		fputc('\n', out);
	}
	sim_report__scale_table(out, runs, n);
}

int sim_report_csv_file(FILE *f, const char *name, const struct sim_result *res,
			struct ms_error *err)
{
	size_t i;

	fprintf(f, "row,arrive_s,images,prompt_tokens,gen_tokens,ttft_s,tpot_s,e2e_s,"
		   "enc_queued_s,enc_served_s,prefill_queued_s,prefill_served_s,"
		   "decode_queued_s,decode_served_s,preempted\n");
	for (i = 0; i < res->n; i++) {
		const struct metrics_req *r = &res->req[i];
		fprintf(f, "%zu,%.6f,%u,%u,%u,%.6f,", i, r->arrive, r->images, r->prompt, r->gen,
			r->ttft);
		if (isnan(r->tpot))
			fputs(",", f);
		else
			fprintf(f, "%.6f,", r->tpot);
		fprintf(f, "%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%u\n", r->e2e,
			(double)r->queued[0], (double)r->served[0], (double)r->queued[1],
			(double)r->served[1], (double)r->queued[2], (double)r->served[2],
			r->preempted);
	}
	if (fflush(f) != 0 || ferror(f))
		return ms_error_set(err, MS_EIO, "%s: write failed", name);
	return 0;
}

int sim_report_csv(const char *path, const struct sim_result *res, struct ms_error *err)
{
	FILE *f = fopen(path, "w");
	int rc;

	if (!f)
		return ms_error_set(err, MS_EIO, "%s: %s", path, strerror(errno));
	rc = sim_report_csv_file(f, path, res, err);
	if (fclose(f) != 0 && rc == 0)
		rc = ms_error_set(err, MS_EIO, "%s: write failed", path);
	return rc;
}

/* The trace's file name without its folders: titles must fit a 640-pixel figure. */
static const char *trace_short(const struct sim_report_ctx *ctx)
{
	const char *t = ctx->trace ? ctx->trace : "", *sl = strrchr(t, '/');

	return sl && sl[1] ? sl + 1 : t;
}

/* "synth:1000000 at 30x rate" or just the trace when it runs at its own rate. */
static void trace_label(char *buf, size_t size, const struct sim_report_ctx *ctx,
			const struct sim_report_run *runs, size_t n)
{
	double k = n ? runs[0].cfg->rate_scale : 1;

	/* a long file name would run off the figure; the page has it whole */
	if (k == 1)
		snprintf(buf, size, "%.36s", trace_short(ctx));
	else
		snprintf(buf, size, "%.36s, %gx rate", trace_short(ctx), k);
}

static const struct cdf_def {
	const char *name, *what, *xlabel, *ylabel;
	int tpot;
	double unit;
} cdfs[2] = {
	{ "ttft_cdf", "TTFT CDF", "TTFT: arrival to first token (s, log scale)",
	  "requests with TTFT <= x (%)", 0, 1.0 },
	{ "tpot_cdf", "TPOT CDF (2+ output tokens)",
	  "TPOT: time per output token after the first (ms, log scale)",
	  "requests with TPOT <= x (%)", 1, 1e3 },
};

/* One step curve per deployment plus the SLO as a vertical line. */
static int cdf_plot(const char *dir, const struct cdf_def *def, const struct sim_report_ctx *ctx,
		    const struct sim_report_run *runs, size_t n, struct ms_error *err)
{
	struct report_series ser[SIM_DEPLOY__COUNT * 2 + 1];
	double *xs[SIM_DEPLOY__COUNT * 2] = { 0 }, *ys[SIM_DEPLOY__COUNT * 2] = { 0 }, *v = NULL;
	double slo = (def->tpot ? ctx->slo_tpot_s : ctx->slo_ttft_s) * def->unit;
	double slo_x[2] = { slo, slo }, slo_y[2] = { 0, 100 };
	char path[4096], title[256], lab[200], slo_title[64];
	size_t i, k, m, ns = 0;
	int rc = 0;

	if (n > SIM_DEPLOY__COUNT * 2)
		n = SIM_DEPLOY__COUNT * 2;
	for (i = 0; i < n && rc >= 0; i++) {
		const struct sim_result *res = runs[i].res;
		free(v);
		v = malloc((res->n ? res->n : 1) * sizeof(*v));
		if (!v) {
			rc = ms_error_set(err, MS_ENOMEM, "sim report: CDF");
			break;
		}
		for (m = 0, k = 0; k < res->n; k++) {
			double x = def->tpot ? res->req[k].tpot : res->req[k].ttft;
			if (res->req[k].done && !isnan(x))
				v[m++] = x * def->unit;
		}
		rc = report_cdf_points(v, m, 2000, &xs[i], &ys[i], err);
		if (rc < 0)
			break;
		ser[ns].title = sim_report_run_name(&runs[i]);
		ser[ns].x = xs[i];
		ser[ns].y = ys[i];
		ser[ns].n = (size_t)rc;
		ns++;
		rc = 0;
	}
	if (rc >= 0) {
		struct report_plot p = { .title = title, .xlabel = def->xlabel,
					 .ylabel = def->ylabel, .logx = 1, .steps = 1,
					 .series = ser, .n_series = ns };
		if (isfinite(slo) && slo > 0) {
			snprintf(slo_title, sizeof(slo_title), "SLO %.3g %s", slo,
				 def->tpot ? "ms" : "s");
			ser[ns].title = slo_title;
			ser[ns].x = slo_x;
			ser[ns].y = slo_y;
			ser[ns].n = 2;
			p.n_series++;
		}
		trace_label(lab, sizeof(lab), ctx, runs, n);
		snprintf(title, sizeof(title), "%s: %s", def->what, lab);
		snprintf(path, sizeof(path), "%s/%s", dir, def->name);
		rc = report_plot_write(&p, path, err);
	}
	free(v);
	for (i = 0; i < SIM_DEPLOY__COUNT * 2; i++) {
		free(xs[i]);
		free(ys[i]);
	}
	return rc;
}

static const char *const ser_file[METRICS__SER] = { "queue", "busy", "kv" };
static const char *const ser_what[METRICS__SER] = { "queue length", "busy instances",
						    "KV cache in use" };

/*
 * File base name and title of one time-series figure; 1 when pool p has no
 * such series (encoders keep no KV cache). The figures and the HTML page both
 * ask here, so the page links exactly the files written.
 */
static int series_figure(const struct sim_report_run *run, int p, int k, char *name,
			 size_t nsize, char *title, size_t tsize)
{
	const struct sim_pool_result *pr = &run->res->pool[p];
	const char *dep = sim_report_run_name(run);

	if (k == METRICS_SER_KV && pr->role == SIM_ROLE_ENC)
		return 1;
	snprintf(name, nsize, "%s_%s_%s", dep, pr->name, ser_file[k]);
	snprintf(title, tsize, "%s: %s pool (%u x TP-%d), %s", dep, pr->name, pr->count, pr->tp,
		 ser_what[k]);
	return 0;
}

/* A week in hours reads badly, a burst window too: pick the unit from the span. */
static void time_unit(double span_s, double *div, const char **unit)
{
	if (span_s <= 600) {
		*div = 1;
		*unit = "s";
	} else if (span_s <= 6 * 3600) {
		*div = 60;
		*unit = "min";
	} else if (span_s <= 72 * 3600) {
		*div = 3600;
		*unit = "h";
	} else {
		*div = 86400;
		*unit = "days";
	}
}

static int series_plots(const char *dir, const struct sim_report_run *run, struct ms_error *err)
{
	const struct sim_result *res = run->res;
	char path[4096], name[160], title[160], xlab[200], ylab[160], key[64];
	int p, k, rc = 0;

	for (p = 0; p < res->n_pools && rc >= 0; p++) {
		const struct metrics_series *s = &res->pool[p].series;
		int enc = res->pool[p].role == SIM_ROLE_ENC;
		double *x = malloc((s->n ? s->n : 1) * sizeof(*x));
		double *y = malloc((s->n ? s->n : 1) * sizeof(*y));
		double div;
		const char *unit;
		size_t i;
		if (!x || !y) {
			free(x);
			free(y);
			return ms_error_set(err, MS_ENOMEM, "sim report: series");
		}
		time_unit((double)s->n * s->dt, &div, &unit);
		for (i = 0; i < s->n; i++)
			x[i] = ((double)i + 0.5) * s->dt / div;
		if (run->cfg->rate_scale != 1)
			snprintf(xlab, sizeof(xlab), "simulated time since the first arrival (%s; "
				 "trace time / %g)", unit, run->cfg->rate_scale);
		else
			snprintf(xlab, sizeof(xlab), "simulated time since the first arrival (%s)",
				 unit);
		snprintf(key, sizeof(key), "mean per %.4g s bucket", s->dt);
		for (k = 0; k < METRICS__SER && rc >= 0; k++) {
			/* the figure title names the pool; the key says how points were averaged */
			struct report_series ser = { .title = key, .x = x, .y = y, .n = s->n };
			struct report_plot pl = { .title = title, .xlabel = xlab, .ylabel = ylab,
						  .series = &ser, .n_series = 1 };
			double scale = k == METRICS_SER_QUEUE ? 1 : 100;
			if (series_figure(run, p, k, name, sizeof(name), title, sizeof(title)))
				continue;
			if (k == METRICS_SER_QUEUE)
				snprintf(ylab, sizeof(ylab), "%s waiting, whole pool",
					 enc ? "image items" : "requests");
			else if (k == METRICS_SER_BUSY)
				snprintf(ylab, sizeof(ylab), "instances busy (%% of %u)",
					 res->pool[p].count);
			else
				snprintf(ylab, sizeof(ylab), "KV cache blocks in use (%% of pool)");
			for (i = 0; i < s->n; i++)
				y[i] = s->v[k][i] * scale;
			snprintf(path, sizeof(path), "%s/%s", dir, name);
			rc = report_plot_write(&pl, path, err);
		}
		free(x);
		free(y);
	}
	return rc;
}

int sim_report_plots(const char *dir, const struct sim_report_ctx *ctx,
		     const struct sim_report_run *runs, size_t n, struct ms_error *err)
{
	size_t i;
	int rc;

	if ((rc = report_dir_make(dir, err)) < 0)
		return rc;
	for (i = 0; i < 2; i++)
		if ((rc = cdf_plot(dir, &cdfs[i], ctx, runs, n, err)) < 0)
			return rc;
	for (i = 0; i < n; i++)
		if ((rc = series_plots(dir, &runs[i], err)) < 0)
			return rc;
	return sim_report__scale_plots(dir, runs, n, err);
}

static void kv_row(FILE *f, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* One <tr> of the setup table; the value is formatted, then escaped. */
static void kv_row(FILE *f, const char *key, const char *fmt, ...)
{
	char buf[4200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fputs("<tr><th class=\"l\">", f);
	report__html_esc(f, key);
	fputs("</th><td class=\"l\">", f);
	report__html_esc(f, buf);
	fputs("</td></tr>\n", f);
}

static void html_setup(FILE *f, const struct sim_report_ctx *ctx,
		       const struct sim_report_run *runs, size_t n)
{
	const struct sim_config *c = n ? runs[0].cfg : NULL;

	fputs("<h2>Setup</h2>\n<table>\n", f);
	kv_row(f, "trace", "%s", ctx->trace);
	if (c) {
		const struct sim_result *r = runs[0].res;
		kv_row(f, "requests", "%zu (%llu with images capped to %u, %llu with text clamped "
		       "to 0, %llu truncated to fit KV)", r->n,
		       (unsigned long long)r->capped_images, c->max_images,
		       (unsigned long long)r->clamped_text, (unsigned long long)r->truncated);
		kv_row(f, "rate scale", "%gx (arrival times divided by %g)", c->rate_scale,
		       c->rate_scale);
		kv_row(f, "trace image tokens per image", "%u", c->src_tokens_per_image);
		kv_row(f, "seed", "%llu", (unsigned long long)c->seed);
	}
	kv_row(f, "model", "%s", ctx->model);
	kv_row(f, "GPU", "%s", ctx->gpu);
	kv_row(f, "GPU budget", "%u", ctx->gpus);
	{
		char a[64], b[64], src[128];
		sim_report_fmt_s(a, sizeof(a), ctx->slo_ttft_s);
		sim_report_fmt_s(b, sizeof(b), ctx->slo_tpot_s);
		slo_source(src, sizeof(src), ctx);
		kv_row(f, "SLO TTFT", "%s", a);
		kv_row(f, "SLO TPOT", "%s", b);
		kv_row(f, "SLO source", "%s", src);
		if (ctx->slo_default)
			kv_row(f, "isolated request", "1 image, 1,000 text tokens, 100 output "
			       "tokens on a one-instance monolith");
	}
	if (c) {
		kv_row(f, "LLM iteration", "token budget %u, at most %u running requests",
		       c->token_budget, c->max_seqs);
		kv_row(f, "encoder batch", "%u images", c->enc_max_images);
		kv_row(f, "routing", "LLM %s, encoders %s", policy_route_name(c->route_llm),
		       policy_route_name(c->route_enc));
		kv_row(f, "decode", "%s", c->step_decode ? "stepped, one event per iteration"
							 : "closed form between batch changes");
	}
	fputs("</table>\n", f);
}

static void html_pools(FILE *f, const struct sim_report_run *runs, size_t n)
{
	char buf[256];
	size_t i;
	int p;

	fputs("<h2>Deployments</h2>\n<table>\n<tr><th class=\"l\">deployment</th>"
	      "<th class=\"l\">pool</th><th>instances</th><th>TP</th><th>GPUs</th>"
	      "<th>KV blocks per instance</th><th>busy (% of GPU-time)</th></tr>\n", f);
	for (i = 0; i < n; i++) {
		const struct sim_result *res = runs[i].res;
		double span = res->end_s > 0 ? res->end_s : 1;
		sim_deploy_format(&runs[i].cfg->deploy, buf, sizeof(buf));
		for (p = 0; p < res->n_pools; p++) {
			const struct sim_pool_result *pr = &res->pool[p];
			fputs("<tr>", f);
			if (p == 0) {
				fprintf(f, "<td class=\"l\" rowspan=\"%d\"><b>", res->n_pools);
				report__html_esc(f, sim_report_run_name(&runs[i]));
				fputs("</b><br>", f);
				report__html_esc(f, buf);
				fprintf(f, " (%u GPUs)</td>", res->gpus);
			}
			fputs("<td class=\"l\">", f);
			report__html_esc(f, pr->name);
			fprintf(f, "</td><td>%u</td><td>%d</td><td>%u</td>", pr->count, pr->tp,
				pr->count * (uint32_t)pr->tp);
			report__html_cell(f, pr->role == SIM_ROLE_ENC ? NAN : (double)pr->kv_blocks, 0);
			report__html_cell_fixed(f, 100 * pr->busy_gpu_s /
						       (span * pr->count * pr->tp), 1);
			fputs("</tr>\n", f);
		}
	}
	fputs("</table>\n", f);
}

static void html_results(FILE *f, const struct sim_report_run *runs, size_t n)
{
	size_t i, k;

	fputs("<h2>Results</h2>\n<table>\n<tr><th></th>", f);
	for (i = 0; i < n; i++) {
		fputs("<th>", f);
		report__html_esc(f, sim_report_run_name(&runs[i]));
		fputs("</th>", f);
	}
	fputs("</tr>\n", f);
	for (k = 0; k < sizeof(rows) / sizeof(rows[0]); k++) {
		fputs("<tr><th class=\"l\">", f);
		report__html_esc(f, rows[k].label);
		fputs("</th>", f);
		for (i = 0; i < n; i++) {
			char cell[64];
			cell_fmt(cell, sizeof(cell), &rows[k], rows[k].get(&runs[i]));
			fprintf(f, "<td>%s</td>", cell); /* digits and '-' only: nothing to escape */
		}
		fputs("</tr>\n", f);
	}
	fputs("</table>\n<p class=\"note\">TTFT: arrival to first token. TPOT: (last - first "
	      "token) / (output tokens - 1), over requests with 2+ output tokens. Percentiles: "
	      "linear interpolation between order statistics (numpy/pandas default). SLO met: "
	      "share of requests within the target (a request without TPOT meets any TPOT "
	      "target). Goodput: requests meeting both SLOs per "
	      "second of span. GPU-hours and cost: all GPUs of the deployment over the span. "
	      "Queued: mean wait per stage. docs/sim.md has the model.</p>\n", f);
}

int sim_report_html(const char *dir, const struct sim_report_ctx *ctx,
		    const struct sim_report_run *runs, size_t n, struct ms_error *err)
{
	char path[4200], title[4200], name[160], cap[512], buf[256];
	FILE *f;
	size_t i;
	int p, k, rc = report__html_open(dir, path, sizeof(path), &f, err);

	if (rc < 0)
		return rc;
	snprintf(title, sizeof(title), "modserve sim report: %s", ctx->trace);
	report__html_head(f, title, title + strlen("modserve "));
	html_setup(f, ctx, runs, n);
	html_pools(f, runs, n);
	html_results(f, runs, n);
	fputs("<h2>Latency</h2>\n", f);
	for (i = 0; i < 2; i++) {
		trace_label(buf, sizeof(buf), ctx, runs, n);
		snprintf(cap, sizeof(cap), "%s: %s (one curve per deployment, SLO as a vertical line)",
			 cdfs[i].what, buf);
		report__html_figure(f, cdfs[i].name, cap);
	}
	sim_report__scale_html(f, runs, n);
	fputs("\n<h2>Pools over time</h2>\n<p class=\"note\">Per pool, in buckets of the "
	      "simulated time: requests (image items for encoders) waiting for admission, "
	      "share of instances running a batch, share of the pool's KV cache blocks in "
	      "use.</p>\n", f);
	for (i = 0; i < n; i++) {
		sim_deploy_format(&runs[i].cfg->deploy, buf, sizeof(buf));
		fputs("<h3>", f);
		report__html_esc(f, sim_report_run_name(&runs[i]));
		fputs(": ", f);
		report__html_esc(f, buf);
		fprintf(f, " (%u GPUs)</h3>\n", runs[i].res->gpus);
		for (p = 0; p < runs[i].res->n_pools; p++)
			for (k = 0; k < METRICS__SER; k++)
				if (!series_figure(&runs[i], p, k, name, sizeof(name), cap,
						   sizeof(cap)))
					report__html_figure(f, name, cap);
	}
	return report__html_close(f, path, err);
}
