/*
 * Helpers shared by the simulator's test files (tests/sim/test_*.c): build a perf for a
 * built-in model and GPU, run a simulation or fail the test with the library's message,
 * and set explicit pools. Include after cmocka.h, perf/perf.h and sim/sim.h.
 */
#ifndef SIM_TEST_UTIL_H
#define SIM_TEST_UTIL_H

#include <math.h>
#include <stdlib.h>

#include "trace/trace_synth.h"

static inline struct perf *perf_new(const char *model, const char *gpu)
{
	struct perf *p = calloc(1, sizeof(*p));
	struct model_spec m;
	struct gpu_spec g;
	struct ms_error err = { 0 };

	assert_non_null(p);
	if (model_spec_load(&m, model, &err) < 0 || gpu_spec_load(&g, gpu, &err) < 0 ||
	    perf_init(p, &m, &g, &err) < 0)
		fail_msg("%s", err.msg);
	return p;
}

/* Equal to 1e-12 relative: two sums of the same stage times in another order. */
static inline int close_to(double x, double y)
{
	return fabs(x - y) <= 1e-12 * fabs(y) + 1e-15;
}

static inline void perf_free(struct perf *p)
{
	perf_release(p);
	free(p);
}

static inline void run_ok(const struct sim_config *c, const struct trace_set *ts, struct sim_result *r)
{
	struct ms_error err = { 0 };
	if (sim_run(c, ts, r, &err) < 0)
		fail_msg("sim_run: %s", err.msg);
}

static inline void pools(struct sim_config *c, enum sim_deploy_kind k, const char *spec)
{
	struct ms_error err = { 0 };
	if (sim_deploy_parse_pools(&c->deploy, k, spec, &err) < 0)
		fail_msg("%s: %s", spec, err.msg);
}

/* n rows of the built-in synthetic week with this seed, or fail the test. */
static inline void synth(struct trace_set *ts, uint64_t n, uint64_t seed)
{
	struct trace_synth_opts so;
	struct ms_error err = { 0 };

	trace_set_init(ts);
	trace_synth_opts_default(&so);
	so.requests = n;
	so.seed = seed;
	if (trace_synth(ts, &so, &err) < 0)
		fail_msg("synth: %s", err.msg);
}

/*
 * cmocka group fixtures: *state is the perf of llama-3.2-11b-vision on an a100-80gb,
 * the pair most tests use (perf is read-only to sim, so the tests can share it):
 * cmocka_run_group_tests(tests, perf_group_setup, perf_group_teardown).
 */
static inline int perf_group_setup(void **state)
{
	*state = perf_new("llama-3.2-11b-vision", "a100-80gb");
	return 0;
}

static inline int perf_group_teardown(void **state)
{
	perf_free(*state);
	return 0;
}

/* c and ts run as they are (FCFS unless set) into fc, then under the SLO order into so;
 * c->order is left POLICY_ORDER_SLO. */
static inline void run_fcfs_slo(struct sim_config *c, const struct trace_set *ts,
				struct sim_result *fc, struct sim_result *so)
{
	run_ok(c, ts, fc);
	c->order = POLICY_ORDER_SLO;
	run_ok(c, ts, so);
}

/* Releases what run_fcfs_slo made, and the trace. */
static inline void release_fcfs_slo(struct sim_result *fc, struct sim_result *so,
				    struct trace_set *ts)
{
	sim_result_release(fc);
	sim_result_release(so);
	trace_set_release(ts);
}

#endif
