/*
 * Queue order, preemption victim and the per-pool statistics an autoscaler
 * reads. The windows are rings of POLICY_WINDOW_BUCKETS buckets: an update
 * clears the buckets time has left behind (each bucket once per period, so
 * O(1) amortised and at most POLICY_WINDOW_BUCKETS per call) and keeps
 * running sums, so reading a rate never scans anything. Counts are whole
 * numbers, exact in a double up to 2^53, so adding and subtracting them
 * leaves no rounding drift.
 */
#include <math.h>
#include <string.h>

#include "policy/policy_int.h"

static void window_advance(struct policy_window *w, double now)
{
	int64_t e, steps;
	int k;

	if (now < w->t_next)
		return; /* the newest bucket (or a clock that stepped back: counted in it) */
	e = (int64_t)floor(now / w->dt);
	w->t_next = (double)(e + 1) * w->dt;
	if (w->epoch == INT64_MIN) {
		memset(w->b, 0, sizeof(w->b));
		memset(w->sum, 0, sizeof(w->sum));
		w->head = 0;
		w->epoch = e;
		return;
	}
	if (e <= w->epoch)
		return; /* same bucket (or a clock that stepped back: counted in the newest) */
	steps = e - w->epoch;
	if (steps > POLICY_WINDOW_BUCKETS)
		steps = POLICY_WINDOW_BUCKETS;
	while (steps-- > 0) {
		w->head = (w->head + 1) % POLICY_WINDOW_BUCKETS;
		for (k = 0; k < 4; k++) {
			w->sum[k] -= w->b[w->head][k];
			w->b[w->head][k] = 0;
		}
	}
	w->epoch = e;
}

void policy__window_add(struct policy_window *w, double now, double v0, double v1, double v2,
			double v3)
{
	double *b;

	window_advance(w, now);
	b = w->b[w->head];
	b[0] += v0;
	b[1] += v1;
	b[2] += v2;
	b[3] += v3;
	w->sum[0] += v0;
	w->sum[1] += v1;
	w->sum[2] += v2;
	w->sum[3] += v3;
}

void policy__slo_add(struct policy *pol, int pool, const struct policy_ticket *tk, double now,
		     double ttft, double tpot)
{
	const struct policy_conf *c = &pol->conf;
	int ttft_ok = tk->deadline > 0 ? tk->arrival + ttft <= tk->deadline
				       : !(c->slo_ttft_s > 0) || ttft <= c->slo_ttft_s;
	int met = ttft_ok && (!(c->slo_tpot_s > 0) || isnan(tpot) || tpot <= c->slo_tpot_s);

	policy__window_add(&pol->pool[pool].slo, now, 1, met, 0, 0);
}

double policy_queue_key(struct policy *pol, const struct policy_ticket *tk, double now)
{
	const struct policy_conf *c = &pol->conf;
	double slack, est;

	if (c->order != POLICY_ORDER_SLO)
		return now; /* FCFS: the order of joining this queue */
	est = ((double)tk->prompt_tokens + (double)tk->img_left * tk->tokens_per_image) *
	      c->order_token_s;
	slack = tk->deadline > 0 ? tk->deadline - now - est : c->order_age_s;
	/*
	 * A request that cannot meet its deadline any more waits behind those
	 * that still can (it would spend their slack and miss anyway), as one
	 * without a deadline does: the full ageing cap, so it still goes ahead of
	 * everything that joins more than age_s later.
	 */
	if (!(slack >= 0) || slack > c->order_age_s)
		slack = c->order_age_s;
	return now + slack;
}

double policy_requeue_key(struct policy *pol, const struct policy_ticket *tk, double now)
{
	(void)tk;
	(void)now;
	/* below every enqueue time (>= 0 on both time scales), the latest first */
	pol->front -= 1.0;
	return pol->front;
}

double policy_victim_key(const struct policy *pol, const struct policy_ticket *tk,
			 int prefilling, uint64_t joined, double now)
{
	(void)pol;
	(void)tk;
	(void)now;
	/* the newest prefilling request, else the newest decoding one; exact below 2^53 */
	return prefilling ? (double)joined : (double)joined - 9007199254740992.0;
}

/*
 * Per second over the newest POLICY_RECENT_BUCKETS buckets, the newest counted
 * for the part of it that has passed (so a burst shows at once, not diluted by a
 * whole bucket). O(POLICY_RECENT_BUCKETS).
 */
static void recent_rate(const struct policy_window *w, double now, double *out)
{
	double span = (POLICY_RECENT_BUCKETS - 1) * w->dt + (now - (w->t_next - w->dt));
	uint32_t j;
	int k;

	for (k = 0; k < 4; k++)
		out[k] = 0;
	if (w->epoch == INT64_MIN)
		return;
	for (j = 0; j < POLICY_RECENT_BUCKETS; j++) {
		const double *b = w->b[(w->head + POLICY_WINDOW_BUCKETS - j) % POLICY_WINDOW_BUCKETS];
		for (k = 0; k < 4; k++)
			out[k] += b[k];
	}
	if (span < w->dt)
		span = w->dt; /* a just-started bucket is not a rate of its own */
	for (k = 0; k < 4; k++)
		out[k] /= span;
}

void policy_pool_stats(struct policy *pol, int pool, double now, struct policy_pool_stats *out)
{
	struct policy_pool *p = &pol->pool[pool];
	int k;

	memset(out, 0, sizeof(*out));
	window_advance(&p->arr, now);
	window_advance(&p->slo, now);
	for (k = 0; k < 4; k++)
		out->rate[k] = p->arr.epoch == INT64_MIN ? 0 : p->arr.sum[k] / pol->conf.window_s;
	recent_rate(&p->arr, now, out->rate_recent);
	out->queued = p->queued;
	out->pending = p->pending;
	out->starting = p->starting;
	out->ready = p->n_ready;
	out->draining = p->draining;
	out->finished = (uint64_t)p->slo.sum[0];
	out->slo_attainment = p->slo.sum[0] > 0 ? p->slo.sum[1] / p->slo.sum[0] : 1.0;
}
