/*
 * net_oai: the OpenAI/vLLM error body, `{"error": {"message", "type", "param", "code"}}`,
 * shared by every server of the live side (engine, serve) so their errors agree byte
 * for byte. Protocol-level, no JSON library: a fixed shape with two escaped strings.
 */
#include <stdio.h>

#include "net/net.h"

const char *net_oai_error_type(int status)
{
	switch (status) {
	case 400: return "BadRequestError";
	case 401: return "AuthenticationError";
	case 404: return "NotFoundError";
	case 413: return "RequestEntityTooLarge";
	case 429: return "TooManyRequests";
	case 502: return "BadGateway";
	case 503: return "ServiceUnavailable";
	default: return status >= 500 ? "InternalServerError" : "BadRequestError";
	}
}

/* JSON string body of s (no quotes) into out; control bytes become spaces. */
static void json_esc(const char *s, char *out, size_t cap)
{
	size_t k = 0;

	for (; *s && k + 7 < cap; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			out[k++] = '\\';
			out[k++] = (char)c;
		} else if (c < 0x20) {
			out[k++] = ' ';
		} else {
			out[k++] = (char)c;
		}
	}
	out[k] = 0;
}

size_t net_oai_error_json(char *buf, size_t cap, int status, const char *param, const char *msg)
{
	char m[600], p[100];
	int n;

	json_esc(msg, m, sizeof(m));
	json_esc(param ? param : "", p, sizeof(p));
	if (param && *param)
		n = snprintf(buf, cap, "{\"error\":{\"message\":\"%s\",\"type\":\"%s\","
			"\"param\":\"%s\",\"code\":%d}}",
			     m, net_oai_error_type(status), p, status);
	else
		n = snprintf(buf, cap, "{\"error\":{\"message\":\"%s\",\"type\":\"%s\","
			"\"param\":null,\"code\":%d}}",
			     m, net_oai_error_type(status), status);
	return n < 0 ? 0 : ((size_t)n < cap ? (size_t)n : cap - 1);
}

void net_oai_error_reply(struct net_req *r, int status, const char *param, const char *msg)
{
	char body[1024];
	size_t n = net_oai_error_json(body, sizeof(body), status, param, msg);

	if (status == 429 || status == 503)
		net_req_add_header(r, "retry-after", "1");
	net_req_reply(r, status, "application/json", body, n);
}
