/*
 * policy_int: names shared by the files of policy/ (never included elsewhere):
 * the sliding-window counters (policy_stats.c) that routing and finish feed.
 */
#ifndef POLICY_INT_H
#define POLICY_INT_H

#include "policy/policy.h"

/* Adds v0..v3 to the counters of w at time now (advancing the window: O(1) amortised). */
void policy__window_add(struct policy_window *w, double now, double v0, double v1, double v2,
			double v3);
/* A request finished on pool `pool`: counts it and whether it met both SLO targets. */
void policy__slo_add(struct policy *pol, int pool, double now, double ttft, double tpot);

#endif
