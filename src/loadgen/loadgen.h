/*
 * loadgen: the trace-replay load generator behind `modserve bench`.
 *
 * Owns struct loadgen_config, struct loadgen_result (one struct loadgen_req per
 * request sent, every inter-token gap, failures by reason) and the run itself: one
 * event loop (net/), keep-alive connections reused, as many streams open as the
 * trace asks for (or --max-concurrency allows). Each trace row becomes one streamed
 * chat request: a prompt of exactly its text tokens (ContextTokens minus NumImages x
 * image_tokens_in_trace, the rule sim documents in docs/sim.md; one word per token),
 * min(NumImages, max_images) generated PNG images (loadgen_img.h; or the files of
 * image_dir), max_tokens =
 * GeneratedTokens (at least 1) with ignore_eos; sent at the row's time / rate_scale,
 * or at Poisson times of rate R. Times are measured from the stream as it is read.
 * Every request sent ends completed or failed with a reason; none is dropped.
 * Callers: cli/cmd_bench.c. Writes only to the FILE or paths it is given.
 */
#ifndef LOADGEN_H
#define LOADGEN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/ms_error.h"
#include "trace/trace.h"

struct loadgen_config {
	char host[64];
	int port;
	char path[256];            /* "/v1/chat/completions" */
	const char *model;         /* "model" field; NULL: asked from GET /v1/models */
	double rate_scale;         /* arrival times divided by it [1] */
	double rate;               /* > 0: Poisson arrivals at this rate instead */
	uint32_t max_concurrency;  /* 0: no limit */
	uint64_t num_requests;     /* 0: every row */
	double duration_s;         /* 0: no limit; rows arriving later are not sent */
	uint64_t seed;
	uint32_t image_tokens_in_trace; /* per image inside ContextTokens [85] */
	uint32_t max_images;       /* [16] */
	uint32_t image_pool;       /* distinct generated images [64] */
	const char *image_dir;     /* PNG/JPEG files to send instead of generated ones */
	double timeout_s;          /* inactivity timeout per request [300] */
	int progress;
	uint32_t image_side;       /* > 0: generated images are squares of this side (px) */
	int whole;                 /* non-streamed requests and replies (an encode endpoint):
				    * done at the reply's end, ttft = e2e, max_tokens 1 */
};

/* Parses http://HOST:PORT[/path] (numeric host, or localhost); path default
 * /v1/chat/completions. */
int loadgen_endpoint_parse(struct loadgen_config *c, const char *url, struct ms_error *err);
void loadgen_config_default(struct loadgen_config *c);
/* The first model id the endpoint lists under GET /v1/models (a blocking call). */
int loadgen_fetch_model(const struct loadgen_config *cfg, char *out, size_t cap,
			struct ms_error *err);

#define LOADGEN_FAIL_MAP(X)                                 \
	X(STATUS, "http_status")      /* a status other than 200 */ \
	X(TIMEOUT, "timeout")                                   \
	X(CONNECT, "connection")      /* refused, reset, closed early */ \
	X(STREAM, "stream_error")     /* error chunk, no [DONE], no token */

enum loadgen_fail {
	LOADGEN_OK = 0,
#define LOADGEN__FENUM(c, s) LOADGEN_FAIL_##c,
	LOADGEN_FAIL_MAP(LOADGEN__FENUM)
#undef LOADGEN__FENUM
	LOADGEN_FAIL__N
};
const char *loadgen_fail_name(enum loadgen_fail f);

struct loadgen_req {
	double sched;        /* planned send time, s from start */
	double start;        /* actual send time */
	double ttft, e2e, tpot; /* s; tpot NAN when fewer than 2 tokens */
	uint32_t prompt_tokens, images, max_tokens, out_tokens;
	uint32_t row;        /* trace row */
	int status;
	enum loadgen_fail fail;
	size_t itl_off;      /* into loadgen_result.itl */
	uint32_t itl_n;
};

struct loadgen_result {
	struct loadgen_req *req;
	size_t n;
	double *itl;         /* every gap between content chunks, s */
	size_t n_itl, cap_itl;
	double duration_s;   /* first send to last end */
	uint64_t fails[LOADGEN_FAIL__N];
	uint64_t fail_status[600]; /* by HTTP status */
	uint32_t max_concurrency, peak_open;
	double image_px_median, image_px_p95; /* of the generated pool (longer side) */
};

int loadgen_run(const struct trace_set *ts, const struct loadgen_config *cfg,
		struct loadgen_result *res, struct ms_error *err);
void loadgen_result_release(struct loadgen_result *res);

/* Summary with `vllm bench serve` names, overall and per modality. */
void loadgen_print_summary(FILE *out, const struct loadgen_result *res);
/* vllm bench serve's JSON keys (+ per_modality, failures); path "-" = stdout. */
int loadgen_write_json(const struct loadgen_result *res, const char *path, struct ms_error *err);
int loadgen_write_csv(const struct loadgen_result *res, const char *path, struct ms_error *err);

#endif
