/*
 * The autoscaled runs in `sim`'s outputs: JSON (the rule's numbers and the
 * GPU count over time), table lines, and two figures: GPUs over time, one
 * curve per autoscaled run, and the load per modality (image and text-only
 * requests per second) over the same time, from the per-request results.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report/report_int.h"
#include "report/report_plot.h"
#include "report/sim_report.h"

static const char *const why_names[] = { "none", "periodic", "slo", "burst" };
static const char *const load_names[] = { "requests/s", "images/s", "image tokens/s",
					  "prompt tokens/s" };

json_t *sim_report__scale_json(const struct sim_report_run *r)
{
	const struct sim_autoscale *a = r->scale;
	json_t *o = json_object(), *pools = json_array(), *ser = json_array(), *why = json_object();
	size_t i;
	int p, k;

	json_object_set_new(o, "rule", json_string(a->rule ? a->rule : ""));
	json_object_set_new(o, "interval_s", json_real(a->sc.conf.interval_s));
	json_object_set_new(o, "startup_s", json_real(a->startup_s));
	json_object_set_new(o, "cooldown_s", json_real(a->sc.conf.cooldown_s));
	json_object_set_new(o, "hysteresis", json_real(a->sc.conf.hysteresis));
	for (p = 0; p < a->conf.n; p++) {
		const struct policy_scale_pool *sp = &a->conf.p[p];
		json_array_append_new(pools,
				      json_pack("{s:s,s:s,s:f,s:i,s:i,s:i}", "pool",
						r->res->pool[sp->pool].name, "load",
						load_names[sp->load], "capacity", sp->capacity,
						"min", (json_int_t)sp->min, "max", (json_int_t)sp->max,
						"initial",
						(json_int_t)(a->n ? a->pts[0].live[sp->pool] : 0)));
	}
	json_object_set_new(o, "pools", pools);
	for (k = 1; k < 4; k++)
		json_object_set_new(why, why_names[k], json_integer((json_int_t)a->why[k]));
	json_object_set_new(o, "decisions", why);
	json_object_set_new(o, "added", json_integer((json_int_t)a->added));
	json_object_set_new(o, "drained", json_integer((json_int_t)a->drained));
	/* the run's own cost accounting: every instance-second from request to removal */
	json_object_set_new(o, "gpu_hours", json_real(r->res->gpu_s / 3600.0));
	for (i = 0; i < a->n; i++) {
		json_t *live = json_array();
		for (p = 0; p < a->n_pools; p++)
			json_array_append_new(live, json_integer(a->pts[i].live[p]));
		json_array_append_new(ser, json_pack("{s:f,s:i,s:o}", "t", a->pts[i].t, "gpus",
						     (json_int_t)a->pts[i].gpus, "live", live));
	}
	json_object_set_new(o, "series", ser);
	return o;
}

/* GPUs over the recorded points: min, time-weighted mean up to t_end, max. */
static void gpu_stats(const struct sim_autoscale *a, double t_end, double *lo, double *mean,
		      double *hi)
{
	double span = a->n ? t_end - a->pts[0].t : 0;
	size_t i;

	*lo = *hi = a->n ? a->pts[0].gpus : 0;
	for (i = 0; i < a->n; i++) {
		if (a->pts[i].gpus < *lo)
			*lo = a->pts[i].gpus;
		if (a->pts[i].gpus > *hi)
			*hi = a->pts[i].gpus;
	}
	*mean = span > 0 ? sim_autoscale_gpu_hours(a, t_end) * 3600.0 / span : *lo;
}

void sim_report__scale_table(FILE *out, const struct sim_report_run *runs, size_t n)
{
	size_t i;
	int p;

	for (i = 0; i < n; i++) {
		const struct sim_autoscale *a = runs[i].scale;
		double lo, mean, hi;
		if (!a)
			continue;
		gpu_stats(a, runs[i].res->end_s, &lo, &mean, &hi);
		fprintf(out, "autoscale %s (%s, every %.0f s, startup %.0f s): GPUs %.0f to %.0f, "
			"mean %.1f; %.1f GPU-hours incl. starting and idle; %llu added, %llu "
			"drained (periodic %llu, SLO %llu, burst %llu)\n",
			sim_report_run_name(&runs[i]), a->rule ? a->rule : "", a->sc.conf.interval_s,
			a->startup_s, lo, hi, mean, runs[i].res->gpu_s / 3600.0,
			(unsigned long long)a->added, (unsigned long long)a->drained,
			(unsigned long long)a->why[1], (unsigned long long)a->why[2],
			(unsigned long long)a->why[3]);
		for (p = 0; p < a->conf.n; p++) {
			const struct policy_scale_pool *sp = &a->conf.p[p];
			fprintf(out, "  pool %s: %.4g %s per instance, %u to %u instances, started "
				"with %u\n", runs[i].res->pool[sp->pool].name, sp->capacity,
				load_names[sp->load], sp->min, sp->max,
				a->n ? a->pts[0].live[sp->pool] : 0);
		}
	}
}

/* Arrivals per second of image and of text-only requests in buckets of dt. */
static int load_series(const struct sim_result *res, double t0, double dt, size_t nb,
		       double *x, double *img, double *txt)
{
	size_t i;

	for (i = 0; i < nb; i++) {
		x[i] = (t0 + (double)i * dt) / 3600.0;
		img[i] = txt[i] = 0;
	}
	for (i = 0; i < res->n; i++) {
		double b = floor((res->req[i].arrive - t0) / dt);
		size_t k = b < 0 ? 0 : (size_t)b;
		if (k >= nb)
			k = nb - 1;
		if (res->req[i].images)
			img[k] += 1 / dt;
		else
			txt[k] += 1 / dt;
	}
	return 0;
}

int sim_report__scale_plots(const char *dir, const struct sim_report_run *runs, size_t n,
			    struct ms_error *err)
{
	struct report_series ser[8];
	struct report_plot pl;
	double *xs[8] = { 0 }, *ys[8] = { 0 }, *lx = NULL, *li = NULL, *lt = NULL;
	char path[4200];
	size_t i, k, ns = 0, nb;
	double t0 = 0, t1 = 0, dt;
	int rc = 0;

	for (i = 0; i < n && ns < 8; i++) {
		const struct sim_autoscale *a = runs[i].scale;
		if (!a || !a->n)
			continue;
		xs[ns] = malloc(a->n * sizeof(double));
		ys[ns] = malloc(a->n * sizeof(double));
		if (!xs[ns] || !ys[ns]) {
			rc = ms_error_set(err, MS_ENOMEM, "report: autoscale series");
			goto out;
		}
		for (k = 0; k < a->n; k++) {
			xs[ns][k] = a->pts[k].t / 3600.0;
			ys[ns][k] = a->pts[k].gpus;
		}
		ser[ns] = (struct report_series){ sim_report_run_name(&runs[i]), xs[ns], ys[ns],
						  a->n };
		if (!ns || a->pts[0].t < t0)
			t0 = a->pts[0].t;
		if (runs[i].res->end_s > t1)
			t1 = runs[i].res->end_s;
		ns++;
	}
	if (!ns)
		return 0;
	memset(&pl, 0, sizeof(pl));
	pl.title = "Autoscaled GPUs over time (starting, ready and draining instances)";
	pl.xlabel = "simulated time (h)";
	pl.ylabel = "GPUs";
	pl.steps = 1;
	pl.series = ser;
	pl.n_series = ns;
	snprintf(path, sizeof(path), "%s/autoscale_gpus", dir);
	if ((rc = report_plot_write(&pl, path, err)) < 0)
		goto out;
	/* the load it followed, per modality, in buckets of the autoscaler's interval */
	dt = runs[0].scale ? runs[0].scale->sc.conf.interval_s : 300;
	for (i = 0; i < n; i++)
		if (runs[i].scale)
			dt = runs[i].scale->sc.conf.interval_s;
	nb = (size_t)ceil((t1 - t0) / dt) + 1;
	lx = malloc(nb * sizeof(double));
	li = malloc(nb * sizeof(double));
	lt = malloc(nb * sizeof(double));
	if (!lx || !li || !lt) {
		rc = ms_error_set(err, MS_ENOMEM, "report: load series");
		goto out;
	}
	load_series(runs[0].res, t0, dt, nb, lx, li, lt);
	ser[0] = (struct report_series){ "image requests", lx, li, nb };
	ser[1] = (struct report_series){ "text-only requests", lx, lt, nb };
	pl.title = "Load per modality (arrivals per second, per autoscaler interval)";
	pl.ylabel = "requests/s";
	pl.n_series = 2;
	snprintf(path, sizeof(path), "%s/autoscale_load", dir);
	rc = report_plot_write(&pl, path, err);
out:
	for (i = 0; i < 8; i++) {
		free(xs[i]);
		free(ys[i]);
	}
	free(lx);
	free(li);
	free(lt);
	return rc;
}

void sim_report__scale_html(FILE *f, const struct sim_report_run *runs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (runs[i].scale && runs[i].scale->n)
			break;
	if (i == n)
		return;
	fputs("\n<h2>Autoscaling</h2>\n<p class=\"note\">GPUs of the instances that exist "
	      "(starting ones cost from their request, draining ones until removed), at each "
	      "autoscaler tick, against the load per modality. docs/sim.md has the rules.</p>\n",
	      f);
	report__html_figure(f, "autoscale_gpus", "Autoscaled GPUs over time, per design");
	report__html_figure(f, "autoscale_load", "Image and text-only arrivals per second");
}
