/*
 * policy_scale: how many instances each pool should have, from what the
 * policy sees of it (policy_pool_stats). Knows no simulator and no clock:
 * the caller asks at moments of its choosing (a tick), passing `now`, and
 * adds or drains instances to reach the targets (sim/sim_autoscale.c does it
 * in virtual time; a gateway would from a timer).
 *
 * Rule (ModServe, paper section 4): replicas = ceil(load / capacity), load a
 * windowed rate of the pool (image tokens/s for encoders, prompt tokens/s for
 * LLM instances, or requests/s for an operator's baseline), capacity what one
 * instance carries within the SLO (found offline: plan_capacity.c).
 * Up, at any call: when the windowed load needs more than the pool has
 * (starting ones count: their capacity is on its way) by more than the
 * hysteresis (at the periodic evaluation: by anything), and at once
 *  - when the pool's windowed SLO attainment drops below attain_min (0.99;
 *    at least attain_min_n requests finished in the window): at least one
 *    instance more, since the averages lag;
 *  - on a burst: the pool's queue above burst_queue per live instance and
 *    still growing since the last call: enough instances for the queue.
 * These two wait while instances of the pool are still starting, so one
 * burst is not answered twice. A load step is therefore followed within the
 * rate window + one call period + the startup delay (under interval_s +
 * startup when window + period <= interval_s).
 * Down, only at the periodic evaluation every interval_s (default 300 s, the
 * first one interval after the first call, once the rate window is full),
 * once cooldown_s has passed since the pool's last change, with no trigger
 * active, and only to what the load needs at (1 - hysteresis) of capacity,
 * so a load near a boundary stays where it is (no flapping). Always within
 * [min, max].
 */
#ifndef POLICY_SCALE_H
#define POLICY_SCALE_H

#include <stdint.h>

#include "base/ms_error.h"
#include "policy/policy.h"

struct policy_scale_pool {
	int pool;                /* policy pool index */
	int rate_pool;           /* pool whose arrival rate is the load; -1 = pool */
	enum policy_arr load;    /* which windowed rate */
	double capacity;         /* load per second one instance carries (> 0) */
	uint32_t min, max;
	double burst_queue;      /* queued per live instance that is a burst; 0 = off */
};

struct policy_scale_conf {
	int n;
	struct policy_scale_pool p[POLICY_MAX_POOLS];
	double interval_s;       /* 0 = 300 */
	double cooldown_s;       /* 0 = interval_s */
	double hysteresis;       /* 0 = 0.2; 0 <= h < 1 */
	double attain_min;       /* 0 = 0.99 */
	uint64_t attain_min_n;   /* 0 = 20 */
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
	uint64_t prev_queued[POLICY_MAX_POOLS];
	uint64_t ups, downs;       /* target changes, for reports */
};

/* Checks conf (capacity > 0, min <= max, pools exist in pol's conf) and fills defaults. */
int policy_scale_init(struct policy_scale *s, const struct policy_scale_conf *c,
		      const struct policy *pol, struct ms_error *err);
/*
 * Targets (starting + ready instances each pool should have) in target[i] for
 * conf.p[i], why[i] what moved it (NONE: keep what it has). Returns the
 * number of pools whose target differs from what they have.
 */
int policy_scale_step(struct policy_scale *s, struct policy *pol, double now, uint32_t *target,
		      enum policy_scale_why *why);

#endif
