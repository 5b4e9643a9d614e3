/*
 * ms_error: the one error type of modserve.
 *
 * Library code never prints or exits: it returns a negative MS_E* code and fills
 * the caller's struct ms_error with a whole message (`file:line: field: what`).
 * Only cli/ prints it and picks the exit status. Broken invariants are bugs,
 * not errors: MS_BUG() prints where and aborts.
 */
#ifndef MS_ERROR_H
#define MS_ERROR_H

#include <stddef.h>

/* X-macro: code, name, generic message. Codes are negative in returns. */
#define MS_ERRNO_MAP(X)                                  \
	X(INVAL, "EINVAL", "invalid argument")           \
	X(PARSE, "EPARSE", "malformed input")            \
	X(IO, "EIO", "input/output error")               \
	X(NOMEM, "ENOMEM", "out of memory")              \
	X(RANGE, "ERANGE", "value out of range")         \
	X(NOTFOUND, "ENOTFOUND", "not found")            \
	X(NET, "ENET", "network error")                  \
	X(UNSUPPORTED, "EUNSUPPORTED", "not supported")

enum ms_errno {
	MS_OK = 0,
#define MS__ENUM(code, name, msg) MS_E##code,
	MS_ERRNO_MAP(MS__ENUM)
#undef MS__ENUM
	MS__ECOUNT
};

#define MS_ERR_MSG_MAX 512

struct ms_error {
	int code; /* positive enum ms_errno, 0 when no error */
	char msg[MS_ERR_MSG_MAX];
};

void ms_error_clear(struct ms_error *err);
/* Fills err (may be NULL) and returns -code, so `return ms_error_set(...)` reads well. */
int ms_error_set(struct ms_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
const char *ms_errno_name(int code);
/*
 * Input quoted in a message: the first size-1 bytes of s[0..len), bytes other than
 * printable ASCII as '?', "..." at the end when cut. Returns buf.
 */
const char *ms_error_quote(char *buf, size_t size, const char *s, size_t len);
const char *ms_errno_msg(int code);

void ms__bug(const char *file, int line, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4)));
#define MS_BUG(...) ms__bug(__FILE__, __LINE__, __VA_ARGS__)
#define MS_ASSERT(cond) \
	do { if (!(cond)) MS_BUG("assertion failed: %s", #cond); } while (0)

#endif
