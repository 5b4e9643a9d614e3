/*
 * trace_int.h: helpers shared by the files of src/trace/ only.
 * Timestamp parsing in two halves, so the loader can reuse the minute of the row before.
 */
#ifndef TRACE_INT_H
#define TRACE_INT_H

#include <stddef.h>
#include <stdint.h>

/* `YYYY-MM-DD[T ]HH:MM:` (17 bytes, s must hold them) -> ns since the epoch of that minute. */
int trace__time_parse_minute(const char *s, int64_t *ns_out);
/* `SS[.f{1,9}][Z]` -> ns within the minute (00-59: no leap seconds). */
int trace__time_parse_seconds(const char *s, size_t len, int64_t *ns_out, int *frac_digits_out);

#endif
