/*
 * Pools, members and routing: the per-pool tournament tree of ready members on
 * (pending, id), the ready list for rr/random, instance states, and the
 * charge and release rules of a request (policy.h says what they are for).
 *
 * Charges (what an instance's pending work is):
 *  - encoder: image tokens of the items routed to it, released per item
 *    encoded;
 *  - entry LLM instance: the prompt (+ image tokens where it encodes them
 *    itself: mono, pd prefill) until the first token, then the output tokens
 *    until done (a prefill instance keeps no output charge: decode does);
 *  - decode instance: prompt + output until done.
 * A preemption releases nothing: the work is still the instance's.
 */
#include "policy/policy.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/ms_rand.h"
#include "policy/policy_int.h"

/*
 * Tree entries carry their key, so an update reads only the tree array. Bitwise, not
 * short-circuit: which of two loads is smaller is a coin toss to the branch predictor
 * (the same order, fewer mispredicted branches; every image routed updates once).
 */
static inline int less(const struct policy_hent *a, const struct policy_hent *b)
{
	return (a->pending < b->pending) | ((a->pending == b->pending) & (a->id < b->id));
}

/*
 * The ready members of a pool as a tournament tree (pool.heap, 2 x cap entries):
 * member slot s (inst.heap_pos, 0..n_heap-1) is leaf cap + s, node i (1..cap-1)
 * holds the lesser of nodes 2i and 2i+1, so node 1 is the least (pending, id). An
 * empty leaf is (UINT64_MAX, UINT32_MAX), which every member's key is below. Keys
 * are unique (ids are), so node 1 is the member a binary heap's root was: the same
 * picks. A member's key change walks its leaf's log2(cap) ancestors with one compare
 * each and, unlike a heap's sift, moves no member (no heap_pos rewritten), and stops
 * where the winner is unchanged; a heap's sifts were 12% of a week's simulation.
 */
static const struct policy_hent tree_empty = { UINT64_MAX, UINT32_MAX, 0 };

static void tree_fix(struct policy_pool *p, uint32_t slot)
{
	struct policy_hent *h = p->heap;
	uint32_t i = p->cap + slot, id = h[i].id;
	uint64_t pend = h[i].pending;

	/* the path's winner so far stays in registers: one load (the sibling) a level */
	while (i > 1) {
		const struct policy_hent *sib = &h[i ^ 1];
		int s = (sib->pending < pend) | ((sib->pending == pend) & (sib->id < id));
		pend = s ? sib->pending : pend;
		id = s ? sib->id : id;
		i >>= 1;
		if (h[i].pending == pend && h[i].id == id)
			break; /* the same winner here: nothing above changes */
		h[i].pending = pend;
		h[i].id = id;
	}
}

/* Member slot's key is now `pending`. */
static void tree_set(struct policy_pool *p, uint32_t slot, uint64_t pending)
{
	p->heap[p->cap + slot].pending = pending;
	tree_fix(p, slot);
}

int policy_init(struct policy *pol, const struct policy_conf *conf, struct ms_error *err)
{
	int i;

	memset(pol, 0, sizeof(*pol));
	if (conf->n_pools < 1 || conf->n_pools > POLICY_MAX_POOLS)
		return ms_error_set(err, MS_EINVAL, "policy: %d pools (1 to %d)", conf->n_pools,
				    POLICY_MAX_POOLS);
	pol->conf = *conf;
	if (!(pol->conf.window_s > 0))
		pol->conf.window_s = 60;
	if (!(pol->conf.order_age_s > 0))
		pol->conf.order_age_s = 10;
	if (!(pol->conf.order_token_s >= 0))
		pol->conf.order_token_s = 0;
	pol->p_enc = pol->p_entry = pol->p_decode = -1;
	for (i = 0; i < conf->n_pools; i++) {
		struct policy_pool *p = &pol->pool[i];
		p->conf = conf->pool[i];
		p->rng = conf->pool[i].seed;
		p->arr.dt = p->slo.dt = pol->conf.window_s / POLICY_WINDOW_BUCKETS;
		p->arr.epoch = p->slo.epoch = INT64_MIN;
		p->arr.t_next = p->slo.t_next = -INFINITY;
		switch (conf->pool[i].stage) {
		case POLICY_STAGE_ENC:
			pol->p_enc = i;
			break;
		case POLICY_STAGE_DECODE:
			pol->p_decode = i;
			break;
		default:
			pol->p_entry = i;
			break;
		}
	}
	if (pol->p_entry < 0 ||
	    (pol->p_decode < 0 && pol->pool[pol->p_entry].conf.stage == POLICY_STAGE_PREFILL))
		return ms_error_set(err, MS_EINVAL, "policy: no LLM pool (or prefill without decode)");
	pol->entry_encodes = pol->pool[pol->p_entry].conf.stage == POLICY_STAGE_MONO ||
			     (pol->pool[pol->p_entry].conf.stage == POLICY_STAGE_PREFILL &&
			      pol->p_enc < 0);
	return 0;
}

void policy_release(struct policy *pol)
{
	int i;

	for (i = 0; i < POLICY_MAX_POOLS; i++) {
		free(pol->pool[i].heap);
		free(pol->pool[i].ready);
	}
	free(pol->inst);
	memset(pol, 0, sizeof(*pol));
}

static int grow_pool(struct policy_pool *p)
{
	uint32_t cap = p->cap ? p->cap * 2 : 16, i;
	uint32_t *r = realloc(p->ready, cap * sizeof(*r));
	struct policy_hent *h;

	if (!r)
		return -MS_ENOMEM;
	p->ready = r;
	h = realloc(p->heap, 2 * (size_t)cap * sizeof(*h));
	if (!h)
		return -MS_ENOMEM;
	/* the members' leaves move from cap_old + s to cap + s; the nodes are rebuilt */
	memmove(&h[cap], &h[p->cap], p->n_heap * sizeof(*h));
	for (i = cap + p->n_heap; i < 2 * cap; i++)
		h[i] = tree_empty;
	for (i = cap - 1; i >= 1; i--)
		h[i] = less(&h[2 * i + 1], &h[2 * i]) ? h[2 * i + 1] : h[2 * i];
	p->heap = h;
	p->cap = cap;
	return 0;
}

/* Joins routing: the heap and the ready list. */
static void enter_ready(struct policy *pol, uint32_t id)
{
	struct policy_inst *in = &pol->inst[id];
	struct policy_pool *p = &pol->pool[in->pool];

	in->state = POLICY_INST_READY;
	in->ready_pos = p->n_ready;
	p->ready[p->n_ready++] = id;
	in->heap_pos = p->n_heap++;
	p->heap[p->cap + in->heap_pos] = (struct policy_hent){ in->pending + in->observed, id, 0 };
	tree_fix(p, in->heap_pos);
}

/* Leaves routing; the order of the others in the ready list is kept (round-robin stays fair). */
static void leave_ready(struct policy *pol, uint32_t id)
{
	struct policy_inst *in = &pol->inst[id];
	struct policy_pool *p = &pol->pool[in->pool];
	uint32_t i = in->heap_pos, last;

	for (last = in->ready_pos; last + 1 < p->n_ready; last++) {
		p->ready[last] = p->ready[last + 1];
		pol->inst[p->ready[last]].ready_pos = last;
	}
	p->n_ready--;
	if (p->rr_next > in->ready_pos)
		p->rr_next--;
	/* the last slot's member takes its slot */
	p->n_heap--;
	if (i < p->n_heap) {
		p->heap[p->cap + i] = p->heap[p->cap + p->n_heap];
		pol->inst[p->heap[p->cap + i].id].heap_pos = i;
		tree_fix(p, i);
	}
	p->heap[p->cap + p->n_heap] = tree_empty;
	tree_fix(p, p->n_heap);
	in->heap_pos = in->ready_pos = POLICY_NONE;
}

int policy_inst_add(struct policy *pol, int pool, int ready, double now, uint32_t *id,
		    struct ms_error *err)
{
	struct policy_pool *p;
	struct policy_inst *in;

	(void)now;
	if (pool < 0 || pool >= pol->conf.n_pools)
		return ms_error_set(err, MS_EINVAL, "policy: no pool %d", pool);
	p = &pol->pool[pool];
	if (pol->n_inst == pol->cap_inst) {
		uint32_t cap = pol->cap_inst ? pol->cap_inst * 2 : 64;
		struct policy_inst *n = realloc(pol->inst, cap * sizeof(*n));
		if (!n)
			return ms_error_set(err, MS_ENOMEM, "policy: %u instances", cap);
		pol->inst = n;
		pol->cap_inst = cap;
	}
	if (p->n_ready + p->starting + p->draining + 1 > p->cap && grow_pool(p) < 0)
		return ms_error_set(err, MS_ENOMEM, "policy: pool of %u instances", p->cap);
	*id = pol->n_inst++;
	in = &pol->inst[*id];
	memset(in, 0, sizeof(*in));
	in->pool = (uint8_t)pool;
	in->heap_pos = in->ready_pos = in->item = POLICY_NONE;
	in->state = POLICY_INST_STARTING;
	if (ready)
		enter_ready(pol, *id);
	else
		p->starting++;
	return 0;
}

int policy_inst_ready(struct policy *pol, uint32_t id, double now)
{
	(void)now;
	if (id >= pol->n_inst || pol->inst[id].state != POLICY_INST_STARTING)
		return -MS_EINVAL;
	pol->pool[pol->inst[id].pool].starting--;
	enter_ready(pol, id);
	return 0;
}

/* Takes id out of its live state's accounting (ready: out of routing); -MS_EINVAL if not live. */
static int leave_live(struct policy *pol, uint32_t id, int draining_too)
{
	struct policy_pool *p;

	if (id >= pol->n_inst)
		return -MS_EINVAL;
	p = &pol->pool[pol->inst[id].pool];
	switch (pol->inst[id].state) {
	case POLICY_INST_READY:
		leave_ready(pol, id);
		return 0;
	case POLICY_INST_STARTING:
		p->starting--;
		return 0;
	case POLICY_INST_DRAINING:
		if (!draining_too)
			return -MS_EINVAL;
		p->draining--;
		return 0;
	default:
		return -MS_EINVAL;
	}
}

int policy_inst_drain(struct policy *pol, uint32_t id, double now)
{
	(void)now;
	if (leave_live(pol, id, 0) < 0)
		return -MS_EINVAL;
	pol->inst[id].state = POLICY_INST_DRAINING;
	pol->pool[pol->inst[id].pool].draining++;
	return 0;
}

int policy_inst_remove(struct policy *pol, uint32_t id, double now)
{
	(void)now;
	if (id >= pol->n_inst || pol->inst[id].state != POLICY_INST_DRAINING ||
	    pol->inst[id].pending)
		return -MS_EINVAL;
	pol->pool[pol->inst[id].pool].draining--;
	pol->inst[id].state = POLICY_INST_REMOVED;
	return 0;
}

int policy_inst_fail(struct policy *pol, uint32_t id, double now)
{
	struct policy_inst *in;

	(void)now;
	if (leave_live(pol, id, 1) < 0)
		return -MS_EINVAL;
	in = &pol->inst[id];
	pol->pool[in->pool].pending -= in->pending;
	in->pending = 0;
	in->state = POLICY_INST_FAILED;
	return 0;
}

enum policy_inst_state policy_inst_state(const struct policy *pol, uint32_t id)
{
	return id < pol->n_inst ? (enum policy_inst_state)pol->inst[id].state : POLICY_INST_REMOVED;
}

int policy_inst_pool(const struct policy *pol, uint32_t id)
{
	return id < pol->n_inst ? pol->inst[id].pool : -1;
}

uint64_t policy_inst_pending(const struct policy *pol, uint32_t id)
{
	return id < pol->n_inst ? pol->inst[id].pending : 0;
}

int policy_inst_observe(struct policy *pol, uint32_t id, uint64_t observed, double now)
{
	struct policy_inst *in;
	struct policy_pool *p;
	uint64_t was;

	(void)now;
	if (id >= pol->n_inst)
		return -MS_EINVAL;
	in = &pol->inst[id];
	was = in->observed;
	in->observed = observed;
	if (in->heap_pos == POLICY_NONE || observed == was)
		return 0;
	p = &pol->pool[in->pool];
	tree_set(p, in->heap_pos, in->pending + observed);
	return 0;
}

uint32_t policy_pool_ready(const struct policy *pol, int pool)
{
	return pol->pool[pool].n_ready;
}

static inline void charge(struct policy *pol, uint32_t id, uint64_t w)
{
	struct policy_inst *in = &pol->inst[id];
	struct policy_pool *p = &pol->pool[in->pool];

	in->pending += w;
	p->pending += w;
	if (in->heap_pos != POLICY_NONE)
		tree_set(p, in->heap_pos, in->pending + in->observed);
}

/* Releases w from id; a failed (or unknown) instance has nothing left to release. */
static int release(struct policy *pol, uint32_t id, uint64_t w)
{
	struct policy_inst *in;
	struct policy_pool *p;
	int rc = 0;

	if (id >= pol->n_inst || pol->inst[id].state == POLICY_INST_FAILED || !w)
		return 0;
	in = &pol->inst[id];
	p = &pol->pool[in->pool];
	if (in->pending < w) {
		pol->over_released++;
		w = in->pending;
		rc = -MS_ERANGE;
	}
	in->pending -= w;
	p->pending -= w;
	if (in->heap_pos != POLICY_NONE)
		tree_set(p, in->heap_pos, in->pending + in->observed);
	return rc;
}

static uint32_t pick(struct policy *pol, struct policy_pool *p)
{
	uint32_t i;

	if (!p->n_ready)
		return POLICY_NONE;
	switch (p->conf.route) {
	case POLICY_ROUTE_RR:
		if (p->rr_next >= p->n_ready)
			p->rr_next = 0;
		i = p->ready[p->rr_next];
		p->rr_next = (p->rr_next + 1) % p->n_ready;
		return i;
	case POLICY_ROUTE_RANDOM:
		return p->ready[ms_rand_below(&p->rng, p->n_ready)];
	case POLICY_ROUTE_LEAST:
	default:
		(void)pol;
		return p->heap[1].id;
	}
}

void policy_ticket_init(struct policy_ticket *tk, const struct policy_req *rq)
{
	memset(tk, 0, sizeof(*tk));
	tk->llm = POLICY_NONE;
	tk->arrival = rq->arrival;
	tk->deadline = rq->deadline;
	tk->cls = rq->cls;
	tk->img_left = rq->images;
	tk->tokens_per_image = rq->tokens_per_image;
	tk->prompt_tokens = rq->prompt_tokens;
}

int policy_route_images(struct policy *pol, const struct policy_req *rq, struct policy_ticket *tk,
			double now, struct policy_item *out)
{
	struct policy_pool *p;
	uint32_t k, j, n = 0;

	if (pol->p_enc < 0)
		return -MS_EUNSUPPORTED;
	p = &pol->pool[pol->p_enc];
	if (!p->n_ready)
		return -MS_ENOTFOUND;
	tk->img_left = rq->images;
	tk->tokens_per_image = rq->tokens_per_image;
	/* by enum policy_arr: requests, images, image tokens, prompt tokens */
	if (!pol->conf.no_windows)
		policy__window_add(&p->arr, now, 1, rq->images, (double)rq->image_tokens, 0);
	for (k = 0; k < rq->images; k++) {
		uint32_t id = p->conf.route == POLICY_ROUTE_LEAST ? p->heap[1].id : pick(pol, p);
		charge(pol, id, rq->tokens_per_image);
		if (pol->on_pick)
			pol->on_pick(pol->pick_arg, rq, pol->p_enc, id, now);
		/* its item, in order of first pick (inst.item: a mark cleared below) */
		j = pol->inst[id].item;
		if (j == POLICY_NONE) {
			j = n++;
			out[j].inst = id;
			out[j].nimg = 0;
			pol->inst[id].item = j;
		}
		out[j].nimg++;
	}
	for (j = 0; j < n; j++)
		pol->inst[out[j].inst].item = POLICY_NONE;
	return (int)n;
}

int policy_route_llm(struct policy *pol, const struct policy_req *rq, struct policy_ticket *tk,
		     double now, uint32_t *inst)
{
	int pi, rc = 0;
	struct policy_pool *p;
	uint32_t id;

	/* whatever is still charged to the previous instance (a hand-over, a failure) */
	if (tk->llm != POLICY_NONE) {
		rc = release(pol, tk->llm, tk->pend_prefill + tk->pend_rest);
		tk->pend_prefill = tk->pend_rest = 0;
	}
	pi = tk->stage ? pol->p_decode : pol->p_entry;
	if (pi < 0)
		return -MS_EUNSUPPORTED;
	p = &pol->pool[pi];
	id = pick(pol, p);
	if (id == POLICY_NONE)
		return -MS_ENOTFOUND;
	if (!pol->conf.no_windows)
		policy__window_add(&p->arr, now, 1, rq->images, (double)rq->image_tokens,
				   (double)rq->prompt_tokens);
	if (p->conf.stage == POLICY_STAGE_DECODE) {
		tk->pend_prefill = 0;
		tk->pend_rest = rq->prompt_tokens + rq->output_tokens;
	} else {
		tk->pend_prefill = rq->prompt_tokens + (pol->entry_encodes ? rq->image_tokens : 0);
		tk->pend_rest = p->conf.stage == POLICY_STAGE_PREFILL ? 0 : rq->output_tokens;
	}
	if (p->conf.stage == POLICY_STAGE_PREFILL)
		tk->stage = 1;
	tk->llm = id;
	charge(pol, id, tk->pend_prefill + tk->pend_rest);
	if (pol->on_pick)
		pol->on_pick(pol->pick_arg, rq, pi, id, now);
	*inst = id;
	return rc;
}

int policy_image_encoded(struct policy *pol, struct policy_ticket *tk, uint32_t enc,
			 uint32_t nimg, double now)
{
	int rc;

	(void)now;
	rc = release(pol, enc, (uint64_t)nimg * tk->tokens_per_image);
	if (nimg > tk->img_left) {
		pol->over_released++;
		rc = -MS_ERANGE;
		nimg = tk->img_left;
	}
	tk->img_left -= nimg;
	if (rc < 0)
		return rc;
	return tk->img_left == 0;
}

int policy_first_token(struct policy *pol, struct policy_ticket *tk, double now)
{
	int rc;

	(void)now;
	rc = release(pol, tk->llm, tk->pend_prefill);
	tk->pend_prefill = 0;
	tk->first_done = 1;
	return rc;
}

int policy_finished(struct policy *pol, struct policy_ticket *tk, double now, double ttft,
		    double tpot)
{
	int rc = release(pol, tk->llm, tk->pend_prefill + tk->pend_rest);

	tk->pend_prefill = tk->pend_rest = 0;
	if (tk->llm < pol->n_inst && !pol->conf.no_windows)
		policy__slo_add(pol, pol->inst[tk->llm].pool, tk, now, ttft, tpot);
	return rc;
}

int policy_preempted(struct policy *pol, struct policy_ticket *tk, double now)
{
	(void)now;
	tk->preempted++;
	pol->preemptions++;
	return 0;
}

/* Index of s in names[0..n), or -1. */
static int name_index(const char *s, const char *const *names, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(s, names[i]))
			return i;
	return -1;
}

static const char *const route_names[] = { "least", "rr", "random" };
static const char *const order_names[] = { "fcfs", "slo" };

int policy_route_parse(const char *s, enum policy_route *out, struct ms_error *err)
{
	int i = name_index(s, route_names, 3);

	if (i < 0)
		return ms_error_set(err, MS_EINVAL,
				    "unknown routing policy '%s' (least, rr, random)", s);
	*out = (enum policy_route)i;
	return 0;
}

const char *policy_route_name(enum policy_route r)
{
	return (unsigned)r < 3 ? route_names[r] : "?";
}

int policy_order_parse(const char *s, enum policy_order *out, struct ms_error *err)
{
	int i = name_index(s, order_names, 2);

	if (i < 0)
		return ms_error_set(err, MS_EINVAL, "unknown queue order '%s' (fcfs, slo)", s);
	*out = (enum policy_order)i;
	return 0;
}

const char *policy_order_name(enum policy_order o)
{
	return (unsigned)o < 2 ? order_names[o] : "?";
}
