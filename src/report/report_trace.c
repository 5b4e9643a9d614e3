#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report_plot.h"
#include "report/report_trace.h"

/* Enough points that a CDF over a million requests is exact to 0.05 percent. */
#define CDF_POINTS 2000

const char *const report_trace_figure_names[REPORT_TRACE_FIGURES] = {
	"0-images-per-request-cdf", "1-input-tokens-cdf",	   "2-generated-tokens-cdf",
	"3-invocations-per-minute", "4-images-per-minute",	   "5-input-tokens-per-minute",
	"6-output-tokens-per-minute",
};

const char *const report_trace_figure_titles[REPORT_TRACE_FIGURES] = {
	"Images per Image Request",	"Input Tokens",	       "Generated Tokens",
	"Invocations per Minute",	"Images per Minute",   "Input Tokens per Minute",
	"Output Tokens per Minute",
};

static const char *const class_titles[TRACE_CLASS__COUNT] = { "Image Requests",
							       "Text Requests" };

static int out_base(char *buf, size_t size, const char *dir, int fig, struct ms_error *err)
{
	int n = snprintf(buf, size, "%s/%s", dir, report_trace_figure_names[fig]);
	if (n < 0 || (size_t)n >= size)
		return ms_error_set(err, MS_EINVAL, "%s: directory name too long", dir);
	return 0;
}

/* CDF of one column per class (or of the image class only). */
static int cdf_figure(const struct trace_set *ts, const uint32_t *col, int classes,
		      const char *dir, int fig, const char *xlabel, struct ms_error *err)
{
	struct report_series se[TRACE_CLASS__COUNT];
	double *v = malloc((ts->n ? ts->n : 1) * sizeof(*v));
	double *px[TRACE_CLASS__COUNT] = { NULL, NULL }, *py[TRACE_CLASS__COUNT] = { NULL, NULL };
	struct report_plot p = { .title = report_trace_figure_titles[fig], .xlabel = xlabel,
				 .ylabel = "CDF (%)", .logx = 1, .steps = 1, .series = se,
				 .n_series = (size_t)classes };
	char base[4200];
	int c, rc = 0;

	if (!v)
		return ms_error_set(err, MS_ENOMEM, "out of memory for %zu values", ts->n);
	for (c = 0; c < classes; c++) {
		size_t i, k = 0;
		for (i = 0; i < ts->n; i++)
			if ((ts->images[i] ? TRACE_CLASS_IMAGE : TRACE_CLASS_TEXT) == c)
				v[k++] = (double)col[i];
		rc = report_cdf_points(v, k, CDF_POINTS, &px[c], &py[c], err);
		if (rc < 0)
			goto cleanup;
		se[c] = (struct report_series){ class_titles[c], px[c], py[c], (size_t)rc };
	}
	rc = out_base(base, sizeof(base), dir, fig, err);
	if (rc == 0)
		rc = report_plot_write(&p, base, err);
cleanup:
	for (c = 0; c < TRACE_CLASS__COUNT; c++) {
		free(px[c]);
		free(py[c]);
	}
	free(v);
	return rc;
}

static int minute_figure(const struct trace_minutes *tm, int col, const char *dir, int fig,
			 const char *ylabel, struct ms_error *err)
{
	struct report_series se[TRACE_CLASS__COUNT];
	size_t m = tm->n_minutes, i;
	double *x = malloc((m ? m : 1) * sizeof(*x));
	double *y = malloc((m ? m : 1) * TRACE_CLASS__COUNT * sizeof(*y));
	struct report_plot p = { .title = report_trace_figure_titles[fig], .xlabel = "Time (UTC)",
				 .ylabel = ylabel, .x_is_time = 1, .series = se,
				 .n_series = TRACE_CLASS__COUNT };
	char base[4200];
	int c, rc;

	if (!x || !y) {
		free(x);
		free(y);
		return ms_error_set(err, MS_ENOMEM, "out of memory for %zu minutes", m);
	}
	for (i = 0; i < m; i++)
		x[i] = (double)(tm->minute0_ns / 1000000000LL) + 60.0 * (double)i;
	for (c = 0; c < TRACE_CLASS__COUNT; c++) {
		for (i = 0; i < m; i++)
			y[(size_t)c * m + i] = (double)tm->v[c][col][i];
		se[c] = (struct report_series){ class_titles[c], x, y + (size_t)c * m, m };
	}
	rc = out_base(base, sizeof(base), dir, fig, err);
	if (rc == 0)
		rc = report_plot_write(&p, base, err);
	free(x);
	free(y);
	return rc;
}

int report_trace_figures(const struct trace_set *ts, const struct trace_minutes *tm,
			 const char *dir, struct ms_error *err)
{
	int rc = report_dir_make(dir, err);
	if (rc == 0)
		rc = cdf_figure(ts, ts->images, 1, dir, 0, "Number of Images", err);
	if (rc == 0)
		rc = cdf_figure(ts, ts->ctx, 2, dir, 1, "Number of Tokens", err);
	if (rc == 0)
		rc = cdf_figure(ts, ts->gen, 2, dir, 2, "Number of Tokens", err);
	if (rc == 0)
		rc = minute_figure(tm, TRACE_MCOL_REQUESTS, dir, 3, "Requests per Minute", err);
	if (rc == 0)
		rc = minute_figure(tm, TRACE_MCOL_IMAGES, dir, 4, "Images per Minute", err);
	if (rc == 0)
		rc = minute_figure(tm, TRACE_MCOL_IN_TOKENS, dir, 5, "Input Tokens per Minute",
				   err);
	if (rc == 0)
		rc = minute_figure(tm, TRACE_MCOL_OUT_TOKENS, dir, 6, "Output Tokens per Minute",
				   err);
	return rc;
}
