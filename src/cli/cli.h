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

/*
 * A command's options as one table, parsed by cli_opts_parse: each row names a long
 * option and where its value goes, so that the range checks and their messages, -h and
 * --help, an unknown option and an unexpected argument are handled alike everywhere.
 * The rows point into the command's locals, so the table is an automatic array:
 *
 *	struct cli_opt opts[] = { CLI_STR("host", &cfg.host), CLI_INT("port", &port, 0, 65535) };
 *	if ((rc = cli_opts_parse(cmd, usage_text, opts, CLI_NOPTS(opts), argc, argv)) != CLI_GO)
 *		return rc;
 */
enum cli_opt_kind {
	CLI_OPT_STR,    /* const char *: the value as given */
	CLI_OPT_FLAG,   /* int set to 1; the option takes no value */
	/* an integer from lo to hi into an int, unsigned, unsigned long or unsigned long
	 * long (CLI_INT picks the kind by the pointer's type) */
	CLI_OPT_INT, CLI_OPT_UINT, CLI_OPT_ULONG, CLI_OPT_ULLONG,
	CLI_OPT_POS,    /* double > 0 and <= dhi */
	CLI_OPT_RANGE,  /* double from dlo to dhi */
	CLI_OPT_PARSE,  /* parse(value, dest) != 0: `--name: expected <expect>, got 'V'` */
	CLI_OPT_FN,     /* fn(cmd, usage, "--name", value, dest): 0 or the exit status */
};
typedef int (*cli_opt_fn)(const char *cmd, const char *usage, const char *name, const char *v,
			  void *dest);
struct cli_opt {
	const char *name; /* without the leading "--" */
	enum cli_opt_kind kind;
	void *dest;
	unsigned long long lo, hi; /* integer kinds; hi must fit the destination */
	double dlo, dhi;           /* CLI_OPT_POS (dhi), CLI_OPT_RANGE */
	int (*parse)(const char *v, void *dest);
	const char *expect;
	cli_opt_fn fn;
};
/* _Generic: a destination of the wrong type does not compile. */
#define CLI_STR(n, d) \
	{ .name = (n), .kind = CLI_OPT_STR, .dest = _Generic((d), const char **: (d)) }
#define CLI_FLAG(n, d) { .name = (n), .kind = CLI_OPT_FLAG, .dest = _Generic((d), int *: (d)) }
#define CLI_INT(n, d, l, h)                                                                   \
	{ .name = (n), .dest = (d), .lo = (l), .hi = (h),                                     \
	  .kind = _Generic((d), int *: CLI_OPT_INT, unsigned *: CLI_OPT_UINT,                 \
			   unsigned long *: CLI_OPT_ULONG, unsigned long long *: CLI_OPT_ULLONG) }
#define CLI_POS(n, d, h) \
	{ .name = (n), .kind = CLI_OPT_POS, .dest = _Generic((d), double *: (d)), .dhi = (h) }
#define CLI_RANGE(n, d, l, h)                                                                 \
	{ .name = (n), .kind = CLI_OPT_RANGE, .dest = _Generic((d), double *: (d)), .dlo = (l), \
	  .dhi = (h) }
#define CLI_PARSE(n, p, d, e)                                                             \
	{ .name = (n), .kind = CLI_OPT_PARSE, .parse = (p), .dest = (d), .expect = (e) }
#define CLI_FN(n, f, d) { .name = (n), .kind = CLI_OPT_FN, .fn = (f), .dest = (d) }
#define CLI_NOPTS(a) (sizeof(a) / sizeof((a)[0]))
#define CLI_OPTS_MAX 64
/* cli_opts_parse's "go on": every option taken and no argument left over. */
#define CLI_GO (-1)
/*
 * Parses argv (argv[0] the command) by the table, values stored as they come; no
 * positional arguments. Returns CLI_GO, or the exit status to return at once: 0 after
 * -h/--help (usage on stdout), CLI_EXIT_USAGE after an error (said on stderr), or what
 * a CLI_OPT_FN row returned.
 */
int cli_opts_parse(const char *cmd, const char *usage, const struct cli_opt *opts, size_t n,
		   int argc, char **argv);

/* The front-end guards of the server commands (serve, engine): net_server_limits. */
#define CLI_NET_LIMITS_USAGE                                                              \
	"  --header-timeout S   a request's head must arrive within S of its first byte [10]\n" \
	"  --body-timeout S     its body within S after the head [60]\n"                     \
	"  --idle-timeout S     keep-alive connections idle this long are closed [120]\n"     \
	"  --max-conns N        open client connections; more are closed at once [1024]\n"
/* Their rows, into the struct net_server_limits at l. */
#define CLI_NET_LIMITS_OPTS(l)                                      \
	CLI_POS("header-timeout", &(l)->header_timeout_s, 86400),   \
	CLI_POS("body-timeout", &(l)->body_timeout_s, 86400),       \
	CLI_POS("idle-timeout", &(l)->idle_timeout_s, 86400),       \
	CLI_INT("max-conns", &(l)->max_conns, 1, 1000000)

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
/* A double from lo to hi: `NAME: expected a number from LO to HI, got 'V'`. */
int cli_opt_range(const char *cmd, const char *usage, const char *name, const char *v, double lo,
		  double hi, double *out);
/* cli_opt_u64 into a uint32_t field (hi must fit). */
int cli_opt_u32(const char *cmd, const char *usage, const char *name, const char *v,
		uint32_t lo, uint32_t hi, uint32_t *out);

#endif
