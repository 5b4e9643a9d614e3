/*
 * trace_export: writes a trace's requests, as the simulator sees them, in other
 * tools' workload formats.
 *
 * Owns the two formats, not the mapping: what a row becomes (text and image tokens
 * of the simulated model, images capped, output tokens, arrival time after the rate
 * scale) is sim_map_row's rule (src/sim/sim_map.c, docs/sim.md), which the caller
 * applies and hands over one row at a time through trace_export_row_fn, so an
 * exported workload is exactly the one `sim` replays.
 *   BLIS (inference-sim/inference-sim, TraceV2): PREFIX.yaml (trace_version 2,
 *     microseconds, mode generated) and PREFIX.csv, one row per request, the 27
 *     columns BLIS's LoadTraceV2 reads, in its order.
 *   vllm-jsonl: one JSON object per line, vLLM's `--dataset-name custom` keys
 *     (`prompt`, `output_tokens`) plus our counts and the arrival time.
 * Files are written beside the target and renamed when complete ("-" = stdout,
 * vllm-jsonl only). docs/export.md says what each field holds and why.
 */
#ifndef TRACE_EXPORT_H
#define TRACE_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "base/ms_error.h"

enum trace_export_format {
	TRACE_EXPORT_BLIS = 0,
	TRACE_EXPORT_VLLM_JSONL,
};

/* One request as the simulator replays it. */
struct trace_export_row {
	double t_s;              /* arrival, seconds from the trace start, after the rate scale */
	uint64_t text_tokens;    /* prompt text tokens (>= 1 when there are no image tokens) */
	uint64_t image_tokens;   /* images x the model's tokens per image */
	uint32_t images;         /* after the image cap */
	uint32_t output_tokens;  /* >= 1 */
};

/* Fills row i (0 <= i < n); returns 0 or a negative code with err set. */
typedef int (*trace_export_row_fn)(void *ctx, size_t i, struct trace_export_row *out,
				   struct ms_error *err);

struct trace_export_opts {
	enum trace_export_format format;
	int prompt_text;         /* vllm-jsonl: write `prompt` (text_tokens words); else omit it */
};

/* "blis" or "vllm-jsonl"; fails naming the accepted values. */
int trace_export_format_parse(const char *s, enum trace_export_format *out, struct ms_error *err);

/*
 * Writes n rows to `out`: a path prefix for blis (PREFIX.yaml + PREFIX.csv; a trailing
 * ".csv" is taken as the data file's name), a file or "-" for vllm-jsonl. Arrival times
 * must not decrease. On failure no target file is left half written.
 */
int trace_export_write(const char *out, const struct trace_export_opts *o, size_t n,
		       trace_export_row_fn row, void *ctx, struct ms_error *err);

#endif
