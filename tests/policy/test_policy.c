/* policy: least-work picks, round-robin, seeded random, image-level split. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy/policy.h"

/* Reference: the instance with the least pending work, lowest index on ties, by a scan. */
static uint32_t scan_min(const struct policy_pool *p)
{
	uint32_t i, best = 0;
	for (i = 1; i < p->n; i++)
		if (p->pending[i] < p->pending[best])
			best = i;
	return best;
}

static void test_least_matches_scan(void **state)
{
	struct policy_pool p;
	struct ms_error err = { 0 };
	uint64_t shadow[37] = { 0 };
	uint64_t x = 12345;
	int step;

	(void)state;
	assert_int_equal(policy_pool_init(&p, 37, POLICY_ROUTE_LEAST, 1, &err), 0);
	for (step = 0; step < 100000; step++) {
		uint32_t k;
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		if ((x >> 60) < 10) {
			k = policy_pool_pick(&p);
			assert_int_equal(k, scan_min(&p));
			policy_pool_add(&p, k, (int64_t)((x >> 20) % 5000));
			shadow[k] += (x >> 20) % 5000;
		} else {
			k = (uint32_t)((x >> 33) % 37);
			if (shadow[k]) {
				uint64_t d = (x >> 8) % (shadow[k] + 1);
				policy_pool_add(&p, k, -(int64_t)d);
				shadow[k] -= d;
			}
		}
		assert_int_equal(policy_pool_pending(&p, k), shadow[k]);
	}
	policy_pool_release(&p);
}

static void test_rr_and_random(void **state)
{
	struct policy_pool p, q;
	struct ms_error err = { 0 };
	uint32_t i, hits[5] = { 0 }, same = 1;

	(void)state;
	assert_int_equal(policy_pool_init(&p, 3, POLICY_ROUTE_RR, 1, &err), 0);
	policy_pool_add(&p, 0, 1000); /* load does not matter to round-robin */
	for (i = 0; i < 9; i++)
		assert_int_equal(policy_pool_pick(&p), i % 3);
	policy_pool_release(&p);

	assert_int_equal(policy_pool_init(&p, 5, POLICY_ROUTE_RANDOM, 99, &err), 0);
	assert_int_equal(policy_pool_init(&q, 5, POLICY_ROUTE_RANDOM, 99, &err), 0);
	for (i = 0; i < 50000; i++) {
		uint32_t a = policy_pool_pick(&p), b = policy_pool_pick(&q);
		assert_true(a < 5);
		same &= a == b;
		hits[a]++;
	}
	assert_true(same); /* same seed, same picks */
	for (i = 0; i < 5; i++)
		assert_in_range(hits[i], 9000, 11000);
	policy_pool_release(&p);
	policy_pool_release(&q);
}

static void test_split_spreads_images(void **state)
{
	struct policy_pool p;
	struct ms_error err = { 0 };
	uint32_t out[16], cnt[4] = { 0 }, i;

	(void)state;
	assert_int_equal(policy_pool_init(&p, 4, POLICY_ROUTE_LEAST, 1, &err), 0);
	policy_pool_add(&p, 2, 5 * 1601); /* encoder 2 already has 5 images queued */
	policy_pool_split(&p, 11, 1601, out);
	for (i = 0; i < 11; i++)
		cnt[out[i]]++;
	/* the busy encoder gets none; the others fill up in index order: 4, 4, 3 */
	assert_int_equal(cnt[0], 4);
	assert_int_equal(cnt[1], 4);
	assert_int_equal(cnt[2], 0);
	assert_int_equal(cnt[3], 3);
	assert_int_equal(out[0], 0);
	assert_int_equal(out[1], 1);
	assert_int_equal(out[2], 3);
	assert_int_equal(policy_pool_pending(&p, 2), 5u * 1601);
	assert_int_equal(policy_pool_pending(&p, 3), 3u * 1601);
	policy_pool_release(&p);
}

static void test_parse(void **state)
{
	enum policy_route r;
	struct ms_error err = { 0 };
	struct policy_pool p;

	(void)state;
	assert_int_equal(policy_route_parse("rr", &r, &err), 0);
	assert_int_equal(r, POLICY_ROUTE_RR);
	assert_string_equal(policy_route_name(r), "rr");
	assert_true(policy_route_parse("fastest", &r, &err) < 0);
	assert_non_null(strstr(err.msg, "fastest"));
	assert_true(policy_pool_init(&p, 0, POLICY_ROUTE_RR, 1, &err) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_least_matches_scan),
		cmocka_unit_test(test_rr_and_random),
		cmocka_unit_test(test_split_spreads_images),
		cmocka_unit_test(test_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
