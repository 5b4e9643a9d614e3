/*
 * loadgen_stats: the results as `vllm bench serve` shows and saves them: the same
 * summary lines and JSON keys (times in ms, percentiles by numpy's linear rule through
 * ms_quantile, std with ddof 0 as numpy's default), then the same per
 * modality (requests with and without images), failures by reason, per-request CSV.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/ms_quantile.h"
#include "loadgen/loadgen.h"
#include "metrics/metrics.h"

enum { M_ALL = 0, M_TEXT, M_IMAGE, M__N };
static const char *const mod_names[M__N] = { "all", "text", "image" };

struct dist {
	size_t n;
	double mean, median, std, p90, p99;
};

struct summary {
	size_t completed, failed;
	uint64_t in_tok, out_tok;
	struct dist ttft, tpot, itl, e2el;
};

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void dist_of(double *v, size_t n, struct dist *d)
{
	double s = 0, q = 0;
	size_t i;

	memset(d, 0, sizeof(*d));
	d->n = n;
	if (!n) {
		d->mean = d->median = d->std = d->p90 = d->p99 = NAN;
		return;
	}
	qsort(v, n, sizeof(double), cmp_d);
	for (i = 0; i < n; i++)
		s += v[i];
	d->mean = s / (double)n;
	for (i = 0; i < n; i++)
		q += (v[i] - d->mean) * (v[i] - d->mean);
	d->std = sqrt(q / (double)n);
	d->median = ms_quantile(v, n, 0.50);
	d->p90 = ms_quantile(v, n, 0.90);
	d->p99 = ms_quantile(v, n, 0.99);
}

static int in_mod(const struct loadgen_req *r, int m)
{
	return m == M_ALL || (m == M_IMAGE) == (r->images > 0);
}

static int summarize(const struct loadgen_result *res, int m, struct summary *s)
{
	double *a = malloc((res->n + res->n_itl + 1) * sizeof(double));
	size_t i, j, k;

	memset(s, 0, sizeof(*s));
	if (!a)
		return -1;
	for (i = 0; i < res->n; i++) {
		const struct loadgen_req *r = &res->req[i];
		if (!in_mod(r, m))
			continue;
		if (r->fail) {
			s->failed++;
			continue;
		}
		s->completed++;
		s->in_tok += r->prompt_tokens;
		s->out_tok += r->out_tokens;
	}
#define COLLECT(field, cond)                                          \
	for (i = 0, k = 0; i < res->n; i++) {                         \
		const struct loadgen_req *r = &res->req[i];           \
		if (in_mod(r, m) && !r->fail && (cond))               \
			a[k++] = r->field * 1e3;                       \
	}
	COLLECT(ttft, 1)
	dist_of(a, k, &s->ttft);
	COLLECT(tpot, !isnan(r->tpot))
	dist_of(a, k, &s->tpot);
	COLLECT(e2e, 1)
	dist_of(a, k, &s->e2el);
#undef COLLECT
	for (i = 0, k = 0; i < res->n; i++) {
		const struct loadgen_req *r = &res->req[i];
		if (!in_mod(r, m) || r->fail)
			continue;
		for (j = 0; j < r->itl_n; j++)
			a[k++] = res->itl[r->itl_off + j] * 1e3;
	}
	dist_of(a, k, &s->itl);
	free(a);
	return 0;
}

void loadgen_print_summary(FILE *o, const struct loadgen_result *res)
{
	struct summary s;
	int m, f;
	char lab[64];

	for (m = 0; m < M__N; m++) {
		if (summarize(res, m, &s))
			return;
		if (m && !s.completed && !s.failed)
			continue;
		if (!m)
			fprintf(o, "%s\n", "============ Serving Benchmark Result ============");
		else
			fprintf(o, "=============== %-5s requests only "
				"==============\n", mod_names[m]);
		fprintf(o, "%-40s%-10zu\n", "Successful requests:", s.completed);
		fprintf(o, "%-40s%-10zu\n", "Failed requests:", s.failed);
		if (!m && res->max_concurrency)
			fprintf(o, "%-40s%-10u\n", "Maximum request "
				"concurrency:", res->max_concurrency);
		if (!m)
			fprintf(o, "%-40s%-10.2f\n", "Benchmark duration (s):", res->duration_s);
		fprintf(o, "%-40s%-10llu\n", "Total input tokens:", (unsigned long long)s.in_tok);
		fprintf(o, "%-40s%-10llu\n", "Total generated "
			"tokens:", (unsigned long long)s.out_tok);
		fprintf(o, "%-40s%-10.2f\n", "Request throughput "
			"(req/s):", s.completed / res->duration_s);
		fprintf(o, "%-40s%-10.2f\n", "Output token throughput "
			"(tok/s):", s.out_tok / res->duration_s);
		fprintf(o, "%-40s%-10.2f\n", "Total token throughput "
			"(tok/s):", (s.in_tok + s.out_tok) / res->duration_s);
#define SECTION(title, abbr, d)                                                              \
	fprintf(o, "%s\n", title);                                                          \
	snprintf(lab, sizeof(lab), "Mean %s (ms):", abbr);                                 \
	fprintf(o, "%-40s%-10.2f\n", lab, (d).mean);                                        \
	snprintf(lab, sizeof(lab), "Median %s (ms):", abbr);                               \
	fprintf(o, "%-40s%-10.2f\n", lab, (d).median);                                      \
	snprintf(lab, sizeof(lab), "P99 %s (ms):", abbr);                                  \
	fprintf(o, "%-40s%-10.2f\n", lab, (d).p99);
		SECTION("---------------Time to First Token----------------", "TTFT", s.ttft)
		SECTION("-----Time per Output Token (excl. 1st token)------", "TPOT", s.tpot)
		SECTION("---------------Inter-token Latency----------------", "ITL", s.itl)
		SECTION("----------------End-to-end Latency----------------", "E2EL", s.e2el)
#undef SECTION
	}
	if (res->fails[LOADGEN_FAIL_STATUS] + res->fails[LOADGEN_FAIL_TIMEOUT] +
	    res->fails[LOADGEN_FAIL_CONNECT] + res->fails[LOADGEN_FAIL_STREAM]) {
		fprintf(o, "%s\n", "-------------------Failures-----------------------");
		for (f = 1; f < LOADGEN_FAIL__N; f++)
			if (res->fails[f])
				fprintf(o, "%-40s%-10llu\n", loadgen_fail_name((enum loadgen_fail)f),
					(unsigned long long)res->fails[f]);
		for (f = 0; f < 600; f++)
			if (res->fail_status[f]) {
				snprintf(lab, sizeof(lab), "  status %d", f);
				fprintf(o, "%-40s%-10llu\n", lab, (unsigned long long)res->fail_status[f]);
			}
	}
	fprintf(o, "%s\n", "==================================================");
}

static json_t *num(double v)
{
	return isnan(v) || isinf(v) ? json_null() : json_real(v);
}

static void put_dists(json_t *o, const struct summary *s)
{
	const struct { const char *k; const struct dist *d; } ds[] = {
		{ "ttft_ms", &s->ttft }, { "tpot_ms", &s->tpot }, { "itl_ms", &s->itl }, { "e2el_ms", &s->e2el },
	};
	char key[64];
	size_t i;

	for (i = 0; i < 4; i++) {
		snprintf(key, sizeof(key), "mean_%s", ds[i].k);
		json_object_set_new(o, key, num(ds[i].d->mean));
		snprintf(key, sizeof(key), "median_%s", ds[i].k);
		json_object_set_new(o, key, num(ds[i].d->median));
		snprintf(key, sizeof(key), "std_%s", ds[i].k);
		json_object_set_new(o, key, num(ds[i].d->std));
		snprintf(key, sizeof(key), "p90_%s", ds[i].k);
		json_object_set_new(o, key, num(ds[i].d->p90));
		snprintf(key, sizeof(key), "p99_%s", ds[i].k);
		json_object_set_new(o, key, num(ds[i].d->p99));
	}
}

static json_t *totals(const struct loadgen_result *res, const struct summary *s)
{
	json_t *o = json_object();

	json_object_set_new(o, "completed", json_integer((json_int_t)s->completed));
	json_object_set_new(o, "failed", json_integer((json_int_t)s->failed));
	json_object_set_new(o, "total_input_tokens", json_integer((json_int_t)s->in_tok));
	json_object_set_new(o, "total_output_tokens", json_integer((json_int_t)s->out_tok));
	json_object_set_new(o, "request_throughput", num(s->completed / res->duration_s));
	json_object_set_new(o, "output_throughput", num(s->out_tok / res->duration_s));
	json_object_set_new(o, "total_token_throughput", num((s->in_tok + s->out_tok) / res->duration_s));
	put_dists(o, s);
	return o;
}

int loadgen_write_json(const struct loadgen_result *res, const char *path, struct ms_error *err)
{
	struct summary s;
	json_t *o, *pm, *fl, *in, *out, *tt, *itls, *errs, *imgs;
	size_t i, j;
	int m, f, rc;

	if (summarize(res, M_ALL, &s))
		return ms_error_set(err, MS_ENOMEM, "bench: out of memory");
	o = totals(res, &s);
	json_object_set_new(o, "duration", num(res->duration_s));
	json_object_set_new(o, "max_concurrency", res->max_concurrency ? json_integer(res->max_concurrency) : json_null());
	json_object_set_new(o, "peak_open_requests", json_integer(res->peak_open));
	json_object_set_new(o, "image_px_median", num(res->image_px_median));
	json_object_set_new(o, "image_px_p95", num(res->image_px_p95));
	pm = json_object();
	for (m = M_TEXT; m < M__N; m++) {
		struct summary ms;
		if (summarize(res, m, &ms)) {
			json_decref(o);
			json_decref(pm);
			return ms_error_set(err, MS_ENOMEM, "bench: out of memory");
		}
		json_object_set_new(pm, mod_names[m], totals(res, &ms));
	}
	json_object_set_new(o, "per_modality", pm);
	fl = json_object();
	for (f = 1; f < LOADGEN_FAIL__N; f++)
		json_object_set_new(fl, loadgen_fail_name((enum loadgen_fail)f), json_integer((json_int_t)res->fails[f]));
	for (f = 0; f < 600; f++)
		if (res->fail_status[f]) {
			char k[32];
			snprintf(k, sizeof(k), "status_%d", f);
			json_object_set_new(fl, k, json_integer((json_int_t)res->fail_status[f]));
		}
	json_object_set_new(o, "failures", fl);
	in = json_array();
	out = json_array();
	tt = json_array();
	itls = json_array();
	errs = json_array();
	imgs = json_array();
	for (i = 0; i < res->n; i++) {
		const struct loadgen_req *r = &res->req[i];
		json_t *one = json_array();
		json_array_append_new(in, json_integer(r->prompt_tokens));
		json_array_append_new(out, json_integer(r->out_tokens));
		json_array_append_new(imgs, json_integer(r->images));
		json_array_append_new(tt, r->fail ? json_real(0) : json_real(r->ttft));
		for (j = 0; j < r->itl_n; j++)
			json_array_append_new(one, json_real(res->itl[r->itl_off + j]));
		json_array_append_new(itls, one);
		if (r->fail) {
			char e[64];
			snprintf(e, sizeof(e), "%s%s%d", loadgen_fail_name(r->fail), r->status ? " " : "",
				 r->status);
			json_array_append_new(errs, json_string(r->status ? e : loadgen_fail_name(r->fail)));
		} else {
			json_array_append_new(errs, json_string(""));
		}
	}
	json_object_set_new(o, "input_lens", in);
	json_object_set_new(o, "output_lens", out);
	json_object_set_new(o, "num_images", imgs);
	json_object_set_new(o, "ttfts", tt);
	json_object_set_new(o, "itls", itls);
	json_object_set_new(o, "errors", errs);
	rc = strcmp(path, "-") ? json_dump_file(o, path, JSON_INDENT(1) | JSON_REAL_PRECISION(9))
			       : json_dumpf(o, stdout, JSON_INDENT(1) | JSON_REAL_PRECISION(9));
	json_decref(o);
	if (rc)
		return ms_error_set(err, MS_EIO, "%s: cannot write the results: "
			"%s", path, strerror(errno));
	return 0;
}

int loadgen_write_csv(const struct loadgen_result *res, const char *path, struct ms_error *err)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "w") : stdout;
	size_t i;

	if (!f)
		return ms_error_set(err, MS_EIO, "%s: %s", path, strerror(errno));
	fprintf(f, "row,sched_s,start_s,images,prompt_tokens,max_tokens,output_tokens,status,error,"
		"ttft_ms,tpot_ms,e2el_ms\n");
	for (i = 0; i < res->n; i++) {
		const struct loadgen_req *r = &res->req[i];
		fprintf(f, "%u,%.6f,%.6f,%u,%u,%u,%u,%d,%s,", r->row, r->sched, r->start, r->images,
			r->prompt_tokens, r->max_tokens, r->out_tokens, r->status,
			r->fail ? loadgen_fail_name(r->fail) : "");
		if (r->fail)
			fprintf(f, ",,\n");
		else if (isnan(r->tpot))
			fprintf(f, "%.3f,,%.3f\n", r->ttft * 1e3, r->e2e * 1e3);
		else
			fprintf(f, "%.3f,%.3f,%.3f\n", r->ttft * 1e3, r->tpot * 1e3, r->e2e * 1e3);
	}
	if (f != stdout ? fclose(f) : fflush(f))
		return ms_error_set(err, MS_EIO, "%s: write failed: %s", path, strerror(errno));
	return 0;
}
