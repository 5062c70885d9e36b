/* sc_memory.c: the daemon's memory per idle connection. A child opens N
 * connections that each said hello (raw sockets: a client's own cost is not
 * what is measured) and keeps them open; the daemon's RSS before and after,
 * divided by N. Stream first, then seqpacket on top of it, so that neither
 * reuses memory the other freed. Run first, on a fresh daemon: memory freed by
 * earlier traffic would be reused and hide the cost. Kernel socket buffers
 * are not in the RSS. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"

struct idle_role {
        const char *address;
        bool seq;
        unsigned n;
};

/* Connects, says hello and reads the welcome. Returns the fd or a negative errno. */
static int hello_connection(const char *address, bool seq)
{
        static const char hello[] = "{\"type\":\"hello\",\"name\":\"bench-idle\"}\n";
        char buf[4096];
        size_t have = 0;
        int fd = raw_connect(address);

        if (fd < 0)
                return fd;
        if (write_all(fd, hello, sizeof(hello) - (seq ? 2 : 1)) < 0)
                goto fail;
        for (;;) {
                ssize_t r = read(fd, buf + have, sizeof(buf) - 1 - have);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0)
                        goto fail;
                have += (size_t)r;
                buf[have] = 0;
                if (seq || memchr(buf, '\n', have) || have == sizeof(buf) - 1)
                        break;
        }
        if (!strstr(buf, "\"welcome\""))
                goto fail;
        return fd;
fail:
        close(fd);
        return -EPROTO;
}

static int kid_idle(const struct kid_io *io, void *arg)
{
        struct idle_role *r = arg;
        int *fds = malloc(sizeof(int) * r->n);

        if (!fds)
                return io_fail(io, -ENOMEM, "idle: out of memory");
        for (unsigned i = 0; i < r->n; i++) {
                fds[i] = hello_connection(r->address, r->seq);
                if (fds[i] < 0)
                        return io_fail(io, fds[i], "idle: connection %u of %u: %s", i + 1, r->n, strerror(-fds[i]));
        }
        io_ready(io);
        io_wait(io); /* EOF: done */
        for (unsigned i = 0; i < r->n; i++)
                close(fds[i]);
        free(fds);
        return 0;
}

/* How many connections one process can hold, given RLIMIT_NOFILE. */
static unsigned fit_fd_limit(unsigned want)
{
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
                return want;
        return rl.rlim_cur > 64 && want > rl.rlim_cur - 64 ? (unsigned)(rl.rlim_cur - 64) : want;
}

void sc_memory(struct bench *b)
{
        unsigned n = fit_fd_limit(b->opt.connections);
        struct idle_role roles[T_COUNT];
        int warm[T_COUNT] = { -1, -1 };
        struct kids ks;
        char err[256];

        kids_init(&ks);
        /* the first connection of a transport touches buffers no later one needs */
        for (int t = 0; t < T_COUNT; t++)
                if (b->opt.transports & (1u << t))
                        warm[t] = hello_connection(b->d.addr[t], t == T_SEQPACKET);
        long before = daemon_rss_kib(&b->d);
        for (int t = 0; t < T_COUNT; t++) {
                if (!(b->opt.transports & (1u << t)))
                        continue;
                struct row *row = report_add(&b->rep, "memory", (enum transport)t);
                if (!row)
                        break;
                roles[t] = (struct idle_role){ .address = b->d.addr[t], .seq = t == T_SEQPACKET, .n = n };
                int k = kids_spawn(&ks, "idle connections", kid_idle, &roles[t]);
                if (warm[t] < 0 || before <= 0 || k < 0 || kid_wait_ready(&ks.k[k], err, sizeof(err)) < 0) {
                        row->failed = true;
                        snprintf(row->note, sizeof(row->note), "%s",
                                 warm[t] < 0   ? "cannot connect"
                                 : before <= 0 ? "cannot read the daemon's RSS"
                                               : err);
                        continue;
                }
                long after = daemon_rss_kib(&b->d);
                row->count = n;
                row->value = after > 0 ? (double)(after - before) * 1024.0 / n : 0;
                row->unit = "bytes/conn";
                snprintf(row->note, sizeof(row->note), "RSS %ld -> %ld KiB%s", before, after,
                         n < b->opt.connections ? " (fewer connections: RLIMIT_NOFILE)" : "");
                if (after <= 0)
                        row->failed = true;
                before = after;
        }
        kids_finish(&ks);
        for (int t = 0; t < T_COUNT; t++)
                if (warm[t] >= 0)
                        close(warm[t]);
}
