/*
 * engine_int: what engine.c and engine_out.c share: one request in flight (struct
 * engine__rq) and the engine itself. Other folders never include it.
 */
#ifndef ENGINE_INT_H
#define ENGINE_INT_H

#include "engine/engine.h"
#include "engine/engine_chat.h"
#include "engine/engine_metrics.h"
#include "engine/engine_sched.h"
#include "model/model.h"
#include "perf/perf.h"

struct engine;
struct engine__fetch;

struct engine__rq {
	struct engine *eng;
	struct net_req *r;
	struct engine_job job;
	struct net_timer *delay; /* handover delay before the job is submitted */
	struct engine_chat chat;  /* parsed request (images' keys for the EC reply) */
	char id[80];              /* "chatcmpl-..." */
	char pre[400];            /* chunk JSON up to "choices":[{"index":0, */
	size_t pre_len;
	long created;
	double t_arrive, t_last;
	uint32_t prompt_report;   /* usage.prompt_tokens */
	int kind;                 /* enum engine__kind */
	int streaming;            /* stream headers sent */
	int whole_started;        /* a whole reply whose headers went out early (see submit) */
	int dirty;                /* obuf holds bytes not yet written */
	char *obuf;               /* stream bytes of this loop pass (kept across reuse) */
	size_t olen, ocap;
	/* image URLs being fetched (engine_fetch) */
	struct engine__fetch *fetch;
	uint32_t n_fetch, fetch_left;
	int fetch_failed;
	struct engine_chat_error chat_err;
	void (*fetch_cb)(struct engine__rq *q, int ok);
	struct net_timer *fetch_timer; /* kept across reuse, like delay */
	struct engine__rq *next_free, *prev_live, *next_live;
};

enum engine__kind {
	ENGINE__FULL = 0,   /* prefill + decode (+ encode on a miss) */
	ENGINE__ENCODE,     /* encode only: reply with ec_transfer_params */
	ENGINE__PREFILL,    /* prefill for a remote decode: reply with kv_transfer_params */
	ENGINE__DECODE,     /* decode of a remotely prefilled request */
};

struct engine {
	struct engine_config cfg;
	struct net_loop *loop;
	struct net_server *srv;
	struct net_timer *iter;
	struct perf perf;
	struct engine_sched sched;
	struct engine_metrics met;
	struct net_tls_client *tls; /* https image fetches (engine_fetch.c) */
	char model_json[200];     /* model name as a JSON string, quotes included */
	char tail[300];           /* chunk head after the id, for second tail_sec */
	size_t tail_len;
	long tail_sec;
	double iter_now;          /* when the iteration being ended ended */
	char engine_id[40];
	int iter_pending;
	/* iter_due: wall time the iteration under way ends on the emulated GPU's clock;
	 * iter_chain: the next one follows it with no idle time between (on_iter) */
	double iter_due;
	int iter_chain;
	uint64_t next_id;
	struct engine__rq *free_rq;
	struct engine__rq live;   /* sentinel of the requests in flight */
	struct engine__rq **dirty; /* streams with bytes in obuf, flushed once per pass */
	size_t n_dirty, cap_dirty;
	char *scratch;            /* reply building */
	size_t scratch_cap;
};

/* engine_out.c: replies */
void engine__error(struct net_req *r, int status, const char *param, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Stream bytes go to q->obuf; engine__flush writes them as one chunk, so a pass of
 * the loop that emits several tokens of a request costs one write, not one each. */
int engine__stream_token(struct engine__rq *q, int last);
void engine__flush(struct engine__rq *q);
void engine__stream_done(struct engine__rq *q);
void engine__reply_whole(struct engine__rq *q);
void engine__stream_error(struct engine__rq *q, const char *msg);
/* Ends a whole reply started early with an error body (its status is already 200). */
void engine__whole_error(struct engine__rq *q, const char *msg);

#endif
