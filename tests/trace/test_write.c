/* trace_write: round trips on the real traces in tests/data ($MS_TESTDATA/data) and on synth. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace/trace_synth.h"
#include "trace/trace_write.h"

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

static void assert_same_set(const struct trace_set *a, const struct trace_set *b)
{
	size_t i;
	assert_int_equal(a->n, b->n);
	assert_int_equal(a->format, b->format);
	assert_int_equal(a->frac_digits, b->frac_digits);
	assert_true(a->start_ns == b->start_ns);
	for (i = 0; i < a->n; i++) {
		assert_true(trace_set_time_ns(a, i) == trace_set_time_ns(b, i));
		assert_int_equal(a->images[i], b->images[i]);
		assert_int_equal(a->ctx[i], b->ctx[i]);
		assert_int_equal(a->gen[i], b->gen[i]);
	}
}

/* load, write (plain and .gz), load: every row equal; plain text byte-identical if asked */
static void round_trip(const char *rel, int identical)
{
	char in[1024], out[1024], outgz[1024];
	const char *shared = getenv("MS_TESTDATA"), *tmp = getenv("MS_TMP"), *base;
	struct trace_set a, b, c;
	struct ms_error err;
	size_t la, lb;
	char *x, *y;

	assert_non_null(shared);
	assert_non_null(tmp);
	base = strrchr(rel, '/') + 1;
	snprintf(in, sizeof(in), "%s/data/%s", shared, rel);
	snprintf(out, sizeof(out), "%s/rt-%s", tmp, base);
	snprintf(outgz, sizeof(outgz), "%s/rt-%s.gz", tmp, base);
	trace_set_init(&a);
	trace_set_init(&b);
	trace_set_init(&c);
	assert_int_equal(trace_set_load(&a, in, NULL, NULL, &err), 0);
	assert_true(a.n > 1000);
	assert_int_equal(trace_set_write(&a, out, &err), 0);
	assert_int_equal(trace_set_write(&a, outgz, &err), 0);
	assert_int_equal(trace_set_load(&b, out, NULL, NULL, &err), 0);
	assert_int_equal(trace_set_load(&c, outgz, NULL, NULL, &err), 0);
	assert_same_set(&a, &b);
	assert_same_set(&a, &c);
	if (identical) {
		x = slurp(in, &la);
		y = slurp(out, &lb);
		assert_int_equal(la, lb);
		assert_memory_equal(x, y, la);
		free(x);
		free(y);
	}
	/* gzip magic: really compressed */
	x = slurp(outgz, &la);
	assert_true(la > 2 && (unsigned char)x[0] == 0x1f && (unsigned char)x[1] == 0x8b);
	free(x);
	trace_set_release(&a);
	trace_set_release(&b);
	trace_set_release(&c);
}

static void test_windows(void **state)
{
	(void)state;
	round_trip("azure-lmm-2025-windows/window-2024-10-16T0836.csv", 1);
	round_trip("azure-lmm-2025-windows/window-2024-10-21T1216.csv", 1);
}

static void test_llm2023(void **state)
{
	(void)state;
	/* 7 fraction digits, space separator, no NumImages column */
	round_trip("azure-llm-2023/AzureLLMInferenceTrace_code.csv", 0);
	round_trip("azure-llm-2023/AzureLLMInferenceTrace_conv.csv", 0);
}

static void test_synth_round_trip(void **state)
{
	char out[1024];
	struct trace_synth_opts o;
	struct trace_set a, b;
	struct ms_error err;
	(void)state;
	snprintf(out, sizeof(out), "%s/rt-synth.csv.gz", getenv("MS_TMP"));
	trace_synth_opts_default(&o);
	o.requests = 30000;
	trace_set_init(&a);
	trace_set_init(&b);
	assert_int_equal(trace_synth(&a, &o, &err), 0);
	assert_int_equal(trace_set_write(&a, out, &err), 0);
	assert_int_equal(trace_set_load(&b, out, NULL, NULL, &err), 0);
	assert_same_set(&a, &b);
	trace_set_release(&a);
	trace_set_release(&b);
}

static void test_errors(void **state)
{
	struct trace_set a;
	struct ms_error err;
	char out[1024];
	FILE *f;
	(void)state;
	trace_set_init(&a);
	assert_int_equal(trace_set_push(&a, 0, 3, 10, 10, &err), 0);
	assert_int_equal(trace_set_write(&a, "/nonexistent-dir/x.csv", &err), -MS_EIO);
	assert_non_null(strstr(err.msg, "/nonexistent-dir/x.csv.tmp"));
	/* images cannot be written in the text-only format, and nothing is left behind */
	a.format = TRACE_FMT_LLM2023;
	a.frac_digits = 7;
	snprintf(out, sizeof(out), "%s/w-bad.csv", getenv("MS_TMP"));
	remove(out);
	assert_int_equal(trace_set_write(&a, out, &err), -MS_EINVAL);
	assert_non_null(strstr(err.msg, "NumImages"));
	f = fopen(out, "r");
	assert_null(f);
	snprintf(out, sizeof(out), "%s/w-bad.csv.tmp", getenv("MS_TMP"));
	f = fopen(out, "r");
	assert_null(f);
	trace_set_release(&a);
}

/* A time the loader cannot read back is refused, naming the row, and leaves no file. */
static void test_time_range(void **state)
{
	struct trace_set a;
	struct ms_error err;
	char out[1024], tmp[1100];
	const double bad[] = { 1e13, INFINITY, NAN, 1e30 };
	int64_t max_ns;
	size_t k;
	(void)state;
	assert_int_equal(trace_time_parse(TRACE_WRITE_LAST_TIME, strlen(TRACE_WRITE_LAST_TIME),
					  &max_ns, NULL), 0);
	snprintf(out, sizeof(out), "%s/w-range.csv", getenv("MS_TMP"));
	snprintf(tmp, sizeof(tmp), "%s.tmp", out);
	for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		trace_set_init(&a);
		a.format = TRACE_FMT_LMM2025;
		a.frac_digits = 3;
		a.start_ns = 1729000000LL * 1000000000LL;
		assert_int_equal(trace_set_push(&a, 0, 1, 10, 10, &err), 0);
		assert_int_equal(trace_set_push(&a, 1, 1, 10, 10, &err), 0);
		a.t[1] = bad[k]; /* past what the loader reads; push would refuse NaN itself */
		remove(out);
		ms_error_clear(&err);
		assert_int_equal(trace_set_write(&a, out, &err), -MS_ERANGE);
		assert_non_null(strstr(err.msg, "row 2"));
		assert_null(fopen(out, "r"));
		assert_null(fopen(tmp, "r"));
		assert_int_equal(trace_set_write(&a, "-", &err), -MS_ERANGE);
		trace_set_release(&a);
	}
	/* before 1970 */
	trace_set_init(&a);
	a.format = TRACE_FMT_LLM2023;
	a.start_ns = -1000000000LL;
	assert_int_equal(trace_set_push(&a, 0, 0, 10, 10, &err), 0);
	assert_int_equal(trace_set_write(&a, out, &err), -MS_ERANGE);
	assert_non_null(strstr(err.msg, "row 1"));
	/* the last instant itself is fine and loads back */
	a.start_ns = max_ns;
	a.frac_digits = 9;
	assert_int_equal(trace_set_write(&a, out, &err), 0);
	trace_set_release(&a);
	trace_set_init(&a);
	assert_int_equal(trace_set_load(&a, out, NULL, NULL, &err), 0);
	assert_int_equal(a.n, 1);
	assert_true(a.start_ns == max_ns);
	trace_set_release(&a);
	remove(out);
}

/* Writes ts to a plain file under MS_TMP and returns its text (caller frees). */
static char *write_text(const struct trace_set *ts, const char *name)
{
	char out[1024];
	struct ms_error err;
	size_t len;
	snprintf(out, sizeof(out), "%s/%s", getenv("MS_TMP"), name);
	assert_int_equal(trace_set_write(ts, out, &err), 0);
	return slurp(out, &len);
}

/*
 * Mixed precision (issue 10): a coarse first row must not cut a finer later row. The
 * loader keeps the finest precision seen, so every row is written with it and loads back
 * to the same times; a set made in code with too few frac_digits is widened, not cut.
 */
static void test_mixed_precision(void **state)
{
	static const char csv[] = "TIMESTAMP,NumImages,ContextTokens,GeneratedTokens\n"
				  "2024-10-15T12:00:00Z,1,10,5\n"
				  "2024-10-15T12:00:00.750Z,0,20,6\n"
				  "2024-10-15T12:00:01.5Z,2,30,7\n";
	static const char want[] = "TIMESTAMP,NumImages,ContextTokens,GeneratedTokens\n"
				   "2024-10-15T12:00:00.000Z,1,10,5\n"
				   "2024-10-15T12:00:00.750Z,0,20,6\n"
				   "2024-10-15T12:00:01.500Z,2,30,7\n";
	struct trace_set a, b;
	struct ms_error err;
	char out[1024], *text;
	(void)state;
	trace_set_init(&a);
	trace_set_init(&b);
	assert_int_equal(trace_set_load_mem(&a, csv, strlen(csv), "mixed.csv", NULL, NULL, &err), 0);
	assert_int_equal(a.n, 3);
	assert_int_equal(a.frac_digits, 3);
	text = write_text(&a, "w-mixed.csv");
	assert_string_equal(text, want);
	free(text);
	snprintf(out, sizeof(out), "%s/w-mixed.csv", getenv("MS_TMP"));
	assert_int_equal(trace_set_load(&b, out, NULL, NULL, &err), 0);
	assert_same_set(&a, &b);
	trace_set_release(&b);

	/* a set claiming whole seconds but holding 0.75 s, then 0.0001234 s: widened to fit */
	a.frac_digits = 0;
	text = write_text(&a, "w-mixed0.csv");
	assert_string_equal(text, "TIMESTAMP,NumImages,ContextTokens,GeneratedTokens\n"
				  "2024-10-15T12:00:00.00Z,1,10,5\n"
				  "2024-10-15T12:00:00.75Z,0,20,6\n"
				  "2024-10-15T12:00:01.50Z,2,30,7\n");
	free(text);
	a.t[1] = 0.0001234;
	text = write_text(&a, "w-mixed7.csv");
	assert_non_null(strstr(text, "\n2024-10-15T12:00:00.0001234Z,0,20,6\n"));
	assert_non_null(strstr(text, "\n2024-10-15T12:00:00.0000000Z,1,10,5\n"));
	free(text);
	trace_set_release(&a);

	/* LLM 2023 style: a 7-digit row after a 3-digit one keeps all 7 */
	{
		static const char c23[] = "TIMESTAMP,ContextTokens,GeneratedTokens\n"
					  "2023-11-16 18:15:46.680,10,5\n"
					  "2023-11-16 18:15:46.6805901,20,6\n";
		trace_set_init(&a);
		assert_int_equal(trace_set_load_mem(&a, c23, strlen(c23), "c23.csv", NULL, NULL,
						    &err), 0);
		assert_int_equal(a.frac_digits, 7);
		text = write_text(&a, "w-mixed23.csv");
		assert_string_equal(text, "TIMESTAMP,ContextTokens,GeneratedTokens\n"
					  "2023-11-16 18:15:46.6800000,10,5\n"
					  "2023-11-16 18:15:46.6805901,20,6\n");
		free(text);
		trace_set_release(&a);
	}
}

/* A year-long set: the double's few ns of noise neither widen the precision nor cut .750 to .749. */
static void test_long_span_grid(void **state)
{
	struct trace_set a;
	struct ms_error err;
	char *text;
	(void)state;
	trace_set_init(&a);
	a.format = TRACE_FMT_LMM2025;
	a.frac_digits = 3;
	a.start_ns = 1729000000LL * 1000000000LL;
	assert_int_equal(trace_set_push(&a, 0, 1, 10, 10, &err), 0);
	/* 364 days and 0.750 s: not exact in a double, within a few ns of the ms grid */
	assert_int_equal(trace_set_push(&a, (364 * 86400000.0 + 750.0) / 1000.0 * (1 - 0x1p-52),
					1, 10, 10, &err), 0);
	text = write_text(&a, "w-year.csv");
	assert_non_null(strstr(text, "\n2025-10-14T13:46:40.750Z,1,10,10\n"));
	free(text);
	trace_set_release(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_windows),
		cmocka_unit_test(test_llm2023),
		cmocka_unit_test(test_synth_round_trip),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_time_range),
		cmocka_unit_test(test_mixed_precision),
		cmocka_unit_test(test_long_span_grid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
