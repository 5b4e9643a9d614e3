/* `modserve trace stats`: exact statistics of a trace, as a table or JSON. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>

#include <jansson.h>

#include "cli/cli.h"
#include "trace/trace_stats.h"

static const char usage_text[] =
	"usage: modserve trace stats FILE [--json] [--skip-bad]\n"
	"\n"
	"Exact statistics of a trace (FILE .csv/.csv.gz, or `synth`):\n"
	"rows, time span, share of image requests (NumImages > 0); NumImages\n"
	"percentiles over image requests; ContextTokens and GeneratedTokens\n"
	"percentiles and mean for image and text requests; per-minute requests,\n"
	"images, input and output tokens (mean, p99, max, CV, peak-to-mean) for\n"
	"image and text requests; the busiest minute.\n"
	"\n"
	"Definitions:\n"
	"  percentiles  linear interpolation between order statistics at q*(n-1)\n"
	"               (numpy/pandas default), exact\n"
	"  minutes      wall-clock minutes (UTC time floored to the minute, as pandas\n"
	"               dt.floor('min')), every minute from the first row's to the\n"
	"               last row's, empty minutes counted as zeros\n"
	"  CV           population standard deviation (ddof=0) / mean\n"
	"  peak/mean    max / mean\n"
	"  busiest      the minute with most requests (earliest on ties)\n"
	"Undefined values print as `-` (null in JSON).\n"
	"\n"
	"options:\n"
	"  --json       machine-readable output (stable key order)\n"
	"  --skip-bad   skip malformed rows (counted on stderr) instead of failing\n"
	"  -h, --help   this help\n";

static void num(double x)
{
	if (!isfinite(x))
		printf(" %12s", "-");
	else if (x == floor(x) && fabs(x) < 1e15)
		printf(" %12.0f", x);
	else
		printf(" %12.2f", x);
}

static void dist_row(const char *name, const struct trace_dist *d, int with_mean)
{
	printf("  %-22s %10llu", name, (unsigned long long)d->n);
	if (with_mean)
		num(d->mean);
	num(d->p50);
	num(d->p90);
	num(d->p99);
	num(d->p999);
	num(d->n ? (double)d->max : NAN);
	putchar('\n');
}

static void print_table(const struct trace_stats *st, const char *path)
{
	char a[64], b[64];
	int c, k;

	printf("trace %s\n", path);
	if (!st->rows) {
		printf("  no rows\n");
		return;
	}
	trace_time_format(st->first_ns, TRACE_FMT_LMM2025, st->frac_digits, a, sizeof(a));
	trace_time_format(st->last_ns, TRACE_FMT_LMM2025, st->frac_digits, b, sizeof(b));
	printf("  rows %llu: %llu image, %llu text (image share %.4f)\n",
	       (unsigned long long)st->rows,
	       (unsigned long long)st->requests[TRACE_CLASS_IMAGE],
	       (unsigned long long)st->requests[TRACE_CLASS_TEXT], st->image_share);
	printf("  time %s .. %s (%.3f s, %zu minute%s)\n\n", a, b, st->span_s, st->n_minutes,
	       st->n_minutes == 1 ? "" : "s");

	printf("  %-22s %10s %12s %12s %12s %12s %12s %12s\n", "per request", "n", "mean",
	       "p50", "p90", "p99", "p99.9", "max");
	printf("  %-22s %10llu", "NumImages (image req)", (unsigned long long)st->images.n);
	num(st->images.mean);
	num(st->images.p50);
	num(st->images.p90);
	num(st->images.p99);
	num(st->images.p999);
	num(st->images.n ? (double)st->images.max : NAN);
	putchar('\n');
	dist_row("ContextTokens image", &st->ctx[TRACE_CLASS_IMAGE], 1);
	dist_row("ContextTokens text", &st->ctx[TRACE_CLASS_TEXT], 1);
	dist_row("GeneratedTokens image", &st->gen[TRACE_CLASS_IMAGE], 1);
	dist_row("GeneratedTokens text", &st->gen[TRACE_CLASS_TEXT], 1);

	printf("\n  %-22s %12s %12s %12s %12s %12s\n", "per minute", "mean", "p99", "max", "CV",
	       "peak/mean");
	for (c = 0; c < TRACE_CLASS__COUNT; c++) {
		for (k = 0; k < TRACE_MCOL__COUNT; k++) {
			const struct trace_burst *bu = &st->minute[c][k];
			char name[40];
			/* text requests have no images by definition: an all-zero row says nothing */
			if (c == TRACE_CLASS_TEXT && k == TRACE_MCOL_IMAGES)
				continue;
			snprintf(name, sizeof(name), "%s %s", trace_class_name((enum trace_class)c),
				 trace_mcol_name((enum trace_mcol)k));
			printf("  %-22s", name);
			num(bu->mean);
			num(bu->p99);
			num((double)bu->max);
			if (isfinite(bu->cv))
				printf(" %12.3f", bu->cv);
			else
				printf(" %12s", "-");
			if (isfinite(bu->peak_to_mean))
				printf(" %12.2f", bu->peak_to_mean);
			else
				printf(" %12s", "-");
			putchar('\n');
		}
	}
	printf("  (no \"%s %s\" row: text requests have NumImages = 0, so it is always 0;"
	       " --json keeps it)\n",
	       trace_class_name(TRACE_CLASS_TEXT), trace_mcol_name(TRACE_MCOL_IMAGES));
	trace_time_format(st->busiest_ns, TRACE_FMT_LMM2025, 0, a, sizeof(a));
	printf("\n  busiest minute %s: %llu requests (%llu image), %llu images\n", a,
	       (unsigned long long)st->busiest_requests,
	       (unsigned long long)st->busiest_image_requests,
	       (unsigned long long)st->busiest_images);
}

int cmd_trace_stats(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "skip-bad", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct trace_set ts;
	struct trace_stats st;
	struct ms_error err = { 0 };
	int json = 0, skip_bad = 0, opt, rc = CLI_EXIT_OK;
	const char *path;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json = 1;
			break;
		case 's':
			skip_bad = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return CLI_EXIT_OK;
		default:
			return cli_usage_error("trace stats", usage_text, "bad option");
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error("trace stats", usage_text,
				       optind >= argc ? "missing FILE" : "one FILE only");
	path = argv[optind];
	trace_set_init(&ts);
	if (cli_trace_load(&ts, path, skip_bad, &err) < 0) {
		rc = cli_fail(&err);
		goto cleanup;
	}
	/* the statistics do not know the trace's name: say which file it is about */
	if (trace_stats_compute(&ts, NULL, &st, &err) < 0) {
		fprintf(stderr, "modserve: %s: %s\n", path, err.msg);
		rc = CLI_EXIT_FAIL;
		goto cleanup;
	}
	if (json) {
		json_t *o = trace_stats_json(&st, path);
		if (!o || json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
						     JSON_REAL_PRECISION(17)) < 0) {
			ms_error_set(&err, MS_EIO, "cannot write JSON");
			rc = cli_fail(&err);
		} else {
			putchar('\n');
		}
		json_decref(o);
	} else {
		print_table(&st, path);
	}
cleanup:
	trace_set_release(&ts);
	return rc;
}
