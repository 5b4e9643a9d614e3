/*
 * engine: the emulated OpenAI-compatible LMM server behind `modserve engine`.
 *
 * Owns struct engine: an HTTP server on the caller's loop (net/), the emulated GPU
 * (engine_sched, stage times from perf/), the encoder-cache directory, metrics.
 * Routes: POST /v1/chat/completions, GET /v1/models, /health, /metrics. Roles speak
 * vLLM's disaggregated-encoder (EPD) and prefill/decode protocol (docs/live.md).
 * Every request is answered with a status; errors use vLLM's JSON shape
 * {"error": {"message", "type", "param", "code"}}. Callers: cli/cmd_engine.c, tests.
 */
#ifndef ENGINE_H
#define ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "base/ms_error.h"
#include "net/net.h"

enum engine_role {
	ENGINE_ROLE_ALL = 0, /* encode + prefill + decode, writes the encoder cache too */
	ENGINE_ROLE_LLM,     /* prefill + decode, encodes on a cache miss */
	ENGINE_ROLE_ENCODE,
	ENGINE_ROLE_PREFILL,
	ENGINE_ROLE_DECODE,
};

struct engine_config {
	const char *host;      /* listen address, "127.0.0.1" */
	int port;              /* 0: any (engine_port tells) */
	const char *model;     /* model spec name or path */
	const char *gpu;       /* GPU spec name or path */
	int tp;                /* 0: the model's default_tp */
	const char *profile;   /* profile CSV or NULL */
	double speed;          /* K times faster than real time; 0 = no delay */
	enum engine_role role;
	uint32_t max_queue;    /* waiting requests before 429 (0: no limit) */
	const char *ec_dir;    /* encoder-cache directory or NULL */
	size_t max_body;       /* request body cap (413 above) */
	uint32_t max_seqs;     /* running requests [256] */
	uint32_t token_budget; /* tokens per iteration [4096] */
	uint64_t kv_tokens;    /* KV capacity, 0: from perf (free HBM after weights) */
	const char *ca_file;   /* https image URLs: PEM CA certificates, NULL: the system's */
	int tls_insecure;      /* https image URLs: verify no certificate (self-signed servers) */
	struct net_server_limits limits; /* read deadlines, connection cap (all 0: defaults) */
};

struct engine;

int engine_role_parse(const char *s, enum engine_role *out);
const char *engine_role_name(enum engine_role r);

int engine_new(struct engine **out, struct net_loop *loop, const struct engine_config *cfg,
	       struct ms_error *err);
int engine_port(const struct engine *e);
/* Name clients must use in "model" (the model spec's name). */
const char *engine_model_name(const struct engine *e);
/*
 * Answers every open request now: an error chunk then [DONE] mid-stream, 503 before.
 * The bytes still have to leave: run the loop a little (until the clients close or a
 * short timer) before engine_free, which would otherwise drop what is unsent.
 */
void engine_drain(struct engine *e);
/* Drains (without the loop run) and frees. */
void engine_free(struct engine *e);

#endif
