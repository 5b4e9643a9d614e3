/*
 * sim_batch: continuous batching of one LLM instance (see sim_batch.h).
 *
 * An iteration that prefills anything (or encodes) is one step: its decoding
 * requests take one token each, the rest of the token budget goes to prefill
 * chunks in admission order. When only decode is left the batch does not change
 * until a request finishes or KV blocks run short, and step i costs
 * a + b * (kv0 + B * i) (perf_decode_coef), so K steps are one run:
 * K * a + b * (K * kv0 + B * K * (K - 1) / 2).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim_batch.h"

#define REQ(e, i) sim_batch_req(e, i)

int sim_batch_init(struct sim_batch *b, const struct sim_batch_cfg *cfg, uint64_t blocks)
{
	uint32_t n = cfg->max_seqs;

	memset(b, 0, sizeof(*b));
	b->cfg = *cfg;
	b->w_head = b->w_tail = SIM_BATCH_NIL;
	b->blocks_total = b->blocks_free = blocks;
	b->run = malloc(n * sizeof(*b->run));
	b->pf = malloc(n * sizeof(*b->pf));
	b->enc = malloc(n * sizeof(*b->enc));
	b->chunk = malloc(n * sizeof(*b->chunk));
	b->coef = calloc((size_t)n + 1, sizeof(*b->coef));
	if (!b->run || !b->pf || !b->enc || !b->chunk || !b->coef) {
		sim_batch_release(b);
		return -MS_ENOMEM;
	}
	return 0;
}

void sim_batch_release(struct sim_batch *b)
{
	free(b->run);
	free(b->pf);
	free(b->enc);
	free(b->chunk);
	free(b->coef);
	b->run = b->pf = b->enc = NULL;
	b->chunk = NULL;
	b->coef = NULL;
}

int sim_batch_holds(const struct sim_batch *b)
{
	return b->w_head != SIM_BATCH_NIL || b->n_pf || b->n_run;
}

/* (key, insertion sequence) order of the waiting list */
static int key_lt(const struct sim_breq *a, const struct sim_breq *b)
{
	return a->qkey < b->qkey || (a->qkey == b->qkey && a->qseq < b->qseq);
}

/*
 * Into the waiting list at its key. FCFS keys make both ends O(1): a new
 * arrival goes last, a preempted one first, a request given back before its
 * prompt was done goes before every waiting one (it was admitted first); a
 * priority order may insert in the middle (a walk of the waiting list).
 */
static void wait_insert(struct sim_batch *b, const struct sim_batch_env *e, uint32_t ri)
{
	struct sim_breq *r = REQ(e, ri);
	uint32_t prev;

	b->w_len++;
	if (b->w_tail == SIM_BATCH_NIL || !key_lt(r, REQ(e, b->w_tail))) {
		r->next = SIM_BATCH_NIL;
		if (b->w_tail == SIM_BATCH_NIL)
			b->w_head = ri;
		else
			REQ(e, b->w_tail)->next = ri;
		b->w_tail = ri;
		return;
	}
	if (key_lt(r, REQ(e, b->w_head))) {
		r->next = b->w_head;
		b->w_head = ri;
		return;
	}
	for (prev = b->w_head; key_lt(REQ(e, REQ(e, prev)->next), r); prev = REQ(e, prev)->next)
		;
	r->next = REQ(e, prev)->next;
	REQ(e, prev)->next = ri;
}

static uint32_t wait_pop(struct sim_batch *b, const struct sim_batch_env *e)
{
	uint32_t ri = b->w_head;

	b->w_head = REQ(e, ri)->next;
	if (b->w_head == SIM_BATCH_NIL)
		b->w_tail = SIM_BATCH_NIL;
	b->w_len--;
	return ri;
}

void sim_batch_enqueue(struct sim_batch *b, const struct sim_batch_env *e, uint32_t ri,
		       double qkey)
{
	struct sim_breq *r = REQ(e, ri);

	r->qkey = qkey;
	r->qseq = (*e->qseq)++;
	wait_insert(b, e, ri);
}

static void list_remove(uint32_t *a, uint32_t *n, uint32_t i)
{
	memmove(a + i, a + i + 1, (*n - i - 1) * sizeof(*a));
	(*n)--;
}

static int give_blocks(struct sim_batch *b, const struct sim_batch_env *e, struct sim_breq *r)
{
	int64_t k = r->blocks;

	b->blocks_free += r->blocks;
	r->blocks = 0;
	return e->ops->blocks ? e->ops->blocks(e, -k) : 0;
}

static int take_blocks(struct sim_batch *b, const struct sim_batch_env *e, struct sim_breq *r,
		       uint64_t k)
{
	MS_ASSERT(b->blocks_free >= k);
	b->blocks_free -= k;
	r->blocks += (uint32_t)k;
	return e->ops->blocks ? e->ops->blocks(e, (int64_t)k) : 0;
}

/*
 * Recompute preemption of run[i]: its KV is dropped and it waits again, at the
 * caller's requeue key, to prefill prompt + generated tokens.
 */
static int preempt_running(struct sim_batch *b, const struct sim_batch_env *e, uint32_t i)
{
	uint32_t ri = b->run[i];
	struct sim_breq *r = REQ(e, ri);

	list_remove(b->run, &b->n_run, i);
	b->run_kv -= r->kv;
	b->preempted++;
	if (e->ops->preempted(e, ri, 1) < 0)
		return -MS_ENOMEM;
	r->prompt = r->kv - r->kv_extra;
	r->prefilled = 0;
	r->kv = 0;
	r->admitted = 0;
	r->preempted++;
	if (give_blocks(b, e, r) < 0)
		return -MS_ENOMEM;
	sim_batch_enqueue(b, e, ri, e->ops->requeue_key(e, ri));
	return 0;
}

/*
 * Gives back the KV of pf[i], admitted but still prefilling: it waits again at
 * its own key (so, FCFS, before every waiting request) and prefills from
 * scratch once admitted again.
 */
static int unadmit(struct sim_batch *b, const struct sim_batch_env *e, uint32_t i)
{
	uint32_t ri = b->pf[i];
	struct sim_breq *r = REQ(e, ri);

	list_remove(b->pf, &b->n_pf, i);
	r->prefilled = 0;
	r->admitted = 0;
	r->preempted++;
	b->preempted++;
	if (e->ops->preempted(e, ri, 0) < 0)
		return -MS_ENOMEM;
	wait_insert(b, e, ri);
	return give_blocks(b, e, r);
}

/*
 * The admitted request the caller's key names to give its KV back (the
 * largest): *is_pf says whether it is prefilling. A walk of the running lists,
 * only when memory runs short.
 */
static void victim_in(const struct sim_batch_env *e, const uint32_t *list, uint32_t n,
		      int is_pf, uint32_t *best, double *bk, int *best_pf)
{
	uint32_t i;

	for (i = 0; i < n; i++) {
		double k = e->ops->victim_key(e, list[i], is_pf, REQ(e, list[i])->joined);
		if (*best == SIM_BATCH_NIL || k > *bk) {
			*best = i;
			*bk = k;
			*best_pf = is_pf;
		}
	}
}

static uint32_t victim(struct sim_batch *b, const struct sim_batch_env *e, int *is_pf)
{
	uint32_t best = SIM_BATCH_NIL;
	double bk = 0;

	victim_in(e, b->pf, b->n_pf, 1, &best, &bk, is_pf);
	victim_in(e, b->run, b->n_run, 0, &best, &bk, is_pf);
	return best;
}

/*
 * Before one decode step: each running request that fills its last block gets
 * a new one. When none is free, the victim gives its blocks back (FCFS: the
 * newest admitted, as vLLM preempts from the tail of its running list: first
 * those still prefilling, then the newest decoding one). Preempting an older
 * decoding request while a newer one sat half prefilled on the rest of the
 * cache could cycle forever: the victim's recompute could take every token of
 * the budget, the newer one never finished, and the victim was preempted again
 * on its next step.
 */
static int step_alloc(struct sim_batch *b, const struct sim_batch_env *e)
{
	uint32_t i, v;
	uint64_t bs = b->cfg.kv_block;
	int is_pf = 0;

	for (i = 0; i < b->n_run; i++) {
		struct sim_breq *r = REQ(e, b->run[i]);
		while ((uint64_t)r->blocks * bs <= r->kv) {
			if (b->blocks_free > 0) {
				if (take_blocks(b, e, r, 1) < 0)
					return -MS_ENOMEM;
				break;
			}
			v = victim(b, e, &is_pf);
			MS_ASSERT(v != SIM_BATCH_NIL); /* r itself is running */
			if (is_pf) {
				if (unadmit(b, e, v) < 0)
					return -MS_ENOMEM;
				continue;
			}
			if (preempt_running(b, e, v) < 0)
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
static uint32_t decode_run_len(const struct sim_batch *b, const struct sim_batch_env *e)
{
	uint64_t bs = b->cfg.kv_block, kmin = UINT64_MAX, slack_min = UINT64_MAX, kkv;
	uint32_t i;

	for (i = 0; i < b->n_run; i++) {
		const struct sim_breq *r = REQ(e, b->run[i]);
		uint64_t left = r->gen - r->generated, slack = (uint64_t)r->blocks * bs - r->kv;
		if (left < kmin)
			kmin = left;
		if (slack < slack_min)
			slack_min = slack;
	}
	/* in K steps a request needs at most ceil((K - slack_min) / bs) new blocks */
	kkv = slack_min + bs * (b->blocks_free / b->n_run);
	if (kkv < kmin)
		kmin = kkv;
	if (b->cfg.step_decode && kmin > 1)
		kmin = 1;
	return (uint32_t)kmin;
}

static double run_time(const struct sim_batch *b, uint32_t k)
{
	double kk = (double)k;
	return kk * b->step_a +
	       b->step_b * (kk * (double)b->kv0 + (double)b->n_run * kk * (kk - 1.0) / 2.0);
}

static void add_chunk(struct sim_batch *b, struct perf_iter *it, uint32_t ri, struct sim_breq *r,
		      uint32_t *budget)
{
	uint32_t c = r->prompt - r->prefilled;

	if (c > *budget)
		c = *budget;
	it->prefill_tokens += c;
	it->prefill_attn += (double)c * ((double)r->prefilled + (double)c / 2.0);
	it->prefill_seqs++; /* a profile table's batched-prefill rows are keyed by it */
	b->chunk[b->n_chunk].req = ri;
	b->chunk[b->n_chunk].len = c;
	b->n_chunk++;
	*budget -= c;
}

/*
 * The blocks pf[*k]'s next chunk of c tokens writes, taken when the chunk is
 * scheduled (vLLM v1's allocate_slots): its prompt so far plus the chunk, and the
 * cross-attention states with the first chunk. When they cannot be had the victim
 * gives its KV back, as in step_alloc; 0 when that was pf[*k] itself (it waits
 * again: no chunk), 1 when the blocks are taken. *k follows pf[*k] when a victim
 * before it leaves the list; a decoding victim's token goes back to *budget.
 */
static int chunk_blocks(struct sim_batch *b, const struct sim_batch_env *e, uint32_t *k,
			uint32_t c, uint32_t *budget)
{
	struct sim_breq *r = REQ(e, b->pf[*k]);
	uint64_t need = sim_batch_blocks_for(b, (uint64_t)r->prefilled + c + r->kv_extra);
	uint32_t v;
	int is_pf = 0;

	need = need > r->blocks ? need - r->blocks : 0;
	while (need > b->blocks_free) {
		v = victim(b, e, &is_pf);
		if (is_pf) {
			if (unadmit(b, e, v) < 0)
				return -MS_ENOMEM;
			if (v == *k)
				return 0;
			if (v < *k)
				(*k)--;
			continue;
		}
		if (preempt_running(b, e, v) < 0)
			return -MS_ENOMEM;
		(*budget)++;
	}
	return take_blocks(b, e, r, need) < 0 ? -MS_ENOMEM : 1;
}

/*
 * Chunks for the prefilling requests in admission order, each with its blocks;
 * then, unless a request gave its KV back in this iteration (vLLM v1 admits
 * nothing in a step that preempted: the victim would come straight back),
 * admission from the head of the waiting list while the budget lasts, fewer than
 * max_seqs are admitted and the blocks of the head's first chunk are free
 * (head-of-line blocking, as vLLM), each with its first chunk.
 */
static int admit_and_chunk(struct sim_batch *b, const struct sim_batch_env *e,
			   struct perf_iter *it, uint32_t *enc_tiles)
{
	uint32_t budget, ri, k, c;
	int rc;

	budget = b->cfg.token_budget > b->n_run ? b->cfg.token_budget - b->n_run : 0;
	b->n_chunk = 0;
	for (k = 0; k < b->n_pf; k++) {
		struct sim_breq *r = REQ(e, b->pf[k]);
		if (r->prefilled < r->prompt) {
			if (budget == 0)
				return 0;
			c = r->prompt - r->prefilled < budget ? r->prompt - r->prefilled : budget;
			if ((rc = chunk_blocks(b, e, &k, c, &budget)) < 0)
				return -MS_ENOMEM;
			if (rc == 0)
				return 0; /* it went back to waiting: nothing after it runs either */
			add_chunk(b, it, b->pf[k], r, &budget);
		}
	}
	if (b->preempted)
		return 0;
	while (b->w_head != SIM_BATCH_NIL) {
		struct sim_breq *r;
		uint64_t need;
		int enc;
		ri = b->w_head;
		r = REQ(e, ri);
		c = r->prompt - r->prefilled < budget ? r->prompt - r->prefilled : budget;
		if (b->n_run + b->n_pf >= b->cfg.max_seqs || (c == 0 && r->prefilled < r->prompt))
			break;
		/* a KV arrival (prefilled) brings all its KV; else the first chunk's */
		need = sim_batch_blocks_for(b, (uint64_t)r->prefilled + c + r->kv_extra);
		if (need > b->blocks_free)
			break;
		wait_pop(b, e);
		if (take_blocks(b, e, r, need) < 0)
			return -MS_ENOMEM;
		r->admitted = 1;
		r->joined = (*e->lseq)++;
		b->pf[b->n_pf++] = ri;
		enc = b->cfg.encodes && r->enc_tiles;
		if (enc) {
			*enc_tiles += r->enc_tiles;
			b->enc[b->n_enc++] = ri;
		}
		if (e->ops->admitted(e, ri, enc) < 0)
			return -MS_ENOMEM;
		if (r->prefilled == 0)
			it->cross_tokens += r->cross;
		if (c)
			add_chunk(b, it, ri, r, &budget);
	}
	return 0;
}

/* Requests that arrive with their KV (from a prefill instance) join the running batch. */
static int admit_kv_arrivals(struct sim_batch *b, const struct sim_batch_env *e)
{
	while (b->w_head != SIM_BATCH_NIL) {
		uint32_t ri = b->w_head;
		struct sim_breq *r = REQ(e, ri);
		uint64_t need;
		/* (an encode-only job, with no prompt, is no KV arrival) */
		if (r->prefilled < r->prompt || !r->prompt || b->n_run + b->n_pf >= b->cfg.max_seqs)
			break;
		need = sim_batch_blocks_for(b, (uint64_t)r->prompt + r->kv_extra);
		if (need > b->blocks_free)
			break;
		wait_pop(b, e);
		if (take_blocks(b, e, r, need) < 0 || e->ops->decoding(e, ri, 1) < 0)
			return -MS_ENOMEM;
		r->admitted = 1;
		r->kv = r->prompt + r->kv_extra;
		r->joined = (*e->lseq)++;
		MS_ASSERT(b->n_run < b->cfg.max_seqs); /* admission counts pf and run together */
		b->run[b->n_run++] = ri;
		b->run_kv += r->kv;
	}
	return 0;
}

/*
 * The inline encoder of an encoding instance: its images, encoded inside the
 * iteration that admits them (today's monolithic engines), stall the whole batch.
 */
static double inline_encode_s(const struct sim_batch *b, uint32_t tiles)
{
	return perf_encode_inline_s(b->cfg.perf, b->cfg.tp, tiles);
}

/* perf_decode_coef of the batch's perf and tp for `batch` (<= max_seqs) requests, memoised. */
static void decode_coef(struct sim_batch *b, uint32_t batch, double *a, double *c)
{
	double *m = b->coef[batch];

	if (m[0] == 0 && m[1] == 0)
		perf_decode_coef(b->cfg.perf, b->cfg.tp, batch, &m[0], &m[1]);
	*a = m[0];
	*c = m[1];
}

/* An admitted request with nothing to prefill (the engine's encode-only jobs). */
static int pf_head_done(const struct sim_batch *b, const struct sim_batch_env *e)
{
	return b->n_pf && REQ(e, b->pf[0])->prefilled >= REQ(e, b->pf[0])->prompt;
}

int sim_batch_form(struct sim_batch *b, const struct sim_batch_env *e, double *dur)
{
	struct perf_iter it;
	uint32_t enc_tiles = 0;

	if (b->cfg.kv_arrivals && admit_kv_arrivals(b, e) < 0)
		return -MS_ENOMEM;
	memset(&it, 0, sizeof(it));
	b->n_chunk = 0;
	b->n_enc = 0;
	b->enc_part = 0;
	b->preempted = 0;
	/*
	 * Room for the next step of the running batch comes before admitting new
	 * work (running requests have priority, as in vLLM). Free blocks only shrink
	 * during a decode run and its token budget stays, so nothing waiting could be
	 * admitted inside one; but after a preemption admission waits for the next
	 * iteration (admit_and_chunk), so that one is a single step.
	 */
	if (b->n_run && (b->w_head != SIM_BATCH_NIL || b->n_pf || decode_run_len(b, e) == 0) &&
	    step_alloc(b, e) < 0)
		return -MS_ENOMEM;
	if (admit_and_chunk(b, e, &it, &enc_tiles) < 0)
		return -MS_ENOMEM;
	if (b->n_chunk == 0 && b->n_enc == 0 && b->n_run == 0 && !pf_head_done(b, e))
		return 0;
	b->kv0 = b->run_kv;
	if (b->n_chunk || b->n_enc || b->n_run == 0) {
		it.decode_seqs = b->n_run;
		it.decode_kv_tokens = b->run_kv;
		if (enc_tiles)
			b->enc_part = inline_encode_s(b, enc_tiles);
		*dur = b->enc_part;
		if (it.prefill_tokens || (it.decode_seqs && it.cross_tokens)) {
			*dur += perf_llm_iter_s(b->cfg.perf, b->cfg.tp, &it);
		} else if (it.decode_seqs) {
			/* perf_llm_iter_s's decode-only case (perf_decode_step_s), memoised */
			double a, c;
			decode_coef(b, it.decode_seqs, &a, &c);
			*dur += a + c * (double)it.decode_kv_tokens;
		}
		b->run_k = b->n_run ? 1 : 0;
	} else {
		decode_coef(b, b->n_run, &b->step_a, &b->step_b);
		b->run_k = decode_run_len(b, e);
		MS_ASSERT(b->run_k >= 1);
		if (b->preempted && b->w_head != SIM_BATCH_NIL)
			b->run_k = 1;
		*dur = run_time(b, b->run_k);
	}
	return 1;
}

int sim_batch_cut(struct sim_batch *b, double dt, double *dur)
{
	double qa, qb, x;
	uint32_t k;

	if (b->n_chunk || b->run_k <= 1)
		return 0;
	/* smallest k with run_time(k) > dt: the step in progress at `now` completes */
	qa = b->step_b * (double)b->n_run / 2.0;
	qb = b->step_a + b->step_b * (double)b->kv0 - qa;
	if (qa > 0)
		x = (-qb + sqrt(qb * qb + 4.0 * qa * dt)) / (2.0 * qa);
	else
		x = dt / qb;
	k = x < 1 ? 1 : (x >= b->run_k ? b->run_k : (uint32_t)x);
	while (k > 1 && run_time(b, k - 1) > dt)
		k--;
	while (k < b->run_k && run_time(b, k) <= dt)
		k++;
	if (k >= b->run_k)
		return 0;
	b->run_k = k;
	*dur = run_time(b, k);
	return 1;
}

static int finish_or_hand_over(struct sim_batch *b, const struct sim_batch_env *e, uint32_t ri)
{
	struct sim_breq *r = REQ(e, ri);

	if (r->generated >= r->gen) {
		if (give_blocks(b, e, r) < 0)
			return -MS_ENOMEM;
		return e->ops->finished(e, ri);
	}
	if (b->cfg.decodes) {
		r->joined = (*e->lseq)++;
		MS_ASSERT(b->n_run < b->cfg.max_seqs); /* admission counts pf and run together */
		b->run[b->n_run++] = ri;
		b->run_kv += r->kv;
		return e->ops->decoding(e, ri, 0);
	}
	/* prefill instance: the KV moves to a decode instance; its memory is freed now */
	if (give_blocks(b, e, r) < 0)
		return -MS_ENOMEM;
	r->admitted = 0;
	r->kv = 0;
	return e->ops->handover(e, ri);
}

static int end_decode(struct sim_batch *b, const struct sim_batch_env *e, uint32_t k)
{
	uint32_t i, j;

	for (i = 0, j = 0; i < b->n_run; i++) {
		uint32_t ri = b->run[i];
		struct sim_breq *r = REQ(e, ri);
		uint64_t need;
		r->kv += k;
		r->generated += k;
		b->run_kv += k;
		need = sim_batch_blocks_for(b, r->kv);
		if (need > r->blocks && take_blocks(b, e, r, need - r->blocks) < 0)
			return -MS_ENOMEM;
		if (e->ops->token && e->ops->token(e, ri) < 0)
			return -MS_ENOMEM;
		if (r->generated >= r->gen) {
			b->run_kv -= r->kv;
			if (finish_or_hand_over(b, e, ri) < 0)
				return -MS_ENOMEM;
			continue;
		}
		b->run[j++] = ri;
	}
	b->n_run = j;
	return 0;
}

int sim_batch_end(struct sim_batch *b, const struct sim_batch_env *e)
{
	uint32_t i;

	/* decode part first: only requests that were running when the iteration began */
	if (b->run_k && end_decode(b, e, b->run_k) < 0)
		return -MS_ENOMEM;
	/* images encoded in this iteration, even when no chunk of theirs fit the budget */
	for (i = 0; i < b->n_enc; i++) {
		REQ(e, b->enc[i])->enc_tiles = 0;
		if (e->ops->encoded)
			e->ops->encoded(e, b->enc[i], b->enc_part);
	}
	for (i = 0; i < b->n_chunk; i++)
		REQ(e, b->chunk[i].req)->prefilled += b->chunk[i].len;
	/* finished prefills are a prefix of pf (chunks are given in admission order) */
	while (b->n_pf) {
		uint32_t ri = b->pf[0];
		struct sim_breq *r = REQ(e, ri);
		int tok = 0;
		if (r->prefilled < r->prompt)
			break;
		list_remove(b->pf, &b->n_pf, 0);
		r->kv = r->prompt + r->kv_extra;
		if (r->generated == 0 && r->gen > 0) {
			r->generated = 1;
			tok = 1;
		}
		if (e->ops->first(e, ri, tok) < 0 || finish_or_hand_over(b, e, ri) < 0)
			return -MS_ENOMEM;
	}
	b->n_chunk = 0;
	b->n_enc = 0;
	b->run_k = 0;
	return 0;
}

/* Drops ri from a list of request ids; 1 when it was there. */
static int drop_id(uint32_t *a, uint32_t *n, uint32_t ri)
{
	uint32_t i;

	for (i = 0; i < *n; i++)
		if (a[i] == ri) {
			list_remove(a, n, i);
			return 1;
		}
	return 0;
}

int sim_batch_remove(struct sim_batch *b, const struct sim_batch_env *e, uint32_t ri)
{
	struct sim_breq *r = REQ(e, ri);
	uint32_t i, j;

	if (!r->admitted) {
		uint32_t *link = &b->w_head, prev = SIM_BATCH_NIL;
		while (*link != SIM_BATCH_NIL && *link != ri) {
			prev = *link;
			link = &REQ(e, *link)->next;
		}
		if (*link == SIM_BATCH_NIL)
			return 0; /* not here */
		*link = r->next;
		if (b->w_tail == ri)
			b->w_tail = prev;
		b->w_len--;
		return 0;
	}
	if (!drop_id(b->pf, &b->n_pf, ri) && drop_id(b->run, &b->n_run, ri))
		b->run_kv -= r->kv;
	/* out of the iteration formed too: it gets no event at its end */
	drop_id(b->enc, &b->n_enc, ri);
	for (i = 0, j = 0; i < b->n_chunk; i++)
		if (b->chunk[i].req != ri)
			b->chunk[j++] = b->chunk[i];
	b->n_chunk = j;
	r->admitted = 0;
	r->kv = 0;
	return give_blocks(b, e, r);
}
