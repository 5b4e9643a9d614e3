#include "report/sim_report.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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

static json_t *run_json(const struct sim_report_run *r)
{
	const struct sim_result *res = r->res;
	const struct sim_config *c = r->cfg;
	json_t *o = json_object(), *pools = json_array(), *cnt = json_object();
	char buf[256];
	int p;

	sim_deploy_format(&c->deploy, buf, sizeof(buf));
	json_object_set_new(o, "deploy", json_string(sim_deploy_name(c->deploy.kind)));
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
		json_object_set_new(x, "series", series_json(&pr->series));
		json_array_append_new(pools, x);
	}
	json_object_set_new(o, "pools", pools);
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
		json_array_append_new(arr, run_json(&runs[i]));
	json_object_set_new(o, "runs", arr);
	return o;
fail:
	json_decref(o);
	json_decref(in);
	json_decref(arr);
	return NULL;
}

static void row(FILE *out, const char *label, const struct sim_report_run *runs, size_t n,
		double (*get)(const struct sim_report_run *), const char *fmt)
{
	size_t i;

	fprintf(out, "  %-26s", label);
	for (i = 0; i < n; i++) {
		double v = get(&runs[i]);
		if (isnan(v))
			fprintf(out, " %14s", "-");
		else
			fprintf(out, fmt, v);
	}
	fputc('\n', out);
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
GETTER(g_slo_img, 100 * r->sum.image.slo_both)
GETTER(g_slo_txt, 100 * r->sum.text.slo_both)
GETTER(g_thr, r->sum.throughput_rps)
GETTER(g_good, r->sum.goodput_rps)
GETTER(g_gpu_h, r->res->gpu_s / 3600)
GETTER(g_cost, r->res->cost_usd)
GETTER(g_q_enc, r->sum.all.queued_mean[METRICS_ENC])
GETTER(g_q_pf, r->sum.all.queued_mean[METRICS_PREFILL])
GETTER(g_q_dec, r->sum.all.queued_mean[METRICS_DECODE])
GETTER(g_pre, (double)r->res->preemptions)

void sim_report_table(FILE *out, const struct sim_report_ctx *ctx,
		      const struct sim_report_run *runs, size_t n)
{
	size_t i;
	char buf[256];

	fprintf(out, "trace %s, model %s, gpu %s, %u GPUs\n", ctx->trace, ctx->model, ctx->gpu,
		ctx->gpus);
	fprintf(out, "SLO: TTFT %.3f s, TPOT %.1f ms%s\n", ctx->slo_ttft_s, ctx->slo_tpot_s * 1e3,
		ctx->slo_default ? " (isolated request on the monolith x --slo-scale)" : "");
	if (n) {
		const struct sim_result *r = runs[0].res;
		fprintf(out, "requests %zu: %llu with images capped to %u, %llu with text clamped "
			"to 0, %llu truncated to fit KV\n", r->n,
			(unsigned long long)r->capped_images, runs[0].cfg->max_images,
			(unsigned long long)r->clamped_text, (unsigned long long)r->truncated);
	}
	for (i = 0; i < n; i++) {
		sim_deploy_format(&runs[i].cfg->deploy, buf, sizeof(buf));
		fprintf(out, "%-9s %s (%u GPUs)\n", sim_deploy_name(runs[i].cfg->deploy.kind), buf,
			runs[i].res->gpus);
	}
	fprintf(out, "\n  %-26s", "");
	for (i = 0; i < n; i++)
		fprintf(out, " %14s", sim_deploy_name(runs[i].cfg->deploy.kind));
	fputc('\n', out);
	row(out, "TTFT mean (s)", runs, n, g_ttft_mean, " %14.3f");
	row(out, "TTFT p50 (s)", runs, n, g_ttft_p50, " %14.3f");
	row(out, "TTFT p90 (s)", runs, n, g_ttft_p90, " %14.3f");
	row(out, "TTFT p99 (s)", runs, n, g_ttft_p99, " %14.3f");
	row(out, "TTFT p99 image (s)", runs, n, g_ttft_img_p99, " %14.3f");
	row(out, "TTFT p99 text (s)", runs, n, g_ttft_txt_p99, " %14.3f");
	row(out, "TPOT mean (ms)", runs, n, g_tpot_mean, " %14.2f");
	row(out, "TPOT p50 (ms)", runs, n, g_tpot_p50, " %14.2f");
	row(out, "TPOT p99 (ms)", runs, n, g_tpot_p99, " %14.2f");
	row(out, "E2E mean (s)", runs, n, g_e2e_mean, " %14.3f");
	row(out, "E2E p99 (s)", runs, n, g_e2e_p99, " %14.3f");
	row(out, "queued encode mean (s)", runs, n, g_q_enc, " %14.3f");
	row(out, "queued prefill mean (s)", runs, n, g_q_pf, " %14.3f");
	row(out, "queued decode mean (s)", runs, n, g_q_dec, " %14.3f");
	row(out, "SLO TTFT met (%)", runs, n, g_slo_ttft, " %14.2f");
	row(out, "SLO TPOT met (%)", runs, n, g_slo_tpot, " %14.2f");
	row(out, "SLO both met (%)", runs, n, g_slo_both, " %14.2f");
	row(out, "SLO both, image (%)", runs, n, g_slo_img, " %14.2f");
	row(out, "SLO both, text (%)", runs, n, g_slo_txt, " %14.2f");
	row(out, "throughput (req/s)", runs, n, g_thr, " %14.3f");
	row(out, "goodput (req/s)", runs, n, g_good, " %14.3f");
	row(out, "GPU-hours", runs, n, g_gpu_h, " %14.1f");
	row(out, "cost (USD)", runs, n, g_cost, " %14.2f");
	row(out, "preemptions", runs, n, g_pre, " %14.0f");
}

int sim_report_csv(const char *path, const struct sim_result *res, struct ms_error *err)
{
	FILE *f = fopen(path, "w");
	size_t i;

	if (!f)
		return ms_error_set(err, MS_EIO, "%s: %s", path, strerror(errno));
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
	if (ferror(f) | fclose(f))
		return ms_error_set(err, MS_EIO, "%s: write failed", path);
	return 0;
}

static int cdf_plot(const char *dir, const char *name, const char *title, const char *xlabel,
		    const struct sim_report_run *runs, size_t n, int which, double unit,
		    struct ms_error *err)
{
	struct report_series ser[SIM_DEPLOY__COUNT * 2];
	double *xs[SIM_DEPLOY__COUNT * 2] = { 0 }, *ys[SIM_DEPLOY__COUNT * 2] = { 0 }, *v = NULL;
	char path[4096];
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
			double x = which ? res->req[k].tpot : res->req[k].ttft;
			if (res->req[k].done && !isnan(x))
				v[m++] = x * unit;
		}
		rc = report_cdf_points(v, m, 2000, &xs[i], &ys[i], err);
		if (rc < 0)
			break;
		ser[ns].title = sim_deploy_name(runs[i].cfg->deploy.kind);
		ser[ns].x = xs[i];
		ser[ns].y = ys[i];
		ser[ns].n = (size_t)rc;
		ns++;
		rc = 0;
	}
	if (rc >= 0) {
		struct report_plot p = { .title = title, .xlabel = xlabel,
					 .ylabel = "requests (%)", .logx = 1, .steps = 1,
					 .series = ser, .n_series = ns };
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		rc = report_plot_write(&p, path, err);
	}
	free(v);
	for (i = 0; i < SIM_DEPLOY__COUNT * 2; i++) {
		free(xs[i]);
		free(ys[i]);
	}
	return rc;
}

static int series_plots(const char *dir, const struct sim_report_run *run, struct ms_error *err)
{
	static const char *const what[METRICS__SER] = { "queue", "busy", "kv" };
	static const char *const ylab[METRICS__SER] = { "mean queue length", "busy share",
							"KV blocks used (share)" };
	const struct sim_result *res = run->res;
	char path[4096], title[160];
	int p, k, rc = 0;

	for (p = 0; p < res->n_pools && rc >= 0; p++) {
		const struct metrics_series *s = &res->pool[p].series;
		double *x = malloc((s->n ? s->n : 1) * sizeof(*x));
		size_t i;
		if (!x)
			return ms_error_set(err, MS_ENOMEM, "sim report: series");
		for (i = 0; i < s->n; i++)
			x[i] = ((double)i + 0.5) * s->dt / 3600.0;
		for (k = 0; k < METRICS__SER && rc >= 0; k++) {
			struct report_series ser = { .title = res->pool[p].name, .x = x,
						     .y = s->v[k], .n = s->n };
			struct report_plot pl = { .title = title, .xlabel = "time (h)",
						  .ylabel = ylab[k], .series = &ser,
						  .n_series = 1 };
			if (k == METRICS_SER_KV && res->pool[p].role == SIM_ROLE_ENC)
				continue;
			snprintf(title, sizeof(title), "%s: %s pool (%u x TP-%d), %s",
				 sim_deploy_name(run->cfg->deploy.kind), res->pool[p].name,
				 res->pool[p].count, res->pool[p].tp, what[k]);
			snprintf(path, sizeof(path), "%s/%s_%s_%s", dir,
				 sim_deploy_name(run->cfg->deploy.kind), res->pool[p].name, what[k]);
			rc = report_plot_write(&pl, path, err);
		}
		free(x);
	}
	return rc;
}

int sim_report_plots(const char *dir, const struct sim_report_ctx *ctx,
		     const struct sim_report_run *runs, size_t n, struct ms_error *err)
{
	size_t i;
	int rc;

	(void)ctx;
	if ((rc = report_dir_make(dir, err)) < 0)
		return rc;
	if ((rc = cdf_plot(dir, "ttft_cdf", "TTFT per deployment", "TTFT (s)", runs, n, 0, 1.0,
			   err)) < 0)
		return rc;
	if ((rc = cdf_plot(dir, "tpot_cdf", "TPOT per deployment", "TPOT (ms)", runs, n, 1, 1e3,
			   err)) < 0)
		return rc;
	for (i = 0; i < n; i++)
		if ((rc = series_plots(dir, &runs[i], err)) < 0)
			return rc;
	return 0;
}
