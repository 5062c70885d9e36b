/* cli.h: shared state and helpers of the `bus` command-line tool.
 *
 * main.c parses the global options into a struct cli and hands it to a verb
 * (verb_*.c). Verbs parse their own options with cli_getopt(), which also
 * accepts the global ones after the verb. Helpers here connect to the bus,
 * make calls and turn every failure into a message on stderr that says what
 * to do, plus one of the documented exit codes (docs/bus.md, EXIT STATUS).
 * No global mutable state: everything lives in the struct cli of main().
 */
#pragma once

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

#include "output.h"

struct bus;
struct json_object;

/* Exit codes: sysexits.h values where one fits. Documented in docs/bus.md and
 * `bus --help`; change them only together. */
enum {
        CLI_EXIT_OK = 0,
        CLI_EXIT_REMOTE = 1,    /* the other side answered with an error */
        CLI_EXIT_USAGE = 64,    /* bad command line (EX_USAGE) */
        CLI_EXIT_DATAERR = 65,  /* a JSON argument is not valid JSON (EX_DATAERR) */
        CLI_EXIT_NOBUS = 68,    /* cannot connect: bus not running (EX_NOHOST) */
        CLI_EXIT_NO_OWNER = 69, /* no connection owns the name (EX_UNAVAILABLE) */
        CLI_EXIT_INTERNAL = 70, /* bug or out of memory (EX_SOFTWARE) */
        CLI_EXIT_LOST = 74,     /* the connection to the bus broke (EX_IOERR) */
        CLI_EXIT_TIMEOUT = 75,  /* no answer in time (EX_TEMPFAIL) */
        CLI_EXIT_PROTOCOL = 76, /* the address is not a busd (EX_PROTOCOL) */
        CLI_EXIT_NOPERM = 77,   /* permission denied (EX_NOPERM) */
};

/* What cli_getopt() returns besides option characters. */
enum {
        CLI_GETOPT_HELP = -2,  /* --help was printed: exit 0 */
        CLI_GETOPT_ERROR = -3, /* a usage error was printed: exit 64 */
};

struct cli;

struct cli_verb {
        const char *name;
        const char *args;    /* "DEST METHOD [JSON]" */
        const char *summary; /* one line for `bus --help` */
        const char *help;    /* the verb's options and details, for `bus VERB --help` */
        /* argv[0] is the verb; returns an exit code. */
        int (*run)(struct cli *cli, int argc, char **argv);
};

extern const struct cli_verb cli_verb_call, cli_verb_publish, cli_verb_listen, cli_verb_wait, cli_verb_serve,
        cli_verb_list, cli_verb_introspect, cli_verb_status, cli_verb_metrics, cli_verb_ping, cli_verb_policy,
        cli_verb_monitor;

struct cli {
        /* global options, as given */
        const char *address_opt; /* --address, or NULL */
        bool system;             /* --system */
        bool seqpacket;          /* --seqpacket */
        int timeout_ms;          /* --timeout, or -1 when not given */
        long long start_ms;      /* cli_now_ms() when bus started: --timeout counts from it */
        enum output_format format;
        enum output_layout layout;
        enum output_color color;
        bool full; /* --full: text lines are not fitted to the terminal */

        const struct cli_verb *verb; /* the verb running, for messages */
        struct output out;           /* resolved by cli_output_setup() */
        char address[128];           /* resolved by cli_resolve_address() */
        const char *address_from;    /* where the address came from, for messages */

        /* cli_getopt() scratch: verb options merged with the global ones */
        struct option longopts[40];
        char shortopts[64];
};

/* ---- options (main.c) ---------------------------------------------------- */

/* getopt_long() over the verb's options plus the global options. Global
 * options are applied to cli and not returned. Returns an option character
 * (or a verb's long-option value), -1 at the end of the options (optind is
 * then the first operand), CLI_GETOPT_HELP after printing the verb's help, or
 * CLI_GETOPT_ERROR after printing a usage error. With stop_at_operand, the
 * first operand ends the options (for commands given after the operands).
 * Set optind = 0 before the first call for a new argv. */
int cli_getopt(struct cli *cli, int argc, char **argv, const char *shortopts, const struct option *longopts,
               bool stop_at_operand);
/* The exit code for a cli_getopt() result that is not an option. */
int cli_getopt_exit(int c);
/* Prints "bus VERB: <message>" and a pointer to --help; returns CLI_EXIT_USAGE. */
int cli_usage_error(const struct cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Parses a decimal integer in [min, max] given to option `opt`; prints a usage
 * error and returns CLI_EXIT_USAGE when it is not one, else 0. */
int cli_parse_long(const struct cli *cli, const char *opt, const char *arg, long min, long max, long *ret);
/* Parses a duration for option `opt`: a number of milliseconds, or a number
 * with a unit (ms, s, sec, min, h), from 1 ms to 24 h, into *ret_ms. Prints a
 * usage error and returns CLI_EXIT_USAGE when it is not one, else 0. */
int cli_parse_duration(const struct cli *cli, const char *opt, const char *arg, int *ret_ms);
/* Milliseconds left of --timeout counted from the start (at least 1), or -1
 * when no --timeout was given. */
int cli_timeout_left(const struct cli *cli);
/* CLOCK_MONOTONIC in microseconds / milliseconds. */
long long cli_now_us(void);
long long cli_now_ms(void);
/* Resolves format/layout/colour from the options, isatty() and NO_COLOR.
 * text_form: the verb has a text form (tables) besides JSON. */
void cli_output_setup(struct cli *cli, bool text_form);

/* ---- the bus (connect.c) ------------------------------------------------- */

/* Works out the address (--address, --system, $BUS_ADDRESS, the user bus;
 * converted by --seqpacket) into cli->address. Returns 0 or CLI_EXIT_USAGE
 * (message printed). */
int cli_resolve_address(struct cli *cli);
/* Resolves the address and connects. display_name is shown by `bus list`.
 * Returns 0 and the bus in *ret_bus (caller closes it), or an exit code after
 * printing why and what to do. */
int cli_connect(struct cli *cli, const char *display_name, struct bus **ret_bus);
/* The same on a socket the tool connects itself, for a verb that speaks the
 * protocol on it after the handshake (`bus monitor`: libbus has no monitor
 * API). Returns 0 with the socket in *ret_fd, owned by the bus (closed by
 * bus_close()), or an exit code after printing why. */
int cli_connect_fd(struct cli *cli, const char *display_name, int *ret_fd, struct bus **ret_bus);
/* Prints "bus VERB: WHAT: <reason>" for a negative errno from libbus (using
 * bus_last_error*() when bus is not NULL) and returns its exit code. */
int cli_fail(const struct cli *cli, struct bus *bus, const char *what, int r);

/* Prints "bus VERB: WHAT failed: CODE: MESSAGE" for an error from the bus,
 * with advice for well-known codes; returns the exit code (CLI_EXIT_NO_OWNER
 * for no_owner, else CLI_EXIT_REMOTE). */
int cli_error_fail(const struct cli *cli, const char *what, const char *code, const char *message);

/* The outcome of a call, owned by the caller: release with cli_reply_deinit(). */
struct cli_reply {
        int error;                  /* 0, -EREMOTEIO, -ETIMEDOUT, -ECONNRESET or a local errno */
        char *code;                 /* error code when error != 0 (may be NULL) */
        char *message;              /* error message when error != 0 (may be NULL) */
        struct json_object *result; /* result, or the error's data; NULL for JSON null */
};

/* Calls dest.method(params) with the --timeout (params borrowed) and waits.
 * Returns 0 when the call was made (its outcome, success or error, is in
 * *ret), or an exit code after printing why it could not be sent. */
int cli_call(struct cli *cli, struct bus *bus, const char *dest, const char *method, struct json_object *params,
             struct cli_reply *ret);
void cli_reply_deinit(struct cli_reply *r);
/* For a failed reply: prints "bus VERB: DEST.METHOD: CODE: MESSAGE" (and the
 * error data, if any) with advice, and returns the exit code. */
int cli_reply_fail(const struct cli *cli, const struct cli_reply *r, const char *dest, const char *method);
/* Calls a method of the daemon (org.busd) and stores the result in *ret_result
 * (caller owns it). Returns 0 or an exit code after printing why. */
int cli_daemon_call(struct cli *cli, struct bus *bus, const char *method, struct json_object *params,
                    struct json_object **ret_result);

/* ---- events (verb_listen.c) ---------------------------------------------- */

struct bus_event;
/* Prints an event as `bus listen` does (one JSON value, flushed). Returns 0,
 * or CLI_EXIT_INTERNAL after printing why (out of memory, stdout broken). */
int cli_print_event(struct cli *cli, const struct bus_event *ev);

/* ---- input (input.c) ----------------------------------------------------- */

/* Parses a JSON argument (`-` reads standard input) with the bus's rules
 * (docs/protocol.md §2.1). what names it in messages ("params"). Returns 0
 * and the value in *ret (NULL for JSON null; caller owns it), or an exit code
 * (CLI_EXIT_DATAERR) after printing where the text is wrong. */
int cli_parse_json(const struct cli *cli, const char *what, const char *text, struct json_object **ret);
/* Checks a destination (well-known name or unique id), method, topic or
 * pattern; prints a usage error saying what is expected. Returns 0 or
 * CLI_EXIT_USAGE. */
int cli_check_dest(const struct cli *cli, const char *dest);
int cli_check_name(const struct cli *cli, const char *name);
int cli_check_method(const struct cli *cli, const char *method);
int cli_check_topic(const struct cli *cli, const char *topic);
int cli_check_pattern(const struct cli *cli, const char *pattern);
