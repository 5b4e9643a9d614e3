/*
 * libFuzzer target for the gateway's request splitter (serve/serve_split.c): any bytes
 * as a chat request body. It must return cleanly: 400/404 with a message, or a request
 * whose image parts all carry a uuid, with counts inside their limits; each image's
 * encode request must hold that part alone (text removed), not streamed, one token;
 * and splitting the re-serialised request again (what every later stage receives)
 * must find the same images under the same uuids. Never crash, never leak.
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct serve__split sp, again;
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
	if (txt && serve__split_parse(&again, txt, strlen(txt), "m", msg, sizeof(msg), &param) == 0) {
		if (again.n_img != sp.n_img)
			abort();
		for (i = 0; i < sp.n_img; i++)
			if (strcmp(json_string_value(json_object_get(again.img[i], "uuid")),
				   json_string_value(json_object_get(sp.img[i], "uuid"))))
				abort();
		serve__split_release(&again);
	} else if (txt) {
		abort(); /* a request that split once splits again */
	}
	free(txt);
	serve__split_release(&sp);
	return 0;
}
