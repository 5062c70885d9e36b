/* outmsg.c: writes client messages (docs/protocol.md §2.3) straight into the
 * transport's output buffer, one member at a time, without building a json-c
 * tree for the envelope. User values are serialised by json-c and checked as
 * the daemon will parse them (or come as text already checked with jsonscan:
 * outmsg_raw), so that a message the daemon would reject with
 * an id-less parse_error (leaving a call unanswered) is refused here instead.
 * No I/O.
 */
#include "bus-internal.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonparse.h"
#include "jsonscan.h"

__attribute__((format(printf, 3, 4))) static void fail(struct outmsg *m, int error, const char *fmt, ...)
{
        va_list ap;

        if (m->error)
                return;
        m->error = error;
        va_start(ap, fmt);
        vsnprintf(m->why, sizeof(m->why), fmt, ap);
        va_end(ap);
}

static void put(struct outmsg *m, const char *s, size_t n)
{
        if (!m->error && transport_append(m->t, s, n) < 0)
                fail(m, -ENOMEM, "out of memory");
}

static void put_key(struct outmsg *m, const char *key)
{
        put(m, ",\"", 2);
        put(m, key, strlen(key));
        put(m, "\":", 2);
}

void outmsg_begin(struct outmsg *m, struct transport *t, int max_depth, const char *type)
{
        m->t = t;
        m->error = 0;
        m->why[0] = 0;
        m->max_depth = max_depth;
        m->mark = transport_begin(t);
        put(m, "{\"type\":\"", 9);
        put(m, type, strlen(type));
        put(m, "\"", 1);
}

void outmsg_uint(struct outmsg *m, const char *key, uint64_t v)
{
        char num[24];
        int n = snprintf(num, sizeof(num), "%" PRIu64, v);

        put_key(m, key);
        put(m, num, (size_t)n);
}

void outmsg_bool(struct outmsg *m, const char *key, bool v)
{
        put_key(m, key);
        put(m, v ? "true" : "false", v ? 4 : 5);
}

bool outmsg_utf8_valid(const char *s, size_t len)
{
        const unsigned char *p = (const unsigned char *)s;
        size_t i = 0;

        while (i < len) {
                unsigned c = p[i];
                size_t n;
                uint32_t cp, min;

                if (c < 0x80) {
                        if (c == 0)
                                return false;
                        i++;
                        continue;
                }
                if ((c & 0xE0) == 0xC0) {
                        n = 1, cp = c & 0x1F, min = 0x80;
                } else if ((c & 0xF0) == 0xE0) {
                        n = 2, cp = c & 0x0F, min = 0x800;
                } else if ((c & 0xF8) == 0xF0) {
                        n = 3, cp = c & 0x07, min = 0x10000;
                } else {
                        return false;
                }
                if (len - i <= n)
                        return false;
                for (size_t k = 1; k <= n; k++) {
                        if ((p[i + k] & 0xC0) != 0x80)
                                return false;
                        cp = cp << 6 | (p[i + k] & 0x3F);
                }
                if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                        return false;
                i += n + 1;
        }
        return true;
}

void outmsg_string(struct outmsg *m, const char *key, const char *s)
{
        static const char hex[] = "0123456789abcdef";
        size_t len = strlen(s), run = 0;

        if (!outmsg_utf8_valid(s, len)) {
                fail(m, -EINVAL, "'%s' is not valid UTF-8", key);
                return;
        }
        put_key(m, key);
        put(m, "\"", 1);
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)s[i];
                char esc[6] = { '\\', 0 };
                size_t n = 2;

                if (c >= 0x20 && c != '"' && c != '\\')
                        continue;
                put(m, s + run, i - run);
                run = i + 1;
                switch (c) {
                case '"':
                case '\\':
                        esc[1] = (char)c;
                        break;
                case '\n':
                        esc[1] = 'n';
                        break;
                case '\t':
                        esc[1] = 't';
                        break;
                case '\r':
                        esc[1] = 'r';
                        break;
                default:
                        memcpy(esc + 1, "u00", 3);
                        esc[4] = hex[c >> 4];
                        esc[5] = hex[c & 15];
                        n = 6;
                        break;
                }
                put(m, esc, n);
        }
        put(m, s + run, len - run);
        put(m, "\"", 1);
}

int outmsg_check_json(const char *s, size_t len, int max_depth, const char **ret_why)
{
        size_t pos;

        /* the daemon's own lexical check: NaN/Infinity, control characters,
         * huge integers, invalid UTF-8, nesting */
        if (jsonparse_check_depth(s, len, max_depth, &pos, ret_why) < 0)
                return -EINVAL;
        return 0;
}

void outmsg_json(struct outmsg *m, const char *key, struct json_object *v)
{
        const char *s = "null", *why;
        size_t len = 4;

        if (m->error)
                return;
        if (v) {
                s = json_object_to_json_string_length(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
                if (!s) {
                        fail(m, -ENOMEM, "out of memory");
                        return;
                }
                /* the value sits inside the message object: one level less */
                if (outmsg_check_json(s, len, m->max_depth - 1, &why) < 0) {
                        fail(m, -EINVAL, "'%s' cannot be sent: %s", key, why);
                        return;
                }
        }
        put_key(m, key);
        put(m, s, len);
}

void outmsg_raw(struct outmsg *m, const char *key, const char *json, size_t len, bool spaced)
{
        char *tight;

        if (m->error)
                return;
        put_key(m, key);
        if (!spaced) {
                put(m, json, len);
                return;
        }
        /* rare: a text with whitespace, which may hold line feeds */
        if (!(tight = malloc(len ? len : 1))) {
                fail(m, -ENOMEM, "out of memory");
                return;
        }
        put(m, tight, jsonscan_compact(json, len, tight));
        free(tight);
}

int outmsg_end(struct outmsg *m, size_t max_message)
{
        put(m, "}", 1);
        if (!m->error) {
                size_t size = m->t->out->len - m->mark;
                if (size > max_message)
                        fail(m, -EMSGSIZE, "the message is %zu bytes, the bus accepts at most %zu (max_message)", size,
                             max_message);
        }
        if (!m->error && transport_commit(m->t, m->mark) < 0)
                fail(m, -ENOMEM, "out of memory");
        if (m->error)
                transport_abort(m->t, m->mark);
        return m->error;
}
