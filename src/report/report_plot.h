/*
 * report_plot: line, step and time-series figures, drawn by gnuplot.
 *
 * Owns struct report_plot (one figure: titles, axes, series of x/y points) and
 * the empirical-CDF helper the trace and simulator figures share. Called by
 * report_trace.c (`modserve trace plot/report`) and by the simulator's report.
 * How: writes the points and a gnuplot script into a fresh temporary
 * directory, runs `gnuplot script` (or $MS_GNUPLOT) with its output captured,
 * checks the exit status, then removes the directory. One run writes both
 * <out_base>.png (pngcairo) and <out_base>.svg (svg). gnuplot's own message
 * ends up in err when it fails; nothing is printed.
 * Invariants: on a log axis, points with a coordinate <= 0 cannot be drawn and
 * are left out of the figure (the caller's arrays are never changed); a figure
 * with no drawable point at all still gets both files, showing "no data".
 * Times (x_is_time) are Unix seconds, drawn in UTC.
 */
#ifndef REPORT_PLOT_H
#define REPORT_PLOT_H

#include <stddef.h>

#include "base/ms_error.h"

struct report_series {
	const char *title;
	const double *x;
	const double *y;
	size_t n;
};

struct report_plot {
	const char *title, *xlabel, *ylabel;
	int logx, logy;
	int x_is_time;   /* x values are Unix seconds (UTC): draw readable dates/times */
	int steps;       /* draw as steps (CDFs) rather than lines */
	const struct report_series *series;
	size_t n_series;
};

/* Writes <out_base>.png and <out_base>.svg by driving gnuplot (pngcairo/svg terminals). */
int report_plot_write(const struct report_plot *p, const char *out_base, struct ms_error *err);

/*
 * Empirical CDF helper: sorts a copy of v and fills x (values) and y (percent
 * 0..100 of values <= x, one point per distinct value); returns the number of
 * points. With max_points >= 3 and more distinct values than that, keeps the
 * first and last point and every point whose percent rose by at least
 * 100/(max_points-2) since the last kept one: every kept point is an exact CDF
 * point and the drawn steps are never off by more than that many percent.
 * max_points 0 keeps all. n == 0 gives 0 and NULL arrays. NaN is an error.
 * Caller frees *x, *y.
 */
int report_cdf_points(const double *v, size_t n, size_t max_points, double **x, double **y,
		      struct ms_error *err);

/* mkdir -p for an output directory. */
int report_dir_make(const char *dir, struct ms_error *err);

#endif
