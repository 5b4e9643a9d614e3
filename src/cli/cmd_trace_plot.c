/* `modserve trace plot` and `modserve trace report`: the same run, report adds index.html. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "report/report_trace.h"
#include "trace/trace_stats.h"

/* The part of the help both verbs share: the figures and the options. */
#define FIGURES_AND_OPTIONS \
	"  0-images-per-request-cdf    CDF of images per image request (log x)\n" \
	"  1-input-tokens-cdf          CDF of input tokens, image vs text (log x)\n" \
	"  2-generated-tokens-cdf      CDF of generated tokens, image vs text (log x)\n" \
	"  3-invocations-per-minute    requests per UTC minute, image vs text\n" \
	"  4-images-per-minute         images per minute\n" \
	"  5-input-tokens-per-minute   input tokens per minute\n" \
	"  6-output-tokens-per-minute  output tokens per minute\n" \
	"FILE is .csv/.csv.gz or `synth`.\n" \
	"\n" \
	"options:\n" \
	"  -o, --out DIR   output directory (made if missing; not `-`)\n" \
	"  --skip-bad      skip malformed rows (counted on stderr) instead of failing\n" \
	"  -h, --help      this help\n"

static const char plot_usage[] =
	"usage: modserve trace plot FILE --out DIR [--skip-bad]\n"
	"\n"
	"Draws the seven figures of the Azure LMM 2025 data set's notebook into DIR,\n"
	"each as PNG and SVG (gnuplot; $MS_GNUPLOT overrides the program):\n"
	FIGURES_AND_OPTIONS;

static const char report_usage[] =
	"usage: modserve trace report FILE --out DIR [--skip-bad]\n"
	"\n"
	"Writes DIR/index.html: the tables of `modserve trace stats` and the seven\n"
	"figures of `modserve trace plot` (PNG and SVG, next to it, linked by\n"
	"relative paths so DIR can be moved or served as is):\n"
	FIGURES_AND_OPTIONS;

/* Loads FILE, draws the figures into --out and, for `report`, the HTML page. */
static int run(int argc, char **argv, const char *cmd, const char *usage_text, int html)
{
	static const struct option longopts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "skip-bad", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct trace_set ts;
	struct trace_minutes tm = { 0 };
	struct trace_stats st;
	struct ms_error err = { 0 };
	const char *out = NULL, *path;
	int skip_bad = 0, opt, rc = CLI_EXIT_OK;

	while ((opt = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
		switch (opt) {
		case 'o':
			out = optarg;
			break;
		case 's':
			skip_bad = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return CLI_EXIT_OK;
		default:
			return cli_usage_error(cmd, usage_text, "bad option");
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error(cmd, usage_text,
				       optind >= argc ? "missing FILE" : "one FILE only");
	if (!out)
		return cli_usage_error(cmd, usage_text, "--out DIR is required");
	if (!*out)
		return cli_usage_error(cmd, usage_text, "--out: empty directory name");
	if (!strcmp(out, "-"))
		return cli_usage_error(cmd, usage_text,
				       "--out -: the figures need a directory, not stdout");
	path = argv[optind];
	trace_set_init(&ts);
	if (cli_trace_load(&ts, path, skip_bad, &err) < 0) {
		rc = cli_fail(&err);
		goto cleanup;
	}
	/* these do not know the trace's name: say which file the complaint is about */
	if (trace_minutes_compute(&ts, &tm, &err) < 0 ||
	    (html && trace_stats_compute(&ts, &tm, &st, &err) < 0)) {
		fprintf(stderr, "modserve: %s: %s\n", path, err.msg);
		rc = CLI_EXIT_FAIL;
		goto cleanup;
	}
	if (report_trace_figures(&ts, &tm, out, &err) < 0 ||
	    (html && report_trace_html(&st, path, out, &err) < 0)) {
		rc = cli_fail(&err);
		goto cleanup;
	}
	if (html) {
		printf("%s/index.html\n", out);
	} else {
		for (int i = 0; i < REPORT_TRACE_FIGURES; i++)
			printf("%s/%s.png\n%s/%s.svg\n", out, report_trace_figure_names[i], out,
			       report_trace_figure_names[i]);
	}
cleanup:
	trace_minutes_release(&tm);
	trace_set_release(&ts);
	return rc;
}

int cmd_trace_plot(int argc, char **argv)
{
	return run(argc, argv, "trace plot", plot_usage, 0);
}

int cmd_trace_report(int argc, char **argv)
{
	return run(argc, argv, "trace report", report_usage, 1);
}
