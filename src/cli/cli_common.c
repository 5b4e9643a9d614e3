#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "net/net.h"
#include "trace/trace_synth.h"

int cli_fail(const struct ms_error *err)
{
	fprintf(stderr, "modserve: %s\n", err->msg[0] ? err->msg : ms_errno_msg(err->code));
	return CLI_EXIT_FAIL;
}

int cli_usage_error(const char *cmd, const char *usage, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "modserve %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	/* the synopsis only (up to the first blank line): the whole help buries the error */
	{
		const char *end = strstr(usage, "\n\n");
		int n = end ? (int)(end - usage) + 1 : (int)strlen(usage);
		fprintf(stderr, "\n%.*s(`modserve %s --help` for all options)\n", n, usage, cmd);
	}
	return CLI_EXIT_USAGE;
}

/*
 * strtoull and strtod skip leading white space and take a sign, and strtoull negates a
 * '-' after the spaces: " -1" came back as 2^64-1 and was reported as seed -1. An integer
 * option value must start with a digit; a double may not start with a space (its sign is
 * then judged by the caller's range check).
 */
int cli_parse_u64(const char *s, unsigned long long *out)
{
	char *end;
	if (!s || (unsigned)(*s - '0') > 9)
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return (errno || *end) ? -1 : 0;
}

int cli_parse_double(const char *s, double *out)
{
	char *end;
	if (!s || !*s || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	*out = strtod(s, &end);
	return (errno || *end) ? -1 : 0;
}

int cli_opt_u64(const char *cmd, const char *usage, const char *name, const char *v,
		unsigned long long lo, unsigned long long hi, unsigned long long *out)
{
	if (cli_parse_u64(v, out) < 0 || *out < lo || *out > hi)
		return cli_usage_error(cmd, usage, "%s: expected an integer from %llu to %llu, got '%s'",
				       name, lo, hi, v);
	return 0;
}

int cli_opt_u32(const char *cmd, const char *usage, const char *name, const char *v,
		uint32_t lo, uint32_t hi, uint32_t *out)
{
	unsigned long long x;

	if (cli_opt_u64(cmd, usage, name, v, lo, hi, &x))
		return CLI_EXIT_USAGE;
	*out = (uint32_t)x;
	return 0;
}

int cli_opt_pos(const char *cmd, const char *usage, const char *name, const char *v, double hi,
		double *out)
{
	/* NaN fails the > 0 test and infinity the upper bound */
	if (cli_parse_double(v, out) < 0 || !(*out > 0) || *out > hi)
		return cli_usage_error(cmd, usage, "%s: expected a number > 0 and <= %g, got '%s'",
				       name, hi, v);
	return 0;
}

int cli_net_limits_opt(const char *cmd, const char *usage, int opt, const char *v,
		       struct net_server_limits *l)
{
	switch (opt) {
	case CLI_O_HDR_TO:
		return cli_opt_pos(cmd, usage, "--header-timeout", v, 86400, &l->header_timeout_s);
	case CLI_O_BODY_TO:
		return cli_opt_pos(cmd, usage, "--body-timeout", v, 86400, &l->body_timeout_s);
	case CLI_O_IDLE_TO:
		return cli_opt_pos(cmd, usage, "--idle-timeout", v, 86400, &l->idle_timeout_s);
	default:
		return cli_opt_u32(cmd, usage, "--max-conns", v, 1, 1000000, &l->max_conns);
	}
}

int cli_trace_load(struct trace_set *ts, const char *path, int skip_bad, struct ms_error *err)
{
	struct trace_load_opts opts = { .skip_bad = skip_bad, .progress = 1 };
	struct trace_load_report rep;
	int rc, i, k;

	if (!path || !strcmp(path, "synth")) {
		struct trace_synth_opts so;
		trace_synth_opts_default(&so);
		return trace_synth(ts, &so, err);
	}
	rc = trace_set_load(ts, path, &opts, &rep, err);
	if (rc < 0)
		return rc;
	if (rep.bad_total) {
		fprintf(stderr, "modserve: %s: skipped %" PRIu64 " bad rows of %" PRIu64 ":\n", path,
			rep.bad_total, rep.bad_total + rep.rows);
		for (k = 0; k < TRACE_BAD__COUNT; k++)
			if (rep.bad[k])
				fprintf(stderr, "  %10" PRIu64 "  %s\n", rep.bad[k],
					trace_bad_msg((enum trace_bad)k));
		for (i = 0; i < rep.n_examples; i++)
			fprintf(stderr, "  e.g. %s\n", rep.examples[i]);
	}
	return 0;
}
