/*
 * serve: the front end and the EPD data path of one request.
 *
 * A chat request is parsed once (jansson), its image parts get a content-derived
 * `uuid` (the same in every stage's request, so encoder-cache keys agree), and it
 * goes through: encode (one call per image item, to the encoder policy_route_images
 * picked), prefill (split pools only), then the final call (decode or
 * prefill_decode), whose body is relayed to the client byte for byte. Each call
 * that fails before the client got a byte (connection error, 5xx) takes the backend
 * out and is routed again (up to SERVE__TRIES times); a stream that breaks after
 * bytes went out ends with an error chunk and [DONE]. Charges are released through
 * policy at the moments the gateway observes: item answered, first byte of the final
 * reply, end of the reply, backend failed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve/serve_int.h"

#define SERVE__TRIES 3

static void start_llm(struct serve__rq *q);
static void call_image(struct serve__rq *q, int img, uint32_t pid, int sub);

void serve__stop_req(struct serve__rq *q)
{
	uint32_t i;

	if (!q->finished || q->calls)
		return;
	for (i = 0; q->ec && i < q->n_img; i++)
		json_decref(q->ec[i]);
	free(q->ec);
	free(q->img);
	json_decref(q->kv);
	json_decref(q->req);
	q->s->open_rq--;
	if (q->prev)
		q->prev->next = q->next;
	else
		q->s->live = q->next;
	if (q->next)
		q->next->prev = q->prev;
	free(q);
}

void serve__on_client_close(struct net_req *r, void *arg)
{
	struct serve__rq *q = arg;

	(void)r;
	q->r = NULL;
}

/* Ends the request's accounting: policy, metrics, access log. */
static void finish(struct serve__rq *q, int status)
{
	struct serve *s = q->s;
	double now = net_now(), ttft = q->t_first > 0 ? q->t_first - q->t0 : NAN;

	if (q->finished)
		return;
	q->finished = 1;
	q->status = status;
	if (q->routed)
		serve__policy_rc(s, policy_finished(&s->pol, &q->tk, now, ttft, NAN), "finished");
	serve__count(s, q->n_img > 0, status, ttft, now - q->t0);
	serve__logf(s, "access id=%s key=%s modality=%s images=%u status=%d ttft_ms=%.3f "
		    "e2e_ms=%.3f", q->id, q->key_name, q->n_img ? "image" : "text", q->n_img, status,
		    isnan(ttft) ? -1.0 : ttft * 1e3, (now - q->t0) * 1e3);
}

static void fail_rq(struct serve__rq *q, int status, const char *param, const char *msg)
{
	if (q->r) {
		if (q->streamed) {
			char body[1100], chunk[1200];
			size_t n = net_oai_error_json(body, sizeof(body), status, param, msg);
			int k = snprintf(chunk, sizeof(chunk), "data: %.*s\n\ndata: [DONE]\n\n",
					 (int)n, body);
			net_req_stream_write(q->r, chunk, (size_t)k);
			net_req_stream_end(q->r);
		} else {
			net_req_add_header(q->r, "x-request-id", q->id);
			net_oai_error_reply(q->r, status, param, msg);
		}
		q->r = NULL;
	}
	finish(q, status);
}

/* ---- calls to backends ---- */

static struct serve__call *call_new(struct serve__rq *q, struct serve__backend *b, int img)
{
	struct serve__call *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->q = q;
	c->b = b;
	c->img = img;
	c->pid = b->pid;
	c->c = serve__client_get(b);
	if (!c->c) {
		free(c);
		return NULL;
	}
	return c;
}

/* The call is over: its connection goes back to the backend's idle list. */
static void call_end(struct serve__call *c)
{
	struct serve__rq *q = c->q;

	if (c->prev)
		c->prev->next = c->next;
	else
		q->open = c->next;
	if (c->next)
		c->next->prev = c->prev;
	serve__client_put(c->b, c->c);
	c->b->inflight--;
	q->s->inflight[c->b->kind]--;
	free(c->body.p);
	free(c);
	q->calls--;
}

static void call_head(void *arg, int status, struct net_client *nc)
{
	struct serve__call *c = arg;
	const char *ct = net_client_header(nc, "content-type");

	c->status = status;
	snprintf(c->ctype, sizeof(c->ctype), "%s", ct ? ct : "application/json");
}

static void call_body(void *arg, const char *buf, size_t len)
{
	struct serve__call *c = arg;

	if (serve__buf_add(&c->body, buf, len) < 0)
		c->status = -1;
}

/* Registers c as one of the request's open calls, once its request went out. */
static void call_open(struct serve__call *c)
{
	struct serve__rq *q = c->q;

	q->calls++;
	c->next = q->open;
	if (q->open)
		q->open->prev = c;
	q->open = c;
	c->b->inflight++;
	c->b->calls++;
	q->s->inflight[c->b->kind]++;
}

/* Posts len bytes to the backend (copied at once into the connection's buffer);
 * 0, or -1 when it could not be sent. */
static int call_post_raw(struct serve__call *c, const char *txt, size_t len, const char *rid,
			 const struct net_call_ops *ops)
{
	const char *hdr[] = { "x-request-id", rid, NULL };
	struct ms_error err;

	if (net_client_post(c->c, "/v1/chat/completions", "application/json", txt, len, hdr, ops,
			    c, &err) < 0)
		return -1;
	call_open(c);
	return 0;
}

/* Posts json to the backend; 0, or -1 when it could not be sent. */
static int call_post(struct serve__call *c, json_t *body, const char *rid,
		     const struct net_call_ops *ops)
{
	const char *txt;
	size_t len;

	if (serve__split_dump(&c->q->s->dump, body, &txt, &len) < 0)
		return -1;
	return call_post_raw(c, txt, len, rid, ops);
}

/* A backend error worth another instance: no answer at all, or a 5xx. */
static int retryable(int status, int err)
{
	return err < 0 || status >= 500 || status <= 0;
}

/* Replies to the client with a backend's non-2xx answer as it came. */
static void relay_error(struct serve__rq *q, struct serve__call *c)
{
	if (q->r) {
		net_req_add_header(q->r, "x-request-id", q->id);
		net_req_reply(q->r, c->status, c->ctype, c->body.p ? c->body.p : "", c->body.len);
		q->r = NULL;
	}
	finish(q, c->status);
}

/* ---- encode ---- */

static void image_done(void *arg, int status, int err, const char *reason)
{
	struct serve__call *c = arg;
	struct serve__rq *q = c->q;
	struct serve *s = q->s;
	int img = c->img;
	uint32_t pid = c->pid;
	struct policy_ticket *tk = c->sub ? &c->stk : &q->tk;
	double now = net_now();

	if (retryable(status, err))
		serve__backend_down(c->b, err ? reason : "5xx answer");
	/* the item is off that encoder either way (a failed one releases nothing) */
	serve__policy_rc(s, policy_image_encoded(&s->pol, tk, pid, 1, now) < 0 ? -MS_ERANGE : 0,
			 "image encoded");
	if (q->finished) {
		call_end(c);
		serve__stop_req(q);
		return;
	}
	if (!err && status == 200) {
		json_t *root = json_loadb(c->body.p ? c->body.p : "", c->body.len, 0, NULL);
		json_t *ec = root ? json_object_get(root, "ec_transfer_params") : NULL;
		if (ec && !json_is_null(ec))
			q->ec[img] = json_incref(ec);
		json_decref(root);
		call_end(c);
		if (--q->img_left == 0)
			start_llm(q);
		serve__stop_req(q);
		return;
	}
	if (!retryable(status, err)) {
		relay_error(q, c);
		call_end(c);
		serve__stop_req(q);
		return;
	}
	call_end(c);
	if (++q->attempts >= SERVE__TRIES * q->n_img + SERVE__TRIES) {
		fail_rq(q, 503, NULL, "the encoders failed this request");
	} else {
		/* one image again, on its own ticket so the request's count stays right */
		struct policy_req one = q->prq;
		struct policy_ticket one_tk;
		struct policy_item it;
		one.images = 1;
		one.image_tokens = one.tokens_per_image;
		policy_ticket_init(&one_tk, &one);
		s->retries++;
		if (policy_route_images(&s->pol, &one, &one_tk, now, &it) < 1)
			fail_rq(q, 503, NULL, "no encoder available");
		else
			call_image(q, img, it.inst, 1);
	}
	serve__stop_req(q);
}

static const struct net_call_ops image_ops = { call_head, call_body, image_done };

/* An image charged on encoder pid will not be sent: its charge goes back. */
static void give_back(struct serve__rq *q, uint32_t pid, int sub)
{
	struct policy_ticket one_tk;
	struct policy_req one = q->prq;

	one.images = 1;
	policy_ticket_init(&one_tk, &one);
	serve__policy_rc(q->s, policy_image_encoded(&q->s->pol, sub ? &one_tk : &q->tk, pid, 1,
						    net_now()) < 0 ? -MS_ERANGE : 0, "image");
}

static void call_image(struct serve__rq *q, int img, uint32_t pid, int sub)
{
	struct serve__backend *b = serve__backend_of(q->s, pid);
	struct serve__call *c = b ? call_new(q, b, img) : NULL;
	json_t *body;
	char rid[128];

	if (!c) {
		give_back(q, pid, sub);
		fail_rq(q, 503, NULL, "encoder unreachable");
		return;
	}
	if (sub) {
		struct policy_req one = q->prq;
		one.images = 1;
		one.image_tokens = one.tokens_per_image;
		policy_ticket_init(&c->stk, &one);
		c->sub = 1;
	}
	body = serve__split_encode_body(q->req, q->img[img], q->s->cfg.model);
	snprintf(rid, sizeof(rid), "%s-img%d", q->id, img);
	if (!body || call_post(c, body, rid, &image_ops) < 0) {
		json_decref(body);
		free(c->body.p);
		serve__client_put(b, c->c);
		free(c);
		give_back(q, pid, sub);
		fail_rq(q, 503, NULL, "cannot send to an encoder");
		return;
	}
	json_decref(body);
}

/* ---- prefill, decode / prefill_decode ---- */

/* ec_transfer_params of all items as one object: one item's as it came; several:
 * their keys together, arrays under the same key concatenated (the connector's
 * per-item lists), the first value kept otherwise. Opaque beyond that. */
static json_t *ec_merged(struct serve__rq *q)
{
	json_t *m = NULL;
	uint32_t i;

	for (i = 0; i < q->n_img; i++) {
		const char *k;
		json_t *v;
		if (!q->ec[i])
			continue;
		if (!m) {
			m = json_deep_copy(q->ec[i]);
			continue;
		}
		if (!json_is_object(m) || !json_is_object(q->ec[i]))
			continue;
		json_object_foreach(q->ec[i], k, v) {
			json_t *have = json_object_get(m, k);
			if (!have)
				json_object_set(m, k, v);
			else if (json_is_array(have) && json_is_array(v))
				json_array_extend(have, v);
		}
	}
	return m;
}

static void final_head(void *arg, int status, struct net_client *nc)
{
	call_head(arg, status, nc);
}

static void final_body(void *arg, const char *buf, size_t len)
{
	struct serve__call *c = arg;
	struct serve__rq *q = c->q;

	if (!(q->stream && c->status == 200)) {
		call_body(arg, buf, len);
		return;
	}
	if (!q->streamed) {
		/* the first byte of decode's stream: the prompt is done there */
		q->streamed = 1;
		q->t_first = net_now();
		serve__policy_rc(q->s, policy_first_token(&q->s->pol, &q->tk, q->t_first),
				 "first token");
		if (q->r) {
			net_req_add_header(q->r, "x-request-id", q->id);
			net_req_add_header(q->r, "cache-control", "no-cache");
			net_req_stream_start(q->r, 200, c->ctype);
		}
	}
	if (q->r)
		net_req_stream_write(q->r, buf, len);
}

static void retry_llm(struct serve__rq *q, struct serve__call *c, int err, const char *reason,
		      int back_to_prefill)
{
	serve__backend_down(c->b, err ? reason : "5xx answer");
	call_end(c);
	if (++q->attempts >= SERVE__TRIES) {
		fail_rq(q, 503, NULL, "the backends failed this request");
		return;
	}
	q->s->retries++;
	if (back_to_prefill)
		q->tk.stage = 0;
	start_llm(q);
}

static void final_done(void *arg, int status, int err, const char *reason)
{
	struct serve__call *c = arg;
	struct serve__rq *q = c->q;

	if (q->finished) {
		call_end(c);
		serve__stop_req(q);
		return;
	}
	if (q->streamed) {
		if (err) {
			call_end(c);
			fail_rq(q, 503, NULL, "the backend's stream broke");
		} else {
			if (q->r)
				net_req_stream_end(q->r);
			q->r = NULL;
			call_end(c);
			finish(q, 200);
		}
	} else if (retryable(status, err) && q->r) {
		/* nothing reached the client yet: safe to run it elsewhere */
		retry_llm(q, c, err, reason, 0);
	} else if (status != 200 || err) {
		relay_error(q, c);
		call_end(c);
	} else {
		q->t_first = net_now();
		serve__policy_rc(q->s, policy_first_token(&q->s->pol, &q->tk, q->t_first),
				 "first token");
		if (q->r) {
			net_req_add_header(q->r, "x-request-id", q->id);
			net_req_reply(q->r, 200, c->ctype, c->body.p ? c->body.p : "", c->body.len);
			q->r = NULL;
		}
		call_end(c);
		finish(q, 200);
	}
	serve__stop_req(q);
}

static const struct net_call_ops final_ops = { final_head, final_body, final_done };

static void prefill_done(void *arg, int status, int err, const char *reason)
{
	struct serve__call *c = arg;
	struct serve__rq *q = c->q;
	json_t *root, *kv;

	if (q->finished) {
		call_end(c);
		serve__stop_req(q);
		return;
	}
	if (retryable(status, err)) {
		retry_llm(q, c, err, reason, 1);
		serve__stop_req(q);
		return;
	}
	if (status != 200) {
		relay_error(q, c);
		call_end(c);
		serve__stop_req(q);
		return;
	}
	root = json_loadb(c->body.p ? c->body.p : "", c->body.len, 0, NULL);
	kv = root ? json_object_get(root, "kv_transfer_params") : NULL;
	call_end(c);
	if (!kv || !json_is_object(kv)) {
		json_decref(root);
		fail_rq(q, 502, NULL, "the prefill instance answered without kv_transfer_params");
	} else {
		json_decref(q->kv);
		q->kv = json_incref(kv); /* to decode verbatim */
		json_decref(root);
		serve__policy_rc(q->s, policy_first_token(&q->s->pol, &q->tk, net_now()),
				 "prefill done");
		start_llm(q);
	}
	serve__stop_req(q);
}

static const struct net_call_ops prefill_ops = { call_head, call_body, prefill_done };

/* The stage's body into the gateway's dump buffer (serve__split_stage_body). */
static int stage_body(struct serve__rq *q, enum serve_kind kind, const char **txt, size_t *len)
{
	json_t *ec = kind == SERVE_DECODE ? NULL : ec_merged(q); /* never prefill's handles to decode */

	return serve__split_stage_body(&q->s->dump, q->req, q->img, q->n_img,
				       q->r ? q->raw : NULL, q->raw_len, kind, ec, q->kv, txt, len);
}

static void start_llm(struct serve__rq *q)
{
	struct serve *s = q->s;
	struct serve__backend *b;
	struct serve__call *c;
	const char *txt;
	size_t len;
	uint32_t pid;
	int rc = policy_route_llm(&s->pol, &q->prq, &q->tk, net_now(), &pid);

	if (rc == -MS_ENOTFOUND || rc == -MS_EUNSUPPORTED) {
		fail_rq(q, 503, NULL, q->tk.stage ? "no decode backend available"
			: "no LLM backend available");
		return;
	}
	serve__policy_rc(s, rc, "re-route");
	q->routed = 1;
	b = serve__backend_of(s, pid);
	if (b) { /* the unit a scraped request of that pool is counted in */
		s->tok_sum[b->kind] += (double)(q->tk.pend_prefill + q->tk.pend_rest);
		s->tok_n[b->kind]++;
	}
	c = b ? call_new(q, b, -1) : NULL;
	if (!c) {
		fail_rq(q, 503, NULL, "backend unreachable");
		return;
	}
	rc = stage_body(q, b->kind, &txt, &len);
	if (rc == 0)
		rc = call_post_raw(c, txt, len, q->id,
				   b->kind == SERVE_PREFILL ? &prefill_ops : &final_ops);
	if (rc < 0) {
		free(c->body.p);
		serve__client_put(b, c->c);
		free(c);
		fail_rq(q, 503, NULL, "cannot send to a backend");
	}
}

/* ---- the request's start ---- */

void serve__start(struct serve__rq *q)
{
	struct serve *s = q->s;
	struct policy_item items[SERVE_MAX_IMAGES];
	uint32_t k, j, img = 0;
	int n;

	/* the client's bytes, valid while q->r is (every stage is sent while it is) */
	if (q->r)
		q->raw = net_req_body(q->r, &q->raw_len);
	if (!q->n_img || s->pool_of[SERVE_ENCODE] < 0) {
		start_llm(q); /* text, or an entry pool that encodes itself */
		return;
	}
	n = policy_route_images(&s->pol, &q->prq, &q->tk, net_now(), items);
	if (n < 0) {
		fail_rq(q, 503, NULL, "no encoder available");
		return;
	}
	q->img_left = q->n_img;
	for (k = 0; k < (uint32_t)n; k++)
		for (j = 0; j < items[k].nimg; j++, img++) {
			if (q->finished) /* a send failed: give back what is still charged */
				serve__policy_rc(s, policy_image_encoded(&s->pol, &q->tk, items[k].inst,
									 1, net_now()) < 0 ? -MS_ERANGE : 0, "image");
			else
				call_image(q, (int)img, items[k].inst, 0);
		}
}

void serve__stop_all(struct serve *s)
{
	while (s->live) {
		struct serve__rq *q = s->live;
		while (q->open) {
			struct serve__call *c = q->open;
			q->open = c->next;
			net_client_free(c->c); /* cancels the call: its callbacks never run */
			c->b->inflight--;
			free(c->body.p);
			free(c);
			q->calls--;
		}
		fail_rq(q, 503, NULL, "the gateway is shutting down");
		serve__stop_req(q);
	}
}
