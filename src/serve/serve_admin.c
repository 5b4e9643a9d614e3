/*
 * serve_admin: dynamic registration of backends, in the shape of vLLM's example
 * proxies (disagg_proxy_demo.py: `POST /instances/add` with an `X-API-Key` header
 * holding ADMIN_API_KEY and a body `{"type": "prefill", "instance": "IP:PORT"}`),
 * widened to the EPD roles:
 *   POST /instances, POST /instances/add    register: {"type"|"role": encode | prefill
 *                                           | decode | prefill_decode, "instance":
 *                                           "IP:PORT" | "url": "http://IP:PORT"}
 *   POST /instances/remove                  the same body: drain, then remove
 *   GET  /instances                         every backend, its pool and state
 * Every route needs the admin key (`X-API-Key: KEY` or `authorization: Bearer KEY`,
 * compared over a fixed length); without one configured they answer 403. A registered
 * backend is STARTING (no work) until its health probe answers 200, then READY; a
 * removed one is DRAINING (no new work) until nothing of it is in flight.
 */
#include <stdio.h>
#include <string.h>

#include "serve/serve_int.h"

/* The admin key against what was presented, over SERVE_KEY_MAX bytes: no early exit. */
static int admin_ok(const struct serve *s, struct net_req *r)
{
	const char *h = net_req_header(r, "x-api-key"), *a = net_req_header(r, "authorization");
	char have[SERVE_KEY_MAX] = { 0 }, want[SERVE_KEY_MAX] = { 0 };
	unsigned diff = 0;
	size_t i, n;

	if (!s->cfg.admin_key || !*s->cfg.admin_key)
		return 0;
	if (!h && a && !strncmp(a, "Bearer ", 7))
		h = a + 7;
	if (!h)
		return 0;
	n = strlen(h);
	if (n >= SERVE_KEY_MAX || strlen(s->cfg.admin_key) >= SERVE_KEY_MAX)
		return 0;
	memcpy(have, h, n);
	memcpy(want, s->cfg.admin_key, strlen(s->cfg.admin_key));
	for (i = 0; i < SERVE_KEY_MAX; i++)
		diff |= (unsigned)(have[i] ^ want[i]);
	return diff == 0;
}

static int role_parse(const char *name, enum serve_kind *k)
{
	int i;

	for (i = 0; name && i < SERVE_KINDS; i++)
		if (!strcmp(name, serve_kind_name((enum serve_kind)i))) {
			*k = (enum serve_kind)i;
			return 0;
		}
	return -1;
}

static const char *state_name(const struct serve__backend *b)
{
	return b->draining ? "draining" : b->starting ? "starting" : b->healthy ? "ready" : "down";
}

/* The request's role and address; 0, or -1 with the 4xx already answered. */
static int instance_arg(struct serve *s, struct net_req *r, enum serve_kind *k,
			struct serve_url *u)
{
	size_t len;
	const char *body = net_req_body(r, &len);
	json_t *root, *role, *addr;
	int rc = -1;

	if (!admin_ok(s, r)) {
		net_oai_error_reply(r, 403, NULL, s->cfg.admin_key ? "Forbidden: Invalid API Key."
				    : "dynamic registration is off (no admin key configured)");
		return -1;
	}
	root = json_loadb(body ? body : "", len, 0, NULL);
	role = json_object_get(root, "role");
	if (!role)
		role = json_object_get(root, "type");
	addr = json_object_get(root, "url");
	if (!addr)
		addr = json_object_get(root, "instance");
	if (!json_is_object(root))
		net_oai_error_reply(r, 400, NULL, "expected a JSON object");
	else if (role_parse(json_string_value(role), k))
		net_oai_error_reply(r, 400, "type", "Invalid instance type (encode, prefill, "
				    "decode, prefill_decode).");
	else if (!json_is_string(addr) || serve__url_parse(u, json_string_value(addr)))
		net_oai_error_reply(r, 400, "instance", "Invalid instance address (IPv4:PORT or "
				    "http://IPv4:PORT).");
	else
		rc = 0;
	json_decref(root);
	return rc;
}

static void reply_msg(struct net_req *r, const char *fmt, const char *verb,
		      const struct serve_url *u, enum serve_kind k, const char *state)
{
	char msg[200], out[400];
	json_t *m;
	char *txt;
	int n;

	snprintf(msg, sizeof(msg), fmt, verb, u->host, u->port, serve_kind_name(k));
	m = json_pack("{s:s, s:s, s:s}", "message", msg, "role", serve_kind_name(k), "state",
		      state);
	txt = m ? json_dumps(m, JSON_COMPACT) : NULL;
	n = snprintf(out, sizeof(out), "%s", txt ? txt : "{}");
	free(txt);
	json_decref(m);
	net_req_reply(r, 200, "application/json", out, (size_t)n);
}

static void h_add(struct net_req *r, void *arg)
{
	struct serve *s = arg;
	struct serve__backend *b;
	struct serve_url u;
	struct ms_error err;
	enum serve_kind k;

	if (instance_arg(s, r, &k, &u) < 0)
		return;
	if (serve__backend_add(s, k, &u, 0, &b, &err) < 0) {
		net_oai_error_reply(r, 400, "instance", err.msg);
		return;
	}
	serve__logf(s, "backend %s http://%s:%d registered (starting until its probe answers)",
		    serve_kind_name(k), u.host, u.port);
	reply_msg(r, "%s %s:%d to %s_instances.", "Added", &u, k, state_name(b));
}

static void h_remove(struct net_req *r, void *arg)
{
	struct serve *s = arg;
	struct serve__backend *b;
	struct serve_url u;
	enum serve_kind k;

	if (instance_arg(s, r, &k, &u) < 0)
		return;
	if (!(b = serve__backend_find(s, k, &u))) {
		net_oai_error_reply(r, 404, "instance", "no such instance in that pool");
		return;
	}
	serve__backend_drain(b);
	reply_msg(r, "%s %s:%d from %s_instances (draining).", "Removing", &u, k, state_name(b));
}

static void h_list(struct net_req *r, void *arg)
{
	struct serve *s = arg;
	json_t *list = json_array(), *root;
	char *txt;
	uint32_t i;

	if (!admin_ok(s, r)) {
		json_decref(list);
		net_oai_error_reply(r, 403, NULL, "Forbidden: Invalid API Key.");
		return;
	}
	for (i = 0; i < s->n_be; i++) {
		const struct serve__backend *b = &s->be[i];
		char url[96];
		if (!b->used)
			continue;
		snprintf(url, sizeof(url), "http://%s:%d", b->url.host, b->url.port);
		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:i, s:I}", "role",
						      serve_kind_name(b->kind), "url", url, "state",
						      state_name(b), "inflight", (int)b->inflight,
						      "calls", (json_int_t)b->calls));
	}
	root = json_pack("{s:o}", "instances", list);
	txt = root ? json_dumps(root, JSON_COMPACT) : NULL;
	json_decref(root);
	if (!txt) {
		net_oai_error_reply(r, 503, NULL, "out of memory");
		return;
	}
	net_req_reply(r, 200, "application/json", txt, strlen(txt));
	free(txt);
}

int serve__admin_routes(struct serve *s, struct ms_error *err)
{
	int rc;

	if ((rc = net_server_route(s->srv, "POST", "/instances", h_add, s, err)) < 0 ||
	    (rc = net_server_route(s->srv, "POST", "/instances/add", h_add, s, err)) < 0 ||
	    (rc = net_server_route(s->srv, "POST", "/instances/remove", h_remove, s, err)) < 0 ||
	    (rc = net_server_route(s->srv, "GET", "/instances", h_list, s, err)) < 0)
		return rc;
	return 0;
}
