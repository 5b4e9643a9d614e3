/*
 * The searches of plan.h: jobs (one design at one TP, or one design at one
 * budget) run on worker threads; each job is a sequential search over
 * simulated candidates, memoised within the job. The first error stops every
 * job. A simulation is the unit of cost (about a second for the 1M-request
 * week), so the searches count them and avoid repeats rather than save CPU
 * elsewhere.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/ms_progress.h"
#include "plan/plan.h"

#define PLAN__MEMO 512

struct plan__memo {
	struct sim_deploy d;
	double rate;
	int met; /* 1 met, 0 missed, -1 cannot run (e.g. TP does not fit the model) */
};

struct plan__shared {
	const struct plan_opts *o;
	uint64_t n[PLAN__CLASSES];     /* requests per class in the trace */
	uint64_t allow[PLAN__CLASSES]; /* misses each class may have */
	pthread_mutex_t mu;
	unsigned done;
	int failed;
	struct ms_error err;
};

struct plan__job {
	struct plan__shared *sh;
	enum sim_deploy_kind kind;
	int tp;
	uint32_t budget;        /* plan_max_rate only */
	const struct sim_deploy *fixed; /* plan_max_rate_fixed: the pools, not a split */
	struct plan__memo *memo;
	int n_memo;
	unsigned evals;
	/* results */
	int found;
	struct sim_deploy best;
	uint32_t best_gpus;
	double best_rate;
};

/*
 * The early stop: misses are counted as requests finish, and the run ends as
 * soon as one class has missed more than it may (the verdict cannot turn).
 */
struct plan__stop {
	const struct plan_slo *slo;
	const uint64_t *allow;
	uint64_t miss_ttft[PLAN__CLASSES], miss_tpot[PLAN__CLASSES];
};

static int stop_check(void *arg, struct sim_ctl *ctl, uint32_t row, const struct metrics_req *m)
{
	struct plan__stop *st = arg;
	int c = m->images ? PLAN_IMAGE : PLAN_TEXT;
	double t_ttft, t_tpot;

	(void)ctl;
	plan_slo_target(st->slo, row, c, &t_ttft, &t_tpot);
	if (m->ttft > t_ttft && ++st->miss_ttft[c] > st->allow[c])
		return 1;
	if (!isnan(m->tpot) && m->tpot > t_tpot && ++st->miss_tpot[c] > st->allow[c])
		return 1;
	return 0;
}

static void class_allow(struct plan__shared *sh)
{
	const struct plan_opts *o = sh->o;
	uint64_t n[PLAN__CLASSES] = { 0 };
	size_t i;
	int k;

	for (i = 0; i < o->ts->n; i++)
		n[o->ts->images[i] && o->base->max_images ? PLAN_IMAGE : PLAN_TEXT]++;
	for (k = 0; k < PLAN__CLASSES; k++) {
		sh->n[k] = n[k];
		sh->allow[k] = plan_allowed_misses(n[k], o->slo->quantile);
	}
}

static int same_deploy(const struct sim_deploy *a, const struct sim_deploy *b)
{
	int i;

	if (a->kind != b->kind || a->n_pools != b->n_pools)
		return 0;
	for (i = 0; i < a->n_pools; i++)
		if (a->pool[i].role != b->pool[i].role || a->pool[i].count != b->pool[i].count ||
		    a->pool[i].tp != b->pool[i].tp)
			return 0;
	return 1;
}

static int failed(struct plan__shared *sh)
{
	int f;

	pthread_mutex_lock(&sh->mu);
	f = sh->failed;
	pthread_mutex_unlock(&sh->mu);
	return f;
}

/*
 * Simulates deployment d at rate scale `rate`; *met as in struct plan__memo.
 * The verdict is written when v is given. Returns 0 or a negative code (the
 * shared error is set, every job stops).
 */
static int eval_full(struct plan__job *j, const struct sim_deploy *d, double rate, int *met,
		     struct plan_verdict *v, int tails)
{
	struct plan__shared *sh = j->sh;
	const struct plan_opts *o = sh->o;
	struct sim_config c = *o->base;
	struct sim_result res;
	struct plan_verdict vv;
	struct plan__stop st;
	struct ms_error err = { 0 };
	double t0;
	int i, rc;

	if (!v)
		for (i = 0; i < j->n_memo; i++)
			if (j->memo[i].rate == rate && same_deploy(&j->memo[i].d, d)) {
				*met = j->memo[i].met;
				return 0;
			}
	if (failed(sh))
		return -MS_EINVAL;
	c.deploy = *d;
	c.rate_scale = rate;
	c.progress = NULL;
	c.progress_arg = NULL;
	memset(&st, 0, sizeof(st));
	st.slo = o->slo;
	st.allow = sh->allow;
	if (!tails) {
		/* the table's final runs finish: their tails are shown */
		c.early_stop = stop_check;
		c.hook_arg = &st;
	}
	t0 = ms_wall_seconds();
	rc = sim_run(&c, o->ts, &res, &err);
	memset(&vv, 0, sizeof(vv));
	if (rc == -MS_EINVAL) {
		*met = -1; /* the deployment cannot run this model: not a candidate */
		rc = 0;
	} else if (rc == 0) {
		rc = plan_judge(o->slo, &res, tails, &vv, &err);
		vv.stopped = res.stopped;
		if (res.stopped) {
			/* rows that never arrived have no class in the result: the trace's */
			vv.met = 0;
			memcpy(vv.n, sh->n, sizeof(vv.n));
		}
		*met = vv.met;
		sim_result_release(&res);
	}
	t0 = ms_wall_seconds() - t0;
	pthread_mutex_lock(&sh->mu);
	if (rc < 0 && !sh->failed) {
		sh->failed = 1;
		sh->err = err;
	}
	if (rc == 0) {
		sh->done++;
		if (o->step)
			o->step(o->step_arg, sim_deploy_name(d->kind), d, *met < 0 ? NULL : &vv, t0);
		if (o->progress)
			o->progress(o->progress_arg, sh->done);
	}
	pthread_mutex_unlock(&sh->mu);
	if (rc < 0)
		return rc;
	j->evals++;
	if (v)
		*v = vv;
	if (j->memo && j->n_memo < PLAN__MEMO) {
		j->memo[j->n_memo].d = *d;
		j->memo[j->n_memo].rate = rate;
		j->memo[j->n_memo].met = *met;
		j->n_memo++;
	}
	return 0;
}

static int eval(struct plan__job *j, const struct sim_deploy *d, int *met)
{
	return eval_full(j, d, j->sh->o->base->rate_scale, met, NULL, 0);
}

static int has_images(const struct trace_set *ts)
{
	size_t i;

	for (i = 0; i < ts->n; i++)
		if (ts->images[i])
			return 1;
	return 0;
}

/* The candidate of job j with pool sizes a (encoders / decoders; 0: none) and b (LLM side). */
static void candidate(const struct plan__job *j, uint32_t a, uint32_t b, struct sim_deploy *d)
{
	memset(d, 0, sizeof(*d));
	d->kind = j->kind;
	switch (j->kind) {
	case SIM_DEPLOY_MONO:
		d->pool[d->n_pools++] = (struct sim_pool_spec){ SIM_ROLE_MONO, b, j->tp };
		break;
	case SIM_DEPLOY_PD:
		d->pool[d->n_pools++] = (struct sim_pool_spec){ SIM_ROLE_PREFILL, b, j->tp };
		d->pool[d->n_pools++] = (struct sim_pool_spec){ SIM_ROLE_DECODE, a, j->tp };
		break;
	default:
		if (a)
			d->pool[d->n_pools++] = (struct sim_pool_spec){ SIM_ROLE_ENC, a, 1 };
		d->pool[d->n_pools++] = (struct sim_pool_spec){ SIM_ROLE_LLM, b, j->tp };
		break;
	}
}

/*
 * Smallest x in [lo, hi] for which f(x) meets, f monotone; hi is known to
 * meet when hi_met. 0 when none does. Doubling from lo finds small answers
 * in few runs; bisection finishes.
 */
static int min_meeting(struct plan__job *j, uint32_t lo, uint32_t hi, int hi_met, int which,
		       uint32_t other, uint32_t *out)
{
	struct sim_deploy d;
	uint32_t bad = lo - 1, good = 0, x;
	int met, rc;

	*out = 0;
	if (lo > hi)
		return 0;
	if (hi_met) {
		good = hi;
	} else {
		for (x = lo;; x = x * 2 > hi ? hi : x * 2) {
			candidate(j, which ? other : x, which ? x : other, &d);
			if ((rc = eval(j, &d, &met)) < 0)
				return rc;
			if (met < 0)
				return 0;
			if (met) {
				good = x;
				break;
			}
			bad = x;
			if (x == hi)
				return 0;
		}
	}
	while (good - bad > 1) {
		x = bad + (good - bad) / 2;
		candidate(j, which ? other : x, which ? x : other, &d);
		if ((rc = eval(j, &d, &met)) < 0)
			return rc;
		if (met > 0)
			good = x;
		else
			bad = x;
	}
	*out = good;
	return 0;
}

static void consider(struct plan__job *j, uint32_t a, uint32_t b)
{
	struct sim_deploy d;
	uint32_t g;

	candidate(j, a, b, &d);
	g = sim_deploy_gpus(&d);
	if (!j->found || g < j->best_gpus) {
		j->found = 1;
		j->best = d;
		j->best_gpus = g;
	}
}

static int search_cheapest(struct plan__job *j)
{
	const struct plan_opts *o = j->sh->o;
	uint32_t tb = (uint32_t)j->tp, ta = j->kind == SIM_DEPLOY_PD ? tb : 1;
	uint32_t b_inf, a_inf, b_min, a_min, b, a_prev, e;
	int rc, two;

	two = j->kind == SIM_DEPLOY_PD ||
	      (j->kind == SIM_DEPLOY_MODSERVE && o->base->max_images > 0 && has_images(o->ts));
	if (!two) {
		/* one pool: n x TP-t */
		if ((rc = min_meeting(j, 1, o->max_gpus / tb, 0, 1, 0, &b)) < 0)
			return rc;
		if (b)
			consider(j, 0, b);
		return 0;
	}
	if (o->max_gpus < ta + tb)
		return 0;
	/* each pool's minimum with the other pool as large as the whole budget */
	b_inf = (o->max_gpus - ta) / tb;
	a_inf = (o->max_gpus - tb) / ta;
	if ((rc = min_meeting(j, 1, b_inf, 0, 1, a_inf, &b_min)) < 0 || !b_min)
		return rc;
	if ((rc = min_meeting(j, 1, a_inf, 0, 0, b_inf, &a_min)) < 0 || !a_min)
		return rc;
	/* the frontier: as b grows, the a it needs shrinks (never grows) */
	a_prev = a_inf;
	for (b = b_min; b <= b_inf; b++) {
		uint32_t cap;
		if (j->found && b * tb + a_min * ta >= j->best_gpus)
			break; /* no larger b can be cheaper */
		cap = (o->max_gpus - b * tb) / ta;
		if (cap > a_prev)
			cap = a_prev;
		if (cap < a_min)
			break;
		if ((rc = min_meeting(j, a_min, cap, 0, 0, b, &e)) < 0)
			return rc;
		if (!e)
			continue; /* b too small for any a within the budget */
		consider(j, e, b);
		a_prev = e;
		if (e == a_min)
			break; /* a cannot shrink further: larger b only costs more */
	}
	return 0;
}

/* Highest rate scale the budget sustains, split by the work estimate at each scale. */
static int split_at(struct plan__job *j, double rate, struct sim_deploy *d, int *ok)
{
	const struct plan_opts *o = j->sh->o;
	struct sim_config c = *o->base;
	struct sim_work w;
	struct ms_error err = { 0 };
	int rc;

	c.rate_scale = rate;
	*ok = 1;
	if (j->fixed) {
		*d = *j->fixed;
		return 0;
	}
	rc = sim_work_estimate(&c, o->ts, j->tp, &w, &err);
	if (rc == 0)
		rc = sim_deploy_by_work(d, j->kind, j->budget, &w, &err);
	if (rc == -MS_EINVAL) {
		*ok = 0; /* the budget is too small for the design */
		return 0;
	}
	if (rc < 0) {
		pthread_mutex_lock(&j->sh->mu);
		if (!j->sh->failed) {
			j->sh->failed = 1;
			j->sh->err = err;
		}
		pthread_mutex_unlock(&j->sh->mu);
	}
	return rc;
}

static int met_at(struct plan__job *j, double rate, int *met)
{
	struct sim_deploy d;
	int ok, rc;

	if ((rc = split_at(j, rate, &d, &ok)) < 0)
		return rc;
	if (!ok) {
		*met = -1;
		return 0;
	}
	if ((rc = eval_full(j, &d, rate, met, NULL, 0)) < 0)
		return rc;
	if (*met > 0 && rate > j->best_rate) {
		j->best_rate = rate;
		j->best = d;
		j->found = 1;
	}
	return 0;
}

#define PLAN__RATE_MIN (1.0 / 64)
#define PLAN__RATE_MAX 4096.0

static int search_rate(struct plan__job *j, double tol)
{
	double lo, hi;
	int met, rc;

	if ((rc = met_at(j, 1.0, &met)) < 0 || met < 0)
		return rc;
	if (met) {
		for (lo = 1.0, hi = 2.0; hi <= PLAN__RATE_MAX; lo = hi, hi *= 2) {
			if ((rc = met_at(j, hi, &met)) < 0)
				return rc;
			if (met <= 0)
				break;
		}
		if (hi > PLAN__RATE_MAX)
			return 0;
	} else {
		for (hi = 1.0, lo = 0.5; lo >= PLAN__RATE_MIN; hi = lo, lo /= 2) {
			if ((rc = met_at(j, lo, &met)) < 0)
				return rc;
			if (met > 0)
				break;
		}
		if (lo < PLAN__RATE_MIN)
			return 0;
	}
	while (hi / lo > 1.0 + tol) {
		double mid = sqrt(lo * hi);
		if ((rc = met_at(j, mid, &met)) < 0)
			return rc;
		if (met > 0)
			lo = mid;
		else
			hi = mid;
	}
	return 0;
}

struct plan__pool {
	struct plan__job *jobs;
	int n_jobs, next, mode;
	double tol;
	pthread_mutex_t mu;
};

static void *worker(void *arg)
{
	struct plan__pool *p = arg;

	for (;;) {
		struct plan__job *j;
		pthread_mutex_lock(&p->mu);
		j = p->next < p->n_jobs ? &p->jobs[p->next++] : NULL;
		pthread_mutex_unlock(&p->mu);
		if (!j)
			return NULL;
		if (p->mode == 0)
			search_cheapest(j);
		else
			search_rate(j, p->tol);
	}
}

static int run_jobs(struct plan__shared *sh, struct plan__job *jobs, int n_jobs, int mode,
		    double tol, struct ms_error *err)
{
	struct plan__pool p = { jobs, n_jobs, 0, mode, tol, PTHREAD_MUTEX_INITIALIZER };
	pthread_t th[64];
	int n_th = sh->o->threads < 1 ? 1 : sh->o->threads, i, started = 0;

	if (n_th > 64)
		n_th = 64;
	if (n_th > n_jobs)
		n_th = n_jobs;
	for (i = 0; i < n_jobs; i++) {
		jobs[i].sh = sh;
		jobs[i].memo = malloc(PLAN__MEMO * sizeof(*jobs[i].memo));
		if (!jobs[i].memo) {
			sh->failed = 1;
			ms_error_set(&sh->err, MS_ENOMEM, "plan: search memo");
		}
	}
	for (i = 0; !sh->failed && i < n_th; i++, started++)
		if (pthread_create(&th[i], NULL, worker, &p) != 0)
			break;
	if (!started && !sh->failed)
		worker(&p);
	for (i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < n_jobs; i++)
		free(jobs[i].memo);
	pthread_mutex_destroy(&p.mu);
	if (sh->failed) {
		if (err)
			*err = sh->err;
		return -(sh->err.code ? sh->err.code : MS_ENOMEM);
	}
	return 0;
}

static int tps_of(const struct plan_opts *o, int *tps)
{
	int n = 0, i;

	for (i = 0; i < o->n_tps && i < 4; i++)
		if (o->tps[i] > 0)
			tps[n++] = o->tps[i];
	if (!n)
		tps[n++] = o->base->perf->model.default_tp;
	return n;
}

int plan_cheapest(const struct plan_opts *o, const enum sim_deploy_kind *kinds, int n_kinds,
		  struct plan_choice *out, struct ms_error *err)
{
	struct plan__shared sh;
	struct plan__job jobs[SIM_DEPLOY__COUNT * 4];
	int tps[4], n_tps = tps_of(o, tps), n = 0, k, t, rc;

	memset(&sh, 0, sizeof(sh));
	sh.o = o;
	class_allow(&sh);
	pthread_mutex_init(&sh.mu, NULL);
	memset(jobs, 0, sizeof(jobs));
	for (k = 0; k < n_kinds; k++)
		for (t = 0; t < n_tps; t++) {
			jobs[n].kind = kinds[k];
			jobs[n].tp = tps[t];
			n++;
		}
	rc = run_jobs(&sh, jobs, n, 0, 0, err);
	for (k = 0; rc == 0 && k < n_kinds; k++) {
		struct plan_choice *c = &out[k];
		struct plan__job *best = NULL;
		memset(c, 0, sizeof(*c));
		c->kind = kinds[k];
		for (t = 0; t < n; t++) {
			if (jobs[t].kind != kinds[k])
				continue;
			c->evals += jobs[t].evals;
			if (jobs[t].found && (!best || jobs[t].best_gpus < best->best_gpus))
				best = &jobs[t];
		}
		if (!best)
			continue;
		c->found = 1;
		c->deploy = best->best;
		c->gpus = best->best_gpus;
		c->usd_per_hour = c->gpus * o->base->perf->gpu.price_hour;
	}
	/* the chosen pools once more, with their tails, for the table */
	for (k = 0; rc == 0 && k < n_kinds; k++) {
		struct plan__job j;
		int met;
		if (!out[k].found)
			continue;
		memset(&j, 0, sizeof(j));
		j.sh = &sh;
		j.kind = kinds[k];
		rc = eval_full(&j, &out[k].deploy, o->base->rate_scale, &met, &out[k].v, 1);
		if (rc < 0 && err)
			*err = sh.err;
	}
	pthread_mutex_destroy(&sh.mu);
	return rc;
}

/* Rate searches: jobs[0..n) filled by the caller (kind, tp, budget or fixed), run in parallel. */
static int rate_search(const struct plan_opts *o, struct plan__job *jobs, int n, double tol,
		       struct ms_error *err)
{
	struct plan__shared sh;
	int rc;

	memset(&sh, 0, sizeof(sh));
	sh.o = o;
	class_allow(&sh);
	pthread_mutex_init(&sh.mu, NULL);
	rc = run_jobs(&sh, jobs, n, 1, tol, err);
	pthread_mutex_destroy(&sh.mu);
	return rc;
}

int plan_max_rate(const struct plan_opts *o, const enum sim_deploy_kind *kinds, int n_kinds,
		  const uint32_t *budgets, int n_budgets, double tol, struct plan_capacity *out,
		  struct ms_error *err)
{
	struct plan__job *jobs;
	int n = n_kinds * n_budgets, k, b, rc;

	if (!(tol > 0))
		return ms_error_set(err, MS_EINVAL, "plan: rate tolerance must be > 0");
	jobs = calloc(n ? (size_t)n : 1, sizeof(*jobs));
	if (!jobs)
		return ms_error_set(err, MS_ENOMEM, "plan: jobs");
	for (k = 0; k < n_kinds; k++)
		for (b = 0; b < n_budgets; b++) {
			struct plan__job *j = &jobs[k * n_budgets + b];
			j->kind = kinds[k];
			j->tp = o->n_tps > 0 && o->tps[0] > 0 ? o->tps[0] : o->base->perf->model.default_tp;
			j->budget = budgets[b];
		}
	rc = rate_search(o, jobs, n, tol, err);
	for (k = 0; rc == 0 && k < n; k++) {
		memset(&out[k], 0, sizeof(out[k]));
		out[k].kind = jobs[k].kind;
		out[k].gpus = jobs[k].budget;
		out[k].rate_scale = jobs[k].found ? jobs[k].best_rate : 0;
		out[k].deploy = jobs[k].best;
		out[k].evals = jobs[k].evals;
	}
	free(jobs);
	return rc;
}

int plan_max_rate_fixed(const struct plan_opts *o, const struct sim_deploy *ds, int n,
			double tol, double *rates, struct ms_error *err)
{
	struct plan__job *jobs;
	int k, rc;

	if (!(tol > 0))
		return ms_error_set(err, MS_EINVAL, "plan: rate tolerance must be > 0");
	jobs = calloc(n ? (size_t)n : 1, sizeof(*jobs));
	if (!jobs)
		return ms_error_set(err, MS_ENOMEM, "plan: jobs");
	for (k = 0; k < n; k++) {
		jobs[k].kind = ds[k].kind;
		jobs[k].fixed = &ds[k];
		jobs[k].budget = sim_deploy_gpus(&ds[k]);
	}
	rc = rate_search(o, jobs, n, tol, err);
	for (k = 0; rc == 0 && k < n; k++)
		rates[k] = jobs[k].found ? jobs[k].best_rate : 0;
	free(jobs);
	return rc;
}
