/*
 * sim: pools that change at run time (instances added through ticks, starting
 * then ready, drained and removed), GPU cost per instance-second, early stop,
 * and a pool left without ready instances as a run error.
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
#include "trace/trace_synth.h"

#include "sim/sim_test_util.h"

struct churn {
	int ticks, added, drained, removed_seen;
	uint32_t started[64];
	int n_started;
	uint64_t picked_while_starting;
};

/*
 * Every tick: each pool gets a new instance (ready after 45 s) and loses its
 * oldest ready member to draining while it keeps at least one ready.
 */
static int churn_tick(void *arg, struct sim_ctl *ctl, double now)
{
	struct churn *ch = arg;
	struct policy *pol = sim_ctl_policy(ctl);
	struct policy_pool_stats ps;
	uint32_t id, i;
	int p;

	(void)now;
	ch->ticks++;
	for (i = 0; i < (uint32_t)ch->n_started; i++) {
		uint32_t k = ch->started[i];
		if (policy_inst_state(pol, k) == POLICY_INST_STARTING && policy_inst_pending(pol, k))
			ch->picked_while_starting++;
	}
	for (p = 0; p < pol->conf.n_pools; p++) {
		policy_pool_stats(pol, p, now, &ps);
		assert_int_equal(ps.ready, policy_pool_ready(pol, p));
		if (ch->n_started < 64 && sim_ctl_add(ctl, p, 45, &id) == 0) {
			ch->started[ch->n_started++] = id;
			ch->added++;
		}
		if (policy_pool_ready(pol, p) > 1) {
			uint32_t victim = pol->pool[p].ready[0];
			assert_int_equal(sim_ctl_drain(ctl, victim), 0);
			ch->drained++;
		}
	}
	for (i = 0; i < pol->n_inst; i++)
		ch->removed_seen += policy_inst_state(pol, i) == POLICY_INST_REMOVED;
	return 0;
}

static void test_add_and_drain_during_run(void **state)
{
	static const char *const specs[] = { "enc=2x1,llm=2x4", "mono=2x4",
					     "prefill=2x4,decode=2x4" };
	static const enum sim_deploy_kind kinds[] = { SIM_DEPLOY_MODSERVE, SIM_DEPLOY_MONO,
						      SIM_DEPLOY_PD };
	struct perf *p = perf_new("llama-3.2-11b-vision", "a100-80gb");
	struct trace_set ts;
	size_t i, k;
	int j;

	(void)state;
	synth(&ts, 4000, 5);
	for (k = 0; k < 3; k++) {
		struct sim_config c;
		struct sim_result r, base;
		struct churn ch;
		uint64_t done = 0;

		memset(&ch, 0, sizeof(ch));
		sim_config_default(&c, p);
		pools(&c, kinds[k], specs[k]);
		c.rate_scale = 4;
		run_ok(&c, &ts, &base);
		c.tick_s = 60;
		c.on_tick = churn_tick;
		c.hook_arg = &ch;
		run_ok(&c, &ts, &r);
		assert_false(r.stopped);
		assert_true(ch.ticks >= 5);
		assert_true(ch.added > 0 && ch.drained > 0 && ch.removed_seen > 0);
		assert_int_equal(r.instances_added, (uint64_t)ch.added);
		assert_int_equal(r.instances_drained, (uint64_t)ch.drained);
		/* a starting instance is never routed to */
		assert_int_equal(ch.picked_while_starting, 0);
		/* every request finished exactly once (sim_run aborts on a second finish) */
		for (i = 0; i < ts.n; i++) {
			done += r.req[i].done;
			assert_true(r.req[i].e2e > 0 && r.req[i].ttft > 0);
			assert_true(r.req[i].ttft <= r.req[i].e2e);
		}
		assert_int_equal(done, ts.n);
		/*
		 * Busy share and KV use are normalised by the pool's size at each moment:
		 * never above 1, though more instances than at the start ran at once.
		 */
		for (j = 0; j < r.n_pools; j++) {
			const struct metrics_series *se = &r.pool[j].series;
			size_t b;
			for (b = 0; b < se->n; b++) {
				if (!(se->v[METRICS_SER_BUSY][b] <= 1 + 1e-9))
					fail_msg("pool %d bucket %zu busy %g", j, b, se->v[METRICS_SER_BUSY][b]);
				assert_true(se->v[METRICS_SER_KV][b] <= 1 + 1e-9);
			}
		}
		/* the churn changed where work ran: not the static run */
		for (i = 0; i < ts.n && r.req[i].e2e == base.req[i].e2e; i++)
			;
		assert_true(i < ts.n);
		sim_result_release(&r);
		sim_result_release(&base);
	}
	trace_set_release(&ts);
	perf_free(p);
}

struct timed {
	double add_at, drain_at, startup;
	int pool;
	uint32_t id;
	int state; /* 0 nothing yet, 1 added, 2 drained */
	int ticks;
};

static int timed_tick(void *arg, struct sim_ctl *ctl, double now)
{
	struct timed *t = arg;

	t->ticks++;
	if (t->state == 0 && now >= t->add_at) {
		assert_int_equal(sim_ctl_add(ctl, t->pool, t->startup, &t->id), 0);
		t->state = 1;
	} else if (t->state == 1 && now >= t->drain_at) {
		assert_int_equal(sim_ctl_drain(ctl, t->id), 0);
		/* it held nothing: removed at once */
		assert_int_equal(policy_inst_state(sim_ctl_policy(ctl), t->id), POLICY_INST_REMOVED);
		t->state = 2;
	}
	return 0;
}

/*
 * Cost per instance-second: one request on mono=1x4 from t = 0; an instance
 * requested at 10 s (ready at 15 s) and drained empty at 20 s costs 4 GPUs x
 * 10 s on top of 4 GPUs x the run, starting time included.
 */
static void test_cost_per_instance_second(void **state)
{
	struct perf *p = perf_new("llama-3.2-11b-vision", "a100-80gb");
	struct trace_set ts;
	struct sim_config c;
	struct sim_result r;
	struct ms_error err = { 0 };
	struct timed t = { .add_at = 10, .drain_at = 20, .startup = 5, .pool = 0 };

	(void)state;
	trace_set_init(&ts);
	/* a long decode: the run lasts well beyond the 20 s of the scenario */
	assert_int_equal(trace_set_push(&ts, 0, 0, 2000, 16000, &err), 0);
	sim_config_default(&c, p);
	pools(&c, SIM_DEPLOY_MONO, "mono=1x4");
	c.tick_s = 10;
	c.on_tick = timed_tick;
	c.hook_arg = &t;
	run_ok(&c, &ts, &r);
	assert_true(r.end_s > 30);
	assert_int_equal(t.state, 2);
	/* every 10 s while work remains: the last may fall just after the last token */
	assert_in_range(t.ticks, (int)floor(r.end_s / 10), (int)floor(r.end_s / 10) + 1);
	assert_true(fabs(r.gpu_s - (4.0 * r.end_s + 4.0 * 10)) < 1e-9 * r.gpu_s);
	assert_true(fabs(r.cost_usd - r.gpu_s / 3600 * p->gpu.price_hour) < 1e-12 * r.cost_usd);
	sim_result_release(&r);
	trace_set_release(&ts);
	perf_free(p);
}

static int stop_at_100(void *arg, struct sim_ctl *ctl, uint32_t row, const struct metrics_req *m)
{
	int *calls = arg;

	(void)row;
	assert_true(m->done);
	(*calls)++;
	return sim_ctl_finished(ctl) + 1 >= 100; /* this one is the 100th */
}

static void test_early_stop(void **state)
{
	struct perf *p = perf_new("llama-3.2-11b-vision", "a100-80gb");
	struct trace_set ts;
	struct sim_config c;
	struct sim_result r;
	size_t i, done = 0;
	int calls = 0;

	(void)state;
	synth(&ts, 3000, 9);
	sim_config_default(&c, p);
	pools(&c, SIM_DEPLOY_MODSERVE, "enc=2x1,llm=1x4");
	c.early_stop = stop_at_100;
	c.hook_arg = &calls;
	run_ok(&c, &ts, &r);
	assert_true(r.stopped);
	for (i = 0; i < ts.n; i++)
		done += r.req[i].done;
	/* requests finishing in the same event as the 100th still count, then it stops */
	assert_true(done >= 100 && done < 200);
	assert_int_equal((size_t)calls, done);
	assert_true(r.gpu_s > 0 && r.end_s < ts.t[ts.n - 1]);
	sim_result_release(&r);
	trace_set_release(&ts);
	perf_free(p);
}

static int drain_all(void *arg, struct sim_ctl *ctl, double now)
{
	struct policy *pol = sim_ctl_policy(ctl);

	(void)arg;
	(void)now;
	while (policy_pool_ready(pol, 1))
		assert_int_equal(sim_ctl_drain(ctl, pol->pool[1].ready[0]), 0);
	return 0;
}

/* An autoscaler that drains a whole pool: the next request is a run error naming the pool. */
static void test_no_ready_instance_is_an_error(void **state)
{
	struct perf *p = perf_new("llama-3.2-11b-vision", "a100-80gb");
	struct trace_set ts;
	struct sim_config c;
	struct sim_result r;
	struct ms_error err = { 0 };

	(void)state;
	synth(&ts, 2000, 4);
	sim_config_default(&c, p);
	pools(&c, SIM_DEPLOY_MODSERVE, "enc=2x1,llm=2x4");
	c.tick_s = 100;
	c.on_tick = drain_all;
	assert_int_equal(sim_run(&c, &ts, &r, &err), -MS_EUNSUPPORTED);
	if (!strstr(err.msg, "pool llm has no ready instance"))
		fail_msg("%s", err.msg);
	trace_set_release(&ts);
	perf_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_and_drain_during_run),
		cmocka_unit_test(test_cost_per_instance_second),
		cmocka_unit_test(test_early_stop),
		cmocka_unit_test(test_no_ready_instance_is_an_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
