/*
 * Shared by the loadgen tests: a `modserve engine` in a child process on loopback.
 */
#ifndef LG_TEST_UTIL_H
#define LG_TEST_UTIL_H

#include <unistd.h>

#include "engine/engine.h"

/* An engine in a child process (its own loop), its port read back through a pipe; the
 * child ends itself after alarm_s even if the parent dies. */
static pid_t engine_child_of(int *port, enum engine_role role, double speed, unsigned alarm_s)
{
	int fds[2];
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct net_loop *loop;
		struct engine *eng;
		struct engine_config ec = { .host = "127.0.0.1", .model = "llama-3.2-11b-vision",
					    .gpu = "a100-80gb", .speed = speed, .role = role,
					    .max_body = 64 << 20 };
		struct ms_error err;
		int p = -1;

		alarm(alarm_s);
		if (!net_loop_new(&loop, &err) && !engine_new(&eng, loop, &ec, &err))
			p = engine_port(eng);
		if (write(fds[1], &p, sizeof(p)) != sizeof(p) || p < 0)
			_exit(1);
		net_loop_run(loop);
		_exit(0);
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], port, sizeof(*port)), sizeof(*port));
	close(fds[0]);
	assert_true(*port > 0);
	return pid;
}

#endif
