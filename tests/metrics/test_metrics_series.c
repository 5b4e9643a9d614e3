/*
 * metrics: the series' fast path (a span inside the last bucket written, added without
 * finding its bucket) gives the bits of the plain bucket walk, on spans that start and
 * end on, just below and just above bucket edges, for bucket widths whose multiples are
 * not exact.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics/metrics.h"

/* The plain walk: every span cut at the bucket edges b dt, b dt + dt. */
struct plain {
	double dt, v[METRICS__SER][4096], level[METRICS__SER], last[METRICS__SER];
};

static void plain_add(struct plain *p, int k, double t0, double t1, double w)
{
	size_t b, b1;

	if (!(t1 > t0) || w == 0)
		return;
	if (t0 < 0)
		t0 = 0;
	b = (size_t)(t0 / p->dt);
	b1 = (size_t)(t1 / p->dt);
	for (; b <= b1; b++) {
		double lo = (double)b * p->dt, hi = lo + p->dt;
		double a = t0 > lo ? t0 : lo, z = t1 < hi ? t1 : hi;
		if (z > a)
			p->v[k][b] += w * (z - a);
	}
}

static void plain_level(struct plain *p, int k, double t, double level)
{
	plain_add(p, k, p->last[k], t, p->level[k]);
	if (t > p->last[k])
		p->last[k] = t;
	p->level[k] = level;
}

/* A time near a bucket edge (on it, or one or two ulps either side) or anywhere. */
static double next_time(double t, double dt, unsigned *seed)
{
	unsigned r = (unsigned)rand_r(seed);
	double edge = ceil(t / dt) * dt, x;

	switch (r % 6) {
	case 0:
		x = edge;
		break;
	case 1:
		x = nextafter(edge, -INFINITY);
		break;
	case 2:
		x = nextafter(nextafter(edge, INFINITY), INFINITY);
		break;
	case 3:
		x = t; /* an instant with two events */
		break;
	default:
		x = t + dt * (double)(rand_r(seed) % 1000) / 7000.0;
		break;
	}
	return x < t ? t : x;
}

static void test_fast_path_bits(void **state)
{
	const double dts[] = { 1209.6, 0.1, 1.0 / 3.0, 7.7, 1.0 };
	size_t d;

	(void)state;
	for (d = 0; d < sizeof(dts) / sizeof(dts[0]); d++) {
		static struct plain p;
		struct metrics_series s;
		struct ms_error err = { 0 };
		unsigned seed = 11 + (unsigned)d;
		double t = 0, busy_from = 0;
		size_t i, k, n_edge = 0;
		int step;

		memset(&p, 0, sizeof(p));
		p.dt = dts[d];
		assert_int_equal(metrics_series_init(&s, "x", p.dt, 10 * p.dt, 1, 1, &err), 0);
		for (step = 0; step < 40000 && t < 3000 * p.dt; step++) {
			double t2 = next_time(t, p.dt, &seed), lv = (double)(rand_r(&seed) % 9);
			int kind = rand_r(&seed) % 3;
			n_edge += t2 == ceil(t2 / p.dt) * p.dt;
			if (kind == METRICS_SER_BUSY) {
				double w = (double)(rand_r(&seed) % 4) / 3.0;
				plain_add(&p, kind, busy_from, t2, w);
				assert_int_equal(metrics_series_add(&s, kind, busy_from, t2, w), 0);
				busy_from = t2;
			} else {
				plain_level(&p, kind, t2, lv);
				assert_int_equal(metrics_series_level(&s, kind, t2, lv), 0);
			}
			t = t2;
		}
		assert_true(n_edge > 100); /* the edges were exercised */
		for (k = 0; k < METRICS__SER; k++)
			for (i = 0; i < s.n; i++)
				if (memcmp(&s.v[k][i], &p.v[k][i], sizeof(double)))
					fail_msg("dt %g: series %zu bucket %zu: %.17g, plain %.17g",
						 p.dt, k, i, s.v[k][i], p.v[k][i]);
		metrics_series_release(&s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fast_path_bits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
