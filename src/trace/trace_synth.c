/*
 * Synthetic Azure-LMM-2025-shaped trace. The model and every number's source are in
 * data/synth/azure-lmm-2025.conf; this file parses that file and runs the model.
 *
 * Arrivals: a per-minute intensity per modality (weekday level x daily cycle x log-AR(1)
 * noise, plus image spikes and burst episodes), then exactly N arrivals as sorted
 * uniforms over the cumulative intensity (normalised exponential spacings: O(N), no
 * sort). This is an inhomogeneous Poisson process conditioned on its count.
 * Determinism: one xoshiro256** stream seeded by splitmix64, consumed in a fixed order.
 */
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/ms_conf.h"
#include "base/ms_rand.h"
#include "trace/trace_synth.h"

#define SYNTH_MAX_KNOTS 64
#define SYNTH_CTX_MAX 148569u  /* [PN] max ContextTokens of the week */
#define SYNTH_GEN_MAX 16384u   /* [PN] GeneratedTokens cap */
/* 2024-10-15T12:00:00Z, the released week's first minute, in ns since the epoch. */
#define SYNTH_START_NS 1728993600000000000LL
/* 2024-10-15 was a Tuesday: weekday index (Monday = 0) of day 0. */
#define SYNTH_START_WEEKDAY 1

struct synth_table {
	int n;
	double p[SYNTH_MAX_KNOTS];
	double v[SYNTH_MAX_KNOTS];
	double w[SYNTH_MAX_KNOTS]; /* third column (spread) of image_ctx_by_count */
	double lv[SYNTH_MAX_KNOTS]; /* log(v), once per load (table_logs): sampling reuses it */
};

struct synth_params {
	double week_requests, week_seconds, image_share, zero_ctx, zero_gen;
	double text_weekday[7], image_weekday[7];
	double text_amp, text_peak, image_amp, image_peak;
	double text_sigma, text_rho, text_jitter, image_sigma, image_rho, image_clip;
	double spike_prob, spike_mult;
	double burst_gap_h, burst_len_h, burst_len_sigma, burst_rate, burst_heavy, base_heavy;
	int round_square;
	struct synth_table images_light, images_heavy, text_ctx, image_ctx, by_count;
	struct synth_table text_gen, image_gen;
};

/* ---- PRNG: xoshiro256** (Blackman & Vigna, public domain), seeded by splitmix64 ---- */

struct synth_rng {
	uint64_t s[4];
};

static void rng_seed(struct synth_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = ms_splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t rng_next(struct synth_rng *r)
{
	uint64_t *s = r->s, res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return res;
}

/* Uniform in [0, 1) with 53 random bits. */
static inline double rng_unif(struct synth_rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

static inline double rng_exp(struct synth_rng *r)
{
	return -log1p(-rng_unif(r));
}

/* Box-Muller, one value per call: simpler than caching the pair, and cheap at per-minute use. */
static double rng_norm(struct synth_rng *r)
{
	double u1 = 1.0 - rng_unif(r), u2 = rng_unif(r);
	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* ---- quantile tables ---- */

/* Inverse CDF, log-linear between knots; equal values on a stretch give a point mass. */
static double table_sample(const struct synth_table *t, double u)
{
	int lo = 0, hi = t->n - 1, len = t->n - 1;
	double f;
	if (u <= t->p[0])
		return t->v[0];
	if (u >= t->p[hi])
		return t->v[hi];
	/*
	 * The largest lo with p[lo] <= u (p[0] < u < p[n - 1], p ascending: one answer).
	 * A fixed number of halvings with a conditional move, not a branch: u is uniform,
	 * so which half it falls in was a mispredicted branch per step.
	 */
	while (len > 1) {
		int half = len / 2;
		lo = t->p[lo + half] <= u ? lo + half : lo;
		len -= half;
	}
	hi = lo + 1;
	if (t->p[hi] <= t->p[lo])
		return t->v[hi];
	f = (u - t->p[lo]) / (t->p[hi] - t->p[lo]);
	return exp(t->lv[lo] + f * (t->lv[hi] - t->lv[lo]));
}

static void table_logs(struct synth_table *t)
{
	for (int i = 0; i < t->n; i++)
		t->lv[i] = log(t->v[i]);
}

/* Log-log interpolation of column v (or w when col = 1) at x over knots keyed by p. */
static double table_interp(const struct synth_table *t, double x, int col)
{
	const double *y = col ? t->w : t->v;
	int i;
	if (x <= t->p[0])
		return y[0];
	for (i = 1; i < t->n; i++) {
		if (x <= t->p[i]) {
			double f = (log(x) - log(t->p[i - 1])) / (log(t->p[i]) - log(t->p[i - 1]));
			if (col) /* spread may be 0: interpolate it linearly in log x */
				return y[i - 1] + f * (y[i] - y[i - 1]);
			return exp(log(y[i - 1]) + f * (log(y[i]) - log(y[i - 1])));
		}
	}
	/* past the last knot: extend the last segment's power law */
	i = t->n - 1;
	if (col)
		return y[i];
	return y[i] * pow(x / t->p[i], (log(y[i]) - log(y[i - 1])) / (log(t->p[i]) - log(t->p[i - 1])));
}

/* ---- parameter file ---- */

struct synth_key {
	const char *name;
	size_t off;
	int count; /* numbers on the line */
};

#define SK(name, field, count) { name, offsetof(struct synth_params, field), count }
static const struct synth_key synth_keys[] = {
	SK("week_requests", week_requests, 1), SK("week_seconds", week_seconds, 1),
	SK("image_share", image_share, 1), SK("zero_ctx_prob", zero_ctx, 1),
	SK("zero_gen_prob", zero_gen, 1), SK("text_weekday", text_weekday, 7),
	SK("image_weekday", image_weekday, 7), SK("text_daily_amp", text_amp, 1),
	SK("text_daily_peak_hour", text_peak, 1), SK("image_daily_amp", image_amp, 1),
	SK("image_daily_peak_hour", image_peak, 1), SK("text_noise_sigma", text_sigma, 1),
	SK("text_noise_rho", text_rho, 1), SK("image_noise_sigma", image_sigma, 1),
	SK("image_noise_rho", image_rho, 1), SK("image_spike_prob", spike_prob, 1),
	SK("image_spike_mult", spike_mult, 1), SK("burst_gap_mean_hours", burst_gap_h, 1),
	SK("burst_len_median_hours", burst_len_h, 1), SK("burst_len_sigma", burst_len_sigma, 1),
	SK("burst_rate_mult", burst_rate, 1), SK("burst_heavy_share", burst_heavy, 1),
	SK("base_heavy_share", base_heavy, 1), SK("text_jitter_sigma", text_jitter, 1),
	SK("image_noise_clip", image_clip, 1),
};
/* seen-key bits in a uint64_t (parse_line) */
_Static_assert(sizeof(synth_keys) / sizeof(synth_keys[0]) + 7 <= 64, "too many synth keys");
#define SYNTH_NKEYS (sizeof(synth_keys) / sizeof(synth_keys[0]))

struct synth_tabdef {
	const char *name;
	size_t off;
	int cols; /* 2 = quantile table (p, value); 3 = by-count table */
};
#define ST(name, field, cols) { name, offsetof(struct synth_params, field), cols }
static const struct synth_tabdef synth_tabs[] = {
	ST("images_light", images_light, 2), ST("images_heavy", images_heavy, 2),
	ST("text_ctx", text_ctx, 2), ST("image_ctx", image_ctx, 2),
	ST("image_ctx_by_count", by_count, 3), ST("text_gen", text_gen, 2),
	ST("image_gen", image_gen, 2),
};
#define SYNTH_NTABS (sizeof(synth_tabs) / sizeof(synth_tabs[0]))

static int table_check(const struct synth_table *t, const char *name, int cols, const char *path,
		       struct ms_error *err)
{
	int i;
	if (t->n < 2)
		return ms_error_set(err, MS_EPARSE, "%s: [%s]: needs at least 2 rows", path, name);
	for (i = 0; i < t->n; i++) {
		int bad_p = cols == 2 ? (t->p[i] < 0 || t->p[i] > 1) : t->p[i] <= 0;
		if (bad_p || t->v[i] <= 0 || (i && (t->p[i] < t->p[i - 1] || t->v[i] < t->v[i - 1])) ||
		    (cols == 3 && (i && t->p[i] <= t->p[i - 1])) || t->w[i] < 0)
			return ms_error_set(err, MS_EPARSE,
					    "%s: [%s]: row %d: keys must rise in %s and values be "
					    "positive and non-decreasing",
					    path, name, i + 1, cols == 2 ? "[0,1]" : "(0,inf)");
	}
	if (cols == 2 && (t->p[0] != 0 || t->p[t->n - 1] != 1))
		return ms_error_set(err, MS_EPARSE, "%s: [%s]: p must run from 0 to 1", path, name);
	return 0;
}

static int params_check(const struct synth_params *p, const char *path, struct ms_error *err)
{
	size_t i;
	if (p->week_requests < 1 || p->week_seconds <= 0)
		return ms_error_set(err, MS_EPARSE, "%s: week_requests and week_seconds must be positive", path);
	if (p->image_share < 0 || p->image_share > 1 || p->zero_ctx < 0 || p->zero_ctx > 1 ||
	    p->zero_gen < 0 || p->zero_gen > 1 || p->spike_prob < 0 || p->spike_prob > 1 ||
	    p->burst_heavy < 0 || p->burst_heavy > 1 || p->base_heavy < 0 || p->base_heavy > 1)
		return ms_error_set(err, MS_EPARSE, "%s: a probability or share is outside [0,1]", path);
	if (fabs(p->text_rho) >= 1 || fabs(p->image_rho) >= 1 || p->text_sigma < 0 ||
	    p->image_sigma < 0 || p->text_jitter < 0 || !(p->image_clip > 0) ||
	    p->burst_gap_h < 1.0 / 60 || p->burst_len_h <= 0 ||
	    p->burst_len_sigma < 0 || p->burst_rate <= 0 || p->spike_mult < 0 ||
	    fabs(p->text_amp) >= 1 || fabs(p->image_amp) >= 1)
		return ms_error_set(err, MS_EPARSE, "%s: a noise, cycle or burst parameter is out of range", path);
	for (i = 0; i < 7; i++)
		if (p->text_weekday[i] <= 0 || p->image_weekday[i] <= 0)
			return ms_error_set(err, MS_EPARSE, "%s: weekday levels must be positive", path);
	for (i = 0; i < SYNTH_NTABS; i++) {
		const struct synth_table *t =
			(const struct synth_table *)((const char *)p + synth_tabs[i].off);
		int rc = table_check(t, synth_tabs[i].name, synth_tabs[i].cols, path, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int parse_line(struct synth_params *p, const struct ms_conf *c, struct ms_conf_line *l,
		      const struct synth_tabdef **tab, uint64_t *seen, struct ms_error *err)
{
	const char *path = c->path;
	char *s = l->text;
	int lineno = l->no;
	size_t i;
	if (*s == '[') {
		char *e = strchr(s, ']');
		if (!e || e[1])
			return ms_error_set(err, MS_EPARSE, "%s:%d: bad section header '%s'", path, lineno, s);
		*e = 0;
		for (i = 0; i < SYNTH_NTABS; i++)
			if (!strcmp(s + 1, synth_tabs[i].name))
				break;
		if (i == SYNTH_NTABS)
			return ms_error_set(err, MS_EPARSE, "%s:%d: unknown table '%s'", path, lineno, s + 1);
		*tab = &synth_tabs[i];
		((struct synth_table *)((char *)p + (*tab)->off))->n = 0;
		*seen |= 1ull << (SYNTH_NKEYS + i);
		return 0;
	}
	if (!ms_conf_line_split(l)) {
		const char *key = l->key, *val = l->val;
		if (*tab)
			return ms_error_set(err, MS_EPARSE, "%s:%d: '%s': keys must come before the tables",
					    path, lineno, key);
		if (!strcmp(key, "images_round")) {
			if (strcmp(val, "square") && strcmp(val, "none"))
				return ms_error_set(err, MS_EPARSE, "%s:%d: images_round: want square or none: '%s'",
						    path, lineno, val);
			p->round_square = !strcmp(val, "square");
			return 0;
		}
		for (i = 0; i < SYNTH_NKEYS; i++)
			if (!strcmp(key, synth_keys[i].name))
				break;
		if (i == SYNTH_NKEYS)
			return ms_error_set(err, MS_EPARSE, "%s:%d: unknown key '%s'", path, lineno, key);
		if (ms_conf_numbers_parse(val, (double *)((char *)p + synth_keys[i].off),
					  synth_keys[i].count) != synth_keys[i].count)
			return ms_error_set(err, MS_EPARSE, "%s:%d: %s: want %d number(s): '%s'", path,
					    lineno, key, synth_keys[i].count, val);
		*seen |= 1ull << i;
		return 0;
	}
	if (!*tab)
		return ms_error_set(err, MS_EPARSE, "%s:%d: not 'key = value' nor in a table: '%s'", path,
				    lineno, s);
	{
		struct synth_table *t = (struct synth_table *)((char *)p + (*tab)->off);
		double row[3] = { 0, 0, 0 };
		if (ms_conf_numbers_parse(s, row, (*tab)->cols) != (*tab)->cols)
			return ms_error_set(err, MS_EPARSE, "%s:%d: [%s]: want %d numbers: '%s'", path,
					    lineno, (*tab)->name, (*tab)->cols, s);
		if (t->n == SYNTH_MAX_KNOTS)
			return ms_error_set(err, MS_EPARSE, "%s:%d: [%s]: more than %d rows", path, lineno,
					    (*tab)->name, SYNTH_MAX_KNOTS);
		t->p[t->n] = row[0];
		t->v[t->n] = row[1];
		t->w[t->n] = row[2];
		t->n++;
	}
	return 0;
}

static int params_load(struct synth_params *p, const char *path, struct ms_error *err)
{
	const struct synth_tabdef *tab = NULL;
	uint64_t seen = 0, want = (1ull << (SYNTH_NKEYS + SYNTH_NTABS)) - 1;
	struct ms_conf c;
	struct ms_conf_line l;
	int rc;
	size_t i;

	rc = ms_conf_read(&c, path, err);
	if (rc < 0)
		return rc;
	memset(p, 0, sizeof(*p));
	while ((rc = ms_conf_line_next(&c, &l, err)) > 0) {
		rc = parse_line(p, &c, &l, &tab, &seen, err);
		if (rc < 0)
			break;
	}
	ms_conf_release(&c);
	if (rc < 0)
		return rc;
	if ((seen & want) != want) {
		for (i = 0; i < SYNTH_NKEYS + SYNTH_NTABS; i++)
			if (!(seen & (1ull << i)))
				break;
		return ms_error_set(err, MS_EPARSE, "%s: missing %s '%s'", path,
				    i < SYNTH_NKEYS ? "key" : "table",
				    i < SYNTH_NKEYS ? synth_keys[i].name : synth_tabs[i - SYNTH_NKEYS].name);
	}
	return params_check(p, path, err);
}

/* ---- the model ---- */

struct synth_burst {
	double start, end; /* seconds from the trace start */
};

/* Episodes over [0, dur): exponential gaps, lognormal lengths (Markov-modulated on/off). */
static int bursts_make(const struct synth_params *p, struct synth_rng *r, double dur,
		       struct synth_burst **out, size_t *nout, struct ms_error *err)
{
	size_t n = 0, cap = 16;
	struct synth_burst *b = malloc(cap * sizeof(*b));
	double t = 0;
	if (!b)
		return ms_error_set(err, MS_ENOMEM, "synth: out of memory");
	for (;;) {
		double gap = rng_exp(r) * p->burst_gap_h * 3600.0;
		double len = p->burst_len_h * 3600.0 * exp(p->burst_len_sigma * rng_norm(r));
		t += gap;
		if (t >= dur)
			break;
		if (n == cap) {
			struct synth_burst *nb = realloc(b, 2 * cap * sizeof(*b));
			if (!nb) {
				free(b);
				return ms_error_set(err, MS_ENOMEM, "synth: out of memory");
			}
			b = nb;
			cap *= 2;
		}
		b[n].start = t;
		b[n].end = t + len < dur ? t + len : dur;
		n++;
		t += len;
	}
	*out = b;
	*nout = n;
	return 0;
}

/*
 * Per-minute intensities of text and image arrivals, each normalised to its share of
 * the requests, and whether the minute lies in a burst episode.
 */
static void minutes_make(const struct synth_params *p, struct synth_rng *r, double dur,
			 size_t nmin, const struct synth_burst *b, size_t nb, double *wt,
			 double *wi, unsigned char *inb)
{
	double zt = 0, zi = 0, st = 0, si = 0;
	double et = sqrt(1 - p->text_rho * p->text_rho), ei = sqrt(1 - p->image_rho * p->image_rho);
	size_t m, k = 0;

	for (m = 0; m < nmin; m++) {
		double sec = m * 60.0 + 30.0;
		/* absolute UTC hour of day: the trace starts at 12:00 */
		double hour = fmod(12.0 + sec / 3600.0, 24.0);
		int wd = (int)((SYNTH_START_WEEKDAY + (long)((12.0 * 3600 + sec) / 86400.0)) % 7);
		double spike = 1.0, jt, ci;
		zt = p->text_rho * zt + et * rng_norm(r);
		zi = p->image_rho * zi + ei * rng_norm(r);
		jt = p->text_jitter * rng_norm(r);
		/* the image noise is clipped: the real week's busiest minutes stay near 450
		 * (8x the mean); an unclipped lognormal times a spike made 1,000+ */
		ci = zi > p->image_clip ? p->image_clip : zi < -p->image_clip ? -p->image_clip : zi;
		if (rng_unif(r) < p->spike_prob)
			spike += rng_unif(r) * p->spike_mult;
		while (k < nb && b[k].end <= sec)
			k++;
		inb[m] = k < nb && b[k].start <= sec;
		wt[m] = p->text_weekday[wd] *
			(1 + p->text_amp * cos(2 * M_PI * (hour - p->text_peak) / 24.0)) *
			exp(p->text_sigma * zt + jt);
		wi[m] = p->image_weekday[wd] *
			(1 + p->image_amp * cos(2 * M_PI * (hour - p->image_peak) / 24.0)) *
			exp(p->image_sigma * ci) * spike * (inb[m] ? p->burst_rate : 1.0);
		if (m + 1 == nmin && dur < nmin * 60.0) { /* a last, partial minute */
			wt[m] *= (dur - m * 60.0) / 60.0;
			wi[m] *= (dur - m * 60.0) / 60.0;
		}
		st += wt[m];
		si += wi[m];
	}
	for (m = 0; m < nmin; m++) {
		wt[m] *= (1 - p->image_share) / st;
		wi[m] *= p->image_share / si;
	}
}

static uint32_t clamp_u32(double v, uint32_t max)
{
	if (!(v >= 0))
		return 0;
	if (v >= max)
		return max;
	return (uint32_t)llround(v);
}

static uint32_t images_draw(const struct synth_params *p, struct synth_rng *r, int in_burst)
{
	double h = in_burst ? p->burst_heavy : p->base_heavy;
	const struct synth_table *t = rng_unif(r) < h ? &p->images_heavy : &p->images_light;
	double v = table_sample(t, rng_unif(r));
	if (p->round_square) {
		double k = floor(sqrt(v) + 0.5);
		v = k < 1 ? 1 : k * k;
	}
	return clamp_u32(v, UINT32_MAX);
}

/*
 * What tokens_draw reads that depends only on the tables and the image count: the
 * image context law's median and, per image count below SYNTH_MEMO_IMAGES, the
 * by-count level and spread (pure functions, computed once instead of per row).
 */
#define SYNTH_MEMO_IMAGES 256

struct synth_memo {
	double med1;
	double level[SYNTH_MEMO_IMAGES], spread[SYNTH_MEMO_IMAGES];
	unsigned char have[SYNTH_MEMO_IMAGES];
};

static void by_count(const struct synth_params *p, struct synth_memo *mo, uint32_t images,
		     double *level, double *spread)
{
	if (images >= SYNTH_MEMO_IMAGES) {
		*spread = table_interp(&p->by_count, images, 1);
		*level = table_interp(&p->by_count, images, 0);
		return;
	}
	if (!mo->have[images]) {
		mo->spread[images] = table_interp(&p->by_count, images, 1);
		mo->level[images] = table_interp(&p->by_count, images, 0);
		mo->have[images] = 1;
	}
	*level = mo->level[images];
	*spread = mo->spread[images];
}

static void tokens_draw(const struct synth_params *p, struct synth_memo *mo,
			struct synth_rng *r, uint32_t images, uint32_t *ctx, uint32_t *gen)
{
	double c, g;
	if (images == 0) {
		c = table_sample(&p->text_ctx, rng_unif(r));
		g = table_sample(&p->text_gen, rng_unif(r));
	} else {
		/* the one-image law's deviation from its median, shrunk for many images */
		double x = table_sample(&p->image_ctx, rng_unif(r)), level, w;
		by_count(p, mo, images, &level, &w);
		c = level * pow(x / mo->med1, w);
		g = table_sample(&p->image_gen, rng_unif(r));
	}
	*ctx = rng_unif(r) < p->zero_ctx ? 0 : clamp_u32(c, SYNTH_CTX_MAX);
	*gen = rng_unif(r) < p->zero_gen ? 0 : clamp_u32(g, SYNTH_GEN_MAX);
}

void trace_synth_opts_default(struct trace_synth_opts *o)
{
	o->requests = 1000000;
	o->seed = 1;
	o->duration_s = 0;
	o->params_path = NULL;
}

int trace_synth(struct trace_set *ts, const struct trace_synth_opts *o, struct ms_error *err)
{
	struct synth_params p;
	struct synth_memo *mo = NULL;
	struct synth_rng r;
	struct synth_burst *b = NULL;
	size_t nb = 0, nmin, m, i, n = o->requests;
	double *wt = NULL, *wi = NULL, dur, total, s, acc, first;
	unsigned char *inb = NULL;
	int rc;

	rc = params_load(&p, o->params_path ? o->params_path : MS_DATA_DIR "/synth/azure-lmm-2025.conf",
			 err);
	if (rc < 0)
		return rc;
	if (n == 0)
		return ms_error_set(err, MS_EINVAL, "synth: --requests must be at least 1");
	table_logs(&p.images_light);
	table_logs(&p.images_heavy);
	table_logs(&p.text_ctx);
	table_logs(&p.image_ctx);
	table_logs(&p.text_gen);
	table_logs(&p.image_gen);
	if (n > UINT32_MAX)
		return ms_error_set(err, MS_ERANGE, "synth: %zu requests is too many", n);
	dur = o->duration_s > 0 ? o->duration_s : p.week_seconds * (double)n / p.week_requests;
	if (!(dur <= 3650.0 * 86400))
		return ms_error_set(err, MS_ERANGE, "synth: duration of %g s is too long", dur);
	if (dur < 0.001)
		dur = 0.001;
	rng_seed(&r, o->seed);
	rc = bursts_make(&p, &r, dur, &b, &nb, err);
	if (rc < 0)
		return rc;
	nmin = (size_t)ceil(dur / 60.0);
	wt = malloc(nmin * sizeof(*wt));
	wi = malloc(nmin * sizeof(*wi));
	inb = malloc(nmin);
	mo = calloc(1, sizeof(*mo));
	if (!wt || !wi || !inb || !mo) {
		rc = ms_error_set(err, MS_ENOMEM, "synth: out of memory");
		goto cleanup;
	}
	minutes_make(&p, &r, dur, nmin, b, nb, wt, wi, inb);
	rc = trace_set_reserve(ts, n, err);
	if (rc < 0)
		goto cleanup;
	mo->med1 = table_sample(&p.image_ctx, 0.5);

	/* n sorted uniforms as normalised exponential spacings: S_k / S_{n+1} */
	s = 0;
	for (i = 0; i < n; i++) {
		s += rng_exp(&r);
		ts->t[i] = s;
	}
	total = s + rng_exp(&r);
	/* map each uniform through the inverse of the cumulative minute intensity */
	acc = 0;
	m = 0;
	first = -1;
	for (i = 0; i < n; i++) {
		double u = ts->t[i] / total, wm, sec, ms;
		uint32_t img = 0;
		while (m + 1 < nmin && acc + wt[m] + wi[m] <= u) {
			acc += wt[m] + wi[m];
			m++;
		}
		wm = wt[m] + wi[m];
		sec = m * 60.0 + (wm > 0 ? (u - acc) / wm * 60.0 : 0);
		if (m + 1 == nmin && dur < nmin * 60.0 && wm > 0) /* partial last minute */
			sec = m * 60.0 + (u - acc) / wm * (dur - m * 60.0);
		if (sec > dur)
			sec = dur;
		/* milliseconds, as the real trace: a written file loads back to the same values */
		ms = floor(sec * 1000.0 + 0.5);
		if (first < 0)
			first = ms;
		if (wm > 0 && rng_unif(&r) * wm < wi[m])
			img = images_draw(&p, &r, inb[m]);
		ts->t[i] = (ms - first) / 1000.0;
		ts->images[i] = img;
		tokens_draw(&p, mo, &r, img, &ts->ctx[i], &ts->gen[i]);
	}
	ts->n = n;
	ts->start_ns = SYNTH_START_NS + (int64_t)first * 1000000;
	ts->format = TRACE_FMT_LMM2025;
	ts->frac_digits = 3;
	rc = 0;
cleanup:
	free(mo);
	free(b);
	free(wt);
	free(wi);
	free(inb);
	return rc;
}
