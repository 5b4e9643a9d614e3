/*
 * trace_slice: cut a time window out of a trace, compress it in time, or sample it.
 *
 * Called by `modserve trace slice` and by anyone who needs a smaller or faster trace.
 * Order: the [from, to) window is taken on the input's times, then rows are sampled,
 * then time is compressed. The result is a valid struct trace_set in the input's format
 * and precision: row 0 is the first kept row (t[0] == 0, start_ns its absolute time),
 * every time is rounded to the format's fraction digits, so a written slice loads back
 * to the same values. The input is never modified. Times that would end after
 * TRACE_WRITE_LAST_TIME (trace_write.h: the loader's last year, see trace_time_parse) are refused with
 * MS_ERANGE before anything is returned, so a rate-scaled slice always loads again.
 */
#ifndef TRACE_SLICE_H
#define TRACE_SLICE_H

#include <stdint.h>

#include "base/ms_error.h"
#include "trace/trace.h"

struct trace_slice_opts {
	int has_from, has_to;
	double from_s, to_s;  /* offsets in seconds from the input's start; window is [from, to) */
	double rate_scale;    /* K > 0: inter-arrival gaps divided by K (K = 2 doubles the rate) */
	double sample_p;      /* keep each row with this probability, in [0, 1] (1 = all) */
	uint64_t seed;        /* for sampling: same seed, same rows */
};

void trace_slice_opts_default(struct trace_slice_opts *o);

/*
 * Parses a --from/--to value against ts: an absolute timestamp in either trace style
 * (`2024-10-15T13:00:00Z`, `2023-11-16 18:20:00`) or a non-negative offset from the start
 * in seconds with an optional unit s, m, h, d (`3600`, `90s`, `30m`, `1.5h`, `2d`).
 * Stores seconds from ts's start (negative when an absolute time precedes it).
 */
int trace_slice_time_parse(const struct trace_set *ts, const char *s, double *off_s,
			   struct ms_error *err);

/* Fills the freshly initialised out. An empty result is not an error (out->n == 0). */
int trace_slice(const struct trace_set *in, const struct trace_slice_opts *o,
		struct trace_set *out, struct ms_error *err);

#endif
