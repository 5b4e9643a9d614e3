/*
 * The autoscaling rule of policy_scale.h: per pool, O(1) per call (one or two
 * policy_pool_stats reads each, a walk of at most POLICY_SCALE_CURVE points).
 */
#include "policy/policy_scale.h"

#include <math.h>
#include <string.h>

static int check_curve(struct policy_scale_pool *p, struct ms_error *err)
{
	uint32_t k;

	if (p->n_curve > POLICY_SCALE_CURVE)
		return ms_error_set(err, MS_EINVAL, "autoscale: pool %d: %u curve points (at most %d)",
				    p->pool, p->n_curve, POLICY_SCALE_CURVE);
	for (k = 0; k < p->n_curve; k++) {
		if (p->curve_n[k] < 1 || (k && p->curve_n[k] <= p->curve_n[k - 1]) ||
		    !(p->curve_load[k] >= 0) || !isfinite(p->curve_load[k]))
			return ms_error_set(err, MS_EINVAL,
					    "autoscale: pool %d: curve point %u (%u instances, %g/s): "
					    "sizes must increase from 1, loads be >= 0",
					    p->pool, k, p->curve_n[k], p->curve_load[k]);
		/* a pool carries at least what a smaller one does (it can leave members idle) */
		if (k && p->curve_load[k] < p->curve_load[k - 1])
			p->curve_load[k] = p->curve_load[k - 1];
	}
	return 0;
}

int policy_scale_init(struct policy_scale *s, const struct policy_scale_conf *c,
		      const struct policy *pol, struct ms_error *err)
{
	int i, rc;

	memset(s, 0, sizeof(*s));
	if (c->n < 1 || c->n > POLICY_MAX_POOLS)
		return ms_error_set(err, MS_EINVAL, "autoscale: %d pools (1 to %d)", c->n,
				    POLICY_MAX_POOLS);
	s->conf = *c;
	if (!(s->conf.interval_s > 0))
		s->conf.interval_s = 300;
	if (!(s->conf.cooldown_s > 0))
		s->conf.cooldown_s = s->conf.interval_s;
	if (!(s->conf.hysteresis > 0))
		s->conf.hysteresis = 0.2;
	if (s->conf.hysteresis >= 1)
		return ms_error_set(err, MS_EINVAL, "autoscale: hysteresis %g (0 to below 1)",
				    c->hysteresis);
	if (!(s->conf.attain_min > 0))
		s->conf.attain_min = 0.99;
	if (!s->conf.attain_min_n)
		s->conf.attain_min_n = 20;
	if (!(s->conf.drain_s > 0) || !isfinite(s->conf.drain_s))
		s->conf.drain_s = 60;
	for (i = 0; i < c->n; i++) {
		struct policy_scale_pool *p = &s->conf.p[i];
		if (p->pool < 0 || p->pool >= pol->conf.n_pools ||
		    p->rate_pool >= pol->conf.n_pools)
			return ms_error_set(err, MS_EINVAL, "autoscale: no pool %d", p->pool);
		if (!(p->capacity > 0) || !isfinite(p->capacity))
			return ms_error_set(err, MS_EINVAL,
					    "autoscale: pool %d: capacity %g per instance (must be > 0)",
					    p->pool, p->capacity);
		if (p->min < 1 || p->min > p->max)
			return ms_error_set(err, MS_EINVAL,
					    "autoscale: pool %d: bounds %u to %u (1 <= min <= max)",
					    p->pool, p->min, p->max);
		if ((rc = check_curve(p, err)) < 0)
			return rc;
		if (!p->gpus)
			p->gpus = 1;
		s->last_change[i] = -INFINITY;
	}
	s->next_eval = -INFINITY;
	return 0;
}

double policy_scale_need(const struct policy_scale *s, int i, double load)
{
	const struct policy_scale_pool *p = &s->conf.p[i];
	double n0 = 0, l0 = 0;
	uint32_t k;

	if (!(load > 0))
		return 0;
	/* the first segment of the curve (from 0 instances carrying 0) that reaches the load */
	for (k = 0; k < p->n_curve; k++) {
		double n1 = p->curve_n[k], l1 = p->curve_load[k];
		if (l1 >= load && l1 > l0)
			return ceil(n0 + (load - l0) / (l1 - l0) * (n1 - n0) - 1e-9);
		n0 = n1;
		l0 = l1;
	}
	return ceil(n0 + (load - l0) / p->capacity - 1e-9);
}

/* The load n instances of conf.p[i] carry (the curve, inverted). */
static double carry(const struct policy_scale *s, int i, uint32_t n)
{
	const struct policy_scale_pool *p = &s->conf.p[i];
	double n0 = 0, l0 = 0;
	uint32_t k;

	for (k = 0; k < p->n_curve; k++) {
		double n1 = p->curve_n[k], l1 = p->curve_load[k];
		if (n <= n1)
			return l0 + (l1 - l0) * ((double)n - n0) / (n1 - n0);
		n0 = n1;
		l0 = l1;
	}
	return l0 + ((double)n - n0) * p->capacity;
}

static uint32_t clamp_u(double v, uint32_t lo, uint32_t hi)
{
	if (!(v > lo))
		return lo;
	if (v >= hi)
		return hi;
	return (uint32_t)v;
}

/* The backlog of pool p in its load's units (policy_scale.h). */
static double backlog(const struct policy_scale_pool *p, const struct policy_pool_stats *st,
		      const struct policy_pool_stats *rt)
{
	if (p->load == POLICY_ARR_IMG_TOKENS)
		return (double)st->pending; /* an encoder's pending work is image tokens */
	if (p->load == POLICY_ARR_REQ)
		return (double)st->queued;
	return rt->rate[POLICY_ARR_REQ] > 0
		       ? (double)st->queued * rt->rate[p->load] / rt->rate[POLICY_ARR_REQ]
		       : 0;
}

/* Cuts increases until the targets fit max_gpus: one instance off the largest increase. */
static void fit_budget(const struct policy_scale *s, const uint32_t *live, uint32_t *target)
{
	const struct policy_scale_conf *c = &s->conf;
	uint64_t total = 0;
	int i;

	if (!c->max_gpus)
		return;
	for (i = 0; i < c->n; i++)
		total += (uint64_t)target[i] * c->p[i].gpus;
	while (total > c->max_gpus) {
		int best = -1;
		for (i = 0; i < c->n; i++)
			if (target[i] > live[i] && target[i] > c->p[i].min &&
			    (best < 0 || (uint64_t)(target[i] - live[i]) * c->p[i].gpus >
						 (uint64_t)(target[best] - live[best]) * c->p[best].gpus))
				best = i;
		if (best < 0)
			return; /* what holds already is over: not drained to make room */
		target[best]--;
		total -= c->p[best].gpus;
	}
}

int policy_scale_step(struct policy_scale *s, struct policy *pol, double now, uint32_t *target,
		      enum policy_scale_why *why)
{
	const struct policy_scale_conf *c = &s->conf;
	/* st: each pool's own statistics; rt: those its load is read from (rate_pool's) */
	struct policy_pool_stats st[POLICY_MAX_POOLS], rt[POLICY_MAX_POOLS];
	uint32_t live[POLICY_MAX_POOLS];
	uint64_t fin = 0;
	double met = 0;
	int blame[POLICY_MAX_POOLS] = { 0 };
	int i, changed = 0, due, warm, late;

	if (s->next_eval == -INFINITY) {
		/* the first look: the initial sizes stand for one interval */
		s->t_first = now;
		s->next_eval = now + c->interval_s;
	}
	due = now >= s->next_eval;
	if (due)
		s->next_eval += c->interval_s;
	if (s->next_eval <= now) /* a caller that skipped whole intervals */
		s->next_eval = now + c->interval_s;
	/* a window not yet full under-reads every rate: no step down on it */
	warm = now - s->t_first >= pol->conf.window_s;
	/* the service's attainment: requests finish at one pool whichever stage made them late */
	for (i = 0; i < c->n; i++) {
		const struct policy_scale_pool *p = &c->p[i];
		policy_pool_stats(pol, p->pool, now, &st[i]);
		if (p->rate_pool >= 0 && p->rate_pool != p->pool)
			policy_pool_stats(pol, p->rate_pool, now, &rt[i]);
		else
			rt[i] = st[i];
		live[i] = st[i].starting + st[i].ready;
		fin += st[i].finished;
		met += st[i].slo_attainment * (double)st[i].finished;
	}
	late = fin >= c->attain_min_n && met < c->attain_min * (double)fin;
	if (late) {
		/*
		 * Which pools the SLO trigger adds to: those with requests queued (at
		 * least one per ready instance), where the time is lost; when none has a
		 * queue, the one whose load is nearest what it carries.
		 */
		int best = -1, any = 0;
		double u, ub = -1;
		for (i = 0; i < c->n; i++) {
			blame[i] = st[i].queued > 0 && st[i].queued >= st[i].ready;
			any |= blame[i];
			u = carry(s, i, live[i]);
			u = u > 0 ? rt[i].rate[c->p[i].load] / u : INFINITY;
			if (u > ub) {
				ub = u;
				best = i;
			}
		}
		if (!any && best >= 0)
			blame[best] = 1;
	}
	for (i = 0; i < c->n; i++) {
		const struct policy_scale_pool *p = &c->p[i];
		uint32_t need, down;
		double load = rt[i].rate[p->load];
		int slo, burst;

		need = clamp_u(policy_scale_need(s, i, load), p->min, p->max);
		/* time is lost where requests wait */
		slo = late && blame[i] && st[i].starting == 0;
		burst = p->burst_queue > 0 && st[i].queued > s->prev_queued[i] &&
			(double)st[i].queued > p->burst_queue * (st[i].ready ? st[i].ready : 1);
		target[i] = live[i];
		why[i] = POLICY_SCALE_NONE;
		s->prev_queued[i] = st[i].queued;
		if (burst) {
			double fast = rt[i].rate_recent[p->load];
			uint32_t b;
			if (st[i].starting == 0 && !s->was_starting[i])
				fast += backlog(p, &st[i], &rt[i]) / c->drain_s;
			b = clamp_u(policy_scale_need(s, i, fast), p->min, p->max);
			if (b > live[i] && b > need)
				need = b;
			else
				burst = 0; /* the queue is what the pool drains in time */
		}
		if (slo && need <= live[i])
			need = clamp_u((double)live[i] + 1, p->min, p->max);
		/* between evaluations only a clear excess (beyond the hysteresis) moves it up */
		if (need > live[i] &&
		    (due || slo || burst || need >= live[i] * (1 + c->hysteresis))) {
			target[i] = need;
			why[i] = burst ? POLICY_SCALE_BURST : slo ? POLICY_SCALE_SLO
							    : POLICY_SCALE_PERIODIC;
		} else if (live[i] < p->min || live[i] > p->max) {
			target[i] = clamp_u(live[i], p->min, p->max);
			why[i] = POLICY_SCALE_PERIODIC;
		} else if (due && warm && !slo && !burst &&
			   now - s->last_change[i] >= c->cooldown_s) {
			/* down only when the load fits fewer instances with margin to spare */
			down = clamp_u(policy_scale_need(s, i, load / (1 - c->hysteresis)), p->min,
				       p->max);
			if (down < live[i]) {
				target[i] = down;
				why[i] = POLICY_SCALE_PERIODIC;
			}
		}
	}
	for (i = 0; i < c->n; i++)
		s->was_starting[i] = st[i].starting > 0;
	fit_budget(s, live, target);
	for (i = 0; i < c->n; i++) {
		if (target[i] == live[i]) {
			why[i] = POLICY_SCALE_NONE;
			continue;
		}
		s->last_change[i] = now;
		if (target[i] > live[i])
			s->ups++;
		else
			s->downs++;
		changed++;
	}
	return changed;
}
