/* test_libbus_reconnect.c: libbus survives a restart of busd. A service and a
 * client share one thread and one poll() loop built from bus_get_fd(),
 * bus_get_events(), bus_get_timeout() and bus_process(); a third bus makes a
 * blocking call from another thread. busd is killed with SIGKILL while calls
 * are in flight and events flow, then started again on the same socket paths.
 *
 * Checked, over stream and seqpacket:
 * - every pending call fails with -ECONNRESET/"disconnected" before busd is
 *   even restarted (the calls have a 60 s timeout and the test waits for the
 *   failures first, so a failure by timeout cannot pass), after the answers
 *   that did arrive, and before the disconnect callback;
 * - while busd is down, sending fails at once with -ENOTCONN, bus_get_fd()
 *   is unchanged and bus_get_timeout() wakes the loop for the next attempt;
 * - after the restart both buses reconnect (callback), the service has its
 *   name back (a call to it works), its methods are declared again, the
 *   client's subscription is back (events flow again), a name taken meanwhile
 *   by another client is reported lost and then acquired from the queue;
 * - answers to calls from the old connection are dropped, not sent;
 * - a bus used only with blocking calls reconnects too;
 * - as with socket activation, where the listening socket outlives the
 *   daemon: a reconnection whose connect() is queued by the kernel waits for
 *   its welcome however slow it is, and is served by that one connection.
 */
#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "test_libbus_common.h"

#define NAME "org.example.Restart"
#define NAME2 "org.example.Restart.Second"
#define HOLD_CALLS 10
#define CALL_TIMEOUT_MS 60000
/* how long the test waits for things that must happen at once; far below CALL_TIMEOUT_MS */
#define PATIENCE_MS 20000

static struct busdproc daemon_proc;

struct party {
        struct bus *bus;
        const char *what;
        int disconnects, reconnects;
        int disconnect_at, reconnect_at; /* event number (see seq) */
        bool reconnecting;
        unsigned attempts, not_restored;
        char names[512]; /* bus_on_name log */
        int errors;
        char last_error[256];
};

/* one counter for the order of everything the callbacks see */
static int seq;

static void on_disconnect(struct bus *bus, int error, const char *why, bool reconnecting, void *userdata)
{
        struct party *p = userdata;

        p->disconnects++;
        p->disconnect_at = ++seq;
        p->reconnecting = reconnecting;
        CHECK(error < 0);
        CHECK(why && *why);
        CHECK(!bus_is_connected(bus));
}

static void on_reconnect(struct bus *bus, unsigned attempts, unsigned not_restored, void *userdata)
{
        struct party *p = userdata;

        p->reconnects++;
        p->reconnect_at = ++seq;
        p->attempts = attempts;
        p->not_restored = not_restored;
        CHECK(bus_is_connected(bus));
        CHECK(bus_unique_id(bus)[0] == ':');
}

static void on_name(struct bus *bus, const char *name, bool acquired, void *userdata)
{
        struct party *p = userdata;
        size_t n = strlen(p->names);

        snprintf(p->names + n, sizeof(p->names) - n, "%s:%s@%d ", acquired ? "acquired" : "lost", name, ++seq);
}

static void on_error(struct bus *bus, const char *code, const char *message, void *userdata)
{
        struct party *p = userdata;

        p->errors++;
        snprintf(p->last_error, sizeof(p->last_error), "%s: %s", code, message);
}

static void party_open(struct party *p, const char *addr, const char *what)
{
        memset(p, 0, sizeof(*p));
        p->what = what;
        p->bus = open_bus(addr, what);
        bus_on_disconnect(p->bus, on_disconnect, p);
        bus_on_reconnect(p->bus, on_reconnect, p);
        bus_on_name(p->bus, on_name, p);
        bus_on_error(p->bus, on_error, p);
}

/* ---- the service ---------------------------------------------------------- */

static struct bus_call *held[HOLD_CALLS + 1];
static int n_held;

static int m_echo(struct bus *bus, struct bus_call *call, void *userdata)
{
        return bus_reply(call, bus_call_params(call));
}

static int m_hold(struct bus *bus, struct bus_call *call, void *userdata)
{
        CHECK(n_held < HOLD_CALLS + 1);
        held[n_held++] = bus_call_defer(call);
        return 0;
}

/* ---- the client ----------------------------------------------------------- */

struct traffic {
        int echo_inflight, echo_ok, echo_failed;
        int hold_failed, hold_last_at;
        int ticks;
        bool failed_after_disconnect;
};

static struct traffic tr;
static struct party *client_party;

static void on_echo(struct bus *bus, const struct bus_reply *r, void *userdata)
{
        tr.echo_inflight--;
        if (r->error == 0) {
                tr.echo_ok++;
                return;
        }
        CHECK_EQ_INT(r->error, -ECONNRESET);
        CHECK_STREQ(r->code, "disconnected");
        tr.echo_failed++;
        if (client_party->disconnects)
                tr.failed_after_disconnect = true;
}

static void on_hold(struct bus *bus, const struct bus_reply *r, void *userdata)
{
        CHECK_EQ_INT(r->error, -ECONNRESET);
        CHECK_STREQ(r->code, "disconnected");
        CHECK(r->sender == NULL);
        CHECK(r->message && *r->message);
        if (client_party->disconnects)
                tr.failed_after_disconnect = true;
        tr.hold_failed++;
        tr.hold_last_at = ++seq;
}

static void on_tick(struct bus *bus, const struct bus_event *ev, void *userdata)
{
        tr.ticks++;
}

/* ---- the blocking caller -------------------------------------------------- */

struct blocking {
        struct bus *bus;
        pthread_t thread;
        int fds[2]; /* the thread writes one byte here when its call has returned */
        int result;
        char code[64];
};

static void *blocking_main(void *userdata)
{
        struct blocking *b = userdata;

        b->result = bus_call(b->bus, NAME, "hold", NULL, CALL_TIMEOUT_MS, NULL);
        snprintf(b->code, sizeof(b->code), "%s", bus_last_error_code(b->bus) ? bus_last_error_code(b->bus) : "");
        CHECK(write(b->fds[1], "x", 1) == 1);
        return NULL;
}

/* ---- the loop ------------------------------------------------------------- */

/* One round of poll() over the buses (plus the blocking caller's pipe); then
 * every bus processes until it has nothing left. */
static void loop_once(struct party **ps, int n, int extra_fd, int max_ms)
{
        struct pollfd fds[8];
        int timeout = max_ms;

        for (int i = 0; i < n; i++) {
                int t = bus_get_timeout(ps[i]->bus);
                fds[i] = (struct pollfd){ .fd = bus_get_fd(ps[i]->bus), .events = (short)bus_get_events(ps[i]->bus) };
                if (t >= 0 && t < timeout)
                        timeout = t;
        }
        fds[n] = (struct pollfd){ .fd = extra_fd, .events = POLLIN };
        CHECK(poll(fds, (nfds_t)n + 1, timeout) >= 0);
        for (int i = 0; i < n; i++) {
                int r;
                while ((r = bus_process(ps[i]->bus)) > 0)
                        ;
                CHECK_EQ_INT(r, 0); /* a reconnecting bus never reports the end of a connection here */
        }
}

static void keep_echoes_flowing(struct bus *cli)
{
        while (tr.echo_inflight < 20) {
                struct json_object *p = json_object_new_int(tr.echo_ok);
                CHECK_EQ_INT(bus_call_async(cli, NAME, "echo", p, CALL_TIMEOUT_MS, on_echo, NULL, NULL), 0);
                json_object_put(p);
                tr.echo_inflight++;
        }
}

static void tick(struct bus *svc)
{
        struct json_object *d = json_object_new_int(tr.ticks);

        CHECK_EQ_INT(bus_publish(svc, "restart.tick", d), 0);
        json_object_put(d);
}

struct introspect {
        bool done;
        bool has_echo;
        char owner[32];
};

static void on_introspect(struct bus *bus, const struct bus_reply *r, void *userdata)
{
        struct introspect *in = userdata;
        struct json_object *methods, *owner;

        CHECK_EQ_INT(r->error, 0);
        CHECK(json_object_object_get_ex(r->result, "methods", &methods));
        CHECK(json_object_object_get_ex(r->result, "owner", &owner));
        snprintf(in->owner, sizeof(in->owner), "%s", json_object_get_string(owner));
        for (size_t i = 0; i < json_object_array_length(methods); i++) {
                struct json_object *m = json_object_array_get_idx(methods, i), *name;
                if (json_object_object_get_ex(m, "name", &name) && strcmp(json_object_get_string(name), "echo") == 0)
                        in->has_echo = true;
        }
        in->done = true;
}

static void test_restart(const char *addr, bool seqpacket)
{
        struct party svc, cli, thief;
        struct party *both[2] = { &svc, &cli };
        struct blocking blk = { 0 };
        long long until;

        memset(&tr, 0, sizeof(tr));
        n_held = 0;
        client_party = &cli;

        party_open(&svc, addr, "restart service");
        CHECK_EQ_INT(bus_request_name(svc.bus, NAME, BUS_NAME_ALLOW_REPLACEMENT), BUS_NAME_PRIMARY_OWNER);
        CHECK_EQ_INT(bus_request_name(svc.bus, NAME2, 0), BUS_NAME_PRIMARY_OWNER);
        CHECK_EQ_INT(bus_add_method(svc.bus, "echo", "returns its params", NULL, NULL, m_echo, NULL), 0);
        CHECK_EQ_INT(bus_add_method(svc.bus, "hold", "never answers", NULL, NULL, m_hold, NULL), 0);
        sync_bus(svc.bus);
        party_open(&cli, addr, "restart client");
        CHECK_EQ_INT(bus_subscribe(cli.bus, "restart.>", on_tick, NULL), 0);
        int svc_fd = bus_get_fd(svc.bus), cli_fd = bus_get_fd(cli.bus);

        /* a third bus in another thread waits in a blocking call */
        blk.bus = open_bus(addr, "restart blocking caller");
        CHECK(pipe(blk.fds) == 0);
        CHECK_EQ_INT(pthread_create(&blk.thread, NULL, blocking_main, &blk), 0);

        /* traffic: echoes in flight, events flowing, calls held by the service */
        for (int i = 0; i < HOLD_CALLS; i++)
                CHECK_EQ_INT(bus_call_async(cli.bus, NAME, "hold", NULL, CALL_TIMEOUT_MS, on_hold, NULL, NULL), 0);
        until = now_ms() + PATIENCE_MS;
        while ((tr.ticks < 50 || tr.echo_ok < 200 || n_held < HOLD_CALLS + 1) && now_ms() < until) {
                keep_echoes_flowing(cli.bus);
                tick(svc.bus);
                loop_once(both, 2, blk.fds[0], 1000);
        }
        CHECK(tr.ticks >= 50 && tr.echo_ok >= 200);
        CHECK_EQ_INT(n_held, HOLD_CALLS + 1);
        keep_echoes_flowing(cli.bus);
        tick(svc.bus);
        CHECK_EQ_INT(bus_flush(cli.bus), 0); /* the echoes are with the daemon when it dies */
        CHECK_EQ_INT(bus_flush(svc.bus), 0);
        CHECK_EQ_INT(tr.echo_inflight, 20);

        pid_t pid = 0;
        CHECK_EQ_INT(bus_peer_creds(cli.bus, NULL, NULL, &pid), 0);
        CHECK_EQ_INT(pid, daemon_proc.pid);

        /* SIGKILL mid-traffic. busd is not started again until every pending
         * call has failed: failing by the 60 s timeout would exceed PATIENCE_MS. */
        harness_kill(&daemon_proc);
        until = now_ms() + PATIENCE_MS;
        char byte;
        bool blk_done = false;
        while (!(blk_done && tr.hold_failed == HOLD_CALLS && tr.echo_inflight == 0 && svc.disconnects &&
                 cli.disconnects) &&
               now_ms() < until) {
                loop_once(both, 2, blk.fds[0], 1000);
                if (!blk_done && read(blk.fds[0], &byte, 1) == 1)
                        blk_done = true;
        }
        CHECK(blk_done);
        CHECK_EQ_INT(pthread_join(blk.thread, NULL), 0);
        CHECK_EQ_INT(blk.result, -ECONNRESET);
        CHECK_STREQ(blk.code, "disconnected");
        fprintf(stderr,
                "after the kill: %d echoes failed (%d answered before), %d held calls failed, blocking call %d\n",
                tr.echo_failed, tr.echo_ok, tr.hold_failed, blk.result);
        CHECK_EQ_INT(tr.hold_failed, HOLD_CALLS);
        CHECK_EQ_INT(tr.echo_inflight, 0);
        CHECK_EQ_INT(tr.echo_ok + tr.echo_failed >= 200, 1);
        CHECK_EQ_INT(svc.disconnects, 1);
        CHECK_EQ_INT(cli.disconnects, 1);
        CHECK(svc.reconnecting && cli.reconnecting);
        /* the pending calls failed before the application was told of the end */
        CHECK(tr.hold_last_at < cli.disconnect_at);
        CHECK(!tr.failed_after_disconnect);

        /* busd is down: sending fails at once, the loop is woken for the retries */
        CHECK(!bus_is_connected(cli.bus));
        CHECK_STREQ(bus_unique_id(cli.bus), "");
        CHECK_EQ_INT(bus_publish(cli.bus, "restart.tick", NULL), -ENOTCONN);
        CHECK_STREQ(bus_last_error_code(cli.bus), "disconnected");
        CHECK_EQ_INT(bus_call(cli.bus, NAME, "echo", NULL, CALL_TIMEOUT_MS, NULL), -ENOTCONN);
        CHECK_EQ_INT(bus_call_async(cli.bus, NAME, "echo", NULL, CALL_TIMEOUT_MS, on_echo, NULL, NULL), -ENOTCONN);
        CHECK_EQ_INT(bus_subscribe(cli.bus, "other.>", on_tick, NULL), -ENOTCONN);
        CHECK_EQ_INT(bus_get_fd(cli.bus), cli_fd);
        CHECK_EQ_INT(bus_get_fd(svc.bus), svc_fd);
        CHECK_EQ_INT(bus_peer_creds(cli.bus, NULL, NULL, &pid), -ENOTCONN);
        for (int i = 0; i < 2; i++) {
                int t = bus_get_timeout(both[i]->bus);
                CHECK(t >= 0 && t <= 3 * 2000);
        }
        /* a few attempts fail (nobody listens), driven by bus_get_timeout() alone */
        long long t0 = now_ms();
        while (now_ms() < t0 + 300)
                loop_once(both, 2, -1, 1000);
        CHECK(!bus_is_connected(svc.bus) && !bus_is_connected(cli.bus));

        /* busd again, on the same paths; before the service is back, another
         * client takes NAME2 */
        CHECK_EQ_INT(harness_restart(&daemon_proc, NULL), 0);
        party_open(&thief, addr, "name thief");
        CHECK_EQ_INT(bus_request_name(thief.bus, NAME2, 0), BUS_NAME_PRIMARY_OWNER);

        until = now_ms() + PATIENCE_MS;
        while (!(svc.reconnects && cli.reconnects) && now_ms() < until)
                loop_once(both, 2, -1, 1000);
        fprintf(stderr, "reconnected: service after %u attempts (%s), client after %u (%s); service names: %s\n",
                svc.attempts, bus_unique_id(svc.bus), cli.attempts, bus_unique_id(cli.bus), svc.names);
        CHECK_EQ_INT(svc.reconnects, 1);
        CHECK_EQ_INT(cli.reconnects, 1);
        CHECK(svc.attempts >= 1 && cli.attempts >= 1);
        CHECK_EQ_INT(cli.not_restored, 0);
        CHECK_EQ_INT(svc.not_restored, 1); /* NAME2: queued behind the thief */
        char want[128];
        int at = 0;
        const char *lost = strstr(svc.names, "lost:" NAME2 "@");
        CHECK(lost && sscanf(lost + strlen("lost:" NAME2 "@"), "%d", &at) == 1);
        CHECK(at < svc.reconnect_at); /* reported before the reconnection */
        snprintf(want, sizeof(want), "lost:%s@%d ", NAME2, at);
        CHECK_STREQ(svc.names, want);
        CHECK_EQ_INT(bus_get_fd(cli.bus), cli_fd);
        CHECK_EQ_INT(bus_get_fd(svc.bus), svc_fd);
        CHECK(bus_is_connected(svc.bus) && bus_is_connected(cli.bus));
        CHECK_EQ_INT(bus_peer_creds(cli.bus, NULL, NULL, &pid), 0);
        CHECK_EQ_INT(pid, daemon_proc.pid); /* the new daemon */

        /* the answers to calls of the old connection go nowhere */
        for (int i = 0; i < n_held; i++) {
                CHECK_EQ_INT(bus_reply(held[i], NULL), -ECONNRESET);
                CHECK_STREQ(bus_last_error_code(svc.bus), "disconnected");
        }
        n_held = 0;

        /* the name, the methods and the subscription are back; events flow again */
        struct introspect in = { 0 };
        struct json_object *p = json_object_new_object();
        json_object_object_add(p, "name", json_object_new_string(NAME));
        CHECK_EQ_INT(bus_call_async(cli.bus, "org.busd", "introspect", p, CALL_TIMEOUT_MS, on_introspect, &in, NULL),
                     0);
        json_object_put(p);
        int ok_before = tr.echo_ok, ticks_before = tr.ticks;
        until = now_ms() + PATIENCE_MS;
        while ((tr.echo_ok < ok_before + 100 || tr.ticks < ticks_before + 50 || !in.done) && now_ms() < until) {
                keep_echoes_flowing(cli.bus);
                tick(svc.bus);
                loop_once(both, 2, -1, 1000);
        }
        CHECK(in.done && in.has_echo);
        CHECK_STREQ(in.owner, bus_unique_id(svc.bus)); /* the new unique id */
        CHECK(tr.echo_ok >= ok_before + 100);
        CHECK(tr.ticks >= ticks_before + 50);
        CHECK_EQ_INT(svc.errors, 0); /* in particular no no_such_call: nothing was sent for the held calls */
        CHECK_EQ_INT(cli.errors, 0);

        /* the service waits in NAME2's queue, as it asked: it gets the name when the thief goes */
        bus_close(thief.bus);
        until = now_ms() + PATIENCE_MS;
        while (!strstr(svc.names, "acquired:" NAME2) && now_ms() < until)
                loop_once(both, 2, -1, 1000);
        CHECK(strstr(svc.names, "acquired:" NAME2));

        /* a bus used only with blocking calls reconnects on its own too */
        until = now_ms() + PATIENCE_MS;
        int r;
        while ((r = bus_call(blk.bus, "org.busd", "ping", NULL, 10000, NULL)) == -ENOTCONN && now_ms() < until)
                bus_wait(blk.bus, 1000);
        CHECK_EQ_INT(r, 0);
        CHECK(bus_is_connected(blk.bus));
        close(blk.fds[0]);
        close(blk.fds[1]);
        bus_close(blk.bus);

        /* drain what is in flight, then leave the names free for the next transport */
        until = now_ms() + PATIENCE_MS;
        while (tr.echo_inflight > 0 && now_ms() < until)
                loop_once(both, 2, -1, 1000);
        CHECK_EQ_INT(tr.echo_inflight, 0);
        bus_close(cli.bus);
        bus_close(svc.bus);
        CHECK_EQ_INT(svc.disconnects, 1); /* bus_close() is not a disconnection to report */
}

/* ---- socket activation ---------------------------------------------------- */

/* Plays systemd and the daemon's start: owns a listening socket of its own,
 * and for each connection it accepts opens one to busd and copies both ways.
 * 'c' (crash) drops the current pair and stops accepting; 'r' resumes; 'q'
 * quits. While it does not accept, clients' connects wait in the backlog. */
struct relay {
        int listen_fd;
        struct sockaddr_un up;
        bool seqpacket;
        int ctl[2];
        pthread_t thread;
};

static bool copy(int from, int to, bool seqpacket)
{
        static _Thread_local char buf[128 * 1024];
        ssize_t n = recv(from, buf, sizeof(buf), 0);

        if (n <= 0)
                return false;
        for (ssize_t off = 0; off < n;) {
                ssize_t w = send(to, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
                if (w <= 0)
                        return false;
                off += w;
                CHECK(!seqpacket || off == n);
        }
        return true;
}

static void *relay_main(void *userdata)
{
        struct relay *r = userdata;
        int a = -1, b = -1;
        bool accepting = true;

        for (;;) {
                struct pollfd p[3] = { { .fd = r->ctl[0], .events = POLLIN } };
                p[1] = (struct pollfd){ .fd = a >= 0 ? a : accepting ? r->listen_fd : -1, .events = POLLIN };
                p[2] = (struct pollfd){ .fd = b, .events = POLLIN };
                CHECK(poll(p, 3, -1) > 0);
                bool drop = false;
                if (p[0].revents) {
                        char c;
                        CHECK(read(r->ctl[0], &c, 1) == 1);
                        drop = c != 'r';
                        accepting = c == 'r';
                        if (c == 'q') {
                                if (a >= 0)
                                        close(a), close(b);
                                return NULL;
                        }
                } else if (a < 0 && p[1].revents) {
                        a = accept4(r->listen_fd, NULL, NULL, SOCK_CLOEXEC);
                        CHECK(a >= 0);
                        b = socket(AF_UNIX, (r->seqpacket ? SOCK_SEQPACKET : SOCK_STREAM) | SOCK_CLOEXEC, 0);
                        CHECK(b >= 0 && connect(b, (struct sockaddr *)&r->up, sizeof(r->up)) == 0);
                } else {
                        if (p[1].revents && !copy(a, b, r->seqpacket))
                                drop = true;
                        if (!drop && p[2].revents && !copy(b, a, r->seqpacket))
                                drop = true;
                }
                if (drop && a >= 0) {
                        close(a);
                        close(b);
                        a = b = -1;
                }
        }
}

static void relay_cmd(struct relay *r, char c)
{
        CHECK(write(r->ctl[1], &c, 1) == 1);
}

struct act_log {
        int disconnects, reconnects;
        unsigned attempts;
        int events;
};

static void act_disconnect(struct bus *bus, int error, const char *why, bool reconnecting, void *userdata)
{
        ((struct act_log *)userdata)->disconnects++;
}

static void act_reconnect(struct bus *bus, unsigned attempts, unsigned not_restored, void *userdata)
{
        struct act_log *l = userdata;

        l->reconnects++;
        l->attempts = attempts;
        CHECK_EQ_INT(not_restored, 0);
}

static void act_event(struct bus *bus, const struct bus_event *ev, void *userdata)
{
        ((struct act_log *)userdata)->events++;
}

static void drive(struct bus *bus, int max_ms)
{
        struct pollfd p = { .fd = bus_get_fd(bus), .events = (short)bus_get_events(bus) };
        int t = bus_get_timeout(bus);

        CHECK(poll(&p, 1, t >= 0 && t < max_ms ? t : max_ms) >= 0);
        int r;
        while ((r = bus_process(bus)) > 0)
                ;
        CHECK_EQ_INT(r, 0);
}

static void test_queued_in_kernel(const char *addr, bool seqpacket)
{
        struct relay r = { .seqpacket = seqpacket };
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char act_addr[sizeof(sa.sun_path) + 16];
        struct act_log l = { 0 };
        long long until;

        /* the socket "systemd" keeps, beside busd's */
        CHECK(strlen(daemon_proc.dir) + 10 < sizeof(sa.sun_path));
        CHECK(strlen(daemon_proc.seq_path) < sizeof(r.up.sun_path));
        memcpy(sa.sun_path, daemon_proc.dir, strlen(daemon_proc.dir));
        strcat(sa.sun_path, seqpacket ? "/act.seq" : "/act");
        snprintf(act_addr, sizeof(act_addr), "%s:%s", seqpacket ? "seqpacket" : "unix", sa.sun_path);
        r.up.sun_family = AF_UNIX;
        strcpy(r.up.sun_path, seqpacket ? daemon_proc.seq_path : daemon_proc.stream_path);
        r.listen_fd = socket(AF_UNIX, (seqpacket ? SOCK_SEQPACKET : SOCK_STREAM) | SOCK_CLOEXEC, 0);
        CHECK(r.listen_fd >= 0);
        CHECK(bind(r.listen_fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
        CHECK(listen(r.listen_fd, 16) == 0);
        CHECK(pipe(r.ctl) == 0);
        CHECK_EQ_INT(pthread_create(&r.thread, NULL, relay_main, &r), 0);

        struct bus *bus = open_bus(act_addr, "activated client");
        bus_on_disconnect(bus, act_disconnect, &l);
        bus_on_reconnect(bus, act_reconnect, &l);
        CHECK_EQ_INT(bus_subscribe(bus, "act.>", act_event, &l), 0);

        /* the daemon behind the socket goes; the socket stays */
        relay_cmd(&r, 'c');
        until = now_ms() + PATIENCE_MS;
        struct pollfd lp = { .fd = r.listen_fd, .events = POLLIN };
        while (poll(&lp, 1, 0) == 0 && now_ms() < until)
                drive(bus, 1000);
        CHECK_EQ_INT(l.disconnects, 1);
        CHECK_EQ_INT(poll(&lp, 1, 0), 1); /* the reconnection waits in the backlog, its hello unread */
        /* a slow start: the new connection keeps waiting for its welcome */
        long long t0 = now_ms();
        while (now_ms() < t0 + 500)
                drive(bus, 100);
        CHECK(!bus_is_connected(bus));
        CHECK_EQ_INT(bus_publish(bus, "act.x", NULL), -ENOTCONN);

        /* the daemon is back and accepts the queued connection */
        relay_cmd(&r, 'r');
        until = now_ms() + PATIENCE_MS;
        while (!l.reconnects && now_ms() < until)
                drive(bus, 1000);
        CHECK_EQ_INT(l.reconnects, 1);
        CHECK_EQ_INT(l.attempts, 1); /* served by the connection made while the daemon was away */

        /* and the subscription is back */
        struct bus *pub = open_bus(addr, "publisher");
        CHECK_EQ_INT(bus_publish(pub, "act.x", NULL), 0);
        CHECK_EQ_INT(bus_flush(pub), 0);
        until = now_ms() + PATIENCE_MS;
        while (!l.events && now_ms() < until)
                drive(bus, 1000);
        CHECK_EQ_INT(l.events, 1);
        bus_close(pub);
        bus_close(bus);

        relay_cmd(&r, 'q');
        CHECK_EQ_INT(pthread_join(r.thread, NULL), 0);
        close(r.ctl[0]);
        close(r.ctl[1]);
        close(r.listen_fd);
        unlink(sa.sun_path);
}

int main(void)
{
        CHECK_EQ_INT(harness_start(&daemon_proc, NULL), 0);
        for (int seqpacket = 0; seqpacket < 2; seqpacket++) {
                fprintf(stderr, "== restart over %s\n", seqpacket ? "seqpacket" : "stream");
                test_restart(harness_addr(&daemon_proc, seqpacket), seqpacket);
                fprintf(stderr, "== socket activation over %s\n", seqpacket ? "seqpacket" : "stream");
                test_queued_in_kernel(harness_addr(&daemon_proc, seqpacket), seqpacket);
        }
        CHECK_EQ_INT(harness_stop(&daemon_proc), 0);
        return 0;
}
