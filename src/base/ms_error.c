#include "base/ms_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[] = {
	"OK",
#define MS__NAME(code, name, msg) name,
	MS_ERRNO_MAP(MS__NAME)
#undef MS__NAME
};

static const char *const msgs[] = {
	"ok",
#define MS__MSG(code, name, msg) msg,
	MS_ERRNO_MAP(MS__MSG)
#undef MS__MSG
};

void ms_error_clear(struct ms_error *err)
{
	if (!err)
		return;
	err->code = 0;
	err->msg[0] = '\0';
}

int ms_error_set(struct ms_error *err, int code, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		err->code = code;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return -code;
}

const char *ms_error_quote(char *buf, size_t size, const char *s, size_t len)
{
	size_t i, n = len < size - 1 ? len : size - 1;
	for (i = 0; i < n; i++)
		buf[i] = (s[i] >= 32 && s[i] < 127) ? s[i] : '?';
	buf[n] = '\0';
	if (len > n && n >= 3)
		memcpy(buf + n - 3, "...", 3);
	return buf;
}

const char *ms_errno_name(int code)
{
	if (code < 0)
		code = -code;
	return code < MS__ECOUNT ? names[code] : "EUNKNOWN";
}

const char *ms_errno_msg(int code)
{
	if (code < 0)
		code = -code;
	return code < MS__ECOUNT ? msgs[code] : "unknown error";
}

void ms__bug(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fflush(stdout);
	fprintf(stderr, "BUG: %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}
