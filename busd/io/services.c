/* services.c: see services.h. */
#include "services.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "activate.h"
#include "buslimits.h"
#include "readfile.h"
#include "router.h"

#ifndef BUS_SYSCONFDIR
#define BUS_SYSCONFDIR "/etc"
#endif
#ifndef BUS_DATADIR
#define BUS_DATADIR "/usr/share"
#endif
#define MAX_FILES 4096

extern char **environ;

struct child {
        uv_process_t proc;
        struct services *s;
        struct list link;
        char *name;
        bool systemctl; /* exit 0 is success: the unit was started */
};

static void say(struct services *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct services *s, const char *fmt, ...)
{
        char line[600];
        va_list ap;

        if (!s->log)
                return;
        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        s->log(s->log_userdata, "%s", line);
}

size_t services_default_dirs(bool system, char **dirs, size_t max)
{
        size_t n = 0;

        if (system) {
                if (n < max)
                        dirs[n++] = strdup(BUS_SYSCONFDIR "/busd/services");
                if (n < max)
                        dirs[n++] = strdup(BUS_DATADIR "/busd/services");
                return n;
        }
        const char *data = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
        char *p = NULL;
        if (data && data[0] == '/') {
                if (asprintf(&p, "%s/busd/services", data) < 0)
                        p = NULL;
        } else if (home && home[0] == '/') {
                if (asprintf(&p, "%s/.local/share/busd/services", home) < 0)
                        p = NULL;
        }
        if (p && n < max)
                dirs[n++] = p;
        else
                free(p);
        if (n < max)
                dirs[n++] = strdup(BUS_DATADIR "/busd/user-services");
        return n;
}

int services_init(struct services *s, uv_loop_t *loop, struct router *r, bool system, char *const *dirs, size_t ndirs,
                  const char *bus_address)
{
        memset(s, 0, sizeof(*s));
        s->loop = loop;
        s->router = r;
        s->system = system;
        list_init(&s->children);
        snprintf(s->bus_address, sizeof(s->bus_address), "%s", bus_address ? bus_address : "");
        for (size_t i = 0; i < ndirs && i < SERVICES_MAX_DIRS; i++) {
                if (!(s->dirs[i] = strdup(dirs[i])))
                        return -ENOMEM;
                s->ndirs = i + 1;
        }
        return 0;
}

static void free_table(struct actfile *files, struct activatable *table, size_t n)
{
        for (size_t i = 0; i < n; i++)
                actfile_deinit(&files[i]);
        free(files);
        free(table);
}

/* Reads one file into *ret; false (after logging) if it is not usable. */
static bool read_one(struct services *s, int dfd, const char *dir, const char *fname, struct actfile *ret)
{
        char name[256], why[300], *text;
        size_t flen = strlen(fname), len;

        snprintf(name, sizeof(name), "%.*s", (int)(flen - 5), fname);
        int r = readfile_at(dfd, fname, READFILE_NOFOLLOW, BUS_MAX_ACTIVATION_FILE, &text, &len, why, sizeof(why));
        if (r < 0) {
                bool unfit = r == -EISDIR || r == -EINVAL || r == -EFBIG; /* not regular, or too large */
                say(s, "activation file %s/%s skipped: %s", dir, fname,
                    unfit ? "not a regular file of at most 64 KiB" : strerror(-r));
                return false;
        }
        r = actfile_parse(text, len, name, ret, why, sizeof(why));
        free(text);
        if (r < 0) {
                say(s, "activation file %s/%s skipped: %s", dir, fname, why);
                return false;
        }
        return true;
}

static bool known(const struct actfile *files, size_t n, const char *name)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(files[i].name, name) == 0)
                        return true;
        return false;
}

size_t services_load(struct services *s)
{
        struct actfile *files = calloc(MAX_FILES, sizeof(*files));
        size_t n = 0;

        if (!files)
                return s->n;
        for (size_t d = 0; d < s->ndirs; d++) {
                DIR *dir = opendir(s->dirs[d]);
                struct dirent *e;
                if (!dir)
                        continue; /* a missing directory is normal */
                while ((e = readdir(dir)) && n < MAX_FILES) {
                        size_t len = strlen(e->d_name);
                        if (len <= 5 || strcmp(e->d_name + len - 5, ".json") != 0 || e->d_name[0] == '.')
                                continue;
                        struct actfile a;
                        if (!read_one(s, dirfd(dir), s->dirs[d], e->d_name, &a))
                                continue;
                        if (known(files, n, a.name)) {
                                /* an earlier directory already provides it and wins */
                                actfile_deinit(&a);
                                continue;
                        }
                        files[n++] = a;
                }
                closedir(dir);
        }
        struct activatable *table = calloc(n ? n : 1, sizeof(*table));
        if (!table) {
                free_table(files, table, n);
                return s->n;
        }
        for (size_t i = 0; i < n; i++) {
                table[i].name = files[i].name;
                table[i].timeout_ms = files[i].timeout_ms;
                table[i].data = &files[i];
        }
        if (router_set_activatable(s->router, table, n) < 0) {
                free_table(files, table, n);
                return s->n;
        }
        free_table(s->files, s->table, s->n);
        s->files = files;
        s->table = table;
        s->n = n;
        return n;
}

static void on_child_closed(uv_handle_t *h)
{
        struct child *c = h->data;

        free(c->name);
        free(c);
}

static void on_child_exit(uv_process_t *p, int64_t status, int signal)
{
        struct child *c = p->data;
        char why[160];

        if (c->systemctl && status == 0 && !signal) {
                /* the unit is started: now the service must take its name in time */
        } else {
                if (c->systemctl && signal)
                        snprintf(why, sizeof(why), "could not be started: systemctl start was killed by signal %d",
                                 signal);
                else if (c->systemctl)
                        snprintf(why, sizeof(why), "could not be started: systemctl start exited with status %lld",
                                 (long long)status);
                else if (signal)
                        snprintf(why, sizeof(why), "was killed by signal %d before taking the name", signal);
                else
                        snprintf(why, sizeof(why), "exited with status %lld before taking the name", (long long)status);
                /* a no-op when the name was taken meanwhile; the failure
                 * holds off the next start from now */
                router_set_time(c->s->router, uv_now(c->s->loop));
                router_activation_failed(c->s->router, c->name, why);
        }
        list_unlink(&c->link);
        uv_close((uv_handle_t *)&c->proc, on_child_closed);
}

int services_activate(void *userdata, const struct activatable *e)
{
        struct services *s = userdata;
        const struct actfile *a = e->data;
        char *unit_argv[] = { "systemctl", s->system ? "--no-ask-password" : "--user", "start", a->unit, NULL };
        char **argv = a->argv ? a->argv : unit_argv;
        char envaddr[160], envname[300];
        size_t nenv = 0;

        while (environ[nenv])
                nenv++;
        char **env = calloc(nenv + 3, sizeof(char *)); /* + BUS_ADDRESS, BUS_ACTIVATION_NAME, NULL */
        struct child *c = calloc(1, sizeof(*c));
        if (!env || !c || !(c->name = strdup(e->name))) {
                free(env);
                if (c)
                        free(c->name);
                free(c);
                return -ENOMEM;
        }
        size_t k = 0;
        /* the service gets our environment but what belongs to busd itself:
         * systemd's notification, watchdog and socket variables, our address */
        static const char *const drop[] = { "BUS_ADDRESS=", "BUS_ACTIVATION_NAME=", "NOTIFY_SOCKET=", "WATCHDOG_",
                                            "LISTEN_" };
        for (size_t i = 0; i < nenv; i++) {
                bool keep = true;
                for (size_t d = 0; d < sizeof(drop) / sizeof(drop[0]) && keep; d++)
                        keep = strncmp(environ[i], drop[d], strlen(drop[d])) != 0;
                if (keep)
                        env[k++] = environ[i];
        }
        snprintf(envaddr, sizeof(envaddr), "BUS_ADDRESS=%s", s->bus_address);
        snprintf(envname, sizeof(envname), "BUS_ACTIVATION_NAME=%s", e->name);
        env[k++] = envaddr;
        env[k++] = envname;
        env[k] = NULL;

        uv_stdio_container_t stdio[3] = { { .flags = UV_IGNORE },
                                          { .flags = UV_INHERIT_FD, .data.fd = STDOUT_FILENO },
                                          { .flags = UV_INHERIT_FD, .data.fd = STDERR_FILENO } };
        uv_process_options_t opt = {
                .exit_cb = on_child_exit,
                .file = a->argv ? argv[0] : "systemctl",
                .args = argv,
                .env = env,
                .stdio_count = 3,
                .stdio = stdio,
        };
        c->s = s;
        c->systemctl = !a->argv;
        c->proc.data = c;
        int r = uv_spawn(s->loop, &c->proc, &opt);
        free(env);
        if (r < 0) {
                say(s, "cannot start the service for %s (%s): %s", e->name, opt.file, uv_strerror(r));
                /* libuv wants the handle closed even when spawning failed */
                list_init(&c->link);
                uv_close((uv_handle_t *)&c->proc, on_child_closed);
                return r;
        }
        list_append(&s->children, &c->link);
        say(s, "activating %s: started %s (pid %d)", e->name, opt.file, c->proc.pid);
        return 0;
}

void services_stop(struct services *s)
{
        list_for_each_safe(l, tmp, &s->children)
        {
                struct child *c = list_entry(l, struct child, link);
                list_unlink(&c->link);
                uv_close((uv_handle_t *)&c->proc, on_child_closed);
        }
}

void services_deinit(struct services *s)
{
        if (s->router)
                router_set_activatable(s->router, NULL, 0);
        free_table(s->files, s->table, s->n);
        s->files = NULL;
        s->table = NULL;
        s->n = 0;
        for (size_t i = 0; i < s->ndirs; i++)
                free(s->dirs[i]);
        s->ndirs = 0;
}
