/*
 * net: a server and clients on one loop over loopback (port 0, read back): routes,
 * whole and chunked replies, the body cap, the close callback of a client that goes
 * away mid-stream, client errors, and the SSE splitter on bytes cut anywhere.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"

struct ctx {
	struct net_loop *loop;
	struct net_server *srv;
	struct net_timer *tick;
	struct net_req *stream;  /* the streaming request, while open */
	int ticks, closed, body_len_seen, too_large_seen;
	/* client side */
	int status, err, done;
	char got[120000];
	size_t got_len;
	char hdr[64];
	size_t stop_at;
};

static void h_echo(struct net_req *r, void *arg)
{
	struct ctx *c = arg;
	size_t n;
	const char *b = net_req_body(r, &n);
	const char *id = net_req_header(r, "x-request-id");

	c->too_large_seen = net_req_body_too_large(r);
	c->body_len_seen = (int)n;
	if (c->too_large_seen) {
		net_req_reply(r, 413, "application/json", "{\"big\":1}", 9);
		return;
	}
	if (id)
		net_req_add_header(r, "x-request-id", id);
	net_req_reply(r, 200, "text/plain", b, n);
}

static void tick(void *arg)
{
	struct ctx *c = arg;
	char line[32];
	int n;

	if (!c->stream)
		return;
	n = snprintf(line, sizeof(line), "data: %d\n\n", c->ticks);
	net_req_stream_write(c->stream, line, (size_t)n);
	if (++c->ticks == 5) {
		net_req_stream_write(c->stream, "data: [DONE]\n\n", 14);
		net_req_stream_end(c->stream);
		c->stream = NULL;
		return;
	}
	net_timer_start(c->tick, 0.002);
}

static void on_close(struct net_req *r, void *arg)
{
	struct ctx *c = arg;

	assert_ptr_equal(r, c->stream);
	c->stream = NULL;
	c->closed++;
	net_loop_stop(c->loop);
}

static void h_stream(struct net_req *r, void *arg)
{
	struct ctx *c = arg;

	c->stream = r;
	c->ticks = 0;
	net_req_on_close(r, on_close, c);
	net_req_stream_start(r, 200, "text/event-stream");
	net_timer_start(c->tick, 0.002);
}

/* One chunk larger than eight evbuffer extents: the client must hand all of it over. */
static void h_big(struct net_req *r, void *arg)
{
	static char big[100000];

	(void)arg;
	memset(big, 'b', sizeof(big));
	net_req_stream_start(r, 200, "text/plain");
	net_req_stream_write(r, big, sizeof(big));
	net_req_stream_end(r);
}

static void h_fallback(struct net_req *r, void *arg)
{
	(void)arg;
	net_req_reply(r, 404, "application/json", "{\"nf\":1}", 8);
}

static void on_head(void *arg, int status, struct net_client *cl)
{
	struct ctx *c = arg;
	const char *h = net_client_header(cl, "x-request-id");

	c->status = status;
	snprintf(c->hdr, sizeof(c->hdr), "%s", h ? h : "");
}

static void on_body(void *arg, const char *buf, size_t len)
{
	struct ctx *c = arg;

	if (c->got_len + len < sizeof(c->got)) {
		memcpy(c->got + c->got_len, buf, len);
		c->got_len += len;
	}
	if (c->stop_at && c->got_len >= c->stop_at)
		net_loop_stop(c->loop);
}

static void on_done(void *arg, int status, int err, const char *reason)
{
	struct ctx *c = arg;

	(void)reason;
	c->status = status;
	c->err = err;
	c->done++;
	net_loop_stop(c->loop);
}

static const struct net_call_ops ops = { on_head, on_body, on_done };

static void setup_ctx(struct ctx *c)
{
	struct ms_error err;

	memset(c, 0, sizeof(*c));
	assert_int_equal(net_loop_new(&c->loop, &err), 0);
	assert_int_equal(net_server_new(&c->srv, c->loop, "127.0.0.1", 0, 1000, &err), 0);
	assert_true(net_server_port(c->srv) > 0);
	assert_int_equal(net_server_route(c->srv, "POST", "/echo", h_echo, c, &err), 0);
	assert_int_equal(net_server_route(c->srv, "GET", "/stream", h_stream, c, &err), 0);
	assert_int_equal(net_server_route(c->srv, "GET", "/big", h_big, c, &err), 0);
	assert_int_equal(net_server_route(c->srv, NULL, NULL, h_fallback, c, &err), 0);
	c->tick = net_timer_new(c->loop, tick, c);
	assert_non_null(c->tick);
}

static void teardown_ctx(struct ctx *c)
{
	net_timer_free(c->tick);
	net_server_free(c->srv);
	net_loop_free(c->loop);
}

static void run_call(struct ctx *c)
{
	double t0 = net_now();

	c->done = 0;
	c->got_len = 0;
	net_loop_run(c->loop);
	assert_true(net_now() - t0 < 10);
}

static void test_echo_and_routes(void **state)
{
	struct ctx c;
	struct net_client *cl;
	struct ms_error err;
	const char *hdrs[] = { "x-request-id", "abc-1", NULL };
	char big[3000];

	(void)state;
	setup_ctx(&c);
	assert_int_equal(net_client_new(&cl, c.loop, "127.0.0.1", net_server_port(c.srv), 5, &err), 0);
	assert_int_equal(net_client_post(cl, "/echo?x=1", "text/plain", "hello", 5, hdrs, &ops, &c, &err), 0);
	assert_true(net_client_busy(cl));
	assert_int_equal(net_client_post(cl, "/echo", NULL, "x", 1, NULL, &ops, &c, &err), -MS_EINVAL);
	run_call(&c);
	assert_int_equal(c.done, 1);
	assert_int_equal(c.err, 0);
	assert_int_equal(c.status, 200);
	assert_int_equal(c.got_len, 5);
	assert_memory_equal(c.got, "hello", 5);
	assert_string_equal(c.hdr, "abc-1");
	/* the same kept-alive connection again: wrong method goes to the fallback */
	assert_int_equal(net_client_get(cl, "/echo", &ops, &c, &err), 0);
	run_call(&c);
	assert_int_equal(c.status, 404);
	assert_memory_equal(c.got, "{\"nf\":1}", 8);
	/* body over the cap: the handler sees it flagged and answers in its own format */
	memset(big, 'a', sizeof(big));
	assert_int_equal(net_client_post(cl, "/echo", "text/plain", big, sizeof(big), NULL, &ops, &c, &err), 0);
	run_call(&c);
	assert_int_equal(c.status, 413);
	assert_int_equal(c.too_large_seen, 1);
	assert_int_equal(c.body_len_seen, 3000);
	net_client_free(cl);
	teardown_ctx(&c);
}

static void test_stream_and_close(void **state)
{
	struct ctx c;
	struct net_client *cl;
	struct ms_error err;

	(void)state;
	setup_ctx(&c);
	assert_int_equal(net_client_new(&cl, c.loop, "127.0.0.1", net_server_port(c.srv), 5, &err), 0);
	assert_int_equal(net_client_get(cl, "/stream", &ops, &c, &err), 0);
	run_call(&c);
	assert_int_equal(c.status, 200);
	c.got[c.got_len] = 0;
	assert_string_equal(c.got, "data: 0\n\ndata: 1\n\ndata: 2\n\ndata: 3\n\ndata: 4\n\ndata: [DONE]\n\n");
	assert_int_equal(c.closed, 0);
	assert_int_equal(net_client_get(cl, "/big", &ops, &c, &err), 0);
	run_call(&c);
	assert_int_equal(c.err, 0);
	assert_int_equal(c.got_len, 100000);
	/* a client that goes away mid-stream: the handler hears of it at once */
	c.stop_at = 18; /* two events read */
	assert_int_equal(net_client_get(cl, "/stream", &ops, &c, &err), 0);
	run_call(&c);
	assert_int_equal(c.done, 0);
	assert_true(c.ticks >= 2 && c.ticks < 5);
	net_client_free(cl);
	{
		double t0 = net_now();
		while (!c.closed && net_now() - t0 < 5)
			net_loop_run(c.loop);
	}
	assert_int_equal(c.closed, 1);
	assert_null(c.stream);
	teardown_ctx(&c);
}

static void test_client_errors(void **state)
{
	struct ctx c;
	struct net_client *cl;
	struct ms_error err;
	int port;

	(void)state;
	setup_ctx(&c);
	port = net_server_port(c.srv);
	net_server_free(c.srv); /* nothing listens there any more */
	c.srv = NULL;
	assert_int_equal(net_client_new(&cl, c.loop, "127.0.0.1", port, 2, &err), 0);
	assert_int_equal(net_client_get(cl, "/x", &ops, &c, &err), 0);
	run_call(&c);
	assert_int_equal(c.done, 1);
	assert_int_equal(c.err, -MS_ENET);
	assert_int_equal(c.status, 0);
	net_client_free(cl);
	net_timer_free(c.tick);
	net_loop_free(c.loop);
}

struct sse_got {
	char buf[512];
	size_t len;
	int overflows;
};

static void sse_cb(void *arg, const char *d, size_t n)
{
	struct sse_got *g = arg;

	if (!d) {
		g->overflows++;
		return;
	}
	memcpy(g->buf + g->len, d, n);
	g->len += n;
	g->buf[g->len++] = '|';
}

static void test_sse_split(void **state)
{
	static const char in[] = "data: {\"a\":1}\n\n: comment\r\ndata:x\r\n\nevent: e\ndata: [DONE]\n\n";
	size_t cut;

	(void)state;
	for (cut = 0; cut < sizeof(in) - 1; cut++) {
		struct net_sse s;
		struct sse_got g = { .len = 0 };
		size_t i;

		assert_int_equal(net_sse_init(&s, 64, sse_cb, &g), 0);
		/* one byte at a time up to cut, then the rest at once */
		for (i = 0; i < cut; i++)
			net_sse_feed(&s, in + i, 1);
		net_sse_feed(&s, in + cut, sizeof(in) - 1 - cut);
		g.buf[g.len] = 0;
		assert_string_equal(g.buf, "{\"a\":1}|x|[DONE]|");
		net_sse_release(&s);
	}
	{
		struct net_sse s;
		struct sse_got g = { .len = 0 };
		char longl[200];

		memset(longl, 'z', sizeof(longl));
		assert_int_equal(net_sse_init(&s, 16, sse_cb, &g), 0);
		net_sse_feed(&s, "data: ab", 8);
		net_sse_feed(&s, longl, sizeof(longl));
		net_sse_feed(&s, "\ndata: ok\n", 10);
		g.buf[g.len] = 0;
		assert_int_equal(g.overflows, 1);
		assert_string_equal(g.buf, "ok|");
		net_sse_release(&s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_echo_and_routes),
		cmocka_unit_test(test_stream_and_close),
		cmocka_unit_test(test_client_errors),
		cmocka_unit_test(test_sse_split),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
