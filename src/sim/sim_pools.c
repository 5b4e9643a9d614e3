/*
 * Pools and instances: setup of the static pools (KV blocks, preprocessing
 * cores, encoder time memo, series), instances added and removed at run time
 * (sim_ctl_add, sim_ctl_drain, a draining instance removed once idle), the
 * GPU cost per instance-second, the per-pool queue and KV levels of the time
 * series normalised by the pool's size at each moment, and teardown.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim_int.h"

static enum policy_stage role_stage(enum sim_role r)
{
	switch (r) {
	case SIM_ROLE_ENC:
		return POLICY_STAGE_ENC;
	case SIM_ROLE_LLM:
		return POLICY_STAGE_LLM;
	case SIM_ROLE_PREFILL:
		return POLICY_STAGE_PREFILL;
	case SIM_ROLE_DECODE:
		return POLICY_STAGE_DECODE;
	case SIM_ROLE_MONO:
	default:
		return POLICY_STAGE_MONO;
	}
}

/* GPU-seconds of the instances that exist, up to now (cost per instance-second). */
void sim__accrue(struct sim__state *s)
{
	s->res->gpu_s += (double)s->gpus_live * (s->now - s->cost_t);
	s->cost_t = s->now;
}

/*
 * Pool p grows or shrinks by delta instances. Its series are normalised by its
 * size at each moment: busy time so far of its busy instances and its KV level
 * are recorded at the old weight first (a walk of the instances, only when
 * membership changes, never per event). Static pools never get here mid-run.
 */
static int pool_size(struct sim__state *s, int p, int64_t delta)
{
	struct sim__pool *pool = &s->pool[p];
	struct metrics_series *se = &s->res->pool[p].series;
	uint32_t i;

	if (s->running) {
		for (i = 0; i < s->n_inst; i++) {
			struct sim__inst *in = &s->inst[i];
			if (in->pool != (uint32_t)p || !in->busy)
				continue;
			if (metrics_series_add(se, METRICS_SER_BUSY, in->t_acc, s->now, pool->norm_w) < 0)
				return -MS_ENOMEM;
			in->t_acc = s->now;
		}
	}
	pool->live = (uint32_t)((int64_t)pool->live + delta);
	pool->norm_w = pool->live ? (double)pool->spec.count / (double)pool->live : 1.0;
	if (s->running && metrics_series_level(se, METRICS_SER_KV, s->now,
					       (double)pool->blocks_used * pool->norm_w) < 0)
		return -MS_ENOMEM;
	return 0;
}

/*
 * Appends an instance to pool p (ready at once for a static pool, else starting
 * until its READY event): the policy's id is its index in s->inst.
 */
static int inst_add(struct sim__state *s, int p, int ready, uint32_t *out)
{
	struct sim__pool *pool = &s->pool[p];
	struct sim__inst *in;
	uint32_t id = 0;
	int rc;

	if (s->n_inst == s->cap_inst) {
		uint32_t cap = s->cap_inst ? s->cap_inst * 2 : 16;
		struct sim__inst *n = realloc(s->inst, cap * sizeof(*n));
		if (!n)
			return ms_error_set(s->err, MS_ENOMEM, "sim: %u instances", cap);
		memset(n + s->cap_inst, 0, (cap - s->cap_inst) * sizeof(*n));
		s->inst = n;
		s->cap_inst = cap;
	}
	if ((rc = policy_inst_add(&s->pol, p, ready, s->now, &id, s->err)) < 0)
		return rc;
	MS_ASSERT(id == s->n_inst);
	in = &s->inst[s->n_inst++];
	in->pool = (uint32_t)p;
	in->role = pool->spec.role;
	in->tp = pool->spec.tp;
	in->q_head = in->q_tail = in->b_head = SIM__NIL;
	in->b.w_head = in->b.w_tail = SIM_BATCH_NIL; /* an encoder's batch stays empty */
	if (pool->spec.role != SIM_ROLE_ENC) {
		struct sim_batch_cfg bc;
		sim__llm_batch_cfg(s, pool->spec.role, pool->spec.tp, &bc);
		if (sim_batch_init(&in->b, &bc, pool->blocks) < 0)
			return ms_error_set(s->err, MS_ENOMEM, "sim: instance batch arrays");
	}
	sim__accrue(s);
	s->gpus_live += (uint32_t)pool->spec.tp;
	if (pool_size(s, p, 1) < 0)
		return ms_error_set(s->err, MS_ENOMEM, "sim: time series");
	if (out)
		*out = id;
	return 0;
}

static void inst_free(struct sim__inst *in)
{
	sim_batch_release(&in->b);
}

int sim__holds_work(const struct sim__inst *in)
{
	return in->busy || in->q_head != SIM__NIL || sim_batch_holds(&in->b);
}

int sim__idle_drain(struct sim__state *s, uint32_t ii)
{
	struct sim__inst *in = &s->inst[ii];

	if (sim__holds_work(in) || policy_inst_pending(&s->pol, ii))
		return 0;
	if (policy_inst_remove(&s->pol, ii, s->now) < 0)
		MS_BUG("policy: instance %u could not be removed", ii);
	MS_ASSERT(in->b.blocks_free == in->b.blocks_total);
	inst_free(in);
	sim__accrue(s);
	s->gpus_live -= (uint32_t)in->tp;
	return pool_size(s, (int)in->pool, -1) < 0 ? ms_error_set(s->err, MS_ENOMEM, "sim: time series")
						   : 0;
}

int sim_ctl_add(struct sim_ctl *ctl, int pool, double startup_s, uint32_t *id)
{
	struct sim__state *s = (struct sim__state *)ctl;
	uint32_t k = 0;
	int rc;

	if (pool < 0 || pool >= s->n_pools || !(startup_s >= 0))
		return ms_error_set(s->err, MS_EINVAL, "sim: no pool %d (or a negative startup)", pool);
	if ((rc = inst_add(s, pool, 0, &k)) < 0)
		return rc;
	if (sim__heap_push(&s->heap, s->now + startup_s, SIM__EV_READY, k, 0) < 0)
		return ms_error_set(s->err, MS_ENOMEM, "sim: event queue");
	s->res->instances_added++;
	if (id)
		*id = k;
	return 0;
}

int sim_ctl_drain(struct sim_ctl *ctl, uint32_t id)
{
	struct sim__state *s = (struct sim__state *)ctl;

	if (policy_inst_drain(&s->pol, id, s->now) < 0)
		return ms_error_set(s->err, MS_EINVAL, "sim: instance %u is not ready or starting", id);
	s->res->instances_drained++;
	return sim__idle_drain(s, id);
}

struct policy *sim_ctl_policy(struct sim_ctl *ctl)
{
	return &((struct sim__state *)ctl)->pol;
}

double sim_ctl_now(const struct sim_ctl *ctl)
{
	return ((const struct sim__state *)ctl)->now;
}

uint32_t sim_ctl_in_flight(const struct sim_ctl *ctl)
{
	return ((const struct sim__state *)ctl)->in_flight;
}

uint32_t sim_ctl_finished(const struct sim_ctl *ctl)
{
	return ((const struct sim__state *)ctl)->finished;
}

int sim__setup_pools(struct sim__state *s, struct ms_error *err)
{
	const struct sim_config *c = s->c;
	struct policy_conf pc;
	uint32_t i;
	double span = s->ts->n ? s->ts->t[s->ts->n - 1] / c->rate_scale : 0;
	double dt = c->series_dt > 0 ? c->series_dt : span / 500.0;
	int p, rc;

	if (dt < 1)
		dt = 1;
	memset(&pc, 0, sizeof(pc));
	pc.n_pools = c->deploy.n_pools;
	pc.order = c->order;
	pc.order_age_s = c->order_age_s;
	pc.order_token_s = sim__order_token_s(c);
	pc.window_s = c->stats_window_s;
	/* only hooks read the windows: a plain run skips them, and so does one whose hooks
	 * never read them (no_stats) */
	pc.no_windows = (!c->on_tick && !c->early_stop) || c->no_stats;
	pc.slo_ttft_s = c->slo_ttft_s;
	pc.slo_tpot_s = c->slo_tpot_s;
	for (p = 0; p < c->deploy.n_pools; p++) {
		const struct sim_pool_spec *sp = &c->deploy.pool[p];
		pc.pool[p].stage = role_stage(sp->role);
		pc.pool[p].route = sp->role == SIM_ROLE_ENC ? c->route_enc : c->route_llm;
		pc.pool[p].seed = c->seed + (uint64_t)p;
	}
	s->n_pools = c->deploy.n_pools;
	s->res->n_pools = s->n_pools;
	for (p = 0; p < s->n_pools; p++) {
		const struct sim_pool_spec *sp = &c->deploy.pool[p];
		struct sim__pool *pool = &s->pool[p];
		struct sim_pool_result *pr = &s->res->pool[p];
		uint64_t blocks = 0;

		if (sp->count < 1 || sp->tp < 1)
			return ms_error_set(err, MS_EINVAL, "sim: pool %s is empty",
					    sim_role_name(sp->role));
		pool->spec = *sp;
		pool->norm_w = 1.0;
		pool->cores = c->preprocess_cores > 0 ? c->preprocess_cores
						      : s->perf->gpu.cpu_cores_per_gpu * sp->tp;
		if (pool->cores < 1)
			pool->cores = 1;
		if (sp->role != SIM_ROLE_ENC) {
			uint64_t cap = c->kv_tokens ? c->kv_tokens
						    : perf_kv_capacity_tokens(s->perf, sp->tp);
			blocks = cap / c->kv_block;
			if (blocks < 4 && c->kv_tokens)
				return ms_error_set(err, MS_EINVAL,
						    "sim: --kv-tokens %llu is too small: an LLM instance "
						    "needs at least 4 KV blocks of %u tokens "
						    "(--kv-tokens >= %llu)",
						    (unsigned long long)c->kv_tokens, c->kv_block,
						    4ull * c->kv_block);
			if (blocks < 4)
				return ms_error_set(err, MS_EINVAL,
						    "sim: %s at TP %d leaves no memory for the KV cache "
						    "on %s", s->perf->model.name, sp->tp,
						    s->perf->gpu.name);
			if (!s->kv_cap_tokens || blocks * c->kv_block < s->kv_cap_tokens)
				s->kv_cap_tokens = blocks * c->kv_block;
		}
		pool->blocks = blocks;
		if (sp->role == SIM_ROLE_ENC) {
			/* a batch holds up to enc_max_images, or one larger item alone
			 * (batches beyond the memo's 1024 images are computed each time) */
			uint32_t k, n = (c->enc_max_images > c->max_images ? c->enc_max_images
									  : c->max_images) + 1;
			if (n > 1025)
				n = 1025;
			pool->enc_s = malloc(n * sizeof(*pool->enc_s));
			if (!pool->enc_s)
				return ms_error_set(err, MS_ENOMEM, "sim: encoder times");
			for (k = 0; k < n; k++)
				pool->enc_s[k] = NAN;
			pool->n_enc_s = n;
		}
		snprintf(pr->name, sizeof(pr->name), "%s", sim_role_name(sp->role));
		pr->role = sp->role;
		pr->count = sp->count;
		pr->tp = sp->tp;
		pr->kv_blocks = blocks;
		rc = metrics_series_init(&pr->series, pr->name, dt, span * 1.1 + dt,
					 (double)sp->count, (double)(blocks * sp->count), err);
		if (rc < 0)
			return rc;
	}
	if (policy_init(&s->pol, &pc, NULL) < 0)
		return ms_error_set(err, MS_EINVAL, "sim: deployment lacks an LLM pool");
	/* ids pool by pool, in order: routing ties go to the same instances as ever */
	for (p = 0; p < s->n_pools; p++)
		for (i = 0; i < c->deploy.pool[p].count; i++)
			if ((rc = inst_add(s, p, 1, NULL)) < 0)
				return rc;
	return 0;
}

void sim__teardown(struct sim__state *s)
{
	uint32_t i;
	int p;

	for (i = 0; i < s->n_inst; i++)
		inst_free(&s->inst[i]);
	free(s->inst);
	for (p = 0; p < s->n_pools; p++)
		free(s->pool[p].enc_s);
	policy_release(&s->pol);
	free(s->req);
	free(s->item);
	free(s->items);
	free(s->grp);
	free(s->grp_t);
	free(s->due);
	sim__heap_release(&s->heap);
}

