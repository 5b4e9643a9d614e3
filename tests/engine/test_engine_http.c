/*
 * engine over loopback (port 0, read back), in process on one loop with net/ clients:
 * the stream format OpenAI SDKs parse, whole replies, errors in vLLM's shape (400,
 * 404, 413, 429 with retry-after), a disconnect freeing its slot at once, /metrics,
 * the encode -> prefill -> decode handover through the encoder-cache directory, and a
 * host's lag made up by the emulated GPU's clock.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/engine.h"
#include "engine/img_util.h"

struct call {
	struct net_loop *loop;
	int status, err, done, stop_on_body;
	char hdr_id[64], retry[16];
	char *body;
	size_t len, cap;
};

static void c_head(void *arg, int status, struct net_client *cl)
{
	struct call *c = arg;
	const char *h = net_client_header(cl, "x-request-id"), *r = net_client_header(cl, "retry-after");

	c->status = status;
	snprintf(c->hdr_id, sizeof(c->hdr_id), "%s", h ? h : "");
	snprintf(c->retry, sizeof(c->retry), "%s", r ? r : "");
}

static void c_body(void *arg, const char *b, size_t n)
{
	struct call *c = arg;

	if (c->len + n + 1 > c->cap) {
		c->cap = (c->len + n + 1) * 2;
		c->body = realloc(c->body, c->cap);
	}
	memcpy(c->body + c->len, b, n);
	c->len += n;
	c->body[c->len] = 0;
	if (c->stop_on_body)
		net_loop_stop(c->loop);
}

static void c_done(void *arg, int status, int err, const char *reason)
{
	struct call *c = arg;

	(void)reason;
	c->status = status;
	c->err = err;
	c->done = 1;
	net_loop_stop(c->loop);
}

static const struct net_call_ops ops = { c_head, c_body, c_done };

struct fix {
	struct net_loop *loop;
	struct engine *eng;
	int port;
};

static void fix_up(struct fix *f, struct engine_config *cfg)
{
	struct ms_error err;

	assert_int_equal(net_loop_new(&f->loop, &err), 0);
	cfg->host = "127.0.0.1";
	cfg->port = 0;
	if (!cfg->model)
		cfg->model = "llama-3.2-11b-vision";
	cfg->gpu = "a100-80gb";
	if (!cfg->max_body)
		cfg->max_body = 1 << 20;
	if (engine_new(&f->eng, f->loop, cfg, &err))
		fail_msg("engine_new: %s", err.msg);
	f->port = engine_port(f->eng);
	assert_true(f->port > 0);
}

static void fix_down(struct fix *f)
{
	engine_free(f->eng);
	net_loop_free(f->loop);
}

/* One call on a fresh connection, run to its end (bounded: 10 s). */
static void do_call(struct fix *f, struct call *c, const char *path, const char *body,
		    const char *const *hdrs)
{
	struct net_client *cl;
	struct ms_error err;
	double t0 = net_now();

	free(c->body);
	memset(c, 0, sizeof(*c));
	c->loop = f->loop;
	assert_int_equal(net_client_new(&cl, f->loop, "127.0.0.1", f->port, 10, &err), 0);
	if (body)
		assert_int_equal(net_client_post(cl, path, "application/json", body, strlen(body), hdrs, &ops, c, &err), 0);
	else
		assert_int_equal(net_client_get(cl, path, &ops, c, &err), 0);
	while (!c->done && net_now() - t0 < 10)
		net_loop_run(f->loop);
	assert_true(c->done);
	net_client_free(cl);
}

static json_t *parse(const char *s, size_t n)
{
	json_error_t je;
	json_t *j = json_loadb(s, n, 0, &je);

	if (!j)
		fail_msg("not JSON (%s): %.*s", je.text, (int)n, s);
	return j;
}

static void check_error(struct call *c, int status)
{
	json_t *j = parse(c->body, c->len), *e = json_object_get(j, "error");

	assert_int_equal(c->status, status);
	assert_non_null(json_string_value(json_object_get(e, "message")));
	assert_non_null(json_string_value(json_object_get(e, "type")));
	assert_non_null(json_object_get(e, "param"));
	assert_int_equal(json_integer_value(json_object_get(e, "code")), status);
	json_decref(j);
}

static void test_stream_format(void **state)
{
	struct engine_config cfg = { .speed = 0 };
	struct fix f;
	struct call c = { 0 };
	const char *hdrs[] = { "x-request-id", "abc-123", NULL };
	const char *body = "{\"model\":\"llama-3.2-11b-vision\",\"messages\":[{\"role\":\"user\",\"content\":\"a b c d e\"}],"
			   "\"max_tokens\":4,\"ignore_eos\":true,\"stream\":true,\"stream_options\":{\"include_usage\":true}}";
	char *p, *line;
	int n = 0, content = 0, saw_done = 0, saw_usage = 0;

	(void)state;
	fix_up(&f, &cfg);
	do_call(&f, &c, "/v1/chat/completions", body, hdrs);
	assert_int_equal(c.status, 200);
	assert_string_equal(c.hdr_id, "abc-123");
	for (p = c.body; (line = strstr(p, "data: ")); n++) {
		char *end = strstr(line, "\n\n");
		json_t *j, *ch;
		assert_non_null(end);
		if (!strncmp(line + 6, "[DONE]", 6)) {
			saw_done = 1;
			assert_string_equal(end, "\n\n");
			break;
		}
		assert_false(saw_usage); /* the usage chunk is the last before [DONE] */
		j = parse(line + 6, (size_t)(end - line - 6));
		assert_string_equal(json_string_value(json_object_get(j, "object")), "chat.completion.chunk");
		assert_string_equal(json_string_value(json_object_get(j, "id")), "chatcmpl-abc-123");
		ch = json_object_get(j, "choices");
		if (!json_array_size(ch)) {
			json_t *u = json_object_get(j, "usage");
			assert_int_equal(json_integer_value(json_object_get(u, "prompt_tokens")), 5);
			assert_int_equal(json_integer_value(json_object_get(u, "completion_tokens")), 4);
			assert_int_equal(json_integer_value(json_object_get(u, "total_tokens")), 9);
			saw_usage = 1;
		} else {
			json_t *d = json_object_get(json_array_get(ch, 0), "delta");
			json_t *fr = json_object_get(json_array_get(ch, 0), "finish_reason");
			assert_true(json_is_null(json_object_get(j, "usage")));
			if (n == 0)
				assert_string_equal(json_string_value(json_object_get(d, "role")), "assistant");
			else
				content++;
			if (content == 4)
				assert_string_equal(json_string_value(fr), "length");
			else
				assert_true(json_is_null(fr));
		}
		json_decref(j);
		p = end + 2;
	}
	assert_int_equal(content, 4);
	assert_true(saw_usage && saw_done);
	free(c.body);
	fix_down(&f);
}

static void test_whole_and_errors(void **state)
{
	struct engine_config cfg = { .speed = 0, .max_body = 4096 };
	struct fix f;
	struct call c = { 0 };
	json_t *j;
	char big[6000];

	(void)state;
	fix_up(&f, &cfg);
	do_call(&f, &c, "/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"x y\"}],\"max_completion_tokens\":3}", NULL);
	assert_int_equal(c.status, 200);
	j = parse(c.body, c.len);
	assert_string_equal(json_string_value(json_object_get(j, "object")), "chat.completion");
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_array_get(json_object_get(j, "choices"), 0), "message"), "content")), " tok tok tok");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "usage"), "completion_tokens")), 3);
	json_decref(j);
	do_call(&f, &c, "/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}", NULL);
	check_error(&c, 400);
	do_call(&f, &c, "/v1/chat/completions", "{\"model\":\"gpt-9\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", NULL);
	check_error(&c, 404);
	do_call(&f, &c, "/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,iVBORw0KGgo=\"}}]}]}", NULL);
	check_error(&c, 400);
	assert_non_null(strstr(c.body, "bad image data"));
	memset(big, ' ', sizeof(big));
	memcpy(big, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", 43);
	big[sizeof(big) - 1] = 0;
	do_call(&f, &c, "/v1/chat/completions", big, NULL);
	check_error(&c, 413);
	do_call(&f, &c, "/nope", NULL, NULL);
	check_error(&c, 404);
	do_call(&f, &c, "/health", NULL, NULL);
	assert_int_equal(c.status, 200);
	do_call(&f, &c, "/v1/models", NULL, NULL);
	assert_non_null(strstr(c.body, "\"id\":\"llama-3.2-11b-vision\""));
	free(c.body);
	fix_down(&f);
}

static double metric(struct fix *f, const char *name)
{
	struct call c = { 0 };
	char *p;
	double v;

	do_call(f, &c, "/metrics", NULL, NULL);
	assert_int_equal(c.status, 200);
	p = strstr(c.body, name);
	assert_non_null(p);
	p = strchr(p, '}');
	v = strtod(p + 1, NULL);
	free(c.body);
	return v;
}

static void test_queue_429_and_disconnect(void **state)
{
	/* one running slot, one waiting place; speed 1: a 2000-token reply takes seconds */
	struct engine_config cfg = { .speed = 1, .max_seqs = 1, .max_queue = 1 };
	struct fix f;
	struct call a = { 0 }, b = { 0 }, c = { 0 };
	struct net_client *ca, *cb;
	struct ms_error err;
	const char *body = "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":2000,\"stream\":true}";
	double t0;

	(void)state;
	fix_up(&f, &cfg);
	a.loop = b.loop = f.loop;
	a.stop_on_body = 1;
	assert_int_equal(net_client_new(&ca, f.loop, "127.0.0.1", f.port, 10, &err), 0);
	assert_int_equal(net_client_new(&cb, f.loop, "127.0.0.1", f.port, 10, &err), 0);
	assert_int_equal(net_client_post(ca, "/v1/chat/completions", "application/json", body, strlen(body), NULL, &ops, &a, &err), 0);
	t0 = net_now();
	while (!a.len && net_now() - t0 < 10)
		net_loop_run(f.loop); /* a streams: it holds the slot */
	assert_int_equal(a.status, 200);
	assert_int_equal(net_client_post(cb, "/v1/chat/completions", "application/json", body, strlen(body), NULL, &ops, &b, &err), 0);
	while (metric(&f, "vllm:num_requests_waiting{") < 1 && net_now() - t0 < 10)
		;
	assert_true(metric(&f, "vllm:num_requests_running{") == 1);
	do_call(&f, &c, "/v1/chat/completions", body, NULL);
	check_error(&c, 429);
	assert_string_equal(c.retry, "1");
	/* a goes away mid-stream: b takes the slot at once */
	a.stop_on_body = 0;
	net_client_free(ca);
	b.stop_on_body = 1;
	while (!b.len && net_now() - t0 < 10)
		net_loop_run(f.loop);
	assert_int_equal(b.status, 200);
	assert_true(metric(&f, "vllm:num_requests_running{") == 1);
	assert_true(metric(&f, "vllm:num_requests_waiting{") == 0);
	assert_true(metric(&f, "finished_reason=\"abort\"}") == 1);
	assert_true(net_now() - t0 < 5); /* nowhere near the 2000 tokens a would have taken */
	net_client_free(cb);
	while (metric(&f, "vllm:num_requests_running{") > 0 && net_now() - t0 < 10)
		;
	assert_true(metric(&f, "vllm:kv_cache_usage_perc{") == 0);
	free(a.body);
	free(b.body);
	free(c.body);
	fix_down(&f);
}

static void test_drain_mid_stream(void **state)
{
	/* shutting down with a stream open: an error chunk, then [DONE] */
	struct engine_config cfg = { .speed = 1 };
	struct fix f;
	struct call a = { 0 };
	struct net_client *ca;
	struct ms_error err;
	const char *body = "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":2000,\"stream\":true}";
	double t0 = net_now();

	(void)state;
	fix_up(&f, &cfg);
	a.loop = f.loop;
	a.stop_on_body = 1;
	assert_int_equal(net_client_new(&ca, f.loop, "127.0.0.1", f.port, 10, &err), 0);
	assert_int_equal(net_client_post(ca, "/v1/chat/completions", "application/json", body, strlen(body), NULL, &ops, &a, &err), 0);
	while (!a.len && net_now() - t0 < 10)
		net_loop_run(f.loop);
	a.stop_on_body = 0;
	engine_drain(f.eng);
	while (!a.done && net_now() - t0 < 10)
		net_loop_run(f.loop);
	assert_true(a.done);
	assert_int_equal(a.status, 200);
	assert_non_null(strstr(a.body, "data: {\"error\":{\"message\":\"the engine is shutting down\""));
	assert_non_null(strstr(a.body, "\"code\":503}}\n\ndata: [DONE]\n\n"));
	net_client_free(ca);
	free(a.body);
	fix_down(&f);
}

static void test_whole_reply_disconnect(void **state)
{
	/* a non-streamed request that would take seconds: its client gives up */
	struct engine_config cfg = { .speed = 1 };
	struct fix f;
	struct call a = { 0 };
	struct net_client *ca;
	struct ms_error err;
	const char *body = "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":2000}";
	double t0 = net_now();

	(void)state;
	fix_up(&f, &cfg);
	a.loop = f.loop;
	assert_int_equal(net_client_new(&ca, f.loop, "127.0.0.1", f.port, 10, &err), 0);
	assert_int_equal(net_client_post(ca, "/v1/chat/completions", "application/json", body, strlen(body), NULL, &ops, &a, &err), 0);
	while (metric(&f, "vllm:num_requests_running{") < 1 && net_now() - t0 < 10)
		;
	net_client_free(ca);
	while (metric(&f, "vllm:num_requests_running{") > 0 && net_now() - t0 < 10)
		;
	assert_true(metric(&f, "finished_reason=\"abort\"}") == 1);
	assert_true(net_now() - t0 < 5);
	assert_int_equal(a.done, 0);
	free(a.body);
	fix_down(&f);
}

static unsigned char *img_bytes;
static size_t img_len;

static void h_img(struct net_req *r, void *arg)
{
	(void)arg;
	net_req_reply(r, 200, "image/png", (const char *)img_bytes, img_len);
}

static void test_fetch_image_url(void **state)
{
	/* InternVL: image tokens join the prompt, so the fetched image's tiles show in usage */
	struct engine_config cfg = { .speed = 0, .model = "internvl-2.5-26b" };
	struct fix f;
	struct call c = { 0 };
	struct net_server *img;
	struct ms_error err;
	char body[512];
	json_t *j;

	(void)state;
	fix_up(&f, &cfg);
	img_bytes = test_png(900, 400, &img_len); /* 3 x 1 tiles of 448 + thumbnail = 4 */
	assert_int_equal(net_server_new(&img, f.loop, "127.0.0.1", 0, 1024, &err), 0);
	assert_int_equal(net_server_route(img, "GET", "/a.png", h_img, NULL, &err), 0);
	snprintf(body, sizeof(body), "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"see\"},"
		 "{\"type\":\"image_url\",\"image_url\":{\"url\":\"http://127.0.0.1:%d/a.png\"}}]}],\"max_tokens\":2}", net_server_port(img));
	do_call(&f, &c, "/v1/chat/completions", body, NULL);
	assert_int_equal(c.status, 200);
	j = parse(c.body, c.len);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "usage"), "prompt_tokens")), 1 + 4 * 256);
	json_decref(j);
	/* a URL that does not answer 200, and one with a name to resolve: 400 */
	snprintf(body, sizeof(body), "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"http://127.0.0.1:%d/nope.png\"}}]}]}", net_server_port(img));
	do_call(&f, &c, "/v1/chat/completions", body, NULL);
	check_error(&c, 400);
	assert_non_null(strstr(c.body, "cannot fetch"));
	do_call(&f, &c, "/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"http://example.com/a.png\"}}]}]}", NULL);
	check_error(&c, 400);
	net_server_free(img);
	free(img_bytes);
	free(c.body);
	fix_down(&f);
}

static void test_epd_handover(void **state)
{
	char dir[256], path[400];
	struct engine_config ce = { .speed = 0, .role = ENGINE_ROLE_ENCODE };
	struct engine_config cp = { .speed = 0, .role = ENGINE_ROLE_PREFILL };
	struct engine_config cd = { .speed = 0, .role = ENGINE_ROLE_DECODE };
	struct fix fe, fp, fd;
	struct call c = { 0 };
	unsigned char *png;
	size_t n;
	char *url, *body, *kv;
	json_t *j;
	struct stat st;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/ec.%d", getenv("MS_TMP") ? getenv("MS_TMP") : "/tmp", (int)getpid());
	mkdir(dir, 0755);
	ce.ec_dir = cp.ec_dir = dir;
	fix_up(&fe, &ce);
	fix_up(&fp, &cp);
	fix_up(&fd, &cd);
	png = test_png(900, 900, &n);
	url = test_data_url(png, n, "image/png");
	body = malloc(strlen(url) + 600);
	/* encode: the image item alone, stream false, max_tokens 1, a uuid from the proxy */
	sprintf(body, "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"%s\"},\"uuid\":\"item-1\"}]}],\"max_tokens\":1,\"stream\":false}", url);
	do_call(&fe, &c, "/v1/chat/completions", body, NULL);
	assert_int_equal(c.status, 200);
	j = parse(c.body, c.len);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(json_object_get(j, "ec_transfer_params"), "items"), 0), "mm_hash")), "item-1");
	json_decref(j);
	snprintf(path, sizeof(path), "%s/item-1.ec", dir);
	assert_int_equal(stat(path, &st), 0);
	/* an encode instance refuses a streamed request */
	sprintf(body, "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"%s\"}}]}],\"stream\":true}", url);
	do_call(&fe, &c, "/v1/chat/completions", body, NULL);
	check_error(&c, 400);
	/* prefill: metadata-only reference to the encoded item, do_remote_decode */
	sprintf(body, "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_embeds\",\"uuid\":\"item-1\"},{\"type\":\"text\",\"text\":\"describe it\"}]}],"
		      "\"max_tokens\":1,\"stream\":false,\"kv_transfer_params\":{\"do_remote_decode\":true,\"do_remote_prefill\":false}}");
	do_call(&fp, &c, "/v1/chat/completions", body, NULL);
	assert_int_equal(c.status, 200);
	j = parse(c.body, c.len);
	{
		json_t *k = json_object_get(j, "kv_transfer_params");
		assert_true(json_is_true(json_object_get(k, "do_remote_prefill")));
		assert_int_equal(json_integer_value(json_object_get(k, "remote_port")), fp.port);
		/* 4 tiles x 1601 tokens enter cross-attention; 2 text tokens in the context */
		assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "usage"), "prompt_tokens")), 2);
		kv = json_dumps(k, JSON_COMPACT);
	}
	json_decref(j);
	/* an unknown uuid is refused, not silently encoded from nothing */
	do_call(&fp, &c, "/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_embeds\",\"uuid\":\"nope\"}]}]}", NULL);
	check_error(&c, 400);
	/* a prefill instance is not a decode instance */
	do_call(&fp, &c, "/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"kv_transfer_params\":{\"do_remote_prefill\":true}}", NULL);
	check_error(&c, 400);
	/* decode: the original request plus the prefill's params, streamed */
	body = realloc(body, strlen(kv) + strlen(url) + 600);
	sprintf(body, "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"%s\"},\"uuid\":\"item-1\"},{\"type\":\"text\",\"text\":\"describe it\"}]}],"
		      "\"max_tokens\":5,\"stream\":true,\"kv_transfer_params\":%s}", url, kv);
	do_call(&fd, &c, "/v1/chat/completions", body, NULL);
	assert_int_equal(c.status, 200);
	assert_non_null(strstr(c.body, "data: [DONE]"));
	assert_non_null(strstr(c.body, "\"finish_reason\":\"length\""));
	free(kv);
	free(body);
	free(url);
	free(png);
	free(c.body);
	unlink(path);
	rmdir(dir);
	fix_down(&fe);
	fix_down(&fp);
	fix_down(&fd);
}

static void stall(void *arg)
{
	(void)arg;
	usleep(40000); /* the host lags: the whole loop, engine included, stops 40 ms */
}

/* One streamed reply of 300 tokens at --speed 10, with the loop stalled 40 ms at
 * stall_at s (< 0: not), run to its end; its time from send to the last byte. */
static double timed_reply(double stall_at)
{
	struct engine_config cfg = { .speed = 10 };
	const char *body = "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
			   "\"max_tokens\":300,\"stream\":true}";
	struct net_timer *t;
	struct fix f;
	struct call c = { 0 };
	double t0, dt;

	fix_up(&f, &cfg);
	t = net_timer_new(f.loop, stall, NULL);
	assert_non_null(t);
	if (stall_at >= 0)
		net_timer_start(t, stall_at);
	t0 = net_now();
	do_call(&f, &c, "/v1/chat/completions", body, NULL);
	dt = net_now() - t0;
	assert_int_equal(c.status, 200);
	assert_non_null(strstr(c.body, "data: [DONE]"));
	free(c.body);
	net_timer_free(t);
	fix_down(&f);
	return dt;
}

/*
 * The emulated GPU keeps its own clock: a host lag in the middle of a decode (a busy
 * machine descheduling the engine) is made up by the next iterations, as the
 * simulator's instances, which never lag, run; before, every late timer added to
 * every later token (the closed loop's TPOT read up to 30-40% high on a loaded
 * machine). 300 decode steps at --speed 10 take ~0.2 s; the stall falls inside them.
 */
static void test_lag_made_up(void **state)
{
	double plain, stalled;

	(void)state;
	plain = timed_reply(-1);
	stalled = timed_reply(0.05);
	print_message("reply %.1f ms, with a 40 ms stall %.1f ms\n", plain * 1e3, stalled * 1e3);
	assert_true(plain > 0.1);
	assert_true(stalled - plain < 0.02);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stream_format),
		cmocka_unit_test(test_whole_and_errors),
		cmocka_unit_test(test_queue_429_and_disconnect),
		cmocka_unit_test(test_drain_mid_stream),
		cmocka_unit_test(test_whole_reply_disconnect),
		cmocka_unit_test(test_fetch_image_url),
		cmocka_unit_test(test_epd_handover),
		cmocka_unit_test(test_lag_made_up),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
