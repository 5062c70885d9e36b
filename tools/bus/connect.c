/* connect.c: finding the bus, connecting, making calls, and turning every
 * failure into advice on stderr plus an exit code (cli.h). The only file of
 * the tool that knows how libbus reports errors. */
#include "cli.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "address.h"
#include "bus.h"
#include "buslimits.h"
#include "errcode.h"

int cli_resolve_address(struct cli *cli)
{
        const char *env = getenv("BUS_ADDRESS");
        const char *given = cli->address_opt;
        struct address a;
        int r;

        if (!given && !cli->system && env && *env) {
                given = env;
                cli->address_from = " (from BUS_ADDRESS)";
        } else if (given) {
                cli->address_from = "";
        } else {
                cli->address_from = cli->system ? " (the system bus)" : " (the user bus)";
        }
        if (given)
                r = address_parse(given, &a);
        else
                r = address_default(cli->system, false, getenv("XDG_RUNTIME_DIR"), getuid(), &a);
        if (r == 0 && cli->seqpacket && !a.seqpacket)
                r = address_seqpacket_sibling(&a, &a);
        if (r == -ENAMETOOLONG)
                return cli_usage_error(cli, "the socket path of '%s'%s is too long (at most 107 bytes)",
                                       given ? given : "the default bus", cli->seqpacket ? " plus .seq" : "");
        if (r < 0)
                return cli_usage_error(cli,
                                       "invalid bus address '%s'%s: use unix:/path, seqpacket:/path or an "
                                       "absolute /path",
                                       given ? given : "", cli->address_from);
        address_format(&a, cli->address, sizeof(cli->address));
        return 0;
}

/* Whether the address in use (cli_resolve_address()) is a seqpacket socket. */
static bool on_seqpacket(const struct cli *cli)
{
        struct address a;

        return address_parse(cli->address, &a) == 0 && a.seqpacket;
}

/* What the address's path is when it is not a socket ("a regular file"), or
 * NULL (a socket, or nothing there). connect() says ECONNREFUSED for any of
 * them. */
static const char *not_a_socket(const struct cli *cli)
{
        struct address a;
        struct stat st;

        if (address_parse(cli->address, &a) < 0 || stat(a.path, &st) < 0 || S_ISSOCK(st.st_mode))
                return NULL;
        if (S_ISREG(st.st_mode))
                return "a regular file";
        if (S_ISDIR(st.st_mode))
                return "a directory";
        if (S_ISFIFO(st.st_mode))
                return "a named pipe (FIFO)";
        if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
                return "a device";
        return "not a socket";
}

/* Explains a bus_open() failure; returns the exit code. */
static int connect_fail(const struct cli *cli, int r)
{
        const char *why, *hint = NULL, *what;
        char buf[160];
        int code = CLI_EXIT_NOBUS;
        bool seq = on_seqpacket(cli);

        if ((r == -ECONNREFUSED || r == -ENOTSOCK) && (what = not_a_socket(cli))) {
                snprintf(buf, sizeof(buf), "this is %s, not a socket", what);
                why = buf;
                hint = "check the address: busd's socket is $XDG_RUNTIME_DIR/busd/bus, /run/busd/bus for the system "
                       "bus";
                goto print;
        }
        switch (-r) {
        case ENOENT:
                why = "no such socket";
                hint = "is busd running? start it with `busd`, or set BUS_ADDRESS or --address";
                break;
        case ECONNREFUSED:
                why = "connection refused";
                hint = "the socket exists but nothing listens: busd has stopped; start it with `busd`";
                break;
        case EPERM:
                if (strstr(bus_open_error(), "the user bus")) {
                        why = "refusing an untrusted user bus";
                        hint = bus_open_error(); /* the path and the owner found */
                        code = CLI_EXIT_NOPERM;
                        break;
                }
                /* fall through */
        case EACCES:
                why = "permission denied";
                hint = strstr(bus_open_error(), "refused the connection")
                               ? bus_open_error() /* the daemon's access policy, with its rule */
                               : "the socket belongs to another user: is this the right bus?";
                code = CLI_EXIT_NOPERM;
                break;
        case EUSERS:
                why = "too many connections";
                hint = bus_open_error();
                break;
        case EPROTOTYPE:
                why = "wrong socket type";
                hint = seq ? "this is a stream socket: use unix:PATH, without --seqpacket"
                           : "this looks like a seqpacket socket: use seqpacket:PATH";
                break;
        case ENOTSOCK:
                why = "not a socket";
                hint = "check the address";
                break;
        case EINVAL:
        case ENAMETOOLONG:
                why = "invalid address";
                hint = "use unix:/path, seqpacket:/path or an absolute /path of at most 107 bytes";
                code = CLI_EXIT_USAGE;
                break;
        case EPROTO:
                why = "this is not a busd (the handshake failed)";
                hint = bus_open_error();
                code = CLI_EXIT_PROTOCOL;
                break;
        case ETIMEDOUT:
                snprintf(buf, sizeof(buf), "no answer from the daemon within %d ms",
                         cli->timeout_ms > 0 ? cli->timeout_ms : 25000);
                why = buf;
                hint = "busd may be stopped, stuck or overloaded; wait longer with --timeout";
                code = CLI_EXIT_TIMEOUT;
                break;
        case ENOMEM:
                why = "out of memory";
                code = CLI_EXIT_INTERNAL;
                break;
        default:
                why = strerror(-r);
                hint = bus_open_error();
                break;
        }
print:
        fprintf(stderr, "bus: cannot connect to %s%s: %s", cli->address, cli->address_from, why);
        if (hint && *hint)
                fprintf(stderr, " (%s)", hint);
        fputc('\n', stderr);
        return code;
}

int cli_connect_fd(struct cli *cli, const char *display_name, int *ret_fd, struct bus **ret_bus)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct address a;
        struct bus *bus;
        int r, fd;

        if ((r = cli_resolve_address(cli)))
                return r;
        if (address_parse(cli->address, &a) < 0)
                return connect_fail(cli, -EINVAL);
        fd = socket(AF_UNIX, (a.seqpacket ? SOCK_SEQPACKET : SOCK_STREAM) | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return connect_fail(cli, -errno);
        memcpy(sa.sun_path, a.path, sizeof(a.path));
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                r = -errno;
                close(fd);
                return connect_fail(cli, r);
        }
        r = bus_open_fd(fd, display_name, &bus);
        if (r < 0) {
                close(fd);
                return connect_fail(cli, r);
        }
        *ret_fd = fd;
        *ret_bus = bus;
        return 0;
}

int cli_connect(struct cli *cli, const char *display_name, struct bus **ret_bus)
{
        struct bus *bus;
        int r;

        r = cli_resolve_address(cli);
        if (r)
                return r;
        /* --timeout bounds the connect and the handshake too, except for
         * serve, where it is each command's time limit */
        r = bus_open_timeout(cli->address, display_name,
                             cli->verb == &cli_verb_serve ? BUS_TIMEOUT_DEFAULT : cli_timeout_left(cli), &bus);
        if (r < 0)
                return connect_fail(cli, r);
        *ret_bus = bus;
        return 0;
}

static int timeout_ms(const struct cli *cli)
{
        return cli->timeout_ms > 0 ? cli->timeout_ms : 25000;
}

int cli_error_fail(const struct cli *cli, const char *what, const char *code, const char *message)
{
        const char *verb = cli->verb ? cli->verb->name : "";

        if (code && strcmp(code, ERRCODE_NO_OWNER) == 0) {
                fprintf(stderr, "bus %s: %s: %s (is the service running? `bus list` shows the names on the bus)\n",
                        verb, what, message && *message ? message : "no connection owns the name");
                return CLI_EXIT_NO_OWNER;
        }
        fprintf(stderr, "bus %s: %s failed: %s: %s", verb, what, code ? code : "error", message ? message : "");
        if (code && strcmp(code, ERRCODE_UNKNOWN_METHOD) == 0)
                fprintf(stderr, " (`bus introspect NAME` lists the methods a service declares)");
        else if (code && strcmp(code, ERRCODE_CALLEE_GONE) == 0)
                fprintf(stderr, " (the service disconnected before answering)");
        else if (code && strcmp(code, ERRCODE_INVALID_MESSAGE) == 0)
                fprintf(stderr, " (the bus refused the request)");
        fputc('\n', stderr);
        return CLI_EXIT_REMOTE;
}

int cli_fail(const struct cli *cli, struct bus *bus, const char *what, int r)
{
        const char *verb = cli->verb ? cli->verb->name : "";

        switch (-r) {
        case EREMOTEIO:
                return cli_error_fail(cli, what, bus ? bus_last_error_code(bus) : NULL,
                                      bus ? bus_last_error(bus) : NULL);
        case ETIMEDOUT:
                fprintf(stderr,
                        "bus %s: %s: no answer within %d ms (the service may be busy or stuck; "
                        "wait longer with --timeout MS)\n",
                        verb, what, timeout_ms(cli));
                return CLI_EXIT_TIMEOUT;
        case ECONNRESET:
        case EPIPE:
        case ENOTCONN:
                fprintf(stderr, "bus %s: %s: the connection to the bus was lost (did busd stop?)\n", verb, what);
                return CLI_EXIT_LOST;
        case EINVAL:
                fprintf(stderr, "bus %s: %s: invalid argument%s%s\n", verb, what, bus ? ": " : "",
                        bus ? bus_last_error(bus) : "");
                return CLI_EXIT_USAGE;
        case EMSGSIZE:
                fprintf(stderr, "bus %s: %s: too large for this connection (at most %zu bytes per message%s)\n", verb,
                        what, bus ? bus_max_message(bus) : (size_t)BUS_MAX_MESSAGE_STREAM,
                        on_seqpacket(cli) ? "; the stream socket takes more" : "");
                return CLI_EXIT_DATAERR;
        default:
                fprintf(stderr, "bus %s: %s: %s%s%s\n", verb, what, strerror(-r), bus ? ": " : "",
                        bus ? bus_last_error(bus) : "");
                return CLI_EXIT_INTERNAL;
        }
}

struct call_state {
        bool done;
        struct cli_reply *reply;
};

static char *dup_or_null(const char *s)
{
        return s ? strdup(s) : NULL;
}

static void on_reply(struct bus *bus, const struct bus_reply *reply, void *userdata)
{
        struct call_state *st = userdata;

        st->done = true;
        st->reply->error = reply->error;
        st->reply->code = dup_or_null(reply->code);
        st->reply->message = dup_or_null(reply->message);
        st->reply->result = reply->result ? json_object_get(reply->result) : NULL;
}

int cli_call(struct cli *cli, struct bus *bus, const char *dest, const char *method, struct json_object *params,
             struct cli_reply *ret)
{
        struct call_state st = { .reply = ret };
        char what[600];
        int r;

        memset(ret, 0, sizeof(*ret));
        snprintf(what, sizeof(what), "%s.%s", dest, method);
        r = bus_call_async(bus, dest, method, params, cli->timeout_ms > 0 ? cli->timeout_ms : BUS_TIMEOUT_DEFAULT,
                           on_reply, &st, NULL);
        if (r < 0)
                return cli_fail(cli, bus, what, r);
        while (!st.done) {
                r = bus_process(bus);
                if (st.done)
                        break;
                if (r == 0)
                        r = bus_wait(bus, -1);
                if (r < 0)
                        return cli_fail(cli, bus, what, r);
        }
        return 0;
}

void cli_reply_deinit(struct cli_reply *r)
{
        free(r->code);
        free(r->message);
        json_object_put(r->result);
        memset(r, 0, sizeof(*r));
}

int cli_reply_fail(const struct cli *cli, const struct cli_reply *r, const char *dest, const char *method)
{
        char what[600];

        snprintf(what, sizeof(what), "%s.%s", dest, method);
        if (r->error != -EREMOTEIO)
                return cli_fail(cli, NULL, what, r->error);
        int code = cli_error_fail(cli, what, r->code, r->message);
        if (r->result) {
                char *data = output_json_string(r->result);
                fprintf(stderr, "bus %s: error data: %s\n", cli->verb ? cli->verb->name : "", data ? data : "?");
                free(data);
        }
        return code;
}

int cli_daemon_call(struct cli *cli, struct bus *bus, const char *method, struct json_object *params,
                    struct json_object **ret_result)
{
        struct cli_reply reply;
        int r;

        r = cli_call(cli, bus, BUS_DAEMON_NAME, method, params, &reply);
        if (r)
                return r;
        if (reply.error) {
                r = cli_reply_fail(cli, &reply, BUS_DAEMON_NAME, method);
                cli_reply_deinit(&reply);
                return r;
        }
        *ret_result = reply.result;
        reply.result = NULL;
        cli_reply_deinit(&reply);
        return 0;
}
