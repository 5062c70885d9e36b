/* util.c: clocks, percentiles, sample message texts, whole reads/writes and
 * raw socket connects for bus-bench. No scenario logic here. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

uint64_t now_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

        return x < y ? -1 : x > y;
}

void percentiles(uint64_t *v, size_t n, uint64_t *ret_p50, uint64_t *ret_p99)
{
        if (n == 0) {
                *ret_p50 = *ret_p99 = 0;
                return;
        }
        qsort(v, n, sizeof(*v), cmp_u64);
        /* nearest rank: the smallest value with at least p% of samples at or below it */
        size_t r50 = (n * 50 + 99) / 100, r99 = (n * 99 + 99) / 100;
        *ret_p50 = v[r50 ? r50 - 1 : 0];
        *ret_p99 = v[r99 ? r99 - 1 : 0];
}

static char *xs(size_t n)
{
        char *s = malloc(n + 1);

        if (s) {
                memset(s, 'x', n);
                s[n] = 0;
        }
        return s;
}

struct json_object *payload_json(size_t n)
{
        char *s = xs(n);
        struct json_object *o = s ? json_object_new_string_len(s, (int)n) : NULL;

        free(s);
        return o;
}

/* head + payload 'x's + tail (+ "\n"), malloc'ed. */
static char *sample(const char *head, const char *tail, size_t payload, bool newline, size_t *ret_len)
{
        size_t h = strlen(head), t = strlen(tail), len = h + payload + t + (newline ? 1 : 0);
        char *line = malloc(len + 1);

        if (!line)
                return NULL;
        memcpy(line, head, h);
        memset(line + h, 'x', payload);
        memcpy(line + h + payload, tail, t);
        if (newline)
                line[len - 1] = '\n';
        line[len] = 0;
        *ret_len = len;
        return line;
}

char *sample_call_line(size_t payload, bool newline, size_t *ret_len)
{
        return sample("{\"type\":\"call\",\"id\":123456,\"dest\":\"org.bench.Echo\",\"method\":\"echo\",\"params\":\"",
                      "\"}", payload, newline, ret_len);
}

char *sample_publish_line(size_t payload, bool newline, size_t *ret_len)
{
        return sample("{\"type\":\"publish\",\"topic\":\"bench.ev\",\"data\":\"", "\"}", payload, newline, ret_len);
}

int write_all(int fd, const void *p, size_t len)
{
        const char *s = p;

        while (len > 0) {
                ssize_t w = write(fd, s, len);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                s += w;
                len -= (size_t)w;
        }
        return 0;
}

int read_all(int fd, void *p, size_t len)
{
        char *s = p;

        while (len > 0) {
                ssize_t r = read(fd, s, len);
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (r == 0)
                        return -EPIPE;
                s += r;
                len -= (size_t)r;
        }
        return 0;
}

int raw_connect(const char *address)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct address a;
        int fd;

        if (address_parse(address, &a) < 0)
                return -EINVAL;
        strcpy(sa.sun_path, a.path);
        fd = socket(AF_UNIX, (a.seqpacket ? SOCK_SEQPACKET : SOCK_STREAM) | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        int r;
        do
                r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
        while (r < 0 && errno == EINTR);
        if (r < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        return fd;
}
