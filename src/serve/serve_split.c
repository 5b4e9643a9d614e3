/*
 * serve_split: the gateway's request splitter without sockets: a chat request's bytes
 * parsed and checked (JSON object, types, model, image count), a content-derived
 * `uuid` put on every image part (the same part, uuid included, goes to every stage,
 * so encoder-cache keys agree), the policy's token estimate, and the encode request
 * of one image item (text removed, not streamed, one token); the body of each LLM
 * stage's call (prefill, decode, prefill_decode: patched, or spliced from the client's
 * bytes). serve_front.c calls the parse, serve.c the bodies; fuzz/fuzz_serve_split.c
 * calls all of them on any bytes.
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

/* ---- the LLM stages' bodies ---- */

int serve__buf_add(struct serve__buf *b, const char *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		char *np;
		while (cap < b->len + n + 1)
			cap *= 2;
		np = realloc(b->p, cap);
		if (!np)
			return -1;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = 0;
	return 0;
}

int serve__split_dump(struct serve__buf *o, const json_t *body, const char **txt, size_t *len)
{
	size_t n = json_dumpb(body, o->p, o->cap, JSON_COMPACT);

	if (!n)
		return -1;
	if (n > o->cap) {
		size_t cap = o->cap ? o->cap : 4096;
		char *p;
		while (cap < n)
			cap *= 2;
		if (!(p = realloc(o->p, cap)))
			return -1;
		o->p = p;
		o->cap = cap;
		if (json_dumpb(body, o->p, o->cap, JSON_COMPACT) != n)
			return -1;
	}
	*txt = o->p;
	*len = n;
	return 0;
}

/* A change of one top-level key of the client's request for one stage's body: val NULL
 * deletes it. Applied in place, dumped, then undone (old values kept), so no stage
 * deep-copies the request. */
struct patch {
	const char *key;
	json_t *val;   /* owned by the patch */
	json_t *old;   /* the request's own value while patched (a reference) */
};

static void patch_apply(json_t *req, struct patch *p, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		p[i].old = json_incref(json_object_get(req, p[i].key));
		if (p[i].val)
			json_object_set(req, p[i].key, p[i].val);
		else
			json_object_del(req, p[i].key);
	}
}

static void patch_undo(json_t *req, struct patch *p, int n)
{
	int i;

	for (i = n - 1; i >= 0; i--) {
		if (p[i].old)
			json_object_set_new(req, p[i].key, p[i].old);
		else
			json_object_del(req, p[i].key);
		json_decref(p[i].val);
	}
}

/* The image part's URL (image_url as a string or as {"url": ...}); *obj: the latter. */
static const char *image_url_of(json_t *part, int *obj)
{
	json_t *u = json_object_get(part, "image_url");

	*obj = json_is_object(u);
	return json_string_value(*obj ? json_object_get(u, "url") : u);
}

/* The first n bytes equal to s in [p, end) (memmem is a GNU extension). */
static const char *find(const char *p, const char *end, const char *s, size_t n)
{
	while ((size_t)(end - p) >= n && (p = memchr(p, s[0], (size_t)(end - p) - n + 1))) {
		if (!memcmp(p, s, n))
			return p;
		p++;
	}
	return NULL;
}

/* Whether the string value opening at quote q (raw from lo) is the value of key:
 * `"key" : "` with any whitespace around the colon. */
static int value_of(const char *lo, const char *q, const char *key)
{
	size_t n = strlen(key);

	while (q > lo && (q[-1] == ' ' || q[-1] == '\n' || q[-1] == '\t' || q[-1] == '\r'))
		q--;
	if (q == lo || *--q != ':')
		return 0;
	while (q > lo && (q[-1] == ' ' || q[-1] == '\n' || q[-1] == '\t' || q[-1] == '\r'))
		q--;
	return (size_t)(q - lo) >= n + 2 && q[-1] == '"' && !memcmp(q - 1 - n, key, n) &&
	       q[-2 - (long)n] == '"';
}

static int put(struct serve__buf *o, const char *p, size_t n)
{
	return serve__buf_add(o, p, n);
}

/*
 * The final stage's body spliced from the client's bytes, never re-serialising the
 * images: one top-level key added after the opening brace (`key`: val, NULL: none) and
 * `"uuid"` added to each image part right after its image_url. Only where that is sure:
 * the request did not have the key itself, each URL appears in the bytes as is (no
 * escapes) in order, an object-form image_url ends right after its url. -1: not sure,
 * the caller serialises instead.
 */
static int splice(struct serve__buf *o, json_t *req, json_t *const *img, uint32_t n_img,
		  const char *raw, size_t raw_len, const char *key, json_t *val, const char **txt,
		  size_t *len)
{
	const char *end = raw + raw_len, *at, *p;
	uint32_t i;

	o->len = 0;
	for (p = raw; p < end && (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r'); p++)
		;
	if (p == end || *p != '{' || put(o, raw, (size_t)(p + 1 - raw)) < 0)
		return -1;
	at = p + 1;
	if (val) {
		char *v;
		int rc;
		if (json_object_get(req, key) || !(v = json_dumps(val, JSON_COMPACT)))
			return -1;
		rc = put(o, "\"", 1) < 0 || put(o, key, strlen(key)) < 0 || put(o, "\":", 2) < 0 ||
		     put(o, v, strlen(v)) < 0 || put(o, ",", 1) < 0;
		free(v);
		if (rc)
			return -1;
	}
	for (i = 0; i < n_img; i++) {
		int obj;
		const char *url = image_url_of(img[i], &obj), *hit;
		const char *uuid = json_string_value(json_object_get(img[i], "uuid"));
		size_t n = url ? strlen(url) : 0;
		if (!n || !uuid || !(hit = find(at, end, url, n)) || hit == raw ||
		    hit[-1] != '"' || hit + n >= end || hit[n] != '"' ||
		    !value_of(raw, hit - 1, obj ? "url" : "image_url"))
			return -1; /* e.g. the same text in a text part first: serialise instead */
		p = hit + n + 1;
		if (obj) {
			while (p < end && (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r'))
				p++;
			if (p == end || *p != '}')
				return -1; /* more keys after url: not sure where the part goes on */
			p++;
		}
		if (put(o, at, (size_t)(p - at)) < 0 || put(o, ",\"uuid\":\"", 9) < 0 ||
		    put(o, uuid, strlen(uuid)) < 0 || put(o, "\"", 1) < 0)
			return -1;
		at = p;
	}
	if (put(o, at, (size_t)(end - at)) < 0)
		return -1;
	*txt = o->p;
	*len = o->len;
	return 0;
}

/* The stage's body (see serve_int.h): the client's bytes as they came when the stage
 * changes nothing (a text request to prefill_decode, or to decode without
 * kv_transfer_params), spliced when the final stage only adds (see splice), else the
 * request with the stage's patches. */
int serve__split_stage_body(struct serve__buf *o, json_t *req, json_t *const *img,
			    uint32_t n_img, const char *raw, size_t raw_len, enum serve_kind kind,
			    json_t *ec, json_t *kv, const char **txt, size_t *len)
{
	struct patch p[6];
	int n = 0, rc;

	if (ec)
		p[n++] = (struct patch){ "ec_transfer_params", ec, NULL };
	if (kind == SERVE_PREFILL) {
		p[n++] = (struct patch){ "stream", json_false(), NULL };
		p[n++] = (struct patch){ "stream_options", NULL, NULL };
		p[n++] = (struct patch){ "max_completion_tokens", NULL, NULL };
		p[n++] = (struct patch){ "max_tokens", json_integer(1), NULL };
		p[n++] = (struct patch){ "kv_transfer_params",
					 json_pack("{s:b, s:b}", "do_remote_decode", 1,
						   "do_remote_prefill", 0), NULL };
	} else if (kind == SERVE_DECODE && kv) {
		p[n++] = (struct patch){ "kv_transfer_params", json_incref(kv), NULL };
	}
	if (!n && raw && !n_img) {
		*txt = raw;
		*len = raw_len;
		return 0;
	}
	if (kind != SERVE_PREFILL && n <= 1 && raw &&
	    splice(o, req, img, n_img, raw, raw_len, n ? p[0].key : NULL, n ? p[0].val : NULL,
		   txt, len) == 0) {
		if (n)
			json_decref(p[0].val);
		return 0;
	}
	patch_apply(req, p, n);
	rc = serve__split_dump(o, req, txt, len);
	patch_undo(req, p, n);
	return rc;
}
