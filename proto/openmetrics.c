/* openmetrics.c: see openmetrics.h. Text out of a json-c tree; no I/O (the
 * text is built in memory with open_memstream). */
#include "openmetrics.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jsonget.h"

enum kind { GAUGE, COUNTER };

/* One metric family read from one member of a stats object. */
struct family {
        const char *key;  /* the member of the stats object (or link entry) */
        const char *name; /* the family's name; a counter's samples add _total */
        enum kind kind;
        const char *unit; /* NULL, or "bytes"/"seconds" (the name ends with it) */
        const char *help;
};

/* The daemon's own counters: members of the stats object. uptime_ms is
 * turned into seconds (below). */
static const struct family daemon_families[] = {
        { "uptime_ms", "busd_uptime_seconds", GAUGE, "seconds", "Time since the daemon started." },
        { "connections", "busd_connections", GAUGE, NULL, "Connections open now (that the reader may see)." },
        { "connections_total", "busd_connections_accepted", COUNTER, NULL, "Connections accepted." },
        { "messages_in", "busd_messages_received", COUNTER, NULL, "Messages received from connections and links." },
        { "messages_out", "busd_messages_sent", COUNTER, NULL, "Messages queued to connections and links." },
        { "bytes_in", "busd_received_bytes", COUNTER, "bytes", "Bytes received." },
        { "bytes_out", "busd_sent_bytes", COUNTER, "bytes", "Bytes queued to be sent." },
        { "calls", "busd_calls", COUNTER, NULL, "Method calls routed." },
        { "replies", "busd_replies", COUNTER, NULL, "Replies routed." },
        { "events", "busd_events", COUNTER, NULL, "Events published." },
        { "deliveries", "busd_deliveries", COUNTER, NULL, "Events delivered to subscribers." },
        { "drops", "busd_drops", COUNTER, NULL, "Events dropped for a full queue or a lost link." },
        { "errors", "busd_errors", COUNTER, NULL, "Error messages the daemon generated." },
        { "denials", "busd_denials", COUNTER, NULL, "Requests the access policy refused." },
        { "quota_refusals", "busd_quota_refusals", COUNTER, NULL, "Requests refused for a per-uid quota." },
        { "fds_refused", "busd_fds_refused", COUNTER, NULL, "Descriptors the kernel would not pass." },
        { "pending_calls", "busd_pending_calls", GAUGE, NULL, "Calls waiting for an answer." },
        { "held_calls", "busd_held_calls", GAUGE, NULL, "Calls held while a service starts." },
        { "subscriptions", "busd_subscriptions", GAUGE, NULL, "Subscription patterns." },
        { "names", "busd_names", GAUGE, NULL, "Well-known names with an owner (that the reader may see)." },
        { "queued_fds", "busd_queued_fds", GAUGE, NULL, "Descriptors waiting in queues." },
        { "queued_fds_limit", "busd_queued_fds_limit", GAUGE, NULL, "Bound on the descriptors waiting in queues." },
};

/* Per bridge link: members of each entry of stats.bridge.links, labelled
 * link="NAME" (the configured link's name). */
static const struct family link_families[] = {
        { "events_in", "busd_link_events_received", COUNTER, NULL, "Events received over the link." },
        { "events_out", "busd_link_events_sent", COUNTER, NULL, "Events sent over the link." },
        { "acked", "busd_link_events_acked", COUNTER, NULL, "Events sent that the other bus confirmed." },
        { "calls_in", "busd_link_calls_received", COUNTER, NULL, "Calls received over the link." },
        { "calls_out", "busd_link_calls_sent", COUNTER, NULL, "Calls sent over the link." },
        { "dropped", "busd_link_dropped", COUNTER, NULL, "Events for the link dropped." },
        { "duplicates", "busd_link_duplicates", COUNTER, NULL, "Events received that were already seen." },
        { "filtered", "busd_link_filtered", COUNTER, NULL, "Messages the link's filters refused." },
        { "too_far", "busd_link_too_far", COUNTER, NULL, "Events received past max_hops." },
        { "connections", "busd_link_connections", COUNTER, NULL, "Times the link came up." },
        { "lost", "busd_link_lost", COUNTER, NULL, "Events sent and not confirmed when the link went down." },
        { "held", "busd_link_held", GAUGE, NULL, "Events from the link held by flow control." },
        { "names", "busd_link_names", GAUGE, NULL, "Names the other bus offers over the link." },
        { "queue_bytes", "busd_link_queue_bytes", GAUGE, "bytes", "Bytes queued to the link." },
};

/* The bridge's own counters: members of stats.bridge. */
static const struct family bridge_families[] = {
        { "duplicates", "busd_bridge_duplicates", COUNTER, NULL, "Events received twice or past max_hops." },
        { "refused_half_open", "busd_bridge_refused_half_open", COUNTER, NULL,
          "Link connections closed for too many unauthenticated ones." },
};

struct out {
        FILE *f;
        enum openmetrics_format fmt;
};

static void header(struct out *o, const struct family *fa)
{
        /* OpenMetrics names a counter's family without _total; text 0.0.4
         * names it as its sample */
        const char *suffix = fa->kind == COUNTER && o->fmt == OPENMETRICS_PROMETHEUS ? "_total" : "";

        fprintf(o->f, "# TYPE %s%s %s\n", fa->name, suffix, fa->kind == COUNTER ? "counter" : "gauge");
        if (fa->unit && o->fmt == OPENMETRICS_TEXT)
                fprintf(o->f, "# UNIT %s %s\n", fa->name, fa->unit);
        fprintf(o->f, "# HELP %s%s %s\n", fa->name, suffix, fa->help);
}

/* A label value, escaped as both formats want (\\, \", \n). */
static void label_value(FILE *f, const char *s)
{
        for (; *s; s++) {
                if (*s == '\\' || *s == '"')
                        fprintf(f, "\\%c", *s);
                else if (*s == '\n')
                        fputs("\\n", f);
                else
                        fputc(*s, f);
        }
}

/* One sample: NAME[_total][{labels}] VALUE. labels: "k","v" pairs (n of
 * them). value_ms: the value is milliseconds, written as seconds. */
static void sample(struct out *o, const struct family *fa, const char *const *labels, size_t n, uint64_t v,
                   bool value_ms)
{
        fputs(fa->name, o->f);
        if (fa->kind == COUNTER)
                fputs("_total", o->f);
        for (size_t i = 0; i < n; i++) {
                fprintf(o->f, "%s%s=\"", i ? "," : "{", labels[2 * i]);
                label_value(o->f, labels[2 * i + 1]);
                fputc('"', o->f);
        }
        if (n)
                fputc('}', o->f);
        if (value_ms)
                fprintf(o->f, " %" PRIu64 ".%03" PRIu64 "\n", v / 1000, v % 1000);
        else
                fprintf(o->f, " %" PRIu64 "\n", v);
}

static bool uint_member(struct json_object *obj, const char *key, uint64_t *ret)
{
        return jsonget_uint(obj, key, 0, UINT64_MAX, ret) == JSONGET_OK;
}

static void daemon_metrics(struct out *o, struct json_object *stats)
{
        for (size_t i = 0; i < sizeof(daemon_families) / sizeof(daemon_families[0]); i++) {
                const struct family *fa = &daemon_families[i];
                uint64_t v;
                if (!uint_member(stats, fa->key, &v))
                        continue;
                header(o, fa);
                sample(o, fa, NULL, 0, v, strcmp(fa->key, "uptime_ms") == 0);
        }
}

/* ---- per uid ------------------------------------------------------------------ */

static const struct family uid_used = { NULL, "busd_uid_used", GAUGE, NULL,
                                        "What one uid's connections hold together, per resource." };
static const struct family uid_limit = { NULL, "busd_uid_limit", GAUGE, NULL,
                                         "One uid's quota per resource (absent: unlimited)." };
static const struct family uid_refused = { NULL, "busd_uid_refused", COUNTER, NULL,
                                           "Requests of one uid refused for its quota." };

/* The uid of an entry of stats.uids as text, or false. */
static bool uid_label(struct json_object *e, char *buf, size_t len)
{
        uint64_t uid;

        if (!uint_member(e, "uid", &uid))
                return false;
        snprintf(buf, len, "%" PRIu64, uid);
        return true;
}

/* Whether a member of a uids entry names a resource: a quota kind's name
 * (docs/policy.md), [a-z0-9_], not "uid", "refused" or "quota". */
static bool resource_key(const char *key)
{
        if (!key[0] || !strcmp(key, "uid") || !strcmp(key, "refused") || !strcmp(key, "quota"))
                return false;
        return key[strspn(key, "abcdefghijklmnopqrstuvwxyz0123456789_")] == 0;
}

/* Writes, for each entry of uids, the members of `from` (the entry itself,
 * or its member "quota" when quota) that are integers and name a resource,
 * as samples of fa labelled uid and resource. */
static void uid_resources(struct out *o, struct json_object *uids, const struct family *fa, bool quota)
{
        bool any = false;

        for (size_t i = 0; i < json_object_array_length(uids); i++) {
                struct json_object *e = json_object_array_get_idx(uids, i), *from = e;
                char uid[24];
                if (!uid_label(e, uid, sizeof(uid)))
                        continue;
                if (quota && jsonget_object(e, "quota", &from) != JSONGET_OK)
                        continue;
                if (!json_object_is_type(from, json_type_object))
                        continue;
                json_object_object_foreach(from, key, val)
                {
                        uint64_t v;
                        if (!resource_key(key) || jsonget_as_uint(val, 0, UINT64_MAX, &v) != JSONGET_OK)
                                continue; /* a null quota: unlimited */
                        if (!any)
                                header(o, fa);
                        any = true;
                        const char *labels[] = { "uid", uid, "resource", key };
                        sample(o, fa, labels, 2, v, false);
                }
        }
}

static void uid_metrics(struct out *o, struct json_object *stats)
{
        struct json_object *uids;
        bool any = false;

        if (jsonget_array(stats, "uids", &uids) != JSONGET_OK)
                return;
        uid_resources(o, uids, &uid_used, false);
        uid_resources(o, uids, &uid_limit, true);
        for (size_t i = 0; i < json_object_array_length(uids); i++) {
                struct json_object *e = json_object_array_get_idx(uids, i);
                char uid[24];
                uint64_t v;
                if (!uid_label(e, uid, sizeof(uid)) || !uint_member(e, "refused", &v))
                        continue;
                if (!any)
                        header(o, &uid_refused);
                any = true;
                const char *labels[] = { "uid", uid };
                sample(o, &uid_refused, labels, 1, v, false);
        }
}

/* ---- per link ----------------------------------------------------------------- */

static const struct family link_up = { "state", "busd_link_up", GAUGE, NULL,
                                       "1 when the link is up (hello exchanged), else 0." };

/* Whether entry i of links is the first one of its link (a link may show one
 * entry per connection while a new connection replaces an old one: their
 * figures are added up under the one label). */
static bool first_of_link(struct json_object *links, size_t i, const char **ret_name)
{
        const char *name = jsonget_string_or_null(json_object_array_get_idx(links, i), "link");

        if (!name)
                return false;
        for (size_t k = 0; k < i; k++) {
                const char *other = jsonget_string_or_null(json_object_array_get_idx(links, k), "link");
                if (other && !strcmp(other, name))
                        return false;
        }
        *ret_name = name;
        return true;
}

/* The sum of member key over the entries of link `name` (from entry i on);
 * false when none has it. For "state": 1 when any entry is up. */
static bool link_value(struct json_object *links, size_t i, const char *name, const char *key, uint64_t *ret)
{
        bool any = false;
        uint64_t sum = 0, v;

        for (size_t k = i; k < json_object_array_length(links); k++) {
                struct json_object *e = json_object_array_get_idx(links, k);
                const char *other = jsonget_string_or_null(e, "link");
                if (!other || strcmp(other, name) != 0)
                        continue;
                if (!strcmp(key, "state")) {
                        const char *state = jsonget_string_or_null(e, "state");
                        if (state) {
                                any = true;
                                sum |= !strcmp(state, "up");
                        }
                } else if (uint_member(e, key, &v)) {
                        any = true;
                        sum += v;
                }
        }
        *ret = sum;
        return any;
}

static void link_family(struct out *o, struct json_object *links, const struct family *fa)
{
        bool any = false;

        for (size_t i = 0; i < json_object_array_length(links); i++) {
                const char *name;
                uint64_t v;
                if (!first_of_link(links, i, &name) || !link_value(links, i, name, fa->key, &v))
                        continue;
                if (!any)
                        header(o, fa);
                any = true;
                const char *labels[] = { "link", name };
                sample(o, fa, labels, 1, v, false);
        }
}

static void bridge_metrics(struct out *o, struct json_object *stats)
{
        struct json_object *bridge, *links;

        if (jsonget_object(stats, "bridge", &bridge) != JSONGET_OK)
                return;
        for (size_t i = 0; i < sizeof(bridge_families) / sizeof(bridge_families[0]); i++) {
                uint64_t v;
                if (!uint_member(bridge, bridge_families[i].key, &v))
                        continue;
                header(o, &bridge_families[i]);
                sample(o, &bridge_families[i], NULL, 0, v, false);
        }
        if (jsonget_array(bridge, "links", &links) != JSONGET_OK)
                return;
        link_family(o, links, &link_up);
        for (size_t i = 0; i < sizeof(link_families) / sizeof(link_families[0]); i++)
                link_family(o, links, &link_families[i]);
}

int openmetrics_render(struct json_object *stats, enum openmetrics_format f, char **ret, size_t *ret_len)
{
        struct out o = { NULL, f };
        char *text = NULL;
        size_t len = 0;

        if (!json_object_is_type(stats, json_type_object))
                return -EINVAL;
        o.f = open_memstream(&text, &len);
        if (!o.f)
                return -ENOMEM;
        daemon_metrics(&o, stats);
        uid_metrics(&o, stats);
        bridge_metrics(&o, stats);
        if (f == OPENMETRICS_TEXT)
                fputs("# EOF\n", o.f);
        if (ferror(o.f) | fclose(o.f)) {
                free(text);
                return -ENOMEM;
        }
        *ret = text;
        *ret_len = len;
        return 0;
}

/* Whether the Accept header names media type `type` (case-insensitively,
 * parameters ignored) with a q other than 0. */
static bool accepts(const char *accept, const char *type)
{
        size_t tlen = strlen(type);

        for (const char *p = accept; *p;) {
                p += strspn(p, " \t,");
                const char *end = p + strcspn(p, ",");
                const char *params = p + strcspn(p, ";,");
                const char *t = params;
                while (t > p && (t[-1] == ' ' || t[-1] == '\t'))
                        t--;
                if ((size_t)(t - p) == tlen && !strncasecmp(p, type, tlen)) {
                        const char *q = params;
                        bool zero = false;
                        while (q < end && (q = strchr(q, ';')) && q < end) {
                                q++;
                                q += strspn(q, " \t");
                                if (!strncasecmp(q, "q=", 2)) {
                                        char *stop;
                                        zero = strtod(q + 2, &stop) <= 0.0;
                                }
                        }
                        if (!zero)
                                return true;
                }
                p = end;
        }
        return false;
}

enum openmetrics_format openmetrics_negotiate(const char *accept)
{
        if (!accept || accepts(accept, "application/openmetrics-text") || !accepts(accept, "text/plain"))
                return OPENMETRICS_TEXT;
        return OPENMETRICS_PROMETHEUS;
}

const char *openmetrics_content_type(enum openmetrics_format f)
{
        return f == OPENMETRICS_PROMETHEUS ? OPENMETRICS_PROMETHEUS_CONTENT_TYPE : OPENMETRICS_CONTENT_TYPE;
}
