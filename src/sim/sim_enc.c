/*
 * Encoder instances (ModServe's Image Instances): a queue of image items in
 * the policy's key order (FCFS: a FIFO), each the images of one request
 * routed to this encoder; a batch takes whole items
 * up to enc_max_images images (an item larger than that goes alone), and
 * costs perf_encode_s(tp, tiles). Encoding is linear in batch size (paper,
 * section 3), so batching mostly saves the fixed launch cost.
 * When the last image of a request is encoded, the request goes to the LLM
 * pool after the embedding transfer.
 */
#include <math.h>

#include "sim/sim_int.h"

/* The time of a batch of imgs images on instance ii (the pool's memo of perf_encode_s). */
static double batch_s(struct sim__state *s, const struct sim__inst *in, uint32_t imgs)
{
	struct sim__pool *pool = &s->pool[in->pool];
	double t;

	if (imgs >= pool->n_enc_s || in->tp != pool->spec.tp)
		return perf_encode_s(s->perf, in->tp, imgs * s->tiles_per_image);
	t = pool->enc_s[imgs];
	if (isnan(t))
		t = pool->enc_s[imgs] = perf_encode_s(s->perf, in->tp, imgs * s->tiles_per_image);
	return t;
}

static int enc_start(struct sim__state *s, uint32_t ii)
{
	struct sim__inst *in = &s->inst[ii];
	uint32_t imgs = 0, taken = 0, tail = SIM__NIL;

	if (in->busy)
		return 0;
	if (in->q_head == SIM__NIL)
		return sim__idle(s, ii);
	in->b_head = SIM__NIL;
	while (in->q_head != SIM__NIL) {
		uint32_t it = in->q_head;
		struct sim__item *item = &s->item[it];
		if (taken && imgs + item->nimg > s->c->enc_max_images)
			break;
		in->q_head = item->next;
		if (in->q_head == SIM__NIL)
			in->q_tail = SIM__NIL;
		in->q_len--;
		item->next = SIM__NIL;
		if (tail == SIM__NIL)
			in->b_head = it;
		else
			s->item[tail].next = it;
		tail = it;
		imgs += item->nimg;
		taken++;
		if (s->now - item->t_in > s->req[item->req].enc_wait)
			s->req[item->req].enc_wait = s->now - item->t_in;
	}
	if (sim__pool_queued(s, (int)in->pool, -(int64_t)taken) < 0)
		return -MS_ENOMEM;
	in->busy = 1;
	in->t0 = in->t_acc = s->now;
	in->t_end = s->now + batch_s(s, in, imgs);
	in->version++;
	return sim__heap_push(&s->heap, in->t_end, SIM__EV_DONE, ii, in->version);
}

static int item_lt(const struct sim__item *a, const struct sim__item *b)
{
	return a->qkey < b->qkey || (a->qkey == b->qkey && a->qseq < b->qseq);
}

/*
 * Into the queue at its (key, sequence): FCFS keys only grow, so an item goes
 * last in O(1); a priority order may walk the queue.
 */
static void item_insert(struct sim__state *s, struct sim__inst *in, uint32_t it)
{
	struct sim__item *item = &s->item[it];
	uint32_t prev;

	if (in->q_tail == SIM__NIL) {
		in->q_head = in->q_tail = it;
		return;
	}
	if (!item_lt(item, &s->item[in->q_tail])) {
		s->item[in->q_tail].next = it;
		in->q_tail = it;
		return;
	}
	if (item_lt(item, &s->item[in->q_head])) {
		item->next = in->q_head;
		in->q_head = it;
		return;
	}
	for (prev = in->q_head; item_lt(&s->item[s->item[prev].next], item);
	     prev = s->item[prev].next)
		;
	item->next = s->item[prev].next;
	s->item[prev].next = it;
}

int sim__enc_enqueue(struct sim__state *s, uint32_t ii, uint32_t it)
{
	struct sim__inst *in = &s->inst[ii];

	struct sim__item *item = &s->item[it];

	item->next = SIM__NIL;
	item->t_in = s->now;
	item->qkey = policy_queue_key(&s->pol, &s->req[item->req].tk, s->now);
	item->qseq = s->qseq++;
	item_insert(s, in, it);
	in->q_len++;
	if (sim__pool_queued(s, (int)in->pool, 1) < 0)
		return -MS_ENOMEM;
	return enc_start(s, ii);
}

int sim__enc_done(struct sim__state *s, uint32_t ii)
{
	struct sim__inst *in = &s->inst[ii];
	uint32_t it = in->b_head;
	int rc;

	s->res->pool[in->pool].busy_gpu_s += (s->now - in->t0) * in->tp;
	if (metrics_series_add(&s->res->pool[in->pool].series, METRICS_SER_BUSY, in->t_acc, s->now,
			       s->pool[in->pool].norm_w) < 0)
		return -MS_ENOMEM;
	in->busy = 0;
	while (it != SIM__NIL) {
		struct sim__item *item = &s->item[it];
		uint32_t next = item->next, ri = item->req;
		struct sim__req *r = &s->req[ri];

		rc = policy_image_encoded(&s->pol, &r->tk, ii, item->nimg, s->now);
		if (rc < 0)
			MS_BUG("policy: images of row %u released more than pending", r->row);
		MS_ASSERT(r->img_left >= item->nimg);
		r->img_left -= item->nimg;
		MS_ASSERT((r->img_left == 0) == (rc == 1));
		item->next = s->free_item;
		s->free_item = it;
		s->n_item--;
		if (r->img_left == 0) {
			r->t_enc_done = s->now;
			if (sim__route_llm(s, ri,
					   perf_embed_transfer_s(s->perf, r->img_tokens, s->c->link)) < 0)
				return -MS_ENOMEM;
		}
		it = next;
	}
	in->b_head = SIM__NIL;
	return enc_start(s, ii);
}
