/* loop.c: input and waiting. Reads messages into the incoming queue (or,
 * for the answer a blocking function waits for, straight into its slot),
 * dispatches the queue from bus_process(), and implements both kinds of
 * waiting: the blocking waits inside blocking functions, which queue
 * everything except their own answer and never run callbacks, and the
 * event-loop API (bus_get_fd & co), with the epoll fd that a bus_open() bus
 * hands out so that the fd an event loop watches survives reconnections.
 */
#include "bus-internal.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

/* Counts an event libbus dropped because the incoming queue is full, in a
 * marker at the queue's tail so that the report keeps its place in order. */
static void drop_local(struct bus *bus)
{
        struct list *last = bus->inq.prev;
        struct inmsg *mark = last != &bus->inq ? list_entry(last, struct inmsg, link) : NULL;

        if (!mark || mark->type != INMSG_LOCAL_DROPPED) {
                mark = inmsg_new_local_dropped();
                if (!mark) {
                        bus__disconnect(bus, -ENOMEM, "out of memory");
                        return;
                }
                mark->seq = bus->in_seq;
                list_append(&bus->inq, &mark->link);
        }
        mark->count++;
}

static int on_message(const char *s, size_t len, void *userdata)
{
        struct bus *bus = userdata;
        struct inmsg *m;
        char why[256];
        int r;

        r = inmsg_parse(bus->scan, s, len, &m, why, sizeof(why));
        if (r == -ENOMEM) {
                bus__disconnect(bus, r, "out of memory");
                return r;
        }
        if (r < 0) {
                bus__disconnect(bus, -EPROTO, "the daemon sent an invalid message (%s): %.*s", why,
                                (int)(len < 80 ? len : 80), s);
                return -EPROTO;
        }
        m->seq = ++bus->in_seq;
        m->gen = bus->gen;
        if (bus->state == BUS_HELLO || bus->n_restore > 0) {
                r = reconnect_intercept(bus, m);
                if (r != 0)
                        return r < 0 ? r : 0;
        }
        name_note(bus, m);
        if (bus->wait_id && !bus->wait_msg && (bus->handshaking || inmsg_answers(m, bus->wait_id))) {
                bus->wait_msg = m;
                return 0;
        }
        if (m->type == INMSG_EVENT && bus->inq_bytes >= BUS_IN_QUEUE_MAX_BYTES) {
                inmsg_free(m);
                drop_local(bus);
                return 0;
        }
        list_append(&bus->inq, &m->link);
        bus->inq_bytes += m->size;
        return 0;
}

ssize_t loop_read(struct bus *bus, size_t budget)
{
        ssize_t r;

        if (bus->eof)
                return bus->dead;
        bus->reading = true;
        r = transport_read(&bus->t, budget, on_message, bus);
        bus->reading = false;
        if (r == -ECONNRESET) {
                /* the daemon closed with input of ours unread: the kernel
                 * reports the reset once, before what the daemon sent last
                 * (e.g. why it refused us); at a plain end this reads nothing */
                bus->reading = true;
                r = transport_read(&bus->t, budget, on_message, bus);
                bus->reading = false;
        }
        if (r >= 0)
                return r;
        if (bus->dead)
                bus->eof = true; /* nothing more will come */
        if (r == -ECONNRESET)
                bus__disconnect(bus, (int)r, "the daemon closed the connection");
        else if (r == -EMSGSIZE)
                bus__disconnect(bus, (int)r, "the daemon sent a message larger than max_recv (%zu bytes)",
                                bus->t.max_recv);
        else
                bus__disconnect(bus, (int)r, "reading from the daemon failed: %s", strerror((int)-r));
        return bus->dead;
}

/* One poll() on the connection until deadline (-1: none); reads if readable. */
static int poll_once(struct bus *bus, int64_t deadline)
{
        struct pollfd p = { .fd = bus->t.fd, .events = POLLIN };
        int timeout = -1;

        if (transport_queued(&bus->t) > 0)
                p.events |= POLLOUT;
        if (deadline >= 0) {
                int64_t left = deadline - bus__now_ms();
                timeout = left < 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
        }
        int n = poll(&p, 1, timeout);
        if (n < 0)
                return errno == EINTR ? 0 : -errno;
        if (p.revents & POLLNVAL)
                bus__disconnect(bus, -EBADF, "the connection's fd was closed behind libbus's back");
        else if (p.revents & (POLLIN | POLLHUP | POLLERR))
                loop_read(bus, BUS_READ_BUDGET);
        return n;
}

static bool expired(int64_t deadline)
{
        return deadline >= 0 && bus__now_ms() >= deadline;
}

int loop_wait_answer(struct bus *bus, uint64_t id, int64_t deadline, struct inmsg **ret)
{
        int r;

        bus->wait_id = id;
        for (;;) {
                if (transport_queued(&bus->t) > 0)
                        bus__flush(bus);
                if (bus->wait_msg) {
                        r = 0;
                        break;
                }
                /* a hello that could not be written may still have its answer
                 * to read: a daemon refusing the connection says why first */
                if (bus->dead && (bus->eof || !bus->handshaking)) {
                        r = bus->dead;
                        break;
                }
                if (expired(deadline)) {
                        r = -ETIMEDOUT;
                        break;
                }
                r = poll_once(bus, deadline);
                if (r < 0) {
                        bus__disconnect(bus, r, "poll failed: %s", strerror(-r));
                        break;
                }
        }
        bus->wait_id = 0;
        if (r == 0) {
                *ret = bus->wait_msg;
                bus->wait_msg = NULL;
        }
        return r;
}

int loop_flush_until(struct bus *bus, size_t target, int64_t deadline)
{
        for (;;) {
                if (bus->dead)
                        return bus->dead;
                if (transport_queued(&bus->t) > target && bus__flush(bus) < 0)
                        return bus->dead;
                if (transport_queued(&bus->t) <= target)
                        return 0;
                if (expired(deadline))
                        return -ETIMEDOUT;
                int r = poll_once(bus, deadline);
                if (r < 0) {
                        bus__disconnect(bus, r, "poll failed: %s", strerror(-r));
                        return r;
                }
        }
}

static void report_dropped(struct bus *bus, uint64_t count)
{
        bus->drops_total += count;
        if (bus->dropped_fn)
                bus->dropped_fn(bus, count, bus->drops_total, bus->dropped_ud);
}

/* Dispatches one message; takes m. */
static void dispatch(struct bus *bus, struct inmsg *m)
{
        switch (m->type) {
        case INMSG_REPLY:
        case INMSG_ERROR:
                /* an error that answers nothing pending: a failed one-way call, a
                 * refused publish, a late answer to a call we gave up on, ... */
                if (!call_dispatch_answer(bus, m) && m->type == INMSG_ERROR && bus->error_fn)
                        bus->error_fn(bus, m->code, m->message, bus->error_ud);
                break;
        case INMSG_CALL:
                method_dispatch(bus, m);
                return;
        case INMSG_EVENT:
                event_dispatch(bus, m);
                break;
        case INMSG_DROPPED:
        case INMSG_LOCAL_DROPPED:
                report_dropped(bus, m->count);
                break;
        case INMSG_NAME_ACQUIRED:
        case INMSG_NAME_LOST:
                name_dispatch(bus, m);
                break;
        case INMSG_WELCOME:
                bus__disconnect(bus, -EPROTO, "the daemon sent a second welcome");
                break;
        case INMSG_LOCAL_DISCONNECTED:
        case INMSG_LOCAL_RECONNECTED:
        case INMSG_LOCAL_ERROR:
                reconnect_dispatch(bus, m);
                break;
        }
        inmsg_free(m);
}

int bus_process(struct bus *bus)
{
        bool did = false;
        struct list *l;

        if (transport_queued(&bus->t) > 0 && bus__flush(bus) > 0)
                did = true;
        if (list_empty(&bus->inq) && !bus->eof) {
                if (loop_read(bus, BUS_PROCESS_READ_BUDGET) > 0)
                        did = true;
                else if (bus->dead)
                        bus->eof = true; /* all the daemon sent before the failure is read */
        }
        if (reconnect_step(bus, false))
                did = true;
        /* only what is queued now: handlers that block may queue more */
        uint64_t last = bus->in_seq;
        while ((l = list_first(&bus->inq))) {
                struct inmsg *m = list_entry(l, struct inmsg, link);
                if (m->seq > last)
                        break;
                list_unlink(l);
                bus->inq_bytes -= m->size;
                dispatch(bus, m);
                did = true;
        }
        event_sweep(bus);
        if (call_expire(bus, bus__now_ms()) > 0)
                did = true;
        if (transport_queued(&bus->t) > 0)
                bus__flush(bus);
        if (bus->dead && bus->eof && !(bus->reconnect && bus->connect_fn) && list_empty(&bus->inq)) {
                /* finished: the disconnected notice was dispatched; this is a safety net */
                call_fail_all(bus);
                bus__fail_closed(bus);
                return bus->dead;
        }
        return did;
}

int bus_get_fd(const struct bus *bus)
{
        return bus->epfd >= 0 ? bus->epfd : bus->t.fd;
}

int bus_get_events(const struct bus *bus)
{
        if (bus->epfd >= 0)
                return POLLIN; /* an epoll fd is only ever readable */
        return POLLIN | (transport_queued(&bus->t) > 0 ? POLLOUT : 0);
}

/* True when bus_process() has work whatever the fd says. */
static bool ready_now(const struct bus *bus)
{
        if (!list_empty(&bus->inq))
                return true;
        if (bus->state == BUS_WAITING) /* no socket; only a finished bus has work */
                return !(bus->reconnect && bus->connect_fn);
        if (bus->dead)
                return true; /* the end of a connection to handle */
        /* output not tried yet; once a write left some, the fd says when there is room */
        return transport_queued(&bus->t) > 0 && !bus->out_blocked;
}

int bus_get_timeout(const struct bus *bus)
{
        if (ready_now(bus))
                return 0;
        int64_t d = call_next_deadline(bus), r = reconnect_deadline(bus);
        if (r >= 0 && (d < 0 || r < d))
                d = r;
        if (d < 0)
                return -1;
        int64_t left = d - bus__now_ms();
        return left < 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
}

int loop_watch_init(struct bus *bus)
{
        bus->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (bus->epfd < 0)
                return -errno;
        return loop_watch(bus);
}

/* Level-triggered: the epoll fd is readable exactly while the socket has what
 * we wait for, so any kind of event loop can watch it. */
static int watch_ctl(struct bus *bus, int op, bool out)
{
        struct epoll_event ev = { .events = EPOLLIN | (out ? EPOLLOUT : 0), .data.fd = bus->t.fd };

        if (epoll_ctl(bus->epfd, op, bus->t.fd, &ev) < 0)
                return -errno;
        bus->ep_out = out;
        return 0;
}

int loop_watch(struct bus *bus)
{
        bus->out_blocked = false;
        if (bus->epfd < 0 || bus->t.fd < 0)
                return 0;
        return watch_ctl(bus, EPOLL_CTL_ADD, false);
}

void loop_unwatch(struct bus *bus)
{
        if (bus->epfd >= 0 && bus->t.fd >= 0)
                epoll_ctl(bus->epfd, EPOLL_CTL_DEL, bus->t.fd, NULL);
        bus->ep_out = false;
        bus->out_blocked = false;
}

void loop_set_blocked(struct bus *bus, bool blocked)
{
        bus->out_blocked = blocked;
        /* only when it changes: no syscall per write while the socket takes everything */
        if (bus->epfd >= 0 && bus->t.fd >= 0 && blocked != bus->ep_out)
                watch_ctl(bus, EPOLL_CTL_MOD, blocked);
}

int bus_flush(struct bus *bus)
{
        if (loop_flush_until(bus, 0, -1) < 0)
                return bus__fail_closed(bus);
        return 0;
}

int bus_wait(struct bus *bus, int timeout_ms)
{
        int t = bus_get_timeout(bus);

        if (t == 0)
                return 1;
        if (transport_queued(&bus->t) > 0 && bus__flush(bus) < 0)
                return 1; /* bus_process() reports it */
        if (timeout_ms >= 0 && (t < 0 || timeout_ms < t))
                t = timeout_ms;
        struct pollfd p = { .fd = bus_get_fd(bus), .events = (short)bus_get_events(bus) };
        int n = poll(&p, 1, t);
        if (n < 0)
                return bus__fail(bus, -errno, NULL, "poll failed: %s", strerror(errno));
        if (n > 0 || bus_get_timeout(bus) == 0)
                return 1;
        return 0;
}

int bus_run(struct bus *bus)
{
        for (;;) {
                if (bus->quit) {
                        bus->quit = false;
                        return bus->quit_code;
                }
                int r = bus_process(bus);
                if (r < 0)
                        return r;
                /* after work, process again, unless the last read emptied the socket
                 * and nothing is queued: that call would only read EAGAIN */
                if (bus->quit || (r > 0 && !(bus->t.drained && list_empty(&bus->inq))))
                        continue;
                r = bus_wait(bus, -1);
                if (r < 0 && r != -EINTR)
                        return r;
        }
}

void bus_on_error(struct bus *bus, bus_error_fn fn, void *userdata)
{
        bus->error_fn = fn;
        bus->error_ud = userdata;
}

void bus_quit(struct bus *bus, int code)
{
        bus->quit = true;
        bus->quit_code = code;
}
