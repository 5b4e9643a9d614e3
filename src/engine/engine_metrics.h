/*
 * engine_metrics: the engine's counters and latency histograms, and their rendering
 * in Prometheus text format under vLLM's metric names and labels (model_name,
 * engine), so routers that scrape vLLM (llm-d's) read the emulated engine alike.
 * Histograms have fixed buckets (vLLM's bucket bounds), fixed memory, O(buckets)
 * per observation. Callers: engine.c only.
 */
#ifndef ENGINE_METRICS_H
#define ENGINE_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define ENGINE_HIST_MAX 24

struct engine_hist {
	const double *bounds;
	int n;
	uint64_t count[ENGINE_HIST_MAX + 1]; /* per bucket, last = +Inf */
	uint64_t total;
	double sum;
};

enum engine_finish { ENGINE_FIN_STOP = 0, ENGINE_FIN_LENGTH, ENGINE_FIN_ABORT, ENGINE_FIN__N };

struct engine_metrics {
	struct engine_hist ttft, itl, e2e;
	uint64_t success[ENGINE_FIN__N];
	uint64_t prompt_tokens, gen_tokens;
	uint64_t refused_429, errors_4xx;
	uint64_t ec_hits, ec_misses;
};

void engine_metrics_init(struct engine_metrics *m);
void engine_hist_observe(struct engine_hist *h, double v);

/* The gauges read at scrape time. */
struct engine_gauges {
	const char *model, *engine_id, *role;
	uint32_t running, waiting;
	double kv_usage;          /* 0..1 */
	uint64_t kv_tokens;       /* capacity */
	uint32_t block_size;
};

/* Renders into buf (size cap); returns the length, or a value >= cap when cut. */
size_t engine_metrics_render(const struct engine_metrics *m, const struct engine_gauges *g,
			     char *buf, size_t cap);

#endif
