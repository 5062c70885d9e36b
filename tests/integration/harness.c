/* harness.c: see harness.h. */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef BUSD_PATH
#define BUSD_PATH "busd"
#endif

int harness_start(struct harness *h, const char *const *extra_args)
{
        const char *tmp = getenv("TMPDIR");
        const char *busd = getenv("BUSD");
        int pfd[2];

        memset(h, 0, sizeof(*h));
        h->pid = -1;
        snprintf(h->dir, sizeof(h->dir), "%s/busd-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(h->dir)) {
                fprintf(stderr, "harness: mkdtemp: %s\n", strerror(errno));
                return -errno;
        }
        snprintf(h->stream_path, sizeof(h->stream_path), "%s/bus", h->dir);
        snprintf(h->seq_path, sizeof(h->seq_path), "%s/bus.seq", h->dir);
        snprintf(h->stream_addr, sizeof(h->stream_addr), "unix:%s", h->stream_path);
        snprintf(h->seq_addr, sizeof(h->seq_addr), "seqpacket:%s", h->seq_path);
        if (pipe2(pfd, O_CLOEXEC) < 0)
                return -errno;

        const char *argv[64];
        char fdarg[16];
        int n = 0;
        snprintf(fdarg, sizeof(fdarg), "%d", pfd[1]);
        argv[n++] = busd ? busd : BUSD_PATH;
        argv[n++] = "--listen";
        argv[n++] = h->stream_addr;
        argv[n++] = "--listen";
        argv[n++] = h->seq_addr;
        argv[n++] = "--ready-fd";
        argv[n++] = fdarg;
        for (int i = 0; extra_args && extra_args[i] && n < 62; i++)
                argv[n++] = extra_args[i];
        argv[n] = NULL;

        pid_t parent = getpid();
        pid_t pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (getppid() != parent)
                        _exit(127);
                close(pfd[0]);
                fcntl(pfd[1], F_SETFD, 0); /* keep the ready fd across exec */
                execv(argv[0], (char *const *)argv);
                fprintf(stderr, "harness: exec %s: %s\n", argv[0], strerror(errno));
                _exit(127);
        }
        close(pfd[1]);
        h->pid = pid;
        char line[64];
        ssize_t r;
        do
                r = read(pfd[0], line, sizeof(line) - 1);
        while (r < 0 && errno == EINTR);
        close(pfd[0]);
        if (r <= 0) {
                int st;
                waitpid(pid, &st, 0);
                h->pid = -1;
                fprintf(stderr, "harness: busd exited before becoming ready (status %d)\n", st);
                return -ECHILD;
        }
        return 0;
}

static void remove_dir(struct harness *h)
{
        char p[400];

        if (!h->dir[0])
                return;
        unlink(h->stream_path);
        unlink(h->seq_path);
        snprintf(p, sizeof(p), "%s/bus.lock", h->dir);
        unlink(p);
        snprintf(p, sizeof(p), "%s/bus.seq.lock", h->dir);
        unlink(p);
        rmdir(h->dir);
        h->dir[0] = 0;
}

int harness_stop(struct harness *h)
{
        int st = -1;

        if (h->pid > 0) {
                kill(h->pid, SIGTERM);
                while (waitpid(h->pid, &st, 0) < 0 && errno == EINTR)
                        ;
                h->pid = -1;
        }
        remove_dir(h);
        return st;
}

void harness_kill(struct harness *h)
{
        if (h->pid > 0) {
                kill(h->pid, SIGKILL);
                while (waitpid(h->pid, NULL, 0) < 0 && errno == EINTR)
                        ;
                h->pid = -1;
        }
}

const char *harness_addr(const struct harness *h, bool seqpacket)
{
        return seqpacket ? h->seq_addr : h->stream_addr;
}

long harness_rss_kib(const struct harness *h)
{
        char path[64], line[256];
        long kib = -1;

        snprintf(path, sizeof(path), "/proc/%d/status", (int)h->pid);
        FILE *f = fopen(path, "r");
        if (!f)
                return -1;
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
                        break;
        fclose(f);
        return kib;
}
