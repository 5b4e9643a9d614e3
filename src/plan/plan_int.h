/*
 * plan's searches, internal: the shared state of one search call (memo of
 * simulated candidates, the early stop's allowances, the first error), the
 * jobs that run on worker threads, and the one simulation primitive they all
 * call (plan__eval). plan_search.c owns the machinery and the cheapest-pools
 * search; plan_rate.c the highest-rate searches and the budget's split.
 */
#ifndef PLAN_INT_H
#define PLAN_INT_H

#include <pthread.h>

#include "plan/plan.h"

/* One simulated candidate, kept for every job of the call. */
struct plan__memo {
	struct sim_deploy d;
	double rate;
	int met;   /* 1 met, 0 missed, -1 cannot run (e.g. TP does not fit the model) */
	int tails; /* v holds the P99s (the run went to the end) */
	struct plan_verdict v;
};

struct plan__shared {
	const struct plan_opts *o;
	uint64_t n[PLAN__CLASSES];     /* requests per class in the trace */
	uint64_t allow[PLAN__CLASSES]; /* misses each class may have */
	pthread_mutex_t mu;            /* guards everything below */
	struct plan__memo *memo;
	size_t n_memo, cap_memo;
	unsigned done, reused;
	int failed;
	struct ms_error err;
};

enum plan__job_kind { PLAN__JOB_CHEAPEST, PLAN__JOB_RATE };

struct plan__job {
	struct plan__shared *sh;
	enum plan__job_kind what;
	enum sim_deploy_kind kind;
	int tp;
	uint32_t budget;                /* rate jobs */
	const struct sim_deploy *fixed; /* plan_max_rate_fixed: the pools, not a split */
	double tol;                     /* rate jobs: relative step of the bisection */
	double predict;                 /* rate jobs: expected answer (0: none) */
	struct plan__job *after;        /* runs once this job is done (its answer predicts) */
	int state;                      /* 0 waiting, 1 running, 2 done (the pool's) */
	unsigned evals;                 /* candidates simulated (memo hits not counted) */
	unsigned splits;                /* rate jobs: splits tried beyond the work rule's */
	/* results */
	int found;
	struct sim_deploy best;
	uint32_t best_gpus;
	double best_rate;
	struct plan_verdict best_v;
};

/* What a caller of plan__eval needs from the run. */
enum {
	PLAN__TAILS = 1,     /* the P99s of a run that goes to the end (no early pass) */
	PLAN__PASS_STOP = 2, /* may stop once the run can no longer fail */
};

/*
 * Simulates deployment d at rate scale `rate` (memoised for the whole call);
 * *met as in struct plan__memo, the verdict in *v when given. Returns 0 or a
 * negative code (the shared error is set, every job stops).
 */
int plan__eval(struct plan__job *j, const struct sim_deploy *d, double rate, unsigned flags,
	       int *met, struct plan_verdict *v);
/* Records err as the call's error (the first one wins); returns rc. */
int plan__fail(struct plan__shared *sh, int rc, const struct ms_error *err);

/*
 * Runs the trace on c's deployment with its requests spread far apart (the
 * rows that still overlapped are replayed again on their own, twice as far
 * apart, until none does), so each runs alone: its latencies
 * are the floor of what any load gives it (plan_slo.c).
 */
int plan__isolated_run(const struct sim_config *c, const struct trace_set *ts,
		       struct sim_result *res, struct ms_error *err);
/*
 * 1 when job j's design cannot meet the SLO at any size or rate: more of a
 * class's requests miss a target on an idle cluster of the design than the
 * class may miss (load only adds waiting and bigger batches). Memoised.
 */
int plan__hopeless(struct plan__job *j, int *hopeless);

/* The rate lattice of tolerance tol: rates 2^(k / one), kmin <= k <= kmax (plan_rate.c). */
void plan__lattice(double tol, int *one, long *kmin, long *kmax);
/* Rate k of that lattice, 2^(k / one): the one place its doubles are made, so the
   reach (plan_search.c) counts exactly the rates the search ran (plan_rate.c). */
double plan__lattice_rate(long k, int one);
/* The rate search of one job (plan_rate.c). */
int plan__search_rate(struct plan__job *j);

#endif
