/*
 * ms_quantile: the project's one definition of a quantile, and an O(n) sort of doubles
 * to feed it.
 *
 * Quantile q (0..1) of n sorted values is numpy's default 'linear' method (also pandas'
 * Series.quantile): position q x (n - 1), linear between the two order statistics around
 * it, with numpy's _lerp so results agree with numpy to the last bit. `trace stats`
 * (trace_stats.c: sorted columns, value counts, per-minute counts) and `sim` summaries
 * (metrics.c) both call it, so a p99 means one thing everywhere. q outside 0..1 is
 * clamped; NaN q or n == 0 gives NaN.
 *
 * ms_sort_f64 sorts doubles ascending by an LSD radix sort of their IEEE-754 bit patterns
 * (11-bit digits, passes whose digit is the same for every key skipped): a million
 * latencies in a few ms where qsort with a comparator takes ~100 ms, and the summaries
 * of a `sim --compare` sort nine such arrays per design. NaNs (no order) are moved to the
 * end and counted, never sorted among the numbers; -0.0 sorts before +0.0.
 * No allocation, no state: callers own the arrays.
 */
#ifndef MS_QUANTILE_H
#define MS_QUANTILE_H

#include <stddef.h>
#include <stdint.h>

/* Where quantile q of n sorted values lies: between v[lo] and v[hi] at fraction t. */
struct ms_qpos {
	size_t lo, hi;
	double t;
};

/* Fills *pos; -1 (and *pos untouched) when n == 0 or q is NaN. */
int ms_quantile_pos(size_t n, double q, struct ms_qpos *pos);
/* numpy's _lerp: a + (b - a)t, or b - (b - a)(1 - t) from t >= 0.5. */
double ms_lerp(double a, double b, double t);

/* Quantile q of sorted v[0..n); NaN when n == 0 or q is NaN. */
double ms_quantile(const double *sorted, size_t n, double q);
double ms_quantile_u32(const uint32_t *sorted, size_t n, double q);
double ms_quantile_u64(const uint64_t *sorted, size_t n, double q);

/*
 * Sorts v[0..n) ascending in O(n); tmp holds n doubles (scratch). NaNs end up in
 * v[n - k .. n), the numbers sorted in v[0 .. n - k); returns k, the count of NaNs.
 */
size_t ms_sort_f64(double *v, size_t n, double *tmp);

/*
 * Merges sorted a[0..na) and b[0..nb) into out[0..na + nb) (sorted; ties take a's first).
 * Two sorted classes give their union's order in one pass, without a third sort.
 */
void ms_merge_f64(const double *a, size_t na, const double *b, size_t nb, double *out);

#endif
