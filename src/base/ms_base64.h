/*
 * ms_base64: standard base64 (RFC 4648 section 4), for data: URLs on the live side:
 * the engine decodes image parts, the load generator encodes the images it sends.
 * No state; the caller owns every buffer.
 */
#ifndef MS_BASE64_H
#define MS_BASE64_H

#include <stddef.h>

#include "base/ms_error.h"

/*
 * Decodes in[0..n) (padding optional, no whitespace) into a new buffer (*out, *out_len;
 * caller frees). -MS_EPARSE naming the offset of a bad byte, or an impossible length.
 */
int ms_base64_decode(const char *in, size_t n, unsigned char **out, size_t *out_len,
		     struct ms_error *err);
/* Encodes in[0..n) with padding into out (room for ms_base64_len(n) + 1); returns the length. */
size_t ms_base64_encode(const unsigned char *in, size_t n, char *out);
static inline size_t ms_base64_len(size_t n)
{
	return 4 * ((n + 2) / 3);
}

#endif
