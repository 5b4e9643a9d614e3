/* `modserve trace slice`: window, time-compress or sample a trace into a new file. */
#include <getopt.h>
#include <limits.h>
#include <inttypes.h>
#include <string.h>

#include "cli/cli.h"
#include "trace/trace_slice.h"
#include "trace/trace_write.h"

static const char slice_usage[] =
	"usage: modserve trace slice FILE --out OUT [--from T] [--to T] [--rate-scale K]\n"
	"                            [--sample P [--seed S]] [--skip-bad]\n\n"
	"Writes the rows of FILE (a trace, or `synth`) with from <= time < to into OUT,\n"
	"in FILE's format family (LMM 2025 or LLM 2023), canonical column order; other\n"
	"columns are not kept. Timestamps keep FILE's precision. Row 0 of OUT is the\n"
	"first kept row. OUT must end by 2200 (the last year a trace file can hold).\n\n"
	"  -o, --out OUT       output; .gz = gzip, - = stdout\n"
	"  -f, --from T        start: a timestamp (2024-10-15T13:00:00Z) or an offset from\n"
	"                      the trace start in seconds or with a unit (3600, 30m, 1h, 2d)\n"
	"  -t, --to T          end (exclusive), same syntax\n"
	"  -k, --rate-scale K  divide inter-arrival gaps by K (K = 2 doubles the rate);\n"
	"                      the start time is kept\n"
	"  -p, --sample P      keep each row with probability P (0..1)\n"
	"  -s, --seed S        seed of --sample (default 1)\n"
	"      --skip-bad      skip and count bad input rows instead of stopping\n"
	"  -h, --help          this help\n";

int cmd_trace_slice(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "rate-scale", required_argument, NULL, 'k' },
		{ "sample", required_argument, NULL, 'p' },
		{ "seed", required_argument, NULL, 's' },
		{ "skip-bad", no_argument, NULL, 'B' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct trace_slice_opts so;
	struct trace_set in, out;
	struct ms_error err;
	const char *outp = NULL, *from = NULL, *to = NULL, *path;
	unsigned long long u;
	int c, rc, skip_bad = 0, has_seed = 0, has_sample = 0;

	trace_slice_opts_default(&so);
	ms_error_clear(&err);
	optind = 0;
	while ((c = getopt_long(argc, argv, "o:f:t:k:p:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			outp = optarg;
			break;
		case 'f':
			from = optarg;
			break;
		case 't':
			to = optarg;
			break;
		case 'k':
			if (cli_opt_pos("trace slice", slice_usage, "--rate-scale", optarg, 1e9,
					&so.rate_scale))
				return CLI_EXIT_USAGE;
			break;
		case 'p':
			if (cli_opt_range("trace slice", slice_usage, "--sample", optarg, 0, 1,
					  &so.sample_p))
				return CLI_EXIT_USAGE;
			has_sample = 1;
			break;
		case 's':
			if (cli_opt_u64("trace slice", slice_usage, "--seed", optarg, 0, ULLONG_MAX, &u))
				return CLI_EXIT_USAGE;
			so.seed = u;
			has_seed = 1;
			break;
		case 'B':
			skip_bad = 1;
			break;
		case 'h':
			fputs(slice_usage, stdout);
			return CLI_EXIT_OK;
		default:
			return cli_usage_error("trace slice", slice_usage, "bad option");
		}
	}
	if (optind >= argc)
		return cli_usage_error("trace slice", slice_usage, "missing input FILE");
	if (optind + 1 < argc)
		return cli_usage_error("trace slice", slice_usage, "unexpected argument '%s'",
				       argv[optind + 1]);
	if (!outp)
		return cli_usage_error("trace slice", slice_usage, "--out OUT is required");
	if (!*outp)
		return cli_usage_error("trace slice", slice_usage, "--out: empty file name");
	if (has_seed && !has_sample)
		return cli_usage_error("trace slice", slice_usage, "--seed only goes with --sample");
	path = argv[optind];

	trace_set_init(&in);
	trace_set_init(&out);
	rc = cli_trace_load(&in, path, skip_bad, &err);
	if (rc < 0)
		goto cleanup;
	if (from) {
		rc = trace_slice_time_parse(&in, from, &so.from_s, &err);
		if (rc < 0) {
			rc = cli_usage_error("trace slice", slice_usage, "--from: %s", err.msg);
			goto done;
		}
		so.has_from = 1;
	}
	if (to) {
		rc = trace_slice_time_parse(&in, to, &so.to_s, &err);
		if (rc < 0) {
			rc = cli_usage_error("trace slice", slice_usage, "--to: %s", err.msg);
			goto done;
		}
		so.has_to = 1;
	}
	if (so.has_from && so.has_to && so.to_s <= so.from_s) {
		rc = cli_usage_error("trace slice", slice_usage, "--to must be after --from");
		goto done;
	}
	rc = trace_slice(&in, &so, &out, &err);
	if (rc < 0) {
		/* the library does not know the file's name; the user needs it */
		fprintf(stderr, "modserve: %s: %s\n", path, err.msg);
		rc = CLI_EXIT_FAIL;
		goto done;
	}
	if (out.n == 0) {
		rc = ms_error_set(&err, MS_EINVAL,
				  "%s: no rows left in the slice (%zu rows in, times 0..%.3fs)", path,
				  in.n, in.n ? in.t[in.n - 1] : 0.0);
		goto cleanup;
	}
	rc = trace_set_write(&out, outp, &err);
	if (rc == 0 && strcmp(outp, "-"))
		fprintf(stderr, "modserve: %s: %zu of %zu rows\n", outp, out.n, in.n);
cleanup:
	rc = rc < 0 ? cli_fail(&err) : CLI_EXIT_OK;
done:
	trace_set_release(&in);
	trace_set_release(&out);
	return rc;
}
