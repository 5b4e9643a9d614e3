/*
 * serve_scale: the stage-aware autoscaler of src/policy (policy_scale.h: the rule
 * `sim --autoscale` runs) on the gateway's observed load, every tick (at most 1 s; the
 * rule itself decides when its periodic evaluation is due), acting per pool through:
 *  - --spawn POOL=CMD: local processes (`modserve engine ... --port {port}` for tests and
 *    single hosts): one `sh -c "exec CMD"` per instance on a free loopback port, added
 *    STARTING and READY once its health probe answers; going down, the newest spawned
 *    (starting first) is drained, then stopped with SIGTERM once nothing of it is in
 *    flight (the reaper of serve_backend.c calls serve__scale_gone);
 *  - --scale-cmd CMD: `sh -c CMD` with {pool} and {n} replaced (kubectl scale ...), run
 *    when a pool's target changes (not again for the same target); the new replicas
 *    join by registration (POST /instances) or by their Service;
 *  - either way the target is the pool's modserve_serve_desired_replicas gauge.
 * Load, per the rule: windowed image tokens/s for encoders, prompt tokens/s for LLM
 * pools, against --autoscale's capacity per instance (plan_capacity.c finds it offline).
 * Children are reaped without blocking on each tick and stopped at shutdown.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "policy/policy_scale.h"
#include "serve/serve_int.h"

struct serve__scale {
	struct policy_scale sc;
	struct net_timer *tick;
	int kind[POLICY_MAX_POOLS];   /* serve kind of each scaled pool, by conf.p index */
	int cmd_n[POLICY_MAX_POOLS];  /* the last target given to --scale-cmd, -1: none */
	uint32_t target[POLICY_MAX_POOLS];
	int children[SERVE_KINDS * SERVE_MAX_BACKENDS];
	uint32_t n_children;
	uint64_t spawned, stopped, cmds;
};

/* A port nothing listens on now (the child binds it a moment later). */
static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t n = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd < 0)
		return -1;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &n) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/* tmpl with each {key} replaced by val (keys and values as pairs, NULL-terminated). */
static int expand(char *out, size_t cap, const char *tmpl, const char *const *kv)
{
	size_t n = 0;
	const char *p = tmpl;

	while (*p) {
		int i, hit = 0;
		for (i = 0; kv[i]; i += 2) {
			size_t kl = strlen(kv[i]);
			if (*p == '{' && !strncmp(p + 1, kv[i], kl) && p[1 + kl] == '}') {
				size_t vl = strlen(kv[i + 1]);
				if (n + vl >= cap)
					return -1;
				memcpy(out + n, kv[i + 1], vl);
				n += vl;
				p += kl + 2;
				hit = 1;
				break;
			}
		}
		if (hit)
			continue;
		if (n + 1 >= cap)
			return -1;
		out[n++] = *p++;
	}
	out[n] = 0;
	return 0;
}

/* sh -c cmd in a child that keeps only stdin, stdout and stderr: the gateway's sockets
 * (its listener, its backend connections) must not live on in an engine it started. */
static int run_sh(const char *cmd, int *pid)
{
	pid_t p = fork();

	if (p < 0)
		return -1;
	if (p == 0) {
		closefrom(3);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	*pid = (int)p;
	return 0;
}

static void spawn_one(struct serve *s, struct serve__scale *a, enum serve_kind k)
{
	char port_s[16], cmd[1200], exec_cmd[1300];
	const char *kv[] = { "port", port_s, "pool", serve_kind_name(k), NULL };
	struct serve_url u = { .host = "127.0.0.1" };
	struct serve__backend *b;
	struct ms_error err;
	int port = free_port(), pid;

	snprintf(port_s, sizeof(port_s), "%d", port);
	if (port < 0 || expand(cmd, sizeof(cmd), s->cfg.scale[k].spawn, kv) < 0) {
		serve__logf(s, "autoscale: %s: cannot make the spawn command", serve_kind_name(k));
		return;
	}
	snprintf(exec_cmd, sizeof(exec_cmd), "exec %s", cmd); /* the pid is the server's */
	u.port = port;
	if (a->n_children == sizeof(a->children) / sizeof(a->children[0]) ||
	    run_sh(exec_cmd, &pid) < 0) {
		serve__logf(s, "autoscale: %s: cannot start `%s`", serve_kind_name(k), cmd);
		return;
	}
	a->children[a->n_children++] = pid;
	if (serve__backend_add(s, k, &u, 0, &b, &err) < 0) {
		serve__logf(s, "autoscale: %s: %s", serve_kind_name(k), err.msg);
		kill(pid, SIGTERM);
		return;
	}
	b->child = pid;
	a->spawned++;
	serve__logf(s, "autoscale: %s: started pid %d on port %d (starting until healthy)",
		    serve_kind_name(k), pid, port);
}

/* The spawned backend of pool k to take out: a starting one first, then the newest. */
static struct serve__backend *drain_pick(struct serve *s, enum serve_kind k)
{
	struct serve__backend *best = NULL;
	uint32_t i;

	for (i = 0; i < s->n_be; i++) {
		struct serve__backend *b = &s->be[i];
		if (!b->used || b->kind != k || !b->child || b->draining)
			continue;
		if (!best || (b->starting && !best->starting) ||
		    (b->starting == best->starting && b->pid > best->pid))
			best = b;
	}
	return best;
}

static void run_cmd(struct serve *s, struct serve__scale *a, int i, uint32_t n)
{
	char n_s[16], cmd[1200];
	const char *kv[] = { "pool", serve_kind_name((enum serve_kind)a->kind[i]), "n", n_s, NULL };
	int pid;

	if (a->cmd_n[i] == (int)n)
		return;
	snprintf(n_s, sizeof(n_s), "%u", n);
	if (expand(cmd, sizeof(cmd), s->cfg.scale_cmd, kv) < 0 || run_sh(cmd, &pid) < 0) {
		serve__logf(s, "autoscale: cannot run --scale-cmd for %s", kv[1]);
		return;
	}
	if (a->n_children < sizeof(a->children) / sizeof(a->children[0]))
		a->children[a->n_children++] = pid;
	a->cmd_n[i] = (int)n;
	a->cmds++;
	serve__logf(s, "autoscale: %s -> %u replicas: `%s` (pid %d)", kv[1], n, cmd, pid);
}

/* Children that exited are collected (none is waited for). */
static void reap_children(struct serve__scale *a)
{
	uint32_t i = 0;

	while (i < a->n_children) {
		if (waitpid(a->children[i], NULL, WNOHANG) == a->children[i] ||
		    (errno = 0, kill(a->children[i], 0) < 0 && errno == ESRCH))
			a->children[i] = a->children[--a->n_children];
		else
			i++;
	}
}

static void on_tick(void *arg)
{
	struct serve *s = arg;
	struct serve__scale *a = s->scale;
	enum policy_scale_why why[POLICY_MAX_POOLS];
	double now = net_now();
	int i;

	reap_children(a);
	policy_scale_step(&a->sc, &s->pol, now, a->target, why);
	for (i = 0; i < a->sc.conf.n; i++) {
		enum serve_kind k = (enum serve_kind)a->kind[i];
		struct policy_pool_stats st;
		uint32_t live, j;

		policy_pool_stats(&s->pol, a->sc.conf.p[i].pool, now, &st);
		live = st.starting + st.ready;
		if (s->cfg.scale_cmd)
			run_cmd(s, a, i, a->target[i]);
		if (!s->cfg.scale[k].spawn)
			continue;
		for (j = live; j < a->target[i]; j++)
			spawn_one(s, a, k);
		for (j = a->target[i]; j < live; j++) {
			struct serve__backend *b = drain_pick(s, k);
			if (!b)
				break;
			serve__backend_drain(b);
		}
	}
	net_timer_start(a->tick, a->sc.conf.interval_s < 1 ? a->sc.conf.interval_s : 1);
}

int serve__scale_start(struct serve *s, struct ms_error *err)
{
	struct policy_scale_conf c = { .interval_s = s->cfg.scale_interval_s,
				       .cooldown_s = s->cfg.scale_cooldown_s };
	struct serve__scale *a;
	int k, rc;

	for (k = 0; k < SERVE_KINDS; k++) {
		const struct serve_scale_pool *p = &s->cfg.scale[k];
		if (!p->on)
			continue;
		if (s->pool_of[k] < 0)
			return ms_error_set(err, MS_EINVAL, "--autoscale %s: no such pool in the "
					    "pools file", serve_kind_name((enum serve_kind)k));
		c.p[c.n].pool = s->pool_of[k];
		c.p[c.n].rate_pool = -1;
		c.p[c.n].load = k == SERVE_ENCODE ? POLICY_ARR_IMG_TOKENS : POLICY_ARR_PROMPT;
		c.p[c.n].capacity = p->capacity;
		c.p[c.n].min = p->min;
		c.p[c.n].max = p->max;
		c.p[c.n].burst_queue = k == SERVE_ENCODE ? 4 : 16; /* plan_autoscale.c's */
		c.n++;
	}
	for (k = 0; k < SERVE_KINDS; k++)
		if (s->cfg.scale[k].spawn && !s->cfg.scale[k].on)
			return ms_error_set(err, MS_EINVAL, "--spawn %s needs --autoscale %s=...",
					    serve_kind_name((enum serve_kind)k),
					    serve_kind_name((enum serve_kind)k));
	if (!c.n)
		return s->cfg.scale_cmd ? ms_error_set(err, MS_EINVAL, "--scale-cmd needs "
						       "--autoscale") : 0;
	if (!(a = calloc(1, sizeof(*a))))
		return ms_error_set(err, MS_ENOMEM, "autoscale: out of memory");
	if ((rc = policy_scale_init(&a->sc, &c, &s->pol, err)) < 0) {
		free(a);
		return rc;
	}
	for (k = 0; k < c.n; k++) {
		int j;
		for (j = 0; j < SERVE_KINDS && s->pool_of[j] != c.p[k].pool; j++)
			;
		a->kind[k] = j;
		a->cmd_n[k] = -1;
	}
	if (!(a->tick = net_timer_new(s->loop, on_tick, s))) {
		free(a);
		return ms_error_set(err, MS_ENOMEM, "autoscale: out of memory");
	}
	s->scale = a;
	net_timer_start(a->tick, 0);
	return 0;
}

int serve__scale_target(const struct serve *s, enum serve_kind k, uint32_t *n)
{
	int i;

	if (!s->scale)
		return 0;
	for (i = 0; i < s->scale->sc.conf.n; i++)
		if (s->scale->kind[i] == (int)k) {
			*n = s->scale->target[i];
			return 1;
		}
	return 0;
}

void serve__scale_gone(struct serve__backend *b)
{
	if (b->child > 0) {
		kill(b->child, SIGTERM); /* drained: nothing of it is in flight */
		if (b->s->scale)
			b->s->scale->stopped++;
		serve__logf(b->s, "autoscale: %s: stopped pid %d", serve_kind_name(b->kind),
			    b->child);
	}
}

void serve__scale_stop(struct serve *s)
{
	struct serve__scale *a = s->scale;
	uint32_t i;

	if (!a)
		return;
	net_timer_free(a->tick);
	for (i = 0; i < s->n_be; i++)
		if (s->be[i].used && s->be[i].child > 0)
			kill(s->be[i].child, SIGTERM);
	for (i = 0; i < a->n_children; i++)
		(void)waitpid(a->children[i], NULL, 0); /* each exits on SIGTERM */
	free(a);
	s->scale = NULL;
}
