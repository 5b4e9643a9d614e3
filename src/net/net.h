/*
 * net: the only part that touches the HTTP/event library (libevent 2.1: event_base,
 * evhttp for the server, evhttp client connections for streaming reads).
 *
 * Owns struct net_loop (one event loop per process, with a monotonic clock and
 * timers), struct net_server (listen, route by method + exact path, request
 * bodies capped: above the cap the handler sees net_req_body_too_large()),
 * struct net_req (one server-side request: reply at once, later, or as a chunked
 * stream; a close callback when the client goes away mid-reply), struct
 * net_client (one keep-alive connection to host:port, plain or TLS, that POSTs and
 * hands the body back as it arrives) and struct net_sse (SSE line splitter, no I/O).
 * Callers: engine/ and serve/ (server), loadgen/ and serve/ (client). Nothing here knows JSON or LLMs.
 *
 * Lifetimes. A net_req is valid from the handler call until the caller ends it
 * (net_req_reply, net_req_stream_end) or its close callback returns; after that
 * the pointer is dead. A net_call likewise ends with its done callback.
 * Everything runs on the loop's thread; no call blocks.
 */
#ifndef NET_H
#define NET_H

#include <stddef.h>

#include "base/ms_error.h"

struct net_loop;
struct net_timer;
struct net_server;
struct net_req;
struct net_client;

/* ---- loop, clock, timers ---- */
int net_loop_new(struct net_loop **out, struct ms_error *err);
void net_loop_free(struct net_loop *l);
/* Runs until net_loop_stop or until nothing is left to wait for. */
int net_loop_run(struct net_loop *l);
void net_loop_stop(struct net_loop *l);
/* Monotonic seconds (CLOCK_MONOTONIC, read fresh: not the loop's cached time). */
double net_now(void);

typedef void (*net_timer_fn)(void *arg);
struct net_timer *net_timer_new(struct net_loop *l, net_timer_fn fn, void *arg);
/* (Re)arms the one-shot timer after `after_s` seconds (0: next loop pass). */
void net_timer_start(struct net_timer *t, double after_s);
void net_timer_stop(struct net_timer *t);
void net_timer_free(struct net_timer *t);

/* ---- server ---- */
typedef void (*net_handler)(struct net_req *r, void *arg);
typedef void (*net_close_fn)(struct net_req *r, void *arg);

/*
 * Listens on host:port (port 0: any; net_server_port tells which). Bodies up to
 * max_body bytes reach handlers; larger ones up to 4 x max_body (plus 1 MiB) reach
 * them flagged too large so the handler answers 413 in its own format; beyond that
 * libevent answers a plain 413 itself without reading the body.
 */
int net_server_new(struct net_server **out, struct net_loop *l, const char *host, int port,
		   size_t max_body, struct ms_error *err);
int net_server_port(const struct net_server *s);
/* Exact method ("GET", "POST") and path (query ignored); method and path NULL: the
 * fallback for everything else (default: a plain 404). Up to 16 routes. */
int net_server_route(struct net_server *s, const char *method, const char *path,
		     net_handler h, void *arg, struct ms_error *err);
void net_server_free(struct net_server *s);

/*
 * Front-end guards (defaults set by net_server_new). A request's head must be whole
 * within header_timeout_s of its first byte (of the accept, for a connection's first
 * request) and its body within body_timeout_s after the head: total deadlines, not
 * inactivity, so a client trickling bytes is cut (counted in header_timeouts /
 * body_timeouts). idle_timeout_s: keep-alive inactivity (evhttp's own timeout).
 * Above max_conns open connections a new one is closed in the same loop pass
 * without being read (counted in refused). 0 disables a guard. Always: a client that
 * sends more than a request's worth (64 KiB of head + the body cap) while its reply
 * is being written is closed (counted in floods).
 */
#define NET_HEADER_TIMEOUT_S 10.0
#define NET_BODY_TIMEOUT_S 60.0
#define NET_IDLE_TIMEOUT_S 120.0
#define NET_MAX_CONNS 1024u
struct net_server_limits {
	double header_timeout_s, body_timeout_s, idle_timeout_s;
	unsigned max_conns;
};
struct net_server_stats {
	unsigned long long accepted, refused, header_timeouts, body_timeouts, floods;
	unsigned open;
};
void net_server_limits_default(struct net_server_limits *l);
void net_server_set_limits(struct net_server *s, const struct net_server_limits *l);
void net_server_get_stats(const struct net_server *s, struct net_server_stats *st);
/* TLS (OpenSSL, TLS 1.2 and up) on every connection accepted from now on: a PEM
 * certificate chain and its PEM private key; errors name the file. */
int net_server_tls(struct net_server *s, const char *cert, const char *key,
		   struct ms_error *err);

const char *net_req_method(const struct net_req *r);
const char *net_req_path(const struct net_req *r); /* without the query */
const char *net_req_header(const struct net_req *r, const char *name); /* NULL if absent */
/* The body, contiguous, not NUL-terminated; valid until the request ends. */
const char *net_req_body(struct net_req *r, size_t *len);
int net_req_body_too_large(const struct net_req *r);
/* Headers of the reply: set before net_req_reply / net_req_stream_start. */
void net_req_add_header(struct net_req *r, const char *name, const char *value);
/* Whole reply; ends r. */
void net_req_reply(struct net_req *r, int status, const char *content_type, const char *body,
		   size_t len);
/* Chunked reply: start, write any number of times, end (ends r). */
void net_req_stream_start(struct net_req *r, int status, const char *content_type);
void net_req_stream_write(struct net_req *r, const char *data, size_t len);
void net_req_stream_end(struct net_req *r);
/* Called once if the client closes before the reply ended; r ends when fn returns. */
void net_req_on_close(struct net_req *r, net_close_fn fn, void *arg);

/* ---- client ---- */
struct net_call_ops {
	/* Status line and headers read; header() looks one up (NULL if absent). */
	void (*on_head)(void *arg, int status, struct net_client *c);
	/* Body bytes as they arrive (chunk framing removed). */
	void (*on_body)(void *arg, const char *buf, size_t len);
	/* The call ended: status (0 when none came) and err 0 for a whole reply, or a
	 * negative MS_E* code with a short reason (timeout, connection refused, ...). */
	void (*on_done)(void *arg, int status, int err, const char *reason);
};

/* One keep-alive connection to a numeric IPv4/IPv6 host; timeout_s: inactivity. */
int net_client_new(struct net_client **out, struct net_loop *l, const char *host, int port,
		   double timeout_s, struct ms_error *err);
/* Not from inside the client's own callbacks (a bug: libevent still uses it then).
 * After a failed call the client reconnects on its next call. */
void net_client_free(struct net_client *c);
/*
 * https: a client TLS context (OpenSSL, TLS 1.2 and up) that verifies the server's
 * certificate against the PEM CA file ca_file (NULL: the system's CA paths) and its
 * host (an IP address against the certificate's IP names), or, insecure, verifies
 * nothing (self-signed test servers). Errors name the file. net_client_new_tls is
 * net_client_new over TLS with it (tls not owned; it must outlive the client); a
 * handshake that fails ends the call with the TLS reason ("certificate verify failed").
 */
struct net_tls_client;
int net_tls_client_new(struct net_tls_client **out, const char *ca_file, int insecure,
		       struct ms_error *err);
void net_tls_client_free(struct net_tls_client *t);
int net_client_new_tls(struct net_client **out, struct net_loop *l, const char *host, int port,
		       double timeout_s, struct net_tls_client *tls, struct ms_error *err);
/* Response header of the call in progress (inside on_head / on_body only). */
const char *net_client_header(struct net_client *c, const char *name);
/*
 * POSTs body to path; one call at a time per client (-MS_EINVAL otherwise). The
 * ops run later from the loop, never from inside this call. extra_headers: NULL or
 * a NULL-terminated list of name, value pairs.
 */
int net_client_post(struct net_client *c, const char *path, const char *content_type,
		    const char *body, size_t len, const char *const *extra_headers,
		    const struct net_call_ops *ops, void *arg, struct ms_error *err);
/* A GET with the same callbacks. */
int net_client_get(struct net_client *c, const char *path, const struct net_call_ops *ops,
		   void *arg, struct ms_error *err);
int net_client_busy(const struct net_client *c);

/* ---- SSE lines ---- */
/* Splits a byte stream into lines (LF or CRLF) and calls fn on each "data:" line's
 * value (the one space after the colon removed). Lines above cap bytes: fn gets
 * NULL once per such line (the caller counts a stream error). */
typedef void (*net_sse_fn)(void *arg, const char *data, size_t len);
struct net_sse {
	char *buf;
	size_t len, cap;
	int overflow;
	net_sse_fn fn;
	void *arg;
};
int net_sse_init(struct net_sse *s, size_t cap, net_sse_fn fn, void *arg);
void net_sse_reset(struct net_sse *s);
void net_sse_feed(struct net_sse *s, const char *data, size_t len);
void net_sse_release(struct net_sse *s);

/* ---- OpenAI-style errors (net_oai.c; the engine and the gateway share them) ---- */
/* vLLM's "type" for a status ("BadRequestError", "NotFoundError", ...). */
const char *net_oai_error_type(int status);
/* {"error":{"message","type","param","code"}} into buf (param NULL/"": null); length. */
size_t net_oai_error_json(char *buf, size_t cap, int status, const char *param, const char *msg);
/* Whole error reply; 429 and 503 carry `retry-after: 1`. Ends r. */
void net_oai_error_reply(struct net_req *r, int status, const char *param, const char *msg);

/* Reason phrase of an HTTP status ("OK", "Too Many Requests", ...). */
const char *net_status_reason(int status);

#endif
