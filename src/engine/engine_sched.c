/*
 * engine_sched: continuous batching of the emulated GPU (see engine_sched.h).
 */
#include <stddef.h>

#include "engine/engine_sched.h"

static void list_init(struct engine_job *h)
{
	h->next = h->prev = h;
}

static void list_push(struct engine_job *h, struct engine_job *j)
{
	j->prev = h->prev;
	j->next = h;
	h->prev->next = j;
	h->prev = j;
}

static void list_del(struct engine_job *j)
{
	j->prev->next = j->next;
	j->next->prev = j->prev;
	j->next = j->prev = NULL;
}

void engine_sched_init(struct engine_sched *s, const struct engine_sched_cfg *cfg)
{
	*s = (struct engine_sched){ .cfg = *cfg };
	if (!s->cfg.max_seqs)
		s->cfg.max_seqs = 256;
	if (!s->cfg.token_budget)
		s->cfg.token_budget = 4096;
	list_init(&s->wait);
	list_init(&s->run);
}

uint64_t engine_sched_job_kv(const struct engine_job *j)
{
	return (uint64_t)j->prompt + j->max_tokens;
}

int engine_sched_submit(struct engine_sched *s, struct engine_job *j)
{
	/* a job that emits must prefill something first (vLLM: the chat template's
	 * tokens at least), else it would never reach its first token */
	if (!j->prompt && j->max_tokens && !j->prefilled)
		j->prompt = 1;
	if (engine_sched_job_kv(j) > s->cfg.kv_tokens)
		return -MS_EINVAL;
	if (s->cfg.max_waiting && s->n_wait >= s->cfg.max_waiting)
		return -MS_ERANGE;
	j->state = ENGINE_JOB_WAITING;
	j->done_prefill = j->prefilled ? j->prompt : 0;
	j->emitted = 0;
	j->chunk = 0;
	j->in_iter = 0;
	list_push(&s->wait, j);
	s->n_wait++;
	return 0;
}

static void finish(struct engine_sched *s, struct engine_job *j)
{
	list_del(j);
	s->n_run--;
	s->kv_used -= engine_sched_job_kv(j);
	j->state = ENGINE_JOB_DONE;
	j->in_iter = 0;
}

void engine_sched_abort(struct engine_sched *s, struct engine_job *j)
{
	if (j->state == ENGINE_JOB_WAITING) {
		list_del(j);
		s->n_wait--;
		j->state = ENGINE_JOB_DONE;
	} else if (j->state == ENGINE_JOB_RUNNING) {
		finish(s, j);
	}
}

static void admit(struct engine_sched *s)
{
	while (s->n_wait && s->n_run < s->cfg.max_seqs) {
		struct engine_job *j = s->wait.next;
		uint64_t kv = engine_sched_job_kv(j);

		if (s->kv_used + kv > s->cfg.kv_tokens)
			break; /* FIFO: the head waits for room, nothing overtakes it */
		list_del(j);
		s->n_wait--;
		list_push(&s->run, j);
		s->n_run++;
		s->kv_used += kv;
		j->state = ENGINE_JOB_RUNNING;
	}
}

static int decoding(const struct engine_job *j)
{
	return j->done_prefill >= j->prompt && j->max_tokens && j->emitted;
}

double engine_sched_begin(struct engine_sched *s)
{
	const struct perf *p = s->cfg.perf;
	struct perf_iter it = { 0 };
	struct engine_job *j;
	uint32_t budget = s->cfg.token_budget, tiles = 0, imgs = 0;
	int any = 0;
	double d = 0;

	admit(s);
	/* decode steps first: one token each, as vLLM schedules running decodes first */
	for (j = s->run.next; j != &s->run; j = j->next) {
		j->chunk = 0;
		j->in_iter = 0;
		if (!decoding(j) && !(j->prefilled && j->max_tokens && !j->emitted))
			continue;
		if (!budget)
			break;
		j->in_iter = 1;
		budget--;
		it.decode_seqs++;
		it.decode_kv_tokens += (uint64_t)j->prompt + j->emitted;
		any = 1;
	}
	/* prefill chunks (and encodings) with what is left, in admission order */
	for (j = s->run.next; j != &s->run; j = j->next) {
		uint32_t left = j->prompt - j->done_prefill, c;

		if (j->in_iter || (!left && j->max_tokens))
			continue;
		c = left < budget ? left : budget;
		if (left && !c)
			break;
		if (!j->done_prefill) {
			tiles += j->enc_tiles;
			imgs += j->n_enc_images;
			it.cross_tokens += j->cross;
		}
		j->chunk = c;
		j->in_iter = 1;
		budget -= c;
		it.prefill_tokens += c;
		it.prefill_attn += (double)c * ((double)j->done_prefill + c / 2.0);
		any = 1;
	}
	if (!any)
		return -1;
	if (tiles) {
		int cores = p->gpu.cpu_cores_per_gpu * s->cfg.tp;
		d += perf_preprocess_s(p, imgs, cores > 0 ? cores : 1) +
		     perf_encode_inline_s(p, s->cfg.tp, tiles);
	}
	if (it.prefill_tokens || it.decode_seqs)
		d += perf_llm_iter_s(p, s->cfg.tp, &it);
	s->iter_open = 1;
	s->iter_s = d;
	return d;
}

void engine_sched_end(struct engine_sched *s, engine_emit_fn fn, void *ctx)
{
	struct engine_job *j, *next;

	if (!s->iter_open)
		return;
	s->iter_open = 0;
	s->iters++;
	for (j = s->run.next; j != &s->run; j = next) {
		int token = 0;

		next = j->next;
		if (!j->in_iter)
			continue;
		j->in_iter = 0;
		if (j->done_prefill < j->prompt || (!j->prompt && !j->emitted && !j->prefilled)) {
			j->done_prefill += j->chunk;
			token = j->done_prefill >= j->prompt && j->max_tokens;
		} else {
			token = 1;
		}
		if (token) {
			j->emitted++;
			fn(ctx, j, ENGINE_EV_TOKEN);
		}
		if (j->done_prefill >= j->prompt && j->emitted >= j->max_tokens) {
			finish(s, j);
			fn(ctx, j, ENGINE_EV_DONE);
		}
	}
}
