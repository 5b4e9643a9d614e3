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

int plan_pool_capacity(const struct plan_opts *o, int tp, unsigned what,
		       struct plan_pool_capacity *out, struct ms_error *err)
{
	struct sim_deploy ds[3];
	double rates[3] = { 0, 0, 0 };
	int n = 0, i_enc = -1, i_llm = -1, i_mono = -1, rc;

	memset(out, 0, sizeof(*out));
	if (!o->ts->n)
		return ms_error_set(err, MS_EINVAL, "plan: capacity needs a non-empty trace");
	trace_loads(o, out);
	memset(ds, 0, sizeof(ds));
	if ((what & PLAN_CAP_ENC) && out->img_tokens_s > 0) {
		i_enc = n++;
		ds[i_enc].kind = SIM_DEPLOY_MODSERVE;
		ds[i_enc].n_pools = 2;
		ds[i_enc].pool[0] = (struct sim_pool_spec){ SIM_ROLE_ENC, PLAN_CAP_PROBE, 1 };
		ds[i_enc].pool[1] = (struct sim_pool_spec){ SIM_ROLE_LLM, PLAN_CAP_LLM_SPARE, tp };
	}
	if (what & PLAN_CAP_LLM) {
		i_llm = n++;
		ds[i_llm].kind = SIM_DEPLOY_MODSERVE;
		if (out->img_tokens_s > 0)
			ds[i_llm].pool[ds[i_llm].n_pools++] =
				(struct sim_pool_spec){ SIM_ROLE_ENC,
							PLAN_CAP_ENC_SPARE * PLAN_CAP_PROBE, 1 };
		ds[i_llm].pool[ds[i_llm].n_pools++] =
			(struct sim_pool_spec){ SIM_ROLE_LLM, PLAN_CAP_PROBE, tp };
	}
	if (what & PLAN_CAP_MONO) {
		i_mono = n++;
		ds[i_mono].kind = SIM_DEPLOY_MONO;
		ds[i_mono].n_pools = 1;
		ds[i_mono].pool[0] = (struct sim_pool_spec){ SIM_ROLE_MONO, PLAN_CAP_PROBE, tp };
	}
	if (n && (rc = plan_max_rate_fixed(o, ds, n, 0.05, rates, err)) < 0)
		return rc;
	if (i_enc >= 0) {
		out->enc_scale = rates[i_enc];
		out->enc_tokens_s = rates[i_enc] * out->img_tokens_s / PLAN_CAP_PROBE;
	}
	if (i_llm >= 0) {
		out->llm_scale = rates[i_llm];
		out->llm_tokens_s = rates[i_llm] * out->prompt_tokens_s / PLAN_CAP_PROBE;
	}
	if (i_mono >= 0) {
		out->mono_scale = rates[i_mono];
		out->mono_req_s = rates[i_mono] * out->req_s / PLAN_CAP_PROBE;
	}
	return 0;
}
