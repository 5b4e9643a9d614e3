/*
 * libFuzzer target for the simulator's deployment parsers (sim/sim_deploy.c):
 * the input is both a `--pools` spec (up to its first NUL, for each kind) and
 * a deployment file (`kind = ...`, `pools = ...`).
 *
 * Invariants: every failure carries a message; an accepted deployment has 1 to
 * SIM_MAX_POOLS pools of known roles, counts in [1, 100000], TP in [1, 64],
 * a role set fitting its kind (parse_pools re-checks it below), and
 * sim_deploy_format() prints a spec that parses back to the same deployment.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_file.h"
#include "sim/sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void deploy_check(const struct sim_deploy *d, enum sim_deploy_kind kind)
{
	struct sim_deploy back;
	struct ms_error err = { 0 };
	char buf[256];
	int n;

	if (d->kind != kind || d->n_pools < 1 || d->n_pools > SIM_MAX_POOLS)
		abort();
	for (int i = 0; i < d->n_pools; i++)
		if ((unsigned)d->pool[i].role >= SIM_ROLE__COUNT || d->pool[i].count < 1 ||
		    d->pool[i].count > 100000 || d->pool[i].tp < 1 || d->pool[i].tp > 64)
			abort();
	if (sim_deploy_gpus(d) < (uint32_t)d->n_pools)
		abort();
	n = sim_deploy_format(d, buf, sizeof(buf));
	if (n <= 0 || (size_t)n >= sizeof(buf) || strlen(buf) != (size_t)n)
		abort();
	if (sim_deploy_parse_pools(&back, kind, buf, &err) || memcmp(&back, d, sizeof(back)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *spec = fuzz_str_dup(data, size);
	struct sim_deploy d;
	struct ms_error err = { 0 };
	int rc;

	for (int k = 0; k < SIM_DEPLOY__COUNT; k++) {
		err.msg[0] = '\0';
		rc = sim_deploy_parse_pools(&d, (enum sim_deploy_kind)k, spec, &err);
		if (rc < 0 && err.msg[0] == '\0')
			abort();
		if (rc == 0)
			deploy_check(&d, (enum sim_deploy_kind)k);
	}
	free(spec);

	err.msg[0] = '\0';
	rc = sim_deploy_load(&d, fuzz_file_path(data, size), &err);
	if (rc < 0 && err.msg[0] == '\0')
		abort();
	if (rc == 0)
		deploy_check(&d, d.kind);
	return 0;
}
