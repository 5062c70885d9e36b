/* serve_answer.c: serve_job_answer(): the answer to a call of `bus serve`
 * from the outcome of its command (serve_job.h). Only bus_reply*(), no other
 * I/O. Everything sent is made valid UTF-8 first, since the daemon refuses
 * anything else and the caller would only see a timeout. */
#include "serve_job.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "bus.h"
#include "errcode.h"
#include "jsonnew.h"
#include "jsonparse.h"

/* Room the reply envelope needs around the result. */
#define REPLY_OVERHEAD 256
/* Longest stderr line quoted in an error message. */
#define MAX_QUOTED 400

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
        size_t len;
        uint32_t cp;

        if (s[0] < 0x80)
                return s[0] ? 1 : 0; /* NUL is refused by the bus */
        if (s[0] >= 0xc2 && s[0] <= 0xdf)
                len = 2, cp = s[0] & 0x1f;
        else if (s[0] >= 0xe0 && s[0] <= 0xef)
                len = 3, cp = s[0] & 0x0f;
        else if (s[0] >= 0xf0 && s[0] <= 0xf4)
                len = 4, cp = s[0] & 0x07;
        else
                return 0;
        if (n < len)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = cp << 6 | (s[i] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return len;
}

/* A copy of s (n bytes) with every invalid byte and NUL replaced by U+FFFD.
 * NUL-terminated; *ret_len (if not NULL) gets the length. NULL when out of
 * memory. */
static char *utf8_clean(const char *s, size_t n, size_t *ret_len)
{
        char *o = malloc(n * 3 + 1);
        size_t k = 0;

        if (!o)
                return NULL;
        for (size_t i = 0; i < n;) {
                size_t len = utf8_seq((const unsigned char *)s + i, n - i);
                if (len) {
                        memcpy(o + k, s + i, len);
                        k += len;
                        i += len;
                } else {
                        memcpy(o + k, "\xef\xbf\xbd", 3);
                        k += 3;
                        i++;
                }
        }
        o[k] = 0;
        if (ret_len)
                *ret_len = k;
        return o;
}

/* The last non-empty line of stderr, cleaned, at most MAX_QUOTED bytes. */
static char *last_line(const struct serve_job *j)
{
        size_t end = j->err_len, start;

        while (end && (j->err[end - 1] == '\n' || j->err[end - 1] == '\r' || j->err[end - 1] == ' '))
                end--;
        start = end;
        while (start && j->err[start - 1] != '\n')
                start--;
        if (end - start > MAX_QUOTED)
                end = start + MAX_QUOTED;
        return utf8_clean(j->err + start, end - start, NULL);
}

static bool all_space(const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
                        return false;
        return true;
}

/* stdout as the result: JSON if it parses, else a string without its
 * trailing newlines (as the shell's $(...)); NULL result for no output.
 * Returns 0 or -ENOMEM. */
static int make_result(const struct serve_job *j, struct jsonparse *p, struct json_object **ret)
{
        char err[128];
        size_t len = j->out_len;

        *ret = NULL;
        if (all_space(j->out, len))
                return 0;
        if (jsonparse_parse(p, j->out, len, ret, err, sizeof(err)) == 0)
                return 0;
        /* a bare `null` is refused as a message but is a fine result */
        while (len && (j->out[len - 1] == '\n' || j->out[len - 1] == '\r'))
                len--;
        if (len == 4 && memcmp(j->out, "null", 4) == 0)
                return 0;
        char *s = utf8_clean(j->out, len, &len);
        if (!s)
                return -ENOMEM;
        *ret = jsonnew_string_len(s, (int)len);
        free(s);
        return *ret ? 0 : -ENOMEM;
}

static void answer_success(struct serve_job *j, struct jsonparse *p, size_t max_message)
{
        struct json_object *result;

        if (j->out_too_large) {
                bus_reply_error(j->call, "command_failed",
                                "the command's output is larger than the %zu bytes a "
                                "reply may carry",
                                max_message - REPLY_OVERHEAD);
                return;
        }
        if (make_result(j, p, &result) < 0) {
                bus_reply_error(j->call, ERRCODE_INTERNAL, "bus serve ran out of memory");
                return;
        }
        const char *text = result ? json_object_to_json_string_ext(result, JSON_C_TO_STRING_PLAIN) : "null";
        if (text && strlen(text) + REPLY_OVERHEAD > max_message)
                bus_reply_error(j->call, "command_failed",
                                "the command's output is larger than the %zu bytes a "
                                "reply may carry",
                                max_message - REPLY_OVERHEAD);
        else
                bus_reply(j->call, result);
        json_object_put(result);
}

void serve_job_answer(struct serve_job *j, struct jsonparse *p, size_t max_message, int timeout_ms)
{
        char *line = last_line(j);
        const char *quote = line ? line : "";
        const char *sep = *quote ? ": " : " (nothing on stderr)";

        if (j->timed_out)
                bus_reply_error(j->call, "command_failed", "the command took longer than %d ms and was killed%s%s",
                                timeout_ms, *quote ? ": " : "", quote);
        else if (WIFEXITED(j->status) && WEXITSTATUS(j->status) == 0)
                answer_success(j, p, max_message);
        else if (WIFEXITED(j->status))
                bus_reply_error(j->call, "command_failed", "the command exited with status %d%s%s",
                                WEXITSTATUS(j->status), sep, quote);
        else
                bus_reply_error(j->call, "command_failed", "the command was killed by signal %d (%s)%s%s",
                                WTERMSIG(j->status), strsignal(WTERMSIG(j->status)), sep, quote);
        j->call = NULL; /* bus_reply*() freed it */
        free(line);
}
