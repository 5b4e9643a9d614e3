/*
 * serve_front: the gateway's HTTP front end: the OpenAI routes, request checks
 * (size, JSON, types, model, image count) with the engine's error bodies (net_oai),
 * x-request-id (accepted when sane, made otherwise, echoed), the content-derived
 * uuid on every image part, and the policy's view of the request.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "serve/serve_int.h"

static uint32_t words(const char *t)
{
	uint32_t n = 0;
	int in = 0;

	for (; *t; t++) {
		int sp = isspace((unsigned char)*t);
		if (!sp && !in)
			n++;
		in = !sp;
	}
	return n;
}

/* 64-bit FNV-1a of the item's URL (a data: URL holds the bytes): the same image gives
 * the same key in every stage, without recomputing vLLM's own mm_hash. */
static void content_uuid(const char *s, char *out, size_t cap)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	snprintf(out, cap, "ms-%016llx", (unsigned long long)h);
}

static const char *part_url(json_t *part)
{
	json_t *u = json_object_get(part, "image_url");

	if (json_is_string(u))
		return json_string_value(u);
	return json_string_value(json_object_get(u, "url"));
}

static void error_reply(struct net_req *r, const char *id, int status, const char *param,
			const char *msg)
{
	if (id)
		net_req_add_header(r, "x-request-id", id);
	net_oai_error_reply(r, status, param, msg);
}

static void set_id(struct serve *s, struct net_req *r, char *id, size_t cap)
{
	const char *h = net_req_header(r, "x-request-id");
	size_t n = h ? strlen(h) : 0;

	if (n && n < 64 && strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "0123456789-_.:") == n)
		snprintf(id, cap, "%s", h);
	else
		snprintf(id, cap, "serve-%llx-%llu", (unsigned long long)s->id_base,
			 (unsigned long long)++s->next_id);
}

/* Walks the messages: text words, image parts (uuid set); 0 or an error message. */
static const char *scan(struct serve__rq *q, json_t *msgs, uint64_t *text, const char **param)
{
	size_t i, j;
	json_t *m, *p;
	uint32_t cap = 0;

	*text = 0;
	json_array_foreach(msgs, i, m) {
		json_t *content = json_object_get(m, "content");
		if (!json_is_object(m)) {
			*param = "messages";
			return "each message must be an object";
		}
		if (json_is_string(content)) {
			*text += words(json_string_value(content));
			continue;
		}
		if (!json_is_array(content))
			continue;
		json_array_foreach(content, j, p) {
			const char *type = json_string_value(json_object_get(p, "type"));
			if (!type)
				continue;
			if (!strcmp(type, "text") && json_is_string(json_object_get(p, "text"))) {
				*text += words(json_string_value(json_object_get(p, "text")));
			} else if (!strcmp(type, "image_url")) {
				const char *url = part_url(p);
				char uuid[32];
				if (!url) {
					*param = "image_url";
					return "an image_url part needs a url string";
				}
				if (q->n_img == SERVE_MAX_IMAGES) {
					*param = "messages";
					return "too many images in one request";
				}
				if (q->n_img == cap) {
					json_t **n;
					cap = cap ? cap * 2 : 4;
					n = realloc(q->img, cap * sizeof(*n));
					if (!n)
						return "out of memory";
					q->img = n;
				}
				if (!json_is_string(json_object_get(p, "uuid"))) {
					content_uuid(url, uuid, sizeof(uuid));
					json_object_set_new(p, "uuid", json_string(uuid));
				}
				q->img[q->n_img++] = p;
			}
		}
	}
	return NULL;
}

/* 0 when the request may pass; 401 answered otherwise (same words for every failure). */
static int authorize(struct serve *s, struct net_req *r, const char *id, const char **name)
{
	*name = "-";
	if (!s->n_keys)
		return 0;
	*name = serve__key_check(s, net_req_header(r, "authorization"));
	if (*name)
		return 0;
	net_req_add_header(r, "www-authenticate", "Bearer");
	error_reply(r, id, 401, NULL, "invalid or missing API key");
	serve__count(s, 0, 401, -1, 0);
	return -1;
}

static void h_chat(struct net_req *r, void *arg)
{
	struct serve *s = arg;
	struct serve__rq *q;
	json_error_t je;
	json_t *root, *msgs, *model, *mt;
	const char *body, *err, *param = NULL;
	char id[96], msg[300];
	uint64_t text, out = 16;
	const char *key;
	size_t len;

	set_id(s, r, id, sizeof(id));
	if (authorize(s, r, id, &key))
		return;
	if (net_req_body_too_large(r)) {
		snprintf(msg, sizeof(msg), "request body larger than %zu bytes", s->cfg.max_body);
		error_reply(r, id, 413, NULL, msg);
		serve__count(s, 0, 413, -1, 0);
		return;
	}
	body = net_req_body(r, &len);
	root = json_loadb(body ? body : "", len, 0, &je);
	if (!root || !json_is_object(root)) {
		snprintf(msg, sizeof(msg), "malformed JSON: %s (line %d, column %d)",
			 root ? "not an object" : je.text, je.line, je.column);
		json_decref(root);
		error_reply(r, id, 400, NULL, msg);
		serve__count(s, 0, 400, -1, 0);
		return;
	}
	msgs = json_object_get(root, "messages");
	model = json_object_get(root, "model");
	if (!json_is_array(msgs) || (model && !json_is_string(model))) {
		json_decref(root);
		error_reply(r, id, 400, json_is_array(msgs) ? "model" : "messages",
			    json_is_array(msgs) ? "model must be a string" : "messages must be a list");
		serve__count(s, 0, 400, -1, 0);
		return;
	}
	if (model && strcmp(json_string_value(model), s->cfg.model)) {
		snprintf(msg, sizeof(msg), "The model `%.100s` does not exist.",
			 json_string_value(model));
		json_decref(root);
		error_reply(r, id, 404, "model", msg);
		serve__count(s, 0, 404, -1, 0);
		return;
	}
	q = calloc(1, sizeof(*q));
	if (!q) {
		json_decref(root);
		error_reply(r, id, 503, NULL, "out of memory");
		return;
	}
	q->s = s;
	q->req = root;
	q->t0 = net_now();
	snprintf(q->id, sizeof(q->id), "%s", id);
	snprintf(q->key_name, sizeof(q->key_name), "%s", key);
	q->next = s->live;
	if (s->live)
		s->live->prev = q;
	s->live = q;
	s->open_rq++;
	err = scan(q, msgs, &text, &param);
	if (!err && q->n_img && !(q->ec = calloc(q->n_img, sizeof(*q->ec))))
		err = "out of memory";
	q->r = r;
	if (err) {
		q->finished = 1;
		error_reply(r, id, 400, param, err);
		serve__count(s, q->n_img > 0, 400, -1, 0);
		q->r = NULL;
		serve__stop_req(q);
		return;
	}
	q->stream = json_is_true(json_object_get(root, "stream"));
	mt = json_object_get(root, "max_completion_tokens");
	if (!json_is_integer(mt))
		mt = json_object_get(root, "max_tokens");
	if (json_is_integer(mt) && json_integer_value(mt) > 0)
		out = (uint64_t)json_integer_value(mt);
	q->prq.modality = q->n_img ? POLICY_IMAGE : POLICY_TEXT;
	q->prq.images = q->n_img;
	q->prq.tokens_per_image = s->cfg.image_tokens;
	q->prq.text_tokens = text ? text : 1;
	q->prq.image_tokens = (uint64_t)q->n_img * s->cfg.image_tokens;
	q->prq.prompt_tokens = q->prq.text_tokens + q->prq.image_tokens;
	q->prq.output_tokens = out;
	q->prq.arrival = q->t0;
	policy_ticket_init(&q->tk, &q->prq);
	net_req_on_close(r, serve__on_client_close, q);
	serve__start(q);
	serve__stop_req(q);
}

static void h_models(struct net_req *r, void *arg)
{
	struct serve *s = arg;
	const char *key;
	char b[400];
	json_t *m;

	if (authorize(s, r, NULL, &key))
		return;
	m = json_string(s->cfg.model);
	char *name = m ? json_dumps(m, JSON_ENCODE_ANY) : NULL;
	int n = snprintf(b, sizeof(b), "{\"object\":\"list\",\"data\":[{\"id\":%s,\"object\":"
			 "\"model\",\"created\":0,\"owned_by\":\"modserve\",\"root\":%s,"
			 "\"parent\":null}]}", name ? name : "\"\"", name ? name : "\"\"");

	free(name);
	json_decref(m);
	net_req_reply(r, 200, "application/json", b, (size_t)n);
}

/* 200 while every stage a request needs has a ready backend, 503 otherwise. */
static void h_health(struct net_req *r, void *arg)
{
	struct serve *s = arg;
	int k;

	for (k = 0; k < SERVE_KINDS; k++)
		if (s->pool_of[k] >= 0 && k != SERVE_ENCODE &&
		    !policy_pool_ready(&s->pol, s->pool_of[k])) {
			net_oai_error_reply(r, 503, NULL, "a pool has no healthy backend");
			return;
		}
	net_req_reply(r, 200, NULL, "", 0);
}

static void h_metrics(struct net_req *r, void *arg)
{
	serve__metrics_reply(arg, r);
}

static void h_other(struct net_req *r, void *arg)
{
	char msg[300];

	(void)arg;
	snprintf(msg, sizeof(msg), "%.40s %.200s: not found", net_req_method(r), net_req_path(r));
	net_oai_error_reply(r, 404, NULL, msg);
}

int serve_new(struct serve **out, struct net_loop *l, const struct serve_config *cfg,
	      const struct serve_pools *pools, struct ms_error *err)
{
	struct serve *s = calloc(1, sizeof(*s));
	int rc;

	*out = NULL;
	if (!s)
		return ms_error_set(err, MS_ENOMEM, "serve: out of memory");
	s->cfg = *cfg;
	s->loop = l;
	/* ids differ between gateway replicas and restarts without a coordinator */
	s->id_base = (uint64_t)(net_now() * 1e6) ^ ((uint64_t)getpid() << 40);
	if (!s->cfg.model)
		s->cfg.model = "llama-3.2-11b-vision";
	if (s->cfg.probe_s <= 0)
		s->cfg.probe_s = 1;
	if (s->cfg.backend_timeout_s <= 0)
		s->cfg.backend_timeout_s = 300;
	if (!s->cfg.target_inflight)
		s->cfg.target_inflight = 32;
	if ((rc = serve__backends_init(s, pools, err)) < 0 ||
	    (rc = net_server_new(&s->srv, l, cfg->host, cfg->port, cfg->max_body, err)) < 0 ||
	    (rc = net_server_route(s->srv, "POST", "/v1/chat/completions", h_chat, s, err)) < 0 ||
	    (rc = net_server_route(s->srv, "GET", "/v1/models", h_models, s, err)) < 0 ||
	    (rc = net_server_route(s->srv, "GET", "/health", h_health, s, err)) < 0 ||
	    (rc = net_server_route(s->srv, "GET", "/metrics", h_metrics, s, err)) < 0 ||
	    (rc = serve__admin_routes(s, err)) < 0 ||
	    (rc = net_server_route(s->srv, NULL, NULL, h_other, s, err)) < 0) {
		serve_free(s);
		return rc;
	}
	serve__probe_start(s);
	*out = s;
	return 0;
}

int serve_port(const struct serve *s)
{
	return net_server_port(s->srv);
}

void serve_free(struct serve *s)
{
	if (!s)
		return;
	serve__stop_all(s);
	if (s->probe)
		net_timer_free(s->probe);
	net_server_free(s->srv);
	serve__backends_free(s);
	free(s->keys);
	free(s);
}
