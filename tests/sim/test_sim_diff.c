/*
 * sim: randomised differential test of the closed-form decode against stepping
 * every iteration (--step-decode). Random small traces and configurations
 * (deployment and pool sizes, model, KV cache size and block, token budget,
 * batch limits, routing), a fixed seed per case so a failure names the case to
 * rerun; every per-request time, stage split and preemption count must agree.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/ms_rand.h"
#include "perf/perf.h"
#include "sim/sim.h"

#include "sim/sim_test_util.h"

#define CASES 300

static uint32_t between(uint64_t *rng, uint32_t lo, uint32_t hi)
{
	return lo + ms_rand_below(rng, hi - lo + 1);
}

static int near(double a, double b, double rel)
{
	if (isnan(a) || isnan(b))
		return isnan(a) && isnan(b);
	return fabs(a - b) <= rel * fabs(b) + 1e-9;
}

static void random_trace(struct trace_set *ts, uint64_t *rng)
{
	struct ms_error err = { 0 };
	uint32_t n = between(rng, 1, 250), i;
	double t = 0, gap = 0.002 * between(rng, 1, 1000);

	trace_set_init(ts);
	for (i = 0; i < n; i++) {
		uint32_t images = between(rng, 0, 1) ? 0 : between(rng, 1, 6);
		uint32_t text = between(rng, 1, between(rng, 0, 3) ? 800 : 6000);
		uint32_t gen = between(rng, 0, 9) ? between(rng, 1, 300) : between(rng, 300, 1500);
		assert_int_equal(trace_set_push(ts, t, images, text + 85 * images, gen, &err), 0);
		t += gap * -log((ms_splitmix64(rng) >> 11) * 0x1.0p-53 + 1e-12);
	}
}

static void random_config(struct sim_config *c, const struct perf *p, uint64_t *rng, char *what,
			  size_t size)
{
	int tp = p->model.default_tp;
	uint32_t kind = between(rng, 0, 2);
	char spec[96];

	sim_config_default(c, p);
	switch (kind) {
	case SIM_DEPLOY_MONO:
		snprintf(spec, sizeof(spec), "mono=%ux%d", between(rng, 1, 3), tp);
		break;
	case SIM_DEPLOY_PD:
		snprintf(spec, sizeof(spec), "prefill=%ux%d,decode=%ux%d", between(rng, 1, 2), tp,
			 between(rng, 1, 2), tp);
		break;
	default:
		if (between(rng, 0, 1))
			snprintf(spec, sizeof(spec), "enc=%ux1,llm=%ux%d", between(rng, 1, 3),
				 between(rng, 1, 2), tp);
		else
			snprintf(spec, sizeof(spec), "enc=%ux1,prefill=%ux%d,decode=%ux%d",
				 between(rng, 1, 2), between(rng, 1, 2), tp, between(rng, 1, 2), tp);
		break;
	}
	pools(c, (enum sim_deploy_kind)kind, spec);
	c->kv_block = 8u << between(rng, 0, 2);
	c->kv_tokens = between(rng, 0, 4) ? between(rng, 4 * c->kv_block, 20000) : 0;
	c->token_budget = between(rng, 0, 1) ? between(rng, 16, 1024) : 4096;
	c->max_seqs = between(rng, 0, 2) ? between(rng, 1, 48) : 256;
	c->enc_max_images = between(rng, 1, 8);
	c->route_llm = (enum policy_route)between(rng, 0, 2);
	c->route_enc = (enum policy_route)between(rng, 0, 2);
	c->seed = ms_splitmix64(rng);
	snprintf(what, size, "%s %s kv %llu/%u budget %u seqs %u enc-batch %u", p->model.name, spec,
		 (unsigned long long)c->kv_tokens, c->kv_block, c->token_budget, c->max_seqs,
		 c->enc_max_images);
}

static void test_closed_form_equals_stepping_random(void **state)
{
	static const char *const models[] = { "llama-3.2-11b-vision", "internvl-2.5-26b",
					      "llava-onevision-7b" };
	struct perf *perfs[3];
	uint64_t preempted_cases = 0, total_preemptions = 0;
	int k, m;

	(void)state;
	for (m = 0; m < 3; m++)
		perfs[m] = perf_new(models[m], "a100-80gb");
	for (k = 0; k < CASES; k++) {
		uint64_t rng = 0x5eed0000u + (uint64_t)k;
		struct trace_set ts;
		struct sim_config c;
		struct sim_result a, b;
		char what[256];
		size_t i;
		int s;

		random_trace(&ts, &rng);
		random_config(&c, perfs[between(&rng, 0, 2)], &rng, what, sizeof(what));
		run_ok(&c, &ts, &a);
		c.step_decode = 1;
		run_ok(&c, &ts, &b);
		if (a.preemptions != b.preemptions)
			fail_msg("case %d (%s): %llu vs %llu preemptions", k, what,
				 (unsigned long long)a.preemptions, (unsigned long long)b.preemptions);
		for (i = 0; i < ts.n; i++) {
			const struct metrics_req *x = &a.req[i], *y = &b.req[i];
			int ok = near(x->ttft, y->ttft, 1e-9) && near(x->e2e, y->e2e, 1e-9) &&
				 near(x->tpot, y->tpot, 1e-9) && x->preempted == y->preempted &&
				 x->truncated == y->truncated && x->prompt == y->prompt &&
				 x->gen == y->gen;
			for (s = 0; s < METRICS__STAGES && ok; s++)
				ok = near(x->queued[s], y->queued[s], 1e-5) &&
				     near(x->served[s], y->served[s], 1e-5);
			if (!ok)
				fail_msg("case %d (%s), row %zu: ttft %.17g vs %.17g, e2e %.17g vs "
					 "%.17g, preempted %u vs %u", k, what, i, x->ttft, y->ttft,
					 x->e2e, y->e2e, x->preempted, y->preempted);
		}
		preempted_cases += a.preemptions > 0;
		total_preemptions += a.preemptions;
		sim_result_release(&a);
		sim_result_release(&b);
		trace_set_release(&ts);
	}
	print_message("%d random cases, %llu with preemptions (%llu in all)\n", CASES,
		      (unsigned long long)preempted_cases, (unsigned long long)total_preemptions);
	/* the random configurations reach KV pressure, where the two are most apt to differ */
	assert_true(preempted_cases >= CASES / 10);
	for (m = 0; m < 3; m++)
		perf_free(perfs[m]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_closed_form_equals_stepping_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
