#include "base/ms_conf.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ms_conf_read(struct ms_conf *c, const char *path, struct ms_error *err)
{
	size_t cap = 4096, n;
	FILE *f;
	int rc = 0;

	memset(c, 0, sizeof(*c));
	c->path = path;
	f = fopen(path, "r");
	if (!f)
		return ms_error_set(err, errno == ENOENT ? MS_ENOTFOUND : MS_EIO, "%s: cannot open: %s",
				    path, strerror(errno));
	c->buf = malloc(cap + 1);
	if (!c->buf) {
		rc = ms_error_set(err, MS_ENOMEM, "%s: out of memory", path);
		goto fail;
	}
	/* Read until EOF rather than trust st_size: pipes and /proc files report 0. */
	while ((n = fread(c->buf + c->len, 1, cap - c->len, f)) > 0) {
		c->len += n;
		if (c->len == cap) {
			char *nb;
			if (cap >= MS_CONF_FILE_MAX) {
				rc = ms_error_set(err, MS_ERANGE, "%s: larger than %d bytes", path,
						  MS_CONF_FILE_MAX);
				goto fail;
			}
			nb = realloc(c->buf, 2 * cap + 1);
			if (!nb) {
				rc = ms_error_set(err, MS_ENOMEM, "%s: out of memory", path);
				goto fail;
			}
			c->buf = nb;
			cap *= 2;
		}
	}
	if (ferror(f)) {
		rc = ms_error_set(err, MS_EIO, "%s: read error", path);
		goto fail;
	}
	fclose(f);
	c->buf[c->len] = '\0';
	return 0;
fail:
	fclose(f);
	ms_conf_release(c);
	return rc;
}

void ms_conf_release(struct ms_conf *c)
{
	free(c->buf);
	c->buf = NULL;
	c->len = c->pos = 0;
}

char *ms_conf_trim(char *s)
{
	char *e;
	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int ms_conf_line_next(struct ms_conf *c, struct ms_conf_line *l, struct ms_error *err)
{
	while (c->pos < c->len) {
		char *s = c->buf + c->pos, *nl = memchr(s, '\n', c->len - c->pos), *hash;
		size_t n = nl ? (size_t)(nl - s) : c->len - c->pos;

		c->line++;
		c->pos += n + (nl != NULL);
		if (n > MS_CONF_LINE_MAX)
			return ms_error_set(err, MS_EPARSE, "%s:%d: line longer than %d bytes", c->path,
					    c->line, MS_CONF_LINE_MAX);
		/* A NUL would silently hide the rest of the line from every strchr below. */
		if (memchr(s, '\0', n))
			return ms_error_set(err, MS_EPARSE, "%s:%d: NUL byte in line", c->path, c->line);
		s[n] = '\0';
		hash = strchr(s, '#');
		if (hash)
			*hash = '\0';
		s = ms_conf_trim(s);
		if (!*s)
			continue;
		l->no = c->line;
		l->text = s;
		l->key = l->val = NULL;
		return 1;
	}
	return 0;
}

int ms_conf_line_split(struct ms_conf_line *l)
{
	char *eq = strchr(l->text, '=');
	if (!eq)
		return -1;
	*eq = '\0';
	l->key = ms_conf_trim(l->text);
	l->val = ms_conf_trim(eq + 1);
	return 0;
}

int ms_conf_numbers_parse(const char *s, double *out, int max)
{
	int n = 0;
	for (;;) {
		char *end;
		while (isspace((unsigned char)*s))
			s++;
		if (!*s)
			return n;
		if (n == max)
			return -1;
		errno = 0;
		out[n] = strtod(s, &end);
		if (end == s || errno || !isfinite(out[n]) || (*end && !isspace((unsigned char)*end)))
			return -1;
		n++;
		s = end;
	}
}

static int out_of_range(const struct ms_conf *c, const struct ms_conf_line *l, double lo,
			double hi, struct ms_error *err)
{
	return ms_error_set(err, MS_ERANGE, "%s:%d: %s: out of range [%g, %g]: '%s'", c->path, l->no,
			    l->key, lo, hi, l->val);
}

int ms_conf_long_get(const struct ms_conf *c, const struct ms_conf_line *l, double lo, double hi,
		     long *out, struct ms_error *err)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(l->val, &end, 10);
	if (errno || end == l->val || *end)
		return ms_error_set(err, MS_EPARSE, "%s:%d: %s: not an integer: '%s'", c->path, l->no,
				    l->key, l->val);
	if (v < lo || v > hi)
		return out_of_range(c, l, lo, hi, err);
	*out = v;
	return 0;
}

int ms_conf_double_get(const struct ms_conf *c, const struct ms_conf_line *l, double lo,
		       double hi, double *out, struct ms_error *err)
{
	double v;

	if (ms_conf_numbers_parse(l->val, &v, 1) != 1)
		return ms_error_set(err, MS_EPARSE, "%s:%d: %s: not a number: '%s'", c->path, l->no,
				    l->key, l->val);
	if (v < lo || v > hi)
		return out_of_range(c, l, lo, hi, err);
	*out = v;
	return 0;
}
