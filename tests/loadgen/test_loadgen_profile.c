/*
 * loadgen_profile: `modserve profile` against an in-process `modserve engine` at
 * --speed 2 on loopback. The written table, read back through perf, must give the
 * engine's own stage times (the roofline it runs, divided by the speed) within a few
 * percent, at points of the table and between them: prefill with and without context,
 * decode steps at batch 1 and 8, encode from TTFT differences and from an encode-role
 * engine directly. Also: the list parser, and a dead endpoint fails with a message.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/engine.h"
#include "loadgen/loadgen_profile.h"
#include "perf/perf.h"
#include "lg_test_util.h"

#define SPEED 2.0
/*
 * Tolerances: the engine's waits are the roofline / SPEED, and what a client sees adds
 * the loop's own work per iteration (tens of us, more when the machine's other jobs
 * take the CPU), so short stages carry a larger share of it. Prefill and encode points
 * are tens of ms. A decode step is ~3 ms, and what a step costs the engine's loop
 * and the client beyond the emulated wait (a chunk written and read per stream, each
 * process's wake-up) is a share of it that grows with the machine's load and the batch:
 * on the 2-core development machine at load averages of 6-12 the batch-1 step read
 * +5..+18% and batch 8 +2..+42% above the roofline / speed; prefill and encode points
 * were within 0.3-5% at loads up to 10, but at 12-15 one read +14% (a median of 5
 * TTFTs) and a context row -11% (a difference of two TTFTs, the larger one inflated).
 * So the bounds are what that machine holds: 15% either way for tens of ms; for a step
 * 15% below (overheads only add) and 50% above.
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
/* sanitized code makes the engine's own work per request (parsing the prompt's words,
 * the JSON) several times slower, and it lands in TTFT: +16% on a 2048-token prefill */
#define SLACK 2.0
#else
#define SLACK 1.0
#endif
#define TOL_LONG (0.15 * SLACK)
#define TOL_STEP (0.50 * SLACK)
#define TOL_LOW (0.15 * SLACK)

static char tmpdir[1024];

static pid_t engine_child(int *port, enum engine_role role)
{
	return engine_child_of(port, role, SPEED, 120);
}

static void print_point(const char *what, double got, double want)
{
	printf("  %-34s table %9.3f ms  engine %9.3f ms  %+6.1f%%\n", what, got * 1e3, want * 1e3,
	       (got - want) / want * 100);
}

static void near_lo(const char *what, double got, double want, double lo, double hi)
{
	double e = (got - want) / want;

	print_point(what, got, want);
	if (e < -lo || e > hi)
		fail_msg("%s: table %.6f s, engine %.6f s (%+.1f%%, bounds -%.0f%% +%.0f%%)", what, got,
			 want, e * 100, lo * 100, hi * 100);
}

static void near(const char *what, double got, double want, double tol)
{
	near_lo(what, got, want, TOL_LOW, tol);
}

static double chunk_s(const struct perf *p, uint32_t n, uint32_t ctx)
{
	struct perf_iter it = { .prefill_tokens = n, .prefill_attn = (double)n * (ctx + n / 2.0) };

	return perf_llm_iter_s(p, 4, &it);
}

static void small_design(struct loadgen_profile_config *c)
{
	static const uint32_t prompts[] = { 128, 512, 2048 }, conc[] = { 1, 8 };

	loadgen_profile_config_default(c);
	memcpy(c->prompts, prompts, sizeof(prompts));
	c->n_prompts = 3;
	memcpy(c->conc, conc, sizeof(conc));
	c->n_conc = 2;
	c->outputs[0] = 48;
	c->max_images = 4;
	c->tp = 4;
	c->lg.model = "llama-3.2-11b-vision";
}

static void test_engine_round_trip(void **state)
{
	struct loadgen_profile_config c;
	struct loadgen_profile prof;
	struct perf roof, tab;
	struct ms_error err;
	char path[1200], epath[1200];
	double worst = 0;
	uint64_t failed;
	uint32_t skipped;
	pid_t pid, epid;
	FILE *devnull;
	(void)state;

	small_design(&c);
	pid = engine_child(&c.lg.port, ENGINE_ROLE_ALL);
	if (loadgen_profile_run(&c, &prof, &err))
		fail_msg("%s", err.msg);
	snprintf(path, sizeof(path), "%s/p.csv", tmpdir);
	snprintf(epath, sizeof(epath), "%s/e.csv", tmpdir);
	assert_int_equal(loadgen_profile_write(&prof, &c, path, &err), 0);
	devnull = fopen("/dev/null", "w");
	assert_int_equal(loadgen_profile_report(devnull, &prof, &c, path, &worst, &err), 0);
	fclose(devnull);
	failed = prof.failed;
	skipped = prof.skipped;
	loadgen_profile_release(&prof);
	assert_int_equal(failed, 0);
	/* a batch run that did not start together is skipped and said; on a loaded machine
	 * (ASan build, other jobs) one of the 5 x 6 may be: the rest still make the rows */
	assert_true(skipped <= 2);
	/* the same design against an encode-role engine: encode rows from its replies */
	epid = engine_child(&c.enc.port, ENGINE_ROLE_ENCODE);
	c.enc_set = 1;
	c.enc.whole = 1;
	c.enc.model = c.lg.model;
	if (loadgen_profile_run(&c, &prof, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(loadgen_profile_write(&prof, &c, epath, &err), 0);
	loadgen_profile_release(&prof);
	kill(pid, SIGTERM);
	kill(epid, SIGTERM);
	waitpid(pid, NULL, 0);
	waitpid(epid, NULL, 0);

	assert_int_equal(perf_open(&roof, "llama-3.2-11b-vision", "a100-80gb", NULL, NULL, &err), 0);
	if (perf_open(&tab, "llama-3.2-11b-vision", "a100-80gb", NULL, path, &err))
		fail_msg("%s", err.msg);
	printf("profile of engine --speed %g, read back by perf:\n", SPEED);
	/* on the grid, between it, and with context (chunked prefill) */
	near("prefill 2048", chunk_s(&tab, 2048, 0), chunk_s(&roof, 2048, 0) / SPEED, TOL_LONG);
	near("prefill 1300 (between rows)", chunk_s(&tab, 1300, 0), chunk_s(&roof, 1300, 0) / SPEED,
	     TOL_LONG);
	near("prefill 2048 after 4096", chunk_s(&tab, 2048, 4096),
	     chunk_s(&roof, 2048, 4096) / SPEED, TOL_LONG);
	near("prefill 1000 after 6000", chunk_s(&tab, 1000, 6000),
	     chunk_s(&roof, 1000, 6000) / SPEED, 2 * TOL_LONG);
	near_lo("decode step, batch 1, 1500 KV", perf_decode_step_s(&tab, 4, 1, 1500),
	     perf_decode_step_s(&roof, 4, 1, 1500) / SPEED, TOL_LOW, TOL_STEP);
	near_lo("decode step, batch 8, 4000 KV", perf_decode_step_s(&tab, 4, 8, 4000),
	     perf_decode_step_s(&roof, 4, 8, 4000) / SPEED, TOL_LOW, TOL_STEP);
	near_lo("decode step, batch 5, 3000 KV", perf_decode_step_s(&tab, 4, 5, 3000),
	     perf_decode_step_s(&roof, 4, 5, 3000) / SPEED, TOL_LOW, TOL_STEP);
	/* encode rows hold preprocessing; the table's preprocess is 0 */
	near("encode 2 images (TTFT difference)", perf_encode_s(&tab, 4, 8),
	     (perf_encode_inline_s(&roof, 4, 8) + perf_preprocess_s(&roof, 2, 48)) / SPEED, TOL_LONG);
	near("encode 3 images (between rows)", perf_encode_s(&tab, 4, 12),
	     (perf_encode_inline_s(&roof, 4, 12) + perf_preprocess_s(&roof, 3, 48)) / SPEED, TOL_LONG);
	assert_true(perf_preprocess_s(&tab, 3, 48) == 0);
	perf_release(&tab);
	if (perf_open(&tab, "llama-3.2-11b-vision", "a100-80gb", NULL, epath, &err))
		fail_msg("%s", err.msg);
	near("encode 4 images (encode role)", perf_encode_s(&tab, 4, 16),
	     (perf_encode_inline_s(&roof, 4, 16) + perf_preprocess_s(&roof, 4, 48)) / SPEED, TOL_LONG);
	perf_release(&tab);
	perf_release(&roof);
}

static void test_list_and_dead_endpoint(void **state)
{
	struct loadgen_profile_config c;
	struct loadgen_profile prof;
	struct ms_error err;
	uint32_t v[LOADGEN_PROFILE_GRID], n;
	(void)state;

	assert_int_equal(loadgen_profile_list("128,512,2048", 1, 4096, v, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(v[2], 2048);
	assert_true(loadgen_profile_list("128,,3", 1, 4096, v, &n, &err) < 0);
	assert_true(loadgen_profile_list("0", 1, 4096, v, &n, &err) < 0);
	assert_true(loadgen_profile_list("-4", 1, 4096, v, &n, &err) < 0);
	assert_true(loadgen_profile_list("1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17", 1, 99, v, &n,
					 &err) < 0);
	assert_non_null(strstr(err.msg, "at most 16"));
	/* nothing listens on port 1: every request fails, and the run says so */
	small_design(&c);
	c.lg.port = 1;
	c.lg.timeout_s = 5;
	assert_true(loadgen_profile_run(&c, &prof, &err) < 0);
	assert_non_null(strstr(err.msg, "no 4096-token request succeeded"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list_and_dead_endpoint),
		cmocka_unit_test(test_engine_round_trip),
	};
	const char *t = getenv("MS_TMP");

	signal(SIGPIPE, SIG_IGN);
	snprintf(tmpdir, sizeof(tmpdir), "%s/profile_test.%d", t && *t ? t : "/tmp", (int)getpid());
	mkdir(tmpdir, 0755);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
