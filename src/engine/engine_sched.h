/*
 * engine_sched: the emulated GPU's continuous batching, the one module of engine/
 * that decides what runs in each iteration and how long it takes (times from perf/).
 *
 * Kept behind this narrow interface on purpose: the issue asks the engine to batch
 * "with the same batching code" as the simulator's LLM instance, and the simulator's
 * instance batching is being restructured; once it exposes an instance API this
 * module is replaced by a thin adapter over it, and engine.c does not change.
 *
 * Model (a vLLM-style scheduler, as the simulator's instance): jobs wait FIFO; one is
 * admitted when a running slot is free (max_seqs) and the KV cache holds its prompt
 * plus all its output (reserved whole, so nothing is preempted); each iteration gives
 * every decoding job one token and spends the rest of token_budget on prefill chunks
 * in admission order (chunked prefill); a job's images are encoded in the iteration
 * its prefill starts (monolithic vLLM runs the encoder inside that step). An
 * encode-only job (max_tokens 0, no prompt) is done after its encoding; a job whose
 * KV arrived from a prefill instance (prefilled) starts decoding at once.
 * Use: begin() forms an iteration and returns its duration; the caller waits (or
 * not) and calls end(), which emits that iteration's tokens. abort() may be called
 * at any time and frees the job's slot and KV at once.
 */
#ifndef ENGINE_SCHED_H
#define ENGINE_SCHED_H

#include <stdint.h>

#include "perf/perf.h"

enum engine_job_state { ENGINE_JOB_NEW = 0, ENGINE_JOB_WAITING, ENGINE_JOB_RUNNING, ENGINE_JOB_DONE };

struct engine_job {
	/* set by the caller before submit */
	uint32_t prompt;       /* LLM context tokens to prefill */
	uint32_t cross;        /* image tokens entering cross-attention (cross arch) */
	uint32_t enc_tiles;    /* tiles to encode first (0: none or cached) */
	uint32_t n_enc_images; /* images behind enc_tiles (preprocessing) */
	uint32_t max_tokens;   /* tokens to emit; 0: encode only */
	int prefilled;         /* KV came from a prefill instance */
	void *user;
	/* scheduler state */
	enum engine_job_state state;
	uint32_t done_prefill, emitted, chunk;
	int in_iter;           /* part of the iteration under way */
	struct engine_job *prev, *next;
};

struct engine_sched_cfg {
	const struct perf *perf;
	int tp;
	uint32_t max_seqs;      /* running jobs */
	uint32_t token_budget;  /* tokens per iteration */
	uint64_t kv_tokens;     /* KV cache capacity */
	uint32_t max_waiting;   /* queue limit: submit refuses above it (0: none) */
};

struct engine_sched {
	struct engine_sched_cfg cfg;
	struct engine_job wait, run; /* list heads (circular, sentinel) */
	uint32_t n_wait, n_run;
	uint64_t kv_used;
	int iter_open;
	double iter_s;
	uint64_t iters;
};

/* Events end() reports per job. */
enum engine_ev { ENGINE_EV_TOKEN = 0, ENGINE_EV_DONE };
typedef void (*engine_emit_fn)(void *ctx, struct engine_job *j, enum engine_ev ev);

void engine_sched_init(struct engine_sched *s, const struct engine_sched_cfg *cfg);
/* 0, -MS_ERANGE when the queue is full, -MS_EINVAL when the job can never fit. */
int engine_sched_submit(struct engine_sched *s, struct engine_job *j);
void engine_sched_abort(struct engine_sched *s, struct engine_job *j);
/* Duration in seconds of the next iteration, or -1 when there is nothing to run. */
double engine_sched_begin(struct engine_sched *s);
/* Applies the iteration begin() formed: tokens, finished jobs (which leave the
 * scheduler before their DONE event, so the callback may free them). */
void engine_sched_end(struct engine_sched *s, engine_emit_fn fn, void *ctx);
/* KV needed by a job: prompt + max_tokens. */
uint64_t engine_sched_job_kv(const struct engine_job *j);

#endif
