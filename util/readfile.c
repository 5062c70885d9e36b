/* readfile.c: see readfile.h. */
#include "readfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int failed(int r, const char *path, const char *why, char *err, size_t errlen)
{
        if (errlen > 0)
                snprintf(err, errlen, "%s: %s", path, why ? why : strerror(-r));
        return r;
}

static int read_all(int fd, const char *path, size_t size_hint, size_t cap, char **ret_text, size_t *ret_len, char *err,
                    size_t errlen)
{
        /* room for the expected size, one byte more to see the end (or an
         * excess), and the NUL; grown by doubling up to cap + 2 */
        size_t len = 0, room = (size_hint < cap ? size_hint : cap) + 2;
        char *text = malloc(room);

        if (!text)
                return failed(-ENOMEM, path, "out of memory", err, errlen);
        for (;;) {
                ssize_t n = read(fd, text + len, room - 1 - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        int r = -errno;
                        free(text);
                        return failed(r, path, NULL, err, errlen);
                }
                if (n == 0)
                        break;
                len += (size_t)n;
                if (len > cap) {
                        free(text);
                        char why[64];
                        snprintf(why, sizeof(why), "larger than %zu bytes", cap);
                        return failed(-EFBIG, path, why, err, errlen);
                }
                if (len == room - 1) {
                        size_t nroom = room > (cap + 2) / 2 ? cap + 2 : room * 2;
                        char *t = realloc(text, nroom);
                        if (!t) {
                                free(text);
                                return failed(-ENOMEM, path, "out of memory", err, errlen);
                        }
                        text = t;
                        room = nroom;
                }
        }
        text[len] = '\0';
        *ret_text = text;
        *ret_len = len;
        return 0;
}

int readfile_at(int dirfd, const char *path, unsigned flags, size_t cap, char **ret_text, size_t *ret_len, char *err,
                size_t errlen)
{
        /* O_NONBLOCK: opening a FIFO must not wait for a writer (it is then refused) */
        int oflags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | (flags & READFILE_NOFOLLOW ? O_NOFOLLOW : 0);
        struct stat st;
        int fd, r;

        if (cap > SIZE_MAX - 2)
                cap = SIZE_MAX - 2;
        do
                fd = openat(dirfd, path, oflags);
        while (fd < 0 && errno == EINTR);
        if (fd < 0)
                return failed(-errno, path, NULL, err, errlen);
        if (fstat(fd, &st) < 0) {
                r = failed(-errno, path, NULL, err, errlen);
        } else if (!S_ISREG(st.st_mode)) {
                r = failed(S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL, path, "not a regular file", err, errlen);
        } else if ((uintmax_t)st.st_size > cap) {
                char why[64];
                snprintf(why, sizeof(why), "larger than %zu bytes", cap);
                r = failed(-EFBIG, path, why, err, errlen);
        } else {
                r = read_all(fd, path, (size_t)st.st_size, cap, ret_text, ret_len, err, errlen);
        }
        close(fd);
        return r;
}

int readfile(const char *path, size_t cap, char **ret_text, size_t *ret_len, char *err, size_t errlen)
{
        return readfile_at(AT_FDCWD, path, 0, cap, ret_text, ret_len, err, errlen);
}
