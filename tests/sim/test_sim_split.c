/*
 * sim deployments: pools read off --pools, what a misfit --deploy is told, the
 * work-proportional default split (sim_split.c) and its estimate against the simulated
 * busy time, decode at the arrivals' batch, and a tiny --kv-tokens named as the cause.
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
#include "sim/sim.h"
#include "trace/trace_synth.h"

#include "sim/sim_test_util.h"

/* --pools alone picks the design; a --deploy that does not fit says what it takes */
static void test_pools_infer(void **state)
{
	static const struct { const char *spec; int kind; } ok[] = {
		{ "mono=4x4", SIM_DEPLOY_MONO },
		{ "prefill=2x4,decode=2x4", SIM_DEPLOY_PD },
		{ "decode=1x4,prefill=3x4", SIM_DEPLOY_PD },
		{ "enc=4x1,llm=3x4", SIM_DEPLOY_MODSERVE },
		{ "enc=4x1,prefill=2x4,decode=1x4", SIM_DEPLOY_MODSERVE },
		{ "llm=3x4", SIM_DEPLOY_MODSERVE }, /* a trace without images */
	};
	static const char *const bad[] = { "llm=2x4,decode=1x4", "enc=2x1", "mono=1x4,llm=1x4",
					   "prefill=1x4", "enc=1x1,enc=1x1,llm=1x4" };
	struct sim_deploy d;
	struct ms_error err = { 0 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (sim_deploy_parse_pools_infer(&d, ok[i].spec, &err) < 0)
			fail_msg("%s: %s", ok[i].spec, err.msg);
		assert_int_equal(d.kind, ok[i].kind);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_true(sim_deploy_parse_pools_infer(&d, bad[i], &err) < 0);
		assert_non_null(strstr(err.msg, bad[i]));
	}
	assert_true(sim_deploy_parse_pools(&d, SIM_DEPLOY_PD, "enc=2x1,llm=2x4", &err) < 0);
	assert_string_equal(err.msg, "--deploy pd takes prefill=NxTP,decode=NxTP; got enc=2x1,llm=2x4");
	assert_true(sim_deploy_parse_pools(&d, SIM_DEPLOY_MODSERVE, "prefill=2x4,decode=2x4",
					   &err) < 0);
	assert_non_null(strstr(err.msg, "--deploy modserve takes enc=NxTP,llm=NxTP"));
}

static void check_split(const struct sim_deploy *d, uint32_t budget)
{
	int i;

	assert_true(sim_deploy_gpus(d) <= budget);
	for (i = 0; i < d->n_pools; i++)
		assert_true(d->pool[i].count >= 1);
}

/* The default split follows the trace's work, in whole instances, within the budget. */
static void test_split_by_work(void **state)
{
	struct perf *p = perf_new("llama-3.2-11b-vision", "a100-80gb");
	struct trace_set img, txt, both;
	struct sim_config c;
	struct sim_work wi, wt, wb;
	struct sim_deploy d;
	struct ms_error err = { 0 };
	uint32_t g;
	size_t i;

	(void)state;
	sim_config_default(&c, p);
	trace_set_init(&img);
	trace_set_init(&txt);
	trace_set_init(&both);
	for (i = 0; i < 200; i++) {
		assert_int_equal(trace_set_push(&img, (double)i, 4, 4 * 85 + 100, 20, &err), 0);
		assert_int_equal(trace_set_push(&txt, (double)i, 0, 2000, 300, &err), 0);
		assert_int_equal(trace_set_push(&both, (double)i, i % 2 ? 4 : 0,
						i % 2 ? 4 * 85 + 100 : 2000, i % 2 ? 20 : 300, &err), 0);
	}
	assert_int_equal(sim_work_estimate(&c, &img, 4, &wi, &err), 0);
	assert_int_equal(sim_work_estimate(&c, &txt, 4, &wt, &err), 0);
	assert_int_equal(sim_work_estimate(&c, &both, 4, &wb, &err), 0);
	assert_int_equal(wi.images, 800);
	assert_int_equal(wt.images, 0);
	assert_true(wt.enc_gpu_s == 0 && wt.enc_inline_gpu_s == 0);
	assert_true(wi.enc_gpu_s > 0 && wt.prefill_gpu_s > 0 && wt.decode_gpu_s > 0);
	/* the mixed trace is the sum of its halves, stage by stage (within the prefill's
	 * per-iteration rounding) */
	assert_true(fabs(wb.enc_gpu_s - wi.enc_gpu_s / 2) <= 1e-9 * wi.enc_gpu_s);
	/* a text-only trace: no encoder pool, the LLM pool takes the whole budget */
	for (g = 4; g <= 64; g += 4) {
		assert_int_equal(sim_deploy_by_work(&d, SIM_DEPLOY_MODSERVE, g, &wt, &err), 0);
		assert_int_equal(d.n_pools, 1);
		assert_int_equal(d.pool[0].role, SIM_ROLE_LLM);
		assert_int_equal(sim_deploy_gpus(&d), g);
	}
	/* budgets from the minimum up: within the budget, every pool served, and more
	 * encoders on the image-heavy trace than on the mixed one */
	for (g = 8; g <= 200; g++) {
		struct sim_deploy dm;
		int k;
		for (k = 0; k < SIM_DEPLOY__COUNT; k++) {
			assert_int_equal(sim_deploy_by_work(&d, (enum sim_deploy_kind)k, g, &wb, &err), 0);
			check_split(&d, g);
			assert_true(sim_deploy_gpus(&d) + 4 > g); /* at most a TP's worth left over */
		}
		assert_int_equal(sim_deploy_by_work(&d, SIM_DEPLOY_MODSERVE, g, &wi, &err), 0);
		assert_int_equal(sim_deploy_by_work(&dm, SIM_DEPLOY_MODSERVE, g, &wb, &err), 0);
		assert_int_equal(d.pool[0].role, SIM_ROLE_ENC);
		assert_true(d.pool[0].count >= dm.pool[0].count);
	}
	/* in proportion: the encoders' share of GPUs is within one instance of the work share */
	assert_int_equal(sim_deploy_by_work(&d, SIM_DEPLOY_MODSERVE, 128, &wb, &err), 0);
	{
		double share = wb.enc_gpu_s / (wb.enc_gpu_s + wb.prefill_gpu_s + wb.decode_gpu_s);
		double enc = d.pool[0].count, llm = d.pool[1].count * 4.0;
		print_message("mixed trace, 128 GPUs: enc=%ux1,llm=%ux4; encode work share %.3f\n",
			      d.pool[0].count, d.pool[1].count, share);
		assert_true(fabs(enc / (enc + llm) - share) <= 4.0 / 128 + 1e-9);
	}
	/* too small a budget: the message has one prefix and the minimum */
	assert_true(sim_deploy_by_work(&d, SIM_DEPLOY_MODSERVE, 4, &wb, &err) < 0);
	assert_string_equal(err.msg, "4 GPUs are too few for 'modserve' at TP 4 (needs at least 5)");
	assert_true(sim_deploy_by_work(&d, SIM_DEPLOY_PD, 7, &wt, &err) < 0);
	/* the trace-blind rule keeps the paper's 48 + 20 x 4 at 128 (tests, SLO reference) */
	assert_int_equal(sim_deploy_default(&d, SIM_DEPLOY_MODSERVE, 128, 4, &err), 0);
	assert_int_equal(d.pool[0].count, 48);
	trace_set_release(&img);
	trace_set_release(&txt);
	trace_set_release(&both);
	perf_free(p);
}

/*
 * The split's estimate against the simulation (issue 10): on the default split of a few
 * configurations, every pool's estimated GPU-seconds (sim_work_pools, decode at the batch
 * the arrivals imply on that pool's instances) is within 15% of the GPU-seconds the run
 * kept that pool busy. The bound holds where no pool is saturated (busy share < 0.95 in
 * these configurations; largest error seen 13%, the prefill pool of pd, whose iterations
 * at low load are shorter than the full token budgets the estimate assumes). Past
 * saturation the estimate is not meant to hold: a saturated prefill pool spreads the
 * decode arrivals out in time (the week at 20x on 32 GPUs: decode -56%). The old estimate,
 * every step at the largest batch, was 31.7 GPU-h against 439 busy on the week at 3x.
 */
static void test_work_matches_busy(void **state)
{
	static const struct { uint32_t gpus; double rate; } cfg[] = {
		{ 64, 1 }, { 64, 3 }, { 32, 2 },
	};
	struct perf *p = perf_new("llama-3.2-11b-vision", "a100-80gb");
	struct trace_set ts;
	struct ms_error err = { 0 };
	static struct sim_work w;
	size_t k;
	int kind, i;

	(void)state;
	synth(&ts, 20000, 1);
	for (k = 0; k < sizeof(cfg) / sizeof(cfg[0]); k++) {
		struct sim_config c;
		sim_config_default(&c, p);
		c.rate_scale = cfg[k].rate;
		assert_int_equal(sim_work_estimate(&c, &ts, 4, &w, &err), 0);
		for (kind = 0; kind < SIM_DEPLOY__COUNT; kind++) {
			struct sim_result r;
			double est[SIM_MAX_POOLS];
			assert_int_equal(sim_deploy_by_work(&c.deploy, (enum sim_deploy_kind)kind,
							    cfg[k].gpus, &w, &err), 0);
			sim_work_pools(&w, &c.deploy, est);
			run_ok(&c, &ts, &r);
			for (i = 0; i < r.n_pools; i++) {
				double busy = r.pool[i].busy_gpu_s;
				double share = busy / (r.end_s * r.pool[i].count * r.pool[i].tp);
				print_message("%u GPUs at %gx, %s pool %s x%u: estimated %.0f GPU-s, "
					      "busy %.0f (%+.1f%%, busy share %.2f)\n",
					      cfg[k].gpus, cfg[k].rate,
					      sim_deploy_name((enum sim_deploy_kind)kind), r.pool[i].name,
					      r.pool[i].count, est[i], busy, 100 * (est[i] / busy - 1),
					      share);
				assert_true(share < 0.95); /* the bound's premise */
				assert_true(fabs(est[i] - busy) <= 0.15 * busy);
			}
			sim_result_release(&r);
		}
	}
	trace_set_release(&ts);
	perf_free(p);
}

/*
 * Decode at the arrivals' batch: a faster replay of the same trace batches more, so its
 * steps cost fewer GPU-seconds; more instances share the arrivals, so each batches less
 * and the pool is busy longer; and the need the split weighs is at the fewest instances
 * whose batches hold the arrivals (at most max_seqs). Whatever the count, a decode step
 * of one request is the most it can cost: the work never exceeds steps at batch 1.
 */
static void test_decode_at_arrival_rate(void **state)
{
	struct perf *p = perf_new("llama-3.2-11b-vision", "a100-80gb");
	struct trace_set ts;
	struct ms_error err = { 0 };
	static struct sim_work w1, w3;
	struct sim_config c;
	double b1, b3, bn, prev = 0;
	uint32_t n;

	(void)state;
	synth(&ts, 20000, 1);
	sim_config_default(&c, p);
	assert_int_equal(sim_work_estimate(&c, &ts, 4, &w1, &err), 0);
	c.rate_scale = 3;
	assert_int_equal(sim_work_estimate(&c, &ts, 4, &w3, &err), 0);
	assert_true(sim_work_decode(&w3, 1, &b3) < sim_work_decode(&w1, 1, &b1));
	assert_true(b3 > b1 && b1 >= 1);
	for (n = 1; n <= 64; n *= 2) {
		double g = sim_work_decode(&w3, n, &bn);
		assert_true(g >= prev * (1 - 1e-9));
		assert_true(bn >= 1 && bn <= w3.decode_batch_max);
		prev = g;
	}
	assert_true(w3.decode_instances >= 1);
	assert_true(w3.decode_gpu_s == sim_work_decode(&w3, w3.decode_instances, NULL));
	assert_true(w3.decode_batch <= w3.decode_batch_max);
	/* a tight max_seqs makes the arrivals need more instances */
	c.max_seqs = 2;
	assert_int_equal(sim_work_estimate(&c, &ts, 4, &w1, &err), 0);
	assert_true(w1.decode_instances > w3.decode_instances);
	assert_true(w1.decode_batch <= 2);
	trace_set_release(&ts);
	perf_free(p);
}

/* A tiny --kv-tokens is named as the cause, with the smallest value that works. */
static void test_kv_tokens_tiny(void **state)
{
	struct perf *p = perf_new("llama-3.2-11b-vision", "a100-80gb");
	struct sim_config c;
	struct sim_result r;
	struct trace_set ts;
	struct ms_error err = { 0 };

	(void)state;
	trace_set_init(&ts);
	assert_int_equal(trace_set_push(&ts, 0, 0, 10, 10, &err), 0);
	sim_config_default(&c, p);
	pools(&c, SIM_DEPLOY_MONO, "mono=1x4");
	c.kv_tokens = 10;
	assert_true(sim_run(&c, &ts, &r, &err) < 0);
	assert_non_null(strstr(err.msg, "--kv-tokens 10 is too small"));
	assert_non_null(strstr(err.msg, "--kv-tokens >= 64"));
	c.kv_tokens = 64;
	run_ok(&c, &ts, &r);
	/* 4 blocks hold the whole request: nothing is cut (sim_run itself checks it finished) */
	assert_int_equal(r.req[0].truncated, 0);
	assert_int_equal(r.req[0].gen, 10);
	assert_true(r.req[0].ttft > 0 && r.req[0].e2e > r.req[0].ttft);
	sim_result_release(&r);
	trace_set_release(&ts);
	perf_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pools_infer),
		cmocka_unit_test(test_split_by_work),
		cmocka_unit_test(test_kv_tokens_tiny),
		cmocka_unit_test(test_work_matches_busy),
		cmocka_unit_test(test_decode_at_arrival_rate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
