/*
 * Event queue on (time, insertion sequence). The sequence makes equal-time
 * events FIFO, which is what makes runs reproducible; it is unique, so
 * (time, sequence) is a total order and any correct priority queue pops the
 * events in exactly the same order: the structure is a speed choice only.
 *
 * Pending events are usually a few dozen (instances + requests in transit).
 * While there are at most SIM__LIST_MAX of them they are a list sorted latest
 * first: a pop takes the last entry with no comparison at all, a push shifts
 * the later entries up by one (the new event is usually among the soonest:
 * few moves, one hard-to-predict branch). Beyond that the list turns into a
 * 4-ary min-heap (an ascending array is one), whose pop is a branch-free
 * tournament of four children over sentinel slots; it turns back into a list
 * when half as many remain. The array only grows by doubling.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim_int.h"

#define ARITY 4

/* An empty slot: after every event (times are finite, sequences below UINT64_MAX). */
static const struct sim__event sentinel = { .t = INFINITY, .seq = UINT64_MAX };

/* Heap order keeps slots n..cap + ARITY - 1 at the sentinel, so a node's four children
 * can be read whole even at the end of the array. */
static void fill_sentinels(struct sim__event *ev, size_t from, size_t to)
{
	for (; from < to; from++)
		ev[from] = sentinel;
}

int sim__heap_init(struct sim__heap *h, size_t cap, struct ms_error *err)
{
	memset(h, 0, sizeof(*h));
	h->cap = cap < 2 * SIM__LIST_MAX ? 2 * SIM__LIST_MAX : cap;
	h->ev = malloc((h->cap + ARITY) * sizeof(*h->ev));
	if (!h->ev)
		return ms_error_set(err, MS_ENOMEM, "sim: event queue of %zu events", h->cap);
	fill_sentinels(h->ev, 0, h->cap + ARITY);
	return 0;
}

void sim__heap_release(struct sim__heap *h)
{
	free(h->ev);
	memset(h, 0, sizeof(*h));
}

/* (time, sequence) order without branches: which of two times is earlier is a coin
 * toss to the branch predictor, and mispredictions were most of a pop's cost. */
static inline int ev_less(const struct sim__event *x, const struct sim__event *y)
{
	return (x->t < y->t) | ((x->t == y->t) & (x->seq < y->seq));
}

/* List (latest first) to heap: reversed it is ascending, which is heap order. */
static void to_heap(struct sim__heap *h)
{
	size_t i, n = h->n;

	for (i = 0; i < n / 2; i++) {
		struct sim__event t = h->ev[i];
		h->ev[i] = h->ev[n - 1 - i];
		h->ev[n - 1 - i] = t;
	}
	/* a list writes below SIM__LIST_MAX + 1 only; beyond, the heap's sentinels stay */
	fill_sentinels(h->ev, n, SIM__LIST_MAX + 1);
	h->heap = 1;
}

/* Heap to list: an insertion sort, latest first (a few dozen events). */
static void to_list(struct sim__heap *h)
{
	size_t i, j, n = h->n;

	for (i = 1; i < n; i++) {
		struct sim__event e = h->ev[i];
		for (j = i; j > 0 && ev_less(&h->ev[j - 1], &e); j--)
			h->ev[j] = h->ev[j - 1];
		h->ev[j] = e;
	}
	h->heap = 0;
}

static int grow(struct sim__heap *h)
{
	struct sim__event *ev = realloc(h->ev, (2 * h->cap + ARITY) * sizeof(*ev));

	if (!ev)
		return -MS_ENOMEM;
	fill_sentinels(ev, h->cap + ARITY, 2 * h->cap + ARITY);
	h->ev = ev;
	h->cap *= 2;
	return 0;
}

int sim__heap_push(struct sim__heap *h, double t, uint32_t type, uint32_t a, uint32_t b)
{
	struct sim__event e = { .t = t, .seq = h->seq++, .type = type, .a = a, .b = b };
	size_t i;

	if (h->n == h->cap && grow(h) < 0)
		return -MS_ENOMEM;
	if (!h->heap && h->n == SIM__LIST_MAX)
		to_heap(h);
	i = h->n++;
	if (!h->heap) {
		/* later entries (smaller index) stay; earlier ones move up one */
		while (i > 0 && ev_less(&h->ev[i - 1], &e)) {
			h->ev[i] = h->ev[i - 1];
			i--;
		}
		h->ev[i] = e;
		return 0;
	}
	while (i > 0) {
		size_t parent = (i - 1) / ARITY;
		if (!ev_less(&e, &h->ev[parent]))
			break;
		h->ev[i] = h->ev[parent];
		i = parent;
	}
	h->ev[i] = e;
	return 0;
}

int sim__heap_pop(struct sim__heap *h, struct sim__event *out)
{
	struct sim__event *ev = h->ev, last;
	size_t i = 0, n;

	if (h->n == 0)
		return 0;
	if (!h->heap) {
		*out = ev[--h->n];
		return 1;
	}
	*out = ev[0];
	n = --h->n;
	last = ev[n];
	ev[n] = sentinel;
	for (;;) {
		size_t c = ARITY * i + 1, m01, m23, m;
		if (c >= n)
			break;
		/* a tournament of the four children (sentinels past the end never win) */
		m01 = ev_less(&ev[c + 1], &ev[c]) ? c + 1 : c;
		m23 = ev_less(&ev[c + 3], &ev[c + 2]) ? c + 3 : c + 2;
		m = ev_less(&ev[m23], &ev[m01]) ? m23 : m01;
		if (!ev_less(&ev[m], &last))
			break;
		ev[i] = ev[m];
		i = m;
	}
	ev[i] = last;
	if (n <= SIM__LIST_MAX / 2)
		to_list(h);
	return 1;
}
