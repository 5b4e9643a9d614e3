/* ms_conf: lines, comments, trimming, key/value split, numbers and their errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/ms_conf.h"

static char tmpdir[512];

static const char *write_tmp(const char *name, const char *data, size_t len)
{
	static char path[1024];
	FILE *f;
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
	return path;
}

/* Reads text and returns the lines' numbers and texts joined as "no:text|". */
static int lines_of(const char *text, char *out, size_t n, struct ms_error *err)
{
	const char *path = write_tmp("lines.conf", text, strlen(text));
	struct ms_conf c;
	struct ms_conf_line l;
	int rc;

	out[0] = '\0';
	rc = ms_conf_read(&c, path, err);
	if (rc)
		return rc;
	while ((rc = ms_conf_line_next(&c, &l, err)) > 0) {
		size_t used = strlen(out);
		snprintf(out + used, n - used, "%d:%s|", l.no, l.text);
	}
	ms_conf_release(&c);
	return rc;
}

static void test_lines(void **state)
{
	char out[1024];
	struct ms_error err;
	(void)state;

	assert_int_equal(lines_of("a = 1\n\n  # only a comment\n\tb=2 # tail\r\n  c  \n", out,
				  sizeof(out), &err), 0);
	assert_string_equal(out, "1:a = 1|4:b=2|5:c|");
	/* last line without a newline, '#' inside a value still starts a comment */
	assert_int_equal(lines_of("x = a#b\ny = 3", out, sizeof(out), &err), 0);
	assert_string_equal(out, "1:x = a|2:y = 3|");
	assert_int_equal(lines_of("", out, sizeof(out), &err), 0);
	assert_string_equal(out, "");
	assert_int_equal(lines_of("\n\n#\n", out, sizeof(out), &err), 0);
	assert_string_equal(out, "");
}

static void test_line_count(void **state)
{
	const char *path = write_tmp("count.conf", "a=1\n\n#c\n", 8);
	struct ms_conf c;
	struct ms_conf_line l;
	struct ms_error err;
	(void)state;

	assert_int_equal(ms_conf_read(&c, path, &err), 0);
	assert_int_equal(ms_conf_line_next(&c, &l, &err), 1);
	assert_int_equal(c.line, 1);
	assert_int_equal(ms_conf_line_next(&c, &l, &err), 0);
	assert_int_equal(c.line, 3); /* blank and comment lines still count */
	assert_int_equal(ms_conf_line_next(&c, &l, &err), 0);
	ms_conf_release(&c);
}

static void test_split(void **state)
{
	char text[64];
	struct ms_conf_line l = { 1, text, NULL, NULL };
	(void)state;

	strcpy(text, "key  =  a = b");
	assert_int_equal(ms_conf_line_split(&l), 0);
	assert_string_equal(l.key, "key");
	assert_string_equal(l.val, "a = b");
	strcpy(text, "= 5");
	l.text = text;
	assert_int_equal(ms_conf_line_split(&l), 0);
	assert_string_equal(l.key, "");
	assert_string_equal(l.val, "5");
	strcpy(text, "no equals here");
	l.text = text;
	l.key = l.val = NULL;
	assert_int_equal(ms_conf_line_split(&l), -1);
	assert_string_equal(l.text, "no equals here");
	assert_null(l.key);
}

static void test_trim_and_numbers(void **state)
{
	char s[32];
	double v[3];
	(void)state;

	strcpy(s, " \t x y \r\n");
	assert_string_equal(ms_conf_trim(s), "x y");
	strcpy(s, "   ");
	assert_string_equal(ms_conf_trim(s), "");

	assert_int_equal(ms_conf_numbers_parse(" 1 2.5\t-3e2 ", v, 3), 3);
	assert_true(v[0] == 1 && v[1] == 2.5 && v[2] == -300);
	assert_int_equal(ms_conf_numbers_parse("", v, 3), 0);
	assert_int_equal(ms_conf_numbers_parse("1 2 3", v, 2), -1);
	assert_int_equal(ms_conf_numbers_parse("1,2", v, 3), -1);
	assert_int_equal(ms_conf_numbers_parse("0.5x", v, 1), -1);
	assert_int_equal(ms_conf_numbers_parse("inf", v, 1), -1);
	assert_int_equal(ms_conf_numbers_parse("nan", v, 1), -1);
	assert_int_equal(ms_conf_numbers_parse("1e999", v, 1), -1);
}

static void test_value_getters(void **state)
{
	struct ms_conf c = { .path = "f.conf" };
	char key[] = "k", val[32];
	struct ms_conf_line l = { 7, key, key, val };
	struct ms_error err;
	long iv = -1;
	double dv = -1;
	(void)state;

	strcpy(val, "42");
	assert_int_equal(ms_conf_long_get(&c, &l, 1, 100, &iv, &err), 0);
	assert_int_equal(iv, 42);
	strcpy(val, "4x2");
	assert_int_equal(ms_conf_long_get(&c, &l, 1, 100, &iv, &err), -MS_EPARSE);
	assert_string_equal(err.msg, "f.conf:7: k: not an integer: '4x2'");
	assert_int_equal(iv, 42); /* untouched on error */
	strcpy(val, "");
	assert_int_equal(ms_conf_long_get(&c, &l, 1, 100, &iv, &err), -MS_EPARSE);
	strcpy(val, "99999999999999999999999");
	assert_int_equal(ms_conf_long_get(&c, &l, 1, 100, &iv, &err), -MS_EPARSE);
	strcpy(val, "101");
	assert_int_equal(ms_conf_long_get(&c, &l, 1, 100, &iv, &err), -MS_ERANGE);
	assert_string_equal(err.msg, "f.conf:7: k: out of range [1, 100]: '101'");
	strcpy(val, "2.5");
	assert_int_equal(ms_conf_long_get(&c, &l, 1, 100, &iv, &err), -MS_EPARSE);

	strcpy(val, "2.5e3");
	assert_int_equal(ms_conf_double_get(&c, &l, 0, 1e4, &dv, &err), 0);
	assert_true(dv == 2500);
	strcpy(val, "lots");
	assert_int_equal(ms_conf_double_get(&c, &l, 0, 1e4, &dv, &err), -MS_EPARSE);
	assert_string_equal(err.msg, "f.conf:7: k: not a number: 'lots'");
	assert_true(dv == 2500);
	strcpy(val, "1 2");
	assert_int_equal(ms_conf_double_get(&c, &l, 0, 1e4, &dv, &err), -MS_EPARSE);
	strcpy(val, "nan");
	assert_int_equal(ms_conf_double_get(&c, &l, 0, 1e4, &dv, &err), -MS_EPARSE);
	strcpy(val, "2e12");
	assert_int_equal(ms_conf_double_get(&c, &l, 1e6, 1e11, &dv, &err), -MS_ERANGE);
	assert_string_equal(err.msg, "f.conf:7: k: out of range [1e+06, 1e+11]: '2e12'");
}

static void test_bad_files(void **state)
{
	char big[MS_CONF_LINE_MAX + 1], lng[8 + MS_CONF_LINE_MAX + 2];
	struct ms_conf c;
	struct ms_conf_line l;
	struct ms_error err;
	char path[1024];
	(void)state;

	snprintf(path, sizeof(path), "%s/does-not-exist.conf", tmpdir);
	assert_int_equal(ms_conf_read(&c, path, &err), -MS_ENOTFOUND);
	assert_non_null(strstr(err.msg, "does-not-exist.conf: cannot open: "));
	assert_null(c.buf);
	/* a directory opens but cannot be read */
	assert_int_equal(ms_conf_read(&c, tmpdir, &err), -MS_EIO);
	assert_null(c.buf);

	/* exactly MS_CONF_LINE_MAX bytes is fine, one more is not (the old fgets limit) */
	memset(big, 'x', sizeof(big));
	big[0] = '#';
	big[MS_CONF_LINE_MAX] = '\n';
	assert_int_equal(ms_conf_read(&c, write_tmp("max.conf", big, MS_CONF_LINE_MAX + 1), &err), 0);
	assert_int_equal(ms_conf_line_next(&c, &l, &err), 0);
	ms_conf_release(&c);
	memcpy(lng, "#\na = 1\n", 8);
	memset(lng + 8, 'x', MS_CONF_LINE_MAX + 1);
	lng[8 + MS_CONF_LINE_MAX + 1] = '\n';
	assert_int_equal(ms_conf_read(&c, write_tmp("long.conf", lng, sizeof(lng)), &err), 0);
	assert_int_equal(ms_conf_line_next(&c, &l, &err), 1);
	assert_int_equal(l.no, 2);
	assert_int_equal(ms_conf_line_next(&c, &l, &err), -MS_EPARSE);
	assert_non_null(strstr(err.msg, "long.conf:3: line longer than 1022 bytes"));
	ms_conf_release(&c);

	/* a NUL byte must not hide the rest of its line */
	assert_int_equal(ms_conf_read(&c, write_tmp("nul.conf", "a = 1\nb = 2\0junk\n", 17), &err), 0);
	assert_int_equal(ms_conf_line_next(&c, &l, &err), 1);
	assert_int_equal(ms_conf_line_next(&c, &l, &err), -MS_EPARSE);
	assert_non_null(strstr(err.msg, "nul.conf:2: NUL byte in line"));
	ms_conf_release(&c);
}

/* Files bigger than the first 4 KiB buffer are read whole, line numbers intact. */
static void test_big_file(void **state)
{
	size_t n = 5000, i, len = 0;
	char *text = malloc(n * 16), path[1024];
	struct ms_conf c;
	struct ms_conf_line l;
	struct ms_error err;
	int got = 0;
	(void)state;

	assert_non_null(text);
	for (i = 0; i < n; i++)
		len += (size_t)sprintf(text + len, "k%zu = %zu\n", i, i);
	snprintf(path, sizeof(path), "%s", write_tmp("big.conf", text, len));
	assert_int_equal(ms_conf_read(&c, path, &err), 0);
	assert_int_equal(c.len, len);
	while (ms_conf_line_next(&c, &l, &err) > 0) {
		char want[32];
		long v;
		assert_int_equal(ms_conf_line_split(&l), 0);
		snprintf(want, sizeof(want), "k%d", got);
		assert_string_equal(l.key, want);
		assert_int_equal(ms_conf_long_get(&c, &l, 0, 1e9, &v, &err), 0);
		assert_int_equal(v, got);
		assert_int_equal(l.no, got + 1);
		got++;
	}
	assert_int_equal(got, (int)n);
	ms_conf_release(&c);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_line_count),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_trim_and_numbers),
		cmocka_unit_test(test_value_getters),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_big_file),
	};
	const char *t = getenv("MS_TMP");

	snprintf(tmpdir, sizeof(tmpdir), "%s/conf_test.%d", t && *t ? t : "/tmp", (int)getpid());
	mkdir(tmpdir, 0755);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
