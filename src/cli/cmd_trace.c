#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

struct trace_verb {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct trace_verb verbs[] = {
	{ "stats", cmd_trace_stats, "statistics of a trace (text or --json)" },
	{ "plot", cmd_trace_plot, "the seven figures of the data set's notebook, PNG and SVG" },
	{ "report", cmd_trace_report, "stats and figures as one HTML page" },
	{ "slice", cmd_trace_slice, "cut, compress in time or sample a trace into a new file" },
	{ "synth", cmd_trace_synth, "write a synthetic trace shaped like the Azure LMM week" },
	{ "fetch", cmd_trace_fetch, "download the public Azure LMM trace 2025 into a cache" },
	{ "export", cmd_trace_export, "the workload sim replays, for BLIS (TraceV2) or vLLM bench (JSONL)" },
};

static void usage(FILE *out)
{
	size_t i;
	fprintf(out, "usage: modserve trace <verb> [options]\n\n"
		     "Traces are CSV or CSV.gz in the Azure LMM 2025 format\n"
		     "(TIMESTAMP,NumImages,ContextTokens,GeneratedTokens) or the text-only\n"
		     "Azure LLM 2023 format (TIMESTAMP,ContextTokens,GeneratedTokens).\n"
		     "FILE may be `synth` for the built-in synthetic week.\n\nverbs:\n");
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(out, "  %-7s %s\n", verbs[i].name, verbs[i].summary);
}

int cmd_trace(int argc, char **argv)
{
	size_t i;
	if (argc < 2) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return CLI_EXIT_OK;
	}
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (!strcmp(argv[1], verbs[i].name))
			return verbs[i].fn(argc - 1, argv + 1);
	}
	fprintf(stderr, "modserve trace: unknown verb '%s'\n\n", argv[1]);
	usage(stderr);
	return CLI_EXIT_USAGE;
}
