/*
 * trace_write: writes a struct trace_set back out as a trace file.
 *
 * Same format as the set's `format` (LMM 2025 or LLM 2023 header and timestamp style)
 * with the set's frac_digits (the loader keeps the finest precision of any row), widened
 * to the finest any row's time needs, so no time is ever cut: a loaded file written again
 * is byte-identical when all its timestamps had one precision (rows of a mixed file all
 * get the finest), and a written file always loads back to the same values. Path ending in ".gz" = gzip (zlib); "-" = plain CSV on stdout. Files are
 * written to PATH.tmp and renamed on success, so a failed write leaves no half file.
 * Called by the trace slice/synth commands and by anyone exporting a trace.
 * Invariant: every written file loads again. A row whose time falls outside what the
 * loader reads (1970-01-01 .. TRACE_WRITE_LAST_TIME) is refused with MS_ERANGE, naming
 * the row, before the target is touched (the .tmp file is removed).
 */
#ifndef TRACE_WRITE_H
#define TRACE_WRITE_H

#include "base/ms_error.h"
#include "trace/trace.h"

/*
 * zlib level for .gz output. Level 1 is ~3x faster than 6 on trace CSV (digits and
 * repeated date prefixes) for a file ~15% larger; traces are regenerated often and
 * read by our own loader, so speed wins.
 */
#define TRACE_WRITE_GZ_LEVEL 1

/* The last instant a trace file can hold (trace_time_parse takes years 1970-2200). */
#define TRACE_WRITE_LAST_TIME "2200-12-31T23:59:59.999999999Z"

int trace_set_write(const struct trace_set *ts, const char *path, struct ms_error *err);

#endif
