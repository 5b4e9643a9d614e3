/*
 * net_loop: the event loop, the clock and one-shot timers over libevent's event_base.
 */
#include <event2/event.h>
#include <math.h>
#include <stdlib.h>
#include <time.h>

#include "net/net_int.h"

int net_loop_new(struct net_loop **out, struct ms_error *err)
{
	struct net_loop *l = calloc(1, sizeof(*l));
	struct event_config *cfg;

	*out = NULL;
	if (!l)
		return ms_error_set(err, MS_ENOMEM, "event loop: out of memory");
	/* precise timers (timerfd under epoll): without it a wait is rounded up to the next
	 * millisecond, which the engine's emulated iterations and bench's arrival times of
	 * a few ms cannot afford */
	cfg = event_config_new();
	if (cfg && !event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER))
		l->base = event_base_new_with_config(cfg);
	else
		l->base = event_base_new();
	if (cfg)
		event_config_free(cfg);
	if (!l->base) {
		free(l);
		return ms_error_set(err, MS_ENET, "event loop: event_base_new failed");
	}
	*out = l;
	return 0;
}

void net_loop_free(struct net_loop *l)
{
	if (!l)
		return;
	event_base_free(l->base);
	free(l);
}

int net_loop_run(struct net_loop *l)
{
	return event_base_dispatch(l->base) < 0 ? -MS_ENET : 0;
}

void net_loop_stop(struct net_loop *l)
{
	event_base_loopbreak(l->base);
}

double net_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

struct net_timer {
	struct event *ev;
	net_timer_fn fn;
	void *arg;
};

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct net_timer *t = arg;

	(void)fd;
	(void)what;
	t->fn(t->arg);
}

struct net_timer *net_timer_new(struct net_loop *l, net_timer_fn fn, void *arg)
{
	struct net_timer *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->fn = fn;
	t->arg = arg;
	t->ev = evtimer_new(l->base, timer_cb, t);
	if (!t->ev) {
		free(t);
		return NULL;
	}
	return t;
}

void net_timer_start(struct net_timer *t, double after_s)
{
	struct timeval tv;

	if (!(after_s > 0)) {
		/* next pass of the loop, after the I/O already pending */
		evtimer_del(t->ev);
		event_active(t->ev, EV_TIMEOUT, 0);
		return;
	}
	if (after_s > 1e7)
		after_s = 1e7;
	tv.tv_sec = (time_t)after_s;
	tv.tv_usec = (suseconds_t)((after_s - (double)tv.tv_sec) * 1e6);
	evtimer_add(t->ev, &tv);
}

void net_timer_stop(struct net_timer *t)
{
	evtimer_del(t->ev);
}

void net_timer_free(struct net_timer *t)
{
	if (!t)
		return;
	event_free(t->ev);
	free(t);
}

const char *net_status_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 413: return "Payload Too Large";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	default: return status < 400 ? "OK" : "Error";
	}
}
