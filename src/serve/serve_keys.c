/*
 * serve_keys: API keys from a `name = key [rps=R] [burst=B] [tpm=T]` file, checked in
 * constant time. A key is compared with every configured key over a fixed length,
 * without an early exit, so neither the time nor the answer (one 401 message) tells
 * which keys exist or how much of one matched. Reloaded on request (the command does
 * it on SIGHUP): a file that fails to load leaves the old keys in force; a key whose
 * name and limits did not change keeps its buckets, so a reload refills nothing.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/ms_conf.h"
#include "serve/serve_int.h"

/* `rps=R burst=B tpm=T` after the key, each optional, any order. */
static int limits_parse(struct serve__key *k, char *opts, const char *path, int line,
			struct ms_error *err)
{
	char *tok, *save = NULL;

	for (tok = strtok_r(opts, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		char *eq = strchr(tok, '='), *end;
		double v, *dst;
		if (!eq)
			return ms_error_set(err, MS_EPARSE, "%s:%d: %s: expected rps=, burst= or "
					    "tpm= after the key, got '%s'", path, line, k->name, tok);
		*eq = 0;
		if (!strcmp(tok, "rps"))
			dst = &k->rps;
		else if (!strcmp(tok, "burst"))
			dst = &k->burst;
		else if (!strcmp(tok, "tpm"))
			dst = &k->tpm;
		else
			return ms_error_set(err, MS_EPARSE, "%s:%d: %s: unknown limit '%s' (rps, "
					    "burst, tpm)", path, line, k->name, tok);
		v = strtod(eq + 1, &end);
		if (end == eq + 1 || *end || !isfinite(v) || v <= 0 || v > 1e12)
			return ms_error_set(err, MS_EPARSE, "%s:%d: %s: %s: expected a number > 0, "
					    "got '%s'", path, line, k->name, tok, eq + 1);
		*dst = v;
	}
	if (k->burst && !k->rps)
		return ms_error_set(err, MS_EPARSE, "%s:%d: %s: burst= needs rps=", path, line,
				    k->name);
	return 0;
}

/* The new key's buckets: the old key's of the same name and limits, else full. */
static void buckets_carry(struct serve__key *k, const struct serve__key *old, uint32_t n_old,
			  double now)
{
	uint32_t i;

	serve__bucket_init(&k->reqs, k->rps, k->burst ? k->burst : fmax(1, k->rps), now);
	serve__bucket_init(&k->toks, k->tpm / 60, k->tpm, now);
	for (i = 0; i < n_old; i++)
		if (!strcmp(old[i].name, k->name) && old[i].rps == k->rps &&
		    old[i].burst == k->burst && old[i].tpm == k->tpm) {
			k->reqs = old[i].reqs;
			k->toks = old[i].toks;
		}
}

int serve_keys_load(struct serve *s, const char *path, struct ms_error *err)
{
	struct serve__key *k = NULL;
	struct ms_conf c;
	struct ms_conf_line l;
	uint32_t n = 0, cap = 0, i;
	char *opts;
	int rc;

	if ((rc = ms_conf_read(&c, path, err)) < 0)
		return rc;
	while ((rc = ms_conf_line_next(&c, &l, err)) == 1) {
		size_t kl;
		if (ms_conf_line_split(&l) < 0 || !*l.key || !*l.val) {
			rc = ms_error_set(err, MS_EPARSE, "%s:%d: expected `name = key`", path, l.no);
			break;
		}
		opts = l.val + strcspn(l.val, " \t");
		if (*opts)
			*opts++ = 0;
		kl = strlen(l.val);
		if (kl < 8 || kl >= SERVE_KEY_MAX || strlen(l.key) >= sizeof(k->name)) {
			rc = ms_error_set(err, MS_EPARSE, "%s:%d: %s: a key of 8 to %d bytes and "
					  "a name below 48 bytes", path, l.no, l.key, SERVE_KEY_MAX - 1);
			break;
		}
		if (n == cap) {
			struct serve__key *nk;
			cap = cap ? cap * 2 : 8;
			nk = realloc(k, cap * sizeof(*nk));
			if (!nk) {
				rc = ms_error_set(err, MS_ENOMEM, "%s: out of memory", path);
				break;
			}
			k = nk;
		}
		memset(&k[n], 0, sizeof(k[n]));
		memcpy(k[n].key, l.val, kl);
		k[n].len = kl;
		strcpy(k[n].name, l.key);
		if ((rc = limits_parse(&k[n], opts, path, l.no, err)) < 0)
			break;
		n++;
	}
	ms_conf_release(&c);
	if (rc == 0 && !n)
		rc = ms_error_set(err, MS_EINVAL, "%s: no keys", path);
	if (rc < 0) {
		free(k);
		return rc;
	}
	for (i = 0; i < n; i++)
		buckets_carry(&k[i], s->keys, s->n_keys, net_now());
	free(s->keys);
	s->keys = k;
	s->n_keys = n;
	return 0;
}

/* The key that `authorization: Bearer KEY` presents, or NULL. */
struct serve__key *serve__key_check(struct serve *s, const char *auth)
{
	unsigned char given[SERVE_KEY_MAX] = { 0 };
	struct serve__key *found = NULL;
	size_t gl = 0;
	uint32_t i;

	if (!auth || strncmp(auth, "Bearer ", 7))
		return NULL;
	auth += 7;
	gl = strlen(auth);
	if (gl >= SERVE_KEY_MAX)
		return NULL;
	memcpy(given, auth, gl);
	for (i = 0; i < s->n_keys; i++) {
		unsigned diff = (unsigned)(gl ^ s->keys[i].len);
		size_t j;
		for (j = 0; j < SERVE_KEY_MAX; j++)
			diff |= (unsigned)(given[j] ^ (unsigned char)s->keys[i].key[j]);
		/* no early exit: every key is compared whatever matched before */
		if (!diff)
			found = &s->keys[i];
	}
	return found;
}
