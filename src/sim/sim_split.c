/*
 * The default GPU split: estimate the GPU-seconds each stage of the trace
 * needs (perf/ says how long; the trace is mapped as sim_request.c maps it, without
 * the KV cut), then share the budget in proportion, in whole instances.
 * Decode is estimated at the batch the arrival rate implies on the pool's
 * instances (it was once taken at the largest batch, blind to the rate: on
 * the synthetic week at 3x that was 31.7 GPU-h against 439 simulated, and pd
 * got 2 decode instances at 98% busy).
 * A fixed ratio (the paper's 48 + 80 of 128) put half the GPUs on idle
 * encoders for a text-only trace; the work decides instead. docs/sim.md.
 * Kept apart from sim_deploy.c, which the deployment-file fuzzer links
 * without perf/.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sim/sim.h"

/*
 * Windows of arrival time for the decode estimate: about SIM_WORK_WINDOWS over the span
 * (the week at 3x: ~200 s, short enough to follow the day and the bursts), never shorter
 * than 10 s (a rate over fewer seconds says more about chance than about load).
 */
static void windows_init(struct sim_work *w, double span_s)
{
	w->window_s = span_s / (SIM_WORK_WINDOWS - 1);
	if (!(w->window_s >= 10))
		w->window_s = 10;
	w->n_windows = (size_t)(span_s / w->window_s) + 1;
	if (w->n_windows > SIM_WORK_WINDOWS)
		w->n_windows = SIM_WORK_WINDOWS;
}

static void decode_need(struct sim_work *w);

int sim_work_estimate(const struct sim_config *c, const struct trace_set *ts, int tp,
		      struct sim_work *w, struct ms_error *err)
{
	const struct perf *p = c ? c->perf : NULL;
	struct sim_map mp;
	uint32_t tiles, budget, eb;
	double prompt_sum = 0, attn_sum = 0, cross_sum = 0, foot_sum = 0, n_iter, cap, k;
	size_t i;

	memset(w, 0, sizeof(*w));
	if (!p)
		return ms_error_set(err, MS_EINVAL, "sim: no perf model");
	if (tp < 1)
		return ms_error_set(err, MS_EINVAL, "TP must be >= 1");
	tiles = perf_image_tiles(p);
	budget = c->token_budget ? c->token_budget : 1;
	eb = c->enc_max_images ? c->enc_max_images : 1;
	k = c->rate_scale > 0 ? c->rate_scale : 1;
	w->tp = tp;
	w->perf = p;
	windows_init(w, ts->n ? ts->t[ts->n - 1] / k : 0);
	sim_map_init(&mp, c);
	for (i = 0; i < ts->n; i++) {
		struct sim_shape sh;
		double prompt, extra, steps;
		size_t win = (size_t)(ts->t[i] / k / w->window_s);

		sim_map_row(&mp, ts, i, &sh);
		prompt = (double)sh.prompt;
		extra = (double)sh.kv_extra;
		cross_sum += (double)sh.cross;
		steps = sh.gen > 1 ? (double)sh.gen - 1 : 0;
		w->images += sh.images;
		prompt_sum += prompt;
		attn_sum += prompt * prompt / 2;
		if (win >= w->n_windows)
			win = w->n_windows - 1;
		w->win_req[win]++;
		w->win_steps[win] += steps;
		/* decode step k (1..steps) reads prompt + extra + k tokens */
		w->win_kv[win] += steps * (prompt + extra) + steps * (steps + 1) / 2;
		foot_sum += prompt + extra + steps + 1;
	}
	w->requests = ts->n;
	if (!ts->n)
		return 0;
	/* encode: whole batches of enc_max_images images */
	w->enc_gpu_s = (double)w->images * perf_encode_s(p, 1, tiles * eb) / eb;
	w->enc_inline_gpu_s = (double)w->images * perf_encode_inline_s(p, tp, tiles * eb) / eb * tp;
	/* prefill: full token-budget iterations; cross tokens cost iterations as prompt does */
	n_iter = ceil(fmax(prompt_sum, cross_sum) / budget);
	if (n_iter >= 1) {
		struct perf_iter it = { 0 };
		it.prefill_tokens = (uint32_t)ceil(prompt_sum / n_iter);
		it.prefill_attn = attn_sum / n_iter;
		it.cross_tokens = (uint32_t)ceil(cross_sum / n_iter);
		w->prefill_gpu_s = n_iter * perf_llm_iter_s(p, tp, &it) * tp;
	}
	/* decode: a batch never holds more than max_seqs, nor more than its KV fits */
	cap = c->kv_tokens ? (double)c->kv_tokens : (double)perf_kv_capacity_tokens(p, tp);
	w->decode_batch_max = c->max_seqs ? c->max_seqs : 1;
	if (foot_sum > 0 && cap / (foot_sum / (double)ts->n) < w->decode_batch_max)
		w->decode_batch_max = (uint32_t)(cap / (foot_sum / (double)ts->n));
	if (w->decode_batch_max < 1)
		w->decode_batch_max = 1;
	decode_need(w);
	return 0;
}

/*
 * The mean decode batch of one window on one of `instances` instances: requests in decode
 * = their rate x their time in decode (Little), where the time is steps x step time and a
 * step of B requests takes a(B) + b x B x (KV tokens per request-step). With
 * s = steps per second per instance and kv the mean KV read per step of one request,
 * B = s (a(B) + b B kv), so B = s a(B) / (1 - s b kv); at s b kv >= 1 the KV reads alone
 * outrun the arrivals and the batch fills up. a(B) grows slowly with B, so a few rounds of
 * substitution settle it. Bounds: at least 1 (a step runs one request at the least), at
 * most decode_batch_max and the window's requests per instance.
 */
static double window_batch(const struct sim_work *w, size_t win, double instances, int *full)
{
	double s = w->win_steps[win] / (w->window_s * instances);
	double kv = w->win_kv[win] / w->win_steps[win], hi = w->decode_batch_max, bt = 1;
	double most = w->win_req[win] / instances;
	int round;

	*full = 0;
	if (most < hi)
		hi = most > 1 ? most : 1;
	for (round = 0; round < 30; round++) {
		double a, b, next;
		perf_decode_coef(w->perf, w->tp, (uint32_t)ceil(bt), &a, &b);
		next = s * b * kv >= 1 ? INFINITY : s * a / (1 - s * b * kv);
		/* more than max_seqs or the KV holds: requests wait for a seat */
		*full = next > w->decode_batch_max;
		next = next < 1 ? 1 : next > hi ? hi : next;
		if (fabs(next - bt) < 1e-3 * bt) {
			bt = next;
			break;
		}
		bt = next;
	}
	return bt;
}

/* sim_work_decode, and *full = windows whose arrivals overfill the batch bound. */
static double decode_gpu_s(const struct sim_work *w, uint32_t instances, double *batch,
			   size_t *full)
{
	double gpu_s = 0, steps = 0, bsum = 0;
	size_t win;

	*batch = 0;
	*full = 0;
	for (win = 0; win < w->n_windows; win++) {
		double bt, a, b;
		int f;
		if (!(w->win_steps[win] > 0))
			continue;
		bt = window_batch(w, win, instances, &f);
		*full += (size_t)f;
		perf_decode_coef(w->perf, w->tp, (uint32_t)ceil(bt), &a, &b);
		gpu_s += (w->win_steps[win] * a / bt + b * w->win_kv[win]) * w->tp;
		steps += w->win_steps[win];
		bsum += bt * w->win_steps[win];
	}
	if (steps > 0)
		*batch = bsum / steps;
	return gpu_s;
}

double sim_work_decode(const struct sim_work *w, uint32_t instances, double *batch)
{
	double bt;
	size_t full;
	double gpu_s = w->perf && instances >= 1 ? decode_gpu_s(w, instances, &bt, &full) : 0;

	if (batch)
		*batch = w->perf && instances >= 1 ? bt : 0;
	return gpu_s;
}

/*
 * What decode needs, for the split: the busy GPU-seconds of the fewest instances whose
 * batches hold every window's arrivals (no window asks for more than max_seqs or the KV
 * fits). Not the busy time at the split's own size: a batching decode instance is busy
 * whenever one request decodes, so with more instances its busy time only grows (smaller
 * batches, as many steps), and splitting in proportion to it fed on itself: on the
 * synthetic week at 3x, pd went to 24 decode instances at batch 1 and 8 prefill ones,
 * TTFT p99 28 s. Counted at its best batching, as encode (full batches) and prefill (full
 * token budgets) are, decode is a demand the arrivals set. Doubling, then bisection.
 */
static void decode_need(struct sim_work *w)
{
	uint32_t lo = 0, hi = 1;
	double bt;
	size_t full;

	while (decode_gpu_s(w, hi, &bt, &full), full && hi < (1u << 24)) {
		lo = hi;
		hi *= 2;
	}
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;
		decode_gpu_s(w, mid, &bt, &full);
		if (full)
			lo = mid;
		else
			hi = mid;
	}
	w->decode_instances = hi;
	w->decode_gpu_s = decode_gpu_s(w, hi, &w->decode_batch, &full);
}

/* One pool's estimated GPU-seconds at its count; E-P-D prefill pools encode nothing. */
static double pool_gpu_s(const struct sim_work *w, enum sim_deploy_kind kind,
			 const struct sim_pool_spec *sp)
{
	switch (sp->role) {
	case SIM_ROLE_MONO:
		return w->enc_inline_gpu_s + w->prefill_gpu_s + sim_work_decode(w, sp->count, NULL);
	case SIM_ROLE_ENC:
		return w->enc_gpu_s;
	case SIM_ROLE_LLM:
		return w->prefill_gpu_s + sim_work_decode(w, sp->count, NULL);
	case SIM_ROLE_PREFILL:
		return (kind == SIM_DEPLOY_PD ? w->enc_inline_gpu_s : 0) + w->prefill_gpu_s;
	case SIM_ROLE_DECODE:
		return sim_work_decode(w, sp->count, NULL);
	default:
		return 0;
	}
}

void sim_work_pools(const struct sim_work *w, const struct sim_deploy *d, double *gpu_s)
{
	int i;

	for (i = 0; i < d->n_pools; i++)
		gpu_s[i] = pool_gpu_s(w, d->kind, &d->pool[i]);
}

int sim_deploy_by_work(struct sim_deploy *d, enum sim_deploy_kind kind, uint32_t gpus,
		       const struct sim_work *w, struct ms_error *err)
{
	double work[SIM_MAX_POOLS];
	uint64_t used = 0, need = 0;
	int tp = w->tp, i;

	memset(d, 0, sizeof(*d));
	d->kind = kind;
	if (tp < 1)
		return ms_error_set(err, MS_EINVAL, "TP must be >= 1");
	switch (kind) {
	case SIM_DEPLOY_MONO:
		if (gpus < (uint32_t)tp)
			goto small;
		d->pool[0] = (struct sim_pool_spec){ SIM_ROLE_MONO, gpus / (uint32_t)tp, tp };
		d->n_pools = 1;
		return 0;
	case SIM_DEPLOY_PD:
		d->pool[0] = (struct sim_pool_spec){ SIM_ROLE_PREFILL, 1, tp };
		work[0] = w->enc_inline_gpu_s + w->prefill_gpu_s;
		d->pool[1] = (struct sim_pool_spec){ SIM_ROLE_DECODE, 1, tp };
		work[1] = w->decode_gpu_s;
		d->n_pools = 2;
		break;
	case SIM_DEPLOY_MODSERVE:
		/* text requests skip the encoders: without images there is nothing to encode */
		if (w->images) {
			d->pool[d->n_pools] = (struct sim_pool_spec){ SIM_ROLE_ENC, 1, 1 };
			work[d->n_pools++] = w->enc_gpu_s;
		}
		d->pool[d->n_pools] = (struct sim_pool_spec){ SIM_ROLE_LLM, 1, tp };
		work[d->n_pools++] = w->prefill_gpu_s + w->decode_gpu_s;
		break;
	default:
		return ms_error_set(err, MS_EINVAL, "unknown deployment kind %d", (int)kind);
	}
	for (i = 0; i < d->n_pools; i++)
		need += (uint64_t)d->pool[i].tp;
	if (gpus < need)
		goto small;
	used = need;
	for (;;) {
		int best = -1;
		double best_load = 0;
		for (i = 0; i < d->n_pools; i++) {
			const struct sim_pool_spec *sp = &d->pool[i];
			double load = work[i] / ((double)sp->count * sp->tp);
			if (!(work[i] > 0) || used + (uint64_t)sp->tp > gpus)
				continue;
			if (best < 0 || load > best_load) {
				best = i;
				best_load = load;
			}
		}
		if (best < 0)
			break;
		d->pool[best].count++;
		used += (uint64_t)d->pool[best].tp;
	}
	return 0;
small:
	{
		uint64_t min = kind == SIM_DEPLOY_MONO ? (uint64_t)tp : need;
		return ms_error_set(err, MS_EINVAL,
				    "%u GPUs are too few for '%s' at TP %d (needs at least %llu)",
				    gpus, sim_deploy_name(kind), tp, (unsigned long long)min);
	}
}
