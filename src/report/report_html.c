#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "report/report_trace.h"

static void esc(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

static void cell(FILE *f, double x, int digits)
{
	if (!isfinite(x))
		fputs("<td>-</td>", f);
	else if (x == floor(x) && fabs(x) < 1e15)
		fprintf(f, "<td>%.0f</td>", x);
	else
		fprintf(f, "<td>%.*f</td>", digits, x);
}

static void dist_row(FILE *f, const char *name, const struct trace_dist *d)
{
	fprintf(f, "<tr><th>%s</th><td>%llu</td>", name, (unsigned long long)d->n);
	cell(f, d->mean, 2);
	cell(f, d->p50, 2);
	cell(f, d->p90, 2);
	cell(f, d->p99, 2);
	cell(f, d->p999, 2);
	cell(f, d->n ? (double)d->max : NAN, 0);
	fputs("</tr>\n", f);
}

static void tables(FILE *f, const struct trace_stats *st)
{
	char a[64], b[64];
	int c, k;

	trace_time_format(st->first_ns, TRACE_FMT_LMM2025, st->frac_digits, a, sizeof(a));
	trace_time_format(st->last_ns, TRACE_FMT_LMM2025, st->frac_digits, b, sizeof(b));
	fprintf(f, "<h2>Summary</h2>\n<table>\n"
		   "<tr><th>rows</th><td>%llu</td></tr>\n"
		   "<tr><th>image requests</th><td>%llu (%.2f%%)</td></tr>\n"
		   "<tr><th>text requests</th><td>%llu</td></tr>\n"
		   "<tr><th>first</th><td>%s</td></tr>\n<tr><th>last</th><td>%s</td></tr>\n"
		   "<tr><th>span</th><td>%.3f s (%zu minutes)</td></tr>\n</table>\n",
		(unsigned long long)st->rows, (unsigned long long)st->requests[TRACE_CLASS_IMAGE],
		isfinite(st->image_share) ? 100.0 * st->image_share : 0.0,
		(unsigned long long)st->requests[TRACE_CLASS_TEXT], st->rows ? a : "-",
		st->rows ? b : "-", st->span_s, st->n_minutes);

	fputs("<h2>Per request</h2>\n<table>\n<tr><th></th><th>n</th><th>mean</th><th>p50</th>"
	      "<th>p90</th><th>p99</th><th>p99.9</th><th>max</th></tr>\n", f);
	dist_row(f, "NumImages (image requests)", &st->images);
	dist_row(f, "ContextTokens, image", &st->ctx[TRACE_CLASS_IMAGE]);
	dist_row(f, "ContextTokens, text", &st->ctx[TRACE_CLASS_TEXT]);
	dist_row(f, "GeneratedTokens, image", &st->gen[TRACE_CLASS_IMAGE]);
	dist_row(f, "GeneratedTokens, text", &st->gen[TRACE_CLASS_TEXT]);
	fputs("</table>\n", f);

	fputs("<h2>Per minute</h2>\n<table>\n<tr><th></th><th>total</th><th>mean</th>"
	      "<th>p99</th><th>max</th><th>CV</th><th>peak/mean</th></tr>\n", f);
	for (c = 0; c < TRACE_CLASS__COUNT; c++) {
		for (k = 0; k < TRACE_MCOL__COUNT; k++) {
			const struct trace_burst *bu = &st->minute[c][k];
			fprintf(f, "<tr><th>%s %s</th><td>%llu</td>",
				trace_class_name((enum trace_class)c),
				trace_mcol_name((enum trace_mcol)k),
				(unsigned long long)bu->total);
			cell(f, bu->mean, 2);
			cell(f, bu->p99, 2);
			cell(f, (double)bu->max, 0);
			cell(f, bu->cv, 3);
			cell(f, bu->peak_to_mean, 2);
			fputs("</tr>\n", f);
		}
	}
	fputs("</table>\n", f);
	if (st->n_minutes) {
		trace_time_format(st->busiest_ns, TRACE_FMT_LMM2025, 0, a, sizeof(a));
		fprintf(f, "<p>Busiest minute: <b>%s</b>, %llu requests (%llu image), "
			   "%llu images.</p>\n", a, (unsigned long long)st->busiest_requests,
			(unsigned long long)st->busiest_image_requests,
			(unsigned long long)st->busiest_images);
	}
	fputs("<p class=\"note\">Percentiles: linear interpolation at q*(n-1), exact. Minutes: "
	      "UTC wall-clock minutes, empty minutes count as zeros. CV: population standard "
	      "deviation / mean. Peak/mean: max / mean.</p>\n", f);
}

int report_trace_html(const struct trace_stats *st, const char *source, const char *dir,
		      struct ms_error *err)
{
	char path[4200];
	FILE *f;
	int i, n = snprintf(path, sizeof(path), "%s/index.html", dir);

	if (n < 0 || (size_t)n >= sizeof(path))
		return ms_error_set(err, MS_EINVAL, "%s: directory name too long", dir);
	f = fopen(path, "w");
	if (!f)
		return ms_error_set(err, MS_EIO, "%s: %s", path, strerror(errno));
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<title>modserve trace report: ", f);
	esc(f, source);
	fputs("</title>\n<style>\nbody{font-family:sans-serif;max-width:1560px;margin:1em auto;}\n"
	      "table{border-collapse:collapse;margin:0.5em 0;}\n"
	      "td,th{border:1px solid #ccc;padding:2px 8px;text-align:right;}\n"
	      "th{background:#f4f4f4;}\nfigure{margin:1em 0;}\nimg{max-width:100%;}\n"
	      ".note{color:#555;font-size:90%;}\n</style>\n</head>\n<body>\n<h1>Trace ", f);
	esc(f, source);
	fputs("</h1>\n", f);
	tables(f, st);
	fputs("<h2>Figures</h2>\n", f);
	for (i = 0; i < REPORT_TRACE_FIGURES; i++) {
		fprintf(f, "<figure><img src=\"%s.png\" alt=\"%s\">"
			   "<figcaption>%d. %s (<a href=\"%s.svg\">SVG</a>)</figcaption></figure>\n",
			report_trace_figure_names[i], report_trace_figure_titles[i], i,
			report_trace_figure_titles[i], report_trace_figure_names[i]);
	}
	fputs("</body>\n</html>\n", f);
	if (ferror(f) | fclose(f))
		return ms_error_set(err, MS_EIO, "%s: write failed", path);
	return 0;
}
