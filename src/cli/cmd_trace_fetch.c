/* `modserve trace fetch`: download the public Azure LMM trace 2025 into the cache. */
#include <getopt.h>

#include "cli/cli.h"
#include "trace/trace_fetch.h"

static const char fetch_usage[] =
	"usage: modserve trace fetch [--url URL] [--cache DIR] [--force]\n\n"
	"Downloads the Azure LMM inference trace 2025 (CC-BY; cite the ModServe paper,\n"
	"Qiu et al., SoCC 2025) into a cache directory and prints the file's path.\n"
	"An interrupted download resumes from DIR/NAME.part on the next run.\n\n"
	"  -u, --url URL    source (default " TRACE_FETCH_URL ")\n"
	"  -c, --cache DIR  cache directory (default $XDG_CACHE_HOME/modserve or\n"
	"                   ~/.cache/modserve)\n"
	"  -f, --force      download again even when the file is cached\n"
	"  -h, --help       this help\n";

int cmd_trace_fetch(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "cache", required_argument, NULL, 'c' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct trace_fetch_opts fo;
	struct trace_fetch_result res;
	struct ms_error err;
	int c;

	trace_fetch_opts_default(&fo);
	ms_error_clear(&err);
	optind = 0;
	while ((c = getopt_long(argc, argv, "u:c:fh", opts, NULL)) != -1) {
		switch (c) {
		case 'u':
			fo.url = optarg;
			break;
		case 'c':
			fo.cache_dir = optarg;
			break;
		case 'f':
			fo.force = 1;
			break;
		case 'h':
			fputs(fetch_usage, stdout);
			return CLI_EXIT_OK;
		default:
			return cli_usage_error("trace fetch", fetch_usage, "bad option");
		}
	}
	if (optind < argc)
		return cli_usage_error("trace fetch", fetch_usage, "unexpected argument '%s'",
				       argv[optind]);
	if (trace_fetch(&fo, &res, &err) < 0)
		return cli_fail(&err);
	if (res.cached)
		fprintf(stderr, "modserve: already cached (%lld bytes); --force to download again\n",
			res.bytes);
	else if (res.resumed_from)
		fprintf(stderr, "modserve: resumed at byte %lld, %lld bytes in all\n",
			res.resumed_from, res.bytes);
	printf("%s\n", res.path);
	return CLI_EXIT_OK;
}
