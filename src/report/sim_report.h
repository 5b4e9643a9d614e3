/*
 * sim_report: what `modserve sim` shows: text tables (one run, or several
 * deployments side by side), JSON (jansson, keys in a fixed insertion order so
 * equal runs give byte-identical text), per-request CSV, and figures (TTFT and
 * TPOT CDFs per deployment, per-pool time series) drawn through report_plot,
 * and the HTML page that gathers them. Called by cli/cmd_sim.c. Writes only to the FILE or paths it is given.
 */
#ifndef SIM_REPORT_H
#define SIM_REPORT_H

#include <stdio.h>

#include <jansson.h>

#include "base/ms_error.h"
#include "metrics/metrics.h"
#include "sim/sim.h"

struct sim_report_run {
	const struct sim_config *cfg;
	const struct sim_result *res;
	struct metrics_summary sum;
};

/* Inputs common to every run, echoed in JSON and tables. */
struct sim_report_ctx {
	const char *trace;     /* path or "synth:N" */
	const char *model, *gpu;
	uint32_t gpus;
	double slo_ttft_s, slo_tpot_s, slo_scale;
	int slo_default;       /* 1 when the SLOs were derived from the monolith */
};

/* New JSON object (caller json_decref's it); NULL on out of memory. */
json_t *sim_report_json(const struct sim_report_ctx *ctx, const struct sim_report_run *runs,
			size_t n);
void sim_report_table(FILE *out, const struct sim_report_ctx *ctx,
		      const struct sim_report_run *runs, size_t n);
int sim_report_csv(const char *path, const struct sim_result *res, struct ms_error *err);
/* Figures under dir: ttft_cdf, tpot_cdf, and <deploy>_<pool>_{queue,busy,kv}. */
int sim_report_plots(const char *dir, const struct sim_report_ctx *ctx,
		     const struct sim_report_run *runs, size_t n, struct ms_error *err);
/*
 * dir/index.html: setup, pools per deployment, the side-by-side table (the
 * numbers of sim_report_table) and every figure sim_report_plots writes, by
 * relative path. Call after sim_report_plots with the same runs.
 */
int sim_report_html(const char *dir, const struct sim_report_ctx *ctx,
		    const struct sim_report_run *runs, size_t n, struct ms_error *err);

#endif
