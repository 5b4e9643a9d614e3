/*
 * LLM instances in virtual time: the batching itself is sim_batch's (waiting and
 * running lists, chunked prefill, KV blocks, preemption, the inline encode,
 * decode runs), shared with the emulated engine; here are the events around it.
 *
 * An iteration is one event; when only decode is left, sim_batch forms a
 * closed-form run of K steps as one event, and new work arriving during it cuts
 * it after the step in progress (sim__llm_wake, sim_batch_cut), which gives what
 * stepping every iteration gives (tests/sim checks it). The callbacks keep the
 * request's times, the policy's charges and the pool's series.
 */
#include <stdlib.h>

#include "sim/sim_int.h"

static int role_decodes(enum sim_role r)
{
	return r == SIM_ROLE_MONO || r == SIM_ROLE_LLM || r == SIM_ROLE_DECODE;
}

static int role_encodes(enum sim_role r)
{
	return r == SIM_ROLE_MONO || r == SIM_ROLE_PREFILL;
}

void sim__llm_batch_cfg(const struct sim__state *s, enum sim_role role, int tp,
			struct sim_batch_cfg *out)
{
	*out = (struct sim_batch_cfg){ .perf = s->perf, .tp = tp, .token_budget = s->c->token_budget,
				       .max_seqs = s->c->max_seqs, .kv_block = s->c->kv_block,
				       .encodes = (uint8_t)role_encodes(role),
				       .decodes = (uint8_t)role_decodes(role),
				       .kv_arrivals = role == SIM_ROLE_DECODE,
				       .step_decode = (uint8_t)(s->c->step_decode != 0) };
}

static struct sim__state *st(const struct sim_batch_env *e)
{
	return e->ctx;
}

static struct sim__req *rq(const struct sim_batch_env *e, uint32_t ri)
{
	return &st(e)->req[ri];
}

static int pool_of(const struct sim_batch_env *e)
{
	return (int)st(e)->inst[e->id].pool;
}

static double cb_requeue_key(const struct sim_batch_env *e, uint32_t ri)
{
	struct sim__state *s = st(e);
	return policy_requeue_key(&s->pol, &s->req[ri].tk, s->now);
}

static double cb_victim_key(const struct sim_batch_env *e, uint32_t ri, int prefilling,
			    uint64_t joined)
{
	struct sim__state *s = st(e);
	return policy_victim_key(&s->pol, &s->req[ri].tk, prefilling, joined, s->now);
}

static int cb_blocks(const struct sim_batch_env *e, int64_t delta)
{
	return sim__pool_blocks(st(e), pool_of(e), delta);
}

/* Both kinds count as preemptions; a decoding one waits (queued) again. */
static int cb_preempted(const struct sim_batch_env *e, uint32_t ri, int was_decoding)
{
	struct sim__state *s = st(e);
	struct sim__req *r = &s->req[ri];

	if (was_decoding)
		r->dec_served += s->now - r->t_dec_start; /* decoded until now: served, not queued */
	s->res->preemptions++;
	policy_preempted(&s->pol, &r->tk, s->now);
	/* a prefilling one still counts as queued (waiting and prefilling requests) */
	return was_decoding ? sim__pool_queued(s, pool_of(e), 1) : 0;
}

static int cb_admitted(const struct sim_batch_env *e, uint32_t ri, int encodes)
{
	struct sim__state *s = st(e);
	struct sim__req *r = &s->req[ri];

	if (r->t_pf_start < 0)
		r->t_pf_start = s->now;
	if (encodes)
		r->enc_wait = s->now - r->t_llm_in;
	return 0;
}

static int cb_decoding(const struct sim_batch_env *e, uint32_t ri, int kv_arrival)
{
	rq(e, ri)->t_dec_start = st(e)->now;
	return kv_arrival ? sim__pool_queued(st(e), pool_of(e), -1) : 0;
}

static int cb_first(const struct sim_batch_env *e, uint32_t ri, int new_token)
{
	struct sim__state *s = st(e);
	struct sim__req *r = &s->req[ri];

	if (sim__pool_queued(s, pool_of(e), -1) < 0)
		return -MS_ENOMEM;
	if (policy_first_token(&s->pol, &r->tk, s->now) < 0)
		MS_BUG("policy: first token of row %u released more than pending", r->row);
	if (new_token)
		r->t_first = s->now;
	return 0;
}

static int cb_finished(const struct sim_batch_env *e, uint32_t ri)
{
	sim__req_finish(st(e), ri);
	return 0;
}

/* prefill instance: the KV moves to a decode instance */
static int cb_handover(const struct sim_batch_env *e, uint32_t ri)
{
	struct sim__state *s = st(e);
	struct sim__req *r = &s->req[ri];

	return sim__route_llm(s, ri, perf_kv_transfer_s(s->perf, r->b.prompt + r->b.kv_extra,
							 s->c->link));
}

static void cb_encoded(const struct sim_batch_env *e, uint32_t ri, double enc_s)
{
	struct sim__req *r = rq(e, ri);

	r->img_left = 0;
	r->enc_s = enc_s;
	r->t_enc_done = st(e)->inst[e->id].t0 + enc_s;
}

static const struct sim_batch_ops sim_ops = {
	.requeue_key = cb_requeue_key,
	.victim_key = cb_victim_key,
	.blocks = cb_blocks,
	.preempted = cb_preempted,
	.admitted = cb_admitted,
	.decoding = cb_decoding,
	.first = cb_first,
	.token = NULL,
	.finished = cb_finished,
	.handover = cb_handover,
	.encoded = cb_encoded,
};

static struct sim_batch_env env_of(struct sim__state *s, uint32_t ii)
{
	return (struct sim_batch_env){ &sim_ops, s, ii, (char *)s->req, sizeof(*s->req),
				       &s->qseq, &s->lseq };
}

int sim__llm_enqueue(struct sim__state *s, uint32_t ii, uint32_t ri)
{
	struct sim__inst *in = &s->inst[ii];
	struct sim__req *r = &s->req[ri];
	struct sim_batch_env e = env_of(s, ii);

	r->inst = ii;
	r->t_llm_in = s->now;
	/* images not encoded yet (mono, pd prefill) are encoded inline, once */
	r->b.enc_tiles = r->img_left * s->tiles_per_image;
	sim_batch_enqueue(&in->b, &e, ri, policy_queue_key(&s->pol, &r->tk, s->now));
	if (sim__pool_queued(s, (int)in->pool, 1) < 0)
		return -MS_ENOMEM;
	if (in->busy)
		return sim__llm_wake(s, ii);
	return sim__llm_start_due(s, ii);
}

/*
 * An idle instance that gets work, or whose iteration just ended, starts its next
 * iteration once every event of this instant is handled, so requests that arrive
 * at the same instant (or at the instant it ends) join the same iteration, as in
 * vLLM, whose scheduler takes whatever has arrived when it forms a step. (Starting
 * at once gave the first of two same-time arrivals an iteration alone.) With no
 * other event at this instant it starts at once: nothing can join it any more
 * (what the handlers push lies ahead: transfers, preprocessing and iterations
 * take time), and most iterations skip the list.
 */
int sim__llm_start_due(struct sim__state *s, uint32_t ii)
{
	if (s->inst[ii].start_due)
		return 0;
	if (!sim__event_now(s))
		return sim__llm_start(s, ii);
	if (s->n_due == s->cap_due) {
		uint32_t cap = s->cap_due ? s->cap_due * 2 : 64, *n = realloc(s->due, cap * sizeof(*n));
		if (!n)
			return -MS_ENOMEM;
		s->due = n;
		s->cap_due = cap;
	}
	s->inst[ii].start_due = 1;
	s->due[s->n_due++] = ii;
	return 0;
}

int sim__llm_start(struct sim__state *s, uint32_t ii)
{
	struct sim__inst *in = &s->inst[ii];
	struct sim_batch_env e = env_of(s, ii);
	double dur = 0;
	int rc;

	if (in->busy)
		return 0;
	if ((rc = sim_batch_form(&in->b, &e, &dur)) < 0)
		return -MS_ENOMEM;
	if (rc == 0)
		return sim__idle(s, ii);
	in->busy = 1;
	in->t0 = in->t_acc = s->now;
	in->t_end = s->now + dur;
	in->version++;
	return sim__heap_push(&s->heap, in->t_end, SIM__EV_DONE, ii, in->version);
}

int sim__llm_wake(struct sim__state *s, uint32_t ii)
{
	struct sim__inst *in = &s->inst[ii];
	double dur = 0;

	if (!in->busy || in->t_end <= s->now || !sim_batch_cut(&in->b, s->now - in->t0, &dur))
		return 0;
	in->t_end = in->t0 + dur;
	in->version++;
	return sim__heap_push(&s->heap, in->t_end, SIM__EV_DONE, ii, in->version);
}

int sim__llm_done(struct sim__state *s, uint32_t ii)
{
	struct sim__inst *in = &s->inst[ii];
	struct sim_batch_env e = env_of(s, ii);

	s->res->pool[in->pool].busy_gpu_s += (s->now - in->t0) * in->tp;
	if (metrics_series_add(&s->res->pool[in->pool].series, METRICS_SER_BUSY, in->t_acc, s->now,
			       s->pool[in->pool].norm_w) < 0)
		return -MS_ENOMEM;
	in->busy = 0;
	if (sim_batch_end(&in->b, &e) < 0)
		return -MS_ENOMEM;
	return sim__llm_start_due(s, ii);
}
