#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

struct cli_command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct cli_command commands[] = {
	{ "trace", cmd_trace, "load, check, characterize, plot, slice and synthesize LMM traces" },
	{ "sim", cmd_sim, "simulate an LMM serving cluster (mono, pd, modserve) on a trace" },
	{ "reproduce", cmd_reproduce, "regenerate the ModServe paper's figures by simulation" },
	{ "plan", cmd_plan, "cheapest pools that meet a P99 SLO, and the load each budget sustains" },
	{ "engine", cmd_engine, "run an emulated OpenAI-compatible LMM server (vLLM EPD roles)" },
	{ "bench", cmd_bench, "replay a trace with images against an OpenAI-compatible endpoint" },
	{ "profile", cmd_profile, "measure an endpoint's stage times into a profile table for sim" },
	{ "serve", cmd_serve, "run the ModServe gateway over vLLM EPD backends (encode/prefill/decode)" },
};

static void usage(FILE *out)
{
	size_t i;
	fprintf(out, "usage: modserve <command> [options]\n\n"
		     "Modality- and stage-aware serving of large multimodal models.\n\n"
		     "commands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n`modserve <command> --help` tells more; `modserve --version` the version.\n");
}

int main(int argc, char **argv)
{
	size_t i;
	int rc;

	if (argc < 2) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("modserve %s\n", MS_VERSION);
		return CLI_EXIT_OK;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return CLI_EXIT_OK;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name))
			continue;
		optind = 0;
		rc = commands[i].fn(argc - 1, argv + 1);
		/* A full disk must fail loudly instead of truncating a CSV on stdout. */
		if (fflush(stdout) || ferror(stdout)) {
			fprintf(stderr, "modserve: error writing to standard output\n");
			return CLI_EXIT_FAIL;
		}
		return rc;
	}
	fprintf(stderr, "modserve: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return CLI_EXIT_USAGE;
}
