/*
 * serve_metrics: the gateway's own counters and GET /metrics (Prometheus text):
 * requests by modality and status, TTFT and E2E histograms per modality, per-pool
 * in-flight calls, pending work (the policy's) and ready backends, per-backend
 * health, and a desired-replicas gauge per pool for an HPA or KEDA to act on.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve/serve_int.h"

static const int statuses[SERVE__NSTAT] = { 200, 400, 401, 404, 413, 429, 500, 502, 503, 0 };
/* seconds; vLLM's TTFT bounds from 10 ms up */
static const double bounds[SERVE__NBUCKET] = { 0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08,
					       0.1, 0.25, 0.5, 1, 2.5, 5, 10 };

static void hist_add(struct serve__hist *h, double v)
{
	int i;

	for (i = 0; i < SERVE__NBUCKET && v > bounds[i]; i++)
		;
	h->n[i]++;
	h->sum += v;
	h->count++;
}

void serve__count(struct serve *s, int image, int status, double ttft, double e2e)
{
	int i;

	for (i = 0; i < SERVE__NSTAT - 1 && statuses[i] != status; i++)
		;
	s->req_total[image][i]++;
	if (status != 200)
		return;
	if (!isnan(ttft) && ttft >= 0)
		hist_add(&s->ttft[image], ttft);
	hist_add(&s->e2e[image], e2e);
}

struct out {
	char *p;
	size_t len, cap;
	int oom;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->oom = 1;
			return;
		}
		if ((size_t)n < o->cap - o->len) {
			o->len += (size_t)n;
			return;
		}
		char *np = realloc(o->p, o->cap * 2 + (size_t)n);
		if (!np) {
			o->oom = 1;
			return;
		}
		o->p = np;
		o->cap = o->cap * 2 + (size_t)n;
	}
}

static void put_hist(struct out *o, const char *name, const char *mod, const struct serve__hist *h)
{
	uint64_t cum = 0;
	int i;

	for (i = 0; i < SERVE__NBUCKET; i++) {
		cum += h->n[i];
		put(o, "%s_bucket{modality=\"%s\",le=\"%g\"} %llu\n", name, mod, bounds[i],
		    (unsigned long long)cum);
	}
	put(o, "%s_bucket{modality=\"%s\",le=\"+Inf\"} %llu\n", name, mod,
	    (unsigned long long)h->count);
	put(o, "%s_sum{modality=\"%s\"} %.6f\n%s_count{modality=\"%s\"} %llu\n", name, mod, h->sum,
	    name, mod, (unsigned long long)h->count);
}

void serve__metrics_reply(struct serve *s, struct net_req *r)
{
	static const char *const mods[2] = { "text", "image" };
	struct out o = { .cap = 8192 };
	uint32_t i;
	int m, k;

	o.p = malloc(o.cap);
	if (!o.p) {
		net_oai_error_reply(r, 503, NULL, "out of memory");
		return;
	}
	put(&o, "# HELP modserve_serve_requests_total Requests answered, by modality and status"
	    " (status 0: any other).\n# TYPE modserve_serve_requests_total counter\n");
	for (m = 0; m < 2; m++)
		for (k = 0; k < SERVE__NSTAT; k++)
			put(&o, "modserve_serve_requests_total{modality=\"%s\",status=\"%d\"} %llu\n",
			    mods[m], statuses[k], (unsigned long long)s->req_total[m][k]);
	put(&o, "# HELP modserve_serve_ttft_seconds Time to the first byte of the final stage's"
	    " reply.\n# TYPE modserve_serve_ttft_seconds histogram\n");
	for (m = 0; m < 2; m++)
		put_hist(&o, "modserve_serve_ttft_seconds", mods[m], &s->ttft[m]);
	put(&o, "# HELP modserve_serve_e2e_seconds Arrival to the end of the reply.\n"
	    "# TYPE modserve_serve_e2e_seconds histogram\n");
	for (m = 0; m < 2; m++)
		put_hist(&o, "modserve_serve_e2e_seconds", mods[m], &s->e2e[m]);
	put(&o, "# TYPE modserve_serve_pool_inflight gauge\n# TYPE modserve_serve_pool_pending "
	    "gauge\n# TYPE modserve_serve_pool_ready gauge\n# HELP modserve_serve_desired_replicas"
	    " The autoscaler's target (--autoscale), else ceil(in-flight calls / target per"
	    " instance), at least 1.\n"
	    "# TYPE modserve_serve_desired_replicas gauge\n");
	for (k = 0; k < SERVE_KINDS; k++) {
		int p = s->pool_of[k];
		uint32_t want;
		if (p < 0)
			continue;
		/* the autoscaler's target where it runs, else the in-flight rule */
		if (!serve__scale_target(s, (enum serve_kind)k, &want))
			want = (s->inflight[k] + s->cfg.target_inflight - 1) / s->cfg.target_inflight;
		put(&o, "modserve_serve_pool_inflight{pool=\"%s\"} %u\n", serve_kind_name(k),
		    s->inflight[k]);
		put(&o, "modserve_serve_pool_pending{pool=\"%s\"} %llu\n", serve_kind_name(k),
		    (unsigned long long)s->pol.pool[p].pending);
		put(&o, "modserve_serve_pool_ready{pool=\"%s\"} %u\n", serve_kind_name(k),
		    policy_pool_ready(&s->pol, p));
		put(&o, "modserve_serve_desired_replicas{pool=\"%s\"} %u\n", serve_kind_name(k),
		    want ? want : 1);
	}
	put(&o, "# TYPE modserve_serve_backend_up gauge\n# TYPE modserve_serve_backend_calls_total"
	    " counter\n# TYPE modserve_serve_backend_failures_total counter\n"
	    "# HELP modserve_serve_backend_waiting The backend's vllm:num_requests_waiting, last"
	    " scrape.\n# TYPE modserve_serve_backend_waiting gauge\n"
	    "# TYPE modserve_serve_backend_running gauge\n"
	    "# TYPE modserve_serve_backend_kv_usage gauge\n");
	for (i = 0; i < s->n_be; i++) {
		const struct serve__backend *b = &s->be[i];
		const char *pool = serve_kind_name(b->kind);
		if (!b->used)
			continue;
		put(&o, "modserve_serve_backend_waiting{pool=\"%s\",url=\"http://%s:%d\"} %g\n"
		    "modserve_serve_backend_running{pool=\"%s\",url=\"http://%s:%d\"} %g\n"
		    "modserve_serve_backend_kv_usage{pool=\"%s\",url=\"http://%s:%d\"} %g\n",
		    pool, b->url.host, b->url.port, b->sc_waiting, pool, b->url.host, b->url.port,
		    b->sc_running, pool, b->url.host, b->url.port, b->sc_kv);
		put(&o, "modserve_serve_backend_up{pool=\"%s\",url=\"http://%s:%d\"} %d\n", pool,
		    b->url.host, b->url.port, b->healthy);
		put(&o, "modserve_serve_backend_calls_total{pool=\"%s\",url=\"http://%s:%d\"} %llu\n",
		    pool, b->url.host, b->url.port, (unsigned long long)b->calls);
		put(&o, "modserve_serve_backend_failures_total{pool=\"%s\",url=\"http://%s:%d\"} "
		    "%llu\n", pool, b->url.host, b->url.port, (unsigned long long)b->failures);
	}
	put(&o, "# TYPE modserve_serve_retries_total counter\nmodserve_serve_retries_total %llu\n"
	    "# TYPE modserve_serve_policy_over_released_total counter\n"
	    "modserve_serve_policy_over_released_total %llu\n"
	    "# TYPE modserve_serve_open_requests gauge\nmodserve_serve_open_requests %u\n",
	    (unsigned long long)s->retries, (unsigned long long)s->over_released, s->open_rq);
	{ char fm[2048]; put(&o, "%s", serve__front_metrics(s, fm, sizeof(fm))); } /* serve_front.c */
	if (o.oom)
		net_oai_error_reply(r, 503, NULL, "out of memory");
	else
		net_req_reply(r, 200, "text/plain; version=0.0.4", o.p, o.len);
	free(o.p);
}
