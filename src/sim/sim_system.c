/*
 * The paper's ablation as named systems (one table, sim.h says what each is)
 * and the SLO order's per-token estimate.
 */
#include <stdio.h>
#include <string.h>

#include "sim/sim_int.h"

/*
 * vllm and decoup route blind to load (round-robin, what a plain load balancer
 * in front of replicas does), so the only step from vllm to decoup is the
 * split into pools; sched adds the SLO order; modserve adds least-pending
 * routing. pd and epd are the PD-split designs with the policies each comes
 * with: pd as the existing tuned PD monolith (FCFS, least pending), epd as
 * ModServe on a prefill/decode split.
 */
static const struct sim_system systems[SIM_SYSTEM__COUNT] = {
	{ "vllm", SIM_DEPLOY_MONO, 0, POLICY_ORDER_FCFS, POLICY_ROUTE_RR, POLICY_ROUTE_RR,
	  "monolith (whole model per instance, the model's TP), FCFS, round-robin" },
	{ "decoup", SIM_DEPLOY_MODSERVE, 0, POLICY_ORDER_FCFS, POLICY_ROUTE_RR, POLICY_ROUTE_RR,
	  "image and text pools, FCFS, round-robin (load-blind)" },
	{ "sched", SIM_DEPLOY_MODSERVE, 0, POLICY_ORDER_SLO, POLICY_ROUTE_RR, POLICY_ROUTE_RR,
	  "decoup + SLO-driven queue order" },
	{ "modserve", SIM_DEPLOY_MODSERVE, 0, POLICY_ORDER_SLO, POLICY_ROUTE_LEAST,
	  POLICY_ROUTE_LEAST, "sched + modality-aware routing (least pending work)" },
	{ "pd", SIM_DEPLOY_PD, 0, POLICY_ORDER_FCFS, POLICY_ROUTE_LEAST, POLICY_ROUTE_LEAST,
	  "prefill (encoding inline) and decode pools, FCFS, least pending" },
	{ "epd", SIM_DEPLOY_MODSERVE, 1, POLICY_ORDER_SLO, POLICY_ROUTE_LEAST, POLICY_ROUTE_LEAST,
	  "encode, prefill and decode pools, SLO order, least pending" },
};

const struct sim_system *sim_system_get(int i)
{
	return i >= 0 && i < SIM_SYSTEM__COUNT ? &systems[i] : NULL;
}

int sim_system_find(const char *name, const struct sim_system **out, struct ms_error *err)
{
	int i;

	for (i = 0; i < SIM_SYSTEM__COUNT; i++)
		if (!strcmp(name, systems[i].name)) {
			*out = &systems[i];
			return 0;
		}
	return ms_error_set(err, MS_EINVAL,
			    "unknown system '%s' (vllm, decoup, sched, modserve, pd, epd)", name);
}

void sim_system_apply(const struct sim_system *sys, struct sim_config *c)
{
	c->order = sys->order;
	c->route_enc = sys->route_enc;
	c->route_llm = sys->route_llm;
}

int sim_system_split(const struct sim_system *sys, uint32_t gpus, const struct sim_work *w,
		     struct sim_deploy *d, struct ms_error *err)
{
	struct sim_pool_spec llm;
	uint32_t pf;
	double share;
	int rc, i;

	if ((rc = sim_deploy_by_work(d, sys->kind, gpus, w, err)) < 0)
		return rc;
	if (!sys->split_pd)
		return 0;
	/* E-P-D: the LLM instances of the modserve split, shared by prefill and decode work */
	i = d->n_pools - 1;
	llm = d->pool[i];
	if (llm.count < 2)
		return ms_error_set(err, MS_EINVAL,
				    "%u GPUs are too few for 'epd': it needs two LLM instances", gpus);
	share = w->prefill_gpu_s + w->decode_gpu_s > 0
			? w->prefill_gpu_s / (w->prefill_gpu_s + w->decode_gpu_s)
			: 0.5;
	pf = (uint32_t)(share * llm.count + 0.5);
	if (pf < 1)
		pf = 1;
	if (pf > llm.count - 1)
		pf = llm.count - 1;
	d->pool[i] = (struct sim_pool_spec){ SIM_ROLE_PREFILL, pf, llm.tp };
	d->pool[i + 1] = (struct sim_pool_spec){ SIM_ROLE_DECODE, llm.count - pf, llm.tp };
	d->n_pools = i + 2;
	return 0;
}

double sim__order_token_s(const struct sim_config *c)
{
	struct perf_iter it;
	int p, tp = 0;

	if (c->order != POLICY_ORDER_SLO || !c->perf)
		return 0;
	/* the LLM pool's TP: what a prompt token costs where it is prefilled */
	for (p = 0; p < c->deploy.n_pools; p++)
		if (c->deploy.pool[p].role != SIM_ROLE_ENC && c->deploy.pool[p].role != SIM_ROLE_DECODE)
			tp = c->deploy.pool[p].tp;
	if (tp < 1 || c->token_budget < 1)
		return 0;
	memset(&it, 0, sizeof(it));
	it.prefill_tokens = c->token_budget;
	it.prefill_attn = (double)c->token_budget * c->token_budget / 2.0;
	return perf_llm_iter_s(c->perf, tp, &it) / (double)c->token_budget;
}
