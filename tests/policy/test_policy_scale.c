/*
 * policy_scale without a simulator: ceil(load / capacity) within bounds, the
 * periodic step down with hysteresis and cooldown, the SLO-attainment and
 * queue-burst triggers, and the wait for starting instances.
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

/* `tokens_s` prompt tokens/s arriving over [t0, t1), one request per second, finished at once. */
static void load(struct fix *f, double t0, double t1, double tokens_s, double ttft)
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
	load(&f, 0, 100, 4500, 0.1);
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
	load(&f, 100, 700, 3500, 0.1);
	assert_int_equal(step(&f, 700, &why), 5);
	assert_int_equal(why, POLICY_SCALE_NONE);
	/* to 2.0: 2 / 0.8 = 2.5 -> 3 at the next periodic evaluation */
	load(&f, 700, 1000, 2000, 0.1);
	assert_int_equal(step(&f, 1000, &why), 3);
	/* never below min, never above max */
	load(&f, 1000, 1300, 20000, 0.1);
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
	load(&f, 0, 30, 2000, 0.5);
	load(&f, 30, 60, 2000, 5.0);
	assert_int_equal(step(&f, 60, &why), 4);
	assert_int_equal(why, POLICY_SCALE_SLO);
	policy_release(&f.pol);
}

static void test_burst_trigger_waits_for_starting(void **state)
{
	struct fix f;
	struct ms_error err = { 0 };
	enum policy_scale_why why;
	uint32_t id;

	(void)state;
	setup(&f, 2);
	load(&f, 0, 60, 1000, 0.1);
	assert_int_equal(step(&f, 60, &why), 2);
	/* the queue jumps to 55 requests and keeps growing: ceil(55 / 10) = 6 */
	policy_queue_changed(&f.pol, 0, 55);
	assert_int_equal(step(&f, 70, &why), 6);
	assert_int_equal(why, POLICY_SCALE_BURST);
	/* four start; the queue grows on, but nothing more until they are ready */
	for (int i = 0; i < 4; i++)
		assert_int_equal(policy_inst_add(&f.pol, 0, 0, 70, &id, &err), 0);
	policy_queue_changed(&f.pol, 0, 30);
	assert_int_equal(step(&f, 80, &why), 6);
	assert_int_equal(why, POLICY_SCALE_NONE);
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
		cmocka_unit_test(test_burst_trigger_waits_for_starting),
		cmocka_unit_test(test_bad_conf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
