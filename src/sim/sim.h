/*
 * sim: discrete-event simulator of an LMM serving cluster, request by request.
 *
 * Owns the deployment description (struct sim_deploy: pools of instances with
 * a role, a count and a TP degree), the run configuration (struct sim_config)
 * and the result (struct sim_result: one metrics_req per trace row, per-pool
 * time series, counters). sim_run() replays a trace_set in virtual time:
 * events ordered by (time, insertion sequence), so equal inputs and seed give
 * identical results. Stage times come only from perf/; where work goes comes
 * only from policy/. Called by cli/cmd_sim.c, tests and later `plan`.
 * Invariants: every trace row is admitted and finishes exactly once (overload
 * grows queues, nothing is dropped); memory is the per-row results plus state
 * of requests in flight. Model of the simulator: docs/sim.md.
 */
#ifndef SIM_H
#define SIM_H

#include <stddef.h>
#include <stdint.h>

#include "base/ms_error.h"
#include "metrics/metrics.h"
#include "perf/perf.h"
#include "policy/policy.h"
#include "trace/trace.h"

enum sim_deploy_kind {
	SIM_DEPLOY_MONO = 0, /* every instance: preprocess + encode + prefill + decode */
	SIM_DEPLOY_PD,       /* prefill instances (encode + prefill) and decode instances */
	SIM_DEPLOY_MODSERVE, /* encode pool + LLM pool (or prefill + decode pools) */
	SIM_DEPLOY__COUNT
};

enum sim_role {
	SIM_ROLE_MONO = 0, /* encode + prefill + decode */
	SIM_ROLE_ENC,      /* preprocess + encode only */
	SIM_ROLE_LLM,      /* prefill + decode, embeddings arrive encoded */
	SIM_ROLE_PREFILL,  /* prefill only (pd: encode too), KV leaves to decode */
	SIM_ROLE_DECODE,   /* decode only, KV arrives */
	SIM_ROLE__COUNT
};

#define SIM_MAX_POOLS 4

struct sim_pool_spec {
	enum sim_role role;
	uint32_t count; /* instances */
	int tp;         /* GPUs per instance */
};

struct sim_deploy {
	enum sim_deploy_kind kind;
	int n_pools;
	struct sim_pool_spec pool[SIM_MAX_POOLS];
};

const char *sim_deploy_name(enum sim_deploy_kind k);
int sim_deploy_parse_kind(const char *s, enum sim_deploy_kind *out, struct ms_error *err);
const char *sim_role_name(enum sim_role r);
/*
 * Trace-blind split of a GPU budget (the CLI's default is sim_deploy_by_work;
 * this one serves the SLO reference and tests): mono = gpus/tp instances of the
 * model's TP; pd = 3/4 of those instances (rounded up) prefill, the rest decode; modserve = 5/8 of
 * the GPUs to TP-`tp` LLM instances and the rest to TP-1 encoders (the paper's
 * 128-GPU static setup: 20 x TP-4 text + 48 x TP-1 image).
 */
int sim_deploy_default(struct sim_deploy *d, enum sim_deploy_kind kind, uint32_t gpus, int tp,
		       struct ms_error *err);
/*
 * Pools from text: "enc=48x1,llm=20x4" (COUNTxTP; names enc, llm, prefill,
 * decode, mono). Checks the set of pools fits the deployment kind and says
 * what the kind takes when it does not.
 */
int sim_deploy_parse_pools(struct sim_deploy *d, enum sim_deploy_kind kind, const char *spec,
			   struct ms_error *err);
/*
 * The same, the kind read off the pool names: mono=.. -> mono; prefill+decode
 * without enc -> pd; enc+llm or enc+prefill+decode -> modserve.
 */
int sim_deploy_parse_pools_infer(struct sim_deploy *d, const char *spec, struct ms_error *err);
/*
 * Deployment file (`kind = modserve`, `pools = enc=48x1,llm=20x4`, `#` comments):
 * a path, or a name looked up as <data dir>/deploy/<name>.conf.
 */
int sim_deploy_load(struct sim_deploy *d, const char *name_or_path, struct ms_error *err);
uint32_t sim_deploy_gpus(const struct sim_deploy *d);
/* Writes "enc=48x1,llm=20x4"; returns the length snprintf would. */
int sim_deploy_format(const struct sim_deploy *d, char *buf, size_t size);

struct sim_config;
/*
 * The running simulation as a tick or early-stop hook sees it (sim_ctl_*):
 * valid only during the call.
 */
struct sim_ctl;

/*
 * A trace row as the simulator sees it (sim_map.c; the rule is in docs/sim.md):
 * text = ContextTokens - NumImages x src_tokens_per_image (clamped at 0),
 * images capped to max_images, the simulated model's image tokens per image;
 * decoder-only prompts are text + image tokens, cross-attention prompts text
 * only, with the image tokens entering the cross-attention layers and their
 * cached states charged to KV memory as kv_extra tokens (ceil(image tokens x
 * cross layers / self-attention layers): a KV token spans the self-attention
 * layers). Before the run's KV
 * cut (sim_run cuts a request that does not fit one instance, and counts it).
 */
struct sim_shape {
	uint32_t images;       /* after max_images */
	uint64_t text, prompt; /* prompt >= 1 */
	uint64_t img_tokens;   /* images x tokens per image of the simulated model */
	uint64_t cross;        /* image tokens into cross-attention (cross arch), else 0 */
	uint64_t kv_extra;     /* KV tokens for the cached cross-attention states */
	uint32_t gen;          /* >= 1 */
	uint8_t capped;        /* images were cut to max_images */
	uint8_t clamped;       /* ContextTokens was below images x src tokens */
};

struct sim_map {
	const struct sim_config *c;
	int cross;
	uint32_t tiles_per_image, tokens_per_image, cross_layers, self_layers;
};

/* Reads the mapping constants of c (c->perf must be set); c must outlive *mp. */
void sim_map_init(struct sim_map *mp, const struct sim_config *c);
void sim_map_row(const struct sim_map *mp, const struct trace_set *ts, size_t i,
		 struct sim_shape *out);
/* KV tokens charged for the cached cross-attention states of img_tokens (kv_extra; 0 unless cross arch). */
uint64_t sim_cross_kv_tokens(const struct model_spec *m, uint64_t img_tokens);

/*
 * GPU-seconds each stage of a mapped trace needs (sim_split.c, docs/sim.md),
 * the basis of the work-proportional default split. Encode and prefill are
 * totals; decode depends on how many instances share it, so the estimate keeps
 * what it needs per window of arrival time and sim_work_decode() answers for
 * a pool size: each window's batch is the Little's-law fixed point of its
 * arrival rate (after --rate-scale) per instance.
 */
#define SIM_WORK_WINDOWS 1024

struct sim_work {
	uint64_t requests, images;  /* after --max-images */
	double enc_gpu_s;           /* images x tiles on TP-1 encoders, batches of enc_max_images */
	double enc_inline_gpu_s;    /* the same images encoded on TP-tp LLM instances (mono, pd) */
	double prefill_gpu_s;       /* prompt tokens in token_budget chunks, TP-tp */
	double decode_gpu_s;        /* what decode needs: sim_work_decode at decode_instances */
	double decode_batch;        /* its step-weighted mean batch */
	uint32_t decode_instances;  /* the fewest TP-tp instances whose batches hold the arrivals */
	uint32_t decode_batch_max;  /* min(max_seqs, KV capacity / mean request footprint) */
	int tp;                     /* of the LLM instances */
	/* decode inputs, per window of window_s simulated seconds (arrival time) */
	const struct perf *perf;
	double window_s;
	size_t n_windows;
	double win_req[SIM_WORK_WINDOWS];   /* requests arriving */
	double win_steps[SIM_WORK_WINDOWS]; /* their decode steps (output tokens - 1) */
	double win_kv[SIM_WORK_WINDOWS];    /* KV tokens those steps read */
};

/*
 * Estimates *w for trace ts mapped as sim_run maps it (c: perf, max_images,
 * src_tokens_per_image, token_budget, max_seqs, enc_max_images, kv_tokens,
 * rate_scale), LLM instances at TP tp. O(rows), no simulation. w->perf is
 * c->perf, which must outlive *w.
 */
int sim_work_estimate(const struct sim_config *c, const struct trace_set *ts, int tp,
		      struct sim_work *w, struct ms_error *err);
/*
 * GPU-seconds of the trace's decode steps on `instances` TP-tp instances: per window,
 * batch B = min(decode_batch_max, requests per instance, steps/s per instance x step
 * time(B)) (Little: requests in decode = rate x time in decode), then steps / B decode
 * iterations of perf_decode_coef(B). *batch (may be NULL): the step-weighted mean B.
 */
double sim_work_decode(const struct sim_work *w, uint32_t instances, double *batch);
/* Estimated GPU-seconds of each pool of d (d->n_pools values into gpu_s). */
void sim_work_pools(const struct sim_work *w, const struct sim_deploy *d, double *gpu_s);
/*
 * Work-proportional split of `gpus`: every pool starts with one instance, then
 * the next instance goes, one at a time, to the pool with the most work per GPU
 * that still fits the budget (D'Hondt apportionment in whole instances of the
 * pool's TP). Pools and their work: mono = gpus/tp; pd = prefill (encode inline
 * + prefill) and decode (decode_gpu_s: what decode needs, not its busy time at
 * the split's size, which grows with the size); modserve = TP-1 encoders
 * (encode) and TP-tp LLM (prefill + decode), no encoder pool when the mapped
 * trace has no images. Never more than `gpus`; leftover GPUs (fewer than a TP, or only for
 * pools without work) stay unused.
 */
int sim_deploy_by_work(struct sim_deploy *d, enum sim_deploy_kind kind, uint32_t gpus,
		       const struct sim_work *w, struct ms_error *err);

struct sim_config {
	const struct perf *perf;
	struct sim_deploy deploy;
	uint32_t max_images;           /* images per request are capped to this (paper: 16) */
	uint32_t src_tokens_per_image; /* image tokens per image inside the trace's ContextTokens */
	uint32_t token_budget;         /* tokens per LLM iteration (chunked prefill) */
	uint32_t max_seqs;             /* running requests per LLM instance */
	uint32_t enc_max_images;       /* images per encoder batch */
	uint32_t kv_block;             /* tokens per KV block */
	uint64_t kv_tokens;            /* KV tokens per LLM instance; 0 = perf_kv_capacity_tokens */
	int preprocess_cores;          /* CPU cores preprocessing per instance; 0 = per GPU spec */
	enum perf_link link;           /* between instances */
	enum policy_route route_enc, route_llm;
	enum policy_order order;       /* of every queue (LLM waiting lists, encoder queues) */
	double order_age_s;            /* POLICY_ORDER_SLO ageing cap; 0 = the policy's 10 s */
	/*
	 * First-token targets that set each request's deadline (arrival + target) for
	 * the SLO order, [0] text-only, [1] with images; 0 = slo_ttft_s (0: no deadline).
	 */
	double deadline_ttft_s[2];
	/*
	 * Per trace row first-token targets, s (plan's per-request SLO; NaN or <= 0:
	 * the class's above): the deadline of the SLO order and of the policy's
	 * windowed attainment. NULL = none. Read only; must cover every row.
	 */
	const float *row_ttft_s;
	double rate_scale;             /* arrivals at t / rate_scale */
	uint64_t seed;
	double series_dt;              /* time series bucket, s; 0 = span / 500, at least 1 s */
	int step_decode;               /* test switch: one event per decode iteration */

	void (*progress)(void *arg, double done, double total);
	void *progress_arg;
	/*
	 * Hooks for autoscaling and search (all off by default; off, a run is the
	 * same event for event). on_tick is called every tick_s of virtual time
	 * from the first arrival while work remains, and may add or drain
	 * instances (sim_ctl_add, sim_ctl_drain) and read the policy's pool
	 * statistics (policy_pool_stats on sim_ctl_policy); it returns < 0 to fail
	 * the run (with the error set through ctl), > 0 to stop it. early_stop is
	 * called as each request finishes; nonzero ends the run there
	 * (sim_result.stopped; unfinished requests keep done = 0).
	 */
	double tick_s;
	int (*on_tick)(void *arg, struct sim_ctl *ctl, double now);
	int (*early_stop)(void *arg, struct sim_ctl *ctl, uint32_t row, const struct metrics_req *m);
	void *hook_arg;
	double slo_ttft_s, slo_tpot_s; /* the policy's windowed SLO attainment; 0 = none */
	double stats_window_s;         /* the policy's statistics window; 0 = 60 s */
	/*
	 * Hooks never read the policy's windowed statistics (policy_pool_stats' rates and
	 * attainment): skip them even with hooks set. They steer no routing or order, so
	 * every result is the same; plan's early stop counts its misses itself.
	 */
	int no_stats;
};

void sim_config_default(struct sim_config *c, const struct perf *perf);

struct sim_pool_result {
	char name[16];
	enum sim_role role;
	uint32_t count;
	int tp;
	uint64_t kv_blocks;            /* per instance, 0 for encoders */
	double busy_gpu_s;
	struct metrics_series series;
};

struct sim_result {
	size_t n;
	struct metrics_req *req;       /* n rows, trace order */
	int n_pools;
	struct sim_pool_result pool[SIM_MAX_POOLS];
	uint64_t events;
	uint64_t capped_images;        /* requests whose images were cut to max_images */
	uint64_t clamped_text;         /* requests whose ContextTokens were below images x src tokens */
	uint64_t truncated;            /* requests whose prompt was cut to fit one instance's KV */
	uint64_t preemptions;
	uint64_t max_in_flight;
	double end_s;                  /* time of the last event (not a tick) */
	uint32_t gpus;                 /* of the deployment at the start */
	double gpu_s;                  /* per instance-second, requested to removed (static: gpus x span) */
	double cost_usd;
	int stopped;                   /* early_stop or on_tick ended the run */
	uint64_t instances_added, instances_drained; /* by hooks */
};

void sim_result_init(struct sim_result *r);
void sim_result_release(struct sim_result *r);

int sim_run(const struct sim_config *c, const struct trace_set *ts, struct sim_result *res,
	    struct ms_error *err);

/*
 * From hooks. sim_ctl_add requests an instance of pool `pool` (index in
 * sim_config.deploy): it costs GPU time from now, is STARTING for startup_s,
 * then READY (routing picks it); writes its stable id. sim_ctl_drain stops
 * new work to instance id; it is removed (and stops costing) once it holds
 * nothing. Ids are the policy's (policy_inst_state, policy_inst_pool).
 */
int sim_ctl_add(struct sim_ctl *ctl, int pool, double startup_s, uint32_t *id);
int sim_ctl_drain(struct sim_ctl *ctl, uint32_t id);
struct policy *sim_ctl_policy(struct sim_ctl *ctl);
double sim_ctl_now(const struct sim_ctl *ctl);
uint32_t sim_ctl_in_flight(const struct sim_ctl *ctl);
uint32_t sim_ctl_finished(const struct sim_ctl *ctl);

/*
 * The paper's ablation as named systems (sim_system.c holds the table;
 * docs/sim.md lists them): a deployment kind (epd: modserve with prefill and
 * decode pools) and the policies it runs with.
 *   vllm      monolith at the model's TP, FCFS, round-robin
 *   decoup    image and text pools, FCFS, round-robin (load-blind)
 *   sched     decoup + SLO-driven queue order
 *   modserve  sched + modality-aware routing (least pending work)
 *   pd        prefill (encoding inline) + decode pools, FCFS, least pending
 *   epd       encode + prefill + decode pools, SLO order, least pending
 */
enum { SIM_SYSTEM__COUNT = 6 };

struct sim_system {
	const char *name;
	enum sim_deploy_kind kind;
	int split_pd;                  /* the LLM pool split into prefill + decode */
	enum policy_order order;
	enum policy_route route_enc, route_llm;
	const char *what;
};

const struct sim_system *sim_system_get(int i); /* 0..SIM_SYSTEM__COUNT-1, else NULL */
int sim_system_find(const char *name, const struct sim_system **out, struct ms_error *err);
/* Sets c's queue order and routing to the system's. */
void sim_system_apply(const struct sim_system *sys, struct sim_config *c);
/* The work-proportional split of gpus for the system (epd: the LLM share split by work). */
int sim_system_split(const struct sim_system *sys, uint32_t gpus, const struct sim_work *w,
		     struct sim_deploy *d, struct ms_error *err);

/*
 * TTFT and TPOT (NaN for one output token) of one request of `images` images, `text`
 * text tokens and `gen` output tokens alone on a one-instance TP-tp monolith, with c's
 * options (its pools, rate and hooks are not used): the paper's SLO reference.
 */
int sim_isolated(const struct sim_config *c, int tp, uint32_t images, uint32_t text,
		 uint32_t gen, double *ttft_s, double *tpot_s, struct ms_error *err);

/*
 * Default SLO targets as the paper sets them: `scale` times the TTFT and TPOT of
 * an isolated request on the monolith of this model and GPU (one image, 1,000
 * text tokens, 100 output tokens; near the trace's median image request).
 */
int sim_slo_default(const struct perf *perf, double scale, double *ttft_s, double *tpot_s,
		    struct ms_error *err);

#endif
