/*
 * engine_ec: encoder-cache entries as small text files.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "engine/engine_ec.h"

int engine_ec_put(const char *dir, const char *key, const struct engine_ec_entry *e,
		  struct ms_error *err)
{
	char path[1024], tmp[1100];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.ec", dir, key);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	f = fopen(tmp, "w");
	if (!f)
		return ms_error_set(err, MS_EIO, "%s: %s", tmp, strerror(errno));
	fprintf(f, "modserve-ec 1 tiles=%u tokens=%u w=%u h=%u\n", e->tiles, e->tokens, e->w,
		e->h);
	if (fclose(f) || rename(tmp, path)) {
		int rc = ms_error_set(err, MS_EIO, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return rc;
	}
	return 0;
}

int engine_ec_get(const char *dir, const char *key, struct engine_ec_entry *e)
{
	char path[1024];
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "%s/%s.ec", dir, key);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fscanf(f, "modserve-ec 1 tiles=%u tokens=%u w=%u h=%u", &e->tiles, &e->tokens, &e->w,
		   &e->h);
	fclose(f);
	return n == 4;
}
