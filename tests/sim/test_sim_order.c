/*
 * sim with ModServe's policies: the SLO order respected by an LLM instance's
 * waiting list and by an encoder queue, no starvation under it, text-only
 * requests never touching an encoder, and k images on k idle encoders
 * finishing in the time of the largest share; the named systems' table.
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

#include "perf/perf.h"
#include "policy/policy.h"
#include "sim/sim.h"
#include "trace/trace_synth.h"

#include "sim/sim_test_util.h"

static void push(struct trace_set *ts, double t, uint32_t images, uint32_t text, uint32_t gen)
{
	struct ms_error err = { 0 };

	if (trace_set_push(ts, t, images, text + images * 85, gen, &err) < 0)
		fail_msg("%s", err.msg);
}

static double first_token(const struct sim_result *r, size_t i)
{
	return r->req[i].arrive + r->req[i].ttft;
}

/* The default config on these pools, with TTFT deadlines for text and image requests. */
static void slo_config(struct sim_config *c, const struct perf *p, enum sim_deploy_kind k,
		       const char *spec, double text_s, double image_s)
{
	sim_config_default(c, p);
	pools(c, k, spec);
	c->deadline_ttft_s[0] = text_s;
	c->deadline_ttft_s[1] = image_s;
}

/* The E2E latency of one request (images, text tokens, output tokens) alone under c. */
static double alone_e2e(const struct sim_config *c, uint32_t images, uint32_t text, uint32_t gen)
{
	struct trace_set one;
	struct sim_result r;
	double e2e;

	trace_set_init(&one);
	push(&one, 0, images, text, gen);
	run_ok(c, &one, &r);
	e2e = r.req[0].e2e;
	sim_result_release(&r);
	trace_set_release(&one);
	return e2e;
}

/*
 * One monolith instance admitting one request at a time (a strict queue):
 * six image requests then five text requests join within 10 ms. FCFS serves
 * them in arrival order; the SLO order serves the texts (tight deadline) right
 * after the image request already running.
 */
static void test_llm_waiting_list_order(void **state)
{
	struct perf *p = *state;
	struct trace_set ts;
	struct sim_config c;
	struct sim_result fc, so;
	size_t i, j;

	trace_set_init(&ts);
	for (i = 0; i < 6; i++)
		push(&ts, 0.001 * (double)i, 2, 500, 4);
	for (i = 6; i < 11; i++)
		push(&ts, 0.001 * (double)i, 0, 500, 4);
	slo_config(&c, p, SIM_DEPLOY_MONO, "mono=1x4", 0.5, 5.0);
	c.max_seqs = 1;
	run_fcfs_slo(&c, &ts, &fc, &so);
	for (i = 1; i < 11; i++)
		assert_true(first_token(&fc, i - 1) < first_token(&fc, i));
	for (i = 6; i < 11; i++)
		for (j = 1; j < 6; j++)
			assert_true(first_token(&so, i) < first_token(&so, j));
	/* the texts among themselves stay in arrival order (equal slack: the earlier key) */
	for (i = 7; i < 11; i++)
		assert_true(first_token(&so, i - 1) < first_token(&so, i));
	release_fcfs_slo(&fc, &so, &ts);
}

/*
 * One encoder: a 16-image request joins first and is encoded; then four
 * 8-image requests queue, and one 1-image request last. With a 1 s image
 * target the 8-image ones cannot make it any more (about 1.5 s of estimated
 * work) and the 1-image one can: under the SLO order it is encoded before the
 * 8-image ones queued ahead of it; under FCFS after them.
 */
static void test_encoder_queue_order(void **state)
{
	struct perf *p = *state;
	struct trace_set ts;
	struct sim_config c;
	struct sim_result fc, so;
	size_t i;
	double small_fc, small_so;

	trace_set_init(&ts);
	push(&ts, 0, 16, 100, 2);
	for (i = 0; i < 4; i++)
		push(&ts, 0.01 + 0.001 * (double)i, 8, 100, 2);
	push(&ts, 0.02, 1, 100, 2);
	slo_config(&c, p, SIM_DEPLOY_MODSERVE, "enc=1x1,llm=1x4", 0.3, 1.0);
	c.enc_max_images = 8;
	run_fcfs_slo(&c, &ts, &fc, &so);
	small_fc = fc.req[5].arrive + fc.req[5].queued[METRICS_ENC];
	small_so = so.req[5].arrive + so.req[5].queued[METRICS_ENC];
	for (i = 1; i < 5; i++) {
		double start_fc = fc.req[i].arrive + fc.req[i].queued[METRICS_ENC];
		double start_so = so.req[i].arrive + so.req[i].queued[METRICS_ENC];
		assert_true(small_fc > start_fc);
		assert_true(small_so < start_so);
	}
	release_fcfs_slo(&fc, &so, &ts);
}

/*
 * No starvation through the whole simulator: one instance, one request at a
 * time, a 16-image request whose deadline is out of reach at t = 0, then text
 * requests faster than the instance serves them for 120 s. With an ageing cap
 * of age seconds only requests that joined before t = age go first; with a
 * cap beyond the stream, the stream holds it back until it ends.
 */
static void test_sim_no_starvation(void **state)
{
	const double t_end = 60, age = 3;
	struct perf *p = *state;
	struct trace_set ts;
	struct sim_config c;
	struct sim_result r, capped, uncapped;
	double s_text, s_long, bound, gap;
	double t;

	slo_config(&c, p, SIM_DEPLOY_MONO, "mono=1x4", 0.3, 0.5);
	c.max_seqs = 1;
	/* service times alone: a text request, and the long one */
	s_text = alone_e2e(&c, 0, 200, 1);
	s_long = alone_e2e(&c, 16, 1000, 1);
	gap = 0.6 * s_text; /* overload: the queue of texts only grows */

	trace_set_init(&ts);
	push(&ts, 0, 16, 1000, 1);
	for (t = 0.001; t < t_end; t += gap)
		push(&ts, t, 0, 200, 1);
	c.order = POLICY_ORDER_SLO;
	c.order_age_s = age;
	run_ok(&c, &ts, &capped);
	c.order_age_s = 1e6;
	run_ok(&c, &ts, &uncapped);
	/* ahead of it at most the texts that joined before t = age (each s_text), then itself */
	bound = (age / gap + 2) * s_text + s_long;
	assert_true(capped.req[0].ttft <= bound);
	assert_true(capped.req[0].ttft > age); /* it did wait: texts went first */
	assert_true(uncapped.req[0].ttft > t_end);
	/* FCFS serves it after the few texts that joined during its preprocessing: sooner */
	c.order = POLICY_ORDER_FCFS;
	run_ok(&c, &ts, &r);
	assert_true(r.req[0].ttft < capped.req[0].ttft);
	sim_result_release(&r);
	sim_result_release(&capped);
	sim_result_release(&uncapped);
	trace_set_release(&ts);
}

/* Text-only requests never touch an encoder, under every routing rule. */
static void test_text_skips_encoders(void **state)
{
	static const enum policy_route routes[] = { POLICY_ROUTE_LEAST, POLICY_ROUTE_RR,
						    POLICY_ROUTE_RANDOM };
	struct perf *p = *state;
	struct trace_set ts, text;
	struct sim_config c;
	struct sim_result r;
	size_t i, k, n_text = 0;

	synth(&ts, 3000, 4);
	trace_set_init(&text);
	for (i = 0; i < ts.n; i++)
		if (ts.images[i] == 0) {
			struct ms_error err = { 0 };
			assert_int_equal(trace_set_push(&text, ts.t[i], 0, ts.ctx[i], ts.gen[i],
							&err), 0);
			n_text++;
		}
	assert_true(n_text > 100 && n_text < ts.n);
	for (k = 0; k < 3; k++) {
		sim_config_default(&c, p);
		pools(&c, SIM_DEPLOY_MODSERVE, "enc=3x1,llm=2x4");
		c.route_enc = c.route_llm = routes[k];
		c.order = k == 0 ? POLICY_ORDER_SLO : POLICY_ORDER_FCFS;
		c.rate_scale = 20;
		run_ok(&c, &ts, &r);
		for (i = 0; i < r.n; i++)
			if (r.req[i].images == 0) {
				assert_true(r.req[i].queued[METRICS_ENC] == 0);
				assert_true(r.req[i].served[METRICS_ENC] == 0);
			}
		sim_result_release(&r);
		/* the text-only part alone: the encoders never run */
		run_ok(&c, &text, &r);
		assert_string_equal(r.pool[0].name, "enc");
		assert_true(r.pool[0].busy_gpu_s == 0);
		assert_true(r.pool[1].busy_gpu_s > 0);
		sim_result_release(&r);
	}
	trace_set_release(&ts);
	trace_set_release(&text);
}

/*
 * k images on k idle encoders: the request's images are encoded in the time
 * of the largest share (one image each: one image's preprocess + encode), not
 * of all k; with k + 1 images on k encoders the largest share is two.
 */
static void test_images_in_parallel(void **state)
{
	struct perf *p = *state;
	struct sim_config c;
	uint32_t k, tiles = perf_image_tiles(p);
	int cores = p->gpu.cpu_cores_per_gpu;

	for (k = 2; k <= 8; k *= 2) {
		struct trace_set ts;
		struct sim_result r;
		char spec[64];
		uint32_t extra;
		for (extra = 0; extra < 2; extra++) {
			uint32_t share = 1 + extra;
			double span, want;
			trace_set_init(&ts);
			push(&ts, 0, k + extra, 200, 2);
			sim_config_default(&c, p);
			snprintf(spec, sizeof(spec), "enc=%ux1,llm=1x4", k);
			pools(&c, SIM_DEPLOY_MODSERVE, spec);
			run_ok(&c, &ts, &r);
			span = r.req[0].queued[METRICS_ENC] + r.req[0].served[METRICS_ENC];
			want = perf_preprocess_s(p, share, cores) + perf_encode_s(p, 1, share * tiles);
			assert_true(fabs(span - want) <= 1e-5 * want);
			/* and well below one encoder doing all of them */
			assert_true(span < perf_encode_s(p, 1, (k + extra) * tiles));
			sim_result_release(&r);
			trace_set_release(&ts);
		}
	}
}

static void test_systems_table(void **state)
{
	const struct sim_system *s;
	struct ms_error err = { 0 };
	struct sim_work w;
	struct sim_deploy d;
	int i;

	(void)state;
	for (i = 0; i < SIM_SYSTEM__COUNT; i++) {
		const struct sim_system *t = sim_system_get(i);
		assert_non_null(t);
		assert_int_equal(sim_system_find(t->name, &s, &err), 0);
		assert_ptr_equal(s, t);
	}
	assert_null(sim_system_get(SIM_SYSTEM__COUNT));
	assert_true(sim_system_find("orca", &s, &err) < 0);
	/* the ablation's staircase: each step changes one thing */
	assert_int_equal(sim_system_find("vllm", &s, &err), 0);
	assert_int_equal(s->kind, SIM_DEPLOY_MONO);
	assert_int_equal(s->order, POLICY_ORDER_FCFS);
	assert_int_equal(sim_system_find("decoup", &s, &err), 0);
	assert_int_equal(s->kind, SIM_DEPLOY_MODSERVE);
	assert_int_equal(s->order, POLICY_ORDER_FCFS);
	assert_int_equal(s->route_enc, POLICY_ROUTE_RR);
	assert_int_equal(sim_system_find("sched", &s, &err), 0);
	assert_int_equal(s->order, POLICY_ORDER_SLO);
	assert_int_equal(s->route_llm, POLICY_ROUTE_RR);
	assert_int_equal(sim_system_find("modserve", &s, &err), 0);
	assert_int_equal(s->order, POLICY_ORDER_SLO);
	assert_int_equal(s->route_llm, POLICY_ROUTE_LEAST);
	/* epd: encoders, prefill and decode pools within the budget */
	memset(&w, 0, sizeof(w));
	w.images = 10;
	w.enc_gpu_s = 100;
	w.prefill_gpu_s = 60;
	w.decode_gpu_s = 20;
	w.tp = 4;
	assert_int_equal(sim_system_find("epd", &s, &err), 0);
	assert_int_equal(sim_system_split(s, 64, &w, &d, &err), 0);
	assert_int_equal(d.n_pools, 3);
	assert_int_equal(d.pool[0].role, SIM_ROLE_ENC);
	assert_int_equal(d.pool[1].role, SIM_ROLE_PREFILL);
	assert_int_equal(d.pool[2].role, SIM_ROLE_DECODE);
	assert_true(d.pool[1].count >= d.pool[2].count);
	assert_true(sim_deploy_gpus(&d) <= 64);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_llm_waiting_list_order),
		cmocka_unit_test(test_encoder_queue_order),
		cmocka_unit_test(test_sim_no_starvation),
		cmocka_unit_test(test_text_skips_encoders),
		cmocka_unit_test(test_images_in_parallel),
		cmocka_unit_test(test_systems_table),
	};
	return cmocka_run_group_tests(tests, perf_group_setup, perf_group_teardown);
}
