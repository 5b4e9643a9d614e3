#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
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

int cli_opt_range(const char *cmd, const char *usage, const char *name, const char *v, double lo,
		  double hi, double *out)
{
	/* written so that NaN fails both tests */
	if (cli_parse_double(v, out) < 0 || !(*out >= lo) || !(*out <= hi))
		return cli_usage_error(cmd, usage, "%s: expected a number from %g to %g, got '%s'",
				       name, lo, hi, v);
	return 0;
}

/* The largest value of an integer row's destination. */
static unsigned long long int_max(enum cli_opt_kind k)
{
	switch (k) {
	case CLI_OPT_INT: return INT_MAX;
	case CLI_OPT_UINT: return UINT_MAX;
	case CLI_OPT_ULONG: return ULONG_MAX;
	default: return ULLONG_MAX;
	}
}

/* One row's value (v NULL for a flag): 0 or an exit status, said. */
static int opt_take(const char *cmd, const char *usage, const struct cli_opt *o, const char *v)
{
	char name[80];
	unsigned long long u;

	snprintf(name, sizeof(name), "--%s", o->name);
	switch (o->kind) {
	case CLI_OPT_STR:
		*(const char **)o->dest = v;
		return 0;
	case CLI_OPT_FLAG:
		*(int *)o->dest = 1;
		return 0;
	case CLI_OPT_POS:
		return cli_opt_pos(cmd, usage, name, v, o->dhi, o->dest);
	case CLI_OPT_RANGE:
		return cli_opt_range(cmd, usage, name, v, o->dlo, o->dhi, o->dest);
	case CLI_OPT_PARSE:
		if (o->parse(v, o->dest))
			return cli_usage_error(cmd, usage, "%s: expected %s, got '%s'", name, o->expect, v);
		return 0;
	case CLI_OPT_FN:
		return o->fn(cmd, usage, name, v, o->dest);
	case CLI_OPT_INT:
	case CLI_OPT_UINT:
	case CLI_OPT_ULONG:
	case CLI_OPT_ULLONG:
		break;
	}
	if (o->hi > int_max(o->kind)) { /* a wrong table, not the user's error */
		fprintf(stderr, "modserve %s: %s: bound %llu does not fit its variable\n", cmd, name,
			o->hi);
		return CLI_EXIT_FAIL;
	}
	if (cli_opt_u64(cmd, usage, name, v, o->lo, o->hi, &u))
		return CLI_EXIT_USAGE;
	switch (o->kind) {
	case CLI_OPT_INT: *(int *)o->dest = (int)u; break;
	case CLI_OPT_UINT: *(unsigned *)o->dest = (unsigned)u; break;
	case CLI_OPT_ULONG: *(unsigned long *)o->dest = (unsigned long)u; break;
	default: *(unsigned long long *)o->dest = u; break;
	}
	return 0;
}

int cli_opts_parse(const char *cmd, const char *usage, const struct cli_opt *opts, size_t n,
		   int argc, char **argv)
{
	/* getopt's ids: row i is 256 + i, clear of 'h' and of every character */
	struct option lo[CLI_OPTS_MAX + 2];
	size_t i;
	int c, rc;

	if (n > CLI_OPTS_MAX) {
		fprintf(stderr, "modserve %s: %zu options, more than CLI_OPTS_MAX\n", cmd, n);
		return CLI_EXIT_FAIL;
	}
	for (i = 0; i < n; i++)
		lo[i] = (struct option){ opts[i].name,
					 opts[i].kind == CLI_OPT_FLAG ? no_argument : required_argument,
					 NULL, 256 + (int)i };
	lo[n] = (struct option){ "help", no_argument, NULL, 'h' };
	lo[n + 1] = (struct option){ NULL, 0, NULL, 0 };
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (c == 'h') {
			fputs(usage, stdout);
			return CLI_EXIT_OK;
		}
		if (c < 256 || (size_t)(c - 256) >= n) { /* getopt said what was wrong */
			fputs(usage, stderr);
			return CLI_EXIT_USAGE;
		}
		if ((rc = opt_take(cmd, usage, &opts[c - 256], optarg)))
			return rc;
	}
	if (optind < argc)
		return cli_usage_error(cmd, usage, "unexpected argument '%s'", argv[optind]);
	return CLI_GO;
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
