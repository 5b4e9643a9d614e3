/*
 * loadgen_profile: the designed runs behind `modserve profile` (see loadgen_profile.h).
 *
 * What each stage is read off, and why that way:
 * - prefill, one request, no context: TTFT of a lone request with max_tokens 1, prompts
 *   of the grid and one of exactly `chunk` tokens (the median of `repeats`);
 * - prefill with context: a prompt of chunk + p tokens is prefilled as a chunk of
 *   `chunk` tokens and then one of p tokens after `chunk` tokens of context, so
 *   TTFT(chunk + p) - TTFT(chunk) is the row (p, context chunk);
 * - batched prefill and decode: an "occupier" request of `chunk` tokens is sent first
 *   and the c requests of the batch while it prefills, so they wait and join one
 *   iteration together (requests sent at once would otherwise reach the server a few
 *   microseconds apart, and the first would start alone). The batch's prefill is the
 *   time from the occupier's first token to theirs (the next iteration; the send and
 *   reply overheads cancel), each gap between tokens after that one decode step of
 *   the c requests, gap i reading c x (p + i) KV tokens. A run whose first tokens do
 *   not arrive together was not batched as designed: skipped, and said. Batches too
 *   large for one chunk still give decode steps, read where all of them decode
 *   (measure_batch);
 * - encode: TTFT with k images minus TTFT of the same LLM prompt without them (for a
 *   decoder-only model a text prompt as long as text + image tokens), so the row holds
 *   everything images add to the first token (preprocessing, the encoder, the cross
 *   layers' K/V); with an encode endpoint, its reply time for k images. Preprocess rows
 *   are written as 0 at the instance's cores: a black box does not separate them, and
 *   the encode rows already hold them (docs/perf.md).
 * Held-out points (prompts between grid points, an image count between two measured
 * ones) are measured the same way and only reported, so the fit report shows what the
 * table's interpolation gives away from its own rows.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/ms_progress.h"
#include "loadgen/loadgen_profile.h"
#include "model/model.h"
#include "perf/perf.h"

struct sample {
	enum loadgen_prof_stage stage;
	uint32_t batch;
	double tokens, ctx, v;
	int held_out;
};

struct prof {
	const struct loadgen_profile_config *c;
	struct loadgen_profile *out;
	struct sample *s;
	size_t ns, caps;
	struct ms_progress prog;
	double done;
	uint64_t seed;
	uint32_t img_ctx_tokens; /* LLM context tokens per image (decoder-only models), else 0 */
	struct ms_error *err;
};

static const char *const stage_names[] = { "preprocess", "encode", "prefill", "decode" };

#define LONG_CONTEXT 4 /* chunks of prompt of the long decode runs */

void loadgen_profile_config_default(struct loadgen_profile_config *c)
{
	static const uint32_t prompts[] = { 128, 512, 2048 }, conc[] = { 1, 4, 16 };

	memset(c, 0, sizeof(*c));
	loadgen_config_default(&c->lg);
	loadgen_config_default(&c->enc);
	c->model = "llama-3.2-11b-vision";
	c->gpu = "a100-80gb";
	memcpy(c->prompts, prompts, sizeof(prompts));
	c->n_prompts = 3;
	c->outputs[0] = 64;
	c->n_outputs = 1;
	memcpy(c->conc, conc, sizeof(conc));
	c->n_conc = 3;
	c->max_images = 4;
	c->image_side = 896;
	c->chunk = 4096;
	c->repeats = 5;
}

int loadgen_profile_list(const char *s, uint32_t lo, uint32_t hi, uint32_t *v, uint32_t *n,
			 struct ms_error *err)
{
	const char *p = s;

	*n = 0;
	while (*p) {
		char *end;
		unsigned long x = strtoul(p, &end, 10);

		if (end == p || (*end && *end != ',') || *p == '-' || x < lo || x > hi)
			return ms_error_set(err, MS_EINVAL, "expected a list of integers from %u to "
					    "%u, got '%s'", lo, hi, s);
		if (*n == LOADGEN_PROFILE_GRID)
			return ms_error_set(err, MS_EINVAL, "at most %d values, got '%s'",
					    LOADGEN_PROFILE_GRID, s);
		v[(*n)++] = (uint32_t)x;
		p = *end ? end + 1 : end;
	}
	if (!*n)
		return ms_error_set(err, MS_EINVAL, "empty list");
	return 0;
}

static int add_sample(struct prof *g, enum loadgen_prof_stage st, uint32_t batch, double tokens,
		      double ctx, double v, int held_out)
{
	if (!isfinite(v))
		return 0;
	if (g->ns == g->caps) {
		size_t cap = g->caps ? g->caps * 2 : 256;
		struct sample *n = realloc(g->s, cap * sizeof(*n));
		if (!n)
			return ms_error_set(g->err, MS_ENOMEM, "profile: out of memory");
		g->s = n;
		g->caps = cap;
	}
	g->s[g->ns++] = (struct sample){ st, batch, tokens, ctx, v < 0 ? 0 : v, held_out };
	return 0;
}

static void note(struct prof *g, const char *what)
{
	size_t k = strlen(g->out->notes);

	g->out->skipped++;
	if (k + strlen(what) + 3 < sizeof(g->out->notes))
		snprintf(g->out->notes + k, sizeof(g->out->notes) - k, "%s%s", k ? "; " : "", what);
}

/* Runs the rows of ts (all at their times, `conc` open at once, 0 = no limit). */
static int run(struct prof *g, const struct loadgen_config *base, const struct trace_set *ts,
	       uint32_t conc, struct loadgen_result *res)
{
	struct loadgen_config lc = *base;
	size_t i;
	int rc;

	lc.image_tokens_in_trace = 0; /* ContextTokens is the text, exactly */
	lc.max_concurrency = conc;
	lc.num_requests = 0;
	lc.duration_s = 0;
	lc.rate = 0;
	lc.rate_scale = 1;
	lc.progress = 0;
	lc.max_images = 64;
	lc.image_side = g->c->image_side;
	/* as many distinct images as the run sends (at most 64): generating them is the
	 * costly part of a short run */
	lc.image_pool = 1;
	for (i = 0; i < ts->n; i++)
		lc.image_pool += ts->images[i];
	if (lc.image_pool > 64)
		lc.image_pool = 64;
	lc.seed = g->seed++;
	rc = loadgen_run(ts, &lc, res, g->err);
	if (rc)
		return rc;
	g->out->requests += res->n;
	for (i = 0; i < res->n; i++)
		if (res->req[i].fail)
			g->out->failed++;
	g->done += (double)res->n;
	ms_progress_update(&g->prog, g->done);
	return 0;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
	if (!n)
		return NAN;
	qsort(v, n, sizeof(*v), cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*
 * Median TTFT (whole replies: reply time) of the requests from, from + stride, .. (n of
 * them) that succeeded. Designs send their repeats round robin (every point once, then
 * again), so a burst of load on a shared machine hits one repeat of many points rather
 * than every repeat of one.
 */
static double med_ttft(const struct loadgen_result *r, size_t from, size_t stride, size_t n)
{
	double v[64];
	size_t i, k = 0;

	for (i = 0; i < n && from + i * stride < r->n && k < 64; i++)
		if (!r->req[from + i * stride].fail)
			v[k++] = r->req[from + i * stride].ttft;
	return median(v, k);
}

static int push_rows(struct trace_set *ts, double t, uint32_t images, uint32_t text, uint32_t gen,
		     uint32_t n, struct ms_error *err)
{
	uint32_t i;
	int rc = 0;

	for (i = 0; i < n && !rc; i++)
		rc = trace_set_push(ts, t, images, text, gen, err);
	return rc;
}

/*
 * Lone prefills: the grid (< chunk), exactly `chunk`, the held-out geometric means
 * between neighbouring grid sizes, and L x chunk + p (L = 1, 2) for the context rows:
 * TTFT(L chunk + p) - TTFT(L chunk) is the chunk of p tokens after L x chunk of context
 * (and TTFT(2 chunk) - TTFT(chunk) the full chunk after one). Two context levels, so a
 * long prompt's later chunks are interpolated, not extrapolated from one difference of
 * two noisy TTFTs. ttft_chunk gets TTFT(chunk), which sizes the occupier of the batch runs.
 */
static int measure_prefill(struct prof *g, double *ttft_chunk)
{
	enum { N = 4 * LOADGEN_PROFILE_GRID + 4 };
	const struct loadgen_profile_config *c = g->c;
	uint32_t sz[N], tok[N], ctx[N];
	int base[N], held[N]; /* base: the entry whose TTFT is subtracted, -1 none */
	struct loadgen_result res = { 0 };
	struct trace_set ts;
	size_t n = 0, i, j, ichunk, i2chunk;
	uint32_t r = c->repeats, prev = 0, lv;
	int rc = 0;

#define ENTRY(s_, t_, c_, b_, h_) \
	(sz[n] = (s_), tok[n] = (t_), ctx[n] = (c_), base[n] = (b_), held[n] = (h_), n++)
	for (i = 0; i < c->n_prompts; i++) {
		uint32_t p = c->prompts[i], m;
		if (p >= c->chunk)
			continue;
		if (prev && p > prev + 1) {
			m = (uint32_t)lround(sqrt((double)prev * p));
			ENTRY(m, m, 0, -1, 1);
		}
		ENTRY(p, p, 0, -1, 0);
		prev = p;
	}
	ichunk = n;
	ENTRY(c->chunk, c->chunk, 0, -1, 0);
	i2chunk = n;
	ENTRY(2 * c->chunk, c->chunk, c->chunk, (int)ichunk, 0);
	for (lv = 1; lv <= 2; lv++)
		for (i = 0; i < c->n_prompts; i++)
			if (c->prompts[i] < c->chunk)
				ENTRY(lv * c->chunk + c->prompts[i], c->prompts[i], lv * c->chunk,
				      (int)(lv == 1 ? ichunk : i2chunk), 0);
#undef ENTRY
	trace_set_init(&ts);
	for (j = 0; j < r && !rc; j++)
		for (i = 0; i < n && !rc; i++)
			rc = push_rows(&ts, 0, 0, sz[i], 1, 1, g->err);
	if (!rc)
		rc = run(g, &c->lg, &ts, 1, &res);
	if (rc)
		goto out;
	*ttft_chunk = med_ttft(&res, ichunk, n, r);
	for (i = 0; i < n && !rc; i++)
		rc = add_sample(g, LOADGEN_PROF_PREFILL, 1, tok[i], ctx[i],
				med_ttft(&res, i, n, r) -
					(base[i] >= 0 ? med_ttft(&res, (size_t)base[i], n, r) : 0),
				held[i]);
out:
	loadgen_result_release(&res);
	trace_set_release(&ts);
	return rc;
}

/*
 * Tokens request j had received by time t (its first token at first_j, then its gaps),
 * with slack eps: tokens of one iteration reach the client a few microseconds apart.
 */
static uint32_t tokens_by(const struct loadgen_result *res, const struct loadgen_req *q,
			  double t, double eps)
{
	double at = q->start + q->ttft;
	uint32_t n = 0;

	while (n <= q->itl_n && at <= t + eps) {
		n++;
		if (n <= q->itl_n)
			at += res->itl[q->itl_off + n - 1];
	}
	return n;
}

/*
 * One batch run: the occupier, then `b` requests of p prompt and o output tokens.
 * Decode steps are read in the window where all b decode together: from the last of
 * their first tokens to the first of them to finish. When b x p fits one chunk they
 * start together (the batch's prefill is then a row too); a larger batch prefills over
 * several iterations and starts decoding a few steps apart, which the KV count follows:
 * at step s of the window request j has n_j + s - 1 tokens, so the step reads
 * sum_j (p + n_j) + b (s - 1) KV tokens. This is what reaches the KV totals a loaded
 * instance reads (16 requests of 2,048 tokens: 33k).
 */
static int measure_batch(struct prof *g, uint32_t b, uint32_t p, uint32_t o, double ttft_chunk)
{
	const struct loadgen_profile_config *c = g->c;
	struct loadgen_result res = { 0 };
	struct trace_set ts;
	double occ, first[64], lo = INFINITY, hi = -INFINITY, eps, kv0 = 0;
	double *win = NULL;
	uint32_t n0[64], j, w, nw, steps = UINT32_MAX;
	char what[128];
	int rc;

	trace_set_init(&ts);
	rc = push_rows(&ts, 0, 0, c->chunk, 1, 1, g->err);
	/* a third of the occupier's prefill: late enough to be behind it, early enough to
	 * be waiting when it ends */
	if (!rc)
		rc = push_rows(&ts, ttft_chunk / 3, 0, p, o, b, g->err);
	if (!rc)
		rc = run(g, &c->lg, &ts, 0, &res);
	if (rc)
		goto out;
	snprintf(what, sizeof(what), "batch %u x %u tokens: %s", b, p,
		 (uint64_t)b * p <= c->chunk ? "not batched together" : "never decoding together");
	if (res.req[0].fail) {
		note(g, what);
		goto out;
	}
	occ = res.req[0].start + res.req[0].ttft;
	for (j = 0; j < b; j++) {
		const struct loadgen_req *q = &res.req[1 + j];
		if (q->fail || q->itl_n + 1 != o) {
			note(g, what);
			goto out;
		}
		first[j] = q->start + q->ttft;
		lo = fmin(lo, first[j]);
		hi = fmax(hi, first[j]);
	}
	if ((uint64_t)b * p <= c->chunk) {
		/* together: the batch's first tokens within a quarter of its prefill */
		if (!(lo > occ) || hi - lo > 0.25 * (lo - occ)) {
			note(g, what);
			goto out;
		}
		if (b > 1 && (rc = add_sample(g, LOADGEN_PROF_PREFILL, b, (double)b * p, 0,
					      median(first, b) - occ, 0)))
			goto out;
	}
	if (!(win = malloc(((size_t)b + 1) * sizeof(*win)))) {
		rc = ms_error_set(g->err, MS_ENOMEM, "profile: out of memory");
		goto out;
	}
	/* eps: a fifth of a typical gap (the batch's median first gap) */
	for (j = 0; j < b; j++)
		win[j] = o > 1 ? res.itl[res.req[1 + j].itl_off] : 0;
	eps = 0.2 * median(win, b);
	for (j = 0; j < b; j++) {
		n0[j] = tokens_by(&res, &res.req[1 + j], hi, eps);
		if (o - n0[j] < steps)
			steps = o - n0[j];
		kv0 += (double)p + n0[j];
	}
	nw = steps > 4 ? 4 : steps;
	if (o > 1 && steps < 2) {
		note(g, what);
		goto out;
	}
	/*
	 * steps 1 .. steps of the window in nw parts. Per request the part's mean gap (its
	 * span over its steps), then the median over the batch: a client that reads two
	 * events in one go sees a gap of ~0 and then a double one, which a mean keeps right
	 * and a median of gaps does not.
	 */
	for (w = 0; w < nw && !rc; w++) {
		uint32_t s0 = 1 + w * steps / nw, s1 = 1 + (w + 1) * steps / nw, s;
		for (j = 0; j < b; j++) {
			const struct loadgen_req *q = &res.req[1 + j];
			double sum = 0;
			/* step s ends request j's token n0 + s: its gap n0 + s - 1 (1-based) */
			for (s = s0; s < s1; s++)
				sum += res.itl[q->itl_off + n0[j] + s - 2];
			win[j] = sum / (s1 - s0);
		}
		rc = add_sample(g, LOADGEN_PROF_DECODE, b, kv0 + b * ((s0 + s1 - 1) / 2.0 - 1), 0,
				median(win, b), 0);
	}
out:
	free(win);
	loadgen_result_release(&res);
	trace_set_release(&ts);
	return rc;
}

/* Image counts: 1, 2, 4, .. below max, and max; held out: 3 when 4 is measured. */
static size_t image_counts(uint32_t max, uint32_t *k, int *held)
{
	size_t n = 0;
	uint32_t x;

	for (x = 1; x < max && n < 30; x *= 2, n++) {
		k[n] = x;
		held[n] = 0;
	}
	k[n] = max;
	held[n++] = 0;
	if (max >= 4) {
		k[n] = 3;
		held[n++] = 1;
	}
	return n;
}

static int measure_encode(struct prof *g)
{
	const struct loadgen_profile_config *c = g->c;
	struct loadgen_result res = { 0 };
	struct trace_set ts;
	uint32_t k[32], r = c->repeats, p0 = c->prompts[0], tiles = g->out->tiles_per_image;
	int held[32];
	size_t n = image_counts(c->max_images, k, held), i;
	int rc = 0;

	size_t per = c->enc_set ? 1 : 2, j;

	trace_set_init(&ts);
	for (j = 0; j < r && !rc; j++)
		for (i = 0; i < n && !rc; i++) {
			rc = push_rows(&ts, 0, k[i], c->enc_set ? 0 : p0, 1, 1, g->err);
			if (!rc && !c->enc_set)
				rc = push_rows(&ts, 0, 0, p0 + k[i] * g->img_ctx_tokens, 1, 1, g->err);
		}
	if (!rc)
		rc = run(g, c->enc_set ? &c->enc : &c->lg, &ts, 1, &res);
	for (i = 0; i < n && !rc; i++) {
		double v = med_ttft(&res, per * i, per * n, r);
		if (!c->enc_set)
			v -= med_ttft(&res, per * i + 1, per * n, r);
		rc = add_sample(g, LOADGEN_PROF_ENCODE, k[i], (double)k[i] * tiles, 0, v, held[i]);
	}
	loadgen_result_release(&res);
	trace_set_release(&ts);
	return rc;
}

static int sample_cmp(const void *pa, const void *pb)
{
	const struct sample *a = pa, *b = pb;

	if (a->held_out != b->held_out)
		return a->held_out - b->held_out;
	if (a->stage != b->stage)
		return (int)a->stage - (int)b->stage;
	if (a->batch != b->batch)
		return a->batch < b->batch ? -1 : 1;
	if (a->ctx != b->ctx)
		return a->ctx < b->ctx ? -1 : 1;
	if (a->tokens != b->tokens)
		return a->tokens < b->tokens ? -1 : 1;
	return 0;
}

/* Samples of one key become one point (their median). */
static int collapse(struct prof *g)
{
	struct loadgen_profile *o = g->out;
	double *v;
	size_t i = 0, j, k;

	qsort(g->s, g->ns, sizeof(*g->s), sample_cmp);
	o->pt = calloc(g->ns ? g->ns : 1, sizeof(*o->pt));
	v = malloc((g->ns ? g->ns : 1) * sizeof(*v));
	if (!o->pt || !v) {
		free(v);
		return ms_error_set(g->err, MS_ENOMEM, "profile: out of memory");
	}
	while (i < g->ns) {
		for (j = i; j < g->ns && !sample_cmp(&g->s[i], &g->s[j]); j++)
			;
		for (k = i; k < j; k++)
			v[k - i] = g->s[k].v;
		o->pt[o->n++] = (struct loadgen_profile_point){
			g->s[i].stage, g->s[i].batch, g->s[i].tokens, g->s[i].ctx,
			median(v, j - i), (uint32_t)(j - i), g->s[i].held_out };
		i = j;
	}
	free(v);
	return 0;
}

/* Requests the design sends, for the progress line. */
static double planned(const struct loadgen_profile_config *c)
{
	double n = (4.0 * c->n_prompts + 2) * c->repeats;
	uint32_t i, j;

	for (i = 0; i < c->n_conc; i++)
		for (j = 0; j <= c->n_prompts; j++)
			if (j < c->n_prompts || c->conc[i] <= 4)
				n += (1.0 + c->conc[i]) * c->n_outputs * c->repeats;
	if (c->max_images)
		n += (c->enc_set ? 1 : 2) * (log2(c->max_images) + 3) * c->repeats;
	return n;
}

int loadgen_profile_run(const struct loadgen_profile_config *c, struct loadgen_profile *out,
			struct ms_error *err)
{
	struct prof g = { .c = c, .out = out, .seed = c->lg.seed, .err = err };
	struct model_spec m;
	struct gpu_spec gpu;
	double ttft_chunk = NAN;
	uint32_t i, j, k, r;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = model_spec_load(&m, c->model, err)) || (rc = gpu_spec_load(&gpu, c->gpu, err)))
		return rc;
	if (!c->n_prompts || !c->n_conc || !c->n_outputs || c->tp < 1 || !c->chunk || !c->repeats ||
	    c->repeats > 64)
		return ms_error_set(err, MS_EINVAL, "profile: empty design (prompts, outputs, "
				    "concurrency, tp, chunk and repeats 1..64 are needed)");
	for (i = 0; i < c->n_conc; i++)
		if (c->conc[i] > 64)
			return ms_error_set(err, MS_EINVAL, "profile: concurrency above 64: %u",
					    c->conc[i]);
	out->tiles_per_image = (uint32_t)m.tiles_per_image;
	out->cores = gpu.cpu_cores_per_gpu * c->tp;
	if (out->cores < 1)
		out->cores = 1;
	if (m.arch == MODEL_ARCH_DECODER)
		g.img_ctx_tokens = model_image_tokens(&m);
	ms_progress_init(&g.prog, "profile requests", planned(c));
	g.prog.enabled = g.prog.enabled && c->progress;
	rc = measure_prefill(&g, &ttft_chunk);
	if (!rc && !isfinite(ttft_chunk))
		rc = ms_error_set(err, MS_ENET, "profile: no %u-token request succeeded (%llu of "
				  "%llu failed): is the endpoint up and serving that model?", c->chunk,
				  (unsigned long long)out->failed, (unsigned long long)out->requests);
	/*
	 * Decode runs at the grid's prompts and, for batches of up to 4, at LONG_CONTEXT
	 * chunks: the KV slope b is per KV token, and read off a batch of one over 136..2,104
	 * KV tokens alone it came out at 119 ns/token where the engine's is 10.7 (a 0.2 ms
	 * wobble over 2,000 tokens), which a simulated batch holding 30k KV tokens (long
	 * prompts, cross-attention image states) turned into +3 ms per step.
	 */
	for (i = 0; i < c->n_conc && !rc; i++)
		for (j = 0; j <= c->n_prompts && !rc; j++) {
			uint32_t p = j < c->n_prompts ? c->prompts[j] : LONG_CONTEXT * c->chunk;
			if (j == c->n_prompts && c->conc[i] > 4)
				continue;
			for (k = 0; k < c->n_outputs && !rc; k++)
				for (r = 0; r < c->repeats && !rc; r++)
					rc = measure_batch(&g, c->conc[i], p, c->outputs[k], ttft_chunk);
		}
	if (!rc && c->max_images && model_has_vision(&m)) {
		rc = measure_encode(&g);
		if (!rc)
			rc = add_sample(&g, LOADGEN_PROF_PREPROCESS, 1, out->tiles_per_image, 0, 0, 0);
	}
	ms_progress_done(&g.prog);
	if (!rc)
		rc = collapse(&g);
	free(g.s);
	if (rc)
		loadgen_profile_release(out);
	return rc;
}

int loadgen_profile_write(const struct loadgen_profile *p, const struct loadgen_profile_config *c,
			  const char *path, struct ms_error *err)
{
	struct model_spec m;
	struct gpu_spec g;
	FILE *f;
	size_t i;
	time_t now = time(NULL);
	char when[32];
	int rc;

	if ((rc = model_spec_load(&m, c->model, err)) || (rc = gpu_spec_load(&g, c->gpu, err)))
		return rc;
	f = fopen(path, "w");
	if (!f)
		return ms_error_set(err, MS_EIO, "%s: cannot write", path);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	fprintf(f, "# measured by modserve profile from http://%s:%d%s at %s\n", c->lg.host,
		c->lg.port, c->lg.path, when);
	fprintf(f, "# %llu requests (%llu failed, left out), %u designed points skipped%s%s\n",
		(unsigned long long)p->requests, (unsigned long long)p->failed, p->skipped,
		p->skipped ? ": " : "", p->notes);
	fprintf(f, "# prefill: lone requests' TTFT; context rows TTFT(chunk + p) - TTFT(chunk), "
		   "chunk %u; batch rows from an occupier request (docs/perf.md)\n", c->chunk);
	fprintf(f, "# decode: gaps between tokens of a batch in step; tokens = KV tokens read\n");
	fprintf(f, "# encode: %s, %ux%u px images (%u tiles each); preprocess 0: inside encode\n",
		c->enc_set ? "reply time of the encode endpoint"
			   : "TTFT with the images minus TTFT without",
		c->image_side, c->image_side, p->tiles_per_image);
	fprintf(f, "# model: %s\n# gpu: %s\n", m.name, g.name);
	fprintf(f, "stage,tp,batch,tokens,context,latency_s\n");
	for (i = 0; i < p->n; i++) {
		const struct loadgen_profile_point *q = &p->pt[i];
		if (q->held_out)
			continue;
		fprintf(f, "%s,%d,%u,%.0f,%.0f,%.9g\n", stage_names[q->stage],
			q->stage == LOADGEN_PROF_PREPROCESS ? p->cores : c->tp, q->batch, q->tokens,
			q->ctx, q->lat);
	}
	if (fclose(f))
		return ms_error_set(err, MS_EIO, "%s: write error", path);
	return 0;
}

/* What the table gives at a point (the caller's perf holds it). */
static double table_at(const struct perf *pf, const struct loadgen_profile *p, int tp,
		       const struct loadgen_profile_point *q)
{
	struct perf_iter it = { 0 };

	switch (q->stage) {
	case LOADGEN_PROF_PREFILL:
		it.prefill_tokens = (uint32_t)q->tokens;
		it.prefill_attn = q->tokens * (q->ctx + q->tokens / (2.0 * q->batch));
		it.prefill_seqs = q->batch;
		return perf_llm_iter_s(pf, tp, &it);
	case LOADGEN_PROF_DECODE:
		return perf_decode_step_s(pf, tp, q->batch, (uint64_t)q->tokens);
	case LOADGEN_PROF_ENCODE:
		return perf_encode_s(pf, tp, (uint32_t)q->tokens) +
		       perf_preprocess_s(pf, q->batch, p->cores);
	default:
		return perf_preprocess_s(pf, q->batch, p->cores);
	}
}

int loadgen_profile_report(FILE *out, const struct loadgen_profile *p,
			   const struct loadgen_profile_config *c, const char *path, double *max_err,
			   struct ms_error *err)
{
	struct perf pf;
	double e[4][256], worst = 0;
	size_t ne[4] = { 0 }, i;
	int rc, s;

	if ((rc = perf_open(&pf, c->model, c->gpu, NULL, path, err)))
		return rc;
	fprintf(out, "fit: each point measured vs what %s gives back\n", path);
	fprintf(out, "%-8s %6s %9s %8s %4s %12s %12s %8s\n", "stage", "batch", "tokens", "context",
		"n", "measured_ms", "table_ms", "error");
	for (i = 0; i < p->n; i++) {
		const struct loadgen_profile_point *q = &p->pt[i];
		double t = table_at(&pf, p, c->tp, q), er;
		if (q->stage == LOADGEN_PROF_PREPROCESS)
			continue;
		er = q->lat > 0 ? (t - q->lat) / q->lat : 0;
		fprintf(out, "%-8s %6u %9.0f %8.0f %4u %12.3f %12.3f %+7.1f%%%s\n",
			stage_names[q->stage], q->batch, q->tokens, q->ctx, q->n, q->lat * 1e3,
			t * 1e3, er * 100, q->held_out ? "  held out" : "");
		if (ne[q->stage] < 256)
			e[q->stage][ne[q->stage]++] = fabs(er);
		worst = fmax(worst, fabs(er));
	}
	for (s = 1; s < 4; s++) {
		double med;
		if (!ne[s])
			continue;
		med = median(e[s], ne[s]); /* sorts e[s]: its last is then the largest */
		fprintf(out, "fit %s: %zu points, median |error| %.1f%%, max %.1f%%\n",
			stage_names[s], ne[s], med * 100, e[s][ne[s] - 1] * 100);
	}
	fprintf(out, "%llu requests, %llu failed; %u designed points skipped%s%s\n",
		(unsigned long long)p->requests, (unsigned long long)p->failed, p->skipped,
		p->skipped ? ": " : "", p->notes);
	if (max_err)
		*max_err = worst;
	perf_release(&pf);
	return 0;
}

void loadgen_profile_release(struct loadgen_profile *p)
{
	free(p->pt);
	p->pt = NULL;
	p->n = p->cap = 0;
}
