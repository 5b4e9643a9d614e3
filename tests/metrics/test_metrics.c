/* metrics: percentiles (numpy linear, as trace stats), per-class summaries, SLO attainment, time series integrals. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics/metrics.h"
#include "trace/trace_stats.h"

/* numpy's default: position p/100 x (n - 1), linear between the order statistics around it */
static void test_percentile_linear(void **state)
{
	double v[10] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };

	(void)state;
	/* np.percentile(range(1, 11), [50, 90, 99, 0]) = 5.5, 9.1, 9.91, 1 */
	assert_true(fabs(metrics_percentile(v, 10, 50) - 5.5) < 1e-12);
	assert_true(fabs(metrics_percentile(v, 10, 90) - 9.1) < 1e-12);
	assert_true(fabs(metrics_percentile(v, 10, 99) - 9.91) < 1e-12);
	assert_true(metrics_percentile(v, 10, 0) == 1);
	assert_true(metrics_percentile(v, 10, 100) == 10);
	assert_true(metrics_percentile(v, 1, 99) == 1);
	assert_true(isnan(metrics_percentile(v, 0, 50)));
	/* n = 2: p50 halfway, p90 at 1.9 (nearest rank said 1 and 2) */
	assert_true(metrics_percentile(v, 2, 50) == 1.5);
	assert_true(fabs(metrics_percentile(v, 2, 90) - 1.9) < 1e-12);
	/* out-of-range p is clamped, never read out of bounds */
	assert_true(metrics_percentile(v, 10, 150) == 10);
	assert_true(metrics_percentile(v, 10, -5) == 1);
}

/*
 * One definition in the project: on integer data metrics_percentile equals
 * trace_quantile_u32 (what `trace stats` prints) bit for bit, for every n up to 3000
 * and awkward values (wide gaps, so the lerp's rounding shows).
 */
static void test_percentile_same_as_trace_stats(void **state)
{
	static uint32_t u[3000];
	static double d[3000];
	static const double p[] = { 50, 90, 99, 99.9, 33.3 };
	uint64_t x = 88172645463325252ull;
	size_t n, i, k;

	(void)state;
	for (i = 0; i < 3000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		u[i] = (uint32_t)(x % 4000000000u);
	}
	for (i = 1; i < 3000; i++) /* insertion sort: sorted, ties kept */
		for (k = i; k > 0 && u[k - 1] > u[k]; k--) {
			uint32_t t = u[k];
			u[k] = u[k - 1];
			u[k - 1] = t;
		}
	for (i = 0; i < 3000; i++)
		d[i] = (double)u[i];
	for (n = 1; n <= 3000; n++)
		for (k = 0; k < sizeof(p) / sizeof(p[0]); k++)
			assert_true(metrics_percentile(d, n, p[k]) ==
				    trace_quantile_u32(u, n, p[k] / 100.0));
}

static void test_summary(void **state)
{
	struct metrics_req r[200];
	struct metrics_summary s;
	struct ms_error err = { 0 };
	int i;

	(void)state;
	memset(r, 0, sizeof(r));
	for (i = 0; i < 200; i++) {
		r[i].arrive = i;
		r[i].images = i % 2;          /* odd rows carry an image */
		r[i].ttft = (i % 2) ? 2.0 + i / 100.0 : 0.5; /* image requests are slower */
		r[i].gen = i % 10 == 0 ? 1 : 50;
		r[i].tpot = r[i].gen >= 2 ? 0.01 * (1 + i % 3) : NAN;
		r[i].e2e = r[i].ttft + (r[i].gen >= 2 ? r[i].tpot * 49 : 0);
		r[i].queued[METRICS_ENC] = (float)(i % 2);
		r[i].done = i != 199; /* one still running: counted, not finished */
	}
	assert_int_equal(metrics_summary_compute(&s, r, 200, 2.5, 0.025, &err), 0);
	assert_int_equal(s.all.n, 200);
	assert_int_equal(s.all.finished, 199);
	assert_int_equal(s.image.n, 100);
	assert_int_equal(s.image.finished, 99);
	assert_int_equal(s.text.finished, 100);
	assert_true(s.text.ttft.p99 == 0.5);
	/* image TTFTs 2 + i/100 for odd i up to 197 (row 199 unfinished): the 50th is i = 99 */
	assert_true(fabs(s.image.ttft.p50 - (2.0 + 99 / 100.0)) < 1e-12);
	assert_true(fabs(s.image.ttft.max - 3.97) < 1e-12);
	/* tpot: rows with gen 1 have none; values 0.01/0.02/0.03 by i % 3 */
	assert_int_equal(s.all.tpot.n, 199 - 20);
	assert_true(s.all.tpot.max == 0.03);
	/* SLO: text all meet TTFT; image meet when 2 + i/100 <= 2.5 -> i <= 50 odd: 25 rows */
	assert_true(fabs(s.image.slo_ttft - 25.0 / 99.0) < 1e-12);
	assert_true(fabs(s.text.slo_ttft - 1.0) < 1e-12);
	assert_true(fabs(s.image.queued_mean[METRICS_ENC] - 1.0) < 1e-6);
	assert_true(s.span_s > 198);
	assert_true(s.goodput_rps < s.throughput_rps);
}

static void test_series(void **state)
{
	struct metrics_series s;
	struct ms_error err = { 0 };

	(void)state;
	assert_int_equal(metrics_series_init(&s, "enc", 10, 20, 2, 100, &err), 0);
	/* queue: 4 from t=5 to t=25, then 0 */
	assert_int_equal(metrics_series_level(&s, METRICS_SER_QUEUE, 5, 4), 0);
	assert_int_equal(metrics_series_level(&s, METRICS_SER_QUEUE, 25, 0), 0);
	/* one of two instances busy over [0, 15): share 0.5 then 0.25 */
	assert_int_equal(metrics_series_add(&s, METRICS_SER_BUSY, 0, 15, 1), 0);
	/* far beyond the hint: storage grows */
	assert_int_equal(metrics_series_add(&s, METRICS_SER_BUSY, 1000, 1010, 2), 0);
	assert_int_equal(metrics_series_level(&s, METRICS_SER_KV, 0, 50), 0);
	assert_int_equal(metrics_series_finish(&s, 1010), 0);
	assert_true(s.n >= 101);
	assert_true(fabs(s.v[METRICS_SER_QUEUE][0] - 2.0) < 1e-12);
	assert_true(fabs(s.v[METRICS_SER_QUEUE][1] - 4.0) < 1e-12);
	assert_true(fabs(s.v[METRICS_SER_QUEUE][2] - 2.0) < 1e-12);
	assert_true(fabs(s.v[METRICS_SER_BUSY][0] - 0.5) < 1e-12);
	assert_true(fabs(s.v[METRICS_SER_BUSY][1] - 0.25) < 1e-12);
	assert_true(fabs(s.v[METRICS_SER_BUSY][100] - 1.0) < 1e-12);
	assert_true(fabs(s.v[METRICS_SER_KV][50] - 0.5) < 1e-12);
	metrics_series_release(&s);
	assert_true(metrics_series_init(&s, "x", 0, 20, 1, 1, &err) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_percentile_linear),
		cmocka_unit_test(test_percentile_same_as_trace_stats),
		cmocka_unit_test(test_summary),
		cmocka_unit_test(test_series),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
