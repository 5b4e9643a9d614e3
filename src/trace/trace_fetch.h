/*
 * trace_fetch: download the public Azure LMM trace 2025 into a local cache.
 *
 * Called by `modserve trace fetch`. Uses libcurl (any scheme it speaks: https, http,
 * file). Downloads to CACHE/NAME.part and resumes an existing .part with a range
 * request; renames to CACHE/NAME only once the transfer completed, so CACHE/NAME is
 * always whole. A present CACHE/NAME is reused unless force is set. Progress goes to
 * stderr through ms_progress (terminal or MS_PROGRESS=1 only). Never prints otherwise.
 */
#ifndef TRACE_FETCH_H
#define TRACE_FETCH_H

#include "base/ms_error.h"

#define TRACE_FETCH_URL \
	"https://github.com/Azure/AzurePublicDataset/raw/master/data/AzureLMMInferenceTrace_multimodal.csv.gz"

struct trace_fetch_opts {
	const char *url;        /* NULL = TRACE_FETCH_URL */
	const char *cache_dir;  /* NULL = $XDG_CACHE_HOME/modserve or $HOME/.cache/modserve */
	int force;              /* download again even when the file is cached */
	int progress;           /* progress lines on stderr */
};

struct trace_fetch_result {
	char path[4096];        /* the complete local file */
	long long bytes;        /* its size */
	long long resumed_from; /* bytes already in the .part when this run started (0 = fresh) */
	int cached;             /* 1 when nothing was downloaded */
};

void trace_fetch_opts_default(struct trace_fetch_opts *o);
/* The default cache directory into buf; -MS_ENOTFOUND when neither variable is set. */
int trace_fetch_cache_dir(char *buf, size_t size, struct ms_error *err);
int trace_fetch(const struct trace_fetch_opts *o, struct trace_fetch_result *res,
		struct ms_error *err);

#endif
