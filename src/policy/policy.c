#include "policy/policy.h"

#include <stdlib.h>
#include <string.h>

#include "base/ms_rand.h"

static int less(const struct policy_pool *p, uint32_t a, uint32_t b)
{
	if (p->pending[a] != p->pending[b])
		return p->pending[a] < p->pending[b];
	return a < b;
}

static void swap_slots(struct policy_pool *p, uint32_t i, uint32_t j)
{
	uint32_t a = p->heap[i], b = p->heap[j];
	p->heap[i] = b;
	p->heap[j] = a;
	p->pos[b] = i;
	p->pos[a] = j;
}

static void heap_up(struct policy_pool *p, uint32_t i)
{
	while (i > 0) {
		uint32_t parent = (i - 1) / 2;
		if (!less(p, p->heap[i], p->heap[parent]))
			break;
		swap_slots(p, i, parent);
		i = parent;
	}
}

static void heap_down(struct policy_pool *p, uint32_t i)
{
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < p->n && less(p, p->heap[l], p->heap[m]))
			m = l;
		if (r < p->n && less(p, p->heap[r], p->heap[m]))
			m = r;
		if (m == i)
			break;
		swap_slots(p, i, m);
		i = m;
	}
}

int policy_pool_init(struct policy_pool *p, uint32_t n, enum policy_route route, uint64_t seed,
		     struct ms_error *err)
{
	uint32_t i;

	memset(p, 0, sizeof(*p));
	if (n == 0)
		return ms_error_set(err, MS_EINVAL, "policy: pool with no instances");
	p->pending = calloc(n, sizeof(*p->pending));
	p->heap = malloc(n * sizeof(*p->heap));
	p->pos = malloc(n * sizeof(*p->pos));
	if (!p->pending || !p->heap || !p->pos) {
		policy_pool_release(p);
		return ms_error_set(err, MS_ENOMEM, "policy: pool of %u instances", n);
	}
	for (i = 0; i < n; i++) {
		p->heap[i] = i;
		p->pos[i] = i;
	}
	p->n = n;
	p->route = route;
	p->rng = seed;
	return 0;
}

void policy_pool_release(struct policy_pool *p)
{
	free(p->pending);
	free(p->heap);
	free(p->pos);
	memset(p, 0, sizeof(*p));
}

uint32_t policy_pool_pick(struct policy_pool *p)
{
	uint32_t i;

	switch (p->route) {
	case POLICY_ROUTE_RR:
		i = p->rr_next;
		p->rr_next = (p->rr_next + 1) % p->n;
		return i;
	case POLICY_ROUTE_RANDOM:
		return ms_rand_below(&p->rng, p->n);
	case POLICY_ROUTE_LEAST:
	default:
		return p->heap[0];
	}
}

void policy_pool_add(struct policy_pool *p, uint32_t inst, int64_t delta)
{
	MS_ASSERT(inst < p->n);
	if (delta < 0) {
		MS_ASSERT(p->pending[inst] >= (uint64_t)-delta);
		p->pending[inst] -= (uint64_t)-delta;
		heap_up(p, p->pos[inst]);
	} else {
		p->pending[inst] += (uint64_t)delta;
		heap_down(p, p->pos[inst]);
	}
}

uint64_t policy_pool_pending(const struct policy_pool *p, uint32_t inst)
{
	return p->pending[inst];
}

void policy_pool_split(struct policy_pool *p, uint32_t n_items, uint64_t work, uint32_t *out)
{
	uint32_t k;

	for (k = 0; k < n_items; k++) {
		out[k] = policy_pool_pick(p);
		policy_pool_add(p, out[k], (int64_t)work);
	}
}

static const char *const route_names[] = { "least", "rr", "random" };

int policy_route_parse(const char *s, enum policy_route *out, struct ms_error *err)
{
	size_t i;

	for (i = 0; i < sizeof(route_names) / sizeof(route_names[0]); i++)
		if (!strcmp(s, route_names[i])) {
			*out = (enum policy_route)i;
			return 0;
		}
	return ms_error_set(err, MS_EINVAL, "unknown routing policy '%s' (least, rr, random)", s);
}

const char *policy_route_name(enum policy_route r)
{
	return (unsigned)r < 3 ? route_names[r] : "?";
}
