/*
 * serve_split: the gateway's request splitter without sockets: a chat request's bytes
 * parsed and checked (JSON object, types, model, image count), a content-derived
 * `uuid` put on every image part (the same part, uuid included, goes to every stage,
 * so encoder-cache keys agree), the policy's token estimate, and the encode request
 * of one image item (text removed, not streamed, one token). serve_front.c calls the
 * parse, serve.c the encode body; fuzz/fuzz_serve_split.c calls both on any bytes.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve/serve_int.h"

static uint32_t words(const char *t)
{
	uint32_t n = 0;
	int in = 0;

	for (; *t; t++) {
		int sp = isspace((unsigned char)*t);
		if (!sp && !in)
			n++;
		in = !sp;
	}
	return n;
}

/* 64-bit FNV-1a of the item's URL (a data: URL holds the bytes): the same image gives
 * the same key in every stage, without recomputing vLLM's own mm_hash. */
static void content_uuid(const char *s, char *out, size_t cap)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	snprintf(out, cap, "ms-%016llx", (unsigned long long)h);
}

static const char *part_url(json_t *part)
{
	json_t *u = json_object_get(part, "image_url");

	if (json_is_string(u))
		return json_string_value(u);
	return json_string_value(json_object_get(u, "url"));
}

/* Walks the messages: text words, image parts (uuid set); NULL or an error message. */
static const char *scan(struct serve__split *sp, json_t *msgs, const char **param)
{
	size_t i, j;
	json_t *m, *p;
	uint32_t cap = 0;

	json_array_foreach(msgs, i, m) {
		json_t *content = json_object_get(m, "content");
		if (!json_is_object(m)) {
			*param = "messages";
			return "each message must be an object";
		}
		if (json_is_string(content)) {
			sp->text_tokens += words(json_string_value(content));
			continue;
		}
		if (!json_is_array(content))
			continue;
		json_array_foreach(content, j, p) {
			const char *type = json_string_value(json_object_get(p, "type"));
			if (!type)
				continue;
			if (!strcmp(type, "text") && json_is_string(json_object_get(p, "text"))) {
				sp->text_tokens += words(json_string_value(json_object_get(p, "text")));
			} else if (!strcmp(type, "image_url")) {
				const char *url = part_url(p);
				char uuid[32];
				if (!url) {
					*param = "image_url";
					return "an image_url part needs a url string";
				}
				if (sp->n_img == SERVE_MAX_IMAGES) {
					*param = "messages";
					return "too many images in one request";
				}
				if (sp->n_img == cap) {
					json_t **n;
					cap = cap ? cap * 2 : 4;
					n = realloc(sp->img, cap * sizeof(*n));
					if (!n)
						return "out of memory";
					sp->img = n;
				}
				if (!json_is_string(json_object_get(p, "uuid"))) {
					content_uuid(url, uuid, sizeof(uuid));
					if (json_object_set_new(p, "uuid", json_string(uuid)))
						return "out of memory";
				}
				sp->img[sp->n_img++] = p;
			}
		}
	}
	return NULL;
}

int serve__split_parse(struct serve__split *sp, const char *body, size_t len,
		       const char *model, char *msg, size_t cap, const char **param)
{
	json_error_t je;
	json_t *msgs, *m, *mt;
	const char *err;

	memset(sp, 0, sizeof(*sp));
	*param = NULL;
	sp->out_tokens = 16; /* the engine's default when max_tokens is absent */
	sp->req = json_loadb(body ? body : "", len, 0, &je);
	if (!sp->req || !json_is_object(sp->req)) {
		snprintf(msg, cap, "malformed JSON: %s (line %d, column %d)",
			 sp->req ? "not an object" : je.text, je.line, je.column);
		return 400;
	}
	msgs = json_object_get(sp->req, "messages");
	m = json_object_get(sp->req, "model");
	if (!json_is_array(msgs)) {
		*param = "messages";
		snprintf(msg, cap, "messages must be a list");
		return 400;
	}
	if (m && !json_is_string(m)) {
		*param = "model";
		snprintf(msg, cap, "model must be a string");
		return 400;
	}
	if (m && strcmp(json_string_value(m), model)) {
		*param = "model";
		snprintf(msg, cap, "The model `%.100s` does not exist.", json_string_value(m));
		return 404;
	}
	if ((err = scan(sp, msgs, param))) {
		snprintf(msg, cap, "%s", err);
		return 400;
	}
	if (!sp->text_tokens)
		sp->text_tokens = 1;
	sp->stream = json_is_true(json_object_get(sp->req, "stream"));
	mt = json_object_get(sp->req, "max_completion_tokens");
	if (!json_is_integer(mt))
		mt = json_object_get(sp->req, "max_tokens");
	if (json_is_integer(mt) && json_integer_value(mt) > 0)
		sp->out_tokens = (uint64_t)json_integer_value(mt);
	return 0;
}

void serve__split_release(struct serve__split *sp)
{
	json_decref(sp->req);
	free(sp->img);
	sp->req = NULL;
	sp->img = NULL;
}

json_t *serve__split_encode_body(json_t *req, json_t *part, const char *model)
{
	json_t *msg, *body, *m = json_object_get(req, "model");

	/* text removed, one image item, not streamed, one token (DESIGN.md section 5) */
	msg = json_pack("{s:s, s:[O]}", "role", "user", "content", part);
	body = json_pack("{s:s, s:[o], s:b, s:i}", "model", model, "messages", msg, "stream", 0,
			 "max_tokens", 1);
	if (body && m)
		json_object_set(body, "model", m);
	return body;
}
