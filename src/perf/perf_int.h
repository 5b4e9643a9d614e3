/*
 * perf_int: what perf.c and perf_table.c share; other folders never include it.
 *
 * The profile table is a sorted array of rows (stage, tp, batch, context, tokens);
 * a lookup interpolates along the stage's main variable inside one group, then in
 * context (prefill) and then linearly between the two nearest batches. Decode groups are
 * fitted to a + b * kv_tokens by least squares at load time, so the affine
 * decode invariant of perf.h holds for measured tables too.
 */
#ifndef PERF_INT_H
#define PERF_INT_H

#include "perf/perf.h"

enum perf__stage {
	PERF__PREPROCESS = 0,
	PERF__ENCODE,
	PERF__PREFILL,
	PERF__DECODE,
	PERF__NSTAGES,
};

/* True when the table has rows for this stage and tp (cores for preprocess). */
int perf__table_has(const struct perf_table *t, enum perf__stage st, int tp);
/* Latency at (tp, batch, x): batch = images or requests, x = tiles or tokens (see perf_table.c). */
double perf__table_lookup(const struct perf_table *t, enum perf__stage st, int tp,
			  double batch, double x);
/* Prefill rows at (tp, batch, tokens, context). */
double perf__table_prefill_s(const struct perf_table *t, int tp, double batch, double tokens,
			     double ctx);
/* A whole LLM iteration with a prefill part, from p->table's prefill rows at tp (which
 * must exist, perf__table_has); the key read off `it` as perf_table.c says. */
double perf__table_iter_s(const struct perf *p, int tp, const struct perf_iter *it);
/* Decode: affine coefficients at (tp, batch). */
void perf__table_decode_coef(const struct perf_table *t, int tp, double batch,
			     double *a, double *b);
/* Parses an --engine spec (perf_init_engine) and loads the LLM, encoder and inline
 * encoder engines; vision = 0 (text model) needs no encoder engine (enc and inl are then
 * copies of llm). */
int perf__engines_pick(const char *spec, const char *gpu, int vision, struct perf_engine *llm,
		       struct perf_engine *enc, struct perf_engine *inl, struct ms_error *err);
int perf__table_load(struct perf_table **out, const char *path, struct ms_error *err);
void perf__table_free(struct perf_table *t);
/* Refuses a table whose `# model:` / `# gpu:` lines name another pair than p's. */
int perf__table_check(const struct perf_table *t, const struct perf *p, const char *path,
		      struct ms_error *err);

#endif
