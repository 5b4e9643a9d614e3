/*
 * serve_limit and serve_keys: token buckets driven with explicit times (no clock, no
 * sockets), the per-key admission of requests and tokens, and the keys file's limit
 * syntax, its errors and a reload that keeps the buckets of unchanged keys.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "serve/serve_int.h"

static void test_bucket(void **state)
{
	struct serve__bucket b;
	int i;

	(void)state;
	serve__bucket_init(&b, 2, 3, 100); /* 2 per second, bursts of 3 */
	for (i = 0; i < 3; i++) {
		assert_true(serve__bucket_wait(&b, 100, 1) == 0);
		serve__bucket_take(&b, 100, 1);
	}
	assert_true(fabs(serve__bucket_wait(&b, 100, 1) - 0.5) < 1e-9);
	assert_true(fabs(serve__bucket_wait(&b, 100.25, 1) - 0.25) < 1e-9);
	assert_true(serve__bucket_wait(&b, 100.5, 1) == 0);
	/* never above the cap however long it waits */
	assert_true(serve__bucket_wait(&b, 1000, 3) == 0);
	assert_true(isinf(serve__bucket_wait(&b, 1000, 3.5)));
	/* time going backwards (a clock step) refills nothing and breaks nothing */
	serve__bucket_take(&b, 1000, 3);
	assert_true(serve__bucket_wait(&b, 999, 1) > 0);
	/* rate 0: no limit */
	serve__bucket_init(&b, 0, 0, 0);
	assert_true(serve__bucket_wait(&b, 0, 1e9) == 0);
}

static void test_admit(void **state)
{
	struct serve__key k = { .name = "alice" };
	char msg[300];
	double w;

	(void)state;
	serve__bucket_init(&k.reqs, 1, 2, 0);       /* rps=1 burst=2 */
	serve__bucket_init(&k.toks, 100.0 / 60, 100, 0); /* tpm=100 */
	assert_int_equal(serve__limit_admit(&k, 0, 40, &w, msg, sizeof(msg)), 0);
	assert_int_equal(serve__limit_admit(&k, 0, 40, &w, msg, sizeof(msg)), 0);
	assert_int_equal(serve__limit_admit(&k, 0, 1, &w, msg, sizeof(msg)), SERVE__LIMIT_REQUESTS);
	assert_true(fabs(w - 1) < 1e-9);
	assert_non_null(strstr(msg, "key alice: 1 per second, burst 2"));
	/* at t=1 a request token is back, but 20 tokens + 100/60 do not hold 40 */
	assert_int_equal(serve__limit_admit(&k, 1, 40, &w, msg, sizeof(msg)), SERVE__LIMIT_TOKENS);
	assert_true(fabs(w - (40 - (20 + 100.0 / 60)) / (100.0 / 60)) < 1e-9);
	assert_non_null(strstr(msg, "Rate limit reached for tokens on key alice"));
	/* the refused request took nothing: its request token is still there */
	assert_int_equal(serve__limit_admit(&k, 1, 10, &w, msg, sizeof(msg)), 0);
	/* above the whole bucket: never, and said so */
	assert_int_equal(serve__limit_admit(&k, 100, 101, &w, msg, sizeof(msg)), SERVE__LIMIT_TOKENS);
	assert_true(isinf(w));
	assert_non_null(strstr(msg, "Request too large for key alice: 101 tokens"));
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void expect_error(struct serve *s, const char *path, const char *text, const char *want)
{
	struct ms_error err;

	write_file(path, text);
	assert_true(serve_keys_load(s, path, &err) < 0);
	if (!strstr(err.msg, want))
		fail_msg("error '%s' lacks '%s'", err.msg, want);
}

static void test_keys_file(void **state)
{
	struct serve *s = calloc(1, sizeof(*s));
	struct ms_error err;
	char path[512];
	const char *tmp = getenv("MS_TMP") ? getenv("MS_TMP") : "/tmp";

	(void)state;
	assert_non_null(s);
	snprintf(path, sizeof(path), "%s/keys.%d", tmp, (int)getpid());
	write_file(path, "# two keys\nalice = key-alice-0001 rps=2 burst=5 tpm=6000\n"
		   "bob = key-bob-00000001\n");
	assert_int_equal(serve_keys_load(s, path, &err), 0);
	assert_int_equal(s->n_keys, 2);
	assert_string_equal(s->keys[0].name, "alice");
	assert_int_equal(s->keys[0].len, 14); /* the key alone, not its limits */
	assert_true(s->keys[0].reqs.rate == 2 && s->keys[0].reqs.cap == 5);
	assert_true(s->keys[0].toks.rate == 100 && s->keys[0].toks.cap == 6000);
	assert_true(s->keys[1].reqs.rate == 0 && s->keys[1].toks.rate == 0);
	assert_ptr_equal(serve__key_check(s, "Bearer key-alice-0001"), &s->keys[0]);
	assert_null(serve__key_check(s, "Bearer key-alice-0001 rps=2"));
	/* a reload keeps the buckets of a key whose limits did not change */
	s->keys[0].reqs.level = 1;
	s->keys[1].reqs.level = 0.5;
	write_file(path, "alice = key-alice-0002 rps=2 burst=5 tpm=6000\nbob = key-bob-00000001 rps=9\n");
	assert_int_equal(serve_keys_load(s, path, &err), 0);
	assert_true(s->keys[0].reqs.level <= 1.5); /* carried (plus what refilled since) */
	assert_true(s->keys[1].reqs.level == 9);   /* new limits: a fresh bucket */
	expect_error(s, path, "alice = key-alice-0001 rps=x\n", ":1: alice: rps: expected a number > 0, got 'x'");
	expect_error(s, path, "a = key-a-000001\nb = key-b-000001 qps=3\n", ":2: b: unknown limit 'qps'");
	expect_error(s, path, "a = key-a-000001 burst=3\n", ":1: a: burst= needs rps=");
	expect_error(s, path, "a = key-a-000001 rps=-1\n", "expected a number > 0");
	expect_error(s, path, "a = key-a-000001 tpm\n", ":1: a: expected rps=, burst= or tpm=");
	/* failed loads left the reloaded keys in force */
	assert_int_equal(s->n_keys, 2);
	assert_non_null(serve__key_check(s, "Bearer key-alice-0002"));
	unlink(path);
	free(s->keys);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket),
		cmocka_unit_test(test_admit),
		cmocka_unit_test(test_keys_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
