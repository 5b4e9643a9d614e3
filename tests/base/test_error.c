/* ms_error: codes, names and quoting input into messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "base/ms_error.h"

static void test_set_and_names(void **state)
{
	struct ms_error err;
	(void)state;
	ms_error_clear(&err);
	assert_int_equal(err.code, 0);
	assert_int_equal(ms_error_set(&err, MS_EPARSE, "f.csv:%d: %s", 3, "x"), -MS_EPARSE);
	assert_int_equal(err.code, MS_EPARSE);
	assert_string_equal(err.msg, "f.csv:3: x");
	assert_string_equal(ms_errno_name(-MS_EIO), "EIO");
	assert_string_equal(ms_errno_msg(MS_ENOMEM), "out of memory");
	assert_string_equal(ms_errno_name(999), "EUNKNOWN");
	assert_int_equal(ms_error_set(NULL, MS_EIO, "no sink"), -MS_EIO);
}

static void test_quote(void **state)
{
	char b[8];
	(void)state;
	assert_string_equal(ms_error_quote(b, sizeof(b), "abc", 3), "abc");
	/* not NUL-terminated input: only len bytes are read */
	assert_string_equal(ms_error_quote(b, sizeof(b), "abcdef", 2), "ab");
	assert_string_equal(ms_error_quote(b, sizeof(b), "a\xff\n\tb", 5), "a???b");
	/* cut to size - 1 with "..." at the end */
	assert_string_equal(ms_error_quote(b, sizeof(b), "0123456789", 10), "0123...");
	assert_string_equal(ms_error_quote(b, sizeof(b), "0123456", 7), "0123456");
	assert_string_equal(ms_error_quote(b, sizeof(b), "", 0), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_and_names),
		cmocka_unit_test(test_quote),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
