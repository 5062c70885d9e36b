/* main.c: wires options, configuration, sockets and the loop together;
 * nothing else. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sysexits.h>
#include <unistd.h>
#include <uv.h>

#include "address.h"
#include "config.h"
#include "listen.h"
#include "options.h"
#include "server.h"

/* Connections need descriptors: use the whole hard limit. */
static void raise_fd_limit(void)
{
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                setrlimit(RLIMIT_NOFILE, &rl);
        }
}

/* Without --listen or a listen key: the default bus's stream and seqpacket sockets. */
static int default_listen(struct options *o)
{
        char dir[sizeof(o->listen[0].path)], err[300];
        int r = address_default_dir(o->system, getenv("XDG_RUNTIME_DIR"), geteuid(), dir, sizeof(dir));

        if (r == 0)
                r = address_default(o->system, false, getenv("XDG_RUNTIME_DIR"), geteuid(), &o->listen[0]);
        if (r == 0)
                r = address_default(o->system, true, getenv("XDG_RUNTIME_DIR"), geteuid(), &o->listen[1]);
        if (r < 0) {
                fprintf(stderr, "busd: the default socket path is too long (XDG_RUNTIME_DIR?)\n");
                return r;
        }
        o->nlisten = 2;
        r = listen_prepare_dir(dir, o->system, err, sizeof(err));
        if (r < 0)
                fprintf(stderr, "busd: %s\n", err);
        return r;
}

/* --check-config: the exit status, EXIT_SUCCESS when the file is good (or
 * there is none and none is required), EXIT_FAILURE with the reason otherwise. */
static int check_config(const struct options *o)
{
        struct config file;
        char err[800];
        int r = options_read_config(o, &file, err, sizeof(err));

        if (r < 0) {
                fprintf(stderr, "busd: %s\n", err);
                return EXIT_FAILURE;
        }
        if (r == 1)
                printf("%s%s: no file; the built-in defaults apply\n", o->config_path[0] ? "" : "(no home directory)",
                       o->config_path);
        else
                printf("%s: OK\n", o->config_path);
        return EXIT_SUCCESS;
}

/* Sockets from systemd, or none: then the addresses of the command line, the
 * file, or the defaults. Returns the number adopted, or -1 (logged). */
static int choose_sockets(struct options *o, struct listen_sock *adopted)
{
        char err[400];
        int n = listen_from_systemd(adopted, OPTIONS_MAX_LISTEN, err, sizeof(err));

        if (n < 0) {
                fprintf(stderr, "busd: %s\n", err);
                return -1;
        }
        if (n > 0) {
                bool stream = false, seq = false;
                for (int i = 0; i < n; i++) {
                        stream |= !adopted[i].addr.seqpacket;
                        seq |= adopted[i].addr.seqpacket;
                }
                if (!stream || !seq)
                        fprintf(stderr,
                                "busd: socket-activated without a %s socket: serving only what systemd passed\n",
                                stream ? "seqpacket" : "stream");
                if (o->cli.given & CONFIG_LISTEN)
                        fprintf(stderr, "busd: --listen is ignored: the sockets come from systemd\n");
                else if (o->file.given & CONFIG_LISTEN)
                        fprintf(stderr, "busd: listen in %s is ignored: the sockets come from systemd\n",
                                o->config_path);
                return n;
        }
        if ((o->cli.given & CONFIG_LISTEN) && (o->file.given & CONFIG_LISTEN))
                fprintf(stderr, "busd: listen in %s is ignored: --listen given\n", o->config_path);
        if (!o->listen_given && default_listen(o) < 0)
                return -1;
        return 0;
}

int main(int argc, char **argv)
{
        struct options opt;
        struct config file;
        struct listen_sock adopted[OPTIONS_MAX_LISTEN];
        struct server srv;
        uv_loop_t loop;
        char err[800];
        int r = options_parse(&opt, argc, argv);

        /* > 0: --help or --version answered; < 0: a bad command line (reported) */
        if (r != 0)
                return r > 0 ? EXIT_SUCCESS : EX_USAGE;
        if (opt.check_config)
                return check_config(&opt);
        r = options_read_config(&opt, &file, err, sizeof(err));
        if (r < 0) {
                fprintf(stderr, "busd: %s\n", err);
                return EXIT_FAILURE;
        }
        options_apply(&opt, &file, true);
        int nadopted = choose_sockets(&opt, adopted);
        if (nadopted < 0)
                return EXIT_FAILURE;
        signal(SIGPIPE, SIG_IGN);
        raise_fd_limit();
        if (uv_loop_init(&loop) < 0)
                return EXIT_FAILURE;
        if (server_init(&srv, &loop, &opt) < 0) {
                fprintf(stderr, "busd: out of memory\n");
                return EXIT_FAILURE;
        }
        if (r == 0)
                server_log(&srv, "configuration from %s", opt.config_path);
        if (server_load_policy(&srv, err, sizeof(err)) < 0) {
                /* fail closed: no policy we cannot read */
                fprintf(stderr, "busd: refusing to start: %s\n", err);
                server_deinit(&srv);
                uv_loop_close(&loop);
                return EXIT_FAILURE;
        }
        r = server_start(&srv, adopted, (size_t)nadopted);
        uv_run(&loop, UV_RUN_DEFAULT);
        server_deinit(&srv);
        if (uv_loop_close(&loop) != 0)
                fprintf(stderr, "busd: warning: handles left open at exit\n");
        return r == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
