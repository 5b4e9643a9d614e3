/*
 * engine_metrics: counters, histograms and the Prometheus text exposition.
 * Bucket bounds are vLLM's (vllm/v1/metrics/loggers.py) so dashboards built for it
 * show the same bins.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "engine/engine_metrics.h"

static const double ttft_b[] = { 0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5,
				 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0,
				 640.0, 2560.0 };
static const double itl_b[] = { 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75,
				1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0 };
static const double e2e_b[] = { 0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0,
				30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0,
				7680.0 };

static void hist_init(struct engine_hist *h, const double *b, int n)
{
	memset(h, 0, sizeof(*h));
	h->bounds = b;
	h->n = n;
}

void engine_metrics_init(struct engine_metrics *m)
{
	memset(m, 0, sizeof(*m));
	hist_init(&m->ttft, ttft_b, (int)(sizeof(ttft_b) / sizeof(ttft_b[0])));
	hist_init(&m->itl, itl_b, (int)(sizeof(itl_b) / sizeof(itl_b[0])));
	hist_init(&m->e2e, e2e_b, (int)(sizeof(e2e_b) / sizeof(e2e_b[0])));
}

void engine_hist_observe(struct engine_hist *h, double v)
{
	int i = 0;

	while (i < h->n && v > h->bounds[i])
		i++;
	h->count[i]++;
	h->total++;
	h->sum += v;
}

struct out {
	char *buf;
	size_t cap, len;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(o->len < o->cap ? o->buf + o->len : NULL, o->len < o->cap ? o->cap - o->len : 0,
		      fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += (size_t)n;
}

static void hist(struct out *o, const char *name, const char *help, const struct engine_hist *h,
		 const char *lab)
{
	uint64_t cum = 0;
	int i;

	put(o, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	for (i = 0; i <= h->n; i++) {
		cum += h->count[i];
		if (i < h->n)
			put(o, "%s_bucket{%s,le=\"%g\"} %llu\n", name, lab, h->bounds[i],
			    (unsigned long long)cum);
		else
			put(o, "%s_bucket{%s,le=\"+Inf\"} "
				"%llu\n", name, lab, (unsigned long long)cum);
	}
	put(o, "%s_sum{%s} %.9g\n%s_count{%s} %llu\n", name, lab, h->sum, name, lab,
	    (unsigned long long)h->total);
}

size_t engine_metrics_render(const struct engine_metrics *m, const struct engine_gauges *g,
			     char *buf, size_t cap)
{
	static const char *fin[ENGINE_FIN__N] = { "stop", "length", "abort" };
	struct out o = { buf, cap, 0 };
	char lab[256];
	int i;

	snprintf(lab, sizeof(lab), "engine=\"%s\",model_name=\"%s\"", g->engine_id, g->model);
	put(&o, "# HELP vllm:num_requests_running Number of requests in model execution batches.\n"
		"# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{%s} %u\n",
	    lab, g->running);
	put(&o, "# HELP vllm:num_requests_waiting Number of requests waiting to be processed.\n"
		"# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{%s} %u\n",
	    lab, g->waiting);
	put(&o, "# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.\n"
		"# TYPE vllm:kv_cache_usage_perc gauge\nvllm:kv_cache_usage_perc{%s} %.6f\n",
	    lab, g->kv_usage);
	put(&o, "# HELP vllm:cache_config_info Information of the LLMEngine CacheConfig\n"
		"# TYPE vllm:cache_config_info gauge\n"
		"vllm:cache_config_info{block_size=\"%u\",cache_dtype=\"auto\",engine=\"%s\","
		"num_gpu_blocks=\"%llu\",prefix_caching=\"False\"} 1.0\n",
	    g->block_size, g->engine_id,
	    (unsigned long long)(g->kv_tokens / (g->block_size ? g->block_size : 1)));
	put(&o, "# HELP vllm:request_success_total Count of successfully processed requests.\n"
		"# TYPE vllm:request_success_total counter\n");
	for (i = 0; i < ENGINE_FIN__N; i++)
		put(&o, "vllm:request_success_total{%s,finished_reason=\"%s\"} %llu\n", lab, fin[i],
		    (unsigned long long)m->success[i]);
	put(&o, "# HELP vllm:prompt_tokens_total Number of prefill tokens processed.\n"
		"# TYPE vllm:prompt_tokens_total counter\nvllm:prompt_tokens_total{%s} %llu\n",
	    lab, (unsigned long long)m->prompt_tokens);
	put(&o, "# HELP vllm:generation_tokens_total Number of generation tokens processed.\n"
		"# TYPE vllm:generation_tokens_total counter\nvllm:generation_tokens_total{%s} "
			"%llu\n",
	    lab, (unsigned long long)m->gen_tokens);
	hist(&o, "vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.",
	     &m->ttft, lab);
	hist(&o, "vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.",
	     &m->itl, lab);
	hist(&o, "vllm:e2e_request_latency_seconds",
	     "Histogram of e2e request latency in seconds.", &m->e2e, lab);
	/* not vLLM metrics: what the emulation refused, under a modserve: prefix */
	put(&o, "# HELP modserve:requests_refused_total Requests answered 429 (queue full).\n"
		"# TYPE modserve:requests_refused_total "
			"counter\nmodserve:requests_refused_total{%s} %llu\n",
	    lab, (unsigned long long)m->refused_429);
	put(&o, "# HELP modserve:ec_lookups_total Encoder-cache lookups by result.\n"
		"# TYPE modserve:ec_lookups_total counter\n"
		"modserve:ec_lookups_total{%s,result=\"hit\"} %llu\n"
		"modserve:ec_lookups_total{%s,result=\"miss\"} %llu\n",
	    lab, (unsigned long long)m->ec_hits, lab, (unsigned long long)m->ec_misses);
	return o.len;
}
