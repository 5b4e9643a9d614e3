/*
 * fuzz_file: hands a fuzz input to parsers that only read from a path.
 *
 * Owns one memfd for the life of the process (a tmpfs file under /dev/shm when
 * memfd_create is missing), rewritten per input, so a fuzz run does no disk I/O
 * and leaves nothing behind. Called by the fuzz_*.c targets. Invariant: the
 * returned path names a file holding exactly the last input, until the next call.
 * A harness failure (cannot create or write the file) aborts: it is not a finding.
 */
#ifndef FUZZ_FILE_H
#define FUZZ_FILE_H

#include <stddef.h>
#include <stdint.h>

const char *fuzz_file_path(const uint8_t *data, size_t size);
/* A NUL-terminated copy of data, for string parsers; free() it. */
char *fuzz_str_dup(const uint8_t *data, size_t size);

#endif
