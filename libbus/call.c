/* call.c: outgoing calls. Blocking calls wait in loop_wait_answer();
 * asynchronous calls wait in a list of pending entries, answered from
 * bus_process() or failed by their timeout (then `cancel` is sent) or by the
 * end of the connection they were made on (the disconnected notice, which
 * comes after everything that connection delivered). One-way calls expect
 * nothing.
 *
 * The pending list is searched linearly: the daemon allows each client
 * max_pending_calls (default 256) calls at once.
 */
#include "bus-internal.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errcode.h"
#include "syntax.h"

struct pending {
        struct list link;
        uint64_t id;
        uint64_t gen;     /* the connection it was sent on */
        int64_t deadline; /* monotonic ms */
        int timeout_ms;
        bus_reply_fn fn;
        void *userdata;
};

static int check_call(struct bus *bus, const char *dest, const char *method)
{
        uint64_t unused;

        /* BUS/NAME: NAME on another bus of the bridge (docs/protocol.md §4.9) */
        if (!dest || (!syntax_is_name(dest, strlen(dest)) && !syntax_parse_unique(dest, strlen(dest), &unused) &&
                      !syntax_is_remote_dest(dest, strlen(dest))))
                return bus__fail(bus, -EINVAL, NULL,
                                 "'%s' is neither a well-known name, a unique id nor BUS/NAME (a name on "
                                 "another bus of the bridge)",
                                 dest ? dest : "(null)");
        if (!method || !syntax_is_method(method, strlen(method)))
                return bus__fail(bus, -EINVAL, NULL, "'%s' is not a valid method name", method ? method : "(null)");
        return 0;
}

/* Checks and queues a call message up to its end; the id is taken only once
 * the message is sure to be sent, so that ids stay consecutive. */
static int begin_call(struct bus *bus, struct outmsg *m, const char *dest, const char *method,
                      struct json_object *params, bool oneway, bool may_refuse, uint64_t *ret_id)
{
        int r = check_call(bus, dest, method);

        if (r == 0)
                r = may_refuse ? bus__send_begin_try(bus, m, "call") : bus__send_begin(bus, m, "call");
        if (r < 0)
                return r;
        *ret_id = bus__id(bus);
        outmsg_uint(m, "id", *ret_id);
        outmsg_string(m, "dest", dest);
        outmsg_string(m, "method", method);
        if (params)
                outmsg_json(m, "params", params);
        if (oneway)
                outmsg_bool(m, "oneway", true);
        return 0;
}

/* Tells the daemon we stopped waiting for a call made on connection gen.
 * Best effort and silent: it must not replace the error being reported (the
 * timeout). */
static void send_cancel(struct bus *bus, uint64_t id, uint64_t gen)
{
        struct outmsg m;

        if (!bus__connected(bus) || gen != bus->gen)
                return;
        outmsg_begin(&m, &bus->t, (int)bus->limits.max_depth, "cancel");
        outmsg_uint(&m, "id", id);
        if (outmsg_end(&m, bus->limits.max_message) == 0)
                bus__flush(bus);
}

int bus_call(struct bus *bus, const char *dest, const char *method, struct json_object *params, int timeout_ms,
             struct json_object **ret_result)
{
        struct inmsg *a;
        struct outmsg m;
        uint64_t id;
        int r;

        r = begin_call(bus, &m, dest, method, params, false, false, &id);
        if (r < 0)
                return r;
        r = bus__request(bus, &m, id, timeout_ms, &a);
        if (r == -ETIMEDOUT)
                send_cancel(bus, id, bus->gen);
        if (r < 0)
                return r;
        if (ret_result) {
                struct json_object *res;
                if (inmsg_tree(a, &res) < 0) {
                        inmsg_free(a);
                        return bus__fail(bus, -ENOMEM, NULL, "out of memory: the result could not be built");
                }
                *ret_result = json_object_get(res);
        }
        inmsg_free(a);
        return 0;
}

int bus_call_async(struct bus *bus, const char *dest, const char *method, struct json_object *params, int timeout_ms,
                   bus_reply_fn fn, void *userdata, uint64_t *ret_cookie)
{
        struct pending *p;
        struct outmsg m;
        int r;

        if (!fn)
                return bus__fail(bus, -EINVAL, NULL, "bus_call_async needs a callback");
        p = calloc(1, sizeof(*p));
        if (!p)
                return bus__fail(bus, -ENOMEM, NULL, "out of memory");
        r = begin_call(bus, &m, dest, method, params, false, true, &p->id);
        if (r == 0)
                r = bus__send_end(bus, &m);
        if (r < 0) {
                free(p);
                return r;
        }
        p->gen = bus->gen;
        p->timeout_ms = timeout_ms < 0 ? BUS_DEFAULT_TIMEOUT_MS : timeout_ms;
        p->deadline = bus__now_ms() + p->timeout_ms;
        p->fn = fn;
        p->userdata = userdata;
        list_append(&bus->pending, &p->link);
        if (ret_cookie)
                *ret_cookie = p->id;
        return 0;
}

int bus_call_cancel(struct bus *bus, uint64_t cookie)
{
        list_for_each(l, &bus->pending)
        {
                struct pending *p = list_entry(l, struct pending, link);
                if (p->id == cookie) {
                        list_unlink(&p->link);
                        send_cancel(bus, p->id, p->gen);
                        free(p);
                        return 0;
                }
        }
        return bus__fail(bus, -ENOENT, NULL, "no asynchronous call %llu is pending", (unsigned long long)cookie);
}

int bus_call_oneway(struct bus *bus, const char *dest, const char *method, struct json_object *params)
{
        struct outmsg m;
        uint64_t id;
        int r = begin_call(bus, &m, dest, method, params, true, true, &id);

        return r < 0 ? r : bus__send_end(bus, &m);
}

/* Runs p's callback and frees p (already unlinked). */
static void complete(struct bus *bus, struct pending *p, const struct bus_reply *reply)
{
        p->fn(bus, reply, p->userdata);
        free(p);
}

bool call_dispatch_answer(struct bus *bus, struct inmsg *m)
{
        list_for_each(l, &bus->pending)
        {
                struct pending *p = list_entry(l, struct pending, link);
                if (p->gen != m->gen || !inmsg_answers(m, p->id))
                        continue;
                struct bus_reply r = { .sender = m->sender };
                if (m->type == INMSG_ERROR) {
                        r.error = -EREMOTEIO;
                        r.code = m->code;
                        r.message = m->message;
                }
                if (inmsg_tree(m, &r.result) < 0) {
                        r.error = -ENOMEM;
                        r.code = ERRCODE_INTERNAL;
                        r.message = "out of memory: the answer could not be built";
                }
                list_unlink(&p->link);
                complete(bus, p, &r);
                return true;
        }
        return false;
}

unsigned call_expire(struct bus *bus, int64_t now)
{
        unsigned n = 0;

        /* restart the scan after each callback: it may cancel other calls */
        for (;;) {
                struct pending *p = NULL;
                list_for_each(l, &bus->pending)
                {
                        struct pending *q = list_entry(l, struct pending, link);
                        if (q->deadline <= now) {
                                p = q;
                                break;
                        }
                }
                if (!p)
                        return n;
                char text[64];
                snprintf(text, sizeof(text), "no answer within %d ms", p->timeout_ms);
                struct bus_reply r = { .error = -ETIMEDOUT, .code = ERRCODE_TIMEOUT, .message = text };
                list_unlink(&p->link);
                send_cancel(bus, p->id, p->gen);
                complete(bus, p, &r);
                n++;
        }
}

int64_t call_next_deadline(const struct bus *bus)
{
        int64_t d = -1;

        list_for_each(l, &bus->pending)
        {
                const struct pending *p = list_entry(l, struct pending, link);
                if (d < 0 || p->deadline < d)
                        d = p->deadline;
        }
        return d;
}

unsigned call_fail_gen(struct bus *bus, uint64_t gen, const char *why)
{
        struct bus_reply r = { .error = -ECONNRESET, .code = ERRCODE_DISCONNECTED, .message = why };
        unsigned n = 0;

        /* restart the scan after each callback: it may cancel or make calls */
        for (;;) {
                struct pending *p = NULL;
                list_for_each(l, &bus->pending)
                {
                        struct pending *q = list_entry(l, struct pending, link);
                        if (q->gen <= gen) {
                                p = q;
                                break;
                        }
                }
                if (!p)
                        return n;
                list_unlink(&p->link);
                complete(bus, p, &r);
                n++;
        }
}

unsigned call_fail_all(struct bus *bus)
{
        struct bus_reply r = { .error = -ECONNRESET, .code = ERRCODE_DISCONNECTED, .message = bus->dead_why };
        unsigned n = 0;
        struct list *l;

        while ((l = list_first(&bus->pending))) {
                list_unlink(l);
                complete(bus, list_entry(l, struct pending, link), &r);
                n++;
        }
        return n;
}

int bus_get_pidfd(struct bus *bus, const char *peer, int *ret_fd, pid_t *ret_pid)
{
        struct json_object *params, *res = NULL, *v;
        int r;

        if (!peer || !ret_fd)
                return bus__fail(bus, -EINVAL, NULL, "bus_get_pidfd needs a peer and ret_fd");
        params = json_object_new_object();
        struct json_object *p = json_object_new_string(peer);
        if (!params || !p || json_object_object_add(params, "peer", p) < 0) {
                json_object_put(p);
                json_object_put(params);
                return bus__fail(bus, -ENOMEM, NULL, "out of memory");
        }
        r = bus_call(bus, BUS_DAEMON_NAME, "pidfd", params, BUS_TIMEOUT_DEFAULT, &res);
        json_object_put(params);
        if (r == -EREMOTEIO && bus_last_error_code(bus)) {
                if (strcmp(bus_last_error_code(bus), ERRCODE_NO_OWNER) == 0)
                        return -ENOENT; /* the message stays as the daemon said it */
                if (strcmp(bus_last_error_code(bus), ERRCODE_UNSUPPORTED) == 0)
                        return -EOPNOTSUPP;
        }
        if (r < 0)
                return r;
        /* the answer names the ordinal of its descriptor on this connection */
        int64_t ord = json_object_object_get_ex(res, "fd", &v) && json_object_is_type(v, json_type_int)
                              ? json_object_get_int64(v)
                              : 0;
        pid_t pid = json_object_object_get_ex(res, "pid", &v) ? (pid_t)json_object_get_int64(v) : 0;
        json_object_put(res);
        int fd = ord > 0 ? transport_take_fd(&bus->t, (uint64_t)ord) : -1;
        if (fd < 0)
                return bus__fail(bus, -EPROTO, NULL, "the daemon's pidfd answer came without its descriptor");
        *ret_fd = fd;
        if (ret_pid)
                *ret_pid = pid;
        return 0;
}
