/*
 * Which autoscaler a design gets and with what numbers (plan_autoscale.h;
 * docs/sim.md, "Autoscaling").
 *  - enc + llm pools (decoup, sched, modserve): ModServe's stage-aware rule,
 *    image tokens/s for encoders and prompt tokens/s for LLM instances, what
 *    pools of each size carry at the SLO (plan's per-request mode, or
 *    --slo-ttft / --slo-tpot) measured by plan_pool_capacity on the first
 *    PLAN__SCALE_HISTORY rows (a curve over PLAN_CAP_SIZES), initial sizes
 *    from that history by the paper's formula (sim_autoscale_initial);
 *  - mono and pd: an operator's baseline, replicas from the request rate;
 *    for mono what its pools carry at the SLO by the same probes as
 *    ModServe's pools (the paper gives the monolith a comparable
 *    profile-driven autoscaler), for pd (which meets no SLO here:
 *    docs/plan.md) PLAN__SCALE_UTIL of the GPU time a request needs per
 *    instance (the work estimate); initial size the mean request rate over it.
 * Both: the same interval, startup delay, cooldown and hysteresis, the same
 * GPU budget (the deployment's GPUs, shared by the pools unless --max bounds
 * each), and the same burst response (the queue above PLAN__BURST_QUEUE per
 * ready instance: the recent arrival rate plus the backlog drained over the
 * startup delay); the SLO-attainment trigger is ModServe's (the paper's).
 */
#include <math.h>
#include <string.h>

#include "plan/plan_autoscale.h"

#include "plan/plan_capacity.h"

#define PLAN__SCALE_HISTORY 20000
#define PLAN__SCALE_UTIL 0.7
/* queued per ready instance that is a burst: encoders count image items, the rest requests */
#define PLAN__BURST_QUEUE_ENC 4
#define PLAN__BURST_QUEUE 16

static uint32_t clamp_n(double v, uint32_t lo, uint32_t hi)
{
	if (!(v > lo))
		return lo;
	return v >= hi ? hi : (uint32_t)ceil(v);
}

/* The first rows of ts as the history the capacities are measured on. */
static int history(const struct trace_set *ts, struct trace_set *h, struct ms_error *err)
{
	size_t i, n = ts->n < PLAN__SCALE_HISTORY ? ts->n : PLAN__SCALE_HISTORY;
	int rc = 0;

	trace_set_init(h);
	for (i = 0; i < n && rc == 0; i++)
		rc = trace_set_push(h, ts->t[i], ts->images[i], ts->ctx[i], ts->gen[i], err);
	return rc;
}

/*
 * Capacities at the SLO (plan_pool_capacity: what = enc + llm, or the monolith) on
 * the history. The SLO is each request against its own isolated latency x the
 * scale (plan's `request` mode): under the class targets the trace's
 * 20,000-token texts and 16-image requests miss on an idle cluster and no
 * capacity exists. Measured once for the whole trace (it does not depend on the
 * design; the history's rows are its first ones), and it sets c's deadlines.
 */
static int capacity_at_slo(const struct plan_scale_opts *so, const struct trace_set *ts,
			   struct sim_config *c, int tp, int mono, struct plan_pool_capacity *cap,
			   struct ms_error *err)
{
	struct plan_opts po;
	struct plan_slo slo;
	struct trace_set h;
	struct sim_config base = *c;
	int rc;

	plan_slo_init(&slo);
	base.row_ttft_s = NULL;
	base.tick_s = 0;
	base.on_tick = NULL;
	base.rate_scale = 1;
	if ((rc = plan_slo_reference(&slo, &base, c->perf->model.default_tp, so->slo_scale,
				     err)) < 0)
		return rc;
	if (so->slo_ttft > 0)
		slo.ttft[PLAN_TEXT] = slo.ttft[PLAN_IMAGE] = so->slo_ttft;
	if (so->slo_tpot > 0)
		slo.tpot[PLAN_TEXT] = slo.tpot[PLAN_IMAGE] = so->slo_tpot;
	if (so->slo_ttft <= 0 && so->slo_tpot <= 0 && !so->row_slo->req_ttft) {
		so->row_slo->mono_tp = slo.mono_tp;
		so->row_slo->scale = slo.scale;
		memcpy(so->row_slo->ttft, slo.ttft, sizeof(slo.ttft));
		memcpy(so->row_slo->tpot, slo.tpot, sizeof(slo.tpot));
		if ((rc = plan_slo_per_request(so->row_slo, &base, ts, err)) < 0)
			return rc;
	}
	if ((rc = history(ts, &h, err)) < 0) {
		trace_set_release(&h);
		return rc;
	}
	if (so->row_slo->req_ttft) {
		slo.mode = PLAN_SLO_REQUEST;
		slo.n = h.n;
		slo.req_ttft = so->row_slo->req_ttft; /* borrowed: slo is not released */
		slo.req_tpot = so->row_slo->req_tpot;
		c->row_ttft_s = so->row_slo->req_ttft;
	}
	memset(&po, 0, sizeof(po));
	po.base = &base;
	po.ts = &h;
	po.slo = &slo;
	po.threads = 2;
	rc = plan_pool_capacity(&po, tp, mono ? PLAN_CAP_MONO : PLAN_CAP_ENC | PLAN_CAP_LLM, cap,
				err);
	trace_set_release(&h);
	return rc;
}

/* The rule's numbers from a measured curve: per instance beyond it, its points. */
static void set_curve(struct policy_scale_pool *sp, const struct plan_cap_curve *cv)
{
	int j;

	sp->capacity = cv->per_inst;
	sp->n_curve = PLAN_CAP_N_SIZES;
	for (j = 0; j < PLAN_CAP_N_SIZES; j++) {
		sp->curve_n[j] = cv->n[j];
		sp->curve_load[j] = cv->load[j];
	}
}

/* What the rule asks for sp at `load`, unbounded (policy_scale_need on sp alone). */
static uint32_t rule_need(const struct policy_scale_pool *sp, double load)
{
	struct policy_scale one;

	memset(&one, 0, sizeof(one));
	one.conf.n = 1;
	one.conf.p[0] = *sp;
	return clamp_n(policy_scale_need(&one, 0, load), 1, UINT32_MAX);
}

static int modserve_rule(const struct plan_scale_opts *so, const struct trace_set *ts,
			 struct sim_config *c, struct policy_scale_conf *pc, const char **rule,
			 struct ms_error *err)
{
	struct plan_pool_capacity cap;
	uint32_t n_img, n_txt, need;
	int p, rc, tp = 0;

	for (p = 0; p < c->deploy.n_pools; p++)
		if (c->deploy.pool[p].role == SIM_ROLE_LLM)
			tp = c->deploy.pool[p].tp;
	if (!tp)
		return ms_error_set(err, MS_EINVAL,
				    "autoscale: designs with enc + llm, mono or pd pools (not "
				    "E-P-D)");
	if ((rc = capacity_at_slo(so, ts, c, tp, 0, &cap, err)) < 0)
		return rc;
	if (!(cap.llm.per_inst > 0) || (c->deploy.pool[0].role == SIM_ROLE_ENC &&
					  !(cap.enc.per_inst > 0)))
		return ms_error_set(err, MS_EINVAL,
				    "autoscale: a pool never meets the SLO on the trace's first %zu "
				    "rows (capacity per instance at %u: encoders %.4g image tokens/s, "
				    "LLM %.4g prompt tokens/s): relax --slo-scale",
				    ts->n < PLAN__SCALE_HISTORY ? ts->n : (size_t)PLAN__SCALE_HISTORY,
				    cap.enc.n[PLAN_CAP_N_SIZES - 1], cap.enc.per_inst, cap.llm.per_inst);
	sim_autoscale_initial(c->perf, ts, c, &n_img, &n_txt);
	for (p = 0; p < c->deploy.n_pools; p++) {
		struct policy_scale_pool *sp = &pc->p[pc->n++];
		int enc = c->deploy.pool[p].role == SIM_ROLE_ENC;
		sp->pool = p;
		sp->rate_pool = -1;
		sp->load = enc ? POLICY_ARR_IMG_TOKENS : POLICY_ARR_PROMPT;
		set_curve(sp, enc ? &cap.enc : &cap.llm);
		sp->burst_queue = enc ? PLAN__BURST_QUEUE_ENC : PLAN__BURST_QUEUE;
		/*
		 * The paper's formula counts busy instances (Little's law), not the
		 * headroom the SLO needs: at least what the rule itself asks for the
		 * history's mean load, so the run does not start behind its own rule.
		 */
		need = rule_need(sp, (enc ? cap.img_tokens_s : cap.prompt_tokens_s) * c->rate_scale);
		c->deploy.pool[p].count = enc ? n_img : n_txt;
		if (need > c->deploy.pool[p].count)
			c->deploy.pool[p].count = need;
	}
	*rule = "modserve";
	return 0;
}

static int baseline_rule(const struct plan_scale_opts *so, const struct trace_set *ts,
			 struct sim_config *c, const struct sim_work *w0,
			 struct policy_scale_conf *pc, const char **rule, struct ms_error *err)
{
	struct plan_pool_capacity cap;
	struct sim_work wk;
	const struct sim_work *w = w0;
	double span, req_s;
	int p, rc;

	if (!w) {
		if ((rc = sim_work_estimate(c, ts, c->deploy.pool[0].tp, &wk, err)) < 0)
			return rc;
		w = &wk;
	}
	span = ts->n > 1 ? (ts->t[ts->n - 1] - ts->t[0]) / c->rate_scale : 1;
	req_s = (double)ts->n / (span > 0 ? span : 1);
	for (p = 0; p < c->deploy.n_pools; p++) {
		struct policy_scale_pool *sp = &pc->p[pc->n++];
		enum sim_role r = c->deploy.pool[p].role;
		double gpu_s = r == SIM_ROLE_MONO ? w->enc_inline_gpu_s + w->prefill_gpu_s +
							    w->decode_gpu_s
			       : r == SIM_ROLE_PREFILL ? w->enc_inline_gpu_s + w->prefill_gpu_s
						       : w->decode_gpu_s;
		double inst_s = gpu_s / c->deploy.pool[p].tp / (w->requests ? w->requests : 1);
		sp->pool = p;
		sp->rate_pool = 0; /* requests arrive at the entry pool */
		sp->load = POLICY_ARR_REQ;
		sp->capacity = inst_s > 0 ? PLAN__SCALE_UTIL / inst_s : 1e9;
		if (r == SIM_ROLE_MONO) {
			/*
			 * The paper's monolith gets a profiled autoscaler: what its pools
			 * carry at the SLO, measured as the ModServe pools' are (probes of
			 * PLAN_CAP_SIZES instances; plan_capacity.h). The utilisation
			 * target stands in only if no probe meets.
			 */
			if ((rc = capacity_at_slo(so, ts, c, c->deploy.pool[p].tp, 1, &cap, err)) < 0)
				return rc;
			if (cap.mono.per_inst > 0)
				set_curve(sp, &cap.mono);
		}
		sp->burst_queue = PLAN__BURST_QUEUE;
		c->deploy.pool[p].count = (uint32_t)ceil(req_s / sp->capacity);
		if (sp->n_curve)
			c->deploy.pool[p].count = rule_need(sp, req_s);
	}
	pc->attain_min_n = UINT64_MAX; /* no SLO trigger: an operator's rule reads rates */
	*rule = "baseline";
	return 0;
}

int plan_autoscale_setup(const struct plan_scale_opts *so, const struct trace_set *ts,
			struct sim_config *c, const struct sim_work *w, struct sim_autoscale *a,
			struct ms_error *err)
{
	struct policy_scale_conf pc;
	uint32_t max[SIM_MAX_POOLS], split[SIM_MAX_POOLS], budget = 0;
	const char *rule = "";
	int p, rc;

	memset(&pc, 0, sizeof(pc));
	pc.interval_s = so->interval_s;
	pc.drain_s = so->startup_s;
	/*
	 * Without --max the deployment's GPUs are a budget the pools share (up to
	 * 16 servers, not the static split's mix: an image burst wants encoders
	 * the split gave the LLM pool); with it, each pool is bounded alone.
	 */
	for (p = 0; p < c->deploy.n_pools; p++) {
		split[p] = c->deploy.pool[p].count;
		budget += split[p] * (uint32_t)c->deploy.pool[p].tp;
	}
	for (p = 0; p < c->deploy.n_pools; p++)
		max[p] = so->max ? (uint32_t)so->max : budget / (uint32_t)c->deploy.pool[p].tp;
	if (!so->max)
		pc.max_gpus = budget;
	rc = c->deploy.kind == SIM_DEPLOY_MODSERVE ? modserve_rule(so, ts, c, &pc, &rule, err)
						   : baseline_rule(so, ts, c, w, &pc, &rule, err);
	if (rc < 0)
		return rc;
	for (p = 0; p < pc.n; p++) {
		struct policy_scale_pool *sp = &pc.p[p];
		sp->min = so->min ? so->min : 1;
		sp->max = max[p] > sp->min ? max[p] : sp->min;
		sp->gpus = (uint32_t)c->deploy.pool[p].tp;
		/*
		 * without history the paper over-provisions (each pool at its bound, or
		 * the static split of a shared budget); with it, the formula within bounds
		 */
		c->deploy.pool[p].count =
			so->no_history ? (so->max ? sp->max : clamp_n(split[p], sp->min, sp->max))
				       : clamp_n(c->deploy.pool[p].count, sp->min, sp->max);
	}
	if (pc.max_gpus) {
		/* the initial sizes within the budget too: each pool's share of it, as asked */
		uint64_t total = 0;
		for (p = 0; p < pc.n; p++)
			total += (uint64_t)c->deploy.pool[p].count * pc.p[p].gpus;
		if (total > pc.max_gpus)
			for (p = 0; p < pc.n; p++) /* one factor for all: total is the sum before */
				c->deploy.pool[p].count = clamp_n(
					floor((double)c->deploy.pool[p].count * pc.max_gpus /
					      (double)total),
					pc.p[p].min, pc.p[p].max);
	}
	/* rates over two minutes: a one-minute window of a bursty image load is mostly noise */
	if (!(c->stats_window_s > 0))
		c->stats_window_s = 120;
	c->slo_ttft_s = so->slo_ttft_run;
	c->slo_tpot_s = so->slo_tpot_run;
	if ((rc = sim_autoscale_attach(a, c, &pc, so->tick_s, so->startup_s, err)) < 0)
		return rc;
	a->rule = rule;
	return 0;
}
