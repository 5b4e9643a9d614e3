/*
 * engine_fetch: http:// and https:// image URLs, fetched on the loop (see engine_fetch.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_fetch.h"

struct engine__fetch {
	struct engine__rq *q;
	struct engine_image_item *it;
	struct net_client *cl;
	char *buf;
	size_t len, cap;
	int status, err, too_big;
};

static void fetch_body(void *arg, const char *b, size_t n)
{
	struct engine__fetch *f = arg;
	char *p;

	if (f->too_big)
		return;
	if (f->len + n > f->q->eng->cfg.max_body) {
		f->too_big = 1;
		return;
	}
	if (f->len + n > f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 65536;
		while (cap < f->len + n)
			cap *= 2;
		if (!(p = realloc(f->buf, cap))) {
			f->too_big = 1;
			return;
		}
		f->buf = p;
		f->cap = cap;
	}
	memcpy(f->buf + f->len, b, n);
	f->len += n;
}

static void fetch_done(void *arg, int status, int err, const char *reason)
{
	struct engine__fetch *f = arg;
	struct engine__rq *q = f->q;

	f->status = status;
	f->err = err;
	if (!q->fetch_failed) {
		if (err || status != 200 || f->too_big) {
			q->fetch_failed = 1;
			snprintf(q->chat_err.msg, sizeof(q->chat_err.msg),
				 "image_url: cannot fetch %.200s: %s", f->it->url,
				 err ? reason : f->too_big ? "larger than "
					"--max-body" : "status not 200");
			snprintf(q->chat_err.param, sizeof(q->chat_err.param), "image_url");
			q->chat_err.status = 400;
		} else if (engine_chat_image_bytes(f->it, (unsigned char *)f->buf, f->len,
						   &q->eng->perf.model, &q->chat_err)) {
			q->fetch_failed = 1;
		}
	}
	/* the last one ends: continue from a new loop pass, outside this callback */
	if (--q->fetch_left == 0)
		net_timer_start(q->fetch_timer, 0);
}

static const struct net_call_ops fetch_ops = { NULL, fetch_body, fetch_done };

static void release(struct engine__rq *q)
{
	uint32_t i;

	for (i = 0; i < q->n_fetch; i++) {
		net_client_free(q->fetch[i].cl);
		free(q->fetch[i].buf);
	}
	free(q->fetch);
	q->fetch = NULL;
	q->n_fetch = q->fetch_left = 0;
	if (q->fetch_timer)
		net_timer_stop(q->fetch_timer);
}

static void all_done(void *arg)
{
	struct engine__rq *q = arg;

	release(q);
	q->fetch_cb(q, !q->fetch_failed);
}

/* http[s]://HOST[:PORT]/PATH with a numeric host: 0, or -1; *tls set for https */
static int split_url(const char *url, char *host, size_t hcap, int *port, const char **path,
		     int *tls)
{
	const char *p, *slash, *colon;
	size_t hl;

	*tls = !strncmp(url, "https://", 8);
	if (!*tls && strncmp(url, "http://", 7))
		return -1;
	p = url + (*tls ? 8 : 7);
	slash = strchr(p, '/');
	if (!slash)
		return -1;
	colon = memchr(p, ':', (size_t)(slash - p));
	hl = (size_t)((colon ? colon : slash) - p);
	if (!hl || hl >= hcap)
		return -1;
	memcpy(host, p, hl);
	host[hl] = 0;
	if (!strcmp(host, "localhost"))
		snprintf(host, hcap, "127.0.0.1");
	if (strspn(host, "0123456789.") != strlen(host))
		return -1;
	*port = colon ? atoi(colon + 1) : *tls ? 443 : 80;
	if (*port < 1 || *port > 65535)
		return -1;
	*path = slash;
	return 0;
}

int engine__fetch_start(struct engine__rq *q, void (*done)(struct engine__rq *q, int ok))
{
	struct engine *e = q->eng;
	uint32_t i, n = 0;
	struct ms_error err;

	for (i = 0; i < q->chat.n_images; i++)
		n += q->chat.images[i].url != NULL;
	if (!n)
		return 1;
	q->chat_err.status = 400;
	snprintf(q->chat_err.param, sizeof(q->chat_err.param), "image_url");
	if (!q->fetch_timer && !(q->fetch_timer = net_timer_new(e->loop, all_done, q)))
		goto oom;
	if (!(q->fetch = calloc(n, sizeof(*q->fetch))))
		goto oom;
	q->fetch_cb = done;
	q->fetch_failed = 0;
	for (i = 0; i < q->chat.n_images; i++) {
		struct engine_image_item *it = &q->chat.images[i];
		struct engine__fetch *f = &q->fetch[q->n_fetch];
		char host[64];
		const char *path;
		int port, tls;

		if (!it->url)
			continue;
		if (split_url(it->url, host, sizeof(host), &port, &path, &tls)) {
			snprintf(q->chat_err.msg, sizeof(q->chat_err.msg),
				 "image_url: %.150s: expected http[s]://IPV4[:PORT]/PATH (no resolver "
					"here)", it->url);
			release(q);
			return -1;
		}
		f->q = q;
		f->it = it;
		if (tls ? net_client_new_tls(&f->cl, e->loop, host, port, 30, e->tls, &err)
			: net_client_new(&f->cl, e->loop, host, port, 30, &err))
			goto oom_release;
		q->n_fetch++;
		if (net_client_get(f->cl, path, &fetch_ops, f, &err))
			goto oom_release;
		q->fetch_left++;
	}
	return 0;
oom_release:
	release(q);
oom:
	snprintf(q->chat_err.msg, sizeof(q->chat_err.msg), "image_url: cannot start a fetch (out "
		"of memory or sockets)");
	return -1;
}

void engine__fetch_cancel(struct engine__rq *q)
{
	release(q);
}
