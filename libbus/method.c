/* method.c: serving methods. The handler table with each method's
 * declaration (sent whole with `declare` whenever it changes), dispatch of
 * incoming calls, and the answers: from the handler, automatic when the
 * handler returns without answering, or later for deferred calls. Every call
 * that expects an answer gets exactly one, even when the handler's answer
 * cannot be sent (then an error "failed" takes its place) — unless the
 * connection it came on has ended: then the answer has nowhere to go (its
 * id means nothing on the next connection) and is dropped.
 */
#include "bus-internal.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errcode.h"
#include "jsonparse.h"
#include "jsonscan.h"
#include "syntax.h"

struct method {
        struct list link;
        struct json_object *decl; /* {"name", "description", "params", "result"} */
        bus_method_fn fn;
        void *userdata;
};

struct bus_call {
        struct list link; /* in bus->deferred once deferred */
        struct bus *bus;
        struct inmsg *msg;
        bool in_handler; /* the handler is running: answers are sent, freeing waits */
        bool answered;
        bool deferred;
};

static const char *method_name(const struct method *me)
{
        struct json_object *v;

        json_object_object_get_ex(me->decl, "name", &v);
        return json_object_get_string(v);
}

static struct method *find(struct bus *bus, const char *name)
{
        list_for_each(l, &bus->methods)
        {
                struct method *me = list_entry(l, struct method, link);
                if (strcmp(method_name(me), name) == 0)
                        return me;
        }
        return NULL;
}

static struct json_object *all_decls(struct bus *bus)
{
        struct json_object *all = json_object_new_array();

        if (all)
                list_for_each(l, &bus->methods)
                        json_object_array_add(all, json_object_get(list_entry(l, struct method, link)->decl));
        return all;
}

/* Sends the full declaration list (non-blocking, without id: a refusal comes
 * back as an unsolicited error, see bus_on_error()). */
static int send_declare(struct bus *bus)
{
        struct json_object *all = all_decls(bus);
        struct outmsg m;
        int r;

        if (!all)
                return bus__fail(bus, -ENOMEM, NULL, "out of memory");
        r = bus__send_begin(bus, &m, "declare");
        if (r == 0) {
                outmsg_json(&m, "methods", all);
                r = bus__send_end(bus, &m);
        }
        json_object_put(all);
        return r;
}

int method_restore(struct bus *bus, uint64_t id)
{
        struct json_object *all;
        struct outmsg m;

        if (list_empty(&bus->methods))
                return 0;
        if (!(all = all_decls(bus)))
                return -ENOMEM;
        outmsg_begin(&m, &bus->t, (int)bus->limits.max_depth, "declare");
        outmsg_uint(&m, "id", id);
        outmsg_json(&m, "methods", all);
        json_object_put(all);
        int r = outmsg_end(&m, bus->limits.max_message);
        return r < 0 ? r : 1;
}

/* Parses a shape given as JSON text into decl[key]. */
static int add_shape(struct bus *bus, struct json_object *decl, const char *key, const char *text)
{
        struct json_object *v = NULL;
        char why[160];
        int r;

        if (!text)
                return 0;
        r = jsonscan_parse(bus->scan, text, strlen(text), NULL, NULL, NULL, why, sizeof(why));
        if (r == -EINVAL)
                return bus__fail(bus, -EINVAL, NULL, "the %s shape is not valid JSON: %s", key, why);
        /* accepted by jsonscan: json-c can only run out of memory */
        if (r < 0 || jsonparse_tree(text, strlen(text), &v) < 0)
                return bus__fail(bus, -ENOMEM, NULL, "out of memory");
        if (json_object_object_add(decl, key, v) < 0) { /* steals v on success only */
                json_object_put(v);
                return bus__fail(bus, -ENOMEM, NULL, "out of memory");
        }
        return 0;
}

static int make_decl(struct bus *bus, const char *method, const char *description, const char *params_shape,
                     const char *result_shape, struct json_object **ret)
{
        struct json_object *decl = json_object_new_object();
        int r;

        if (!decl)
                return bus__fail(bus, -ENOMEM, NULL, "out of memory");
        /* every json-c constructor is checked here: a library never aborts */
        struct json_object *name = json_object_new_string(method);
        struct json_object *desc = description ? json_object_new_string(description) : NULL;
        if (!name || (description && !desc) || json_object_object_add(decl, "name", name) < 0) {
                json_object_put(name);
                json_object_put(desc);
                json_object_put(decl);
                return bus__fail(bus, -ENOMEM, NULL, "out of memory");
        }
        if (desc && json_object_object_add(decl, "description", desc) < 0) {
                json_object_put(desc);
                json_object_put(decl);
                return bus__fail(bus, -ENOMEM, NULL, "out of memory");
        }
        if ((r = add_shape(bus, decl, "params", params_shape)) < 0 ||
            (r = add_shape(bus, decl, "result", result_shape)) < 0) {
                json_object_put(decl);
                return r;
        }
        *ret = decl;
        return 0;
}

int bus_add_method(struct bus *bus, const char *method, const char *description, const char *params_shape,
                   const char *result_shape, bus_method_fn fn, void *userdata)
{
        struct json_object *decl = NULL;
        struct method *me;
        int r;

        if (!method || !syntax_is_method(method, strlen(method)))
                return bus__fail(bus, -EINVAL, NULL, "'%s' is not a valid method name", method ? method : "(null)");
        if (!fn)
                return bus__fail(bus, -EINVAL, NULL, "bus_add_method needs a handler");
        if (description &&
            (strlen(description) > BUS_MAX_DESCRIPTION || !outmsg_utf8_valid(description, strlen(description))))
                return bus__fail(bus, -EINVAL, NULL, "the description must be UTF-8 of at most %d bytes",
                                 BUS_MAX_DESCRIPTION);
        me = find(bus, method);
        if (!me && bus->n_methods >= bus->limits.max_methods)
                return bus__fail(bus, -E2BIG, NULL, "this connection already has %u methods (max_methods)",
                                 bus->n_methods);
        r = make_decl(bus, method, description, params_shape, result_shape, &decl);
        if (r < 0)
                return r;

        struct method old = { .decl = NULL };
        bool added = !me;
        if (added) {
                me = calloc(1, sizeof(*me));
                if (!me) {
                        json_object_put(decl);
                        return bus__fail(bus, -ENOMEM, NULL, "out of memory");
                }
                list_append(&bus->methods, &me->link);
                bus->n_methods++;
        } else {
                old = *me;
        }
        me->decl = decl;
        me->fn = fn;
        me->userdata = userdata;
        r = send_declare(bus);
        if (r == -ENOTCONN)
                r = 0; /* between connections: the next one declares the whole list */
        if (r < 0) {
                /* the bus keeps the declarations it had */
                json_object_put(decl);
                if (added) {
                        list_unlink(&me->link);
                        bus->n_methods--;
                        free(me);
                } else {
                        me->decl = old.decl;
                        me->fn = old.fn;
                        me->userdata = old.userdata;
                }
                return r;
        }
        json_object_put(old.decl);
        return 0;
}

static void call_free(struct bus_call *call)
{
        list_unlink(&call->link);
        inmsg_free(call->msg);
        free(call);
}

/* Sends an error answer; message is cut to the protocol's 1024 bytes. */
static int send_error(struct bus *bus, uint64_t id, const char *code, const char *message)
{
        char text[BUS_MAX_ERROR_MESSAGE + 1];
        struct outmsg m;
        size_t n;
        int r;

        n = (size_t)snprintf(text, sizeof(text), "%s", message);
        if (n >= sizeof(text)) {
                /* cut at 1024 bytes, but not inside a UTF-8 sequence */
                n = sizeof(text) - 1;
                for (int k = 0; k < 3 && !outmsg_utf8_valid(text, n); k++)
                        text[--n] = 0;
        }
        if (!outmsg_utf8_valid(text, n))
                snprintf(text, sizeof(text), "(the error message was not valid UTF-8)");
        r = bus__send_begin(bus, &m, "error");
        if (r < 0)
                return r;
        outmsg_uint(&m, "id", id);
        outmsg_string(&m, "code", code);
        outmsg_string(&m, "message", text);
        return bus__send_end(bus, &m);
}

/* result is a json-c value (NULL: null) unless json is set: a text
 * bus__check_json() accepted (spaced: as it said). */
static int send_reply(struct bus *bus, uint64_t id, struct json_object *result, const char *json, size_t len,
                      bool spaced)
{
        struct outmsg m;
        int r = bus__send_begin(bus, &m, "reply");

        if (r < 0)
                return r;
        outmsg_uint(&m, "id", id);
        if (json)
                outmsg_raw(&m, "result", json, len, spaced);
        else if (result)
                outmsg_json(&m, "result", result);
        r = bus__send_end(bus, &m);
        if (r == -EMSGSIZE || r == -EINVAL) {
                /* the caller must not wait for an answer that will never come */
                char why[sizeof(bus->err) + 40];
                snprintf(why, sizeof(why), "the reply could not be sent: %s", bus->err);
                send_error(bus, id, "failed", why);
        }
        return r;
}

/* True if the connection the call came on has ended: nothing can answer it. */
static bool stale(const struct bus_call *call)
{
        return call->msg->gen != call->bus->gen;
}

/* Marks call answered: freed now, or after its handler returns. */
static void answered(struct bus_call *call)
{
        if (call->in_handler)
                call->answered = true;
        else
                call_free(call);
}

/* bus_reply() and bus_reply_json(): send_reply()'s arguments. */
static int reply(struct bus_call *call, struct json_object *result, const char *json, size_t len, bool spaced)
{
        int r = 0;

        if (stale(call))
                r = bus__fail(call->bus, -ECONNRESET, ERRCODE_DISCONNECTED,
                              "the connection this call came on has ended: the answer is dropped");
        else if (!call->msg->oneway)
                r = send_reply(call->bus, call->msg->id, result, json, len, spaced);
        answered(call);
        return r;
}

int bus_reply(struct bus_call *call, struct json_object *result)
{
        if (!call)
                return -EINVAL;
        if (call->answered)
                return bus__fail(call->bus, -EALREADY, NULL, "the call was already answered");
        return reply(call, result, NULL, 0, false);
}

int bus_reply_json(struct bus_call *call, const char *json, size_t len)
{
        struct bus *bus;
        bool spaced;
        int r;

        if (!call)
                return -EINVAL;
        bus = call->bus;
        if (call->answered)
                return bus__fail(bus, -EALREADY, NULL, "the call was already answered");
        r = bus__check_json(bus, "result", json, len, &spaced);
        if (r < 0) {
                /* the caller must not wait for an answer that will never come */
                char why[sizeof(bus->err) + 40];
                snprintf(why, sizeof(why), "the reply could not be sent: %s", bus->err);
                if (!stale(call) && !call->msg->oneway)
                        send_error(bus, call->msg->id, "failed", why);
                answered(call);
                return bus__fail(bus, r, NULL, "%s", why);
        }
        return reply(call, NULL, json, len, spaced);
}

int bus_reply_error(struct bus_call *call, const char *code, const char *fmt, ...)
{
        char text[BUS_MAX_ERROR_MESSAGE + 1];
        struct bus *bus;
        va_list ap;
        int r = 0;

        if (!call)
                return -EINVAL;
        bus = call->bus;
        if (call->answered)
                return bus__fail(bus, -EALREADY, NULL, "the call was already answered");
        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        if (stale(call)) {
                r = bus__fail(bus, -ECONNRESET, ERRCODE_DISCONNECTED,
                              "the connection this call came on has ended: the answer is dropped");
        } else if (!call->msg->oneway) {
                if (code && syntax_is_code(code, strlen(code))) {
                        r = send_error(bus, call->msg->id, code, text);
                } else {
                        send_error(bus, call->msg->id, "failed", "the service answered with an invalid error code");
                        r = bus__fail(bus, -EINVAL, NULL, "an error code is 1-128 bytes of [A-Za-z0-9_.-]");
                }
        }
        answered(call);
        return r;
}

struct bus_call *bus_call_defer(struct bus_call *call)
{
        if (call && call->in_handler)
                call->deferred = true;
        return call;
}

void method_dispatch(struct bus *bus, struct inmsg *m)
{
        struct bus_call *call = calloc(1, sizeof(*call));
        struct method *me;
        int r;

        if (!call) {
                if (!m->oneway && m->gen == bus->gen)
                        send_error(bus, m->id, ERRCODE_INTERNAL, "the service ran out of memory");
                inmsg_free(m);
                return;
        }
        list_init(&call->link);
        call->bus = bus;
        call->msg = m;
        me = find(bus, m->method);
        if (!me) {
                bus_reply_error(call, ERRCODE_UNKNOWN_METHOD, "%s has no method '%s'", bus->unique, m->method);
                return;
        }
        call->in_handler = true;
        r = me->fn(bus, call, me->userdata);
        call->in_handler = false;
        if (call->answered) {
                call_free(call);
        } else if (call->deferred) {
                list_append(&bus->deferred, &call->link);
        } else if (r >= 0) {
                bus_reply(call, NULL);
        } else {
                char text[128];
                snprintf(text, sizeof(text), "%s", strerror(-r));
                bus_reply_error(call, "failed", "%s", text);
        }
}

void method_free_all(struct bus *bus)
{
        struct list *l;

        while ((l = list_first(&bus->deferred)))
                call_free(list_entry(l, struct bus_call, link));
        while ((l = list_first(&bus->methods))) {
                struct method *me = list_entry(l, struct method, link);
                list_unlink(l);
                json_object_put(me->decl);
                free(me);
        }
        bus->n_methods = 0;
}

const char *bus_call_method(const struct bus_call *call)
{
        return call->msg->method;
}

const char *bus_call_dest(const struct bus_call *call)
{
        return call->msg->dest;
}

struct json_object *bus_call_params(const struct bus_call *call)
{
        return inmsg_payload(call->msg);
}

const char *bus_call_params_json(const struct bus_call *call, size_t *ret_len)
{
        if (ret_len)
                *ret_len = call->msg->json_len;
        return call->msg->json;
}

const char *bus_call_sender(const struct bus_call *call)
{
        return call->msg->sender;
}

void bus_call_creds(const struct bus_call *call, uid_t *ret_uid, gid_t *ret_gid, pid_t *ret_pid)
{
        if (ret_uid)
                *ret_uid = call->msg->uid;
        if (ret_gid)
                *ret_gid = call->msg->gid;
        if (ret_pid)
                *ret_pid = call->msg->pid;
}

const char *bus_call_remote(const struct bus_call *call, uid_t *ret_uid, gid_t *ret_gid, pid_t *ret_pid)
{
        const struct inmsg *m = call->msg;

        if (!m->remote_bus)
                return NULL;
        if (ret_uid)
                *ret_uid = m->remote_uid;
        if (ret_gid)
                *ret_gid = m->remote_gid;
        if (ret_pid)
                *ret_pid = m->remote_pid;
        return m->remote_bus;
}

bool bus_call_is_oneway(const struct bus_call *call)
{
        return call->msg->oneway;
}
