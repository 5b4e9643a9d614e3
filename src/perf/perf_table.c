/*
 * perf_table: measured stage latencies (CSV) that override the roofline.
 *
 * File: a `stage,tp,batch,tokens,latency_s` header, or
 * `stage,tp,batch,tokens,context,latency_s`, then one row per measured point; `#` lines
 * are comments. stage is preprocess|encode|prefill|decode; tp is GPUs (CPU cores for
 * preprocess); batch is images (preprocess, encode) or requests (prefill, decode);
 * tokens is tiles (preprocess, encode), new tokens of the whole iteration (prefill) or
 * KV tokens read (decode); context (prefill only, 0 when the column is absent) is the
 * tokens each request already holds in its KV cache before the chunk, so a chunk late
 * in a long prompt keeps its attention cost. Optional `# model: NAME` and `# gpu: NAME`
 * comment lines name what was measured; perf__table_check refuses the table for another
 * model or GPU.
 *
 * Rows are sorted once into groups of equal (stage, tp, batch, context). A lookup
 * interpolates linearly along tokens inside a group, then in context between the two
 * nearest groups of its batch, then in batch between the two nearest batches; outside
 * the measured range every direction extrapolates linearly from the end segment (a
 * latency never goes below 0). Extrapolation, not clamping, because stage costs keep
 * growing past the last measured point and a clamp would make big batches look free.
 * A decode group of one KV point takes its slope from the neighbouring groups (in
 * batch) that have two or more, so one point per batch is enough once one batch has a
 * slope.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "perf/perf_int.h"

struct row {
	int stage, tp;
	double batch, ctx, tokens, lat;
	int line;
};

struct group {
	int stage, tp;
	double batch, ctx;
	size_t start, n;  /* rows[start .. start+n) sorted by tokens */
	double a, b;      /* decode only: lat = a + b * tokens (least squares, or b from neighbours) */
};

struct perf_table {
	struct row *rows;
	size_t nrows;
	struct group *groups;
	size_t ngroups;
	/* `# model: NAME` / `# gpu: NAME` comment lines; "" when absent */
	char model[64], gpu[64];
	int model_line, gpu_line;
};

static const char *const stage_names[PERF__NSTAGES] = {
	"preprocess", "encode", "prefill", "decode",
};

static int row_cmp(const void *pa, const void *pb)
{
	const struct row *a = pa, *b = pb;

	if (a->stage != b->stage)
		return a->stage - b->stage;
	if (a->tp != b->tp)
		return a->tp - b->tp;
	if (a->batch != b->batch)
		return a->batch < b->batch ? -1 : 1;
	if (a->ctx != b->ctx)
		return a->ctx < b->ctx ? -1 : 1;
	if (a->tokens != b->tokens)
		return a->tokens < b->tokens ? -1 : 1;
	return 0;
}

static int parse_num(const char *s, double lo, int integer, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < lo)
		return -1;
	if (integer && (v != floor(v) || v > 4e9))
		return -1;
	*out = v;
	return 0;
}

/*
 * `# model: NAME` and `# gpu: NAME` say which model and GPU the numbers were measured on,
 * so a table is never silently used for another pair (perf__table_check). Any other
 * comment is free text.
 */
static int parse_meta(struct perf_table *t, const char *s, const char *path, int line,
		      struct ms_error *err)
{
	static const char *const keys[2] = { "model", "gpu" };
	size_t klen, n;
	int k;

	for (s++; *s == ' ' || *s == '\t'; s++)
		;
	for (k = 0; k < 2; k++) {
		char *dst = k ? t->gpu : t->model;
		int *at = k ? &t->gpu_line : &t->model_line;

		klen = strlen(keys[k]);
		if (strncmp(s, keys[k], klen) || s[klen] != ':')
			continue;
		for (s += klen + 1; *s == ' ' || *s == '\t'; s++)
			;
		n = strlen(s);
		while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		if (!n)
			return ms_error_set(err, MS_EPARSE, "%s:%d: %s: empty name", path, line,
					    keys[k]);
		if (*at)
			return ms_error_set(err, MS_EPARSE, "%s:%d: %s: given twice (line %d)", path,
					    line, keys[k], *at);
		if (n >= sizeof(t->model))
			return ms_error_set(err, MS_EPARSE, "%s:%d: %s: name longer than %zu bytes",
					    path, line, keys[k], sizeof(t->model) - 1);
		memcpy(dst, s, n);
		dst[n] = '\0';
		*at = line;
		return 0;
	}
	return 0;
}

int perf__table_check(const struct perf_table *t, const struct perf *p, const char *path,
		      struct ms_error *err)
{
	if (t->model_line && strcmp(t->model, p->model.name))
		return ms_error_set(err, MS_EINVAL, "%s:%d: model: profile is for %s, simulating %s",
				    path, t->model_line, t->model, p->model.name);
	if (t->gpu_line && strcmp(t->gpu, p->gpu.name))
		return ms_error_set(err, MS_EINVAL, "%s:%d: gpu: profile is for %s, simulating %s",
				    path, t->gpu_line, t->gpu, p->gpu.name);
	return 0;
}

/*
 * Splits one data line into ncol fields (5, or 6 with context) and fills r; errors name
 * file:line: column.
 */
static int parse_row(char *s, int ncol, struct row *r, const char *path, int line,
		     struct ms_error *err)
{
	static const char *const cols5[5] = { "stage", "tp", "batch", "tokens", "latency_s" };
	static const char *const cols6[6] = { "stage", "tp", "batch", "tokens", "context",
					      "latency_s" };
	const char *const *cols = ncol == 6 ? cols6 : cols5;
	char *f[6];
	double v[6] = { 0 };
	int i, nf = 0;

	f[nf++] = s;
	for (; *s; s++) {
		if (*s == ',') {
			*s = '\0';
			if (nf == ncol)
				return ms_error_set(err, MS_EPARSE, "%s:%d: latency_s: more than %d columns",
						    path, line, ncol);
			f[nf++] = s + 1;
		}
	}
	if (nf < ncol)
		return ms_error_set(err, MS_EPARSE, "%s:%d: %s: missing column (%d of %d)",
				    path, line, cols[nf], nf, ncol);
	r->stage = -1;
	for (i = 0; i < PERF__NSTAGES; i++)
		if (!strcmp(f[0], stage_names[i]))
			r->stage = i;
	if (r->stage < 0)
		return ms_error_set(err, MS_EPARSE,
				    "%s:%d: stage: not preprocess|encode|prefill|decode: '%s'",
				    path, line, f[0]);
	for (i = 1; i < ncol; i++) {
		double lo = (i == 1 || i == 2) ? 1 : 0;
		int integer = i < ncol - 1;
		if (parse_num(f[i], lo, integer, &v[i]))
			return ms_error_set(err, MS_EPARSE, "%s:%d: %s: not a %s >= %g: '%s'",
					    path, line, cols[i], integer ? "whole number" : "number",
					    lo, f[i]);
	}
	if (v[ncol - 1] > 1e6) /* keeps the decode least-squares sums finite (fuzz: NaN at 1e308) */
		return ms_error_set(err, MS_ERANGE, "%s:%d: latency_s: above 1e6: '%s'", path, line,
				    f[ncol - 1]);
	if (v[1] > 65536)
		return ms_error_set(err, MS_ERANGE, "%s:%d: tp: above 65536: '%s'", path, line, f[1]);
	r->ctx = ncol == 6 ? v[4] : 0;
	if (r->ctx && r->stage != PERF__PREFILL)
		return ms_error_set(err, MS_EPARSE, "%s:%d: context: only prefill rows have a "
				    "context (got %s for %s)", path, line, f[4], f[0]);
	r->tp = (int)v[1];
	r->batch = v[2];
	r->tokens = v[3];
	r->lat = v[ncol - 1];
	r->line = line;
	return 0;
}

static void fit_decode(struct group *g, const struct row *r)
{
	double sx = 0, sy = 0, sxx = 0, sxy = 0, n = (double)g->n, d;
	size_t i;

	for (i = 0; i < g->n; i++) {
		sx += r[i].tokens;
		sy += r[i].lat;
		sxx += r[i].tokens * r[i].tokens;
		sxy += r[i].tokens * r[i].lat;
	}
	d = n * sxx - sx * sx;
	g->b = d > 0 ? (n * sxy - sx * sy) / d : 0;
	/* reading more KV never makes a step shorter: a falling fit (noise in measured
	 * steps) is a flat line through the mean, not a negative slope clamped later,
	 * which would leave the intercept of the falling line */
	if (g->b < 0)
		g->b = 0;
	g->a = (sy - g->b * sx) / n;
}

/*
 * A decode group of one point: its slope is the batch-interpolation of the nearest
 * groups of the same tp with two or more points (the one on the side that has one, at
 * either end), its intercept what puts the line through the point. KV reads cost about
 * the same per token at neighbouring batches (decode attention is memory-bound), while
 * the intercept (weights, launch) is what the one point pins down.
 */
static int slope_from_neighbours(struct perf_table *t, size_t gi, const char *path,
				 struct ms_error *err)
{
	struct group *g = &t->groups[gi];
	const struct group *lo = NULL, *hi = NULL;
	size_t i;

	for (i = gi; i-- > 0 && t->groups[i].stage == g->stage && t->groups[i].tp == g->tp;)
		if (t->groups[i].n >= 2) {
			lo = &t->groups[i];
			break;
		}
	for (i = gi + 1; i < t->ngroups && t->groups[i].stage == g->stage &&
			 t->groups[i].tp == g->tp; i++)
		if (t->groups[i].n >= 2) {
			hi = &t->groups[i];
			break;
		}
	if (!lo && !hi)
		return ms_error_set(err, MS_EPARSE,
				    "%s:%d: tokens: decode at tp %d batch %g needs two or more KV "
				    "token counts (or another batch of tp %d with two, to take the "
				    "slope from)", path, t->rows[g->start].line, g->tp, g->batch, g->tp);
	if (lo && hi)
		g->b = lo->b + (hi->b - lo->b) * (g->batch - lo->batch) / (hi->batch - lo->batch);
	else
		g->b = lo ? lo->b : hi->b;
	if (g->b < 0)
		g->b = 0;
	g->a = t->rows[g->start].lat - g->b * t->rows[g->start].tokens;
	return 0;
}

static int build_groups(struct perf_table *t, const char *path, struct ms_error *err)
{
	size_t i;
	int rc;

	t->groups = calloc(t->nrows ? t->nrows : 1, sizeof(*t->groups));
	if (!t->groups)
		return ms_error_set(err, MS_ENOMEM, "%s: out of memory", path);
	for (i = 0; i < t->nrows; i++) {
		struct row *r = &t->rows[i];
		struct group *g = t->ngroups ? &t->groups[t->ngroups - 1] : NULL;

		if (g && g->stage == r->stage && g->tp == r->tp && g->batch == r->batch &&
		    g->ctx == r->ctx) {
			if (r[-1].tokens == r->tokens)
				return ms_error_set(err, MS_EPARSE,
						    "%s:%d: tokens: same stage, tp, batch%s and tokens "
						    "as line %d", path, r->line, r->ctx ? ", context" : "",
						    r[-1].line);
			g->n++;
			continue;
		}
		g = &t->groups[t->ngroups++];
		g->stage = r->stage;
		g->tp = r->tp;
		g->batch = r->batch;
		g->ctx = r->ctx;
		g->start = i;
		g->n = 1;
	}
	for (i = 0; i < t->ngroups; i++)
		if (t->groups[i].stage == PERF__DECODE && t->groups[i].n >= 2)
			fit_decode(&t->groups[i], &t->rows[t->groups[i].start]);
	for (i = 0; i < t->ngroups; i++)
		if (t->groups[i].stage == PERF__DECODE && t->groups[i].n < 2 &&
		    (rc = slope_from_neighbours(t, i, path, err)))
			return rc;
	return 0;
}

int perf__table_load(struct perf_table **out, const char *path, struct ms_error *err)
{
	char buf[512];
	struct perf_table *t;
	size_t cap = 0;
	int line = 0, header = 0, rc = 0; /* header: columns (5 or 6) once read */
	FILE *f;

	*out = NULL;
	f = fopen(path, "r");
	if (!f)
		return ms_error_set(err, MS_EIO, "%s: cannot open: %s", path, strerror(errno));
	t = calloc(1, sizeof(*t));
	if (!t) {
		fclose(f);
		return ms_error_set(err, MS_ENOMEM, "%s: out of memory", path);
	}
	while (fgets(buf, sizeof(buf), f)) {
		size_t len = strlen(buf);

		line++;
		if (len && buf[len - 1] != '\n' && !feof(f)) {
			rc = ms_error_set(err, MS_EPARSE, "%s:%d: stage: line longer than %zu bytes",
					  path, line, sizeof(buf) - 2);
			goto fail;
		}
		while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
			buf[--len] = '\0';
		if (buf[0] == '#') {
			rc = parse_meta(t, buf, path, line, err);
			if (rc)
				goto fail;
			continue;
		}
		if (!len)
			continue;
		if (!header) {
			if (!strcmp(buf, "stage,tp,batch,tokens,latency_s")) {
				header = 5;
			} else if (!strcmp(buf, "stage,tp,batch,tokens,context,latency_s")) {
				header = 6;
			} else {
				rc = ms_error_set(err, MS_EPARSE,
						  "%s:%d: stage: expected header 'stage,tp,batch,tokens,latency_s'"
						  " or 'stage,tp,batch,tokens,context,latency_s'",
						  path, line);
				goto fail;
			}
			continue;
		}
		if (t->nrows == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct row *nr = realloc(t->rows, ncap * sizeof(*nr));
			if (!nr) {
				rc = ms_error_set(err, MS_ENOMEM, "%s: out of memory", path);
				goto fail;
			}
			t->rows = nr;
			cap = ncap;
		}
		rc = parse_row(buf, header, &t->rows[t->nrows], path, line, err);
		if (rc)
			goto fail;
		t->nrows++;
	}
	if (ferror(f)) {
		rc = ms_error_set(err, MS_EIO, "%s: read error", path);
		goto fail;
	}
	if (!header || !t->nrows) {
		rc = ms_error_set(err, MS_EPARSE, "%s:%d: stage: no %s", path, line,
				  header ? "data rows" : "header");
		goto fail;
	}
	qsort(t->rows, t->nrows, sizeof(*t->rows), row_cmp);
	rc = build_groups(t, path, err);
	if (rc)
		goto fail;
	fclose(f);
	*out = t;
	return 0;
fail:
	fclose(f);
	perf__table_free(t);
	return rc;
}

void perf__table_free(struct perf_table *t)
{
	if (!t)
		return;
	free(t->rows);
	free(t->groups);
	free(t);
}

/* Groups of (stage, tp) are contiguous: find [lo, hi) by binary search. */
static void find_groups(const struct perf_table *t, int st, int tp, size_t *lo, size_t *hi)
{
	size_t l = 0, h = t->ngroups;

	while (l < h) {
		size_t mid = l + (h - l) / 2;
		const struct group *g = &t->groups[mid];
		if (g->stage < st || (g->stage == st && g->tp < tp))
			l = mid + 1;
		else
			h = mid;
	}
	*lo = l;
	while (h < t->ngroups && t->groups[h].stage == st && t->groups[h].tp == tp)
		h++;
	*hi = h > l ? h : l;
}

int perf__table_has(const struct perf_table *t, enum perf__stage st, int tp)
{
	size_t lo, hi;

	find_groups(t, st, tp, &lo, &hi);
	return hi > lo;
}

static double lerp(double x0, double y0, double x1, double y1, double x)
{
	return x1 == x0 ? y0 : y0 + (y1 - y0) * (x - x0) / (x1 - x0);
}

static double group_at(const struct perf_table *t, const struct group *g, double x)
{
	const struct row *r = &t->rows[g->start];
	size_t l = 1, h = g->n - 1;

	if (g->n == 1)
		return r[0].lat;
	/* segment [i-1, i] with the smallest i such that x <= r[i].tokens, end segments extended */
	while (l < h) {
		size_t mid = l + (h - l) / 2;
		if (r[mid].tokens < x)
			l = mid + 1;
		else
			h = mid;
	}
	return lerp(r[l - 1].tokens, r[l - 1].lat, r[l].tokens, r[l].lat, x);
}

/* End (exclusive) of the run of groups from g that share its batch. */
static size_t batch_end(const struct perf_table *t, size_t g, size_t hi)
{
	size_t e = g + 1;

	while (e < hi && t->groups[e].batch == t->groups[g].batch)
		e++;
	return e;
}

/* Latency at (ctx, x) among groups [gs, ge) of one batch, sorted by context. */
static double batch_at(const struct perf_table *t, size_t gs, size_t ge, double ctx, double x)
{
	size_t i = gs + 1;

	if (ge - gs == 1)
		return group_at(t, &t->groups[gs], x);
	while (i < ge - 1 && t->groups[i].ctx < ctx)
		i++;
	return lerp(t->groups[i - 1].ctx, group_at(t, &t->groups[i - 1], x),
		    t->groups[i].ctx, group_at(t, &t->groups[i], x), ctx);
}

/* The first groups of the two batches around `batch` among [lo, hi) (the end pair outside). */
static void batch_pair(const struct perf_table *t, size_t lo, size_t hi, double batch,
		       size_t *b0, size_t *b1)
{
	size_t prev = lo, cur = lo, next;

	*b0 = *b1 = lo;
	next = batch_end(t, cur, hi);
	if (next == hi)
		return;
	/* walk batch runs until the second of the pair reaches `batch` or is the last */
	prev = cur;
	cur = next;
	while ((next = batch_end(t, cur, hi)) < hi && t->groups[cur].batch < batch) {
		prev = cur;
		cur = next;
	}
	*b0 = prev;
	*b1 = cur;
}

static double stage_at(const struct perf_table *t, size_t lo, size_t hi, double batch,
		       double ctx, double x)
{
	size_t b0, b1;
	double v0, v1;

	batch_pair(t, lo, hi, batch, &b0, &b1);
	v0 = batch_at(t, b0, batch_end(t, b0, hi), ctx, x);
	if (b0 == b1)
		return v0;
	v1 = batch_at(t, b1, batch_end(t, b1, hi), ctx, x);
	return lerp(t->groups[b0].batch, v0, t->groups[b1].batch, v1, batch);
}

double perf__table_lookup(const struct perf_table *t, enum perf__stage st, int tp,
			  double batch, double x)
{
	size_t lo, hi;
	double v;

	find_groups(t, st, tp, &lo, &hi);
	if (hi == lo)
		return 0;
	v = stage_at(t, lo, hi, batch, 0, x);
	return v > 0 ? v : 0;
}

double perf__table_prefill_s(const struct perf_table *t, int tp, double batch, double tokens,
			     double ctx)
{
	size_t lo, hi;
	double v;

	find_groups(t, PERF__PREFILL, tp, &lo, &hi);
	if (hi == lo)
		return 0;
	v = stage_at(t, lo, hi, batch, ctx, tokens);
	return v > 0 ? v : 0;
}

/*
 * An iteration with a prefill part, from the prefill rows. The rows' key is read off
 * the iteration: batch = requests with a chunk (prefill_seqs, 1 when not given), tokens
 * = new tokens, context per request = A / N - N / (2 batch), which is exact for equal
 * chunks (A = batch x n (c + n / 2), N = batch x n) and, for unequal ones, the context
 * that gives the same causal attention pairs. Decoding requests riding along add one
 * row each to the same forward pass (their GEMM rows are prefill rows: looked up at
 * N + decode_seqs tokens) and their KV reads at the decode slope b (perf_decode_coef at
 * that batch: the table's when it has decode rows, else the roofline's). Not
 * prefill + a whole decode step: that would pay the weights and launch twice.
 * Cross-attention image tokens are not prefill tokens here: what they add to the first
 * iteration (their K/V projection) is measured with the images, in the encode rows
 * (`modserve profile` measures encode as what images add to TTFT).
 */
double perf__table_iter_s(const struct perf *p, int tp, const struct perf_iter *it)
{
	double n = it->prefill_tokens, batch = it->prefill_seqs ? it->prefill_seqs : 1;
	double ctx = n > 0 ? it->prefill_attn / n - n / (2.0 * batch) : 0, s, a, b;

	if (ctx < 0)
		ctx = 0;
	s = perf__table_prefill_s(p->table, tp, batch, n + it->decode_seqs, ctx);
	if (it->decode_seqs) {
		perf_decode_coef(p, tp, it->decode_seqs, &a, &b);
		s += b * (double)it->decode_kv_tokens;
	}
	return s;
}

void perf__table_decode_coef(const struct perf_table *t, int tp, double batch,
			     double *a, double *b)
{
	size_t lo, hi, b0, b1;
	const struct group *g0, *g1;

	find_groups(t, PERF__DECODE, tp, &lo, &hi);
	if (hi == lo) {
		*a = *b = 0;
		return;
	}
	batch_pair(t, lo, hi, batch, &b0, &b1);
	g0 = &t->groups[b0];
	g1 = &t->groups[b1];
	*a = lerp(g0->batch, g0->a, g1->batch, g1->a, batch);
	*b = lerp(g0->batch, g0->b, g1->batch, g1->b, batch);
	if (*a < 0)
		*a = 0;
	if (*b < 0)
		*b = 0;
}
