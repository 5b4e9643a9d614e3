/*
 * The highest rate scale a budget (or a fixed deployment) sustains within the
 * SLO (plan.h), and, with plan_opts.split_search, the budget's split searched
 * at each rate instead of taken from the work rule.
 *
 * The rates tried lie on one lattice: doubling (or halving) from the trace's
 * rate until the verdict turns, then bisection in log space to the relative
 * step `tol`, so the answer is the highest lattice rate that meets.
 *
 * The split walk (docs/plan.md): at a rate, the split that met at the
 * highest rate so far is run first (the work rule's split before any met).
 * If it fails, the targets that failed name the pool that is short:
 * for modserve, image TTFT alone means the encoders (text requests never
 * touch them), anything else (text TTFT, TPOT) the LLM instances; for pd,
 * TTFT the prefill pool, TPOT the decode pool. One instance of the other pool
 * is traded for as many GPUs of the short one, and the walk goes on in that
 * direction while the same pool stays short. It stops when the budget's line
 * ends or the short pool flips: then no split meets at this rate (the misses
 * of one pool only grow as the other gains, so the feasible splits are an
 * interval of the line, and the walk has crossed it without finding it).
 */
#include <math.h>
#include <string.h>

#include "plan/plan_int.h"

/* The pools the walk trades between, by index in d: a (encoders, decoders), b (LLM, prefill). */
static int walk_pools(const struct sim_deploy *d, int *ia, int *ib)
{
	int i;

	*ia = *ib = -1;
	for (i = 0; i < d->n_pools; i++) {
		enum sim_role r = d->pool[i].role;
		if (r == SIM_ROLE_ENC || r == SIM_ROLE_DECODE)
			*ia = i;
		else if (r == SIM_ROLE_LLM || r == SIM_ROLE_PREFILL)
			*ib = i;
	}
	return *ia >= 0 && *ib >= 0;
}

static double ratio(uint64_t miss, uint64_t allow)
{
	return (double)miss / (double)(allow + 1);
}

/* Which pool the failed verdict says is short: 0 the a pool, 1 the b pool. */
static int short_pool(const struct sim_deploy *d, const struct plan_verdict *v,
		      const uint64_t *allow)
{
	double img_ttft = ratio(v->miss_ttft[PLAN_IMAGE], allow[PLAN_IMAGE]);
	double txt_ttft = ratio(v->miss_ttft[PLAN_TEXT], allow[PLAN_TEXT]);
	double tpot = fmax(ratio(v->miss_tpot[PLAN_TEXT], allow[PLAN_TEXT]),
			   ratio(v->miss_tpot[PLAN_IMAGE], allow[PLAN_IMAGE]));

	if (d->kind == SIM_DEPLOY_PD)
		return fmax(img_ttft, txt_ttft) >= tpot ? 1 : 0;
	/* modserve: only image requests wait for encoders */
	return img_ttft > txt_ttft && img_ttft > tpot ? 0 : 1;
}

/*
 * Moves one b instance's GPUs to a (dir 0) or one b instance from a's GPUs
 * (dir 1), within the budget; 0 when the line ends there.
 */
static int trade(struct sim_deploy *d, int ia, int ib, int dir, uint32_t budget)
{
	struct sim_pool_spec *a = &d->pool[ia], *b = &d->pool[ib];
	uint32_t ta = (uint32_t)a->tp, tb = (uint32_t)b->tp, used;

	if (dir == 0) {
		if (b->count < 2)
			return 0;
		b->count--;
	} else {
		b->count++;
	}
	used = b->count * tb;
	if (used + ta > budget)
		return 0;
	a->count = (budget - used) / ta;
	return a->count >= 1;
}

/* The budget's split at `rate` by the work rule; *ok 0 when the budget is too small. */
static int work_split(struct plan__job *j, double rate, struct sim_deploy *d, int *ok)
{
	const struct plan_opts *o = j->sh->o;
	struct sim_config c = *o->base;
	struct sim_work w;
	struct ms_error err = { 0 };
	int rc;

	c.rate_scale = rate;
	*ok = 1;
	rc = sim_work_estimate(&c, o->ts, j->tp, &w, &err);
	if (rc == 0)
		rc = sim_deploy_by_work(d, j->kind, j->budget, &w, &err);
	if (rc == -MS_EINVAL) {
		*ok = 0;
		return 0;
	}
	return rc < 0 ? plan__fail(j->sh, rc, &err) : 0;
}

/* Whether the job meets at `rate` (*met as plan__eval's), and with which pools (*d). */
static int met_at_split(struct plan__job *j, double rate, struct sim_deploy *d, int *met)
{
	struct plan_verdict v;
	int ok, rc, ia, ib, dir, k;

	if (j->fixed) {
		*d = *j->fixed;
		return plan__eval(j, d, rate, PLAN__PASS_STOP, met, NULL);
	}
	if (j->sh->o->split_search && j->found) {
		/* the best split sits near the last one that met: start the walk there */
		*d = j->best;
	} else {
		if ((rc = work_split(j, rate, d, &ok)) < 0)
			return rc;
		if (!ok) {
			*met = -1;
			return 0;
		}
	}
	if ((rc = plan__eval(j, d, rate, PLAN__PASS_STOP, met, &v)) < 0 || *met != 0)
		return rc;
	if (!j->sh->o->split_search || !walk_pools(d, &ia, &ib))
		return 0;
	dir = short_pool(d, &v, j->sh->allow) == 0 ? 0 : 1;
	for (k = 0; k < 256; k++) {
		struct sim_deploy e = *d;
		if (!trade(&e, ia, ib, dir, j->budget))
			return 0;
		j->splits++;
		if ((rc = plan__eval(j, &e, rate, PLAN__PASS_STOP, met, &v)) < 0)
			return rc;
		if (*met < 0) {
			*met = 0;
			return 0;
		}
		*d = e;
		if (*met > 0)
			return 0;
		if ((short_pool(d, &v, j->sh->allow) == 0 ? 0 : 1) != dir)
			return 0; /* crossed the feasible interval's place: none at this rate */
	}
	return 0;
}

static int met_at(struct plan__job *j, double rate, int *met)
{
	struct sim_deploy d;
	int rc = met_at_split(j, rate, &d, met);

	if (rc == 0 && *met > 0 && rate > j->best_rate) {
		j->best_rate = rate;
		j->best = d;
		j->found = 1;
	}
	return rc;
}

/*
 * The lattice: rates 2^(k / 2^h), h the halvings that bring a doubling's
 * ratio within 1 + tol (tol 0.05: h = 4, steps of 2^(1/16)). The searches
 * below find the highest k that meets, between 2^-6 and 2^12.
 */
static int lattice_halvings(double tol)
{
	double r = 2;
	int h = 0;

	while (r > 1.0 + tol && h < 20) {
		r = sqrt(r);
		h++;
	}
	return h;
}

/*
 * Highest lattice point that meets, galloping from k0 (steps s0, 2 s0, ...,
 * at most one doubling of the rate), then bisection. Without a prediction
 * k0 = 0 and s0 is one doubling: the trace's rate, doubled or halved until
 * the verdict turns, then halved intervals, as a plain bisection would. With
 * one (the cheapest pools' GPUs scaled to the budget), the first probes sit
 * next to the answer. Rates are monotone (a faster trace never helps), so
 * both find the same point.
 */
void plan__lattice(double tol, int *one, long *kmin, long *kmax)
{
	*one = 1 << lattice_halvings(tol);
	*kmin = -6L * *one;
	*kmax = 12L * *one;
}

double plan__lattice_rate(long k, int one)
{
	return exp2((double)k / one);
}

int plan__search_rate(struct plan__job *j)
{
	int one, met, rc, hopeless;
	long kmin, kmax, k0 = 0, lo, hi, s, s0;

	plan__lattice(j->tol, &one, &kmin, &kmax);
	s0 = one;

	if ((rc = plan__hopeless(j, &hopeless)) < 0 || hopeless)
		return rc;
	if (j->predict > 0) {
		k0 = lround(floor(log2(j->predict) * one));
		k0 = k0 < kmin ? kmin : k0 > kmax ? kmax : k0;
		s0 = 1;
	}
	if ((rc = met_at(j, plan__lattice_rate(k0, one), &met)) < 0 || met < 0)
		return rc;
	if (met) {
		for (lo = k0, s = s0;; s = s * 2 > one ? one : s * 2) {
			hi = lo + s > kmax ? kmax : lo + s;
			if (hi == lo)
				return 0; /* the highest rate tried meets */
			if ((rc = met_at(j, plan__lattice_rate(hi, one), &met)) < 0 || met < 0)
				return rc;
			if (met == 0)
				break;
			lo = hi;
		}
	} else {
		for (hi = k0, s = s0;; s = s * 2 > one ? one : s * 2) {
			lo = hi - s < kmin ? kmin : hi - s;
			if (lo == hi)
				return 0; /* even the lowest rate tried misses */
			if ((rc = met_at(j, plan__lattice_rate(lo, one), &met)) < 0 || met < 0)
				return rc;
			if (met > 0)
				break;
			hi = lo;
		}
	}
	while (hi - lo > 1) {
		long mid = lo + (hi - lo) / 2;
		if ((rc = met_at(j, plan__lattice_rate(mid, one), &met)) < 0 || met < 0)
			return rc;
		if (met > 0)
			lo = mid;
		else
			hi = mid;
	}
	return 0;
}
