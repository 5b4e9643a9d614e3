/*
 * net_int: what the files of net/ share (the libevent handles behind the opaque types).
 * Other folders never include it.
 */
#ifndef NET_INT_H
#define NET_INT_H

#include <event2/event.h>

#include "net/net.h"

struct net_loop {
	struct event_base *base;
};

#endif
