/*
 * `modserve serve`: run the ModServe gateway (serve/) in front of the backends of a
 * pools file until SIGINT or SIGTERM; the access log and backend events go to stderr.
 */
#include <getopt.h>
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

/* front end (the net guards' ids are CLI_O_*, from 768) */
enum { O_CERT = 800, O_TLSKEY, O_ALOG };

enum { O_CONF = 256, O_HOST, O_PORT, O_MODEL, O_ROUTE, O_IMGTOK, O_PROBE, O_BTO, O_TARGET,
       O_BODY, O_QUIET, O_KEYS,
       /* backends: registration, scraping, autoscaling */
       O_ADMIN = 512, O_SCRAPE, O_AUTOSCALE, O_SPAWN, O_SCALE_CMD, O_SCALE_IVL, O_SCALE_COOL,
       O_SCALE_WIN, O_DLOG };

static const struct option long_opts[] = {
	{ "config", required_argument, NULL, O_CONF },
	{ "host", required_argument, NULL, O_HOST },
	{ "port", required_argument, NULL, O_PORT },
	{ "model", required_argument, NULL, O_MODEL },
	{ "route", required_argument, NULL, O_ROUTE },
	{ "image-tokens", required_argument, NULL, O_IMGTOK },
	{ "probe", required_argument, NULL, O_PROBE },
	{ "backend-timeout", required_argument, NULL, O_BTO },
	{ "target-inflight", required_argument, NULL, O_TARGET },
	{ "max-body", required_argument, NULL, O_BODY },
	/* front end */
	CLI_NET_LIMITS_OPTS,
	{ "tls-cert", required_argument, NULL, O_CERT },
	{ "tls-key", required_argument, NULL, O_TLSKEY },
	{ "access-log", required_argument, NULL, O_ALOG },
	{ "quiet", no_argument, NULL, O_QUIET },
	{ "api-keys", required_argument, NULL, O_KEYS },
	/* backends: registration, scraping, autoscaling */
	{ "admin-key-file", required_argument, NULL, O_ADMIN },
	{ "scrape", required_argument, NULL, O_SCRAPE },
	{ "autoscale", required_argument, NULL, O_AUTOSCALE },
	{ "spawn", required_argument, NULL, O_SPAWN },
	{ "scale-cmd", required_argument, NULL, O_SCALE_CMD },
	{ "scale-interval", required_argument, NULL, O_SCALE_IVL },
	{ "scale-cooldown", required_argument, NULL, O_SCALE_COOL },
	{ "scale-window", required_argument, NULL, O_SCALE_WIN },
	{ "decision-log", required_argument, NULL, O_DLOG },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

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

static int opt_seconds(const char *name, const char *v, double *out)
{
	if (cli_parse_double(v, out) || *out <= 0 || *out > 86400)
		return cli_usage_error("serve", usage_text, "%s: expected a number > 0 and <= "
				       "86400, got '%s'", name, v);
	return 0;
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

/* POOL=MIN:MAX:CAPACITY[,...] into cfg->scale; 0 or -1. */
static int parse_autoscale(const char *arg, struct serve_config *cfg)
{
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
	unsigned long long v;
	int c, rc = CLI_EXIT_FAIL;
	static char admin_key[128];

	net_server_limits_default(&cfg.limits); /* front end: the options replace these */
	while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		switch (c) {
		case O_CONF: conf = optarg; break;
		case O_HOST: cfg.host = optarg; break;
		case O_PORT:
			if (cli_opt_u64(cmd, usage_text, "--port", optarg, 0, 65535, &v))
				return CLI_EXIT_USAGE;
			cfg.port = (int)v;
			break;
		case O_MODEL: cfg.model = optarg; break;
		case O_ROUTE:
			if (policy_route_parse(optarg, &cfg.route, &err))
				return cli_usage_error(cmd, usage_text, "--route: expected least, rr "
						       "or random, got '%s'", optarg);
			break;
		case O_IMGTOK:
			if (cli_opt_u32(cmd, usage_text, "--image-tokens", optarg, 1, 1000000,
					&cfg.image_tokens))
				return CLI_EXIT_USAGE;
			break;
		case O_PROBE:
			if (opt_seconds("--probe", optarg, &cfg.probe_s))
				return CLI_EXIT_USAGE;
			break;
		case O_BTO:
			if (opt_seconds("--backend-timeout", optarg, &cfg.backend_timeout_s))
				return CLI_EXIT_USAGE;
			break;
		case O_TARGET:
			if (cli_opt_u32(cmd, usage_text, "--target-inflight", optarg, 1, 1000000,
					&cfg.target_inflight))
				return CLI_EXIT_USAGE;
			break;
		case O_BODY:
			if (cli_opt_u64(cmd, usage_text, "--max-body", optarg, 1024, 1ULL << 32, &v))
				return CLI_EXIT_USAGE;
			cfg.max_body = (size_t)v;
			break;
		/* front end */
		CLI_NET_LIMITS_CASES:
			if (cli_net_limits_opt(cmd, usage_text, c, optarg, &cfg.limits))
				return CLI_EXIT_USAGE;
			break;
		case O_CERT: cfg.tls_cert = optarg; break;
		case O_TLSKEY: cfg.tls_key = optarg; break;
		case O_ALOG: g_alog_path = optarg; break;
		case O_QUIET: cfg.log = NULL; break;
		case O_KEYS: g_keys = optarg; break;
		/* backends: registration, scraping, autoscaling */
		case O_ADMIN:
			if (read_admin_key(optarg, admin_key, sizeof(admin_key), &err))
				return cli_fail(&err);
			cfg.admin_key = admin_key;
			break;
		case O_AUTOSCALE:
			if (parse_autoscale(optarg, &cfg))
				return cli_usage_error(cmd, usage_text, "--autoscale: expected POOL="
						       "MIN:MAX:CAPACITY[,...] (1 <= MIN <= MAX, CAPACITY"
						       " > 0), got '%s'", optarg);
			break;
		case O_SPAWN: {
			const char *eq = strchr(optarg, '=');
			int k = eq ? pool_index(optarg, (size_t)(eq - optarg)) : -1;
			if (k < 0 || !eq[1])
				return cli_usage_error(cmd, usage_text, "--spawn: expected POOL=CMD "
						       "with a pool name, got '%s'", optarg);
			cfg.scale[k].spawn = eq + 1;
			break;
		}
		case O_SCALE_CMD: cfg.scale_cmd = optarg; break;
		case O_SCALE_IVL:
			if (opt_seconds("--scale-interval", optarg, &cfg.scale_interval_s))
				return CLI_EXIT_USAGE;
			break;
		case O_SCALE_COOL:
			if (opt_seconds("--scale-cooldown", optarg, &cfg.scale_cooldown_s))
				return CLI_EXIT_USAGE;
			break;
		case O_SCALE_WIN:
			if (opt_seconds("--scale-window", optarg, &cfg.window_s))
				return CLI_EXIT_USAGE;
			break;
		case O_DLOG:
			if (g_dlog)
				fclose(g_dlog);
			if (!(g_dlog = fopen(optarg, "w"))) {
				ms_error_set(&err, MS_EIO, "%s: cannot write the decision log", optarg);
				return cli_fail(&err);
			}
			cfg.decision_log = dlog_line;
			break;
		case O_SCRAPE:
			if (cli_parse_double(optarg, &cfg.scrape_s) || cfg.scrape_s < 0 ||
			    cfg.scrape_s > 86400)
				return cli_usage_error(cmd, usage_text, "--scrape: expected seconds "
						       "(0 to 86400), got '%s'", optarg);
			break;
		case 'h':
			fputs(usage_text, stdout);
			return CLI_EXIT_OK;
		default:
			fputs(usage_text, stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind < argc)
		return cli_usage_error(cmd, usage_text, "unexpected argument '%s'", argv[optind]);
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
