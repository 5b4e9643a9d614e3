/*
 * plan_capacity: what one instance of each ModServe pool carries within the
 * SLO, the capacity the stage-aware autoscaler divides its load by
 * (policy_scale.h). Found offline by simulation, not by the work estimate,
 * by one rule for every pool: plan_max_rate_fixed on a probe of
 * PLAN_CAP_PROBE instances of the measured pool, with the other pool so large
 * that it cannot be the bottleneck, the answer converted from a rate scale of
 * the trace to the pool's load unit and divided by PLAN_CAP_PROBE. One
 * instance alone is no probe: a request's many images stall it (a monolith
 * instance misses the per-request SLO at any load; a lone encoder misses a
 * 16-image request's target idle), while in a pool of 16 they spread or stay
 * within the 1% allowance, as in the pools being sized.
 *  - encoders: 16 TP-1 encoders with PLAN_CAP_LLM_SPARE LLM instances;
 *    capacity in image tokens/s per encoder;
 *  - LLM: 16 TP-tp instances with PLAN_CAP_ENC_SPARE encoders per LLM
 *    instance; capacity in prompt tokens/s (the prompt as the LLM sees it:
 *    text + image tokens for decoder-only models, text for cross-attention);
 *  - monolith (for the baseline autoscaler): 16 TP-tp instances; requests/s.
 * A pool whose probe never meets the SLO gets capacity 0 and the caller says
 * so.
 */
#ifndef PLAN_CAPACITY_H
#define PLAN_CAPACITY_H

#include "plan/plan.h"

#define PLAN_CAP_PROBE 16      /* instances of the measured pool */
#define PLAN_CAP_LLM_SPARE 4   /* LLM instances beside the 16 encoders */
#define PLAN_CAP_ENC_SPARE 32  /* encoders per LLM instance measured */

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
