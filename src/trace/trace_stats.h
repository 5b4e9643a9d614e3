/*
 * trace_stats: exact statistics of a trace, behind `modserve trace stats`,
 * `plot` and `report`.
 *
 * Owns struct trace_stats (row counts, time span, distributions, per-minute
 * burstiness, busiest minute) and struct trace_minutes (per-minute series, by
 * class, that the figures draw). Called by cli/cmd_trace_{stats,plot,report}.c
 * and report/. Nothing here prints.
 * Definitions (the pandas test checks each of them):
 * - image request: NumImages > 0; text request: NumImages == 0.
 * - percentiles: linear interpolation between order statistics at position
 *   q*(n-1) of the sorted values (numpy/pandas default "linear", computed by
 *   base/ms_quantile.h as for `sim`); exact, from counting or radix sorts of the
 *   integer columns, never sketches.
 * - minutes: wall-clock minutes, absolute time floored to the minute (pandas
 *   dt.floor('min')), every minute from the first row's to the last row's,
 *   empty ones counted as zeros.
 * - per-minute CV = population standard deviation (ddof=0) / mean;
 *   peak-to-mean = max / mean; both NaN when the mean is 0.
 * - busiest minute: most requests (image + text); the earliest one on ties.
 * Undefined values (percentiles of no rows, CV of a zero mean) are NaN.
 */
#ifndef TRACE_STATS_H
#define TRACE_STATS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/ms_error.h"
#include "trace/trace.h"

enum trace_class { TRACE_CLASS_IMAGE = 0, TRACE_CLASS_TEXT = 1, TRACE_CLASS__COUNT };

/* What is counted per minute. */
enum trace_mcol {
	TRACE_MCOL_REQUESTS = 0,
	TRACE_MCOL_IMAGES,
	TRACE_MCOL_IN_TOKENS,
	TRACE_MCOL_OUT_TOKENS,
	TRACE_MCOL__COUNT
};

const char *trace_class_name(enum trace_class c);  /* "image", "text" */
const char *trace_mcol_name(enum trace_mcol m);    /* "requests", "images", ... */

/* Distribution of one integer column over one set of rows. */
struct trace_dist {
	uint64_t n;
	uint64_t sum;
	double mean, p50, p90, p99, p999;
	uint64_t max;       /* 0 when n == 0 */
};

/* Burstiness of one per-minute series. */
struct trace_burst {
	uint64_t total;
	double mean, p99, cv, peak_to_mean;
	uint64_t max;
};

/* Per-minute sums; v[class][col] has n_minutes entries, minute i starting at
 * minute0_ns + i * 60 s. */
struct trace_minutes {
	size_t n_minutes;
	int64_t minute0_ns;
	uint64_t *v[TRACE_CLASS__COUNT][TRACE_MCOL__COUNT];
};

struct trace_stats {
	uint64_t rows;
	uint64_t requests[TRACE_CLASS__COUNT];
	double image_share;                     /* image requests / rows */
	int64_t first_ns, last_ns;              /* absolute, ns since the epoch */
	double span_s;                          /* last - first */
	int frac_digits;                        /* of the source timestamps */
	struct trace_dist images;               /* NumImages over image requests */
	struct trace_dist ctx[TRACE_CLASS__COUNT];
	struct trace_dist gen[TRACE_CLASS__COUNT];
	size_t n_minutes;
	int64_t minute0_ns;
	struct trace_burst minute[TRACE_CLASS__COUNT][TRACE_MCOL__COUNT];
	int64_t busiest_ns;                     /* start of the busiest minute */
	uint64_t busiest_requests, busiest_image_requests, busiest_images;
};

/* Buckets ts by minute. tm is filled (release with trace_minutes_release). */
int trace_minutes_compute(const struct trace_set *ts, struct trace_minutes *tm,
			  struct ms_error *err);
void trace_minutes_release(struct trace_minutes *tm);

/* All of struct trace_stats. tm may be NULL (computed and dropped inside). */
int trace_stats_compute(const struct trace_set *ts, const struct trace_minutes *tm,
			struct trace_stats *st, struct ms_error *err);

/* Sorts v in place in O(n + range) or by radix; tmp holds n values. */
void trace_sort_u32(uint32_t *v, size_t n, uint32_t *tmp);

/*
 * The whole of st as a JSON object, keys in a fixed order (the order of
 * struct trace_stats); NaN is null; times are ISO-8601 UTC strings plus Unix
 * seconds. source names the input. Caller owns the reference (json_decref).
 */
json_t *trace_stats_json(const struct trace_stats *st, const char *source);

#endif
