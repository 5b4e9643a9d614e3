/*
 * base64: RFC 4648 section 10 test vectors both ways, and bad input refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "base/ms_base64.h"

static void test_b64(void **state)
{
	static const char *plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *enc[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
	struct ms_error err;
	unsigned char *out;
	size_t n, i;
	char buf[32];

	(void)state;
	for (i = 0; i < 7; i++) {
		ms_base64_encode((const unsigned char *)plain[i], strlen(plain[i]), buf);
		assert_string_equal(buf, enc[i]); /* RFC 4648 section 10 vectors */
		assert_int_equal(ms_base64_decode(enc[i], strlen(enc[i]), &out, &n, &err), 0);
		assert_int_equal(n, strlen(plain[i]));
		assert_memory_equal(out, plain[i], n);
		free(out);
	}
	assert_int_equal(ms_base64_decode("Zm9v!A", 6, &out, &n, &err), -MS_EPARSE);
	assert_non_null(strstr(err.msg, "offset 4"));
	assert_int_equal(ms_base64_decode("Z", 1, &out, &n, &err), -MS_EPARSE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
