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
        const char *tmp = getenv("TMPDIR");
        char fdarg[16];
        int pfd[2];

        memset(d, 0, sizeof(*d));
        d->child = d->pid = -1;
        snprintf(d->dir, sizeof(d->dir), "%s/bus-bench-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(d->dir)) {
                fprintf(stderr, "bus-bench: mkdtemp %s: %s\n", d->dir, strerror(errno));
                d->dir[0] = 0;
                return -errno;
        }
        snprintf(d->addr[T_STREAM], sizeof(d->addr[0]), "unix:%s/bus", d->dir);
        snprintf(d->addr[T_SEQPACKET], sizeof(d->addr[0]), "seqpacket:%s/bus.seq", d->dir);
        snprintf(d->log_path, sizeof(d->log_path), "%s/busd.log", d->dir);
        if (pipe2(pfd, O_CLOEXEC) < 0)
                return -errno;
        snprintf(fdarg, sizeof(fdarg), "%d", pfd[1]);
        const char *argv[] = { busd, "--listen", d->addr[T_STREAM], "--listen", d->addr[T_SEQPACKET],
                               "--ready-fd", fdarg, NULL };
        fflush(stdout);
        fflush(stderr);
        pid_t parent = getpid();
        pid_t pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (getppid() != parent)
                        _exit(127);
                int log = open(d->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                if (log >= 0)
                        dup2(log, STDERR_FILENO);
                close(pfd[0]);
                fcntl(pfd[1], F_SETFD, 0); /* the ready fd survives exec */
                execv(busd, (char *const *)argv);
                fprintf(stderr, "bus-bench: exec %s: %s\n", busd, strerror(errno));
                _exit(127);
        }
        close(pfd[1]);
        d->child = d->pid = pid;
        char line[32];
        ssize_t r;
        do
                r = read(pfd[0], line, sizeof(line));
        while (r < 0 && errno == EINTR);
        close(pfd[0]);
        if (r <= 0) {
                fprintf(stderr, "bus-bench: %s did not become ready (see %s)\n", busd, d->log_path);
                daemon_stop(d);
                return -ECHILD;
        }
        return 0;
}

int daemon_attach(struct daemon *d, const char *address)
{
        const char *path;
        bool seq;

        memset(d, 0, sizeof(*d));
        d->child = d->pid = -1;
        if (parse_address(address, &seq, &path) < 0) {
                fprintf(stderr, "bus-bench: bad address '%s' (unix:/path or seqpacket:/path)\n", address);
                return -EINVAL;
        }
        size_t len = strlen(path);
        if (seq) {
                if (len < 5 || strcmp(path + len - 4, ".seq") != 0) {
                        fprintf(stderr, "bus-bench: cannot derive the stream socket from '%s'\n", address);
                        return -EINVAL;
                }
                snprintf(d->addr[T_STREAM], sizeof(d->addr[0]), "unix:%.*s", (int)(len - 4), path);
                snprintf(d->addr[T_SEQPACKET], sizeof(d->addr[0]), "seqpacket:%s", path);
        } else {
                snprintf(d->addr[T_STREAM], sizeof(d->addr[0]), "unix:%s", path);
                snprintf(d->addr[T_SEQPACKET], sizeof(d->addr[0]), "seqpacket:%s.seq", path);
        }
        return 0;
}

int daemon_identify(struct daemon *d, struct bus *ctl)
{
        struct ucred cred;
        socklen_t len = sizeof(cred);

        if (getsockopt(bus_get_fd(ctl), SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return -errno;
        d->pid = cred.pid;
        return 0;
}

/* Copies the daemon's log to stderr, without the usual start-up lines. */
static void print_log(const struct daemon *d)
{
        char line[1024];
        FILE *f = fopen(d->log_path, "r");

        if (!f)
                return;
        while (fgets(line, sizeof(line), f))
                if (!strstr(line, "busd: serving ") && !strstr(line, "shutting down"))
                        fprintf(stderr, "bus-bench: daemon log: %s", line);
        fclose(f);
}

void daemon_stop(struct daemon *d)
{
        char p[400];

        if (d->child > 0) {
                kill(d->child, SIGTERM);
                while (waitpid(d->child, NULL, 0) < 0 && errno == EINTR)
                        ;
                d->child = -1;
        }
        if (!d->dir[0])
                return;
        print_log(d);
        unlink(d->log_path);
        const char *names[] = { "bus", "bus.seq", "bus.lock", "bus.seq.lock" };
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                snprintf(p, sizeof(p), "%s/%s", d->dir, names[i]);
                unlink(p);
        }
        rmdir(d->dir);
        d->dir[0] = 0;
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
        char path[64], line[256];
        long kib = -1;

        snprintf(path, sizeof(path), "/proc/%d/status", (int)d->pid);
        FILE *f = fopen(path, "r");
        if (!f)
                return -1;
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
                        break;
        fclose(f);
        return kib;
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
                json_object_put(st);
        }
        *ret = s;
        return 0;
}
