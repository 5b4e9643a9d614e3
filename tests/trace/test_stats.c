/* trace_stats: percentiles, sorting and per-minute math on hand-made sets. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "trace/trace_stats.h"

#define T0_S 1728993600LL /* 2024-10-15T12:00:00Z */

static void assert_near(double got, double want)
{
	if (fabs(got - want) > 1e-12 * (fabs(want) > 1 ? fabs(want) : 1))
		fail_msg("got %.17g, want %.17g", got, want);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

static void check_sort(uint32_t *v, size_t n)
{
	uint32_t *ref = malloc(n * sizeof(*ref)), *tmp = malloc(n * sizeof(*tmp));
	assert_non_null(ref);
	assert_non_null(tmp);
	memcpy(ref, v, n * sizeof(*v));
	qsort(ref, n, sizeof(*ref), cmp_u32);
	trace_sort_u32(v, n, tmp);
	assert_memory_equal(v, ref, n * sizeof(*v));
	free(ref);
	free(tmp);
}

static void test_sort_counting_and_radix(void **state)
{
	/* 4e9 is far above 2n+65536: the radix path; small values: the counting path. */
	uint32_t wide[] = { 4000000000u, 5, 70000, 3, 70000, 0, 65536, 65535 };
	uint32_t *big = malloc(20000 * sizeof(*big));
	uint32_t x = 12345;
	size_t i;
	(void)state;
	check_sort(wide, sizeof(wide) / sizeof(wide[0]));
	assert_int_equal(wide[0], 0);
	assert_int_equal(wide[7], 4000000000u);
	assert_non_null(big);
	for (i = 0; i < 20000; i++) { /* LCG: both paths on many values */
		x = x * 1103515245u + 12345u;
		big[i] = (x >> 8) % 3000;
	}
	check_sort(big, 20000);
	for (i = 0; i < 20000; i++) {
		x = x * 1103515245u + 12345u;
		big[i] = x;
	}
	check_sort(big, 20000);
	free(big);
}

/*
 * start 12:00:50; rows (t, images, ctx, gen):
 *   0   (12:00:50) 2 100 10  image, minute 0
 *   5   (12:00:55) 0  50  5  text,  minute 0
 *   10  (12:01:00) 1 200 20  image, minute 1 (a boundary belongs to the new minute)
 *   130 (12:03:00) 0  70  7  text,  minute 3; minute 2 is empty
 */
static void make_set(struct trace_set *ts)
{
	struct ms_error err = { 0 };
	trace_set_init(ts);
	ts->start_ns = (T0_S + 50) * 1000000000LL;
	assert_int_equal(trace_set_push(ts, 0, 2, 100, 10, &err), 0);
	assert_int_equal(trace_set_push(ts, 5, 0, 50, 5, &err), 0);
	assert_int_equal(trace_set_push(ts, 10, 1, 200, 20, &err), 0);
	assert_int_equal(trace_set_push(ts, 130, 0, 70, 7, &err), 0);
}

static void test_minutes(void **state)
{
	struct trace_set ts;
	struct trace_minutes tm;
	struct ms_error err = { 0 };
	const uint64_t img_req[] = { 1, 1, 0, 0 }, img_img[] = { 2, 1, 0, 0 };
	const uint64_t txt_req[] = { 1, 0, 0, 1 }, txt_in[] = { 50, 0, 0, 70 };
	const uint64_t img_out[] = { 10, 20, 0, 0 };
	(void)state;
	make_set(&ts);
	assert_int_equal(trace_minutes_compute(&ts, &tm, &err), 0);
	assert_int_equal(tm.n_minutes, 4);
	assert_true(tm.minute0_ns == T0_S * 1000000000LL);
	assert_memory_equal(tm.v[TRACE_CLASS_IMAGE][TRACE_MCOL_REQUESTS], img_req, sizeof(img_req));
	assert_memory_equal(tm.v[TRACE_CLASS_IMAGE][TRACE_MCOL_IMAGES], img_img, sizeof(img_img));
	assert_memory_equal(tm.v[TRACE_CLASS_TEXT][TRACE_MCOL_REQUESTS], txt_req, sizeof(txt_req));
	assert_memory_equal(tm.v[TRACE_CLASS_TEXT][TRACE_MCOL_IN_TOKENS], txt_in, sizeof(txt_in));
	assert_memory_equal(tm.v[TRACE_CLASS_IMAGE][TRACE_MCOL_OUT_TOKENS], img_out,
			    sizeof(img_out));
	trace_minutes_release(&tm);
	trace_set_release(&ts);
}

static void test_stats(void **state)
{
	struct trace_set ts;
	struct trace_stats st;
	struct ms_error err = { 0 };
	const struct trace_burst *b;
	(void)state;
	make_set(&ts);
	assert_int_equal(trace_stats_compute(&ts, NULL, &st, &err), 0);
	assert_int_equal(st.rows, 4);
	assert_int_equal(st.requests[TRACE_CLASS_IMAGE], 2);
	assert_near(st.image_share, 0.5);
	assert_near(st.span_s, 130.0);
	/* NumImages over image requests {1,2}: p50 1.5, p90 1.9, max 2, mean 1.5 */
	assert_near(st.images.p50, 1.5);
	assert_near(st.images.p90, 1.9);
	assert_int_equal(st.images.max, 2);
	/* ctx image {100,200}: mean 150, p99 = 100 + 0.99*100 = 199; text {50,70}: p90 68 */
	assert_near(st.ctx[TRACE_CLASS_IMAGE].mean, 150.0);
	assert_near(st.ctx[TRACE_CLASS_IMAGE].p99, 199.0);
	assert_near(st.ctx[TRACE_CLASS_TEXT].p90, 68.0);
	assert_int_equal(st.gen[TRACE_CLASS_TEXT].max, 7);
	assert_int_equal(st.gen[TRACE_CLASS_TEXT].sum, 12);

	/* image requests/minute {1,1,0,0}: mean 0.5, pop std 0.5 -> CV 1;
	 * sorted {0,0,1,1}, p99 at pos 2.97 -> 1; peak/mean 2 */
	b = &st.minute[TRACE_CLASS_IMAGE][TRACE_MCOL_REQUESTS];
	assert_near(b->mean, 0.5);
	assert_near(b->cv, 1.0);
	assert_near(b->p99, 1.0);
	assert_near(b->peak_to_mean, 2.0);
	/* images/minute {2,1,0,0}: mean 0.75, var (1.5625+0.0625+0.5625+0.5625)/4
	 * = 0.6875, CV sqrt(0.6875)/0.75; sorted {0,0,1,2}: p99 = 1 + 0.97 = 1.97 */
	b = &st.minute[TRACE_CLASS_IMAGE][TRACE_MCOL_IMAGES];
	assert_near(b->mean, 0.75);
	assert_near(b->cv, sqrt(0.6875) / 0.75);
	assert_near(b->p99, 1.97);
	assert_int_equal(b->max, 2);
	assert_int_equal(b->total, 3);
	assert_near(b->peak_to_mean, 2.0 / 0.75);
	/* text requests never carry images: mean 0, CV and peak/mean undefined */
	b = &st.minute[TRACE_CLASS_TEXT][TRACE_MCOL_IMAGES];
	assert_near(b->mean, 0.0);
	assert_true(isnan(b->cv));
	assert_true(isnan(b->peak_to_mean));
	/* totals per minute {2,1,0,1}: minute 0, 12:00:00, one image request with 2 images */
	assert_true(st.busiest_ns == T0_S * 1000000000LL);
	assert_int_equal(st.busiest_requests, 2);
	assert_int_equal(st.busiest_image_requests, 1);
	assert_int_equal(st.busiest_images, 2);
	trace_set_release(&ts);
}

static void test_busiest_tie_and_text_only(void **state)
{
	struct trace_set ts;
	struct trace_stats st;
	struct ms_error err = { 0 };
	(void)state;
	/* one text request at 12:00:59.999 and one at 12:01:00.000: a tie of 1 per
	 * minute, the earlier minute wins; no image request, so image stats are NaN */
	trace_set_init(&ts);
	ts.start_ns = T0_S * 1000000000LL + 59999000000LL;
	assert_int_equal(trace_set_push(&ts, 0, 0, 10, 1, &err), 0);
	assert_int_equal(trace_set_push(&ts, 0.001, 0, 30, 3, &err), 0);
	assert_int_equal(trace_stats_compute(&ts, NULL, &st, &err), 0);
	assert_int_equal(st.n_minutes, 2);
	assert_true(st.busiest_ns == T0_S * 1000000000LL);
	assert_int_equal(st.busiest_requests, 1);
	assert_int_equal(st.images.n, 0);
	assert_true(isnan(st.images.p50));
	assert_true(isnan(st.ctx[TRACE_CLASS_IMAGE].mean));
	assert_near(st.ctx[TRACE_CLASS_TEXT].p50, 20.0);
	assert_near(st.image_share, 0.0);
	trace_set_release(&ts);
}

static void test_empty_and_json(void **state)
{
	struct trace_set ts;
	struct trace_stats st;
	struct ms_error err = { 0 };
	json_t *o, *v;
	const char *key;
	const char *order[] = { "source", "rows", "image_requests", "text_requests",
				"image_share", "time", "num_images", "context_tokens",
				"generated_tokens", "per_minute", "busiest_minute" };
	size_t i = 0;
	(void)state;
	trace_set_init(&ts);
	assert_int_equal(trace_stats_compute(&ts, NULL, &st, &err), 0);
	assert_int_equal(st.rows, 0);
	assert_int_equal(st.n_minutes, 0);

	make_set(&ts);
	assert_int_equal(trace_stats_compute(&ts, NULL, &st, &err), 0);
	o = trace_stats_json(&st, "x.csv");
	assert_non_null(o);
	json_object_foreach(o, key, v) {
		assert_true(i < sizeof(order) / sizeof(order[0]));
		assert_string_equal(key, order[i]);
		i++;
	}
	assert_int_equal(i, sizeof(order) / sizeof(order[0]));
	v = json_object_get(json_object_get(json_object_get(o, "per_minute"), "text"), "images");
	assert_true(json_is_null(json_object_get(v, "cv")));
	v = json_object_get(o, "busiest_minute");
	assert_string_equal(json_string_value(json_object_get(v, "start")),
			    "2024-10-15T12:00:00Z");
	assert_string_equal(json_string_value(json_object_get(json_object_get(o, "time"),
							       "first")),
			    "2024-10-15T12:00:50.000Z");
	json_decref(o);
	trace_set_release(&ts);
}

/*
 * Counting and sorting give the same numbers: a set whose ranges are small (counted)
 * and the same set with one more text row of 4e9 tokens (too wide to count: sorted),
 * compared on the image side, which the extra row does not touch, and checked by hand
 * on the text side.
 */
static void test_counting_equals_sorting(void **state)
{
	struct trace_set a, b;
	struct trace_stats sa, sb;
	struct ms_error err;
	uint64_t x = 12345;
	(void)state;
	trace_set_init(&a);
	trace_set_init(&b);
	for (int i = 0; i < 5000; i++) {
		uint32_t img, ctx, gen;
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		img = (x >> 60) < 7 ? 0 : (uint32_t)(x >> 50) % 40;
		ctx = (uint32_t)(x >> 20) % 30000;
		gen = (uint32_t)(x >> 40) % 3000;
		assert_int_equal(trace_set_push(&a, i * 0.01, img, ctx, gen, &err), 0);
		assert_int_equal(trace_set_push(&b, i * 0.01, img, ctx, gen, &err), 0);
	}
	assert_int_equal(trace_set_push(&b, 60.0, 0, 4000000000u, 1, &err), 0);
	assert_int_equal(trace_stats_compute(&a, NULL, &sa, &err), 0);
	assert_int_equal(trace_stats_compute(&b, NULL, &sb, &err), 0);
	assert_memory_equal(&sa.images, &sb.images, sizeof(sa.images));
	assert_memory_equal(&sa.ctx[TRACE_CLASS_IMAGE], &sb.ctx[TRACE_CLASS_IMAGE],
			    sizeof(sa.ctx[0]));
	assert_memory_equal(&sa.gen[TRACE_CLASS_IMAGE], &sb.gen[TRACE_CLASS_IMAGE],
			    sizeof(sa.gen[0]));
	assert_int_equal(sb.ctx[TRACE_CLASS_TEXT].n, sa.ctx[TRACE_CLASS_TEXT].n + 1);
	assert_true(sb.ctx[TRACE_CLASS_TEXT].max == 4000000000u);
	assert_true(sb.ctx[TRACE_CLASS_TEXT].sum == sa.ctx[TRACE_CLASS_TEXT].sum + 4000000000u);
	/* one more value above all others moves p50 by at most one order statistic */
	assert_true(sb.ctx[TRACE_CLASS_TEXT].p50 >= sa.ctx[TRACE_CLASS_TEXT].p50);
	trace_set_release(&a);
	trace_set_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counting_equals_sorting),
		cmocka_unit_test(test_sort_counting_and_radix),
		cmocka_unit_test(test_minutes),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_busiest_tie_and_text_only),
		cmocka_unit_test(test_empty_and_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
