/*
 * trace_export: BLIS TraceV2 and vLLM-bench JSONL writers (trace_export.h).
 *
 * Both formats are written row by row through stdio into PATH.tmp and renamed when
 * the last row is out, so a million-request week needs no second copy in memory and
 * a failed export leaves no half file under the target's name.
 */
#include "trace/trace_export.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int trace_export_format_parse(const char *s, enum trace_export_format *out, struct ms_error *err)
{
	if (!strcmp(s, "blis"))
		*out = TRACE_EXPORT_BLIS;
	else if (!strcmp(s, "vllm-jsonl"))
		*out = TRACE_EXPORT_VLLM_JSONL;
	else
		return ms_error_set(err, MS_EINVAL, "--format: expected blis or vllm-jsonl, got '%s'", s);
	return 0;
}

/* An output being written: the target, the temporary beside it, the stream. */
struct sink {
	char path[4096], tmp[4100];
	FILE *f;
	int direct; /* stdout, or not a regular file (renaming over /dev/null would replace it) */
};

static int sink_open(struct sink *s, const char *path, struct ms_error *err)
{
	struct stat st;

	memset(s, 0, sizeof(*s));
	if (strlen(path) >= sizeof(s->path))
		return ms_error_set(err, MS_EINVAL, "%.64s...: path too long", path);
	snprintf(s->path, sizeof(s->path), "%s", path);
	if (!strcmp(path, "-")) {
		s->f = stdout;
		s->direct = 1;
		return 0;
	}
	s->direct = !stat(path, &st) && !S_ISREG(st.st_mode);
	snprintf(s->tmp, sizeof(s->tmp), s->direct ? "%s" : "%s.tmp", path);
	s->f = fopen(s->tmp, "w");
	if (!s->f)
		return ms_error_set(err, MS_EIO, "%s: cannot create: %s", s->tmp, strerror(errno));
	return 0;
}

/* Closes; on success renames into place, on failure (rc < 0) removes the temporary. */
static int sink_close(struct sink *s, int rc, struct ms_error *err)
{
	int bad;

	if (!s->f)
		return rc;
	bad = ferror(s->f);
	if (s->f == stdout)
		bad |= fflush(stdout) != 0;
	else
		bad |= fclose(s->f) != 0;
	s->f = NULL;
	if (rc == 0 && bad)
		rc = ms_error_set(err, MS_EIO, "%s: write failed: %s", s->direct ? s->path : s->tmp,
				  strerror(errno ? errno : EIO));
	if (s->direct || !s->tmp[0])
		return rc;
	if (rc == 0 && rename(s->tmp, s->path))
		rc = ms_error_set(err, MS_EIO, "%s: cannot rename to %s: %s", s->tmp, s->path,
				  strerror(errno));
	if (rc < 0)
		remove(s->tmp);
	return rc;
}

/* One row from the caller, checked: times in order, something to prefill. */
static int next_row(trace_export_row_fn fn, void *ctx, size_t i, double *last,
		    struct trace_export_row *r, struct ms_error *err)
{
	int rc = fn(ctx, i, r, err);

	if (rc < 0)
		return rc;
	if (!(r->t_s >= *last) || !(r->t_s < 9.2e12))
		return ms_error_set(err, MS_EINVAL, "row %zu: arrival %.9g s before the row before (%.9g s)",
				    i, r->t_s, *last);
	if (!r->output_tokens || (!r->text_tokens && !r->image_tokens))
		return ms_error_set(err, MS_EINVAL, "row %zu: no prompt or no output token", i);
	*last = r->t_s;
	return 0;
}

/* BLIS reads these columns by position (sim/workload/tracev2.go, LoadTraceV2). */
static const char blis_columns[] =
	"request_id,client_id,tenant_id,slo_class,session_id,round_index,prefix_group,"
	"prefix_length,streaming,input_tokens,output_tokens,text_tokens,image_tokens,"
	"audio_tokens,video_tokens,reason_ratio,model,deadline_us,server_input_tokens,"
	"arrival_time_us,send_time_us,first_chunk_time_us,last_chunk_time_us,num_chunks,"
	"status,error_message,finish_reason\n";

static int blis_rows(FILE *f, size_t n, trace_export_row_fn fn, void *ctx, struct ms_error *err)
{
	struct trace_export_row r;
	double last = 0;
	size_t i;
	int rc;

	fputs(blis_columns, f);
	for (i = 0; i < n; i++) {
		int64_t us;

		if ((rc = next_row(fn, ctx, i, &last, &r, err)) < 0)
			return rc;
		us = llround(r.t_s * 1e6);
		/* a request, not a measurement: no client, tenant, session or prefix; streamed as
		 * bench sends it; sent when it arrives; no chunk times or status yet */
		fprintf(f,
			"%zu,,,,,0,,0,true,%" PRIu64 ",%" PRIu32 ",%" PRIu64 ",%" PRIu64
			",0,0,0,,0,0,%" PRId64 ",%" PRId64 ",0,0,0,,,\n",
			i, r.text_tokens + r.image_tokens, r.output_tokens, r.text_tokens,
			r.image_tokens, us, us);
	}
	return 0;
}

static int jsonl_rows(FILE *f, int prompt_text, size_t n, trace_export_row_fn fn, void *ctx,
		      struct ms_error *err)
{
	static const char words[] = "hi hi hi hi hi hi hi hi hi hi hi hi hi hi hi hi "
				    "hi hi hi hi hi hi hi hi hi hi hi hi hi hi hi hi ";
	const uint64_t per = (sizeof(words) - 1) / 3; /* words in one copy */
	struct trace_export_row r;
	double last = 0;
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		if ((rc = next_row(fn, ctx, i, &last, &r, err)) < 0)
			return rc;
		fprintf(f,
			"{\"timestamp\":%.6f,\"prompt_len\":%" PRIu64 ",\"output_tokens\":%" PRIu32
			",\"num_images\":%" PRIu32 ",\"image_tokens\":%" PRIu64,
			r.t_s, r.text_tokens, r.output_tokens, r.images, r.image_tokens);
		if (prompt_text) {
			/* one "hi" per text token, as bench builds its prompts */
			uint64_t left = r.text_tokens;

			fputs(",\"prompt\":\"", f);
			for (; left > per; left -= per)
				fwrite(words, 1, sizeof(words) - 1, f);
			if (left)
				fwrite(words, 1, left * 3 - 1, f);
			fputc('"', f);
		}
		fputs("}\n", f);
		if (ferror(f))
			return ms_error_set(err, MS_EIO, "write failed at row %zu: %s", i, strerror(errno));
	}
	return 0;
}

static const char blis_header[] = "trace_version: 2\n"
				  "time_unit: microseconds\n"
				  "mode: generated\n"
				  "warm_up_requests: 0\n";

int trace_export_write(const char *out, const struct trace_export_opts *o, size_t n,
		       trace_export_row_fn row, void *ctx, struct ms_error *err)
{
	struct sink data, head;
	char prefix[4096];
	size_t len = strlen(out);
	int rc;

	if (!len)
		return ms_error_set(err, MS_EINVAL, "--out: empty file name");
	if (o->format == TRACE_EXPORT_VLLM_JSONL) {
		if ((rc = sink_open(&data, out, err)) < 0)
			return rc;
		rc = jsonl_rows(data.f, o->prompt_text, n, row, ctx, err);
		return sink_close(&data, rc, err);
	}
	if (!strcmp(out, "-"))
		return ms_error_set(err, MS_EINVAL, "--out -: blis writes two files (PREFIX.yaml, PREFIX.csv); give a prefix");
	if (len > 4 && !strcmp(out + len - 4, ".csv"))
		len -= 4;
	if (len + 6 > sizeof(prefix))
		return ms_error_set(err, MS_EINVAL, "%.64s...: path too long", out);
	snprintf(prefix, sizeof(prefix), "%.*s.csv", (int)len, out);
	if ((rc = sink_open(&data, prefix, err)) < 0)
		return rc;
	rc = blis_rows(data.f, n, row, ctx, err);
	if ((rc = sink_close(&data, rc, err)) < 0)
		return rc;
	snprintf(prefix, sizeof(prefix), "%.*s.yaml", (int)len, out);
	if ((rc = sink_open(&head, prefix, err)) < 0)
		return rc;
	fputs(blis_header, head.f);
	return sink_close(&head, 0, err);
}
