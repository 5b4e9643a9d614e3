/*
 * sim_report's side-by-side table: attainment shares are floored, so 100.00 is
 * printed only when every request met the target, in the text table and on the
 * HTML page alike.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "report/report_plot.h"
#include "report/sim_report.h"

/* the cells of the row labelled `label`, from the text table or the page */
static void row_of(const char *text, const char *label, char *out, size_t size)
{
	const char *p = strstr(text, label), *e;

	assert_non_null(p);
	p += strlen(label);
	e = strchr(p, '\n');
	assert_non_null(e);
	snprintf(out, size, "%.*s", (int)(e - p), p);
}

static void test_shares_floor(void **state)
{
	struct sim_config c;
	struct sim_result res;
	struct sim_report_run run;
	struct sim_report_ctx ctx;
	struct ms_error err = { 0 };
	char *buf = NULL, row[256], dir[512], path[600];
	size_t len = 0;
	FILE *f;

	(void)state;
	sim_config_default(&c, NULL);
	assert_int_equal(sim_deploy_parse_pools(&c.deploy, SIM_DEPLOY_MONO, "mono=1x4", &err), 0);
	memset(&res, 0, sizeof(res));
	res.n = 20000;
	res.gpus = 4;
	memset(&run, 0, sizeof(run));
	run.cfg = &c;
	run.res = &res;
	run.sum.all.finished = 20000;
	run.sum.all.slo_ttft = 1.0;                /* every request */
	run.sum.all.slo_tpot = 19999.0 / 20000.0;  /* one miss: 99.995 % */
	run.sum.all.slo_both = 19998.0 / 20000.0;  /* 99.99 % exactly */
	run.sum.text.finished = 20000;
	run.sum.text.slo_both = 12345.0 / 20000.0; /* 61.725 %: truncated to 61.72 */
	memset(&ctx, 0, sizeof(ctx));
	ctx.trace = "synth:20000";
	ctx.model = "m";
	ctx.gpu = "g";
	ctx.gpus = 4;
	ctx.slo_ttft_s = ctx.slo_tpot_s = 1;

	f = open_memstream(&buf, &len);
	assert_non_null(f);
	sim_report_table(f, &ctx, &run, 1);
	fclose(f);
	row_of(buf, "SLO TTFT met (%)", row, sizeof(row));
	assert_non_null(strstr(row, " 100.00"));
	row_of(buf, "SLO TPOT met (%)", row, sizeof(row));
	assert_non_null(strstr(row, " 99.99"));
	assert_null(strstr(row, "100.00"));
	row_of(buf, "SLO both met (%)", row, sizeof(row));
	assert_non_null(strstr(row, " 99.99"));
	row_of(buf, "SLO both, text (%)", row, sizeof(row));
	assert_non_null(strstr(row, " 61.72"));
	row_of(buf, "SLO both, image (%)", row, sizeof(row));
	assert_non_null(strstr(row, " -"));
	free(buf);

	snprintf(dir, sizeof(dir), "%s/t_sim_report_%d", getenv("MS_TMP") ? getenv("MS_TMP") : "/tmp",
		 (int)getpid());
	assert_int_equal(report_dir_make(dir, &err), 0);
	assert_int_equal(sim_report_html(dir, &ctx, &run, 1, &err), 0);
	snprintf(path, sizeof(path), "%s/index.html", dir);
	f = fopen(path, "r");
	assert_non_null(f);
	buf = calloc(1, 1 << 20);
	assert_non_null(buf);
	len = fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	row_of(buf, "SLO TPOT met (%)</th>", row, sizeof(row));
	assert_string_equal(row, "<td>99.99</td></tr>");
	row_of(buf, "SLO TTFT met (%)</th>", row, sizeof(row));
	assert_string_equal(row, "<td>100.00</td></tr>");
	row_of(buf, "SLO both, text (%)</th>", row, sizeof(row));
	assert_string_equal(row, "<td>61.72</td></tr>");
	free(buf);
	remove(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shares_floor),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
