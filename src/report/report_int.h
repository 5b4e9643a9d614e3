/*
 * report_int: HTML helpers shared inside src/report/ only (no other folder
 * includes this header).
 *
 * Owns the one escaping routine, the table cells and the page frame (style
 * sheet, figure blocks) that both HTML pages use: `trace report`
 * (report_html.c) and `sim --report` (sim_report.c), so the two pages look
 * alike and escaping is written once. Implemented in report_html.c.
 * Invariants: every string from the user (paths, names) goes through
 * report__html_esc; figures are referenced by relative path (<name>.png,
 * <name>.svg), so a report directory can be moved as a whole. Prints nothing:
 * write errors surface in report__html_close.
 */
#ifndef REPORT_INT_H
#define REPORT_INT_H

#include <stddef.h>
#include <stdio.h>

#include "base/ms_error.h"

/* Writes s with <, >, &, " escaped; NULL writes nothing. */
void report__html_esc(FILE *f, const char *s);

/* One <td>: "-" when x is not finite, integers without decimals, else `digits` decimals. */
void report__html_cell(FILE *f, double x, int digits);

/* One <td> with exactly `digits` decimals ("-" when not finite): matches printf "%.*f". */
void report__html_cell_fixed(FILE *f, double x, int digits);

/* Creates dir/index.html; *path receives its name (for messages). */
int report__html_open(const char *dir, char *path, size_t size, FILE **out,
		      struct ms_error *err);

/* Doctype, <head> with the shared style sheet and the escaped title, <body>, <h1>. */
void report__html_head(FILE *f, const char *title, const char *heading);

/* <figure>: <name>.png embedded, the escaped caption and a link to <name>.svg. */
void report__html_figure(FILE *f, const char *name, const char *caption);

/* Closes the body and the file; MS_EIO when any write to f failed. Always closes f. */
int report__html_close(FILE *f, const char *path, struct ms_error *err);

/*
 * The autoscaled runs of `sim` (sim_report_scale.c), called by sim_report.c:
 * the run's "autoscale" JSON object, its table lines, the figures
 * autoscale_gpus and autoscale_load, and their HTML section.
 */
struct sim_report_run;
struct json_t;
struct json_t *sim_report__scale_json(const struct sim_report_run *r);
void sim_report__scale_table(FILE *out, const struct sim_report_run *runs, size_t n);
int sim_report__scale_plots(const char *dir, const struct sim_report_run *runs, size_t n,
			    struct ms_error *err);
void sim_report__scale_html(FILE *f, const struct sim_report_run *runs, size_t n);

#endif
