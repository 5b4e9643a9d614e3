/*
 * Deployments: which pools exist, how many instances, which TP.
 * The default split rule is documented in sim.h and docs/sim.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "base/ms_conf.h"
#include "sim/sim.h"

static const char *const deploy_names[SIM_DEPLOY__COUNT] = { "mono", "pd", "modserve" };
static const char *const role_names[SIM_ROLE__COUNT] = { "mono", "enc", "llm", "prefill",
							 "decode" };

const char *sim_deploy_name(enum sim_deploy_kind k)
{
	return (unsigned)k < SIM_DEPLOY__COUNT ? deploy_names[k] : "?";
}

const char *sim_role_name(enum sim_role r)
{
	return (unsigned)r < SIM_ROLE__COUNT ? role_names[r] : "?";
}

int sim_deploy_parse_kind(const char *s, enum sim_deploy_kind *out, struct ms_error *err)
{
	char b[64];
	int i;

	for (i = 0; i < SIM_DEPLOY__COUNT; i++)
		if (!strcmp(s, deploy_names[i])) {
			*out = (enum sim_deploy_kind)i;
			return 0;
		}
	return ms_error_set(err, MS_EINVAL, "unknown deployment '%s' (mono, pd, modserve)",
			    ms_error_quote(b, sizeof(b), s, strlen(s)));
}

static void add_pool(struct sim_deploy *d, enum sim_role role, uint32_t count, int tp)
{
	d->pool[d->n_pools].role = role;
	d->pool[d->n_pools].count = count;
	d->pool[d->n_pools].tp = tp;
	d->n_pools++;
}

int sim_deploy_default(struct sim_deploy *d, enum sim_deploy_kind kind, uint32_t gpus, int tp,
		       struct ms_error *err)
{
	uint32_t n, a;

	memset(d, 0, sizeof(*d));
	d->kind = kind;
	if (tp < 1)
		return ms_error_set(err, MS_EINVAL, "TP must be >= 1");
	n = gpus / (uint32_t)tp;
	switch (kind) {
	case SIM_DEPLOY_MONO:
		if (n < 1)
			goto small;
		add_pool(d, SIM_ROLE_MONO, n, tp);
		return 0;
	case SIM_DEPLOY_PD:
		if (n < 2)
			goto small;
		/* prefill instances also encode, the bulk of an LMM's GPU time: 3/4 of them */
		a = (3 * n + 3) / 4;
		if (a >= n)
			a = n - 1;
		add_pool(d, SIM_ROLE_PREFILL, a, tp);
		add_pool(d, SIM_ROLE_DECODE, n - a, tp);
		return 0;
	case SIM_DEPLOY_MODSERVE:
		/* 5/8 of the GPUs to the LLM pool: the paper's 80 + 48 of 128 */
		a = (uint32_t)(((uint64_t)gpus * 5 / 8) / (uint32_t)tp);
		if (a < 1)
			a = 1;
		if (gpus < a * (uint32_t)tp + 1)
			goto small;
		add_pool(d, SIM_ROLE_ENC, gpus - a * (uint32_t)tp, 1);
		add_pool(d, SIM_ROLE_LLM, a, tp);
		return 0;
	default:
		break;
	}
	return ms_error_set(err, MS_EINVAL, "sim: unknown deployment kind %d", (int)kind);
small:
	return ms_error_set(err, MS_EINVAL, "%u GPU%s too few for '%s' at TP %d", gpus,
			    gpus == 1 ? " is" : "s are", sim_deploy_name(kind), tp);
}

static int role_by_name(const char *s, size_t len, enum sim_role *out)
{
	int i;

	for (i = 0; i < SIM_ROLE__COUNT; i++)
		if (strlen(role_names[i]) == len && !strncmp(s, role_names[i], len)) {
			*out = (enum sim_role)i;
			return 0;
		}
	return -1;
}

static const char *kind_needs(enum sim_deploy_kind k)
{
	switch (k) {
	case SIM_DEPLOY_MONO:
		return "mono=NxTP";
	case SIM_DEPLOY_PD:
		return "prefill=NxTP,decode=NxTP";
	default:
		return "enc=NxTP,llm=NxTP or enc=NxTP,prefill=NxTP,decode=NxTP "
		       "(llm=NxTP alone for a trace without images)";
	}
}

/* 1 when the set of pools is one the kind can run */
static int kind_fits(const struct sim_deploy *d, enum sim_deploy_kind kind)
{
	int have[SIM_ROLE__COUNT] = { 0 }, i;

	for (i = 0; i < d->n_pools; i++)
		have[d->pool[i].role]++;
	for (i = 0; i < SIM_ROLE__COUNT; i++)
		if (have[i] > 1)
			return 0;
	switch (kind) {
	case SIM_DEPLOY_MONO:
		return d->n_pools == 1 && have[SIM_ROLE_MONO];
	case SIM_DEPLOY_PD:
		return d->n_pools == 2 && have[SIM_ROLE_PREFILL] && have[SIM_ROLE_DECODE];
	case SIM_DEPLOY_MODSERVE:
		/* no encoder pool is how the work split serves a trace without images */
		if (!have[SIM_ROLE_ENC])
			return d->n_pools == 1 && have[SIM_ROLE_LLM];
		return (d->n_pools == 2 && have[SIM_ROLE_LLM]) ||
		       (d->n_pools == 3 && have[SIM_ROLE_PREFILL] && have[SIM_ROLE_DECODE]);
	default:
		return 0;
	}
}

/* who: how the kind was chosen, for the message ("--deploy" pd, "f.conf:2: kind" pd) */
static int check_kind(const struct sim_deploy *d, const char *who, const char *spec,
		      struct ms_error *err)
{
	char b[64];
	if (kind_fits(d, d->kind))
		return 0;
	return ms_error_set(err, MS_EINVAL, "%s %s takes %s; got %s", who,
			    sim_deploy_name(d->kind), kind_needs(d->kind),
			    ms_error_quote(b, sizeof(b), spec, strlen(spec)));
}

/* Pools without a kind check; label names the source in messages ("--pools", "f.conf:3: pools"). */
static int parse_list(struct sim_deploy *d, const char *spec, const char *label,
		      struct ms_error *err)
{
	const char *p = spec;
	char b[64];

	memset(d, 0, sizeof(*d));
	if (!*p)
		return ms_error_set(err, MS_EINVAL, "%s: empty (expected NAME=COUNTxTP,...)", label);
	while (*p) {
		const char *eq = strchr(p, '='), *end = strchr(p, ',');
		unsigned long count, tp;
		char *x;
		enum sim_role role;

		if (!end)
			end = p + strlen(p);
		ms_error_quote(b, sizeof(b), p, (size_t)(end - p));
		if (!eq || eq > end || role_by_name(p, (size_t)(eq - p), &role) < 0)
			return ms_error_set(err, MS_EINVAL,
					    "%s: '%s': expected NAME=COUNTxTP, NAME one of "
					    "mono, enc, llm, prefill, decode", label, b);
		count = strtoul(eq + 1, &x, 10);
		if (x == eq + 1 || *x != 'x' || eq[1] == '-' || count < 1 || count > 100000)
			return ms_error_set(err, MS_EINVAL, "%s: '%s': bad count (1 to 100000)",
					    label, b);
		tp = strtoul(x + 1, &x, 10);
		if (x != end || x[-1] < '0' || x[-1] > '9' || tp < 1 || tp > 64)
			return ms_error_set(err, MS_EINVAL, "%s: '%s': bad TP (1 to 64)", label, b);
		if (d->n_pools == SIM_MAX_POOLS)
			return ms_error_set(err, MS_EINVAL, "%s: more than %d pools", label,
					    SIM_MAX_POOLS);
		add_pool(d, role, (uint32_t)count, (int)tp);
		if (*end == ',' && end[1] == '\0')
			return ms_error_set(err, MS_EINVAL, "%s: trailing ',' (expected another "
					    "NAME=COUNTxTP)", label);
		p = *end ? end + 1 : end;
	}
	return 0;
}

static int parse_for(struct sim_deploy *d, enum sim_deploy_kind kind, const char *spec,
		     const char *who, const char *label, struct ms_error *err)
{
	int rc = parse_list(d, spec, label, err);

	if (rc < 0)
		return rc;
	d->kind = kind;
	return check_kind(d, who, spec, err);
}

int sim_deploy_parse_pools(struct sim_deploy *d, enum sim_deploy_kind kind, const char *spec,
			   struct ms_error *err)
{
	return parse_for(d, kind, spec, "--deploy", "--pools", err);
}

int sim_deploy_parse_pools_infer(struct sim_deploy *d, const char *spec, struct ms_error *err)
{
	char b[64];
	int k, rc = parse_list(d, spec, "--pools", err);

	if (rc < 0)
		return rc;
	for (k = 0; k < SIM_DEPLOY__COUNT; k++)
		if (kind_fits(d, (enum sim_deploy_kind)k)) {
			d->kind = (enum sim_deploy_kind)k;
			return 0;
		}
	return ms_error_set(err, MS_EINVAL,
			    "--pools %s: no deployment has these pools (mono=NxTP; "
			    "prefill=..,decode=..; enc=..,llm=..; enc=..,prefill=..,decode=..; llm=..)",
			    ms_error_quote(b, sizeof(b), spec, strlen(spec)));
}

uint32_t sim_deploy_gpus(const struct sim_deploy *d)
{
	uint32_t g = 0;
	int i;

	for (i = 0; i < d->n_pools; i++)
		g += d->pool[i].count * (uint32_t)d->pool[i].tp;
	return g;
}

int sim_deploy_format(const struct sim_deploy *d, char *buf, size_t size)
{
	size_t len = 0;
	int i;

	if (size)
		buf[0] = 0;
	for (i = 0; i < d->n_pools; i++) {
		size_t at = len < size ? len : size;
		int k = snprintf(size ? buf + at : NULL, size - at, "%s%s=%ux%d", i ? "," : "",
				 sim_role_name(d->pool[i].role), d->pool[i].count, d->pool[i].tp);
		if (k > 0)
			len += (size_t)k;
	}
	return (int)len;
}

/*
 * Deployment file: `key = value` lines, `#` comments; keys `kind` (mono, pd,
 * modserve) and `pools` (as --pools). A bare name is looked up as
 * <data dir>/deploy/<name>.conf.
 */
int sim_deploy_load(struct sim_deploy *d, const char *name_or_path, struct ms_error *err)
{
	char path[4096], who[4200], label[4200];
	const char *kind_s = NULL, *pools_s = NULL;
	int kind_line = 0, pools_line = 0;
	enum sim_deploy_kind kind = SIM_DEPLOY_MONO;
	struct ms_conf c;
	struct ms_conf_line l;
	int rc;

	if (strchr(name_or_path, '/') || strstr(name_or_path, ".conf"))
		snprintf(path, sizeof(path), "%s", name_or_path);
	else
		snprintf(path, sizeof(path), "%s/deploy/%s.conf", model_data_dir(), name_or_path);
	rc = ms_conf_read(&c, path, err);
	if (rc == -MS_ENOTFOUND)
		return ms_error_set(err, MS_ENOTFOUND, "%s: no such deployment file", path);
	if (rc < 0)
		return rc;
	while ((rc = ms_conf_line_next(&c, &l, err)) > 0) {
		const char **slot;
		int *line;
		if (ms_conf_line_split(&l) < 0) {
			rc = ms_error_set(err, MS_EPARSE, "%s:%d: expected key = value", path, l.no);
			break;
		}
		if (!strcmp(l.key, "kind")) {
			slot = &kind_s;
			line = &kind_line;
		} else if (!strcmp(l.key, "pools")) {
			slot = &pools_s;
			line = &pools_line;
		} else {
			char b[64];
			rc = ms_error_set(err, MS_EPARSE, "%s:%d: %s: unknown key (kind, pools)", path,
					  l.no, ms_error_quote(b, sizeof(b), l.key, strlen(l.key)));
			break;
		}
		if (*slot) {
			rc = ms_error_set(err, MS_EPARSE, "%s:%d: %s: given twice", path, l.no, l.key);
			break;
		}
		*slot = l.val;
		*line = l.no;
	}
	if (rc == 0 && (!kind_s || !pools_s))
		rc = ms_error_set(err, MS_EPARSE, "%s: needs both kind and pools", path);
	if (rc == 0 && sim_deploy_parse_kind(kind_s, &kind, err) < 0) {
		char msg[MS_ERR_MSG_MAX];
		snprintf(msg, sizeof(msg), "%s", err ? err->msg : "");
		rc = ms_error_set(err, MS_EPARSE, "%s:%d: kind: %s", path, kind_line, msg);
	}
	if (rc == 0) {
		snprintf(who, sizeof(who), "%s:%d: kind", path, kind_line);
		snprintf(label, sizeof(label), "%s:%d: pools", path, pools_line);
		if (parse_for(d, kind, pools_s, who, label, err) < 0)
			rc = -MS_EPARSE;
	}
	ms_conf_release(&c);
	return rc < 0 ? rc : 0;
}
