/* daemon.c: the busd under test. Starts it on a temporary directory (race
 * free: it writes a readiness line to a pipe), or attaches to a running bus;
 * samples its CPU time and RSS from /proc and its counters from org.busd's
 * `stats`. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bus.h>

#include "bench.h"

int daemon_start(struct daemon *d, const char *busd)
{
        memset(d, 0, sizeof(*d));
        d->child = d->pid = -1;
        int r = busdproc_start(&d->proc, busd, "bus-bench", NULL, true);
        if (r < 0) {
                daemon_stop(d);
                return r;
        }
        d->child = d->pid = d->proc.pid;
        snprintf(d->addr[T_STREAM], sizeof(d->addr[0]), "%s", d->proc.stream_addr);
        snprintf(d->addr[T_SEQPACKET], sizeof(d->addr[0]), "%s", d->proc.seq_addr);
        return 0;
}

int daemon_attach(struct daemon *d, const char *address)
{
        struct address a, stream, seq;
        size_t len;

        memset(d, 0, sizeof(*d));
        d->child = d->pid = -1;
        if (address_parse(address, &a) < 0) {
                fprintf(stderr, "bus-bench: bad address '%s' (unix:/path or seqpacket:/path)\n", address);
                return -EINVAL;
        }
        /* the other socket of the bus, by the .seq convention (docs/protocol.md §1) */
        len = strlen(a.path);
        if (a.seqpacket) {
                if (len < 5 || strcmp(a.path + len - 4, BUS_SEQPACKET_SUFFIX) != 0) {
                        fprintf(stderr, "bus-bench: cannot derive the stream socket from '%s'\n", address);
                        return -EINVAL;
                }
                seq = a;
                stream = a;
                stream.seqpacket = false;
                stream.path[len - 4] = 0;
        } else if (address_seqpacket_sibling(&a, &seq) < 0) {
                fprintf(stderr, "bus-bench: '%s' is too long to have a seqpacket sibling\n", address);
                return -EINVAL;
        } else {
                stream = a;
        }
        address_format(&stream, d->addr[T_STREAM], sizeof(d->addr[0]));
        address_format(&seq, d->addr[T_SEQPACKET], sizeof(d->addr[0]));
        return 0;
}

int daemon_identify(struct daemon *d, struct bus *ctl)
{
        pid_t pid;
        int r = bus_peer_creds(ctl, NULL, NULL, &pid);

        if (r < 0)
                return r;
        d->pid = pid;
        return 0;
}

/* Copies the daemon's log to stderr, without the usual start-up lines. */
static void print_log(const struct daemon *d)
{
        char line[1024];
        FILE *f = d->proc.log_path[0] ? fopen(d->proc.log_path, "r") : NULL;

        if (!f)
                return;
        while (fgets(line, sizeof(line), f))
                if (!strstr(line, "busd: serving ") && !strstr(line, "shutting down"))
                        fprintf(stderr, "bus-bench: daemon log: %s", line);
        fclose(f);
}

void daemon_stop(struct daemon *d)
{
        if (d->child > 0) {
                busdproc_stop(&d->proc);
                d->child = -1;
        }
        if (!d->proc.dir[0])
                return;
        print_log(d);
        busdproc_cleanup(&d->proc);
}

/* utime + stime of the process, in ns (tick resolution, usually 10 ms). */
static int cpu_from_stat(pid_t pid, uint64_t *ret)
{
        char path[64], buf[1024];
        unsigned long long ut, st;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        if (!(f = fopen(path, "r")))
                return -errno;
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = 0;
        /* the command name may hold spaces: fields are counted after its ')' */
        char *s = strrchr(buf, ')');
        if (!s || sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
                return -EPROTO;
        long hz = sysconf(_SC_CLK_TCK);
        *ret = (ut + st) * (1000000000ull / (uint64_t)(hz > 0 ? hz : 100));
        return 0;
}

/* Time on CPU of all the process's threads, in ns (/proc/PID/task/T/schedstat). */
static int cpu_from_schedstat(pid_t pid, uint64_t *ret)
{
        char path[320];
        uint64_t sum = 0;
        struct dirent *e;
        DIR *dir;

        snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
        if (!(dir = opendir(path)))
                return -errno;
        int found = 0;
        while ((e = readdir(dir))) {
                unsigned long long ns;
                if (e->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof(path), "/proc/%d/task/%s/schedstat", (int)pid, e->d_name);
                FILE *f = fopen(path, "r");
                if (!f)
                        continue;
                if (fscanf(f, "%llu", &ns) == 1) {
                        sum += ns;
                        found++;
                }
                fclose(f);
        }
        closedir(dir);
        if (!found)
                return -ENOENT;
        *ret = sum;
        return 0;
}

long daemon_rss_kib(const struct daemon *d)
{
        return busdproc_rss_kib(d->pid);
}

static uint64_t get_u64(struct json_object *o, const char *key)
{
        struct json_object *v;

        return json_object_object_get_ex(o, key, &v) ? (uint64_t)json_object_get_uint64(v) : 0;
}

int proc_cpu_ns(pid_t pid, uint64_t *ret)
{
        if (cpu_from_schedstat(pid, ret) == 0)
                return 0;
        return cpu_from_stat(pid, ret);
}

int daemon_snap(const struct daemon *d, struct bus *ctl, struct snap *ret)
{
        struct snap s = { 0 };
        int r;

        if (d->pid <= 0)
                return -ESRCH;
        if ((r = cpu_from_stat(d->pid, &s.cpu_tick_ns)) < 0)
                return r;
        if (cpu_from_schedstat(d->pid, &s.cpu_ns) < 0)
                s.cpu_ns = s.cpu_tick_ns;
        s.rss_kib = daemon_rss_kib(d);
        if (ctl) {
                struct json_object *st = NULL;
                r = bus_call(ctl, "org.busd", "stats", NULL, 30000, &st);
                if (r < 0)
                        return r;
                s.calls = get_u64(st, "calls");
                s.replies = get_u64(st, "replies");
                s.events = get_u64(st, "events");
                s.deliveries = get_u64(st, "deliveries");
                s.drops = get_u64(st, "drops");
                s.messages_in = get_u64(st, "messages_in");
                s.messages_out = get_u64(st, "messages_out");
                struct json_object *bridge, *links;
                if (json_object_object_get_ex(st, "bridge", &bridge) &&
                    json_object_object_get_ex(bridge, "links", &links) && json_object_is_type(links, json_type_array))
                        for (size_t i = 0; i < json_object_array_length(links); i++) {
                                struct json_object *l = json_object_array_get_idx(links, i);
                                s.link_events_out += get_u64(l, "events_out");
                                s.link_dropped += get_u64(l, "dropped");
                        }
                json_object_put(st);
        }
        *ret = s;
        return 0;
}

int bench_snap(const struct bench *b, struct snap *local, struct snap *remote)
{
        int r = daemon_snap(&b->d, b->ctl, local);

        if (r < 0 || !b->rctl)
                return r;
        return daemon_snap(&b->rd, b->rctl, remote);
}

uint64_t bench_cpu_ns(const struct bench *b, const struct snap *l0, const struct snap *l1, const struct snap *r0,
                      const struct snap *r1)
{
        return (l1->cpu_ns - l0->cpu_ns) + (b->rctl ? r1->cpu_ns - r0->cpu_ns : 0);
}
