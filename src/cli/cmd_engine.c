/*
 * `modserve engine`: run the emulated OpenAI-compatible LMM server (engine/) until
 * SIGINT or SIGTERM.
 */
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

static int role_opt(const char *v, void *dest)
{
	return engine_role_parse(v, dest);
}

int cmd_engine(int argc, char **argv)
{
	struct engine_config cfg = { .host = "127.0.0.1", .port = -1, .model = "llama-3.2-11b-vision",
				     .gpu = "a100-80gb", .speed = 1, .role = ENGINE_ROLE_ALL,
				     .max_body = 64u << 20 };
	static const char cmd[] = "engine";
	struct engine *e = NULL;
	struct ms_error err;
	int rc = CLI_EXIT_FAIL;

	net_server_limits_default(&cfg.limits);
	struct cli_opt opts[] = {
		CLI_STR("host", &cfg.host),
		CLI_INT("port", &cfg.port, 0, 65535),
		CLI_STR("model", &cfg.model),
		CLI_STR("gpu", &cfg.gpu),
		CLI_INT("tp", &cfg.tp, 1, 64),
		CLI_STR("profile", &cfg.profile),
		CLI_RANGE("speed", &cfg.speed, 0, 1e9),
		CLI_PARSE("role", role_opt, &cfg.role, "all, llm, encode, prefill or decode"),
		CLI_INT("max-queue", &cfg.max_queue, 0, 10000000),
		CLI_STR("ec-storage", &cfg.ec_dir),
		CLI_INT("max-seqs", &cfg.max_seqs, 1, 1000000),
		CLI_INT("token-budget", &cfg.token_budget, 1, 10000000),
		CLI_INT("kv-tokens", &cfg.kv_tokens, 64, 1ULL << 40),
		CLI_INT("max-body", &cfg.max_body, 1024, 1ULL << 32),
		CLI_STR("ca-file", &cfg.ca_file),
		CLI_FLAG("insecure-tls", &cfg.tls_insecure),
		CLI_NET_LIMITS_OPTS(&cfg.limits),
	};
	int parsed = cli_opts_parse(cmd, usage_text, opts, CLI_NOPTS(opts), argc, argv);

	if (parsed != CLI_GO)
		return parsed;
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
