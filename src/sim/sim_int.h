/*
 * sim_int: state shared by the files of sim/ (never included elsewhere).
 *
 * Requests in flight live in a slot array with a free list (struct sim__req,
 * indices, never pointers, since the array may grow by doubling), each
 * beginning with its batch state (struct sim_breq: an LLM instance's lists are
 * sim_batch's, in policy_queue_key order); encoder queues are intrusive singly
 * linked lists of items through `next`.
 * Instances sit in one append-only table indexed by their stable id, the
 * policy's id (struct policy keeps each pool's member lists); an instance
 * added at run time is appended, a removed one keeps its slot. Events carry
 * (type, a, b) with stable ids and a version so a shortened decode run
 * invalidates its old end event without a search.
 */
#ifndef SIM_INT_H
#define SIM_INT_H

#include "sim/sim.h"
#include "sim/sim_batch.h"

#define SIM__NIL UINT32_MAX

enum sim__ev_type {
	SIM__EV_ARRIVAL = 0, /* a: trace row */
	SIM__EV_ENQ_ENC,     /* a: first of a chain of items due at the same time (arrival) */
	SIM__EV_ENQ_LLM,     /* a: request slot, b: LLM instance */
	SIM__EV_DONE,        /* a: instance, b: version */
	SIM__EV_READY,       /* a: instance whose startup delay is over */
	SIM__EV_TICK,        /* periodic policy tick (sim_config.tick_s) */
};

struct sim__event {
	double t;
	uint64_t seq;
	uint32_t type, a, b, pad;
};

/*
 * Pending events (sim_event.c): while few, a list sorted latest first (the earliest
 * at ev[n - 1]); past SIM__LIST_MAX a 4-ary min-heap (the earliest at ev[0]).
 */
#define SIM__LIST_MAX 32

struct sim__heap {
	struct sim__event *ev;
	size_t n, cap;
	uint64_t seq;
	int heap;                      /* 1: heap order, 0: sorted list */
};

/* The earliest pending event; n must be > 0. */
static inline const struct sim__event *sim__heap_top(const struct sim__heap *h)
{
	return h->heap ? &h->ev[0] : &h->ev[h->n - 1];
}

int sim__heap_init(struct sim__heap *h, size_t cap, struct ms_error *err);
void sim__heap_release(struct sim__heap *h);
int sim__heap_push(struct sim__heap *h, double t, uint32_t type, uint32_t a, uint32_t b);
/* Pops the earliest (time, seq) event into *out; returns 0 when empty. */
int sim__heap_pop(struct sim__heap *h, struct sim__event *out);

struct sim__req {
	struct sim_breq b;  /* its batch state on an LLM instance (sim_batch); first member */
	uint32_t row, next; /* next: the free list */
	uint32_t images, img_left, img_tokens;
	uint32_t inst;      /* LLM instance holding it */
	struct policy_ticket tk; /* its charges, kept by policy/ */
	double prep_s, enc_s, enc_wait; /* enc_wait: longest queue wait of its image items */
	double dec_served;  /* decode time served before its preemptions */
	double t_enc_done, t_llm_in, t_pf_start, t_first, t_dec_start;
};

struct sim__item { /* images of one request queued on one encoder */
	uint32_t req, next, nimg;
	uint32_t inst;    /* the encoder it goes to */
	double t_in;      /* when it joined the encoder queue */
	double qkey;      /* queue key (policy_queue_key), ties by qseq */
	uint64_t qseq;
};

struct sim__inst {
	uint32_t pool;
	enum sim_role role;
	int tp, busy;
	int start_due;                   /* LLM: its next iteration starts once this instant is over */
	uint32_t version;
	double t0, t_end;
	double t_acc;                    /* busy time from here on is not in the series yet */
	/* encoder: queue of items, items in service */
	uint32_t q_head, q_tail, q_len, b_head;
	struct sim_batch b;              /* LLM: vLLM's waiting and running lists (sim_batch) */
};

struct sim__pool {
	struct sim_pool_spec spec;
	uint32_t live;             /* instances requested and not removed */
	double norm_w;             /* spec.count / live: series weights per pool size now */
	uint64_t blocks;           /* KV blocks per instance */
	uint64_t queued;           /* items/requests waiting over the pool (series) */
	uint64_t blocks_used;
	int cores;                 /* preprocessing cores per instance */
	/* encoder pools: perf_encode_s of a batch of i images at the pool's TP, by i
	 * (NaN until first asked; a pure function of i, asked once per batch) */
	double *enc_s;
	uint32_t n_enc_s;
};

struct sim__state {
	const struct sim_config *c;
	const struct perf *perf;
	const struct trace_set *ts;
	struct sim_result *res;
	struct sim__heap heap;
	struct sim__event arr;         /* the next arrival, outside the heap (has_arr) */
	int has_arr;
	struct sim__req *req;
	uint32_t n_req, cap_req, free_req, in_flight, finished, arrived;
	struct sim__item *item;
	uint32_t cap_item, free_item, n_item;
	struct sim__inst *inst;        /* by stable id, append-only */
	uint32_t n_inst, cap_inst;
	struct sim__pool pool[SIM_MAX_POOLS];
	int n_pools;
	struct policy pol;             /* routing, charges, order, membership */
	struct sim_map map;
	uint32_t tiles_per_image, tokens_per_image;
	int cross;
	uint64_t kv_cap_tokens;
	struct policy_item *items;     /* scratch of max_images entries for image routing */
	uint32_t *grp;                 /* scratch of 2 x max_images: items_push's chain heads, tails */
	double *grp_t;                 /* and their due times (max_images) */
	uint64_t qseq, lseq;
	uint32_t gpus_live;            /* GPUs of instances requested and not removed */
	uint32_t *due, n_due, cap_due; /* LLM instances whose iteration starts after this instant */
	double cost_t;                 /* gpu_s is accrued up to here */
	double t_work;                 /* time of the last event that was not a tick */
	int stop;                      /* early stop asked */
	int running;                   /* setup done: pools are static until here */
	double now;
	struct ms_error *err;
};

/* sim_llm.c */
/* The batching of an LLM instance in `role` at `tp` (sim_batch). */
void sim__llm_batch_cfg(const struct sim__state *s, enum sim_role role, int tp,
			struct sim_batch_cfg *out);
int sim__llm_enqueue(struct sim__state *s, uint32_t inst, uint32_t req);
int sim__llm_done(struct sim__state *s, uint32_t inst);
int sim__llm_start(struct sim__state *s, uint32_t inst);
/* The instance's next iteration starts after every event of this instant (sim.c runs it). */
int sim__llm_start_due(struct sim__state *s, uint32_t inst);
/* An instance in a long decode run is told new work arrived: end the run after the step in progress. */
int sim__llm_wake(struct sim__state *s, uint32_t inst);
/* An event is due at `now` (the arrival beside the heap, or the heap's earliest). */
static inline int sim__event_now(const struct sim__state *s)
{
	return (s->has_arr && s->arr.t <= s->now) ||
	       (s->heap.n && sim__heap_top(&s->heap)->t <= s->now);
}
/* sim_enc.c */
int sim__enc_enqueue(struct sim__state *s, uint32_t inst, uint32_t item);
int sim__enc_done(struct sim__state *s, uint32_t inst);
/* An instance became idle: a draining one that holds nothing is removed. */
int sim__idle_drain(struct sim__state *s, uint32_t inst);
static inline int sim__idle(struct sim__state *s, uint32_t inst)
{
	return s->pol.inst[inst].state == POLICY_INST_DRAINING ? sim__idle_drain(s, inst) : 0;
}
/* sim_system.c: the SLO order's seconds per token of work (prefill at the LLM TP) */
double sim__order_token_s(const struct sim_config *c);
/* sim_request.c */
/* Trace row `row` arrives now: mapped, charged, routed to its encoders or LLM pool. */
int sim__arrival(struct sim__state *s, uint32_t row);
void sim__req_finish(struct sim__state *s, uint32_t req);
/* Routes req to its next LLM stage (policy_route_llm), reaching it after delay. */
int sim__route_llm(struct sim__state *s, uint32_t req, double delay);
/* sim_pools.c */
/* The static pools and their instances, the policy, the series (s->c, s->res set). */
int sim__setup_pools(struct sim__state *s, struct ms_error *err);
/* Frees what sim_run allocated for the state (not the result). */
void sim__teardown(struct sim__state *s);
/* GPU-seconds of the instances that exist, accrued up to now. */
void sim__accrue(struct sim__state *s);
int sim__holds_work(const struct sim__inst *in);
/* The pool's queue length and KV blocks used change by delta (series and policy);
 * inline: every enqueue, batch start and KV block change calls one. */
static inline int sim__pool_queued(struct sim__state *s, int pool, int64_t delta)
{
	struct sim__pool *p = &s->pool[pool];

	p->queued = (uint64_t)((int64_t)p->queued + delta);
	policy_queue_changed(&s->pol, pool, delta);
	return metrics_series_level(&s->res->pool[pool].series, METRICS_SER_QUEUE, s->now,
				    (double)p->queued);
}

static inline int sim__pool_blocks(struct sim__state *s, int pool, int64_t delta)
{
	struct sim__pool *p = &s->pool[pool];

	p->blocks_used = (uint64_t)((int64_t)p->blocks_used + delta);
	/* normalised by the pool's size now: the series divides by its size at the start */
	return metrics_series_level(&s->res->pool[pool].series, METRICS_SER_KV, s->now,
				    (double)p->blocks_used * p->norm_w);
}

#endif
