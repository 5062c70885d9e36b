/* fuzz_config.c: busd's configuration file parser (busd/config/config.c).
 *
 * Input: the text of a configuration file. The parser must answer 0 or
 * -EINVAL (-ENOMEM aside) without overflowing; on failure the error is a
 * terminated, non-empty line and the output struct is untouched; on success
 * every value is within its key's range, `given` names only known keys, every
 * listen address is absolute and fits a socket path, a metrics address is a
 * Unix path or a loopback one, and writing the given
 * keys back as JSON and parsing that again gives the same struct. A small
 * error buffer is never overrun. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "config.h"
#include "fuzz.h"

static const char *const numeric[] = { "limits.queue_bytes",       "limits.max_pending_calls", "limits.max_names",
                                       "limits.max_subscriptions", "limits.stall_timeout_ms",  "limits.max_connections",
                                       "limits.max_handshakes",    "limits.hello_timeout_ms" };

static uint64_t value(const struct config *c, const struct config_key *k)
{
        const char *at = (const char *)c + k->offset;

        if (k->type == CONFIG_T_SIZE)
                return *(const size_t *)(const void *)at;
        return *(const unsigned *)(const void *)at;
}

static void append(char *buf, size_t len, size_t *used, const char *s)
{
        size_t n = strlen(s);

        FUZZ_CHECK(*used + n < len);
        memcpy(buf + *used, s, n + 1);
        *used += n;
}

/* The given keys of c as a configuration file. */
static void write_back(const struct config *c, char *buf, size_t len)
{
        char one[200];
        size_t used = 0;
        bool first = true;

        append(buf, len, &used, "{\"limits\":{");
        for (size_t i = 0; i < sizeof(numeric) / sizeof(numeric[0]); i++) {
                const struct config_key *k = config_key(numeric[i]);
                if (!(c->given & k->bit))
                        continue;
                snprintf(one, sizeof(one), "%s\"%s\":%" PRIu64, first ? "" : ",", k->name, value(c, k));
                append(buf, len, &used, one);
                first = false;
        }
        append(buf, len, &used, "}");
        if (c->given & CONFIG_VERBOSE)
                append(buf, len, &used, c->verbose ? ",\"verbose\":true" : ",\"verbose\":false");
        if (c->given & CONFIG_LISTEN) {
                append(buf, len, &used, ",\"listen\":[");
                for (size_t i = 0; i < c->nlisten; i++) {
                        char a[160];
                        address_format(&c->listen[i], a, sizeof(a));
                        /* paths came from JSON strings: quote what JSON needs */
                        append(buf, len, &used, i ? ",\"" : "\"");
                        for (const char *p = a; *p; p++) {
                                if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20) {
                                        snprintf(one, sizeof(one), "\\u%04x", (unsigned char)*p);
                                } else {
                                        one[0] = *p;
                                        one[1] = 0;
                                }
                                append(buf, len, &used, one);
                        }
                        append(buf, len, &used, "\"");
                }
                append(buf, len, &used, "]");
        }
        if (c->given & CONFIG_METRICS_LISTEN) {
                append(buf, len, &used, ",\"metrics_listen\":\"");
                for (const char *p = c->metrics_listen.text; *p; p++) {
                        if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20) {
                                snprintf(one, sizeof(one), "\\u%04x", (unsigned char)*p);
                        } else {
                                one[0] = *p;
                                one[1] = 0;
                        }
                        append(buf, len, &used, one);
                }
                append(buf, len, &used, "\"");
        }
        append(buf, len, &used, "}");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct config c, before, again;
        char err[512], tiny[9];

        memset(&c, 0xa5, sizeof(c));
        before = c;
        memset(err, 'x', sizeof(err));
        int r = config_parse((const char *)data, size, &c, err, sizeof(err));
        FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ENOMEM);
        FUZZ_CHECK(memchr(err, 0, sizeof(err)) != NULL);
        if (r < 0) {
                FUZZ_CHECK(err[0] != 0);
                FUZZ_CHECK(memcmp(&c, &before, sizeof(c)) == 0);
        } else {
                uint32_t known = CONFIG_VERBOSE | CONFIG_LISTEN | CONFIG_METRICS_LISTEN;
                for (size_t i = 0; i < sizeof(numeric) / sizeof(numeric[0]); i++) {
                        const struct config_key *k = config_key(numeric[i]);
                        FUZZ_CHECK(k);
                        uint64_t v = value(&c, k);
                        FUZZ_CHECK(v >= k->min && v <= k->max);
                        known |= k->bit;
                }
                FUZZ_CHECK((c.given & ~known) == 0);
                FUZZ_CHECK(c.nlisten <= CONFIG_MAX_LISTEN);
                FUZZ_CHECK(!(c.given & CONFIG_LISTEN) == (c.nlisten == 0));
                for (size_t i = 0; i < c.nlisten; i++) {
                        FUZZ_CHECK(c.listen[i].path[0] == '/');
                        FUZZ_CHECK(strnlen(c.listen[i].path, sizeof(c.listen[i].path)) < sizeof(c.listen[i].path));
                }

                const struct metricsaddr *m = &c.metrics_listen;
                FUZZ_CHECK(!(c.given & CONFIG_METRICS_LISTEN) == !m->set);
                if (m->set && m->unix_socket)
                        FUZZ_CHECK(m->path[0] == '/' && strnlen(m->path, sizeof(m->path)) < sizeof(m->path));
                if (m->set && !m->unix_socket)
                        FUZZ_CHECK(m->port != 0 && (m->ipv6 || m->ip4[0] == 127));

                char *text = malloc(8192);
                FUZZ_CHECK(text);
                write_back(&c, text, 8192);
                memset(&again, 0, sizeof(again));
                FUZZ_CHECK(config_parse(text, strlen(text), &again, err, sizeof(err)) == 0);
                FUZZ_CHECK(again.given == c.given);
                FUZZ_CHECK(again.verbose == c.verbose && again.nlisten == c.nlisten);
                FUZZ_CHECK(memcmp(&again.limits, &c.limits, sizeof(c.limits)) == 0);
                FUZZ_CHECK(again.max_connections == c.max_connections);
                FUZZ_CHECK(again.max_handshakes == c.max_handshakes);
                FUZZ_CHECK(again.hello_timeout_ms == c.hello_timeout_ms);
                FUZZ_CHECK(config_same_listen(&again, &c));
                FUZZ_CHECK(metricsaddr_same(&again.metrics_listen, &c.metrics_listen));
                free(text);
        }
        /* a tiny error buffer: filled, terminated, never overrun (ASan sees it) */
        memset(tiny, 'x', sizeof(tiny));
        r = config_parse((const char *)data, size, &c, tiny, sizeof(tiny) - 1);
        FUZZ_CHECK(tiny[sizeof(tiny) - 1] == 'x');
        FUZZ_CHECK(memchr(tiny, 0, sizeof(tiny) - 1) != NULL);
        return 0;
}
