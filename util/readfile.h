/* readfile.h: reading a whole, small file into memory, the one way the daemon
 * and its tools do it (the configuration file, policy files, activation
 * files, the bridge file; the caps are in proto/buslimits.h).
 *
 * Regular files only: a directory, FIFO, socket or device is refused without
 * reading it (opened O_NONBLOCK, so a FIFO cannot stall the caller). The
 * descriptor is O_CLOEXEC and closed before returning; reads are retried on
 * EINTR and go to the end of the file, whatever fstat() said, so a file that
 * grows while it is read is still held to the cap. Knows nothing of what the
 * text means.
 */
#pragma once

#include <stddef.h>

/* readfile_at() flags */
#define READFILE_NOFOLLOW 1u /* refuse a symbolic link (ELOOP) */

/* Reads the file at path (relative to dirfd, or AT_FDCWD) of at most cap
 * bytes. Returns 0 with *ret_text (malloc'd, NUL-terminated after *ret_len
 * bytes; the caller frees it) and *ret_len. On failure returns a negative
 * errno, leaves the outputs untouched and writes "PATH: reason" into err
 * (always NUL-terminated when errlen > 0):
 *   -EISDIR     a directory ("PATH: not a regular file")
 *   -EINVAL     another file that is not regular (same text)
 *   -EFBIG      more than cap bytes ("PATH: larger than CAP bytes")
 *   -ENOMEM     ("PATH: out of memory")
 *   any errno of open(2), fstat(2), read(2) ("PATH: strerror")
 * flags: 0 or READFILE_NOFOLLOW. */
int readfile_at(int dirfd, const char *path, unsigned flags, size_t cap, char **ret_text, size_t *ret_len, char *err,
                size_t errlen);
/* readfile_at(AT_FDCWD, path, 0, ...). */
int readfile(const char *path, size_t cap, char **ret_text, size_t *ret_len, char *err, size_t errlen);
