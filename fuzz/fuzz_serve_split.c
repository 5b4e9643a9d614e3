/*
 * libFuzzer target for the gateway's request splitter (serve/serve_split.c): any bytes
 * as a chat request body. It must return cleanly: 400/404 with a message, or a request
 * whose image parts all carry a uuid, with counts inside their limits; each image's
 * encode request must hold that part alone (text removed), not streamed, one token;
 * and splitting the re-serialised request again (what every later stage receives)
 * must find the same images under the same uuids. Each LLM stage's body, from the
 * client's bytes (spliced or passed through where that is sure) and without them
 * (serialised): prefill's has max_tokens 1, stream false, no stream_options or
 * max_completion_tokens and kv_transfer_params asking for remote decode; decode's
 * carries the given kv_transfer_params verbatim; prefill and prefill_decode carry the
 * given ec_transfer_params; every body splits again with the same images and uuids; the
 * request is as before. Never crash, never leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "serve/serve_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_encode_body(struct serve__split *sp, uint32_t i)
{
	json_t *b = serve__split_encode_body(sp->req, sp->img[i], "m");
	json_t *msgs = json_object_get(b, "messages");
	json_t *content = json_object_get(json_array_get(msgs, 0), "content");

	if (!b)
		return; /* out of memory */
	if (json_array_size(msgs) != 1 || json_array_size(content) != 1 ||
	    json_array_get(content, 0) != sp->img[i] ||
	    !json_is_false(json_object_get(b, "stream")) ||
	    json_integer_value(json_object_get(b, "max_tokens")) != 1 ||
	    !json_is_string(json_object_get(b, "model")))
		abort();
	json_decref(b);
}

/* The images of body (a later stage's request) are sp's, under the same uuids. */
static void check_same_images(struct serve__split *sp, const char *body, size_t len)
{
	struct serve__split again;
	const char *param;
	char msg[400];
	uint32_t i;

	if (serve__split_parse(&again, body, len, "m", msg, sizeof(msg), &param))
		abort(); /* a request that split once splits again */
	if (again.n_img != sp->n_img)
		abort();
	for (i = 0; i < sp->n_img; i++)
		if (strcmp(json_string_value(json_object_get(again.img[i], "uuid")),
			   json_string_value(json_object_get(sp->img[i], "uuid"))))
			abort();
	serve__split_release(&again);
}

/* One stage's body, with (raw) or without the client's bytes, checked. */
static void check_stage(struct serve__split *sp, const uint8_t *data, size_t size, int raw,
			enum serve_kind kind, struct serve__buf *o)
{
	json_t *ec = kind == SERVE_DECODE ? NULL : json_pack("{s:s, s:[i]}", "connector", "c", "items", 7);
	json_t *kv = json_pack("{s:b, s:[i,i], s:s}", "do_remote_prefill", 1, "remote_block_ids", 1,
			       2, "remote_host", "10.0.0.1");
	json_t *want_ec = ec ? json_deep_copy(ec) : NULL, *b, *v;
	char *before = json_dumps(sp->req, JSON_COMPACT | JSON_SORT_KEYS), *after;
	const char *txt;
	size_t len;

	if (!kv || !before || (kind != SERVE_DECODE && (!ec || !want_ec))) {
		json_decref(ec); /* out of memory */
		goto out;
	}
	if (serve__split_stage_body(o, sp->req, sp->img, sp->n_img, raw ? (const char *)data : NULL,
				    raw ? size : 0, kind, ec, kv, &txt, &len) < 0)
		goto out; /* out of memory */
	b = json_loadb(txt, len, 0, NULL);
	if (!json_is_object(b))
		abort();
	v = json_object_get(b, "kv_transfer_params");
	if (kind == SERVE_PREFILL &&
	    (json_integer_value(json_object_get(b, "max_tokens")) != 1 ||
	     !json_is_false(json_object_get(b, "stream")) || json_object_get(b, "stream_options") ||
	     json_object_get(b, "max_completion_tokens") ||
	     !json_is_true(json_object_get(v, "do_remote_decode")) ||
	     !json_is_false(json_object_get(v, "do_remote_prefill"))))
		abort();
	if (kind == SERVE_DECODE && (!json_equal(v, kv) || json_object_get(b, "ec_transfer_params")))
		abort();
	if (kind != SERVE_DECODE && !json_equal(json_object_get(b, "ec_transfer_params"), want_ec))
		abort();
	json_decref(b);
	check_same_images(sp, txt, len);
	after = json_dumps(sp->req, JSON_COMPACT | JSON_SORT_KEYS);
	if (after && strcmp(before, after))
		abort(); /* the stage's patches were undone */
	free(after);
out:
	free(before);
	json_decref(want_ec);
	json_decref(kv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct serve__split sp;
	const char *param;
	char msg[400];
	char *txt;
	uint32_t i;
	int st = serve__split_parse(&sp, (const char *)data, size, "m", msg, sizeof(msg), &param);

	if (st) {
		if ((st != 400 && st != 404) || !msg[0])
			abort();
		serve__split_release(&sp);
		return 0;
	}
	if (sp.n_img > SERVE_MAX_IMAGES || !sp.text_tokens || !sp.out_tokens)
		abort();
	for (i = 0; i < sp.n_img; i++) {
		if (!json_is_string(json_object_get(sp.img[i], "uuid")))
			abort();
		check_encode_body(&sp, i);
	}
	txt = json_dumps(sp.req, JSON_COMPACT);
	if (txt)
		check_same_images(&sp, txt, strlen(txt));
	free(txt);
	{
		static const enum serve_kind kinds[] = { SERVE_PREFILL, SERVE_DECODE, SERVE_PD };
		struct serve__buf o = { NULL, 0, 0 };
		int raw, k;
		for (raw = 0; raw < 2; raw++)
			for (k = 0; k < 3; k++)
				check_stage(&sp, data, size, raw, kinds[k], &o);
		free(o.p);
	}
	serve__split_release(&sp);
	return 0;
}
