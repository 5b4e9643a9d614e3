/*
 * One reusable in-memory file per process; see fuzz_file.h. _GNU_SOURCE only
 * here, for memfd_create: the library itself stays POSIX.
 */
#define _GNU_SOURCE
#include "fuzz_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int fuzz_fd = -1;
static char fuzz_path[64];

static void fuzz_file_open(void)
{
	fuzz_fd = memfd_create("fuzz_input", MFD_CLOEXEC);
	if (fuzz_fd >= 0) {
		/* fopen() of /proc/self/fd/N opens the memfd afresh at offset 0 */
		snprintf(fuzz_path, sizeof(fuzz_path), "/proc/self/fd/%d", fuzz_fd);
		return;
	}
	snprintf(fuzz_path, sizeof(fuzz_path), "/dev/shm/ms_fuzz_XXXXXX");
	fuzz_fd = mkstemp(fuzz_path);
	if (fuzz_fd < 0)
		abort();
	unlink(fuzz_path); /* gone when the process ends; reopened by path below */
	snprintf(fuzz_path, sizeof(fuzz_path), "/proc/self/fd/%d", fuzz_fd);
}

const char *fuzz_file_path(const uint8_t *data, size_t size)
{
	size_t off = 0;

	if (fuzz_fd < 0)
		fuzz_file_open();
	if (ftruncate(fuzz_fd, 0))
		abort();
	while (off < size) {
		ssize_t w = pwrite(fuzz_fd, data + off, size - off, (off_t)off);
		if (w <= 0)
			abort();
		off += (size_t)w;
	}
	return fuzz_path;
}

char *fuzz_str_dup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}
