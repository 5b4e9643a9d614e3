/*
 * engine: image headers, the tiling rule, the chat request parser, the
 * scheduler's iterations against perf/'s stage times (KV blocks per chunk,
 * preemption), and two requests of one instant sharing an iteration.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "engine/engine.h"
#include "engine/engine_chat.h"
#include "engine/engine_sched.h"
#include "engine/img_util.h"

/* The image's size is read back, and its header cut at `cut` bytes is refused. */
static void check_dims(unsigned char *b, size_t n, uint32_t want_w, uint32_t want_h, size_t cut)
{
	struct ms_error err;
	uint32_t w, h;

	assert_int_equal(engine_image_dims(b, n, &w, &h, &err), 0);
	assert_int_equal(w, want_w);
	assert_int_equal(h, want_h);
	assert_int_equal(engine_image_dims(b, cut, &w, &h, &err), -MS_EPARSE);
	free(b);
}

static void test_image_dims(void **state)
{
	struct ms_error err;
	unsigned char *b;
	size_t n;
	uint32_t w, h;

	(void)state;
	b = test_png(640, 480, &n);
	check_dims(b, n, 640, 480, 20);
	b = test_jpeg(1200, 33, &n);
	check_dims(b, n, 1200, 33, 30);
	assert_int_equal(engine_image_dims((const unsigned char *)"GIF89a....", 10, &w, &h, &err), -MS_EPARSE);
	assert_non_null(strstr(err.msg, "neither PNG nor JPEG"));
}

static void test_tiles(void **state)
{
	struct model_spec in, ll;
	struct ms_error err;

	(void)state;
	assert_int_equal(model_spec_load(&in, "internvl-2.5-26b", &err), 0);
	assert_int_equal(model_spec_load(&ll, "llama-3.2-11b-vision", &err), 0);
	/* the reference image gives the spec's own count */
	assert_int_equal(engine_image_tiles(&in, 896, 896), (uint32_t)in.tiles_per_image);
	assert_int_equal(engine_image_tiles(&ll, 896, 896), (uint32_t)ll.tiles_per_image);
	/* one tile: no thumbnail; huge: capped */
	assert_int_equal(engine_image_tiles(&in, 300, 200), 1);
	assert_int_equal(engine_image_tiles(&in, 448 * 3, 448), 4); /* 3x1 + thumbnail */
	assert_int_equal(engine_image_tiles(&in, 5000, 5000), (uint32_t)in.max_tiles);
	assert_int_equal(engine_image_tiles(&ll, 561, 100), 2);
	assert_int_equal(engine_image_tiles(&ll, 5000, 5000), (uint32_t)ll.max_tiles);
}

static void test_chat_parse(void **state)
{
	struct model_spec m;
	struct ms_error err;
	struct engine_chat c;
	struct engine_chat_error e;
	unsigned char *png;
	size_t n;
	char *url, *body;
	const char *ok = "{\"model\":\"x\",\"messages\":[{\"role\":\"system\",\"content\":\"be  brief\"},"
			 "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"one two three\"}]}],"
			 "\"max_tokens\":7,\"max_completion_tokens\":9,\"stream\":true,\"ignore_eos\":true,"
			 "\"stream_options\":{\"include_usage\":true},\"unknown_field\":[1,2]}";

	(void)state;
	assert_int_equal(model_spec_load(&m, "llama-3.2-11b-vision", &err), 0);
	assert_int_equal(engine_chat_parse(&c, ok, strlen(ok), &m, &e), 0);
	assert_string_equal(c.model, "x");
	assert_int_equal(c.text_tokens, 5);
	assert_int_equal(c.max_tokens, 9); /* max_completion_tokens wins */
	assert_true(c.stream && c.ignore_eos && c.include_usage);
	/* a duplicate key: the last one wins, as Python's json reads it */
	body = "{\"messages\":[{\"role\":\"user\",\"content\":\"a\"}],\"max_tokens\":3,\"max_tokens\":5}";
	assert_int_equal(engine_chat_parse(&c, body, strlen(body), &m, &e), 0);
	assert_int_equal(c.max_tokens, 5);
	/* bad inputs: status 400 and the field named */
	assert_int_equal(engine_chat_parse(&c, "{\"messages\":", 12, &m, &e), -1);
	assert_int_equal(e.status, 400);
	assert_non_null(strstr(e.msg, "malformed JSON"));
	assert_int_equal(engine_chat_parse(&c, "{\"messages\":[]}", 15, &m, &e), -1);
	assert_string_equal(e.param, "messages");
	body = "{\"messages\":[{\"role\":\"user\",\"content\":\"a\"}],\"max_tokens\":\"3\"}";
	assert_int_equal(engine_chat_parse(&c, body, strlen(body), &m, &e), -1);
	assert_string_equal(e.param, "max_tokens");
	body = "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,AAAA\"}}]}]}";
	assert_int_equal(engine_chat_parse(&c, body, strlen(body), &m, &e), -1);
	assert_non_null(strstr(e.msg, "bad image data"));
	body = "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"ftp://x/y.png\"}}]}]}";
	assert_int_equal(engine_chat_parse(&c, body, strlen(body), &m, &e), -1);
	assert_string_equal(e.param, "image_url");
	engine_chat_release(&c);
	/* an https:// URL is kept too: the engine fetches it over TLS (tests/engine/t_https.sh) */
	body = "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://127.0.0.1:9/a.png\"}}]}]}";
	assert_int_equal(engine_chat_parse(&c, body, strlen(body), &m, &e), 0);
	assert_string_equal(c.images[0].url, "https://127.0.0.1:9/a.png");
	engine_chat_release(&c);
	/* an http:// URL is kept for the engine to fetch */
	body = "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"http://127.0.0.1:9/a.png\"}}]}]}";
	assert_int_equal(engine_chat_parse(&c, body, strlen(body), &m, &e), 0);
	assert_int_equal(c.n_images, 1);
	assert_string_equal(c.images[0].url, "http://127.0.0.1:9/a.png");
	assert_int_equal(c.images[0].tiles, 0);
	engine_chat_release(&c);
	assert_null(c.images[0].url);
	/* a real PNG: its size, tiles and content hash; a uuid replaces the hash */
	png = test_png(1000, 600, &n);
	url = test_data_url(png, n, "image/png");
	body = malloc(2 * strlen(url) + 400);
	sprintf(body, "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"%s\"}},"
		      "{\"type\":\"image_url\",\"image_url\":{\"url\":\"%s\"},\"uuid\":\"img-7\"},{\"type\":\"text\",\"text\":\"what\"}]}]}",
		url, url);
	assert_int_equal(engine_chat_parse(&c, body, strlen(body), &m, &e), 0);
	assert_int_equal(c.n_images, 2);
	assert_int_equal(c.images[0].w, 1000);
	assert_int_equal(c.images[0].h, 600);
	assert_int_equal(c.images[0].tiles, 4);
	assert_int_equal(strlen(c.images[0].key), 16);
	assert_string_equal(c.images[1].key, "img-7");
	assert_int_equal(c.text_tokens, 1);
	assert_int_equal(c.max_tokens, ENGINE_CHAT_DEFAULT_TOKENS);
	sprintf(body, "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"%s\"},\"uuid\":\"../etc\"}]}]}", url);
	assert_int_equal(engine_chat_parse(&c, body, strlen(body), &m, &e), -1);
	assert_string_equal(e.param, "uuid");
	free(body);
	free(url);
	free(png);
}

static int n_tok, n_done;
static void count(void *ctx, struct engine_job *j, enum engine_ev ev)
{
	(void)ctx;
	(void)j;
	if (ev == ENGINE_EV_TOKEN)
		n_tok++;
	else
		n_done++;
}

/* Llama 3.2 11B on an A100: the perf/ the scheduler tests ask. */
static void perf_11b(struct perf *p, struct gpu_spec *g)
{
	struct model_spec m;
	struct ms_error err;

	assert_int_equal(model_spec_load(&m, "llama-3.2-11b-vision", &err), 0);
	assert_int_equal(gpu_spec_load(g, "a100-80gb", &err), 0);
	assert_int_equal(perf_init(p, &m, g, &err), 0);
}

static void test_sched_single(void **state)
{
	struct gpu_spec g;
	struct perf p;
	struct engine_sched s;
	struct engine_sched_cfg cfg;
	struct engine_job j = { .prompt = 1000, .enc_tiles = 4, .n_enc_images = 1, .max_tokens = 3 };
	struct perf_iter it = { .prefill_tokens = 1000, .prefill_attn = 1000.0 * 500 };
	struct ms_error err;
	double d, want;

	(void)state;
	perf_11b(&p, &g);
	cfg = (struct engine_sched_cfg){ &p, 1, 8, 4096, 100000, 1, 16 };
	assert_int_equal(engine_sched_init(&s, &cfg, &err), 0);
	/* preprocessing is CPU work before the queue, on the instance's cores (as sim's monolith) */
	assert_true(fabs(engine_sched_prep_s(&s, &j) - perf_preprocess_s(&p, 1, g.cpu_cores_per_gpu)) <
		    1e-12);
	assert_int_equal(engine_sched_submit(&s, &j, 0), 0);
	/* the first iteration: encode + prefill of the whole prompt */
	d = engine_sched_begin(&s, 0);
	want = perf_encode_inline_s(&p, 1, 4) + perf_llm_iter_s(&p, 1, &it);
	assert_true(fabs(d - want) < 1e-12);
	n_tok = n_done = 0;
	engine_sched_end(&s, count, NULL);
	assert_int_equal(n_tok, 1);
	/* the prompt's blocks of 16: ceil(1000 / 16) = 63 */
	assert_int_equal(engine_sched_kv_used(&s), 63 * 16);
	/* then decode steps reading the 1000 prompt tokens in the cache, then 1001 */
	d = engine_sched_begin(&s, 0);
	assert_true(fabs(d - perf_decode_step_s(&p, 1, 1, 1000)) < 1e-9 * d);
	engine_sched_end(&s, count, NULL);
	d = engine_sched_begin(&s, 0);
	assert_true(fabs(d - perf_decode_step_s(&p, 1, 1, 1001)) < 1e-9 * d);
	engine_sched_end(&s, count, NULL);
	assert_int_equal(n_tok, 3);
	assert_int_equal(n_done, 1);
	assert_int_equal(engine_sched_kv_used(&s), 0);
	assert_true(engine_sched_begin(&s, 0) < 0);
	engine_sched_release(&s);
	perf_release(&p);
}

static void test_sched_queue_and_abort(void **state)
{
	struct gpu_spec g;
	struct perf p;
	struct engine_sched s;
	struct engine_sched_cfg cfg;
	struct engine_job a = { .prompt = 100, .max_tokens = 10 }, b = a, c = a;
	struct engine_job big = { .prompt = 5000, .max_tokens = 1 };
	struct ms_error err;

	(void)state;
	perf_11b(&p, &g);
	/* one running slot, one waiting place, 250 KV tokens (15 blocks of 16) */
	cfg = (struct engine_sched_cfg){ &p, 1, 1, 64, 250, 1, 16 };
	assert_int_equal(engine_sched_init(&s, &cfg, &err), 0);
	assert_int_equal(engine_sched_submit(&s, &big, 0), -MS_EINVAL);
	assert_int_equal(engine_sched_submit(&s, &a, 0), 0);
	assert_int_equal(engine_sched_submit(&s, &b, 0), -MS_ERANGE); /* a still waits */
	assert_true(engine_sched_begin(&s, 0) > 0); /* a admitted, chunk 64 of 100 */
	assert_int_equal(s.b.n_chunk, 1);
	assert_int_equal(s.b.chunk[0].len, 64);
	assert_int_equal(engine_sched_submit(&s, &b, 0), 0);
	n_tok = n_done = 0;
	engine_sched_end(&s, count, NULL);
	assert_int_equal(n_tok, 0); /* prefill not finished: no token */
	/* aborting the running job frees its slot and KV at once; b runs next */
	engine_sched_abort(&s, &a);
	assert_int_equal(engine_sched_kv_used(&s), 0);
	assert_int_equal(engine_sched_n_run(&s), 0);
	assert_true(engine_sched_begin(&s, 0) > 0);
	assert_int_equal(engine_sched_n_run(&s), 1);
	assert_int_equal(b.state, ENGINE_JOB_RUNNING);
	/* an abort in the middle of an iteration: the job gets no event */
	engine_sched_abort(&s, &b);
	engine_sched_end(&s, count, NULL);
	assert_int_equal(n_tok + n_done, 0);
	/* encode-only job: done after its encoding, no token */
	c = (struct engine_job){ .enc_tiles = 2, .n_enc_images = 1 };
	assert_int_equal(engine_sched_submit(&s, &c, 0), 0);
	assert_true(fabs(engine_sched_begin(&s, 0) - perf_encode_inline_s(&p, 1, 2)) < 1e-12);
	engine_sched_end(&s, count, NULL);
	assert_int_equal(n_tok, 0);
	assert_int_equal(n_done, 1);
	engine_sched_release(&s);
	perf_release(&p);
}

/* Blocks are taken per prefill chunk (vLLM v1), not for the whole prompt at admission. */
static void test_sched_kv_per_chunk(void **state)
{
	struct gpu_spec g;
	struct perf p;
	struct engine_sched s;
	struct engine_sched_cfg cfg;
	struct engine_job j = { .prompt = 1000, .max_tokens = 2 };
	struct ms_error err;
	uint64_t want[] = { 256, 512, 768, 63 * 16 }; /* 16-token blocks of 256, 512, 768, 1000 */
	int i;

	(void)state;
	perf_11b(&p, &g);
	cfg = (struct engine_sched_cfg){ &p, 1, 8, 256, 100000, 0, 16 };
	assert_int_equal(engine_sched_init(&s, &cfg, &err), 0);
	assert_int_equal(engine_sched_submit(&s, &j, 0), 0);
	n_tok = n_done = 0;
	for (i = 0; i < 4; i++) {
		assert_true(engine_sched_begin(&s, 0) > 0);
		assert_int_equal(engine_sched_kv_used(&s), want[i]);
		engine_sched_end(&s, count, NULL);
	}
	assert_int_equal(n_tok, 1);
	engine_sched_release(&s);
	perf_release(&p);
}

/*
 * KV pressure: the case tests/sim/test_sim_batch.c derives (20 blocks, a budget
 * of 64; A: 64 + 8 tokens; B: 256 + 1, submitted during A's prefill): B is
 * admitted by its first chunk and gives way once, when its 4th chunk finds 3
 * free blocks of the 4 it needs; whole-prompt admission never preempted.
 */
static void test_sched_preempt(void **state)
{
	struct gpu_spec g;
	struct perf p;
	struct engine_sched s;
	struct engine_sched_cfg cfg;
	struct engine_job a = { .prompt = 64, .max_tokens = 8 }, b = { .prompt = 256, .max_tokens = 1 };
	struct ms_error err;
	int i;

	(void)state;
	perf_11b(&p, &g);
	cfg = (struct engine_sched_cfg){ &p, 1, 8, 64, 20 * 16, 0, 16 };
	assert_int_equal(engine_sched_init(&s, &cfg, &err), 0);
	assert_int_equal(engine_sched_submit(&s, &a, 0), 0);
	assert_true(engine_sched_begin(&s, 0) > 0);
	assert_int_equal(engine_sched_submit(&s, &b, 0), 0);
	n_tok = n_done = 0;
	for (i = 0; i < 100 && n_done < 2; i++) {
		engine_sched_end(&s, count, NULL);
		if (n_done < 2)
			assert_true(engine_sched_begin(&s, 0) >= 0);
	}
	assert_int_equal(n_done, 2);
	assert_int_equal(n_tok, 9);
	assert_int_equal(s.preemptions, 1);
	assert_int_equal(i, 10); /* ten iterations, as derived */
	assert_int_equal(engine_sched_kv_used(&s), 0);
	engine_sched_release(&s);
	perf_release(&p);
}

struct done_at {
	struct net_loop *loop;
	int status, done, *left;
	double t;
};

static void d_head(void *arg, int status, struct net_client *c)
{
	(void)c;
	((struct done_at *)arg)->status = status;
}

static void d_body(void *arg, const char *b, size_t n)
{
	(void)arg;
	(void)b;
	(void)n;
}

static void d_done(void *arg, int status, int err, const char *reason)
{
	struct done_at *d = arg;

	(void)err;
	(void)reason;
	if (status)
		d->status = status;
	d->t = net_now();
	d->done = 1;
	if (--*d->left == 0)
		net_loop_stop(d->loop);
}

/*
 * Two 2000-token requests (max_tokens 1) sent at once to an idle engine at --speed
 * 0.2 (a prefill of one takes about 0.3 s there): they reach it in the same
 * loop pass and share the first iteration, so both replies end together. When the
 * first started an iteration alone on arrival, the second ended one whole
 * iteration (its own prefill, about half of the total) later.
 */
static void test_engine_same_instant(void **state)
{
	static const struct net_call_ops ops = { d_head, d_body, d_done };
	struct engine_config cfg = { 0 };
	struct net_loop *loop;
	struct engine *eng;
	struct net_client *cl[2];
	struct done_at d[2];
	struct ms_error err;
	char *body;
	size_t n = 0;
	double t0, span;
	int i, left = 2;

	(void)state;
	assert_int_equal(net_loop_new(&loop, &err), 0);
	cfg.host = "127.0.0.1";
	cfg.model = "llama-3.2-11b-vision";
	cfg.gpu = "a100-80gb";
	cfg.max_body = 1 << 20;
	cfg.speed = 0.2;
	if (engine_new(&eng, loop, &cfg, &err))
		fail_msg("engine_new: %s", err.msg);
	body = malloc(8000 + 200);
	n += (size_t)sprintf(body, "{\"messages\":[{\"role\":\"user\",\"content\":\"");
	for (i = 0; i < 2000; i++)
		n += (size_t)sprintf(body + n, "hi ");
	sprintf(body + n, "\"}],\"max_tokens\":1}");
	t0 = net_now();
	for (i = 0; i < 2; i++) {
		d[i] = (struct done_at){ .loop = loop, .left = &left };
		assert_int_equal(net_client_new(&cl[i], loop, "127.0.0.1", engine_port(eng), 30, &err), 0);
		assert_int_equal(net_client_post(cl[i], "/v1/chat/completions", "application/json", body,
						 strlen(body), NULL, &ops, &d[i], &err), 0);
	}
	while (left > 0 && net_now() - t0 < 30)
		net_loop_run(loop);
	assert_true(d[0].done && d[1].done);
	assert_int_equal(d[0].status, 200);
	assert_int_equal(d[1].status, 200);
	span = (d[0].t > d[1].t ? d[0].t : d[1].t) - t0;
	print_message("replies ended %.3f s and %.3f s after sending\n", d[0].t - t0, d[1].t - t0);
	assert_true(fabs(d[0].t - d[1].t) < 0.1 * span);
	for (i = 0; i < 2; i++)
		net_client_free(cl[i]);
	free(body);
	engine_free(eng);
	net_loop_free(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_image_dims),
		cmocka_unit_test(test_tiles),
		cmocka_unit_test(test_chat_parse),
		cmocka_unit_test(test_sched_single),
		cmocka_unit_test(test_sched_queue_and_abort),
		cmocka_unit_test(test_sched_kv_per_chunk),
		cmocka_unit_test(test_sched_preempt),
		cmocka_unit_test(test_engine_same_instant),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
