/*
 * libFuzzer target for the trace loader: any bytes, plain or gzip, in both the
 * stopping and the --skip-bad mode. The loader must return cleanly (error or
 * rows), never crash, and every row it keeps must be in time order.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "trace/trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int skip = 0; skip < 2; skip++) {
		struct trace_set ts;
		struct trace_load_opts o = { .skip_bad = skip };
		struct trace_load_report rep;
		struct ms_error err;
		int rc;

		trace_set_init(&ts);
		rc = trace_set_load_mem(&ts, data, size, "fuzz", &o, &rep, &err);
		if (rc == 0 && rep.rows != ts.n)
			abort();
		if (rc < 0 && err.msg[0] == '\0')
			abort(); /* every failure carries a message */
		for (size_t i = 1; i < ts.n; i++)
			if (ts.t[i] < ts.t[i - 1])
				abort();
		trace_set_release(&ts);
	}
	return 0;
}
