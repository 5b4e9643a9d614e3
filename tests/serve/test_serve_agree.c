/*
 * sim and serve take the same routing decisions on the same trace (issue 13).
 *
 * The trace: bursts of text and then image requests 5 ms apart, 5 s between bursts
 * (every burst starts on an idle cluster: the simulator's longest request takes 2.5 s). Both sides run least-pending routing from the same
 * src/policy over 2 encoders and 2 LLM instances: the simulator in virtual time, and
 * `modserve serve` over `modserve engine --speed 1` replayed by `modserve bench`
 * (tests/serve/agree_live.sh), each logging every pick through policy_on_pick.
 *
 * What "agree" means: the sequence of encoder picks, one per image, and the sequence
 * of LLM picks of the text-only requests are identical (each compared on its own: a
 * text and an image request that reach the gateway in one loop pass may be taken in
 * either order, which changes neither sequence). Those picks are made at arrival, and
 * within a burst no charge is released (an image encodes in about a second, a prompt of
 * 1,000 tokens or more prefills in over 50 ms, a burst lasts 30 ms), so they depend
 * only on the policy and the charges of the same burst: equal on both sides when the
 * code is the same. An image request's LLM pick is made when its last image is encoded, an
 * instant set by the emulated GPU's timing against the simulator's (equal in model,
 * not to the microsecond), so those picks are counted on both sides but not compared
 * one by one. The first row, a text request before the first burst, is where the
 * simulator's tick hook installs its logger: its pick is dropped from the gateway's log.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "perf/perf.h"
#include "sim/sim.h"
#include "trace/trace.h"

#define MAX_PICKS 256

struct picks {
	char line[MAX_PICKS][32];
	int n, installed;
	uint32_t image_llm; /* image requests' LLM picks: counted, not compared */
};

/* Kept: encoder picks and text requests' LLM picks, as "pool inst". */
static void keep(struct picks *pk, const struct policy_req *rq, int pool, uint32_t inst,
		 int enc_pool)
{
	if (pool != enc_pool && rq->modality != POLICY_TEXT) {
		pk->image_llm++;
		return;
	}
	assert_true(pk->n < MAX_PICKS);
	snprintf(pk->line[pk->n++], sizeof(pk->line[0]), "%d %u", pool, inst);
}

static void on_pick(void *arg, const struct policy_req *rq, int pool, uint32_t inst, double now)
{
	(void)now;
	keep(arg, rq, pool, inst, 0);
}

static int on_tick(void *arg, struct sim_ctl *ctl, double now)
{
	struct picks *pk = arg;

	(void)now;
	if (!pk->installed) {
		policy_on_pick(sim_ctl_policy(ctl), on_pick, pk);
		pk->installed = 1;
	}
	return 0;
}

/*
 * One burst's rows: images per request, or minus a text request's tokens / 10. Bodies
 * grow along a burst (text first, then more images), so a request never reaches the
 * gateway after the next one (a larger body takes longer to arrive and parse).
 */
static const int bursts[][6] = {
	{ -100, -120, 1, 2, 3, 0 },
	{ -100, -110, -130, 1, 1, 4 },
	{ -150, -150, 1, 2, 3, 0 },
	{ -100, -100, -120, 1, 2, 5 },
};

static void write_trace(const char *path, uint32_t *n_img, uint32_t *n_text)
{
	FILE *f = fopen(path, "w");
	size_t b, i;

	assert_non_null(f);
	*n_img = *n_text = 0;
	fprintf(f, "TIMESTAMP,NumImages,ContextTokens,GeneratedTokens\n");
	fprintf(f, "2024-10-15T12:00:00.000Z,0,100,4\n");
	for (b = 0; b < sizeof(bursts) / sizeof(bursts[0]); b++)
		for (i = 0; i < 6 && bursts[b][i]; i++) {
			int v = bursts[b][i];
			double t = 2.0 + 5.0 * (double)b + 0.005 * (double)i;
			/* image rows: 85 source tokens per image (bench's and sim's rule) + 40 text */
			fprintf(f, "2024-10-15T12:00:%06.3fZ,%d,%d,8\n", t, v > 0 ? v : 0,
				v > 0 ? 85 * v + 40 : -10 * v);
			if (v > 0)
				*n_img += (uint32_t)v;
			else
				(*n_text)++;
		}
	assert_int_equal(fclose(f), 0);
}

static void sim_picks(const char *trace, struct picks *pk)
{
	struct perf p;
	struct trace_set ts;
	struct sim_config c;
	struct sim_result r;
	struct ms_error err = { 0 };

	if (perf_open(&p, "llama-3.2-11b-vision", "a100-80gb", NULL, NULL, &err) < 0)
		fail_msg("%s", err.msg);
	trace_set_init(&ts);
	if (trace_set_load(&ts, trace, NULL, NULL, &err) < 0)
		fail_msg("%s", err.msg);
	sim_config_default(&c, &p);
	if (sim_deploy_parse_pools(&c.deploy, SIM_DEPLOY_MODSERVE, "enc=2x1,llm=2x1", &err) < 0)
		fail_msg("%s", err.msg);
	c.tick_s = 0.001; /* the first tick, 1 ms after the first row, installs the logger */
	c.on_tick = on_tick;
	c.hook_arg = pk;
	sim_result_init(&r);
	if (sim_run(&c, &ts, &r, &err) < 0)
		fail_msg("sim_run: %s", err.msg);
	sim_result_release(&r);
	trace_set_release(&ts);
	perf_release(&p);
}

/* Runs agree_live.sh; the gateway's picks, the first (the row before the bursts) dropped. */
static void serve_picks(const char *trace, const char *log, struct picks *pk)
{
	char cmd[2048], line[256];
	FILE *f;
	int rc, first = 1;

	snprintf(cmd, sizeof(cmd), "bash '%s/tests/serve/agree_live.sh' '%s' '%s'",
		 getenv("MS_SRC_DIR"), trace, log);
	rc = system(cmd);
	assert_true(WIFEXITED(rc) && WEXITSTATUS(rc) == 0);
	f = fopen(log, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		struct policy_req rq = { 0 };
		char mod[16];
		int pool;
		unsigned inst, images;
		assert_int_equal(sscanf(line, "%d %u %15s %u", &pool, &inst, mod, &images), 4);
		if (first) {
			first = 0;
			continue;
		}
		rq.modality = strcmp(mod, "text") ? POLICY_IMAGE : POLICY_TEXT;
		rq.images = images;
		keep(pk, &rq, pool, inst, 0);
	}
	fclose(f);
}

static void test_sim_and_serve_agree(void **state)
{
	char trace[512], log[512];
	static struct picks sim, live;
	uint32_t n_img, n_text;
	int i, pool, enc_used[2] = { 0 }, llm_used[2] = { 0 };

	(void)state;
	if (!getenv("MS_SRC_DIR") || !getenv("MS_TMP"))
		fail_msg("MS_SRC_DIR and MS_TMP must be set (ctest sets them)");
	snprintf(trace, sizeof(trace), "%s/agree.%d.csv", getenv("MS_TMP"), (int)getpid());
	snprintf(log, sizeof(log), "%s/agree.%d.log", getenv("MS_TMP"), (int)getpid());
	write_trace(trace, &n_img, &n_text);
	sim_picks(trace, &sim);
	serve_picks(trace, log, &live);
	remove(trace);
	remove(log);
	assert_int_equal(sim.n, (int)(n_img + n_text));
	assert_int_equal(live.n, sim.n);
	assert_int_equal(live.image_llm, sim.image_llm); /* one per image request */
	for (pool = 0; pool < 2; pool++) {
		int a = 0, b = 0, k = 0;
		for (;;) {
			while (a < sim.n && sim.line[a][0] - '0' != pool)
				a++;
			while (b < live.n && live.line[b][0] - '0' != pool)
				b++;
			if (a == sim.n || b == live.n)
				break;
			if (strcmp(sim.line[a], live.line[b]))
				fail_msg("pool %d, pick %d differs: sim '%s', serve '%s'", pool, k,
					 sim.line[a], live.line[b]);
			a++, b++, k++;
		}
		assert_true(a == sim.n && b == live.n); /* as many picks of that pool */
	}
	/* not a degenerate agreement: both encoders and both LLM instances were picked */
	for (i = 0; i < sim.n; i++) {
		int pool = sim.line[i][0] - '0', inst = atoi(sim.line[i] + 2);
		if (pool == 0)
			enc_used[inst & 1] = 1;
		else
			llm_used[inst & 1] = 1;
	}
	assert_true(enc_used[0] && enc_used[1] && llm_used[0] && llm_used[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sim_and_serve_agree),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
