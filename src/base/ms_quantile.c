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

/* Key i of a buffer of doubles that holds keys (memcpy: no aliasing of types). */
static inline uint64_t kget(const double *b, size_t i)
{
	uint64_t k;
	memcpy(&k, &b[i], sizeof(k));
	return k;
}

static inline void kput(double *b, size_t i, uint64_t k)
{
	memcpy(&b[i], &k, sizeof(k));
}

/*
 * LSD passes over digits d0..DIGITS-1 of the m keys in *srcp (the other buffer is
 * *dstp); a pass whose digit every key shares moves nothing and is skipped. count holds
 * the histograms of every digit. On return *srcp holds the keys.
 */
static void radix_passes(double **srcp, double **dstp, size_t m, int d0,
			 size_t count[DIGITS][BUCKETS])
{
	double *src = *srcp, *dst = *dstp, *t;
	size_t i;
	int d;

	for (d = d0; d < DIGITS && m > 1; d++) {
		size_t off = 0, c;
		unsigned b;
		if (count[d][digit(kget(src, 0), d)] == m)
			continue; /* every key has this digit: the pass would move nothing */
		for (b = 0; b < BUCKETS; b++) {
			c = count[d][b];
			count[d][b] = off;
			off += c;
		}
		for (i = 0; i < m; i++) {
			uint64_t k = kget(src, i);
			kput(dst, count[d][digit(k, d)]++, k);
		}
		t = src;
		src = dst;
		dst = t;
	}
	*srcp = src;
	*dstp = dst;
}

static void histograms(const double *b, size_t m, size_t count[DIGITS][BUCKETS])
{
	size_t i;
	int d;

	memset(count, 0, sizeof(size_t) * DIGITS * BUCKETS);
	for (i = 0; i < m; i++) {
		uint64_t k = kget(b, i);
		for (d = 0; d < DIGITS; d++)
			count[d][digit(k, d)]++;
	}
}

/*
 * Insertion sort of keys already in order of their top bits: only keys that share
 * those bits can be out of order, and they are few and adjacent. Gives up (0) once it
 * has moved more than `budget` keys, so clustered input cannot make it quadratic.
 */
static int insertion_finish(double *b, size_t m, size_t budget)
{
	size_t i, moved = 0;

	for (i = 1; i < m; i++) {
		uint64_t x = kget(b, i);
		size_t j = i;
		if (kget(b, j - 1) <= x)
			continue;
		while (j > 0 && kget(b, j - 1) > x) {
			kput(b, j, kget(b, j - 1));
			j--;
		}
		kput(b, j, x);
		moved += i - j;
		if (moved > budget)
			return 0;
	}
	return 1;
}

/* Digits sorted by radix passes before the insertion finish (the top 31 of 64 bits). */
#define TOP_DIGIT 3

size_t ms_sort_f64(double *v, size_t n, double *tmp)
{
	size_t count[DIGITS][BUCKETS];
	size_t i, m = 0, nan;
	double *src = v, *dst = tmp;

	/* NaNs out first: they have no place in the order (their bits would sort above +inf) */
	for (i = 0; i < n; i++)
		if (!isnan(v[i]))
			v[m++] = v[i];
	nan = n - m;
	for (i = 0; i < m; i++)
		kput(v, i, key_of(v[i]));
	histograms(v, m, count);
	/*
	 * Sorted keys are one order whatever the method: radix passes on the top bits
	 * (sign, exponent and the top mantissa bits), then insertion among the few keys
	 * that share them; clustered keys fall back to every radix pass.
	 */
	radix_passes(&src, &dst, m, TOP_DIGIT, count);
	if (!insertion_finish(src, m, 8 * m + 64)) {
		histograms(src, m, count);
		radix_passes(&src, &dst, m, 0, count);
	}
	for (i = 0; i < m; i++)
		v[i] = double_of(kget(src, i));
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
