/* reconnect.c: the end of a connection and, for a bus_open() bus, the
 * connections after it. No callbacks run here: the application hears of it
 * through notices put in the incoming queue, so that they keep their place in
 * the order of delivery, and only bus_process() dispatches them.
 *
 *   CONNECTED --its end; all it sent is read--> WAITING   notice "disconnected"
 *   WAITING --retry_at; connect() fails--> WAITING        (next delay)
 *   WAITING --retry_at; connected--> HELLO                (hello sent)
 *   HELLO --error, end, no welcome by retry_at--> WAITING (next delay)
 *   HELLO --welcome--> CONNECTED, restoring: request_name, declare and
 *           subscribe are queued at once, before anything the application
 *           sends, so the daemon handles them first. Their answers are taken
 *           here on arrival (notices for names that changed hands and for
 *           refusals), and after the last one comes the notice "reconnected".
 *
 * The "disconnected" notice fails the asynchronous calls made on the
 * connection that ended (call_fail_gen()), after the answers that connection
 * did deliver. A connection that ends before its restoration is complete
 * counts as one more failed attempt: the application, which has not been
 * told of it, is not told of its end either.
 */
#include "bus-internal.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

enum { RESTORE_NAME = 1, RESTORE_SUB, RESTORE_DECLARE };

int64_t reconnect_delay_ms(unsigned attempt, uint64_t rnd)
{
        int64_t base = BUS_RECONNECT_MIN_MS;

        for (unsigned i = 1; i < attempt && base < BUS_RECONNECT_MAX_MS; i++)
                base *= 2;
        if (base > BUS_RECONNECT_MAX_MS)
                base = BUS_RECONNECT_MAX_MS;
        /* [base/2, 3*base/2): clients that lost the same daemon spread out */
        return base / 2 + (int64_t)(rnd % (uint64_t)base);
}

/* xorshift64*: jitter, not cryptography; per bus, so no shared state. */
static uint64_t next_random(struct bus *bus)
{
        uint64_t x = bus->rng;

        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        bus->rng = x;
        return x * 0x2545F4914F6CDD1DULL;
}

static void seed(struct bus *bus)
{
        uint64_t s = 0;

        if (getrandom(&s, sizeof(s), GRND_NONBLOCK) != (ssize_t)sizeof(s)) {
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                s = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ ((uint64_t)getpid() << 16) ^
                    (uint64_t)(uintptr_t)bus;
        }
        bus->rng = s ? s : 0x9E3779B97F4A7C15ULL;
}

static void schedule(struct bus *bus)
{
        bus->retry_at = bus__now_ms() + reconnect_delay_ms(bus->attempts + 1, next_random(bus));
}

/* The disconnected notice is allocated while connected, so that the end of a
 * connection is always reported, out of memory or not. */
static int prepare_lost_msg(struct bus *bus)
{
        if (!bus->lost_msg)
                bus->lost_msg = inmsg_new_local(INMSG_LOCAL_DISCONNECTED, "");
        return bus->lost_msg ? 0 : -ENOMEM;
}

int reconnect_init(struct bus *bus, const char *display_name)
{
        int r = prepare_lost_msg(bus);

        bus->announced = true;
        if (r == 0 && bus->connect_fn) {
                if (display_name && !(bus->display_name = strdup(display_name)))
                        r = -ENOMEM;
                seed(bus);
                bus->reconnect = true;
                if (r == 0 && (r = loop_watch_init(bus)) < 0)
                        return bus__fail(bus, r, NULL, "cannot make the epoll fd: %s", strerror(-r));
        }
        return r < 0 ? bus__fail(bus, r, NULL, "out of memory") : 0;
}

static void restore_clear(struct bus *bus)
{
        for (size_t i = 0; i < bus->n_restore; i++) {
                free(bus->restore[i].key);
                inmsg_free(bus->restore[i].note);
        }
        free(bus->restore);
        bus->restore = NULL;
        bus->n_restore = bus->restore_cap = bus->restore_left = 0;
        bus->restore_failed = 0;
}

void reconnect_free(struct bus *bus)
{
        restore_clear(bus);
        inmsg_free(bus->lost_msg);
        bus->lost_msg = NULL;
        inmsg_free(bus->back_msg);
        bus->back_msg = NULL;
        free(bus->display_name);
        bus->display_name = NULL;
}

/* Appends a notice (takes m) to the incoming queue. */
static void notice(struct bus *bus, struct inmsg *m)
{
        m->seq = ++bus->in_seq;
        m->gen = bus->gen;
        list_append(&bus->inq, &m->link);
        bus->inq_bytes += m->size;
}

/* A notice for bus_on_error() (a restore that could not even be sent). */
static void local_error(struct bus *bus, const char *what, const char *why)
{
        char text[BUS_MAX_ERROR_MESSAGE];
        struct inmsg *m;

        snprintf(text, sizeof(text), "%s after reconnecting failed: %s", what, why);
        if ((m = inmsg_new_local(INMSG_LOCAL_ERROR, text))) {
                m->code = "failed";
                notice(bus, m);
        }
}

/* Between connections: no socket, the next attempt scheduled. */
static void to_waiting(struct bus *bus)
{
        loop_unwatch(bus);
        transport_reset(&bus->t, -1); /* without a socket, a failed realloc changes nothing */
        restore_clear(bus);
        inmsg_free(bus->back_msg);
        bus->back_msg = NULL;
        bus->state = BUS_WAITING;
        bus->dead = -ENOTCONN;
        bus->eof = true;
        bus->lost = true;
        schedule(bus);
}

/* The connection has ended and all it sent is read (dead and eof). */
static void conn_lost(struct bus *bus)
{
        struct inmsg *m = bus->lost_msg;
        bool again = bus->reconnect && bus->connect_fn;

        bus->lost = true;
        bus->lost_msg = NULL;
        if (m) {
                inmsg_set_text(m, bus->dead_why); /* out of memory: an empty text */
                m->error = bus->dead;
                m->notify = bus->announced;
                m->reconnecting = again;
                notice(bus, m);
        }
        bus->gen++;
        bus->unique[0] = 0;
        if (bus->announced)
                bus->attempts = 0; /* else it was the restoration of an attempt, which failed */
        bus->announced = false;
        if (again)
                to_waiting(bus);
}

static int send_hello(struct bus *bus)
{
        struct outmsg m;
        int r;

        bus->hello_id = bus__id(bus);
        outmsg_begin(&m, &bus->t, BUS_MAX_DEPTH, "hello");
        outmsg_uint(&m, "id", bus->hello_id);
        outmsg_uint(&m, "protocol", BUS_PROTOCOL_VERSION);
        if (bus->display_name)
                outmsg_string(&m, "name", bus->display_name);
        r = outmsg_end(&m, BUS_MAX_HELLO_MESSAGE);
        if (r < 0)
                return r;
        ssize_t w = bus__flush(bus);
        return w < 0 ? (int)w : 0;
}

/* One connection attempt (connect and hello, without blocking). */
static void attempt(struct bus *bus)
{
        int fd, r;

        bus->attempts++;
        r = bus->connect_fn(bus, &fd);
        if (r < 0) {
                snprintf(bus->dead_why, sizeof(bus->dead_why), "connection attempt %u failed: %s", bus->attempts,
                         strerror(-r));
                schedule(bus);
                return;
        }
        r = transport_reset(&bus->t, fd);
        bus->state = BUS_HELLO;
        bus->dead = 0;
        bus->eof = false;
        bus->lost = false;
        bus->retry_at = bus__now_ms() + BUS_HELLO_TIMEOUT_MS;
        if (r == 0)
                r = prepare_lost_msg(bus);
        if (r == 0)
                r = loop_watch(bus);
        if (r == 0)
                r = send_hello(bus);
        if (r < 0) {
                snprintf(bus->dead_why, sizeof(bus->dead_why), "connection attempt %u failed: %s", bus->attempts,
                         strerror(-r));
                to_waiting(bus);
        }
}

/* A slot for an answer the restoration waits for; its id (the next one) in
 * *ret_id. NULL when out of memory. */
static struct restore *expect(struct bus *bus, const char *key, uint64_t *ret_id)
{
        if (bus->n_restore == bus->restore_cap) {
                size_t cap = bus->restore_cap ? bus->restore_cap * 2 : 16;
                struct restore *p = realloc(bus->restore, cap * sizeof(*p));
                if (!p)
                        return NULL;
                bus->restore = p;
                bus->restore_cap = cap;
        }
        struct restore *x = &bus->restore[bus->n_restore];
        memset(x, 0, sizeof(*x));
        if (key && !(x->key = strdup(key)))
                return NULL;
        bus->n_restore++;
        *ret_id = bus__id(bus); /* == restore_first + index: ids are taken only here meanwhile */
        return x;
}

static int restore_name(struct bus *bus, const char *name, unsigned flags, void *ud)
{
        uint64_t id;
        struct restore *x = expect(bus, name, &id);

        if (!x || !(x->note = inmsg_new_local(INMSG_NAME_LOST, name)))
                return -ENOMEM;
        int r = name_send_request(bus, id, name, flags);
        if (r < 0)
                return r;
        x->kind = RESTORE_NAME;
        bus->restore_left++;
        return 0;
}

static int restore_sub(struct bus *bus, const char *pattern, unsigned flags, void *ud)
{
        uint64_t id;
        struct restore *x = expect(bus, pattern, &id);

        if (!x)
                return -ENOMEM;
        int r = event_send_subscribe(bus, id, pattern, flags);
        if (r < 0)
                return r;
        x->kind = RESTORE_SUB;
        bus->restore_left++;
        return 0;
}

static int restore_declare(struct bus *bus)
{
        uint64_t id;

        if (list_empty(&bus->methods))
                return 0;
        struct restore *x = expect(bus, NULL, &id);
        if (!x)
                return -ENOMEM;
        int r = method_restore(bus, id);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                /* the new daemon's limits do not take the declarations: refused, not a reason to give up */
                bus->restore_failed++;
                local_error(bus, "declaring the methods", strerror(-r));
                return 0;
        }
        x->kind = RESTORE_DECLARE;
        bus->restore_left++;
        return 0;
}

static void restore_done(struct bus *bus)
{
        struct inmsg *m = bus->back_msg;

        bus->back_msg = NULL;
        m->count = bus->attempts;
        m->total = bus->restore_failed;
        notice(bus, m);
        bus->announced = true;
        restore_clear(bus);
}

/* The welcome came: queue what restores the bus, ahead of anything else. */
static int restore_start(struct bus *bus)
{
        int r;

        restore_clear(bus);
        if (!bus->back_msg && !(bus->back_msg = inmsg_new_local(INMSG_LOCAL_RECONNECTED, "")))
                return -ENOMEM;
        bus->restore_first = bus->next_id;
        r = name_for_each(bus, restore_name, NULL);
        if (r == 0)
                r = restore_declare(bus);
        if (r == 0)
                r = event_for_each(bus, restore_sub, NULL);
        if (r < 0)
                return r;
        bus->state = BUS_CONNECTED;
        if (bus->restore_left == 0)
                restore_done(bus);
        bus__flush(bus); /* a failure ends the connection: seen by the next step */
        return 0;
}

/* The first message on a new connection answers its hello. */
static int hello_answer(struct bus *bus, struct inmsg *m)
{
        int r;

        if (m->type == INMSG_WELCOME && (!m->has_id || m->id == bus->hello_id)) {
                r = bus__apply_welcome(bus, m);
                inmsg_free(m);
                if (r == 0)
                        r = restore_start(bus);
                if (r < 0) {
                        restore_clear(bus);
                        bus__disconnect(bus, r, "restoring the bus on the new connection failed: %s", strerror(-r));
                        return r;
                }
                return 1;
        }
        if (m->type == INMSG_ERROR)
                bus__disconnect(bus, -EPROTO, "the daemon refused the hello: %s: %s", m->code, m->message);
        else
                bus__disconnect(bus, -EPROTO, "the daemon answered the hello with an unexpected %s",
                                inmsg_type_name(m->type));
        inmsg_free(m);
        return -EPROTO;
}

static const char *answer_status(struct inmsg *m)
{
        struct json_object *st = m->type == INMSG_REPLY ? inmsg_member(m, "status") : NULL;

        if (!json_object_is_type(st, json_type_string))
                return NULL;
        return json_object_get_string(st);
}

/* Puts a refusal in the queue for bus_on_error(), saying what it refused. */
static void refused(struct bus *bus, struct inmsg *m, const char *what, const char *key)
{
        char text[BUS_MAX_ERROR_MESSAGE + 300];

        snprintf(text, sizeof(text), "%s '%s' after reconnecting was refused: %s", what, key ? key : "", m->message);
        inmsg_set_text(m, text); /* out of memory: the daemon's message alone */
        m->type = INMSG_LOCAL_ERROR;
        notice(bus, m);
}

/* Takes m, the answer to restore item x. */
static void restored(struct bus *bus, struct restore *x, struct inmsg *m)
{
        bool error = m->type == INMSG_ERROR;

        switch (x->kind) {
        case RESTORE_NAME: {
                int c = name_restored(bus, x->key, answer_status(m));
                if (c != 0) {
                        x->note->type = c > 0 ? INMSG_NAME_ACQUIRED : INMSG_NAME_LOST;
                        notice(bus, x->note);
                        x->note = NULL;
                }
                if (c < 0)
                        bus->restore_failed++;
                if (error)
                        refused(bus, m, "requesting the name", x->key);
                else
                        inmsg_free(m);
                return;
        }
        case RESTORE_SUB:
                if (error) {
                        event_restore_failed(bus, x->key);
                        bus->restore_failed++;
                        refused(bus, m, "subscribing to", x->key);
                        return;
                }
                event_restored(bus, x->key, m);
                break;
        case RESTORE_DECLARE:
                if (error) {
                        bus->restore_failed++;
                        refused(bus, m, "declaring the methods", NULL);
                        return;
                }
                break;
        }
        inmsg_free(m);
}

int reconnect_intercept(struct bus *bus, struct inmsg *m)
{
        if (bus->state == BUS_HELLO)
                return hello_answer(bus, m);
        if ((m->type != INMSG_REPLY && m->type != INMSG_ERROR) || !m->has_id || m->id < bus->restore_first ||
            m->id - bus->restore_first >= bus->n_restore)
                return 0;
        struct restore *x = &bus->restore[m->id - bus->restore_first];
        if (!x->kind || !inmsg_answers(m, m->id))
                return 0;
        restored(bus, x, m);
        x->kind = 0;
        if (--bus->restore_left == 0)
                restore_done(bus);
        return 1;
}

bool reconnect_step(struct bus *bus, bool from_send)
{
        bool did = false;

        if (bus->reading)
                return false;
        if (from_send && bus->state == BUS_CONNECTED && bus->dead) {
                /* what the daemon sent before it went is queued first (bounded:
                 * a peer that goes on writing to a connection that failed is
                 * not worth more than this) */
                for (int i = 0; i < 64 && !bus->eof; i++)
                        if (loop_read(bus, BUS_READ_BUDGET) <= 0)
                                break;
                bus->eof = true;
        }
        if (bus->state == BUS_CONNECTED && bus->dead && bus->eof && !bus->lost) {
                conn_lost(bus);
                did = true;
        }
        if (!(bus->reconnect && bus->connect_fn) || bus->state == BUS_CONNECTED)
                return did;
        if (bus->state == BUS_HELLO && from_send && !bus->dead)
                loop_read(bus, BUS_READ_BUDGET); /* the welcome may be waiting */
        int64_t now = bus__now_ms();
        if (bus->state == BUS_HELLO && (bus->dead || now >= bus->retry_at)) {
                if (!bus->dead)
                        snprintf(bus->dead_why, sizeof(bus->dead_why), "connection attempt %u: no welcome within %d ms",
                                 bus->attempts, BUS_HELLO_TIMEOUT_MS);
                to_waiting(bus);
                did = true;
        }
        if (bus->state == BUS_WAITING && now >= bus->retry_at) {
                attempt(bus);
                did = true;
        }
        return did;
}

int64_t reconnect_deadline(const struct bus *bus)
{
        if (bus->state == BUS_CONNECTED || !(bus->reconnect && bus->connect_fn))
                return -1;
        return bus->retry_at;
}

void reconnect_dispatch(struct bus *bus, struct inmsg *m)
{
        switch (m->type) {
        case INMSG_LOCAL_DISCONNECTED:
                call_fail_gen(bus, m->gen, m->message);
                if (m->notify && bus->disconnect_fn)
                        bus->disconnect_fn(bus, m->error, m->message, m->reconnecting, bus->disconnect_ud);
                break;
        case INMSG_LOCAL_RECONNECTED:
                if (bus->reconnect_fn)
                        bus->reconnect_fn(bus, (unsigned)m->count, (unsigned)m->total, bus->reconnect_ud);
                break;
        case INMSG_LOCAL_ERROR:
                if (bus->error_fn)
                        bus->error_fn(bus, m->code, m->message, bus->error_ud);
                break;
        default:
                break;
        }
}

int bus_set_reconnect(struct bus *bus, bool enable)
{
        if (enable && !bus->connect_fn)
                return bus__fail(bus, -EOPNOTSUPP, NULL, "a bus opened with bus_open_fd() cannot reconnect");
        if (enable == bus->reconnect)
                return 0;
        bus->reconnect = enable;
        if (enable && bus->lost) {
                /* a finished bus starts over */
                bus->attempts = 0;
                to_waiting(bus);
                bus->retry_at = bus__now_ms();
        } else if (!enable && bus->state != BUS_CONNECTED) {
                /* between connections: the bus is finished */
                loop_unwatch(bus);
                transport_reset(&bus->t, -1);
                restore_clear(bus);
                bus->state = BUS_WAITING;
                bus->dead = -ECONNRESET;
                bus->eof = true;
                bus->lost = true;
                snprintf(bus->dead_why, sizeof(bus->dead_why), "reconnecting was turned off");
        }
        return 0;
}

bool bus_is_connected(const struct bus *bus)
{
        return bus__connected(bus);
}

void bus_on_disconnect(struct bus *bus, bus_disconnect_fn fn, void *userdata)
{
        bus->disconnect_fn = fn;
        bus->disconnect_ud = userdata;
}

void bus_on_reconnect(struct bus *bus, bus_reconnect_fn fn, void *userdata)
{
        bus->reconnect_fn = fn;
        bus->reconnect_ud = userdata;
}
