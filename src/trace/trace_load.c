/*
 * The trace reader: bytes (plain or gzip) -> lines -> rows.
 *
 * One pass, one buffer: compressed input is inflated by ISA-L into `line buffer`
 * after any partial line left from the previous chunk, so a row never needs a
 * second copy. Parsing is hand-written because strtol/sscanf per field cost more
 * than inflating (the week is 1M rows; the aim is ~0.2 s in all).
 */
#include <errno.h>
#include <fcntl.h>
#include <isa-l/igzip_lib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/ms_progress.h"
#include "trace/trace.h"
#include "trace/trace_int.h"

#define LINEBUF_SIZE (1u << 20)  /* also the longest line accepted */
#define INBUF_SIZE (1u << 20)

static const char *const bad_msgs[] = {
#define TRACE__BAD_MSG(code, msg) msg,
	TRACE_BAD_MAP(TRACE__BAD_MSG)
#undef TRACE__BAD_MSG
};

const char *trace_bad_msg(enum trace_bad why)
{
	return (unsigned)why < TRACE_BAD__COUNT ? bad_msgs[why] : "unknown";
}

void trace_set_init(struct trace_set *ts)
{
	memset(ts, 0, sizeof(*ts));
	ts->frac_digits = 3;
}

void trace_set_release(struct trace_set *ts)
{
	free(ts->t);
	free(ts->images);
	free(ts->ctx);
	free(ts->gen);
	trace_set_init(ts);
}

int trace_set_reserve(struct trace_set *ts, size_t cap, struct ms_error *err)
{
	double *t;
	uint32_t *a, *b, *c;
	if (cap <= ts->cap)
		return 0;
	/* each realloc result is stored at once so a failure leaks nothing */
	t = realloc(ts->t, cap * sizeof(*t));
	if (t)
		ts->t = t;
	a = t ? realloc(ts->images, cap * sizeof(*a)) : NULL;
	if (a)
		ts->images = a;
	b = a ? realloc(ts->ctx, cap * sizeof(*b)) : NULL;
	if (b)
		ts->ctx = b;
	c = b ? realloc(ts->gen, cap * sizeof(*c)) : NULL;
	if (!c)
		return ms_error_set(err, MS_ENOMEM, "out of memory for %zu trace rows", cap);
	ts->gen = c;
	ts->cap = cap;
	return 0;
}

int trace_set_push(struct trace_set *ts, double t, uint32_t images, uint32_t ctx, uint32_t gen,
		   struct ms_error *err)
{
	int rc;
	if (ts->n && t < ts->t[ts->n - 1])
		return ms_error_set(err, MS_EINVAL, "row %zu: time %.9f before the previous row",
				    ts->n + 1, t);
	if (ts->n == ts->cap) {
		rc = trace_set_reserve(ts, ts->cap ? ts->cap * 2 : 4096, err);
		if (rc < 0)
			return rc;
	}
	ts->t[ts->n] = t;
	ts->images[ts->n] = images;
	ts->ctx[ts->n] = ctx;
	ts->gen[ts->n] = gen;
	ts->n++;
	return 0;
}

/* ---- line parser ---- */

enum col_kind { COL_OTHER = 0, COL_TIME, COL_IMAGES, COL_CTX, COL_GEN };

#define MAX_COLS 64

struct parser {
	const char *name;
	struct trace_set *ts;
	const struct trace_load_opts *opts;
	struct trace_load_report *rep;
	struct ms_error *err;
	uint64_t line;
	int header_done;
	int ncols;
	unsigned char kind[MAX_COLS];
	const char *colname[COL_GEN + 1];
	int64_t last_ns;
	uint64_t blank_line; /* first of a run of blank lines not yet followed by a row */
	uint64_t blank_n;    /* and how many */
	char tcache[17];    /* minute prefix of the last timestamp parsed */
	int64_t tcache_ns;  /* its time */
	int tcache_ok;
};

static const char *const col_names[] = { "", "TIMESTAMP", "NumImages", "ContextTokens",
					 "GeneratedTokens" };

/* Records a bad row: an error, or under skip_bad a count (and an example). */
static int bad_row(struct parser *p, enum trace_bad why, const char *col, const char *val,
		   size_t vlen)
{
	char shown[48], msg[MS_ERR_MSG_MAX];
	ms_error_quote(shown, sizeof(shown), val, vlen);
	if (col)
		snprintf(msg, sizeof(msg), "%s:%llu: %s: %s: '%s'", p->name,
			 (unsigned long long)p->line, col, bad_msgs[why], shown);
	else
		snprintf(msg, sizeof(msg), "%s:%llu: %s: expected %d, got '%s'", p->name,
			 (unsigned long long)p->line, bad_msgs[why], p->ncols, shown);
	if (!p->opts->skip_bad)
		return ms_error_set(p->err, MS_EPARSE, "%s", msg);
	p->rep->bad[why]++;
	p->rep->bad_total++;
	if (p->rep->n_examples < TRACE_BAD_EXAMPLES) {
		size_t m = sizeof(p->rep->examples[0]) - 1;
		memcpy(p->rep->examples[p->rep->n_examples], msg, m);
		p->rep->examples[p->rep->n_examples][m] = '\0';
		p->rep->n_examples++;
	}
	return 0;
}

static int parse_header(struct parser *p, const char *s, size_t len)
{
	size_t i = 0;
	int k, col = 0, have[COL_GEN + 1] = { 0 };
	char shown[48];

	if (len >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3))
		i = 3; /* UTF-8 byte order mark */
	ms_error_quote(shown, sizeof(shown), s + i, len - i);
	while (1) {
		size_t st = i, e;
		while (i < len && s[i] != ',')
			i++;
		e = i;
		while (st < e && (s[st] == ' ' || s[st] == '"'))
			st++;
		while (e > st && (s[e - 1] == ' ' || s[e - 1] == '"'))
			e--;
		if (col >= MAX_COLS)
			return ms_error_set(p->err, MS_EPARSE, "%s:1: header: more than %d columns",
					    p->name, MAX_COLS);
		p->kind[col] = COL_OTHER;
		for (k = COL_TIME; k <= COL_GEN; k++) {
			if (strlen(col_names[k]) == e - st &&
			    !strncasecmp(s + st, col_names[k], e - st)) {
				if (have[k])
					return ms_error_set(p->err, MS_EPARSE,
							    "%s:1: header: column %s twice",
							    p->name, col_names[k]);
				have[k] = 1;
				p->kind[col] = (unsigned char)k;
			}
		}
		col++;
		if (i >= len)
			break;
		i++;
	}
	p->ncols = col;
	if (!have[COL_TIME] || !have[COL_CTX] || !have[COL_GEN])
		return ms_error_set(p->err, MS_EPARSE,
				    "%s:1: missing header: need TIMESTAMP, ContextTokens and "
				    "GeneratedTokens columns (NumImages optional), got '%s'",
				    p->name, shown);
	p->ts->format = have[COL_IMAGES] ? TRACE_FMT_LMM2025 : TRACE_FMT_LLM2023;
	for (k = COL_TIME; k <= COL_GEN; k++)
		p->colname[k] = col_names[k];
	p->header_done = 1;
	return 0;
}

/*
 * Rows of one minute share `YYYY-MM-DDTHH:MM:` (17 bytes): when a row's prefix equals the
 * last parsed one, only the seconds are new. Parsing whole timestamps was a tenth of the
 * load time of the week.
 */
static int time_parse(struct parser *p, const char *s, size_t len, int64_t *ns, int *frac)
{
	int64_t sub;
	if (len < 19)
		return -1;
	if (!p->tcache_ok || memcmp(s, p->tcache, 17)) {
		if (trace__time_parse_minute(s, &p->tcache_ns))
			return -1;
		memcpy(p->tcache, s, 17);
		p->tcache_ok = 1;
	}
	if (trace__time_parse_seconds(s + 17, len - 17, &sub, frac))
		return -1;
	*ns = p->tcache_ns + sub;
	return 0;
}

/* 0 ok, or the reason the field is not a valid count. */
static int parse_u32(const char *s, size_t len, uint32_t *out, enum trace_bad *why)
{
	uint64_t v = 0;
	size_t i;
	if (len == 0) {
		*why = TRACE_BAD_NOT_NUMBER;
		return -1;
	}
	if (s[0] == '-') {
		*why = TRACE_BAD_NEGATIVE;
		for (i = 1; i < len; i++)
			if ((unsigned)(s[i] - '0') > 9)
				*why = TRACE_BAD_NOT_NUMBER;
		if (len == 1)
			*why = TRACE_BAD_NOT_NUMBER;
		return -1;
	}
	for (i = 0; i < len; i++) {
		unsigned c = (unsigned char)s[i] - '0';
		if (c > 9) {
			*why = TRACE_BAD_NOT_NUMBER;
			return -1;
		}
		v = v * 10 + c;
		if (v > UINT32_MAX) {
			/* keep scanning: '99999999999x' is not a number, not an overflow */
			for (i++; i < len; i++)
				if ((unsigned)(s[i] - '0') > 9) {
					*why = TRACE_BAD_NOT_NUMBER;
					return -1;
				}
			*why = TRACE_BAD_OVERFLOW;
			return -1;
		}
	}
	*out = (uint32_t)v;
	return 0;
}

/*
 * Appends a checked row. The first row sets the trace's start; the fraction digits are the
 * finest any row used, so writing the set back never cuts a later, finer timestamp (a first
 * row `12:00:00Z` must not make `12:00:00.750Z` come out as `12:00:00Z`).
 */
static int store_row(struct parser *p, int64_t ns, int frac, const uint32_t *v)
{
	struct trace_set *ts = p->ts;
	if (ts->n == 0) {
		ts->start_ns = ns;
		ts->frac_digits = frac;
	} else if (frac > ts->frac_digits) {
		ts->frac_digits = frac;
	}
	p->last_ns = ns;
	if (ts->n == ts->cap) {
		int rc = trace_set_reserve(ts, ts->cap ? ts->cap * 2 : 65536, p->err);
		if (rc < 0)
			return rc;
	}
	ts->t[ts->n] = (double)(ns - ts->start_ns) * 1e-9;
	ts->images[ts->n] = v[COL_IMAGES];
	ts->ctx[ts->n] = v[COL_CTX];
	ts->gen[ts->n] = v[COL_GEN];
	ts->n++;
	return 0;
}

/*
 * The common case in one pass: fields split and numbers converted while scanning.
 * Returns 1 when the row was good and stored (or a negative code from storing), 0 when
 * anything is off: parse_row_checked() then finds and reports what.
 */
static int parse_row_fast(struct parser *p, const char *s, size_t len)
{
	uint32_t v[COL_GEN + 1] = { 0 };
	int64_t ns = 0;
	int frac = 3, rc;
	size_t i = 0;

	for (int c = 0; c < p->ncols; c++) {
		int k = p->kind[c];
		size_t st = i;
		if (k == COL_TIME || k == COL_OTHER) {
			while (i < len && s[i] != ',')
				i++;
			if (k == COL_TIME && time_parse(p, s + st, i - st, &ns, &frac))
				return 0;
		} else {
			uint64_t x = 0;
			while (i < len && (unsigned)(s[i] - '0') <= 9) {
				x = x * 10 + (uint64_t)(s[i] - '0');
				if (x > UINT32_MAX)
					return 0;
				i++;
			}
			if (i == st)
				return 0;
			v[k] = (uint32_t)x;
		}
		if (c + 1 < p->ncols) {
			if (i >= len || s[i] != ',')
				return 0;
			i++;
		} else if (i != len) {
			return 0;
		}
	}
	if (p->ts->n && ns < p->last_ns)
		return 0;
	rc = store_row(p, ns, frac, v);
	return rc < 0 ? rc : 1;
}

/* The careful path: finds the first thing wrong with a row and reports or counts it. */
static int parse_row_checked(struct parser *p, const char *s, size_t len)
{
	const char *f[MAX_COLS];
	size_t flen[MAX_COLS];
	int nf = 0, c, frac = 3, tcol = 0;
	size_t i = 0, st = 0;
	uint32_t v[COL_GEN + 1] = { 0 };
	int64_t ns = 0;
	enum trace_bad why;

	for (i = 0; i <= len; i++) {
		if (i < len && s[i] != ',')
			continue;
		if (nf < MAX_COLS) {
			f[nf] = s + st;
			flen[nf] = i - st;
		}
		nf++;
		st = i + 1;
	}
	if (nf != p->ncols)
		return bad_row(p, TRACE_BAD_FIELDS, NULL, s, len);
	for (c = 0; c < nf; c++) {
		int k = p->kind[c];
		if (k == COL_OTHER)
			continue;
		if (k == COL_TIME) {
			tcol = c;
			if (time_parse(p, f[c], flen[c], &ns, &frac))
				return bad_row(p, TRACE_BAD_TIMESTAMP, "TIMESTAMP", f[c], flen[c]);
		} else if (parse_u32(f[c], flen[c], &v[k], &why)) {
			return bad_row(p, why, col_names[k], f[c], flen[c]);
		}
	}
	if (p->ts->n && ns < p->last_ns)
		return bad_row(p, TRACE_BAD_ORDER, "TIMESTAMP", f[tcol], flen[tcol]);
	return store_row(p, ns, frac, v);
}

static int parse_row(struct parser *p, const char *s, size_t len)
{
	int rc = parse_row_fast(p, s, len);
	return rc ? (rc < 0 ? rc : 0) : parse_row_checked(p, s, len);
}

static int parse_line(struct parser *p, const char *s, size_t len)
{
	p->line++;
	if (len && s[len - 1] == '\r')
		len--; /* CRLF files load like LF files */
	if (!p->header_done)
		return parse_header(p, s, len);
	if (len == 0) {
		/* blank lines are fine at the end of a file (editors add them), not between rows */
		if (!p->blank_n++)
			p->blank_line = p->line;
		return 0;
	}
	while (p->blank_n) {
		/* each blank line of the run is one bad row, reported at its own line */
		uint64_t here = p->line;
		int rc;
		p->line = p->blank_line++;
		p->blank_n--;
		rc = bad_row(p, TRACE_BAD_FIELDS, NULL, s, 0);
		p->line = here;
		if (rc < 0)
			return rc;
	}
	return parse_row(p, s, len);
}

/* Parses the complete lines of buf; returns bytes consumed (<= len) or a negative code. */
static long parse_lines(struct parser *p, const char *buf, size_t len)
{
	size_t pos = 0;
	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		int rc;
		if (!nl)
			break;
		rc = parse_line(p, buf + pos, (size_t)(nl - (buf + pos)));
		if (rc < 0)
			return rc;
		pos = (size_t)(nl - buf) + 1;
	}
	return (long)pos;
}

/* ---- byte sources ---- */

struct source {
	int fd;              /* -1 for a memory source */
	const unsigned char *mem;
	size_t mem_len, mem_pos;
	unsigned char *inbuf;
	uint64_t bytes_in;
};

static long source_read(struct source *src, unsigned char **out, struct ms_error *err,
			const char *name)
{
	if (src->fd < 0) {
		size_t n = src->mem_len - src->mem_pos;
		if (n > INBUF_SIZE)
			n = INBUF_SIZE;
		*out = (unsigned char *)src->mem + src->mem_pos;
		src->mem_pos += n;
		src->bytes_in += n;
		return (long)n;
	}
	for (;;) {
		ssize_t n = read(src->fd, src->inbuf, INBUF_SIZE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return ms_error_set(err, MS_EIO, "%s: read: %s", name, strerror(errno));
		*out = src->inbuf;
		src->bytes_in += (uint64_t)n;
		return (long)n;
	}
}

struct loader {
	struct parser p;
	struct source src;
	char *lb;           /* line buffer: leftover partial line, then new bytes */
	size_t lb_len;
	struct ms_progress prog;
	double total;
};

/* Parses the complete lines in the line buffer and keeps the partial last one. */
static int consume_lines(struct loader *L)
{
	long used = parse_lines(&L->p, L->lb, L->lb_len);
	if (used < 0)
		return (int)used;
	if (used == 0 && L->lb_len == LINEBUF_SIZE)
		return ms_error_set(L->p.err, MS_EPARSE, "%s:%llu: line longer than %u bytes",
				    L->p.name, (unsigned long long)L->p.line + 1, LINEBUF_SIZE);
	memmove(L->lb, L->lb + used, L->lb_len - (size_t)used);
	L->lb_len -= (size_t)used;
	return 0;
}

/* Appends bytes to the line buffer, parsing complete lines as it fills. */
static int feed_plain(struct loader *L, const unsigned char *in, size_t n)
{
	while (n) {
		size_t room = LINEBUF_SIZE - L->lb_len, take = n < room ? n : room;
		int rc;
		memcpy(L->lb + L->lb_len, in, take);
		L->lb_len += take;
		in += take;
		n -= take;
		rc = consume_lines(L);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int run_plain(struct loader *L, const unsigned char *first, long first_n)
{
	long n = first_n;
	const unsigned char *in = first;
	for (;;) {
		int rc;
		unsigned char *next;
		if (n == 0)
			return 0;
		rc = feed_plain(L, in, (size_t)n);
		if (rc < 0)
			return rc;
		ms_progress_update(&L->prog, (double)L->src.bytes_in);
		n = source_read(&L->src, &next, L->p.err, L->p.name);
		if (n < 0)
			return (int)n;
		in = next;
	}
}

/* What an ISA-L inflate error means, in words. */
static const char *gzip_what(int rc)
{
	switch (rc) {
	case ISAL_INCORRECT_CHECKSUM:
		return "gzip CRC or length mismatch (corrupt file)";
	case ISAL_INVALID_WRAPPER:
		return "bad gzip header";
	case ISAL_UNSUPPORTED_METHOD:
		return "unsupported gzip compression method";
	default:
		return "corrupt gzip data";
	}
}

/* Gives the inflater the next input chunk; sets *eof at the end of the input. */
static int refill(struct loader *L, struct inflate_state *st, int *eof)
{
	unsigned char *next;
	long n = source_read(&L->src, &next, L->p.err, L->p.name);
	if (n < 0)
		return (int)n;
	if (n == 0)
		*eof = 1;
	st->next_in = next;
	st->avail_in = (uint32_t)n;
	ms_progress_update(&L->prog, (double)L->src.bytes_in);
	return 0;
}

/* Inflates straight into the line buffer after the carried partial line. */
static int run_gzip(struct loader *L, const unsigned char *first, long first_n)
{
	struct inflate_state st;
	int eof = 0;

	isal_inflate_init(&st);
	st.crc_flag = ISAL_GZIP;
	st.next_in = (uint8_t *)first;
	st.avail_in = (uint32_t)first_n;
	for (;;) {
		int rc;
		if (st.avail_in == 0 && !eof) {
			rc = refill(L, &st, &eof);
			if (rc < 0)
				return rc;
		}
		st.next_out = (uint8_t *)L->lb + L->lb_len;
		st.avail_out = (uint32_t)(LINEBUF_SIZE - L->lb_len);
		rc = isal_inflate(&st);
		if (rc < 0)
			return ms_error_set(L->p.err, MS_EPARSE, "%s: %s near byte %llu", L->p.name,
					    gzip_what(rc),
					    (unsigned long long)(L->src.bytes_in - st.avail_in));
		L->lb_len = LINEBUF_SIZE - st.avail_out;
		rc = consume_lines(L);
		if (rc < 0)
			return rc;
		if (st.block_state == ISAL_BLOCK_FINISH) {
			/* concatenated gzip members are one stream (gzip(1) semantics) */
			if (st.avail_in == 0 && !eof) {
				rc = refill(L, &st, &eof);
				if (rc < 0)
					return rc;
			}
			if (st.avail_in == 0)
				return 0;
			if ((st.avail_in >= 2 && (st.next_in[0] != 0x1f || st.next_in[1] != 0x8b)) ||
			    (st.avail_in == 1 && eof))
				return ms_error_set(L->p.err, MS_EPARSE,
						    "%s: trailing garbage after gzip data at byte %llu",
						    L->p.name,
						    (unsigned long long)(L->src.bytes_in - st.avail_in));
			{
				uint8_t *ni = st.next_in;
				uint32_t ai = st.avail_in;
				isal_inflate_reset(&st);
				st.crc_flag = ISAL_GZIP;
				st.next_in = ni;
				st.avail_in = ai;
			}
			continue;
		}
		if (eof && st.avail_in == 0 && st.avail_out != 0)
			return ms_error_set(L->p.err, MS_EPARSE,
					    "%s: truncated gzip stream (ends after %llu bytes)",
					    L->p.name, (unsigned long long)L->src.bytes_in);
	}
}

static int load(struct trace_set *ts, struct source *src, const char *name, double total,
		const struct trace_load_opts *opts, struct trace_load_report *rep,
		struct ms_error *err)
{
	static const struct trace_load_opts no_opts;
	struct trace_load_report local_rep;
	struct loader L;
	unsigned char *first;
	long n;
	int rc;

	if (!opts)
		opts = &no_opts;
	if (!rep)
		rep = &local_rep;
	memset(rep, 0, sizeof(*rep));
	memset(&L, 0, sizeof(L));
	L.p.name = name;
	L.p.ts = ts;
	L.p.opts = opts;
	L.p.rep = rep;
	L.p.err = err;
	L.src = *src;
	L.lb = malloc(LINEBUF_SIZE);
	if (!L.lb)
		return ms_error_set(err, MS_ENOMEM, "%s: out of memory", name);
	ms_progress_init(&L.prog, name, total);
	if (!opts->progress)
		L.prog.enabled = 0;

	n = source_read(&L.src, &first, err, name);
	if (n < 0) {
		rc = (int)n;
		goto out;
	}
	if (n >= 2 && first[0] == 0x1f && first[1] == 0x8b)
		rc = run_gzip(&L, first, n);
	else
		rc = run_plain(&L, first, n);
	if (rc == 0 && L.lb_len > 0)
		rc = parse_line(&L.p, L.lb, L.lb_len); /* last line without a newline */
	if (rc == 0 && !L.p.header_done)
		rc = ms_error_set(err, MS_EPARSE, "%s: empty file: no header line", name);
	ms_progress_done(&L.prog);
out:
	rep->rows = ts->n;
	rep->lines = L.p.line;
	free(L.lb);
	return rc;
}

int trace_set_load_mem(struct trace_set *ts, const void *buf, size_t len, const char *name,
		       const struct trace_load_opts *opts, struct trace_load_report *rep,
		       struct ms_error *err)
{
	struct source src = { .fd = -1, .mem = buf, .mem_len = len };
	return load(ts, &src, name, (double)len, opts, rep, err);
}

int trace_set_load(struct trace_set *ts, const char *path, const struct trace_load_opts *opts,
		   struct trace_load_report *rep, struct ms_error *err)
{
	struct source src = { .fd = -1 };
	struct stat sb;
	int rc;

	if (!strcmp(path, "-")) {
		src.fd = STDIN_FILENO;
	} else {
		src.fd = open(path, O_RDONLY);
		if (src.fd < 0)
			return ms_error_set(err, MS_EIO, "%s: cannot open: %s", path,
					    strerror(errno));
	}
	if (fstat(src.fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		close(src.fd);
		return ms_error_set(err, MS_EIO, "%s: is a directory", path);
	}
	src.inbuf = malloc(INBUF_SIZE);
	if (!src.inbuf) {
		if (src.fd != STDIN_FILENO)
			close(src.fd);
		return ms_error_set(err, MS_ENOMEM, "%s: out of memory", path);
	}
	rc = load(ts, &src, path, S_ISREG(sb.st_mode) ? (double)sb.st_size : 0, opts, rep, err);
	free(src.inbuf);
	if (src.fd != STDIN_FILENO)
		close(src.fd);
	return rc;
}
