/* bus.c: a bus's life: open (connect and handshake), close, the accessors,
 * error recording, and the two halves of sending a message (with the output
 * buffer's flush policy). Reading and dispatch are in loop.c; what happens
 * when a connection ends, and the connections after it, in reconnect.c.
 */
#include "bus-internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "errcode.h"
#include "jsonscan.h"

/* bus_open() has no bus to record its failure on. */
static _Thread_local char open_error[512];

int64_t bus__now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int bus__fail(struct bus *bus, int error, const char *code, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(bus->err, sizeof(bus->err), fmt, ap);
        va_end(ap);
        snprintf(bus->err_code, sizeof(bus->err_code), "%s", code ? code : "");
        return error;
}

int bus__fail_answer(struct bus *bus, const struct inmsg *m)
{
        return bus__fail(bus, -EREMOTEIO, m->code, "%s", m->message);
}

bool bus__connected(const struct bus *bus)
{
        return bus->state == BUS_CONNECTED && !bus->dead;
}

int bus__fail_closed(struct bus *bus)
{
        if (bus->reconnect && bus->connect_fn)
                return bus__fail(bus, -ENOTCONN, ERRCODE_DISCONNECTED, "not connected to the bus (reconnecting): %s",
                                 bus->dead_why);
        return bus__fail(bus, -ECONNRESET, ERRCODE_DISCONNECTED, "the connection is closed: %s", bus->dead_why);
}

int bus__fail_reset(struct bus *bus)
{
        return bus__fail(bus, -ECONNRESET, ERRCODE_DISCONNECTED, "the connection ended: %s", bus->dead_why);
}

void bus__disconnect(struct bus *bus, int error, const char *fmt, ...)
{
        va_list ap;

        if (bus->dead)
                return;
        bus->dead = error;
        bus->eof = true;
        va_start(ap, fmt);
        vsnprintf(bus->dead_why, sizeof(bus->dead_why), fmt, ap);
        va_end(ap);
}

ssize_t bus__flush(struct bus *bus)
{
        ssize_t w;

        if (bus->dead)
                return bus->dead;
        w = transport_flush(&bus->t);
        if (w < 0) {
                bool eof = bus->eof;
                bus__disconnect(bus, (int)w, "writing to the daemon failed: %s", strerror((int)-w));
                bus->eof = eof; /* what the daemon sent before it went is still to be read */
                return w;
        }
        bus->out_tried = transport_queued(&bus->t);
        loop_set_blocked(bus, bus->out_tried > 0);
        return w;
}

uint64_t bus__id(struct bus *bus)
{
        return bus->next_id++;
}

/* How long a send waits for the daemon to take output while it takes none:
 * longer than the daemon's stall timeout, after which the daemon disconnects
 * a subscriber that holds a publisher back and reads the publisher again. */
static int64_t out_wait_ms(const struct bus *bus)
{
        uint64_t stall = bus->limits.stall_timeout_ms;
        int64_t ms = (int64_t)(stall < INT32_MAX ? stall : INT32_MAX) + BUS_OUT_STALL_MARGIN_MS;

        return ms > BUS_DEFAULT_TIMEOUT_MS ? ms : BUS_DEFAULT_TIMEOUT_MS;
}

/* Waits until the output buffer is down to half its bound, reading (and
 * queueing) input meanwhile. Gives up only when the daemon takes no byte for
 * out_wait_ms(): a held publish makes progress again within the daemon's
 * stall timeout. */
static int out_wait(struct bus *bus)
{
        int64_t limit = out_wait_ms(bus);

        for (;;) {
                size_t before = transport_queued(&bus->t);
                int r = loop_flush_until(bus, BUS_OUT_MAX_BYTES / 2, bus__now_ms() + limit);
                if (r == 0)
                        return 0;
                if (r != -ETIMEDOUT)
                        return bus__fail_reset(bus);
                if (transport_queued(&bus->t) >= before)
                        return bus__fail(bus, -ENOBUFS, NULL,
                                         "%zu bytes of output are buffered and the daemon took none of them for "
                                         "%lld ms",
                                         transport_queued(&bus->t), (long long)limit);
        }
}

static int send_begin(struct bus *bus, struct outmsg *m, const char *type, bool may_refuse)
{
        if (!bus__connected(bus)) {
                reconnect_step(bus, true);
                if (!bus__connected(bus))
                        return bus__fail_closed(bus);
        }
        if (transport_queued(&bus->t) >= BUS_OUT_MAX_BYTES) {
                if (may_refuse && bus->nonblocking) {
                        /* one write: maybe the daemon has made room meanwhile */
                        if (bus__flush(bus) < 0)
                                return bus__fail_reset(bus);
                        if (transport_queued(&bus->t) >= BUS_OUT_MAX_BYTES)
                                return bus__fail(bus, -EAGAIN, NULL,
                                                 "%zu bytes of output are buffered: wait until the bus is "
                                                 "writable (bus_get_fd/bus_get_events), call bus_process() "
                                                 "and try again",
                                                 transport_queued(&bus->t));
                } else {
                        int r = out_wait(bus);
                        if (r < 0)
                                return r;
                }
        }
        outmsg_begin(m, &bus->t, (int)bus->limits.max_depth, type);
        return 0;
}

int bus__send_begin(struct bus *bus, struct outmsg *m, const char *type)
{
        return send_begin(bus, m, type, false);
}

int bus__send_begin_try(struct bus *bus, struct outmsg *m, const char *type)
{
        return send_begin(bus, m, type, true);
}

void bus_set_nonblocking(struct bus *bus, bool enable)
{
        bus->nonblocking = enable;
}

int bus__send_end(struct bus *bus, struct outmsg *m)
{
        int r = outmsg_end(m, bus->limits.max_message);

        if (r < 0)
                return bus__fail(bus, r, NULL, "%s", m->why);
        /* one write per BUS_OUT_FLUSH_BYTES of new output, even when the socket is full */
        if (transport_queued(&bus->t) >= bus->out_tried + BUS_OUT_FLUSH_BYTES && bus__flush(bus) < 0)
                return bus__fail_reset(bus);
        return 0;
}

int bus__request(struct bus *bus, struct outmsg *m, uint64_t id, int timeout_ms, struct inmsg **ret)
{
        struct inmsg *a = NULL;
        int r;

        if (timeout_ms < 0)
                timeout_ms = BUS_DEFAULT_TIMEOUT_MS;
        r = bus__send_end(bus, m);
        if (r < 0)
                return r;
        r = loop_wait_answer(bus, id, bus__now_ms() + timeout_ms, &a);
        if (r == -ETIMEDOUT)
                return bus__fail(bus, r, ERRCODE_TIMEOUT, "no answer within %d ms", timeout_ms);
        if (r < 0)
                return bus__fail_reset(bus);
        if (a->type == INMSG_ERROR) {
                r = bus__fail_answer(bus, a);
                inmsg_free(a);
                return r;
        }
        *ret = a;
        return 0;
}

/* Sends hello and takes the welcome's identity and limits. */
static int handshake(struct bus *bus, const char *display_name, int timeout_ms)
{
        struct inmsg *w = NULL;
        struct outmsg m;
        uint64_t id;
        int r;

        if (display_name && (strlen(display_name) < 1 || strlen(display_name) > BUS_MAX_DISPLAY_NAME))
                return bus__fail(bus, -EINVAL, NULL, "the display name must be 1 to %d bytes", BUS_MAX_DISPLAY_NAME);
        r = bus__send_begin(bus, &m, "hello");
        if (r < 0)
                return r;
        id = bus__id(bus);
        outmsg_uint(&m, "id", id);
        outmsg_uint(&m, "protocol", BUS_PROTOCOL_VERSION);
        if (display_name)
                outmsg_string(&m, "name", display_name);
        bus->handshaking = true;
        r = bus__request(bus, &m, id, timeout_ms, &w);
        bus->handshaking = false;
        if (r == -EREMOTEIO) {
                char code[sizeof(bus->err_code)], text[sizeof(bus->err)];
                memcpy(code, bus->err_code, sizeof(code));
                memcpy(text, bus->err, sizeof(text));
                /* refused at accept (docs/protocol.md §3): its policy or a quota */
                if (strcmp(code, ERRCODE_DENIED) == 0)
                        return bus__fail(bus, -EACCES, code, "the daemon refused the connection: %s", text);
                if (strcmp(code, ERRCODE_LIMIT) == 0)
                        return bus__fail(bus, -EUSERS, code, "the daemon refused the connection: %s", text);
                return bus__fail(bus, -EPROTO, code, "the daemon refused the hello: %s: %s", code, text);
        }
        if (r < 0 && bus->dead == -EPROTO)
                return bus__fail(bus, -EPROTO, NULL, "%s", bus->dead_why);
        /* a busd answers every hello, a refusal included (docs/protocol.md
         * §3): an end without a word is another kind of server (a D-Bus
         * daemon closes at the first byte that is not its handshake's) */
        if (r == -ECONNRESET)
                return bus__fail(bus, -EPROTO, NULL,
                                 "the other end closed the connection without answering the hello, as a "
                                 "busd never does (a D-Bus daemon's socket does): %s",
                                 bus->dead_why);
        if (r < 0)
                return r;
        if (w->type != INMSG_WELCOME || (w->has_id && w->id != id)) {
                r = bus__fail(bus, -EPROTO, NULL, "the daemon answered the hello with %s, not a welcome",
                              inmsg_type_name(w->type));
                inmsg_free(w);
                return r;
        }
        r = bus__apply_welcome(bus, w);
        inmsg_free(w);
        return r < 0 ? bus__fail(bus, r, NULL, "out of memory") : 0;
}

int bus__apply_welcome(struct bus *bus, const struct inmsg *w)
{
        bus->limits = w->limits;
        snprintf(bus->unique, sizeof(bus->unique), "%s", w->unique);
        if (transport_set_max_recv(&bus->t, bus->limits.max_recv) < 0)
                return -ENOMEM;
        if (bus->limits.max_depth != (uint64_t)bus->scan_depth) {
                struct jsonscan *sc = jsonscan_new((int)bus->limits.max_depth);
                if (!sc)
                        return -ENOMEM;
                jsonscan_free(bus->scan);
                bus->scan = sc;
                bus->scan_depth = (int)bus->limits.max_depth;
        }
        return 0;
}

int bus__check_json(struct bus *bus, const char *key, const char *json, size_t len, bool *ret_spaced)
{
        /* the value sits inside the message object: one level less */
        int depth = (int)bus->limits.max_depth - 1;
        struct jsonscan_value v;
        char why[160];
        int r;

        if (!json)
                return bus__fail(bus, -EINVAL, NULL, "'%s' is NULL, not a JSON text", key);
        if (bus->vscan && bus->vscan_depth != depth) {
                jsonscan_free(bus->vscan);
                bus->vscan = NULL;
        }
        if (!bus->vscan) {
                if (!(bus->vscan = jsonscan_new(depth)))
                        return bus__fail(bus, -ENOMEM, NULL, "out of memory");
                bus->vscan_depth = depth;
        }
        r = jsonscan_parse(bus->vscan, json, len, &v, NULL, NULL, why, sizeof(why));
        if (r == -ENOMEM)
                return bus__fail(bus, r, NULL, "out of memory");
        if (r < 0)
                return bus__fail(bus, -EINVAL, NULL, "'%s' cannot be sent: %s", key, why);
        *ret_spaced = v.raw.spaced;
        return 0;
}

static void free_inq(struct bus *bus)
{
        struct list *l;

        while ((l = list_first(&bus->inq)))
                inmsg_free(list_entry(l, struct inmsg, link));
        bus->inq_bytes = 0;
        inmsg_free(bus->wait_msg);
        bus->wait_msg = NULL;
}

/* Frees a bus; the fd is closed only if close_fd. */
static void bus_free(struct bus *bus, bool close_fd)
{
        call_fail_all(bus);
        method_free_all(bus);
        event_free_all(bus);
        name_free_all(bus);
        reconnect_free(bus);
        free_inq(bus);
        jsonscan_free(bus->scan);
        jsonscan_free(bus->vscan);
        if (!close_fd)
                bus->t.fd = -1;
        transport_deinit(&bus->t);
        if (bus->epfd >= 0)
                close(bus->epfd);
        free(bus);
}

/* Opens a bus on a connected fd. connect_fn: how to connect again, NULL for
 * a bus that cannot reconnect. */
static int open_fd(int fd, const char *display_name, bus_connect_fn connect_fn, const struct address *a, int timeout_ms,
                   struct bus **ret_bus)
{
        struct bus *bus = calloc(1, sizeof(*bus));
        int r;

        open_error[0] = 0;
        if (!bus) {
                snprintf(open_error, sizeof(open_error), "out of memory");
                return -ENOMEM;
        }
        r = transport_init(&bus->t, fd);
        if (r < 0) {
                snprintf(open_error, sizeof(open_error), "fd %d is not a stream or seqpacket socket: %s", fd,
                         strerror(-r));
                free(bus);
                return r;
        }
        bus->epfd = -1;
        list_init(&bus->inq);
        list_init(&bus->pending);
        list_init(&bus->methods);
        list_init(&bus->deferred);
        list_init(&bus->subs);
        list_init(&bus->names);
        bus->next_id = 1;
        bus->limits.max_message = bus->t.seqpacket ? BUS_MAX_MESSAGE_SEQPACKET : BUS_MAX_MESSAGE_STREAM;
        bus->limits.max_depth = BUS_MAX_DEPTH;
        if (a)
                bus->addr = *a;
        bus->connect_fn = connect_fn;
        bus->scan = jsonscan_new(BUS_MAX_DEPTH);
        bus->scan_depth = BUS_MAX_DEPTH;
        /* the user bus's daemon must be the user's or root's: checked before
         * the hello, so nothing is sent to a squatter */
        r = bus->scan ? userbus_check_peer(fd, a ? a->path : NULL, bus->err, sizeof(bus->err)) : -ENOMEM;
        if (r == 0)
                r = handshake(bus, display_name, timeout_ms);
        if (r == 0)
                r = reconnect_init(bus, display_name);
        if (r < 0) {
                snprintf(open_error, sizeof(open_error), "%s", bus->scan ? bus->err : "out of memory");
                bus_free(bus, false);
                return r;
        }
        *ret_bus = bus;
        return 0;
}

int bus_open_fd(int fd, const char *display_name, struct bus **ret_bus)
{
        return open_fd(fd, display_name, NULL, NULL, BUS_DEFAULT_TIMEOUT_MS, ret_bus);
}

int bus__open_reconnecting(int fd, const char *display_name, bus_connect_fn connect_fn, struct bus **ret_bus)
{
        return open_fd(fd, display_name, connect_fn, NULL, BUS_DEFAULT_TIMEOUT_MS, ret_bus);
}

/* The connect_fn of bus_open() buses: the same address again, without blocking. */
static int connect_address(struct bus *bus, int *ret_fd)
{
        char why[sizeof(open_error)];
        int fd, r;

        r = userbus_check_dir(bus->addr.path, why, sizeof(why));
        if (r == 0)
                r = transport_connect(&bus->addr, true, -1, &fd);
        if (r < 0)
                return r;
        r = userbus_check_peer(fd, bus->addr.path, why, sizeof(why));
        if (r < 0) {
                close(fd);
                return r;
        }
        *ret_fd = fd;
        return 0;
}

int bus_open_timeout(const char *address, const char *display_name, int timeout_ms, struct bus **ret_bus)
{
        int64_t deadline = timeout_ms > 0 ? bus__now_ms() + timeout_ms : 0;
        struct address a;
        int fd, r;

        open_error[0] = 0;
        r = address_resolve(address, &a, open_error, sizeof(open_error));
        if (r < 0)
                return r;
        /* the first connect blocks: with socket activation the daemon's backlog
         * may be full while it starts, and bus_open() is blocking anyway */
        r = userbus_check_dir(a.path, open_error, sizeof(open_error));
        if (r < 0)
                return r;
        r = transport_connect(&a, false, timeout_ms, &fd);
        if (r < 0) {
                snprintf(open_error, sizeof(open_error), "cannot connect to %s:%s: %s",
                         a.seqpacket ? "seqpacket" : "unix", a.path,
                         r == -ETIMEDOUT ? "the daemon accepted no connection in time" : strerror(-r));
                return r;
        }
        int hello_ms = BUS_DEFAULT_TIMEOUT_MS;
        if (deadline) {
                int64_t left = deadline - bus__now_ms();
                hello_ms = left > 1 ? (int)left : 1;
        }
        r = open_fd(fd, display_name, connect_address, &a, hello_ms, ret_bus);
        if (r < 0) {
                char why[sizeof(open_error)];
                snprintf(why, sizeof(why), "%s", open_error);
                snprintf(open_error, sizeof(open_error), "%s:%.110s: %.380s", a.seqpacket ? "seqpacket" : "unix",
                         a.path, why);
                close(fd);
        }
        return r;
}

int bus_open(const char *address, const char *display_name, struct bus **ret_bus)
{
        return bus_open_timeout(address, display_name, BUS_TIMEOUT_DEFAULT, ret_bus);
}

const char *bus_open_error(void)
{
        return open_error;
}

void bus_close(struct bus *bus)
{
        if (!bus)
                return;
        if (bus__connected(bus) && transport_queued(&bus->t) > 0)
                loop_flush_until(bus, 0, bus__now_ms() + BUS_CLOSE_FLUSH_MS);
        bus__disconnect(bus, -ECONNRESET, "closed by bus_close()");
        bus_free(bus, true);
}

const char *bus_unique_id(const struct bus *bus)
{
        return bus->unique;
}

int bus_peer_creds(const struct bus *bus, uid_t *ret_uid, gid_t *ret_gid, pid_t *ret_pid)
{
        struct ucred cred;
        socklen_t len = sizeof(cred);

        if (bus->state != BUS_CONNECTED || bus->t.fd < 0)
                return -ENOTCONN;
        if (getsockopt(bus->t.fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return -errno;
        if (ret_uid)
                *ret_uid = cred.uid;
        if (ret_gid)
                *ret_gid = cred.gid;
        if (ret_pid)
                *ret_pid = cred.pid;
        return 0;
}

size_t bus_max_message(const struct bus *bus)
{
        return bus->limits.max_message;
}

const char *bus_last_error(const struct bus *bus)
{
        return bus->err;
}

const char *bus_last_error_code(const struct bus *bus)
{
        return bus->err_code[0] ? bus->err_code : NULL;
}
