/* event.c: publishing (buffered, no answer expected) and subscriptions.
 * Each subscription keeps the arrival number of the daemon's confirmation,
 * so an event reaches a handler only if it arrived after the pattern took
 * effect, and reaches every matching pattern's handler once. Handlers may
 * subscribe and unsubscribe: entries removed while handlers run are only
 * marked and freed once dispatch is over. After a reconnection the patterns
 * are subscribed again (reconnect.c) and keep their `since`: every event of
 * the new connection arrives after it, and ask for the same delivery mode
 * (flow-controlled, or lossy with BUS_SUBSCRIBE_LOSSY).
 */
#include "bus-internal.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "errcode.h"
#include "syntax.h"

struct sub {
        struct list link;
        char *pattern;
        bus_event_fn fn;
        void *userdata;
        uint64_t since; /* seq of the daemon's confirmation */
        unsigned flags; /* BUS_SUBSCRIBE_*, as asked for (and asked for again after a reconnection) */
        bool lossy;     /* the mode in effect, from the daemon's last confirmation */
        bool removed;
};

/* Begins a publish message in m, for bus_publish(), bus_publish_json() and
 * bus_publish_acked(): data is a json-c value (NULL: null) unless json is
 * set: a text bus__check_json() accepted (spaced: as it said). With ret_id,
 * the message gets an id (the daemon acknowledges it) and the send may wait
 * for room even on a non-blocking bus (the caller blocks anyway). The caller
 * ends the message. */
static int publish_begin(struct bus *bus, struct outmsg *m, const char *topic, struct json_object *data,
                         const char *json, size_t len, bool spaced, uint64_t *ret_id)
{
        int r;

        if (!topic || !syntax_is_topic(topic, strlen(topic)))
                return bus__fail(bus, -EINVAL, NULL, "'%s' is not a valid topic", topic ? topic : "(null)");
        if (syntax_topic_is_reserved(topic, strlen(topic)))
                return bus__fail(bus, -EINVAL, NULL, "topics starting with $ are published by the daemon only");
        r = ret_id ? bus__send_begin(bus, m, "publish") : bus__send_begin_try(bus, m, "publish");
        if (r < 0)
                return r;
        if (ret_id) {
                *ret_id = bus__id(bus);
                outmsg_uint(m, "id", *ret_id);
        }
        outmsg_string(m, "topic", topic);
        if (json)
                outmsg_raw(m, "data", json, len, spaced);
        else if (data)
                outmsg_json(m, "data", data);
        return 0;
}

int bus_publish(struct bus *bus, const char *topic, struct json_object *data)
{
        struct outmsg m;
        int r = publish_begin(bus, &m, topic, data, NULL, 0, false, NULL);

        return r < 0 ? r : bus__send_end(bus, &m);
}

/* A count of the acknowledgement, or 0 when the daemon left it out. */
static uint64_t ack_count(struct inmsg *a, const char *key)
{
        struct json_object *v = inmsg_member(a, key);
        int64_t n = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : 0;

        return n > 0 ? (uint64_t)n : 0;
}

int bus_publish_acked(struct bus *bus, const char *topic, struct json_object *data, int timeout_ms,
                      uint64_t *ret_delivered, uint64_t *ret_dropped)
{
        struct inmsg *a = NULL;
        struct outmsg m;
        uint64_t id = 0; /* set by publish_begin() when it succeeds (gcc -O3 cannot tell) */
        int r;

        r = publish_begin(bus, &m, topic, data, NULL, 0, false, &id);
        if (r < 0)
                return r;
        r = bus__request(bus, &m, id, timeout_ms, &a); /* ends the message */
        if (r < 0)
                return r;
        if (ret_delivered)
                *ret_delivered = ack_count(a, "delivered");
        if (ret_dropped)
                *ret_dropped = ack_count(a, "dropped");
        inmsg_free(a);
        return 0;
}

int bus_publish_json(struct bus *bus, const char *topic, const char *json, size_t len)
{
        struct outmsg m;
        bool spaced;
        int r;

        /* checked before anything is queued or waited for */
        if ((r = bus__check_json(bus, "data", json, len, &spaced)) < 0)
                return r;
        r = publish_begin(bus, &m, topic, NULL, json, len, spaced, NULL);
        return r < 0 ? r : bus__send_end(bus, &m);
}

static struct sub *find(struct bus *bus, const char *pattern)
{
        list_for_each(l, &bus->subs)
        {
                struct sub *s = list_entry(l, struct sub, link);
                if (!s->removed && strcmp(s->pattern, pattern) == 0)
                        return s;
        }
        return NULL;
}

static void sub_free(struct sub *s)
{
        list_unlink(&s->link);
        free(s->pattern);
        free(s);
}

/* Whether the daemon's confirmation of a subscription says it is lossy:
 * {"pattern": P, "lossy": bool}. A daemon that does not say (one before flow
 * control) drops events for every subscription. */
static bool answer_lossy(struct inmsg *a)
{
        struct json_object *v = inmsg_member(a, "lossy");

        if (!json_object_is_type(v, json_type_boolean))
                return true;
        return json_object_get_boolean(v);
}

/* Sends subscribe (with flags) or unsubscribe and waits for the daemon's answer. */
static int request(struct bus *bus, const char *type, const char *pattern, unsigned flags, struct inmsg **ret)
{
        struct outmsg m;
        int r = bus__send_begin(bus, &m, type);

        if (r < 0)
                return r;
        uint64_t id = bus__id(bus);
        outmsg_uint(&m, "id", id);
        outmsg_string(&m, "pattern", pattern);
        if (flags & BUS_SUBSCRIBE_LOSSY)
                outmsg_bool(&m, "lossy", true); /* absent: the default, flow control */
        return bus__request(bus, &m, id, BUS_TIMEOUT_DEFAULT, ret);
}

int bus_subscribe(struct bus *bus, const char *pattern, bus_event_fn fn, void *userdata)
{
        int r = bus_subscribe_flags(bus, pattern, 0, fn, userdata);

        return r < 0 ? r : 0;
}

int bus_subscribe_flags(struct bus *bus, const char *pattern, unsigned flags, bus_event_fn fn, void *userdata)
{
        struct inmsg *a;
        struct sub *s;
        int r;

        if (!pattern || !syntax_is_pattern(pattern, strlen(pattern)))
                return bus__fail(bus, -EINVAL, NULL, "'%s' is not a valid pattern", pattern ? pattern : "(null)");
        if (!fn)
                return bus__fail(bus, -EINVAL, NULL, "bus_subscribe needs a handler");
        if (flags & ~(unsigned)BUS_SUBSCRIBE_LOSSY)
                return bus__fail(bus, -EINVAL, NULL, "unknown subscription flags 0x%x", flags);
        if (find(bus, pattern))
                return bus__fail(bus, -EEXIST, NULL, "already subscribed to '%s'", pattern);
        s = calloc(1, sizeof(*s));
        if (!s || !(s->pattern = strdup(pattern))) {
                free(s);
                return bus__fail(bus, -ENOMEM, NULL, "out of memory");
        }
        r = request(bus, "subscribe", pattern, flags, &a);
        if (r < 0) {
                free(s->pattern);
                free(s);
                return r;
        }
        s->since = a->seq;
        s->fn = fn;
        s->userdata = userdata;
        s->flags = flags;
        s->lossy = answer_lossy(a);
        inmsg_free(a);
        list_append(&bus->subs, &s->link);
        return s->lossy ? BUS_SUBSCRIBE_LOSSY : 0;
}

int bus_subscription_flags(struct bus *bus, const char *pattern)
{
        struct sub *s = pattern ? find(bus, pattern) : NULL;

        if (!s)
                return bus__fail(bus, -ENOENT, NULL, "not subscribed to '%s'", pattern ? pattern : "(null)");
        return s->lossy ? BUS_SUBSCRIBE_LOSSY : 0;
}

static void remove_sub(struct bus *bus, struct sub *s)
{
        if (bus->dispatching)
                s->removed = true;
        else
                sub_free(s);
}

int bus_unsubscribe(struct bus *bus, const char *pattern)
{
        struct sub *s = pattern ? find(bus, pattern) : NULL;
        struct inmsg *a;
        int r;

        if (!s)
                return bus__fail(bus, -ENOENT, NULL, "not subscribed to '%s'", pattern ? pattern : "(null)");
        if (!bus__connected(bus) && bus->reconnect && bus->connect_fn) {
                reconnect_step(bus, true);
                if (!bus__connected(bus)) {
                        /* between connections: the next one will not subscribe it */
                        remove_sub(bus, s);
                        return 0;
                }
        }
        r = request(bus, "unsubscribe", pattern, 0, &a);
        if (r == -EREMOTEIO && strcmp(bus->err_code, ERRCODE_NOT_SUBSCRIBED) == 0) {
                remove_sub(bus, s);
                return -ENOENT;
        }
        if (r < 0)
                return r;
        inmsg_free(a);
        remove_sub(bus, s); /* still valid: blocking functions run no handlers */
        return 0;
}

void event_dispatch(struct bus *bus, struct inmsg *m)
{
        struct bus_event ev = {
                .topic = m->topic,
                .sender = m->sender,
                .uid = m->uid,
                .gid = m->gid,
                .pid = m->pid,
                .remote = m->remote_bus,
                .remote_uid = m->remote_uid,
                .remote_gid = m->remote_gid,
                .remote_pid = m->remote_pid,
                .priv = m,
        };

        bus->dispatching++;
        list_for_each(l, &bus->subs)
        {
                struct sub *s = list_entry(l, struct sub, link);
                if (!s->removed && m->seq > s->since && syntax_pattern_matches(s->pattern, m->topic))
                        s->fn(bus, &ev, s->userdata);
        }
        --bus->dispatching;
        event_sweep(bus);
}

struct json_object *bus_event_data(const struct bus_event *ev)
{
        return inmsg_payload(ev->priv);
}

const char *bus_event_json(const struct bus_event *ev, size_t *ret_len)
{
        const struct inmsg *m = ev->priv;

        if (ret_len)
                *ret_len = m->json_len;
        return m->json;
}

void event_sweep(struct bus *bus)
{
        if (bus->dispatching)
                return;
        list_for_each_safe(l, tmp, &bus->subs)
        {
                struct sub *s = list_entry(l, struct sub, link);
                if (s->removed)
                        sub_free(s);
        }
}

int event_for_each(struct bus *bus, int (*fn)(struct bus *bus, const char *pattern, unsigned flags, void *ud), void *ud)
{
        list_for_each(l, &bus->subs)
        {
                struct sub *s = list_entry(l, struct sub, link);
                int r = s->removed ? 0 : fn(bus, s->pattern, s->flags, ud);
                if (r < 0)
                        return r;
        }
        return 0;
}

int event_send_subscribe(struct bus *bus, uint64_t id, const char *pattern, unsigned flags)
{
        struct outmsg m;

        outmsg_begin(&m, &bus->t, (int)bus->limits.max_depth, "subscribe");
        outmsg_uint(&m, "id", id);
        outmsg_string(&m, "pattern", pattern);
        if (flags & BUS_SUBSCRIBE_LOSSY)
                outmsg_bool(&m, "lossy", true);
        return outmsg_end(&m, bus->limits.max_message);
}

void event_restored(struct bus *bus, const char *pattern, struct inmsg *a)
{
        struct sub *s = find(bus, pattern);

        if (s)
                s->lossy = answer_lossy(a);
}

void event_restore_failed(struct bus *bus, const char *pattern)
{
        struct sub *s = find(bus, pattern);

        /* only marked: a blocking bus_unsubscribe() up the stack may hold it */
        if (s)
                s->removed = true;
}

void event_free_all(struct bus *bus)
{
        struct list *l;

        while ((l = list_first(&bus->subs)))
                sub_free(list_entry(l, struct sub, link));
}

void bus_on_dropped(struct bus *bus, bus_dropped_fn fn, void *userdata)
{
        bus->dropped_fn = fn;
        bus->dropped_ud = userdata;
}
