/* main.c: wires options, sockets and the loop together; nothing else. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <uv.h>

#include "address.h"
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

/* Without --listen: the default bus's stream and seqpacket sockets. */
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

static void announce_ready(int fd)
{
        static const char line[] = "READY=1\n";

        if (fd < 0)
                return;
        if (write(fd, line, sizeof(line) - 1) < 0)
                fprintf(stderr, "busd: --ready-fd %d: %s\n", fd, strerror(errno));
        close(fd);
}

int main(int argc, char **argv)
{
        struct options opt;
        struct server srv;
        uv_loop_t loop;
        int r = options_parse(&opt, argc, argv);

        if (r != 0)
                return r > 0 ? 0 : 64;
        if (!opt.listen_given && default_listen(&opt) < 0)
                return 1;
        signal(SIGPIPE, SIG_IGN);
        raise_fd_limit();
        if (uv_loop_init(&loop) < 0)
                return 1;
        if (server_init(&srv, &loop, &opt) < 0) {
                fprintf(stderr, "busd: out of memory\n");
                return 1;
        }
        r = server_start(&srv);
        if (r == 0)
                announce_ready(opt.ready_fd);
        uv_run(&loop, UV_RUN_DEFAULT);
        server_deinit(&srv);
        if (uv_loop_close(&loop) != 0)
                fprintf(stderr, "busd: warning: handles left open at exit\n");
        return r == 0 ? 0 : 1;
}
