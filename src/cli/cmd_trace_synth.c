/* `modserve trace synth`: writes the built-in synthetic Azure-LMM-shaped trace. */
#include <getopt.h>
#include <limits.h>
#include <string.h>

#include "cli/cli.h"
#include "trace/trace_synth.h"
#include "trace/trace_write.h"

static const char synth_usage[] =
	"usage: modserve trace synth [--requests N] [--seed S] [--days D] [--params FILE]\n"
	"                            --out FILE\n\n"
	"Writes a synthetic trace shaped like the Azure LMM inference trace 2025\n"
	"(image share, images per request, token laws, daily cycle, image bursts),\n"
	"starting 2024-10-15T12:00:00Z. The model and its sources are in\n"
	"data/synth/azure-lmm-2025.conf.\n\n"
	"  -n, --requests N   rows to generate (default 1000000, one week)\n"
	"  -s, --seed S       PRNG seed (default 1); same seed, same bytes\n"
	"  -d, --days D       span of the arrivals in days (default: the real week's\n"
	"                     rate, i.e. N / 1,000,000 weeks)\n"
	"  -p, --params FILE  model parameters (default: the built-in conf)\n"
	"  -o, --out FILE     output; .gz = gzip, - = stdout\n"
	"  -h, --help         this help\n";

int cmd_trace_synth(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "requests", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, 's' },
		{ "days", required_argument, NULL, 'd' },
		{ "params", required_argument, NULL, 'p' },
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct trace_synth_opts so;
	struct trace_set ts;
	struct ms_error err;
	const char *out = NULL;
	unsigned long long u;
	double d;
	int c, rc;

	trace_synth_opts_default(&so);
	ms_error_clear(&err);
	optind = 0;
	while ((c = getopt_long(argc, argv, "n:s:d:p:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (cli_opt_u64("trace synth", synth_usage, "--requests", optarg, 1,
					0xffffffffULL, &u))
				return CLI_EXIT_USAGE;
			so.requests = u;
			break;
		case 's':
			if (cli_opt_u64("trace synth", synth_usage, "--seed", optarg, 0, ULLONG_MAX, &u))
				return CLI_EXIT_USAGE;
			so.seed = u;
			break;
		case 'd':
			if (cli_opt_pos("trace synth", synth_usage, "--days", optarg, 3650, &d))
				return CLI_EXIT_USAGE;
			so.duration_s = d * 86400.0;
			break;
		case 'p':
			so.params_path = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'h':
			fputs(synth_usage, stdout);
			return CLI_EXIT_OK;
		default:
			return cli_usage_error("trace synth", synth_usage, "bad option");
		}
	}
	if (optind < argc)
		return cli_usage_error("trace synth", synth_usage, "unexpected argument '%s'",
				       argv[optind]);
	if (!out)
		return cli_usage_error("trace synth", synth_usage, "--out FILE is required");
	if (!*out)
		return cli_usage_error("trace synth", synth_usage, "--out: empty file name");

	trace_set_init(&ts);
	rc = trace_synth(&ts, &so, &err);
	if (rc == 0)
		rc = trace_set_write(&ts, out, &err);
	trace_set_release(&ts);
	return rc < 0 ? cli_fail(&err) : CLI_EXIT_OK;
}
