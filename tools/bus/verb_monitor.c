/* verb_monitor.c: `bus monitor`: asks the daemon for a copy of the traffic
 * (docs/protocol.md §4.10) and prints each record: JSON Lines when piped or
 * with --json, a line of text per record on a terminal, and with --pcapng a
 * capture file that Wireshark and tshark decode as JSON (pcapng.c).
 *
 * libbus has no monitor API: the tool connects the socket itself, lets libbus
 * do the handshake (cli_connect_fd()), then speaks the monitor request and
 * reads the records on the socket directly. */
#include "cli.h"

#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bus.h"
#include "buslimits.h"
#include "jsonget.h"
#include "jsonnew.h"
#include "msg.h"
#include "pcapng.h"
#include "syntax.h"

enum {
        OPT_NAME = 0x2000,
        OPT_SENDER,
        OPT_TOPIC,
        OPT_TYPE,
        OPT_PCAPNG,
        OPT_READY,
};

/* The largest message the daemon sends: a record carries a message of up to
 * max_recv bytes and the identities around it, within the monitor's own
 * max_recv (a larger one is dropped and counted, never cut). */
#define READ_MAX (BUS_MAX_MESSAGE_STREAM + BUS_RELAY_OVERHEAD + 1)
/* Room for a table line's detail column before it is cut with "...". */
#define DETAIL_MAX 120

struct monitor {
        struct cli *cli;
        int fd;
        bool seqpacket;
        long count; /* 0: until interrupted */
        long seen;
        FILE *pcap; /* NULL: none */
        bool print; /* records to stdout (not with --pcapng -) */
        char *buf;
        size_t len; /* bytes of an incomplete line in buf (stream) */
        struct json_tokener *tok;
};

static int send_request(struct monitor *m, struct json_object *req)
{
        size_t len;
        const char *s = json_object_to_json_string_length(req, JSON_C_TO_STRING_PLAIN, &len);
        char *line = malloc(len + 1);

        if (!line)
                return -ENOMEM;
        memcpy(line, s, len);
        line[len] = '\n';
        /* a seqpacket packet is one message, without the line feed */
        ssize_t n = send(m->fd, line, m->seqpacket ? len : len + 1, MSG_NOSIGNAL);
        free(line);
        return n < 0 ? -errno : 0;
}

/* The next message from the daemon into *ret (caller puts it), waiting at
 * most wait_ms (-1: for ever). Returns 1, 0 on timeout, or a negative errno
 * (-ECONNRESET: the daemon closed the connection). */
static int next_message(struct monitor *m, int wait_ms, struct json_object **ret, char **ret_text, size_t *ret_len)
{
        for (;;) {
                if (!m->seqpacket) {
                        char *nl = memchr(m->buf, '\n', m->len);
                        if (nl) {
                                size_t n = (size_t)(nl - m->buf);
                                json_tokener_reset(m->tok);
                                *ret = json_tokener_parse_ex(m->tok, m->buf, (int)n);
                                *ret_text = m->buf;
                                *ret_len = n;
                                return 1; /* the caller calls consume() once done with the text */
                        }
                        if (m->len == READ_MAX)
                                return -EMSGSIZE;
                }
                struct pollfd p = { .fd = m->fd, .events = POLLIN };
                int r = poll(&p, 1, wait_ms);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return -errno;
                if (r == 0)
                        return 0;
                ssize_t n = recv(m->fd, m->buf + (m->seqpacket ? 0 : m->len), READ_MAX - (m->seqpacket ? 0 : m->len),
                                 0);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return -ECONNRESET;
                if (m->seqpacket) {
                        json_tokener_reset(m->tok);
                        *ret = json_tokener_parse_ex(m->tok, m->buf, (int)n);
                        *ret_text = m->buf;
                        *ret_len = (size_t)n;
                        m->len = (size_t)n;
                        return 1;
                }
                m->len += (size_t)n;
        }
}

/* Forgets the message next_message() returned. */
static void consume(struct monitor *m, size_t text_len)
{
        if (m->seqpacket || text_len + 1 > m->len) {
                m->len = 0;
                return;
        }
        memmove(m->buf, m->buf + text_len + 1, m->len - text_len - 1);
        m->len -= text_len + 1;
}

static const char *str_of(struct json_object *o, const char *key)
{
        const char *s = jsonget_string_or_null(o, key);
        return s ? s : "-";
}

/* A compact JSON text of v, cut to fit a table's detail column. */
static void compact(struct json_object *v, char *out, size_t len)
{
        const char *s = v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
                          : "null";
        snprintf(out, len, "%s", s);
}

/* A member of any type as compact JSON text ("-" when absent). */
static const char *member_text(struct json_object *o, const char *key, char *out, size_t len)
{
        struct json_object *v = NULL;

        if (!json_object_object_get_ex(o, key, &v))
                return "-";
        compact(v, out, len);
        return out;
}

/* The one-line summary of a message for the table. */
static void detail_of(struct json_object *msg, char *out, size_t len)
{
        const char *type = str_of(msg, "type");
        struct json_object *v = NULL;
        char payload[DETAIL_MAX + 1], id[32];

        if (strcmp(type, "call") == 0) {
                json_object_object_get_ex(msg, "params", &v);
                compact(v, payload, sizeof(payload));
                snprintf(out, len, "%s.%s %s", str_of(msg, "dest"), str_of(msg, "method"), payload);
        } else if (strcmp(type, "reply") == 0) {
                json_object_object_get_ex(msg, "result", &v);
                compact(v, payload, sizeof(payload));
                snprintf(out, len, "id %s %s", member_text(msg, "id", id, sizeof(id)), payload);
        } else if (strcmp(type, "error") == 0) {
                snprintf(out, len, "id %s %s: %s", member_text(msg, "id", id, sizeof(id)), str_of(msg, "code"),
                         str_of(msg, "message"));
        } else if (strcmp(type, "event") == 0 || strcmp(type, "publish") == 0) {
                json_object_object_get_ex(msg, "data", &v);
                compact(v, payload, sizeof(payload));
                snprintf(out, len, "%s %s", str_of(msg, "topic"), payload);
        } else {
                compact(msg, out, len);
        }
        if (strlen(out) >= DETAIL_MAX)
                strcpy(out + DETAIL_MAX - 3, "...");
}

static void print_header(const struct monitor *m)
{
        const struct output *o = &m->cli->out;

        printf("%s%-15s %-3s %-12s %-12s %-12s %s%s\n", output_bold(o), "TIME", "DIR", "SENDER", "DEST", "TYPE",
               "MESSAGE", output_reset(o));
}

static void print_line(const struct monitor *m, struct json_object *rec, uint64_t time_us)
{
        struct json_object *msg = NULL, *sender = NULL, *dest = NULL;
        char when[32], detail[DETAIL_MAX + 64];
        time_t secs = (time_t)(time_us / 1000000u);
        struct tm tm;

        json_object_object_get_ex(rec, "message", &msg);
        json_object_object_get_ex(rec, "sender", &sender);
        json_object_object_get_ex(rec, "dest", &dest);
        localtime_r(&secs, &tm);
        strftime(when, sizeof(when), "%H:%M:%S", &tm);
        detail_of(msg, detail, sizeof(detail));
        printf("%s.%06u %-3s %-12s %-12s %-12s %s\n", when, (unsigned)(time_us % 1000000u), str_of(rec, "dir"),
               str_of(sender, "unique"), str_of(dest, "unique"), str_of(msg, "type"), detail);
        (void)m;
}

/* One record: printed and written to the capture. Returns 0 or an exit code. */
static int on_record(struct monitor *m, struct json_object *rec, const char *text, size_t len)
{
        struct json_object *msg = NULL, *sender = NULL, *dest = NULL, *t = NULL;
        uint64_t time_us = 0;

        if (json_object_object_get_ex(rec, "time_us", &t))
                time_us = (uint64_t)json_object_get_int64(t);
        if (m->pcap) {
                char comment[160];
                json_object_object_get_ex(rec, "message", &msg);
                json_object_object_get_ex(rec, "sender", &sender);
                json_object_object_get_ex(rec, "dest", &dest);
                snprintf(comment, sizeof(comment), "%s %s -> %s %s", str_of(rec, "dir"), str_of(sender, "unique"),
                         str_of(dest, "unique"), str_of(msg, "type"));
                if (pcapng_write(m->pcap, time_us, text, len, comment) < 0 || fflush(m->pcap) != 0) {
                        fprintf(stderr, "bus monitor: cannot write the capture: %s\n", strerror(errno));
                        return CLI_EXIT_INTERNAL;
                }
        }
        if (m->print) {
                if (!m->cli->out.json)
                        print_line(m, rec, time_us);
                else if (m->cli->out.pretty || m->cli->out.color)
                        output_json(stdout, &m->cli->out, rec);
                else
                        printf("%.*s\n", (int)len, text); /* the record as the daemon sent it */
                if (fflush(stdout) != 0) {
                        fprintf(stderr, "bus monitor: cannot write the output: %s\n", strerror(errno));
                        return CLI_EXIT_INTERNAL;
                }
        }
        return 0;
}

/* Reads records until --count, --timeout or the end of the connection. */
static int loop(struct monitor *m)
{
        long long deadline = m->cli->timeout_ms > 0 ? cli_now_ms() + m->cli->timeout_ms : 0;

        for (;;) {
                int wait = -1;
                if (deadline) {
                        long long left = deadline - cli_now_ms();
                        if (left <= 0) {
                                if (!m->count)
                                        return CLI_EXIT_OK;
                                fprintf(stderr, "bus monitor: %ld of %ld records within %d ms\n", m->seen, m->count,
                                        m->cli->timeout_ms);
                                return CLI_EXIT_TIMEOUT;
                        }
                        wait = (int)left;
                }
                struct json_object *o = NULL;
                char *text;
                size_t len;
                int r = next_message(m, wait, &o, &text, &len);
                if (r == 0)
                        continue;
                if (r < 0) {
                        fprintf(stderr, "bus monitor: the connection to the bus ended: %s\n",
                                r == -ECONNRESET ? "the daemon closed it" : strerror(-r));
                        return CLI_EXIT_LOST;
                }
                const char *type = jsonget_string_or_null(o, "type");
                int status = 0;
                if (type && strcmp(type, "monitor") == 0) {
                        status = on_record(m, o, text, len);
                        m->seen++;
                } else if (type && strcmp(type, "dropped") == 0) {
                        char count[32], total[32];
                        fprintf(stderr,
                                "bus monitor: the bus dropped %s records (%s in all): this monitor reads too "
                                "slowly; narrow it with --name, --sender, --topic or --type\n",
                                member_text(o, "count", count, sizeof(count)),
                                member_text(o, "total", total, sizeof(total)));
                        if (m->print && m->cli->out.json) {
                                printf("%.*s\n", (int)len, text);
                                fflush(stdout);
                        }
                }
                json_object_put(o);
                consume(m, len);
                if (status)
                        return status;
                if (m->count && m->seen >= m->count)
                        return CLI_EXIT_OK;
        }
}

/* Sends the monitor request and reads its answer. Returns 0 or an exit code. */
static int start(struct monitor *m, struct json_object *req)
{
        struct json_object *o = NULL;
        char *text;
        size_t len;
        int r = send_request(m, req);

        if (r < 0) {
                fprintf(stderr, "bus monitor: cannot send the request: %s\n", strerror(-r));
                return CLI_EXIT_LOST;
        }
        int wait = m->cli->timeout_ms > 0 ? m->cli->timeout_ms : 25000;
        while ((r = next_message(m, wait, &o, &text, &len)) == 1) {
                const char *type = jsonget_string_or_null(o, "type");
                struct json_object *id = NULL;
                json_object_object_get_ex(o, "id", &id);
                if (type && (strcmp(type, "reply") == 0 || strcmp(type, "error") == 0) && id &&
                    json_object_get_int64(id) == 1) {
                        if (strcmp(type, "error") == 0) {
                                r = cli_error_fail(m->cli, "monitor", str_of(o, "code"), str_of(o, "message"));
                        } else {
                                r = 0;
                                struct json_object *res = NULL;
                                json_object_object_get_ex(o, "result", &res);
                                if (!m->cli->out.json && m->print && isatty(STDERR_FILENO))
                                        fprintf(stderr, "bus monitor: monitoring %s on %s\n",
                                                strcmp(str_of(res, "scope"), "all") == 0
                                                        ? "all traffic"
                                                        : "the traffic of your uid's connections",
                                                m->cli->address);
                        }
                        json_object_put(o);
                        consume(m, len);
                        return r;
                }
                json_object_put(o);
                consume(m, len);
        }
        fprintf(stderr, "bus monitor: no answer to the monitor request: %s\n", r == 0 ? "timed out" : strerror(-r));
        return r == 0 ? CLI_EXIT_TIMEOUT : CLI_EXIT_LOST;
}

/* Adds the types of a --type argument ("call,reply") to the array. */
static int add_types(struct cli *cli, struct json_object *types, const char *arg)
{
        char *copy = strdup(arg), *save = NULL;

        if (!copy)
                return CLI_EXIT_INTERNAL;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                if (msg_wire_type(t, strlen(t)) < 0) {
                        int r = cli_usage_error(cli,
                                                "unknown message type '%s' (call, reply, error, event, publish, "
                                                "subscribe, hello, welcome, dropped, name_acquired, name_lost, ...)",
                                                t);
                        free(copy);
                        return r;
                }
                json_object_array_add(types, jsonnew_string(t));
        }
        free(copy);
        return 0;
}

static int run_monitor(struct cli *cli, int argc, char **argv)
{
        static const struct option opts[] = {
                { "name", required_argument, NULL, OPT_NAME },     { "sender", required_argument, NULL, OPT_SENDER },
                { "topic", required_argument, NULL, OPT_TOPIC },   { "type", required_argument, NULL, OPT_TYPE },
                { "pcapng", required_argument, NULL, OPT_PCAPNG }, { "count", required_argument, NULL, 'n' },
                { "ready", no_argument, NULL, OPT_READY },         { NULL, 0, NULL, 0 },
        };
        struct monitor m = { .cli = cli, .print = true };
        struct json_object *req = jsonnew_object(), *types = jsonnew_array();
        const char *pcap_path = NULL;
        struct bus *bus = NULL;
        bool ready = false;
        int c, r = 0;

        json_object_object_add(req, "type", jsonnew_string("monitor"));
        json_object_object_add(req, "id", jsonnew_uint64(1));
        while (r == 0 && (c = cli_getopt(cli, argc, argv, "n:", opts, false)) != -1) {
                switch (c) {
                case OPT_NAME:
                        if (!(r = cli_check_name(cli, optarg)))
                                json_object_object_add(req, "name", jsonnew_string(optarg));
                        break;
                case OPT_SENDER:
                        json_object_object_add(req, "from", jsonnew_string(optarg));
                        break;
                case OPT_TOPIC:
                        if (!(r = cli_check_pattern(cli, optarg)))
                                json_object_object_add(req, "topic", jsonnew_string(optarg));
                        break;
                case OPT_TYPE:
                        r = add_types(cli, types, optarg);
                        break;
                case OPT_PCAPNG:
                        pcap_path = optarg;
                        break;
                case 'n':
                        r = cli_parse_long(cli, "--count", optarg, 1, INT32_MAX, &m.count);
                        break;
                case OPT_READY:
                        ready = true;
                        break;
                default: /* --help (exit 0: r is 0 then) or a usage error */
                        r = cli_getopt_exit(c);
                        goto out;
                }
        }
        if (!r && optind < argc)
                r = cli_usage_error(cli, "expected no operands (filters are options: --name, --sender, --topic, "
                                         "--type)");
        if (r)
                goto out;
        if (json_object_array_length(types))
                json_object_object_add(req, "types", json_object_get(types));
        cli_output_setup(cli, true);
        if (pcap_path) {
                bool to_stdout = strcmp(pcap_path, "-") == 0;
                m.pcap = to_stdout ? stdout : fopen(pcap_path, "wbe");
                if (!m.pcap || pcapng_start(m.pcap) < 0 || fflush(m.pcap) != 0) {
                        fprintf(stderr, "bus monitor: cannot write %s: %s\n", pcap_path, strerror(errno));
                        r = CLI_EXIT_INTERNAL;
                        goto out;
                }
                m.print = !to_stdout;
        }
        m.buf = malloc(READ_MAX);
        m.tok = json_tokener_new_ex(BUS_MAX_DEPTH + 4);
        if (!m.buf || !m.tok) {
                r = CLI_EXIT_INTERNAL;
                goto out;
        }
        if ((r = cli_connect_fd(cli, "bus monitor", &m.fd, &bus)))
                goto out;
        int type = 0;
        socklen_t tlen = sizeof(type);
        m.seqpacket = getsockopt(m.fd, SOL_SOCKET, SO_TYPE, &type, &tlen) == 0 && type == SOCK_SEQPACKET;
        if ((r = start(&m, req)))
                goto out;
        if (ready) {
                fputs("ready\n", stderr);
                fflush(stderr);
        }
        if (m.print && !cli->out.json)
                print_header(&m);
        r = loop(&m);
out:
        bus_close(bus);
        if (m.pcap && m.pcap != stdout)
                fclose(m.pcap);
        if (m.tok)
                json_tokener_free(m.tok);
        free(m.buf);
        json_object_put(types);
        json_object_put(req);
        return r;
}

const struct cli_verb cli_verb_monitor = {
        .name = "monitor",
        .args = "[FILTERS]",
        .summary = "watch the traffic on the bus (calls, replies, errors, events)",
        .help = "Asks the daemon for a copy of every message it takes from or queues for a\n"
                "connection, as far as you may see it: root (or a uid the policy grants the\n"
                "verb `monitor`) sees all traffic, anyone else the traffic to and from their\n"
                "own uid's connections. Each record says when, the direction (`in`: the daemon\n"
                "took it from the sender; `out`: it queued it for the destination), sender\n"
                "and destination with their identity, and the message as it was sent:\n"
                "  {\"type\":\"monitor\",\"seq\":1,\"time_us\":...,\"dir\":\"out\",\n"
                "   \"sender\":{\"unique\":\":3\",\"uid\":1000,...},\"dest\":{...},\"message\":{...}}\n"
                "One JSON line per record when piped or with --json, a line of text per record\n"
                "on a terminal. A monitor never slows the bus: records that do not fit its\n"
                "queue are dropped, and a warning counts them.\n"
                "\n"
                "Monitor options (the filters add up: a record must pass all):\n"
                "      --name NAME     records to or from the owner of NAME, and calls to NAME\n"
                "      --sender ID     records whose sender is ID (:5, org.busd, BUS/:5)\n"
                "      --topic PATTERN events and publishes whose topic matches PATTERN\n"
                "      --type TYPE     records of these message types (call, reply, error,\n"
                "                      event, publish, ...; repeat or separate with commas)\n"
                "      --pcapng FILE   also write the records to FILE as pcapng, for\n"
                "                      Wireshark/tshark (decoded as JSON); `-`: to stdout only\n"
                "  -n, --count N       exit after N records\n"
                "      --ready         print `ready` on stderr once the daemon monitors\n"
                "  -t, --timeout MS    exit after MS (with --count: exit 75 if fewer came)\n",
        .run = run_monitor,
};
