/*
 * policy_scale: how many instances each pool should have, from what the
 * policy sees of it (policy_pool_stats). Knows no simulator and no clock:
 * the caller asks at moments of its choosing (a tick), passing `now`, and
 * adds or drains instances to reach the targets (sim/sim_autoscale.c does it
 * in virtual time; a gateway would from a timer).
 *
 * Rule (ModServe, paper section 4): replicas = the fewest instances that
 * carry the load, load a windowed rate of the pool (image tokens/s for
 * encoders, prompt tokens/s for LLM instances, or requests/s for an
 * operator's baseline). What n instances carry within the SLO is found
 * offline (plan_capacity.c): `capacity` per instance (ceil(load / capacity)),
 * or a curve of what pools of a few sizes carry, interpolated linearly between
 * them and extended by `capacity` per instance beyond the largest (a pool's
 * per-instance capacity grows with its size when requests have many images:
 * a 16-image request fills a pool of 16 encoders, not one of 64).
 * Up, at any call: when the windowed load needs more than the pool has
 * (starting ones count: their capacity is on its way) by more than the
 * hysteresis (at the periodic evaluation: by anything), and at once
 *  - on a burst (burst_queue > 0): the pool's queue above burst_queue per
 *    ready instance and grown since the last call (a queue the pool is
 *    already draining is no new burst: no second answer to one). The averages lag a burst by the window, so the need is
 *    taken from the recent arrival rate (rate_recent: the newest quarter of
 *    the window) plus the backlog drained over drain_s: the fewest instances
 *    that carry rate_recent + backlog / drain_s, the backlog in the load's
 *    units (an encoder pool's pending image tokens; else the queued requests x
 *    the window's load per request). The backlog term waits while instances
 *    of the pool are starting and one call more (they are its answer; the
 *    queue grows until they are ready), the recent rate does not (a burst
 *    still rising is followed);
 *  - when the windowed SLO attainment of the service drops below attain_min
 *    (0.99; at least attain_min_n requests finished in the window, over the
 *    scaled pools: requests finish at the LLM pool whichever stage made them
 *    late): one instance more for each pool with requests queued at it (at
 *    least one per ready instance), where the time was lost; it waits while
 *    instances of that pool are starting.
 * A load step is therefore followed within the rate window + one call period
 * + the startup delay (under interval_s + startup when window + period <=
 * interval_s), a burst within a call period + the startup delay.
 * Down, only at the periodic evaluation every interval_s (default 300 s, the
 * first one interval after the first call, once the rate window is full),
 * once cooldown_s has passed since the pool's last change, with no trigger
 * active, and only to what the load needs at (1 - hysteresis) of capacity,
 * so a load near a boundary stays where it is (no flapping). Always within
 * [min, max], and with max_gpus the pools' targets together within that many
 * GPUs (an increase is cut, the largest first, never a pool that holds).
 */
#ifndef POLICY_SCALE_H
#define POLICY_SCALE_H

#include <stdint.h>

#include "base/ms_error.h"
#include "policy/policy.h"

#define POLICY_SCALE_CURVE 8

struct policy_scale_pool {
	int pool;                /* policy pool index */
	int rate_pool;           /* pool whose arrival rate is the load; -1 = pool */
	enum policy_arr load;    /* which windowed rate */
	double capacity;         /* load per second one instance carries (> 0); with a
				    curve, what each instance beyond its largest size adds */
	uint32_t n_curve;        /* points of the curve, 0: capacity per instance alone */
	uint32_t curve_n[POLICY_SCALE_CURVE];  /* pool sizes, increasing, >= 1 */
	double curve_load[POLICY_SCALE_CURVE]; /* load/s curve_n[k] instances carry (>= 0;
						  a smaller one's at least: a running max) */
	uint32_t min, max;
	uint32_t gpus;           /* GPUs per instance, for conf.max_gpus; 0 = 1 */
	double burst_queue;      /* queued per ready instance that is a burst; 0 = off */
};

struct policy_scale_conf {
	int n;
	struct policy_scale_pool p[POLICY_MAX_POOLS];
	double interval_s;       /* 0 = 300 */
	double cooldown_s;       /* 0 = interval_s */
	double hysteresis;       /* 0 = 0.2; 0 <= h < 1 */
	double attain_min;       /* 0 = 0.99 */
	uint64_t attain_min_n;   /* 0 = 20; UINT64_MAX: no SLO trigger */
	double drain_s;          /* burst: the backlog is drained over this; 0 = 60 */
	uint32_t max_gpus;       /* all pools' targets x gpus within it; 0 = no such bound */
};

enum policy_scale_why {
	POLICY_SCALE_NONE = 0,
	POLICY_SCALE_PERIODIC,
	POLICY_SCALE_SLO,
	POLICY_SCALE_BURST,
};

struct policy_scale {
	struct policy_scale_conf conf;
	double next_eval, t_first;
	double last_change[POLICY_MAX_POOLS];
	uint64_t prev_queued[POLICY_MAX_POOLS]; /* at the last call: a burst's queue grows */
	uint8_t was_starting[POLICY_MAX_POOLS]; /* instances were starting at the last call */
	uint64_t ups, downs;       /* target changes, for reports */
};

/* Checks conf (capacity > 0, curve, min <= max, pools exist in pol's conf), fills defaults. */
int policy_scale_init(struct policy_scale *s, const struct policy_scale_conf *c,
		      const struct policy *pol, struct ms_error *err);
/*
 * Targets (starting + ready instances each pool should have) in target[i] for
 * conf.p[i], why[i] what moved it (NONE: keep what it has). Returns the
 * number of pools whose target differs from what they have.
 */
int policy_scale_step(struct policy_scale *s, struct policy *pol, double now, uint32_t *target,
		      enum policy_scale_why *why);
/* The fewest instances of conf.p[i] that carry `load` per second (the rule, unbounded). */
double policy_scale_need(const struct policy_scale *s, int i, double load);

#endif
