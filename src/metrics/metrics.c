#include "metrics/metrics.h"

#include "base/ms_quantile.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * d from the values of one metric, sorted ascending in v[0 .. n - nan) with nan NaNs
 * after them. NaNs count in n (as requests that have the metric) but have no order, so
 * like numpy's mean, percentile and max of an array holding one, every figure is NaN.
 * The mean sums in ascending order: the same bits whatever order the values came in.
 */
static void dist_fill(struct metrics_dist *d, const double *v, size_t n, size_t nan)
{
	size_t i;
	double sum = 0;

	memset(d, 0, sizeof(*d));
	d->n = n;
	if (n == 0 || nan) {
		d->mean = d->p50 = d->p90 = d->p99 = d->max = NAN;
		return;
	}
	for (i = 0; i < n; i++)
		sum += v[i];
	d->mean = sum / (double)n;
	d->p50 = ms_quantile(v, n, 0.50);
	d->p90 = ms_quantile(v, n, 0.90);
	d->p99 = ms_quantile(v, n, 0.99);
	d->max = v[n - 1];
}

enum { CLS_ALL = 0, CLS_IMAGE, CLS_TEXT };

static struct metrics_class *class_of(struct metrics_summary *s, int cls)
{
	return cls == CLS_ALL ? &s->all : cls == CLS_IMAGE ? &s->image : &s->text;
}

enum { MET_TTFT = 0, MET_TPOT, MET_E2E, MET__N };

static struct metrics_dist *dist_of(struct metrics_class *c, int met)
{
	return met == MET_TTFT ? &c->ttft : met == MET_TPOT ? &c->tpot : &c->e2e;
}

/* What one pass over the rows gathers: per metric, image values at the front of v[met]
 * and text values at its back (ni, nt of them). */
struct gather {
	double *v[MET__N];
	size_t ni[MET__N], nt[MET__N];
	double first, last;
	uint64_t good;
};

static void put(struct gather *g, int met, size_t n, int image, double x)
{
	if (image)
		g->v[met][g->ni[met]++] = x;
	else
		g->v[met][n - 1 - g->nt[met]++] = x;
}

/*
 * Counts, SLO shares, stage means, the metrics' values, the span and goodput of every
 * class in one pass in row order (the rows are the largest thing read: one pass, not
 * five). Sums run in row order as before, so their bits are the same.
 */
static void rows_pass(struct metrics_summary *s, const struct metrics_req *r, size_t n,
		      struct gather *g)
{
	uint64_t ok[3][3] = { { 0 } }; /* [class][ttft, tpot, both] */
	size_t i;
	int st, c;

	g->first = INFINITY;
	g->last = -INFINITY;
	for (i = 0; i < n; i++) {
		int cl = r[i].images > 0 ? CLS_IMAGE : CLS_TEXT, a, b;
		if (r[i].arrive < g->first)
			g->first = r[i].arrive;
		s->all.n++;
		class_of(s, cl)->n++;
		if (!r[i].done)
			continue;
		a = r[i].ttft <= s->slo_ttft_s;
		/* a request with fewer than two tokens has no TPOT: it cannot miss it */
		b = isnan(r[i].tpot) || r[i].tpot <= s->slo_tpot_s;
		for (c = 0; c < 2; c++) {
			struct metrics_class *m = class_of(s, c ? cl : CLS_ALL);
			int k = c ? cl : CLS_ALL;
			m->finished++;
			ok[k][0] += a;
			ok[k][1] += b;
			ok[k][2] += a && b;
			for (st = 0; st < METRICS__STAGES; st++) {
				m->queued_mean[st] += r[i].queued[st];
				m->served_mean[st] += r[i].served[st];
			}
		}
		put(g, MET_TTFT, n, cl == CLS_IMAGE, r[i].ttft);
		/* a request with fewer than two output tokens has no TPOT: not a value */
		if (!isnan(r[i].tpot))
			put(g, MET_TPOT, n, cl == CLS_IMAGE, r[i].tpot);
		put(g, MET_E2E, n, cl == CLS_IMAGE, r[i].e2e);
		if (r[i].arrive + r[i].e2e > g->last)
			g->last = r[i].arrive + r[i].e2e;
		g->good += a && b;
	}
	for (c = 0; c < 3; c++) {
		struct metrics_class *m = class_of(s, c);
		if (!m->finished)
			continue;
		m->slo_ttft = (double)ok[c][0] / (double)m->finished;
		m->slo_tpot = (double)ok[c][1] / (double)m->finished;
		m->slo_both = (double)ok[c][2] / (double)m->finished;
		for (st = 0; st < METRICS__STAGES; st++) {
			m->queued_mean[st] /= (double)m->finished;
			m->served_mean[st] /= (double)m->finished;
		}
	}
}

/*
 * One metric's distributions for the three classes with one sort per row: each class is
 * radix sorted in its part of v (tmp: n doubles of scratch), and "all" is the merge of
 * the two, written into tmp (O(n) in all, where three comparator sorts of the same
 * values dominated a whole `sim` run).
 */
static void metric_fill(struct metrics_summary *s, size_t n, int met, double *v, size_t ni,
			size_t nt, double *tmp)
{
	double *text = v + (n - nt);
	size_t nan_i, nan_t;

	nan_i = ms_sort_f64(v, ni, tmp);
	nan_t = ms_sort_f64(text, nt, tmp);
	ms_merge_f64(v, ni - nan_i, text, nt - nan_t, tmp);
	dist_fill(dist_of(&s->image, met), v, ni, nan_i);
	dist_fill(dist_of(&s->text, met), text, nt, nan_t);
	dist_fill(dist_of(&s->all, met), tmp, ni + nt, nan_i + nan_t);
}

int metrics_summary_compute(struct metrics_summary *s, const struct metrics_req *r, size_t n,
			    double slo_ttft_s, double slo_tpot_s, struct ms_error *err)
{
	struct gather g;
	double *buf;
	size_t m = n ? n : 1;
	int met;

	memset(s, 0, sizeof(*s));
	memset(&g, 0, sizeof(g));
	/* the three metrics' values and one scratch; each metric's scratch (and merge) is
	 * the buffer of the metric before it, done by then */
	buf = malloc(4 * m * sizeof(*buf));
	if (!buf)
		return ms_error_set(err, MS_ENOMEM, "metrics: %zu requests", n);
	for (met = 0; met < MET__N; met++)
		g.v[met] = buf + (size_t)met * m;
	s->slo_ttft_s = slo_ttft_s;
	s->slo_tpot_s = slo_tpot_s;
	rows_pass(s, r, n, &g);
	for (met = 0; met < MET__N; met++)
		metric_fill(s, n, met, g.v[met], g.ni[met], g.nt[met],
			    met == 0 ? buf + 3 * m : g.v[met - 1]);
	free(buf);
	s->span_s = g.last > g.first ? g.last - g.first : 0;
	if (s->span_s > 0) {
		s->throughput_rps = (double)s->all.finished / s->span_s;
		s->goodput_rps = (double)g.good / s->span_s;
	}
	return 0;
}

int metrics_series_init(struct metrics_series *s, const char *name, double dt, double span_hint,
			double busy_norm, double kv_norm, struct ms_error *err)
{
	size_t cap, k;

	memset(s, 0, sizeof(*s));
	if (!(dt > 0))
		return ms_error_set(err, MS_EINVAL, "metrics: series bucket must be > 0 s");
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->dt = dt;
	cap = (size_t)(span_hint / dt) + 2;
	for (k = 0; k < METRICS__SER; k++) {
		s->v[k] = calloc(cap, sizeof(double));
		if (!s->v[k]) {
			metrics_series_release(s);
			return ms_error_set(err, MS_ENOMEM, "metrics: series of %zu buckets", cap);
		}
	}
	s->cap = cap;
	s->norm[METRICS_SER_QUEUE] = 1;
	s->norm[METRICS_SER_BUSY] = busy_norm > 0 ? busy_norm : 1;
	s->norm[METRICS_SER_KV] = kv_norm > 0 ? kv_norm : 1;
	return 0;
}

void metrics_series_release(struct metrics_series *s)
{
	size_t k;

	for (k = 0; k < METRICS__SER; k++)
		free(s->v[k]);
	memset(s, 0, sizeof(*s));
}

static int series_grow(struct metrics_series *s, size_t need)
{
	size_t cap = s->cap ? s->cap : 16, k;

	while (cap < need)
		cap *= 2;
	for (k = 0; k < METRICS__SER; k++) {
		double *v = realloc(s->v[k], cap * sizeof(double));
		if (!v)
			return -MS_ENOMEM;
		memset(v + s->cap, 0, (cap - s->cap) * sizeof(double));
		s->v[k] = v;
	}
	s->cap = cap;
	return 0;
}

/* The bucket of time t, as the series has always computed it. */
static size_t bucket_of(const struct metrics_series *s, double t)
{
	return (size_t)(t / s->dt);
}

/* The least t >= 0 (a double) whose bucket is b or later: bucket_of is monotone in t. */
static double bucket_start(const struct metrics_series *s, size_t b)
{
	double x = (double)b * s->dt;

	while (x > 0 && bucket_of(s, nextafter(x, -INFINITY)) >= b)
		x = nextafter(x, -INFINITY);
	while (bucket_of(s, x) < b)
		x = nextafter(x, INFINITY);
	return x;
}

/*
 * Bucket b is the last one written: remember the span of times that fall in it and
 * that its clipping to [b dt, b dt + dt] leaves alone. A span [t0, t1) inside that is
 * added as weight x (t1 - t0), exactly the slow path's one term.
 */
static void fast_set(struct metrics_series *s, enum metrics_ser k, size_t b)
{
	double lo = (double)b * s->dt, hi = lo + s->dt;
	double t_lo = bucket_start(s, b), t_hi = bucket_start(s, b + 1);

	s->fast_b[k] = b;
	s->fast_lo[k] = t_lo > lo ? t_lo : lo;
	/* t1 < t_hi keeps it in b; t1 <= hi keeps z = t1 */
	hi = nextafter(hi, INFINITY);
	s->fast_hi[k] = t_hi < hi ? t_hi : hi;
}

int metrics__series_span(struct metrics_series *s, enum metrics_ser k, double t0, double t1,
			 double weight)
{
	size_t b, b1;

	if (!(t1 > t0) || weight == 0)
		return 0;
	if (t0 < 0)
		t0 = 0;
	b = bucket_of(s, t0);
	b1 = bucket_of(s, t1);
	if (b1 + 1 > s->cap && series_grow(s, b1 + 1) < 0)
		return -MS_ENOMEM;
	if (b1 + 1 > s->n)
		s->n = b1 + 1;
	while (b <= b1) {
		double lo = (double)b * s->dt, hi = lo + s->dt;
		double a = t0 > lo ? t0 : lo, z = t1 < hi ? t1 : hi;
		if (z > a)
			s->v[k][b] += weight * (z - a);
		b++;
	}
	/* the next spans likely fall in b1 too: metrics_series_add's fast path */
	if (b1 != s->fast_b[k] || !(s->fast_hi[k] > s->fast_lo[k]))
		fast_set(s, k, b1);
	return 0;
}

int metrics_series_finish(struct metrics_series *s, double t_end)
{
	size_t i, k;

	if (s->finished)
		return 0;
	if (metrics_series_level(s, METRICS_SER_QUEUE, t_end, 0) < 0 ||
	    metrics_series_level(s, METRICS_SER_KV, t_end, 0) < 0)
		return -MS_ENOMEM;
	for (k = 0; k < METRICS__SER; k++)
		for (i = 0; i < s->n; i++)
			s->v[k][i] /= s->dt * s->norm[k];
	s->finished = 1;
	return 0;
}
