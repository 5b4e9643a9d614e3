/*
 * metrics: what users of a serving cluster care about, per request and in sum.
 *
 * Owns struct metrics_req (one per trace row: TTFT, TPOT, E2E, time queued and
 * served per stage), struct metrics_summary (mean/p50/p90/p99 overall, image
 * and text requests, SLO attainment, goodput) and struct metrics_series (per
 * pool time series: mean queue length, busy share, KV use, in fixed buckets).
 * sim/ fills them as events happen; report/ prints them. Percentiles interpolate
 * linearly between order statistics (numpy/pandas default, base/ms_quantile.h, the
 * same routine as `trace stats`) of copies sorted once at the end by an O(n) radix
 * sort: each class once, "all" merged from image and text. Times in seconds.
 * A request that never finished has done == 0 and is counted, never dropped.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "base/ms_error.h"

enum metrics_stage {
	METRICS_ENC = 0, /* preprocess + encode (mono/pd: inside the prefill iteration) */
	METRICS_PREFILL, /* LLM prefill up to the first token */
	METRICS_DECODE,  /* after the first token (transfer and decode queue included) */
	METRICS__STAGES
};

struct metrics_req {
	double arrive;  /* arrival, s since trace start (after --rate-scale) */
	double ttft;    /* first token - arrival */
	double tpot;    /* (e2e - ttft) / (gen - 1); NAN when gen < 2 */
	double e2e;     /* last token - arrival */
	float queued[METRICS__STAGES];
	float served[METRICS__STAGES];
	uint32_t images;  /* images simulated (after --max-images) */
	uint32_t prompt;  /* LLM prompt tokens simulated (text + image tokens of decoder models) */
	uint32_t gen;     /* output tokens */
	uint16_t preempted; /* times its KV was dropped and recomputed */
	uint8_t done;     /* 1 once finished; finishing twice is a bug */
	uint8_t truncated; /* prompt/output cut to fit one instance's KV: prompt, gen are the cut sizes */
};

struct metrics_dist {
	uint64_t n;
	double mean, p50, p90, p99, max;
};

struct metrics_class {
	uint64_t n;                       /* requests in the class */
	uint64_t finished;
	struct metrics_dist ttft, tpot, e2e;
	double slo_ttft, slo_tpot, slo_both; /* share of finished requests meeting the targets */
	double queued_mean[METRICS__STAGES], served_mean[METRICS__STAGES];
};

struct metrics_summary {
	struct metrics_class all, image, text;
	double slo_ttft_s, slo_tpot_s;   /* the targets */
	double span_s;                    /* first arrival to last finish */
	double throughput_rps;            /* finished / span */
	double goodput_rps;               /* finished within both SLOs / span */
};

int metrics_summary_compute(struct metrics_summary *s, const struct metrics_req *r, size_t n,
			    double slo_ttft_s, double slo_tpot_s, struct ms_error *err);

/*
 * Per-pool time series. Levels (queue length, KV blocks used) are integrated
 * over time as they change; busy time is added per iteration. Bucket i covers
 * [i*dt, (i+1)*dt). Storage grows by doubling (never per event).
 */
enum metrics_ser { METRICS_SER_QUEUE = 0, METRICS_SER_BUSY, METRICS_SER_KV, METRICS__SER };

struct metrics_series {
	char name[32];
	double dt;
	size_t n, cap;
	double *v[METRICS__SER];   /* integrals, normalized by metrics_series_finish() */
	double level[METRICS__SER], last[METRICS__SER];
	double norm[METRICS__SER]; /* divisor per bucket-second: 1, instances, KV blocks */
	/*
	 * Per kind, the last bucket written and the times [fast_lo, fast_hi) whose spans
	 * add to it alone, unclipped (metrics.c: the same sum without the divisions).
	 */
	size_t fast_b[METRICS__SER];
	double fast_lo[METRICS__SER], fast_hi[METRICS__SER];
	int finished;
};

int metrics_series_init(struct metrics_series *s, const char *name, double dt, double span_hint,
			double busy_norm, double kv_norm, struct ms_error *err);
void metrics_series_release(struct metrics_series *s);
/* The slow path of both below: any span (metrics.c). */
int metrics__series_span(struct metrics_series *s, enum metrics_ser k, double t0, double t1,
			 double weight);

/*
 * Adds `weight` (instances busy) over [t0, t1). Inline for the common case, a span
 * inside the last bucket written (an event's span is short): one add, no division.
 */
static inline int metrics_series_add(struct metrics_series *s, enum metrics_ser k, double t0,
				     double t1, double weight)
{
	if (!(t1 > t0) || weight == 0)
		return 0;
	if (t0 >= s->fast_lo[k] && t1 < s->fast_hi[k]) {
		s->v[k][s->fast_b[k]] += weight * (t1 - t0);
		return 0;
	}
	return metrics__series_span(s, k, t0, t1, weight);
}

/* The level of a (QUEUE or KV) changes to `level` at time t (t never decreases per kind). */
static inline int metrics_series_level(struct metrics_series *s, enum metrics_ser k, double t,
				       double level)
{
	int rc = metrics_series_add(s, k, s->last[k], t, s->level[k]);

	if (t > s->last[k])
		s->last[k] = t;
	s->level[k] = level;
	return rc;
}

/* Closes the levels at t_end and turns integrals into means per bucket. */
int metrics_series_finish(struct metrics_series *s, double t_end);

#endif
