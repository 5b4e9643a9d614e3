/*
 * The run: configuration checks, the event loop (the next arrival beside the
 * heap, dispatch by event type, LLM iterations started once an instant is
 * over, policy ticks) and the end-of-run invariants; sim_isolated and the
 * default SLO on top of it. Requests (mapping, arrival, routing, finish) are
 * sim_request.c's; pools and instances (setup, membership, cost, hooks'
 * sim_ctl_*) sim_pools.c's; the instances' work sim_llm.c's and sim_enc.c's.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim_int.h"

void sim_config_default(struct sim_config *c, const struct perf *perf)
{
	memset(c, 0, sizeof(*c));
	c->perf = perf;
	c->max_images = 16;
	c->src_tokens_per_image = 85;
	c->token_budget = 4096;
	c->max_seqs = 256;
	c->enc_max_images = 8;
	c->kv_block = 16;
	c->link = PERF_LINK_IB;
	c->route_enc = POLICY_ROUTE_LEAST;
	c->route_llm = POLICY_ROUTE_LEAST;
	c->rate_scale = 1.0;
	c->seed = 1;
}

void sim_result_init(struct sim_result *r)
{
	memset(r, 0, sizeof(*r));
}

void sim_result_release(struct sim_result *r)
{
	int i;

	free(r->req);
	for (i = 0; i < r->n_pools; i++)
		metrics_series_release(&r->pool[i].series);
	memset(r, 0, sizeof(*r));
}

/*
 * Tensor parallelism splits attention heads across GPUs. vLLM refuses a TP that
 * does not divide the heads, and for KV heads asks that TP divide them or (fewer
 * KV heads than GPUs: replicated) be a multiple of them. Encoder pools split the
 * vision tower's heads. Checked here so deployment files are covered too.
 */
static int check_tp(const struct sim_config *c, struct ms_error *err)
{
	const struct model_spec *m = &c->perf->model;
	int p;

	for (p = 0; p < c->deploy.n_pools; p++) {
		const struct sim_pool_spec *sp = &c->deploy.pool[p];
		int tp = sp->tp;

		if (tp < 1)
			continue; /* an empty pool: sim__setup_pools names it */
		if (sp->role == SIM_ROLE_ENC) {
			if (m->enc_heads > 0 && m->enc_heads % tp)
				return ms_error_set(err, MS_EINVAL,
						    "sim: pool enc at TP %d: TP must divide %s's %d "
						    "encoder attention heads", tp, m->name,
						    m->enc_heads);
			continue;
		}
		if ((m->heads > 0 && m->heads % tp) ||
		    (m->kv_heads > 0 && (m->kv_heads >= tp ? m->kv_heads % tp : tp % m->kv_heads)))
			return ms_error_set(err, MS_EINVAL,
					    "sim: pool %s at TP %d: TP must divide %s's %d attention "
					    "heads and divide (or be a multiple of) its %d KV heads",
					    sim_role_name(sp->role), tp, m->name, m->heads,
					    m->kv_heads);
	}
	return 0;
}

static int check_config(const struct sim_config *c, const struct trace_set *ts,
			struct ms_error *err)
{
	if (!c->perf)
		return ms_error_set(err, MS_EINVAL, "sim: no perf model");
	if (c->deploy.n_pools < 1 || c->deploy.n_pools > SIM_MAX_POOLS)
		return ms_error_set(err, MS_EINVAL, "sim: deployment has no pools");
	if (c->max_images > 100000)
		return ms_error_set(err, MS_EINVAL, "sim: --max-images above 100000");
	if (c->token_budget < 1 || c->max_seqs < 1 || c->enc_max_images < 1 || c->kv_block < 1)
		return ms_error_set(err, MS_EINVAL,
				    "sim: token budget, batch limits and KV block must be >= 1");
	if (!(c->rate_scale > 0) || !isfinite(c->rate_scale))
		return ms_error_set(err, MS_EINVAL, "sim: --rate-scale must be > 0");
	if (ts->n >= SIM__NIL)
		return ms_error_set(err, MS_ERANGE, "sim: %zu requests are too many", ts->n);
	return check_tp(c, err);
}

static int tick(struct sim__state *s)
{
	const struct sim_config *c = s->c;
	int rc = c->on_tick(c->hook_arg, (struct sim_ctl *)s, s->now);

	if (rc < 0)
		return rc;
	if (rc > 0)
		s->stop = 1;
	/* ticks go on while there is work ahead, so a run still ends by itself */
	if (!s->stop && (s->in_flight || s->arrived < s->ts->n) &&
	    sim__heap_push(&s->heap, s->now + c->tick_s, SIM__EV_TICK, 0, 0) < 0)
		return ms_error_set(s->err, MS_ENOMEM, "sim: event queue");
	return 0;
}

/*
 * The one pending arrival waits beside the heap, not in it (half a push and a
 * pop per request saved); it takes its sequence number as a push would, so
 * events come out in exactly the (time, sequence) order of one heap.
 */
static void arrival_next(struct sim__state *s, uint32_t row)
{
	s->arr.t = s->ts->t[row] / s->c->rate_scale;
	s->arr.seq = s->heap.seq++;
	s->arr.type = SIM__EV_ARRIVAL;
	s->arr.a = row;
	s->has_arr = 1;
}

/* The instant is over: the LLM instances due start their iterations (sim__llm_start_due). */
static int start_due(struct sim__state *s)
{
	uint32_t i, n = s->n_due;

	s->n_due = 0;
	for (i = 0; i < n; i++) {
		uint32_t ii = s->due[i];
		s->inst[ii].start_due = 0;
		if (policy_inst_state(&s->pol, ii) == POLICY_INST_REMOVED)
			continue; /* drained empty in the same instant */
		if (sim__llm_start(s, ii) < 0)
			return -MS_ENOMEM;
	}
	return 0;
}

static int next_event(struct sim__state *s, struct sim__event *e)
{
	const struct sim__event *top = s->heap.n ? sim__heap_top(&s->heap) : NULL;

	if (s->has_arr &&
	    (!top || s->arr.t < top->t || (s->arr.t == top->t && s->arr.seq < top->seq))) {
		*e = s->arr;
		s->has_arr = 0;
		return 1;
	}
	return sim__heap_pop(&s->heap, e);
}

static int dispatch(struct sim__state *s, const struct sim__event *e)
{
	struct sim__inst *in;
	uint32_t it, next;

	switch (e->type) {
	case SIM__EV_ARRIVAL:
		if (e->a + 1 < s->ts->n)
			arrival_next(s, e->a + 1);
		s->arrived++;
		return sim__arrival(s, e->a);
	case SIM__EV_ENQ_ENC:
		/* each item of the chain counts as the event it stands for */
		for (it = e->a; it != SIM__NIL; it = next) {
			next = s->item[it].next;
			if (it != e->a)
				s->res->events++;
			if (sim__enc_enqueue(s, s->item[it].inst, it) < 0)
				return -MS_ENOMEM;
		}
		return 0;
	case SIM__EV_ENQ_LLM:
		return sim__llm_enqueue(s, e->b, e->a) < 0 ? -MS_ENOMEM : 0;
	case SIM__EV_DONE:
		in = &s->inst[e->a];
		if (!in->busy || in->version != e->b)
			return 0; /* a decode run that was cut short */
		if (in->role == SIM_ROLE_ENC)
			return sim__enc_done(s, e->a) < 0 ? -MS_ENOMEM : 0;
		return sim__llm_done(s, e->a) < 0 ? -MS_ENOMEM : 0;
	case SIM__EV_READY:
		if (policy_inst_state(&s->pol, e->a) != POLICY_INST_STARTING)
			return 0; /* drained (and removed) while starting */
		return policy_inst_ready(&s->pol, e->a, s->now) < 0 ? -MS_EINVAL : 0;
	case SIM__EV_TICK:
		return tick(s);
	default:
		MS_BUG("unknown event type %u", e->type);
	}
}

/*
 * End-of-run invariants, checked in every run: every request finished once,
 * every KV block returned, every queue empty, every policy counter back to 0.
 * A violation is a simulator bug.
 */
static void check_end(struct sim__state *s)
{
	uint32_t i;
	int p;

	for (i = 0; i < s->ts->n; i++)
		if (!s->res->req[i].done)
			MS_BUG("request %u never finished (%u in flight)", i, s->in_flight);
	if (s->in_flight || s->n_item || s->finished != s->ts->n)
		MS_BUG("%u requests and %u image items left in flight", s->in_flight, s->n_item);
	for (i = 0; i < s->n_inst; i++) {
		const struct sim__inst *in = &s->inst[i];
		if (sim__holds_work(in) || in->b.blocks_free != in->b.blocks_total ||
		    policy_inst_pending(&s->pol, i))
			MS_BUG("instance %u ends holding work (%llu of %llu KV blocks free, %llu "
			       "pending)", i, (unsigned long long)in->b.blocks_free,
			       (unsigned long long)in->b.blocks_total,
			       (unsigned long long)policy_inst_pending(&s->pol, i));
	}
	for (p = 0; p < s->n_pools; p++)
		if (s->pool[p].queued || s->pool[p].blocks_used || s->pol.pool[p].queued ||
		    s->pol.pool[p].pending)
			MS_BUG("pool %d ends with %llu queued, %llu KV blocks, %llu pending", p,
			       (unsigned long long)s->pool[p].queued,
			       (unsigned long long)s->pool[p].blocks_used,
			       (unsigned long long)s->pol.pool[p].pending);
	if (s->pol.over_released)
		MS_BUG("policy: %llu releases above pending", (unsigned long long)s->pol.over_released);
}

int sim_run(const struct sim_config *c, const struct trace_set *ts, struct sim_result *res,
	    struct ms_error *err)
{
	struct sim__state st, *s = &st;
	struct sim__event e;
	uint32_t i, pick_n;
	int rc, p;

	sim_result_init(res);
	if ((rc = check_config(c, ts, err)) < 0)
		return rc;
	memset(s, 0, sizeof(*s));
	s->c = c;
	s->perf = c->perf;
	s->ts = ts;
	s->res = res;
	s->err = err;
	sim_map_init(&s->map, c);
	s->cross = s->map.cross;
	s->tiles_per_image = s->map.tiles_per_image;
	s->tokens_per_image = s->map.tokens_per_image;
	res->n = ts->n;
	res->req = calloc(ts->n ? ts->n : 1, sizeof(*res->req));
	s->cap_req = 1024;
	s->req = malloc(s->cap_req * sizeof(*s->req));
	s->cap_item = 1024;
	s->item = malloc(s->cap_item * sizeof(*s->item));
	pick_n = c->max_images ? c->max_images : 1;
	s->items = malloc(pick_n * sizeof(*s->items));
	s->grp = malloc(2 * pick_n * sizeof(*s->grp));
	s->grp_t = malloc(pick_n * sizeof(*s->grp_t));
	if (!res->req || !s->req || !s->item || !s->items || !s->grp || !s->grp_t) {
		rc = ms_error_set(err, MS_ENOMEM, "sim: results of %zu requests", ts->n);
		goto fail;
	}
	for (i = 0; i < s->cap_req; i++)
		s->req[i].next = i + 1 < s->cap_req ? i + 1 : SIM__NIL;
	for (i = 0; i < s->cap_item; i++)
		s->item[i].next = i + 1 < s->cap_item ? i + 1 : SIM__NIL;
	s->free_req = 0;
	s->free_item = 0;
	/* static pools are requested at the first arrival: cost runs from there */
	s->now = s->cost_t = ts->n ? ts->t[0] / c->rate_scale : 0;
	if ((rc = sim__setup_pools(s, err)) < 0)
		goto fail;
	if ((rc = sim__heap_init(&s->heap, s->n_inst * 2 + 1024, err)) < 0)
		goto fail;
	if (ts->n)
		arrival_next(s, 0);
	if (ts->n && c->tick_s > 0 && c->on_tick &&
	    sim__heap_push(&s->heap, s->now + c->tick_s, SIM__EV_TICK, 0, 0) < 0) {
		rc = ms_error_set(err, MS_ENOMEM, "sim: event queue");
		goto fail;
	}
	s->t_work = s->now;
	s->running = 1;
	for (;;) {
		if (s->n_due && !s->stop && !sim__event_now(s)) {
			if (start_due(s) < 0) {
				rc = err && err->code ? -err->code
						      : ms_error_set(err, MS_ENOMEM, "sim: out of memory");
				goto fail;
			}
			continue;
		}
		if (s->stop || !next_event(s, &e))
			break;
		s->now = e.t;
		res->events++;
		if (e.type != SIM__EV_TICK)
			s->t_work = e.t;
		if ((rc = dispatch(s, &e)) < 0) {
			/* the code of the message set deepest down (instances return -MS_ENOMEM) */
			if (!err || !err->code)
				rc = ms_error_set(err, MS_ENOMEM, "sim: out of memory");
			else
				rc = -err->code;
			goto fail;
		}
		if (c->progress && (res->events & 0xffff) == 0)
			c->progress(c->progress_arg, (double)s->finished,
				    (double)ts->n);
	}
	/* the run ends with its last piece of work, not with a tick after it */
	if (!s->stop)
		s->now = s->t_work;
	res->end_s = s->now;
	res->stopped = s->stop;
	if (!s->stop)
		check_end(s);
	for (p = 0; p < s->n_pools; p++) {
		if (metrics_series_finish(&res->pool[p].series, s->now) < 0) {
			rc = ms_error_set(err, MS_ENOMEM, "sim: time series");
			goto fail;
		}
	}
	res->gpus = sim_deploy_gpus(&c->deploy);
	if (ts->n)
		sim__accrue(s);
	res->cost_usd = res->gpu_s / 3600.0 * c->perf->gpu.price_hour;
	sim__teardown(s);
	return 0;
fail:
	sim__teardown(s);
	sim_result_release(res);
	return rc;
}

int sim_isolated(const struct sim_config *c, int tp, uint32_t images, uint32_t text,
		 uint32_t gen, double *ttft_s, double *tpot_s, struct ms_error *err)
{
	struct trace_set ts;
	struct sim_config m = *c;
	struct sim_result res;
	int rc;

	/* alone: at the trace's own time, no hooks, one instance */
	m.rate_scale = 1;
	m.progress = NULL;
	m.progress_arg = NULL;
	m.tick_s = 0;
	m.on_tick = NULL;
	m.early_stop = NULL;
	trace_set_init(&ts);
	/* ContextTokens carries the trace's own image tokens, as a trace row would */
	if ((rc = trace_set_push(&ts, 0.0, images, text + images * c->src_tokens_per_image, gen,
				 err)) < 0)
		goto out;
	if ((rc = sim_deploy_default(&m.deploy, SIM_DEPLOY_MONO, (uint32_t)tp, tp, err)) < 0)
		goto out;
	if ((rc = sim_run(&m, &ts, &res, err)) < 0)
		goto out;
	*ttft_s = res.req[0].ttft;
	*tpot_s = res.req[0].tpot;
	sim_result_release(&res);
out:
	trace_set_release(&ts);
	return rc;
}

int sim_slo_default(const struct perf *perf, double scale, double *ttft_s, double *tpot_s,
		    struct ms_error *err)
{
	struct sim_config c;
	int rc;

	sim_config_default(&c, perf);
	/* a model without a vision encoder serves text only: its reference has no image */
	rc = sim_isolated(&c, perf->model.default_tp, model_has_vision(&perf->model) ? 1 : 0,
			  1000, 100, ttft_s, tpot_s, err);
	if (rc == 0) {
		*ttft_s *= scale;
		*tpot_s *= scale;
	}
	return rc;
}
