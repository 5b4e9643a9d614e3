/*
 * The autoscaler's glue to the simulator (sim_autoscale.h): targets to
 * sim_ctl_add / sim_ctl_drain, and the size of the cluster over time.
 */
#include "sim/sim_autoscale.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int record(struct sim_autoscale *a, struct policy *pol, double now)
{
	struct sim_autoscale_point *pt;
	struct policy_pool_stats st;
	int p;

	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 256;
		struct sim_autoscale_point *n = realloc(a->pts, cap * sizeof(*n));
		if (!n)
			return -MS_ENOMEM;
		a->pts = n;
		a->cap = cap;
	}
	pt = &a->pts[a->n++];
	memset(pt, 0, sizeof(*pt));
	pt->t = now;
	for (p = 0; p < a->n_pools; p++) {
		policy_pool_stats(pol, p, now, &st);
		pt->live[p] = st.starting + st.ready;
		pt->gpus += (st.starting + st.ready + st.draining) * (uint32_t)a->tp[p];
	}
	return 0;
}

/* The member of `pool` to drain next: the newest starting one, else the ready one with least work. */
static uint32_t drain_pick(const struct policy *pol, int pool)
{
	uint32_t i, best = POLICY_NONE;

	for (i = pol->n_inst; i-- > 0;)
		if (policy_inst_pool(pol, i) == pool &&
		    policy_inst_state(pol, i) == POLICY_INST_STARTING)
			return i;
	for (i = 0; i < pol->n_inst; i++) {
		if (policy_inst_pool(pol, i) != pool || policy_inst_state(pol, i) != POLICY_INST_READY)
			continue;
		if (best == POLICY_NONE || policy_inst_pending(pol, i) < policy_inst_pending(pol, best))
			best = i;
	}
	return best;
}

static int on_tick(void *arg, struct sim_ctl *ctl, double now)
{
	struct sim_autoscale *a = arg;
	struct policy *pol = sim_ctl_policy(ctl);
	uint32_t target[POLICY_MAX_POOLS], k;
	enum policy_scale_why why[POLICY_MAX_POOLS];
	struct policy_pool_stats st;
	int i, rc;

	if (!a->started) {
		a->started = 1;
		if (record(a, pol, now) < 0) /* the size the run started with */
			return -MS_ENOMEM;
	}
	policy_scale_step(&a->sc, pol, now, target, why);
	for (i = 0; i < a->conf.n; i++) {
		int pool = a->conf.p[i].pool;
		uint32_t live;
		policy_pool_stats(pol, pool, now, &st);
		live = st.starting + st.ready;
		if (why[i] != POLICY_SCALE_NONE && target[i] != live)
			a->why[why[i]]++;
		for (k = live; k < target[i]; k++) {
			if ((rc = sim_ctl_add(ctl, pool, a->startup_s, NULL)) < 0)
				return rc;
			a->added++;
		}
		for (k = target[i]; k < live; k++) {
			uint32_t id = drain_pick(pol, pool);
			if (id == POLICY_NONE)
				break;
			if ((rc = sim_ctl_drain(ctl, id)) < 0)
				return rc;
			a->drained++;
		}
	}
	return record(a, pol, now) < 0 ? -MS_ENOMEM : 0;
}

int sim_autoscale_attach(struct sim_autoscale *a, struct sim_config *c,
			 const struct policy_scale_conf *conf, double tick_s, double startup_s,
			 struct ms_error *err)
{
	struct policy shape;
	int p, rc;

	memset(a, 0, sizeof(*a));
	if (!(startup_s >= 0) || !(tick_s >= 0))
		return ms_error_set(err, MS_EINVAL, "autoscale: negative startup or tick");
	for (p = 0; p < conf->n; p++)
		if (conf->p[p].pool < 0 || conf->p[p].pool >= c->deploy.n_pools)
			return ms_error_set(err, MS_EINVAL, "autoscale: no pool %d in the deployment",
					    conf->p[p].pool);
	/* the rule's checks need only the number of pools; the run's policy comes later */
	memset(&shape, 0, sizeof(shape));
	shape.conf.n_pools = c->deploy.n_pools;
	if ((rc = policy_scale_init(&a->sc, conf, &shape, err)) < 0)
		return rc;
	a->conf = *conf;
	a->startup_s = startup_s;
	a->n_pools = c->deploy.n_pools;
	for (p = 0; p < a->n_pools; p++)
		a->tp[p] = c->deploy.pool[p].tp;
	c->tick_s = tick_s > 0 ? tick_s : 30;
	c->on_tick = on_tick;
	c->hook_arg = a;
	return 0;
}

void sim_autoscale_release(struct sim_autoscale *a)
{
	free(a->pts);
	a->pts = NULL;
	a->n = a->cap = 0;
}

double sim_autoscale_gpu_hours(const struct sim_autoscale *a, double t_end)
{
	double s = 0;
	size_t i;

	for (i = 0; i < a->n; i++) {
		double t1 = i + 1 < a->n ? a->pts[i + 1].t : t_end;
		if (t1 > a->pts[i].t)
			s += a->pts[i].gpus * (t1 - a->pts[i].t);
	}
	return s / 3600.0;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return (a > b) - (a < b);
}

static double median(double *v, size_t n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void sim_autoscale_initial(const struct perf *perf, const struct trace_set *ts,
			   const struct sim_config *c, uint32_t *n_image, uint32_t *n_text)
{
	double span, enc_s, qps, per_req, ni, nt;
	size_t i, minutes, n_img = 0;
	double *v;

	*n_image = *n_text = 1;
	if (!ts->n)
		return;
	span = (ts->t[ts->n - 1] - ts->t[0]) / c->rate_scale;
	minutes = (size_t)(span / 60) + 1;
	v = calloc(minutes > ts->n ? minutes : ts->n, sizeof(*v));
	if (!v)
		return;
	for (i = 0; i < ts->n; i++) {
		size_t m = (size_t)((ts->t[i] - ts->t[0]) / c->rate_scale / 60);
		uint32_t k = ts->images[i] < c->max_images ? ts->images[i] : c->max_images;
		if (m >= minutes)
			m = minutes - 1;
		v[m] += k;
	}
	for (i = 0; i < minutes; i++)
		v[i] /= 60;
	qps = median(v, minutes);
	for (i = 0; i < ts->n; i++)
		if (ts->images[i])
			v[n_img++] = ts->images[i] < c->max_images ? ts->images[i] : c->max_images;
	per_req = median(v, n_img);
	free(v);
	enc_s = perf_encode_s(perf, 1, perf_image_tiles(perf));
	ni = ceil(qps * enc_s);
	nt = per_req > 0 ? ceil(ni / per_req) : 1;
	*n_image = ni >= 1 ? (uint32_t)ni : 1;
	*n_text = nt >= 1 ? (uint32_t)nt : 1;
}
