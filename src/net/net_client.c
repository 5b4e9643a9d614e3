/*
 * net_client: one keep-alive HTTP/1.1 client connection over evhttp, for a load
 * generator that holds thousands of them on one loop. The body is handed over as it
 * arrives (evhttp's chunked callback also serves Content-Length bodies), so a
 * streamed reply's tokens are timed when they are read, not when the reply ends.
 * https goes through the same evhttp connection over an OpenSSL bufferevent
 * (bufferevent_openssl), so TLS changes nothing above the connection.
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "net/net_int.h"

struct net_client {
	struct net_loop *loop;
	struct evhttp_connection *conn;
	struct evhttp_request *req; /* call in flight, NULL when idle */
	const struct net_call_ops *ops;
	void *arg;
	int status;
	int error; /* enum evhttp_request_error + 1, 0 = none */
	int in_done;
	int tls;             /* over TLS: a failed call asks OpenSSL why */
	char host[64];
	char reason[160];    /* the TLS reason of the last failed call */
};

struct net_tls_client {
	SSL_CTX *ctx;
	int insecure;
};

static const char *err_reason(int e)
{
	switch (e - 1) {
	case EVREQ_HTTP_TIMEOUT: return "timeout";
	case EVREQ_HTTP_EOF: return "connection closed";
	case EVREQ_HTTP_INVALID_HEADER: return "invalid response header";
	case EVREQ_HTTP_BUFFER_ERROR: return "connection error";
	case EVREQ_HTTP_REQUEST_CANCEL: return "cancelled";
	case EVREQ_HTTP_DATA_TOO_LONG: return "response too long";
	default: return "connection error";
	}
}

static int on_header(struct evhttp_request *req, void *arg)
{
	struct net_client *c = arg;

	c->status = evhttp_request_get_response_code(req);
	if (c->ops->on_head)
		c->ops->on_head(c->arg, c->status, c);
	return 0;
}

static void on_chunk(struct evhttp_request *req, void *arg)
{
	struct net_client *c = arg;
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	struct evbuffer_iovec v[8];
	ev_ssize_t len = (ev_ssize_t)evbuffer_get_length(in);
	int i, n;

	/* with a length, evbuffer_peek tells how many extents hold it (with -1 it only
	 * fills what fits, so a long chunk would be cut at 8 extents) */
	n = evbuffer_peek(in, len, NULL, v, 8);
	if (n > 8) {
		evbuffer_pullup(in, -1);
		n = evbuffer_peek(in, len, NULL, v, 1);
	}
	for (i = 0; i < n && c->ops->on_body; i++)
		c->ops->on_body(c->arg, v[i].iov_base, v[i].iov_len);
	/* evhttp drains the buffer after this callback */
}

static void on_error(enum evhttp_request_error e, void *arg)
{
	struct net_client *c = arg;

	c->error = (int)e + 1;
}

/* OpenSSL's reason for a failed TLS call (a handshake refused, a bad certificate) into
 * c->reason; 0 when OpenSSL has none (a plain connection error). */
static int tls_reason(struct net_client *c)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(c->conn);
	unsigned long e = 0, x;
	const char *r;
	char buf[120];

	while (bev && (x = bufferevent_get_openssl_error(bev)))
		if (!e)
			e = x; /* the first is the cause; the rest follow from it */
	if (!e)
		return 0;
	ERR_error_string_n(e, buf, sizeof(buf));
	r = ERR_reason_error_string(e);
	snprintf(c->reason, sizeof(c->reason), "TLS: %s", r ? r : buf);
	return 1;
}

static void on_done(struct evhttp_request *req, void *arg)
{
	struct net_client *c = arg;
	const struct net_call_ops *ops = c->ops;
	int status = req ? evhttp_request_get_response_code(req) : c->status;
	int err = c->error;
	const char *reason;

	if (!c->req)
		return;
	c->req = NULL;
	c->ops = NULL;
	if (!err && (!req || !status))
		err = EVREQ_HTTP_EOF + 1;
	if (!err && req && evbuffer_get_length(evhttp_request_get_input_buffer(req)))
		on_chunk(req, c);
	if (err && c->tls && tls_reason(c))
		reason = c->reason;
	else
		reason = err ? err_reason(err) : NULL;
	c->in_done = 1;
	ops->on_done(c->arg, status, err ? -MS_ENET : 0, reason);
	c->in_done = 0;
}

/*
 * TCP_NODELAY on the connection's socket (made by evhttp_make_request's connect, or
 * kept alive): a request body longer than one segment leaves a short tail that Nagle's
 * algorithm holds until the server ACKs the full segment before it, and the server
 * delays that ACK by up to 40 ms. Measured: lone bench requests with 4, 8 or 9 images
 * of 896x896 px took ~45 ms longer than the engine's emulated time (body-size
 * dependent), and `profile` wrote that stall into its encode rows. The server side has
 * the same setting (net_server.c). Cheap, and harmless when repeated.
 */
static void set_nodelay(struct net_client *c)
{
	struct bufferevent *b = evhttp_connection_get_bufferevent(c->conn);
	int one = 1;

	if (b && bufferevent_getfd(b) >= 0)
		(void)setsockopt(bufferevent_getfd(b), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* A client on a connection over bev (NULL: a plain socket); bev is freed on failure. */
static int client_make(struct net_client **out, struct net_loop *l, const char *host, int port,
		       double timeout_s, struct bufferevent *bev, struct ms_error *err)
{
	struct net_client *c = calloc(1, sizeof(*c));
	struct timeval tv;

	*out = NULL;
	if (!c) {
		if (bev)
			bufferevent_free(bev);
		return ms_error_set(err, MS_ENOMEM, "client: out of memory");
	}
	c->loop = l;
	snprintf(c->host, sizeof(c->host), "%s", host);
	c->conn = evhttp_connection_base_bufferevent_new(l->base, NULL, bev, host, (ev_uint16_t)port);
	if (!c->conn) {
		if (bev)
			bufferevent_free(bev);
		free(c);
		return ms_error_set(err, MS_ENET, "client: cannot make a connection to %s:%d",
				    host, port);
	}
	tv.tv_sec = (time_t)timeout_s;
	tv.tv_usec = (suseconds_t)((timeout_s - (double)tv.tv_sec) * 1e6);
	evhttp_connection_set_timeout_tv(c->conn, &tv);
	evhttp_connection_set_retries(c->conn, 0);
	*out = c;
	return 0;
}

int net_client_new(struct net_client **out, struct net_loop *l, const char *host, int port,
		   double timeout_s, struct ms_error *err)
{
	return client_make(out, l, host, port, timeout_s, NULL, err);
}

int net_tls_client_new(struct net_tls_client **out, const char *ca_file, int insecure,
		       struct ms_error *err)
{
	struct net_tls_client *t = calloc(1, sizeof(*t));

	*out = NULL;
	if (!t || !(t->ctx = SSL_CTX_new(TLS_client_method()))) {
		free(t);
		return ms_error_set(err, MS_ENOMEM, "tls: cannot make a client context");
	}
	SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
	t->insecure = insecure;
	if (insecure) {
		SSL_CTX_set_verify(t->ctx, SSL_VERIFY_NONE, NULL);
	} else {
		SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
		if (ca_file ? SSL_CTX_load_verify_locations(t->ctx, ca_file, NULL) != 1
			    : SSL_CTX_set_default_verify_paths(t->ctx) != 1) {
			char buf[160];

			ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
			ERR_clear_error();
			SSL_CTX_free(t->ctx);
			free(t);
			return ms_error_set(err, MS_EINVAL, "%s: cannot load the CA certificates: %s",
					    ca_file ? ca_file : "system CA paths", buf);
		}
	}
	*out = t;
	return 0;
}

void net_tls_client_free(struct net_tls_client *t)
{
	if (!t)
		return;
	SSL_CTX_free(t->ctx);
	free(t);
}

/* One TLS session for a connection to host: SNI and the name or IP to verify. */
static SSL *tls_session(struct net_tls_client *t, const char *host)
{
	SSL *ssl = SSL_new(t->ctx);
	int ip = strspn(host, "0123456789.:") == strlen(host);

	if (!ssl)
		return NULL;
	if (!ip)
		SSL_set_tlsext_host_name(ssl, host); /* SNI takes names, never addresses */
	if (!t->insecure &&
	    (ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) != 1
		: SSL_set1_host(ssl, host) != 1)) {
		SSL_free(ssl);
		return NULL;
	}
	return ssl;
}

int net_client_new_tls(struct net_client **out, struct net_loop *l, const char *host, int port,
		       double timeout_s, struct net_tls_client *tls, struct ms_error *err)
{
	struct bufferevent *bev;
	SSL *ssl;
	int rc;

	*out = NULL;
	if (!tls)
		return ms_error_set(err, MS_EINVAL, "client: https without a TLS context");
	if (!(ssl = tls_session(tls, host)))
		return ms_error_set(err, MS_EINVAL, "client: %s: cannot set up TLS for this host", host);
	/* the bufferevent owns the session from here: freeing it frees ssl */
	bev = bufferevent_openssl_socket_new(l->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
					     BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (!bev) {
		SSL_free(ssl);
		return ms_error_set(err, MS_ENOMEM, "client: out of memory");
	}
	/* HTTP/1.1 frames its own bodies: a server closing without close_notify is no error */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	rc = client_make(out, l, host, port, timeout_s, bev, err);
	if (rc == 0)
		(*out)->tls = 1;
	return rc;
}

void net_client_free(struct net_client *c)
{
	if (!c)
		return;
	if (c->in_done)
		MS_BUG("net_client_free inside the client's own callback");
	/* freeing the connection cancels the call in flight; its callbacks must not run */
	if (c->req) {
		c->ops = NULL;
		c->req = NULL;
	}
	evhttp_connection_free(c->conn);
	free(c);
}

const char *net_client_header(struct net_client *c, const char *name)
{
	if (!c->req)
		return NULL;
	return evhttp_find_header(evhttp_request_get_input_headers(c->req), name);
}

int net_client_busy(const struct net_client *c)
{
	return c->req != NULL;
}

static int start(struct net_client *c, enum evhttp_cmd_type cmd, const char *path,
		 const char *ctype, const char *body, size_t len, const char *const *hdrs,
		 const struct net_call_ops *ops, void *arg, struct ms_error *err)
{
	struct evhttp_request *req;
	struct evkeyvalq *h;
	size_t i;

	if (c->req)
		return ms_error_set(err, MS_EINVAL, "client: a call is already in flight");
	req = evhttp_request_new(on_done, c);
	if (!req)
		return ms_error_set(err, MS_ENOMEM, "client: out of memory");
	evhttp_request_set_header_cb(req, on_header);
	evhttp_request_set_chunked_cb(req, on_chunk);
	evhttp_request_set_error_cb(req, on_error);
	h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Host", c->host);
	if (ctype)
		evhttp_add_header(h, "Content-Type", ctype);
	for (i = 0; hdrs && hdrs[i] && hdrs[i + 1]; i += 2)
		evhttp_add_header(h, hdrs[i], hdrs[i + 1]);
	if (len)
		evbuffer_add(evhttp_request_get_output_buffer(req), body, len);
	c->req = req;
	c->ops = ops;
	c->arg = arg;
	c->status = 0;
	c->error = 0;
	if (evhttp_make_request(c->conn, req, cmd, path) != 0) {
		/* evhttp_make_request frees req on failure */
		c->req = NULL;
		return ms_error_set(err, MS_ENET, "client: cannot send the request");
	}
	set_nodelay(c);
	return 0;
}

int net_client_post(struct net_client *c, const char *path, const char *content_type,
		    const char *body, size_t len, const char *const *extra_headers,
		    const struct net_call_ops *ops, void *arg, struct ms_error *err)
{
	return start(c, EVHTTP_REQ_POST, path, content_type, body, len, extra_headers, ops, arg,
		     err);
}

int net_client_get(struct net_client *c, const char *path, const struct net_call_ops *ops,
		   void *arg, struct ms_error *err)
{
	return start(c, EVHTTP_REQ_GET, path, NULL, NULL, 0, NULL, ops, arg, err);
}
