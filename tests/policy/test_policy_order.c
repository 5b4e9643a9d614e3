/*
 * policy: the SLO-driven queue order. Keys put short requests (text-only, few
 * images) ahead of long ones; FCFS keys are the join time; and on a single
 * server fed an overload of short requests a long one is served within the
 * bound the ageing cap gives, while without the cap it waits for the stream.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy/policy.h"

static void init_pol(struct policy *p, enum policy_order o, double age, double token_s)
{
	struct policy_conf c;
	struct ms_error err = { 0 };

	memset(&c, 0, sizeof(c));
	c.n_pools = 1;
	c.pool[0].stage = POLICY_STAGE_MONO;
	c.order = o;
	c.order_age_s = age;
	c.order_token_s = token_s;
	assert_int_equal(policy_init(p, &c, &err), 0);
}

static struct policy_ticket ticket(uint32_t images, uint64_t prompt, double t, double target)
{
	struct policy_req q;
	struct policy_ticket tk;

	memset(&q, 0, sizeof(q));
	q.modality = images ? POLICY_IMAGE : POLICY_TEXT;
	q.images = images;
	q.tokens_per_image = 1000;
	q.image_tokens = (uint64_t)images * 1000;
	q.prompt_tokens = prompt;
	q.arrival = t;
	q.deadline = target > 0 ? t + target : 0;
	policy_ticket_init(&tk, &q);
	return tk;
}

static void test_slo_keys(void **state)
{
	struct policy p, f;
	struct policy_ticket text, img1, img8, late, none;
	double kt, k1, k8;

	(void)state;
	init_pol(&p, POLICY_ORDER_SLO, 10, 1e-4);
	init_pol(&f, POLICY_ORDER_FCFS, 0, 0);
	text = ticket(0, 1000, 5, 0.3);
	img1 = ticket(1, 1000, 5, 2.7);
	img8 = ticket(8, 1000, 5, 2.7);
	/* FCFS: the join time, whatever the request */
	assert_true(policy_queue_key(&f, &img8, 7.5) == 7.5);
	assert_true(policy_queue_key(&f, &text, 7.5) == 7.5);
	/* SLO: text (tight deadline) < one image < eight images (same deadline, more work) */
	kt = policy_queue_key(&p, &text, 5);
	k1 = policy_queue_key(&p, &img1, 5);
	k8 = policy_queue_key(&p, &img8, 5);
	assert_true(fabs(kt - (5 + 0.3 - 1000 * 1e-4)) < 1e-9);
	assert_true(fabs(k1 - (5 + 2.7 - 2000 * 1e-4)) < 1e-9);
	assert_true(fabs(k8 - (5 + 2.7 - 9000 * 1e-4)) < 1e-9);
	assert_true(kt < k8 && k8 < k1);
	/* a text arriving 2 s after an image request still goes ahead of it */
	text = ticket(0, 1000, 7, 0.3);
	assert_true(policy_queue_key(&p, &text, 7) < k1);
	/* a lost deadline, or none, waits the full ageing cap, and never more */
	late = ticket(16, 1000, 5, 0.5);
	none = ticket(2, 1000, 5, 0);
	assert_true(policy_queue_key(&p, &late, 5) == 15);
	assert_true(policy_queue_key(&p, &none, 5) == 15);
	img1 = ticket(1, 10, 5, 100);
	assert_true(policy_queue_key(&p, &img1, 5) == 15);
	/* preempted requests go to the front under both orders */
	assert_true(policy_requeue_key(&p, &text, 9) < 0);
	policy_release(&p);
	policy_release(&f);
}

/*
 * One server, one request at a time, lowest (key, sequence) first. At t = 0 a
 * long request (16 images, its deadline already out of reach) joins; short
 * text requests join every gap seconds until t_end, more than the server can
 * take (each takes s_short). Returns when the long one starts.
 */
#define MAXQ 4096

static double long_start(double age, double gap, double s_short, double t_end)
{
	struct policy p;
	struct policy_ticket tk[MAXQ];
	double key[MAXQ], t = 0, next_arr = 0, free_at = 0, start = -1;
	uint64_t seq[MAXQ], nseq = 0;
	int is_long[MAXQ], n = 0, i, best;

	init_pol(&p, POLICY_ORDER_SLO, age, 1e-4);
	tk[0] = ticket(16, 1000, 0, 0.5); /* est 1.7 s: hopeless */
	key[0] = policy_queue_key(&p, &tk[0], 0);
	seq[0] = nseq++;
	is_long[0] = 1;
	n = 1;
	while (start < 0 && t < 10 * t_end + 1000) {
		/* next event: an arrival (while the stream lasts) or the server freeing up */
		if (next_arr <= t_end && next_arr <= free_at) {
			t = next_arr;
			assert_true(n < MAXQ);
			tk[n] = ticket(0, 200, t, 0.3);
			key[n] = policy_queue_key(&p, &tk[n], t);
			seq[n] = nseq++;
			is_long[n] = 0;
			n++;
			next_arr += gap;
			continue;
		}
		t = free_at > t ? free_at : t;
		if (n == 0) {
			free_at = next_arr;
			continue;
		}
		for (best = 0, i = 1; i < n; i++)
			if (key[i] < key[best] || (key[i] == key[best] && seq[i] < seq[best]))
				best = i;
		if (is_long[best])
			start = t;
		free_at = t + s_short;
		tk[best] = tk[n - 1];
		key[best] = key[n - 1];
		seq[best] = seq[n - 1];
		is_long[best] = is_long[n - 1];
		n--;
	}
	policy_release(&p);
	return start;
}

static void test_slo_no_starvation(void **state)
{
	const double gap = 0.05, s_short = 0.08, t_end = 200, age = 5;
	double bound, s_capped, s_uncapped;

	(void)state;
	/*
	 * The long request's key is at most age: only requests that joined before
	 * t = age go ahead of it, at most age / gap + 1 of them, each s_short.
	 */
	bound = (age / gap + 1) * s_short;
	s_capped = long_start(age, gap, s_short, t_end);
	assert_true(s_capped >= 0);
	assert_true(s_capped <= bound + 1e-9);
	/* the short ones do go first while the long one ages (it is not served at once) */
	assert_true(s_capped > age);
	/* with a cap beyond the stream, the same stream holds it back until the stream ends */
	s_uncapped = long_start(1e6, gap, s_short, t_end);
	assert_true(s_uncapped > t_end);
}

static void test_order_parse(void **state)
{
	enum policy_order o = POLICY_ORDER_FCFS;
	struct ms_error err = { 0 };

	(void)state;
	assert_int_equal(policy_order_parse("slo", &o, &err), 0);
	assert_int_equal(o, POLICY_ORDER_SLO);
	assert_string_equal(policy_order_name(o), "slo");
	assert_int_equal(policy_order_parse("fcfs", &o, &err), 0);
	assert_int_equal(o, POLICY_ORDER_FCFS);
	assert_true(policy_order_parse("edf", &o, &err) < 0);
	assert_non_null(strstr(err.msg, "edf"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slo_keys),
		cmocka_unit_test(test_slo_no_starvation),
		cmocka_unit_test(test_order_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
