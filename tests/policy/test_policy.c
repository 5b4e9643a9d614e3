/*
 * policy: least-work picks against a scan (with members joining, draining and
 * failing), round-robin and seeded random over ready members, image-level
 * split, the charge rules of each stage, queue and victim keys, and a
 * gateway-like caller in wall-clock time (epoch seconds) with windowed
 * statistics, over-release clamping and instance failure. No simulator.
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

static void conf_pools(struct policy_conf *c, int n, const enum policy_stage *st,
		       enum policy_route r)
{
	int i;

	memset(c, 0, sizeof(*c));
	c->n_pools = n;
	for (i = 0; i < n; i++) {
		c->pool[i].stage = st[i];
		c->pool[i].route = r;
		c->pool[i].seed = 7 + (uint64_t)i;
	}
}

static struct policy_req text_req(uint64_t prompt, uint64_t out, double t)
{
	struct policy_req q;

	memset(&q, 0, sizeof(q));
	q.modality = POLICY_TEXT;
	q.text_tokens = q.prompt_tokens = prompt;
	q.output_tokens = out;
	q.arrival = t;
	return q;
}

/* Reference: the ready member of pool 0 with the least pending work, lowest id on ties. */
static uint32_t scan_min(const struct policy *p)
{
	uint32_t i, best = POLICY_NONE;

	for (i = 0; i < p->n_inst; i++) {
		if (policy_inst_state(p, i) != POLICY_INST_READY)
			continue;
		if (best == POLICY_NONE || policy_inst_pending(p, i) < policy_inst_pending(p, best))
			best = i;
	}
	return best;
}

#define NT 512

static void test_least_matches_scan(void **state)
{
	static const enum policy_stage st[] = { POLICY_STAGE_LLM };
	struct policy p;
	struct policy_conf c;
	struct ms_error err = { 0 };
	struct policy_ticket tk[NT];
	uint64_t shadow[256] = { 0 }, x = 12345;
	int live[NT] = { 0 }, step;
	uint32_t i, id;

	(void)state;
	conf_pools(&c, 1, st, POLICY_ROUTE_LEAST);
	assert_int_equal(policy_init(&p, &c, &err), 0);
	for (i = 0; i < 20; i++)
		assert_int_equal(policy_inst_add(&p, 0, 1, 0, &id, &err), 0);
	for (step = 0; step < 200000; step++) {
		uint32_t t, k = 0;
		double now = step * 0.01;
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		t = (uint32_t)((x >> 33) % NT);
		if ((x >> 60) < 8 && !live[t]) {
			struct policy_req q = text_req(1 + (x >> 20) % 3000, 1 + (x >> 40) % 500, now);
			uint32_t want = scan_min(&p);
			policy_ticket_init(&tk[t], &q);
			if (want == POLICY_NONE) {
				assert_int_equal(policy_route_llm(&p, &q, &tk[t], now, &k), -MS_ENOTFOUND);
				continue;
			}
			assert_int_equal(policy_route_llm(&p, &q, &tk[t], now, &k), 0);
			assert_int_equal(k, want);
			shadow[k] += q.prompt_tokens + q.output_tokens;
			live[t] = 1;
		} else if ((x >> 60) < 13 && live[t]) {
			k = tk[t].llm;
			if (!tk[t].first_done) {
				shadow[k] -= tk[t].pend_prefill;
				assert_int_equal(policy_first_token(&p, &tk[t], now), 0);
			} else {
				shadow[k] -= tk[t].pend_rest;
				assert_int_equal(policy_finished(&p, &tk[t], now, 0.1, 0.01), 0);
				live[t] = 0;
			}
		} else if ((x >> 60) == 13 && p.n_inst < 250) {
			/* membership changes: a new one starts, a starting one becomes ready */
			assert_int_equal(policy_inst_add(&p, 0, 0, now, &id, &err), 0);
		} else if ((x >> 60) == 14) {
			k = (uint32_t)((x >> 24) % p.n_inst);
			if (policy_inst_state(&p, k) == POLICY_INST_STARTING)
				assert_int_equal(policy_inst_ready(&p, k, now), 0);
			else if (policy_inst_state(&p, k) == POLICY_INST_READY &&
				 policy_pool_ready(&p, 0) > 3)
				assert_int_equal(policy_inst_drain(&p, k, now), 0);
		} else if ((x >> 60) == 15) {
			k = (uint32_t)((x >> 24) % p.n_inst);
			if (policy_inst_state(&p, k) == POLICY_INST_DRAINING) {
				if (shadow[k])
					assert_int_equal(policy_inst_remove(&p, k, now), -MS_EINVAL);
				else
					assert_int_equal(policy_inst_remove(&p, k, now), 0);
			}
		}
		if (k < p.n_inst)
			assert_int_equal(policy_inst_pending(&p, k), shadow[k]);
	}
	for (i = 0; i < p.n_inst; i++)
		assert_int_equal(policy_inst_pending(&p, i), shadow[i]);
	assert_int_equal(p.over_released, 0);
	policy_release(&p);
}

static void test_rr_and_random(void **state)
{
	static const enum policy_stage st[] = { POLICY_STAGE_LLM };
	struct policy p, q;
	struct policy_conf c;
	struct ms_error err = { 0 };
	struct policy_ticket tk;
	struct policy_req rq = text_req(1000, 10, 0);
	uint32_t i, id, k, a, b, hits[5] = { 0 }, same = 1;

	(void)state;
	conf_pools(&c, 1, st, POLICY_ROUTE_RR);
	assert_int_equal(policy_init(&p, &c, &err), 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(policy_inst_add(&p, 0, 1, 0, &id, &err), 0);
	for (i = 0; i < 8; i++) { /* load does not matter to round-robin */
		policy_ticket_init(&tk, &rq);
		assert_int_equal(policy_route_llm(&p, &rq, &tk, 0, &k), 0);
		assert_int_equal(k, i % 4);
	}
	/* a draining member is skipped, the others keep their turn */
	assert_int_equal(policy_inst_drain(&p, 1, 0), 0);
	for (i = 0; i < 6; i++) {
		policy_ticket_init(&tk, &rq);
		assert_int_equal(policy_route_llm(&p, &rq, &tk, 0, &k), 0);
		static const uint32_t turn[] = { 0, 2, 3 };
		assert_int_equal(k, turn[i % 3]);
	}
	policy_release(&p);

	conf_pools(&c, 1, st, POLICY_ROUTE_RANDOM);
	assert_int_equal(policy_init(&p, &c, &err), 0);
	assert_int_equal(policy_init(&q, &c, &err), 0);
	for (i = 0; i < 5; i++) {
		assert_int_equal(policy_inst_add(&p, 0, 1, 0, &id, &err), 0);
		assert_int_equal(policy_inst_add(&q, 0, 1, 0, &id, &err), 0);
	}
	for (i = 0; i < 50000; i++) {
		policy_ticket_init(&tk, &rq);
		assert_int_equal(policy_route_llm(&p, &rq, &tk, 0, &a), 0);
		policy_ticket_init(&tk, &rq);
		assert_int_equal(policy_route_llm(&q, &rq, &tk, 0, &b), 0);
		assert_true(a < 5);
		same &= a == b;
		hits[a]++;
	}
	assert_true(same); /* same seed, same picks */
	for (i = 0; i < 5; i++)
		assert_in_range(hits[i], 9000, 11000);
	policy_release(&p);
	policy_release(&q);
}

static void test_split_spreads_images(void **state)
{
	static const enum policy_stage st[] = { POLICY_STAGE_ENC, POLICY_STAGE_LLM };
	struct policy p;
	struct policy_conf c;
	struct ms_error err = { 0 };
	struct policy_ticket tk, tk2;
	struct policy_item out[16];
	struct policy_req q = text_req(100, 10, 0);
	uint32_t i, id;

	(void)state;
	conf_pools(&c, 2, st, POLICY_ROUTE_LEAST);
	assert_int_equal(policy_init(&p, &c, &err), 0);
	for (i = 0; i < 4; i++) /* encoder 2 ready, the others still starting */
		assert_int_equal(policy_inst_add(&p, 0, i == 2, 0, &id, &err), 0);
	assert_int_equal(policy_inst_add(&p, 1, 1, 0, &id, &err), 0);
	q.modality = POLICY_IMAGE;
	q.images = 5;
	q.tokens_per_image = 1601;
	q.image_tokens = 5 * 1601;
	policy_ticket_init(&tk, &q);
	assert_int_equal(policy_route_images(&p, &q, &tk, 0, out), 1);
	assert_int_equal(out[0].inst, 2);
	assert_int_equal(out[0].nimg, 5);
	for (i = 0; i < 4; i++)
		if (i != 2)
			assert_int_equal(policy_inst_ready(&p, i, 1), 0);
	q.images = 11;
	q.image_tokens = 11 * 1601;
	policy_ticket_init(&tk2, &q);
	/* the busy encoder gets none; the others fill up in id order: 4, 4, 3 */
	assert_int_equal(policy_route_images(&p, &q, &tk2, 1, out), 3);
	assert_int_equal(out[0].inst, 0);
	assert_int_equal(out[0].nimg, 4);
	assert_int_equal(out[1].inst, 1);
	assert_int_equal(out[1].nimg, 4);
	assert_int_equal(out[2].inst, 3);
	assert_int_equal(out[2].nimg, 3);
	assert_int_equal(policy_inst_pending(&p, 2), 5u * 1601);
	assert_int_equal(policy_inst_pending(&p, 3), 3u * 1601);
	/* released item by item; the last one says so */
	assert_int_equal(policy_image_encoded(&p, &tk2, 0, 4, 2), 0);
	assert_int_equal(policy_image_encoded(&p, &tk2, 3, 3, 2), 0);
	assert_int_equal(policy_image_encoded(&p, &tk2, 1, 4, 2), 1);
	assert_int_equal(policy_inst_pending(&p, 0) + policy_inst_pending(&p, 1) +
			 policy_inst_pending(&p, 3), 0);
	/* the encoded request goes to the LLM pool, charged prompt then output */
	assert_int_equal(policy_route_llm(&p, &q, &tk2, 3, &id), 0);
	assert_int_equal(id, 4);
	assert_int_equal(policy_inst_pending(&p, 4), 110);
	assert_int_equal(policy_first_token(&p, &tk2, 4), 0);
	assert_int_equal(policy_inst_pending(&p, 4), 10);
	assert_int_equal(policy_first_token(&p, &tk2, 4), 0); /* a recompute releases nothing more */
	assert_int_equal(policy_inst_pending(&p, 4), 10);
	assert_int_equal(policy_finished(&p, &tk2, 5, 5, 0.1), 0);
	assert_int_equal(policy_inst_pending(&p, 4), 0);
	policy_release(&p);
}

/* pd without encoders: the prefill instance encodes (image tokens charged), decode takes prompt + output. */
static void test_prefill_decode_charges(void **state)
{
	static const enum policy_stage st[] = { POLICY_STAGE_PREFILL, POLICY_STAGE_DECODE };
	struct policy p;
	struct policy_conf c;
	struct ms_error err = { 0 };
	struct policy_ticket tk;
	struct policy_req q = text_req(700, 40, 0);
	uint32_t id, pf, dec;

	(void)state;
	conf_pools(&c, 2, st, POLICY_ROUTE_LEAST);
	assert_int_equal(policy_init(&p, &c, &err), 0);
	assert_int_equal(policy_inst_add(&p, 0, 1, 0, &id, &err), 0);
	assert_int_equal(policy_inst_add(&p, 1, 1, 0, &id, &err), 0);
	q.images = 1;
	q.tokens_per_image = 64;
	q.image_tokens = 64;
	q.text_tokens = 636;
	policy_ticket_init(&tk, &q);
	assert_int_equal(policy_route_images(&p, &q, &tk, 0, NULL), -MS_EUNSUPPORTED);
	assert_int_equal(policy_route_llm(&p, &q, &tk, 0, &pf), 0);
	assert_int_equal(pf, 0);
	assert_int_equal(policy_inst_pending(&p, 0), 700 + 64);
	assert_int_equal(policy_first_token(&p, &tk, 1), 0);
	assert_int_equal(policy_inst_pending(&p, 0), 0);
	/* called again at the hand-over: the decode pool */
	assert_int_equal(policy_route_llm(&p, &q, &tk, 1, &dec), 0);
	assert_int_equal(dec, 1);
	assert_int_equal(policy_inst_pending(&p, 1), 740);
	{
		struct policy_pool_stats ps;
		policy_pool_stats(&p, 1, 1, &ps); /* the decode pool counts what it was given */
		assert_true(fabs(ps.rate[POLICY_ARR_PROMPT] - 700.0 / 60) < 1e-12);
		assert_int_equal(ps.pending, 740);
	}
	assert_int_equal(policy_preempted(&p, &tk, 2), 0); /* the work stays where it is */
	assert_int_equal(policy_inst_pending(&p, 1), 740);
	assert_int_equal(policy_finished(&p, &tk, 3, 1, 0.05), 0);
	assert_int_equal(p.pool[0].pending + p.pool[1].pending, 0);
	policy_release(&p);
}

static void test_keys(void **state)
{
	static const enum policy_stage st[] = { POLICY_STAGE_MONO };
	struct policy p;
	struct policy_conf c;
	struct ms_error err = { 0 };
	struct policy_ticket tk;
	struct policy_req q = text_req(1, 1, 0);
	double k1, k2, f1, f2;

	(void)state;
	conf_pools(&c, 1, st, POLICY_ROUTE_LEAST);
	assert_int_equal(policy_init(&p, &c, &err), 0);
	policy_ticket_init(&tk, &q);
	k1 = policy_queue_key(&p, &tk, 1.7e9);
	k2 = policy_queue_key(&p, &tk, 1.7e9 + 0.5);
	assert_true(k1 < k2); /* FCFS */
	f1 = policy_requeue_key(&p, &tk, 1.7e9 + 1);
	f2 = policy_requeue_key(&p, &tk, 1.7e9 + 2);
	assert_true(f2 < f1 && f1 < k1); /* preempted: to the front, the latest first */
	/* victim: any prefilling one before any decoding one, the newest of each first */
	assert_true(policy_victim_key(&p, &tk, 1, 0, 0) > policy_victim_key(&p, &tk, 0, 1000000, 0));
	assert_true(policy_victim_key(&p, &tk, 1, 8, 0) > policy_victim_key(&p, &tk, 1, 7, 0));
	assert_true(policy_victim_key(&p, &tk, 0, 8, 0) > policy_victim_key(&p, &tk, 0, 7, 0));
	policy_release(&p);
}

/*
 * A gateway's view: wall-clock epoch seconds, an LLM pool of 2 that grows by
 * one (starting, then ready) and loses one (failed), windowed statistics.
 */
static void test_wall_clock_gateway(void **state)
{
	static const enum policy_stage st[] = { POLICY_STAGE_ENC, POLICY_STAGE_LLM };
	struct policy p;
	struct policy_conf c;
	struct ms_error err = { 0 };
	struct policy_ticket tk[40];
	struct policy_item items[4];
	struct policy_pool_stats ps;
	const double t0 = 1.7e9;
	uint32_t i, k, enc0, l0, l1, l2;
	int n;

	(void)state;
	conf_pools(&c, 2, st, POLICY_ROUTE_LEAST);
	c.window_s = 60;
	c.slo_ttft_s = 2;
	c.slo_tpot_s = 0.1;
	assert_int_equal(policy_init(&p, &c, &err), 0);
	assert_int_equal(policy_inst_add(&p, 0, 1, t0, &enc0, &err), 0);
	assert_int_equal(policy_inst_add(&p, 1, 1, t0, &l0, &err), 0);
	assert_int_equal(policy_inst_add(&p, 1, 1, t0, &l1, &err), 0);
	/* 30 requests over 30 s, each with 2 images of 100 tokens and a 300-token prompt */
	for (i = 0; i < 30; i++) {
		double now = t0 + i;
		struct policy_req q = text_req(300, 20, now);
		q.modality = POLICY_IMAGE;
		q.images = 2;
		q.tokens_per_image = 100;
		q.image_tokens = 200;
		q.text_tokens = 100;
		policy_ticket_init(&tk[i], &q);
		n = policy_route_images(&p, &q, &tk[i], now, items);
		assert_int_equal(n, 1);
		assert_int_equal(items[0].inst, enc0);
		assert_int_equal(policy_image_encoded(&p, &tk[i], enc0, 2, now + 0.2), 1);
		assert_int_equal(policy_route_llm(&p, &q, &tk[i], now + 0.2, &k), 0);
		assert_true(k == l0 || k == l1);
		assert_int_equal(policy_first_token(&p, &tk[i], now + 0.5), 0);
		/* one in three misses its TTFT target */
		assert_int_equal(policy_finished(&p, &tk[i], now + 0.9, i % 3 ? 0.5 : 3.0, 0.02), 0);
	}
	policy_pool_stats(&p, 1, t0 + 30, &ps);
	assert_true(fabs(ps.rate[POLICY_ARR_REQ] - 30.0 / 60) < 1e-12);
	assert_true(fabs(ps.rate[POLICY_ARR_PROMPT] - 30.0 * 300 / 60) < 1e-9);
	assert_true(fabs(ps.rate[POLICY_ARR_IMG_TOKENS] - 30.0 * 200 / 60) < 1e-9);
	assert_int_equal(ps.finished, 30);
	assert_true(fabs(ps.slo_attainment - 20.0 / 30) < 1e-12);
	assert_int_equal(ps.pending, 0);
	assert_int_equal(ps.ready, 2);
	policy_pool_stats(&p, 0, t0 + 30, &ps);
	assert_true(fabs(ps.rate[POLICY_ARR_IMAGES] - 60.0 / 60) < 1e-12);
	/* two windows later nothing is left in the window */
	policy_pool_stats(&p, 1, t0 + 200, &ps);
	assert_true(ps.rate[POLICY_ARR_REQ] == 0 && ps.finished == 0 && ps.slo_attainment == 1);

	/* a third instance starts: not picked until ready */
	assert_int_equal(policy_inst_add(&p, 1, 0, t0 + 200, &l2, &err), 0);
	policy_pool_stats(&p, 1, t0 + 200, &ps);
	assert_int_equal(ps.starting, 1);
	for (i = 0; i < 4; i++) {
		struct policy_req q = text_req(1000, 100, t0 + 200);
		policy_ticket_init(&tk[i], &q);
		assert_int_equal(policy_route_llm(&p, &q, &tk[i], t0 + 200, &k), 0);
		assert_true(k != l2);
	}
	assert_int_equal(policy_inst_ready(&p, l2, t0 + 230), 0);
	{
		struct policy_req q = text_req(1000, 100, t0 + 230);
		policy_ticket_init(&tk[4], &q);
		assert_int_equal(policy_route_llm(&p, &q, &tk[4], t0 + 230, &k), 0);
		assert_int_equal(k, l2); /* the idle newcomer */
	}
	/* l0 fails: its charges are dropped, its requests are routed again elsewhere */
	assert_int_equal(policy_inst_fail(&p, l0, t0 + 240), 0);
	assert_int_equal(policy_inst_pending(&p, l0), 0);
	for (i = 0; i < 5; i++) {
		if (tk[i].llm != l0)
			continue;
		struct policy_req q = text_req(1000, 100, t0 + 200);
		assert_int_equal(policy_route_llm(&p, &q, &tk[i], t0 + 240, &k), 0);
		assert_true(k != l0);
	}
	for (i = 0; i < 5; i++)
		assert_int_equal(policy_finished(&p, &tk[i], t0 + 250, 1, 0.01), 0);
	assert_int_equal(p.pool[1].pending, 0);
	/* a gateway's double release: clamped, counted and reported, not fatal */
	assert_int_equal(policy_inst_pending(&p, l1), 0);
	tk[0].llm = l1;
	tk[0].pend_rest = 5;
	assert_int_equal(policy_finished(&p, &tk[0], t0 + 260, 1, 0.01), -MS_ERANGE);
	assert_int_equal(p.over_released, 1);
	assert_int_equal(policy_inst_pending(&p, l1), 0);
	/* drain and remove l1 (empty); a failed or removed one cannot be drained */
	assert_int_equal(policy_inst_drain(&p, l1, t0 + 270), 0);
	assert_int_equal(policy_inst_remove(&p, l1, t0 + 270), 0);
	assert_int_equal(policy_inst_drain(&p, l1, t0 + 270), -MS_EINVAL);
	assert_int_equal(policy_inst_drain(&p, l0, t0 + 270), -MS_EINVAL);
	assert_int_equal(policy_pool_ready(&p, 1), 1);
	policy_release(&p);
}

/* Observed work (a gateway's scrape of other gateways' load) steers least-work picks
 * with the instance's own charges, and only while it is observed. */
static void test_observed_load(void **state)
{
	static const enum policy_stage st[] = { POLICY_STAGE_MONO };
	struct policy_conf c;
	struct policy pol;
	struct policy_ticket tk;
	struct policy_req q = text_req(10, 5, 0);
	struct ms_error err;
	uint32_t a, b, pick;

	(void)state;
	conf_pools(&c, 1, st, POLICY_ROUTE_LEAST);
	assert_int_equal(policy_init(&pol, &c, &err), 0);
	assert_int_equal(policy_inst_add(&pol, 0, 1, 0, &a, &err), 0);
	assert_int_equal(policy_inst_add(&pol, 0, 1, 0, &b, &err), 0);
	assert_int_equal(policy_inst_observe(&pol, a, 1000, 0), 0);
	policy_ticket_init(&tk, &q);
	assert_int_equal(policy_route_llm(&pol, &q, &tk, 0, &pick), 0);
	assert_int_equal(pick, b);          /* a looks busy: 1000 observed against 0 */
	assert_int_equal(policy_inst_pending(&pol, b), 15); /* own charges unchanged by it */
	assert_int_equal(policy_inst_pending(&pol, a), 0);
	policy_ticket_init(&tk, &q);
	assert_int_equal(policy_route_llm(&pol, &q, &tk, 0, &pick), 0);
	assert_int_equal(pick, b);          /* 15 + 0 still below 0 + 1000 */
	assert_int_equal(policy_inst_observe(&pol, a, 0, 1), 0);
	policy_ticket_init(&tk, &q);
	assert_int_equal(policy_route_llm(&pol, &q, &tk, 1, &pick), 0);
	assert_int_equal(pick, a);          /* the other load is gone */
	assert_int_equal(policy_inst_observe(&pol, 99, 1, 1), -MS_EINVAL);
	policy_release(&pol);
}

/*
 * Least-work picks on pending + observed load against a scan, with observed loads
 * that rise and fall (both directions of a key change), members joining past two
 * growths of the pool (16, 32, 64) and draining (a slot refilled by the last one),
 * and many ties (loads in a few values: the lowest id must win each).
 */
static void test_least_observed_matches_scan(void **state)
{
	static const enum policy_stage st[] = { POLICY_STAGE_MONO };
	struct policy_conf c;
	struct policy pol;
	struct policy_ticket tk;
	struct ms_error err = { 0 };
	uint64_t obs[64] = { 0 }, x = 99;
	uint32_t i, id, pick, want;
	int step;

	(void)state;
	conf_pools(&c, 1, st, POLICY_ROUTE_LEAST);
	assert_int_equal(policy_init(&pol, &c, &err), 0);
	for (step = 0; step < 20000; step++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		if (pol.n_inst < 64 && (x >> 60) == 0) {
			assert_int_equal(policy_inst_add(&pol, 0, 1, 0, &id, &err), 0);
			continue;
		}
		if (!pol.n_inst)
			continue;
		i = (uint32_t)((x >> 24) % pol.n_inst);
		if ((x >> 60) == 1 && policy_inst_state(&pol, i) == POLICY_INST_READY &&
		    policy_pool_ready(&pol, 0) > 2) {
			assert_int_equal(policy_inst_drain(&pol, i, 0), 0);
		} else if ((x >> 60) < 8) {
			obs[i] = ((x >> 40) % 4) * 100; /* few values: ties */
			assert_int_equal(policy_inst_observe(&pol, i, obs[i], 0), 0);
		} else {
			struct policy_req q = text_req(50 * ((x >> 50) % 3), 0, 0);
			want = POLICY_NONE;
			for (id = 0; id < pol.n_inst; id++) {
				uint64_t w;
				if (policy_inst_state(&pol, id) != POLICY_INST_READY)
					continue;
				w = policy_inst_pending(&pol, id) + obs[id];
				if (want == POLICY_NONE ||
				    w < policy_inst_pending(&pol, want) + obs[want])
					want = id;
			}
			if (want == POLICY_NONE)
				continue;
			policy_ticket_init(&tk, &q);
			assert_int_equal(policy_route_llm(&pol, &q, &tk, 0, &pick), 0);
			assert_int_equal(pick, want);
		}
	}
	assert_true(pol.n_inst > 32); /* the pool grew twice */
	policy_release(&pol);
}

static void test_parse(void **state)
{
	enum policy_route r;
	struct ms_error err = { 0 };
	struct policy p;
	struct policy_conf c;
	static const enum policy_stage st[] = { POLICY_STAGE_PREFILL };

	(void)state;
	assert_int_equal(policy_route_parse("rr", &r, &err), 0);
	assert_int_equal(r, POLICY_ROUTE_RR);
	assert_string_equal(policy_route_name(r), "rr");
	assert_true(policy_route_parse("fastest", &r, &err) < 0);
	assert_non_null(strstr(err.msg, "fastest"));
	conf_pools(&c, 1, st, POLICY_ROUTE_RR); /* prefill without decode */
	assert_true(policy_init(&p, &c, &err) < 0);
	c.n_pools = 0;
	assert_true(policy_init(&p, &c, &err) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_least_matches_scan),
		cmocka_unit_test(test_rr_and_random),
		cmocka_unit_test(test_split_spreads_images),
		cmocka_unit_test(test_prefill_decode_charges),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_wall_clock_gateway),
		cmocka_unit_test(test_observed_load),
		cmocka_unit_test(test_least_observed_matches_scan),
		cmocka_unit_test(test_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
