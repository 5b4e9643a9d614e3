/* CSV / CSV.gz writer for struct trace_set; see trace_write.h. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "trace/trace_write.h"

#define WRITE_BUF (1 << 20)

struct writer {
	FILE *f;      /* plain output, or NULL */
	gzFile gz;    /* gzip output, or NULL */
	const char *name;
	char *buf;
	size_t len;
};

static int writer_flush(struct writer *w, struct ms_error *err)
{
	if (!w->len)
		return 0;
	if (w->gz) {
		if (gzwrite(w->gz, w->buf, (unsigned)w->len) != (int)w->len) {
			int zerr;
			const char *m = gzerror(w->gz, &zerr);
			return ms_error_set(err, MS_EIO, "%s: write failed: %s", w->name,
					    zerr == Z_ERRNO ? strerror(errno) : m);
		}
	} else if (fwrite(w->buf, 1, w->len, w->f) != w->len) {
		return ms_error_set(err, MS_EIO, "%s: write failed: %s", w->name, strerror(errno));
	}
	w->len = 0;
	return 0;
}

/* Decimal digits of v at p; returns the count. Faster than snprintf in the 1M-row loop. */
static size_t put_u32(char *p, uint32_t v)
{
	char tmp[10];
	size_t n = 0, i;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	return n;
}

/*
 * A time the loader would refuse (before 1970, after 2200, not a number) would make a
 * file that never loads again: refuse the row instead. Checked in double first, so
 * trace_set_time_ns never converts an out-of-range double, then exactly in ns.
 */
static int row_time_check(const struct trace_set *ts, size_t i, int64_t max_ns,
			  const char *name, struct ms_error *err)
{
	double off = ts->t[i] * 1e9, abs_ns = (double)ts->start_ns + off;
	int64_t ns;

	if (!isfinite(off) || fabs(off) > 9e18 || !(abs_ns > -1e9 && abs_ns < (double)max_ns + 1e9))
		goto bad;
	ns = trace_set_time_ns(ts, i);
	if (ns >= 0 && ns <= max_ns)
		return 0;
bad:
	return ms_error_set(err, MS_ERANGE,
			    "%s: row %zu: time %g s after the start is outside 1970..%.4s, "
			    "which a trace file cannot hold",
			    name, i + 1, ts->t[i], TRACE_WRITE_LAST_TIME);
}

/*
 * How far trace_set_time_ns(ts, i) may sit from the row's true time: t[] holds seconds as a
 * double, so converting there and back costs a few ulps of t*1e9 (0 ns over a week, ~15 ns
 * over a year) plus the rounding to whole ns. A row closer than this to a grid point of the
 * precision is on it; a row further away has a finer time that the precision would cut.
 */
static int64_t row_time_slack(const struct trace_set *ts, size_t i)
{
	return (int64_t)(fabs(ts->t[i]) * 1e9 * 4.0 * 0x1p-53) + 1;
}

static int64_t pow10_i64(int e)
{
	int64_t v = 1;
	while (e-- > 0)
		v *= 10;
	return v;
}

/*
 * Checks every row's time and returns the fraction digits to write: the set's, widened to
 * the finest a row needs, so no row's time is cut silently (a set made in code can hold a
 * finer time than its frac_digits says). Runs before anything is written.
 */
static int write_digits(const struct trace_set *ts, int64_t max_ns, const char *name,
			struct ms_error *err)
{
	int digits = ts->frac_digits < 0 ? 0 : ts->frac_digits > 9 ? 9 : ts->frac_digits;
	size_t i;

	for (i = 0; i < ts->n; i++) {
		int64_t ns, slack, unit, r;
		int rc = row_time_check(ts, i, max_ns, name, err);
		if (rc < 0)
			return rc;
		ns = trace_set_time_ns(ts, i);
		slack = row_time_slack(ts, i);
		while (digits < 9) {
			unit = pow10_i64(9 - digits);
			r = ns % unit; /* ns >= 0: row_time_check */
			if (r <= slack || unit - r <= slack)
				break;
			digits++;
		}
	}
	return digits;
}

/*
 * Row i's time on the grid of `digits`: rounded to the nearest grid point (the double's few
 * ns of noise must not turn .750 into .749), never past the last loadable instant.
 */
static int64_t row_time_on_grid(const struct trace_set *ts, size_t i, int digits, int64_t max_ns)
{
	int64_t ns = trace_set_time_ns(ts, i), unit = pow10_i64(9 - digits);
	int64_t down = ns - ns % unit;
	if (ns - down > unit / 2 && down <= max_ns - unit)
		return down + unit;
	return down;
}

static int write_rows(const struct trace_set *ts, struct writer *w, struct ms_error *err)
{
	int lmm = ts->format == TRACE_FMT_LMM2025;
	const char *hdr = lmm ? "TIMESTAMP,NumImages,ContextTokens,GeneratedTokens\n"
			      : "TIMESTAMP,ContextTokens,GeneratedTokens\n";
	int64_t max_ns;
	size_t i;
	int rc, digits;

	/* the loader's own parser says where times end, so the two cannot disagree */
	if (trace_time_parse(TRACE_WRITE_LAST_TIME, strlen(TRACE_WRITE_LAST_TIME), &max_ns, NULL))
		return ms_error_set(err, MS_EINVAL, "internal: cannot parse %s", TRACE_WRITE_LAST_TIME);
	digits = write_digits(ts, max_ns, w->name, err);
	if (digits < 0)
		return digits;
	memcpy(w->buf, hdr, strlen(hdr));
	w->len = strlen(hdr);
	for (i = 0; i < ts->n; i++) {
		char *p;
		int n;
		if (w->len > WRITE_BUF - 128) {
			rc = writer_flush(w, err);
			if (rc < 0)
				return rc;
		}
		p = w->buf + w->len;
		n = trace_time_format(row_time_on_grid(ts, i, digits, max_ns), ts->format, digits, p,
				      64);
		if (n <= 0 || n >= 64)
			return ms_error_set(err, MS_ERANGE, "%s: row %zu: time out of range", w->name,
					    i + 1);
		p += n;
		if (lmm) {
			*p++ = ',';
			p += put_u32(p, ts->images[i]);
		} else if (ts->images[i]) {
			return ms_error_set(err, MS_EINVAL,
					    "%s: row %zu: has %u images but the LLM 2023 format has no "
					    "NumImages column",
					    w->name, i + 1, ts->images[i]);
		}
		*p++ = ',';
		p += put_u32(p, ts->ctx[i]);
		*p++ = ',';
		p += put_u32(p, ts->gen[i]);
		*p++ = '\n';
		w->len = (size_t)(p - w->buf);
	}
	return writer_flush(w, err);
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !strcmp(s + a - b, suffix);
}

int trace_set_write(const struct trace_set *ts, const char *path, struct ms_error *err)
{
	struct writer w = { .name = path };
	char *tmp = NULL;
	struct stat st;
	int rc, direct = 0;

	if (ts->format != TRACE_FMT_LMM2025 && ts->format != TRACE_FMT_LLM2023)
		return ms_error_set(err, MS_EINVAL, "%s: unknown trace format %d", path, ts->format);
	w.buf = malloc(WRITE_BUF);
	if (!w.buf)
		return ms_error_set(err, MS_ENOMEM, "%s: out of memory", path);
	if (!strcmp(path, "-")) {
		w.f = stdout;
		w.name = "<stdout>";
		rc = write_rows(ts, &w, err);
		if (rc == 0 && fflush(stdout))
			rc = ms_error_set(err, MS_EIO, "<stdout>: write failed: %s", strerror(errno));
		free(w.buf);
		return rc;
	}
	/*
	 * Write beside the target and rename, so a failure leaves no half file; but only
	 * for regular files: renaming over /dev/null or a FIFO would replace the device.
	 */
	if (!stat(path, &st) && !S_ISREG(st.st_mode))
		direct = 1;
	tmp = malloc(strlen(path) + 5);
	if (!tmp) {
		free(w.buf);
		return ms_error_set(err, MS_ENOMEM, "%s: out of memory", path);
	}
	if (direct)
		strcpy(tmp, path);
	else
		sprintf(tmp, "%s.tmp", path);
	if (ends_with(path, ".gz")) {
		char mode[8];
		snprintf(mode, sizeof(mode), "wb%d", TRACE_WRITE_GZ_LEVEL);
		w.gz = gzopen(tmp, mode);
		if (w.gz)
			gzbuffer(w.gz, 256 * 1024);
	} else {
		w.f = fopen(tmp, "wb");
	}
	if (!w.f && !w.gz) {
		rc = ms_error_set(err, MS_EIO, "%s: cannot create: %s", tmp, strerror(errno));
		goto out;
	}
	rc = write_rows(ts, &w, err);
	if (w.gz) {
		int zrc = gzclose(w.gz);
		if (rc == 0 && zrc != Z_OK)
			rc = ms_error_set(err, MS_EIO, "%s: write failed (gzip close %d)", tmp, zrc);
	}
	if (w.f && fclose(w.f) && rc == 0)
		rc = ms_error_set(err, MS_EIO, "%s: write failed: %s", tmp, strerror(errno));
	if (rc == 0 && !direct && rename(tmp, path))
		rc = ms_error_set(err, MS_EIO, "%s: cannot rename to %s: %s", tmp, path, strerror(errno));
	if (rc < 0 && !direct)
		remove(tmp);
out:
	free(tmp);
	free(w.buf);
	return rc;
}
