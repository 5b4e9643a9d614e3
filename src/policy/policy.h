/*
 * policy: where work goes. Routing over a pool of instances.
 *
 * Owns struct policy_pool: one work counter per instance (pending tokens:
 * image tokens for encoders, prompt + output tokens for LLM instances) and
 * the pick rule (round-robin, least outstanding work, seeded random).
 * Callers (sim/ in virtual time, a future live gateway in wall time) keep the
 * counters current as events happen with policy_pool_add(); a pick never
 * scans the pool: least-work keeps an indexed min-heap on (pending, index),
 * so add and pick are O(log n) and ties go to the lowest index (deterministic).
 * Knows nothing of time, sockets or sim/.
 */
#ifndef POLICY_H
#define POLICY_H

#include <stdint.h>

#include "base/ms_error.h"

enum policy_route {
	POLICY_ROUTE_LEAST = 0, /* least pending work (ModServe's rule) */
	POLICY_ROUTE_RR,        /* round-robin, blind to load */
	POLICY_ROUTE_RANDOM,    /* uniform, seeded (vLLM's EPD example proxy) */
};

struct policy_pool {
	enum policy_route route;
	uint32_t n;
	uint64_t *pending; /* per instance */
	uint32_t *heap;    /* instance indices, min-heap on (pending, index) */
	uint32_t *pos;     /* pos[inst] = slot of inst in heap */
	uint32_t rr_next;
	uint64_t rng;      /* splitmix64 state for POLICY_ROUTE_RANDOM */
};

int policy_pool_init(struct policy_pool *p, uint32_t n, enum policy_route route, uint64_t seed,
		     struct ms_error *err);
void policy_pool_release(struct policy_pool *p);

/* Instance that should take the next piece of work (does not change counters). */
uint32_t policy_pool_pick(struct policy_pool *p);
/* Pending work of inst changes by delta (tokens); never goes below zero (MS_BUG). */
void policy_pool_add(struct policy_pool *p, uint32_t inst, int64_t delta);
uint64_t policy_pool_pending(const struct policy_pool *p, uint32_t inst);

/*
 * Image-level parallelism: spreads n_items items of `work` tokens each over
 * the pool, one pick per item, charging each pick at once, so a many-image
 * request lands on several instances. Writes the chosen instance per item.
 */
void policy_pool_split(struct policy_pool *p, uint32_t n_items, uint64_t work, uint32_t *out);

/* "least", "rr", "random"; returns 0 or -MS_EINVAL. */
int policy_route_parse(const char *s, enum policy_route *out, struct ms_error *err);
const char *policy_route_name(enum policy_route r);

#endif
