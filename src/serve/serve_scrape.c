/*
 * serve_scrape: the backends' own load, read off their /metrics every --scrape seconds
 * (vLLM's gauges: vllm:num_requests_waiting, vllm:num_requests_running,
 * vllm:kv_cache_usage_perc; `modserve engine` serves the same names), and fed to
 * src/policy so that several gateway replicas route well with no coordinator:
 *  - work on a backend beyond this gateway's own calls there (waiting + running minus
 *    our in-flight calls: other replicas' requests) becomes the instance's observed
 *    load (policy_inst_observe), in tokens: those requests times the mean tokens this
 *    gateway charges per call in that pool (an image item's tokens for encoders);
 *  - the waiting requests are the pool's queue (policy_queue_changed), which the
 *    autoscaler's burst trigger reads.
 * kv_cache_usage_perc is kept per backend and exported (modserve_serve_backend_kv_usage)
 * but does not route: this rule counts work, and KV fill follows from it.
 * Samples with several label sets (one per engine or model) are summed (KV: the
 * largest). A scrape that fails or lacks the gauges leaves the last view in place.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve/serve_int.h"

/* Mean tokens per call charged in pool kind (serve.c keeps the sums); 512 before any. */
static double tokens_per_call(const struct serve *s, enum serve_kind k)
{
	if (k == SERVE_ENCODE)
		return s->cfg.image_tokens;
	return s->tok_n[k] ? s->tok_sum[k] / (double)s->tok_n[k] : 512;
}

/* The value of a sample line `name{labels} value` or `name value`; -1 if not that name. */
static double sample(const char *line, const char *name)
{
	size_t n = strlen(name);
	const char *v;
	char *end;
	double x;

	if (strncmp(line, name, n) || (line[n] != '{' && line[n] != ' '))
		return -1;
	v = line[n] == '{' ? strchr(line + n, '}') : line + n;
	if (!v)
		return -1;
	x = strtod(v + (*v == '}'), &end);
	return end == v + (*v == '}') || x < 0 ? -1 : x;
}

static void apply(struct serve__backend *b, double waiting, double running, double kv)
{
	struct serve *s = b->s;
	double others = waiting + running - (double)b->inflight;
	int pool = s->pool_of[b->kind];

	if (others < 0)
		others = 0;
	b->sc_waiting = waiting;
	b->sc_running = running;
	b->sc_kv = kv;
	b->sc_ok++;
	if (b->healthy)
		(void)policy_inst_observe(&s->pol, b->pid,
					  (uint64_t)(others * tokens_per_call(s, b->kind) + 0.5),
					  net_now());
	if (pool >= 0) {
		policy_queue_changed(&s->pol, pool, (int64_t)waiting - (int64_t)b->sc_queued);
		b->sc_queued = (uint64_t)waiting;
	}
}

static void parse(struct serve__backend *b)
{
	char *p = b->sc_body.p, *nl;
	double w = 0, r = 0, kv = 0, x;
	int seen = 0;

	for (; p && *p; p = nl ? nl + 1 : NULL) {
		nl = strchr(p, '\n');
		if (nl)
			*nl = 0;
		if (*p == '#')
			continue;
		if ((x = sample(p, "vllm:num_requests_waiting")) >= 0)
			w += x, seen |= 1;
		else if ((x = sample(p, "vllm:num_requests_running")) >= 0)
			r += x, seen |= 2;
		else if ((x = sample(p, "vllm:kv_cache_usage_perc")) >= 0)
			kv = x > kv ? x : kv;
		if (!nl)
			break;
	}
	if (seen == 3)
		apply(b, w, r, kv);
	else
		b->sc_bad++;
}

static void sc_head(void *arg, int status, struct net_client *c)
{
	(void)arg;
	(void)status;
	(void)c;
}

static void sc_body(void *arg, const char *buf, size_t len)
{
	struct serve__backend *b = arg;

	if (b->sc_body.len + len <= (4u << 20)) /* a metrics page beyond 4 MiB is not read */
		(void)serve__buf_add(&b->sc_body, buf, len);
}

static void sc_done(void *arg, int status, int err, const char *reason)
{
	struct serve__backend *b = arg;

	(void)reason;
	b->sc_busy = 0;
	if (!err && status == 200 && b->sc_body.len)
		parse(b);
	else
		b->sc_bad++;
	b->sc_body.len = 0;
}

static const struct net_call_ops sc_ops = { sc_head, sc_body, sc_done };

static void on_scrape(void *arg)
{
	struct serve *s = arg;
	struct ms_error err;
	uint32_t i;

	for (i = 0; i < s->n_be; i++) {
		struct serve__backend *b = &s->be[i];
		if (!b->used || b->draining || b->sc_busy || !(b->healthy || b->starting))
			continue;
		if (!b->sc_client && net_client_new(&b->sc_client, s->loop, b->url.host,
						    b->url.port, 5, &err) < 0)
			continue;
		b->sc_body.len = 0;
		if (net_client_get(b->sc_client, "/metrics", &sc_ops, b, &err) == 0)
			b->sc_busy = 1;
	}
	net_timer_start(s->scrape, s->cfg.scrape_s);
}

void serve__scrape_start(struct serve *s)
{
	if (!(s->cfg.scrape_s > 0))
		return;
	s->scrape = net_timer_new(s->loop, on_scrape, s);
	if (s->scrape)
		net_timer_start(s->scrape, s->cfg.scrape_s);
}

int serve__scrape_busy(const struct serve__backend *b)
{
	return b->sc_busy;
}

void serve__scrape_gone(struct serve__backend *b)
{
	int pool;

	if (!b->used)
		return;
	pool = b->s->pool_of[b->kind];
	if (pool >= 0 && b->sc_queued)
		policy_queue_changed(&b->s->pol, pool, -(int64_t)b->sc_queued);
	net_client_free(b->sc_client);
	free(b->sc_body.p);
	b->sc_client = NULL;
	b->sc_body.p = NULL;
	b->sc_queued = 0;
}

void serve__scrape_stop(struct serve *s)
{
	if (s->scrape)
		net_timer_free(s->scrape);
	s->scrape = NULL;
}
