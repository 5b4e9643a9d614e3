/*
 * repro_int: what the files of repro/ share (never included elsewhere): one
 * model's setup for every experiment, the row helper and the experiments.
 */
#ifndef REPRO_INT_H
#define REPRO_INT_H

#include <stdio.h>

#include "metrics/metrics.h"
#include "plan/plan.h"
#include "repro/repro.h"
#include "sim/sim.h"

struct repro__model {
	const struct repro_opts *o;
	const char *name;
	int cross;                /* cross-attention (the paper's Llama) or decoder-only */
	struct perf perf;
	struct sim_config base;   /* defaults; each experiment sets pools and rate */
	struct plan_slo slo;      /* per-request targets at o->slo_scale */
	struct plan_opts po;
	double mono_max, decoup_max; /* highest load within the SLO on 16 servers (fig. 2) */
	double pd_rate;            /* fig. 6's full load (the PD-monolith's highest, or 1) */
};

/* Adds a row (and logs it); returns it, or NULL when out of memory (the row is lost). */
struct repro_row *repro__row(struct repro_table *t, const char *fig, const struct repro__model *m,
		const char *what, const char *paper, double paper_v, double ours,
		const char *unit, const char *note);
/*
 * A figure's data: out_dir/<base>-<model>.csv opened for writing (its name left in
 * path), NULL with err set; and its close, which keeps a failing rc and turns a 0 into
 * -MS_EIO when the data did not reach the disk.
 */
FILE *repro__csv_open(const struct repro__model *m, const char *base, char *path,
		      size_t size, struct ms_error *err);
int repro__csv_close(FILE *f, const char *path, int rc, struct ms_error *err);
/* TTFT p50/p90/p99 per system as lines over the percentile: out_dir/<base>-<model>.png/svg */
int repro__bars(struct repro__model *m, const char *base, const char *title,
		const char *const *names, const struct metrics_summary *s, int n,
		struct ms_error *err);

/* Only the loads fig. 2 would leave (mono_max, decoup_max), for a run without fig. 2. */
int repro__loads(struct repro__model *m, struct ms_error *err);
int repro__max_load(struct repro__model *m, struct repro_table *t, struct ms_error *err);
int repro__static(struct repro__model *m, struct repro_table *t, struct ms_error *err);
/* Fig. 3 (repro_scale.c): autoscaling, ModServe vs the monolith's autoscaler. */
int repro__autoscale(struct repro__model *m, struct repro_table *t, struct ms_error *err);
int repro__slo_scale(struct repro__model *m, struct repro_table *t, struct ms_error *err);
int repro__ratio(struct repro__model *m, struct repro_table *t, struct ms_error *err);
int repro__pd(struct repro__model *m, struct repro_table *t, struct ms_error *err);
int repro__tcp(struct repro__model *m, struct repro_table *t, struct ms_error *err);

#endif
