/*
 * serve: the ModServe gateway. An OpenAI-compatible front end (chat completions,
 * models, health, metrics) over pools of vLLM-protocol backends (encode, prefill,
 * decode, prefill_decode), driving vLLM's EPD data path (DESIGN.md section 5) with
 * every routing and charging decision taken by src/policy. Owns struct serve and its
 * configuration; the pools file is read by serve_pools_load. Library code: reports
 * through struct ms_error and the log callback, never prints.
 */
#ifndef SERVE_H
#define SERVE_H

#include <stddef.h>
#include <stdint.h>

#include "base/ms_error.h"
#include "net/net.h"
#include "policy/policy.h"

enum serve_kind { SERVE_ENCODE = 0, SERVE_PREFILL, SERVE_DECODE, SERVE_PD, SERVE_KINDS };

#define SERVE_MAX_BACKENDS 64
#define SERVE_MAX_IMAGES 64

struct serve_url {
	char host[64];
	int port;
};

/* Backend URLs by pool, as read from the config file. */
struct serve_pools {
	struct serve_url url[SERVE_KINDS][SERVE_MAX_BACKENDS];
	uint32_t n[SERVE_KINDS];
	int declared[SERVE_KINDS]; /* a `pool =` line, URLs or not (registration fills it) */
};

typedef void (*serve_log_fn)(void *arg, const char *line);

/* --autoscale POOL=MIN:MAX:CAPACITY and --spawn POOL=CMD (serve_scale.c). */
struct serve_scale_pool {
	int on;
	uint32_t min, max;
	double capacity;           /* load one instance carries: image tokens/s (encode),
				    * prompt tokens/s (LLM pools) */
	const char *spawn;         /* command of one instance, {port} replaced; NULL: none */
};

struct serve_config {
	const char *host;
	int port;                  /* 0: any */
	const char *model;         /* the served model's name (GET /v1/models) */
	size_t max_body;
	double probe_s;            /* health probe period */
	double scrape_s;           /* backends' /metrics period; 0: not scraped */
	double backend_timeout_s;  /* inactivity timeout of a backend call */
	uint32_t image_tokens;     /* the policy's estimate of one image's tokens */
	uint32_t target_inflight;  /* per instance, for the desired-replicas gauge */
	enum policy_route route;
	const char *admin_key;     /* POST /instances needs it; NULL: registration off */
	struct serve_scale_pool scale[SERVE_KINDS];
	const char *scale_cmd;     /* {pool}, {n} replaced; NULL: none */
	double scale_interval_s;   /* the rule's periodic evaluation; 0 = 300 */
	double scale_cooldown_s;   /* 0 = the interval */
	double window_s;           /* policy's rate window; 0 = 60 */
	serve_log_fn log;          /* access log and warnings (NULL: none) */
	serve_log_fn decision_log; /* one line per routing pick (NULL: none): docs/serve.md */
	void *log_arg;
	/* front end: read deadlines and connection cap (net_server_limits_default when
	 * all zero), TLS when both files are set */
	struct net_server_limits limits;
	const char *tls_cert, *tls_key;
};

struct serve;

/* Reads `pool = URL, URL ...` lines (pools encode, prefill, decode, prefill_decode;
 * URLs http://IPv4:PORT); errors name file:line. */
int serve_pools_load(struct serve_pools *p, const char *path, struct ms_error *err);
/* Pool name ("encode", ...). */
const char *serve_kind_name(enum serve_kind k);

int serve_new(struct serve **out, struct net_loop *l, const struct serve_config *cfg,
	      const struct serve_pools *pools, struct ms_error *err);
int serve_port(const struct serve *s);
/* API keys (`name = key [rps=R] [burst=B] [tpm=T]` lines, keys of 8..127 bytes): from
 * now on every /v1/ request needs `authorization: Bearer KEY` (401 otherwise), and a
 * key's requests above its limits get 429 with retry-after. Called again it replaces
 * the keys (unchanged ones keep their buckets); on failure the old ones stay in force. */
int serve_keys_load(struct serve *s, const char *path, struct ms_error *err);
void serve_free(struct serve *s);

#endif
