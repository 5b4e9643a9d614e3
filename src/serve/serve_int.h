/*
 * serve_int: what the files of serve/ share: backends, requests in flight, calls to
 * backends and the gateway's counters. Other folders never include it.
 */
#ifndef SERVE_INT_H
#define SERVE_INT_H

#include <jansson.h>
#include <stdlib.h>

#include "serve/serve.h"

struct serve__buf {
	char *p;
	size_t len, cap;
};

struct serve__backend {
	struct serve *s;
	enum serve_kind kind;
	struct serve_url url;
	uint32_t pid;              /* policy instance id; a new one after each recovery */
	int used;                  /* the slot holds a backend (slots of removed ones are reused) */
	int healthy;               /* READY in policy: routed to */
	int starting;              /* STARTING in policy until a probe answers 200 */
	int draining;              /* DRAINING: no new work; removed once nothing is in flight */
	int child;                 /* --spawn: the process serving it (0: none) */
	struct net_client **idle;  /* keep-alive connections not in use */
	uint32_t n_idle, cap_idle;
	struct net_client *probe;
	int probe_busy;
	uint32_t inflight;
	uint64_t calls, failures;
	/* serve_scrape.c: the backend's own gauges, last scrape */
	struct net_client *sc_client;
	struct serve__buf sc_body;
	int sc_busy;
	double sc_waiting, sc_running, sc_kv;
	uint64_t sc_queued;        /* waiting requests counted into the pool's queue */
	uint64_t sc_ok, sc_bad;    /* scrapes read / failed or without the gauges */
};

#define SERVE_KEY_MAX 128

/* serve_limit.c: a token bucket (rate <= 0: no limit) */
struct serve__bucket {
	double rate, cap, level, t;
};

struct serve__key {
	char key[SERVE_KEY_MAX]; /* zero-padded: compared over the whole array */
	size_t len;
	char name[48];
	double rps, burst, tpm;  /* the key's limits as written (0: none) */
	struct serve__bucket reqs, toks;
};

struct serve__rq;

/* One HTTP call to a backend for a request (an image item, a prefill, the final call). */
struct serve__call {
	struct serve__rq *q;
	struct serve__backend *b;
	struct net_client *c;
	uint32_t pid;              /* the backend's policy id when the call started */
	int img;                   /* image index for an encode call, -1 otherwise */
	int sub;                   /* encode retry: charged on own ticket */
	struct policy_ticket stk;
	int status;
	struct serve__buf body;
	char ctype[64];
	struct serve__call *next, *prev; /* the request's open calls */
};

struct serve__rq {
	struct serve *s;
	struct net_req *r;         /* NULL once the client went away or was answered */
	json_t *req;               /* the client's request, uuids set on image parts */
	json_t **img;              /* borrowed: the image parts, in order */
	json_t **ec;               /* ec_transfer_params per image (owned) */
	json_t *kv;                /* prefill's kv_transfer_params (owned) */
	const char *raw;           /* the client's body (net_req_body), NULL once r is gone */
	size_t raw_len;
	char id[96];
	char key_name[48];         /* the API key's name, "-" without keys (access log) */
	int stream, finished, streamed, routed;
	uint32_t n_img, img_left, attempts;
	uint32_t calls;            /* backend calls still open */
	int status;
	struct policy_req prq;
	struct policy_ticket tk;
	double t0, t_first;
	struct serve__call *open;  /* open calls (freed with the gateway at shutdown) */
	struct serve__rq *next, *prev; /* live requests */
};

enum { SERVE__NSTAT = 10, SERVE__NBUCKET = 14 };

struct serve__hist {
	uint64_t n[SERVE__NBUCKET + 1];
	double sum;
	uint64_t count;
};

struct serve {
	struct serve_config cfg;
	struct net_loop *loop;
	struct net_server *srv;
	struct net_timer *probe;
	struct policy pol;
	int pool_of[SERVE_KINDS];  /* policy pool index per kind, -1 when absent */
	struct serve__backend be[SERVE_KINDS * SERVE_MAX_BACKENDS];
	uint32_t n_be;
	struct serve__backend **by_pid;
	uint32_t cap_pid;
	uint32_t inflight[SERVE_KINDS];
	uint64_t next_id, id_base;
	uint64_t req_total[2][SERVE__NSTAT];
	struct serve__hist ttft[2], e2e[2];
	uint64_t over_released, retries;
	uint64_t limited[3];       /* 429s by SERVE__LIMIT_* (serve_front.c) */
	uint32_t open_rq;
	struct serve__rq *live;
	struct serve__key *keys;   /* NULL: no API keys required */
	uint32_t n_keys;
	struct serve__buf dump;    /* every stage's body is serialised here (reused) */
	struct net_timer *scrape;
	struct serve__scale *scale; /* NULL without --autoscale */
	double tok_sum[SERVE_KINDS]; /* tokens charged per call, summed (scraped load's unit) */
	uint64_t tok_n[SERVE_KINDS];
};

/* serve_admin.c: POST/GET /instances (dynamic registration) */
int serve__admin_routes(struct serve *s, struct ms_error *err);

/* serve_scrape.c: the backends' /metrics into policy's load view */
void serve__scrape_start(struct serve *s);
void serve__scrape_stop(struct serve *s);
int serve__scrape_busy(const struct serve__backend *b);
/* The backend leaves: its client closed, its share of the pool's queue taken back. */
void serve__scrape_gone(struct serve__backend *b);

/* serve_scale.c: the policy_scale rule acting (--spawn, --scale-cmd) */
int serve__scale_start(struct serve *s, struct ms_error *err);
void serve__scale_stop(struct serve *s);
/* The autoscaler's target for pool k in *n: 1, or 0 when k is not autoscaled. */
int serve__scale_target(const struct serve *s, enum serve_kind k, uint32_t *n);
/* A spawned backend was reaped: its process is stopped. */
void serve__scale_gone(struct serve__backend *b);

/* serve_keys.c */
struct serve__key *serve__key_check(struct serve *s, const char *auth);

/* serve_split.c: a chat request parsed for the stages (no sockets: fuzzed) */
struct serve__split {
	json_t *req;               /* owned: the request, a uuid on every image part */
	json_t **img;              /* owned array of borrowed image parts, in order */
	uint32_t n_img;            /* also set when the parse failed part-way */
	int stream;
	uint64_t text_tokens, out_tokens; /* the policy's estimate: words, max_tokens (16) */
};
/* 0, or the HTTP status (400, 404) with msg and the field (*param, or NULL). sp holds
 * what it parsed either way: serve__split_release it. */
int serve__split_parse(struct serve__split *sp, const char *body, size_t len,
		       const char *model, char *msg, size_t cap, const char **param);
void serve__split_release(struct serve__split *sp);
/* The encode request of one image part: text removed, stream false, max_tokens 1, the
 * request's model (else `model`). New reference, NULL when out of memory. */
json_t *serve__split_encode_body(json_t *req, json_t *part, const char *model);
/* json into o (reused: a body is copied into its connection before the next one is
 * dumped, so no string is allocated per call); *txt points into o. 0 or -1 (memory). */
int serve__split_dump(struct serve__buf *o, const json_t *body, const char **txt, size_t *len);
/* The body of an LLM stage's call to a backend of kind (prefill, decode,
 * prefill_decode) into o, or the client's bytes raw (NULL: none, always serialise):
 * prefill gets stream false, max_tokens 1, no stream_options or max_completion_tokens,
 * kv_transfer_params {do_remote_decode: true, do_remote_prefill: false}; decode gets kv
 * (prefill's kv_transfer_params, borrowed; NULL: none) verbatim; prefill and
 * prefill_decode get ec (merged ec_transfer_params; a new reference taken, NULL: none).
 * req is patched in place and restored before the call returns. 0 or -1 (memory). */
int serve__split_stage_body(struct serve__buf *o, json_t *req, json_t *const *img,
			    uint32_t n_img, const char *raw, size_t raw_len, enum serve_kind kind,
			    json_t *ec, json_t *kv, const char **txt, size_t *len);

/* serve_limit.c and the front end's guards (serve_front.c) */
enum { SERVE__LIMIT_REQUESTS = 1, SERVE__LIMIT_TOKENS = 2 };
void serve__bucket_init(struct serve__bucket *b, double rate, double cap, double now);
/* Seconds until the bucket holds cost (0: now; INFINITY: never, cost above cap). */
double serve__bucket_wait(struct serve__bucket *b, double now, double cost);
void serve__bucket_take(struct serve__bucket *b, double now, double cost);
/* 0 and both buckets charged, or SERVE__LIMIT_* with the wait and a message. */
int serve__limit_admit(struct serve__key *k, double now, double tokens, double *retry_s,
		       char *msg, size_t cap);
/* The front end's /metrics lines (connections, read timeouts, rate limits) into buf. */
const char *serve__front_metrics(struct serve *s, char *buf, size_t cap);

/* serve_backend.c */
/* A backend into pool kind: READY at once (static pools) or STARTING until a probe
 * answers (registered, spawned). -MS_EINVAL when that URL is already in the pool. */
int serve__backend_add(struct serve *s, enum serve_kind kind, const struct serve_url *u,
		       int ready, struct serve__backend **out, struct ms_error *err);
struct serve__backend *serve__backend_find(struct serve *s, enum serve_kind kind,
					   const struct serve_url *u);
/* No new work; the probe timer removes it once nothing of it is in flight. */
void serve__backend_drain(struct serve__backend *b);
/* "http://IPv4:PORT" or "IPv4:PORT" (vLLM's proxy form); 0 or -1. */
int serve__url_parse(struct serve_url *u, const char *s);
int serve__backends_init(struct serve *s, const struct serve_pools *p, struct ms_error *err);
void serve__backends_free(struct serve *s);
struct serve__backend *serve__backend_of(struct serve *s, uint32_t pid);
struct net_client *serve__client_get(struct serve__backend *b);
void serve__client_put(struct serve__backend *b, struct net_client *c);
/* The backend failed a call or a probe: out of routing until a probe sees it again. */
void serve__backend_down(struct serve__backend *b, const char *why);
void serve__probe_start(struct serve *s);
void serve__logf(struct serve *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A policy release came back -MS_ERANGE: counted and logged, never fatal. */
void serve__policy_rc(struct serve *s, int rc, const char *what);

/* serve.c: routes a parsed request (encode, then the LLM stages) / ends them all */
void serve__start(struct serve__rq *q);
void serve__stop_all(struct serve *s);
/* Frees q once it is answered and no call of it is open. */
void serve__stop_req(struct serve__rq *q);
void serve__on_client_close(struct net_req *r, void *arg);

/* serve_metrics.c */
void serve__count(struct serve *s, int image, int status, double ttft, double e2e);
void serve__metrics_reply(struct serve *s, struct net_req *r);

/* buffers */
int serve__buf_add(struct serve__buf *b, const char *p, size_t n);

#endif
