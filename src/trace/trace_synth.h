/*
 * trace_synth: a synthetic LMM trace shaped like the Azure LMM trace 2025.
 *
 * Parameters (image share, images-per-request and token quantile tables per
 * modality, daily cycle, image burst episodes) come from a data file,
 * data/synth/azure-lmm-2025.conf, whose comments state each number's source.
 * Arrivals are not plain Poisson: a daily cycle for both modalities and
 * Markov-modulated burst episodes for image requests. Same seed, same output.
 * This is modserve's built-in default data.
 */
#ifndef TRACE_SYNTH_H
#define TRACE_SYNTH_H

#include <stdint.h>

#include "base/ms_error.h"
#include "trace/trace.h"

struct trace_synth_opts {
	uint64_t requests;        /* rows to generate (default 1,000,000 = one week) */
	uint64_t seed;
	double duration_s;        /* span of arrivals; 0 = requests scaled to the week's rate */
	const char *params_path;  /* NULL = built-in data/synth/azure-lmm-2025.conf */
};

void trace_synth_opts_default(struct trace_synth_opts *o);
/* Fills a freshly initialised ts; LMM 2025 format, start 2024-10-15T12:00:00Z. */
int trace_synth(struct trace_set *ts, const struct trace_synth_opts *o, struct ms_error *err);

#endif
