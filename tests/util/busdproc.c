/* busdproc.c: see busdproc.h. */
#include "busdproc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_WRAPPER_WORDS 32

/* $BUSD_WRAPPER split at blanks into words[] (a copy kept in buf); returns
 * the number of words, 0 when unset or empty. No quoting: the words are
 * options of a tool like valgrind. */
static int wrapper_words(char *buf, size_t size, const char **words)
{
        const char *w = getenv("BUSD_WRAPPER");
        int n = 0;

        if (!w || snprintf(buf, size, "%s", w) >= (int)size)
                return 0;
        for (char *save = NULL, *t = strtok_r(buf, " \t", &save); t && n < MAX_WRAPPER_WORDS;
             t = strtok_r(NULL, " \t", &save))
                words[n++] = t;
        return n;
}

/* The exit status the wrapper uses to report errors (--error-exitcode=N), or -1. */
static int wrapper_error_code(void)
{
        char buf[1024];
        const char *words[MAX_WRAPPER_WORDS];
        int n = wrapper_words(buf, sizeof(buf), words);

        for (int i = 0; i < n; i++)
                if (strncmp(words[i], "--error-exitcode=", 17) == 0)
                        return atoi(words[i] + 17);
        return -1;
}

static int spawn(struct busdproc *d, const char *busd, const char *prefix, const char *const *extra_args,
                 bool log_to_file);

int busdproc_start(struct busdproc *d, const char *busd, const char *prefix, const char *const *extra_args,
                   bool log_to_file)
{
        const char *tmp = getenv("TMPDIR");

        memset(d, 0, sizeof(*d));
        d->pid = -1;
        snprintf(d->dir, sizeof(d->dir), "%s/%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", prefix);
        if (!mkdtemp(d->dir)) {
                int e = errno;
                fprintf(stderr, "%s: mkdtemp %s: %s\n", prefix, d->dir, strerror(e));
                d->dir[0] = 0;
                return -e;
        }
        snprintf(d->stream_path, sizeof(d->stream_path), "%s/bus", d->dir);
        snprintf(d->seq_path, sizeof(d->seq_path), "%s/bus.seq", d->dir);
        snprintf(d->stream_addr, sizeof(d->stream_addr), "unix:%s", d->stream_path);
        snprintf(d->seq_addr, sizeof(d->seq_addr), "seqpacket:%s", d->seq_path);
        if (log_to_file)
                snprintf(d->log_path, sizeof(d->log_path), "%s/busd.log", d->dir);
        return spawn(d, busd, prefix, extra_args, log_to_file);
}

int busdproc_restart(struct busdproc *d, const char *busd, const char *prefix, const char *const *extra_args)
{
        if (d->pid > 0 || !d->dir[0])
                return -EINVAL;
        return spawn(d, busd, prefix, extra_args, d->log_path[0] != 0);
}

/* Starts busd on d's paths and waits for its readiness line. */
static int spawn(struct busdproc *d, const char *busd, const char *prefix, const char *const *extra_args,
                 bool log_to_file)
{
        const char *argv[64 + MAX_WRAPPER_WORDS];
        char fdarg[16], wrapbuf[1024];
        int pfd[2], n = 0;

        if (pipe2(pfd, O_CLOEXEC) < 0)
                return -errno;
        snprintf(fdarg, sizeof(fdarg), "%d", pfd[1]);
        /* busd is exec'd through $BUSD_WRAPPER if set (valgrind: scripts/valgrind.sh) */
        n = wrapper_words(wrapbuf, sizeof(wrapbuf), argv);
        argv[n++] = busd;
        argv[n++] = "--listen";
        argv[n++] = d->stream_addr;
        argv[n++] = "--listen";
        argv[n++] = d->seq_addr;
        argv[n++] = "--ready-fd";
        argv[n++] = fdarg;
        for (int i = 0; extra_args && extra_args[i] && n < 63 + MAX_WRAPPER_WORDS; i++)
                argv[n++] = extra_args[i];
        argv[n] = NULL;

        fflush(stdout);
        fflush(stderr);
        pid_t parent = getpid();
        pid_t pid = fork();
        if (pid < 0) {
                int e = errno;
                close(pfd[0]);
                close(pfd[1]);
                return -e;
        }
        if (pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (getppid() != parent)
                        _exit(127);
                if (log_to_file) {
                        int log = open(d->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                        if (log >= 0)
                                dup2(log, STDERR_FILENO);
                }
                close(pfd[0]);
                fcntl(pfd[1], F_SETFD, 0); /* the ready fd survives exec */
                execvp(argv[0], (char *const *)argv);
                fprintf(stderr, "%s: exec %s: %s\n", prefix, argv[0], strerror(errno));
                _exit(127);
        }
        close(pfd[1]);
        d->pid = pid;
        char line[64];
        ssize_t r;
        do
                r = read(pfd[0], line, sizeof(line) - 1);
        while (r < 0 && errno == EINTR);
        close(pfd[0]);
        if (r <= 0) {
                int st = 0;
                waitpid(pid, &st, 0);
                d->pid = -1;
                fprintf(stderr, "%s: %s exited before becoming ready (status %d)%s%s\n", prefix, busd, st,
                        log_to_file ? "; see " : "", d->log_path);
                return -ECHILD;
        }
        return 0;
}

static void remove_files(struct busdproc *d, bool with_log)
{
        static const char *const names[] = { "bus", "bus.seq", "bus.lock", "bus.seq.lock" };
        char p[400];

        if (!d->dir[0])
                return;
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                snprintf(p, sizeof(p), "%s/%s", d->dir, names[i]);
                unlink(p);
        }
        if (with_log && d->log_path[0])
                unlink(d->log_path);
        if (rmdir(d->dir) == 0)
                d->dir[0] = 0;
}

int busdproc_stop(struct busdproc *d)
{
        int st = -1;

        if (d->pid > 0) {
                kill(d->pid, SIGTERM);
                while (waitpid(d->pid, &st, 0) < 0 && errno == EINTR)
                        ;
                d->pid = -1;
                int code = wrapper_error_code();
                if (code > 0 && WIFEXITED(st) && WEXITSTATUS(st) == code)
                        fprintf(stderr, "busd: $BUSD_WRAPPER reported errors (exit status %d): see %s\n", code,
                                d->log_path[0] ? d->log_path : "busd's output above");
        }
        remove_files(d, false);
        return st;
}

void busdproc_kill(struct busdproc *d)
{
        if (d->pid > 0) {
                kill(d->pid, SIGKILL);
                while (waitpid(d->pid, NULL, 0) < 0 && errno == EINTR)
                        ;
                d->pid = -1;
        }
}

void busdproc_cleanup(struct busdproc *d)
{
        remove_files(d, true);
}

long busdproc_rss_kib(pid_t pid)
{
        char path[64], line[256];
        long kib = -1;

        snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
        FILE *f = fopen(path, "r");
        if (!f)
                return -1;
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
                        break;
        fclose(f);
        return kib;
}
