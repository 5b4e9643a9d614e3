/*
 * plan: the cheapest static cluster that meets a tail-latency SLO, and the
 * highest load a GPU budget sustains within it, both found by simulation.
 *
 * Owns the SLO as the ModServe paper defines it (struct plan_slo), the verdict
 * on one simulated run (struct plan_verdict) and the searches over pool sizes
 * (plan_search.c). Called by cli/cmd_plan.c and, for the paper's figures, by
 * `reproduce`. Sits above sim/: it runs sim_run() as a black box, many times,
 * in parallel threads (sim_run keeps no global state; perf and the trace are
 * read only), and never looks inside the simulator.
 *
 * SLOs (paper section 6): the TTFT and TPOT of an isolated request on the
 * monolith, times an SLO scale, with two reference requests: text-only (1,000
 * text tokens, 100 output tokens) and one-image (the same plus one image).
 * Text requests are judged against the first, image requests against the
 * second, each class met at P99. The monolith's reference is measured at the
 * TP of the monolith being compared. Under that fixed image target a request
 * with 16 images can miss on an idle monolith (its images are encoded inside
 * one instance), so a second mode judges each request against its own
 * isolated latency on the monolith times the scale (PLAN_SLO_REQUEST).
 *
 * "Met at P99" is counted, not interpolated: at most floor((1 - q) x n) of a
 * class's n requests may miss the TTFT target, and as many the TPOT target
 * (requests with one output token have no TPOT and never miss it). This is
 * the P99 condition on order statistics, and it lets a run stop as soon as a
 * class has missed too often.
 */
#ifndef PLAN_H
#define PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "base/ms_error.h"
#include "metrics/metrics.h"
#include "sim/sim.h"
#include "trace/trace.h"

enum plan_slo_mode {
	PLAN_SLO_CLASS = 0, /* paper: per-class reference requests */
	PLAN_SLO_REQUEST,   /* each request's own isolated latency on the monolith */
};

enum { PLAN_TEXT = 0, PLAN_IMAGE = 1, PLAN__CLASSES };

struct plan_slo {
	enum plan_slo_mode mode;
	double scale;
	double quantile;                /* 0.99 */
	int mono_tp;                    /* TP of the reference monolith */
	double ttft[PLAN__CLASSES];     /* class targets, s (both modes: the reference's x scale) */
	double tpot[PLAN__CLASSES];
	size_t n;                       /* PLAN_SLO_REQUEST: rows of the trace */
	float *req_ttft, *req_tpot;     /* PLAN_SLO_REQUEST: per-row targets, s (NaN: none) */
};

void plan_slo_init(struct plan_slo *s);
void plan_slo_release(struct plan_slo *s);

/*
 * Class targets: the two reference requests alone on a monolith of one TP-tp
 * instance, simulated with c's options (c->deploy is ignored), times scale.
 * Explicit targets (> 0) in ttft_s / tpot_s replace both classes' values.
 */
int plan_slo_reference(struct plan_slo *s, const struct sim_config *c, int tp, double scale,
		       struct ms_error *err);
/*
 * PLAN_SLO_REQUEST: also every row's isolated TTFT and TPOT on that monolith
 * (the trace replayed with its requests spread far apart on one instance, so
 * none waits for another; rows that still overlapped are replayed again on
 * their own, twice as far apart, until none does), x scale.
 */
int plan_slo_per_request(struct plan_slo *s, const struct sim_config *c,
			 const struct trace_set *ts, struct ms_error *err);

struct plan_verdict {
	int met;                              /* every class within its allowed misses */
	uint64_t n[PLAN__CLASSES];            /* requests per class in the trace */
	uint64_t miss_ttft[PLAN__CLASSES], miss_tpot[PLAN__CLASSES];
	double p99_ttft[PLAN__CLASSES], p99_tpot[PLAN__CLASSES]; /* for the table (NaN: empty) */
	int stopped;                          /* the run was cut short once the answer was known */
	double finished;                      /* share of the trace's requests finished */
	double rate;                          /* rate scale the run was simulated at */
};

/* The TTFT and TPOT targets of trace row `row` of class `cls` (either mode). */
void plan_slo_target(const struct plan_slo *s, size_t row, int cls, double *ttft_s,
		     double *tpot_s);
/* Misses a class of n requests may have and still meet the SLO at quantile q. */
uint64_t plan_allowed_misses(uint64_t n, double q);
/*
 * Judges a finished run (res->req[i] is row i of the trace the SLO was made for):
 * counts only, O(n); with `tails` also the P99s (two sorts per class).
 */
int plan_judge(const struct plan_slo *s, const struct sim_result *res, int tails,
	       struct plan_verdict *v, struct ms_error *err);

/* ---- searches (plan_search.c) ---- */

struct plan_eval;

struct plan_opts {
	const struct sim_config *base;  /* perf, options; deploy is set per candidate */
	const struct trace_set *ts;
	const struct plan_slo *slo;
	uint32_t max_gpus;              /* largest cluster considered */
	int threads;                    /* simulations at once (>= 1) */
	int tps[4];                     /* LLM TP degrees to try (0-terminated; empty: default TP) */
	int n_tps;
	/*
	 * Highest load per budget: 0 splits the budget by the work rule of sim
	 * (sim_deploy_by_work) at each rate; 1 also walks the split along the
	 * budget towards the pool that the failing targets name (plan_rate.c).
	 */
	int split_search;
	/* one line per simulated candidate (verbose); called from worker threads, serialised */
	void (*step)(void *arg, const char *design, const struct sim_deploy *d,
		     const struct plan_verdict *v, double wall_s);
	void *step_arg;
	/* candidates simulated so far, for a progress bar (serialised like step) */
	void (*progress)(void *arg, unsigned done);
	void *progress_arg;
};

struct plan_choice {
	enum sim_deploy_kind kind;
	int found;                 /* 0: nothing up to max_gpus meets the SLO */
	struct sim_deploy deploy;  /* the cheapest that meets it */
	uint32_t gpus;
	double usd_per_hour;
	struct plan_verdict v;
	unsigned evals;            /* candidates simulated for this design */
};

/*
 * Cheapest pools per design (GPUs, then instance count): mono = n x TP-t;
 * pd = prefill n1 x TP-t + decode n2 x TP-t; modserve = n1 TP-1 encoders +
 * n2 x TP-t LLM instances (no encoders for an image-free trace). Each t of
 * o->tps is tried. Pools are monotone (more instances never hurt), so one
 * pool's minimum is found by doubling then bisection, and a two-pool design
 * walks its frontier: as the LLM pool grows, the encoders (or decoders) it
 * needs can only shrink. Results are memoised per candidate.
 */
int plan_cheapest(const struct plan_opts *o, const enum sim_deploy_kind *kinds, int n_kinds,
		  struct plan_choice *out, struct ms_error *err);

struct plan_capacity {
	enum sim_deploy_kind kind;
	uint32_t gpus;
	struct sim_deploy deploy;  /* the budget's work-proportional split at the answer */
	double rate_scale;         /* highest that met the SLO; 0 when even the lowest tried fails */
	unsigned evals;
	unsigned splits;           /* splits simulated beyond the work rule's (split_search) */
};

/*
 * Highest rate scale (arrivals at t / scale) a budget sustains within the SLO,
 * per design, the budget split by sim_deploy_by_work at each scale: doubling,
 * then bisection to a relative step of `tol`. LLM instances at o->tps[0] (or
 * the model's TP). Budgets and designs run in parallel. The per-request targets (PLAN_SLO_REQUEST) do not depend on load.
 */
int plan_max_rate(const struct plan_opts *o, const enum sim_deploy_kind *kinds, int n_kinds,
		  const uint32_t *budgets, int n_budgets, double tol, struct plan_capacity *out,
		  struct ms_error *err);

/*
 * The same for fixed deployments ds[0..n) (no split: the pools as given),
 * rates[i] for ds[i]; the deployments run in parallel.
 */
int plan_max_rate_fixed(const struct plan_opts *o, const struct sim_deploy *ds, int n,
			double tol, double *rates, struct ms_error *err);

/*
 * The search's reach (plan_space.c). The configuration space plan decides
 * over: each design of the call at each LLM TP tried, each rate of `rates`
 * (the rate lattice of the highest-load search, and the planned rate), and
 * every pool tuple (count per pool, at least one; roles and TPs fixed by the
 * design) within `cap` GPUs. A configuration's verdict is established when it
 * was simulated, or implied by monotonicity from a simulated one: a tuple
 * that dominates (every pool >=) a passing one passes at the same or a lower
 * rate; one dominated by a failing one fails at the same or a higher rate.
 * Points outside the space (over the cap, other rates) imply into it too.
 */
struct plan_space {
	const enum sim_deploy_kind *kinds;
	int n_kinds;
	const int *tps;   /* LLM TPs */
	int n_tps;
	int enc;          /* modserve has an encoder pool (the trace has images) */
	int epd;          /* modserve's LLM side is prefill + decode pools */
	uint32_t cap;     /* GPUs */
	const double *rates;
	int n_rates;
};
struct plan_point {   /* one simulated verdict */
	struct sim_deploy d;
	double rate;
	int met;          /* 1 met, 0 missed, -1 cannot run */
};
struct plan_reach {
	uint64_t space;      /* configurations in the space */
	uint64_t simulated;  /* of them, simulated (each once, whatever the runs) */
	uint64_t implied;    /* not simulated, implied by monotonicity */
	uint64_t conflicts;  /* implied both to pass and to fail (the simulator not monotone) */
	int counted;         /* 0: a layout's space was too large to count (counts partial) */
	int n_rates;         /* the space's rates and GPU cap, for the summary */
	uint32_t cap;
};
int plan_reach(const struct plan_space *sp, const struct plan_point *pts, size_t n,
	       struct plan_reach *out, struct ms_error *err);

/*
 * plan_cheapest and plan_max_rate in one call, every job on one pool of
 * o->threads workers (the longest first), with one memo: what a caller
 * wanting both should use. Either half may be skipped (choices NULL or
 * n_budgets 0). *stats (may be NULL): candidates simulated and memo hits.
 */
struct plan_stats {
	unsigned simulated, reused;
	struct plan_reach reach; /* the verdicts the call established */
};
int plan_run(const struct plan_opts *o, const enum sim_deploy_kind *kinds, int n_kinds,
	     struct plan_choice *choices, const uint32_t *budgets, int n_budgets, double tol,
	     struct plan_capacity *caps, struct plan_stats *stats, struct ms_error *err);

/*
 * One candidate judged as the searches judge it: d simulated at `rate` with
 * the early stop (a class over its allowance stops the run; with pass_stop
 * also a run that can no longer fail). The verdict (*v, no P99s) is the one
 * the whole run gives; v->stopped says whether it was cut short.
 */
int plan_eval(const struct plan_opts *o, const struct sim_deploy *d, double rate, int pass_stop,
	      struct plan_verdict *v, struct ms_error *err);

/* dst = src with every target multiplied by k (dst freshly initialised; owns its copy). */
int plan_slo_scaled(struct plan_slo *dst, const struct plan_slo *src, double k,
		    struct ms_error *err);

#endif
