/*
 * LLM instances: continuous batching with a per-iteration token budget
 * (chunked prefill), KV memory in blocks, admission control and preemption by
 * recompute.
 *
 * An iteration that prefills anything is one event (mono and pd-prefill also
 * encode the images of newly admitted requests first, in the same iteration,
 * which stalls the decode of the running batch). When only decode is left,
 * the batch does not change until a request finishes or KV blocks run short,
 * and step i costs a + b * (kv0 + B * i) (perf_decode_coef), so K steps are one
 * event: K * a + b * (K * kv0 + B * K * (K - 1) / 2). New work arriving during
 * such a run cuts it after the step in progress (sim__llm_wake), which gives
 * what stepping every iteration gives (tests/sim checks it).
 */
#include <math.h>
#include <string.h>

#include "sim/sim_int.h"

static uint64_t blocks_for(const struct sim__state *s, uint64_t tokens)
{
	uint64_t bs = s->c->kv_block;
	return (tokens + bs - 1) / bs;
}

static int role_decodes(enum sim_role r)
{
	return r == SIM_ROLE_MONO || r == SIM_ROLE_LLM || r == SIM_ROLE_DECODE;
}

static int role_encodes(enum sim_role r)
{
	return r == SIM_ROLE_MONO || r == SIM_ROLE_PREFILL;
}

/* (key, insertion sequence) order of the waiting list */
static int key_lt(const struct sim__req *a, const struct sim__req *b)
{
	return a->qkey < b->qkey || (a->qkey == b->qkey && a->qseq < b->qseq);
}

/*
 * Into the waiting list at its key. FCFS keys make both ends O(1): a new
 * arrival goes last, a preempted one first, a request given back before its
 * prompt was done goes before every waiting one (it was admitted first); a
 * priority order may insert in the middle (a walk of the waiting list).
 */
static void wait_insert(struct sim__inst *in, struct sim__req *rq, uint32_t ri)
{
	struct sim__req *r = &rq[ri];
	uint32_t prev;

	in->w_len++;
	if (in->w_tail == SIM__NIL || !key_lt(r, &rq[in->w_tail])) {
		r->next = SIM__NIL;
		if (in->w_tail == SIM__NIL)
			in->w_head = ri;
		else
			rq[in->w_tail].next = ri;
		in->w_tail = ri;
		return;
	}
	if (key_lt(r, &rq[in->w_head])) {
		r->next = in->w_head;
		in->w_head = ri;
		return;
	}
	for (prev = in->w_head; key_lt(&rq[rq[prev].next], r); prev = rq[prev].next)
		;
	r->next = rq[prev].next;
	rq[prev].next = ri;
}

static uint32_t wait_pop(struct sim__inst *in, struct sim__req *rq)
{
	uint32_t ri = in->w_head;

	in->w_head = rq[ri].next;
	if (in->w_head == SIM__NIL)
		in->w_tail = SIM__NIL;
	in->w_len--;
	return ri;
}

static void list_remove(uint32_t *a, uint32_t *n, uint32_t i)
{
	memmove(a + i, a + i + 1, (*n - i - 1) * sizeof(*a));
	(*n)--;
}

static int free_blocks(struct sim__state *s, struct sim__inst *in, struct sim__req *r)
{
	in->blocks_free += r->blocks;
	if (sim__pool_blocks(s, (int)in->pool, -(int64_t)r->blocks) < 0)
		return -MS_ENOMEM;
	r->blocks = 0;
	return 0;
}

static int take_blocks(struct sim__state *s, struct sim__inst *in, struct sim__req *r, uint64_t k)
{
	MS_ASSERT(in->blocks_free >= k);
	in->blocks_free -= k;
	r->blocks += (uint32_t)k;
	return sim__pool_blocks(s, (int)in->pool, (int64_t)k);
}

int sim__llm_enqueue(struct sim__state *s, uint32_t ii, uint32_t ri)
{
	struct sim__inst *in = &s->inst[ii];
	struct sim__req *r = &s->req[ri];

	r->inst = ii;
	r->t_llm_in = s->now;
	r->qkey = policy_queue_key(&s->pol, &r->tk, s->now);
	r->qseq = s->qseq++;
	wait_insert(in, s->req, ri);
	if (sim__pool_queued(s, (int)in->pool, 1) < 0)
		return -MS_ENOMEM;
	if (in->busy)
		return sim__llm_wake(s, ii);
	return sim__llm_start(s, ii);
}

/*
 * Recompute preemption of run[i]: its KV is dropped and it waits again, at the
 * policy's requeue key, to prefill prompt + generated tokens.
 */
static int preempt_running(struct sim__state *s, struct sim__inst *in, uint32_t i)
{
	uint32_t ri = in->run[i];
	struct sim__req *r = &s->req[ri];

	list_remove(in->run, &in->n_run, i);
	in->run_kv -= r->kv;
	r->dec_served += s->now - r->t_dec_start; /* decoded until now: served, not queued */
	r->prompt = r->kv - r->kv_extra;
	r->prefilled = 0;
	r->kv = 0;
	r->admitted = 0;
	r->preempted++;
	s->res->preemptions++;
	policy_preempted(&s->pol, &r->tk, s->now);
	if (free_blocks(s, in, r) < 0)
		return -MS_ENOMEM;
	r->qkey = policy_requeue_key(&s->pol, &r->tk, s->now);
	r->qseq = s->qseq++;
	wait_insert(in, s->req, ri);
	return sim__pool_queued(s, (int)in->pool, 1);
}

/*
 * Gives back the KV of pf[i], admitted but still prefilling: it waits again at
 * its own key (so, FCFS, before every waiting request) and prefills from
 * scratch once admitted again. It still counts as queued (the pool series
 * counts waiting and prefilling requests).
 */
static int unadmit(struct sim__state *s, struct sim__inst *in, uint32_t i)
{
	uint32_t ri = in->pf[i];
	struct sim__req *r = &s->req[ri];

	list_remove(in->pf, &in->n_pf, i);
	r->prefilled = 0;
	r->admitted = 0;
	r->preempted++;
	s->res->preemptions++;
	policy_preempted(&s->pol, &r->tk, s->now);
	wait_insert(in, s->req, ri);
	return free_blocks(s, in, r) < 0 ? -MS_ENOMEM : 0;
}

/*
 * The admitted request the policy names to give its KV back (the largest
 * policy_victim_key): *is_pf says whether it is prefilling. A walk of the
 * instance's running lists, only when memory runs short.
 */
static void victim_in(struct sim__state *s, const uint32_t *list, uint32_t n, int is_pf,
		      uint32_t *best, double *bk, int *best_pf)
{
	uint32_t i;

	for (i = 0; i < n; i++) {
		const struct sim__req *r = &s->req[list[i]];
		double k = policy_victim_key(&s->pol, &r->tk, is_pf, r->joined, s->now);
		if (*best == SIM__NIL || k > *bk) {
			*best = i;
			*bk = k;
			*best_pf = is_pf;
		}
	}
}

static uint32_t victim(struct sim__state *s, struct sim__inst *in, int *is_pf)
{
	uint32_t best = SIM__NIL;
	double bk = 0;

	victim_in(s, in->pf, in->n_pf, 1, &best, &bk, is_pf);
	victim_in(s, in->run, in->n_run, 0, &best, &bk, is_pf);
	return best;
}

/*
 * Before one decode step: each running request that fills its last block gets
 * a new one. When none is free, the newest admitted request gives its blocks
 * back, as vLLM preempts from the tail of its running list: first those still
 * waiting to prefill (they have produced the least), then the newest running
 * one. Preempting an older decoding request while a newer one sat half
 * prefilled on the rest of the cache could cycle forever: the victim's
 * recompute could take every token of the budget, the newer one never
 * finished, and the victim was preempted again on its next step.
 */
static int step_alloc(struct sim__state *s, struct sim__inst *in)
{
	uint32_t i, v;
	uint64_t bs = s->c->kv_block;
	int is_pf = 0;

	for (i = 0; i < in->n_run; i++) {
		struct sim__req *r = &s->req[in->run[i]];
		while ((uint64_t)r->blocks * bs <= r->kv) {
			if (in->blocks_free > 0) {
				if (take_blocks(s, in, r, 1) < 0)
					return -MS_ENOMEM;
				break;
			}
			v = victim(s, in, &is_pf);
			MS_ASSERT(v != SIM__NIL); /* r itself is running */
			if (is_pf) {
				if (unadmit(s, in, v) < 0)
					return -MS_ENOMEM;
				continue;
			}
			if (preempt_running(s, in, v) < 0)
				return -MS_ENOMEM;
			if (v == i) {
				i--; /* r itself: the next one moved into its place */
				break;
			}
			if (v < i)
				i--;
		}
	}
	return 0;
}

/* Steps a pure-decode run may take at once: no finish and no block shortage before its end. */
static uint32_t decode_run_len(struct sim__state *s, struct sim__inst *in)
{
	uint64_t bs = s->c->kv_block, kmin = UINT64_MAX, slack_min = UINT64_MAX, kkv;
	uint32_t i;

	for (i = 0; i < in->n_run; i++) {
		struct sim__req *r = &s->req[in->run[i]];
		uint64_t left = r->gen - r->generated, slack = (uint64_t)r->blocks * bs - r->kv;
		if (left < kmin)
			kmin = left;
		if (slack < slack_min)
			slack_min = slack;
	}
	/* in K steps a request needs at most ceil((K - slack_min) / bs) new blocks */
	kkv = slack_min + bs * (in->blocks_free / in->n_run);
	if (kkv < kmin)
		kmin = kkv;
	if (s->c->step_decode && kmin > 1)
		kmin = 1;
	return (uint32_t)kmin;
}

static double run_time(const struct sim__inst *in, uint32_t k)
{
	double kk = (double)k;
	return kk * in->a + in->b * (kk * (double)in->kv0 +
				     (double)in->n_run * kk * (kk - 1.0) / 2.0);
}

static void add_chunk(struct sim__inst *in, struct perf_iter *it, uint32_t ri, struct sim__req *r,
		      uint32_t *budget)
{
	uint32_t c = r->prompt - r->prefilled;

	if (c > *budget)
		c = *budget;
	it->prefill_tokens += c;
	it->prefill_attn += (double)c * ((double)r->prefilled + (double)c / 2.0);
	in->chunk[in->n_chunk].req = ri;
	in->chunk[in->n_chunk].len = c;
	in->n_chunk++;
	*budget -= c;
}

/*
 * Chunks for the prefilling requests in admission order, then admission from
 * the head of the waiting list while the prompt's blocks fit and fewer than
 * max_seqs are admitted (head-of-line blocking, as vLLM), each admitted one
 * getting its chunk while the budget lasts.
 */
static int admit_and_chunk(struct sim__state *s, struct sim__inst *in, struct perf_iter *it,
			   uint32_t *enc_tiles)
{
	uint32_t budget, ri, k;
	int enc = role_encodes(in->role);

	budget = s->c->token_budget > in->n_run ? s->c->token_budget - in->n_run : 0;
	in->n_chunk = 0;
	for (k = 0; k < in->n_pf; k++) {
		struct sim__req *r = &s->req[in->pf[k]];
		if (r->prefilled < r->prompt) {
			if (budget == 0)
				return 0;
			add_chunk(in, it, in->pf[k], r, &budget);
		}
	}
	while (in->w_head != SIM__NIL) {
		struct sim__req *r;
		uint64_t need;
		ri = in->w_head;
		r = &s->req[ri];
		need = blocks_for(s, (uint64_t)r->prompt + r->kv_extra);
		if (in->n_run + in->n_pf >= s->c->max_seqs || need > in->blocks_free)
			break;
		wait_pop(in, s->req);
		if (take_blocks(s, in, r, need) < 0)
			return -MS_ENOMEM;
		r->admitted = 1;
		r->joined = s->lseq++;
		in->pf[in->n_pf++] = ri;
		if (r->t_pf_start < 0)
			r->t_pf_start = s->now;
		if (enc && r->img_left) {
			*enc_tiles += r->img_left * s->tiles_per_image;
			in->enc[in->n_enc++] = ri;
			r->enc_wait = s->now - r->t_llm_in;
		}
		if (r->prefilled == 0)
			it->cross_tokens += r->cross;
		if (r->prefilled < r->prompt) {
			if (budget == 0)
				break;
			add_chunk(in, it, ri, r, &budget);
		}
	}
	return 0;
}

/* Requests that arrive with their KV (decode role) join the running batch without prefill. */
static int admit_decode_arrivals(struct sim__state *s, struct sim__inst *in)
{
	while (in->w_head != SIM__NIL) {
		uint32_t ri = in->w_head;
		struct sim__req *r = &s->req[ri];
		uint64_t need;
		if (r->prefilled < r->prompt || in->n_run + in->n_pf >= s->c->max_seqs)
			break;
		need = blocks_for(s, (uint64_t)r->prompt + r->kv_extra);
		if (need > in->blocks_free)
			break;
		wait_pop(in, s->req);
		if (take_blocks(s, in, r, need) < 0 || sim__pool_queued(s, (int)in->pool, -1) < 0)
			return -MS_ENOMEM;
		r->admitted = 1;
		r->kv = r->prompt + r->kv_extra;
		r->t_dec_start = s->now;
		r->joined = s->lseq++;
		MS_ASSERT(in->n_run < s->c->max_seqs); /* admission counts pf and run together */
		in->run[in->n_run++] = ri;
		in->run_kv += r->kv;
	}
	return 0;
}

int sim__llm_start(struct sim__state *s, uint32_t ii)
{
	struct sim__inst *in = &s->inst[ii];
	struct perf_iter it;
	uint32_t enc_tiles = 0;
	double dur;

	if (in->busy)
		return 0;
	if (in->role == SIM_ROLE_DECODE && admit_decode_arrivals(s, in) < 0)
		return -MS_ENOMEM;
	memset(&it, 0, sizeof(it));
	in->n_chunk = 0;
	in->n_enc = 0;
	in->enc_part = 0;
	/*
	 * Room for the next step of the running batch comes before admitting new
	 * work (running requests have priority, as in vLLM). Free blocks only shrink
	 * during a decode run, so nothing waiting could be admitted inside one.
	 */
	if (in->n_run && (in->w_head != SIM__NIL || in->n_pf || decode_run_len(s, in) == 0) &&
	    step_alloc(s, in) < 0)
		return -MS_ENOMEM;
	if (admit_and_chunk(s, in, &it, &enc_tiles) < 0)
		return -MS_ENOMEM;
	if (in->n_chunk == 0 && in->n_enc == 0 && in->n_run == 0)
		return sim__idle(s, ii);
	in->busy = 1;
	in->t0 = in->t_acc = s->now;
	in->kv0 = in->run_kv;
	if (in->n_chunk || in->n_enc) {
		it.decode_seqs = in->n_run;
		it.decode_kv_tokens = in->run_kv;
		if (enc_tiles)
			in->enc_part = perf_encode_inline_s(s->perf, in->tp, enc_tiles);
		dur = in->enc_part + perf_llm_iter_s(s->perf, in->tp, &it);
		in->run_k = in->n_run ? 1 : 0;
	} else {
		perf_decode_coef(s->perf, in->tp, in->n_run, &in->a, &in->b);
		in->run_k = decode_run_len(s, in);
		MS_ASSERT(in->run_k >= 1);
		dur = run_time(in, in->run_k);
	}
	in->t_end = s->now + dur;
	in->version++;
	return sim__heap_push(&s->heap, in->t_end, SIM__EV_DONE, ii, in->version);
}

int sim__llm_wake(struct sim__state *s, uint32_t ii)
{
	struct sim__inst *in = &s->inst[ii];
	double dt = s->now - in->t0, qa, qb, x;
	uint32_t k;

	if (!in->busy || in->n_chunk || in->run_k <= 1 || in->t_end <= s->now)
		return 0;
	/* smallest k with run_time(k) > dt: the step in progress at `now` completes */
	qa = in->b * (double)in->n_run / 2.0;
	qb = in->a + in->b * (double)in->kv0 - qa;
	if (qa > 0)
		x = (-qb + sqrt(qb * qb + 4.0 * qa * dt)) / (2.0 * qa);
	else
		x = dt / qb;
	k = x < 1 ? 1 : (x >= in->run_k ? in->run_k : (uint32_t)x);
	while (k > 1 && run_time(in, k - 1) > dt)
		k--;
	while (k < in->run_k && run_time(in, k) <= dt)
		k++;
	if (k >= in->run_k)
		return 0;
	in->run_k = k;
	in->t_end = in->t0 + run_time(in, k);
	in->version++;
	return sim__heap_push(&s->heap, in->t_end, SIM__EV_DONE, ii, in->version);
}

static int finish_or_hand_over(struct sim__state *s, struct sim__inst *in, uint32_t ri)
{
	struct sim__req *r = &s->req[ri];

	if (r->generated >= r->gen) {
		if (free_blocks(s, in, r) < 0)
			return -MS_ENOMEM;
		sim__req_finish(s, ri);
		return 0;
	}
	if (role_decodes(in->role)) {
		r->t_dec_start = s->now;
		r->joined = s->lseq++;
		MS_ASSERT(in->n_run < s->c->max_seqs); /* admission counts pf and run together */
		in->run[in->n_run++] = ri;
		in->run_kv += r->kv;
		return 0;
	}
	/* prefill instance: the KV moves to a decode instance; its memory is freed now */
	if (free_blocks(s, in, r) < 0)
		return -MS_ENOMEM;
	r->admitted = 0;
	r->kv = 0;
	return sim__route_llm(s, ri, perf_kv_transfer_s(s->perf, r->prompt + r->kv_extra, s->c->link));
}

static int end_decode(struct sim__state *s, struct sim__inst *in, uint32_t k)
{
	uint32_t i, j;

	for (i = 0, j = 0; i < in->n_run; i++) {
		uint32_t ri = in->run[i];
		struct sim__req *r = &s->req[ri];
		uint64_t need;
		r->kv += k;
		r->generated += k;
		in->run_kv += k;
		need = blocks_for(s, r->kv);
		if (need > r->blocks && take_blocks(s, in, r, need - r->blocks) < 0)
			return -MS_ENOMEM;
		if (r->generated >= r->gen) {
			in->run_kv -= r->kv;
			if (finish_or_hand_over(s, in, ri) < 0)
				return -MS_ENOMEM;
			continue;
		}
		in->run[j++] = ri;
	}
	in->n_run = j;
	return 0;
}

int sim__llm_done(struct sim__state *s, uint32_t ii)
{
	struct sim__inst *in = &s->inst[ii];
	uint32_t i;

	s->res->pool[in->pool].busy_gpu_s += (s->now - in->t0) * in->tp;
	if (metrics_series_add(&s->res->pool[in->pool].series, METRICS_SER_BUSY, in->t_acc, s->now,
			       s->pool[in->pool].norm_w) < 0)
		return -MS_ENOMEM;
	in->busy = 0;
	/* decode part first: only requests that were running when the iteration began */
	if (in->run_k && end_decode(s, in, in->run_k) < 0)
		return -MS_ENOMEM;
	/* images encoded in this iteration, even when no chunk of theirs fit the budget */
	for (i = 0; i < in->n_enc; i++) {
		struct sim__req *r = &s->req[in->enc[i]];
		r->img_left = 0;
		r->enc_s = in->enc_part;
		r->t_enc_done = in->t0 + in->enc_part;
	}
	for (i = 0; i < in->n_chunk; i++)
		s->req[in->chunk[i].req].prefilled += in->chunk[i].len;
	/* finished prefills are a prefix of pf (chunks are given in admission order) */
	while (in->n_pf) {
		uint32_t ri = in->pf[0];
		struct sim__req *r = &s->req[ri];
		if (r->prefilled < r->prompt)
			break;
		list_remove(in->pf, &in->n_pf, 0);
		if (sim__pool_queued(s, (int)in->pool, -1) < 0)
			return -MS_ENOMEM;
		r->kv = r->prompt + r->kv_extra;
		if (policy_first_token(&s->pol, &r->tk, s->now) < 0)
			MS_BUG("policy: first token of row %u released more than pending", r->row);
		if (r->generated == 0) {
			r->generated = 1;
			r->t_first = s->now;
		}
		if (finish_or_hand_over(s, in, ri) < 0)
			return -MS_ENOMEM;
	}
	in->n_chunk = 0;
	in->n_enc = 0;
	in->run_k = 0;
	return sim__llm_start(s, ii);
}
