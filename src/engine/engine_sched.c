/*
 * engine_sched: the emulated GPU's batching, an adapter over sim_batch (see
 * engine_sched.h). Jobs live in a slot table whose records begin with their
 * batch state; the callbacks turn the batch's changes into the engine's token
 * and done events.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/engine_sched.h"
#include "sim/sim.h"

#define SLOT(e, ri) ((struct engine_sched_slot *)sim_batch_req(e, ri))

static struct engine_sched *sch(const struct sim_batch_env *e)
{
	return e->ctx;
}

static double cb_requeue_key(const struct sim_batch_env *e, uint32_t ri)
{
	return policy_requeue_key(&sch(e)->pol, &SLOT(e, ri)->tk, sch(e)->now);
}

static double cb_victim_key(const struct sim_batch_env *e, uint32_t ri, int prefilling,
			    uint64_t joined)
{
	return policy_victim_key(&sch(e)->pol, &SLOT(e, ri)->tk, prefilling, joined, sch(e)->now);
}

/* Tokens already streamed stay streamed: a recomputed job goes on from there. */
static int cb_preempted(const struct sim_batch_env *e, uint32_t ri, int was_decoding)
{
	struct engine_sched *s = sch(e);

	(void)was_decoding;
	SLOT(e, ri)->job->state = ENGINE_JOB_WAITING;
	s->preemptions++;
	return policy_preempted(&s->pol, &SLOT(e, ri)->tk, s->now);
}

static int cb_admitted(const struct sim_batch_env *e, uint32_t ri, int encodes)
{
	(void)encodes;
	SLOT(e, ri)->job->state = ENGINE_JOB_RUNNING;
	return 0;
}

static int cb_decoding(const struct sim_batch_env *e, uint32_t ri, int kv_arrival)
{
	if (kv_arrival)
		SLOT(e, ri)->job->state = ENGINE_JOB_RUNNING;
	return 0;
}

static int cb_token(const struct sim_batch_env *e, uint32_t ri)
{
	struct engine_sched_slot *sl = SLOT(e, ri);

	sl->job->emitted = sl->b.generated;
	sch(e)->fn(sch(e)->fn_ctx, sl->job, ENGINE_EV_TOKEN);
	return 0;
}

static int cb_first(const struct sim_batch_env *e, uint32_t ri, int new_token)
{
	return new_token ? cb_token(e, ri) : 0;
}

static void slot_put(struct engine_sched *s, uint32_t i)
{
	s->slot[i].job = NULL;
	s->slot[i].b.next = s->free_slot;
	s->free_slot = i;
}

/* The job leaves the scheduler before its DONE event: the callback may free it. */
static int cb_finished(const struct sim_batch_env *e, uint32_t ri)
{
	struct engine_sched *s = sch(e);
	struct engine_job *j = SLOT(e, ri)->job;

	j->state = ENGINE_JOB_DONE;
	slot_put(s, ri);
	s->fn(s->fn_ctx, j, ENGINE_EV_DONE);
	return 0;
}

/* never called: the engine's instance decodes what it prefilled (cfg.decodes) */
static int cb_handover(const struct sim_batch_env *e, uint32_t ri)
{
	(void)e;
	(void)ri;
	return -MS_EINVAL;
}

static const struct sim_batch_ops engine_ops = {
	.requeue_key = cb_requeue_key,
	.victim_key = cb_victim_key,
	.blocks = NULL,
	.preempted = cb_preempted,
	.admitted = cb_admitted,
	.decoding = cb_decoding,
	.first = cb_first,
	.token = cb_token,
	.finished = cb_finished,
	.handover = cb_handover,
	.encoded = NULL,
};

static struct sim_batch_env env_of(struct engine_sched *s)
{
	return (struct sim_batch_env){ &engine_ops, s, 0, (char *)s->slot, sizeof(*s->slot),
				       &s->qseq, &s->lseq };
}

int engine_sched_init(struct engine_sched *s, const struct engine_sched_cfg *cfg,
		      struct ms_error *err)
{
	struct policy_conf pc;
	struct sim_batch_cfg bc;
	int rc;

	memset(s, 0, sizeof(*s));
	s->cfg = *cfg;
	if (!s->cfg.max_seqs)
		s->cfg.max_seqs = 256;
	if (!s->cfg.token_budget)
		s->cfg.token_budget = 4096;
	if (!s->cfg.kv_block)
		s->cfg.kv_block = 16;
	memset(&pc, 0, sizeof(pc));
	pc.n_pools = 1;
	pc.pool[0].stage = POLICY_STAGE_MONO;
	pc.order = POLICY_ORDER_FCFS;
	pc.no_windows = 1;
	if ((rc = policy_init(&s->pol, &pc, err)) < 0)
		return rc;
	/* the simulator's monolith: encodes inline, decodes, and takes KV from a prefill instance */
	bc = (struct sim_batch_cfg){ .perf = cfg->perf, .tp = cfg->tp,
				     .token_budget = s->cfg.token_budget, .max_seqs = s->cfg.max_seqs,
				     .kv_block = s->cfg.kv_block, .encodes = 1, .decodes = 1,
				     .kv_arrivals = 1, .step_decode = 1 };
	s->cap = 64;
	s->slot = malloc(s->cap * sizeof(*s->slot));
	if (!s->slot || sim_batch_init(&s->b, &bc, s->cfg.kv_tokens / s->cfg.kv_block) < 0) {
		engine_sched_release(s);
		return ms_error_set(err, MS_ENOMEM, "engine: out of memory");
	}
	for (uint32_t i = 0; i < s->cap; i++)
		s->slot[i].b.next = i + 1 < s->cap ? i + 1 : SIM_BATCH_NIL;
	s->free_slot = 0;
	return 0;
}

void engine_sched_release(struct engine_sched *s)
{
	sim_batch_release(&s->b);
	policy_release(&s->pol);
	free(s->slot);
	s->slot = NULL;
}

uint64_t engine_sched_job_kv(const struct engine_job *j)
{
	return (uint64_t)j->prompt + j->kv_extra + j->max_tokens;
}

double engine_sched_prep_s(const struct engine_sched *s, const struct engine_job *j)
{
	int cores = s->cfg.perf->gpu.cpu_cores_per_gpu * s->cfg.tp;

	/* the simulator's monolith: cpu_cores_per_gpu x tp cores, before the queue */
	return j->n_enc_images ? perf_preprocess_s(s->cfg.perf, j->n_enc_images, cores > 0 ? cores : 1)
			       : 0;
}

static int slot_get(struct engine_sched *s, uint32_t *out)
{
	if (s->free_slot == SIM_BATCH_NIL) {
		uint32_t cap = s->cap * 2, i;
		struct engine_sched_slot *n = realloc(s->slot, cap * sizeof(*n));
		if (!n)
			return -MS_ENOMEM;
		s->slot = n;
		for (i = s->cap; i < cap; i++)
			n[i].b.next = i + 1 < cap ? i + 1 : SIM_BATCH_NIL;
		s->free_slot = s->cap;
		s->cap = cap;
	}
	*out = s->free_slot;
	s->free_slot = s->slot[*out].b.next;
	return 0;
}

int engine_sched_submit(struct engine_sched *s, struct engine_job *j, double now)
{
	struct sim_batch_env e;
	struct engine_sched_slot *sl;
	struct policy_req q;
	uint32_t i = 0;

	/* a job that emits must prefill something first (vLLM: the chat template's
	 * tokens at least), else it would never reach its first token */
	if (!j->prompt && j->max_tokens && !j->prefilled)
		j->prompt = 1;
	j->kv_extra = (uint32_t)sim_cross_kv_tokens(&s->cfg.perf->model, j->cross);
	if (sim_batch_blocks_for(&s->b, engine_sched_job_kv(j)) > s->b.blocks_total)
		return -MS_EINVAL;
	if (s->cfg.max_waiting && s->b.w_len >= s->cfg.max_waiting)
		return -MS_ERANGE;
	if (slot_get(s, &i) < 0)
		return -MS_ENOMEM;
	s->now = now;
	sl = &s->slot[i];
	memset(sl, 0, sizeof(*sl));
	sl->job = j;
	sl->b.prompt = j->prompt;
	sl->b.prefilled = j->prefilled ? j->prompt : 0;
	sl->b.cross = j->cross;
	sl->b.kv_extra = j->kv_extra;
	sl->b.gen = j->max_tokens;
	sl->b.enc_tiles = j->enc_tiles;
	memset(&q, 0, sizeof(q));
	q.modality = j->n_enc_images ? POLICY_IMAGE : POLICY_TEXT;
	q.images = j->n_enc_images;
	q.prompt_tokens = j->prompt;
	q.cross_tokens = j->cross;
	q.output_tokens = j->max_tokens;
	q.arrival = now;
	policy_ticket_init(&sl->tk, &q);
	j->slot = i;
	j->state = ENGINE_JOB_WAITING;
	j->emitted = 0;
	e = env_of(s);
	sim_batch_enqueue(&s->b, &e, i, policy_queue_key(&s->pol, &sl->tk, now));
	return 0;
}

void engine_sched_abort(struct engine_sched *s, struct engine_job *j)
{
	struct sim_batch_env e = env_of(s);

	if (j->state != ENGINE_JOB_WAITING && j->state != ENGINE_JOB_RUNNING)
		return;
	(void)sim_batch_remove(&s->b, &e, j->slot); /* no callback gives back KV blocks */
	slot_put(s, j->slot);
	j->state = ENGINE_JOB_DONE;
}

double engine_sched_begin(struct engine_sched *s, double now)
{
	struct sim_batch_env e = env_of(s);
	double d = 0;

	s->now = now;
	if (sim_batch_form(&s->b, &e, &d) <= 0) {
			return -1;
	}
	s->iter_open = 1;
	s->iter_s = d;
	return d;
}

void engine_sched_end(struct engine_sched *s, engine_emit_fn fn, void *ctx)
{
	struct sim_batch_env e = env_of(s);

	if (!s->iter_open)
		return;
	s->iter_open = 0;
	s->iters++;
	s->fn = fn;
	s->fn_ctx = ctx;
	/* every callback of the engine returns 0: the batch cannot fail here */
	(void)sim_batch_end(&s->b, &e);
}
