/*
 * engine_out: the bytes of replies, formatted by hand into the request's or the
 * engine's buffers rather than through a JSON library: a 16-token stream writes 18
 * chunks, and at tens of thousands of completions a second building each chunk as a
 * JSON tree would cost more than the rest of the engine. The fixed parts (id, model)
 * are escaped once per request; the variable parts are numbers and fixed words.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_int.h"
#include "net/net.h"

#define TOKEN_TEXT " tok" /* one emulated token: one word, the tokenizer rule's unit */

void engine__error(struct net_req *r, int status, const char *param, const char *fmt, ...)
{
	char msg[512], body[1024];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n = net_oai_error_json(body, sizeof(body), status, param, msg);
	if (status == 429)
		net_req_add_header(r, "retry-after", "1");
	net_req_reply(r, status, "application/json", body, n);
}

static const char *finish_reason(const struct engine__rq *q)
{
	return q->chat.has_max_tokens ? "length" : "stop";
}

static int append(struct engine__rq *q, const char *s, size_t n)
{
	if (q->olen + n > q->ocap) {
		size_t cap = q->ocap ? q->ocap * 2 : 4096;
		char *p;
		while (cap < q->olen + n)
			cap *= 2;
		if (!(p = realloc(q->obuf, cap)))
			return -1;
		q->obuf = p;
		q->ocap = cap;
	}
	memcpy(q->obuf + q->olen, s, n);
	q->olen += n;
	return 0;
}

#define APPEND_LIT(q, lit) append(q, lit, sizeof(lit) - 1)

void engine__flush(struct engine__rq *q)
{
	if (q->olen)
		net_req_stream_write(q->r, q->obuf, q->olen);
	q->olen = 0;
	q->dirty = 0;
}

static void start_stream(struct engine__rq *q)
{
	net_req_stream_start(q->r, 200, "text/event-stream");
	q->streaming = 1;
	APPEND_LIT(q, "data: ");
	append(q, q->pre, q->pre_len);
	APPEND_LIT(q, "\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,"
		"\"finish_reason\":null}]");
	if (q->chat.include_usage)
		APPEND_LIT(q, ",\"usage\":null");
	APPEND_LIT(q, "}\n\n");
}

int engine__stream_token(struct engine__rq *q, int last)
{
	char fin[96];
	int n;

	if (!q->streaming)
		start_stream(q);
	APPEND_LIT(q, "data: ");
	append(q, q->pre, q->pre_len);
	APPEND_LIT(q, "\"delta\":{\"content\":\"" TOKEN_TEXT "\"},\"logprobs\":null,");
	if (last) {
		n = snprintf(fin, sizeof(fin), "\"finish_reason\":\"%s\",\"stop_reason\":null}]",
			     finish_reason(q));
		append(q, fin, (size_t)n);
	} else {
		APPEND_LIT(q, "\"finish_reason\":null}]");
	}
	if (q->chat.include_usage)
		APPEND_LIT(q, ",\"usage\":null");
	return APPEND_LIT(q, "}\n\n");
}

static int usage_json(const struct engine__rq *q, char *buf, size_t cap)
{
	return snprintf(buf, cap,
			"{\"prompt_tokens\":%u,\"total_tokens\":%u,\"completion_tokens\":%u}",
			q->prompt_report, q->prompt_report + q->job.emitted, q->job.emitted);
}

void engine__stream_done(struct engine__rq *q)
{
	char buf[700], u[128];
	int n;

	if (!q->streaming)
		start_stream(q);
	if (q->chat.include_usage) {
		usage_json(q, u, sizeof(u));
		/* pre ends inside "choices":[{ : rebuild the head up to "choices" */
		n = snprintf(buf, sizeof(buf),
			     "data: {\"id\":\"%s\",\"object\":\"chat.completion.chunk\","
				"\"created\":%ld,\"model\":%s,\"choices\":[],\"usage\":%s}\n\n",
			     q->id, q->created, q->eng->model_json, u);
		append(q, buf, (size_t)n);
	}
	APPEND_LIT(q, "data: [DONE]\n\n");
	engine__flush(q);
	net_req_stream_end(q->r);
}

void engine__stream_error(struct engine__rq *q, const char *msg)
{
	char buf[1100], body[1024];
	size_t n;
	int k;

	if (!q->streaming)
		start_stream(q);
	n = net_oai_error_json(body, sizeof(body), 503, NULL, msg);
	k = snprintf(buf, sizeof(buf), "data: %.*s\n\ndata: [DONE]\n\n", (int)n, body);
	append(q, buf, (size_t)k);
	engine__flush(q);
	net_req_stream_end(q->r);
}

/* Grows the engine's scratch buffer to hold need bytes. */
static char *scratch(struct engine *e, size_t need)
{
	if (need > e->scratch_cap) {
		char *p = realloc(e->scratch, need);
		if (!p)
			return NULL;
		e->scratch = p;
		e->scratch_cap = need;
	}
	return e->scratch;
}

static size_t put(char *b, size_t cap, size_t k, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static size_t put(char *b, size_t cap, size_t k, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (k >= cap)
		return k;
	va_start(ap, fmt);
	n = vsnprintf(b + k, cap - k, fmt, ap);
	va_end(ap);
	return n < 0 ? k : k + (size_t)n;
}

static size_t transfer_params(struct engine__rq *q, char *b, size_t cap, size_t k)
{
	struct engine *e = q->eng;
	uint32_t i, blocks;

	if (q->kind == ENGINE__PREFILL) {
		/* NIXL-shaped: what a decode instance needs to pull the KV blocks */
		blocks = (q->job.prompt + 15) / 16;
		k = put(b, cap, k, ",\"kv_transfer_params\":{\"do_remote_prefill\":true,"
			"\"do_remote_decode\":false,\"remote_block_ids\":[");
		for (i = 0; i < blocks; i++)
			k = put(b, cap, k, i ? ",%u" : "%u", i);
		k = put(b, cap, k, "],\"remote_engine_id\":\"%s\",\"remote_host\":\"%s\","
			"\"remote_port\":%d,\"tp_size\":%d,\"remote_request_id\":\"%s\"}",
			e->engine_id, e->cfg.host, engine_port(e), e->cfg.tp, q->id);
	} else {
		k = put(b, cap, k, ",\"kv_transfer_params\":null");
	}
	if (q->kind == ENGINE__ENCODE) {
		const struct model_spec *m = &e->perf.model;
		k = put(b, cap, k, ",\"ec_transfer_params\":{\"connector\":\"modserve-ec-dir\","
			"\"items\":[");
		for (i = 0; i < q->chat.n_images; i++) {
			const struct engine_image_item *it = &q->chat.images[i];
			uint32_t gw = (it->w + (uint32_t)m->tile_px - 1) / (uint32_t)m->tile_px;
			uint32_t gh = (it->h + (uint32_t)m->tile_px - 1) / (uint32_t)m->tile_px;
			k = put(b, cap, k, "%s{\"mm_hash\":\"%s\",\"num_tiles\":%u,"
				"\"num_tokens\":%u,\"image_grid_thw\":[1,%u,%u]}",
				i ? "," : "", it->key, it->tiles, it->tiles * (uint32_t)m->tokens_per_tile, gh, gw);
		}
		k = put(b, cap, k, "]}");
	}
	return k;
}

void engine__reply_whole(struct engine__rq *q)
{
	struct engine *e = q->eng;
	uint32_t n = q->job.emitted, i;
	size_t cap = 1024 + (size_t)n * sizeof(TOKEN_TEXT) + (size_t)(q->job.prompt / 16 + 1) * 12 +
		     (size_t)q->chat.n_images * 200, k = 0;
	char *b = scratch(e, cap), u[128];

	if (!b) {
		if (q->whole_started)
			engine__whole_error(q, "out of memory building the reply");
		else
			engine__error(q->r, 503, NULL, "out of memory building the reply");
		return;
	}
	usage_json(q, u, sizeof(u));
	k = put(b, cap, k, "{\"id\":\"%s\",\"object\":\"chat.completion\",\"created\":%ld,"
		"\"model\":%s,\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
			"\"content\":\"",
		q->id, q->created, e->model_json);
	for (i = 0; i < n && k + sizeof(TOKEN_TEXT) < cap; i++) {
		memcpy(b + k, TOKEN_TEXT, sizeof(TOKEN_TEXT) - 1);
		k += sizeof(TOKEN_TEXT) - 1;
	}
	k = put(b, cap, k, "\"},\"logprobs\":null,\"finish_reason\":\"%s\",\"stop_reason\":null}],"
		"\"usage\":%s",
		finish_reason(q), u);
	k = transfer_params(q, b, cap, k);
	k = put(b, cap, k, "}");
	if (k >= cap) {
		if (q->whole_started)
			engine__whole_error(q, "reply larger than its buffer");
		else
			engine__error(q->r, 500, NULL, "reply larger than its buffer");
		return;
	}
	if (q->whole_started) {
		net_req_stream_write(q->r, b, k);
		net_req_stream_end(q->r);
	} else {
		net_req_reply(q->r, 200, "application/json", b, k);
	}
}

void engine__whole_error(struct engine__rq *q, const char *msg)
{
	char body[1024];
	size_t n = net_oai_error_json(body, sizeof(body), 503, NULL, msg);

	net_req_stream_write(q->r, body, n);
	net_req_stream_end(q->r);
}
