/*
 * The searches of plan.h: jobs (one design at one TP, or one design at one
 * budget) run on worker threads, the longest first; each job is a sequential
 * search over simulated candidates, memoised for the whole call. The first
 * error stops every job. A simulation is the unit of cost (about a second
 * for the 1M-request week), so the searches count them, avoid repeats and
 * stop each one as soon as its verdict is known:
 *   - a run fails as soon as a class has missed one of its targets more often
 *     than it may (misses only grow);
 *   - a run passes as soon as every class's misses plus its requests not yet
 *     finished are within what it may miss (even if every one left missed);
 *     only where the P99s are not wanted (the rate searches), since the
 *     table shows the cheapest pools' tails, which come from the same run.
 * Either way the verdict is the one the whole run would give
 * (tests/plan/test_plan.c checks it on several configurations).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/ms_progress.h"
#include "plan/plan_int.h"

/* The early stop, counted as requests finish (see the top of the file). */
struct plan__stop {
	const struct plan_slo *slo;
	const uint64_t *allow, *n;
	int pass_stop;
	int verdict; /* when stopped: 1 met, 0 missed */
	uint64_t fin[PLAN__CLASSES];
	uint64_t miss_ttft[PLAN__CLASSES], miss_tpot[PLAN__CLASSES];
};

static int stop_check(void *arg, struct sim_ctl *ctl, uint32_t row, const struct metrics_req *m)
{
	struct plan__stop *st = arg;
	int c = m->images ? PLAN_IMAGE : PLAN_TEXT, k;
	double t_ttft, t_tpot;

	(void)ctl;
	plan_slo_target(st->slo, row, c, &t_ttft, &t_tpot);
	st->fin[c]++;
	if ((m->ttft > t_ttft && ++st->miss_ttft[c] > st->allow[c]) ||
	    (!isnan(m->tpot) && m->tpot > t_tpot && ++st->miss_tpot[c] > st->allow[c])) {
		st->verdict = 0;
		return 1;
	}
	if (!st->pass_stop)
		return 0;
	for (k = 0; k < PLAN__CLASSES; k++) {
		uint64_t left = st->n[k] - st->fin[k];
		if (st->miss_ttft[k] + left > st->allow[k] || st->miss_tpot[k] + left > st->allow[k])
			return 0;
	}
	st->verdict = 1;
	return 1;
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

static void shared_init(struct plan__shared *sh, const struct plan_opts *o)
{
	memset(sh, 0, sizeof(*sh));
	sh->o = o;
	class_allow(sh);
	pthread_mutex_init(&sh->mu, NULL);
}

static void shared_release(struct plan__shared *sh)
{
	free(sh->memo);
	sh->memo = NULL;
	pthread_mutex_destroy(&sh->mu);
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

int plan__fail(struct plan__shared *sh, int rc, const struct ms_error *err)
{
	pthread_mutex_lock(&sh->mu);
	if (!sh->failed) {
		sh->failed = 1;
		sh->err = *err;
		if (!sh->err.code)
			ms_error_set(&sh->err, -rc, "plan: search failed");
	}
	pthread_mutex_unlock(&sh->mu);
	return rc;
}

/*
 * A memoised answer for (d, rate) that serves `flags`: 1 when found, 0 when
 * not, -MS_EINVAL once another job has failed (every job stops).
 */
static int memo_find(struct plan__shared *sh, const struct sim_deploy *d, double rate,
		     unsigned flags, int *met, struct plan_verdict *v)
{
	size_t i;
	int rc = 0;

	pthread_mutex_lock(&sh->mu);
	if (sh->failed)
		rc = -MS_EINVAL;
	for (i = 0; rc == 0 && i < sh->n_memo; i++) {
		const struct plan__memo *e = &sh->memo[i];
		if (e->rate != rate || !same_deploy(&e->d, d))
			continue;
		if ((flags & PLAN__TAILS) && e->met > 0 && !e->tails)
			continue; /* passed early: its tails are unknown */
		*met = e->met;
		if (v)
			*v = e->v;
		sh->reused++;
		rc = 1;
	}
	pthread_mutex_unlock(&sh->mu);
	return rc;
}

static void memo_add(struct plan__shared *sh, const struct sim_deploy *d, double rate, int met,
		     int tails, const struct plan_verdict *v)
{
	if (sh->n_memo == sh->cap_memo) {
		size_t cap = sh->cap_memo ? 2 * sh->cap_memo : 256;
		struct plan__memo *m = realloc(sh->memo, cap * sizeof(*m));
		if (!m)
			return; /* a memo is an optimisation: without room, runs repeat */
		sh->memo = m;
		sh->cap_memo = cap;
	}
	sh->memo[sh->n_memo].d = *d;
	sh->memo[sh->n_memo].rate = rate;
	sh->memo[sh->n_memo].met = met;
	sh->memo[sh->n_memo].tails = tails;
	sh->memo[sh->n_memo].v = *v;
	sh->n_memo++;
}

/* A simulated candidate: into the memo, the step line and the progress count. */
static void record(struct plan__job *j, const struct sim_deploy *d, double rate, int met,
		   int tails, const struct plan_verdict *v, double wall_s)
{
	struct plan__shared *sh = j->sh;
	const struct plan_opts *o = sh->o;

	pthread_mutex_lock(&sh->mu);
	sh->done++;
	memo_add(sh, d, rate, met, tails, v);
	if (o->step)
		o->step(o->step_arg, sim_deploy_name(d->kind), d, met < 0 ? NULL : v, wall_s);
	if (o->progress)
		o->progress(o->progress_arg, sh->done);
	pthread_mutex_unlock(&sh->mu);
	j->evals++;
}

int plan__eval(struct plan__job *j, const struct sim_deploy *d, double rate, unsigned flags,
	       int *met, struct plan_verdict *v)
{
	struct plan__shared *sh = j->sh;
	const struct plan_opts *o = sh->o;
	struct sim_config c = *o->base;
	struct sim_result res;
	struct plan_verdict vv;
	struct plan__stop st;
	struct ms_error err = { 0 };
	double t0;
	int rc, found, tails = 0;

	if ((found = memo_find(sh, d, rate, flags, met, v)) != 0)
		return found < 0 ? found : 0;
	c.deploy = *d;
	c.rate_scale = rate;
	c.progress = NULL;
	c.progress_arg = NULL;
	memset(&st, 0, sizeof(st));
	st.slo = o->slo;
	st.allow = sh->allow;
	st.n = sh->n;
	st.pass_stop = (flags & PLAN__PASS_STOP) && !(flags & PLAN__TAILS);
	c.early_stop = stop_check;
	c.hook_arg = &st;
	c.no_stats = 1; /* stop_check counts its own misses: the policy's statistics are unread */
	t0 = ms_wall_seconds();
	rc = sim_run(&c, o->ts, &res, &err);
	memset(&vv, 0, sizeof(vv));
	if (rc == -MS_EINVAL) {
		*met = -1; /* the deployment cannot run this model: not a candidate */
		rc = 0;
	} else if (rc == 0) {
		/* a run that went to the end is judged with its P99s: it may be the answer */
		tails = !res.stopped && (flags & PLAN__TAILS);
		rc = plan_judge(o->slo, &res, tails, &vv, &err);
		vv.stopped = res.stopped;
		vv.finished = (double)(st.fin[PLAN_TEXT] + st.fin[PLAN_IMAGE]) /
			      (double)(o->ts->n ? o->ts->n : 1);
		if (res.stopped) {
			/* rows that never arrived have no class in the result: the trace's */
			vv.met = st.verdict;
			memcpy(vv.n, sh->n, sizeof(vv.n));
		}
		*met = vv.met;
		sim_result_release(&res);
	}
	vv.rate = rate;
	t0 = ms_wall_seconds() - t0;
	if (rc < 0)
		return plan__fail(sh, rc, &err);
	record(j, d, rate, *met, tails, &vv, t0);
	if (v)
		*v = vv;
	return 0;
}

static int has_images(const struct trace_set *ts)
{
	size_t i;

	for (i = 0; i < ts->n; i++)
		if (ts->images[i])
			return 1;
	return 0;
}

#define PLAN__IDLE_RATE (-1.0) /* the memo's key for a design's idle floor */

int plan__hopeless(struct plan__job *j, int *hopeless)
{
	int met = 1, found, rc;
	double t0;
	struct sim_deploy d;
	struct plan_verdict v;
	struct plan__shared *sh = j->sh;
	const struct plan_opts *o = sh->o;
	struct sim_config c = *o->base;
	struct sim_result res;
	struct ms_error err = { 0 };

	*hopeless = 0;
	if (j->fixed)
		return 0;
	/*
	 * Judged against its own isolated run (the per-request targets are this very
	 * replay on one TP-mono_tp monolith, times the scale, stored as floats: a scale
	 * above 1 + 1e-6 keeps every target above the latency it came from), the
	 * reference monolith's floor meets: no need to replay it. The floor only
	 * prunes, so this cannot change an answer.
	 */
	if (j->kind == SIM_DEPLOY_MONO && o->slo->mode == PLAN_SLO_REQUEST &&
	    j->tp == o->slo->mono_tp && o->slo->scale > 1 + 1e-6)
		return 0;
	memset(&d, 0, sizeof(d));
	d.kind = j->kind;
	switch (j->kind) {
	case SIM_DEPLOY_MONO:
		d.pool[d.n_pools++] = (struct sim_pool_spec){ SIM_ROLE_MONO, 1, j->tp };
		break;
	case SIM_DEPLOY_PD:
		d.pool[d.n_pools++] = (struct sim_pool_spec){ SIM_ROLE_PREFILL, 1, j->tp };
		d.pool[d.n_pools++] = (struct sim_pool_spec){ SIM_ROLE_DECODE, 1, j->tp };
		break;
	default:
		/* enough encoders that each image of a request has its own */
		if (o->base->max_images > 0 && has_images(o->ts))
			d.pool[d.n_pools++] =
				(struct sim_pool_spec){ SIM_ROLE_ENC, o->base->max_images, 1 };
		d.pool[d.n_pools++] = (struct sim_pool_spec){ SIM_ROLE_LLM, 1, j->tp };
		break;
	}
	if ((found = memo_find(sh, &d, PLAN__IDLE_RATE, 0, &met, NULL)) != 0) {
		*hopeless = found > 0 && met == 0;
		return found < 0 ? found : 0;
	}
	c.deploy = d;
	c.rate_scale = 1;
	c.progress = NULL;
	c.progress_arg = NULL;
	t0 = ms_wall_seconds();
	rc = plan__isolated_run(&c, o->ts, &res, &err);
	if (rc == -MS_EINVAL)
		return 0; /* cannot run at all: the search says so per candidate */
	if (rc < 0)
		return plan__fail(sh, rc, &err);
	rc = plan_judge(o->slo, &res, 0, &v, &err);
	sim_result_release(&res);
	if (rc < 0)
		return plan__fail(sh, rc, &err);
	v.finished = 1;
	v.rate = 0;
	met = v.met;
	record(j, &d, PLAN__IDLE_RATE, met, 0, &v, ms_wall_seconds() - t0);
	*hopeless = met == 0;
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

static int eval_ab(struct plan__job *j, uint32_t a, uint32_t b, int *met)
{
	struct sim_deploy d;

	candidate(j, a, b, &d);
	return plan__eval(j, &d, j->sh->o->base->rate_scale, PLAN__TAILS, met, NULL);
}

/*
 * Smallest x in [lo, hi] for which f(x) meets, f monotone. 0 when none does.
 * Doubling from lo finds small answers in few runs; bisection finishes.
 */
static int min_meeting(struct plan__job *j, uint32_t lo, uint32_t hi, int which, uint32_t other,
		       uint32_t *out)
{
	uint32_t bad = lo - 1, good = 0, x;
	int met, rc;

	*out = 0;
	if (lo > hi)
		return 0;
	for (x = lo;; x = x * 2 > hi ? hi : x * 2) {
		if ((rc = eval_ab(j, which ? other : x, which ? x : other, &met)) < 0)
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
	while (good - bad > 1) {
		x = bad + (good - bad) / 2;
		if ((rc = eval_ab(j, which ? other : x, which ? x : other, &met)) < 0)
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
	int rc, two, hopeless;

	if ((rc = plan__hopeless(j, &hopeless)) < 0 || hopeless)
		return rc;
	two = j->kind == SIM_DEPLOY_PD ||
	      (j->kind == SIM_DEPLOY_MODSERVE && o->base->max_images > 0 && has_images(o->ts));
	if (!two) {
		/* one pool: n x TP-t */
		if ((rc = min_meeting(j, 1, o->max_gpus / tb, 1, 0, &b)) < 0)
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
	if ((rc = min_meeting(j, 1, b_inf, 1, a_inf, &b_min)) < 0 || !b_min)
		return rc;
	if ((rc = min_meeting(j, 1, a_inf, 0, b_inf, &a_min)) < 0 || !a_min)
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
		if ((rc = min_meeting(j, a_min, cap, 0, b, &e)) < 0)
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

struct plan__pool {
	struct plan__job **order; /* the jobs, longest expected first */
	int n_jobs;
	pthread_mutex_t mu;
	pthread_cond_t cv;        /* a job finished */
};

/* The first waiting job whose prerequisite is done; NULL when none is (yet). */
static struct plan__job *next_ready(struct plan__pool *p, int *waiting)
{
	int i;

	*waiting = 0;
	for (i = 0; i < p->n_jobs; i++) {
		struct plan__job *j = p->order[i];
		if (j->state != 0)
			continue;
		if (j->after && j->after->state != 2) {
			*waiting = 1;
			continue;
		}
		return j;
	}
	return NULL;
}

static void *worker(void *arg)
{
	struct plan__pool *p = arg;

	for (;;) {
		struct plan__job *j;
		int waiting;
		pthread_mutex_lock(&p->mu);
		while (!(j = next_ready(p, &waiting)) && waiting)
			pthread_cond_wait(&p->cv, &p->mu);
		if (j) {
			j->state = 1;
			/* the cheapest pools at the planned rate, scaled to the budget */
			if (j->after && j->after->found && j->after->best_gpus)
				j->predict = j->sh->o->base->rate_scale * j->budget /
					     j->after->best_gpus;
		}
		pthread_mutex_unlock(&p->mu);
		if (!j)
			return NULL;
		if (j->what == PLAN__JOB_CHEAPEST)
			search_cheapest(j);
		else
			plan__search_rate(j);
		pthread_mutex_lock(&p->mu);
		j->state = 2;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
	}
}

/*
 * Expected cost of a job, for the order only: ModServe's runs carry the most
 * events, a two-pool cheapest search the most candidates, bigger budgets
 * sustain higher rates (more requests in flight per event).
 */
static double job_weight(const struct plan__job *j)
{
	double k = j->kind == SIM_DEPLOY_MODSERVE ? 3 : j->kind == SIM_DEPLOY_MONO ? 2 : 1;

	if (j->what == PLAN__JOB_CHEAPEST)
		return k * 1.5 * (j->kind == SIM_DEPLOY_MONO ? 1 : 2);
	return k * (1 + log2(1 + j->budget / 32.0));
}

static int by_weight(const void *a, const void *b)
{
	double wa = job_weight(*(struct plan__job *const *)a);
	double wb = job_weight(*(struct plan__job *const *)b);

	return wa < wb ? 1 : wa > wb ? -1 : 0;
}

static int run_jobs(struct plan__shared *sh, struct plan__job *jobs, int n_jobs,
		    struct ms_error *err)
{
	struct plan__pool p;
	pthread_t th[64];
	int n_th = sh->o->threads < 1 ? 1 : sh->o->threads, i, started = 0;

	memset(&p, 0, sizeof(p));
	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.cv, NULL);
	p.n_jobs = n_jobs;
	p.order = malloc((n_jobs ? (size_t)n_jobs : 1) * sizeof(*p.order));
	if (!p.order) {
		sh->failed = 1;
		ms_error_set(&sh->err, MS_ENOMEM, "plan: search jobs");
	}
	for (i = 0; p.order && i < n_jobs; i++) {
		jobs[i].sh = sh;
		p.order[i] = &jobs[i];
	}
	if (p.order)
		qsort(p.order, (size_t)n_jobs, sizeof(*p.order), by_weight);
	if (n_th > 64)
		n_th = 64;
	if (n_th > n_jobs)
		n_th = n_jobs;
	for (i = 0; !sh->failed && i < n_th; i++, started++)
		if (pthread_create(&th[i], NULL, worker, &p) != 0)
			break;
	if (!started && !sh->failed)
		worker(&p);
	for (i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	free(p.order);
	pthread_cond_destroy(&p.cv);
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

/* The cheapest job per design into out[], and its tails (from the memo, else a run). */
static int cheapest_results(struct plan__shared *sh, struct plan__job *jobs, int n,
			    const enum sim_deploy_kind *kinds, int n_kinds,
			    struct plan_choice *out)
{
	const struct plan_opts *o = sh->o;
	int k, t, rc = 0;

	for (k = 0; rc == 0 && k < n_kinds; k++) {
		struct plan_choice *c = &out[k];
		struct plan__job *best = NULL;
		int met;
		memset(c, 0, sizeof(*c));
		c->kind = kinds[k];
		for (t = 0; t < n; t++) {
			if (jobs[t].what != PLAN__JOB_CHEAPEST || jobs[t].kind != kinds[k])
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
		/* the answer's own full run: a memo hit, its P99s kept */
		rc = plan__eval(best, &c->deploy, o->base->rate_scale, PLAN__TAILS, &met, &c->v);
	}
	return rc;
}

/*
 * The reach of the call (plan.h): its space (the designs, every TP tried, the
 * rate lattice when budgets are searched and the planned rate when the
 * cheapest pools are, tuples within the larger of the GPU cap and the
 * largest budget) and the memo's simulated verdicts (not the idle floors:
 * their spread-out replay is no rate of the space).
 */
static int reach_of(struct plan__shared *sh, const enum sim_deploy_kind *kinds, int n_kinds,
		    const int *tps, int n_tps, int cheapest, const uint32_t *budgets,
		    int n_budgets, double tol, struct plan_reach *out, struct ms_error *err)
{
	const struct plan_opts *o = sh->o;
	struct plan_space sp;
	struct plan_point *pts;
	double *rates, r0 = o->base->rate_scale;
	long kmin = 0, kmax = -1, k;
	int one = 1, n_r = 0, rc, i, has_r0 = 0;
	size_t n = 0, m;

	memset(&sp, 0, sizeof(sp));
	sp.kinds = kinds;
	sp.n_kinds = n_kinds;
	sp.tps = tps;
	sp.n_tps = n_tps;
	sp.enc = o->base->max_images > 0 && has_images(o->ts);
	sp.cap = o->max_gpus;
	for (i = 0; i < n_budgets; i++)
		sp.cap = budgets[i] > sp.cap ? budgets[i] : sp.cap;
	if (n_budgets > 0)
		plan__lattice(tol, &one, &kmin, &kmax);
	if (kmax - kmin > 1L << 16) {
		/* a lattice this fine (tol far below plan's 5%) is not worth counting rate by rate */
		memset(out, 0, sizeof(*out));
		return 0;
	}
	rates = malloc((size_t)(kmax - kmin + 2) * sizeof(*rates));
	pts = malloc((sh->n_memo ? sh->n_memo : 1) * sizeof(*pts));
	if (!rates || !pts) {
		free(rates), free(pts);
		return ms_error_set(err, MS_ENOMEM, "plan: reach");
	}
	/* ascending, as plan_rate.c computes them (the same doubles), the planned rate in place */
	for (k = kmin; k <= kmax; k++) {
		double r = plan__lattice_rate(k, one);
		if (cheapest && !has_r0 && r0 <= r) {
			if (r0 < r)
				rates[n_r++] = r0;
			has_r0 = 1;
		}
		rates[n_r++] = r;
	}
	if (cheapest && !has_r0)
		rates[n_r++] = r0;
	sp.rates = rates;
	sp.n_rates = n_r;
	for (m = 0; m < sh->n_memo; m++)
		if (sh->memo[m].rate > 0) {
			pts[n].d = sh->memo[m].d;
			pts[n].rate = sh->memo[m].rate;
			pts[n].met = sh->memo[m].met;
			n++;
		}
	rc = plan_reach(&sp, pts, n, out, err);
	free(rates), free(pts);
	return rc;
}

int plan_run(const struct plan_opts *o, const enum sim_deploy_kind *kinds, int n_kinds,
	     struct plan_choice *choices, const uint32_t *budgets, int n_budgets, double tol,
	     struct plan_capacity *caps, struct plan_stats *stats, struct ms_error *err)
{
	struct plan__shared sh;
	struct plan__job *jobs;
	int tps[4], n_tps = tps_of(o, tps), n = 0, k, t, rc;

	if (n_budgets > 0 && !(tol > 0))
		return ms_error_set(err, MS_EINVAL, "plan: rate tolerance must be > 0");
	jobs = calloc((size_t)(n_kinds * (n_tps + (n_budgets > 0 ? n_budgets : 0))) + 1,
		      sizeof(*jobs));
	if (!jobs)
		return ms_error_set(err, MS_ENOMEM, "plan: jobs");
	shared_init(&sh, o);
	for (k = 0; choices && k < n_kinds; k++)
		for (t = 0; t < n_tps; t++) {
			jobs[n].what = PLAN__JOB_CHEAPEST;
			jobs[n].kind = kinds[k];
			jobs[n].tp = tps[t];
			n++;
		}
	for (k = 0; k < n_kinds; k++)
		for (t = 0; t < n_budgets; t++) {
			jobs[n].what = PLAN__JOB_RATE;
			jobs[n].kind = kinds[k];
			jobs[n].tp = tps[0];
			jobs[n].budget = budgets[t];
			jobs[n].tol = tol;
			/* the design's cheapest pools at this TP predict where to look first */
			jobs[n].after = choices ? &jobs[k * n_tps] : NULL;
			n++;
		}
	rc = run_jobs(&sh, jobs, n, err);
	if (rc == 0 && choices)
		rc = cheapest_results(&sh, jobs, n, kinds, n_kinds, choices);
	for (k = 0, t = 0; rc == 0 && k < n; k++) {
		struct plan_capacity *c;
		if (jobs[k].what != PLAN__JOB_RATE)
			continue;
		c = &caps[t++];
		memset(c, 0, sizeof(*c));
		c->kind = jobs[k].kind;
		c->gpus = jobs[k].budget;
		c->rate_scale = jobs[k].found ? jobs[k].best_rate : 0;
		c->deploy = jobs[k].best;
		c->evals = jobs[k].evals;
		c->splits = jobs[k].splits;
	}
	if (rc < 0 && err)
		*err = sh.err;
	if (stats) {
		stats->simulated = sh.done;
		stats->reused = sh.reused;
		if (rc == 0)
			rc = reach_of(&sh, kinds, n_kinds, tps, n_tps, choices != NULL, budgets,
				      n_budgets, tol, &stats->reach, err);
	}
	free(jobs);
	shared_release(&sh);
	return rc;
}

int plan_eval(const struct plan_opts *o, const struct sim_deploy *d, double rate, int pass_stop,
	      struct plan_verdict *v, struct ms_error *err)
{
	struct plan__shared sh;
	struct plan__job j;
	int met, rc;

	memset(&sh, 0, sizeof(sh));
	memset(&j, 0, sizeof(j));
	sh.o = o;
	class_allow(&sh);
	pthread_mutex_init(&sh.mu, NULL);
	j.sh = &sh;
	j.kind = d->kind;
	rc = plan__eval(&j, d, rate, pass_stop ? PLAN__PASS_STOP : 0, &met, v);
	if (rc == 0 && met < 0)
		rc = ms_error_set(&sh.err, MS_EINVAL, "plan: %s cannot run this model",
				  sim_deploy_name(d->kind));
	if (rc < 0 && err)
		*err = sh.err;
	shared_release(&sh);
	return rc;
}

int plan_cheapest(const struct plan_opts *o, const enum sim_deploy_kind *kinds, int n_kinds,
		  struct plan_choice *out, struct ms_error *err)
{
	return plan_run(o, kinds, n_kinds, out, NULL, 0, 0, NULL, NULL, err);
}

int plan_max_rate(const struct plan_opts *o, const enum sim_deploy_kind *kinds, int n_kinds,
		  const uint32_t *budgets, int n_budgets, double tol, struct plan_capacity *out,
		  struct ms_error *err)
{
	if (!(tol > 0))
		return ms_error_set(err, MS_EINVAL, "plan: rate tolerance must be > 0");
	return plan_run(o, kinds, n_kinds, NULL, budgets, n_budgets, tol, out, NULL, err);
}

int plan_max_rate_fixed(const struct plan_opts *o, const struct sim_deploy *ds, int n,
			double tol, double *rates, struct ms_error *err)
{
	struct plan__shared sh;
	struct plan__job *jobs;
	int k, rc;

	if (!(tol > 0))
		return ms_error_set(err, MS_EINVAL, "plan: rate tolerance must be > 0");
	jobs = calloc(n ? (size_t)n : 1, sizeof(*jobs));
	if (!jobs)
		return ms_error_set(err, MS_ENOMEM, "plan: jobs");
	shared_init(&sh, o);
	for (k = 0; k < n; k++) {
		jobs[k].what = PLAN__JOB_RATE;
		jobs[k].kind = ds[k].kind;
		jobs[k].fixed = &ds[k];
		jobs[k].budget = sim_deploy_gpus(&ds[k]);
		jobs[k].tol = tol;
	}
	rc = run_jobs(&sh, jobs, n, err);
	for (k = 0; rc == 0 && k < n; k++)
		rates[k] = jobs[k].found ? jobs[k].best_rate : 0;
	free(jobs);
	shared_release(&sh);
	return rc;
}
