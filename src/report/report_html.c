/*
 * HTML pages of the reports: the helpers every page shares (report_int.h)
 * and the page of `modserve trace report`. The simulator's page is in
 * sim_report.c and uses the same helpers.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "report/report_int.h"
#include "report/report_trace.h"

void report__html_esc(FILE *f, const char *s)
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

void report__html_cell(FILE *f, double x, int digits)
{
	if (!isfinite(x))
		fputs("<td>-</td>", f);
	else if (x == floor(x) && fabs(x) < 1e15)
		fprintf(f, "<td>%.0f</td>", x);
	else
		fprintf(f, "<td>%.*f</td>", digits, x);
}

void report__html_cell_fixed(FILE *f, double x, int digits)
{
	if (!isfinite(x))
		fputs("<td>-</td>", f);
	else
		fprintf(f, "<td>%.*f</td>", digits, x);
}

int report__html_open(const char *dir, char *path, size_t size, FILE **out,
		      struct ms_error *err)
{
	int n = snprintf(path, size, "%s/index.html", dir);

	*out = NULL;
	if (n < 0 || (size_t)n >= size)
		return ms_error_set(err, MS_EINVAL, "%s: directory name too long", dir);
	*out = fopen(path, "w");
	if (!*out)
		return ms_error_set(err, MS_EIO, "%s: %s", path, strerror(errno));
	return 0;
}

void report__html_head(FILE *f, const char *title, const char *heading)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<title>", f);
	report__html_esc(f, title);
	fputs("</title>\n<style>\nbody{font-family:sans-serif;max-width:1560px;margin:1em auto;}\n"
	      "table{border-collapse:collapse;margin:0.5em 0;}\n"
	      "td,th{border:1px solid #ccc;padding:2px 8px;text-align:right;}\n"
	      "th{background:#f4f4f4;}\nth.l,td.l{text-align:left;}\n"
	      "figure{margin:1em 0;display:inline-block;vertical-align:top;}\n"
	      "img{max-width:100%;}\n.note{color:#555;font-size:90%;}\n</style>\n</head>\n"
	      "<body>\n<h1>", f);
	report__html_esc(f, heading);
	fputs("</h1>\n", f);
}

void report__html_figure(FILE *f, const char *name, const char *caption)
{
	fputs("<figure><img src=\"", f);
	report__html_esc(f, name);
	fputs(".png\" alt=\"", f);
	report__html_esc(f, caption);
	fputs("\"><figcaption>", f);
	report__html_esc(f, caption);
	fputs(" (<a href=\"", f);
	report__html_esc(f, name);
	fputs(".svg\">SVG</a>)</figcaption></figure>\n", f);
}

int report__html_close(FILE *f, const char *path, struct ms_error *err)
{
	fputs("</body>\n</html>\n", f);
	if (ferror(f) | fclose(f))
		return ms_error_set(err, MS_EIO, "%s: write failed", path);
	return 0;
}

static void dist_row(FILE *f, const char *name, const struct trace_dist *d)
{
	fprintf(f, "<tr><th>%s</th><td>%llu</td>", name, (unsigned long long)d->n);
	report__html_cell(f, d->mean, 2);
	report__html_cell(f, d->p50, 2);
	report__html_cell(f, d->p90, 2);
	report__html_cell(f, d->p99, 2);
	report__html_cell(f, d->p999, 2);
	report__html_cell(f, d->n ? (double)d->max : NAN, 0);
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
		   "<tr><th>span</th><td>%.3f s (%zu minute%s)</td></tr>\n</table>\n",
		(unsigned long long)st->rows, (unsigned long long)st->requests[TRACE_CLASS_IMAGE],
		isfinite(st->image_share) ? 100.0 * st->image_share : 0.0,
		(unsigned long long)st->requests[TRACE_CLASS_TEXT], st->rows ? a : "-",
		st->rows ? b : "-", st->span_s, st->n_minutes, st->n_minutes == 1 ? "" : "s");

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
			/* as in `trace stats`: text requests never carry images */
			if (c == TRACE_CLASS_TEXT && k == TRACE_MCOL_IMAGES)
				continue;
			fprintf(f, "<tr><th>%s %s</th><td>%llu</td>",
				trace_class_name((enum trace_class)c),
				trace_mcol_name((enum trace_mcol)k),
				(unsigned long long)bu->total);
			report__html_cell(f, bu->mean, 2);
			report__html_cell(f, bu->p99, 2);
			report__html_cell(f, (double)bu->max, 0);
			report__html_cell(f, bu->cv, 3);
			report__html_cell(f, bu->peak_to_mean, 2);
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
	      "deviation / mean. Peak/mean: max / mean. No \"text images\" row: text requests "
	      "have NumImages = 0, so it is always 0.</p>\n", f);
}

int report_trace_html(const struct trace_stats *st, const char *source, const char *dir,
		      struct ms_error *err)
{
	char path[4200], title[4200], heading[4200], caption[160];
	FILE *f;
	int i, rc = report__html_open(dir, path, sizeof(path), &f, err);

	if (rc < 0)
		return rc;
	snprintf(title, sizeof(title), "modserve trace report: %s", source);
	snprintf(heading, sizeof(heading), "Trace %s", source);
	report__html_head(f, title, heading);
	tables(f, st);
	fputs("<h2>Figures</h2>\n", f);
	for (i = 0; i < REPORT_TRACE_FIGURES; i++) {
		snprintf(caption, sizeof(caption), "%d. %s", i, report_trace_figure_titles[i]);
		report__html_figure(f, report_trace_figure_names[i], caption);
	}
	return report__html_close(f, path, err);
}
