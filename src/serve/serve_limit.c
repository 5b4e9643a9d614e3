/*
 * serve_limit: per-key rate limits, one token bucket per limit (requests and prompt
 * plus output tokens). A bucket holds at most `cap` and fills at `rate` per second; a
 * request passes only when every bucket of its key holds its cost, and then takes it
 * from all of them, so a refused request costs nothing. The clock is the caller's
 * (net_now in the gateway, any numbers in the tests): nothing here reads time.
 */
#include <math.h>
#include <stdio.h>

#include "serve/serve_int.h"

void serve__bucket_init(struct serve__bucket *b, double rate, double cap, double now)
{
	b->rate = rate;
	b->cap = cap;
	b->level = cap; /* a new key starts with its whole burst */
	b->t = now;
}

static void refill(struct serve__bucket *b, double now)
{
	if (now > b->t) {
		b->level = fmin(b->cap, b->level + (now - b->t) * b->rate);
		b->t = now;
	}
}

double serve__bucket_wait(struct serve__bucket *b, double now, double cost)
{
	if (b->rate <= 0)
		return 0; /* no limit */
	refill(b, now);
	if (b->level >= cost)
		return 0;
	if (cost > b->cap)
		return INFINITY;
	return (cost - b->level) / b->rate;
}

void serve__bucket_take(struct serve__bucket *b, double now, double cost)
{
	if (b->rate <= 0)
		return;
	refill(b, now);
	b->level -= cost;
}

int serve__limit_admit(struct serve__key *k, double now, double tokens, double *retry_s,
		       char *msg, size_t cap)
{
	double wr = serve__bucket_wait(&k->reqs, now, 1);
	double wt = serve__bucket_wait(&k->toks, now, tokens);

	if (wr > 0) {
		*retry_s = wr;
		snprintf(msg, cap, "Rate limit reached for requests on key %s: %g per second, "
			 "burst %g. Try again in %.3fs.", k->name, k->reqs.rate, k->reqs.cap, wr);
		return SERVE__LIMIT_REQUESTS;
	}
	if (wt > 0) {
		*retry_s = wt;
		if (isinf(wt))
			snprintf(msg, cap, "Request too large for key %s: %.0f tokens (prompt and "
				 "max_tokens) above its limit of %.0f tokens per minute.", k->name,
				 tokens, k->toks.cap);
		else
			snprintf(msg, cap, "Rate limit reached for tokens on key %s: %.0f per "
				 "minute, this request needs %.0f. Try again in %.3fs.", k->name,
				 k->toks.cap, tokens, wt);
		return SERVE__LIMIT_TOKENS;
	}
	serve__bucket_take(&k->reqs, now, 1);
	serve__bucket_take(&k->toks, now, tokens);
	return 0;
}
