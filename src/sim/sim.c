/*
 * The run: trace mapping, arrivals, routing between pools, request finish,
 * and the event loop. Instances live in sim_llm.c and sim_enc.c.
 *
 * Trace mapping (docs/sim.md): the trace's ContextTokens holds the production
 * model's image tokens too. text = ContextTokens - NumImages x
 * src_tokens_per_image (clamped at 0 and counted); images are capped to
 * max_images (counted); the simulated model's image tokens are recomputed
 * (perf_image_tokens per image). Decoder-only models prefill text + image
 * tokens; cross-attention models prefill text tokens and feed image tokens to
 * the cross-attention layers, whose cached states are charged to KV memory
 * as image_tokens x cross_layers / self-attention layers tokens (a KV token
 * spans the self-attention layers).
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

int sim__pool_queued(struct sim__state *s, int pool, int64_t delta)
{
	struct sim__pool *p = &s->pool[pool];

	p->queued = (uint64_t)((int64_t)p->queued + delta);
	policy_queue_changed(&s->pol, pool, delta);
	return metrics_series_level(&s->res->pool[pool].series, METRICS_SER_QUEUE, s->now,
				    (double)p->queued);
}

int sim__pool_blocks(struct sim__state *s, int pool, int64_t delta)
{
	struct sim__pool *p = &s->pool[pool];

	p->blocks_used = (uint64_t)((int64_t)p->blocks_used + delta);
	/* normalised by the pool's size now: the series divides by its size at the start */
	return metrics_series_level(&s->res->pool[pool].series, METRICS_SER_KV, s->now,
				    (double)p->blocks_used * p->norm_w);
}

static int req_alloc(struct sim__state *s, uint32_t *out)
{
	uint32_t ri;

	if (s->free_req == SIM__NIL) {
		uint32_t cap = s->cap_req * 2, i;
		struct sim__req *n = realloc(s->req, cap * sizeof(*n));
		if (!n)
			return ms_error_set(s->err, MS_ENOMEM, "sim: %u requests in flight", cap);
		s->req = n;
		for (i = s->cap_req; i < cap; i++)
			n[i].next = i + 1 < cap ? i + 1 : SIM__NIL;
		s->free_req = s->cap_req;
		s->cap_req = cap;
	}
	ri = s->free_req;
	s->free_req = s->req[ri].next;
	s->in_flight++;
	if (s->in_flight > s->res->max_in_flight)
		s->res->max_in_flight = s->in_flight;
	*out = ri;
	return 0;
}

static int item_alloc(struct sim__state *s, uint32_t *out)
{
	if (s->free_item == SIM__NIL) {
		uint32_t cap = s->cap_item * 2, i;
		struct sim__item *n = realloc(s->item, cap * sizeof(*n));
		if (!n)
			return ms_error_set(s->err, MS_ENOMEM, "sim: %u image items queued", cap);
		s->item = n;
		for (i = s->cap_item; i < cap; i++)
			n[i].next = i + 1 < cap ? i + 1 : SIM__NIL;
		s->free_item = s->cap_item;
		s->cap_item = cap;
	}
	*out = s->free_item;
	s->free_item = s->item[*out].next;
	s->n_item++;
	return 0;
}

void sim__req_finish(struct sim__state *s, uint32_t ri)
{
	struct sim__req *r = &s->req[ri];
	struct metrics_req *m = &s->res->req[r->row];
	double enc_span, pf_in, pf_span, pf_served;

	if (m->done)
		MS_BUG("request %u finished twice", r->row);
	m->done = 1;
	m->ttft = r->t_first - m->arrive;
	m->e2e = s->now - m->arrive;
	m->tpot = r->b.gen >= 2 ? (s->now - r->t_first) / (double)(r->b.gen - 1) : NAN;
	m->preempted = r->b.preempted;
	if (r->images) {
		enc_span = r->t_enc_done - m->arrive;
		/* queued: the longest wait of one of its image items (the critical path's) */
		m->queued[METRICS_ENC] = (float)r->enc_wait;
		m->served[METRICS_ENC] = (float)(enc_span - r->enc_wait);
	}
	/* prefill: from the end of encoding (or arrival) to the first token */
	pf_in = r->images ? r->t_enc_done : m->arrive;
	pf_span = r->t_first - pf_in;
	pf_served = r->t_first - (r->t_pf_start > pf_in ? r->t_pf_start : pf_in);
	if (r->enc_s > 0 && r->t_enc_done > r->t_pf_start)
		pf_served = r->t_first - r->t_enc_done; /* mono/pd: encode ran inside the iteration */
	m->served[METRICS_PREFILL] = (float)pf_served;
	m->queued[METRICS_PREFILL] = (float)(pf_span - pf_served);
	if (r->b.gen >= 2) {
		double ds = r->t_dec_start > r->t_first ? r->t_dec_start : r->t_first;
		/* ds: the last time it joined a decode batch; before, served only while decoding */
		m->served[METRICS_DECODE] = (float)((s->now - ds) + r->dec_served);
		m->queued[METRICS_DECODE] = (float)((ds - r->t_first) - r->dec_served);
	}
	if (policy_finished(&s->pol, &r->tk, s->now, m->ttft, m->tpot) < 0)
		MS_BUG("policy: row %u released more than pending", r->row);
	if (s->c->early_stop &&
	    s->c->early_stop(s->c->hook_arg, (struct sim_ctl *)s, r->row, m))
		s->stop = 1;
	r->next = s->free_req;
	s->free_req = ri;
	s->in_flight--;
	s->finished++;
}

/* The request as policy/ sees it. */
static void req_desc(const struct sim__state *s, const struct sim__req *r, struct policy_req *q)
{
	double target;

	q->modality = r->images ? POLICY_IMAGE : POLICY_TEXT;
	q->images = r->images;
	q->tokens_per_image = s->tokens_per_image;
	q->image_tokens = r->img_tokens;
	q->prompt_tokens = r->b.prompt;
	q->cross_tokens = r->b.cross;
	q->text_tokens = s->cross || r->b.prompt < r->img_tokens ? r->b.prompt
								 : r->b.prompt - r->img_tokens;
	q->output_tokens = r->b.gen;
	q->arrival = s->res->req[r->row].arrive;
	q->cls = r->images ? 1 : 0;
	target = s->c->deadline_ttft_s[q->cls] > 0 ? s->c->deadline_ttft_s[q->cls] : s->c->slo_ttft_s;
	if (s->c->row_ttft_s && s->c->row_ttft_s[r->row] > 0)
		target = s->c->row_ttft_s[r->row];
	q->deadline = target > 0 ? q->arrival + target : 0;
}

static int no_instance(struct sim__state *s, int pool)
{
	return ms_error_set(s->err, MS_EUNSUPPORTED, "sim: pool %s has no ready instance at %.3f s",
			    pool >= 0 ? sim_role_name(s->pool[pool].spec.role) : "?", s->now);
}

/* q: the request's descriptor when the caller has it, else NULL */
static int route_llm(struct sim__state *s, uint32_t ri, double delay, const struct policy_req *q)
{
	struct sim__req *r = &s->req[ri];
	struct policy_req d;
	uint32_t k = 0;
	int rc;

	if (!q) {
		req_desc(s, r, &d);
		q = &d;
	}
	rc = policy_route_llm(&s->pol, q, &r->tk, s->now, &k);
	if (rc == -MS_ERANGE)
		MS_BUG("policy: row %u released more than pending", r->row);
	if (rc < 0)
		return no_instance(s, r->tk.stage ? s->pol.p_decode : s->pol.p_entry);
	if (delay <= 0)
		return sim__llm_enqueue(s, k, ri) < 0 ? ms_error_set(s->err, MS_ENOMEM, "sim: out of memory") : 0;
	if (sim__heap_push(&s->heap, s->now + delay, SIM__EV_ENQ_LLM, ri, k) < 0)
		return ms_error_set(s->err, MS_ENOMEM, "sim: event queue");
	return 0;
}

int sim__route_llm(struct sim__state *s, uint32_t ri, double delay)
{
	return route_llm(s, ri, delay, NULL);
}

/* Maps trace row i to the simulated request (sim_map_row, then the KV cut); 1 when cut to fit. */
static int map_row(struct sim__state *s, size_t i, struct sim__req *r)
{
	const struct model_spec *m = &s->perf->model;
	struct sim_shape sh;
	uint64_t prompt, cap = s->kv_cap_tokens;
	int cut = 0;

	sim_map_row(&s->map, s->ts, i, &sh);
	memset(r, 0, sizeof(*r));
	r->row = (uint32_t)i;
	s->res->capped_images += sh.capped;
	s->res->clamped_text += sh.clamped;
	r->images = r->img_left = sh.images;
	r->img_tokens = (uint32_t)sh.img_tokens;
	r->b.cross = (uint32_t)sh.cross;
	r->b.kv_extra = (uint32_t)sh.kv_extra;
	prompt = sh.prompt;
	r->b.gen = sh.gen;
	/* one request must fit one instance's KV (and the model's context): cut, and count */
	if (m->max_context > 0 && (uint64_t)m->max_context < cap)
		cap = (uint64_t)m->max_context;
	/* two blocks of room, or half of a tiny cache (a cut to 2 tokens left gen = 0) */
	cap = cap > 4u * s->c->kv_block ? cap - 2u * s->c->kv_block : cap / 2;
	if (cap < 2)
		cap = 2;
	if ((uint64_t)r->b.kv_extra + prompt + r->b.gen > cap) {
		uint64_t rem;
		cut = 1;
		s->res->truncated++;
		if (r->b.kv_extra > cap / 2) {
			r->b.kv_extra = (uint32_t)(cap / 2);
			/* the image tokens whose cross-attention states fit what is left */
			if (s->map.cross_layers &&
			    (uint64_t)r->b.kv_extra * s->map.self_layers / s->map.cross_layers <
				    r->b.cross)
				r->b.cross = (uint32_t)((uint64_t)r->b.kv_extra * s->map.self_layers /
							s->map.cross_layers);
		}
		rem = cap - r->b.kv_extra; /* >= 1 */
		if (r->b.gen > rem / 2)
			r->b.gen = (uint32_t)(rem / 2);
		if (r->b.gen < 1)
			r->b.gen = 1; /* the prefill always yields one token */
		if (prompt + r->b.gen > rem)
			prompt = rem > r->b.gen ? rem - r->b.gen : 1;
	}
	r->b.prompt = (uint32_t)prompt;
	r->t_pf_start = -1;
	r->t_enc_done = -1;
	r->t_dec_start = -1;
	r->inst = SIM__NIL;
	return cut;
}

/*
 * The n items of request ri (s->items) reach their encoders once preprocessed: one
 * event per distinct due time, its items chained through `next` in routing order.
 * One event per item would push them with consecutive sequence numbers, so items due
 * at the same time pop back to back in that order, and nothing can come between them:
 * the chain replays exactly that (about two heap operations fewer per image item).
 */
static int items_push(struct sim__state *s, uint32_t ri, uint32_t n)
{
	struct sim__req *r = &s->req[ri];
	uint32_t j, g, n_g = 0, last_nimg = 0, *head = s->grp, *tail = s->grp + n;
	double prep = 0, *due = s->grp_t;
	int rc, cores = s->pool[s->pol.p_enc].cores;

	for (j = 0; j < n; j++) {
		uint32_t it = 0;
		double t;
		/* the same image count takes the same preprocessing time (a pure function) */
		if (j == 0 || s->items[j].nimg != last_nimg)
			prep = perf_preprocess_s(s->perf, s->items[j].nimg, cores);
		last_nimg = s->items[j].nimg;
		if ((rc = item_alloc(s, &it)) < 0)
			return rc;
		s->item[it].req = ri;
		s->item[it].nimg = s->items[j].nimg;
		s->item[it].inst = s->items[j].inst;
		s->item[it].next = SIM__NIL;
		if (prep > r->prep_s)
			r->prep_s = prep;
		t = s->now + prep;
		for (g = 0; g < n_g && due[g] != t; g++)
			;
		if (g == n_g) {
			due[n_g++] = t;
			head[g] = it;
		} else {
			s->item[tail[g]].next = it;
		}
		tail[g] = it;
	}
	for (g = 0; g < n_g; g++)
		if (sim__heap_push(&s->heap, due[g], SIM__EV_ENQ_ENC, head[g], 0) < 0)
			return ms_error_set(s->err, MS_ENOMEM, "sim: event queue");
	return 0;
}

static int arrival(struct sim__state *s, uint32_t row)
{
	struct metrics_req *m = &s->res->req[row];
	struct sim__req *r;
	struct policy_req q;
	uint32_t ri = 0;
	int rc, n, p_enc = s->pol.p_enc, p_entry = s->pol.p_entry;

	if ((rc = req_alloc(s, &ri)) < 0)
		return rc;
	r = &s->req[ri];
	m->truncated = (uint8_t)map_row(s, row, r);
	m->arrive = s->now;
	m->images = r->images;
	m->prompt = r->b.prompt;
	m->gen = r->b.gen;
	/* the trace's content, not the options alone: a runtime failure, not EINVAL */
	if (r->images && (s->perf->model.enc_params <= 0 || s->tokens_per_image == 0))
		return ms_error_set(s->err, MS_EUNSUPPORTED,
				    "trace row %u has %u image%s but model %s has no vision encoder "
				    "(a text-only model serves text requests only)", row,
				    r->images, r->images == 1 ? "" : "s", s->perf->model.name);
	if (r->images && p_enc < 0 && s->pool[p_entry].spec.role == SIM_ROLE_LLM)
		return ms_error_set(s->err, MS_EUNSUPPORTED,
				    "trace row %u has images but the deployment has no encoder "
				    "pool (add enc=NxTP)", row);
	req_desc(s, r, &q);
	policy_ticket_init(&r->tk, &q);
	if (r->images == 0 || p_enc < 0) {
		/* mono/pd encode inside the LLM instance after CPU preprocessing */
		int cores = s->pool[p_entry].cores;
		r->prep_s = r->images ? perf_preprocess_s(s->perf, r->images, cores) : 0;
		return route_llm(s, ri, r->prep_s, &q);
	}
	/* image-level parallelism: each image to the encoder with the least pending image tokens */
	n = policy_route_images(&s->pol, &q, &r->tk, s->now, s->items);
	if (n < 0)
		return no_instance(s, p_enc);
	return items_push(s, ri, (uint32_t)n);
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
			continue; /* an empty pool: setup_pools names it */
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

static enum policy_stage role_stage(enum sim_role r)
{
	switch (r) {
	case SIM_ROLE_ENC:
		return POLICY_STAGE_ENC;
	case SIM_ROLE_LLM:
		return POLICY_STAGE_LLM;
	case SIM_ROLE_PREFILL:
		return POLICY_STAGE_PREFILL;
	case SIM_ROLE_DECODE:
		return POLICY_STAGE_DECODE;
	case SIM_ROLE_MONO:
	default:
		return POLICY_STAGE_MONO;
	}
}

/* GPU-seconds of the instances that exist, up to now (cost per instance-second). */
static void accrue(struct sim__state *s)
{
	s->res->gpu_s += (double)s->gpus_live * (s->now - s->cost_t);
	s->cost_t = s->now;
}

/*
 * Pool p grows or shrinks by delta instances. Its series are normalised by its
 * size at each moment: busy time so far of its busy instances and its KV level
 * are recorded at the old weight first (a walk of the instances, only when
 * membership changes, never per event). Static pools never get here mid-run.
 */
static int pool_size(struct sim__state *s, int p, int64_t delta)
{
	struct sim__pool *pool = &s->pool[p];
	struct metrics_series *se = &s->res->pool[p].series;
	uint32_t i;

	if (s->running) {
		for (i = 0; i < s->n_inst; i++) {
			struct sim__inst *in = &s->inst[i];
			if (in->pool != (uint32_t)p || !in->busy)
				continue;
			if (metrics_series_add(se, METRICS_SER_BUSY, in->t_acc, s->now, pool->norm_w) < 0)
				return -MS_ENOMEM;
			in->t_acc = s->now;
		}
	}
	pool->live = (uint32_t)((int64_t)pool->live + delta);
	pool->norm_w = pool->live ? (double)pool->spec.count / (double)pool->live : 1.0;
	if (s->running && metrics_series_level(se, METRICS_SER_KV, s->now,
					       (double)pool->blocks_used * pool->norm_w) < 0)
		return -MS_ENOMEM;
	return 0;
}

/*
 * Appends an instance to pool p (ready at once for a static pool, else starting
 * until its READY event): the policy's id is its index in s->inst.
 */
static int inst_add(struct sim__state *s, int p, int ready, uint32_t *out)
{
	struct sim__pool *pool = &s->pool[p];
	struct sim__inst *in;
	uint32_t id = 0;
	int rc;

	if (s->n_inst == s->cap_inst) {
		uint32_t cap = s->cap_inst ? s->cap_inst * 2 : 16;
		struct sim__inst *n = realloc(s->inst, cap * sizeof(*n));
		if (!n)
			return ms_error_set(s->err, MS_ENOMEM, "sim: %u instances", cap);
		memset(n + s->cap_inst, 0, (cap - s->cap_inst) * sizeof(*n));
		s->inst = n;
		s->cap_inst = cap;
	}
	if ((rc = policy_inst_add(&s->pol, p, ready, s->now, &id, s->err)) < 0)
		return rc;
	MS_ASSERT(id == s->n_inst);
	in = &s->inst[s->n_inst++];
	in->pool = (uint32_t)p;
	in->role = pool->spec.role;
	in->tp = pool->spec.tp;
	in->q_head = in->q_tail = in->b_head = SIM__NIL;
	in->b.w_head = in->b.w_tail = SIM_BATCH_NIL; /* an encoder's batch stays empty */
	if (pool->spec.role != SIM_ROLE_ENC) {
		struct sim_batch_cfg bc;
		sim__llm_batch_cfg(s, pool->spec.role, pool->spec.tp, &bc);
		if (sim_batch_init(&in->b, &bc, pool->blocks) < 0)
			return ms_error_set(s->err, MS_ENOMEM, "sim: instance batch arrays");
	}
	accrue(s);
	s->gpus_live += (uint32_t)pool->spec.tp;
	if (pool_size(s, p, 1) < 0)
		return ms_error_set(s->err, MS_ENOMEM, "sim: time series");
	if (out)
		*out = id;
	return 0;
}

static void inst_free(struct sim__inst *in)
{
	sim_batch_release(&in->b);
}

static int holds_work(const struct sim__inst *in)
{
	return in->busy || in->q_head != SIM__NIL || sim_batch_holds(&in->b);
}

int sim__idle_drain(struct sim__state *s, uint32_t ii)
{
	struct sim__inst *in = &s->inst[ii];

	if (holds_work(in) || policy_inst_pending(&s->pol, ii))
		return 0;
	if (policy_inst_remove(&s->pol, ii, s->now) < 0)
		MS_BUG("policy: instance %u could not be removed", ii);
	MS_ASSERT(in->b.blocks_free == in->b.blocks_total);
	inst_free(in);
	accrue(s);
	s->gpus_live -= (uint32_t)in->tp;
	return pool_size(s, (int)in->pool, -1) < 0 ? ms_error_set(s->err, MS_ENOMEM, "sim: time series")
						   : 0;
}

int sim_ctl_add(struct sim_ctl *ctl, int pool, double startup_s, uint32_t *id)
{
	struct sim__state *s = (struct sim__state *)ctl;
	uint32_t k = 0;
	int rc;

	if (pool < 0 || pool >= s->n_pools || !(startup_s >= 0))
		return ms_error_set(s->err, MS_EINVAL, "sim: no pool %d (or a negative startup)", pool);
	if ((rc = inst_add(s, pool, 0, &k)) < 0)
		return rc;
	if (sim__heap_push(&s->heap, s->now + startup_s, SIM__EV_READY, k, 0) < 0)
		return ms_error_set(s->err, MS_ENOMEM, "sim: event queue");
	s->res->instances_added++;
	if (id)
		*id = k;
	return 0;
}

int sim_ctl_drain(struct sim_ctl *ctl, uint32_t id)
{
	struct sim__state *s = (struct sim__state *)ctl;

	if (policy_inst_drain(&s->pol, id, s->now) < 0)
		return ms_error_set(s->err, MS_EINVAL, "sim: instance %u is not ready or starting", id);
	s->res->instances_drained++;
	return sim__idle_drain(s, id);
}

struct policy *sim_ctl_policy(struct sim_ctl *ctl)
{
	return &((struct sim__state *)ctl)->pol;
}

double sim_ctl_now(const struct sim_ctl *ctl)
{
	return ((const struct sim__state *)ctl)->now;
}

uint32_t sim_ctl_in_flight(const struct sim_ctl *ctl)
{
	return ((const struct sim__state *)ctl)->in_flight;
}

uint32_t sim_ctl_finished(const struct sim_ctl *ctl)
{
	return ((const struct sim__state *)ctl)->finished;
}

static int setup_pools(struct sim__state *s, struct ms_error *err)
{
	const struct sim_config *c = s->c;
	struct policy_conf pc;
	uint32_t i;
	double span = s->ts->n ? s->ts->t[s->ts->n - 1] / c->rate_scale : 0;
	double dt = c->series_dt > 0 ? c->series_dt : span / 500.0;
	int p, rc;

	if (dt < 1)
		dt = 1;
	memset(&pc, 0, sizeof(pc));
	pc.n_pools = c->deploy.n_pools;
	pc.order = c->order;
	pc.order_age_s = c->order_age_s;
	pc.order_token_s = sim__order_token_s(c);
	pc.window_s = c->stats_window_s;
	/* only hooks read the windows: a plain run skips them */
	pc.no_windows = !c->on_tick && !c->early_stop;
	pc.slo_ttft_s = c->slo_ttft_s;
	pc.slo_tpot_s = c->slo_tpot_s;
	for (p = 0; p < c->deploy.n_pools; p++) {
		const struct sim_pool_spec *sp = &c->deploy.pool[p];
		pc.pool[p].stage = role_stage(sp->role);
		pc.pool[p].route = sp->role == SIM_ROLE_ENC ? c->route_enc : c->route_llm;
		pc.pool[p].seed = c->seed + (uint64_t)p;
	}
	s->n_pools = c->deploy.n_pools;
	s->res->n_pools = s->n_pools;
	for (p = 0; p < s->n_pools; p++) {
		const struct sim_pool_spec *sp = &c->deploy.pool[p];
		struct sim__pool *pool = &s->pool[p];
		struct sim_pool_result *pr = &s->res->pool[p];
		uint64_t blocks = 0;

		if (sp->count < 1 || sp->tp < 1)
			return ms_error_set(err, MS_EINVAL, "sim: pool %s is empty",
					    sim_role_name(sp->role));
		pool->spec = *sp;
		pool->norm_w = 1.0;
		pool->cores = c->preprocess_cores > 0 ? c->preprocess_cores
						      : s->perf->gpu.cpu_cores_per_gpu * sp->tp;
		if (pool->cores < 1)
			pool->cores = 1;
		if (sp->role != SIM_ROLE_ENC) {
			uint64_t cap = c->kv_tokens ? c->kv_tokens
						    : perf_kv_capacity_tokens(s->perf, sp->tp);
			blocks = cap / c->kv_block;
			if (blocks < 4 && c->kv_tokens)
				return ms_error_set(err, MS_EINVAL,
						    "sim: --kv-tokens %llu is too small: an LLM instance "
						    "needs at least 4 KV blocks of %u tokens "
						    "(--kv-tokens >= %llu)",
						    (unsigned long long)c->kv_tokens, c->kv_block,
						    4ull * c->kv_block);
			if (blocks < 4)
				return ms_error_set(err, MS_EINVAL,
						    "sim: %s at TP %d leaves no memory for the KV cache "
						    "on %s", s->perf->model.name, sp->tp,
						    s->perf->gpu.name);
			if (!s->kv_cap_tokens || blocks * c->kv_block < s->kv_cap_tokens)
				s->kv_cap_tokens = blocks * c->kv_block;
		}
		pool->blocks = blocks;
		if (sp->role == SIM_ROLE_ENC) {
			/* a batch holds up to enc_max_images, or one larger item alone
			 * (batches beyond the memo's 1024 images are computed each time) */
			uint32_t k, n = (c->enc_max_images > c->max_images ? c->enc_max_images
									  : c->max_images) + 1;
			if (n > 1025)
				n = 1025;
			pool->enc_s = malloc(n * sizeof(*pool->enc_s));
			if (!pool->enc_s)
				return ms_error_set(err, MS_ENOMEM, "sim: encoder times");
			for (k = 0; k < n; k++)
				pool->enc_s[k] = NAN;
			pool->n_enc_s = n;
		}
		snprintf(pr->name, sizeof(pr->name), "%s", sim_role_name(sp->role));
		pr->role = sp->role;
		pr->count = sp->count;
		pr->tp = sp->tp;
		pr->kv_blocks = blocks;
		if (c->no_series) {
			metrics_series_off(&pr->series, pr->name);
			continue;
		}
		rc = metrics_series_init(&pr->series, pr->name, dt, span * 1.1 + dt,
					 (double)sp->count, (double)(blocks * sp->count), err);
		if (rc < 0)
			return rc;
	}
	if (policy_init(&s->pol, &pc, NULL) < 0)
		return ms_error_set(err, MS_EINVAL, "sim: deployment lacks an LLM pool");
	/* ids pool by pool, in order: routing ties go to the same instances as ever */
	for (p = 0; p < s->n_pools; p++)
		for (i = 0; i < c->deploy.pool[p].count; i++)
			if ((rc = inst_add(s, p, 1, NULL)) < 0)
				return rc;
	return 0;
}

static void teardown(struct sim__state *s)
{
	uint32_t i;
	int p;

	for (i = 0; i < s->n_inst; i++)
		inst_free(&s->inst[i]);
	free(s->inst);
	for (p = 0; p < s->n_pools; p++)
		free(s->pool[p].enc_s);
	policy_release(&s->pol);
	free(s->req);
	free(s->item);
	free(s->items);
	free(s->grp);
	free(s->grp_t);
	free(s->due);
	sim__heap_release(&s->heap);
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
	const struct sim__event *top = s->heap.n ? &s->heap.ev[0] : NULL;

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
		return arrival(s, e->a);
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
		if (holds_work(in) || in->b.blocks_free != in->b.blocks_total ||
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
	if ((rc = setup_pools(s, err)) < 0)
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
		accrue(s);
	res->cost_usd = res->gpu_s / 3600.0 * c->perf->gpu.price_hour;
	teardown(s);
	return 0;
fail:
	teardown(s);
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
