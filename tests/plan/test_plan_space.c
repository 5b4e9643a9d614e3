/*
 * plan_reach: the configurations whose verdicts a search established, counted on
 * spaces small enough to enumerate by hand, then against a brute-force enumeration
 * (every tuple of the space checked against every point) on random point sets for
 * every layout: one pool, two pools, ModServe with encoders, E-P-D's three pools.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "plan/plan.h"

static struct plan_point pt(enum sim_deploy_kind kind, double rate, int met, int n_pools,
			    const enum sim_role *roles, const uint32_t *counts, const int *tps)
{
	struct plan_point p;
	int i;

	memset(&p, 0, sizeof(p));
	p.d.kind = kind;
	p.d.n_pools = n_pools;
	for (i = 0; i < n_pools; i++)
		p.d.pool[i] = (struct sim_pool_spec){ roles[i], counts[i], tps[i] };
	p.rate = rate;
	p.met = met;
	return p;
}

/*
 * mono, TP 1, 4 GPUs, rates 0.5, 1, 2: 12 configurations. 2 meets at 1, 1 misses at 1.
 * Passes implied: n >= 2 at rates <= 1 (6, one of them simulated); fails: n <= 1 at
 * rates >= 1 (2, one simulated). Unknown: 1 at 0.5 and 2..4 at 2.
 */
static void mono_by_hand(void **state)
{
	enum sim_deploy_kind kinds[] = { SIM_DEPLOY_MONO };
	enum sim_role r[] = { SIM_ROLE_MONO };
	int tps[] = { 1 };
	double rates[] = { 0.5, 1, 2 };
	struct plan_space sp = { kinds, 1, tps, 1, 0, 0, 4, rates, 3 };
	struct plan_point p[2];
	struct plan_reach out;
	struct ms_error err = { 0 };

	(void)state;
	p[0] = pt(SIM_DEPLOY_MONO, 1, 1, 1, r, (uint32_t[]){ 2 }, tps);
	p[1] = pt(SIM_DEPLOY_MONO, 1, 0, 1, r, (uint32_t[]){ 1 }, tps);
	assert_int_equal(plan_reach(&sp, p, 2, &out, &err), 0);
	assert_int_equal(out.space, 12);
	assert_int_equal(out.simulated, 2);
	assert_int_equal(out.implied, 6);
	assert_int_equal(out.conflicts, 0);
	assert_true(out.counted);
	/* the same points, but the pass at TP 2: another layout, implies nothing at TP 1 */
	p[0].d.pool[0].tp = 2;
	assert_int_equal(plan_reach(&sp, p, 2, &out, &err), 0);
	assert_int_equal(out.simulated, 1);
	assert_int_equal(out.implied, 1);
	/* no points: nothing established */
	assert_int_equal(plan_reach(&sp, NULL, 0, &out, &err), 0);
	assert_int_equal(out.space, 12);
	assert_int_equal(out.simulated + out.implied, 0);
}

/*
 * pd at TP 2 within 8 GPUs, one rate (1): prefill + decode <= 4 instances, 6 tuples.
 * (2,1) meets and (1,2) misses at rate 1; (1,3) meets at rate 2, outside the space's
 * rates, and implies (1,3) at rate 1. Passes: (2,1) (2,2) (3,1) (1,3); fails: (1,1) (1,2).
 */
static void pd_by_hand(void **state)
{
	enum sim_deploy_kind kinds[] = { SIM_DEPLOY_PD };
	enum sim_role r[] = { SIM_ROLE_PREFILL, SIM_ROLE_DECODE };
	int tps[] = { 2, 2 };
	double rates[] = { 1 };
	struct plan_space sp = { kinds, 1, tps, 1, 0, 0, 8, rates, 1 };
	struct plan_point p[4];
	struct plan_reach out;
	struct ms_error err = { 0 };

	(void)state;
	p[0] = pt(SIM_DEPLOY_PD, 1, 1, 2, r, (uint32_t[]){ 2, 1 }, tps);
	p[1] = pt(SIM_DEPLOY_PD, 1, 0, 2, r, (uint32_t[]){ 1, 2 }, tps);
	p[2] = pt(SIM_DEPLOY_PD, 2, 1, 2, r, (uint32_t[]){ 1, 3 }, tps);
	assert_int_equal(plan_reach(&sp, p, 3, &out, &err), 0);
	assert_int_equal(out.space, 6);
	assert_int_equal(out.simulated, 2);
	assert_int_equal(out.implied, 4);
	assert_int_equal(out.conflicts, 0);
	/*
	 * A miss at (3,1), rate 1, contradicts the pass at (2,1): (2,1) and (3,1) are implied
	 * both ways and counted as conflicts, not as implied; (1,1) (1,3) (2,2) stay implied.
	 */
	p[3] = pt(SIM_DEPLOY_PD, 1, 0, 2, r, (uint32_t[]){ 3, 1 }, tps);
	assert_int_equal(plan_reach(&sp, p, 4, &out, &err), 0);
	assert_int_equal(out.simulated, 3);
	assert_int_equal(out.implied, 3);
	assert_int_equal(out.conflicts, 2);
	/* a point simulated twice (a run repeated for its tails) counts once */
	p[3] = p[0];
	assert_int_equal(plan_reach(&sp, p, 4, &out, &err), 0);
	assert_int_equal(out.simulated, 2);
	assert_int_equal(out.implied, 4);
}

/* The definition, tuple by tuple: every count vector within the cap, every point. */
static void brute(const struct plan_space *sp, const enum sim_role *roles, const int *ptp,
		  int k, enum sim_deploy_kind kind, const struct plan_point *p, size_t n,
		  struct plan_reach *out)
{
	uint32_t c[3] = { 1, 1, 1 };
	int ri, i;
	size_t j;

	memset(out, 0, sizeof(*out));
	for (;;) {
		uint32_t used = 0;
		for (i = 0; i < k; i++)
			used += c[i] * (uint32_t)ptp[i];
		for (ri = 0; used <= sp->cap && ri < sp->n_rates; ri++) {
			double r = sp->rates[ri];
			int sim = 0, pass = 0, fail = 0;
			for (j = 0; j < n; j++) {
				int ge = 1, le = 1, eq = 1;
				if (p[j].d.kind != kind || p[j].d.n_pools != k)
					continue;
				for (i = 0; i < k; i++) {
					if (p[j].d.pool[i].role != roles[i] || p[j].d.pool[i].tp != ptp[i])
						ge = le = eq = 0;
					ge &= c[i] >= p[j].d.pool[i].count;
					le &= c[i] <= p[j].d.pool[i].count;
					eq &= c[i] == p[j].d.pool[i].count;
				}
				sim |= eq && p[j].rate == r;
				pass |= ge && p[j].met == 1 && p[j].rate >= r;
				fail |= le && p[j].met == 0 && p[j].rate <= r;
			}
			out->space++;
			out->simulated += sim;
			out->conflicts += pass && fail;
			out->implied += !sim && (pass != fail);
		}
		for (i = k - 1; i >= 0; i--) {
			if (++c[i] <= sp->cap)
				break;
			c[i] = 1;
		}
		if (i < 0)
			return;
	}
}

static void random_against_brute(void **state)
{
	enum sim_deploy_kind kinds[1];
	double rates[] = { 0.25, 0.5, 1, 1.5, 2, 4 };
	unsigned seed = 12345;
	int trial;

	(void)state;
	for (trial = 0; trial < 400; trial++) {
		enum sim_role roles[3];
		int ptp[3], tps[1], k = 0, i, tp = 1 + (int)(rand_r(&seed) % 2), layout = trial % 4;
		struct plan_space sp;
		struct plan_point p[24];
		struct plan_reach got, want;
		struct ms_error err = { 0 };
		size_t n = (size_t)(rand_r(&seed) % 24), j;

		memset(&sp, 0, sizeof(sp));
		kinds[0] = layout == 0 ? SIM_DEPLOY_MONO
			   : layout == 1 ? SIM_DEPLOY_PD
					 : SIM_DEPLOY_MODSERVE;
		if (layout == 0)
			roles[k] = SIM_ROLE_MONO, ptp[k++] = tp;
		if (layout == 1) {
			roles[k] = SIM_ROLE_PREFILL, ptp[k++] = tp;
			roles[k] = SIM_ROLE_DECODE, ptp[k++] = tp;
		}
		if (layout >= 2)
			roles[k] = SIM_ROLE_ENC, ptp[k++] = 1;
		if (layout == 2)
			roles[k] = SIM_ROLE_LLM, ptp[k++] = tp;
		if (layout == 3) {
			roles[k] = SIM_ROLE_PREFILL, ptp[k++] = tp;
			roles[k] = SIM_ROLE_DECODE, ptp[k++] = tp;
		}
		tps[0] = tp;
		sp.kinds = kinds;
		sp.n_kinds = 1;
		sp.tps = tps;
		sp.n_tps = 1;
		sp.enc = layout >= 2;
		sp.epd = layout == 3;
		sp.cap = 2 + (uint32_t)(rand_r(&seed) % 11);
		sp.rates = rates;
		sp.n_rates = 1 + (int)(rand_r(&seed) % 6);
		for (j = 0; j < n; j++) {
			uint32_t c[3];
			for (i = 0; i < k; i++)
				c[i] = 1 + (uint32_t)(rand_r(&seed) % (sp.cap + 2)); /* some over the cap */
			p[j] = pt(kinds[0], rates[rand_r(&seed) % 6] * (rand_r(&seed) % 8 ? 1 : 1.1),
				  (int)(rand_r(&seed) % 2),
				  k, roles, c, ptp);
			if (rand_r(&seed) % 12 == 0)
				p[j].met = -1; /* cannot run: simulated, implies nothing */
			if (j > 0 && rand_r(&seed) % 8 == 0)
				p[j] = p[j - 1]; /* repeated */
		}
		assert_int_equal(plan_reach(&sp, p, n, &got, &err), 0);
		brute(&sp, roles, ptp, k, kinds[0], p, n, &want);
		if (got.space != want.space || got.simulated != want.simulated ||
		    got.implied != want.implied || got.conflicts != want.conflicts)
			fail_msg("trial %d layout %d cap %u: space %llu/%llu simulated %llu/%llu "
				 "implied %llu/%llu conflicts %llu/%llu",
				 trial, layout, sp.cap, (unsigned long long)got.space,
				 (unsigned long long)want.space, (unsigned long long)got.simulated,
				 (unsigned long long)want.simulated, (unsigned long long)got.implied,
				 (unsigned long long)want.implied, (unsigned long long)got.conflicts,
				 (unsigned long long)want.conflicts);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(mono_by_hand),
		cmocka_unit_test(pd_by_hand),
		cmocka_unit_test(random_against_brute),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
