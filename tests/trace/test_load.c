/* The trace loader: both formats, every bad-input case of the issue, real files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <zlib.h>

#include "trace/trace.h"

static const char LMM_HDR[] = "TIMESTAMP,NumImages,ContextTokens,GeneratedTokens\n";

/* Loads text; returns rc, fills ts (caller releases) and err. */
static int load_str(struct trace_set *ts, const char *text, int skip_bad,
		    struct trace_load_report *rep, struct ms_error *err)
{
	struct trace_load_opts o = { .skip_bad = skip_bad };
	trace_set_init(ts);
	ms_error_clear(err);
	return trace_set_load_mem(ts, text, strlen(text), "t.csv", &o, rep, err);
}

/* Expects a failed load whose message is exactly `want`. */
static void expect_error(const char *text, const char *want)
{
	struct trace_set ts;
	struct ms_error err;
	int rc = load_str(&ts, text, 0, NULL, &err);
	assert_int_equal(rc, -MS_EPARSE);
	assert_string_equal(err.msg, want);
	trace_set_release(&ts);
}

static void test_lmm_format(void **state)
{
	struct trace_set ts;
	struct ms_error err;
	char buf[64];
	(void)state;
	assert_int_equal(load_str(&ts,
				  "TIMESTAMP,NumImages,ContextTokens,GeneratedTokens\n"
				  "2024-10-15T12:00:00.269Z,1,3324,170\n"
				  "2024-10-15T12:00:01.000Z,0,852,54\n"
				  "2024-10-15T12:00:01.000Z,529,35900,0\n",
				  0, NULL, &err),
			 0);
	assert_int_equal(ts.n, 3);
	assert_int_equal(ts.format, TRACE_FMT_LMM2025);
	assert_int_equal(ts.frac_digits, 3);
	assert_true(ts.t[0] == 0.0);
	assert_true(ts.t[1] > 0.730999 && ts.t[1] < 0.731001);
	assert_true(ts.t[2] == ts.t[1]);
	assert_int_equal(ts.images[2], 529);
	assert_int_equal(ts.ctx[2], 35900);
	assert_int_equal(ts.gen[2], 0);
	assert_int_equal(ts.gen[0], 170);
	/* 2024-10-15T12:00:00Z is 1728993600 s after the epoch */
	assert_true(ts.start_ns == 1728993600269000000LL);
	trace_time_format(trace_set_time_ns(&ts, 1), ts.format, ts.frac_digits, buf, sizeof(buf));
	assert_string_equal(buf, "2024-10-15T12:00:01.000Z");
	trace_set_release(&ts);
}

/* Timestamps through the loader equal trace_time_parse of the same text, across minutes,
 * hours, days, a leap day, a leap second and every fraction length. */
static void test_time_cache(void **state)
{
	static const char *const stamps[] = {
		"2024-02-28T23:59:59.9Z", "2024-02-29T00:00:00Z", "2024-02-29T00:00:00.5Z",
		"2024-02-29T00:00:59.123456789Z", "2024-02-29T00:01:00.000Z",
		"2024-02-29T00:01:00.01Z", "2024-02-29T01:01:00.000Z", "2024-12-31T23:59:59.999Z",
		"2025-01-01T00:00:00.000Z", "2025-01-01T00:00:01Z",
	};
	char text[2048];
	size_t len = (size_t)snprintf(text, sizeof(text), "%s", LMM_HDR);
	struct trace_set ts;
	struct ms_error err;
	(void)state;
	for (size_t i = 0; i < sizeof(stamps) / sizeof(stamps[0]); i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "%s,0,1,1\n", stamps[i]);
	assert_int_equal(load_str(&ts, text, 0, NULL, &err), 0);
	assert_int_equal(ts.n, sizeof(stamps) / sizeof(stamps[0]));
	for (size_t i = 0; i < ts.n; i++) {
		int64_t want;
		assert_int_equal(trace_time_parse(stamps[i], strlen(stamps[i]), &want, NULL), 0);
		/* double seconds from the start: exact to the ns within days, a few ns after
		 * ten months (ulp of 2.6e7 s is 3.7 ns), far below the 100 ns writers keep */
		int64_t d = trace_set_time_ns(&ts, i) - want;
		assert_true(d >= -4 && d <= 4);
		if (ts.t[i] < 86400.0)
			assert_true(d == 0);
	}
	trace_set_release(&ts);
}

static void test_llm2023_format(void **state)
{
	struct trace_set ts;
	struct ms_error err;
	char buf[64];
	(void)state;
	assert_int_equal(load_str(&ts,
				  "TIMESTAMP,ContextTokens,GeneratedTokens\n"
				  "2023-11-16 18:15:46.6805900,374,44\n"
				  "2023-11-16 18:15:50.9951690,396,109\n",
				  0, NULL, &err),
			 0);
	assert_int_equal(ts.n, 2);
	assert_int_equal(ts.format, TRACE_FMT_LLM2023);
	assert_int_equal(ts.frac_digits, 7);
	assert_int_equal(ts.images[0], 0);
	assert_int_equal(ts.images[1], 0);
	assert_int_equal(ts.ctx[1], 396);
	trace_time_format(trace_set_time_ns(&ts, 1), ts.format, ts.frac_digits, buf, sizeof(buf));
	assert_string_equal(buf, "2023-11-16 18:15:50.9951690");
	trace_set_release(&ts);
}

static void test_columns_by_name(void **state)
{
	struct trace_set ts;
	struct ms_error err;
	(void)state;
	/* reordered columns plus one the loader does not know */
	assert_int_equal(load_str(&ts,
				  "GeneratedTokens,Tenant,TIMESTAMP,ContextTokens,NumImages\n"
				  "7,abc,2024-10-15T12:00:00.000Z,100,2\n",
				  0, NULL, &err),
			 0);
	assert_int_equal(ts.gen[0], 7);
	assert_int_equal(ts.ctx[0], 100);
	assert_int_equal(ts.images[0], 2);
	trace_set_release(&ts);
	/* errors name the column and show its own field, wherever it stands */
	expect_error("GeneratedTokens,Tenant,TIMESTAMP,ContextTokens,NumImages\n"
		     "7,abc,2024-10-15T12:00:01.000Z,100,2\n"
		     "7,abc,2024-10-15T12:00:00.000Z,100,2\n",
		     "t.csv:3: TIMESTAMP: timestamp earlier than the row before: "
		     "'2024-10-15T12:00:00.000Z'");
	expect_error("GeneratedTokens,Tenant,TIMESTAMP,ContextTokens,NumImages\n"
		     "7,abc,2024-10-15T12:00:01.000Z,100,2x\n",
		     "t.csv:2: NumImages: not a number: '2x'");
}

static void test_crlf_bom_no_final_newline(void **state)
{
	struct trace_set ts;
	struct ms_error err;
	(void)state;
	assert_int_equal(load_str(&ts,
				  "\xEF\xBB\xBFTIMESTAMP,NumImages,ContextTokens,GeneratedTokens\r\n"
				  "2024-10-15T12:00:00.269Z,1,3324,170\r\n"
				  "2024-10-15T12:00:00.300Z,2,10,11",
				  0, NULL, &err),
			 0);
	assert_int_equal(ts.n, 2);
	assert_int_equal(ts.gen[0], 170);
	assert_int_equal(ts.gen[1], 11);
	trace_set_release(&ts);
}

static void test_bad_rows_stop(void **state)
{
	char text[512];
	(void)state;
#define ROW(r) (snprintf(text, sizeof(text), "%s2024-10-15T12:00:00.000Z,1,2,3\n%s\n", LMM_HDR, r), text)
	expect_error(ROW("2024-10-15T12:00:01.000Z,1,2"),
		     "t.csv:3: wrong number of fields: expected 4, got '2024-10-15T12:00:01.000Z,1,2'");
	expect_error(ROW("2024-10-15T12:00:01.000Z,1,2,3,4"),
		     "t.csv:3: wrong number of fields: expected 4, got '2024-10-15T12:00:01.000Z,1,2,3,4'");
	expect_error(ROW("2024-10-15T12:00:01.000Z,1,12a,3"),
		     "t.csv:3: ContextTokens: not a number: '12a'");
	expect_error(ROW("2024-10-15T12:00:01.000Z,1,,3"),
		     "t.csv:3: ContextTokens: not a number: ''");
	expect_error(ROW("2024-10-15T12:00:01.000Z,-1,2,3"),
		     "t.csv:3: NumImages: negative value: '-1'");
	expect_error(ROW("2024-10-15T12:00:01.000Z,1,2,4294967296"),
		     "t.csv:3: GeneratedTokens: value too large: '4294967296'");
	expect_error(ROW("2024-10-15T25:00:01.000Z,1,2,3"),
		     "t.csv:3: TIMESTAMP: bad timestamp: '2024-10-15T25:00:01.000Z'");
	expect_error(ROW("2024-02-30T12:00:01.000Z,1,2,3"),
		     "t.csv:3: TIMESTAMP: bad timestamp: '2024-02-30T12:00:01.000Z'");
	expect_error(ROW("yesterday,1,2,3"), "t.csv:3: TIMESTAMP: bad timestamp: 'yesterday'");
	expect_error(ROW("2024-10-15T11:59:59.999Z,1,2,3"),
		     "t.csv:3: TIMESTAMP: timestamp earlier than the row before: "
		     "'2024-10-15T11:59:59.999Z'");
	/* same minute as the row before: the loader's cached-minute path must check as much */
	expect_error(ROW("2024-10-15T12:00:61.000Z,1,2,3"),
		     "t.csv:3: TIMESTAMP: bad timestamp: '2024-10-15T12:00:61.000Z'");
	expect_error(ROW("2024-10-15T12:00:60.000Z,1,2,3"),
		     "t.csv:3: TIMESTAMP: bad timestamp: '2024-10-15T12:00:60.000Z'");
	expect_error(ROW("2024-10-15T12:00:0x.000Z,1,2,3"),
		     "t.csv:3: TIMESTAMP: bad timestamp: '2024-10-15T12:00:0x.000Z'");
	expect_error(ROW("2024-10-15T12:00:01.Z,1,2,3"),
		     "t.csv:3: TIMESTAMP: bad timestamp: '2024-10-15T12:00:01.Z'");
	expect_error(ROW("2024-10-15T12:00:01.0000000001Z,1,2,3"),
		     "t.csv:3: TIMESTAMP: bad timestamp: '2024-10-15T12:00:01.0000000001Z'");
	expect_error(ROW("2024-10-15T12:00:01.000ZZ,1,2,3"),
		     "t.csv:3: TIMESTAMP: bad timestamp: '2024-10-15T12:00:01.000ZZ'");
	expect_error(ROW("2024-10-15T12:00:1,1,2,3"),
		     "t.csv:3: TIMESTAMP: bad timestamp: '2024-10-15T12:00:1'");
#undef ROW
	/* 4294967295 is the largest count and loads */
	{
		struct trace_set ts;
		struct ms_error err;
		snprintf(text, sizeof(text), "%s2024-10-15T12:00:00.000Z,0,4294967295,3\n", LMM_HDR);
		assert_int_equal(load_str(&ts, text, 0, NULL, &err), 0);
		assert_true(ts.ctx[0] == 4294967295u);
		trace_set_release(&ts);
	}
}

static void test_blank_lines(void **state)
{
	struct trace_set ts;
	struct ms_error err;
	struct trace_load_report rep;
	(void)state;
	/* at the end, LF or CRLF: ignored */
	assert_int_equal(load_str(&ts, "TIMESTAMP,NumImages,ContextTokens,GeneratedTokens\n"
				       "2024-10-15T12:00:00.000Z,1,2,3\n\n\r\n\n",
				  0, &rep, &err),
			 0);
	assert_int_equal(ts.n, 1);
	assert_int_equal(rep.bad_total, 0);
	trace_set_release(&ts);
	/* between rows: an error at the first blank line */
	expect_error("TIMESTAMP,NumImages,ContextTokens,GeneratedTokens\n"
		     "2024-10-15T12:00:00.000Z,1,2,3\n\n\n2024-10-15T12:00:01.000Z,1,2,3\n",
		     "t.csv:3: wrong number of fields: expected 4, got ''");
	/* and with --skip-bad each blank line is counted, the rows around kept */
	assert_int_equal(load_str(&ts, "TIMESTAMP,NumImages,ContextTokens,GeneratedTokens\n"
				       "2024-10-15T12:00:00.000Z,1,2,3\n\n\n"
				       "2024-10-15T12:00:01.000Z,1,2,3\n\n",
				  1, &rep, &err),
			 0);
	assert_int_equal(ts.n, 2);
	assert_int_equal(rep.bad[TRACE_BAD_FIELDS], 2);
	assert_string_equal(rep.examples[0], "t.csv:3: wrong number of fields: expected 4, got ''");
	assert_string_equal(rep.examples[1], "t.csv:4: wrong number of fields: expected 4, got ''");
	trace_set_release(&ts);
}

static void test_empty_and_missing_header(void **state)
{
	(void)state;
	expect_error("", "t.csv: empty file: no header line");
	expect_error("2024-10-15T12:00:00.000Z,1,2,3\n",
		     "t.csv:1: missing header: need TIMESTAMP, ContextTokens and GeneratedTokens "
		     "columns (NumImages optional), got '2024-10-15T12:00:00.000Z,1,2,3'");
	expect_error("TIMESTAMP,NumImages\n",
		     "t.csv:1: missing header: need TIMESTAMP, ContextTokens and GeneratedTokens "
		     "columns (NumImages optional), got 'TIMESTAMP,NumImages'");
}

static void test_skip_bad_counts(void **state)
{
	struct trace_set ts;
	struct ms_error err;
	struct trace_load_report rep;
	(void)state;
	assert_int_equal(load_str(&ts,
				  "TIMESTAMP,NumImages,ContextTokens,GeneratedTokens\n"
				  "2024-10-15T12:00:00.000Z,1,2,3\n"
				  "2024-10-15T12:00:01.000Z,x,2,3\n"
				  "2024-10-15T12:00:01.000Z,1,2\n"
				  "2024-10-15T11:59:59.500Z,1,2,3\n"
				  "2024-10-15T12:00:02.000Z,-4,2,3\n"
				  "2024-10-15T12:00:02.000Z,1,99999999999,3\n"
				  "bad,1,2,3\n"
				  "2024-10-15T12:00:03.000Z,4,5,6\n",
				  1, &rep, &err),
			 0);
	assert_int_equal(ts.n, 2);
	assert_int_equal(rep.rows, 2);
	assert_int_equal(rep.bad_total, 6);
	assert_int_equal(rep.bad[TRACE_BAD_NOT_NUMBER], 1);
	assert_int_equal(rep.bad[TRACE_BAD_FIELDS], 1);
	assert_int_equal(rep.bad[TRACE_BAD_ORDER], 1);
	assert_int_equal(rep.bad[TRACE_BAD_NEGATIVE], 1);
	assert_int_equal(rep.bad[TRACE_BAD_OVERFLOW], 1);
	assert_int_equal(rep.bad[TRACE_BAD_TIMESTAMP], 1);
	assert_int_equal(rep.n_examples, 5);
	assert_string_equal(rep.examples[0], "t.csv:3: NumImages: not a number: 'x'");
	assert_int_equal(ts.images[1], 4);
	assert_true(ts.t[1] == 3.0);
	trace_set_release(&ts);
}

/* gzip of text via zlib, into a malloc'd buffer */
static unsigned char *gzip_text(const char *text, size_t *out_len)
{
	z_stream zs;
	size_t cap = strlen(text) + 1024;
	unsigned char *out = malloc(cap);
	memset(&zs, 0, sizeof(zs));
	assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
	zs.next_in = (unsigned char *)text;
	zs.avail_in = (unsigned)strlen(text);
	zs.next_out = out;
	zs.avail_out = (unsigned)cap;
	assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
	*out_len = zs.total_out;
	deflateEnd(&zs);
	return out;
}

static char *big_trace(int rows)
{
	size_t cap = (size_t)rows * 48 + 128, len = 0;
	char *s = malloc(cap);
	len += (size_t)sprintf(s, "%s", LMM_HDR);
	for (int i = 0; i < rows; i++)
		len += (size_t)sprintf(s + len, "2024-10-15T%02d:%02d:%02d.%03dZ,%d,%d,%d\n",
				       12 + i / 360000, (i / 6000) % 60, (i / 100) % 60,
				       (i % 100) * 10, i % 3, 100 + i % 1000, i % 77);
	return s;
}

static void test_gzip(void **state)
{
	struct trace_set ts;
	struct ms_error err;
	struct trace_load_opts o = { 0 };
	size_t zlen;
	char *text = big_trace(200000); /* several line-buffer refills */
	unsigned char *z = gzip_text(text, &zlen);
	(void)state;

	trace_set_init(&ts);
	assert_int_equal(trace_set_load_mem(&ts, z, zlen, "t.csv.gz", &o, NULL, &err), 0);
	assert_int_equal(ts.n, 200000);
	assert_int_equal(ts.ctx[199999], 100 + 199999 % 1000);
	assert_int_equal(ts.images[12345], 12345 % 3);
	assert_true(ts.t[199999] > 1999.98 && ts.t[199999] < 1999.999);
	trace_set_release(&ts);

	/* truncated: every cut point must give the truncation error, never a crash */
	for (size_t cut = 1; cut < zlen; cut += zlen / 7) {
		trace_set_init(&ts);
		ms_error_clear(&err);
		int rc = trace_set_load_mem(&ts, z, cut, "t.csv.gz", &o, NULL, &err);
		assert_int_equal(rc, -MS_EPARSE);
		assert_non_null(strstr(err.msg, cut < 2 ? "missing header" : "truncated gzip"));
		trace_set_release(&ts);
	}
	/* trailing bytes that are no gzip member, and a broken CRC */
	{
		unsigned char *zz = malloc(zlen + 8);
		memcpy(zz, z, zlen);
		memcpy(zz + zlen, "junkjunk", 8);
		trace_set_init(&ts);
		assert_int_equal(trace_set_load_mem(&ts, zz, zlen + 8, "t.csv.gz", &o, NULL, &err),
				 -MS_EPARSE);
		assert_non_null(strstr(err.msg, "trailing garbage after gzip data"));
		trace_set_release(&ts);
		memcpy(zz, z, zlen);
		zz[zlen - 6] ^= 0xff; /* the CRC32 is in the last 8 bytes */
		trace_set_init(&ts);
		assert_int_equal(trace_set_load_mem(&ts, zz, zlen, "t.csv.gz", &o, NULL, &err),
				 -MS_EPARSE);
		assert_non_null(strstr(err.msg, "gzip CRC or length mismatch"));
		trace_set_release(&ts);
		free(zz);
	}
	/* corrupt: flip bytes in the deflate body */
	z[zlen / 2] ^= 0xff;
	z[zlen / 2 + 1] ^= 0x55;
	trace_set_init(&ts);
	assert_int_not_equal(trace_set_load_mem(&ts, z, zlen, "t.csv.gz", &o, NULL, &err), 0);
	trace_set_release(&ts);
	free(z);
	free(text);
}

static void test_gzip_members(void **state)
{
	struct trace_set ts;
	struct ms_error err;
	size_t l1, l2;
	unsigned char *a = gzip_text("TIMESTAMP,NumImages,ContextTokens,GeneratedTokens\n"
				     "2024-10-15T12:00:00.000Z,1,2,3\n", &l1);
	unsigned char *b = gzip_text("2024-10-15T12:00:01.000Z,4,5,6\n", &l2);
	unsigned char *both = malloc(l1 + l2);
	(void)state;
	memcpy(both, a, l1);
	memcpy(both + l1, b, l2);
	trace_set_init(&ts);
	assert_int_equal(trace_set_load_mem(&ts, both, l1 + l2, "cat.gz", NULL, NULL, &err), 0);
	assert_int_equal(ts.n, 2);
	assert_int_equal(ts.gen[1], 6);
	trace_set_release(&ts);
	free(a);
	free(b);
	free(both);
}

static void test_line_too_long(void **state)
{
	struct trace_set ts;
	struct ms_error err;
	size_t n = (1u << 20) + 100;
	char *text = malloc(n + 200);
	(void)state;
	strcpy(text, LMM_HDR);
	memset(text + strlen(LMM_HDR), '7', n);
	strcpy(text + strlen(LMM_HDR) + n, "\n");
	assert_int_equal(load_str(&ts, text, 1, NULL, &err), -MS_EPARSE);
	assert_string_equal(err.msg, "t.csv:2: line longer than 1048576 bytes");
	trace_set_release(&ts);
	free(text);
}

static void test_file_errors(void **state)
{
	struct trace_set ts;
	struct ms_error err;
	(void)state;
	trace_set_init(&ts);
	assert_int_equal(trace_set_load(&ts, "/nonexistent/x.csv", NULL, NULL, &err), -MS_EIO);
	assert_non_null(strstr(err.msg, "/nonexistent/x.csv: cannot open"));
	assert_int_equal(trace_set_load(&ts, "/", NULL, NULL, &err), -MS_EIO);
	trace_set_release(&ts);
}

/* Real files (tests/data): row counts equal the file's lines, values spot-checked. */
static void test_real_files(void **state)
{
	const char *shared = getenv("MS_TESTDATA");
	char path[1024];
	struct trace_set ts;
	struct ms_error err;
	(void)state;
	assert_non_null(shared);
	snprintf(path, sizeof(path), "%s/data/azure-lmm-2025-windows/window-2024-10-21T1216.csv",
		 shared);
	trace_set_init(&ts);
	if (trace_set_load(&ts, path, NULL, NULL, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(ts.n, 1055);
	assert_int_equal(ts.images[0], 529);
	assert_int_equal(ts.ctx[0], 35900);
	trace_set_release(&ts);

	snprintf(path, sizeof(path), "%s/data/azure-llm-2023/AzureLLMInferenceTrace_conv.csv",
		 shared);
	trace_set_init(&ts);
	assert_int_equal(trace_set_load(&ts, path, NULL, NULL, &err), 0);
	assert_int_equal(ts.n, 19366);
	assert_int_equal(ts.ctx[0], 374);
	assert_int_equal(ts.format, TRACE_FMT_LLM2023);
	trace_set_release(&ts);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lmm_format),
		cmocka_unit_test(test_llm2023_format),
		cmocka_unit_test(test_time_cache),
		cmocka_unit_test(test_columns_by_name),
		cmocka_unit_test(test_crlf_bom_no_final_newline),
		cmocka_unit_test(test_bad_rows_stop),
		cmocka_unit_test(test_empty_and_missing_header),
		cmocka_unit_test(test_blank_lines),
		cmocka_unit_test(test_skip_bad_counts),
		cmocka_unit_test(test_gzip),
		cmocka_unit_test(test_gzip_members),
		cmocka_unit_test(test_line_too_long),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_real_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
