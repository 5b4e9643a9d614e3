/*
 * The autoscaler (policy_scale through sim_autoscale) inside sim_run: it
 * follows a load step within interval + startup delay, answers a short burst at
 * the first tick, returns to its minimum after the load stops and the cooldown
 * passes, does not flap on a constant load that sits on a boundary, charges
 * starting and idle instances, and the paper's initial sizes from history.
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
#include "policy/policy.h"
#include "policy/policy_scale.h"
#include "sim/sim.h"
#include "sim/sim_autoscale.h"

#include "sim/sim_test_util.h"

/* Poisson arrivals of short text requests at `rate` per second over [t0, t1). */
static void poisson(struct trace_set *ts, double t0, double t1, double rate, uint64_t *rng)
{
	struct ms_error err = { 0 };
	double t = t0;

	for (;;) {
		double u = ((double)(ms_splitmix64(rng) >> 11) + 0.5) / 9007199254740992.0;
		t += -log(u) / rate;
		if (t >= t1)
			break;
		if (trace_set_push(ts, t, 0, 300, 20, &err) < 0)
			fail_msg("%s", err.msg);
	}
}

/* live[0] at the last recorded point at or before t */
static uint32_t live_at(const struct sim_autoscale *a, double t)
{
	uint32_t v = a->n ? a->pts[0].live[0] : 0;
	size_t i;

	for (i = 0; i < a->n && a->pts[i].t <= t; i++)
		v = a->pts[i].live[0];
	return v;
}

/* Changes of live[0] between recorded points in [t0, t1]. */
static unsigned changes(const struct sim_autoscale *a, double t0, double t1)
{
	unsigned k = 0;
	size_t i;

	for (i = 1; i < a->n; i++)
		if (a->pts[i].t >= t0 && a->pts[i].t <= t1 && a->pts[i].live[0] != a->pts[i - 1].live[0])
			k++;
	return k;
}

/* What every test holds: the model, a trace, and an autoscaled run's results. */
struct env {
	struct perf *p;
	struct trace_set ts;
	struct sim_autoscale a;
	struct sim_result r;
};

static int env_setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	if (!e || !(e->p = perf_new("llama-3.2-11b-vision", "a100-80gb"))) {
		free(e);
		return -1;
	}
	trace_set_init(&e->ts);
	sim_result_init(&e->r);
	*state = e;
	return 0;
}

static int env_teardown(void **state)
{
	struct env *e = *state;

	sim_result_release(&e->r);
	sim_autoscale_release(&e->a);
	trace_set_release(&e->ts);
	perf_free(e->p);
	free(e);
	return 0;
}

#define INTERVAL 300.0
#define STARTUP 60.0
#define TICK 30.0
#define CAP 2.0 /* requests/s one instance is said to carry (about what it does: max_seqs) */

static void run_scaled(struct env *e, uint32_t start)
{
	struct sim_config c;
	struct policy_scale_conf pc;
	struct ms_error err = { 0 };
	char spec[32];

	sim_config_default(&c, e->p);
	/* two running requests per instance: about CAP requests/s, so an overload queues */
	c.max_seqs = 2;
	snprintf(spec, sizeof(spec), "mono=%ux4", start);
	pools(&c, SIM_DEPLOY_MONO, spec);
	memset(&pc, 0, sizeof(pc));
	pc.n = 1;
	pc.p[0].pool = 0;
	pc.p[0].rate_pool = -1;
	pc.p[0].load = POLICY_ARR_REQ;
	pc.p[0].capacity = CAP;
	pc.p[0].min = 1;
	pc.p[0].max = 16;
	pc.p[0].burst_queue = 16;
	pc.interval_s = INTERVAL;
	assert_int_equal(sim_autoscale_attach(&e->a, &c, &pc, TICK, STARTUP, &err), 0);
	run_ok(&c, &e->ts, &e->r);
}

static void test_step_up_down_no_flap(void **state)
{
	struct env *e = *state;
	struct sim_autoscale *a = &e->a;
	uint64_t rng = 42;
	const double t_step = 1800, t_stop = 5400, t_end = 9000;
	double t_ready, t_min, gpu_h;
	size_t i;

	poisson(&e->ts, 0, t_step, 1.2, &rng);      /* needs 1 instance */
	poisson(&e->ts, t_step, t_stop, 20.0, &rng); /* needs exactly 10: a boundary */
	poisson(&e->ts, t_stop, t_end, 0.02, &rng);  /* a trickle: back to the minimum */
	run_scaled(e, 1);
	assert_true(a->n > 100);
	assert_int_equal(live_at(a, t_step - 1), 1);
	/* follows the step: 10 or more live, and ready, within interval + startup */
	t_ready = -1;
	for (i = 0; i < a->n; i++)
		if (a->pts[i].t >= t_step && a->pts[i].live[0] >= 10) {
			t_ready = a->pts[i].t;
			break;
		}
	assert_true(t_ready > t_step);
	assert_true(t_ready + STARTUP <= t_step + INTERVAL + STARTUP);
	/* no flapping on the constant load: at most one more step up, never down */
	assert_true(changes(a, t_ready + 1, t_stop) <= 1);
	for (i = 1; i < a->n; i++)
		if (a->pts[i].t > t_ready && a->pts[i].t < t_stop)
			assert_true(a->pts[i].live[0] >= a->pts[i - 1].live[0]);
	/* after the load stops: the minimum once the window, a period and the cooldown pass */
	t_min = -1;
	for (i = 0; i < a->n; i++)
		if (a->pts[i].t >= t_stop && a->pts[i].live[0] == 1) {
			t_min = a->pts[i].t;
			break;
		}
	assert_true(t_min > t_stop);
	assert_true(t_min <= t_stop + 60 + INTERVAL + INTERVAL + TICK);
	assert_int_equal(live_at(a, t_end), 1);
	assert_true(a->drained >= 9);
	/* cost counts starting and draining instances: at least the curve's GPU-hours */
	gpu_h = sim_autoscale_gpu_hours(a, e->r.end_s);
	assert_true(e->r.gpu_s / 3600.0 >= gpu_h * 0.98);
	assert_true(e->r.gpu_s / 3600.0 < 16.0 * 4 * e->r.end_s / 3600.0);
	/* every request finished (sim_run checks that itself); the run was not cut short */
	assert_false(e->r.stopped);
}

/*
 * A burst shorter than the rate window's reach: 1.2 -> 16 requests/s for 4 minutes.
 * The burst response (the queue above 16 per ready instance: the recent rate plus
 * the backlog) asks for the 8 instances' worth at the first tick after the step; the
 * windowed average alone (the old rule) read half of it there (5) and got to 8 a tick
 * later. Once the burst is over the pool returns to the minimum.
 */
static void test_burst_answered_at_first_tick(void **state)
{
	struct env *e = *state;
	struct sim_autoscale *a = &e->a;
	uint64_t rng = 5;
	const double t_step = 1800, t_stop = 2040, t_end = 4200;

	poisson(&e->ts, 0, t_step, 1.2, &rng);
	poisson(&e->ts, t_step, t_stop, 16.0, &rng);
	poisson(&e->ts, t_stop, t_end, 0.02, &rng);
	run_scaled(e, 1);
	assert_int_equal(live_at(a, t_step - 1), 1);
	/* ticks every 30 s (from 1 s): the first after the step, at 1831 */
	assert_true(live_at(a, t_step + TICK + 1) >= 8);
	assert_true(a->why[POLICY_SCALE_BURST] >= 1);
	assert_true(live_at(a, t_stop) <= 16);
	assert_int_equal(live_at(a, t_end), 1);
}

/* A constant load away from any boundary: the size never changes while it lasts. */
static void test_constant_load_stays(void **state)
{
	struct env *e = *state;
	uint64_t rng = 7;

	poisson(&e->ts, 0, 7200, 9.0, &rng); /* 4.5 instances' worth: 5 */
	run_scaled(e, 5);
	assert_int_equal(changes(&e->a, 0, 7199), 0);
	assert_int_equal(e->a.added, 0);
	assert_int_equal(live_at(&e->a, 7199), 5);
}

/* N_image = median image QPS x encode latency of one image; N_text = N_image / median images. */
static void test_initial_from_history(void **state)
{
	struct env *e = *state;
	struct sim_config c;
	struct ms_error err = { 0 };
	uint32_t ni = 0, nt = 0, i;
	double enc = perf_encode_s(e->p, 1, perf_image_tiles(e->p));

	/* one 2-image request every 0.1 s for an hour: 20 images/s */
	for (i = 0; i < 36000; i++)
		assert_int_equal(trace_set_push(&e->ts, 0.1 * i, 2, 500, 10, &err), 0);
	sim_config_default(&c, e->p);
	sim_autoscale_initial(e->p, &e->ts, &c, &ni, &nt);
	assert_int_equal(ni, (uint32_t)ceil(20.0 * enc));
	assert_int_equal(nt, (uint32_t)ceil(ceil(20.0 * enc) / 2));
}

static void test_bad_conf(void **state)
{
	struct env *e = *state;
	struct sim_config c;
	struct policy_scale_conf pc;
	struct sim_autoscale a;
	struct ms_error err = { 0 };

	sim_config_default(&c, e->p);
	pools(&c, SIM_DEPLOY_MONO, "mono=1x4");
	memset(&pc, 0, sizeof(pc));
	pc.n = 1;
	pc.p[0].rate_pool = -1;
	pc.p[0].min = 1;
	pc.p[0].max = 4;
	assert_true(sim_autoscale_attach(&a, &c, &pc, 30, 60, &err) < 0); /* capacity 0 */
	assert_non_null(strstr(err.msg, "capacity"));
	pc.p[0].capacity = 1;
	pc.p[0].min = 5;
	assert_true(sim_autoscale_attach(&a, &c, &pc, 30, 60, &err) < 0);
	assert_non_null(strstr(err.msg, "bounds"));
	pc.p[0].min = 1;
	pc.p[0].pool = 3;
	assert_true(sim_autoscale_attach(&a, &c, &pc, 30, 60, &err) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_step_up_down_no_flap, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_burst_answered_at_first_tick, env_setup,
						env_teardown),
		cmocka_unit_test_setup_teardown(test_constant_load_stays, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_initial_from_history, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_bad_conf, env_setup, env_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
