/*
 * ms_conf: the one reader of modserve's `key = value` config files.
 *
 * Owns reading a whole file into memory, splitting it into numbered lines,
 * cutting `#` comments, trimming white space, splitting `key = value` at the
 * first '=', and turning values into numbers with `file:line: key: what`
 * errors. Callers: model/ (model and GPU specs) and trace/ (synth parameters).
 * What a key means, which keys are allowed, unknown/duplicate/missing keys and
 * `[section]` lines stay with the caller: their messages differ per file type.
 *
 * Invariants: lines handed out are never empty and point into c->buf, so they
 * live until ms_conf_release(); line numbers count every line, blank or not;
 * no line holds more than MS_CONF_LINE_MAX bytes (newline excluded) or a NUL.
 */
#ifndef MS_CONF_H
#define MS_CONF_H

#include <stddef.h>

#include "base/ms_error.h"

/* The limit of the fgets buffer the parsers used before (1024 - '\n' - NUL). */
#define MS_CONF_LINE_MAX 1022
/* Config files are hand-written and small; this only stops /dev/zero and the like. */
#define MS_CONF_FILE_MAX (16 << 20)

struct ms_conf {
	const char *path; /* borrowed, named in every message */
	char *buf;        /* whole file plus a NUL, cut into lines in place */
	size_t len, pos;
	int line;         /* number of the last line read; after the end, the line count */
};

struct ms_conf_line {
	int no;           /* 1-based */
	char *text;       /* trimmed, comment cut, never empty */
	char *key, *val;  /* trimmed halves after ms_conf_line_split(), else NULL */
};

/*
 * Reads all of path. Fails with -MS_ENOTFOUND if it does not exist, -MS_EIO if it
 * cannot be opened or read, -MS_ERANGE past MS_CONF_FILE_MAX. On failure c holds
 * nothing to release.
 */
int ms_conf_read(struct ms_conf *c, const char *path, struct ms_error *err);
void ms_conf_release(struct ms_conf *c);

/* Next non-blank line: 1 and fills l, 0 at the end, -MS_EPARSE on a long line or a NUL. */
int ms_conf_line_next(struct ms_conf *c, struct ms_conf_line *l, struct ms_error *err);
/* Splits l->text at its first '=' into l->key and l->val; -1 (text untouched) without '='. */
int ms_conf_line_split(struct ms_conf_line *l);

/* Strips leading and trailing white space in place; returns the new start. */
char *ms_conf_trim(char *s);
/* Parses up to max space-separated finite doubles; returns how many, or -1 on anything else. */
int ms_conf_numbers_parse(const char *s, double *out, int max);

/*
 * l->val as a base-10 integer / finite double within [lo, hi]. Errors name
 * c->path:l->no: l->key: `not an integer: 'x'` / `not a number: 'x'` (-MS_EPARSE)
 * or `out of range [lo, hi]: 'x'` (-MS_ERANGE). Bounds are doubles for both, so
 * both print them alike (%g).
 */
int ms_conf_long_get(const struct ms_conf *c, const struct ms_conf_line *l, double lo, double hi,
		     long *out, struct ms_error *err);
int ms_conf_double_get(const struct ms_conf *c, const struct ms_conf_line *l, double lo,
		       double hi, double *out, struct ms_error *err);

#endif
