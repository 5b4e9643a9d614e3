/*
 * loadgen: endpoint parsing, the generated images (real PNGs of the stated size, the
 * size distribution the issue asks for), and a replay against an in-process engine
 * on loopback: every request completes, tokens and prompt lengths follow the trace
 * rows exactly, refusals are counted by status; the client socket has TCP_NODELAY.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/ms_quantile.h"
#include "engine/engine.h"
#include "base/ms_base64.h"
#include "engine/engine_image.h"
#include "loadgen/loadgen.h"
#include "lg_test_util.h"
#include "loadgen/loadgen_img.h"
#include "metrics/metrics.h"
#include "net/net.h"

static void test_endpoint(void **state)
{
	struct loadgen_config c;
	struct ms_error err;

	(void)state;
	loadgen_config_default(&c);
	assert_int_equal(loadgen_endpoint_parse(&c, "http://127.0.0.1:8123", &err), 0);
	assert_string_equal(c.host, "127.0.0.1");
	assert_int_equal(c.port, 8123);
	assert_string_equal(c.path, "/v1/chat/completions");
	assert_int_equal(loadgen_endpoint_parse(&c, "http://localhost:9/x/y", &err), 0);
	assert_string_equal(c.host, "127.0.0.1");
	assert_string_equal(c.path, "/x/y");
	assert_int_equal(loadgen_endpoint_parse(&c, "https://a:1", &err), -MS_EINVAL);
	assert_int_equal(loadgen_endpoint_parse(&c, "http://a:0", &err), -MS_EINVAL);
	assert_int_equal(loadgen_endpoint_parse(&c, "http://:80", &err), -MS_EINVAL);
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void test_images(void **state)
{
	struct loadgen_img_pool p;
	struct ms_error err;
	double side[400];
	size_t i;

	(void)state;
	assert_int_equal(loadgen_img_pool_make(&p, 400, 7, &err), 0);
	for (i = 0; i < p.n; i++) {
		const char *b64 = strchr(p.img[i].url, ',') + 1;
		unsigned char *png;
		size_t n;
		uint32_t w, h;
		/* a real PNG whose header says the size we generated */
		assert_int_equal(ms_base64_decode(b64, strlen(b64), &png, &n, &err), 0);
		assert_int_equal(engine_image_dims(png, n, &w, &h, &err), 0);
		assert_int_equal(w, p.img[i].w);
		assert_int_equal(h, p.img[i].h);
		free(png);
		side[i] = w > h ? w : h;
	}
	qsort(side, 400, sizeof(double), cmp_d);
	/* median about 500 px, P95 above 1000 px */
	assert_true(fabs(ms_quantile(side, 400, 0.50) - 500) < 60);
	assert_true(ms_quantile(side, 400, 0.95) > 1000);
	loadgen_img_pool_release(&p);
}

static pid_t engine_child(int *port)
{
	return engine_child_of(port, ENGINE_ROLE_ALL, 0, 60);
}

static void test_replay(void **state)
{
	struct loadgen_config lc;
	struct loadgen_result res;
	struct trace_set ts;
	struct ms_error err;
	size_t i;
	pid_t pid;

	(void)state;
	loadgen_config_default(&lc);
	pid = engine_child(&lc.port);
	lc.model = "llama-3.2-11b-vision";
	lc.image_pool = 8;
	trace_set_init(&ts);
	/* rows: t, images, ctx, gen */
	assert_int_equal(trace_set_push(&ts, 0.00, 0, 10, 5, &err), 0);
	assert_int_equal(trace_set_push(&ts, 0.01, 2, 300, 1, &err), 0);
	assert_int_equal(trace_set_push(&ts, 0.02, 20, 100, 0, &err), 0); /* 20 x 85 > 100: text 0 */
	assert_int_equal(trace_set_push(&ts, 0.03, 0, 7, 40, &err), 0);
	assert_int_equal(loadgen_run(&ts, &lc, &res, &err), 0);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	assert_int_equal(res.n, 4);
	for (i = 0; i < 4; i++)
		assert_int_equal(res.req[i].fail, LOADGEN_OK);
	assert_int_equal(res.req[0].prompt_tokens, 10);
	assert_int_equal(res.req[0].out_tokens, 5);
	assert_int_equal(res.req[0].itl_n, 4);
	assert_int_equal(res.req[1].prompt_tokens, 300 - 2 * 85);
	assert_int_equal(res.req[1].images, 2);
	assert_int_equal(res.req[2].images, 16); /* capped as sim caps */
	assert_int_equal(res.req[2].prompt_tokens, 0);
	assert_int_equal(res.req[2].out_tokens, 1); /* GeneratedTokens 0 -> 1 */
	assert_true(isnan(res.req[2].tpot));
	assert_int_equal(res.req[3].out_tokens, 40);
	assert_true(res.req[3].ttft > 0 && res.req[3].e2e >= res.req[3].ttft);
	assert_true(res.req[3].start >= 0.03 - 0.005);
	loadgen_result_release(&res);
	trace_set_release(&ts);
}

static void nop_done(void *arg, int status, int err, const char *reason)
{
	(void)arg;
	(void)status;
	(void)err;
	(void)reason;
}

/* The fd of this process's TCP socket from local port lport to remote port rport, or -1. */
static int find_sock(int lport, int rport)
{
	struct sockaddr_in a, b;
	socklen_t la, lb;
	int fd;

	for (fd = 3; fd < 1024; fd++) {
		la = lb = sizeof(a);
		if (getsockname(fd, (struct sockaddr *)&a, &la) == 0 &&
		    getpeername(fd, (struct sockaddr *)&b, &lb) == 0 && a.sin_family == AF_INET &&
		    ntohs(a.sin_port) == lport && ntohs(b.sin_port) == rport)
			return fd;
	}
	return -1;
}

/*
 * The client's socket has TCP_NODELAY: without it a body longer than one segment had
 * its tail held by Nagle's algorithm until the server's delayed ACK (~45 ms on bench
 * requests with 4-9 images, which profile wrote into its encode rows).
 */
static void test_client_nodelay(void **state)
{
	static const struct net_call_ops ops = { NULL, NULL, nop_done };
	struct sockaddr_in a = { 0 }, peer;
	socklen_t len = sizeof(a);
	struct net_loop *l;
	struct net_client *c;
	struct ms_error err;
	struct pollfd pfd;
	int ls, s, fd, on = 0;
	socklen_t ol = sizeof(on);

	(void)state;
	ls = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(ls >= 0);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(ls, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(ls, 4), 0);
	assert_int_equal(getsockname(ls, (struct sockaddr *)&a, &len), 0);
	assert_int_equal(net_loop_new(&l, &err), 0);
	assert_int_equal(net_client_new(&c, l, "127.0.0.1", ntohs(a.sin_port), 5, &err), 0);
	assert_int_equal(net_client_post(c, "/", "text/plain", "x", 1, NULL, &ops, NULL, &err), 0);
	/* the kernel completes a loopback handshake by itself: the connection is there */
	pfd = (struct pollfd){ ls, POLLIN, 0 };
	assert_int_equal(poll(&pfd, 1, 5000), 1);
	len = sizeof(peer);
	s = accept(ls, (struct sockaddr *)&peer, &len);
	assert_true(s >= 0);
	fd = find_sock(ntohs(peer.sin_port), ntohs(a.sin_port));
	assert_true(fd >= 0);
	assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &ol), 0);
	assert_int_not_equal(on, 0);
	net_client_free(c);
	net_loop_free(l);
	close(s);
	close(ls);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_endpoint),
		cmocka_unit_test(test_images),
		cmocka_unit_test(test_replay),
		cmocka_unit_test(test_client_nodelay),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
