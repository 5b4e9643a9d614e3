/*
 * The default GPU split: estimate the GPU-seconds each stage of the trace
 * needs (perf/ says how long; the trace is mapped as sim.c maps it, without
 * the KV cut), then share the budget in proportion, in whole instances.
 * A fixed ratio (the paper's 48 + 80 of 128) put half the GPUs on idle
 * encoders for a text-only trace; the work decides instead. docs/sim.md.
 * Kept apart from sim_deploy.c, which the deployment-file fuzzer links
 * without perf/.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sim/sim.h"

int sim_work_estimate(const struct sim_config *c, const struct trace_set *ts, int tp,
		      struct sim_work *w, struct ms_error *err)
{
	const struct perf *p = c ? c->perf : NULL;
	struct sim_map mp;
	uint32_t tiles, budget, eb;
	double prompt_sum = 0, attn_sum = 0, cross_sum = 0, steps_sum = 0, kv_read = 0;
	double foot_sum = 0, n_iter, a, b, cap;
	size_t i;

	memset(w, 0, sizeof(*w));
	if (!p)
		return ms_error_set(err, MS_EINVAL, "sim: no perf model");
	if (tp < 1)
		return ms_error_set(err, MS_EINVAL, "TP must be >= 1");
	tiles = perf_image_tiles(p);
	budget = c->token_budget ? c->token_budget : 1;
	eb = c->enc_max_images ? c->enc_max_images : 1;
	w->tp = tp;
	sim_map_init(&mp, c);
	for (i = 0; i < ts->n; i++) {
		struct sim_shape sh;
		double prompt, extra, steps;

		sim_map_row(&mp, ts, i, &sh);
		prompt = (double)sh.prompt;
		extra = (double)sh.kv_extra;
		cross_sum += (double)sh.cross;
		steps = sh.gen > 1 ? (double)sh.gen - 1 : 0;
		w->images += sh.images;
		prompt_sum += prompt;
		attn_sum += prompt * prompt / 2;
		/* decode step k (1..steps) reads prompt + extra + k tokens */
		steps_sum += steps;
		kv_read += steps * (prompt + extra) + steps * (steps + 1) / 2;
		foot_sum += prompt + extra + steps + 1;
	}
	w->requests = ts->n;
	if (!ts->n)
		return 0;
	/* encode: whole batches of enc_max_images images */
	w->enc_gpu_s = (double)w->images * perf_encode_s(p, 1, tiles * eb) / eb;
	w->enc_inline_gpu_s = (double)w->images * perf_encode_s(p, tp, tiles * eb) / eb * tp;
	/* prefill: full token-budget iterations; cross tokens cost iterations as prompt does */
	n_iter = ceil(fmax(prompt_sum, cross_sum) / budget);
	if (n_iter >= 1) {
		struct perf_iter it = { 0 };
		it.prefill_tokens = (uint32_t)ceil(prompt_sum / n_iter);
		it.prefill_attn = attn_sum / n_iter;
		it.cross_tokens = (uint32_t)ceil(cross_sum / n_iter);
		w->prefill_gpu_s = n_iter * perf_llm_iter_s(p, tp, &it) * tp;
	}
	/* decode: the batch a busy instance holds, bounded by max_seqs and by its KV */
	cap = c->kv_tokens ? (double)c->kv_tokens : (double)perf_kv_capacity_tokens(p, tp);
	w->decode_batch = c->max_seqs ? c->max_seqs : 1;
	if (foot_sum > 0 && cap / (foot_sum / (double)ts->n) < w->decode_batch)
		w->decode_batch = (uint32_t)(cap / (foot_sum / (double)ts->n));
	if (w->decode_batch < 1)
		w->decode_batch = 1;
	perf_decode_coef(p, tp, w->decode_batch, &a, &b);
	w->decode_gpu_s = (steps_sum * a / w->decode_batch + b * kv_read) * tp;
	return 0;
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
