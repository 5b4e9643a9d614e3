#include "base/ms_progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double ms_wall_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void ms_progress_init(struct ms_progress *p, const char *what, double total)
{
	const char *env = getenv("MS_PROGRESS");
	memset(p, 0, sizeof(*p));
	p->what = what;
	p->total = total;
	if (env)
		p->enabled = strcmp(env, "0") != 0;
	else
		p->enabled = isatty(STDERR_FILENO);
	p->next_at = ms_wall_seconds() + 0.5;
}

void ms_progress_update(struct ms_progress *p, double done)
{
	double now;
	if (!p->enabled)
		return;
	now = ms_wall_seconds();
	if (now < p->next_at)
		return;
	p->next_at = now + 0.25;
	p->printed = 1;
	if (p->total > 0)
		fprintf(stderr, "\r%s: %.0f / %.0f (%.0f%%)   ", p->what, done, p->total,
			100.0 * done / p->total);
	else
		fprintf(stderr, "\r%s: %.0f   ", p->what, done);
	fflush(stderr);
}

void ms_progress_done(struct ms_progress *p)
{
	if (p->enabled && p->printed)
		fprintf(stderr, "\r%s: done%30s\n", p->what, "");
}
