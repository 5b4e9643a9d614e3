/*
 * sim_batch: one LLM instance's continuous batching, as vLLM's scheduler does it,
 * with no event heap and no clock. The simulator's LLM instances (sim_llm.c,
 * virtual time) and the emulated engine's GPU (engine/engine_sched.c, wall time)
 * both form an iteration here (sim_batch_form: what runs and how long it takes,
 * from perf/), wait its duration their own way, and apply its end here
 * (sim_batch_end). So the engine batches with the simulator's code.
 *
 * Owns, per instance: vLLM's waiting list (in the caller's key order, ties by
 * insertion) and running lists (pf: admitted, prompt not done, in admission
 * order; run: decoding, in order of joining), admission (max_seqs, the KV blocks
 * of its first chunk, head-of-line blocking), chunked prefill under the token
 * budget, KV blocks taken as vLLM v1 takes them (a chunk's when it is scheduled,
 * a decode step's as the tokens grow), preemption by recompute when a block
 * cannot be had and the victim (the largest key the caller gives), the
 * inline encode of an encoding instance (mono, pd's prefill: the images of
 * requests admitted in an iteration are encoded inside it), and decode steps:
 * one per iteration, or, when nothing but decode is left, a closed-form run of k
 * steps that no finish or block shortage can interrupt (sim_batch_cut ends it
 * early when new work arrives).
 *
 * The caller owns the requests: a table of records that each begin with a
 * struct sim_breq (base + index x stride, so the simulator's request slots hold
 * their batch state in place), their queue keys (src/policy), their times, and
 * what a request becomes when its prompt is done or its last token is out (the
 * callbacks of struct sim_batch_ops, told the instance's id).
 */
#ifndef SIM_BATCH_H
#define SIM_BATCH_H

#include <stdint.h>

#include "base/ms_error.h"
#include "perf/perf.h"

#define SIM_BATCH_NIL UINT32_MAX

/* A request as the batch sees it: the first member of the caller's record. */
struct sim_breq {
	uint32_t next;      /* waiting list */
	uint32_t prompt;    /* tokens to prefill now (grows to all stored tokens after preemption) */
	uint32_t prefilled;
	uint32_t cross;     /* image tokens entering cross-attention (cross arch), first chunk */
	uint32_t kv_extra;  /* KV tokens charged for cached cross-attention states */
	uint32_t gen, generated;
	uint32_t kv;        /* tokens in its KV cache while admitted */
	uint32_t blocks;    /* KV blocks held */
	uint32_t enc_tiles; /* tiles an encoding instance encodes inline, in its first iteration */
	uint8_t admitted, pad;
	uint16_t preempted;
	uint64_t qseq;      /* insertion sequence, ties of qkey */
	uint64_t joined;    /* sequence number of entering the prefilling or running list */
	double qkey;        /* waiting-list key */
};

struct sim_batch_cfg {
	const struct perf *perf;
	int tp;
	uint32_t token_budget, max_seqs, kv_block;
	uint8_t encodes;     /* encodes images inline (mono, pd prefill, the engine) */
	uint8_t decodes;     /* else a prefill instance: the request is handed over */
	uint8_t kv_arrivals; /* takes requests whose KV came from a prefill instance */
	uint8_t step_decode; /* one decode step per iteration (no closed-form runs) */
};

struct sim_batch_chunk {
	uint32_t req, len;
};

struct sim_batch {
	struct sim_batch_cfg cfg;
	uint32_t w_head, w_tail, w_len;  /* waiting for admission */
	uint32_t *pf, n_pf;              /* admitted, prompt not done */
	uint32_t *run, n_run;            /* decoding */
	uint64_t run_kv;                 /* sum of kv over run */
	uint64_t blocks_total, blocks_free;
	/* the iteration formed */
	struct sim_batch_chunk *chunk;   /* prefill chunks */
	uint32_t n_chunk;
	uint32_t *enc, n_enc;            /* requests whose images it encodes */
	uint32_t run_k;                  /* decode steps (0: none; > 1: a closed-form run) */
	uint32_t preempted;              /* requests that gave their KV back while forming it */
	double enc_part;                 /* its inline encode, s */
	double step_a, step_b;           /* a decode run's step: step_a + step_b x KV tokens read */
	uint64_t kv0;                    /* KV tokens the run's first step reads */
	/* perf_decode_coef by batch size 0..max_seqs, filled as first asked (perf and tp
	 * are fixed for the batch's life, and the roofline's cost showed in profiles);
	 * a pair of zeros is not yet known */
	double (*coef)[2];
};

struct sim_batch_env;

/* What the caller does at each change; a callback returns < 0 to fail the call. */
struct sim_batch_ops {
	/* waiting-list key of a decoding request preempted (FCFS: the front) */
	double (*requeue_key)(const struct sim_batch_env *e, uint32_t ri);
	/* admitted requests: the largest key gives its KV back */
	double (*victim_key)(const struct sim_batch_env *e, uint32_t ri, int prefilling,
			     uint64_t joined);
	/* KV blocks taken (> 0) or given back (< 0); may be NULL */
	int (*blocks)(const struct sim_batch_env *e, int64_t delta);
	/* ri gives its KV back; was_decoding: it will prefill prompt + output again
	 * (recompute), else it was prefilling and starts over */
	int (*preempted)(const struct sim_batch_env *e, uint32_t ri, int was_decoding);
	/* ri was admitted (encodes: its images are encoded in this iteration) */
	int (*admitted)(const struct sim_batch_env *e, uint32_t ri, int encodes);
	/* ri joined the decode batch (kv_arrival: straight from the waiting list) */
	int (*decoding)(const struct sim_batch_env *e, uint32_t ri, int kv_arrival);
	/* ri's prompt is done (new_token: its first token is out) */
	int (*first)(const struct sim_batch_env *e, uint32_t ri, int new_token);
	/* one decode token of ri is out; may be NULL */
	int (*token)(const struct sim_batch_env *e, uint32_t ri);
	/* ri's last token is out; its KV is back, the batch no longer knows it */
	int (*finished)(const struct sim_batch_env *e, uint32_t ri);
	/* prefill instance: ri's prompt is done and its KV given back, it leaves */
	int (*handover)(const struct sim_batch_env *e, uint32_t ri);
	/* ri's images were encoded in this iteration, in enc_s of it */
	void (*encoded)(const struct sim_batch_env *e, uint32_t ri, double enc_s);
};

/* Per call: the callbacks, the requests' table and the caller's sequence counters. */
struct sim_batch_env {
	const struct sim_batch_ops *ops;
	void *ctx;
	uint32_t id;         /* the caller's instance id, for the callbacks */
	char *base;          /* request ri: (struct sim_breq *)(base + ri x stride) */
	size_t stride;
	uint64_t *qseq, *lseq;
};

static inline struct sim_breq *sim_batch_req(const struct sim_batch_env *e, uint32_t ri)
{
	return (struct sim_breq *)(e->base + (size_t)ri * e->stride);
}

/* Arrays for cfg->max_seqs requests and `blocks` KV blocks; -MS_ENOMEM. */
int sim_batch_init(struct sim_batch *b, const struct sim_batch_cfg *cfg, uint64_t blocks);
void sim_batch_release(struct sim_batch *b);
/* Holds a waiting or admitted request. */
int sim_batch_holds(const struct sim_batch *b);
/* Into the waiting list at key qkey. */
void sim_batch_enqueue(struct sim_batch *b, const struct sim_batch_env *e, uint32_t ri,
		       double qkey);
/*
 * Forms the next iteration: 1 with its duration in *dur, 0 when there is nothing
 * to run, < 0 from a callback. Running requests get their next block first
 * (preempting when none is free), then waiting ones are admitted.
 */
int sim_batch_form(struct sim_batch *b, const struct sim_batch_env *e, double *dur);
/*
 * A closed-form decode run formed, `elapsed` seconds in, learns of new work: it
 * ends after the step in progress. 1 with the run's new duration in *dur, 0 when
 * it is not a run or ends in that step anyway.
 */
int sim_batch_cut(struct sim_batch *b, double elapsed, double *dur);
/* Applies the end of the iteration formed: tokens, encodings, prompts done. */
int sim_batch_end(struct sim_batch *b, const struct sim_batch_env *e);
/* Takes ri out (an aborted request), its KV given back; also out of the iteration formed. */
int sim_batch_remove(struct sim_batch *b, const struct sim_batch_env *e, uint32_t ri);
/* KV blocks a request holding `tokens` tokens needs. */
static inline uint64_t sim_batch_blocks_for(const struct sim_batch *b, uint64_t tokens)
{
	return (tokens + b->cfg.kv_block - 1) / b->cfg.kv_block;
}

#endif
