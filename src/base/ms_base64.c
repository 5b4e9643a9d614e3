/*
 * ms_base64: base64 both ways.
 */
#include <stdint.h>
#include <stdlib.h>

#include "base/ms_base64.h"

static int b64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int ms_base64_decode(const char *in, size_t n, unsigned char **out, size_t *out_len,
		      struct ms_error *err)
{
	unsigned char *o;
	size_t i, k = 0, pad = 0;
	uint32_t acc = 0;
	int bits = 0;

	*out = NULL;
	*out_len = 0;
	while (n && in[n - 1] == '=' && pad < 2) {
		n--;
		pad++;
	}
	if (n % 4 == 1)
		return ms_error_set(err, MS_EPARSE, "base64: length %zu is not possible", n + pad);
	o = malloc(n / 4 * 3 + 3);
	if (!o)
		return ms_error_set(err, MS_ENOMEM, "base64: out of memory");
	for (i = 0; i < n; i++) {
		int v = b64_val((unsigned char)in[i]);
		if (v < 0) {
			free(o);
			return ms_error_set(err, MS_EPARSE, "base64: bad byte at offset %zu", i);
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			o[k++] = (unsigned char)(acc >> bits);
		}
	}
	*out = o;
	*out_len = k;
	return 0;
}

size_t ms_base64_encode(const unsigned char *in, size_t n, char *out)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, k = 0;

	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[k++] = tab[v >> 18];
		out[k++] = tab[(v >> 12) & 63];
		out[k++] = tab[(v >> 6) & 63];
		out[k++] = tab[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);
		out[k++] = tab[v >> 18];
		out[k++] = tab[(v >> 12) & 63];
		out[k++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		out[k++] = '=';
	}
	out[k] = 0;
	return k;
}
