/*
 * engine_fetch: fetching a request's http:// and https:// image URLs (TLS verified
 * against --ca-file or the system's CAs, or not at all with --insecure-tls) before it is queued, as vLLM
 * fetches image URLs itself. All of a request's fetches run at once on the engine's
 * loop (net/ clients, 30 s inactivity timeout, bodies capped at --max-body); when the
 * last one ends, `done` runs from a fresh loop pass (never inside a client callback, so
 * the clients can be freed there). Hosts must be numeric IPv4 or localhost: the
 * emulation has no resolver. Callers: engine.c.
 */
#ifndef ENGINE_FETCH_H
#define ENGINE_FETCH_H

#include "engine/engine_int.h"

/* 0: fetches started, done(q, ok) follows (ok 0: q->chat_err holds the 400);
 * 1: nothing to fetch; -1: refused at once, q->chat_err filled. */
int engine__fetch_start(struct engine__rq *q, void (*done)(struct engine__rq *q, int ok));
/* Drops the fetches of q (client gone, or shutdown); done never runs. */
void engine__fetch_cancel(struct engine__rq *q);

#endif
