/* PLACEHOLDER: replaced by the real implementation. */
#include "trace/trace_synth.h"
void trace_synth_opts_default(struct trace_synth_opts *o)
{
	o->requests = 1000000; o->seed = 1; o->duration_s = 0; o->params_path = 0;
}
int trace_synth(struct trace_set *ts, const struct trace_synth_opts *o, struct ms_error *err)
{
	(void)ts; (void)o;
	return ms_error_set(err, MS_EUNSUPPORTED, "synth: not built yet");
}
