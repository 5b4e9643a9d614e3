/*
 * `modserve serve`: run the ModServe gateway (serve/) in front of the backends of a
 * pools file until SIGINT or SIGTERM; the access log and backend events go to stderr.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "net/net.h"
#include "serve/serve.h"

static const char usage_text[] =
	"usage: modserve serve --config FILE --port P [options]\n"
	"\n"
	"Runs the ModServe gateway: an OpenAI-compatible endpoint over vLLM-protocol\n"
	"backends (encode, prefill, decode, prefill_decode pools), routing each image to an\n"
	"encoder and each request to prefill/decode by src/policy (docs/serve.md).\n"
	"\n"
	"  --config FILE        pools: lines `encode = http://IP:PORT, ...` (also prefill,\n"
	"                       decode, prefill_decode)\n"
	"  --host H             listen address [127.0.0.1]\n"
	"  --port P             port (0: any free port, printed on stderr)\n"
	"  --model M            served model name [llama-3.2-11b-vision]\n"
	"  --route R            least | rr | random [least]\n"
	"  --image-tokens N     the policy's tokens per image [1601]\n"
	"  --probe S            health probe period, seconds [1]\n"
	"  --backend-timeout S  backend inactivity timeout, seconds [300]\n"
	"  --target-inflight N  in-flight calls per instance for desired replicas [32]\n"
	"  --max-body BYTES     request body limit, 413 above [67108864]\n"
	/* front end: deadlines, connection cap, TLS, access log (docs/serve.md) */
	CLI_NET_LIMITS_USAGE
	"  --tls-cert FILE      serve https: PEM certificate chain (with --tls-key)\n"
	"  --tls-key FILE       its PEM private key\n"
	"  --access-log FILE    access lines to FILE (appended; reopened on SIGHUP), not stderr\n"
	"  --api-keys FILE      `name = key [rps=R] [burst=B] [tpm=T]` lines: /v1/ requests\n"
	"                       need `authorization: Bearer KEY` (401 otherwise), and\n"
	"                       above the key's limits get 429; reloaded on SIGHUP\n"
	"  --quiet              no access log\n"
	/* backends: registration, scraping, autoscaling (docs/serve.md) */
	"  --admin-key-file F   the admin key (first line of F; else $ADMIN_API_KEY):\n"
	"                       POST /instances registers a backend, /instances/remove\n"
	"                       drains one (vLLM's proxy shape, header X-API-Key)\n"
	"  --scrape S           read each backend's vllm:* load gauges every S s and\n"
	"                       route around others' load (0: off) [1]\n"
	"  --autoscale P=MIN:MAX:CAP[,...]  run sim's autoscaling rule on pool P (encode,\n"
	"                       prefill, decode, prefill_decode); CAP: what one instance\n"
	"                       carries, image tokens/s (encode) or prompt tokens/s\n"
	"  --spawn P=CMD        start/stop pool P's instances as local processes: CMD with\n"
	"                       {port} replaced (e.g. 'modserve engine --role llm --port\n"
	"                       {port}'); new ones take work once healthy, drained first\n"
	"  --scale-cmd CMD      run CMD ({pool}, {n} replaced) when a target changes, e.g.\n"
	"                       'kubectl scale deployment/vllm-{pool} --replicas={n}'\n"
	"  --scale-interval S   the rule's periodic evaluation, seconds [300]\n"
	"  --scale-cooldown S   no step down sooner after a change [the interval]\n"
	"  --scale-window S     the rate window the rule reads, seconds [60]\n"
	"  --decision-log FILE  one line per routing pick: pool instance modality images url\n"
	"  -h, --help\n";

static struct net_loop *g_loop;
static volatile sig_atomic_t g_hup;
static struct serve *g_serve;
static const char *g_keys;
static struct net_timer *g_hup_timer;

/* Front end: the access log's file (NULL: stderr with the other lines). */
static FILE *g_alog;
static const char *g_alog_path;

/* Opens (again, after a SIGHUP: logrotate's copy-free rotation) the access log. */
static int alog_open(struct ms_error *err)
{
	FILE *f = fopen(g_alog_path, "a");

	if (!f)
		return ms_error_set(err, MS_EIO, "%s: cannot open the access log", g_alog_path);
	if (g_alog)
		fclose(g_alog);
	g_alog = f;
	return 0;
}

static void on_hup(int sig)
{
	(void)sig;
	g_hup = 1;
}

/* Reads the keys again off the signal handler, on the loop (a file read is not
 * async-signal-safe); a broken file keeps the old keys. */
static void hup_check(void *arg)
{
	struct ms_error err;

	(void)arg;
	if (g_hup && g_alog_path && alog_open(&err))
		fprintf(stderr, "modserve serve: %s (the old file stays in use)\n", err.msg);
	if (g_hup && !g_keys)
		g_hup = 0;
	if (g_hup) {
		g_hup = 0;
		if (serve_keys_load(g_serve, g_keys, &err))
			fprintf(stderr, "modserve serve: keys not reloaded (the old ones stay): %s\n",
				err.msg);
		else
			fprintf(stderr, "modserve serve: keys reloaded from %s\n", g_keys);
	}
	net_timer_start(g_hup_timer, 0.2);
}

static void on_signal(int sig)
{
	(void)sig;
	net_loop_stop(g_loop); /* only sets a flag and wakes the loop */
}

static FILE *g_dlog;

static void dlog_line(void *arg, const char *line)
{
	(void)arg;
	fprintf(g_dlog, "%s\n", line);
	fflush(g_dlog); /* read by a test while the gateway runs */
}

static void log_line(void *arg, const char *line)
{
	(void)arg;
	if (g_alog && !strncmp(line, "access ", 7)) {
		fprintf(g_alog, "%s\n", line);
		fflush(g_alog); /* one line per request: readable at once, cut by logrotate */
		return;
	}
	fprintf(stderr, "modserve serve: %s\n", line);
}

/* Index of the pool named by the n bytes at name, or -1. */
static int pool_index(const char *name, size_t n)
{
	int k;

	for (k = 0; k < SERVE_KINDS; k++)
		if (strlen(serve_kind_name((enum serve_kind)k)) == n &&
		    !strncmp(name, serve_kind_name((enum serve_kind)k), n))
			return k;
	return -1;
}

/* POOL=MIN:MAX:CAPACITY[,...] into the serve_config's scale; 0 or -1. */
static int autoscale_opt(const char *arg, void *dest)
{
	struct serve_config *cfg = dest;
	char buf[512], *tok, *save = NULL;

	if (snprintf(buf, sizeof(buf), "%s", arg) >= (int)sizeof(buf))
		return -1;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '='), *end;
		unsigned long lo, hi;
		double cap;
		int k = eq ? pool_index(tok, (size_t)(eq - tok)) : -1;
		if (k < 0)
			return -1;
		lo = strtoul(eq + 1, &end, 10);
		if (*end != ':')
			return -1;
		hi = strtoul(end + 1, &end, 10);
		if (*end != ':' || cli_parse_double(end + 1, &cap) || !(cap > 0) || lo < 1 ||
		    lo > hi || hi > SERVE_MAX_BACKENDS)
			return -1;
		cfg->scale[k] = (struct serve_scale_pool){ 1, (uint32_t)lo, (uint32_t)hi, cap,
							   cfg->scale[k].spawn };
	}
	return 0;
}

/* The admin key: the first line of path, 8 to 127 bytes. */
static int read_admin_key(const char *path, char *key, size_t cap, struct ms_error *err)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return ms_error_set(err, MS_EIO, "%s: cannot open the admin key file", path);
	if (!fgets(key, (int)cap, f))
		key[0] = 0;
	fclose(f);
	n = strcspn(key, "\r\n");
	key[n] = 0;
	if (n < 8 || n >= cap - 1)
		return ms_error_set(err, MS_EPARSE, "%s:1: admin key: expected 8 to %zu bytes",
				    path, cap - 2);
	return 0;
}

/* The options parsed by a function (CLI_PARSE, CLI_FN rows); dest is the serve_config. */
static int route_opt(const char *v, void *dest)
{
	struct serve_config *cfg = dest;
	struct ms_error err;

	return policy_route_parse(v, &cfg->route, &err);
}

static int spawn_opt(const char *v, void *dest)
{
	struct serve_config *cfg = dest;
	const char *eq = strchr(v, '=');
	int k = eq ? pool_index(v, (size_t)(eq - v)) : -1;

	if (k < 0 || !eq[1])
		return -1;
	cfg->scale[k].spawn = eq + 1;
	return 0;
}

static int admin_opt(const char *cmd, const char *usage, const char *name, const char *v,
		     void *dest)
{
	static char admin_key[128];
	struct serve_config *cfg = dest;
	struct ms_error err;

	(void)cmd, (void)usage, (void)name;
	if (read_admin_key(v, admin_key, sizeof(admin_key), &err))
		return cli_fail(&err);
	cfg->admin_key = admin_key;
	return 0;
}

static int dlog_opt(const char *cmd, const char *usage, const char *name, const char *v,
		    void *dest)
{
	struct serve_config *cfg = dest;
	struct ms_error err;

	(void)cmd, (void)usage, (void)name;
	if (g_dlog)
		fclose(g_dlog);
	if (!(g_dlog = fopen(v, "w"))) {
		ms_error_set(&err, MS_EIO, "%s: cannot write the decision log", v);
		return cli_fail(&err);
	}
	cfg->decision_log = dlog_line;
	return 0;
}

int cmd_serve(int argc, char **argv)
{
	struct serve_config cfg = { .host = "127.0.0.1", .port = -1,
				    .model = "llama-3.2-11b-vision", .max_body = 64u << 20,
				    .probe_s = 1, .scrape_s = 1, .backend_timeout_s = 300,
				    .image_tokens = 1601,
				    .target_inflight = 32, .route = POLICY_ROUTE_LEAST,
				    .log = log_line };
	static const char cmd[] = "serve";
	static struct serve_pools pools;
	const char *conf = NULL;
	struct serve *s = NULL;
	struct ms_error err;
	int quiet = 0, rc = CLI_EXIT_FAIL;

	net_server_limits_default(&cfg.limits); /* front end: the options replace these */
	struct cli_opt opts[] = {
		CLI_STR("config", &conf),
		CLI_STR("host", &cfg.host),
		CLI_INT("port", &cfg.port, 0, 65535),
		CLI_STR("model", &cfg.model),
		CLI_PARSE("route", route_opt, &cfg, "least, rr or random"),
		CLI_INT("image-tokens", &cfg.image_tokens, 1, 1000000),
		CLI_POS("probe", &cfg.probe_s, 86400),
		CLI_POS("backend-timeout", &cfg.backend_timeout_s, 86400),
		CLI_INT("target-inflight", &cfg.target_inflight, 1, 1000000),
		CLI_INT("max-body", &cfg.max_body, 1024, 1ULL << 32),
		/* front end */
		CLI_NET_LIMITS_OPTS(&cfg.limits),
		CLI_STR("tls-cert", &cfg.tls_cert),
		CLI_STR("tls-key", &cfg.tls_key),
		CLI_STR("access-log", &g_alog_path),
		CLI_FLAG("quiet", &quiet),
		CLI_STR("api-keys", &g_keys),
		/* backends: registration, scraping, autoscaling */
		CLI_FN("admin-key-file", admin_opt, &cfg),
		CLI_RANGE("scrape", &cfg.scrape_s, 0, 86400),
		CLI_PARSE("autoscale", autoscale_opt, &cfg,
			  "POOL=MIN:MAX:CAPACITY[,...] (1 <= MIN <= MAX, CAPACITY > 0)"),
		CLI_PARSE("spawn", spawn_opt, &cfg, "POOL=CMD with a pool name"),
		CLI_STR("scale-cmd", &cfg.scale_cmd),
		CLI_POS("scale-interval", &cfg.scale_interval_s, 86400),
		CLI_POS("scale-cooldown", &cfg.scale_cooldown_s, 86400),
		CLI_POS("scale-window", &cfg.window_s, 86400),
		CLI_FN("decision-log", dlog_opt, &cfg),
	};
	int parsed = cli_opts_parse(cmd, usage_text, opts, CLI_NOPTS(opts), argc, argv);

	if (parsed != CLI_GO)
		return parsed;
	if (quiet)
		cfg.log = NULL;
	if (!cfg.admin_key && getenv("ADMIN_API_KEY") && *getenv("ADMIN_API_KEY"))
		cfg.admin_key = getenv("ADMIN_API_KEY"); /* vLLM's proxy reads the same name */
	if (!conf)
		return cli_usage_error(cmd, usage_text, "--config is required");
	if (cfg.port < 0)
		return cli_usage_error(cmd, usage_text, "--port is required");
	if (!cfg.tls_cert != !cfg.tls_key)
		return cli_usage_error(cmd, usage_text, "--tls-cert and --tls-key go together");
	if (g_alog_path && alog_open(&err))
		return cli_fail(&err);
	if (serve_pools_load(&pools, conf, &err))
		return cli_fail(&err);
	if (net_loop_new(&g_loop, &err))
		return cli_fail(&err);
	if (serve_new(&s, g_loop, &cfg, &pools, &err)) {
		cli_fail(&err);
		goto cleanup;
	}
	if (g_keys || g_alog_path) {
		g_serve = s;
		if (g_keys && serve_keys_load(s, g_keys, &err)) {
			cli_fail(&err);
			goto cleanup;
		}
		g_hup_timer = net_timer_new(g_loop, hup_check, NULL);
		if (!g_hup_timer) {
			ms_error_set(&err, MS_ENOMEM, "serve: out of memory");
			cli_fail(&err);
			goto cleanup;
		}
		signal(SIGHUP, on_hup);
		net_timer_start(g_hup_timer, 0.2);
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	fprintf(stderr, "modserve serve: encode %u, prefill %u, decode %u, prefill_decode %u "
		"backends, listening on %s://%s:%d\n", pools.n[SERVE_ENCODE],
		pools.n[SERVE_PREFILL], pools.n[SERVE_DECODE], pools.n[SERVE_PD],
		cfg.tls_cert ? "https" : "http", cfg.host, serve_port(s));
	if (net_loop_run(g_loop)) {
		ms_error_set(&err, MS_ENET, "serve: the event loop failed");
		cli_fail(&err);
		goto cleanup;
	}
	rc = CLI_EXIT_OK;
cleanup:
	/* a second SIGTERM (GNU timeout sends one to the child and one to its group) must
	 * not reach the handler once the loop is being freed */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	if (g_hup_timer)
		net_timer_free(g_hup_timer);
	serve_free(s); /* may log: open requests are answered */
	if (g_alog)
		fclose(g_alog);
	net_loop_free(g_loop);
	if (g_dlog && fclose(g_dlog) && rc == CLI_EXIT_OK) {
		ms_error_set(&err, MS_EIO, "serve: writing the decision log failed");
		rc = cli_fail(&err);
	}
	return rc;
}
