/*
 * engine_chat: parsing a chat-completions body.
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_chat.h"
#include "base/ms_base64.h"
#include "engine/engine_image.h"

static int fail(struct engine_chat_error *e, const char *param, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct engine_chat_error *e, const char *param, const char *fmt, ...)
{
	va_list ap;

	e->status = 400;
	snprintf(e->param, sizeof(e->param), "%s", param ? param : "");
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

static uint32_t count_words(const char *s, size_t n)
{
	uint32_t w = 0;
	int in = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		int sp = s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r';
		if (!sp && !in)
			w++;
		in = !sp;
	}
	return w;
}

static int set_key(struct engine_image_item *it, json_t *part, const char *hash,
		   struct engine_chat_error *e)
{
	json_t *u = json_object_get(part, "uuid");

	if (u && !json_is_null(u)) {
		const char *s = json_string_value(u);
		size_t i, n;
		if (!s)
			return fail(e, "uuid", "uuid: expected a string");
		n = strlen(s);
		if (!n || n >= ENGINE_CHAT_KEY_MAX)
			return fail(e, "uuid", "uuid: expected 1 to %d characters",
				    ENGINE_CHAT_KEY_MAX - 1);
		/* the key names a file in the encoder-cache directory */
		for (i = 0; i < n; i++)
			if (!(s[i] == '-' || s[i] == '_' || s[i] == '.' ||
			      (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') ||
			      (s[i] >= 'A' && s[i] <= 'Z')) || (i == 0 && s[i] == '.'))
				return fail(e, "uuid", "uuid: only letters, digits, '-', '_', '.' "
					"(not first) are allowed");
		memcpy(it->key, s, n + 1);
	} else if (hash) {
		snprintf(it->key, sizeof(it->key), "%s", hash);
	} else {
		return fail(e, "uuid", "image_embeds: a uuid naming the encoded item is required");
	}
	return 0;
}

static int image_part(struct engine_chat *c, json_t *part, const struct model_spec *m,
		      struct engine_chat_error *e)
{
	struct engine_image_item *it;
	json_t *iu = json_object_get(part, "image_url");
	const char *url, *comma;
	unsigned char *bytes;
	size_t nb;
	struct ms_error err;
	char hash[17];
	int rc;

	if (c->n_images >= ENGINE_CHAT_MAX_IMAGES)
		return fail(e, "messages", "more than %d images in one "
			"request", ENGINE_CHAT_MAX_IMAGES);
	it = &c->images[c->n_images];
	memset(it, 0, sizeof(*it));
	url = json_string_value(json_is_object(iu) ? json_object_get(iu, "url") : iu);
	if (!url)
		return fail(e, "image_url", "image_url: expected {\"url\": string}");
	if (!strncmp(url, "http://", 7) || !strncmp(url, "https://", 8)) {
		json_t *u = json_object_get(part, "uuid");
		if (u && !json_is_null(u) && set_key(it, part, NULL, e))
			return -1;
		if (strlen(url) > 2048)
			return fail(e, "image_url", "image_url: URL longer than 2048 bytes");
		if (!(it->url = strdup(url)))
			return fail(e, "image_url", "image_url: out of memory");
		c->n_images++;
		return 0;
	}
	if (strncmp(url, "data:", 5) || !(comma = strchr(url, ',')) ||
	    !strstr(url, ";base64") || strstr(url, ";base64") > comma)
		return fail(e, "image_url", "image_url: expected an http(s):// or data:image/...;base64, URL");
	if (ms_base64_decode(comma + 1, strlen(comma + 1), &bytes, &nb, &err))
		return fail(e, "image_url", "image_url: %s", err.msg);
	rc = engine_image_dims(bytes, nb, &it->w, &it->h, &err);
	if (!rc)
		engine_image_hash(bytes, nb, hash);
	free(bytes);
	if (rc)
		return fail(e, "image_url", "image_url: bad image data: %s", err.msg);
	it->tiles = engine_image_tiles(m, it->w, it->h);
	if (set_key(it, part, hash, e))
		return -1;
	c->n_images++;
	return 0;
}

int engine_chat_image_bytes(struct engine_image_item *it, const unsigned char *b, size_t n,
			    const struct model_spec *m, struct engine_chat_error *e)
{
	struct ms_error err;

	if (engine_image_dims(b, n, &it->w, &it->h, &err))
		return fail(e, "image_url", "image_url: bad image data at %.200s: %s",
			    it->url ? it->url : "?", err.msg);
	it->tiles = engine_image_tiles(m, it->w, it->h);
	if (!it->key[0])
		engine_image_hash(b, n, it->key);
	return 0;
}

void engine_chat_release(struct engine_chat *c)
{
	uint32_t i;

	for (i = 0; i < c->n_images; i++) {
		free(c->images[i].url);
		c->images[i].url = NULL;
	}
}

static int embeds_part(struct engine_chat *c, json_t *part, struct engine_chat_error *e)
{
	struct engine_image_item *it;

	if (c->n_images >= ENGINE_CHAT_MAX_IMAGES)
		return fail(e, "messages", "more than %d images in one "
			"request", ENGINE_CHAT_MAX_IMAGES);
	it = &c->images[c->n_images];
	memset(it, 0, sizeof(*it));
	it->is_ref = 1;
	if (set_key(it, part, NULL, e))
		return -1;
	c->n_images++;
	return 0;
}

static int content(struct engine_chat *c, json_t *ct, const struct model_spec *m,
		   struct engine_chat_error *e)
{
	size_t i;
	json_t *part;

	if (json_is_string(ct)) {
		c->text_tokens += count_words(json_string_value(ct), json_string_length(ct));
		return 0;
	}
	if (json_is_null(ct))
		return 0;
	if (!json_is_array(ct))
		return fail(e, "content", "content: expected a string or a list of parts");
	json_array_foreach(ct, i, part) {
		const char *type = json_string_value(json_object_get(part, "type"));
		if (!json_is_object(part) || !type)
			return fail(e, "content", "content[%zu]: expected an object with a "
				"type", i);
		if (!strcmp(type, "text")) {
			json_t *t = json_object_get(part, "text");
			if (!json_is_string(t))
				return fail(e, "text", "content[%zu].text: expected a string", i);
			c->text_tokens += count_words(json_string_value(t), json_string_length(t));
		} else if (!strcmp(type, "image_url")) {
			if (image_part(c, part, m, e))
				return -1;
		} else if (!strcmp(type, "image_embeds")) {
			if (embeds_part(c, part, e))
				return -1;
		} else {
			return fail(e, "type", "content[%zu].type: '%.32s' is not supported (text, "
				"image_url, image_embeds)", i, type);
		}
	}
	return 0;
}

static int get_uint(json_t *o, const char *k, uint32_t *out, int *has, struct engine_chat_error *e)
{
	json_t *v = json_object_get(o, k);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1000000)
		return fail(e, k, "%s: expected an integer from 0 to 1000000", k);
	*out = (uint32_t)json_integer_value(v);
	if (has)
		*has = 1;
	return 0;
}

static int get_bool(json_t *o, const char *k, int *out, struct engine_chat_error *e)
{
	json_t *v = json_object_get(o, k);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return fail(e, k, "%s: expected true or false", k);
	*out = json_is_true(v);
	return 0;
}

static int transfer_params(struct engine_chat *c, json_t *root, struct engine_chat_error *e)
{
	json_t *kv = json_object_get(root, "kv_transfer_params");
	json_t *ec = json_object_get(root, "ec_transfer_params");

	c->has_ec_params = ec && !json_is_null(ec);
	if (!kv || json_is_null(kv))
		return 0;
	if (!json_is_object(kv))
		return fail(e, "kv_transfer_params", "kv_transfer_params: expected an object");
	if (get_bool(kv, "do_remote_decode", &c->do_remote_decode, e) ||
	    get_bool(kv, "do_remote_prefill", &c->do_remote_prefill, e))
		return -1;
	if (c->do_remote_decode && c->do_remote_prefill)
		return fail(e, "kv_transfer_params", "kv_transfer_params: do_remote_decode and "
			"do_remote_prefill both true");
	if (json_is_array(json_object_get(kv, "remote_block_ids")))
		c->remote_blocks = (uint32_t)json_array_size(json_object_get(kv, "remote_block_ids"));
	return 0;
}

int engine_chat_parse(struct engine_chat *c, const char *body, size_t len,
		      const struct model_spec *m, struct engine_chat_error *e)
{
	json_error_t je;
	json_t *root, *msgs, *msg, *so;
	const char *model;
	size_t i;
	int rc = -1, has_mct = 0;
	uint32_t mct = 0;

	memset(c, 0, sizeof(*c));
	memset(e, 0, sizeof(*e));
	/* duplicate keys: the last wins, as Python's json (and so vLLM) reads them */
	root = json_loadb(body, len, 0, &je);
	if (!root)
		return fail(e, "", "malformed JSON at line %d column %d: %s", je.line, je.column,
			    je.text);
	if (!json_is_object(root)) {
		fail(e, "", "the body must be a JSON object");
		goto out;
	}
	model = json_string_value(json_object_get(root, "model"));
	if (json_object_get(root, "model") && !model) {
		fail(e, "model", "model: expected a string");
		goto out;
	}
	snprintf(c->model, sizeof(c->model), "%s", model ? model : "");
	msgs = json_object_get(root, "messages");
	if (!json_is_array(msgs) || !json_array_size(msgs)) {
		fail(e, "messages", "messages: expected a non-empty list");
		goto out;
	}
	json_array_foreach(msgs, i, msg) {
		if (!json_is_object(msg) || !json_is_string(json_object_get(msg, "role"))) {
			fail(e, "messages", "messages[%zu]: expected an object with a role", i);
			goto out;
		}
		if (content(c, json_object_get(msg, "content"), m, e))
			goto out;
	}
	if (get_bool(root, "stream", &c->stream, e) || get_bool(root, "ignore_eos", &c->ignore_eos, e) ||
	    get_uint(root, "max_tokens", &c->max_tokens, &c->has_max_tokens, e) ||
	    get_uint(root, "max_completion_tokens", &mct, &has_mct, e))
		goto out;
	if (has_mct) { /* the newer name wins, as in vLLM */
		c->max_tokens = mct;
		c->has_max_tokens = 1;
	}
	if (c->has_max_tokens && !c->max_tokens) {
		fail(e, has_mct ? "max_completion_tokens" : "max_tokens", "%s: must be at least 1",
		     has_mct ? "max_completion_tokens" : "max_tokens");
		goto out;
	}
	if (!c->has_max_tokens)
		c->max_tokens = ENGINE_CHAT_DEFAULT_TOKENS;
	so = json_object_get(root, "stream_options");
	if (so && !json_is_null(so)) {
		if (!json_is_object(so)) {
			fail(e, "stream_options", "stream_options: expected an object");
			goto out;
		}
		if (get_bool(so, "include_usage", &c->include_usage, e))
			goto out;
	}
	if (transfer_params(c, root, e))
		goto out;
	rc = 0;
out:
	json_decref(root);
	return rc;
}
