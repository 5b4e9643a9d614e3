#include "metrics/metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* numpy's _lerp: a + (b-a)t, or b - (b-a)(1-t) from t >= 0.5, for the same last bits */
static double lerp(double a, double b, double t)
{
	double d = b - a;
	return t >= 0.5 ? b - d * (1.0 - t) : a + d * t;
}

/*
 * Linear interpolation between order statistics at position q (n - 1), q = p / 100:
 * numpy's and pandas' default, and trace_quantile_u32's, so `trace stats` and
 * `sim` agree on what p99 means.
 */
double metrics_percentile(const double *sorted, size_t n, double p)
{
	double q, pos, fl;
	size_t lo, hi;

	if (n == 0 || isnan(p))
		return NAN;
	q = p / 100.0;
	if (q < 0)
		q = 0;
	if (q > 1)
		q = 1;
	pos = (double)(n - 1) * q;
	fl = floor(pos);
	lo = (size_t)fl;
	if (lo > n - 1)
		lo = n - 1;
	hi = lo + 1 < n ? lo + 1 : n - 1;
	return lerp(sorted[lo], sorted[hi], pos - fl);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void dist_fill(struct metrics_dist *d, double *v, size_t n)
{
	size_t i;
	double sum = 0;

	memset(d, 0, sizeof(*d));
	d->n = n;
	if (n == 0) {
		d->mean = d->p50 = d->p90 = d->p99 = d->max = NAN;
		return;
	}
	qsort(v, n, sizeof(*v), cmp_double);
	for (i = 0; i < n; i++)
		sum += v[i];
	d->mean = sum / (double)n;
	d->p50 = metrics_percentile(v, n, 50);
	d->p90 = metrics_percentile(v, n, 90);
	d->p99 = metrics_percentile(v, n, 99);
	d->max = v[n - 1];
}

/* cls: 0 all, 1 image, 2 text */
static int in_class(const struct metrics_req *r, int cls)
{
	return cls == 0 || (cls == 1 && r->images > 0) || (cls == 2 && r->images == 0);
}

static void class_fill(struct metrics_class *c, const struct metrics_req *r, size_t n, int cls,
		       double slo_ttft, double slo_tpot, double *buf)
{
	size_t i, k;
	uint64_t ok_ttft = 0, ok_tpot = 0, ok_both = 0;
	int st;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < n; i++) {
		int a, b;
		if (!in_class(&r[i], cls))
			continue;
		c->n++;
		if (!r[i].done)
			continue;
		c->finished++;
		a = r[i].ttft <= slo_ttft;
		/* a request with fewer than two tokens has no TPOT: it cannot miss it */
		b = isnan(r[i].tpot) || r[i].tpot <= slo_tpot;
		ok_ttft += a;
		ok_tpot += b;
		ok_both += a && b;
		for (st = 0; st < METRICS__STAGES; st++) {
			c->queued_mean[st] += r[i].queued[st];
			c->served_mean[st] += r[i].served[st];
		}
	}
	if (c->finished) {
		c->slo_ttft = (double)ok_ttft / (double)c->finished;
		c->slo_tpot = (double)ok_tpot / (double)c->finished;
		c->slo_both = (double)ok_both / (double)c->finished;
		for (st = 0; st < METRICS__STAGES; st++) {
			c->queued_mean[st] /= (double)c->finished;
			c->served_mean[st] /= (double)c->finished;
		}
	}
	for (k = 0, i = 0; i < n; i++)
		if (in_class(&r[i], cls) && r[i].done)
			buf[k++] = r[i].ttft;
	dist_fill(&c->ttft, buf, k);
	for (k = 0, i = 0; i < n; i++)
		if (in_class(&r[i], cls) && r[i].done && !isnan(r[i].tpot))
			buf[k++] = r[i].tpot;
	dist_fill(&c->tpot, buf, k);
	for (k = 0, i = 0; i < n; i++)
		if (in_class(&r[i], cls) && r[i].done)
			buf[k++] = r[i].e2e;
	dist_fill(&c->e2e, buf, k);
}

int metrics_summary_compute(struct metrics_summary *s, const struct metrics_req *r, size_t n,
			    double slo_ttft_s, double slo_tpot_s, struct ms_error *err)
{
	double *buf, first = INFINITY, last = -INFINITY;
	uint64_t good = 0;
	size_t i;

	memset(s, 0, sizeof(*s));
	buf = malloc((n ? n : 1) * sizeof(*buf));
	if (!buf)
		return ms_error_set(err, MS_ENOMEM, "metrics: %zu requests", n);
	s->slo_ttft_s = slo_ttft_s;
	s->slo_tpot_s = slo_tpot_s;
	class_fill(&s->all, r, n, 0, slo_ttft_s, slo_tpot_s, buf);
	class_fill(&s->image, r, n, 1, slo_ttft_s, slo_tpot_s, buf);
	class_fill(&s->text, r, n, 2, slo_ttft_s, slo_tpot_s, buf);
	free(buf);
	for (i = 0; i < n; i++) {
		if (r[i].arrive < first)
			first = r[i].arrive;
		if (!r[i].done)
			continue;
		if (r[i].arrive + r[i].e2e > last)
			last = r[i].arrive + r[i].e2e;
		if (r[i].ttft <= slo_ttft_s && (isnan(r[i].tpot) || r[i].tpot <= slo_tpot_s))
			good++;
	}
	s->span_s = last > first ? last - first : 0;
	if (s->span_s > 0) {
		s->throughput_rps = (double)s->all.finished / s->span_s;
		s->goodput_rps = (double)good / s->span_s;
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

int metrics_series_add(struct metrics_series *s, enum metrics_ser k, double t0, double t1,
		       double weight)
{
	size_t b, b1;

	if (!(t1 > t0) || weight == 0)
		return 0;
	if (t0 < 0)
		t0 = 0;
	b = (size_t)(t0 / s->dt);
	b1 = (size_t)(t1 / s->dt);
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
	return 0;
}

int metrics_series_level(struct metrics_series *s, enum metrics_ser k, double t, double level)
{
	int rc = metrics_series_add(s, k, s->last[k], t, s->level[k]);

	if (t > s->last[k])
		s->last[k] = t;
	s->level[k] = level;
	return rc;
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
