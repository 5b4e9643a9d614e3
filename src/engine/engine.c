/*
 * engine: routes, the life of a request, and the iteration clock of the emulated GPU.
 *
 * A chat request is parsed (engine_chat), checked against the role, turned into an
 * engine_job (tokens, tiles to encode, whether its KV arrived from elsewhere) and
 * submitted to engine_sched, after a handover delay when one applies (KV from a
 * prefill instance, embeddings from the encoder cache; times from perf/). The
 * iteration timer asks the scheduler for the next iteration's duration, waits it
 * divided by --speed, and then emits that iteration's tokens. At --speed 0 time
 * stands still, so a timer pass runs iterations back to back (up to a bound, then
 * yields to the loop so new requests and disconnects are seen).
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "engine/engine_ec.h"
#include "engine/engine_fetch.h"
#include "engine/engine_int.h"

#define SPEED0_ITERS 256 /* iterations per loop pass at --speed 0 */
#define CATCHUP_S 0.05   /* host lag (wall s) the iteration timer makes up, at most */
#define KV_BLOCK 16

static const char *const role_names[] = { "all", "llm", "encode", "prefill", "decode" };

int engine_role_parse(const char *s, enum engine_role *out)
{
	size_t i;

	for (i = 0; i < sizeof(role_names) / sizeof(role_names[0]); i++)
		if (!strcmp(s, role_names[i])) {
			*out = (enum engine_role)i;
			return 0;
		}
	return -MS_EINVAL;
}

const char *engine_role_name(enum engine_role r)
{
	return role_names[r];
}

int engine_port(const struct engine *e)
{
	return net_server_port(e->srv);
}

const char *engine_model_name(const struct engine *e)
{
	return e->perf.model.name;
}

/* ---- request slots ---- */

static struct engine__rq *rq_get(struct engine *e)
{
	struct engine__rq *q = e->free_rq;

	if (q) {
		e->free_rq = q->next_free;
	} else {
		if (!(q = calloc(1, sizeof(*q))))
			return NULL;
		q->delay = NULL;
	}
	{
		struct net_timer *d = q->delay, *ft = q->fetch_timer;
		char *ob = q->obuf;
		size_t oc = q->ocap;
		memset(q, 0, offsetof(struct engine__rq, next_free));
		q->delay = d;
		q->fetch_timer = ft;
		q->obuf = ob;
		q->ocap = oc;
	}
	q->eng = e;
	q->next_live = e->live.next_live;
	q->prev_live = &e->live;
	e->live.next_live->prev_live = q;
	e->live.next_live = q;
	return q;
}

static void rq_put(struct engine__rq *q)
{
	struct engine *e = q->eng;

	if (q->delay)
		net_timer_stop(q->delay);
	if (q->n_fetch)
		engine__fetch_cancel(q);
	engine_chat_release(&q->chat);
	q->prev_live->next_live = q->next_live;
	q->next_live->prev_live = q->prev_live;
	q->r = NULL;
	q->next_free = e->free_rq;
	e->free_rq = q;
}

/* ---- the iteration clock ---- */

static void kick(struct engine *e);

static void mark_dirty(struct engine *e, struct engine__rq *q)
{
	if (e->n_dirty == e->cap_dirty) {
		size_t cap = e->cap_dirty ? e->cap_dirty * 2 : 256;
		struct engine__rq **d = realloc(e->dirty, cap * sizeof(*d));
		if (!d) {
			engine__flush(q); /* no room to defer: write now */
			return;
		}
		e->dirty = d;
		e->cap_dirty = cap;
	}
	q->dirty = 1;
	e->dirty[e->n_dirty++] = q;
}

/* Writes what this pass streamed. Requests that ended in the pass were flushed at
 * their end and have dirty == 0; none are reused before this runs, since new
 * requests and disconnects arrive only from I/O callbacks, outside the pass. */
static void flush_dirty(struct engine *e)
{
	size_t i;

	for (i = 0; i < e->n_dirty; i++)
		if (e->dirty[i]->dirty)
			engine__flush(e->dirty[i]);
	e->n_dirty = 0;
}

static void emit(void *ctx, struct engine_job *j, enum engine_ev ev)
{
	struct engine *e = ctx;
	struct engine__rq *q = j->user;
	double now = e->iter_now; /* tokens leave at the iteration's end */

	if (ev == ENGINE_EV_TOKEN) {
		if (q->kind == ENGINE__FULL || q->kind == ENGINE__DECODE || q->kind == ENGINE__PREFILL)
			engine_hist_observe(j->emitted == 1 ? &e->met.ttft : &e->met.itl,
					    now - (j->emitted == 1 ? q->t_arrive : q->t_last));
		q->t_last = now;
		e->met.gen_tokens++;
		if (q->chat.stream) {
			engine__stream_token(q, j->emitted >= j->max_tokens);
			if (!q->dirty && j->emitted < j->max_tokens)
				mark_dirty(e, q);
		}
		return;
	}
	engine_hist_observe(&e->met.e2e, now - q->t_arrive);
	e->met.success[q->chat.has_max_tokens ? ENGINE_FIN_LENGTH : ENGINE_FIN_STOP]++;
	e->met.prompt_tokens += q->job.prompt;
	if (q->chat.stream)
		engine__stream_done(q);
	else
		engine__reply_whole(q);
	rq_put(q);
}

/*
 * The iteration timer: it ends the iteration under way (then, at --speed 0, runs
 * more back to back), or, when none is, starts the next one. A start is always
 * one timer pass away from what asked for it (kick), so every request that
 * arrives in the same loop pass, the same instant, joins the same iteration, as
 * the simulator's instances do (docs/sim.md); starting at once gave the first of
 * them an iteration alone.
 */
static void on_iter(void *arg)
{
	struct engine *e = arg;
	double d, t0;
	int i;

	e->iter_pending = 0;
	e->iter_now = net_now();
	if (!e->sched.iter_open) {
		d = engine_sched_begin(&e->sched, e->iter_now);
		if (d < 0) {
			e->iter_chain = 0;
			return;
		}
		/*
		 * Back to back with the last iteration, this one began on the emulated GPU
		 * when that one ended (iter_due), not when the host got round to it: the
		 * host's lag (a timer that fires late, a descheduled process on a busy
		 * machine) is made up by the next iterations instead of adding to every
		 * step, as the simulator's instances run. Up to CATCHUP_S behind; a
		 * longer stall is let go.
		 */
		t0 = e->iter_now;
		if (e->iter_chain && e->cfg.speed > 0)
			t0 = fmax(e->iter_due, e->iter_now - CATCHUP_S);
		e->iter_due = t0 + (e->cfg.speed > 0 ? d / e->cfg.speed : 0);
		e->iter_pending = 1;
		net_timer_start(e->iter, fmax(0, e->iter_due - e->iter_now));
		return;
	}
	engine_sched_end(&e->sched, emit, e);
	if (e->cfg.speed <= 0)
		for (i = 0; i < SPEED0_ITERS && engine_sched_begin(&e->sched, e->iter_now) >= 0; i++)
			engine_sched_end(&e->sched, emit, e);
	flush_dirty(e);
	e->iter_chain = 1;
	kick(e);
}

static void kick(struct engine *e)
{
	if (e->iter_pending || e->sched.iter_open)
		return;
	e->iter_pending = 1;
	net_timer_start(e->iter, 0);
}

/* ---- requests ---- */

static void on_client_close(struct net_req *r, void *arg)
{
	struct engine__rq *q = arg;
	struct engine *e = q->eng;

	(void)r;
	/* the slot and the KV are freed now, not when the job would have ended */
	if (q->n_fetch)
		engine__fetch_cancel(q);
	engine_sched_abort(&e->sched, &q->job);
	e->met.success[ENGINE_FIN_ABORT]++;
	rq_put(q);
	kick(e);
}

static void submit(struct engine__rq *q)
{
	struct engine *e = q->eng;
	int rc = engine_sched_submit(&e->sched, &q->job, net_now());

	if (rc == -MS_ERANGE) {
		e->met.refused_429++;
		net_req_on_close(q->r, NULL, NULL);
		engine__error(q->r, 429, NULL, "the engine's queue is full (%u waiting); retry "
			"later",
			      engine_sched_n_wait(&e->sched));
		rq_put(q);
		return;
	}
	if (rc == -MS_ENOMEM) {
		net_req_on_close(q->r, NULL, NULL);
		engine__error(q->r, 503, NULL, "out of memory");
		rq_put(q);
		return;
	}
	if (rc) {
		net_req_on_close(q->r, NULL, NULL);
		engine__error(q->r, 400, "max_tokens",
			      "this request needs %llu KV tokens; the engine holds %llu",
			      (unsigned long long)engine_sched_job_kv(&q->job),
			      (unsigned long long)e->sched.cfg.kv_tokens);
		rq_put(q);
		return;
	}
	/* A whole (non-streamed) reply sends its headers now and its body as one chunk
	 * at the end: evhttp watches a connection for the client's close only while it
	 * writes a reply, so this is what lets a client that gives up free its slot at
	 * once, streamed or not. The status can no longer change: from here the only
	 * outcomes are the completion or the engine shutting down. */
	if (!q->chat.stream) {
		net_req_stream_start(q->r, 200, "application/json");
		q->whole_started = 1;
	}
	kick(e);
}

static void on_delay(void *arg)
{
	submit(arg);
}

/* Image items -> encode work, prompt tokens; encoder-cache lookups and writes. */
static int plan_images(struct engine__rq *q, double *delay_s)
{
	struct engine *e = q->eng;
	const struct model_spec *m = &e->perf.model;
	uint32_t i, img_tokens = 0;
	int looks = e->cfg.ec_dir && (q->kind == ENGINE__FULL || q->kind == ENGINE__PREFILL);

	for (i = 0; i < q->chat.n_images; i++) {
		struct engine_image_item *it = &q->chat.images[i];
		struct engine_ec_entry ent;
		int hit = looks && q->kind != ENGINE__ENCODE && engine_ec_get(e->cfg.ec_dir, it->key, &ent);

		if (it->is_ref && q->kind != ENGINE__DECODE) {
			if (!hit) {
				engine__error(q->r, 400, "uuid", "image_embeds: no encoder-cache "
					"entry for uuid '%s'%s",
					      it->key, e->cfg.ec_dir ? "" : " (no --ec-storage)");
				return -1;
			}
			it->tiles = ent.tiles;
		}
		if (looks)
			hit ? e->met.ec_hits++ : e->met.ec_misses++;
		if (hit) {
			*delay_s += perf_embed_transfer_s(&e->perf, ent.tokens, PERF_LINK_IB);
		} else if (q->kind != ENGINE__DECODE) {
			q->job.enc_tiles += it->tiles;
			q->job.n_enc_images++;
		}
		img_tokens += it->tiles * (uint32_t)m->tokens_per_tile;
	}
	if (m->arch == MODEL_ARCH_CROSS) {
		q->job.prompt = q->chat.text_tokens;
		q->job.cross = img_tokens;
	} else {
		q->job.prompt = q->chat.text_tokens + img_tokens;
	}
	return 0;
}

static void write_ec(struct engine__rq *q)
{
	struct engine *e = q->eng;
	uint32_t i;

	for (i = 0; i < q->chat.n_images; i++) {
		const struct engine_image_item *it = &q->chat.images[i];
		struct engine_ec_entry ent = { it->tiles, it->tiles * (uint32_t)e->perf.model.tokens_per_tile,
					       it->w, it->h };
		struct ms_error err;
		if (!it->is_ref)
			(void)engine_ec_put(e->cfg.ec_dir, it->key, &ent, &err); /* a failed write is a later miss */
	}
}

static int pick_kind(struct engine__rq *q)
{
	struct engine *e = q->eng;
	struct engine_chat *c = &q->chat;

	switch (e->cfg.role) {
	case ENGINE_ROLE_ENCODE:
		if (!c->n_images) {
			engine__error(q->r, 400, "messages", "encode instance: the request holds "
				"no image item");
			return -1;
		}
		if (c->stream) {
			engine__error(q->r, 400, "stream", "encode instance: stream must be false");
			return -1;
		}
		if (c->has_max_tokens && c->max_tokens != 1) {
			engine__error(q->r, 400, "max_tokens", "encode instance: max_tokens must "
				"be 1 or absent");
			return -1;
		}
		q->kind = ENGINE__ENCODE;
		return 0;
	case ENGINE_ROLE_DECODE:
		q->kind = c->do_remote_prefill ? ENGINE__DECODE : ENGINE__FULL;
		break;
	default: /* prefill, llm, all */
		if (c->do_remote_prefill) {
			engine__error(q->r, 400, "kv_transfer_params", "do_remote_prefill: this "
				"instance is not a decode instance (--role decode)");
			return -1;
		}
		q->kind = c->do_remote_decode ? ENGINE__PREFILL : ENGINE__FULL;
		break;
	}
	if (q->kind == ENGINE__PREFILL && c->stream) {
		engine__error(q->r, 400, "stream", "prefill for a remote decode: stream must be "
			"false");
		return -1;
	}
	return 0;
}

static void set_ids(struct engine__rq *q)
{
	struct engine *e = q->eng;
	const char *xid = net_req_header(q->r, "x-request-id");
	char safe[64];
	size_t k = 0;

	if (xid) {
		net_req_add_header(q->r, "x-request-id", xid);
		for (; *xid && k + 1 < sizeof(safe); xid++)
			if ((*xid >= '0' && *xid <= '9') || (*xid >= 'a' && *xid <= 'z') ||
			    (*xid >= 'A' && *xid <= 'Z') || *xid == '-' || *xid == '_' || *xid == '.')
				safe[k++] = *xid;
	}
	safe[k] = 0;
	if (k)
		snprintf(q->id, sizeof(q->id), "chatcmpl-%s", safe);
	else
		snprintf(q->id, sizeof(q->id), "chatcmpl-%s-%llx", e->engine_id,
			 (unsigned long long)++e->next_id);
	q->created = (long)time(NULL);
	/* the chunk head after the id changes once a second: formatted then, copied here */
	if (q->created != e->tail_sec) {
		e->tail_sec = q->created;
		e->tail_len = (size_t)snprintf(e->tail, sizeof(e->tail),
					       "\",\"object\":\"chat.completion.chunk\",\"created\":%ld,"
					       "\"model\":%s,\"choices\":[{\"index\":0,",
					       q->created, e->model_json);
	}
	k = strlen(q->id);
	memcpy(q->pre, "{\"id\":\"", 7);
	memcpy(q->pre + 7, q->id, k);
	memcpy(q->pre + 7 + k, e->tail, e->tail_len);
	q->pre_len = 7 + k + e->tail_len;
}

/* The request is parsed and its images known: role checks, work, then the queue. */
static void admit_request(struct engine__rq *q)
{
	struct engine *e = q->eng;
	struct net_req *r = q->r;
	double delay = 0;

	if (pick_kind(q) || plan_images(q, &delay))
		goto drop;
	q->job.user = q;
	q->job.max_tokens = q->kind == ENGINE__ENCODE ? 0 : q->kind == ENGINE__PREFILL ? 1 : q->chat.max_tokens;
	if (q->kind == ENGINE__ENCODE)
		q->job.prompt = 0;
	if (q->kind == ENGINE__DECODE) {
		q->job.prefilled = 1;
		delay += perf_kv_transfer_s(&e->perf, q->job.prompt, PERF_LINK_IB);
	}
	/* CPU preprocessing of the images it encodes, before the queue (as sim does) */
	delay += engine_sched_prep_s(&e->sched, &q->job);
	q->prompt_report = q->job.prompt;
	if (e->cfg.ec_dir && (q->kind == ENGINE__ENCODE || e->cfg.role == ENGINE_ROLE_ALL))
		write_ec(q);
	net_req_on_close(r, on_client_close, q);
	if (delay > 0 && e->cfg.speed > 0) {
		if (!q->delay && !(q->delay = net_timer_new(e->loop, on_delay, q))) {
			net_req_on_close(r, NULL, NULL);
			engine__error(r, 503, NULL, "out of memory");
			goto drop;
		}
		net_timer_start(q->delay, delay / e->cfg.speed);
		return;
	}
	submit(q);
	return;
drop:
	e->met.errors_4xx++;
	rq_put(q);
}

static void after_fetch(struct engine__rq *q, int ok)
{
	if (ok) {
		admit_request(q);
		return;
	}
	net_req_on_close(q->r, NULL, NULL);
	engine__error(q->r, q->chat_err.status, q->chat_err.param, "%s", q->chat_err.msg);
	q->eng->met.errors_4xx++;
	rq_put(q);
}

static void h_chat(struct net_req *r, void *arg)
{
	struct engine *e = arg;
	struct engine_chat_error ce;
	struct engine__rq *q;
	const char *body;
	size_t len;

	if (net_req_body_too_large(r)) {
		engine__error(r, 413, NULL, "request body larger than %zu bytes", e->cfg.max_body);
		return;
	}
	q = rq_get(e);
	if (!q) {
		engine__error(r, 503, NULL, "out of memory");
		return;
	}
	q->r = r;
	q->t_arrive = net_now();
	set_ids(q);
	body = net_req_body(r, &len);
	if (engine_chat_parse(&q->chat, body, len, &e->perf.model, &ce)) {
		engine__error(r, ce.status, ce.param, "%s", ce.msg);
		goto drop;
	}
	if (q->chat.model[0] && strcmp(q->chat.model, e->perf.model.name)) {
		engine__error(r, 404, "model", "The model `%.100s` does not exist.", q->chat.model);
		goto drop;
	}
	switch (engine__fetch_start(q, after_fetch)) {
	case 0:
		net_req_on_close(r, on_client_close, q);
		return; /* after_fetch continues */
	case 1:
		admit_request(q);
		return;
	default:
		engine__error(r, q->chat_err.status, q->chat_err.param, "%s", q->chat_err.msg);
		goto drop;
	}
drop:
	e->met.errors_4xx++;
	rq_put(q);
}

static void h_models(struct net_req *r, void *arg)
{
	struct engine *e = arg;
	char b[600];
	int n = snprintf(b, sizeof(b),
			 "{\"object\":\"list\",\"data\":[{\"id\":%s,\"object\":\"model\","
				"\"created\":0,\"owned_by\":\"modserve\",\"root\":%s,"
					"\"parent\":null,\"max_model_len\":%d}]}",
			 e->model_json, e->model_json, e->perf.model.max_context);

	net_req_reply(r, 200, "application/json", b, (size_t)n);
}

static void h_health(struct net_req *r, void *arg)
{
	(void)arg;
	net_req_reply(r, 200, NULL, "", 0);
}

static void h_metrics(struct net_req *r, void *arg)
{
	struct engine *e = arg;
	struct engine_gauges g = { e->perf.model.name, e->engine_id, engine_role_name(e->cfg.role),
				   engine_sched_n_run(&e->sched), engine_sched_n_wait(&e->sched),
				   e->sched.cfg.kv_tokens ? (double)engine_sched_kv_used(&e->sched) / (double)e->sched.cfg.kv_tokens : 0,
				   e->sched.cfg.kv_tokens, KV_BLOCK };
	size_t n = engine_metrics_render(&e->met, &g, NULL, 0);
	char *b = malloc(n + 1);

	if (!b) {
		engine__error(r, 503, NULL, "out of memory");
		return;
	}
	engine_metrics_render(&e->met, &g, b, n + 1);
	net_req_reply(r, 200, "text/plain; version=0.0.4", b, n);
	free(b);
}

static void h_other(struct net_req *r, void *arg)
{
	(void)arg;
	engine__error(r, 404, NULL, "%s %s: not found", net_req_method(r), net_req_path(r));
}

int engine_new(struct engine **out, struct net_loop *loop, const struct engine_config *cfg,
	       struct ms_error *err)
{
	struct engine *e = calloc(1, sizeof(*e));
	const struct model_spec *m;
	struct engine_sched_cfg sc;
	char esc[150];
	int rc;

	*out = NULL;
	if (!e)
		return ms_error_set(err, MS_ENOMEM, "engine: out of memory");
	e->cfg = *cfg;
	e->loop = loop;
	e->live.next_live = e->live.prev_live = &e->live;
	engine_metrics_init(&e->met);
	if ((rc = perf_open(&e->perf, cfg->model, cfg->gpu, NULL, cfg->profile, err)))
		goto fail_perf;
	m = &e->perf.model;
	if (!e->cfg.tp)
		e->cfg.tp = m->default_tp;
	sc = (struct engine_sched_cfg){ &e->perf, e->cfg.tp, cfg->max_seqs, cfg->token_budget,
					cfg->kv_tokens ? cfg->kv_tokens : perf_kv_capacity_tokens(&e->perf, e->cfg.tp),
					cfg->max_queue, KV_BLOCK };
	if (!sc.kv_tokens && cfg->role != ENGINE_ROLE_ENCODE) {
		rc = ms_error_set(err, MS_ERANGE, "engine: %s does not fit on %d x %s (no room for "
			"a KV cache); raise --tp",
				  m->name, e->cfg.tp, e->perf.gpu.name);
		goto fail_profile;
	}
	if (!sc.kv_tokens)
		sc.kv_tokens = 1;
	/* https image URLs: the CA file is read now, so a bad one stops the start */
	if ((rc = net_tls_client_new(&e->tls, cfg->ca_file, cfg->tls_insecure, err)))
		goto fail_profile;
	if ((rc = engine_sched_init(&e->sched, &sc, err)) < 0)
		goto fail_tls;
	{ /* the model name as a JSON string: it comes from a spec file, kept plain */
		size_t i, k = 0;
		for (i = 0; m->name[i] && k + 3 < sizeof(esc); i++)
			if (m->name[i] != '"' && m->name[i] != '\\' && (unsigned char)m->name[i] >= 0x20)
				esc[k++] = m->name[i];
		esc[k] = 0;
	}
	snprintf(e->model_json, sizeof(e->model_json), "\"%s\"", esc);
	snprintf(e->engine_id, sizeof(e->engine_id), "%s-%d", engine_role_name(cfg->role),
		 (int)(net_now() * 1000) % 100000);
	if (!(e->iter = net_timer_new(loop, on_iter, e))) {
		rc = ms_error_set(err, MS_ENOMEM, "engine: out of memory");
		goto fail_sched;
	}
	if ((rc = net_server_new(&e->srv, loop, cfg->host, cfg->port, cfg->max_body, err)))
		goto fail_srv;
	if (cfg->limits.header_timeout_s || cfg->limits.body_timeout_s ||
	    cfg->limits.idle_timeout_s || cfg->limits.max_conns)
		net_server_set_limits(e->srv, &cfg->limits);
	if ((rc = net_server_route(e->srv, "POST", "/v1/chat/completions", h_chat, e, err)) ||
	    (rc = net_server_route(e->srv, "GET", "/v1/models", h_models, e, err)) ||
	    (rc = net_server_route(e->srv, "GET", "/health", h_health, e, err)) ||
	    (rc = net_server_route(e->srv, "GET", "/metrics", h_metrics, e, err)) ||
	    (rc = net_server_route(e->srv, NULL, NULL, h_other, e, err)))
		goto fail_route;
	snprintf(e->engine_id, sizeof(e->engine_id), "%s-%d", engine_role_name(cfg->role),
		 engine_port(e));
	*out = e;
	return 0;
fail_route:
	net_server_free(e->srv);
fail_srv:
	net_timer_free(e->iter);
fail_sched:
	engine_sched_release(&e->sched);
fail_tls:
	net_tls_client_free(e->tls);
fail_profile:
	perf_release(&e->perf);
fail_perf:
	free(e);
	return rc;
}

void engine_drain(struct engine *e)
{
	struct engine__rq *q;

	/* requests still open get an answer: an error chunk mid-stream, 503 otherwise */
	while ((q = e->live.next_live) != &e->live) {
		engine_sched_abort(&e->sched, &q->job);
		net_req_on_close(q->r, NULL, NULL);
		if (q->streaming)
			engine__stream_error(q, "the engine is shutting down");
		else if (q->whole_started)
			engine__whole_error(q, "the engine is shutting down");
		else
			engine__error(q->r, 503, NULL, "the engine is shutting down");
		rq_put(q);
	}
}

void engine_free(struct engine *e)
{
	struct engine__rq *q;

	if (!e)
		return;
	engine_drain(e);
	net_server_free(e->srv);
	net_timer_free(e->iter);
	engine_sched_release(&e->sched);
	while ((q = e->free_rq)) {
		e->free_rq = q->next_free;
		net_timer_free(q->delay);
		net_timer_free(q->fetch_timer);
		free(q->obuf);
		free(q);
	}
	net_tls_client_free(e->tls);
	perf_release(&e->perf);
	free(e->scratch);
	free(e->dirty);
	free(e);
}
