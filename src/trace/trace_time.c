/* Civil-time conversion for trace timestamps; no libc timezone state involved. */
#include <stdio.h>

#include "trace/trace.h"
#include "trace/trace_int.h"

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;
	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;
	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

static int digits(const char *s, int n, int *out)
{
	int v = 0, i;
	for (i = 0; i < n; i++) {
		unsigned c = (unsigned char)s[i] - '0';
		if (c > 9)
			return -1;
		v = v * 10 + (int)c;
	}
	*out = v;
	return 0;
}

int trace__time_parse_minute(const char *s, int64_t *ns_out)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, mo, d, h, mi;

	if (s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' ||
	    s[16] != ':')
		return -1;
	if (digits(s, 4, &y) || digits(s + 5, 2, &mo) || digits(s + 8, 2, &d) ||
	    digits(s + 11, 2, &h) || digits(s + 14, 2, &mi))
		return -1;
	/* int64 ns since the epoch, and differences of two of them, must not overflow */
	if (y < 1970 || y > 2200)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59)
		return -1;
	if (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return -1;
	*ns_out = (days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60) * 1000000000LL;
	return 0;
}

int trace__time_parse_seconds(const char *s, size_t len, int64_t *ns_out, int *frac_digits_out)
{
	int sec, nfrac = 0;
	int64_t frac = 0;
	size_t i;

	/* no leap seconds: 23:59:60 would be written back as the next minute, and pandas and
	 * Python's datetime refuse it too */
	if (len < 2 || digits(s, 2, &sec) || sec > 59)
		return -1;
	i = 2;
	if (i < len && s[i] == '.') {
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
			if (nfrac == 9)
				return -1; /* finer than ns: not a trace timestamp */
			frac = frac * 10 + (s[i] - '0');
			nfrac++;
		}
		if (nfrac == 0)
			return -1;
	}
	if (i < len && s[i] == 'Z')
		i++;
	if (i != len)
		return -1;
	for (int k = nfrac; k < 9; k++)
		frac *= 10;
	*ns_out = sec * 1000000000LL + frac;
	if (frac_digits_out)
		*frac_digits_out = nfrac;
	return 0;
}

int trace_time_parse(const char *s, size_t len, int64_t *ns_out, int *frac_digits_out)
{
	int64_t minute, sub;
	/* YYYY-MM-DD?HH:MM:SS is 19 characters */
	if (len < 19 || trace__time_parse_minute(s, &minute) ||
	    trace__time_parse_seconds(s + 17, len - 17, &sub, frac_digits_out))
		return -1;
	*ns_out = minute + sub;
	return 0;
}

int trace_time_format(int64_t ns, enum trace_format fmt, int frac_digits, char *buf, size_t size)
{
	int64_t secs = ns >= 0 ? ns / 1000000000LL : -((-ns + 999999999LL) / 1000000000LL);
	int64_t sub = ns - secs * 1000000000LL;
	int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
	int64_t sod = secs - days * 86400;
	int y, m, d, n;
	int64_t div = 1;

	civil_from_days(days, &y, &m, &d);
	if (frac_digits < 0)
		frac_digits = 0;
	if (frac_digits > 9)
		frac_digits = 9;
	for (int k = frac_digits; k < 9; k++)
		div *= 10;
	n = snprintf(buf, size, "%04d-%02d-%02d%c%02d:%02d:%02d", y, m, d,
		     fmt == TRACE_FMT_LMM2025 ? 'T' : ' ', (int)(sod / 3600), (int)(sod / 60 % 60),
		     (int)(sod % 60));
	if (frac_digits > 0 && n > 0 && (size_t)n < size)
		n += snprintf(buf + n, size - (size_t)n, ".%0*lld", frac_digits,
			      (long long)(sub / div));
	if (fmt == TRACE_FMT_LMM2025 && n > 0 && (size_t)n < size)
		n += snprintf(buf + n, size - (size_t)n, "Z");
	return n;
}

int64_t trace_set_time_ns(const struct trace_set *ts, size_t i)
{
	double off = ts->t[i] * 1e9;
	return ts->start_ns + (int64_t)(off >= 0 ? off + 0.5 : off - 0.5);
}
