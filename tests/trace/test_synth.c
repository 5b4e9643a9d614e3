/* trace_synth: determinism and the shape of the synthetic week against the real trace's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace/trace_stats.h"
#include "trace/trace_synth.h"

static struct trace_set week; /* default 1M-row week, seed 1, made once */

static int week_setup(void **state)
{
	struct trace_synth_opts o;
	struct ms_error err;
	(void)state;
	trace_set_init(&week);
	trace_synth_opts_default(&o);
	return trace_synth(&week, &o, &err) == 0 ? 0 : -1;
}

static int week_teardown(void **state)
{
	(void)state;
	trace_set_release(&week);
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/* Quantile q of the values of rows whose image-ness is want (0 text, 1 image, 2 all). */
static double quant(const uint32_t *col, int want, double q)
{
	uint32_t *v = malloc(week.n * sizeof(*v));
	size_t i, n = 0;
	double r;
	assert_non_null(v);
	for (i = 0; i < week.n; i++)
		if (want == 2 || (week.images[i] > 0) == want)
			v[n++] = col[i];
	qsort(v, n, sizeof(*v), cmp_u32);
	r = v[(size_t)(q * (double)(n - 1))];
	free(v);
	return r;
}

static void test_basic(void **state)
{
	(void)state;
	assert_int_equal(week.n, 1000000);
	assert_int_equal(week.format, TRACE_FMT_LMM2025);
	assert_int_equal(week.frac_digits, 3);
	assert_true(week.t[0] == 0.0);
	for (size_t i = 1; i < week.n; i++)
		assert_true(week.t[i] >= week.t[i - 1]);
	/* starts within the first minute of 2024-10-15T12:00Z, spans one week */
	assert_true(week.start_ns >= 1728993600000000000LL);
	assert_true(week.start_ns < 1728993660000000000LL);
	assert_true(week.t[week.n - 1] > 7 * 86400 - 600 && week.t[week.n - 1] <= 7 * 86400);
}

static void test_images(void **state)
{
	size_t i, nimg = 0, one = 0, le9 = 0, le100 = 0;
	uint32_t max = 0;
	(void)state;
	for (i = 0; i < week.n; i++) {
		uint32_t k = week.images[i];
		if (!k)
			continue;
		nimg++;
		one += k == 1;
		le9 += k <= 9;
		le100 += k <= 100;
		if (k > max)
			max = k;
		/* perfect squares, as in the real data */
		uint32_t r = (uint32_t)llround(sqrt((double)k));
		assert_int_equal(r * r, k);
	}
	/* image share: [NB3] ~55/min of ~99/min */
	assert_true((double)nimg / week.n > 0.45 && (double)nimg / week.n < 0.65);
	assert_true(fabs((double)one / nimg - 0.66) < 0.05);
	assert_true(fabs((double)le9 / nimg - 0.86) < 0.04);
	assert_true(fabs((double)le100 / nimg - 0.95) < 0.03);
	/* notebook: P(<=9) ~0.86, P(<=25) ~0.92, so p90 is one of 16, 25 */
	assert_true(quant(week.images, 1, 0.9) <= 16);
	assert_true(max > 1000);
}

static void test_tokens(void **state)
{
	size_t i, zc = 0, zg = 0;
	(void)state;
	/* [PN] week medians 1,124 / 98, p90 5,828 / 433 */
	assert_true(fabs(quant(week.ctx, 2, 0.5) - 1124) < 150);
	assert_true(fabs(quant(week.ctx, 2, 0.9) - 5828) < 900);
	assert_true(fabs(quant(week.gen, 2, 0.5) - 98) < 15);
	assert_true(fabs(quant(week.gen, 2, 0.9) - 433) < 60);
	/* [NB1] text median ~700-800 (we allow to 850), image ~1,300 (windows: 1,400-2,800) */
	assert_true(quant(week.ctx, 0, 0.5) > 650 && quant(week.ctx, 0, 0.5) < 850);
	assert_true(quant(week.ctx, 1, 0.5) > 1200 && quant(week.ctx, 1, 0.5) < 1800);
	/* [NB2] generated medians 100-200 text, ~80 image */
	assert_true(quant(week.gen, 0, 0.5) >= 100 && quant(week.gen, 0, 0.5) <= 200);
	assert_true(quant(week.gen, 1, 0.5) >= 60 && quant(week.gen, 1, 0.5) <= 120);
	for (i = 0; i < week.n; i++) {
		zc += week.ctx[i] == 0;
		zg += week.gen[i] == 0;
		assert_true(week.ctx[i] <= 148569 && week.gen[i] <= 16384);
	}
	assert_true(zc > 50 && zc < 1000);
	assert_true(zg > 50 && zg < 1000);
}

/* Many-image requests carry ~60-150 tokens per image [WIN]; ContextTokens grow with images. */
static void test_ctx_by_images(void **state)
{
	double sum_small = 0, sum_big = 0, per;
	size_t i, n_small = 0, n_big = 0;
	(void)state;
	for (i = 0; i < week.n; i++) {
		if (week.images[i] == 1) {
			sum_small += week.ctx[i];
			n_small++;
		} else if (week.images[i] >= 400 && week.ctx[i]) {
			sum_big += week.ctx[i];
			per = (double)week.ctx[i] / week.images[i];
			assert_true(per > 5 && per < 400);
			n_big++;
		}
	}
	assert_true(n_big > 1000);
	per = sum_big / n_big / 500.0;
	assert_true(sum_big / n_big > 10 * sum_small / n_small);
	assert_true(per > 40 && per < 150);
}

struct minute_stats {
	double mean, cv, max;
};

static void per_minute(int want, int count_images, struct minute_stats *s)
{
	size_t nmin = (size_t)(week.t[week.n - 1] / 60) + 1, i;
	double *c = calloc(nmin, sizeof(*c)), sum = 0, sq = 0;
	assert_non_null(c);
	for (i = 0; i < week.n; i++)
		if ((week.images[i] > 0) == want)
			c[(size_t)(week.t[i] / 60)] += count_images ? week.images[i] : 1;
	s->max = 0;
	for (i = 0; i < nmin; i++) {
		sum += c[i];
		sq += c[i] * c[i];
		if (c[i] > s->max)
			s->max = c[i];
	}
	s->mean = sum / nmin;
	s->cv = sqrt(sq / nmin - s->mean * s->mean) / s->mean;
	free(c);
}

static void test_burstiness(void **state)
{
	struct minute_stats txt, img, imgs;
	(void)state;
	per_minute(0, 0, &txt);
	per_minute(1, 0, &img);
	per_minute(1, 1, &imgs);
	/* [NB3] text 20-170/min smooth, image 0-450/min spiky */
	assert_true(txt.max < 250);
	assert_true(img.cv > 1.3 * txt.cv);
	assert_true(img.max > 5 * img.mean);
	/* [NB4] images per minute: bursts many times the mean, reaching 15,000+ */
	assert_true(imgs.cv > 2 * txt.cv);
	assert_true(imgs.max > 10 * imgs.mean);
	assert_true(imgs.max > 15000 && imgs.max < 60000);
}

/*
 * The bursts over seeds 1-10 stay in the real week's range (issue 11: seed 3 made a
 * busiest image minute of 1,027). Ranges read off [NB3] (the notebook's invocations-per-
 * minute figure), as data/synth/azure-lmm-2025.conf states them: image busiest ~452, mean
 * ~55 (peak-to-mean ~8.2), a spread per 7.8-minute pixel column of ~14 to ~124 (CV ~0.9 in
 * our model); text busiest ~175, mean ~45 (peak-to-mean ~3.9). Measured by trace_stats, the
 * code `trace stats` prints (checked against pandas in t_stats_pandas.sh).
 */
static void test_bursts_in_real_range(void **state)
{
	static const struct {
		int cls;
		double max_lo, max_hi, pm_lo, pm_hi, cv_lo, cv_hi;
	} want[] = {
		{ TRACE_CLASS_IMAGE, 300, 560, 5.5, 10.5, 0.75, 1.05 },
		{ TRACE_CLASS_TEXT, 140, 215, 3.0, 4.8, 0.40, 0.65 },
	};
	struct trace_synth_opts o;
	struct ms_error err;
	uint64_t seed;
	size_t k;
	(void)state;
	trace_synth_opts_default(&o);
	for (seed = 1; seed <= 10; seed++) {
		struct trace_set ts;
		struct trace_stats st;
		o.seed = seed;
		trace_set_init(&ts);
		assert_int_equal(trace_synth(&ts, &o, &err), 0);
		assert_int_equal(trace_stats_compute(&ts, NULL, &st, &err), 0);
		for (k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
			const struct trace_burst *b = &st.minute[want[k].cls][TRACE_MCOL_REQUESTS];
			print_message("seed %2llu %s: busiest %llu, peak/mean %.2f, CV %.3f\n",
				      (unsigned long long)seed, trace_class_name(want[k].cls),
				      (unsigned long long)b->max, b->peak_to_mean, b->cv);
			if (!(b->max >= want[k].max_lo && b->max <= want[k].max_hi &&
			      b->peak_to_mean >= want[k].pm_lo && b->peak_to_mean <= want[k].pm_hi &&
			      b->cv >= want[k].cv_lo && b->cv <= want[k].cv_hi))
				fail_msg("seed %llu %s: busiest %llu, peak/mean %.2f, CV %.3f outside "
					 "the real week's range", (unsigned long long)seed,
					 trace_class_name(want[k].cls), (unsigned long long)b->max,
					 b->peak_to_mean, b->cv);
		}
		trace_set_release(&ts);
	}
}

/* A daily cycle: text per hour of day (UTC), averaged over the week, swings by >30%. */
static void test_daily_cycle(void **state)
{
	double h[24] = { 0 }, lo = 1e18, hi = 0;
	size_t i;
	(void)state;
	for (i = 0; i < week.n; i++)
		if (!week.images[i])
			h[(size_t)(fmod(12.0 + week.t[i] / 3600.0, 24.0))]++;
	for (i = 0; i < 24; i++) {
		lo = h[i] < lo ? h[i] : lo;
		hi = h[i] > hi ? h[i] : hi;
	}
	assert_true(hi > 1.5 * lo);
}

static void test_deterministic(void **state)
{
	struct trace_synth_opts o;
	struct trace_set a, b, c;
	struct ms_error err;
	size_t i, diff = 0;
	(void)state;
	trace_synth_opts_default(&o);
	o.requests = 20000;
	trace_set_init(&a);
	trace_set_init(&b);
	trace_set_init(&c);
	assert_int_equal(trace_synth(&a, &o, &err), 0);
	assert_int_equal(trace_synth(&b, &o, &err), 0);
	o.seed = 2;
	assert_int_equal(trace_synth(&c, &o, &err), 0);
	assert_int_equal(a.n, 20000);
	assert_true(a.start_ns == b.start_ns);
	assert_memory_equal(a.t, b.t, a.n * sizeof(*a.t));
	assert_memory_equal(a.images, b.images, a.n * sizeof(*a.images));
	assert_memory_equal(a.ctx, b.ctx, a.n * sizeof(*a.ctx));
	assert_memory_equal(a.gen, b.gen, a.n * sizeof(*a.gen));
	for (i = 0; i < a.n; i++)
		diff += a.ctx[i] != c.ctx[i];
	assert_true(diff > a.n / 2);
	/* the week's rate is kept: 20,000 rows span 20000/1e6 of a week */
	assert_true(fabs(a.t[a.n - 1] - 604800.0 * 0.02) < 600);
	trace_set_release(&a);
	trace_set_release(&b);
	trace_set_release(&c);
}

static void test_days_and_tiny(void **state)
{
	struct trace_synth_opts o;
	struct trace_set a;
	struct ms_error err;
	(void)state;
	trace_synth_opts_default(&o);
	o.requests = 5000;
	o.duration_s = 86400;
	trace_set_init(&a);
	assert_int_equal(trace_synth(&a, &o, &err), 0);
	assert_true(a.t[a.n - 1] > 80000 && a.t[a.n - 1] <= 86400);
	trace_set_release(&a);
	/* 3 rows keep the week's rate: a few seconds */
	trace_set_init(&a);
	o.requests = 3;
	o.duration_s = 0;
	assert_int_equal(trace_synth(&a, &o, &err), 0);
	assert_int_equal(a.n, 3);
	assert_true(a.t[2] <= 2.0);
	trace_set_release(&a);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* A broken parameter file is reported with file:line, never half-used. */
static void test_bad_params(void **state)
{
	char path[512], good[512], *buf;
	const char *tmp = getenv("MS_TMP"), *src = getenv("MS_SRC_DIR");
	struct trace_synth_opts o;
	struct trace_set a;
	struct ms_error err;
	FILE *f;
	long n;
	(void)state;
	assert_non_null(tmp);
	assert_non_null(src);
	trace_synth_opts_default(&o);
	o.requests = 100;
	snprintf(path, sizeof(path), "%s/synth-bad.conf", tmp);
	o.params_path = path;
	write_file(path, "image_share = 0.5\nbogus_key = 3\n");
	trace_set_init(&a);
	assert_int_equal(trace_synth(&a, &o, &err), -MS_EPARSE);
	assert_non_null(strstr(err.msg, "synth-bad.conf:2: unknown key 'bogus_key'"));
	write_file(path, "image_share = 0.5x\n");
	assert_int_equal(trace_synth(&a, &o, &err), -MS_EPARSE);
	assert_non_null(strstr(err.msg, ":1: image_share"));
	/* the real file with one table made non-monotone */
	snprintf(good, sizeof(good), "%s/data/synth/azure-lmm-2025.conf", src);
	f = fopen(good, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	assert_non_null(strstr(buf, "0.5 80\n"));
	memcpy(strstr(buf, "0.5 80\n"), "0.5 08\n", 7);
	write_file(path, buf);
	assert_int_equal(trace_synth(&a, &o, &err), -MS_EPARSE);
	assert_non_null(strstr(err.msg, "[image_gen]"));
	/* missing a table */
	*strstr(buf, "[image_gen]") = 0;
	write_file(path, buf);
	assert_int_equal(trace_synth(&a, &o, &err), -MS_EPARSE);
	assert_non_null(strstr(err.msg, "missing table 'image_gen'"));
	free(buf);
	o.params_path = "/nonexistent/x.conf";
	assert_int_equal(trace_synth(&a, &o, &err), -MS_ENOTFOUND);
	assert_int_equal(a.n, 0);
	trace_set_release(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_images),
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_ctx_by_images),
		cmocka_unit_test(test_burstiness),
		cmocka_unit_test(test_bursts_in_real_range),
		cmocka_unit_test(test_daily_cycle),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_days_and_tiny),
		cmocka_unit_test(test_bad_params),
	};
	return cmocka_run_group_tests(tests, week_setup, week_teardown);
}
