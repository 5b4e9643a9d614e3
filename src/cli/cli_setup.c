/*
 * What the simulating commands (sim, plan) set up alike: the perf model of a
 * model on a GPU (with an optional measured profile) and the trace, a file or
 * the built-in synthetic week.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "trace/trace_synth.h"

int cli_perf_load(struct perf *perf, const char *model, const char *gpu, const char *engine,
		  const char *profile, struct ms_error *err)
{
	struct model_spec m;
	struct gpu_spec g;
	int rc;

	if ((rc = model_spec_load(&m, model, err)) < 0 || (rc = gpu_spec_load(&g, gpu, err)) < 0 ||
	    (rc = perf_init_engine(perf, &m, &g, engine, err)) < 0)
		return rc;
	if (profile && (rc = perf_load_profile(perf, profile, err)) < 0) {
		perf_release(perf);
		return rc;
	}
	return 0;
}

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
