/*
 * net_server: HTTP/1.1 server over evhttp: routes, capped bodies, whole and chunked
 * replies, and the close callback that tells a handler its client went away.
 *
 * Why a close callback per connection: evhttp serves one request at a time on a
 * connection, so the connection's close callback stands for the request in flight.
 * When the client closes mid-reply, evhttp detaches the request from the dying
 * connection (it stays ours) and calls that callback; we call the handler's, then
 * end the detached request, which frees it. At a normal end the callback is unset
 * first so a later close of the kept-alive connection never sees a dead request.
 */
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <event2/bufferevent.h>

#include "net/net_int.h"

#define NET_MAX_ROUTES 16

struct net_route {
	const char *method, *path; /* NULL, NULL: fallback */
	net_handler h;
	void *arg;
};

struct net_req {
	struct evhttp_request *ev;
	struct net_server *srv;
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

static void conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct net_req *r = arg;
	struct evhttp_request *ev = r->ev;

	evhttp_connection_set_closecb(evcon, NULL, NULL);
	if (r->on_close)
		r->on_close(r, r->close_arg);
	/* The request was detached from the connection (evhttp_connection_incoming_fail)
	 * when a reply was under way: ending it frees it. */
	if (ev && r->streaming)
		evhttp_send_reply_end(ev);
	else if (ev && !evhttp_request_get_connection(ev))
		evhttp_request_free(ev);
	req_put(r);
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
	struct net_req *r;
	size_t n;
	int i;

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
		reply_plain(ev, 404, "not found\n");
		return;
	}
	r = req_get(s);
	if (!r) {
		reply_plain(ev, 503, "out of memory\n");
		return;
	}
	r->ev = ev;
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
	evhttp_set_timeout(s->http, 120);
	evhttp_set_gencb(s->http, dispatch, s);
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
	struct net_req *r;

	if (!s)
		return;
	evhttp_free(s->http);
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

	if (c && r->on_close)
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
	req_put(r);
	evhttp_send_reply_end(ev);
}

void net_req_on_close(struct net_req *r, net_close_fn fn, void *arg)
{
	struct evhttp_connection *c = evhttp_request_get_connection(r->ev);

	r->on_close = fn;
	r->close_arg = arg;
	if (c)
		evhttp_connection_set_closecb(c, fn ? conn_closed : NULL, fn ? r : NULL);
}
