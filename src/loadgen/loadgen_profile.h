/*
 * loadgen_profile: `modserve profile`, a measured stage table from an endpoint.
 *
 * Owns the design of the requests (prompt lengths, outputs, concurrency levels, image
 * counts), what each stage is read off (prefill from TTFT, decode steps from the gaps
 * between tokens, encode from what images add to TTFT or from an encode endpoint's
 * reply time), the profile CSV it writes (the format src/perf reads, with `# model:`
 * and `# gpu:`) and the fit report (each point measured against what the written table
 * gives back). Requests go through loadgen_run (the same request building, images and
 * streaming client as `modserve bench`), one designed run at a time.
 * Callers: cli/cmd_profile.c, tests. Writes only to the path and FILE it is given.
 */
#ifndef LOADGEN_PROFILE_H
#define LOADGEN_PROFILE_H

#include <stdint.h>
#include <stdio.h>

#include "base/ms_error.h"
#include "loadgen/loadgen.h"

#define LOADGEN_PROFILE_GRID 16

struct loadgen_profile_config {
	struct loadgen_config lg;   /* the chat endpoint; lg.model is the name sent */
	struct loadgen_config enc;  /* an encode endpoint (vLLM EPD encoder), when enc_set */
	int enc_set;
	const char *model, *gpu;    /* spec names or paths (data/models, data/gpus) */
	int tp;                     /* GPUs of the endpoint's instance */
	uint32_t prompts[LOADGEN_PROFILE_GRID], n_prompts;  /* prompt tokens [128,512,2048] */
	uint32_t outputs[LOADGEN_PROFILE_GRID], n_outputs;  /* output tokens of decode runs [64] */
	uint32_t conc[LOADGEN_PROFILE_GRID], n_conc;        /* batch sizes [1,4,16] */
	uint32_t max_images;        /* encode measured at 1, 2, 4 .. max_images images [4] */
	uint32_t image_side;        /* square images of this side [896: the specs' reference] */
	uint32_t chunk;             /* the endpoint's prefill chunk (token budget) [4096] */
	uint32_t repeats;           /* requests per TTFT point (the median is kept) [3] */
	int progress;
};

/* Stages in the order of src/perf's table (perf_table.c). */
enum loadgen_prof_stage { LOADGEN_PROF_PREPROCESS = 0, LOADGEN_PROF_ENCODE, LOADGEN_PROF_PREFILL,
			  LOADGEN_PROF_DECODE };

struct loadgen_profile_point {
	enum loadgen_prof_stage stage;
	uint32_t batch;             /* images (encode) or requests */
	double tokens, ctx;         /* the table's key (tiles, new tokens, KV tokens); context */
	double lat;                 /* median of the samples, s */
	uint32_t n;                 /* samples */
	int held_out;               /* measured to check the table, not written into it */
};

struct loadgen_profile {
	struct loadgen_profile_point *pt;
	size_t n, cap;
	uint64_t requests, failed;  /* requests sent; failed ones are left out of every point */
	uint32_t skipped;           /* designed points not measured (requests not batched as
				     * asked, or failed), each said in notes */
	char notes[1024];
	uint32_t tiles_per_image;   /* of the square images sent */
	int cores;                  /* CPU cores of the instance (preprocess rows) */
};

void loadgen_profile_config_default(struct loadgen_profile_config *c);
/* Parses "128,512,2048" into v (at most LOADGEN_PROFILE_GRID values in [lo, hi]). */
int loadgen_profile_list(const char *s, uint32_t lo, uint32_t hi, uint32_t *v, uint32_t *n,
			 struct ms_error *err);
int loadgen_profile_run(const struct loadgen_profile_config *c, struct loadgen_profile *out,
			struct ms_error *err);
/* The profile CSV (6-column format of docs/perf.md) with `# model:` / `# gpu:`. */
int loadgen_profile_write(const struct loadgen_profile *p, const struct loadgen_profile_config *c,
			  const char *path, struct ms_error *err);
/*
 * Reads `path` back through perf (perf_open with the profile) and prints every point:
 * measured, what the table gives, error; held-out points too; then the median and
 * largest absolute error per stage. max_err (may be NULL) gets the largest.
 */
int loadgen_profile_report(FILE *out, const struct loadgen_profile *p,
			   const struct loadgen_profile_config *c, const char *path, double *max_err,
			   struct ms_error *err);
void loadgen_profile_release(struct loadgen_profile *p);

#endif
