/* syntax.c: see syntax.h. No allocation, no I/O. */
#include "syntax.h"

#include <string.h>

#include "buslimits.h"

static bool is_alpha(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

static bool is_name_char(char c)
{
        return is_alpha(c) || is_digit(c) || c == '_' || c == '-';
}

static bool is_segment_char(char c)
{
        return is_name_char(c) || c == ':' || c == '@' || c == '+';
}

bool syntax_is_name(const char *s, size_t len)
{
        size_t elements = 0, elen = 0;

        if (len == 0 || len > BUS_MAX_NAME)
                return false;
        for (size_t i = 0; i < len; i++) {
                char c = s[i];
                if (c == '.') {
                        if (elen == 0)
                                return false;
                        elements++;
                        elen = 0;
                } else if (is_name_char(c)) {
                        if (elen == 0 && is_digit(c))
                                return false;
                        elen++;
                } else {
                        return false;
                }
        }
        if (elen == 0)
                return false;
        return elements + 1 >= 2;
}

bool syntax_parse_unique(const char *s, size_t len, uint64_t *ret_id)
{
        uint64_t v = 0;

        if (len < 2 || len > 21 || s[0] != ':')
                return false;
        if (s[1] == '0' && len > 2)
                return false;
        for (size_t i = 1; i < len; i++) {
                if (!is_digit(s[i]))
                        return false;
                uint64_t d = (uint64_t)(s[i] - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return false;
                v = v * 10 + d;
        }
        *ret_id = v;
        return true;
}

bool syntax_is_method(const char *s, size_t len)
{
        if (len == 0 || len > BUS_MAX_METHOD)
                return false;
        if (!is_alpha(s[0]) && s[0] != '_')
                return false;
        for (size_t i = 1; i < len; i++)
                if (!is_name_char(s[i]) && s[i] != '.')
                        return false;
        return true;
}

bool syntax_is_code(const char *s, size_t len)
{
        if (len == 0 || len > BUS_MAX_CODE)
                return false;
        for (size_t i = 0; i < len; i++)
                if (!is_name_char(s[i]) && s[i] != '.')
                        return false;
        return true;
}

bool syntax_is_bus(const char *s, size_t len)
{
        if (len == 0 || len > BUS_MAX_BUS_NAME)
                return false;
        if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= '0' && s[0] <= '9')))
                return false;
        for (size_t i = 1; i < len; i++) {
                char c = s[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                      c == '_' || c == '.'))
                        return false;
        }
        return true;
}

bool syntax_is_remote_dest(const char *s, size_t len)
{
        const char *slash = memchr(s, '/', len);

        return slash && syntax_is_bus(s, (size_t)(slash - s)) &&
               syntax_is_name(slash + 1, len - (size_t)(slash - s) - 1);
}

/* Shared walk for topics and patterns. */
static bool check_topic(const char *s, size_t len, bool wildcards)
{
        size_t segments = 0, start = 0;

        if (len == 0 || len > BUS_MAX_TOPIC)
                return false;
        for (size_t i = 0; i <= len; i++) {
                if (i < len && s[i] != '.')
                        continue;
                const char *seg = s + start;
                size_t slen = i - start;
                if (slen == 0)
                        return false;
                if (++segments > BUS_MAX_TOPIC_SEGMENTS)
                        return false;
                if (wildcards && slen == 1 && seg[0] == '*') {
                        /* one-segment wildcard */
                } else if (wildcards && slen == 1 && seg[0] == '>') {
                        if (i != len)
                                return false;
                } else {
                        for (size_t k = 0; k < slen; k++) {
                                if (is_segment_char(seg[k]))
                                        continue;
                                if (k == 0 && segments == 1 && seg[k] == '$' && slen > 1)
                                        continue;
                                return false;
                        }
                }
                start = i + 1;
        }
        return true;
}

bool syntax_is_topic(const char *s, size_t len)
{
        return check_topic(s, len, false);
}

bool syntax_is_pattern(const char *s, size_t len)
{
        return check_topic(s, len, true);
}

bool syntax_name_is_reserved(const char *s, size_t len)
{
        size_t n = strlen(BUS_DAEMON_NAME);

        if (len < n || memcmp(s, BUS_DAEMON_NAME, n) != 0)
                return false;
        return len == n || s[n] == '.';
}

bool syntax_topic_is_reserved(const char *s, size_t len)
{
        return len > 0 && s[0] == '$';
}

bool syntax_pattern_matches(const char *pattern, const char *topic)
{
        const char *p = pattern, *t = topic;
        bool first = true;

        for (;;) {
                const char *pe = strchr(p, '.');
                const char *te = strchr(t, '.');
                size_t pl = pe ? (size_t)(pe - p) : strlen(p);
                size_t tl = te ? (size_t)(te - t) : strlen(t);

                if (pl == 1 && p[0] == '>')
                        return !(first && t[0] == '$');
                if (pl == 1 && p[0] == '*') {
                        if (first && t[0] == '$')
                                return false;
                } else if (pl != tl || memcmp(p, t, pl) != 0) {
                        return false;
                }
                if (!pe || !te)
                        return !pe && !te;
                p = pe + 1;
                t = te + 1;
                first = false;
        }
}
