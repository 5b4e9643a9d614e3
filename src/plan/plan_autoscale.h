/*
 * plan_autoscale: the autoscaler a design gets in a simulated run (used by
 * `sim --autoscale` and `reproduce`): enc + llm pools get ModServe's
 * stage-aware rule with per-instance capacities measured at the SLO
 * (plan_capacity.h) and initial sizes from the trace's history; mono and pd an
 * operator's request-rate baseline. Sets the run's initial pool sizes and its
 * tick hook; the rule itself is policy_scale, the glue sim_autoscale.
 */
#ifndef PLAN_AUTOSCALE_H
#define PLAN_AUTOSCALE_H

#include "plan/plan.h"
#include "sim/sim_autoscale.h"

struct plan_scale_opts {
	double interval_s, startup_s, tick_s;
	unsigned long long min, max;     /* per pool; 0: 1 and the deployment's size */
	int no_history;                  /* start at max instead of the history's sizes */
	double slo_scale, slo_ttft, slo_tpot; /* as given (0: the reference's) */
	double slo_ttft_run, slo_tpot_run;    /* the run's targets, for windowed attainment */
	struct plan_slo *row_slo;        /* per-row targets: filled once when empty (caller
					    releases), reused when they cover the trace */
};

/*
 * Picks the rule for c's design, sets c's pool sizes (c->deploy's counts are
 * the maxima unless so->max) and tick hook, and runs it through a, which must
 * outlive the run. w: the trace's work estimate, or NULL.
 */
int plan_autoscale_setup(const struct plan_scale_opts *so, const struct trace_set *ts,
			 struct sim_config *c, const struct sim_work *w, struct sim_autoscale *a,
			 struct ms_error *err);

#endif
