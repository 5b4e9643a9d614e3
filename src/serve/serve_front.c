/*
 * serve_front: the gateway's HTTP front end: the OpenAI routes, request checks
 * (size, JSON, types, model, image count) with the engine's error bodies (net_oai),
 * API keys and their rate limits (429 with retry-after), x-request-id (accepted when
 * sane, made otherwise, echoed), the content-derived uuid on every image part, the
 * policy's view of the request, an access-log line for every request refused here
 * (serve.c logs the others), and the front end's metrics (connections, deadlines).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "serve/serve_int.h"

static void error_reply(struct net_req *r, const char *id, int status, const char *param,
			const char *msg)
{
	if (id)
		net_req_add_header(r, "x-request-id", id);
	net_oai_error_reply(r, status, param, msg);
}

/* A request refused before routing: answered, counted and logged like the others. */
static void refuse(struct serve *s, struct net_req *r, const char *id, const char *key,
		   uint32_t images, int status, const char *param, const char *msg, double t0)
{
	error_reply(r, id, status, param, msg);
	serve__count(s, images > 0, status, -1, 0);
	serve__logf(s, "access id=%s key=%s modality=%s images=%u status=%d ttft_ms=-1 "
		    "e2e_ms=%.3f", id, key, images ? "image" : "text", images, status,
		    (net_now() - t0) * 1e3);
}

/* 429 with retry-after in whole seconds (at least 1) and the OpenAI-style body. */
static void limit_reply(struct serve *s, struct net_req *r, const char *id, const char *key,
			uint32_t images, int which, double retry_s, const char *msg, double t0)
{
	char ra[32], body[1100];
	size_t n;

	s->limited[which]++;
	snprintf(ra, sizeof(ra), "%.0f", isinf(retry_s) ? 60 : fmax(1, ceil(retry_s)));
	net_req_add_header(r, "x-request-id", id);
	net_req_add_header(r, "retry-after", ra);
	n = net_oai_error_json(body, sizeof(body), 429, NULL, msg);
	net_req_reply(r, 429, "application/json", body, n);
	serve__count(s, images > 0, 429, -1, 0);
	serve__logf(s, "access id=%s key=%s modality=%s images=%u status=429 ttft_ms=-1 "
		    "e2e_ms=%.3f limit=%s", id, key, images ? "image" : "text", images,
		    (net_now() - t0) * 1e3, which == SERVE__LIMIT_TOKENS ? "tokens" : "requests");
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

/* 0 when the request may pass (*key NULL without keys); 401 answered otherwise (the
 * same words for every failure). */
static int authorize(struct serve *s, struct net_req *r, const char *id,
		     struct serve__key **key, double t0)
{
	*key = NULL;
	if (!s->n_keys)
		return 0;
	*key = serve__key_check(s, net_req_header(r, "authorization"));
	if (*key)
		return 0;
	net_req_add_header(r, "www-authenticate", "Bearer");
	if (id)
		refuse(s, r, id, "-", 0, 401, NULL, "invalid or missing API key", t0);
	else
		error_reply(r, id, 401, NULL, "invalid or missing API key");
	return -1;
}

static void h_chat(struct net_req *r, void *arg)
{
	struct serve *s = arg;
	struct serve__split sp;
	struct serve__key *key;
	struct serve__rq *q;
	const char *body, *param, *kname;
	char id[96], msg[400];
	double t0 = net_now(), retry;
	size_t len;
	int st;

	set_id(s, r, id, sizeof(id));
	if (authorize(s, r, id, &key, t0))
		return;
	kname = key ? key->name : "-";
	if (net_req_body_too_large(r)) {
		snprintf(msg, sizeof(msg), "request body larger than %zu bytes", s->cfg.max_body);
		refuse(s, r, id, kname, 0, 413, NULL, msg, t0);
		return;
	}
	body = net_req_body(r, &len);
	if ((st = serve__split_parse(&sp, body, len, s->cfg.model, msg, sizeof(msg), &param))) {
		refuse(s, r, id, kname, sp.n_img, st, param, msg, t0);
		serve__split_release(&sp);
		return;
	}
	if (key && (st = serve__limit_admit(key, t0, (double)(sp.text_tokens + sp.out_tokens +
							       (uint64_t)sp.n_img * s->cfg.image_tokens),
					    &retry, msg, sizeof(msg)))) {
		limit_reply(s, r, id, kname, sp.n_img, st, retry, msg, t0);
		serve__split_release(&sp);
		return;
	}
	q = calloc(1, sizeof(*q));
	if (!q || (sp.n_img && !(q->ec = calloc(sp.n_img, sizeof(*q->ec))))) {
		free(q);
		refuse(s, r, id, kname, sp.n_img, 503, NULL, "out of memory", t0);
		serve__split_release(&sp);
		return;
	}
	q->s = s;
	q->req = sp.req;
	q->img = sp.img;
	q->n_img = sp.n_img;
	q->stream = sp.stream;
	q->t0 = t0;
	snprintf(q->id, sizeof(q->id), "%s", id);
	snprintf(q->key_name, sizeof(q->key_name), "%s", kname);
	q->next = s->live;
	if (s->live)
		s->live->prev = q;
	s->live = q;
	s->open_rq++;
	q->r = r;
	q->prq.modality = q->n_img ? POLICY_IMAGE : POLICY_TEXT;
	q->prq.images = q->n_img;
	q->prq.tokens_per_image = s->cfg.image_tokens;
	q->prq.text_tokens = sp.text_tokens;
	q->prq.image_tokens = (uint64_t)q->n_img * s->cfg.image_tokens;
	q->prq.prompt_tokens = q->prq.text_tokens + q->prq.image_tokens;
	q->prq.output_tokens = sp.out_tokens;
	q->prq.arrival = q->t0;
	policy_ticket_init(&q->tk, &q->prq);
	net_req_on_close(r, serve__on_client_close, q);
	serve__start(q);
	serve__stop_req(q);
}

static void h_models(struct net_req *r, void *arg)
{
	struct serve *s = arg;
	struct serve__key *key;
	char b[400];
	json_t *m;

	if (authorize(s, r, NULL, &key, 0))
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

/* The front end's /metrics lines: connections (net_server), read deadlines, rate limits. */
const char *serve__front_metrics(struct serve *s, char *buf, size_t cap)
{
	struct net_server_stats st;

	net_server_get_stats(s->srv, &st);
	snprintf(buf, cap,
		 "# TYPE modserve_serve_connections_open gauge\n"
		 "modserve_serve_connections_open %u\n"
		 "# TYPE modserve_serve_connections_accepted_total counter\n"
		 "modserve_serve_connections_accepted_total %llu\n"
		 "# HELP modserve_serve_connections_refused_total Connections closed at accept, "
		 "above --max-conns.\n"
		 "# TYPE modserve_serve_connections_refused_total counter\n"
		 "modserve_serve_connections_refused_total %llu\n"
		 "# HELP modserve_serve_read_timeouts_total Connections closed because a "
		 "request's head or body did not arrive in time.\n"
		 "# TYPE modserve_serve_read_timeouts_total counter\n"
		 "modserve_serve_read_timeouts_total{phase=\"header\"} %llu\n"
		 "modserve_serve_read_timeouts_total{phase=\"body\"} %llu\n"
		 "# HELP modserve_serve_connections_flooded_total Connections closed because the "
		 "client sent more than a request's worth while its reply was written.\n"
		 "# TYPE modserve_serve_connections_flooded_total counter\n"
		 "modserve_serve_connections_flooded_total %llu\n"
		 "# HELP modserve_serve_rate_limited_total 429s of the per-key limits.\n"
		 "# TYPE modserve_serve_rate_limited_total counter\n"
		 "modserve_serve_rate_limited_total{limit=\"requests\"} %llu\n"
		 "modserve_serve_rate_limited_total{limit=\"tokens\"} %llu\n",
		 st.open, st.accepted, st.refused, st.header_timeouts, st.body_timeouts, st.floods,
		 (unsigned long long)s->limited[SERVE__LIMIT_REQUESTS],
		 (unsigned long long)s->limited[SERVE__LIMIT_TOKENS]);
	return buf;
}

/* Read deadlines, connection cap and TLS of the listening server. */
static int front_guards(struct serve *s, struct ms_error *err)
{
	const struct net_server_limits *l = &s->cfg.limits;

	if (l->header_timeout_s || l->body_timeout_s || l->idle_timeout_s || l->max_conns)
		net_server_set_limits(s->srv, l);
	if (!s->cfg.tls_cert != !s->cfg.tls_key)
		return ms_error_set(err, MS_EINVAL, "serve: TLS needs both a certificate and a key");
	return s->cfg.tls_cert ? net_server_tls(s->srv, s->cfg.tls_cert, s->cfg.tls_key, err) : 0;
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
	    (rc = front_guards(s, err)) < 0 ||
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
