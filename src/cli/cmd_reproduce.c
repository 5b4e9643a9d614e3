/*
 * `modserve reproduce --out DIR`: the paper's evaluation figures that a
 * simulator can produce, with a table of paper vs modserve (repro/).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "repro/repro.h"
#include "trace/trace_slice.h"

static const char usage_text[] =
	"usage: modserve reproduce --out DIR [options]\n"
	"\n"
	"Regenerates the ModServe paper's evaluation figures by simulation: per figure a\n"
	"CSV and PNG+SVG, and DIR/README.md comparing each number with the paper's.\n"
	"\n"
	"  --out DIR             output directory (required)\n"
	"  --trace FILE          trace CSV/CSV.gz, or 'synth' [synth: the built-in week]\n"
	"  --from T, --to T      window of the trace (offsets like 1d, 36h, or timestamps)\n"
	"                        [1d and 2d: the second day]\n"
	"  --models LIST         cross-attention and decoder-only model\n"
	"                        [llama-3.2-11b-vision,internvl-2.5-26b]\n"
	"  --gpu G               [a100-80gb]\n"
	"  --slo-scale K         per-request SLO scale [5]\n"
	"  --tol F               relative step of the load searches [0.05]\n"
	"  --figures LIST        only these figures, e.g. 2,4 (1-7; 1, 3 and 7 also\n"
	"                        search the loads fig. 2 finds; 6 and 7 are for the\n"
	"                        decoder-only model) [all]\n"
	"  --threads N           simulations at once [cores]\n"
	"  --quiet               no step lines on stderr\n"
	"  -h, --help\n";

enum { O_OUT = 256, O_TRACE, O_FROM, O_TO, O_MODELS, O_GPU, O_SCALE, O_TOL, O_FIGURES, O_THREADS,
       O_QUIET };

static const struct option long_opts[] = {
	{ "out", required_argument, NULL, O_OUT },
	{ "trace", required_argument, NULL, O_TRACE },
	{ "from", required_argument, NULL, O_FROM },
	{ "to", required_argument, NULL, O_TO },
	{ "models", required_argument, NULL, O_MODELS },
	{ "gpu", required_argument, NULL, O_GPU },
	{ "slo-scale", required_argument, NULL, O_SCALE },
	{ "tol", required_argument, NULL, O_TOL },
	{ "figures", required_argument, NULL, O_FIGURES },
	{ "threads", required_argument, NULL, O_THREADS },
	{ "quiet", no_argument, NULL, O_QUIET },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void log_line(void *arg, const char *line)
{
	(void)arg;
	fprintf(stderr, "reproduce: %s\n", line);
}

int cmd_reproduce(int argc, char **argv)
{
	struct repro_opts o;
	struct repro_table t;
	struct trace_set full, win;
	struct trace_slice_opts so;
	struct ms_error err = { 0 };
	const char *trace = NULL, *from = "1d", *to = "2d";
	char models[512] = "llama-3.2-11b-vision,internvl-2.5-26b", label[4096], *save = NULL, *tok;
	unsigned long long threads;
	long nproc = sysconf(_SC_NPROCESSORS_ONLN);
	int c, rc, status = CLI_EXIT_FAIL, quiet = 0, from_set = 0;

	memset(&o, 0, sizeof(o));
	o.gpu = "a100-80gb";
	o.slo_scale = 5;
	o.tol = 0.05;
	threads = nproc > 0 ? (unsigned long long)nproc : 1;
	while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		rc = 0;
		switch (c) {
		case 'h':
			fputs(usage_text, stdout);
			return CLI_EXIT_OK;
		case O_OUT: o.out_dir = optarg; break;
		case O_TRACE: trace = optarg; break;
		case O_FROM: from = optarg; from_set = 1; break;
		case O_TO: to = optarg; from_set = 1; break;
		case O_MODELS:
			if (strlen(optarg) >= sizeof(models) || !*optarg)
				return cli_usage_error("reproduce", usage_text, "--models: too long");
			strcpy(models, optarg);
			break;
		case O_GPU: o.gpu = optarg; break;
		case O_SCALE: rc = cli_opt_pos("reproduce", usage_text, "--slo-scale", optarg, 1e6, &o.slo_scale); break;
		case O_TOL: rc = cli_opt_pos("reproduce", usage_text, "--tol", optarg, 1, &o.tol); break;
		case O_FIGURES:
			if (repro_figures_parse(optarg, &o.figures, &err) < 0)
				return cli_usage_error("reproduce", usage_text, "--figures: %s", err.msg);
			break;
		case O_THREADS: rc = cli_opt_u64("reproduce", usage_text, "--threads", optarg, 1, 64, &threads); break;
		case O_QUIET: quiet = 1; break;
		default:
			return cli_usage_error("reproduce", usage_text, "unknown option");
		}
		if (rc)
			return rc;
	}
	if (optind < argc)
		return cli_usage_error("reproduce", usage_text, "unexpected argument '%s'",
				       argv[optind]);
	if (!o.out_dir || !*o.out_dir)
		return cli_usage_error("reproduce", usage_text, "--out DIR is required");
	for (tok = strtok_r(models, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (o.n_models == 4)
			return cli_usage_error("reproduce", usage_text, "--models: at most 4");
		o.models[o.n_models++] = tok;
	}
	o.threads = (int)threads;
	if (!quiet)
		o.log = log_line;
	trace_set_init(&full);
	trace_set_init(&win);
	repro_table_init(&t);
	if (cli_trace_or_synth(&full, trace, 1000000, 1, 0, label, sizeof(label), &err) < 0)
		goto fail;
	trace_slice_opts_default(&so);
	/* a file given without a window is replayed whole; the built-in week by its second day */
	if (from_set || !trace || !strcmp(trace, "synth")) {
		so.has_from = so.has_to = 1;
		if (trace_slice_time_parse(&full, from, &so.from_s, &err) < 0 ||
		    trace_slice_time_parse(&full, to, &so.to_s, &err) < 0) {
			status = cli_usage_error("reproduce", usage_text, "%s", err.msg);
			goto out;
		}
		if (trace_slice(&full, &so, &win, &err) < 0)
			goto fail;
		snprintf(label + strlen(label), sizeof(label) - strlen(label), " [%s, %s)", from, to);
	} else {
		struct trace_set tmp = full;
		full = win;
		win = tmp;
	}
	if (win.n == 0) {
		ms_error_set(&err, MS_EPARSE, "%s: no requests in the window", label);
		goto fail;
	}
	o.ts = &win;
	o.trace_label = label;
	if (repro_run(&o, &t, &err) < 0)
		goto fail;
	printf("%s/README.md: %zu rows\n", o.out_dir, t.n);
	status = CLI_EXIT_OK;
	goto out;
fail:
	status = cli_fail(&err);
out:
	repro_table_release(&t);
	trace_set_release(&win);
	trace_set_release(&full);
	return status;
}
