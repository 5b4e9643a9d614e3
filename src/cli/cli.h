/*
 * cli: the `modserve` command and its sub-commands.
 *
 * main.c holds the command table; each command is `int cmd_<name>(argc, argv)`
 * in cmd_<name>.c, argv[0] being its own name, returning the exit status:
 * 0 ok, 1 runtime failure (input, I/O, network), 2 usage. Only cli/ prints
 * errors and picks exit codes; the library fills struct ms_error.
 */
#ifndef CLI_H
#define CLI_H

#include <stdint.h>
#include <stdio.h>

#include "base/ms_error.h"
#include "trace/trace.h"

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

int cmd_trace(int argc, char **argv);
int cmd_sim(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_reproduce(int argc, char **argv);
int cmd_engine(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_profile(int argc, char **argv);
int cmd_serve(int argc, char **argv);

/* trace verbs, in cmd_trace_<verb>.c */
int cmd_trace_stats(int argc, char **argv);
int cmd_trace_plot(int argc, char **argv);
int cmd_trace_report(int argc, char **argv);
int cmd_trace_slice(int argc, char **argv);
int cmd_trace_synth(int argc, char **argv);
int cmd_trace_fetch(int argc, char **argv);
int cmd_trace_export(int argc, char **argv);

/* The front-end guards of the server commands (serve, engine): net_server_limits. */
#define CLI_NET_LIMITS_USAGE                                                              \
	"  --header-timeout S   a request's head must arrive within S of its first byte [10]\n" \
	"  --body-timeout S     its body within S after the head [60]\n"                     \
	"  --idle-timeout S     keep-alive connections idle this long are closed [120]\n"     \
	"  --max-conns N        open client connections; more are closed at once [1024]\n"
enum { CLI_O_HDR_TO = 768, CLI_O_BODY_TO, CLI_O_IDLE_TO, CLI_O_MAXCONN };
#define CLI_NET_LIMITS_OPTS                                                \
	{ "header-timeout", required_argument, NULL, CLI_O_HDR_TO },      \
	{ "body-timeout", required_argument, NULL, CLI_O_BODY_TO },       \
	{ "idle-timeout", required_argument, NULL, CLI_O_IDLE_TO },       \
	{ "max-conns", required_argument, NULL, CLI_O_MAXCONN }
#define CLI_NET_LIMITS_CASES case CLI_O_HDR_TO: case CLI_O_BODY_TO: case CLI_O_IDLE_TO: \
	case CLI_O_MAXCONN
struct net_server_limits;
/* One of those options (opt, its value) into l; 0, or CLI_EXIT_USAGE once said. */
int cli_net_limits_opt(const char *cmd, const char *usage, int opt, const char *v,
		       struct net_server_limits *l);

/* Prints `modserve: <msg>` to stderr; returns CLI_EXIT_FAIL. */
int cli_fail(const struct ms_error *err);
/* Prints `modserve <cmd>: <what>` and the usage synopsis to stderr; returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *usage, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Loads a trace for a command: FILE, or the built-in synthetic trace when path is
 * NULL or "synth" (synth_requests rows, synth_seed). With skip_bad, prints how many
 * rows were skipped and why on stderr. Returns 0 or a negative code with err set.
 */
int cli_trace_load(struct trace_set *ts, const char *path, int skip_bad,
		   struct ms_error *err);

/*
 * The trace of sim, plan and reproduce (cli_setup.c): at `path` (cli_trace_load, which
 * also reads "synth" as the default week), or, when path is NULL, `synth` rows of the
 * built-in week with `seed`; its name written to label.
 */
int cli_trace_or_synth(struct trace_set *ts, const char *path, unsigned long long synth,
		       uint64_t seed, int skip_bad, char *label, size_t size, struct ms_error *err);

/*
 * Parses a non-negative integer (digits only: no sign, no leading space) / a double (no
 * leading space) option value, all of it; 0 on success.
 */
int cli_parse_u64(const char *s, unsigned long long *out);
int cli_parse_double(const char *s, double *out);

/*
 * Option values with a range, for every command alike: 0, or a usage error (exit status
 * CLI_EXIT_USAGE) saying `NAME: expected an integer from LO to HI, got 'V'` /
 * `NAME: expected a number > 0 and <= HI, got 'V'`.
 */
int cli_opt_u64(const char *cmd, const char *usage, const char *name, const char *v,
		unsigned long long lo, unsigned long long hi, unsigned long long *out);
int cli_opt_pos(const char *cmd, const char *usage, const char *name, const char *v, double hi,
		double *out);
/* cli_opt_u64 into a uint32_t field (hi must fit). */
int cli_opt_u32(const char *cmd, const char *usage, const char *name, const char *v,
		uint32_t lo, uint32_t hi, uint32_t *out);

#endif
