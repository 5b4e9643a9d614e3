/* report_plot: the CDF helper's points and gnuplot-driven files. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "report/report_plot.h"

static void test_cdf_exact(void **state)
{
	/* {3,1,2,2}: sorted 1,2,2,3 -> (1, 25%), (2, 75%), (3, 100%) */
	const double v[] = { 3, 1, 2, 2 };
	double *x, *y;
	struct ms_error err = { 0 };
	(void)state;
	assert_int_equal(report_cdf_points(v, 4, 0, &x, &y, &err), 3);
	assert_true(x[0] == 1 && x[1] == 2 && x[2] == 3);
	assert_true(y[0] == 25 && y[1] == 75 && y[2] == 100);
	free(x);
	free(y);
	assert_int_equal(report_cdf_points(v, 0, 0, &x, &y, &err), 0);
	assert_null(x);
	assert_null(y);
}

static void test_cdf_thinned(void **state)
{
	/* 1000 distinct values 1..1000 (shuffled by a stride coprime to 1000): the CDF
	 * at value k is k/10 percent. At most 12 points: step 100/10 = 10 percent. */
	double *v = malloc(1000 * sizeof(*v)), *x, *y;
	struct ms_error err = { 0 };
	int k, i;
	(void)state;
	assert_non_null(v);
	for (i = 0; i < 1000; i++)
		v[i] = (double)((i * 7) % 1000 + 1);
	k = report_cdf_points(v, 1000, 12, &x, &y, &err);
	assert_true(k >= 3 && k <= 12);
	assert_true(x[0] == 1 && y[0] == 0.1);
	assert_true(x[k - 1] == 1000 && y[k - 1] == 100);
	for (i = 0; i < k; i++) {
		assert_true(fabs(y[i] - x[i] / 10.0) < 1e-9); /* every kept point is exact */
		if (i)
			assert_true(x[i] > x[i - 1]);
	}
	/* the drawn step at any value (the last kept point at or below it) is off by
	 * less than the 10 percent step from the true CDF */
	for (i = 1; i <= 1000; i++) {
		int j = k - 1;
		while (x[j] > i)
			j--;
		assert_true((double)i / 10.0 - y[j] < 10.0 + 1e-9);
	}
	free(x);
	free(y);
	v[5] = NAN;
	assert_true(report_cdf_points(v, 1000, 0, &x, &y, &err) < 0);
	assert_int_equal(err.code, MS_EINVAL);
	free(v);
}

static void check_files(const char *base)
{
	char path[1024];
	unsigned char magic[8];
	static const unsigned char png[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
	FILE *f;
	char buf[4096];
	size_t n;

	snprintf(path, sizeof(path), "%s.png", base);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fread(magic, 1, 8, f), 8);
	fclose(f);
	assert_memory_equal(magic, png, 8);
	snprintf(path, sizeof(path), "%s.svg", base);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	assert_non_null(strstr(buf, "<svg"));
}

static const char *tmpdir(void)
{
	const char *t = getenv("MS_TMP");
	return t && *t ? t : "/tmp";
}

static void test_plot_write(void **state)
{
	const double x[] = { 1729000000, 1729000060, 1729000120 }, y[] = { 3, 0, 7 };
	const double cx[] = { 0, 1, 10, 100 }, cy[] = { 10, 20, 90, 100 };
	struct report_series ts[] = { { "Image Requests", x, y, 3 }, { "it's text_1", x, y, 3 } };
	struct report_series cs[] = { { "CDF", cx, cy, 4 }, { "empty", NULL, NULL, 0 } };
	struct report_plot p = { .title = "Invocations per Minute", .xlabel = "Time",
				 .ylabel = "Requests", .x_is_time = 1, .series = ts,
				 .n_series = 2 };
	struct ms_error err = { 0 };
	char base[900];
	int rc;
	(void)state;
	snprintf(base, sizeof(base), "%s/plot test 'quoted'", tmpdir());
	rc = report_plot_write(&p, base, &err);
	if (rc)
		fail_msg("%s", err.msg);
	check_files(base);
	/* log x with x = 0 (left out) and an empty series */
	p = (struct report_plot){ .title = "CDF", .logx = 1, .steps = 1, .series = cs,
				  .n_series = 2 };
	snprintf(base, sizeof(base), "%s/plot_cdf", tmpdir());
	rc = report_plot_write(&p, base, &err);
	if (rc)
		fail_msg("%s", err.msg);
	check_files(base);
	/* nothing drawable at all: still both files, saying "no data" */
	p.series = cs + 1;
	p.n_series = 1;
	snprintf(base, sizeof(base), "%s/plot_empty", tmpdir());
	rc = report_plot_write(&p, base, &err);
	if (rc)
		fail_msg("%s", err.msg);
	check_files(base);
}

/* Every YYYY-MM-DD in the SVG (the time axis' tick labels) must be `day`. */
static int svg_dates_only(const char *base, const char *day)
{
	char path[1024], *buf = calloc(1, 1 << 20);
	size_t n, i, dates = 0;
	FILE *f;

	assert_non_null(buf);
	snprintf(path, sizeof(path), "%s.svg", base);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	for (i = 0; i + 10 <= n; i++) {
		const char *q = buf + i;
		if (q[4] != '-' || q[7] != '-' || strspn(q, "0123456789") != 4 ||
		    strspn(q + 5, "0123456789") != 2 || strspn(q + 8, "0123456789") != 2)
			continue;
		dates++;
		if (strncmp(q, day, 10)) {
			fprintf(stderr, "tick label %.10s outside %s\n", q, day);
			free(buf);
			return 0;
		}
	}
	free(buf);
	return dates > 0;
}

/*
 * One point (a one-request trace's per-minute figure) or all points at one x: the
 * time axis spans minutes around it, not the year gnuplot's autoscale would give.
 */
static void test_plot_single_x(void **state)
{
	const double x[] = { 1729067760 }, y[] = { 1 }, x2[] = { 1729067760, 1729067760 },
		     y2[] = { 1, 4 }, nx[] = { 5 };
	struct report_series one = { "Requests", x, y, 1 }, two[] = { { "a", x, y, 1 },
								      { "b", x2, y2, 2 } };
	struct report_series num = { "n", nx, y, 1 };
	struct report_plot p = { .title = "Invocations per Minute", .xlabel = "Time",
				 .ylabel = "Requests", .x_is_time = 1, .series = &one,
				 .n_series = 1 };
	struct ms_error err = { 0 };
	char base[900];
	(void)state;
	snprintf(base, sizeof(base), "%s/plot_one_point", tmpdir());
	if (report_plot_write(&p, base, &err))
		fail_msg("%s", err.msg);
	check_files(base);
	assert_true(svg_dates_only(base, "2024-10-16"));
	p.series = two;
	p.n_series = 2;
	snprintf(base, sizeof(base), "%s/plot_one_x", tmpdir());
	if (report_plot_write(&p, base, &err))
		fail_msg("%s", err.msg);
	assert_true(svg_dates_only(base, "2024-10-16"));
	/* plain and log axes get a range too, and still draw */
	p = (struct report_plot){ .title = "n", .series = &num, .n_series = 1 };
	snprintf(base, sizeof(base), "%s/plot_one_num", tmpdir());
	if (report_plot_write(&p, base, &err))
		fail_msg("%s", err.msg);
	check_files(base);
	p.logx = 1;
	if (report_plot_write(&p, base, &err))
		fail_msg("%s", err.msg);
	check_files(base);
}

static void test_plot_no_gnuplot(void **state)
{
	const double x[] = { 1, 2 };
	struct report_series s = { "a", x, x, 2 };
	struct report_plot p = { .title = "t", .series = &s, .n_series = 1 };
	struct ms_error err = { 0 };
	char base[900];
	(void)state;
	snprintf(base, sizeof(base), "%s/plot_nognuplot", tmpdir());
	setenv("MS_GNUPLOT", "/nonexistent/gnuplot", 1);
	assert_int_equal(report_plot_write(&p, base, &err), -MS_ENOTFOUND);
	assert_non_null(strstr(err.msg, "not found"));
	/* gnuplot that fails: its exit status is an error, not a silent success */
	setenv("MS_GNUPLOT", "false", 1);
	assert_int_equal(report_plot_write(&p, base, &err), -MS_EIO);
	unsetenv("MS_GNUPLOT");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cdf_exact),
		cmocka_unit_test(test_cdf_thinned),
		cmocka_unit_test(test_plot_write),
		cmocka_unit_test(test_plot_single_x),
		cmocka_unit_test(test_plot_no_gnuplot),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
