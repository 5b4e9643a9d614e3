/*
 * sim_autoscale: runs a policy_scale autoscaler inside sim_run through its
 * tick hook (sim_config.on_tick): every tick it asks policy_scale_step for
 * each pool's target and adds instances (STARTING for startup_s, costing GPU
 * time from the request) or drains them (starting ones first, newest first,
 * then the ready ones holding the least work; each is removed once empty).
 * Records the cluster's size over time (GPUs requested and not removed,
 * per pool live instances) for the report. Also the paper's initial sizes
 * from history. Owns no simulator state: it only calls sim_ctl_*.
 */
#ifndef SIM_AUTOSCALE_H
#define SIM_AUTOSCALE_H

#include <stddef.h>
#include <stdint.h>

#include "base/ms_error.h"
#include "policy/policy_scale.h"
#include "sim/sim.h"

struct sim_autoscale_point {
	double t;
	uint32_t gpus;                 /* starting + ready + draining, x TP */
	uint32_t live[SIM_MAX_POOLS];  /* starting + ready per pool */
};

struct sim_autoscale {
	struct policy_scale_conf conf; /* pools by deployment index */
	struct policy_scale sc;
	double startup_s;
	int started;                   /* the first tick has recorded the starting size */
	int tp[SIM_MAX_POOLS];
	int n_pools;
	struct sim_autoscale_point *pts;
	size_t n, cap;
	uint64_t added, drained, why[4]; /* why: decisions by enum policy_scale_why */
	const char *rule;              /* the caller's name for the rule, for reports */
};

/*
 * conf's pools are indices in c->deploy; c's tick hook is set to run it every
 * tick_s (0: 30 s), startup_s the delay of a new instance. a must outlive the run.
 */
int sim_autoscale_attach(struct sim_autoscale *a, struct sim_config *c,
			 const struct policy_scale_conf *conf, double tick_s, double startup_s,
			 struct ms_error *err);
void sim_autoscale_release(struct sim_autoscale *a);
/* GPU-hours under the recorded curve up to t_end (a step function of the points). */
double sim_autoscale_gpu_hours(const struct sim_autoscale *a, double t_end);

/*
 * Initial sizes from history, as the paper: N_image = median image QPS (per
 * minute of ts, images per second) x the encode latency of one image on a
 * TP-1 encoder; N_text = N_image / median images per image request; both at
 * least 1. Arrival times are divided by rate_scale.
 */
void sim_autoscale_initial(const struct perf *perf, const struct trace_set *ts,
			   const struct sim_config *c, uint32_t *n_image, uint32_t *n_text);

#endif
