/*
 * plan: SLO targets, the counted P99 verdict, and the searches' answers checked by
 * re-simulation (the chosen pools meet the SLO; one instance fewer in any pool does not).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "perf/perf.h"
#include "plan/plan.h"
#include "plan/plan_int.h"
#include "sim/sim.h"
#include "sim/sim_test_util.h"
#include "trace/trace_synth.h"

static void allowed_misses(void **state)
{
	(void)state;
	assert_int_equal(plan_allowed_misses(0, 0.99), 0);
	assert_int_equal(plan_allowed_misses(99, 0.99), 0);
	assert_int_equal(plan_allowed_misses(100, 0.99), 1);
	assert_int_equal(plan_allowed_misses(199, 0.99), 1);
	assert_int_equal(plan_allowed_misses(200, 0.99), 2);
	assert_int_equal(plan_allowed_misses(1000, 0.9), 100);
	assert_int_equal(plan_allowed_misses(1000, 1.0), 0);
}

/* A hand-made result: the verdict counts misses per class against the class targets. */
static void judge_counts(void **state)
{
	struct plan_slo s;
	struct sim_result r;
	struct plan_verdict v;
	struct metrics_req req[200];
	struct ms_error err = { 0 };
	int i;

	(void)state;
	plan_slo_init(&s);
	s.ttft[PLAN_TEXT] = 1.0, s.tpot[PLAN_TEXT] = 0.1;
	s.ttft[PLAN_IMAGE] = 2.0, s.tpot[PLAN_IMAGE] = 0.1;
	memset(req, 0, sizeof(req));
	for (i = 0; i < 200; i++) {
		req[i].done = 1;
		req[i].images = i < 100 ? 0 : 1;
		req[i].ttft = i < 100 ? 0.5 : 1.5; /* text 0.5 s, image 1.5 s: all meet */
		req[i].tpot = 0.05;
	}
	req[7].tpot = NAN;          /* one output token: no TPOT, never a miss */
	req[150].ttft = 2.5;        /* one image miss: allowed (1 of 100) */
	sim_result_init(&r);
	r.n = 200;
	r.req = req;
	assert_int_equal(plan_judge(&s, &r, 1, &v, &err), 0);
	assert_int_equal(v.n[PLAN_TEXT], 100);
	assert_int_equal(v.n[PLAN_IMAGE], 100);
	assert_int_equal(v.miss_ttft[PLAN_IMAGE], 1);
	assert_int_equal(v.miss_tpot[PLAN_TEXT], 0);
	assert_true(v.met);
	/* image TTFT 1.5 s except the one at 2.5 s: P99 of 100 values interpolates 1.5 and 2.5 */
	assert_true(fabs(v.p99_ttft[PLAN_IMAGE] - (1.5 + 0.01 * 1.0)) < 1e-12);
	/* a second image miss is one too many; a text request at 1.2 s misses the text target */
	req[160].ttft = 2.1;
	req[3].ttft = 1.2;
	assert_int_equal(plan_judge(&s, &r, 0, &v, &err), 0);
	assert_int_equal(v.miss_ttft[PLAN_IMAGE], 2);
	assert_int_equal(v.miss_ttft[PLAN_TEXT], 1);
	assert_false(v.met);
	assert_true(isnan(v.p99_ttft[PLAN_TEXT])); /* no tails asked */
	/* an unfinished request counts in its class but not as a miss */
	req[160].ttft = 1.5;
	req[161].done = 0;
	assert_int_equal(plan_judge(&s, &r, 0, &v, &err), 0);
	assert_int_equal(v.n[PLAN_IMAGE], 100);
	assert_int_equal(v.miss_ttft[PLAN_IMAGE], 1);
	plan_slo_release(&s);
}

/* The reference requests: an image costs encode time; targets scale linearly; the TP matters. */
static void reference_targets(void **state)
{
	struct perf *p = perf_new("llama-3.2-11b-vision", "a100-80gb");
	struct sim_config c;
	struct plan_slo s1, s2, s8;
	struct ms_error err = { 0 };

	(void)state;
	sim_config_default(&c, p);
	plan_slo_init(&s1);
	plan_slo_init(&s2);
	plan_slo_init(&s8);
	assert_int_equal(plan_slo_reference(&s1, &c, 4, 1.0, &err), 0);
	assert_int_equal(plan_slo_reference(&s2, &c, 4, 2.0, &err), 0);
	assert_int_equal(plan_slo_reference(&s8, &c, 8, 1.0, &err), 0);
	assert_true(s1.ttft[PLAN_TEXT] > 0);
	assert_true(s1.ttft[PLAN_IMAGE] > 2 * s1.ttft[PLAN_TEXT]); /* encoding dominates TTFT */
	assert_true(fabs(s2.ttft[PLAN_IMAGE] - 2 * s1.ttft[PLAN_IMAGE]) < 1e-12);
	assert_true(fabs(s2.tpot[PLAN_TEXT] - 2 * s1.tpot[PLAN_TEXT]) < 1e-12);
	assert_true(s8.ttft[PLAN_TEXT] != s1.ttft[PLAN_TEXT]); /* measured at the monolith's TP */
	assert_int_equal(plan_slo_reference(&s1, &c, 4, 0.0, &err), -MS_EINVAL);
	perf_free(p);
}

/* Per-request targets equal scale x the request simulated alone on one monolith instance. */
static void per_request_targets(void **state)
{
	struct perf *p = perf_new("llama-3.2-11b-vision", "a100-80gb");
	struct sim_config c;
	struct trace_set ts, one;
	struct plan_slo s;
	struct sim_result r;
	struct ms_error err = { 0 };
	size_t i;

	(void)state;
	sim_config_default(&c, p);
	trace_set_init(&ts);
	/*
	 * Requests at the same instant: alone, none waits for another. The second runs for
	 * minutes, past the first replay's spacing (60 s): the rows it overlapped there are
	 * replayed again apart, and must still come out as if alone.
	 */
	assert_int_equal(trace_set_push(&ts, 0, 0, 3000, 50, &err), 0);
	assert_int_equal(trace_set_push(&ts, 0, 0, 100, 30000, &err), 0);
	assert_int_equal(trace_set_push(&ts, 0, 4, 900, 20, &err), 0);
	assert_int_equal(trace_set_push(&ts, 0, 16, 200, 1, &err), 0);
	assert_int_equal(trace_set_push(&ts, 0, 1, 700, 30, &err), 0);
	plan_slo_init(&s);
	s.mono_tp = 4;
	s.scale = 3;
	assert_int_equal(plan_slo_per_request(&s, &c, &ts, &err), 0);
	assert_int_equal(s.n, 5);
	c.deploy.n_pools = 0;
	pools(&c, SIM_DEPLOY_MONO, "mono=1x4");
	for (i = 0; i < ts.n; i++) {
		trace_set_init(&one);
		assert_int_equal(trace_set_push(&one, 0, ts.images[i], ts.ctx[i], ts.gen[i], &err), 0);
		run_ok(&c, &one, &r);
		if (i == 1) /* it overlaps the next two rows, 60 s apart */
			assert_true(r.req[0].e2e > 120 && !r.req[0].truncated);
		assert_true(fabs(s.req_ttft[i] - (float)(3 * r.req[0].ttft)) <= 1e-6 * s.req_ttft[i]);
		if (isnan(r.req[0].tpot))
			assert_true(isnan(s.req_tpot[i]));
		else
			assert_true(fabs(s.req_tpot[i] - (float)(3 * r.req[0].tpot)) <=
				    1e-6 * s.req_tpot[i]);
		sim_result_release(&r);
		trace_set_release(&one);
	}
	plan_slo_release(&s);
	trace_set_release(&ts);
	perf_free(p);
}

static int meets(const struct sim_config *base, const struct trace_set *ts,
		 const struct plan_slo *s, const struct sim_deploy *d)
{
	struct sim_config c = *base;
	struct sim_result r;
	struct plan_verdict v;
	struct ms_error err = { 0 };

	c.deploy = *d;
	run_ok(&c, ts, &r);
	if (plan_judge(s, &r, 0, &v, &err) < 0)
		fail_msg("%s", err.msg);
	sim_result_release(&r);
	return v.met;
}

/* The first `n` requests of the synthetic week (seed), and per-request targets at scale 5. */
static void synth_with_slo(struct sim_config *c, struct trace_set *ts, struct plan_slo *s,
			   size_t n, uint64_t seed)
{
	struct ms_error err = { 0 };

	synth(ts, n, seed);
	plan_slo_init(s);
	s->mono_tp = 4;
	s->scale = 5;
	assert_int_equal(plan_slo_per_request(s, c, ts, &err), 0);
}

static void opts_for(struct plan_opts *o, const struct sim_config *c, const struct trace_set *ts,
		     const struct plan_slo *s, uint32_t max_gpus)
{
	memset(o, 0, sizeof(*o));
	o->base = c;
	o->ts = ts;
	o->slo = s;
	o->max_gpus = max_gpus;
	o->threads = 2;
}

/*
 * The search's answer, checked independently of the search: the chosen pools meet
 * the SLO when simulated again, and with one instance fewer in any pool they do not.
 */
static void cheapest_is_tight(void **state)
{
	struct perf *p = perf_new("llama-3.2-11b-vision", "a100-80gb");
	struct sim_config c;
	struct trace_set ts;
	struct plan_slo s;
	struct plan_opts o;
	struct plan_choice ch[SIM_DEPLOY__COUNT];
	enum sim_deploy_kind kinds[] = { SIM_DEPLOY_MONO, SIM_DEPLOY_PD, SIM_DEPLOY_MODSERVE };
	struct ms_error err = { 0 };
	int k, i;

	(void)state;
	sim_config_default(&c, p);
	c.rate_scale = 2; /* the first ~35 min of the week, twice as fast: a few instances per pool */
	synth_with_slo(&c, &ts, &s, 3000, 5);
	opts_for(&o, &c, &ts, &s, 96);
	assert_int_equal(plan_cheapest(&o, kinds, 3, ch, &err), 0);
	/*
	 * mono and modserve fit; pd may not: its first token comes from prefill and the KV
	 * transfer to decode lands in the next token's gap, so short outputs can miss TPOT
	 * whatever the pool sizes. What is found must be tight.
	 */
	assert_true(ch[0].found);
	assert_true(ch[2].found);
	for (k = 0; k < 3; k++) {
		struct sim_deploy d;
		if (!ch[k].found)
			continue;
		assert_true(ch[k].v.met);
		assert_int_equal(ch[k].gpus, sim_deploy_gpus(&ch[k].deploy));
		assert_true(ch[k].gpus <= 96);
		assert_true(meets(&c, &ts, &s, &ch[k].deploy));
		for (i = 0; i < ch[k].deploy.n_pools; i++) {
			d = ch[k].deploy;
			if (d.pool[i].count < 2)
				continue; /* a pool cannot shrink to nothing */
			d.pool[i].count--;
			assert_false(meets(&c, &ts, &s, &d));
		}
	}
	/* with per-image encoders and a text path that skips them, ModServe needs no more GPUs */
	assert_true(ch[2].gpus <= ch[0].gpus);
	plan_slo_release(&s);
	trace_set_release(&ts);
	perf_free(p);
}

/*
 * The highest rate a budget sustains: met at the answer, more for more GPUs. With the
 * split searched (modserve), never below the work rule's split, within the budget, and
 * the searched pools meet at the rate reported.
 */
static void max_rate_brackets(void **state)
{
	struct perf *p = perf_new("llama-3.2-11b-vision", "a100-80gb");
	struct sim_config c;
	struct trace_set ts;
	struct plan_slo s;
	struct plan_opts o;
	struct plan_capacity cap[4], search[2];
	enum sim_deploy_kind kinds[] = { SIM_DEPLOY_MONO, SIM_DEPLOY_MODSERVE };
	uint32_t budgets[] = { 16, 32 };
	struct ms_error err = { 0 };
	int b;

	(void)state;
	sim_config_default(&c, p);
	synth_with_slo(&c, &ts, &s, 2000, 2);
	opts_for(&o, &c, &ts, &s, 32);
	assert_int_equal(plan_max_rate(&o, kinds, 2, budgets, 2, 0.05, cap, &err), 0);
	o.split_search = 1;
	assert_int_equal(plan_max_rate(&o, kinds + 1, 1, budgets, 2, 0.05, search, &err), 0);
	for (b = 0; b < 4; b++) {
		struct sim_config at = c;
		const struct plan_capacity *x = b < 2 ? &cap[b] : &search[b - 2];
		assert_true(x->rate_scale > 0);
		assert_true(sim_deploy_gpus(&x->deploy) <= budgets[b % 2]);
		at.rate_scale = x->rate_scale;
		assert_true(meets(&at, &ts, &s, &x->deploy));
		if (b >= 2)
			assert_true(x->rate_scale >= cap[b].rate_scale);
	}
	/* twice the GPUs carry more load */
	assert_true(cap[1].rate_scale > cap[0].rate_scale);
	assert_int_equal(cap[2].splits + cap[3].splits, 0);
	assert_true(search[0].splits + search[1].splits > 0); /* the walk did move */
	plan_slo_release(&s);
	trace_set_release(&ts);
	perf_free(p);
}

/*
 * The early stop decides as the whole run does: on deployments that fail
 * (early, late) and pass, at several rates, the stopped run's verdict (with
 * and without the pass rule) equals the verdict of the same run to the end,
 * and both rules do stop some of them before the end.
 */
static void early_stop_same_verdict(void **state)
{
	struct perf *p = perf_new("llama-3.2-11b-vision", "a100-80gb");
	struct sim_config c;
	struct trace_set ts;
	struct plan_slo s;
	struct plan_opts o;
	struct ms_error err = { 0 };
	static const struct {
		enum sim_deploy_kind kind;
		const char *pools;
		double rate;
	} cand[] = {
		{ SIM_DEPLOY_MONO, "mono=1x4", 1 },      { SIM_DEPLOY_MONO, "mono=3x4", 1 },
		{ SIM_DEPLOY_MONO, "mono=6x4", 1 },      { SIM_DEPLOY_MONO, "mono=6x4", 3 },
		{ SIM_DEPLOY_MONO, "mono=12x4", 2 },     { SIM_DEPLOY_PD, "prefill=4x4,decode=4x4", 1 },
		{ SIM_DEPLOY_MODSERVE, "enc=4x1,llm=2x4", 1 },
		{ SIM_DEPLOY_MODSERVE, "enc=16x1,llm=2x4", 1 },
		{ SIM_DEPLOY_MODSERVE, "enc=16x1,llm=2x4", 2.5 },
		{ SIM_DEPLOY_MODSERVE, "enc=24x1,llm=4x4", 1 },
	};
	int i, pass_stop, stopped_fail = 0, stopped_pass = 0, met = 0, missed = 0;

	(void)state;
	sim_config_default(&c, p);
	synth_with_slo(&c, &ts, &s, 4000, 3);
	opts_for(&o, &c, &ts, &s, 128);
	for (i = 0; i < (int)(sizeof(cand) / sizeof(cand[0])); i++) {
		struct sim_config full = c;
		struct sim_result r;
		struct plan_verdict ref, v;

		full.deploy.n_pools = 0;
		pools(&full, cand[i].kind, cand[i].pools);
		full.rate_scale = cand[i].rate;
		run_ok(&full, &ts, &r);
		assert_int_equal(plan_judge(&s, &r, 0, &ref, &err), 0);
		sim_result_release(&r);
		met += ref.met;
		missed += !ref.met;
		for (pass_stop = 0; pass_stop < 2; pass_stop++) {
			assert_int_equal(plan_eval(&o, &full.deploy, cand[i].rate, pass_stop, &v, &err),
					 0);
			assert_int_equal(v.met, ref.met);
			if (v.stopped) {
				assert_true(v.finished < 1.0);
				stopped_fail += !v.met;
				stopped_pass += v.met;
			} else {
				/* a run to the end counts exactly the full run's misses */
				assert_int_equal(v.miss_ttft[PLAN_IMAGE], ref.miss_ttft[PLAN_IMAGE]);
				assert_int_equal(v.miss_tpot[PLAN_TEXT], ref.miss_tpot[PLAN_TEXT]);
			}
			if (!pass_stop && v.met)
				assert_false(v.stopped); /* no pass rule: a passing run goes to the end */
		}
	}
	assert_true(met >= 2 && missed >= 2);
	assert_true(stopped_fail >= 2);
	assert_true(stopped_pass >= 1);
	plan_slo_release(&s);
	trace_set_release(&ts);
	perf_free(p);
}

/*
 * The idle floor behind "none fits" without a search: a request alone on an
 * idle cluster of the design is never slower than under load, so a class that
 * misses too often idle misses under any load. Checked per request on loaded
 * runs of each design, and the search's pd verdict agrees with the floor.
 */
static void idle_floor_bounds_loaded(void **state)
{
	struct perf *p = perf_new("llama-3.2-11b-vision", "a100-80gb");
	struct sim_config c;
	struct trace_set ts;
	struct plan_slo s;
	static const struct {
		enum sim_deploy_kind kind;
		const char *idle, *loaded;
		double rate;
	} cand[] = {
		{ SIM_DEPLOY_MONO, "mono=1x4", "mono=3x4", 1.5 },
		{ SIM_DEPLOY_PD, "prefill=1x4,decode=1x4", "prefill=2x4,decode=2x4", 1 },
		{ SIM_DEPLOY_MODSERVE, "enc=16x1,llm=1x4", "enc=8x1,llm=2x4", 1.5 },
	};
	struct ms_error err = { 0 };
	int i;
	size_t k, slower = 0;

	(void)state;
	sim_config_default(&c, p);
	synth_with_slo(&c, &ts, &s, 1500, 4);
	for (i = 0; i < 3; i++) {
		struct sim_config ci = c, cl = c;
		struct sim_result ri, rl;
		ci.deploy.n_pools = cl.deploy.n_pools = 0;
		pools(&ci, cand[i].kind, cand[i].idle);
		pools(&cl, cand[i].kind, cand[i].loaded);
		cl.rate_scale = cand[i].rate;
		assert_int_equal(plan__isolated_run(&ci, &ts, &ri, &err), 0);
		run_ok(&cl, &ts, &rl);
		assert_int_equal(ri.n, rl.n);
		for (k = 0; k < ri.n; k++) {
			assert_true(rl.req[k].ttft >= ri.req[k].ttft - 1e-9);
			if (!isnan(ri.req[k].tpot))
				assert_true(rl.req[k].tpot >= ri.req[k].tpot - 1e-9);
			slower += rl.req[k].ttft > ri.req[k].ttft + 1e-6;
		}
		sim_result_release(&ri);
		sim_result_release(&rl);
	}
	assert_true(slower > 100); /* the loaded runs did wait */
	plan_slo_release(&s);
	trace_set_release(&ts);
	perf_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(allowed_misses),
		cmocka_unit_test(judge_counts),
		cmocka_unit_test(reference_targets),
		cmocka_unit_test(per_request_targets),
		cmocka_unit_test(cheapest_is_tight),
		cmocka_unit_test(max_rate_brackets),
		cmocka_unit_test(early_stop_same_verdict),
		cmocka_unit_test(idle_floor_bounds_loaded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
