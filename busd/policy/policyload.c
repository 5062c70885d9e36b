/* policyload.c: see policyload.h. */
#include "policyload.h"

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buslimits.h"
#include "policy.h"
#include "readfile.h"

#define MAX_FILES 256

int policyload_default_dir(bool system, char *buf, size_t len)
{
        const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
        int n;

        if (system)
                n = snprintf(buf, len, "%s", BUS_POLICY_SYSTEM_DIR);
        else if (xdg && xdg[0] == '/')
                n = snprintf(buf, len, "%s/busd", xdg);
        else if (home && home[0] == '/')
                n = snprintf(buf, len, "%s/.config/busd", home);
        else
                return -ENOENT;
        return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int resolve(void *userdata, bool group, const char *name, unsigned *ret_id)
{
        char scratch[16384];
        int r;

        (void)userdata;
        if (group) {
                struct group g, *res = NULL;
                r = getgrnam_r(name, &g, scratch, sizeof(scratch), &res);
                if (r || !res)
                        return -ENOENT;
                *ret_id = (unsigned)res->gr_gid;
        } else {
                struct passwd p, *res = NULL;
                r = getpwnam_r(name, &p, scratch, sizeof(scratch), &res);
                if (r || !res)
                        return -ENOENT;
                *ret_id = (unsigned)res->pw_uid;
        }
        return 0;
}

/* Reads a whole regular file (at most BUS_MAX_POLICY_FILE). Returns 0,
 * -ENOENT when it does not exist (err left empty), or another negative errno
 * with err filled. */
static int slurp(const char *path, char **ret, size_t *ret_len, char *err, size_t errlen)
{
        int r = readfile(path, BUS_MAX_POLICY_FILE, ret, ret_len, err, errlen);

        if (r == -ENOENT) {
                err[0] = 0;
        } else if (r == -EISDIR || r == -EINVAL || r == -EFBIG) {
                snprintf(err, errlen, "%s: not a regular file of at most 1 MiB", path);
                r = -EINVAL;
        }
        return r;
}

static int by_name(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int policyload(const char *dir, bool system, uid_t owner, struct policy **ret, struct policyload_info *ret_info,
               char *err, size_t errlen)
{
        struct policy_source src[MAX_FILES + 1];
        char *paths[MAX_FILES + 1], *texts[MAX_FILES + 1];
        size_t n = 0;
        bool base = false;
        int r = 0;

        err[0] = 0;
        /* policy.json first */
        if (asprintf(&paths[0], "%s/policy.json", dir) < 0)
                return -ENOMEM;
        r = slurp(paths[0], &texts[0], &src[0].len, err, errlen);
        if (r == 0) {
                n = 1;
                base = true;
        } else {
                free(paths[0]);
                if (r != -ENOENT)
                        return r;
                r = 0;
        }
        /* then the *.json files of policy.d, in lexical order */
        char ddir[4096];
        snprintf(ddir, sizeof(ddir), "%s/policy.d", dir);
        DIR *d = opendir(ddir);
        if (d) {
                char *names[MAX_FILES];
                size_t nn = 0;
                struct dirent *e;
                while ((e = readdir(d))) {
                        size_t len = strlen(e->d_name);
                        if (e->d_name[0] == '.' || len <= 5 || strcmp(e->d_name + len - 5, ".json") != 0)
                                continue;
                        if (nn == MAX_FILES) {
                                snprintf(err, errlen, "%s: more than %d policy files", ddir, MAX_FILES);
                                r = -E2BIG;
                                break;
                        }
                        if (!(names[nn] = strdup(e->d_name))) {
                                r = -ENOMEM;
                                break;
                        }
                        nn++;
                }
                closedir(d);
                qsort(names, nn, sizeof(names[0]), by_name);
                for (size_t i = 0; i < nn; i++) {
                        if (r == 0 && n < MAX_FILES + 1) {
                                if (asprintf(&paths[n], "%s/%s", ddir, names[i]) < 0) {
                                        r = -ENOMEM;
                                } else {
                                        r = slurp(paths[n], &texts[n], &src[n].len, err, errlen);
                                        if (r == -ENOENT) {
                                                snprintf(err, errlen, "%s: vanished while reading", paths[n]);
                                                r = -EINVAL;
                                        }
                                        if (r < 0)
                                                free(paths[n]);
                                        else
                                                n++;
                                }
                        }
                        free(names[i]);
                }
        } else if (errno != ENOENT) {
                snprintf(err, errlen, "%s: %s", ddir, strerror(errno));
                r = -errno;
        }
        if (r == 0) {
                for (size_t i = 0; i < n; i++) {
                        src[i].path = paths[i];
                        src[i].text = texts[i];
                }
                if (n == 0) {
                        *ret = policy_default(system, owner);
                        r = *ret ? 0 : -ENOMEM;
                } else {
                        r = policy_parse(src, n, resolve, NULL, ret, err, errlen);
                }
                if (r == 0) {
                        ret_info->files = n;
                        ret_info->base = base;
                }
        }
        for (size_t i = 0; i < n; i++) {
                free(paths[i]);
                free(texts[i]);
        }
        return r;
}
