/*
 * trace: LMM request traces held as struct-of-arrays, and their loader.
 *
 * Owns struct trace_set (one row per request: arrival time, images, context and
 * generated tokens) and reading it from .csv or .csv.gz (gzip found by magic
 * bytes, inflated in a stream by ISA-L; nothing is decompressed to disk).
 * Formats, columns found by header name:
 *   Azure LMM 2025  TIMESTAMP,NumImages,ContextTokens,GeneratedTokens
 *                   2024-10-15T12:00:00.269Z
 *   Azure LLM 2023  TIMESTAMP,ContextTokens,GeneratedTokens (NumImages = 0)
 *                   2023-11-16 18:15:46.6805900
 * Invariants: t[] is non-decreasing, t[0] == 0, start_ns is the absolute time
 * of row 0. 20 bytes per request. Times as double seconds are exact to the ns
 * over a week and within 4 ns over a year: far finer than the 1 ms / 100 ns the
 * formats carry, so writing a loaded trace gives back the same timestamps. Bad rows stop the load with
 * `file:line: column: what` or, with skip_bad, are counted by reason.
 * Not here: statistics (trace_stats.h), writing (trace_write.h), synthesis
 * (trace_synth.h).
 */
#ifndef TRACE_H
#define TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "base/ms_error.h"

enum trace_format {
	TRACE_FMT_LMM2025 = 0, /* ISO-8601 'T', 'Z', NumImages column */
	TRACE_FMT_LLM2023 = 1, /* space separator, no zone, no NumImages */
};

struct trace_set {
	size_t n, cap;
	double *t;          /* seconds since start_ns */
	uint32_t *images;   /* NumImages (0 = text-only) */
	uint32_t *ctx;      /* ContextTokens: text + image tokens of the source model */
	uint32_t *gen;      /* GeneratedTokens */
	int64_t start_ns;   /* absolute time of row 0, ns since the Unix epoch, UTC */
	enum trace_format format;
	int frac_digits;    /* finest fractional second digits of any row (3 or 7); writer keeps them */
};

/* Why a row was bad; counted per reason under skip_bad. */
#define TRACE_BAD_MAP(X)                                   \
	X(FIELDS, "wrong number of fields")                \
	X(NOT_NUMBER, "not a number")                      \
	X(NEGATIVE, "negative value")                      \
	X(OVERFLOW, "value too large")                     \
	X(TIMESTAMP, "bad timestamp")                      \
	X(ORDER, "timestamp earlier than the row before")

enum trace_bad {
#define TRACE__BAD_ENUM(code, msg) TRACE_BAD_##code,
	TRACE_BAD_MAP(TRACE__BAD_ENUM)
#undef TRACE__BAD_ENUM
	TRACE_BAD__COUNT
};

const char *trace_bad_msg(enum trace_bad why);

struct trace_load_opts {
	int skip_bad;        /* count and skip bad rows instead of stopping */
	int progress;        /* progress on stderr (ms_progress rules) */
};

#define TRACE_BAD_EXAMPLES 5

struct trace_load_report {
	uint64_t rows;                         /* data rows loaded */
	uint64_t lines;                        /* lines read, header included */
	uint64_t bad[TRACE_BAD__COUNT];        /* skipped rows by reason */
	uint64_t bad_total;
	char examples[TRACE_BAD_EXAMPLES][MS_ERR_MSG_MAX]; /* first skipped rows, as error messages */
	int n_examples;
};

void trace_set_init(struct trace_set *ts);
void trace_set_release(struct trace_set *ts);
int trace_set_reserve(struct trace_set *ts, size_t cap, struct ms_error *err);
/* Appends one row; t must not be below the last row's (returns -MS_EINVAL). */
int trace_set_push(struct trace_set *ts, double t, uint32_t images, uint32_t ctx,
		   uint32_t gen, struct ms_error *err);

/* Loads path into ts (which must be freshly initialised). rep may be NULL. */
int trace_set_load(struct trace_set *ts, const char *path,
		   const struct trace_load_opts *opts, struct trace_load_report *rep,
		   struct ms_error *err);
/* Same on a buffer (plain or gzip bytes); name is used in messages. For fuzzing and tests. */
int trace_set_load_mem(struct trace_set *ts, const void *buf, size_t len, const char *name,
		       const struct trace_load_opts *opts, struct trace_load_report *rep,
		       struct ms_error *err);

/* Timestamps. Parses `YYYY-MM-DD[T ]HH:MM:SS[.f{1,9}][Z]` (years 1970-2200, seconds 00-59)
 * into ns since the epoch. */
int trace_time_parse(const char *s, size_t len, int64_t *ns_out, int *frac_digits_out);
/* Writes ts in the style of fmt with frac_digits fraction digits; returns length. */
int trace_time_format(int64_t ns, enum trace_format fmt, int frac_digits, char *buf,
		      size_t size);
/* Absolute time of row i, ns since the epoch (rounded to the nearest ns). */
int64_t trace_set_time_ns(const struct trace_set *ts, size_t i);

#endif
