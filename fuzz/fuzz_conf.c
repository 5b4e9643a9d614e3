/*
 * libFuzzer target for the `key = value` config reader (base/ms_conf) and the
 * three files read through it: model specs, GPU specs (model/) and the synth
 * parameter file (trace/trace_synth). Every input goes to all four, through a
 * memfd (fuzz_file.h), since they only read paths.
 *
 * Invariants: every failure carries a message; ms_conf hands out non-empty,
 * trimmed, comment-free lines with rising numbers and numbers inside the asked
 * range; a loaded spec has the positive sizes and cross-field rules perf/ and
 * sim/ divide by; a synthetic trace from a loaded parameter file has exactly
 * the asked rows, in time order, inside the duration and the token caps.
 */
#include <ctype.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/ms_conf.h"
#include "fuzz_file.h"
#include "model/model.h"
#include "trace/trace_synth.h"

/* Caps the synth applies (trace_synth.c SYNTH_CTX_MAX, SYNTH_GEN_MAX: [PN] of the week). */
#define FUZZ_CTX_MAX 148569u
#define FUZZ_GEN_MAX 16384u
/* Short on purpose: the parameter parser is the target, not the generator's speed. */
#define FUZZ_SYNTH_ROWS 16
#define FUZZ_SYNTH_SECONDS 600.0

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_fail(int rc, const struct ms_error *err)
{
	if (rc < 0 && err->msg[0] == '\0')
		abort();
}

static int trimmed(const char *s)
{
	size_t n = strlen(s);
	return !n || (!isspace((unsigned char)s[0]) && !isspace((unsigned char)s[n - 1]));
}

static void conf_walk(const char *path)
{
	struct ms_conf c;
	struct ms_conf_line l;
	struct ms_error err = { 0 };
	int rc, prev = 0;

	rc = ms_conf_read(&c, path, &err);
	check_fail(rc, &err);
	if (rc)
		return;
	while ((rc = ms_conf_line_next(&c, &l, &err)) > 0) {
		double nums[8], d;
		long v;
		size_t n = strlen(l.text);
		int k, r;

		if (l.no <= prev || !n || n > MS_CONF_LINE_MAX || strchr(l.text, '#') ||
		    !trimmed(l.text))
			abort();
		prev = l.no;
		k = ms_conf_numbers_parse(l.text, nums, 8);
		if (k < -1 || k > 8)
			abort();
		for (int i = 0; i < k; i++)
			if (!isfinite(nums[i]))
				abort();
		if (ms_conf_line_split(&l))
			continue;
		if (!l.key || !l.val || !trimmed(l.key) || !trimmed(l.val))
			abort();
		err.msg[0] = '\0';
		r = ms_conf_long_get(&c, &l, -1000, 1e6, &v, &err);
		check_fail(r, &err);
		if (!r && (v < -1000 || v > 1000000))
			abort();
		err.msg[0] = '\0';
		r = ms_conf_double_get(&c, &l, -0.5, 1e300, &d, &err);
		check_fail(r, &err);
		if (!r && !(d >= -0.5 && d <= 1e300))
			abort();
	}
	check_fail(rc, &err);
	ms_conf_release(&c);
}

static int pos(double x)
{
	return isfinite(x) && x > 0;
}

static void model_check(const char *path)
{
	struct model_spec m;
	struct ms_error err = { 0 };
	int rc = model_spec_load(&m, path, &err);

	check_fail(rc, &err);
	if (rc)
		return;
	if (!m.name[0] || !memchr(m.name, '\0', sizeof(m.name)))
		abort();
	if ((m.arch != MODEL_ARCH_DECODER && m.arch != MODEL_ARCH_CROSS) || !pos(m.enc_params) ||
	    !pos(m.llm_params))
		abort();
	if (m.enc_layers < 1 || m.enc_hidden < 1 || m.enc_heads < 1 || m.enc_patch < 1 ||
	    m.tile_px < 1 || m.max_tiles < 1 || m.tokens_per_tile < 1 || m.tiles_per_image < 1 ||
	    m.llm_layers < 1 || m.hidden < 1 || m.heads < 1 || m.kv_heads < 1 || m.head_dim < 1 ||
	    m.max_context < 1 || m.default_tp < 1 || m.bytes_per_param < 1 || m.bytes_per_param > 8)
		abort();
	if (m.tiles_per_image > m.max_tiles || m.heads % m.kv_heads)
		abort();
	if (m.arch == MODEL_ARCH_CROSS ? m.cross_layers < 1 || m.cross_layers >= m.llm_layers
				       : m.cross_layers != 0)
		abort();
}

static void gpu_check(const char *path)
{
	struct gpu_spec g;
	struct ms_error err = { 0 };
	int rc = gpu_spec_load(&g, path, &err);

	check_fail(rc, &err);
	if (rc)
		return;
	if (!g.name[0] || !memchr(g.name, '\0', sizeof(g.name)))
		abort();
	if (!pos(g.flops) || !pos(g.hbm_bytes) || !pos(g.hbm_bw) || !pos(g.intra_bw) ||
	    !pos(g.inter_bw) || !isfinite(g.price_hour) || g.price_hour < 0 ||
	    g.gpus_per_node < 1 || g.cpu_cores_per_gpu < 1)
		abort();
}

static void synth_check(const char *path)
{
	struct trace_synth_opts o;
	struct trace_set ts;
	struct ms_error err = { 0 };
	int rc;

	trace_synth_opts_default(&o);
	o.requests = FUZZ_SYNTH_ROWS;
	o.duration_s = FUZZ_SYNTH_SECONDS;
	o.params_path = path;
	trace_set_init(&ts);
	rc = trace_synth(&ts, &o, &err);
	check_fail(rc, &err);
	if (!rc) {
		if (ts.n != FUZZ_SYNTH_ROWS || ts.format != TRACE_FMT_LMM2025 || ts.t[0] != 0)
			abort();
		for (size_t i = 0; i < ts.n; i++) {
			if ((i && ts.t[i] < ts.t[i - 1]) || !(ts.t[i] <= FUZZ_SYNTH_SECONDS))
				abort();
			if (ts.ctx[i] > FUZZ_CTX_MAX || ts.gen[i] > FUZZ_GEN_MAX)
				abort();
		}
	}
	trace_set_release(&ts);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_file_path(data, size);

	conf_walk(path);
	model_check(path);
	gpu_check(path);
	synth_check(path);
	return 0;
}
