/* session.c: what a connection says about itself (session.h): hello,
 * declare, request_name and release_name, each checked against the policy
 * (access.c), the limits and the uid's quotas, and answered through the
 * output side (send.c). The names themselves live in registry.c. Pure: no I/O.
 */
#include "session.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "buslimits.h"
#include "decl.h"
#include "errcode.h"
#include "jsonnew.h"
#include "msg.h"
#include "quota.h"
#include "send.h"
#include "state.h"
#include "syntax.h"
#include "wire.h"

/* Room for why a name request failed: the name (BUS_MAX_NAME) and the rule. */
#define REQUEST_TEXT_MAX 400
/* A bound on the welcome's size, checked against what the transport may
 * receive: everything but the names, then per name its status and quotes. */
#define WELCOME_BASE_BYTES 1024
#define WELCOME_BYTES_PER_NAME 24

/* ---- names ------------------------------------------------------------------ */

/* The status of a name request as the wire names it. */
static const char *status_name(int status)
{
        switch (status) {
        case REGISTRY_PRIMARY_OWNER:
                return "primary_owner";
        case REGISTRY_IN_QUEUE:
                return "in_queue";
        case REGISTRY_EXISTS:
                return "exists";
        default:
                return "already_owner";
        }
}

/* Requests a name for p, checking reservation and limits. Returns the status
 * string, or NULL with *ret_code/ret_text set. */
static const char *request_name(struct router *r, struct peer *p, const char *name, bool allow_replacement,
                                bool replace, bool queue, const char **ret_code, char *text, size_t textlen)
{
        if (syntax_name_is_reserved(name, strlen(name))) {
                *ret_code = ERRCODE_RESERVED;
                snprintf(text, textlen, "the name '%s' is reserved to the daemon", name);
                return NULL;
        }
        struct name *n = registry_lookup(r->registry, name);
        bool listed = false;
        if (n)
                list_for_each(l, &n->owners) listed |= list_entry(l, struct owner, name_link)->peer == p;
        struct policy_verdict v;
        if (!access_check(r, p, POLICY_OWN, name, NULL, false, &v)) {
                *ret_code = ERRCODE_DENIED;
                snprintf(text, textlen, "owning '%s' is not allowed for uid %u: %s", name, (unsigned)p->uid, v.rule);
                return NULL;
        }
        if (!listed && p->n_owners >= r->cfg.limits.max_names) {
                *ret_code = ERRCODE_LIMIT;
                snprintf(text, textlen, "you already own or wait for %u names (max_names)", p->n_owners);
                return NULL;
        }
        if (!listed && quota_over(p->acct, QUOTA_NAMES, 1)) {
                r->stats.quota_refusals++;
                *ret_code = ERRCODE_LIMIT;
                snprintf(text, textlen,
                         "the connections of uid %u already own or wait for %" PRIu64 " names (quota names)",
                         (unsigned)p->uid, p->acct->used[QUOTA_NAMES]);
                return NULL;
        }
        int st = registry_request(r->registry, p, name, allow_replacement, replace, queue);
        if (st < 0) {
                *ret_code = ERRCODE_INTERNAL;
                snprintf(text, textlen, "out of memory");
                return NULL;
        }
        return status_name(st);
}

static struct json_object *name_result(const char *name, const char *status)
{
        struct json_object *o = jsonnew_object();

        json_object_object_add(o, "name", jsonnew_string(name));
        json_object_object_add(o, "status", jsonnew_string(status));
        return o;
}

void session_request_name(struct router *r, struct peer *p, const struct msg *m)
{
        const char *code = NULL;
        char text[REQUEST_TEXT_MAX];
        const char *st = request_name(r, p, m->name.s, m->allow_replacement, m->replace, m->queue, &code, text,
                                      sizeof(text));

        if (!st) {
                send_error(r, p, m, code, "%s", text);
                return;
        }
        struct json_object *o = name_result(m->name.s, st);
        send_reply(r, p, m, o);
        json_object_put(o);
}

void session_release_name(struct router *r, struct peer *p, const struct msg *m)
{
        int err = registry_release(r->registry, p, m->name.s);
        struct json_object *o = name_result(m->name.s, err < 0 ? "not_owner" : "released");

        send_reply(r, p, m, o);
        json_object_put(o);
}

/* ---- hello and declare ------------------------------------------------------ */

/* Makes m's declarations ready to replace p's: kept as text (decl.c), within
 * what one connection may keep (the text of one message: max_message, since a
 * declaration replaces the previous one) and its uid's declared_bytes quota.
 * Returns 0 with *ret (NULL if m has none), or -1 after answering m. */
static int prepare_decl(struct router *r, struct peer *p, const struct msg *m, struct decl **ret)
{
        struct decl *d = NULL;
        size_t old = decl_bytes(p->decl);

        if (m->methods && decl_new(m->methods, &d) < 0) {
                send_error(r, p, m, ERRCODE_INTERNAL, "out of memory");
                return -1;
        }
        size_t bytes = decl_bytes(d);
        if (bytes > p->max_message) {
                send_error(r, p, m, ERRCODE_LIMIT,
                           "your method declarations take %zu bytes as text, more than one connection may keep "
                           "(max_message: %zu)",
                           bytes, p->max_message);
                decl_free(d);
                return -1;
        }
        if (bytes > old && quota_over(p->acct, QUOTA_DECLARED_BYTES, bytes - old)) {
                r->stats.quota_refusals++;
                send_error(r, p, m, ERRCODE_LIMIT,
                           "the connections of uid %u already keep %" PRIu64 " bytes of method declarations; "
                           "%zu more would pass the quota declared_bytes (%" PRIu64 ")",
                           (unsigned)p->uid, p->acct->used[QUOTA_DECLARED_BYTES], bytes - old,
                           p->acct->limit[QUOTA_DECLARED_BYTES]);
                decl_free(d);
                return -1;
        }
        *ret = d;
        return 0;
}

static struct json_object *limits_object(struct router *r, struct peer *p)
{
        const struct router_limits *l = &r->cfg.limits;
        struct json_object *o = jsonnew_object();

        json_object_object_add(o, "max_message", jsonnew_uint64(p->max_message));
        json_object_object_add(o, "max_recv", jsonnew_uint64(p->max_recv));
        json_object_object_add(o, "max_depth", jsonnew_int(BUS_MAX_DEPTH));
        json_object_object_add(o, "max_pending_calls", jsonnew_uint64(l->max_pending_calls));
        json_object_object_add(o, "queue_bytes", jsonnew_uint64(l->queue_bytes));
        json_object_object_add(o, "max_names", jsonnew_uint64(l->max_names));
        json_object_object_add(o, "max_subscriptions", jsonnew_uint64(l->max_subscriptions));
        json_object_object_add(o, "max_methods", jsonnew_uint64(BUS_MAX_METHODS));
        json_object_object_add(o, "max_queued_fds", jsonnew_uint64(BUS_MAX_QUEUED_FDS));
        json_object_object_add(o, "stall_timeout_ms", jsonnew_uint64(l->stall_timeout_ms));
        return o;
}

void session_hello(struct router *r, struct peer *p, const struct msg *m)
{
        size_t nnames = m->names ? json_object_array_length(m->names) : 0;

        if (p->hello_done) {
                send_error(r, p, m, ERRCODE_INVALID_MESSAGE, "hello was already done on this connection");
                return;
        }
        if (nnames > r->cfg.limits.max_names) {
                send_error(r, p, m, ERRCODE_LIMIT, "hello asks for %zu names, at most %u allowed (max_names)", nnames,
                           r->cfg.limits.max_names);
                return;
        }
        /* the welcome lists every requested name with its status: it must fit
         * what this transport may receive, or the hello would take effect
         * without the client learning it did */
        size_t welcome = WELCOME_BASE_BYTES;
        for (size_t i = 0; i < nnames; i++)
                welcome += (size_t)json_object_get_string_len(json_object_array_get_idx(m->names, i)) +
                           WELCOME_BYTES_PER_NAME;
        if (welcome > p->max_recv) {
                send_error(r, p, m, ERRCODE_LIMIT,
                           "hello asks for names whose welcome would exceed your transport's max_recv (%zu "
                           "bytes); request some of them with request_name",
                           p->max_recv);
                return;
        }
        for (size_t i = 0; i < nnames; i++) {
                struct json_object *e = json_object_array_get_idx(m->names, i);
                if (syntax_name_is_reserved(json_object_get_string(e), (size_t)json_object_get_string_len(e))) {
                        send_error(r, p, m, ERRCODE_RESERVED, "hello: the name '%s' is reserved to the daemon",
                                   json_object_get_string(e));
                        return;
                }
        }
        struct decl *d;
        if (prepare_decl(r, p, m, &d) < 0)
                return;
        if (m->display.s && !(p->display = strdup(m->display.s))) {
                decl_free(d);
                send_error(r, p, m, ERRCODE_INTERNAL, "out of memory");
                return;
        }
        p->hello_done = true;
        quota_sub(p->acct, QUOTA_HANDSHAKES, 1);
        decl_set(p, d);

        struct json_object *w = jsonnew_object(), *names = jsonnew_object();
        for (size_t i = 0; i < nnames; i++) {
                const char *name = json_object_get_string(json_object_array_get_idx(m->names, i));
                const char *code = NULL;
                char text[REQUEST_TEXT_MAX];
                const char *st = request_name(r, p, name, false, false, true, &code, text, sizeof(text));
                json_object_object_add(names, name, jsonnew_string(st ? st : code));
        }
        json_object_object_add(w, "type", jsonnew_string("welcome"));
        if (m->has_id)
                json_object_object_add(w, "id", jsonnew_uint64(m->id));
        json_object_object_add(w, "unique", jsonnew_string(p->unique));
        json_object_object_add(w, "protocol", jsonnew_int(BUS_PROTOCOL_VERSION));
        json_object_object_add(w, "server", jsonnew_string(BUS_SERVER_STRING));
        json_object_object_add(w, "limits", limits_object(r, p));
        json_object_object_add(w, "names", names);
        send_own(r, p, m, wire_object(w));
        json_object_put(w);
}

void session_declare(struct router *r, struct peer *p, const struct msg *m)
{
        struct decl *d;

        if (prepare_decl(r, p, m, &d) < 0)
                return;
        decl_set(p, d);
        struct json_object *o = jsonnew_object();
        json_object_object_add(o, "methods", jsonnew_uint64(json_object_array_length(m->methods)));
        send_reply(r, p, m, o);
        json_object_put(o);
}
