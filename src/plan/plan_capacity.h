/*
 * plan_capacity: what one instance of each ModServe pool carries within the
 * SLO, the capacity the stage-aware autoscaler divides its load by
 * (policy_scale.h). Found offline by simulation, not by the work estimate:
 * plan_max_rate_fixed on probe deployments where only the measured pool can
 * be the bottleneck, the answer converted from a rate scale of the trace to
 * tokens per second and divided by the probe pool's size.
 *  - encoders: PLAN_CAP_ENC_PROBE TP-1 encoders (a many-image request spreads
 *    over several, as in a real pool: one encoder alone misses a 16-image
 *    request's target at no load) with PLAN_CAP_LLM_SPARE LLM instances;
 *    capacity in image tokens/s per encoder;
 *  - LLM: one TP-tp instance with PLAN_CAP_ENC_SPARE encoders; capacity in
 *    prompt tokens/s (the prompt as the LLM sees it: text + image tokens for
 *    decoder-only models, text for cross-attention ones);
 *  - monolith (for the baseline autoscaler): one TP-tp instance; requests/s.
 * A pool whose probe never meets the SLO (the monolith under the per-class
 * image target) gets capacity 0 and the caller says so.
 */
#ifndef PLAN_CAPACITY_H
#define PLAN_CAPACITY_H

#include "plan/plan.h"

#define PLAN_CAP_ENC_PROBE 16
#define PLAN_CAP_LLM_SPARE 4
#define PLAN_CAP_ENC_SPARE 32

struct plan_pool_capacity {
	double enc_tokens_s;     /* image tokens/s per TP-1 encoder (0: no images, or none meets) */
	double llm_tokens_s;     /* prompt tokens/s per TP-tp LLM instance */
	double mono_req_s;       /* requests/s per TP-tp monolith instance (when asked) */
	double enc_scale, llm_scale, mono_scale; /* the searches' rate scales */
	double img_tokens_s, prompt_tokens_s, req_s; /* of the trace at rate scale 1 */
};

enum { PLAN_CAP_ENC = 1, PLAN_CAP_LLM = 2, PLAN_CAP_MONO = 4 };

/* o->ts is the history to measure on (a slice keeps it quick); what: PLAN_CAP_* bits. */
int plan_pool_capacity(const struct plan_opts *o, int tp, unsigned what,
		       struct plan_pool_capacity *out, struct ms_error *err);

#endif
