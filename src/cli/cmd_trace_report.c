/* PLACEHOLDER: replaced by the real implementation. */
#include "cli/cli.h"
int cmd_trace_report(int argc, char **argv)
{
	(void)argc; (void)argv;
	fprintf(stderr, "modserve trace report: not built yet\n");
	return CLI_EXIT_FAIL;
}
