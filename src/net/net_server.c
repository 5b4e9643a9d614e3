/*
 * net_server: HTTP/1.1 server over evhttp: routes, capped bodies, whole and chunked
 * replies, the close callback that tells a handler its client went away, and the
 * front-end guards: read deadlines, a connection cap, optional TLS.
 *
 * Why a close callback per connection: evhttp serves one request at a time on a
 * connection, so the connection's close callback stands for the request in flight.
 * When the client closes mid-reply, evhttp detaches the request from the dying
 * connection (it stays ours) and calls that callback; we call the handler's, then
 * end the detached request, which frees it. At a normal end the callback is unset
 * first so a later close of the kept-alive connection never sees a dead request.
 *
 * Why our own bufferevent per connection (evhttp_set_bevcb): libevent 2.1's evhttp
 * timeout is an inactivity timeout, which a client sending one byte a second resets
 * forever (slowloris), and evhttp has no connection cap. Making the bufferevent gives
 * us each connection at accept; a callback on its input buffer sees every byte before
 * evhttp parses it (so we find the end of a request's head), and evhttp's close
 * callback, set once the accept's loop pass is over, tells us when it goes. A request's
 * head must then arrive within header_timeout_s of its first byte (of the accept, for
 * a connection's first request) and its body within body_timeout_s after the head, or
 * the connection is closed. TLS is the same with bufferevent_openssl (the deadline
 * counts the handshake). A bufferevent filter would see the bytes too, but evhttp
 * misses its write-done events and stalls kept-alive connections (libevent 2.1.12).
 */
#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <event2/bufferevent.h>

#include "net/net_int.h"

#define NET_MAX_ROUTES 16
#define NET_CONN_BUCKETS 1024
#define NET_MAX_HEADERS_SIZE (64 * 1024)

/* Where a connection is in its current request; only HEAD and BODY have a deadline. */
enum conn_state { CONN_IDLE, CONN_HEAD, CONN_BODY, CONN_BUSY, CONN_REFUSED, CONN_FLOOD };

struct net__conn {
	struct net_server *srv;
	struct evhttp_connection *evcon; /* NULL until set up (the accept's loop pass) */
	struct bufferevent *bev;
	struct evbuffer_cb_entry *watch; /* on the input buffer: the head scan */
	struct event *deadline;    /* also the zero timeout that sets the connection up */
	struct net_req *req;       /* the request in flight with a close callback, or NULL */
	enum conn_state state;
	int nl;                    /* head scan: 0 line start, 1 in a line, 2 after a line's LF */
	struct net__conn *next, *prev, *hnext;
};

struct net_route {
	const char *method, *path; /* NULL, NULL: fallback */
	net_handler h;
	void *arg;
};

struct net_req {
	struct evhttp_request *ev;
	struct net_server *srv;
	struct net__conn *conn;    /* NULL when evhttp made the connection (out of memory) */
	net_close_fn on_close;
	void *close_arg;
	char path[256];
	int too_large;
	int streaming;
	struct net_req *next_free;
};

struct net_server {
	struct net_loop *loop;
	struct evhttp *http;
	struct evhttp_bound_socket *sock;
	int port;
	size_t max_body;
	struct net_route routes[NET_MAX_ROUTES];
	int n_routes;
	struct net_req *free_reqs; /* ended requests, reused: no malloc per request */
	struct net_server_limits lim;
	struct net_server_stats st;
	struct net__conn *conns;   /* every open connection (and refused ones until closed) */
	struct net__conn *bucket[NET_CONN_BUCKETS]; /* by bufferevent, for dispatch */
	SSL_CTX *tls;
};

static struct net_req *req_get(struct net_server *s)
{
	struct net_req *r = s->free_reqs;

	if (r)
		s->free_reqs = r->next_free;
	else if (!(r = malloc(sizeof(*r))))
		return NULL;
	memset(r, 0, sizeof(*r));
	r->srv = s;
	return r;
}

static void req_put(struct net_req *r)
{
	struct net_server *s = r->srv;

	r->ev = NULL;
	r->next_free = s->free_reqs;
	s->free_reqs = r;
}

/* ---- connections: deadlines, cap, TLS ---- */

static size_t conn_hash(const struct evhttp_connection *e)
{
	return ((uintptr_t)e >> 4) % NET_CONN_BUCKETS;
}

static struct net__conn *conn_of(struct net_server *s, struct evhttp_request *ev)
{
	struct evhttp_connection *e = evhttp_request_get_connection(ev);
	struct net__conn *c;

	for (c = e ? s->bucket[conn_hash(e)] : NULL; c; c = c->hnext)
		if (c->evcon == e)
			return c;
	return NULL;
}

/* (Re)arms the connection's deadline after_s from now; 0: none. */
static void conn_arm(struct net__conn *c, double after_s)
{
	struct timeval tv;

	if (after_s <= 0) {
		event_del(c->deadline);
		return;
	}
	tv.tv_sec = (time_t)after_s;
	tv.tv_usec = (suseconds_t)((after_s - (double)tv.tv_sec) * 1e6);
	event_add(c->deadline, &tv);
}

/* Ends the request in flight on a connection that went away (the handler's close
 * callback first). evhttp detached the request from the dying connection
 * (evhttp_connection_incoming_fail) when a reply was under way: ending it frees it. */
static void req_gone(struct net_req *r)
{
	struct evhttp_request *ev = r->ev;

	if (r->on_close)
		r->on_close(r, r->close_arg);
	if (ev && r->streaming)
		evhttp_send_reply_end(ev);
	else if (ev && !evhttp_request_get_connection(ev))
		evhttp_request_free(ev);
	req_put(r);
}

static void conn_unlink(struct net__conn *c)
{
	struct net_server *s = c->srv;
	struct net__conn **h;

	if (c->evcon) {
		for (h = &s->bucket[conn_hash(c->evcon)]; *h && *h != c; h = &(*h)->hnext)
			;
		if (*h)
			*h = c->hnext;
	}
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (c->state != CONN_REFUSED)
		s->st.open--;
	evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->watch);
	event_free(c->deadline);
	free(c);
}

/* evhttp's close callback of every tracked connection: it is going away (evhttp
 * frees its bufferevent right after). */
static void conn_gone(struct evhttp_connection *evcon, void *arg)
{
	struct net__conn *c = arg;

	evhttp_connection_set_closecb(evcon, NULL, NULL);
	if (c->req)
		req_gone(c->req);
	conn_unlink(c);
}

static void conn_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct net__conn *c = arg;
	struct net_server *s = c->srv;
	void *evcon = NULL;

	(void)fd;
	(void)what;
	if (!c->evcon) {
		/* the accept's loop pass is over: evhttp has made the connection (and has
		 * read nothing yet), so its close callback can be ours from now on */
		bufferevent_getcb(c->bev, NULL, NULL, NULL, &evcon);
		if (!evcon) { /* evhttp could not set it up and freed it */
			conn_unlink(c);
			return;
		}
		c->evcon = evcon;
		c->hnext = s->bucket[conn_hash(c->evcon)];
		s->bucket[conn_hash(c->evcon)] = c;
		evhttp_connection_set_closecb(c->evcon, conn_gone, c);
		if (c->state != CONN_REFUSED) {
			conn_arm(c, s->lim.header_timeout_s);
			return;
		}
	} else if (c->state == CONN_HEAD) {
		s->st.header_timeouts++;
	} else if (c->state == CONN_BODY) {
		s->st.body_timeouts++;
	} else if (c->state == CONN_FLOOD) {
		s->st.floods++;
	} else {
		return;
	}
	/* evhttp owns the connection: freeing it calls conn_gone, which frees c */
	evhttp_connection_free(c->evcon);
}

static void head_done(struct net__conn *c)
{
	c->state = CONN_BODY;
	if (c->evcon)
		conn_arm(c, c->srv->lim.body_timeout_s);
}

/* Looks for the empty line that ends a request's head (CRLF or bare LF; blank lines
 * before the request line do not count) in buf's bytes from offset `from`. */
static void conn_scan(struct net__conn *c, struct evbuffer *buf, size_t from)
{
	struct evbuffer_iovec v[8];
	struct evbuffer_ptr at;
	size_t n = evbuffer_get_length(buf);

	while (from < n && c->state == CONN_HEAD) {
		int k, nv;
		if (evbuffer_ptr_set(buf, &at, from, EVBUFFER_PTR_SET) < 0)
			break;
		nv = evbuffer_peek(buf, (ev_ssize_t)(n - from), &at, v, 8);
		if (nv <= 0)
			break;
		for (k = 0; k < nv && k < 8 && c->state == CONN_HEAD; k++) {
			const char *p = v[k].iov_base;
			size_t i, len = v[k].iov_len < n - from ? v[k].iov_len : n - from;
			for (i = 0; i < len; i++) {
				if (p[i] == '\n') {
					if (c->nl == 2) {
						head_done(c);
						break;
					}
					c->nl = c->nl ? 2 : 0;
				} else if (p[i] != '\r') {
					c->nl = 1; /* inside a line of the head */
				}
			}
			from += len;
		}
	}
}

/* A new request starts on a kept-alive connection: its head deadline runs from now. */
static void head_start(struct net__conn *c)
{
	c->state = CONN_HEAD;
	c->nl = 0;
	if (c->evcon)
		conn_arm(c, c->srv->lim.header_timeout_s);
}

/* Watches the bytes evhttp is given (the input buffer's callback runs at once on
 * each read, before evhttp parses them): only the new ones are scanned. */
static void conn_watch(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct net__conn *c = arg;
	size_t len;

	if (!info->n_added)
		return;
	len = evbuffer_get_length(buf);
	/* While a reply is written evhttp reads on (to see a close) without a limit: a
	 * client that keeps sending then would grow this buffer forever. Closed from the
	 * timer, not from inside the bufferevent's read. */
	if (c->state == CONN_BUSY && len > NET_MAX_HEADERS_SIZE + c->srv->max_body && c->evcon) {
		c->state = CONN_FLOOD;
		event_active(c->deadline, EV_TIMEOUT, 1);
		return;
	}
	if (c->state == CONN_IDLE)
		head_start(c);
	if (c->state != CONN_HEAD)
		return;
	conn_scan(c, buf, len >= info->n_added ? len - info->n_added : 0);
}

/* The request was dispatched: no deadline while the handler works on it. */
static void conn_busy(struct net__conn *c)
{
	if (!c)
		return;
	c->state = CONN_BUSY;
	event_del(c->deadline);
}

/* Its reply is out: idle (evhttp's keep-alive timeout applies), or, when the client
 * already sent more (pipelining), the next head's deadline starts now. */
static void conn_idle(struct net__conn *c)
{
	struct evbuffer *in;

	if (!c || c->state != CONN_BUSY)
		return;
	c->state = CONN_IDLE;
	c->req = NULL;
	in = bufferevent_get_input(c->bev);
	if (evbuffer_get_length(in)) {
		head_start(c);
		conn_scan(c, in, 0);
	}
}

/* evhttp's bevcb: the bufferevent of each accepted connection (no fd yet: evhttp sets
 * it). evhttp makes the connection right after this returns, so the rest of the
 * set-up (close callback, deadline) waits for a zero timeout in the same loop pass;
 * above the cap that timeout closes it instead, before anything is read. Returning
 * NULL (out of memory) makes evhttp use a plain bufferevent: served, untracked. */
static struct bufferevent *conn_accept(struct event_base *base, void *arg)
{
	struct net_server *s = arg;
	struct net__conn *c = calloc(1, sizeof(*c));
	int refuse = s->lim.max_conns && s->st.open >= s->lim.max_conns;

	if (!c)
		return NULL;
	if (s->tls && !refuse) {
		SSL *ssl = SSL_new(s->tls);
		c->bev = ssl ? bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
							      BEV_OPT_CLOSE_ON_FREE)
			     : NULL;
		if (!c->bev)
			SSL_free(ssl);
		else /* clients that close without close_notify are the norm */
			bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	} else {
		c->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	}
	c->deadline = c->bev ? evtimer_new(base, conn_deadline, c) : NULL;
	c->watch = c->deadline ? evbuffer_add_cb(bufferevent_get_input(c->bev), conn_watch, c)
			       : NULL;
	if (!c->watch) {
		if (c->deadline)
			event_free(c->deadline);
		if (c->bev)
			bufferevent_free(c->bev);
		free(c);
		return NULL;
	}
	c->srv = s;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->st.accepted++;
	if (refuse) {
		c->state = CONN_REFUSED;
		s->st.refused++;
	} else {
		s->st.open++;
		c->state = CONN_HEAD;
	}
	event_active(c->deadline, EV_TIMEOUT, 1);
	return c->bev;
}

/* The close callback of a request on an untracked connection (see conn_accept). */
static void conn_closed(struct evhttp_connection *evcon, void *arg)
{
	evhttp_connection_set_closecb(evcon, NULL, NULL);
	req_gone(arg);
}

static void reply_plain(struct evhttp_request *ev, int status, const char *msg)
{
	struct evbuffer *out = evhttp_request_get_output_buffer(ev);

	evhttp_add_header(evhttp_request_get_output_headers(ev), "Content-Type", "text/plain");
	evbuffer_add(out, msg, strlen(msg));
	evhttp_send_reply(ev, status, net_status_reason(status), NULL);
}

static const char *method_name(enum evhttp_cmd_type t)
{
	switch (t) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_POST: return "POST";
	case EVHTTP_REQ_HEAD: return "HEAD";
	case EVHTTP_REQ_PUT: return "PUT";
	case EVHTTP_REQ_DELETE: return "DELETE";
	case EVHTTP_REQ_OPTIONS: return "OPTIONS";
	default: return "OTHER";
	}
}

static void dispatch(struct evhttp_request *ev, void *arg)
{
	struct net_server *s = arg;
	const char *uri = evhttp_request_get_uri(ev), *q;
	const char *m = method_name(evhttp_request_get_command(ev));
	const struct net_route *fallback = NULL, *hit = NULL;
	struct net__conn *c = conn_of(s, ev);
	struct net_req *r;
	size_t n;
	int i;

	conn_busy(c);

	q = strchr(uri, '?');
	n = q ? (size_t)(q - uri) : strlen(uri);
	for (i = 0; i < s->n_routes; i++) {
		const struct net_route *rt = &s->routes[i];
		if (!rt->path) {
			fallback = rt;
			continue;
		}
		if (strlen(rt->path) == n && !memcmp(rt->path, uri, n) && !strcmp(rt->method, m)) {
			hit = rt;
			break;
		}
	}
	if (!hit)
		hit = fallback;
	if (!hit) {
		conn_idle(c);
		reply_plain(ev, 404, "not found\n");
		return;
	}
	r = req_get(s);
	if (!r) {
		conn_idle(c);
		reply_plain(ev, 503, "out of memory\n");
		return;
	}
	r->ev = ev;
	r->conn = c;
	if (n >= sizeof(r->path))
		n = sizeof(r->path) - 1;
	memcpy(r->path, uri, n);
	r->path[n] = 0;
	r->too_large = evbuffer_get_length(evhttp_request_get_input_buffer(ev)) > s->max_body;
	hit->h(r, hit->arg);
}

/* Every accepted connection gets TCP_NODELAY: a stream writes small chunks one
 * iteration apart, and Nagle's algorithm against the client's delayed ACK would hold
 * each for up to 40 ms. Set when a stream starts (a cheap call, harmless when
 * repeated on a kept-alive connection). */
static void set_nodelay(struct evhttp_request *ev)
{
	struct evhttp_connection *c = evhttp_request_get_connection(ev);
	struct bufferevent *b = c ? evhttp_connection_get_bufferevent(c) : NULL;
	int one = 1;

	if (b)
		setsockopt(bufferevent_getfd(b), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

int net_server_new(struct net_server **out, struct net_loop *l, const char *host, int port,
		   size_t max_body, struct ms_error *err)
{
	struct net_server *s = calloc(1, sizeof(*s));
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	evutil_socket_t fd;

	*out = NULL;
	if (!s)
		return ms_error_set(err, MS_ENOMEM, "server: out of memory");
	s->loop = l;
	s->max_body = max_body;
	s->http = evhttp_new(l->base);
	if (!s->http) {
		free(s);
		return ms_error_set(err, MS_ENET, "server: evhttp_new failed");
	}
	evhttp_set_max_body_size(s->http, (ev_ssize_t)(max_body * 4 + (1u << 20)));
	evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD);
	evhttp_set_max_headers_size(s->http, NET_MAX_HEADERS_SIZE);
	evhttp_set_gencb(s->http, dispatch, s);
	evhttp_set_bevcb(s->http, conn_accept, s);
	net_server_limits_default(&s->lim);
	net_server_set_limits(s, &s->lim);
	s->sock = evhttp_bind_socket_with_handle(s->http, host, (ev_uint16_t)port);
	if (!s->sock) {
		evhttp_free(s->http);
		free(s);
		return ms_error_set(err, MS_ENET, "cannot listen on %s:%d", host, port);
	}
	fd = evhttp_bound_socket_get_fd(s->sock);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		s->port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
						   : ntohs(((struct sockaddr_in *)&ss)->sin_port);
	*out = s;
	return 0;
}

int net_server_port(const struct net_server *s)
{
	return s->port;
}

void net_server_limits_default(struct net_server_limits *l)
{
	l->header_timeout_s = NET_HEADER_TIMEOUT_S;
	l->body_timeout_s = NET_BODY_TIMEOUT_S;
	l->idle_timeout_s = NET_IDLE_TIMEOUT_S;
	l->max_conns = NET_MAX_CONNS;
}

void net_server_set_limits(struct net_server *s, const struct net_server_limits *l)
{
	struct timeval tv;

	s->lim = *l;
	tv.tv_sec = (time_t)l->idle_timeout_s;
	tv.tv_usec = (suseconds_t)((l->idle_timeout_s - (double)tv.tv_sec) * 1e6);
	evhttp_set_timeout_tv(s->http, l->idle_timeout_s > 0 ? &tv : NULL);
}

void net_server_get_stats(const struct net_server *s, struct net_server_stats *st)
{
	*st = s->st;
}

/* The first error on OpenSSL's queue as text (its queue is per thread: cleared). */
static const char *tls_reason(void)
{
	unsigned long e = ERR_get_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	return r ? r : "unknown error";
}

int net_server_tls(struct net_server *s, const char *cert, const char *key,
		   struct ms_error *err)
{
	SSL_CTX *ctx;
	int rc;

	ERR_clear_error();
	ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx)
		return ms_error_set(err, MS_ENOMEM, "tls: %s", tls_reason());
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		rc = ms_error_set(err, MS_EIO, "%s: cannot load the certificate chain: %s", cert,
			     tls_reason());
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		rc = ms_error_set(err, MS_EIO, "%s: cannot load the private key: %s", key, tls_reason());
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		rc = ms_error_set(err, MS_EINVAL, "%s: the key does not match the certificate %s: %s",
			     key, cert, tls_reason());
		goto fail;
	}
	if (s->tls)
		SSL_CTX_free(s->tls);
	s->tls = ctx;
	return 0;
fail:
	SSL_CTX_free(ctx);
	return rc;
}

int net_server_route(struct net_server *s, const char *method, const char *path,
		     net_handler h, void *arg, struct ms_error *err)
{
	if (s->n_routes >= NET_MAX_ROUTES)
		return ms_error_set(err, MS_ERANGE, "server: more than %d routes", NET_MAX_ROUTES);
	if (!path != !method)
		return ms_error_set(err, MS_EINVAL, "server: route needs both method and path");
	s->routes[s->n_routes++] = (struct net_route){ method, path, h, arg };
	return 0;
}

void net_server_free(struct net_server *s)
{
	struct net__conn *c, *next;
	struct net_req *r;

	if (!s)
		return;
	/* connections not set up yet have no close callback: dropped here, the others
	 * by conn_gone when evhttp_free frees them */
	for (c = s->conns; c; c = next) {
		next = c->next;
		if (!c->evcon)
			conn_unlink(c);
	}
	evhttp_free(s->http);
	if (s->tls)
		SSL_CTX_free(s->tls);
	while ((r = s->free_reqs)) {
		s->free_reqs = r->next_free;
		free(r);
	}
	free(s);
}

const char *net_req_method(const struct net_req *r)
{
	return method_name(evhttp_request_get_command(r->ev));
}

const char *net_req_path(const struct net_req *r)
{
	return r->path;
}

const char *net_req_header(const struct net_req *r, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(r->ev), name);
}

const char *net_req_body(struct net_req *r, size_t *len)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(r->ev);
	const char *p;

	*len = evbuffer_get_length(in);
	p = (const char *)evbuffer_pullup(in, -1);
	return p ? p : "";
}

int net_req_body_too_large(const struct net_req *r)
{
	return r->too_large;
}

void net_req_add_header(struct net_req *r, const char *name, const char *value)
{
	evhttp_add_header(evhttp_request_get_output_headers(r->ev), name, value);
}

static void detach(struct net_req *r)
{
	struct evhttp_connection *c = evhttp_request_get_connection(r->ev);

	if (r->conn)
		r->conn->req = NULL;
	else if (c && r->on_close)
		evhttp_connection_set_closecb(c, NULL, NULL);
}

void net_req_reply(struct net_req *r, int status, const char *content_type, const char *body,
		   size_t len)
{
	struct evhttp_request *ev = r->ev;

	detach(r);
	if (content_type)
		evhttp_add_header(evhttp_request_get_output_headers(ev), "Content-Type",
				  content_type);
	if (len)
		evbuffer_add(evhttp_request_get_output_buffer(ev), body, len);
	conn_idle(r->conn);
	req_put(r);
	evhttp_send_reply(ev, status, net_status_reason(status), NULL);
}

void net_req_stream_start(struct net_req *r, int status, const char *content_type)
{
	if (content_type)
		evhttp_add_header(evhttp_request_get_output_headers(r->ev), "Content-Type",
				  content_type);
	r->streaming = 1;
	set_nodelay(r->ev);
	evhttp_send_reply_start(r->ev, status, net_status_reason(status));
}

void net_req_stream_write(struct net_req *r, const char *data, size_t len)
{
	struct evbuffer *b = evhttp_request_get_output_buffer(r->ev);

	/* evhttp frames and moves the output buffer's contents to the connection */
	evbuffer_add(b, data, len);
	evhttp_send_reply_chunk(r->ev, b);
}

void net_req_stream_end(struct net_req *r)
{
	struct evhttp_request *ev = r->ev;

	detach(r);
	conn_idle(r->conn);
	req_put(r);
	evhttp_send_reply_end(ev);
}

void net_req_on_close(struct net_req *r, net_close_fn fn, void *arg)
{
	struct evhttp_connection *c = evhttp_request_get_connection(r->ev);

	r->on_close = fn;
	r->close_arg = arg;
	if (r->conn)
		r->conn->req = fn ? r : NULL;
	else if (c)
		evhttp_connection_set_closecb(c, fn ? conn_closed : NULL, fn ? r : NULL);
}
