/*
 * The autoscaling rule of policy_scale.h: per pool, O(1) per call (one
 * policy_pool_stats read each).
 */
#include "policy/policy_scale.h"

#include <math.h>
#include <string.h>

int policy_scale_init(struct policy_scale *s, const struct policy_scale_conf *c,
		      const struct policy *pol, struct ms_error *err)
{
	int i;

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
	for (i = 0; i < c->n; i++) {
		const struct policy_scale_pool *p = &c->p[i];
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
		s->last_change[i] = -INFINITY;
	}
	s->next_eval = -INFINITY;
	return 0;
}

static uint32_t clamp_u(double v, uint32_t lo, uint32_t hi)
{
	if (!(v > lo))
		return lo;
	if (v >= hi)
		return hi;
	return (uint32_t)v;
}

int policy_scale_step(struct policy_scale *s, struct policy *pol, double now, uint32_t *target,
		      enum policy_scale_why *why)
{
	const struct policy_scale_conf *c = &s->conf;
	int i, changed = 0, due, warm;

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
	for (i = 0; i < c->n; i++) {
		const struct policy_scale_pool *p = &c->p[i];
		struct policy_pool_stats st, rt;
		uint32_t live, need, down;
		double load;
		int slo, burst;

		policy_pool_stats(pol, p->pool, now, &st);
		if (p->rate_pool >= 0 && p->rate_pool != p->pool)
			policy_pool_stats(pol, p->rate_pool, now, &rt);
		else
			rt = st;
		live = st.starting + st.ready;
		load = rt.rate[p->load];
		need = clamp_u(ceil(load / p->capacity), p->min, p->max);
		slo = st.starting == 0 && st.finished >= c->attain_min_n &&
		      st.slo_attainment < c->attain_min;
		burst = st.starting == 0 && p->burst_queue > 0 &&
			(double)st.queued > p->burst_queue * (live ? live : 1) &&
			st.queued > s->prev_queued[i];
		s->prev_queued[i] = st.queued;
		target[i] = live;
		why[i] = POLICY_SCALE_NONE;
		if (burst) {
			uint32_t b = clamp_u(ceil((double)st.queued / p->burst_queue), p->min, p->max);
			if (b > need)
				need = b;
		}
		if (slo && need <= live)
			need = clamp_u((double)live + 1, p->min, p->max);
		/* between evaluations only a clear excess (beyond the hysteresis) moves it up */
		if (need > live && (due || slo || burst || need >= live * (1 + c->hysteresis))) {
			target[i] = need;
			why[i] = burst ? POLICY_SCALE_BURST : slo ? POLICY_SCALE_SLO
							    : POLICY_SCALE_PERIODIC;
		} else if (live < p->min || live > p->max) {
			target[i] = clamp_u(live, p->min, p->max);
			why[i] = POLICY_SCALE_PERIODIC;
		} else if (due && warm && !slo && !burst &&
			   now - s->last_change[i] >= c->cooldown_s) {
			/* down only when the load fits fewer instances with margin to spare */
			down = clamp_u(ceil(load / (p->capacity * (1 - c->hysteresis))), p->min,
				       p->max);
			if (down < live) {
				target[i] = down;
				why[i] = POLICY_SCALE_PERIODIC;
			}
		}
		if (target[i] != live) {
			s->last_change[i] = now;
			if (target[i] > live)
				s->ups++;
			else
				s->downs++;
			changed++;
		}
	}
	return changed;
}
