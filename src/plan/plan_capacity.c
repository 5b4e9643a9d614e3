/*
 * Per-instance capacity at the SLO by simulation (plan_capacity.h).
 */
#include "plan/plan_capacity.h"

#include <string.h>

/* The trace's loads at rate scale 1, in the units the autoscaler reads. */
static void trace_loads(const struct plan_opts *o, struct plan_pool_capacity *out)
{
	const struct trace_set *ts = o->ts;
	struct sim_map mp;
	struct sim_shape sh;
	double img = 0, prompt = 0, span;
	size_t i;

	sim_map_init(&mp, o->base);
	for (i = 0; i < ts->n; i++) {
		sim_map_row(&mp, ts, i, &sh);
		img += (double)sh.img_tokens;
		prompt += (double)sh.prompt;
	}
	span = ts->n > 1 ? ts->t[ts->n - 1] - ts->t[0] : 0;
	if (!(span > 0))
		span = 1;
	out->img_tokens_s = img / span;
	out->prompt_tokens_s = prompt / span;
	out->req_s = (double)ts->n / span;
}

static void deploy_size(struct sim_deploy *d, unsigned kind, uint32_t n, int tp, int images)
{
	memset(d, 0, sizeof(*d));
	if (kind == PLAN_CAP_MONO) {
		d->kind = SIM_DEPLOY_MONO;
		d->n_pools = 1;
		d->pool[0] = (struct sim_pool_spec){ SIM_ROLE_MONO, n, tp };
		return;
	}
	d->kind = SIM_DEPLOY_MODSERVE;
	if (kind == PLAN_CAP_ENC) {
		uint32_t spare = n / 2 > PLAN_CAP_LLM_SPARE ? n / 2 : PLAN_CAP_LLM_SPARE;
		d->n_pools = 2;
		d->pool[0] = (struct sim_pool_spec){ SIM_ROLE_ENC, n, 1 };
		d->pool[1] = (struct sim_pool_spec){ SIM_ROLE_LLM, spare, tp };
		return;
	}
	if (images)
		d->pool[d->n_pools++] = (struct sim_pool_spec){ SIM_ROLE_ENC, PLAN_CAP_ENC_SPARE * n, 1 };
	d->pool[d->n_pools++] = (struct sim_pool_spec){ SIM_ROLE_LLM, n, tp };
}

int plan_pool_capacity(const struct plan_opts *o, int tp, unsigned what,
		       struct plan_pool_capacity *out, struct ms_error *err)
{
	static const uint32_t sizes[PLAN_CAP_N_SIZES] = PLAN_CAP_SIZES;
	static const unsigned kinds[3] = { PLAN_CAP_ENC, PLAN_CAP_LLM, PLAN_CAP_MONO };
	struct sim_deploy ds[3 * PLAN_CAP_N_SIZES];
	double rates[3 * PLAN_CAP_N_SIZES];
	int n = 0, k, j, first[3] = { -1, -1, -1 }, rc;

	memset(out, 0, sizeof(*out));
	if (!o->ts->n)
		return ms_error_set(err, MS_EINVAL, "plan: capacity needs a non-empty trace");
	trace_loads(o, out);
	for (k = 0; k < 3; k++) {
		if (!(what & kinds[k]) || (kinds[k] == PLAN_CAP_ENC && !(out->img_tokens_s > 0)))
			continue;
		first[k] = n;
		for (j = 0; j < PLAN_CAP_N_SIZES; j++)
			deploy_size(&ds[n++], kinds[k], sizes[j], tp, out->img_tokens_s > 0);
	}
	if (n && (rc = plan_max_rate_fixed(o, ds, n, 0.05, rates, err)) < 0)
		return rc;
	for (k = 0; k < 3; k++) {
		struct plan_cap_curve *cv = k == 0 ? &out->enc : k == 1 ? &out->llm : &out->mono;
		double unit = k == 0 ? out->img_tokens_s : k == 1 ? out->prompt_tokens_s : out->req_s;
		if (first[k] < 0)
			continue;
		double mx = 0;
		for (j = 0; j < PLAN_CAP_N_SIZES; j++) {
			cv->n[j] = sizes[j];
			cv->load[j] = rates[first[k] + j] * unit;
			if (cv->load[j] > mx)
				mx = cv->load[j];
		}
		/* a larger pool carries at least what a smaller one does, per added instance */
		cv->per_inst = mx / sizes[PLAN_CAP_N_SIZES - 1];
	}
	return 0;
}
