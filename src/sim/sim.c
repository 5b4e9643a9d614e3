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
 * as image_tokens x cross_layers / llm_layers tokens.
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
	return metrics_series_level(&s->res->pool[pool].series, METRICS_SER_QUEUE, s->now,
				    (double)p->queued);
}

int sim__pool_blocks(struct sim__state *s, int pool, int64_t delta)
{
	struct sim__pool *p = &s->pool[pool];

	p->blocks_used = (uint64_t)((int64_t)p->blocks_used + delta);
	return metrics_series_level(&s->res->pool[pool].series, METRICS_SER_KV, s->now,
				    (double)p->blocks_used);
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
	m->tpot = r->gen >= 2 ? (s->now - r->t_first) / (double)(r->gen - 1) : NAN;
	m->preempted = r->preempted;
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
	if (r->gen >= 2) {
		double ds = r->t_dec_start > r->t_first ? r->t_dec_start : r->t_first;
		m->served[METRICS_DECODE] = (float)(s->now - ds);
		m->queued[METRICS_DECODE] = (float)(ds - r->t_first);
	}
	r->next = s->free_req;
	s->free_req = ri;
	s->in_flight--;
	s->finished++;
}

int sim__route_llm(struct sim__state *s, int pool, uint32_t ri, double delay)
{
	struct sim__pool *p = &s->pool[pool];
	struct sim__req *r = &s->req[ri];
	uint32_t k = policy_pool_pick(&p->route);

	/* work charged until done: the prompt until the first token, then the output */
	if (p->spec.role == SIM_ROLE_DECODE) {
		r->pend_prefill = 0;
		r->pend_rest = r->prompt + r->gen;
	} else {
		/* image tokens count where the instance encodes them itself (mono, pd prefill) */
		int enc_here = p->spec.role == SIM_ROLE_MONO ||
			       (p->spec.role == SIM_ROLE_PREFILL && s->p_enc < 0);
		r->pend_prefill = r->prompt + (enc_here ? r->img_tokens : 0);
		r->pend_rest = p->spec.role == SIM_ROLE_PREFILL ? 0 : r->gen;
	}
	policy_pool_add(&p->route, k, (int64_t)r->pend_prefill + r->pend_rest);
	k += p->first;
	if (delay <= 0)
		return sim__llm_enqueue(s, k, ri) < 0 ? ms_error_set(s->err, MS_ENOMEM, "sim: out of memory") : 0;
	if (sim__heap_push(&s->heap, s->now + delay, SIM__EV_ENQ_LLM, ri, k) < 0)
		return ms_error_set(s->err, MS_ENOMEM, "sim: event queue");
	return 0;
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
	r->cross = (uint32_t)sh.cross;
	r->kv_extra = (uint32_t)sh.kv_extra;
	prompt = sh.prompt;
	r->gen = sh.gen;
	/* one request must fit one instance's KV (and the model's context): cut, and count */
	if (m->max_context > 0 && (uint64_t)m->max_context < cap)
		cap = (uint64_t)m->max_context;
	/* two blocks of room, or half of a tiny cache (a cut to 2 tokens left gen = 0) */
	cap = cap > 4u * s->c->kv_block ? cap - 2u * s->c->kv_block : cap / 2;
	if (cap < 2)
		cap = 2;
	if ((uint64_t)r->kv_extra + prompt + r->gen > cap) {
		uint64_t rem;
		cut = 1;
		s->res->truncated++;
		if (r->kv_extra > cap / 2)
			r->kv_extra = (uint32_t)(cap / 2);
		rem = cap - r->kv_extra; /* >= 1 */
		if (r->gen > rem / 2)
			r->gen = (uint32_t)(rem / 2);
		if (r->gen < 1)
			r->gen = 1; /* the prefill always yields one token */
		if (prompt + r->gen > rem)
			prompt = rem > r->gen ? rem - r->gen : 1;
	}
	r->prompt = (uint32_t)prompt;
	r->t_pf_start = -1;
	r->t_enc_done = -1;
	r->t_dec_start = -1;
	r->inst = SIM__NIL;
	return cut;
}

static int arrival(struct sim__state *s, uint32_t row)
{
	struct metrics_req *m = &s->res->req[row];
	struct sim__req *r;
	uint32_t ri = 0, k, *dest = s->dest, *cnt = s->cnt, n_dest = 0, j;
	int rc;

	if ((rc = req_alloc(s, &ri)) < 0)
		return rc;
	r = &s->req[ri];
	m->truncated = (uint8_t)map_row(s, row, r);
	m->arrive = s->now;
	m->images = r->images;
	m->prompt = r->prompt;
	m->gen = r->gen;
	/* the trace's content, not the options alone: a runtime failure, not EINVAL */
	if (r->images && s->p_enc < 0 && s->pool[s->p_entry].spec.role == SIM_ROLE_LLM)
		return ms_error_set(s->err, MS_EUNSUPPORTED,
				    "trace row %u has images but the deployment has no encoder "
				    "pool (add enc=NxTP)", row);
	if (r->images == 0 || s->p_enc < 0) {
		/* mono/pd encode inside the LLM instance after CPU preprocessing */
		int cores = s->pool[s->p_entry].cores;
		r->prep_s = r->images ? perf_preprocess_s(s->perf, r->images, cores) : 0;
		return sim__route_llm(s, s->p_entry, ri, r->prep_s);
	}
	/* image-level parallelism: each image to the encoder with the least pending image tokens */
	{
		struct sim__pool *p = &s->pool[s->p_enc];
		uint32_t *pick = s->pick;
		policy_pool_split(&p->route, r->images, s->tokens_per_image, pick);
		for (k = 0; k < r->images; k++) {
			for (j = 0; j < n_dest && dest[j] != pick[k]; j++)
				;
			if (j == n_dest) {
				dest[n_dest] = pick[k];
				cnt[n_dest++] = 0;
			}
			cnt[j]++;
		}
		for (j = 0; j < n_dest; j++) {
			uint32_t it = 0;
			double prep = perf_preprocess_s(s->perf, cnt[j], p->cores);
			if ((rc = item_alloc(s, &it)) < 0)
				return rc;
			s->item[it].req = ri;
			s->item[it].nimg = cnt[j];
			if (prep > r->prep_s)
				r->prep_s = prep;
			if (sim__heap_push(&s->heap, s->now + prep, SIM__EV_ENQ_ENC, it,
					   p->first + dest[j]) < 0)
				return ms_error_set(s->err, MS_ENOMEM, "sim: event queue");
		}
	}
	return 0;
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

static int setup_pools(struct sim__state *s, struct ms_error *err)
{
	const struct sim_config *c = s->c;
	uint32_t i, n_inst = 0;
	double span = s->ts->n ? s->ts->t[s->ts->n - 1] / c->rate_scale : 0;
	double dt = c->series_dt > 0 ? c->series_dt : span / 500.0;
	int p, rc;

	if (dt < 1)
		dt = 1;
	s->p_enc = s->p_decode = -1;
	s->p_entry = s->p_after_enc = -1;
	for (p = 0; p < c->deploy.n_pools; p++)
		n_inst += c->deploy.pool[p].count;
	s->inst = calloc(n_inst, sizeof(*s->inst));
	if (!s->inst)
		return ms_error_set(err, MS_ENOMEM, "sim: %u instances", n_inst);
	s->n_inst = n_inst;
	s->n_pools = c->deploy.n_pools;
	s->res->n_pools = s->n_pools;
	n_inst = 0;
	for (p = 0; p < s->n_pools; p++) {
		const struct sim_pool_spec *sp = &c->deploy.pool[p];
		struct sim__pool *pool = &s->pool[p];
		struct sim_pool_result *pr = &s->res->pool[p];
		uint64_t blocks = 0;

		if (sp->count < 1 || sp->tp < 1)
			return ms_error_set(err, MS_EINVAL, "sim: pool %s is empty",
					    sim_role_name(sp->role));
		pool->spec = *sp;
		pool->first = n_inst;
		pool->cores = c->preprocess_cores > 0 ? c->preprocess_cores
						      : s->perf->gpu.cpu_cores_per_gpu * sp->tp;
		if (pool->cores < 1)
			pool->cores = 1;
		rc = policy_pool_init(&pool->route, sp->count,
				      sp->role == SIM_ROLE_ENC ? c->route_enc : c->route_llm,
				      c->seed + (uint64_t)p, err);
		if (rc < 0)
			return rc;
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
		snprintf(pr->name, sizeof(pr->name), "%s", sim_role_name(sp->role));
		pr->role = sp->role;
		pr->count = sp->count;
		pr->tp = sp->tp;
		pr->kv_blocks = blocks;
		rc = metrics_series_init(&pr->series, pr->name, dt, span * 1.1 + dt,
					 (double)sp->count, (double)(blocks * sp->count), err);
		if (rc < 0)
			return rc;
		for (i = 0; i < sp->count; i++, n_inst++) {
			struct sim__inst *in = &s->inst[n_inst];
			in->pool = (uint32_t)p;
			in->idx = i;
			in->role = sp->role;
			in->tp = sp->tp;
			in->q_head = in->q_tail = in->b_head = SIM__NIL;
			in->w_head = in->w_tail = SIM__NIL;
			in->blocks_total = in->blocks_free = blocks;
			if (sp->role == SIM_ROLE_ENC)
				continue;
			in->run = malloc(c->max_seqs * sizeof(*in->run));
			in->enc = malloc(c->max_seqs * sizeof(*in->enc));
			in->chunk = malloc(c->max_seqs * sizeof(*in->chunk));
			if (!in->run || !in->enc || !in->chunk)
				return ms_error_set(err, MS_ENOMEM, "sim: instance batch arrays");
		}
		switch (sp->role) {
		case SIM_ROLE_ENC:
			s->p_enc = p;
			break;
		case SIM_ROLE_DECODE:
			s->p_decode = p;
			break;
		default:
			s->p_entry = p;
			break;
		}
	}
	s->p_after_enc = s->p_entry;
	if (s->p_entry < 0 || (s->p_decode < 0 && s->pool[s->p_entry].spec.role == SIM_ROLE_PREFILL))
		return ms_error_set(err, MS_EINVAL, "sim: deployment lacks an LLM pool");
	return 0;
}

static void teardown(struct sim__state *s)
{
	uint32_t i;
	int p;

	for (i = 0; i < s->n_inst; i++) {
		free(s->inst[i].run);
		free(s->inst[i].enc);
		free(s->inst[i].chunk);
	}
	free(s->inst);
	for (p = 0; p < s->n_pools; p++)
		policy_pool_release(&s->pool[p].route);
	free(s->req);
	free(s->item);
	free(s->pick);
	free(s->dest);
	free(s->cnt);
	sim__heap_release(&s->heap);
}

static int dispatch(struct sim__state *s, const struct sim__event *e)
{
	struct sim__inst *in;

	switch (e->type) {
	case SIM__EV_ARRIVAL:
		if (e->a + 1 < s->ts->n &&
		    sim__heap_push(&s->heap, s->ts->t[e->a + 1] / s->c->rate_scale,
				   SIM__EV_ARRIVAL, e->a + 1, 0) < 0)
			return ms_error_set(s->err, MS_ENOMEM, "sim: event queue");
		return arrival(s, e->a);
	case SIM__EV_ENQ_ENC:
		return sim__enc_enqueue(s, e->b, e->a) < 0 ? -MS_ENOMEM : 0;
	case SIM__EV_ENQ_LLM:
		return sim__llm_enqueue(s, e->b, e->a) < 0 ? -MS_ENOMEM : 0;
	case SIM__EV_DONE:
		in = &s->inst[e->a];
		if (!in->busy || in->version != e->b)
			return 0; /* a decode run that was cut short */
		if (in->role == SIM_ROLE_ENC)
			return sim__enc_done(s, e->a) < 0 ? -MS_ENOMEM : 0;
		return sim__llm_done(s, e->a) < 0 ? -MS_ENOMEM : 0;
	default:
		MS_BUG("unknown event type %u", e->type);
	}
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
	s->pick = malloc(pick_n * sizeof(uint32_t));
	s->dest = malloc(pick_n * sizeof(uint32_t));
	s->cnt = malloc(pick_n * sizeof(uint32_t));
	if (!res->req || !s->req || !s->item || !s->pick || !s->dest || !s->cnt) {
		rc = ms_error_set(err, MS_ENOMEM, "sim: results of %zu requests", ts->n);
		goto fail;
	}
	for (i = 0; i < s->cap_req; i++)
		s->req[i].next = i + 1 < s->cap_req ? i + 1 : SIM__NIL;
	for (i = 0; i < s->cap_item; i++)
		s->item[i].next = i + 1 < s->cap_item ? i + 1 : SIM__NIL;
	s->free_req = 0;
	s->free_item = 0;
	if ((rc = setup_pools(s, err)) < 0)
		goto fail;
	if ((rc = sim__heap_init(&s->heap, s->n_inst * 2 + 1024, err)) < 0)
		goto fail;
	if (ts->n && sim__heap_push(&s->heap, ts->t[0] / c->rate_scale, SIM__EV_ARRIVAL, 0, 0) < 0) {
		rc = ms_error_set(err, MS_ENOMEM, "sim: event queue");
		goto fail;
	}
	while (sim__heap_pop(&s->heap, &e)) {
		s->now = e.t;
		res->events++;
		if ((rc = dispatch(s, &e)) < 0) {
			if (!err || !err->code)
				ms_error_set(err, MS_ENOMEM, "sim: out of memory");
			goto fail;
		}
		if (c->progress && (res->events & 0xffff) == 0)
			c->progress(c->progress_arg, (double)s->finished,
				    (double)ts->n);
	}
	res->end_s = s->now;
	for (i = 0; i < ts->n; i++)
		if (!res->req[i].done)
			MS_BUG("request %u never finished (%u in flight)", i, s->in_flight);
	for (p = 0; p < s->n_pools; p++) {
		if (metrics_series_finish(&res->pool[p].series, s->now) < 0) {
			rc = ms_error_set(err, MS_ENOMEM, "sim: time series");
			goto fail;
		}
	}
	res->gpus = sim_deploy_gpus(&c->deploy);
	res->gpu_s = (double)res->gpus * (ts->n ? s->now - ts->t[0] / c->rate_scale : 0);
	res->cost_usd = res->gpu_s / 3600.0 * c->perf->gpu.price_hour;
	teardown(s);
	return 0;
fail:
	teardown(s);
	sim_result_release(res);
	return rc;
}

int sim_slo_default(const struct perf *perf, double scale, double *ttft_s, double *tpot_s,
		    struct ms_error *err)
{
	struct trace_set ts;
	struct sim_config c;
	struct sim_result res;
	int rc;

	trace_set_init(&ts);
	if ((rc = trace_set_push(&ts, 0.0, 1, 1000 + 85, 100, err)) < 0)
		goto out;
	sim_config_default(&c, perf);
	rc = sim_deploy_default(&c.deploy, SIM_DEPLOY_MONO, (uint32_t)perf->model.default_tp,
				perf->model.default_tp, err);
	if (rc < 0)
		goto out;
	if ((rc = sim_run(&c, &ts, &res, err)) < 0)
		goto out;
	*ttft_s = scale * res.req[0].ttft;
	*tpot_s = scale * res.req[0].tpot;
	sim_result_release(&res);
out:
	trace_set_release(&ts);
	return rc;
}
