/*
 * policy_scale without a simulator: ceil(load / capacity) within bounds, the
 * periodic step down with hysteresis and cooldown, the capacity curve, the
 * SLO-attainment trigger and where it adds, the burst response (recent rate +
 * backlog, the backlog waiting for starting instances), the shared GPU budget.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy/policy.h"
#include "policy/policy_scale.h"

struct fix {
	struct policy pol;
	struct policy_scale sc;
	struct policy_scale_conf c;
};

/* One LLM pool of n ready instances, prompt tokens/s as the load, 1000 per instance. */
static void setup(struct fix *f, uint32_t n)
{
	struct policy_conf pc;
	struct ms_error err = { 0 };
	uint32_t i, id;

	memset(&pc, 0, sizeof(pc));
	pc.n_pools = 1;
	pc.pool[0].stage = POLICY_STAGE_LLM;
	pc.window_s = 60;
	pc.slo_ttft_s = 1;
	assert_int_equal(policy_init(&f->pol, &pc, &err), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(policy_inst_add(&f->pol, 0, 1, 0, &id, &err), 0);
	memset(&f->c, 0, sizeof(f->c));
	f->c.n = 1;
	f->c.p[0].pool = 0;
	f->c.p[0].rate_pool = -1;
	f->c.p[0].load = POLICY_ARR_PROMPT;
	f->c.p[0].capacity = 1000;
	f->c.p[0].min = 1;
	f->c.p[0].max = 8;
	f->c.p[0].burst_queue = 10;
	f->c.interval_s = 300;
	assert_int_equal(policy_scale_init(&f->sc, &f->c, &f->pol, &err), 0);
}

/*
 * `tokens_s` prompt tokens/s arriving at the LLM pool over [t0, t1), one request per
 * second, finished at once.
 */
static void load_llm(struct fix *f, double t0, double t1, double tokens_s, double ttft)
{
	struct policy_req q;
	struct policy_ticket tk;
	uint32_t id;
	double t;

	for (t = t0; t < t1; t += 1) {
		memset(&q, 0, sizeof(q));
		q.prompt_tokens = q.text_tokens = (uint64_t)tokens_s;
		q.output_tokens = 1;
		q.arrival = t;
		policy_ticket_init(&tk, &q);
		assert_int_equal(policy_route_llm(&f->pol, &q, &tk, t, &id), 0);
		assert_int_equal(policy_first_token(&f->pol, &tk, t), 0);
		assert_int_equal(policy_finished(&f->pol, &tk, t, ttft, NAN), 0);
	}
}

static uint32_t step(struct fix *f, double now, enum policy_scale_why *why)
{
	uint32_t target = 0;

	policy_scale_step(&f->sc, &f->pol, now, &target, why);
	return target;
}

static void test_rule_and_down_with_hysteresis(void **state)
{
	struct fix f;
	enum policy_scale_why why;

	(void)state;
	setup(&f, 2);
	load_llm(&f, 0, 100, 4500, 0.1);
	/* 4.5 instances' worth: 5, at once (a clear excess over 2) */
	assert_int_equal(step(&f, 100, &why), 5);
	assert_int_equal(why, POLICY_SCALE_PERIODIC);
	/* the policy has 2 ready; say the caller added 3 that are now ready */
	{
		struct ms_error err = { 0 };
		uint32_t id, i;
		for (i = 0; i < 3; i++)
			assert_int_equal(policy_inst_add(&f.pol, 0, 1, 100, &id, &err), 0);
	}
	/* the load falls to 3.5 instances' worth: 3.5 / 0.8 = 4.4 -> 5, kept */
	load_llm(&f, 100, 700, 3500, 0.1);
	assert_int_equal(step(&f, 700, &why), 5);
	assert_int_equal(why, POLICY_SCALE_NONE);
	/* to 2.0: 2 / 0.8 = 2.5 -> 3 at the next periodic evaluation */
	load_llm(&f, 700, 1000, 2000, 0.1);
	assert_int_equal(step(&f, 1000, &why), 3);
	/* never below min, never above max */
	load_llm(&f, 1000, 1300, 20000, 0.1);
	assert_int_equal(step(&f, 1300, &why), 8);
	policy_release(&f.pol);
}

static void test_slo_trigger(void **state)
{
	struct fix f;
	enum policy_scale_why why;

	(void)state;
	setup(&f, 3);
	/* the load fits 3, but half the requests miss the TTFT target */
	load_llm(&f, 0, 30, 2000, 0.5);
	load_llm(&f, 30, 60, 2000, 5.0);
	assert_int_equal(step(&f, 60, &why), 4);
	assert_int_equal(why, POLICY_SCALE_SLO);
	policy_release(&f.pol);
}

/*
 * A burst shorter than the window: the need comes from the recent arrival rate and
 * the backlog, not the windowed average. The old rule (queued / burst_queue, here
 * ceil(30 / 10) = 3) answered a burst of 8 instances' worth with 3.
 */
static void test_burst_follows_recent_rate(void **state)
{
	struct fix f;
	struct ms_error err = { 0 };
	enum policy_scale_why why;
	uint32_t id, t;

	(void)state;
	setup(&f, 2);
	f.c.p[0].max = 16;
	assert_int_equal(policy_scale_init(&f.sc, &f.c, &f.pol, &err), 0);
	load_llm(&f, 0, 60, 1000, 0.1);
	assert_int_equal(step(&f, 60, &why), 2);
	/* 8000 tokens/s from t = 60: the 60 s window reads 2,167/s at t = 70 (3 instances) */
	load_llm(&f, 60, 70, 8000, 0.1);
	policy_queue_changed(&f.pol, 0, 30); /* 15 per ready instance: above burst_queue */
	t = step(&f, 70, &why);
	assert_int_equal(why, POLICY_SCALE_BURST);
	/* recent: (3 x 1000 + 10 x 8000) / 13.1 s = 6,330/s, + 30 x 2,167 / 60 s of backlog */
	assert_int_equal(t, 8);
	/*
	 * they start; the backlog waits for them (and a call more, to see them drain it),
	 * the recent rate does not: a burst still rising is followed
	 */
	for (int i = 0; i < 6; i++)
		assert_int_equal(policy_inst_add(&f.pol, 0, 0, 70, &id, &err), 0);
	policy_queue_changed(&f.pol, 0, 300);
	assert_int_equal(step(&f, 71, &why), 8);
	assert_int_equal(why, POLICY_SCALE_NONE);
	load_llm(&f, 71, 86, 14000, 0.1);
	policy_queue_changed(&f.pol, 0, 100);
	assert_int_equal(step(&f, 86, &why), 14);
	assert_int_equal(why, POLICY_SCALE_BURST);
	policy_release(&f.pol);
}

/* A queue the pool drains in time is no burst: no change without a need above what it has. */
static void test_queue_alone_is_no_burst(void **state)
{
	struct fix f;
	enum policy_scale_why why;

	(void)state;
	setup(&f, 4);
	load_llm(&f, 0, 60, 1000, 0.1);
	policy_queue_changed(&f.pol, 0, 45); /* 11 per ready instance, at the load of one */
	assert_int_equal(step(&f, 61, &why), 4);
	assert_int_equal(why, POLICY_SCALE_NONE);
	policy_release(&f.pol);
}

/* What n instances carry: linear between the curve's points, `capacity` each beyond. */
static void test_capacity_curve(void **state)
{
	struct fix f;
	struct ms_error err = { 0 };

	(void)state;
	setup(&f, 1);
	f.c.p[0].n_curve = 3;
	f.c.p[0].curve_n[0] = 4;
	f.c.p[0].curve_n[1] = 8;
	f.c.p[0].curve_n[2] = 16;
	f.c.p[0].curve_load[0] = 1000;
	f.c.p[0].curve_load[1] = 4000;
	f.c.p[0].curve_load[2] = 12000;
	assert_int_equal(policy_scale_init(&f.sc, &f.c, &f.pol, &err), 0);
	assert_true(policy_scale_need(&f.sc, 0, 0) == 0);
	assert_true(policy_scale_need(&f.sc, 0, 500) == 2);
	assert_true(policy_scale_need(&f.sc, 0, 1000) == 4);
	assert_true(policy_scale_need(&f.sc, 0, 2500) == 6);
	assert_true(policy_scale_need(&f.sc, 0, 12000) == 16);
	assert_true(policy_scale_need(&f.sc, 0, 13500) == 18); /* 1000 per instance beyond */
	/* a larger pool carries at least a smaller one's load: a dip is read as flat */
	f.c.p[0].curve_load[1] = 500;
	assert_int_equal(policy_scale_init(&f.sc, &f.c, &f.pol, &err), 0);
	assert_true(policy_scale_need(&f.sc, 0, 1000) == 4);
	assert_true(policy_scale_need(&f.sc, 0, 1001) > 8);
	/* sizes must increase */
	f.c.p[0].curve_n[1] = 4;
	assert_true(policy_scale_init(&f.sc, &f.c, &f.pol, &err) < 0);
	assert_non_null(strstr(err.msg, "curve"));
	policy_release(&f.pol);
}

/* Two pools: an encoder pool (1 GPU each) and an LLM pool (4 each) of n ready instances. */
static void setup2(struct fix *f, uint32_t n_enc, uint32_t n_llm, uint32_t max_gpus)
{
	struct policy_conf pc;
	struct ms_error err = { 0 };
	uint32_t i, id;

	memset(&pc, 0, sizeof(pc));
	pc.n_pools = 2;
	pc.pool[0].stage = POLICY_STAGE_ENC;
	pc.pool[1].stage = POLICY_STAGE_LLM;
	pc.window_s = 60;
	pc.slo_ttft_s = 1;
	assert_int_equal(policy_init(&f->pol, &pc, &err), 0);
	for (i = 0; i < n_enc + n_llm; i++)
		assert_int_equal(policy_inst_add(&f->pol, i < n_enc ? 0 : 1, 1, 0, &id, &err), 0);
	memset(&f->c, 0, sizeof(f->c));
	f->c.n = 2;
	for (i = 0; i < 2; i++) {
		f->c.p[i].pool = (int)i;
		f->c.p[i].rate_pool = -1;
		f->c.p[i].load = i ? POLICY_ARR_PROMPT : POLICY_ARR_IMG_TOKENS;
		f->c.p[i].capacity = 1000;
		f->c.p[i].min = 1;
		f->c.p[i].max = 64;
		f->c.p[i].gpus = i ? 4 : 1;
	}
	f->c.interval_s = 300;
	f->c.max_gpus = max_gpus;
	assert_int_equal(policy_scale_init(&f->sc, &f->c, &f->pol, &err), 0);
}

/*
 * Requests finish (late) at the LLM pool, but wait at the encoders: the SLO trigger
 * adds an encoder, not an LLM instance (the old rule read each pool's own finishes:
 * the LLM pool grew, the encoders never did).
 */
static void test_slo_trigger_goes_where_requests_wait(void **state)
{
	struct fix f;
	enum policy_scale_why why[2];
	uint32_t target[2];

	(void)state;
	setup2(&f, 3, 2, 0);
	load_llm(&f, 0, 60, 1000, 5.0); /* every request misses its 1 s target */
	policy_queue_changed(&f.pol, 0, 3);
	policy_scale_step(&f.sc, &f.pol, 60, target, why);
	assert_int_equal(target[0], 4);
	assert_int_equal(why[0], POLICY_SCALE_SLO);
	assert_int_equal(target[1], 2);
	assert_int_equal(why[1], POLICY_SCALE_NONE);
	policy_release(&f.pol);
}

/* A shared GPU budget cuts the largest increase first and never drains a pool for room. */
static void test_gpu_budget(void **state)
{
	struct fix f;
	enum policy_scale_why why[2];
	uint32_t target[2];

	(void)state;
	setup2(&f, 2, 1, 20);
	/* 6,000 prompt tokens/s: 6 LLM instances (24 GPUs) alone; the budget leaves 4 */
	load_llm(&f, 0, 120, 6000, 0.1);
	policy_scale_step(&f.sc, &f.pol, 120, target, why);
	assert_int_equal(target[0], 2);
	assert_int_equal(target[1], 4);
	assert_int_equal(why[1], POLICY_SCALE_PERIODIC);
	/* without the budget: 6 */
	policy_release(&f.pol);
	setup2(&f, 2, 1, 0);
	load_llm(&f, 0, 120, 6000, 0.1);
	policy_scale_step(&f.sc, &f.pol, 120, target, why);
	assert_int_equal(target[1], 6);
	policy_release(&f.pol);
}

static void test_bad_conf(void **state)
{
	struct fix f;
	struct ms_error err = { 0 };

	(void)state;
	setup(&f, 1);
	f.c.p[0].capacity = -1;
	assert_true(policy_scale_init(&f.sc, &f.c, &f.pol, &err) < 0);
	f.c.p[0].capacity = 1;
	f.c.p[0].min = 0;
	assert_true(policy_scale_init(&f.sc, &f.c, &f.pol, &err) < 0);
	f.c.p[0].min = 1;
	f.c.hysteresis = 1.5;
	assert_true(policy_scale_init(&f.sc, &f.c, &f.pol, &err) < 0);
	policy_release(&f.pol);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rule_and_down_with_hysteresis),
		cmocka_unit_test(test_slo_trigger),
		cmocka_unit_test(test_burst_follows_recent_rate),
		cmocka_unit_test(test_queue_alone_is_no_burst),
		cmocka_unit_test(test_capacity_curve),
		cmocka_unit_test(test_slo_trigger_goes_where_requests_wait),
		cmocka_unit_test(test_gpu_budget),
		cmocka_unit_test(test_bad_conf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
