/*
 * plan_capacity: what the instances of each ModServe pool carry within the
 * SLO, the capacity the stage-aware autoscaler sizes its pools by
 * (policy_scale.h). Found offline by simulation, not by the work estimate,
 * by one rule for every pool: plan_max_rate_fixed on probes of the measured
 * pool at each size of PLAN_CAP_SIZES, the other pool so large that it cannot
 * be the bottleneck, each answer converted from a rate scale of the trace to
 * the pool's load unit: a curve of what n instances carry. Per-instance
 * capacity is no constant: a request's many images stall a small pool (a lone
 * encoder misses a 16-image request's target idle; 16 encoders carry a
 * seventh of what 48 do per encoder on Llama's trace, since one such request
 * fills all 16), while a large pool spreads them within the 1% allowance. So
 * the rule reads the curve at the size it is choosing, and beyond the largest
 * probe adds that probe's per-instance capacity (a lower bound there).
 *  - encoders: n TP-1 encoders with max(PLAN_CAP_LLM_SPARE, n / 2) LLM
 *    instances; image tokens/s;
 *  - LLM: n TP-tp instances with PLAN_CAP_ENC_SPARE encoders per LLM instance;
 *    prompt tokens/s (the prompt as the LLM sees it: text + image tokens for
 *    decoder-only models, text for cross-attention);
 *  - monolith (for the baseline autoscaler, by the same probes): n TP-tp
 *    instances; requests/s.
 * A size whose probe never meets the SLO carries 0; a pool that meets at no
 * size gets capacity 0 and the caller says so.
 */
#ifndef PLAN_CAPACITY_H
#define PLAN_CAPACITY_H

#include "plan/plan.h"

#define PLAN_CAP_N_SIZES 5
#define PLAN_CAP_SIZES { 4, 8, 16, 32, 64 } /* pool sizes probed */
#define PLAN_CAP_PROBE 16      /* the size whose per-instance figure a report names */
#define PLAN_CAP_LLM_SPARE 4   /* LLM instances beside the encoders, at least */
#define PLAN_CAP_ENC_SPARE 32  /* encoders per LLM instance measured */

/* What pools of PLAN_CAP_SIZES instances carry, and per instance at the largest. */
struct plan_cap_curve {
	uint32_t n[PLAN_CAP_N_SIZES];
	double load[PLAN_CAP_N_SIZES];   /* per second, the pool's load unit */
	double per_inst;                 /* load[last] / n[last]: beyond the curve (0: none meets) */
};

struct plan_pool_capacity {
	struct plan_cap_curve enc;       /* image tokens/s (empty: no images, or none meets) */
	struct plan_cap_curve llm;       /* prompt tokens/s, TP-tp instances */
	struct plan_cap_curve mono;      /* requests/s, TP-tp instances (when asked) */
	double img_tokens_s, prompt_tokens_s, req_s; /* of the trace at rate scale 1 */
};

enum { PLAN_CAP_ENC = 1, PLAN_CAP_LLM = 2, PLAN_CAP_MONO = 4 };

/* o->ts is the history to measure on (a slice keeps it quick); what: PLAN_CAP_* bits. */
int plan_pool_capacity(const struct plan_opts *o, int tp, unsigned what,
		       struct plan_pool_capacity *out, struct ms_error *err);

#endif
