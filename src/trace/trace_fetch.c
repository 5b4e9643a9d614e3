/* libcurl download with resume into the trace cache; see trace_fetch.h. */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/ms_progress.h"
#include "trace/trace_fetch.h"

void trace_fetch_opts_default(struct trace_fetch_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->progress = 1;
}

int trace_fetch_cache_dir(char *buf, size_t size, struct ms_error *err)
{
	const char *x = getenv("XDG_CACHE_HOME"), *h = getenv("HOME");
	int n;
	if (x && *x)
		n = snprintf(buf, size, "%s/modserve", x);
	else if (h && *h)
		n = snprintf(buf, size, "%s/.cache/modserve", h);
	else
		return ms_error_set(err, MS_ENOTFOUND,
				    "no cache directory: set XDG_CACHE_HOME or HOME, or pass --cache");
	if (n < 0 || (size_t)n >= size)
		return ms_error_set(err, MS_ERANGE, "cache directory path too long");
	return 0;
}

/* mkdir -p: the cache may be two levels below an existing directory. */
static int mkdirs(char *path, struct ms_error *err)
{
	char *p;
	for (p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(path, 0777) && errno != EEXIST) {
			int e = errno;
			*p = '/';
			return ms_error_set(err, MS_EIO, "%s: cannot create directory: %s", path, strerror(e));
		}
		*p = '/';
	}
	if (mkdir(path, 0777) && errno != EEXIST)
		return ms_error_set(err, MS_EIO, "%s: cannot create directory: %s", path, strerror(errno));
	return 0;
}

/* The file name: the URL's last path segment, without query or fragment. */
static int url_basename(const char *url, char *buf, size_t size)
{
	const char *end = url + strcspn(url, "?#"), *s = end;
	size_t n;
	while (s > url && s[-1] != '/')
		s--;
	n = (size_t)(end - s);
	if (n == 0 || n >= size || s == url)
		return -1;
	memcpy(buf, s, n);
	buf[n] = 0;
	return 0;
}

/* The host of url for messages ("" for file://). */
static void url_host(const char *url, char *buf, size_t size)
{
	const char *s = strstr(url, "://"), *e;
	size_t n;
	s = s ? s + 3 : url;
	e = s + strcspn(s, "/:?#");
	n = (size_t)(e - s) < size - 1 ? (size_t)(e - s) : size - 1;
	memcpy(buf, s, n);
	buf[n] = 0;
}

struct fetch_ctx {
	struct ms_progress prog;
	curl_off_t base; /* bytes already on disk when the transfer began */
	int progress;
};

static int on_progress(void *p, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct fetch_ctx *c = p;
	(void)ultotal;
	(void)ulnow;
	if (c->progress) {
		if (dltotal > 0 && c->prog.total == 0)
			c->prog.total = (double)(dltotal + c->base);
		ms_progress_update(&c->prog, (double)(dlnow + c->base));
	}
	return 0;
}

static int file_size(const char *path, long long *out)
{
	struct stat st;
	if (stat(path, &st))
		return -1;
	*out = (long long)st.st_size;
	return 0;
}

int trace_fetch(const struct trace_fetch_opts *o, struct trace_fetch_result *res,
		struct ms_error *err)
{
	const char *url = o->url ? o->url : TRACE_FETCH_URL;
	char dir[3072], name[512], part[4200], host[256];
	struct fetch_ctx ctx;
	long long have = 0;
	long code = 0;
	CURL *curl = NULL;
	CURLcode cc;
	FILE *f = NULL;
	int rc;

	memset(res, 0, sizeof(*res));
	if (url_basename(url, name, sizeof(name)))
		return ms_error_set(err, MS_EINVAL, "%s: URL names no file", url);
	if (o->cache_dir) {
		if (strlen(o->cache_dir) >= sizeof(dir))
			return ms_error_set(err, MS_ERANGE, "cache directory path too long");
		strcpy(dir, o->cache_dir);
	} else {
		rc = trace_fetch_cache_dir(dir, sizeof(dir), err);
		if (rc < 0)
			return rc;
	}
	rc = mkdirs(dir, err);
	if (rc < 0)
		return rc;
	snprintf(res->path, sizeof(res->path), "%s/%s", dir, name);
	snprintf(part, sizeof(part), "%s.part", res->path);
	if (!o->force && !file_size(res->path, &res->bytes)) {
		res->cached = 1;
		return 0;
	}
	if (o->force)
		remove(part);
	if (file_size(part, &have))
		have = 0;
	f = fopen(part, have ? "ab" : "wb");
	if (!f)
		return ms_error_set(err, MS_EIO, "%s: cannot open: %s", part, strerror(errno));
	curl = curl_easy_init();
	if (!curl) {
		fclose(f);
		return ms_error_set(err, MS_ENOMEM, "cannot start libcurl");
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.base = have;
	ctx.progress = o->progress;
	ms_progress_init(&ctx.prog, "fetch", 0);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, f); /* default writer: fwrite */
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 30L);
	/* a stalled link: under 1 KB/s for 60 s ends the attempt; the .part stays for a resume */
	curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "modserve-trace-fetch");
	curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &ctx);
	if (have)
		curl_easy_setopt(curl, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)have);
	cc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
	if (ctx.progress)
		ms_progress_done(&ctx.prog);
	if (fclose(f) && cc == CURLE_OK)
		cc = CURLE_WRITE_ERROR;
	url_host(url, host, sizeof(host));
	if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
	    cc == CURLE_COULDNT_RESOLVE_PROXY || cc == CURLE_OPERATION_TIMEDOUT) {
		rc = ms_error_set(err, MS_ENET,
				  "cannot reach %s: %s; no network? download the file by hand and "
				  "pass its path",
				  host, curl_easy_strerror(cc));
	} else if (cc == CURLE_RANGE_ERROR || cc == CURLE_BAD_DOWNLOAD_RESUME) {
		rc = ms_error_set(err, MS_ENET,
				  "%s: the server cannot resume at byte %lld (%s); run again with "
				  "--force to start over",
				  url, have, curl_easy_strerror(cc));
	} else if (cc != CURLE_OK) {
		rc = ms_error_set(err, MS_ENET, "%s: download failed: %s%s", url,
				  curl_easy_strerror(cc),
				  have || file_size(part, &have) == 0 ?
					  " (partial file kept; run again to resume)" : "");
	} else if (have && code == 200 && !strncmp(url, "http", 4)) {
		/* the server ignored the range and sent the whole file after our bytes */
		remove(part);
		rc = ms_error_set(err, MS_ENET,
				  "%s: the server does not support resuming; run again to start over",
				  url);
	} else if (file_size(part, &res->bytes) || rename(part, res->path)) {
		rc = ms_error_set(err, MS_EIO, "%s: cannot rename to %s: %s", part, res->path,
				  strerror(errno));
	} else {
		res->resumed_from = have;
		rc = 0;
	}
	if (rc < 0 && !file_size(part, &have) && have == 0)
		remove(part); /* nothing to resume from */
	curl_easy_cleanup(curl);
	return rc;
}
