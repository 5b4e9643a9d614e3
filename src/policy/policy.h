/*
 * policy: every serving decision, in one place the simulator (virtual time)
 * and a gateway (wall time) both call. Owns:
 *  - struct policy_req, the request as a policy sees it, and struct
 *    policy_ticket, the per-request state of its charges, held by the caller;
 *  - routing: each image item to an encoder (image-level parallelism), then
 *    the request to an LLM instance (or prefill, then decode), by least
 *    pending work, round-robin or seeded random;
 *  - charging: what counts as an instance's pending work and when it is
 *    released, behind calls made at the moments the caller observes (image
 *    item encoded, first token, finished, preempted, instance failed);
 *  - queue order (a key per queued request) and the preemption victim;
 *  - pools whose members change at run time (starting -> ready -> draining ->
 *    removed, or failed), with stable instance ids; only ready ones are picked;
 *  - per-pool statistics for an autoscaler (windowed arrival rates, queue
 *    length, pending work, windowed SLO attainment), O(1) amortised per call.
 * Knows no clock, socket or sim/: every call takes `now` (seconds on any
 * monotonic scale: 0-based virtual time or 1.7e9 epoch seconds alike).
 * Picks never scan a pool: least-work keeps an indexed min-heap per pool on
 * (pending + observed, id) over its ready members, so charge, release and pick
 * are O(log n); ties go to the lowest id (deterministic). `observed` is work the
 * caller saw on the instance that is not its own (a gateway's scrape of the
 * backend's queue: other gateways' requests); 0 unless policy_inst_observe is
 * called, so the simulator's picks are the pending-work rule alone.
 * Releasing more than is pending is the caller's bug: the call clamps at 0,
 * counts it (policy.over_released) and returns -MS_ERANGE; the simulator
 * aborts on it, a gateway logs it and goes on. Nothing here aborts on input.
 */
#ifndef POLICY_H
#define POLICY_H

#include <stdint.h>

#include "base/ms_error.h"

#define POLICY_MAX_POOLS 4
#define POLICY_NONE UINT32_MAX
#define POLICY_WINDOW_BUCKETS 32
#define POLICY_RECENT_BUCKETS 8 /* rate_recent: the newest quarter of the window */

enum policy_route {
	POLICY_ROUTE_LEAST = 0, /* least pending work (ModServe's rule) */
	POLICY_ROUTE_RR,        /* round-robin over ready members, blind to load */
	POLICY_ROUTE_RANDOM,    /* uniform over ready members, seeded (vLLM's EPD example proxy) */
};

/* What a pool's instances do (the simulator's roles, in policy terms). */
enum policy_stage {
	POLICY_STAGE_ENC = 0, /* preprocess + encode images */
	POLICY_STAGE_MONO,    /* encode + prefill + decode */
	POLICY_STAGE_LLM,     /* prefill + decode, images arrive encoded */
	POLICY_STAGE_PREFILL, /* prefill (and encode, without an encoder pool); KV leaves */
	POLICY_STAGE_DECODE,  /* decode, KV arrives */
};

/* Queue order: the key a queued request is sorted by (smallest first). */
enum policy_order {
	POLICY_ORDER_FCFS = 0, /* time of joining the queue; preempted ones go to the front */
	/*
	 * ModServe's SLO-driven order: the latest moment the request can start and
	 * still meet its first-token deadline, capped by ageing:
	 *   slack = deadline - now - est, est = (prompt tokens + image tokens not
	 *   yet encoded) x token_s;
	 *   key = now + slack when 0 <= slack <= age_s, else now + age_s
	 *   (no deadline, a slack beyond the cap, or a deadline already lost).
	 * Short requests (text-only, few images: tight deadlines, small est) go
	 * ahead of long ones; one that would miss anyway stops spending others'
	 * slack. Keys are absolute times never above now + age_s, so a request
	 * that joined at t0 is passed only by requests that joined before
	 * t0 + age_s: a steady stream of short requests delays a long one by at
	 * most what joins in age_s seconds (no starvation). Preempted requests go
	 * to the front as under FCFS (they hold generated tokens).
	 */
	POLICY_ORDER_SLO,
};

enum policy_inst_state {
	POLICY_INST_STARTING = 0, /* requested, costs GPU time, takes no work yet */
	POLICY_INST_READY,        /* picked by routing */
	POLICY_INST_DRAINING,     /* takes no new work, finishes what it holds */
	POLICY_INST_REMOVED,      /* gone (was empty); its id is never reused */
	POLICY_INST_FAILED,       /* gone with its work: charges on it were dropped */
};

enum policy_modality { POLICY_TEXT = 0, POLICY_IMAGE };

/* A request as the policy sees it (filled by the caller from its own request). */
struct policy_req {
	enum policy_modality modality;
	uint32_t images;           /* image items to encode */
	uint32_t tokens_per_image; /* image tokens of one image for the served model */
	uint64_t text_tokens;
	uint64_t image_tokens;     /* images x tokens_per_image */
	uint64_t prompt_tokens;    /* into the LLM: decoder-only text + image, cross-attention text */
	uint64_t cross_tokens;     /* cross-attention: image tokens into those layers, else 0 */
	uint64_t output_tokens;    /* expected (the trace's, or a gateway's max_tokens) */
	double arrival;            /* seconds, the caller's scale */
	double deadline;           /* first-token deadline, same scale; 0 = none */
	uint32_t cls;              /* request class (0 = default) */
};

/* Per-request charge state, held by the caller (in its request slot): policy_ticket_init. */
struct policy_ticket {
	uint64_t pend_prefill;     /* charged to `llm` until the first token */
	uint64_t pend_rest;        /* charged to `llm` until finished (or handed to decode) */
	double arrival, deadline;
	uint32_t llm;              /* LLM instance charged, POLICY_NONE before routing */
	uint32_t img_left;         /* images not yet encoded */
	uint32_t tokens_per_image;
	uint32_t cls;
	uint8_t stage;             /* 0: next LLM route is the entry pool, 1: the decode pool */
	uint8_t first_done;
	uint16_t preempted;
	uint64_t prompt_tokens;    /* for the SLO order's estimate */
};

/* One image item: the images of a request that go to one encoder. */
struct policy_item {
	uint32_t inst, nimg;
};

/* Sliding window of counts in POLICY_WINDOW_BUCKETS buckets of window / buckets seconds. */
struct policy_window {
	double dt;
	double t_next;             /* end of the newest bucket (-inf before use) */
	int64_t epoch;             /* bucket number of the newest bucket, INT64_MIN before use */
	uint32_t head;
	double sum[4];
	double b[POLICY_WINDOW_BUCKETS][4];
};

enum policy_arr { POLICY_ARR_REQ = 0, POLICY_ARR_IMAGES, POLICY_ARR_IMG_TOKENS, POLICY_ARR_PROMPT };

/* What an autoscaler reads of a pool (policy_pool_stats fills it; O(1)). */
struct policy_pool_stats {
	double rate[4];            /* per second over the window, by enum policy_arr */
	double rate_recent[4];     /* the same over the newest POLICY_RECENT_BUCKETS buckets
				      (a quarter of the window: an autoscaler's fast signal) */
	uint64_t queued;           /* requests (or items) waiting at its instances */
	uint64_t pending;          /* pending work over its members */
	uint32_t starting, ready, draining;
	uint64_t finished;         /* requests finished over the window */
	double slo_attainment;     /* share of those meeting both targets (1 when none) */
};

struct policy_pool_conf {
	enum policy_stage stage;
	enum policy_route route;
	uint64_t seed;             /* for POLICY_ROUTE_RANDOM */
};

struct policy_conf {
	int n_pools;
	struct policy_pool_conf pool[POLICY_MAX_POOLS];
	enum policy_order order;
	double order_age_s;        /* POLICY_ORDER_SLO: ageing cap on slack; 0 = 10 s */
	double order_token_s;      /* POLICY_ORDER_SLO: seconds of work per token (est); 0 = none */
	double window_s;           /* statistics window; 0 = 60 s */
	int no_windows;            /* skip the windowed counts (a caller that never reads them) */
	double slo_ttft_s, slo_tpot_s; /* windowed attainment targets; 0 = none */
};

struct policy_hent {
	uint64_t pending;
	uint32_t id, pad;
};

struct policy_pool {
	struct policy_pool_conf conf;
	struct policy_hent *heap;  /* ready members, min-heap on (pending, id) */
	uint32_t n_heap;
	uint32_t *ready, n_ready;  /* ready members in id order of becoming ready (rr, random) */
	uint32_t cap;
	uint32_t rr_next;
	uint64_t rng;
	uint32_t starting, draining;
	uint64_t queued, pending;
	struct policy_window arr, slo; /* slo: [0] finished, [1] met */
};

struct policy_inst {
	uint8_t state;
	uint8_t pool;
	uint64_t pending;
	uint64_t observed;         /* others' work seen on it (policy_inst_observe), in pending's units */
	uint32_t heap_pos, ready_pos;
	uint32_t item;             /* scratch of policy_route_images, POLICY_NONE between calls */
};

/* A routing decision as it is made (policy_on_pick): for decision logs that compare
 * callers (sim against a gateway); not needed to route. */
typedef void (*policy_pick_fn)(void *arg, const struct policy_req *rq, int pool, uint32_t inst,
			       double now);

struct policy {
	struct policy_conf conf;
	struct policy_pool pool[POLICY_MAX_POOLS];
	struct policy_inst *inst;  /* by id, append-only */
	uint32_t n_inst, cap_inst;
	int p_enc, p_entry, p_decode; /* pool indices, -1 when absent */
	int entry_encodes;         /* entry pool encodes images itself (mono, pd prefill) */
	double front;              /* FCFS: keys of preempted requests, below every enqueue key */
	uint64_t over_released;    /* releases clamped at 0 (caller bugs, counted) */
	uint64_t preemptions;
	policy_pick_fn on_pick;    /* NULL unless policy_on_pick set it */
	void *pick_arg;
};

/* fn is told every pick from now on (each image's encoder, each LLM instance); NULL: none. */
static inline void policy_on_pick(struct policy *pol, policy_pick_fn fn, void *arg)
{
	pol->on_pick = fn;
	pol->pick_arg = arg;
}

/* Pools as conf says, no instances yet. -MS_EINVAL names what the set of stages lacks. */
int policy_init(struct policy *pol, const struct policy_conf *conf, struct ms_error *err);
void policy_release(struct policy *pol);

/*
 * Instances. policy_inst_add appends one to `pool` with the next id (ids are
 * never reused), STARTING, or READY when `ready` is set (a static pool).
 */
int policy_inst_add(struct policy *pol, int pool, int ready, double now, uint32_t *id,
		    struct ms_error *err);
/* STARTING -> READY (the caller observed the startup delay). */
int policy_inst_ready(struct policy *pol, uint32_t id, double now);
/* READY or STARTING -> DRAINING: no new work. */
int policy_inst_drain(struct policy *pol, uint32_t id, double now);
/* DRAINING (or STARTING) with nothing pending -> REMOVED; -MS_EINVAL otherwise. */
int policy_inst_remove(struct policy *pol, uint32_t id, double now);
/*
 * An instance died: its pending work is dropped and it leaves routing (FAILED).
 * Tickets that pointed at it release nothing more there; the caller routes
 * their requests again (policy_route_llm resets the ticket's LLM charge).
 */
int policy_inst_fail(struct policy *pol, uint32_t id, double now);
enum policy_inst_state policy_inst_state(const struct policy *pol, uint32_t id);
int policy_inst_pool(const struct policy *pol, uint32_t id);
uint64_t policy_inst_pending(const struct policy *pol, uint32_t id);
/*
 * Work on the instance that this caller did not charge (another gateway's
 * requests, as the backend's own metrics show them), in the units of pending
 * work; it counts in least-work picks until the next observation. A caller
 * that never calls it (the simulator) routes on its own charges alone.
 */
int policy_inst_observe(struct policy *pol, uint32_t id, uint64_t observed, double now);
/* Ready members of a pool (what routing picks from). */
uint32_t policy_pool_ready(const struct policy *pol, int pool);

/*
 * Routing. policy_ticket_init once per request, then policy_route_images spreads the request's images over the ready
 * encoders, one pick per image, charging each pick at once (image tokens), so
 * a many-image request lands on several encoders; writes the items (one per
 * encoder, in order of first pick) and returns their count. -MS_EUNSUPPORTED:
 * no encoder pool; -MS_ENOTFOUND: no ready encoder.
 * policy_route_llm is called when the request's images are encoded (or it has
 * none), and again when a prefill instance hands it over: picks the entry LLM
 * pool, then the decode pool, charges the instance and writes its id.
 * -MS_ENOTFOUND: no ready instance in that pool.
 */
void policy_ticket_init(struct policy_ticket *tk, const struct policy_req *rq);
int policy_route_images(struct policy *pol, const struct policy_req *rq, struct policy_ticket *tk,
			double now, struct policy_item *out);
int policy_route_llm(struct policy *pol, const struct policy_req *rq, struct policy_ticket *tk,
		     double now, uint32_t *inst);

/*
 * What the caller observes, at the moment it does. Each returns 0, or
 * -MS_ERANGE after clamping a release at 0 (see above).
 * policy_image_encoded: `nimg` images of the request finished on encoder enc
 * (returns 1 when they were its last).
 * policy_first_token: the prompt finished prefilling on its LLM instance
 * (called again after a recompute: it releases only once).
 * policy_finished: the last token; ttft and tpot (NaN: none) feed the pool's
 * windowed SLO attainment.
 */
int policy_image_encoded(struct policy *pol, struct policy_ticket *tk, uint32_t enc,
			 uint32_t nimg, double now);
int policy_first_token(struct policy *pol, struct policy_ticket *tk, double now);
int policy_finished(struct policy *pol, struct policy_ticket *tk, double now, double ttft,
		    double tpot);
int policy_preempted(struct policy *pol, struct policy_ticket *tk, double now);

/*
 * Queue order: a queued request is sorted by (key, the caller's insertion
 * sequence), smallest first. policy_queue_key is the key when it joins a queue,
 * policy_requeue_key when it comes back preempted (FCFS: to the front, the
 * latest preempted first, as vLLM's waiting deque).
 */
double policy_queue_key(struct policy *pol, const struct policy_ticket *tk, double now);
double policy_requeue_key(struct policy *pol, const struct policy_ticket *tk, double now);
/*
 * Preemption victim: among admitted requests, the one with the largest key
 * gives its KV back. `prefilling`: admitted but its prompt not done; `joined`:
 * the caller's sequence number of the moment it entered that state. FCFS: the
 * newest prefilling one, else the newest decoding one (vLLM's tail of running).
 */
double policy_victim_key(const struct policy *pol, const struct policy_ticket *tk,
			 int prefilling, uint64_t joined, double now);

/*
 * The caller's queue of a pool's instance grew or shrank by delta (items or
 * requests). Inline: the simulator calls it at every queue change.
 */
static inline void policy_queue_changed(struct policy *pol, int pool, int64_t delta)
{
	pol->pool[pool].queued = (uint64_t)((int64_t)pol->pool[pool].queued + delta);
}
void policy_pool_stats(struct policy *pol, int pool, double now, struct policy_pool_stats *out);

/* "fcfs", "slo"; returns 0 or -MS_EINVAL. */
int policy_order_parse(const char *s, enum policy_order *out, struct ms_error *err);
const char *policy_order_name(enum policy_order o);

/* "least", "rr", "random"; returns 0 or -MS_EINVAL. */
int policy_route_parse(const char *s, enum policy_route *out, struct ms_error *err);
const char *policy_route_name(enum policy_route r);

#endif
