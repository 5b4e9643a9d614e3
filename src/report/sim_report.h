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
#include "sim/sim_autoscale.h"

struct sim_report_run {
	const struct sim_config *cfg;
	const struct sim_result *res;
	struct metrics_summary sum;
	const char *label;     /* the run's name (a --system); NULL: the deployment kind's */
	const struct sim_autoscale *scale; /* --autoscale: the pools' size over time; else NULL */
};

/* The run's label, else its deployment kind's name. */
const char *sim_report_run_name(const struct sim_report_run *r);

/* Inputs common to every run, echoed in JSON and tables. */
struct sim_report_ctx {
	const char *trace;     /* path or "synth:N" */
	const char *model, *gpu;
	uint32_t gpus;
	double slo_ttft_s, slo_tpot_s, slo_scale;
	int slo_default;       /* 1 when either SLO was derived from the monolith */
	int slo_ttft_given, slo_tpot_given; /* 1 when set by --slo-ttft / --slo-tpot */
	const struct sim_work *work; /* the split's work estimate; NULL for explicit pools */
	uint32_t gpu_budget;   /* the budget the default rule split (0: pools were explicit) */
};

/* New JSON object (caller json_decref's it); NULL on out of memory. */
json_t *sim_report_json(const struct sim_report_ctx *ctx, const struct sim_report_run *runs,
			size_t n);
void sim_report_table(FILE *out, const struct sim_report_ctx *ctx,
		      const struct sim_report_run *runs, size_t n);
int sim_report_csv(const char *path, const struct sim_result *res, struct ms_error *err);
/* The same CSV on an open stream (stdout for `--per-request -`); `name` for errors. */
int sim_report_csv_file(FILE *f, const char *name, const struct sim_result *res,
			struct ms_error *err);
/* "0.123 s" from 0.1 s up, "12.3 ms" / "0.0001 ms" below: enough digits for any target. */
void sim_report_fmt_s(char *buf, size_t size, double s);
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
