/* PLACEHOLDER: replaced by the real implementation. */
#include "cli/cli.h"
int cmd_sim(int argc, char **argv)
{
	(void)argc; (void)argv;
	fprintf(stderr, "modserve sim: not built yet\n");
	return CLI_EXIT_FAIL;
}
