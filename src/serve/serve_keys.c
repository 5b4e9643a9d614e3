/*
 * serve_keys: API keys from a `name = key` file, checked in constant time. A key is
 * compared with every configured key over a fixed length, without an early exit, so
 * neither the time nor the answer (one 401 message) tells which keys exist or how
 * much of one matched. Reloaded on request (the command does it on SIGHUP): a file
 * that fails to load leaves the old keys in force.
 */
#include <stdlib.h>
#include <string.h>

#include "base/ms_conf.h"
#include "serve/serve_int.h"

int serve_keys_load(struct serve *s, const char *path, struct ms_error *err)
{
	struct serve__key *k = NULL;
	struct ms_conf c;
	struct ms_conf_line l;
	uint32_t n = 0, cap = 0;
	int rc;

	if ((rc = ms_conf_read(&c, path, err)) < 0)
		return rc;
	while ((rc = ms_conf_line_next(&c, &l, err)) == 1) {
		size_t kl;
		if (ms_conf_line_split(&l) < 0 || !*l.key || !*l.val) {
			rc = ms_error_set(err, MS_EPARSE, "%s:%d: expected `name = key`", path, l.no);
			break;
		}
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
		n++;
	}
	ms_conf_release(&c);
	if (rc == 0 && !n)
		rc = ms_error_set(err, MS_EINVAL, "%s: no keys", path);
	if (rc < 0) {
		free(k);
		return rc;
	}
	free(s->keys);
	s->keys = k;
	s->n_keys = n;
	return 0;
}

/* The name of the key that `authorization: Bearer KEY` presents, or NULL. */
const char *serve__key_check(struct serve *s, const char *auth)
{
	unsigned char given[SERVE_KEY_MAX] = { 0 };
	const char *found = NULL;
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
			found = s->keys[i].name;
	}
	return found;
}
