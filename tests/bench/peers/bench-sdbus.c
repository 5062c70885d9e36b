/* bench-sdbus.c: bus-bench's workloads through dbus-broker, with sd-bus
 * clients as a user of libsystemd would write them (peerkit.h runs them;
 * scripts/bench-peers.sh, docs/benchmarks.md "Against the peers").
 *
 *   bench-sdbus broker --socket PATH [--ready-fd FD] [--broker BIN]
 *       A private dbus-broker serving PATH. dbus-broker-launch cannot run
 *       without systemd (it logs to journald's socket and connects to the
 *       service manager's bus), so this is its controller, as dbus-broker's
 *       own test suite does it: it binds PATH, starts `dbus-broker
 *       --controller FD` with its default limits, hands it the listening
 *       socket with an allow-everything policy (AddListener), then writes
 *       "READY=1 PID=<broker pid>" on FD (default 1) and stays until SIGTERM,
 *       SIGINT or the broker's end. The broker dies with it.
 *   bench-sdbus run --address unix:path=PATH --server-pid PID ...
 *       One workload (peerkit.c, `run --help`):
 *       events: a publisher emits signals (sd_bus_emit_signal, one string
 *         argument of the payload's size) on /org/bench, interface
 *         org.bench.Events, member Event, then End; each subscriber matches
 *         them (sd_bus_match_signal) and reads the argument. sd-bus writes a
 *         message at once while its socket has room and otherwise queues it
 *         in memory, a queue that costs a memmove per message when it drains:
 *         the publisher calls sd_bus_flush() whenever a message is queued, so
 *         that it blocks on a full socket as libbus blocks on a full buffer.
 *       call: a service owns org.bench.Echo (sd_bus_request_name) and serves
 *         Echo(s) -> s on /org/bench/Echo (sd_bus_add_object_vtable); the
 *         caller makes blocking sd_bus_call_method() calls.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "peerkit.h"

#define EV_PATH "/org/bench"
#define EV_IFACE "org.bench.Events"
#define SERVICE "org.bench.Echo"
#define SERVICE_PATH "/org/bench/Echo"

static int open_bus(const char *address, sd_bus **ret)
{
        sd_bus *bus = NULL;
        int r = sd_bus_new(&bus);

        if (r >= 0)
                r = sd_bus_set_address(bus, address);
        if (r >= 0)
                r = sd_bus_set_bus_client(bus, 1);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r < 0) {
                sd_bus_unref(bus);
                return r;
        }
        *ret = bus;
        return 0;
}

/* ---- events --------------------------------------------------------------- */

struct sub_state {
        const struct peerkit_args *a;
        uint64_t received, t_last;
        bool end;
        int error;
};

static int on_signal(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        struct sub_state *st = userdata;
        const char *s;

        if (sd_bus_message_is_signal(m, EV_IFACE, "End")) {
                st->end = true;
                return 0;
        }
        if (sd_bus_message_read(m, "s", &s) < 0 || strlen(s) != st->a->payload) {
                st->error = -EPROTO;
                return 0;
        }
        st->received++;
        st->t_last = peerkit_now_ns();
        return 0;
}

static int subscriber(const struct peerkit_args *a, const struct peerkit_child *c, struct peerkit_result *res)
{
        struct sub_state st = { .a = a };
        sd_bus *bus;
        int r = open_bus(a->address, &bus);

        if (r < 0)
                return peerkit_fail(res, r, "subscriber: connect to %s: %s", a->address, strerror(-r));
        /* synchronous: the broker has the match when it returns */
        if ((r = sd_bus_match_signal(bus, NULL, NULL, EV_PATH, EV_IFACE, NULL, on_signal, &st)) < 0)
                return peerkit_fail(res, r, "subscriber: match: %s", strerror(-r));
        peerkit_ready(c);
        if (peerkit_wait_go(c) <= 0)
                return 1;
        uint64_t quiet_ns = (uint64_t)a->quiet_ms * 1000000ull, since = peerkit_now_ns();
        while (!st.end && !st.error) {
                r = sd_bus_process(bus, NULL);
                if (r < 0 || !sd_bus_is_open(bus)) {
                        res->disconnected = true;
                        snprintf(res->what, sizeof(res->what), "disconnected after %llu events (%s)",
                                 (unsigned long long)st.received, r < 0 ? strerror(-r) : "closed by the broker");
                        break;
                }
                if (r > 0)
                        continue;
                uint64_t last = st.t_last ? st.t_last : since, now = peerkit_now_ns();
                if (now - last >= quiet_ns) {
                        snprintf(res->what, sizeof(res->what), "no end marker: quiet for %u ms after %llu events",
                                 a->quiet_ms, (unsigned long long)st.received);
                        break;
                }
                r = sd_bus_wait(bus, (quiet_ns - (now - last)) / 1000);
                if (r < 0 && r != -EINTR) {
                        res->disconnected = true;
                        snprintf(res->what, sizeof(res->what), "wait failed after %llu events: %s",
                                 (unsigned long long)st.received, strerror(-r));
                        break;
                }
        }
        if (st.error)
                return peerkit_fail(res, st.error, "subscriber: an event without its %zu-byte string", a->payload);
        res->count = st.received;
        res->t_end = st.t_last;
        res->end_seen = st.end;
        sd_bus_flush_close_unref(bus);
        return 0;
}

static int publisher(const struct peerkit_args *a, const struct peerkit_child *c, struct peerkit_result *res)
{
        sd_bus_error err = SD_BUS_ERROR_NULL;
        sd_bus *bus;
        uint64_t queued;
        int r = open_bus(a->address, &bus);

        if (r < 0)
                return peerkit_fail(res, r, "publisher: connect to %s: %s", a->address, strerror(-r));
        peerkit_ready(c);
        if (peerkit_wait_go(c) <= 0)
                return 1;
        res->t_start = peerkit_now_ns();
        for (uint64_t i = 0; i < a->count; i++) {
                r = sd_bus_emit_signal(bus, EV_PATH, EV_IFACE, "Event", "s", a->data);
                if (r == -ENOBUFS) {
                        /* the write queue is full: drain it, then again */
                        if ((r = sd_bus_flush(bus)) >= 0)
                                r = sd_bus_emit_signal(bus, EV_PATH, EV_IFACE, "Event", "s", a->data);
                }
                if (r < 0)
                        return peerkit_fail(res, r, "publisher: signal %llu: %s", (unsigned long long)i, strerror(-r));
                /* the socket was full: block until the broker has taken it */
                if (sd_bus_get_n_queued_write(bus, &queued) >= 0 && queued > 0 && (r = sd_bus_flush(bus)) < 0)
                        return peerkit_fail(res, r, "publisher: flush: %s", strerror(-r));
        }
        if ((r = sd_bus_emit_signal(bus, EV_PATH, EV_IFACE, "End", "t", a->count)) < 0)
                return peerkit_fail(res, r, "publisher: end marker: %s", strerror(-r));
        /* a round trip: the broker has handled every signal when it answers */
        r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetId",
                               &err, NULL, NULL);
        if (r < 0)
                return peerkit_fail(res, r, "publisher: GetId: %s", err.message ? err.message : strerror(-r));
        res->t_end = peerkit_now_ns();
        res->count = a->count;
        sd_bus_flush_close_unref(bus);
        return 0;
}

/* ---- calls ---------------------------------------------------------------- */

static int method_echo(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        const char *s;
        int r = sd_bus_message_read(m, "s", &s);

        if (r < 0)
                return r;
        return sd_bus_reply_method_return(m, "s", s);
}

static const sd_bus_vtable echo_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("Echo", "s", "s", method_echo, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

static int service(const struct peerkit_args *a, const struct peerkit_child *c, struct peerkit_result *res)
{
        sd_bus *bus;
        int r = open_bus(a->address, &bus);

        if (r < 0)
                return peerkit_fail(res, r, "service: connect to %s: %s", a->address, strerror(-r));
        if ((r = sd_bus_add_object_vtable(bus, NULL, SERVICE_PATH, SERVICE, echo_vtable, NULL)) < 0 ||
            (r = sd_bus_request_name(bus, SERVICE, 0)) < 0)
                return peerkit_fail(res, r, "service: cannot serve %s: %s", SERVICE, strerror(-r));
        peerkit_ready(c);
        /* serves until the orchestrator closes our pipe */
        for (;;) {
                while ((r = sd_bus_process(bus, NULL)) > 0)
                        ;
                if (r < 0)
                        return peerkit_fail(res, r, "service: %s", strerror(-r));
                uint64_t until = UINT64_MAX, now = peerkit_now_ns() / 1000; /* CLOCK_MONOTONIC us, as sd-bus */
                sd_bus_get_timeout(bus, &until);
                int ms = until == UINT64_MAX ? -1 : until <= now ? 0 : (int)((until - now + 999) / 1000);
                struct pollfd p[2] = { { .fd = sd_bus_get_fd(bus), .events = (short)sd_bus_get_events(bus) },
                                       { .fd = c->down, .events = POLLIN } };
                if (poll(p, 2, ms) < 0 && errno != EINTR)
                        return peerkit_fail(res, -errno, "service: poll: %s", strerror(errno));
                if (p[1].revents)
                        break;
        }
        sd_bus_flush_close_unref(bus);
        return 0;
}

static int call_echo(sd_bus *bus, const struct peerkit_args *a, const char **ret_error)
{
        sd_bus_error err = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *s;
        int r = sd_bus_call_method(bus, SERVICE, SERVICE_PATH, SERVICE, "Echo", &err, &reply, "s", a->data);

        if (r >= 0)
                r = sd_bus_message_read(reply, "s", &s);
        if (r >= 0 && strlen(s) != a->payload)
                r = -EPROTO;
        *ret_error = r >= 0 ? NULL : err.message ? err.message : strerror(-r);
        sd_bus_message_unref(reply);
        /* err is not freed on failure: its message is reported, then the process ends */
        return r < 0 ? r : 0;
}

static int caller(const struct peerkit_args *a, const struct peerkit_child *c, struct peerkit_result *res)
{
        uint64_t *lat = malloc(sizeof(uint64_t) * a->count), warm = a->count / 10 < 1000 ? a->count / 10 : 1000;
        const char *why;
        sd_bus *bus;
        int r = open_bus(a->address, &bus);

        if (r < 0)
                return peerkit_fail(res, r, "caller: connect to %s: %s", a->address, strerror(-r));
        if (!lat)
                return peerkit_fail(res, -ENOMEM, "caller: out of memory");
        for (uint64_t i = 0; i < warm; i++)
                if ((r = call_echo(bus, a, &why)) < 0)
                        return peerkit_fail(res, r, "caller: warm-up call: %s", why);
        peerkit_ready(c);
        if (peerkit_wait_go(c) <= 0)
                return 1;
        res->t_start = peerkit_now_ns();
        for (uint64_t i = 0; i < a->count; i++) {
                uint64_t t = peerkit_now_ns();
                if ((r = call_echo(bus, a, &why)) < 0)
                        return peerkit_fail(res, r, "caller: call %llu: %s", (unsigned long long)i, why);
                lat[i] = peerkit_now_ns() - t;
        }
        res->t_end = peerkit_now_ns();
        res->count = a->count;
        peerkit_percentiles(lat, a->count, &res->p50_ns, &res->p99_ns);
        free(lat);
        sd_bus_flush_close_unref(bus);
        return 0;
}

/* ---- the private broker ------------------------------------------------------ */

/* The listener's policy, in the controller's format of dbus-broker 33
 * (Debian 12; its src/launch/policy.c writes it from the XML config, and the
 * format is internal: other versions differ). For every uid one batch that
 * allows connecting, owning any name, and sending and receiving anything
 * (send/receive entries: verdict, priority, name, path, interface, member,
 * type, broadcast, min and max fds); no per-group batches, no SELinux
 * rules, AppArmor off, and the bus type "session". */
#define POLICY_BATCH    \
        "bt"            \
        "a(btbs)"       \
        "a(btssssuutt)" \
        "a(btssssuutt)"
#define POLICY                     \
        "a(u(" POLICY_BATCH "))"   \
        "a(buu(" POLICY_BATCH "))" \
        "a(ss)"                    \
        "bs"

static int append_policy(sd_bus_message *m)
{
        int r = sd_bus_message_open_container(m, 'v', "(" POLICY ")");

        if (r >= 0)
                r = sd_bus_message_open_container(m, 'r', POLICY);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(u(" POLICY_BATCH "))");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'r', "u(" POLICY_BATCH ")");
        if (r >= 0)
                r = sd_bus_message_append(m, "u", (uint32_t)-1); /* any uid */
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'r', POLICY_BATCH);
        if (r >= 0)
                r = sd_bus_message_append(m, POLICY_BATCH, 1, UINT64_C(1), /* connect: allow */
                                          1, 1, UINT64_C(1), 1, "",        /* own: any name */
                                          1, 1, UINT64_C(1), "", "", "", "", 0, 0, UINT64_C(0), UINT64_MAX,  /* send */
                                          1, 1, UINT64_C(1), "", "", "", "", 0, 0, UINT64_C(0), UINT64_MAX); /* recv */
        for (int i = 0; i < 3 && r >= 0; i++) /* the batch, the uid entry, the array */
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_append(m,
                                          "a(buu(" POLICY_BATCH "))"
                                          "a(ss)"
                                          "bs",
                                          0, 0, 0, "session");
        for (int i = 0; i < 2 && r >= 0; i++) /* the struct, the variant */
                r = sd_bus_message_close_container(m);
        return r;
}

static void machine_id(char *buf, size_t len)
{
        FILE *f = fopen("/etc/machine-id", "r");

        snprintf(buf, len, "0123456789abcdef0123456789abcdef");
        if (f) {
                char line[64];
                if (fgets(line, sizeof(line), f) && strlen(line) >= 32)
                        snprintf(buf, len, "%.32s", line);
                fclose(f);
        }
}

/* Binds and listens on path. Returns the fd or a negative errno. */
static int listen_on(const char *path)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, path, strlen(path));
        if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
                return -errno;
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 256) < 0) {
                int e = -errno;
                close(fd);
                return e;
        }
        return fd;
}

/* Forks and execs the broker with `fd` as its controller. Returns its pid or
 * a negative errno. */
static pid_t spawn_broker(const char *bin, int fd, const sigset_t *oldmask)
{
        char fdstr[16], id[40];
        pid_t parent = getpid(), pid;

        machine_id(id, sizeof(id));
        snprintf(fdstr, sizeof(fdstr), "%d", fd);
        if ((pid = fork()) < 0)
                return -errno;
        if (pid == 0) {
                sigprocmask(SIG_SETMASK, oldmask, NULL);
                prctl(PR_SET_PDEATHSIG, SIGTERM);
                if (getppid() != parent)
                        _exit(127);
                fcntl(fd, F_SETFD, 0); /* inherited: clear FD_CLOEXEC */
                execlp(bin, bin, "--controller", fdstr, "--machine-id", id, (char *)NULL);
                fprintf(stderr, "bench-sdbus: cannot run %s: %s\n", bin, strerror(errno));
                _exit(127);
        }
        return pid;
}

static int broker_main(int argc, char **argv)
{
        static const struct option longopts[] = {
                { "socket", required_argument, NULL, 's' },
                { "ready-fd", required_argument, NULL, 'r' },
                { "broker", required_argument, NULL, 'b' },
                { NULL, 0, NULL, 0 },
        };
        const char *path = NULL, *bin = "dbus-broker";
        sd_bus_error err = SD_BUS_ERROR_NULL;
        sd_bus_message *m = NULL;
        sd_bus *ctl = NULL;
        sigset_t mask, oldmask;
        int ready = 1, pair[2], c, r;

        while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
                if (c == 's')
                        path = optarg;
                else if (c == 'r')
                        ready = atoi(optarg);
                else if (c == 'b')
                        bin = optarg;
                else
                        return 64;
        }
        if (!path || optind < argc) {
                fprintf(stderr, "usage: bench-sdbus broker --socket PATH [--ready-fd FD] [--broker BIN]\n");
                return 64;
        }
        int lfd = listen_on(path);
        if (lfd < 0) {
                fprintf(stderr, "bench-sdbus: cannot listen on %s: %s\n", path, strerror(-lfd));
                return 1;
        }
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pair) < 0) {
                fprintf(stderr, "bench-sdbus: socketpair: %s\n", strerror(errno));
                return 1;
        }
        /* signals as events of the loop below: our end, the broker's end */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGCHLD);
        sigprocmask(SIG_BLOCK, &mask, &oldmask);
        int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
        pid_t pid = spawn_broker(bin, pair[1], &oldmask);
        close(pair[1]);
        if (sfd < 0 || pid < 0) {
                fprintf(stderr, "bench-sdbus: cannot start %s: %s\n", bin, strerror(sfd < 0 ? errno : (int)-pid));
                return 1;
        }
        /* the controller connection: sd-bus speaks D-Bus on it, peer to peer */
        r = sd_bus_new(&ctl);
        if (r >= 0)
                r = sd_bus_set_fd(ctl, pair[0], pair[0]);
        if (r >= 0)
                r = sd_bus_start(ctl);
        if (r >= 0)
                r = sd_bus_message_new_method_call(ctl, &m, NULL, "/org/bus1/DBus/Broker", "org.bus1.DBus.Broker",
                                                   "AddListener");
        if (r >= 0)
                r = sd_bus_message_append(m, "oh", "/org/bus1/DBus/Listener/0", lfd);
        if (r >= 0)
                r = append_policy(m);
        if (r >= 0)
                r = sd_bus_call(ctl, m, 0, &err, NULL);
        sd_bus_message_unref(m);
        close(lfd);
        if (r < 0) {
                fprintf(stderr, "bench-sdbus: AddListener: %s (%s)\n", err.message ? err.message : strerror(-r),
                        err.name ? err.name : "local");
                kill(pid, SIGTERM);
                waitpid(pid, NULL, 0);
                return 1;
        }
        dprintf(ready, "READY=1 PID=%d\n", (int)pid);
        if (ready > 2)
                close(ready);
        int status = 0;
        for (;;) {
                while ((r = sd_bus_process(ctl, NULL)) > 0)
                        ;
                struct pollfd p[2] = { { .fd = sd_bus_get_fd(ctl), .events = (short)sd_bus_get_events(ctl) },
                                       { .fd = sfd, .events = POLLIN } };
                if (r < 0)
                        p[0].fd = -1; /* the broker closed its end: wait for its exit */
                if (poll(p, 2, -1) < 0 && errno != EINTR)
                        break;
                struct signalfd_siginfo si;
                if (p[1].revents && read(sfd, &si, sizeof(si)) == sizeof(si)) {
                        int ws;
                        if (si.ssi_signo == SIGCHLD && waitpid(pid, &ws, WNOHANG) == pid) {
                                fprintf(stderr, "bench-sdbus: dbus-broker exited (status %d)\n", ws);
                                status = 1;
                                pid = -1;
                                break;
                        }
                        if (si.ssi_signo != SIGCHLD)
                                break;
                }
        }
        if (pid > 0) {
                kill(pid, SIGTERM);
                waitpid(pid, NULL, 0);
        }
        sd_bus_flush_close_unref(ctl);
        return status;
}

int main(int argc, char **argv)
{
        static const struct peerkit_peer peer = {
                .name = "dbus-broker",
                .subscriber = subscriber,
                .publisher = publisher,
                .service = service,
                .caller = caller,
        };

        if (argc >= 2 && strcmp(argv[1], "broker") == 0)
                return broker_main(argc - 1, argv + 1);
        if (argc >= 2 && strcmp(argv[1], "run") == 0)
                return peerkit_run(&peer, argc - 1, argv + 1);
        fprintf(stderr, "usage: bench-sdbus broker --socket PATH [--ready-fd FD] | bench-sdbus run OPTIONS "
                        "(run --help)\n");
        return 64;
}
