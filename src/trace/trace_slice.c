/* Window, sample and time-compress a trace; see trace_slice.h. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "trace/trace_slice.h"
#include "base/ms_rand.h"
#include "trace/trace_write.h"

void trace_slice_opts_default(struct trace_slice_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->rate_scale = 1.0;
	o->sample_p = 1.0;
	o->seed = 1;
}

int trace_slice_time_parse(const struct trace_set *ts, const char *s, double *off_s,
			   struct ms_error *err)
{
	int64_t ns;
	char *end;
	double v, unit = 1;

	if (strchr(s, ':')) {
		if (trace_time_parse(s, strlen(s), &ns, NULL))
			return ms_error_set(err, MS_EINVAL,
					    "not a timestamp (YYYY-MM-DDTHH:MM:SS[.f][Z]): '%s'", s);
		*off_s = (double)(ns - ts->start_ns) / 1e9;
		return 0;
	}
	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno || !isfinite(v) || v < 0 || *s == '-' || *s == '+')
		return ms_error_set(err, MS_EINVAL,
				    "not an offset (seconds, or a number with s/m/h/d): '%s'", s);
	switch (*end) {
	case 0:
	case 's':
		break;
	case 'm':
		unit = 60;
		break;
	case 'h':
		unit = 3600;
		break;
	case 'd':
		unit = 86400;
		break;
	default:
		unit = -1;
	}
	if (unit < 0 || (*end && end[1]))
		return ms_error_set(err, MS_EINVAL,
				    "not an offset (seconds, or a number with s/m/h/d): '%s'", s);
	*off_s = v * unit;
	return 0;
}

int trace_slice(const struct trace_set *in, const struct trace_slice_opts *o,
		struct trace_set *out, struct ms_error *err)
{
	int64_t unit = 1, first_ns = 0, max_ns;
	uint64_t rs = o->seed;
	size_t i, kept = 0;
	double too_far_ns = 0; /* > 0: a scaled time passed the last loadable instant */
	int d, rc;

	if (!(o->rate_scale > 0) || !isfinite(o->rate_scale))
		return ms_error_set(err, MS_EINVAL, "rate scale must be a positive number, not %g",
				    o->rate_scale);
	if (!(o->sample_p >= 0 && o->sample_p <= 1))
		return ms_error_set(err, MS_EINVAL, "sample probability must be in [0, 1], not %g",
				    o->sample_p);
	if (o->has_from && o->has_to && o->to_s <= o->from_s)
		return ms_error_set(err, MS_EINVAL, "empty window: --to (%gs) is not after --from (%gs)",
				    o->to_s, o->from_s);
	/* the source's time unit: what its timestamps can say, what the writer prints */
	for (d = in->frac_digits < 0 ? 0 : in->frac_digits; d < 9; d++)
		unit *= 10;
	/*
	 * The latest time the loader reads back, asked of the loader's own parser so the
	 * two cannot disagree; a slice past it would write a file that never loads again.
	 */
	if (trace_time_parse(TRACE_WRITE_LAST_TIME, strlen(TRACE_WRITE_LAST_TIME), &max_ns, NULL))
		return ms_error_set(err, MS_EINVAL, "internal: cannot parse %s", TRACE_WRITE_LAST_TIME);
	rc = trace_set_reserve(out, in->n ? in->n : 1, err);
	if (rc < 0)
		return rc;
	out->format = in->format;
	out->frac_digits = in->frac_digits;
	out->start_ns = in->start_ns;
	for (i = 0; i < in->n; i++) {
		int64_t ns, rel;
		if (o->has_from && in->t[i] < o->from_s)
			continue;
		if (o->has_to && in->t[i] >= o->to_s)
			break; /* t[] is non-decreasing */
		/* draw for every row in the window so the choice of a row does not depend on P */
		if ((double)(ms_splitmix64(&rs) >> 11) * 0x1.0p-53 >= o->sample_p)
			continue;
		ns = trace_set_time_ns(in, i);
		if (!kept)
			first_ns = ns;
		rel = ns - first_ns;
		if (o->rate_scale != 1.0) {
			/* rel ns ahead of first_ns; checked in double first so llround cannot overflow */
			double sc = (double)rel / o->rate_scale;
			if (too_far_ns > 0 || sc > (double)(max_ns - first_ns) + 1e9) {
				too_far_ns = sc;
				kept++;
				continue;
			}
			rel = llround(sc / (double)unit) * unit;
			if (rel > max_ns - first_ns) {
				too_far_ns = sc;
				kept++;
				continue;
			}
		}
		out->t[kept] = (double)rel / 1e9;
		out->images[kept] = in->images[i];
		out->ctx[kept] = in->ctx[i];
		out->gen[kept] = in->gen[i];
		kept++;
	}
	if (too_far_ns > 0) {
		/* rows stay sorted, so the last kept row is the furthest: report its distance */
		double years = too_far_ns / 1e9 / (365.2425 * 86400.0);
		out->n = 0;
		return ms_error_set(err, MS_ERANGE,
				    "rate scale %g stretches the trace to %.*f years; the result "
				    "would end after %.4s, the last year a trace file can hold",
				    o->rate_scale, years < 10 ? 1 : 0, years, TRACE_WRITE_LAST_TIME);
	}
	out->n = kept;
	if (kept)
		out->start_ns = first_ns;
	return 0;
}
