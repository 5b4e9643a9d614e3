/*
 * report_trace: the trace figures and the HTML page of `modserve trace plot`
 * and `modserve trace report`.
 *
 * Draws the seven figures of the Azure LMM 2025 data set's own notebook
 * (shared/docs/notebook-figures): CDFs of images per image request, of input
 * and of generated tokens (image vs text, log x), and per-minute invocations,
 * images, input and output tokens (image vs text, over wall-clock time), each
 * as <dir>/<name>.png and .svg through report_plot. report_trace_html writes
 * <dir>/index.html: the stats tables of struct trace_stats and the figures,
 * by relative path, so the directory can be moved as a whole.
 * Called by cli/cmd_trace_plot.c and cmd_trace_report.c. Prints nothing.
 */
#ifndef REPORT_TRACE_H
#define REPORT_TRACE_H

#include <stddef.h>

#include "base/ms_error.h"
#include "trace/trace.h"
#include "trace/trace_stats.h"

#define REPORT_TRACE_FIGURES 7

/* File base names (no extension) of the figures, in notebook order. */
extern const char *const report_trace_figure_names[REPORT_TRACE_FIGURES];
/* Their titles, for captions. */
extern const char *const report_trace_figure_titles[REPORT_TRACE_FIGURES];

/* Writes the 14 files into dir (made if missing). tm: per-minute sums of ts. */
int report_trace_figures(const struct trace_set *ts, const struct trace_minutes *tm,
			 const char *dir, struct ms_error *err);

/* Writes dir/index.html for the figures already in dir. source names the trace. */
int report_trace_html(const struct trace_stats *st, const char *source, const char *dir,
		      struct ms_error *err);

#endif
