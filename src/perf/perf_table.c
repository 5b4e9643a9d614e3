/*
 * perf_table: measured stage latencies (CSV) that override the roofline.
 *
 * File: `stage,tp,batch,tokens,latency_s` header, then one row per measured
 * point; `#` lines are comments. stage is preprocess|encode|prefill|decode;
 * tp is GPUs (CPU cores for preprocess); batch is images (preprocess, encode)
 * or requests (prefill, decode); tokens is tiles (preprocess, encode), new
 * tokens (prefill) or KV tokens read (decode). Optional `# model: NAME` and
 * `# gpu: NAME` comment lines name what was measured; perf__table_check refuses
 * the table for another model or GPU.
 *
 * Rows are sorted once into groups of equal (stage, tp, batch). A lookup
 * interpolates linearly along tokens inside a group, then linearly in batch
 * between the two nearest groups; outside the measured range both directions
 * extrapolate linearly from the end segment (a latency never goes below 0).
 * Extrapolation, not clamping, because stage costs keep growing past the last
 * measured point and a clamp would make big batches look free.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "perf/perf_int.h"

struct row {
	int stage, tp;
	double batch, tokens, lat;
	int line;
};

struct group {
	int stage, tp;
	double batch;
	size_t start, n;  /* rows[start .. start+n) sorted by tokens */
	double a, b;      /* decode only: least-squares lat = a + b * tokens */
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

/* Splits one data line into 5 fields and fills r; errors name file:line: column. */
static int parse_row(char *s, struct row *r, const char *path, int line, struct ms_error *err)
{
	static const char *const cols[5] = { "stage", "tp", "batch", "tokens", "latency_s" };
	char *f[5];
	double v[5];
	int i, nf = 0;

	f[nf++] = s;
	for (; *s; s++) {
		if (*s == ',') {
			*s = '\0';
			if (nf == 5)
				return ms_error_set(err, MS_EPARSE, "%s:%d: latency_s: more than 5 columns",
						    path, line);
			f[nf++] = s + 1;
		}
	}
	if (nf < 5)
		return ms_error_set(err, MS_EPARSE, "%s:%d: %s: missing column (%d of 5)",
				    path, line, cols[nf], nf);
	r->stage = -1;
	for (i = 0; i < PERF__NSTAGES; i++)
		if (!strcmp(f[0], stage_names[i]))
			r->stage = i;
	if (r->stage < 0)
		return ms_error_set(err, MS_EPARSE,
				    "%s:%d: stage: not preprocess|encode|prefill|decode: '%s'",
				    path, line, f[0]);
	for (i = 1; i < 5; i++) {
		double lo = (i == 1 || i == 2) ? 1 : 0;
		if (parse_num(f[i], lo, i < 4, &v[i]))
			return ms_error_set(err, MS_EPARSE, "%s:%d: %s: not a %s >= %g: '%s'",
					    path, line, cols[i], i < 4 ? "whole number" : "number",
					    lo, f[i]);
	}
	if (v[4] > 1e6) /* keeps the decode least-squares sums finite (fuzz: NaN at 1e308) */
		return ms_error_set(err, MS_ERANGE, "%s:%d: latency_s: above 1e6: '%s'", path, line, f[4]);
	if (v[1] > 65536)
		return ms_error_set(err, MS_ERANGE, "%s:%d: tp: above 65536: '%s'", path, line, f[1]);
	r->tp = (int)v[1];
	r->batch = v[2];
	r->tokens = v[3];
	r->lat = v[4];
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
	g->a = (sy - g->b * sx) / n;
}

static int build_groups(struct perf_table *t, const char *path, struct ms_error *err)
{
	size_t i;

	t->groups = calloc(t->nrows ? t->nrows : 1, sizeof(*t->groups));
	if (!t->groups)
		return ms_error_set(err, MS_ENOMEM, "%s: out of memory", path);
	for (i = 0; i < t->nrows; i++) {
		struct row *r = &t->rows[i];
		struct group *g = t->ngroups ? &t->groups[t->ngroups - 1] : NULL;

		if (g && g->stage == r->stage && g->tp == r->tp && g->batch == r->batch) {
			if (r[-1].tokens == r->tokens)
				return ms_error_set(err, MS_EPARSE,
						    "%s:%d: tokens: same stage, tp, batch and tokens as line %d",
						    path, r->line, r[-1].line);
			g->n++;
			continue;
		}
		g = &t->groups[t->ngroups++];
		g->stage = r->stage;
		g->tp = r->tp;
		g->batch = r->batch;
		g->start = i;
		g->n = 1;
	}
	for (i = 0; i < t->ngroups; i++) {
		struct group *g = &t->groups[i];
		if (g->stage != PERF__DECODE)
			continue;
		if (g->n < 2)
			return ms_error_set(err, MS_EPARSE,
					    "%s:%d: tokens: decode at tp %d batch %g needs two or more KV token counts",
					    path, t->rows[g->start].line, g->tp, g->batch);
		fit_decode(g, &t->rows[g->start]);
	}
	return 0;
}

int perf__table_load(struct perf_table **out, const char *path, struct ms_error *err)
{
	char buf[512];
	struct perf_table *t;
	size_t cap = 0;
	int line = 0, header = 0, rc = 0;
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
			if (strcmp(buf, "stage,tp,batch,tokens,latency_s")) {
				rc = ms_error_set(err, MS_EPARSE,
						  "%s:%d: stage: expected header 'stage,tp,batch,tokens,latency_s'",
						  path, line);
				goto fail;
			}
			header = 1;
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
		rc = parse_row(buf, &t->rows[t->nrows], path, line, err);
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

/* The two batch groups around `batch` (the end pair outside the range). */
static void batch_pair(const struct perf_table *t, size_t lo, size_t hi, double batch,
		       const struct group **g0, const struct group **g1)
{
	size_t i = lo + 1;

	if (hi - lo == 1) {
		*g0 = *g1 = &t->groups[lo];
		return;
	}
	while (i < hi - 1 && t->groups[i].batch < batch)
		i++;
	*g0 = &t->groups[i - 1];
	*g1 = &t->groups[i];
}

double perf__table_lookup(const struct perf_table *t, enum perf__stage st, int tp,
			  double batch, double x)
{
	const struct group *g0, *g1;
	size_t lo, hi;
	double v;

	find_groups(t, st, tp, &lo, &hi);
	if (hi == lo)
		return 0;
	batch_pair(t, lo, hi, batch, &g0, &g1);
	v = lerp(g0->batch, group_at(t, g0, x), g1->batch, group_at(t, g1, x), batch);
	return v > 0 ? v : 0;
}

void perf__table_decode_coef(const struct perf_table *t, int tp, double batch,
			     double *a, double *b)
{
	const struct group *g0, *g1;
	size_t lo, hi;

	find_groups(t, PERF__DECODE, tp, &lo, &hi);
	if (hi == lo) {
		*a = *b = 0;
		return;
	}
	batch_pair(t, lo, hi, batch, &g0, &g1);
	*a = lerp(g0->batch, g0->a, g1->batch, g1->a, batch);
	*b = lerp(g0->batch, g0->b, g1->batch, g1->b, batch);
	if (*a < 0)
		*a = 0;
	if (*b < 0)
		*b = 0;
}
