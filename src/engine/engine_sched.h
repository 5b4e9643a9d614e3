/*
 * engine_sched: the emulated GPU's continuous batching, the one module of engine/
 * that decides what runs in each iteration and how long it takes. It is a thin
 * adapter over the simulator's LLM instance batching (sim/sim_batch.h), so the
 * engine batches with the simulator's code and src/perf's times: vLLM's waiting
 * and running lists (FCFS through src/policy's keys), admission under --max-seqs
 * and the KV blocks, chunked prefill under --token-budget, KV blocks that grow
 * with decode, preemption by recompute when a block cannot be had, and the
 * inline encode of the images of requests admitted in an iteration (monolithic
 * vLLM runs the encoder inside that step). One iteration at a time (never a
 * closed-form decode run): each iteration's tokens are emitted at its end.
 *
 * An encode-only job (max_tokens 0, no prompt) is done after its encoding; a job
 * whose KV arrived from a prefill instance (prefilled) joins the decode batch at
 * once and emits each of its tokens from a decode step. Image preprocessing is
 * CPU work before the job is queued, as in the simulator (engine_sched_prep_s:
 * the caller waits it before submit).
 * Use: begin() forms an iteration and returns its duration; the caller waits (or
 * not) and calls end(), which emits that iteration's tokens. abort() may be called
 * at any time and frees the job's slot and KV at once.
 */
#ifndef ENGINE_SCHED_H
#define ENGINE_SCHED_H

#include <stdint.h>

#include "perf/perf.h"
#include "policy/policy.h"
#include "sim/sim_batch.h"

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
	uint32_t emitted;      /* tokens out */
	uint32_t kv_extra;     /* KV tokens of its cross-attention states (as the simulator charges) */
	uint32_t slot;         /* its record in the scheduler */
};

/* Events end() reports per job. */
enum engine_ev { ENGINE_EV_TOKEN = 0, ENGINE_EV_DONE };
typedef void (*engine_emit_fn)(void *ctx, struct engine_job *j, enum engine_ev ev);

struct engine_sched_cfg {
	const struct perf *perf;
	int tp;
	uint32_t max_seqs;      /* running jobs */
	uint32_t token_budget;  /* tokens per iteration */
	uint64_t kv_tokens;     /* KV cache capacity */
	uint32_t max_waiting;   /* queue limit: submit refuses above it (0: none) */
	uint32_t kv_block;      /* tokens per KV block (0: 16, vLLM's block_size) */
};

/* A job as the batch sees it (struct sim_breq first: sim_batch's table). */
struct engine_sched_slot {
	struct sim_breq b;
	struct engine_job *job;
	struct policy_ticket tk;
};

struct engine_sched {
	struct engine_sched_cfg cfg;
	struct sim_batch b;
	struct policy pol;              /* queue order and victim: FCFS, one instance */
	struct engine_sched_slot *slot; /* by job->slot; free ones linked through b.next */
	uint32_t cap, free_slot;
	uint64_t qseq, lseq;
	uint64_t preemptions;
	int iter_open;
	double iter_s, now;
	uint64_t iters;
	engine_emit_fn fn;              /* end()'s, while it runs */
	void *fn_ctx;
};

/* -MS_ENOMEM, -MS_EINVAL (err filled). */
int engine_sched_init(struct engine_sched *s, const struct engine_sched_cfg *cfg,
		      struct ms_error *err);
void engine_sched_release(struct engine_sched *s);
/* 0, -MS_ERANGE when the queue is full, -MS_EINVAL when the job can never fit,
 * -MS_ENOMEM. now: seconds (the queue order's time). */
int engine_sched_submit(struct engine_sched *s, struct engine_job *j, double now);
void engine_sched_abort(struct engine_sched *s, struct engine_job *j);
/* Duration in seconds of the next iteration, or -1 when there is nothing to run. */
double engine_sched_begin(struct engine_sched *s, double now);
/* Applies the iteration begin() formed: tokens, finished jobs (which leave the
 * scheduler before their DONE event, so the callback may free them). */
void engine_sched_end(struct engine_sched *s, engine_emit_fn fn, void *ctx);
/* KV a job needs at most: prompt + cross-attention states + max_tokens. */
uint64_t engine_sched_job_kv(const struct engine_job *j);
/* CPU preprocessing of the job's images to encode, before it is submitted. */
double engine_sched_prep_s(const struct engine_sched *s, const struct engine_job *j);

/* What engine.c's metrics read, straight from the batch (no copy to keep in step). */
static inline uint32_t engine_sched_n_wait(const struct engine_sched *s)
{
	return s->b.w_len;
}
/* admitted: prefilling or decoding */
static inline uint32_t engine_sched_n_run(const struct engine_sched *s)
{
	return s->b.n_pf + s->b.n_run;
}
/* KV tokens in the blocks held */
static inline uint64_t engine_sched_kv_used(const struct engine_sched *s)
{
	return (uint64_t)(s->b.blocks_total - s->b.blocks_free) * s->cfg.kv_block;
}

#endif
