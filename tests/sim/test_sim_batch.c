/*
 * sim_batch as vLLM v1 schedules: KV blocks taken per prefill chunk (a long
 * prompt is admitted by its first chunk, and gives way when a later chunk cannot
 * get its blocks), and requests that arrive at the same instant (or at the instant
 * an iteration ends) join the same iteration.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "perf/perf.h"
#include "sim/sim.h"

#include "sim/sim_test_util.h"

/*
 * 20 blocks of 16 tokens, a budget of 64. A (64 + 8 tokens) prefills alone and
 * holds 4 blocks, then 5 from its first decode step on (64 tokens in the cache
 * fill 4 blocks); it decodes in iterations 2..8 and then frees them. B (256
 * tokens, 16 blocks, one output) arrives during A's prefill.
 * Whole-prompt admission (before): 16 > 15 free blocks, so B waits for A, and
 * nothing is preempted. Per chunk (vLLM v1): B is admitted by its first chunk of
 * 63 tokens (4 blocks), and its chunks in iterations 2, 3, 4 hold 4, 8, 12
 * blocks; the 4th (252 tokens, 16 blocks) needs 4 with 3 free, and B, the newest
 * prefilling request, gives its blocks back (one preemption); nothing is admitted
 * in that iteration. Admitted again in iteration 6, it holds 12 blocks after 8,
 * when A finishes (8 free), and its last chunks, 64 and 3 tokens, fit.
 */
static void test_kv_per_chunk(void **state)
{
	struct perf *p = perf_new("llama-3.2-11b-vision", "a100-80gb");
	struct trace_set ts;
	struct sim_config c;
	struct sim_result r;
	struct ms_error err = { 0 };

	(void)state;
	sim_config_default(&c, p);
	pools(&c, SIM_DEPLOY_MONO, "mono=1x4");
	c.token_budget = 64;
	c.kv_tokens = 20 * 16;
	trace_set_init(&ts);
	assert_int_equal(trace_set_push(&ts, 0, 0, 64, 8, &err), 0);
	assert_int_equal(trace_set_push(&ts, 1e-6, 0, 256, 1, &err), 0);
	run_ok(&c, &ts, &r);
	assert_int_equal(r.truncated, 0);
	assert_int_equal(r.req[0].preempted, 0);
	assert_int_equal(r.req[1].preempted, 1);
	assert_int_equal(r.preemptions, 1);
	/* B's prompt completes only after A has given its blocks back */
	assert_true(r.req[1].arrive + r.req[1].ttft > r.req[0].arrive + r.req[0].e2e);
	sim_result_release(&r);
	/* the same in --step-decode: the closed-form runs change nothing */
	c.step_decode = 1;
	run_ok(&c, &ts, &r);
	assert_int_equal(r.preemptions, 1);
	sim_result_release(&r);
	trace_set_release(&ts);
	perf_free(p);
}

/*
 * Two text requests (100 and 300 tokens) at t = 0 on an idle monolith: one
 * iteration prefills both, so both first tokens come at its end, after
 * perf_llm_iter_s of 400 prompt tokens with attention 100 x 50 + 300 x 150.
 * (The first used to start an iteration alone and the second to wait for it.)
 */
static void test_same_instant_one_iteration(void **state)
{
	struct perf *p = perf_new("llama-3.2-11b-vision", "a100-80gb");
	struct perf_iter it = { .prefill_tokens = 400, .prefill_attn = 100.0 * 50 + 300.0 * 150 };
	struct trace_set ts;
	struct sim_config c;
	struct sim_result r;
	struct ms_error err = { 0 };
	double want;

	(void)state;
	sim_config_default(&c, p);
	pools(&c, SIM_DEPLOY_MONO, "mono=1x4");
	trace_set_init(&ts);
	assert_int_equal(trace_set_push(&ts, 0, 0, 100, 5, &err), 0);
	assert_int_equal(trace_set_push(&ts, 0, 0, 300, 5, &err), 0);
	run_ok(&c, &ts, &r);
	want = perf_llm_iter_s(p, 4, &it);
	assert_true(close_to(r.req[0].ttft, want));
	assert_true(close_to(r.req[1].ttft, want));
	sim_result_release(&r);
	trace_set_release(&ts);
	perf_free(p);
}

/*
 * A arrives at 0 and prefills alone; B arrives during that iteration; C arrives
 * exactly when it ends (A's TTFT alone: its end event was queued before C's
 * arrival, so it used to come first and start the next iteration without C). The
 * next iteration holds A's first decode step and the prefills of B and C, so B
 * and C get their first tokens at the same time.
 */
static void test_arrival_at_iteration_end(void **state)
{
	struct perf *p = perf_new("llama-3.2-11b-vision", "a100-80gb");
	struct trace_set ts;
	struct sim_config c;
	struct sim_result r;
	struct ms_error err = { 0 };
	double end1;

	(void)state;
	sim_config_default(&c, p);
	pools(&c, SIM_DEPLOY_MONO, "mono=1x4");
	trace_set_init(&ts);
	assert_int_equal(trace_set_push(&ts, 0, 0, 500, 20, &err), 0);
	run_ok(&c, &ts, &r);
	end1 = r.req[0].ttft;
	sim_result_release(&r);
	assert_int_equal(trace_set_push(&ts, 1e-6, 0, 200, 5, &err), 0);
	assert_int_equal(trace_set_push(&ts, end1, 0, 300, 5, &err), 0);
	run_ok(&c, &ts, &r);
	assert_true(close_to(r.req[0].ttft, end1));
	assert_true(close_to(r.req[1].arrive + r.req[1].ttft, r.req[2].arrive + r.req[2].ttft));
	sim_result_release(&r);
	trace_set_release(&ts);
	perf_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kv_per_chunk),
		cmocka_unit_test(test_same_instant_one_iteration),
		cmocka_unit_test(test_arrival_at_iteration_end),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
