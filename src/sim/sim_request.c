/*
 * Requests: trace row to simulated request (the KV cut), arrival, routing to
 * the encoders (image items, chained per due time) or the LLM pools, and the
 * finish that writes the row's metrics. The request slots and image items are
 * arrays with free lists (sim_int.h).
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
#include <stdlib.h>
#include <string.h>

#include "sim/sim_int.h"

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

int sim__arrival(struct sim__state *s, uint32_t row)
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

