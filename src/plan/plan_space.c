/*
 * The search's reach (plan.h, plan_reach): how many configurations of the
 * space plan decides over have a verdict the call established, by running
 * them or by monotonicity from one that ran.
 *
 * A configuration is a design's pool tuple (count per pool; each pool's role
 * and TP fixed by the layout) at one rate of the space. Monotonicity, the
 * premise every search of plan_search.c and plan_rate.c already rests on:
 * more instances in any pool never hurt, a faster trace never helps. So a
 * simulated pass p implies a pass for every tuple t >= p (each pool) at every
 * rate <= p's, and a simulated fail f a fail for every t <= f at every rate
 * >= f's. A configuration implied both ways (only if the simulator broke
 * monotonicity) is counted as a conflict, not as established.
 *
 * Counting, per layout and rate: the last pool's count is a range [1, m]
 * for each prefix (the other pools' counts); the passes imply c_last >= need
 * (the least last count of a pass point dominated by the prefix: a prefix
 * minimum over the grid of prefixes), the fails c_last <= lim (a suffix
 * maximum). Rates with the same points in force share one count. Cost:
 * grid cells x (points + dimensions) per distinct group of rates.
 */
#include <stdlib.h>
#include <string.h>

#include "plan/plan.h"

#define PLAN__GRID_MAX (1u << 22) /* prefix cells counted per layout; beyond: not counted */

struct layout {
	enum sim_deploy_kind kind;
	int k;                        /* pools */
	enum sim_role role[3];
	uint32_t tp[3];
	uint32_t dim[2];              /* the prefix grid: counts 1..dim[i] of pool i */
};

static int layouts_of(const struct plan_space *sp, struct layout *out, int max)
{
	int n = 0, i, t;

	for (i = 0; i < sp->n_kinds; i++)
		for (t = 0; t < sp->n_tps && n < max; t++) {
			struct layout *l = &out[n];
			uint32_t tp = (uint32_t)sp->tps[t];
			memset(l, 0, sizeof(*l));
			l->kind = sp->kinds[i];
			switch (l->kind) {
			case SIM_DEPLOY_MONO:
				l->role[l->k] = SIM_ROLE_MONO, l->tp[l->k++] = tp;
				break;
			case SIM_DEPLOY_PD:
				l->role[l->k] = SIM_ROLE_PREFILL, l->tp[l->k++] = tp;
				l->role[l->k] = SIM_ROLE_DECODE, l->tp[l->k++] = tp;
				break;
			default:
				if (sp->enc)
					l->role[l->k] = SIM_ROLE_ENC, l->tp[l->k++] = 1;
				if (sp->epd) {
					l->role[l->k] = SIM_ROLE_PREFILL, l->tp[l->k++] = tp;
					l->role[l->k] = SIM_ROLE_DECODE, l->tp[l->k++] = tp;
				} else {
					l->role[l->k] = SIM_ROLE_LLM, l->tp[l->k++] = tp;
				}
				break;
			}
			n++;
		}
	return n;
}

/* Pool counts of d in l's order; 0 when d is not of layout l. */
static int counts_in(const struct layout *l, const struct sim_deploy *d, uint32_t *c)
{
	int i;

	if (d->kind != l->kind || d->n_pools != l->k)
		return 0;
	for (i = 0; i < l->k; i++) {
		if (d->pool[i].role != l->role[i] || (uint32_t)d->pool[i].tp != l->tp[i] ||
		    d->pool[i].count < 1)
			return 0;
		c[i] = d->pool[i].count;
	}
	return 1;
}

/* Prefix grid: dims of the first k - 1 pools (each at least one instance of every other). */
static int grid_dims(struct layout *l, uint32_t cap, size_t *cells)
{
	uint32_t min_all = 0;
	int i;

	for (i = 0; i < l->k; i++)
		min_all += l->tp[i];
	*cells = 1;
	if (min_all > cap)
		return 0; /* not even one instance per pool fits: no tuple */
	for (i = 0; i < l->k - 1; i++) {
		l->dim[i] = (cap - (min_all - l->tp[i])) / l->tp[i];
		*cells *= l->dim[i];
		if (*cells > PLAN__GRID_MAX)
			return -1;
	}
	return 1;
}

static size_t cell_of(const struct layout *l, const uint32_t *c)
{
	return l->k == 3 ? (size_t)(c[0] - 1) * l->dim[1] + (c[1] - 1) : l->k == 2 ? c[0] - 1 : 0;
}

/* GPUs of the prefix at cell index x, and its counts into c. */
static uint32_t prefix_gpus(const struct layout *l, size_t x, uint32_t *c)
{
	if (l->k == 3) {
		c[0] = (uint32_t)(x / l->dim[1]) + 1, c[1] = (uint32_t)(x % l->dim[1]) + 1;
		return c[0] * l->tp[0] + c[1] * l->tp[1];
	}
	if (l->k == 2) {
		c[0] = (uint32_t)x + 1;
		return c[0] * l->tp[0];
	}
	return 0;
}

struct grid {
	uint32_t *need, *lim;
	size_t cells;
};

/*
 * need: least last count of a pass point whose prefix is <= the cell's; lim:
 * largest last count of a fail point whose prefix is >= the cell's (clipped
 * to the grid: a tuple below the clipped point is below the point).
 */
static void fill(const struct layout *l, struct grid *g, const struct plan_point *pts,
		 const uint32_t *cnt, size_t n, double r)
{
	size_t i, x;
	uint32_t c[3];

	for (x = 0; x < g->cells; x++)
		g->need[x] = UINT32_MAX, g->lim[x] = 0;
	for (i = 0; i < n; i++) {
		const uint32_t *p = &cnt[3 * i];
		int d, out = 0;
		if (pts[i].met == 1 && pts[i].rate >= r) {
			for (d = 0; d < l->k - 1; d++)
				out |= p[d] > l->dim[d];
			x = out ? 0 : cell_of(l, p);
			if (!out && p[l->k - 1] < g->need[x])
				g->need[x] = p[l->k - 1];
		} else if (pts[i].met == 0 && pts[i].rate <= r) {
			for (d = 0; d < l->k - 1; d++)
				c[d] = p[d] > l->dim[d] ? l->dim[d] : p[d];
			x = cell_of(l, c);
			if (p[l->k - 1] > g->lim[x])
				g->lim[x] = p[l->k - 1];
		}
	}
	/* prefix minimum of need, suffix maximum of lim, along each prefix dimension */
	for (x = 0; x < g->cells; x++) {
		prefix_gpus(l, x, c);
		if (l->k >= 2 && c[0] > 1) {
			size_t y = l->k == 3 ? x - l->dim[1] : x - 1;
			if (g->need[y] < g->need[x])
				g->need[x] = g->need[y];
		}
		if (l->k == 3 && c[1] > 1 && g->need[x - 1] < g->need[x])
			g->need[x] = g->need[x - 1];
	}
	for (x = g->cells; x-- > 0;) {
		prefix_gpus(l, x, c);
		if (l->k >= 2 && c[0] < l->dim[0]) {
			size_t y = l->k == 3 ? x + l->dim[1] : x + 1;
			if (g->lim[y] > g->lim[x])
				g->lim[x] = g->lim[y];
		}
		if (l->k == 3 && c[1] < l->dim[1] && g->lim[x + 1] > g->lim[x])
			g->lim[x] = g->lim[x + 1];
	}
}

/* Configurations of layout l at one rate: all, implied pass or fail (union), both. */
static void tally(const struct layout *l, const struct grid *g, uint32_t cap, uint64_t *all,
		  uint64_t *any, uint64_t *both)
{
	size_t x;
	uint32_t c[3];

	*all = *any = *both = 0;
	for (x = 0; x < g->cells; x++) {
		uint32_t used = prefix_gpus(l, x, c), m, need = g->need[x], lim = g->lim[x];
		uint64_t pass, fail, ov;
		if (used + l->tp[l->k - 1] > cap)
			continue;
		m = (cap - used) / l->tp[l->k - 1];
		lim = lim > m ? m : lim;
		pass = need <= m ? m - need + 1 : 0;
		fail = lim;
		ov = need <= lim ? lim - need + 1 : 0;
		*all += m;
		*any += pass + fail - ov;
		*both += ov;
	}
}

/* The in-space simulated points at rate exactly r (deduplicated): their number, and how
 * many of them lie in the implied region but not in the conflicts. */
static void at_rate(const struct layout *l, const struct grid *g, const struct plan_point *pts,
		    const uint32_t *cnt, const unsigned char *in, size_t n, double r,
		    uint64_t *sim, uint64_t *sim_implied)
{
	size_t i, j;

	*sim = *sim_implied = 0;
	for (i = 0; i < n; i++) {
		const uint32_t *p = &cnt[3 * i];
		int dup = 0;
		size_t x;
		if (!in[i] || pts[i].rate != r)
			continue;
		for (j = 0; j < i && !dup; j++)
			dup = in[j] && pts[j].rate == r && !memcmp(&cnt[3 * j], p, 3 * sizeof(*p));
		if (dup)
			continue;
		(*sim)++;
		x = cell_of(l, p);
		if ((g->need[x] <= p[l->k - 1]) != (g->lim[x] >= p[l->k - 1]))
			(*sim_implied)++;
	}
}

static uint64_t key_of(const struct plan_point *pts, const unsigned char *of_l, size_t n, double r)
{
	uint64_t pass = 0, fail = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!of_l[i])
			continue;
		pass += pts[i].met == 1 && pts[i].rate >= r;
		fail += pts[i].met == 0 && pts[i].rate <= r;
	}
	return pass << 32 | fail;
}

int plan_reach(const struct plan_space *sp, const struct plan_point *pts, size_t n,
	       struct plan_reach *out, struct ms_error *err)
{
	struct layout ls[3 * 4];
	int n_l = layouts_of(sp, ls, 12), li, ri;
	size_t nn = n ? n : 1;
	uint32_t *cnt = calloc(3 * nn, sizeof(*cnt)), *sc = calloc(3 * nn, sizeof(*sc));
	struct plan_point *sel = calloc(nn, sizeof(*sel));
	unsigned char *in = calloc(nn, 1), *all_l = calloc(nn, 1);
	struct grid g = { NULL, NULL, 0 };
	int rc = 0;

	memset(out, 0, sizeof(*out));
	out->counted = 1;
	out->n_rates = sp->n_rates;
	out->cap = sp->cap;
	if (!cnt || !sc || !sel || !in || !all_l) {
		rc = ms_error_set(err, MS_ENOMEM, "plan: reach of %zu points", n);
		goto done;
	}
	memset(all_l, 1, nn);
	for (li = 0; li < n_l; li++) {
		struct layout *l = &ls[li];
		size_t cells, i, m = 0;
		uint64_t key = 0, all = 0, any = 0, both = 0;
		int ok = grid_dims(l, sp->cap, &cells), d;
		if (ok == 0)
			continue;
		if (ok < 0) {
			out->counted = 0; /* too large a space to count here: say so, not guess */
			continue;
		}
		free(g.need), free(g.lim);
		g.cells = cells;
		g.need = malloc(cells * sizeof(*g.need));
		g.lim = malloc(cells * sizeof(*g.lim));
		if (!g.need || !g.lim) {
			rc = ms_error_set(err, MS_ENOMEM, "plan: reach grid of %zu cells", cells);
			goto done;
		}
		/* layout l's points: with a verdict (sel, for the implications), in the space (in) */
		for (i = 0; i < n; i++) {
			uint32_t used = 0;
			in[i] = counts_in(l, &pts[i].d, &cnt[3 * i]);
			if (in[i] && pts[i].met >= 0) {
				sel[m] = pts[i];
				memcpy(&sc[3 * m++], &cnt[3 * i], 3 * sizeof(*sc));
			}
			for (d = 0; in[i] && d < l->k; d++)
				used += cnt[3 * i + d] * l->tp[d];
			in[i] = in[i] && used <= sp->cap;
		}
		for (ri = 0; ri < sp->n_rates; ri++) {
			double r = sp->rates[ri];
			uint64_t k = key_of(sel, all_l, m, r), sim, sim_imp;
			if (ri == 0 || k != key) {
				/* the points in force changed: count this group's rates afresh */
				fill(l, &g, sel, sc, m, r);
				tally(l, &g, sp->cap, &all, &any, &both);
				key = k;
			}
			at_rate(l, &g, pts, cnt, in, n, r, &sim, &sim_imp);
			out->space += all;
			out->simulated += sim;
			out->implied += any - both - sim_imp;
			out->conflicts += both;
		}
	}
done:
	free(g.need), free(g.lim);
	free(cnt), free(sc), free(sel), free(in), free(all_l);
	return rc;
}
