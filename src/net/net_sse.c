/*
 * net_sse: server-sent-event lines out of a byte stream that arrives in arbitrary
 * pieces. Only "data:" lines matter to OpenAI-style streams; events, ids and
 * comments are skipped.
 */
#include <stdlib.h>
#include <string.h>

#include "net/net.h"

int net_sse_init(struct net_sse *s, size_t cap, net_sse_fn fn, void *arg)
{
	memset(s, 0, sizeof(*s));
	s->buf = malloc(cap);
	if (!s->buf)
		return -MS_ENOMEM;
	s->cap = cap;
	s->fn = fn;
	s->arg = arg;
	return 0;
}

void net_sse_reset(struct net_sse *s)
{
	s->len = 0;
	s->overflow = 0;
}

void net_sse_release(struct net_sse *s)
{
	free(s->buf);
	s->buf = NULL;
}

static void line(struct net_sse *s, const char *p, size_t n)
{
	if (n && p[n - 1] == '\r')
		n--;
	if (n < 5 || memcmp(p, "data:", 5))
		return;
	p += 5;
	n -= 5;
	if (n && *p == ' ') {
		p++;
		n--;
	}
	s->fn(s->arg, p, n);
}

void net_sse_feed(struct net_sse *s, const char *data, size_t len)
{
	while (len) {
		const char *nl = memchr(data, '\n', len);
		size_t take = nl ? (size_t)(nl - data) : len;

		if (s->overflow) {
			/* skip the rest of an over-long line */
		} else if (!s->len && nl) {
			line(s, data, take); /* whole line in this piece: no copy */
		} else if (s->len + take > s->cap) {
			s->overflow = 1;
			s->len = 0;
			s->fn(s->arg, NULL, 0);
		} else {
			memcpy(s->buf + s->len, data, take);
			s->len += take;
			if (nl) {
				line(s, s->buf, s->len);
				s->len = 0;
			}
		}
		if (!nl)
			return;
		if (nl)
			s->overflow = 0;
		data += take + 1;
		len -= take + 1;
	}
}
