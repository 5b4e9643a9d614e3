/*
 * loadgen_run: the replay on one event loop.
 *
 * Requests are sent in trace order at their planned times; with a concurrency limit
 * the due ones queue in that order (as `vllm bench serve --max-concurrency`). A
 * connection is reused after a whole reply and dropped after an error. Chunks are
 * scanned, not parsed as JSON: a content chunk is told by its `"content":"` field,
 * an error chunk by a top-level "error", the usage by "completion_tokens" — at tens
 * of thousands of chunks a second a JSON parse per chunk would make the load
 * generator the bottleneck it must not be.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/ms_quantile.h"
#include "base/ms_progress.h"
#include "base/ms_rand.h"
#include "loadgen/loadgen.h"
#include "loadgen/loadgen_img.h"
#include "metrics/metrics.h"
#include "net/net.h"
#include <jansson.h>

#define WORD "hi " /* one prompt token per word (docs/live.md) */

struct lg;

struct lg_conn {
	struct lg *lg;
	struct net_client *cl;
	struct net_sse sse;
	size_t ri;           /* request in flight */
	double t_last;
	uint32_t n_content, usage_out;
	int got_done, stream_err, has_usage;
	double *itl;          /* gaps of the reply in flight */
	size_t n_itl, cap_itl;
	struct lg_conn *next_idle;
};

struct lg {
	const struct loadgen_config *cfg;
	const struct trace_set *ts;
	struct loadgen_result *res;
	struct net_loop *loop;
	struct net_timer *arrive;
	struct loadgen_img_pool pool;
	struct lg_conn *idle;
	struct lg_conn **all;
	size_t n_conn, cap_conn;
	char *words;         /* "hi hi hi ..." long enough for the longest prompt */
	char *body;
	size_t body_cap;
	size_t next_due, next_send, ended;
	uint32_t open;
	double t0, t_end;
	uint64_t rng;
	struct ms_progress prog;
	int failed;          /* a local error stopped the run */
	struct ms_error *err;
};

static const char *const fail_names[] = {
	"ok",
#define LOADGEN__FNAME(c, s) s,
	LOADGEN_FAIL_MAP(LOADGEN__FNAME)
#undef LOADGEN__FNAME
};

const char *loadgen_fail_name(enum loadgen_fail f)
{
	return fail_names[f];
}

void loadgen_config_default(struct loadgen_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->host, sizeof(c->host), "127.0.0.1");
	c->port = 8000;
	snprintf(c->path, sizeof(c->path), "/v1/chat/completions");
	c->rate_scale = 1;
	c->seed = 1;
	c->image_tokens_in_trace = 85;
	c->max_images = 16;
	c->image_pool = 64;
	c->timeout_s = 300;
}

int loadgen_endpoint_parse(struct loadgen_config *c, const char *url, struct ms_error *err)
{
	const char *p = url, *colon, *slash;
	size_t hl;
	char *end;
	long port = 80;

	if (strncmp(p, "http://", 7))
		return ms_error_set(err, MS_EINVAL, "--endpoint: expected http://HOST:PORT[/path], "
			"got '%.80s'", url);
	p += 7;
	slash = strchr(p, '/');
	colon = memchr(p, ':', slash ? (size_t)(slash - p) : strlen(p));
	hl = colon ? (size_t)(colon - p) : slash ? (size_t)(slash - p) : strlen(p);
	if (!hl || hl >= sizeof(c->host))
		return ms_error_set(err, MS_EINVAL, "--endpoint: no host in '%.80s'", url);
	if (colon) {
		port = strtol(colon + 1, &end, 10);
		if (end == colon + 1 || (*end && *end != '/') || port < 1 || port > 65535)
			return ms_error_set(err, MS_EINVAL, "--endpoint: bad port in '%.80s'", url);
	}
	memcpy(c->host, p, hl);
	c->host[hl] = 0;
	if (!strcmp(c->host, "localhost"))
		snprintf(c->host, sizeof(c->host), "127.0.0.1");
	c->port = (int)port;
	if (slash && strcmp(slash, "/") && strlen(slash) < sizeof(c->path))
		snprintf(c->path, sizeof(c->path), "%s", slash);
	return 0;
}

/* ---- what each row sends ---- */

static void row_shape(const struct lg *g, size_t row, uint32_t *text, uint32_t *imgs, uint32_t *gen)
{
	uint32_t n = g->ts->images[row], ctx = g->ts->ctx[row];
	uint64_t img_tok = (uint64_t)n * g->cfg->image_tokens_in_trace;

	*imgs = n < g->cfg->max_images ? n : g->cfg->max_images;
	*text = ctx > img_tok ? (uint32_t)(ctx - img_tok) : 0;
	if (!*text && !*imgs)
		*text = 1; /* a prompt has at least one token, as in sim */
	*gen = g->ts->gen[row] ? g->ts->gen[row] : 1;
}

static int grow(struct lg *g, size_t need)
{
	char *b;

	if (need <= g->body_cap)
		return 0;
	b = realloc(g->body, need * 2);
	if (!b)
		return -1;
	g->body = b;
	g->body_cap = need * 2;
	return 0;
}

#define put_lit(b, k, lit) (memcpy((b) + (k), lit, sizeof(lit) - 1), (k) + sizeof(lit) - 1)

static size_t build_body(struct lg *g, struct loadgen_req *rq)
{
	size_t k = 0, need = 512 + (size_t)rq->prompt_tokens * 3, i;
	uint32_t pick[64];
	char tail[256];
	int n;

	for (i = 0; i < rq->images && i < 64; i++) {
		pick[i] = ms_rand_below(&g->rng, (uint32_t)g->pool.n);
		need += g->pool.img[pick[i]].len + 64;
	}
	if (grow(g, need))
		return 0;
	n = snprintf(g->body, g->body_cap, "{\"model\":\"%s\",\"messages\":[{\"role\":\"user\","
		"\"content\":[",
		     g->cfg->model);
	k = (size_t)n;
	if (rq->prompt_tokens) {
		k = put_lit(g->body, k, "{\"type\":\"text\",\"text\":\"");
		memcpy(g->body + k, g->words, (size_t)rq->prompt_tokens * 3 - 1);
		k += (size_t)rq->prompt_tokens * 3 - 1;
		k = put_lit(g->body, k, "\"}");
	}
	for (i = 0; i < rq->images && i < 64; i++) {
		const struct loadgen_img *im = &g->pool.img[pick[i]];
		if (rq->prompt_tokens || i)
			g->body[k++] = ',';
		k = put_lit(g->body, k, "{\"type\":\"image_url\",\"image_url\":{\"url\":\"");
		memcpy(g->body + k, im->url, im->len);
		k += im->len;
		k = put_lit(g->body, k, "\"}}");
	}
	if (g->cfg->whole)
		n = snprintf(tail, sizeof(tail), "]}],\"max_tokens\":1,\"stream\":false}");
	else
		n = snprintf(tail, sizeof(tail), "]}],\"max_tokens\":%u,\"ignore_eos\":true,"
			"\"stream\":true,\"stream_options\":{\"include_usage\":true}}",
			     rq->max_tokens);
	memcpy(g->body + k, tail, (size_t)n);
	return k + (size_t)n;
}

/* ---- the stream ---- */

/* Appends n gaps to v (growing it by doubling); -1 when out of memory. */
static int push_gaps(double **v, size_t *len, size_t *cap, const double *g, size_t n)
{
	if (!n)
		return 0; /* g may be NULL then */
	if (*len + n > *cap) {
		size_t c = *cap ? *cap : 64;
		double *p;
		while (c < *len + n)
			c *= 2;
		if (!(p = realloc(*v, c * sizeof(*p))))
			return -1;
		*v = p;
		*cap = c;
	}
	memcpy(*v + *len, g, n * sizeof(*g));
	*len += n;
	return 0;
}

static void note_token(struct lg_conn *c, double now)
{
	struct loadgen_req *rq = &c->lg->res->req[c->ri];

	if (!c->n_content) {
		rq->ttft = now - (c->lg->t0 + rq->start);
	} else {
		double gap = now - c->t_last;
		/* gaps stay with the connection until the reply ends, so each request's
		 * gaps land contiguously in the result */
		if (push_gaps(&c->itl, &c->n_itl, &c->cap_itl, &gap, 1))
			c->stream_err = 1;
	}
	c->t_last = now;
	c->n_content++;
}

/* memmem is a GNU extension; the build asks for POSIX only */
static const char *find(const char *h, size_t n, const char *needle, size_t k)
{
	const char *p = h, *end = h + n;

	while (k <= (size_t)(end - p) && (p = memchr(p, needle[0], (size_t)(end - p) - k + 1))) {
		if (!memcmp(p, needle, k))
			return p;
		p++;
	}
	return NULL;
}

static const char *rfind(const char *h, size_t n, const char *needle, size_t k)
{
	size_t i;

	for (i = n >= k ? n - k + 1 : 0; i-- > 0;)
		if (h[i] == needle[0] && !memcmp(h + i, needle, k))
			return h + i;
	return NULL;
}

static void on_line(void *arg, const char *d, size_t n)
{
	struct lg_conn *c = arg;
	const char *p;

	if (!d) {
		c->stream_err = 1; /* a line too long for an OpenAI chunk */
		return;
	}
	if (n == 6 && !memcmp(d, "[DONE]", 6)) {
		c->got_done = 1;
		return;
	}
	if (n > 9 && !memcmp(d, "{\"error\"", 8)) {
		c->stream_err = 1;
		return;
	}
	/* a non-empty content delta is one token (the role chunk's content is ""); looked
	 * for from the end, where OpenAI-style chunks carry the delta */
	p = rfind(d, n, "\"content\":\"", 11);
	if (p && (size_t)(p - d) + 11 < n && p[11] != '"') {
		note_token(c, net_now());
		return;
	}
	p = find(d, n, "\"completion_tokens\":", 20);
	if (p) {
		c->usage_out = (uint32_t)strtoul(p + 20, NULL, 10);
		c->has_usage = 1;
	}
}

static void on_head(void *arg, int status, struct net_client *cl)
{
	struct lg_conn *c = arg;

	(void)cl;
	c->lg->res->req[c->ri].status = status;
}

static void on_body(void *arg, const char *buf, size_t len)
{
	struct lg_conn *c = arg;

	if (c->lg->res->req[c->ri].status == 200 && !c->lg->cfg->whole)
		net_sse_feed(&c->sse, buf, len);
}

static void send_due(struct lg *g);

static void finish_run_if_done(struct lg *g)
{
	if (g->ended == g->next_due && g->next_due == g->res->n)
		net_loop_stop(g->loop);
}

static void on_done(void *arg, int status, int err, const char *reason)
{
	struct lg_conn *c = arg;
	struct lg *g = c->lg;
	struct loadgen_req *rq = &g->res->req[c->ri];
	double now = net_now() - g->t0;

	rq->status = status;
	rq->e2e = now - rq->start;
	rq->itl_off = g->res->n_itl;
	if (push_gaps(&g->res->itl, &g->res->n_itl, &g->res->cap_itl, c->itl, c->n_itl))
		c->stream_err = 1;
	else
		rq->itl_n = (uint32_t)c->n_itl;
	c->n_itl = 0;
	rq->out_tokens = c->has_usage ? c->usage_out : c->n_content;
	if (err)
		rq->fail = reason && !strcmp(reason, "timeout") ? LOADGEN_FAIL_TIMEOUT : LOADGEN_FAIL_CONNECT;
	else if (status != 200)
		rq->fail = LOADGEN_FAIL_STATUS;
	else if (g->cfg->whole)
		rq->ttft = rq->e2e; /* a whole reply: its end is all there is to time */
	else if (c->stream_err || !c->got_done || !c->n_content)
		rq->fail = LOADGEN_FAIL_STREAM;
	if (rq->fail) {
		g->res->fails[rq->fail]++;
		if (rq->fail == LOADGEN_FAIL_STATUS && status > 0 && status < 600)
			g->res->fail_status[status]++;
	} else {
		rq->tpot = rq->out_tokens > 1 ? (rq->e2e - rq->ttft) / (rq->out_tokens - 1) : NAN;
	}
	if (now > g->t_end)
		g->t_end = now;
	g->ended++;
	g->open--;
	ms_progress_update(&g->prog, (double)g->ended);
	/* after an error evhttp has reset the connection; the next call reconnects it
	 * (it must not be freed here, inside its own callback) */
	c->next_idle = g->idle;
	g->idle = c;
	send_due(g);
	finish_run_if_done(g);
}

static const struct net_call_ops ops = { on_head, on_body, on_done };

static struct lg_conn *get_conn(struct lg *g)
{
	struct lg_conn *c = g->idle;
	struct ms_error err;

	if (c) {
		g->idle = c->next_idle;
	} else {
		if (g->n_conn == g->cap_conn) {
			size_t cap = g->cap_conn ? g->cap_conn * 2 : 64;
			struct lg_conn **a = realloc(g->all, cap * sizeof(*a));
			if (!a)
				return NULL;
			g->all = a;
			g->cap_conn = cap;
		}
		c = calloc(1, sizeof(*c));
		if (!c || net_sse_init(&c->sse, 1 << 16, on_line, c)) {
			free(c);
			return NULL;
		}
		c->lg = g;
		g->all[g->n_conn++] = c;
	}
	if (!c->cl && net_client_new(&c->cl, g->loop, g->cfg->host, g->cfg->port, g->cfg->timeout_s, &err)) {
		c->next_idle = g->idle;
		g->idle = c;
		return NULL;
	}
	return c;
}

static void send_one(struct lg *g, size_t ri)
{
	struct loadgen_req *rq = &g->res->req[ri];
	struct lg_conn *c = get_conn(g);
	size_t len;

	rq->start = net_now() - g->t0;
	if (!c || !(len = build_body(g, rq)) ||
	    net_client_post(c->cl, g->cfg->path, "application/json", g->body, len, NULL, &ops, c, g->err)) {
		if (c) {
			c->next_idle = g->idle;
			g->idle = c;
		}
		ms_error_set(g->err, MS_ENOMEM, "bench: cannot send request %zu (out of memory or "
			"sockets)", ri);
		g->failed = 1;
		net_loop_stop(g->loop);
		return;
	}
	c->ri = ri;
	c->n_content = c->usage_out = 0;
	c->got_done = c->stream_err = c->has_usage = 0;
	net_sse_reset(&c->sse);
	g->open++;
	if (g->open > g->res->peak_open)
		g->res->peak_open = g->open;
}

static void send_due(struct lg *g)
{
	uint32_t lim = g->cfg->max_concurrency;

	while (g->next_send < g->next_due && (!lim || g->open < lim) && !g->failed)
		send_one(g, g->next_send++);
}

static void on_arrive(void *arg)
{
	struct lg *g = arg;
	double now = net_now() - g->t0;

	while (g->next_due < g->res->n && g->res->req[g->next_due].sched <= now)
		g->next_due++;
	send_due(g);
	if (g->next_due < g->res->n)
		net_timer_start(g->arrive, g->res->req[g->next_due].sched - now);
	finish_run_if_done(g);
}

/* ---- setup ---- */

static int plan(struct lg *g)
{
	const struct loadgen_config *cfg = g->cfg;
	size_t n = g->ts->n, i;
	uint32_t max_text = 1;
	double t = 0;

	if (cfg->num_requests && cfg->num_requests < n)
		n = (size_t)cfg->num_requests;
	g->res->req = calloc(n ? n : 1, sizeof(*g->res->req));
	if (!g->res->req)
		return ms_error_set(g->err, MS_ENOMEM, "bench: out of memory");
	for (i = 0; i < n; i++) {
		struct loadgen_req *rq = &g->res->req[i];
		uint32_t text, imgs, gen;

		if (cfg->rate > 0)
			t += -log(((double)(ms_splitmix64(&g->rng) >> 11) + 0.5) / 9007199254740992.0) / cfg->rate;
		else
			t = g->ts->t[i] / cfg->rate_scale;
		if (cfg->duration_s > 0 && t > cfg->duration_s)
			break;
		row_shape(g, i, &text, &imgs, &gen);
		rq->sched = t;
		rq->row = (uint32_t)i;
		rq->prompt_tokens = text;
		rq->images = imgs;
		rq->max_tokens = gen;
		rq->tpot = NAN;
		if (text > max_text)
			max_text = text;
	}
	g->res->n = i;
	g->words = malloc((size_t)max_text * 3 + 1);
	if (!g->words)
		return ms_error_set(g->err, MS_ENOMEM, "bench: out of memory");
	for (i = 0; i < max_text; i++)
		memcpy(g->words + i * 3, WORD, 3);
	return 0;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median and P95 of the pool's longer sides, reported beside the results. */
static void pool_sizes(const struct loadgen_img_pool *p, struct loadgen_result *res)
{
	double *side = malloc(p->n * sizeof(double));
	size_t i;

	if (!side)
		return;
	for (i = 0; i < p->n; i++)
		side[i] = p->img[i].w > p->img[i].h ? p->img[i].w : p->img[i].h;
	qsort(side, p->n, sizeof(double), cmp_d);
	res->image_px_median = ms_quantile(side, p->n, 0.50);
	res->image_px_p95 = ms_quantile(side, p->n, 0.95);
	free(side);
}

int loadgen_run(const struct trace_set *ts, const struct loadgen_config *cfg,
		struct loadgen_result *res, struct ms_error *err)
{
	struct lg g = { .cfg = cfg, .ts = ts, .res = res, .err = err, .rng = cfg->seed };
	size_t i;
	int rc;

	memset(res, 0, sizeof(*res));
	res->max_concurrency = cfg->max_concurrency;
	if (!cfg->model)
		return ms_error_set(err, MS_EINVAL, "bench: no model name");
	if ((rc = plan(&g)))
		goto out;
	if (!res->n) {
		rc = ms_error_set(err, MS_EINVAL, "bench: no request to send (empty trace or "
			"--duration too short)");
		goto out;
	}
	res->image_px_median = res->image_px_p95 = NAN; /* known for generated images only */
	if (cfg->image_dir)
		rc = loadgen_img_pool_load_dir(&g.pool, cfg->image_dir, err);
	else if (!(rc = loadgen_img_pool_make_side(&g.pool, cfg->image_pool ? cfg->image_pool : 1,
						   cfg->image_side, cfg->seed, err)))
		pool_sizes(&g.pool, res);
	if (rc)
		goto out;
	if ((rc = net_loop_new(&g.loop, err)))
		goto out_pool;
	if (!(g.arrive = net_timer_new(g.loop, on_arrive, &g))) {
		rc = ms_error_set(err, MS_ENOMEM, "bench: out of memory");
		goto out_loop;
	}
	ms_progress_init(&g.prog, "requests", (double)res->n);
	if (!cfg->progress)
		g.prog.enabled = 0;
	g.t0 = net_now();
	net_timer_start(g.arrive, res->req[0].sched);
	while (g.ended < res->n && !g.failed)
		if (net_loop_run(g.loop)) {
			rc = ms_error_set(err, MS_ENET, "bench: the event loop failed");
			break;
		}
	ms_progress_done(&g.prog);
	if (g.failed)
		rc = -MS_ENOMEM;
	res->duration_s = g.t_end - (res->n ? res->req[0].start : 0);
	net_timer_free(g.arrive);
out_loop:
	for (i = 0; i < g.n_conn; i++) {
		net_client_free(g.all[i]->cl);
		net_sse_release(&g.all[i]->sse);
		free(g.all[i]->itl);
		free(g.all[i]);
	}
	free(g.all);
	net_loop_free(g.loop);
out_pool:
	loadgen_img_pool_release(&g.pool);
out:
	free(g.words);
	free(g.body);
	return rc;
}

void loadgen_result_release(struct loadgen_result *res)
{
	free(res->req);
	free(res->itl);
	memset(res, 0, sizeof(*res));
}

/* ---- the served model's name, from GET /v1/models ---- */

struct models_call {
	struct net_loop *loop;
	char body[8192];
	size_t len;
	int status, err, done;
};

static void m_body(void *arg, const char *b, size_t n)
{
	struct models_call *m = arg;

	if (m->len + n < sizeof(m->body)) {
		memcpy(m->body + m->len, b, n);
		m->len += n;
	}
}

static void m_done(void *arg, int status, int err, const char *reason)
{
	struct models_call *m = arg;

	(void)reason;
	m->status = status;
	m->err = err;
	m->done = 1;
	net_loop_stop(m->loop);
}

int loadgen_fetch_model(const struct loadgen_config *cfg, char *out, size_t cap,
			struct ms_error *err)
{
	static const struct net_call_ops ops = { NULL, m_body, m_done };
	struct models_call m = { 0 };
	struct net_client *cl = NULL;
	json_t *j = NULL;
	const char *id;
	int rc;

	if ((rc = net_loop_new(&m.loop, err)))
		return rc;
	if ((rc = net_client_new(&cl, m.loop, cfg->host, cfg->port, 10, err)) ||
	    (rc = net_client_get(cl, "/v1/models", &ops, &m, err)))
		goto out;
	while (!m.done)
		net_loop_run(m.loop);
	if (m.err || m.status != 200) {
		rc = ms_error_set(err, MS_ENET, "http://%s:%d/v1/models: %s "
			"%d", cfg->host, cfg->port,
				  m.err ? "no answer" : "status", m.status);
		goto out;
	}
	j = json_loadb(m.body, m.len, 0, NULL);
	id = json_string_value(json_object_get(json_array_get(json_object_get(j, "data"), 0), "id"));
	if (!id || strlen(id) >= cap || strpbrk(id, "\"\\")) {
		rc = ms_error_set(err, MS_EPARSE, "http://%s:%d/v1/models: no usable model id; "
			"pass --model",
				  cfg->host, cfg->port);
		goto out;
	}
	snprintf(out, cap, "%s", id);
out:
	json_decref(j);
	net_client_free(cl);
	net_loop_free(m.loop);
	return rc;
}
