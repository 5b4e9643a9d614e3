/*
 * ms_progress: progress lines on stderr for long work (loading, simulating).
 *
 * Prints at most a few times a second, only when stderr is a terminal or
 * MS_PROGRESS=1 is set, so logs and tests stay clean. The caller owns the struct.
 */
#ifndef MS_PROGRESS_H
#define MS_PROGRESS_H

#include <stdint.h>

struct ms_progress {
	const char *what;
	double total;    /* 0 when unknown */
	double next_at;  /* wall time of the next allowed print */
	int enabled;
	int printed;
};

void ms_progress_init(struct ms_progress *p, const char *what, double total);
/* Cheap when called often: looks at the clock only every 4096 calls. */
void ms_progress_update(struct ms_progress *p, double done);
void ms_progress_done(struct ms_progress *p);

double ms_wall_seconds(void);

#endif
