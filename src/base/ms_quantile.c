/* Quantiles of sorted values and the radix sort of doubles; see ms_quantile.h. */
#include "base/ms_quantile.h"

#include <math.h>
#include <string.h>

int ms_quantile_pos(size_t n, double q, struct ms_qpos *pos)
{
	double at, fl;

	if (n == 0 || isnan(q))
		return -1;
	if (q < 0)
		q = 0;
	if (q > 1)
		q = 1;
	at = (double)(n - 1) * q;
	fl = floor(at);
	pos->lo = (size_t)fl < n ? (size_t)fl : n - 1;
	pos->hi = pos->lo + 1 < n ? pos->lo + 1 : n - 1;
	pos->t = at - fl;
	return 0;
}

double ms_lerp(double a, double b, double t)
{
	double d = b - a;
	return t >= 0.5 ? b - d * (1.0 - t) : a + d * t;
}

double ms_quantile(const double *sorted, size_t n, double q)
{
	struct ms_qpos p;
	if (ms_quantile_pos(n, q, &p) < 0)
		return NAN;
	return ms_lerp(sorted[p.lo], sorted[p.hi], p.t);
}

double ms_quantile_u32(const uint32_t *sorted, size_t n, double q)
{
	struct ms_qpos p;
	if (ms_quantile_pos(n, q, &p) < 0)
		return NAN;
	return ms_lerp((double)sorted[p.lo], (double)sorted[p.hi], p.t);
}

double ms_quantile_u64(const uint64_t *sorted, size_t n, double q)
{
	struct ms_qpos p;
	if (ms_quantile_pos(n, q, &p) < 0)
		return NAN;
	return ms_lerp((double)sorted[p.lo], (double)sorted[p.hi], p.t);
}

#define DIGIT_BITS 11
#define DIGITS 6 /* 6 x 11 >= 64 */
#define BUCKETS (1u << DIGIT_BITS)

/*
 * A double's bits as an unsigned key in the doubles' order: positive numbers get the sign
 * bit set (above every negative), negative ones all bits flipped (a larger magnitude is a
 * smaller number). Bits move through memcpy: reading a double as an integer through a
 * pointer would break strict aliasing.
 */
static uint64_t key_of(double x)
{
	uint64_t b;
	memcpy(&b, &x, sizeof(b));
	return b >> 63 ? ~b : b | (1ull << 63);
}

static double double_of(uint64_t k)
{
	uint64_t b = k >> 63 ? k & ~(1ull << 63) : ~k;
	double x;
	memcpy(&x, &b, sizeof(x));
	return x;
}

static unsigned digit(uint64_t k, int d)
{
	return (unsigned)(k >> (d * DIGIT_BITS)) & (BUCKETS - 1);
}

size_t ms_sort_f64(double *v, size_t n, double *tmp)
{
	size_t count[DIGITS][BUCKETS];
	size_t i, m = 0, nan;
	double *src = v, *dst = tmp;
	int d;

	/* NaNs out first: they have no place in the order (their bits would sort above +inf) */
	for (i = 0; i < n; i++)
		if (!isnan(v[i]))
			v[m++] = v[i];
	nan = n - m;
	memset(count, 0, sizeof(count));
	for (i = 0; i < m; i++) {
		uint64_t k = key_of(v[i]);
		memcpy(&v[i], &k, sizeof(k));
		for (d = 0; d < DIGITS; d++)
			count[d][digit(k, d)]++;
	}
	for (d = 0; d < DIGITS && m > 1; d++) {
		size_t off = 0, c;
		uint64_t k0;
		unsigned b;
		memcpy(&k0, &src[0], sizeof(k0));
		if (count[d][digit(k0, d)] == m)
			continue; /* every key has this digit: the pass would move nothing */
		for (b = 0; b < BUCKETS; b++) {
			c = count[d][b];
			count[d][b] = off;
			off += c;
		}
		for (i = 0; i < m; i++) {
			uint64_t k;
			memcpy(&k, &src[i], sizeof(k));
			memcpy(&dst[count[d][digit(k, d)]++], &k, sizeof(k));
		}
		src = dst;
		dst = src == v ? tmp : v;
	}
	for (i = 0; i < m; i++) {
		uint64_t k;
		memcpy(&k, &src[i], sizeof(k));
		v[i] = double_of(k);
	}
	for (i = m; i < n; i++)
		v[i] = NAN;
	return nan;
}

void ms_merge_f64(const double *a, size_t na, const double *b, size_t nb, double *out)
{
	size_t i = 0, j = 0, k = 0;

	while (i < na && j < nb)
		out[k++] = b[j] < a[i] ? b[j++] : a[i++];
	while (i < na)
		out[k++] = a[i++];
	while (j < nb)
		out[k++] = b[j++];
}
