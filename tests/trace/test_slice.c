/* trace_slice: windows, time compression and sampling on a real window of the 2025 trace. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace/trace_slice.h"
#include "trace/trace_write.h"

static struct trace_set win;

static int setup(void **state)
{
	char path[1024];
	struct ms_error err;
	(void)state;
	snprintf(path, sizeof(path), "%s/data/azure-lmm-2025-windows/window-2024-10-16T0836.csv",
		 getenv("MS_TESTDATA"));
	trace_set_init(&win);
	return trace_set_load(&win, path, NULL, NULL, &err);
}

static int teardown(void **state)
{
	(void)state;
	trace_set_release(&win);
	return 0;
}

static void test_time_parse(void **state)
{
	struct ms_error err;
	double v;
	(void)state;
	assert_int_equal(trace_slice_time_parse(&win, "3600", &v, &err), 0);
	assert_true(v == 3600);
	assert_int_equal(trace_slice_time_parse(&win, "1h", &v, &err), 0);
	assert_true(v == 3600);
	assert_int_equal(trace_slice_time_parse(&win, "30m", &v, &err), 0);
	assert_true(v == 1800);
	assert_int_equal(trace_slice_time_parse(&win, "1.5d", &v, &err), 0);
	assert_true(v == 129600);
	assert_int_equal(trace_slice_time_parse(&win, "90s", &v, &err), 0);
	assert_true(v == 90);
	/* the window starts at 08:36:32.709 */
	assert_int_equal(trace_slice_time_parse(&win, "2024-10-16T08:37:32.709Z", &v, &err), 0);
	assert_true(v == 60.0);
	assert_int_equal(trace_slice_time_parse(&win, "-5", &v, &err), -MS_EINVAL);
	assert_int_equal(trace_slice_time_parse(&win, "5x", &v, &err), -MS_EINVAL);
	assert_int_equal(trace_slice_time_parse(&win, "5hh", &v, &err), -MS_EINVAL);
	assert_int_equal(trace_slice_time_parse(&win, "", &v, &err), -MS_EINVAL);
	assert_int_equal(trace_slice_time_parse(&win, "2024-13-16T08:37:32Z", &v, &err), -MS_EINVAL);
}

static void test_window(void **state)
{
	struct trace_slice_opts o;
	struct trace_set out;
	struct ms_error err;
	size_t i, want = 0, first = (size_t)-1;
	(void)state;
	trace_slice_opts_default(&o);
	o.has_from = o.has_to = 1;
	o.from_s = 60;
	o.to_s = 180;
	for (i = 0; i < win.n; i++)
		if (win.t[i] >= 60 && win.t[i] < 180) {
			if (first == (size_t)-1)
				first = i;
			want++;
		}
	trace_set_init(&out);
	assert_int_equal(trace_slice(&win, &o, &out, &err), 0);
	assert_int_equal(out.n, want);
	assert_true(out.t[0] == 0);
	assert_true(out.start_ns == trace_set_time_ns(&win, first));
	for (i = 0; i < out.n; i++) {
		assert_true(trace_set_time_ns(&out, i) == trace_set_time_ns(&win, first + i));
		assert_int_equal(out.ctx[i], win.ctx[first + i]);
		assert_int_equal(out.images[i], win.images[first + i]);
	}
	trace_set_release(&out);
}

static void test_rate_scale(void **state)
{
	struct trace_slice_opts o;
	struct trace_set out;
	struct ms_error err;
	size_t i;
	(void)state;
	trace_slice_opts_default(&o);
	o.rate_scale = 2;
	trace_set_init(&out);
	assert_int_equal(trace_slice(&win, &o, &out, &err), 0);
	assert_int_equal(out.n, win.n);
	assert_true(out.start_ns == win.start_ns);
	for (i = 0; i < out.n; i++) {
		/* each offset halves, rounded to the trace's millisecond */
		double want = win.t[i] / 2;
		assert_true(out.t[i] - want < 0.0006 && want - out.t[i] < 0.0006);
		assert_true(!i || out.t[i] >= out.t[i - 1]);
	}
	assert_int_equal(trace_slice(&win, &(struct trace_slice_opts){ .rate_scale = 0, .sample_p = 1 },
				     &out, &err),
			 -MS_EINVAL);
	trace_set_release(&out);
}

/*
 * A rate scale that stretches the trace past 2200 is refused before anything is
 * written (the writer would wrap int64 times into an unloadable file); the largest
 * stretch that still fits is accepted and its last time loads back.
 */
static void test_rate_scale_range(void **state)
{
	struct trace_slice_opts o;
	struct trace_set out;
	struct ms_error err;
	int64_t max_ns, last_ns;
	char buf[64];
	double span = win.t[win.n - 1];
	(void)state;
	assert_int_equal(trace_time_parse(TRACE_WRITE_LAST_TIME, strlen(TRACE_WRITE_LAST_TIME),
					  &max_ns, NULL), 0);
	trace_slice_opts_default(&o);
	trace_set_init(&out);
	o.rate_scale = 1e-9;
	ms_error_clear(&err);
	assert_int_equal(trace_slice(&win, &o, &out, &err), -MS_ERANGE);
	assert_non_null(strstr(err.msg, "stretches the trace to"));
	assert_non_null(strstr(err.msg, "after 2200"));
	assert_int_equal(out.n, 0);
	/* just past the end: the last row would land in 2201 */
	o.rate_scale = span / ((double)(max_ns - win.start_ns) / 1e9) * 0.999;
	assert_int_equal(trace_slice(&win, &o, &out, &err), -MS_ERANGE);
	/* just inside: accepted, and the last row's time parses again */
	trace_set_release(&out);
	trace_set_init(&out);
	o.rate_scale = span / ((double)(max_ns - win.start_ns) / 1e9) * 1.001;
	assert_int_equal(trace_slice(&win, &o, &out, &err), 0);
	assert_int_equal(out.n, win.n);
	last_ns = trace_set_time_ns(&out, out.n - 1);
	assert_true(last_ns <= max_ns && last_ns > max_ns - (int64_t)(0.01 * 1e9 * span / o.rate_scale));
	assert_true(trace_time_format(last_ns, out.format, out.frac_digits, buf, sizeof(buf)) > 0);
	assert_int_equal(strncmp(buf, "2200-", 5), 0);
	/* not finite or not positive: refused by the library too */
	o.rate_scale = INFINITY;
	assert_int_equal(trace_slice(&win, &o, &out, &err), -MS_EINVAL);
	o.rate_scale = NAN;
	assert_int_equal(trace_slice(&win, &o, &out, &err), -MS_EINVAL);
	o.rate_scale = -2;
	assert_int_equal(trace_slice(&win, &o, &out, &err), -MS_EINVAL);
	trace_set_release(&out);
}

static void test_sample(void **state)
{
	struct trace_slice_opts o;
	struct trace_set a, b, c;
	struct ms_error err;
	size_t i, j;
	(void)state;
	trace_slice_opts_default(&o);
	o.sample_p = 0.25;
	o.seed = 7;
	trace_set_init(&a);
	trace_set_init(&b);
	trace_set_init(&c);
	assert_int_equal(trace_slice(&win, &o, &a, &err), 0);
	assert_int_equal(trace_slice(&win, &o, &b, &err), 0);
	o.seed = 8;
	assert_int_equal(trace_slice(&win, &o, &c, &err), 0);
	/* binomial(2000, 0.25): mean 500, sd ~19 */
	assert_true(a.n > 400 && a.n < 600);
	assert_int_equal(a.n, b.n);
	assert_memory_equal(a.ctx, b.ctx, a.n * sizeof(*a.ctx));
	assert_true(c.n != a.n || memcmp(a.ctx, c.ctx, a.n * sizeof(*a.ctx)));
	/* kept rows are a subsequence of the input with their absolute times */
	for (i = 0, j = 0; i < a.n; i++, j++) {
		while (j < win.n && trace_set_time_ns(&win, j) != trace_set_time_ns(&a, i))
			j++;
		assert_true(j < win.n);
	}
	trace_set_release(&a);
	trace_set_release(&b);
	trace_set_release(&c);
	o.sample_p = 0;
	trace_set_init(&a);
	assert_int_equal(trace_slice(&win, &o, &a, &err), 0);
	assert_int_equal(a.n, 0);
	trace_set_release(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time_parse),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_rate_scale),
		cmocka_unit_test(test_rate_scale_range),
		cmocka_unit_test(test_sample),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
