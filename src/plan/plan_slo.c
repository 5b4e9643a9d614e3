/*
 * SLO targets and the verdict on a run (plan.h says what they mean).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/ms_quantile.h"
#include "plan/plan_int.h"

void plan_slo_init(struct plan_slo *s)
{
	memset(s, 0, sizeof(*s));
	s->quantile = 0.99;
	s->scale = 5;
}

void plan_slo_release(struct plan_slo *s)
{
	free(s->req_ttft);
	free(s->req_tpot);
	s->req_ttft = s->req_tpot = NULL;
	s->n = 0;
}

/* One monolith instance of TP tp with c's options. */
static int mono_config(struct sim_config *m, const struct sim_config *c, int tp,
		       struct ms_error *err)
{
	*m = *c;
	m->rate_scale = 1;
	m->progress = NULL;
	m->progress_arg = NULL;
	return sim_deploy_default(&m->deploy, SIM_DEPLOY_MONO, (uint32_t)tp, tp, err);
}

/*
 * The reference requests (paper section 6): 1,000 text tokens and 100 output
 * tokens, with no image and with one (sim_isolated).
 */
int plan_slo_reference(struct plan_slo *s, const struct sim_config *c, int tp, double scale,
		       struct ms_error *err)
{
	int rc, k;

	if (!(scale > 0) || !isfinite(scale))
		return ms_error_set(err, MS_EINVAL, "plan: SLO scale must be > 0");
	s->scale = scale;
	s->mono_tp = tp;
	for (k = 0; k < PLAN__CLASSES; k++) {
		if (k == PLAN_IMAGE && !model_has_vision(&c->perf->model)) {
			/* a text-only model has no image requests: nothing to judge them by */
			s->ttft[k] = s->ttft[PLAN_TEXT];
			s->tpot[k] = s->tpot[PLAN_TEXT];
			continue;
		}
		if ((rc = sim_isolated(c, tp, (uint32_t)k, 1000, 100, &s->ttft[k], &s->tpot[k],
				       err)) < 0)
			return rc;
		s->ttft[k] *= scale;
		s->tpot[k] *= scale;
	}
	return 0;
}

/*
 * The rows of res that shared the cluster with another request: one that
 * arrived before every earlier row had finished, or had not finished itself
 * when the next row arrived (finish times of this run: if anything, later than
 * alone, so no row that overlapped is missed). Their number; rows into dirty[].
 */
static size_t overlapped(const struct sim_result *res, size_t *dirty)
{
	double busy = -INFINITY; /* the latest finish of the rows so far */
	size_t i, n = 0;

	for (i = 0; i < res->n; i++) {
		const struct metrics_req *r = &res->req[i];
		double fin = r->done ? r->arrive + r->e2e : INFINITY;
		int d = !r->done || busy >= r->arrive;
		if (i + 1 < res->n)
			d |= fin >= res->req[i + 1].arrive;
		if (fin > busy)
			busy = fin;
		if (d)
			dirty[n++] = i;
	}
	return n;
}

/*
 * Requests `gap` seconds apart; where some overlapped, only those are replayed
 * again (their own trace, the gap doubled, recursively) and put back in their
 * rows: each row's latencies are then those of a run with it alone, and a
 * long request costs a replay of the few rows near it, not of the whole trace.
 */
static int isolated_at(const struct sim_config *c, const struct trace_set *ts, double gap,
		       int depth, struct sim_result *res, struct ms_error *err)
{
	struct trace_set iso, sub;
	struct sim_result sr;
	size_t i, n_dirty, *dirty = NULL;
	int rc;

	if (depth >= 40)
		return ms_error_set(err, MS_ERANGE, "plan: a request takes longer than %.3g s alone",
				    gap / 2);
	trace_set_init(&iso);
	for (i = 0, rc = 0; i < ts->n && rc == 0; i++)
		rc = trace_set_push(&iso, (double)i * gap, ts->images[i], ts->ctx[i], ts->gen[i],
				    err);
	if (rc == 0)
		rc = sim_run(c, &iso, res, err);
	trace_set_release(&iso);
	if (rc < 0)
		return rc;
	if (!(dirty = malloc((res->n ? res->n : 1) * sizeof(*dirty)))) {
		sim_result_release(res);
		return ms_error_set(err, MS_ENOMEM, "plan: isolated run of %zu requests", ts->n);
	}
	n_dirty = overlapped(res, dirty);
	if (n_dirty == 0) {
		free(dirty);
		return 0;
	}
	trace_set_init(&sub);
	for (i = 0, rc = 0; i < n_dirty && rc == 0; i++)
		rc = trace_set_push(&sub, 0, ts->images[dirty[i]], ts->ctx[dirty[i]],
				    ts->gen[dirty[i]], err);
	if (rc == 0)
		rc = isolated_at(c, &sub, 2 * gap, depth + 1, &sr, err);
	trace_set_release(&sub);
	if (rc == 0) {
		for (i = 0; i < n_dirty; i++) {
			double arrive = res->req[dirty[i]].arrive;
			res->req[dirty[i]] = sr.req[i];
			res->req[dirty[i]].arrive = arrive; /* the row's place in this replay */
		}
		sim_result_release(&sr);
	} else {
		sim_result_release(res);
	}
	free(dirty);
	return rc;
}

int plan__isolated_run(const struct sim_config *c, const struct trace_set *ts,
		       struct sim_result *res, struct ms_error *err)
{
	return isolated_at(c, ts, 60, 0, res, err);
}

int plan_slo_per_request(struct plan_slo *s, const struct sim_config *c,
			 const struct trace_set *ts, struct ms_error *err)
{
	struct sim_config m;
	struct sim_result res;
	size_t i;
	int rc;

	s->mode = PLAN_SLO_REQUEST;
	plan_slo_release(s);
	s->req_ttft = malloc((ts->n ? ts->n : 1) * sizeof(float));
	s->req_tpot = malloc((ts->n ? ts->n : 1) * sizeof(float));
	if (!s->req_ttft || !s->req_tpot)
		return ms_error_set(err, MS_ENOMEM, "plan: SLO targets of %zu requests", ts->n);
	s->n = ts->n;
	if ((rc = mono_config(&m, c, s->mono_tp, err)) < 0)
		return rc;
	if ((rc = plan__isolated_run(&m, ts, &res, err)) < 0)
		return rc;
	for (i = 0; i < res.n; i++) {
		s->req_ttft[i] = (float)(s->scale * res.req[i].ttft);
		s->req_tpot[i] = (float)(s->scale * res.req[i].tpot);
	}
	sim_result_release(&res);
	return 0;
}

uint64_t plan_allowed_misses(uint64_t n, double q)
{
	/* floor((1 - q) n), computed so that q = 0.99, n = 100 allows exactly 1 */
	double a = floor((1.0 - q) * (double)n + 1e-9);
	return a > 0 ? (uint64_t)a : 0;
}

void plan_slo_target(const struct plan_slo *s, size_t row, int cls, double *ttft_s,
		     double *tpot_s)
{
	if (s->mode == PLAN_SLO_REQUEST) {
		*ttft_s = s->req_ttft[row];
		*tpot_s = s->req_tpot[row];
	} else {
		*ttft_s = s->ttft[cls];
		*tpot_s = s->tpot[cls];
	}
}

int plan_judge(const struct plan_slo *s, const struct sim_result *res, int tails,
	       struct plan_verdict *v, struct ms_error *err)
{
	double *buf[2 * PLAN__CLASSES], *tmp = NULL;
	size_t nb[2 * PLAN__CLASSES] = { 0 }, i;
	int k, rc = 0;

	memset(v, 0, sizeof(*v));
	if (s->mode == PLAN_SLO_REQUEST && s->n != res->n)
		return ms_error_set(err, MS_EINVAL, "plan: SLO made for %zu requests, run has %zu",
				    s->n, res->n);
	for (k = 0; k < 2 * PLAN__CLASSES; k++) {
		v->p99_ttft[k / 2] = v->p99_tpot[k / 2] = NAN;
		buf[k] = tails ? malloc((res->n ? res->n : 1) * sizeof(double)) : NULL;
		if (tails && !buf[k])
			rc = ms_error_set(err, MS_ENOMEM, "plan: verdict of %zu requests", res->n);
	}
	if (tails && rc == 0 && !(tmp = malloc((res->n ? res->n : 1) * sizeof(double))))
		rc = ms_error_set(err, MS_ENOMEM, "plan: verdict of %zu requests", res->n);
	for (i = 0; rc == 0 && i < res->n; i++) {
		const struct metrics_req *r = &res->req[i];
		int c = r->images ? PLAN_IMAGE : PLAN_TEXT;
		double t_ttft, t_tpot;

		v->n[c]++; /* the class's size is the trace's, finished or not */
		if (!r->done)
			continue; /* an early-stopped run: its misses so far */
		plan_slo_target(s, i, c, &t_ttft, &t_tpot);
		if (r->ttft > t_ttft)
			v->miss_ttft[c]++;
		if (!isnan(r->tpot) && r->tpot > t_tpot)
			v->miss_tpot[c]++;
		if (!tails)
			continue;
		buf[2 * c][nb[2 * c]++] = r->ttft;
		if (!isnan(r->tpot))
			buf[2 * c + 1][nb[2 * c + 1]++] = r->tpot;
	}
	v->met = rc == 0;
	for (k = 0; rc == 0 && k < PLAN__CLASSES; k++) {
		uint64_t allow = plan_allowed_misses(v->n[k], s->quantile);
		if (v->miss_ttft[k] > allow || v->miss_tpot[k] > allow)
			v->met = 0;
		if (!tails)
			continue;
		/* the buffers hold no NaN (a missing TPOT is left out above) */
		ms_sort_f64(buf[2 * k], nb[2 * k], tmp);
		ms_sort_f64(buf[2 * k + 1], nb[2 * k + 1], tmp);
		v->p99_ttft[k] = ms_quantile(buf[2 * k], nb[2 * k], s->quantile);
		v->p99_tpot[k] = ms_quantile(buf[2 * k + 1], nb[2 * k + 1], s->quantile);
	}
	for (k = 0; k < 2 * PLAN__CLASSES; k++)
		free(buf[k]);
	free(tmp);
	return rc;
}

int plan_slo_scaled(struct plan_slo *dst, const struct plan_slo *src, double k,
		    struct ms_error *err)
{
	size_t i;
	int c;

	*dst = *src;
	dst->req_ttft = dst->req_tpot = NULL;
	dst->scale = src->scale * k;
	for (c = 0; c < PLAN__CLASSES; c++) {
		dst->ttft[c] = src->ttft[c] * k;
		dst->tpot[c] = src->tpot[c] * k;
	}
	if (!src->req_ttft)
		return 0;
	dst->req_ttft = malloc((src->n ? src->n : 1) * sizeof(float));
	dst->req_tpot = malloc((src->n ? src->n : 1) * sizeof(float));
	if (!dst->req_ttft || !dst->req_tpot) {
		plan_slo_release(dst);
		return ms_error_set(err, MS_ENOMEM, "plan: SLO targets of %zu requests", src->n);
	}
	for (i = 0; i < src->n; i++) {
		dst->req_ttft[i] = (float)(src->req_ttft[i] * k);
		dst->req_tpot[i] = (float)(src->req_tpot[i] * k);
	}
	return 0;
}
