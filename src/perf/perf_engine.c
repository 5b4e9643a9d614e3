/*
 * perf_engine: the efficiency and overhead constants of a serving engine on a GPU,
 * read from data/engines/<name>.conf.
 *
 * An engine is how a runtime (vLLM, Hugging Face eager) runs work: the share of the
 * data sheet's FLOP/s and HBM bandwidth its kernels reach, what an iteration costs on
 * the host, what a TP all-reduce costs. Those numbers belong to the runtime on a GPU,
 * not to the code, so every one lives in a file beside its source. Keys come in groups:
 * `llm_*` (how the engine runs an LLM iteration, plus KV reserve and transfers) and
 * `enc_*` (how it runs a vision encoder); a file gives a group whole or not at all, and
 * perf_init_engine refuses an engine for a stage whose group it lacks. `key@gpu = v`
 * overrides `key` on that GPU (spec name as in data/gpus), so a per-GPU difference is
 * one line, not a second file.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "base/ms_conf.h"
#include "perf/perf_int.h"

enum group { G_ALL = 0, G_LLM, G_ENC, G_N };

static const char *const group_name[G_N] = { "", "llm", "enc" };

struct ekey {
	const char *key;
	enum group grp;
	size_t off;
	double min, max;
};

#define EK(k, g, lo, hi) { #k, g, offsetof(struct perf_engine, k), lo, hi }

static const struct ekey ekeys[] = {
	EK(bw_share, G_ALL, 0.01, 1),
	EK(llm_flops_share, G_LLM, 0.001, 1),
	EK(llm_launch_s, G_LLM, 0, 10),
	EK(llm_layer_s, G_LLM, 0, 1),
	EK(llm_tp_comm_s, G_LLM, 0, 1),
	EK(llm_gemm_k, G_LLM, 0, 64),
	EK(llm_elem_share, G_LLM, 0, 1),
	EK(kv_reserve, G_LLM, 0, 0.99),
	EK(link_share, G_LLM, 0.01, 1),
	EK(nvlink_lat_s, G_LLM, 0, 10),
	EK(ib_lat_s, G_LLM, 0, 10),
	EK(tcp_lat_s, G_LLM, 0, 10),
	EK(tcp_bw, G_LLM, 1e3, 1e15),
	EK(enc_flops_share, G_ENC, 0.001, 1),
	EK(enc_launch_s, G_ENC, 0, 10),
	EK(enc_layer_s, G_ENC, 0, 1),
	EK(enc_tp_comm_s, G_ENC, 0, 1),
	EK(prep_s_per_px, G_ENC, 0, 1e-3),
};

#define NEKEYS (sizeof(ekeys) / sizeof(ekeys[0]))

/* Line of the plain key and of the override for our GPU, per key; 0 = not seen. */
struct seen {
	int base[NEKEYS], gpu[NEKEYS];
};

static int find_key(const char *k, size_t len)
{
	size_t i;

	for (i = 0; i < NEKEYS; i++)
		if (strlen(ekeys[i].key) == len && !strncmp(ekeys[i].key, k, len))
			return (int)i;
	return -1;
}

/* One `key[@gpu] = value` line. Overrides for other GPUs are checked, then dropped. */
static int engine_line(struct perf_engine *e, struct seen *sn, const char *gpu,
		       const struct ms_conf *c, struct ms_conf_line *l, struct ms_error *err)
{
	const char *at = strchr(l->key, '@');
	size_t klen = at ? (size_t)(at - l->key) : strlen(l->key);
	int i, *slot, mine = 1;
	double v;
	int rc;

	if (!strcmp(l->key, "name")) {
		if (e->name[0])
			return ms_error_set(err, MS_EPARSE, "%s:%d: name: duplicate key", c->path, l->no);
		if (!*l->val || strlen(l->val) >= sizeof(e->name))
			return ms_error_set(err, MS_EPARSE, "%s:%d: name: empty or longer than %zu bytes",
					    c->path, l->no, sizeof(e->name) - 1);
		memcpy(e->name, l->val, strlen(l->val) + 1);
		return 0;
	}
	i = find_key(l->key, klen);
	if (i < 0)
		return ms_error_set(err, MS_EPARSE, "%s:%d: %.*s: unknown key", c->path, l->no,
				    (int)klen, l->key);
	if (at) {
		if (!at[1])
			return ms_error_set(err, MS_EPARSE, "%s:%d: %s: empty GPU name after '@'",
					    c->path, l->no, l->key);
		mine = gpu && !strcmp(at + 1, gpu);
	}
	rc = ms_conf_double_get(c, l, ekeys[i].min, ekeys[i].max, &v, err);
	if (rc)
		return rc;
	if (at && !mine)
		return 0;
	slot = at ? &sn->gpu[i] : &sn->base[i];
	if (*slot)
		return ms_error_set(err, MS_EPARSE, "%s:%d: %s: duplicate key (first on line %d)",
				    c->path, l->no, l->key, *slot);
	*slot = l->no;
	/* the GPU's line wins whichever comes first */
	if (at || !sn->gpu[i])
		*(double *)(void *)((char *)e + ekeys[i].off) = v;
	return 0;
}

/* Every group is all or nothing; the common keys are always needed. */
static int engine_groups(struct perf_engine *e, const struct seen *sn, const char *path,
			 int last, struct ms_error *err)
{
	int have[G_N] = { 0 }, miss[G_N] = { -1, -1, -1 };
	size_t i;

	for (i = 0; i < NEKEYS; i++) {
		if (sn->base[i] || sn->gpu[i])
			have[ekeys[i].grp] = 1;
		else if (miss[ekeys[i].grp] < 0)
			miss[ekeys[i].grp] = (int)i;
	}
	if (!e->name[0])
		return ms_error_set(err, MS_EPARSE, "%s:%d: name: missing required key", path, last);
	for (i = 0; i < G_N; i++) {
		if ((i == G_ALL || have[i]) && miss[i] >= 0) {
			if (i == G_ALL)
				return ms_error_set(err, MS_EPARSE, "%s:%d: %s: missing required key",
						    path, last, ekeys[miss[i]].key);
			return ms_error_set(err, MS_EPARSE,
					    "%s:%d: %s: missing (the file sets other %s_* keys: "
					    "give the group whole or not at all)",
					    path, last, ekeys[miss[i]].key, group_name[i]);
		}
	}
	e->has_llm = have[G_LLM];
	e->has_enc = have[G_ENC];
	if (!e->has_llm && !e->has_enc)
		return ms_error_set(err, MS_EPARSE, "%s:%d: no llm_* or enc_* keys: the engine runs nothing",
				    path, last);
	return 0;
}

static int engine_parse(struct perf_engine *e, const char *path, const char *gpu,
			struct ms_error *err)
{
	struct seen sn;
	struct ms_conf c;
	struct ms_conf_line l;
	int rc;

	memset(&sn, 0, sizeof(sn));
	rc = ms_conf_read(&c, path, err);
	if (rc)
		return rc;
	while ((rc = ms_conf_line_next(&c, &l, err)) > 0) {
		if (ms_conf_line_split(&l)) {
			rc = ms_error_set(err, MS_EPARSE, "%s:%d: %s: expected 'key = value'", path,
					  l.no, l.text);
			break;
		}
		rc = engine_line(e, &sn, gpu, &c, &l, err);
		if (rc)
			break;
	}
	if (!rc)
		rc = engine_groups(e, &sn, path, c.line, err);
	ms_conf_release(&c);
	return rc;
}

int perf_engine_load(struct perf_engine *e, const char *name_or_path, const char *gpu,
		     struct ms_error *err)
{
	char path[4096];
	size_t len = strlen(name_or_path);
	int w, rc, bare;

	memset(e, 0, sizeof(*e));
	if (!len)
		return ms_error_set(err, MS_EINVAL, "empty engine name");
	bare = !strchr(name_or_path, '/') && !(len > 5 && !strcmp(name_or_path + len - 5, ".conf"));
	w = bare ? snprintf(path, sizeof(path), "%s/engines/%s.conf", model_data_dir(), name_or_path)
		 : snprintf(path, sizeof(path), "%s", name_or_path);
	if (w < 0 || (size_t)w >= sizeof(path))
		return ms_error_set(err, MS_EINVAL, "%s: path too long", name_or_path);
	rc = engine_parse(e, path, gpu, err);
	if ((rc == -MS_ENOTFOUND || rc == -MS_EIO) && bare)
		return ms_error_set(err, MS_ENOTFOUND,
				    "%s: unknown engine (built-in: vllm, hf-eager; or give a path)",
				    name_or_path);
	return rc;
}

/* The roles an --engine spec names, in the order of perf__engines_pick's outputs. */
enum role { R_LLM = 0, R_ENC, R_INLINE, R_N };

static const char *const role_key[R_N] = { "llm", "enc", "inline" };
static const char *const role_default[R_N] = { PERF_ENGINE_LLM_DEFAULT, PERF_ENGINE_ENC_DEFAULT,
					       PERF_ENGINE_INLINE_DEFAULT };

#define SPEC_FORM "NAME or llm=NAME,enc=NAME,inline=NAME"

/* "NAME" (every role) or "llm=A,enc=B,inline=C" (any may be left out: that role's
 * default). Returns 1 for one NAME, 0 for keys; errors name the key at fault. */
static int engine_spec_split(const char *spec, char name[R_N][1024], struct ms_error *err)
{
	const char *s = spec;
	int seen[R_N] = { 0 }, r;

	if (!strchr(spec, '=')) {
		if (strchr(spec, ',') || strlen(spec) >= sizeof(name[0]))
			return ms_error_set(err, MS_EINVAL, "engine '%s': expected " SPEC_FORM, spec);
		for (r = 0; r < R_N; r++)
			snprintf(name[r], sizeof(name[r]), "%s", spec);
		return 1; /* one engine for all: its enc group may be absent for a text model */
	}
	while (*s) {
		const char *end = strchr(s, ','), *eq = strchr(s, '=');
		size_t len = end ? (size_t)(end - s) : strlen(s), klen, vlen;

		if (!len)
			return ms_error_set(err, MS_EINVAL, "engine '%s': empty item: expected " SPEC_FORM,
					    spec);
		if (!eq || eq >= s + len)
			return ms_error_set(err, MS_EINVAL, "engine '%s': '%.*s': expected KEY=NAME (" SPEC_FORM ")",
					    spec, (int)len, s);
		klen = (size_t)(eq - s);
		vlen = len - klen - 1;
		for (r = 0; r < R_N; r++)
			if (strlen(role_key[r]) == klen && !strncmp(s, role_key[r], klen))
				break;
		if (r == R_N)
			return ms_error_set(err, MS_EINVAL,
					    "engine '%s': %.*s: unknown key (expected llm, enc or inline)",
					    spec, (int)klen, s);
		if (seen[r])
			return ms_error_set(err, MS_EINVAL, "engine '%s': %s: given twice", spec, role_key[r]);
		if (!vlen || vlen >= sizeof(name[r]))
			return ms_error_set(err, MS_EINVAL, "engine '%s': %s: %s engine name", spec,
					    role_key[r], vlen ? "too long an" : "empty");
		seen[r] = 1;
		snprintf(name[r], sizeof(name[r]), "%.*s", (int)vlen, eq + 1);
		s += len + (end ? 1 : 0);
		if (end && !*s)
			return ms_error_set(err, MS_EINVAL, "engine '%s': trailing comma", spec);
	}
	return 0;
}

/* Loads one role's engine; a failure says which role asked for it. */
static int role_load(struct perf_engine *e, const char *name, enum role r, int named,
		     const char *gpu, struct ms_error *err)
{
	int rc = perf_engine_load(e, name, gpu, err);

	if (rc && named && err) {
		char msg[sizeof(err->msg)];

		snprintf(msg, sizeof(msg), "%s", err->msg);
		ms_error_set(err, err->code, "engine %s=%s: %s", role_key[r], name, msg);
	}
	return rc;
}

int perf__engines_pick(const char *spec, const char *gpu, int vision, struct perf_engine *llm,
		       struct perf_engine *enc, struct perf_engine *inl, struct ms_error *err)
{
	char name[R_N][1024];
	struct perf_engine *out[R_N] = { llm, enc, inl };
	int one = 0, keyed = 0, rc, r;

	for (r = 0; r < R_N; r++)
		snprintf(name[r], sizeof(name[r]), "%s", role_default[r]);
	if (spec && *spec) {
		one = engine_spec_split(spec, name, err);
		if (one < 0)
			return one;
		keyed = !one;
	}
	rc = role_load(llm, name[R_LLM], R_LLM, keyed, gpu, err);
	if (rc)
		return rc;
	if (!llm->has_llm)
		return ms_error_set(err, MS_EINVAL, "engine %s%s: no llm_* constants: it cannot run the LLM",
				    keyed ? "llm=" : "", name[R_LLM]);
	if (!vision) {
		*enc = *inl = *llm; /* unused: a text model encodes nothing */
		return 0;
	}
	for (r = R_ENC; r < R_N; r++) {
		if (r == R_INLINE && !strcmp(name[R_INLINE], name[R_ENC])) {
			*inl = *enc; /* same file, same GPU: load once */
			continue;
		}
		rc = role_load(out[r], name[r], (enum role)r, keyed, gpu, err);
		if (rc)
			return rc;
		if (!out[r]->has_enc)
			return ms_error_set(err, MS_EINVAL,
					    "engine %s%s%s: no enc_* constants: it cannot run the vision "
					    "encoder%s",
					    keyed ? role_key[r] : "", keyed ? "=" : "", name[r],
					    one ? " (use llm=NAME,enc=NAME,inline=NAME)" : "");
	}
	return 0;
}
