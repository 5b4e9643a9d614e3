/*
 * The trace the simulating commands (sim, plan, reproduce) read alike: a file or
 * the built-in synthetic week (their perf model comes from perf_open).
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "trace/trace_synth.h"

int cli_trace_or_synth(struct trace_set *ts, const char *path, unsigned long long synth,
		       uint64_t seed, int skip_bad, char *label, size_t size, struct ms_error *err)
{
	struct trace_synth_opts so;

	/* a path, "synth" included, is cli_trace_load's to read */
	if (path) {
		snprintf(label, size, "%s", path);
		return cli_trace_load(ts, path, skip_bad, err);
	}
	trace_synth_opts_default(&so);
	so.requests = synth;
	so.seed = seed;
	snprintf(label, size, "synth:%llu", synth);
	return trace_synth(ts, &so, err);
}
