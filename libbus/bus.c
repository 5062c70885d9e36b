/* bus.c: a connection's life: open (connect and handshake), close, the
 * accessors, error recording, and the two halves of sending a message (with
 * the output buffer's flush policy). Reading and dispatch are in loop.c.
 */
#include "bus-internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jsonparse.h"

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

int bus__fail_closed(struct bus *bus)
{
        return bus__fail(bus, -ECONNRESET, "disconnected", "the connection is closed: %s", bus->dead_why);
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
        }
        bus->out_tried = transport_queued(&bus->t);
        return w;
}

uint64_t bus__id(struct bus *bus)
{
        return bus->next_id++;
}

int bus__send_begin(struct bus *bus, struct outmsg *m, const char *type)
{
        if (bus->dead)
                return bus__fail_closed(bus);
        if (transport_queued(&bus->t) >= BUS_OUT_MAX_BYTES) {
                int r = loop_flush_until(bus, BUS_OUT_MAX_BYTES / 2, bus__now_ms() + BUS_DEFAULT_TIMEOUT_MS);
                if (r == -ETIMEDOUT)
                        return bus__fail(bus, -ENOBUFS, NULL,
                                         "%zu bytes of output are buffered and the daemon did not take them within "
                                         "%d ms",
                                         transport_queued(&bus->t), BUS_DEFAULT_TIMEOUT_MS);
                if (r < 0)
                        return bus__fail_closed(bus);
        }
        outmsg_begin(m, &bus->t, (int)bus->limits.max_depth, type);
        return 0;
}

int bus__send_end(struct bus *bus, struct outmsg *m)
{
        int r = outmsg_end(m, bus->limits.max_message);

        if (r < 0)
                return bus__fail(bus, r, NULL, "%s", m->why);
        /* one write per BUS_OUT_FLUSH_BYTES of new output, even when the socket is full */
        if (transport_queued(&bus->t) >= bus->out_tried + BUS_OUT_FLUSH_BYTES && bus__flush(bus) < 0)
                return bus__fail_closed(bus);
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
                return bus__fail(bus, r, "timeout", "no answer within %d ms", timeout_ms);
        if (r < 0)
                return bus__fail_closed(bus);
        if (a->type == INMSG_ERROR) {
                r = bus__fail_answer(bus, a);
                inmsg_free(a);
                return r;
        }
        *ret = a;
        return 0;
}

/* Sends hello and takes the welcome's identity and limits. */
static int handshake(struct bus *bus, const char *display_name)
{
        struct inmsg *w = NULL;
        struct outmsg m;
        uint64_t id;
        int r;

        if (display_name && (strlen(display_name) < 1 || strlen(display_name) > BUS_MAX_DISPLAY_NAME))
                return bus__fail(bus, -EINVAL, NULL, "the display name must be 1 to %d bytes",
                                 BUS_MAX_DISPLAY_NAME);
        r = bus__send_begin(bus, &m, "hello");
        if (r < 0)
                return r;
        id = bus__id(bus);
        outmsg_uint(&m, "id", id);
        outmsg_uint(&m, "protocol", BUS_PROTOCOL_VERSION);
        if (display_name)
                outmsg_string(&m, "name", display_name);
        bus->handshaking = true;
        r = bus__request(bus, &m, id, BUS_DEFAULT_TIMEOUT_MS, &w);
        bus->handshaking = false;
        if (r == -EREMOTEIO) {
                char code[sizeof(bus->err_code)], text[sizeof(bus->err)];
                memcpy(code, bus->err_code, sizeof(code));
                memcpy(text, bus->err, sizeof(text));
                return bus__fail(bus, -EPROTO, code, "the daemon refused the hello: %s: %s", code, text);
        }
        if (r < 0 && bus->dead == -EPROTO)
                return bus__fail(bus, -EPROTO, NULL, "%s", bus->dead_why);
        if (r < 0)
                return r;
        if (w->type != INMSG_WELCOME || (w->has_id && w->id != id)) {
                r = bus__fail(bus, -EPROTO, NULL, "the daemon answered the hello with %s, not a welcome",
                              inmsg_type_name(w->type));
                inmsg_free(w);
                return r;
        }
        bus->limits = w->limits;
        snprintf(bus->unique, sizeof(bus->unique), "%s", w->unique);
        inmsg_free(w);
        if (transport_set_max_recv(&bus->t, bus->limits.max_recv) < 0)
                return bus__fail(bus, -ENOMEM, NULL, "out of memory");
        if (bus->limits.max_depth != BUS_MAX_DEPTH) {
                struct jsonparse *p = jsonparse_new((int)bus->limits.max_depth);
                if (!p)
                        return bus__fail(bus, -ENOMEM, NULL, "out of memory");
                jsonparse_free(bus->parser);
                bus->parser = p;
        }
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
        free_inq(bus);
        jsonparse_free(bus->parser);
        if (!close_fd)
                bus->t.fd = -1;
        transport_deinit(&bus->t);
        free(bus);
}

int bus_open_fd(int fd, const char *display_name, struct bus **ret_bus)
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
        list_init(&bus->inq);
        list_init(&bus->pending);
        list_init(&bus->methods);
        list_init(&bus->deferred);
        list_init(&bus->subs);
        bus->next_id = 1;
        bus->limits.max_message = bus->t.seqpacket ? BUS_MAX_MESSAGE_SEQPACKET : BUS_MAX_MESSAGE_STREAM;
        bus->limits.max_depth = BUS_MAX_DEPTH;
        bus->parser = jsonparse_new(BUS_MAX_DEPTH);
        r = bus->parser ? handshake(bus, display_name) : -ENOMEM;
        if (r < 0) {
                snprintf(open_error, sizeof(open_error), "%s", bus->parser ? bus->err : "out of memory");
                bus_free(bus, false);
                return r;
        }
        *ret_bus = bus;
        return 0;
}

int bus_open(const char *address, const char *display_name, struct bus **ret_bus)
{
        struct address a;
        int fd, r;

        open_error[0] = 0;
        r = address_resolve(address, &a, open_error, sizeof(open_error));
        if (r < 0)
                return r;
        r = transport_connect(&a, &fd);
        if (r < 0) {
                snprintf(open_error, sizeof(open_error), "cannot connect to %s:%s: %s",
                         a.seqpacket ? "seqpacket" : "unix", a.path, strerror(-r));
                return r;
        }
        r = bus_open_fd(fd, display_name, ret_bus);
        if (r < 0) {
                char why[sizeof(open_error)];
                snprintf(why, sizeof(why), "%s", open_error);
                snprintf(open_error, sizeof(open_error), "%s:%.110s: %.380s", a.seqpacket ? "seqpacket" : "unix", a.path,
                         why);
                close(fd);
        }
        return r;
}

const char *bus_open_error(void)
{
        return open_error;
}

void bus_close(struct bus *bus)
{
        if (!bus)
                return;
        if (!bus->dead && transport_queued(&bus->t) > 0)
                loop_flush_until(bus, 0, bus__now_ms() + BUS_CLOSE_FLUSH_MS);
        bus__disconnect(bus, -ECONNRESET, "closed by bus_close()");
        bus_free(bus, true);
}

const char *bus_unique_id(const struct bus *bus)
{
        return bus->unique;
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
