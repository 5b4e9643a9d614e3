#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/ms_quantile.h"
#include "trace/trace_stats.h"

#include <jansson.h>

#define NS_PER_MIN 60000000000LL

/* Minutes since the epoch, floored (pandas dt.floor('min') also floors before 1970). */
static int64_t minute_of(int64_t ns)
{
	int64_t q = ns / NS_PER_MIN;
	if (ns % NS_PER_MIN < 0)
		q--;
	return q;
}

const char *trace_class_name(enum trace_class c)
{
	return c == TRACE_CLASS_IMAGE ? "image" : "text";
}

const char *trace_mcol_name(enum trace_mcol m)
{
	static const char *const names[] = { "requests", "images", "input_tokens",
					     "output_tokens" };
	return (unsigned)m < TRACE_MCOL__COUNT ? names[m] : "?";
}

/*
 * Token and image counts are small integers, so a counting sort (one pass to
 * count, one to write back) beats qsort by ~20x on a million rows; a wide
 * range falls back to two 16-bit LSD radix passes, still O(n).
 */
void trace_sort_u32(uint32_t *v, size_t n, uint32_t *tmp)
{
	uint32_t max = 0;
	size_t i;

	if (n < 2)
		return;
	for (i = 0; i < n; i++)
		if (v[i] > max)
			max = v[i];
	if ((uint64_t)max < 2 * (uint64_t)n + 65536) {
		size_t *cnt = calloc((size_t)max + 1, sizeof(*cnt));
		if (cnt) {
			size_t k = 0;
			uint64_t x;
			for (i = 0; i < n; i++)
				cnt[v[i]]++;
			for (x = 0; x <= max; x++)
				for (i = cnt[x]; i > 0; i--)
					v[k++] = (uint32_t)x;
			free(cnt);
			return;
		}
	}
	{
		size_t cnt[65536];
		int pass;
		for (pass = 0; pass < 2; pass++) {
			uint32_t *src = pass ? tmp : v, *dst = pass ? v : tmp;
			int sh = pass * 16;
			size_t sum = 0, c;
			memset(cnt, 0, sizeof(cnt));
			for (i = 0; i < n; i++)
				cnt[(src[i] >> sh) & 0xffff]++;
			for (i = 0; i < 65536; i++) {
				c = cnt[i];
				cnt[i] = sum;
				sum += c;
			}
			for (i = 0; i < n; i++)
				dst[cnt[(src[i] >> sh) & 0xffff]++] = src[i];
		}
	}
}

void trace_minutes_release(struct trace_minutes *tm)
{
	free(tm->v[0][0]);
	memset(tm, 0, sizeof(*tm));
}

int trace_minutes_compute(const struct trace_set *ts, struct trace_minutes *tm,
			  struct ms_error *err)
{
	int64_t m0, m1, base_off;
	uint64_t *block;
	size_t i, m;
	int c, k;

	memset(tm, 0, sizeof(*tm));
	if (!ts->n)
		return 0;
	m0 = minute_of(trace_set_time_ns(ts, 0));
	m1 = minute_of(trace_set_time_ns(ts, ts->n - 1));
	/* A year of minutes is 4 MB per series; more than ten is a broken timestamp. */
	if (m1 < m0 || m1 - m0 >= 10LL * 366 * 24 * 60)
		return ms_error_set(err, MS_ERANGE, "trace spans %lld minutes: too long to bucket",
				    (long long)(m1 - m0 + 1));
	m = (size_t)(m1 - m0 + 1);
	block = calloc(m * TRACE_CLASS__COUNT * TRACE_MCOL__COUNT, sizeof(*block));
	if (!block)
		return ms_error_set(err, MS_ENOMEM, "out of memory for %zu minutes", m);
	for (c = 0; c < TRACE_CLASS__COUNT; c++)
		for (k = 0; k < TRACE_MCOL__COUNT; k++)
			tm->v[c][k] = block + (size_t)(c * TRACE_MCOL__COUNT + k) * m;
	tm->n_minutes = m;
	tm->minute0_ns = m0 * NS_PER_MIN;
	base_off = m0;
	for (i = 0; i < ts->n; i++) {
		size_t mi = (size_t)(minute_of(trace_set_time_ns(ts, i)) - base_off);
		int cl = ts->images[i] ? TRACE_CLASS_IMAGE : TRACE_CLASS_TEXT;
		MS_ASSERT(mi < m); /* t[] is non-decreasing (trace_set_push checks it) */
		tm->v[cl][TRACE_MCOL_REQUESTS][mi]++;
		tm->v[cl][TRACE_MCOL_IMAGES][mi] += ts->images[i];
		tm->v[cl][TRACE_MCOL_IN_TOKENS][mi] += ts->ctx[i];
		tm->v[cl][TRACE_MCOL_OUT_TOKENS][mi] += ts->gen[i];
	}
	return 0;
}

/* Fills d's moments and quantiles from v sorted ascending (n may be 0). */
static void dist_from_sorted(struct trace_dist *d, const uint32_t *v, size_t n)
{
	uint64_t sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += v[i];
	d->n = n;
	d->sum = sum;
	d->mean = n ? (double)sum / (double)n : NAN;
	d->p50 = ms_quantile_u32(v, n, 0.5);
	d->p90 = ms_quantile_u32(v, n, 0.9);
	d->p99 = ms_quantile_u32(v, n, 0.99);
	d->p999 = ms_quantile_u32(v, n, 0.999);
	d->max = n ? v[n - 1] : 0;
}

/* Rows of class cl from column col into out; returns how many. */
static size_t gather(const struct trace_set *ts, const uint32_t *col, int cl, uint32_t *out)
{
	size_t i, k = 0;
	for (i = 0; i < ts->n; i++)
		if ((ts->images[i] ? TRACE_CLASS_IMAGE : TRACE_CLASS_TEXT) == cl)
			out[k++] = col[i];
	return k;
}

static const double dist_q[] = { 0.5, 0.9, 0.99, 0.999 };
#define DIST_NQ (sizeof(dist_q) / sizeof(dist_q[0]))

/*
 * The same numbers from value counts: the order statistics that the quantiles need
 * (two ranks per quantile) are read off one sweep of the cumulative counts, so the
 * column is neither gathered nor sorted. cnt has max + 1 entries, n = their sum.
 */
static void dist_from_counts(struct trace_dist *d, const uint32_t *cnt, uint32_t max, size_t n)
{
	size_t rank[2 * DIST_NQ], q, j, left = 2 * DIST_NQ;
	unsigned char found[2 * DIST_NQ] = { 0 };
	double at[2 * DIST_NQ], frac[DIST_NQ];
	uint64_t sum = 0, seen = 0;

	memset(d, 0, sizeof(*d));
	d->n = n;
	if (!n) {
		d->mean = d->p50 = d->p90 = d->p99 = d->p999 = NAN;
		return;
	}
	for (q = 0; q < DIST_NQ; q++) {
		struct ms_qpos pos;
		ms_quantile_pos(n, dist_q[q], &pos); /* n > 0 */
		rank[2 * q] = pos.lo;
		rank[2 * q + 1] = pos.hi;
		frac[q] = pos.t;
	}
	/* rank r holds the first value whose cumulative count passes r */
	for (uint64_t x = 0; x <= max; x++) {
		if (!cnt[x])
			continue;
		sum += x * cnt[x];
		seen += cnt[x];
		for (j = 0; left && j < 2 * DIST_NQ; j++) {
			if (!found[j] && rank[j] < seen) {
				at[j] = (double)x;
				found[j] = 1;
				left--;
			}
		}
		d->max = x;
	}
	d->sum = sum;
	d->mean = (double)sum / (double)n;
	d->p50 = ms_lerp(at[0], at[1], frac[0]);
	d->p90 = ms_lerp(at[2], at[3], frac[1]);
	d->p99 = ms_lerp(at[4], at[5], frac[2]);
	d->p999 = ms_lerp(at[6], at[7], frac[3]);
}

/*
 * Every trace_dist of st by counting, when the columns' ranges are small enough for
 * count arrays (token and image counts always are in real traces). Returns 1 when
 * it did not apply (caller sorts instead), 0 done, or -MS_ENOMEM.
 */
static int dists_by_counting(const struct trace_set *ts, struct trace_stats *st,
			     struct ms_error *err)
{
	uint32_t mctx = 0, mgen = 0, mimg = 0, *cnt, *cctx[TRACE_CLASS__COUNT],
		 *cgen[TRACE_CLASS__COUNT], *cimg;
	size_t n = ts->n, i, total, nimg = 0;
	uint64_t limit = 2 * (uint64_t)n + 65536;

	for (i = 0; i < n; i++) {
		mctx = ts->ctx[i] > mctx ? ts->ctx[i] : mctx;
		mgen = ts->gen[i] > mgen ? ts->gen[i] : mgen;
		mimg = ts->images[i] > mimg ? ts->images[i] : mimg;
	}
	if (mctx >= limit || mgen >= limit || mimg >= limit)
		return 1;
	total = 2 * ((size_t)mctx + 1) + 2 * ((size_t)mgen + 1) + (size_t)mimg + 1;
	cnt = calloc(total, sizeof(*cnt));
	if (!cnt)
		return ms_error_set(err, MS_ENOMEM, "out of memory for statistics of %zu rows", n);
	cctx[0] = cnt;
	cctx[1] = cctx[0] + mctx + 1;
	cgen[0] = cctx[1] + mctx + 1;
	cgen[1] = cgen[0] + mgen + 1;
	cimg = cgen[1] + mgen + 1;
	for (i = 0; i < n; i++) {
		int cl = ts->images[i] ? TRACE_CLASS_IMAGE : TRACE_CLASS_TEXT;
		cctx[cl][ts->ctx[i]]++;
		cgen[cl][ts->gen[i]]++;
		cimg[ts->images[i]]++;
	}
	nimg = n - cimg[0];
	cimg[0] = 0; /* NumImages is summarized over image requests only */
	st->requests[TRACE_CLASS_IMAGE] = nimg;
	st->requests[TRACE_CLASS_TEXT] = n - nimg;
	for (int c = 0; c < TRACE_CLASS__COUNT; c++) {
		dist_from_counts(&st->ctx[c], cctx[c], mctx, st->requests[c]);
		dist_from_counts(&st->gen[c], cgen[c], mgen, st->requests[c]);
	}
	dist_from_counts(&st->images, cimg, mimg, nimg);
	free(cnt);
	return 0;
}

/* The sorting route, for columns whose value range is too wide to count. */
static int dists_by_sorting(const struct trace_set *ts, struct trace_stats *st,
			    struct ms_error *err)
{
	size_t n = ts->n, k;
	uint32_t *buf = malloc((n ? n : 1) * sizeof(*buf));
	uint32_t *tmp = malloc((n ? n : 1) * sizeof(*tmp));

	if (!buf || !tmp) {
		free(buf);
		free(tmp);
		return ms_error_set(err, MS_ENOMEM, "out of memory for statistics of %zu rows", n);
	}
	for (int c = 0; c < TRACE_CLASS__COUNT; c++) {
		k = gather(ts, ts->ctx, c, buf);
		st->requests[c] = k;
		trace_sort_u32(buf, k, tmp);
		dist_from_sorted(&st->ctx[c], buf, k);
		k = gather(ts, ts->gen, c, buf);
		trace_sort_u32(buf, k, tmp);
		dist_from_sorted(&st->gen[c], buf, k);
	}
	k = gather(ts, ts->images, TRACE_CLASS_IMAGE, buf);
	trace_sort_u32(buf, k, tmp);
	dist_from_sorted(&st->images, buf, k);
	free(buf);
	free(tmp);
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static void burst_fill(struct trace_burst *b, const uint64_t *v, size_t m, uint64_t *tmp)
{
	size_t i;
	uint64_t total = 0;
	double mean, ss = 0;

	memset(b, 0, sizeof(*b));
	if (!m) {
		b->mean = b->p99 = b->cv = b->peak_to_mean = NAN;
		return;
	}
	for (i = 0; i < m; i++)
		total += v[i];
	mean = (double)total / (double)m;
	/* Two passes, as pandas' nanvar does: no cancellation in sum(x^2) - n*mean^2. */
	for (i = 0; i < m; i++) {
		double d = (double)v[i] - mean;
		ss += d * d;
	}
	memcpy(tmp, v, m * sizeof(*tmp));
	qsort(tmp, m, sizeof(*tmp), cmp_u64); /* minutes, not rows: ~10^4 values */
	b->total = total;
	b->mean = mean;
	b->p99 = ms_quantile_u64(tmp, m, 0.99);
	b->max = tmp[m - 1];
	b->cv = mean > 0 ? sqrt(ss / (double)m) / mean : NAN;
	b->peak_to_mean = mean > 0 ? (double)b->max / mean : NAN;
}

static void minutes_summarize(const struct trace_minutes *tm, struct trace_stats *st,
			      uint64_t *tmp)
{
	size_t i, best = 0;
	uint64_t best_req = 0;
	int c, k;

	st->n_minutes = tm->n_minutes;
	st->minute0_ns = tm->minute0_ns;
	for (c = 0; c < TRACE_CLASS__COUNT; c++)
		for (k = 0; k < TRACE_MCOL__COUNT; k++)
			burst_fill(&st->minute[c][k], tm->v[c][k], tm->n_minutes, tmp);
	for (i = 0; i < tm->n_minutes; i++) {
		uint64_t r = tm->v[0][TRACE_MCOL_REQUESTS][i] + tm->v[1][TRACE_MCOL_REQUESTS][i];
		if (r > best_req) {
			best_req = r;
			best = i;
		}
	}
	if (tm->n_minutes) {
		st->busiest_ns = tm->minute0_ns + (int64_t)best * NS_PER_MIN;
		st->busiest_requests = best_req;
		st->busiest_image_requests = tm->v[TRACE_CLASS_IMAGE][TRACE_MCOL_REQUESTS][best];
		st->busiest_images = tm->v[TRACE_CLASS_IMAGE][TRACE_MCOL_IMAGES][best];
	}
}

int trace_stats_compute(const struct trace_set *ts, const struct trace_minutes *tm_in,
			struct trace_stats *st, struct ms_error *err)
{
	struct trace_minutes own;
	const struct trace_minutes *tm = tm_in;
	uint64_t *mtmp = NULL;
	size_t n = ts->n;
	int rc = 0;

	memset(st, 0, sizeof(*st));
	memset(&own, 0, sizeof(own));
	if (!tm) {
		rc = trace_minutes_compute(ts, &own, err);
		if (rc < 0)
			return rc;
		tm = &own;
	}
	mtmp = malloc((tm->n_minutes ? tm->n_minutes : 1) * sizeof(*mtmp));
	if (!mtmp) {
		rc = ms_error_set(err, MS_ENOMEM, "out of memory for %zu minutes", tm->n_minutes);
		goto cleanup;
	}
	st->rows = n;
	st->frac_digits = ts->frac_digits;
	if (n) {
		st->first_ns = trace_set_time_ns(ts, 0);
		st->last_ns = trace_set_time_ns(ts, n - 1);
		st->span_s = (double)(st->last_ns - st->first_ns) / 1e9;
	}
	rc = dists_by_counting(ts, st, err);
	if (rc > 0)
		rc = dists_by_sorting(ts, st, err);
	if (rc < 0)
		goto cleanup;
	st->image_share = n ? (double)st->requests[TRACE_CLASS_IMAGE] / (double)n : NAN;
	minutes_summarize(tm, st, mtmp);
cleanup:
	free(mtmp);
	if (tm == &own)
		trace_minutes_release(&own);
	return rc;
}

/* NaN (undefined) becomes null: JSON has no NaN, and consumers must see "no value". */
static json_t *jreal(double x)
{
	return isfinite(x) ? json_real(x) : json_null();
}

static json_t *jtime(int64_t ns, int frac_digits)
{
	char buf[64];
	trace_time_format(ns, TRACE_FMT_LMM2025, frac_digits, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *dist_json(const struct trace_dist *d)
{
	json_t *o = json_object();
	json_object_set_new(o, "n", json_integer((json_int_t)d->n));
	json_object_set_new(o, "sum", json_integer((json_int_t)d->sum));
	json_object_set_new(o, "mean", jreal(d->mean));
	json_object_set_new(o, "p50", jreal(d->p50));
	json_object_set_new(o, "p90", jreal(d->p90));
	json_object_set_new(o, "p99", jreal(d->p99));
	json_object_set_new(o, "p99_9", jreal(d->p999));
	json_object_set_new(o, "max", d->n ? json_integer((json_int_t)d->max) : json_null());
	return o;
}

static json_t *burst_json(const struct trace_burst *b)
{
	json_t *o = json_object();
	json_object_set_new(o, "total", json_integer((json_int_t)b->total));
	json_object_set_new(o, "mean", jreal(b->mean));
	json_object_set_new(o, "p99", jreal(b->p99));
	json_object_set_new(o, "max", json_integer((json_int_t)b->max));
	json_object_set_new(o, "cv", jreal(b->cv));
	json_object_set_new(o, "peak_to_mean", jreal(b->peak_to_mean));
	return o;
}

static json_t *by_class(const struct trace_dist *d)
{
	json_t *o = json_object();
	json_object_set_new(o, "image", dist_json(&d[TRACE_CLASS_IMAGE]));
	json_object_set_new(o, "text", dist_json(&d[TRACE_CLASS_TEXT]));
	return o;
}

json_t *trace_stats_json(const struct trace_stats *st, const char *source)
{
	json_t *o = json_object(), *t, *pm, *b;
	int c, k;

	json_object_set_new(o, "source", json_string(source ? source : ""));
	json_object_set_new(o, "rows", json_integer((json_int_t)st->rows));
	json_object_set_new(o, "image_requests",
			    json_integer((json_int_t)st->requests[TRACE_CLASS_IMAGE]));
	json_object_set_new(o, "text_requests",
			    json_integer((json_int_t)st->requests[TRACE_CLASS_TEXT]));
	json_object_set_new(o, "image_share", jreal(st->image_share));
	t = json_object();
	json_object_set_new(t, "first", st->rows ? jtime(st->first_ns, st->frac_digits) : json_null());
	json_object_set_new(t, "last", st->rows ? jtime(st->last_ns, st->frac_digits) : json_null());
	json_object_set_new(t, "first_unix_s", st->rows ? json_real((double)st->first_ns / 1e9)
							 : json_null());
	json_object_set_new(t, "last_unix_s", st->rows ? json_real((double)st->last_ns / 1e9)
						       : json_null());
	json_object_set_new(t, "span_s", json_real(st->span_s));
	json_object_set_new(o, "time", t);
	json_object_set_new(o, "num_images", dist_json(&st->images));
	json_object_set_new(o, "context_tokens", by_class(st->ctx));
	json_object_set_new(o, "generated_tokens", by_class(st->gen));
	pm = json_object();
	json_object_set_new(pm, "minutes", json_integer((json_int_t)st->n_minutes));
	json_object_set_new(pm, "first_minute", st->n_minutes ? jtime(st->minute0_ns, 0)
							    : json_null());
	for (c = 0; c < TRACE_CLASS__COUNT; c++) {
		json_t *cl = json_object();
		for (k = 0; k < TRACE_MCOL__COUNT; k++)
			json_object_set_new(cl, trace_mcol_name((enum trace_mcol)k),
					    burst_json(&st->minute[c][k]));
		json_object_set_new(pm, trace_class_name((enum trace_class)c), cl);
	}
	json_object_set_new(o, "per_minute", pm);
	b = json_object();
	if (st->n_minutes) {
		json_object_set_new(b, "start", jtime(st->busiest_ns, 0));
		json_object_set_new(b, "start_unix_s", json_integer(st->busiest_ns / 1000000000LL));
		json_object_set_new(b, "requests", json_integer((json_int_t)st->busiest_requests));
		json_object_set_new(b, "image_requests",
				    json_integer((json_int_t)st->busiest_image_requests));
		json_object_set_new(b, "images", json_integer((json_int_t)st->busiest_images));
	}
	json_object_set_new(o, "busiest_minute", b);
	return o;
}
