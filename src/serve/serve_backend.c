/*
 * serve_backend: the pools file, the backends (keep-alive connections, health), the
 * policy instances behind them and the health probes. A backend that fails a call or
 * a probe leaves routing at once (policy_inst_fail drops its charges); a probe that
 * sees it answer again brings it back under a new policy id (ids are never reused).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/ms_conf.h"
#include "serve/serve_int.h"

static const char *const kind_names[SERVE_KINDS] = { "encode", "prefill", "decode",
						      "prefill_decode" };

const char *serve_kind_name(enum serve_kind k)
{
	return (unsigned)k < SERVE_KINDS ? kind_names[k] : "?";
}

int serve__url_parse(struct serve_url *u, const char *s)
{
	const char *h, *colon;
	char *end;
	long port;
	size_t n;

	h = strncmp(s, "http://", 7) ? s : s + 7;
	colon = strrchr(h, ':');
	if (!colon || colon == h)
		return -1;
	n = (size_t)(colon - h);
	if (n >= sizeof(u->host))
		return -1;
	memcpy(u->host, h, n);
	u->host[n] = 0;
	if (strspn(u->host, "0123456789.") != n)
		return -1; /* numeric IPv4 only: the client has no resolver */
	port = strtol(colon + 1, &end, 10);
	if (end == colon + 1 || (*end && strcmp(end, "/")) || port < 1 || port > 65535)
		return -1;
	u->port = (int)port;
	return 0;
}

int serve_pools_load(struct serve_pools *p, const char *path, struct ms_error *err)
{
	struct ms_conf c;
	struct ms_conf_line l;
	int rc, k, total = 0;

	memset(p, 0, sizeof(*p));
	if ((rc = ms_conf_read(&c, path, err)) < 0)
		return rc;
	while ((rc = ms_conf_line_next(&c, &l, err)) == 1) {
		char *tok, *save = NULL;
		if (ms_conf_line_split(&l) < 0) {
			rc = ms_error_set(err, MS_EPARSE, "%s:%d: expected `pool = URL, ...`",
					  path, l.no);
			break;
		}
		for (k = 0; k < SERVE_KINDS && strcmp(l.key, kind_names[k]); k++)
			;
		if (k == SERVE_KINDS) {
			rc = ms_error_set(err, MS_EPARSE, "%s:%d: %s: unknown pool (encode, "
					  "prefill, decode, prefill_decode)", path, l.no, l.key);
			break;
		}
		p->declared[k] = 1; /* `encode =` with no URL: a pool that starts empty */
		for (tok = strtok_r(l.val, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
			if (p->n[k] == SERVE_MAX_BACKENDS) {
				rc = ms_error_set(err, MS_ERANGE, "%s:%d: %s: more than %d URLs",
						  path, l.no, l.key, SERVE_MAX_BACKENDS);
				goto out;
			}
			if (strncmp(tok, "http://", 7) || serve__url_parse(&p->url[k][p->n[k]], tok)) {
				rc = ms_error_set(err, MS_EPARSE, "%s:%d: %s: not an http://IPv4:PORT"
						  " URL: '%s'", path, l.no, l.key, tok);
				goto out;
			}
			p->n[k]++;
			total++;
		}
	}
out:
	ms_conf_release(&c);
	if (rc < 0)
		return rc;
	if (!p->declared[SERVE_PD] && !p->declared[SERVE_DECODE])
		return ms_error_set(err, MS_EINVAL, "%s: no prefill_decode or decode pool", path);
	if (p->declared[SERVE_PREFILL] != p->declared[SERVE_DECODE])
		return ms_error_set(err, MS_EINVAL, "%s: prefill and decode pools go together", path);
	if (p->declared[SERVE_PD] && p->declared[SERVE_DECODE])
		return ms_error_set(err, MS_EINVAL, "%s: either prefill_decode or prefill + decode,"
				    " not both", path);
	(void)total;
	return 0;
}

void serve__logf(struct serve *s, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (!s->cfg.log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	s->cfg.log(s->cfg.log_arg, line);
}

void serve__policy_rc(struct serve *s, int rc, const char *what)
{
	if (rc != -MS_ERANGE)
		return;
	s->over_released++;
	serve__logf(s, "warning: policy: %s released more than was charged (counted: %llu)",
		    what, (unsigned long long)s->over_released);
}

static int add_pid(struct serve *s, struct serve__backend *b, int ready, struct ms_error *err)
{
	uint32_t id;
	int rc = policy_inst_add(&s->pol, s->pool_of[b->kind], ready, net_now(), &id, err);

	if (rc < 0)
		return rc;
	if (id >= s->cap_pid) {
		uint32_t cap = s->cap_pid ? s->cap_pid * 2 : 64;
		struct serve__backend **n;
		while (cap <= id)
			cap *= 2;
		n = realloc(s->by_pid, cap * sizeof(*n));
		if (!n)
			return ms_error_set(err, MS_ENOMEM, "serve: out of memory");
		memset(n + s->cap_pid, 0, (cap - s->cap_pid) * sizeof(*n));
		s->by_pid = n;
		s->cap_pid = cap;
	}
	s->by_pid[id] = b;
	b->pid = id;
	b->healthy = ready;
	b->starting = !ready;
	return 0;
}

struct serve__backend *serve__backend_find(struct serve *s, enum serve_kind kind,
					   const struct serve_url *u)
{
	uint32_t i;

	for (i = 0; i < s->n_be; i++)
		if (s->be[i].used && s->be[i].kind == kind && s->be[i].url.port == u->port &&
		    !strcmp(s->be[i].url.host, u->host))
			return &s->be[i];
	return NULL;
}

int serve__backend_add(struct serve *s, enum serve_kind kind, const struct serve_url *u,
		       int ready, struct serve__backend **out, struct ms_error *err)
{
	struct serve__backend *b = NULL;
	uint32_t i;
	int rc;

	if (s->pool_of[kind] < 0)
		return ms_error_set(err, MS_EINVAL, "no %s pool in this gateway's pools file",
				    serve_kind_name(kind));
	if (serve__backend_find(s, kind, u))
		return ms_error_set(err, MS_EINVAL, "http://%s:%d is already in the %s pool",
				    u->host, u->port, serve_kind_name(kind));
	for (i = 0; i < s->n_be && !b; i++)
		if (!s->be[i].used)
			b = &s->be[i];
	if (!b) {
		if (s->n_be == SERVE_KINDS * SERVE_MAX_BACKENDS)
			return ms_error_set(err, MS_ERANGE, "more than %d backends",
					    SERVE_KINDS * SERVE_MAX_BACKENDS);
		b = &s->be[s->n_be++];
	}
	memset(b, 0, sizeof(*b));
	b->s = s;
	b->kind = kind;
	b->url = *u;
	if ((rc = net_client_new(&b->probe, s->loop, u->host, u->port,
				 s->cfg.probe_s > 0.5 ? s->cfg.probe_s : 0.5, err)) < 0)
		return rc;
	if ((rc = add_pid(s, b, ready, err)) < 0) {
		net_client_free(b->probe);
		b->probe = NULL;
		return rc;
	}
	b->used = 1;
	if (out)
		*out = b;
	return 0;
}

/* `pool instance modality images url` per pick, the format tests/serve/test_serve_agree.c
 * compares with the simulator's picks (policy pool index and instance id alike). */
static void decision(void *arg, const struct policy_req *rq, int pool, uint32_t inst,
		     double now)
{
	struct serve *s = arg;
	struct serve__backend *b = serve__backend_of(s, inst);
	char line[160];

	(void)now;
	snprintf(line, sizeof(line), "%d %u %s %u http://%s:%d", pool, inst,
		 rq->modality == POLICY_TEXT ? "text" : "image", rq->images,
		 b ? b->url.host : "?", b ? b->url.port : 0);
	s->cfg.decision_log(s->cfg.log_arg, line);
}

int serve__backends_init(struct serve *s, const struct serve_pools *p, struct ms_error *err)
{
	struct policy_conf pc = { .no_windows = 0, .window_s = s->cfg.window_s };
	int k, rc;
	uint32_t i;

	for (k = 0; k < SERVE_KINDS; k++)
		s->pool_of[k] = -1;
	for (k = 0; k < SERVE_KINDS; k++) {
		static const enum policy_stage st[SERVE_KINDS] = {
			POLICY_STAGE_ENC, POLICY_STAGE_PREFILL, POLICY_STAGE_DECODE, POLICY_STAGE_LLM };
		if (!p->n[k] && !p->declared[k])
			continue;
		s->pool_of[k] = pc.n_pools;
		pc.pool[pc.n_pools].stage = st[k];
		/* prefill+decode with no encoder pool encodes its images itself */
		if (k == SERVE_PD && !p->n[SERVE_ENCODE] && !p->declared[SERVE_ENCODE])
			pc.pool[pc.n_pools].stage = POLICY_STAGE_MONO;
		pc.pool[pc.n_pools].route = s->cfg.route;
		pc.pool[pc.n_pools].seed = 1;
		pc.n_pools++;
	}
	if ((rc = policy_init(&s->pol, &pc, err)) < 0)
		return rc;
	if (s->cfg.decision_log)
		policy_on_pick(&s->pol, decision, s);
	for (k = 0; k < SERVE_KINDS; k++)
		for (i = 0; i < p->n[k]; i++)
			if ((rc = serve__backend_add(s, (enum serve_kind)k, &p->url[k][i], 1, NULL,
						     err)) < 0)
				return rc;
	return serve__scale_start(s, err);
}

void serve__backends_free(struct serve *s)
{
	uint32_t i, j;

	serve__scale_stop(s);
	serve__scrape_stop(s);
	for (i = 0; i < s->n_be; i++) {
		serve__scrape_gone(&s->be[i]);
		for (j = 0; j < s->be[i].n_idle; j++)
			net_client_free(s->be[i].idle[j]);
		free(s->be[i].idle);
		net_client_free(s->be[i].probe);
	}
	free(s->by_pid);
	free(s->dump.p); /* the last user of the dump buffer is gone with the backends */
	policy_release(&s->pol);
}

struct serve__backend *serve__backend_of(struct serve *s, uint32_t pid)
{
	return pid < s->cap_pid ? s->by_pid[pid] : NULL;
}

struct net_client *serve__client_get(struct serve__backend *b)
{
	struct net_client *c;
	struct ms_error err;

	if (b->n_idle)
		return b->idle[--b->n_idle];
	if (net_client_new(&c, b->s->loop, b->url.host, b->url.port, b->s->cfg.backend_timeout_s,
			   &err) < 0)
		return NULL;
	return c;
}

void serve__client_put(struct serve__backend *b, struct net_client *c)
{
	if (b->n_idle == b->cap_idle) {
		uint32_t cap = b->cap_idle ? b->cap_idle * 2 : 16;
		struct net_client **n = realloc(b->idle, cap * sizeof(*n));
		if (!n) {
			/* cannot keep it; freeing is only unsafe inside its own callback,
			 * which is where we are: leak nothing by keeping the old array */
			return;
		}
		b->idle = n;
		b->cap_idle = cap;
	}
	b->idle[b->n_idle++] = c;
}

void serve__backend_down(struct serve__backend *b, const char *why)
{
	if (b->draining && policy_inst_state(&b->s->pol, b->pid) == POLICY_INST_DRAINING) {
		/* what it held is lost: its charges go, the reaper removes it */
		(void)policy_inst_fail(&b->s->pol, b->pid, net_now());
		return;
	}
	if (!b->healthy)
		return;
	b->healthy = 0;
	b->failures++;
	/* its charges go with it; the requests that were on it are routed again */
	(void)policy_inst_fail(&b->s->pol, b->pid, net_now());
	serve__logf(b->s, "backend %s http://%s:%d down: %s", serve_kind_name(b->kind),
		    b->url.host, b->url.port, why);
}

static void probe_head(void *arg, int status, struct net_client *c)
{
	(void)arg;
	(void)status;
	(void)c;
}

static void probe_done(void *arg, int status, int err, const char *reason)
{
	struct serve__backend *b = arg;
	struct ms_error e;

	b->probe_busy = 0;
	if (!err && status == 200) {
		if (b->draining)
			return;
		if (b->starting) {
			/* registered or spawned: routed to from its first good probe on */
			if (policy_inst_ready(&b->s->pol, b->pid, net_now()) == 0) {
				b->starting = 0;
				b->healthy = 1;
				serve__logf(b->s, "backend %s http://%s:%d ready",
					    serve_kind_name(b->kind), b->url.host, b->url.port);
			}
		} else if (!b->healthy && add_pid(b->s, b, 1, &e) == 0) {
			serve__logf(b->s, "backend %s http://%s:%d up again",
				    serve_kind_name(b->kind), b->url.host, b->url.port);
		}
		return;
	}
	if (!b->starting) /* a starting one is not up yet: it is simply probed again */
		serve__backend_down(b, err ? reason : "health probe not 200");
}

static const struct net_call_ops probe_ops = { probe_head, NULL, probe_done };

void serve__backend_drain(struct serve__backend *b)
{
	if (b->draining)
		return;
	if (b->healthy || b->starting)
		(void)policy_inst_drain(&b->s->pol, b->pid, net_now());
	b->draining = 1;
	b->healthy = b->starting = 0;
	serve__logf(b->s, "backend %s http://%s:%d draining", serve_kind_name(b->kind),
		    b->url.host, b->url.port);
}

/* A draining backend with nothing in flight leaves: out of policy, connections closed
 * (here, on the timer: never inside one of its own clients' callbacks), slot free. */
static void reap(struct serve__backend *b)
{
	struct serve *s = b->s;
	uint32_t j;

	if (policy_inst_state(&s->pol, b->pid) == POLICY_INST_DRAINING &&
	    policy_inst_remove(&s->pol, b->pid, net_now()) < 0)
		(void)policy_inst_fail(&s->pol, b->pid, net_now()); /* charges left over */
	for (j = 0; j < b->n_idle; j++)
		net_client_free(b->idle[j]);
	free(b->idle);
	net_client_free(b->probe);
	serve__scrape_gone(b);
	serve__scale_gone(b);
	if (b->pid < s->cap_pid && s->by_pid[b->pid] == b)
		s->by_pid[b->pid] = NULL;
	serve__logf(s, "backend %s http://%s:%d removed", serve_kind_name(b->kind), b->url.host,
		    b->url.port);
	memset(b, 0, sizeof(*b));
}

static void on_probe(void *arg)
{
	struct serve *s = arg;
	struct ms_error err;
	uint32_t i;

	for (i = 0; i < s->n_be; i++) {
		struct serve__backend *b = &s->be[i];
		if (!b->used)
			continue;
		if (b->draining && !b->inflight && !b->probe_busy && !serve__scrape_busy(b)) {
			reap(b);
			continue;
		}
		if (b->probe_busy || b->draining)
			continue;
		if (net_client_get(b->probe, "/health", &probe_ops, b, &err) == 0)
			b->probe_busy = 1;
	}
	net_timer_start(s->probe, s->cfg.probe_s);
}

void serve__probe_start(struct serve *s)
{
	s->probe = net_timer_new(s->loop, on_probe, s);
	if (s->probe)
		net_timer_start(s->probe, 0);
	serve__scrape_start(s);
}
