/*
 * sim: what the speed work must not change. The event queue pops in (time, sequence)
 * order through growth, ties, interleaved pushes and its turns between a sorted list
 * and a heap; a run whose hooks skip the policy's windowed statistics
 * (sim_config.no_stats) has every result bit for bit, and the statistics are off.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "perf/perf.h"
#include "policy/policy.h"
#include "sim/sim.h"
#include "sim/sim_int.h"

#include "sim/sim_test_util.h"

static void test_heap_order(void **state)
{
	struct sim__heap h;
	struct sim__event e, prev = { .t = -INFINITY };
	struct ms_error err = { 0 };
	unsigned seed = 5;
	uint64_t pushed = 0, popped = 0;
	int round, i, modes[2] = { 0, 0 };

	(void)state;
	assert_int_equal(sim__heap_init(&h, 4, &err), 0);
	for (round = 0; round < 200; round++) {
		/* bursts of pushes (many at the same few times), then some pops */
		int np = rand_r(&seed) % 80, nq = rand_r(&seed) % 90;
		for (i = 0; i < np; i++) {
			double t = prev.t > 0 ? prev.t : 0;
			t += (double)(rand_r(&seed) % 4);
			assert_int_equal(sim__heap_push(&h, t, SIM__EV_DONE, (uint32_t)pushed, 0), 0);
			pushed++;
			modes[h.heap]++;
		}
		for (i = 0; i < nq && sim__heap_pop(&h, &e); i++) {
			assert_true(e.t > prev.t || (e.t == prev.t && e.seq > prev.seq));
			/* a is the push count: a later push at the same time pops later */
			assert_int_equal(e.a, (uint32_t)e.seq);
			prev = e;
			popped++;
		}
	}
	while (sim__heap_pop(&h, &e)) {
		assert_true(e.t > prev.t || (e.t == prev.t && e.seq > prev.seq));
		prev = e;
		popped++;
	}
	assert_int_equal(popped, pushed);
	assert_true(modes[0] > 100 && modes[1] > 100); /* both forms were used */
	assert_true(h.cap > 4); /* it grew */
	assert_int_equal(sim__heap_pop(&h, &e), 0);
	sim__heap_release(&h);
}

static void same_result(const struct sim_result *a, const struct sim_result *b)
{
	int p;

	assert_int_equal(a->n, b->n);
	assert_memory_equal(a->req, b->req, a->n * sizeof(*a->req));
	assert_int_equal(a->events, b->events);
	assert_int_equal(a->preemptions, b->preemptions);
	assert_int_equal(a->max_in_flight, b->max_in_flight);
	assert_memory_equal(&a->end_s, &b->end_s, sizeof(a->end_s));
	assert_memory_equal(&a->gpu_s, &b->gpu_s, sizeof(a->gpu_s));
	assert_int_equal(a->n_pools, b->n_pools);
	for (p = 0; p < a->n_pools; p++)
		assert_memory_equal(&a->pool[p].busy_gpu_s, &b->pool[p].busy_gpu_s,
				    sizeof(a->pool[p].busy_gpu_s));
}

/* An early-stop hook that never stops: counts its calls and the arrival rates it sees. */
struct watch {
	uint64_t calls;
	double max_rate;
};

static int watch_finish(void *arg, struct sim_ctl *ctl, uint32_t row, const struct metrics_req *m)
{
	struct watch *w = arg;
	struct policy *pol = sim_ctl_policy(ctl);
	struct policy_pool_stats ps;
	int p;

	(void)row;
	(void)m;
	w->calls++;
	for (p = 0; p < pol->conf.n_pools; p++) {
		policy_pool_stats(pol, p, sim_ctl_now(ctl), &ps);
		if (ps.rate[0] > w->max_rate)
			w->max_rate = ps.rate[0];
	}
	return 0;
}

static void test_no_stats(void **state)
{
	static const struct {
		enum sim_deploy_kind kind;
		const char *pools;
	} runs[] = {
		{ SIM_DEPLOY_MODSERVE, "enc=6x1,llm=2x4" },
		{ SIM_DEPLOY_MONO, "mono=2x4" },
		{ SIM_DEPLOY_PD, "prefill=1x4,decode=1x4" },
	};
	struct perf *perf = perf_new("llama-3.2-11b-vision", "a100-80gb");
	struct trace_set ts;
	size_t i;

	(void)state;
	synth(&ts, 4000, 3);
	for (i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		struct sim_config c;
		struct sim_result full, bare;
		struct watch wf = { 0, 0 }, wb = { 0, 0 };

		sim_config_default(&c, perf);
		pools(&c, runs[i].kind, runs[i].pools);
		c.rate_scale = 40; /* queues build: routing has choices to make */
		c.slo_ttft_s = 1;
		c.slo_tpot_s = 0.05;
		c.early_stop = watch_finish;
		c.hook_arg = &wf;
		run_ok(&c, &ts, &full);
		c.no_stats = 1;
		c.hook_arg = &wb;
		run_ok(&c, &ts, &bare);
		same_result(&full, &bare);
		assert_int_equal(wf.calls, ts.n);
		assert_int_equal(wb.calls, ts.n);
		assert_true(wf.max_rate > 0); /* with statistics the hook sees arrivals */
		assert_true(wb.max_rate == 0); /* without, it does not: they were skipped */
		assert_true(full.max_in_flight > 10);
		sim_result_release(&full);
		sim_result_release(&bare);
	}
	trace_set_release(&ts);
	perf_free(perf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_heap_order),
		cmocka_unit_test(test_no_stats),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
