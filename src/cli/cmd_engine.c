/*
 * `modserve engine`: run the emulated OpenAI-compatible LMM server (engine/) until
 * SIGINT or SIGTERM.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "engine/engine.h"
#include "net/net.h"

static const char usage_text[] =
	"usage: modserve engine --port P [options]\n"
	"\n"
	"Runs an emulated OpenAI-compatible multimodal LLM server: it batches like a GPU\n"
	"instance with stage times from the roofline (or --profile) and speaks vLLM's\n"
	"encode / prefill / decode protocol (docs/live.md).\n"
	"\n"
	"  --host H             listen address [127.0.0.1]\n"
	"  --port P             port (0: any free port, printed on stderr)\n"
	"  --model M            model spec name or path [llama-3.2-11b-vision]\n"
	"  --gpu G              GPU spec name or path [a100-80gb]\n"
	"  --tp N               tensor parallelism [the model's default]\n"
	"  --profile CSV        measured stage profile (overrides the roofline)\n"
	"  --speed K            run K times faster than real time; 0 = no delay [1]\n"
	"  --role R             all | llm | encode | prefill | decode [all]\n"
	"  --max-queue N        waiting requests before answering 429 (0: no limit) [0]\n"
	"  --ec-storage DIR     encoder-cache directory shared with encode instances\n"
	"  --max-seqs N         running requests per iteration [256]\n"
	"  --token-budget N     tokens per iteration (chunked prefill) [4096]\n"
	"  --kv-tokens N        KV cache tokens [free HBM after weights]\n"
	"  --max-body BYTES     request body limit, 413 above [67108864]\n"
	"  --ca-file PEM        https image URLs: trust these CA certificates [the system's]\n"
	"  --insecure-tls       https image URLs: verify no certificate (self-signed servers)\n"
	CLI_NET_LIMITS_USAGE
	"  -h, --help\n";

enum { O_HOST = 256, O_PORT, O_MODEL, O_GPU, O_TP, O_PROFILE, O_SPEED, O_ROLE, O_QUEUE, O_EC,
       O_SEQS, O_BUDGET, O_KV, O_BODY, O_CA, O_INSECURE };

static const struct option long_opts[] = {
	{ "host", required_argument, NULL, O_HOST },
	{ "port", required_argument, NULL, O_PORT },
	{ "model", required_argument, NULL, O_MODEL },
	{ "gpu", required_argument, NULL, O_GPU },
	{ "tp", required_argument, NULL, O_TP },
	{ "profile", required_argument, NULL, O_PROFILE },
	{ "speed", required_argument, NULL, O_SPEED },
	{ "role", required_argument, NULL, O_ROLE },
	{ "max-queue", required_argument, NULL, O_QUEUE },
	{ "ec-storage", required_argument, NULL, O_EC },
	{ "max-seqs", required_argument, NULL, O_SEQS },
	{ "token-budget", required_argument, NULL, O_BUDGET },
	{ "kv-tokens", required_argument, NULL, O_KV },
	{ "max-body", required_argument, NULL, O_BODY },
	{ "ca-file", required_argument, NULL, O_CA },
	{ "insecure-tls", no_argument, NULL, O_INSECURE },
	CLI_NET_LIMITS_OPTS,
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static struct net_loop *g_loop;

static void on_signal(int sig)
{
	(void)sig;
	/* Later signals are ignored (setting SIG_IGN also drops one already pending):
	 * `timeout` and shells send SIGTERM to the process and to its group, and a second
	 * one landing while LeakSanitizer stops the world at exit hangs the process. */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	/* event_base_loopbreak is safe here: it only sets a flag and writes to the
	 * loop's notification pipe when one exists; the loop wakes at its next event */
	net_loop_stop(g_loop);
}

static void stop_loop(void *arg)
{
	net_loop_stop(arg);
}

int cmd_engine(int argc, char **argv)
{
	struct engine_config cfg = { .host = "127.0.0.1", .port = -1, .model = "llama-3.2-11b-vision",
				     .gpu = "a100-80gb", .speed = 1, .role = ENGINE_ROLE_ALL,
				     .max_body = 64u << 20 };
	static const char cmd[] = "engine";
	struct engine *e = NULL;
	struct ms_error err;
	unsigned long long v;
	double d;
	int c, rc = CLI_EXIT_FAIL;

	net_server_limits_default(&cfg.limits);
	while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		switch (c) {
		case O_HOST: cfg.host = optarg; break;
		case O_PORT:
			if (cli_opt_u64(cmd, usage_text, "--port", optarg, 0, 65535, &v))
				return CLI_EXIT_USAGE;
			cfg.port = (int)v;
			break;
		case O_MODEL: cfg.model = optarg; break;
		case O_GPU: cfg.gpu = optarg; break;
		case O_TP:
			if (cli_opt_u64(cmd, usage_text, "--tp", optarg, 1, 64, &v))
				return CLI_EXIT_USAGE;
			cfg.tp = (int)v;
			break;
		case O_PROFILE: cfg.profile = optarg; break;
		case O_SPEED:
			if (cli_parse_double(optarg, &d) || d < 0 || d > 1e9)
				return cli_usage_error(cmd, usage_text, "--speed: expected a "
					"number from 0 to 1e9, got '%s'", optarg);
			cfg.speed = d;
			break;
		case O_ROLE:
			if (engine_role_parse(optarg, &cfg.role))
				return cli_usage_error(cmd, usage_text, "--role: expected all, llm,"
					" encode, prefill or decode, got '%s'", optarg);
			break;
		case O_QUEUE:
			if (cli_opt_u32(cmd, usage_text, "--max-queue", optarg, 0, 10000000, &cfg.max_queue))
				return CLI_EXIT_USAGE;
			break;
		case O_EC: cfg.ec_dir = optarg; break;
		case O_CA: cfg.ca_file = optarg; break;
		case O_INSECURE: cfg.tls_insecure = 1; break;
		case O_SEQS:
			if (cli_opt_u32(cmd, usage_text, "--max-seqs", optarg, 1, 1000000, &cfg.max_seqs))
				return CLI_EXIT_USAGE;
			break;
		case O_BUDGET:
			if (cli_opt_u32(cmd, usage_text, "--token-budget", optarg, 1, 10000000, &cfg.token_budget))
				return CLI_EXIT_USAGE;
			break;
		case O_KV:
			if (cli_opt_u64(cmd, usage_text, "--kv-tokens", optarg, 64, 1ULL << 40, &v))
				return CLI_EXIT_USAGE;
			cfg.kv_tokens = v;
			break;
		case O_BODY:
			if (cli_opt_u64(cmd, usage_text, "--max-body", optarg, 1024, 1ULL << 32, &v))
				return CLI_EXIT_USAGE;
			cfg.max_body = (size_t)v;
			break;
		CLI_NET_LIMITS_CASES:
			if (cli_net_limits_opt(cmd, usage_text, c, optarg, &cfg.limits))
				return CLI_EXIT_USAGE;
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
	if (cfg.port < 0)
		return cli_usage_error(cmd, usage_text, "--port is required");
	if (net_loop_new(&g_loop, &err))
		return cli_fail(&err);
	if (engine_new(&e, g_loop, &cfg, &err)) {
		cli_fail(&err);
		goto cleanup;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	fprintf(stderr, "modserve engine: %s on %s, role %s, speed %g, listening on http://%s:%d\n",
		engine_model_name(e), cfg.gpu, engine_role_name(cfg.role), cfg.speed, cfg.host,
		engine_port(e));
	if (net_loop_run(g_loop)) {
		ms_error_set(&err, MS_ENET, "engine: the event loop failed");
		cli_fail(&err);
		goto cleanup;
	}
	/* answer what is open and give the bytes 200 ms to leave */
	engine_drain(e);
	{
		struct net_timer *t = net_timer_new(g_loop, stop_loop, g_loop);
		if (t) {
			net_timer_start(t, 0.2);
			net_loop_run(g_loop);
			net_timer_free(t);
		}
	}
	rc = CLI_EXIT_OK;
cleanup:
	/* a second SIGTERM (GNU timeout sends one to the child and one to its group) must
	 * not reach the handler once the loop is being freed */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	engine_free(e);
	net_loop_free(g_loop);
	return rc;
}
