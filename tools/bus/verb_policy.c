/* verb_policy.c: `bus policy check` and `bus policy verify`, for
 * administrators: what the policy files in a directory let a uid do, decided
 * by the daemon's own code (busd/policy/policy.c, busd/policy/policyload.c) on the files as
 * they are now, without a daemon. The running daemon uses the same files
 * after its last start or SIGHUP. */
#include "cli.h"

#include <errno.h>
#include <grp.h>
#include <json-c/json.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jsonnew.h"
#include "policy.h"
#include "policyload.h"

enum { OPT_DIR = 0x2000, OPT_UID, OPT_USER, OPT_GID, OPT_GROUPS, OPT_USERBUS };

static const struct option opts[] = {
        { "dir", required_argument, NULL, OPT_DIR },
        { "uid", required_argument, NULL, OPT_UID },
        { "user", required_argument, NULL, OPT_USER },
        { "gid", required_argument, NULL, OPT_GID },
        { "groups", required_argument, NULL, OPT_GROUPS },
        { "user-bus", no_argument, NULL, OPT_USERBUS },
        { NULL, 0, NULL, 0 },
};

struct who {
        uid_t uid;
        gid_t gid;
        gid_t groups[NGROUPS_MAX > 256 ? 256 : NGROUPS_MAX];
        int ngroups;
        bool have_uid, have_gid, have_groups;
};

static int parse_id(struct cli *cli, const char *opt, const char *s, unsigned *ret)
{
        long v;

        if (cli_parse_long(cli, opt, s, 0, (long)UINT32_MAX - 1, &v))
                return CLI_EXIT_USAGE;
        *ret = (unsigned)v;
        return 0;
}

static int parse_groups(struct cli *cli, const char *s, struct who *w)
{
        char copy[4096], *save = NULL;

        snprintf(copy, sizeof(copy), "%s", s);
        w->ngroups = 0;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                unsigned id;
                struct group *g = getgrnam(t);
                if (g)
                        id = g->gr_gid;
                else if (parse_id(cli, "--groups", t, &id))
                        return CLI_EXIT_USAGE;
                if ((size_t)w->ngroups == sizeof(w->groups) / sizeof(w->groups[0]))
                        return cli_usage_error(cli, "--groups: at most %zu groups",
                                               sizeof(w->groups) / sizeof(w->groups[0]));
                w->groups[w->ngroups++] = (gid_t)id;
        }
        w->have_groups = true;
        return 0;
}

/* Fills what the options did not give from the user database, as the kernel
 * would report it for a process of that user (its primary group and
 * supplementary groups). */
static void complete(struct who *w)
{
        struct passwd *pw = getpwuid(w->uid);

        if (!pw)
                return;
        if (!w->have_gid) {
                w->gid = pw->pw_gid;
                w->have_gid = true;
        }
        if (!w->have_groups) {
                int n = (int)(sizeof(w->groups) / sizeof(w->groups[0]));
                if (getgrouplist(pw->pw_name, w->gid, w->groups, &n) >= 0)
                        w->ngroups = n;
        }
}

static enum policy_verb verb_of(const char *s, bool *ok)
{
        static const struct {
                const char *name;
                enum policy_verb verb;
        } table[] = {
                { "connect", POLICY_CONNECT },
                { "own", POLICY_OWN },
                { "call", POLICY_CALL },
                { "publish", POLICY_PUBLISH },
                { "subscribe", POLICY_SUBSCRIBE },
                { "see", POLICY_SEE },
                { "backpressure", POLICY_BACKPRESSURE },
                { "monitor", POLICY_MONITOR },
        };

        for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
                if (strcmp(s, table[i].name) == 0) {
                        *ok = true;
                        return table[i].verb;
                }
        *ok = false;
        return POLICY_CONNECT;
}

static int load_info(struct cli *cli, const char *dir, bool user_bus, uid_t owner, struct policy **ret,
                     struct policyload_info *ret_info, char *dirbuf, size_t dirlen)
{
        struct policyload_info info = { 0 };
        char err[1024];

        if (dir)
                snprintf(dirbuf, dirlen, "%s", dir);
        else if (policyload_default_dir(!user_bus, dirbuf, dirlen) < 0)
                return cli_usage_error(cli, "no default policy directory (no home directory): give --dir");
        if (policyload(dirbuf, !user_bus, owner, ret, &info, err, sizeof(err)) < 0) {
                fprintf(stderr, "bus policy: %s\n", err);
                return CLI_EXIT_DATAERR;
        }
        *ret_info = info;
        return 0;
}

static int load(struct cli *cli, const char *dir, bool user_bus, uid_t owner, struct policy **ret, size_t *ret_files,
                char *dirbuf, size_t dirlen)
{
        struct policyload_info info = { 0 };
        int r = load_info(cli, dir, user_bus, owner, ret, &info, dirbuf, dirlen);

        if (r == 0)
                *ret_files = info.files;
        return r;
}

/* Whether some uid other than root may connect: every user of the user
 * database with their groups, and a uid with no entry and no group (a
 * service's DynamicUser, a container's). On a denial, *ret_rule says by which
 * rule or default the first such uid was refused. */
static bool someone_connects(const struct policy *pol, char *ret_rule, size_t len)
{
        struct policy_verdict v;
        struct passwd *pw;
        bool any = false;

        const struct policy_subject stranger = { (uid_t)4294967293u, (gid_t)4294967293u, NULL, 0 };
        if (policy_check(pol, &stranger, POLICY_CONNECT, NULL, NULL, &v))
                return true;
        snprintf(ret_rule, len, "%s", v.rule);
        setpwent();
        while (!any && (pw = getpwent())) {
                struct who w = { .uid = pw->pw_uid };
                if (pw->pw_uid == 0)
                        continue;
                complete(&w);
                const struct policy_subject s = { w.uid, w.gid, w.groups, (size_t)w.ngroups };
                any = policy_check(pol, &s, POLICY_CONNECT, NULL, NULL, NULL);
        }
        endpwent();
        return any;
}

static int run_check(struct cli *cli, int argc, char **argv, const char *dir, bool user_bus, struct who *w)
{
        struct policy *pol = NULL;
        struct policy_verdict v;
        char dirbuf[PATH_MAX];
        size_t nfiles = 0;
        bool ok;
        int r;

        if (argc < 1 || argc > 3)
                return cli_usage_error(cli, "check wants VERB [OBJECT [METHOD]]");
        enum policy_verb verb = verb_of(argv[0], &ok);
        if (!ok)
                return cli_usage_error(cli,
                                       "unknown verb '%s' (connect, own, call, publish, subscribe, see, "
                                       "backpressure, monitor)",
                                       argv[0]);
        if (verb != POLICY_CONNECT && verb != POLICY_MONITOR && argc < 2)
                return cli_usage_error(cli, "%s needs an OBJECT (a name, topic or pattern)", argv[0]);
        if (argc == 3 && verb != POLICY_CALL)
                return cli_usage_error(cli, "only call takes a METHOD");
        if (!w->have_uid)
                return cli_usage_error(cli, "check needs --uid UID or --user NAME");
        complete(w);
        if ((r = load(cli, dir, user_bus, w->uid, &pol, &nfiles, dirbuf, sizeof(dirbuf))))
                return r;
        const struct policy_subject s = { w->uid, w->have_gid ? w->gid : (gid_t)-1, w->groups, (size_t)w->ngroups };
        const char *object = argc >= 2 ? argv[1] : NULL, *method = argc == 3 ? argv[2] : NULL;
        policy_check(pol, &s, verb, object, method, &v);
        cli_output_setup(cli, true);
        if (cli->out.json) {
                struct json_object *o = jsonnew_object(), *g = jsonnew_array();
                json_object_object_add(o, "allowed", jsonnew_boolean(v.allowed));
                json_object_object_add(o, "rule", jsonnew_string(v.rule));
                json_object_object_add(o, "by_default", jsonnew_boolean(v.by_default));
                json_object_object_add(o, "verb", jsonnew_string(policy_verb_name(verb)));
                json_object_object_add(o, "object", object ? jsonnew_string(object) : NULL);
                json_object_object_add(o, "method", method ? jsonnew_string(method) : NULL);
                json_object_object_add(o, "uid", jsonnew_uint64(w->uid));
                for (int i = 0; i < w->ngroups; i++)
                        json_object_array_add(g, jsonnew_uint64(w->groups[i]));
                json_object_object_add(o, "groups", g);
                json_object_object_add(o, "dir", jsonnew_string(dirbuf));
                json_object_object_add(o, "files", jsonnew_uint64(nfiles));
                output_json(stdout, &cli->out, o);
                json_object_put(o);
        } else {
                printf("%s: %s%s%s%s%s for uid %u", v.allowed ? "allowed" : "denied" /* vocab: a verdict */,
                       policy_verb_name(verb), object ? " " : "", object ? object : "", method ? " method " : "",
                       method ? method : "", (unsigned)w->uid);
                if (w->have_gid)
                        printf(" (gid %u", (unsigned)w->gid);
                for (int i = 0; i < w->ngroups; i++)
                        printf("%s%u", i ? "," : ", groups ", (unsigned)w->groups[i]);
                printf("%s\n  by %s\n", w->have_gid ? ")" : "", v.rule);
                if (!nfiles)
                        printf("  (no policy file in %s: the built-in %s-bus policy)\n", dirbuf,
                               user_bus ? "user" : "system");
        }
        policy_free(pol);
        return v.allowed ? CLI_EXIT_OK : CLI_EXIT_REMOTE;
}

static int run_verify(struct cli *cli, int argc, const char *dir, bool user_bus)
{
        struct policyload_info info = { 0 };
        struct policy *pol = NULL;
        char dirbuf[PATH_MAX], rule[256];
        int r;

        if (argc != 0)
                return cli_usage_error(cli, "verify takes no operands");
        if ((r = load_info(cli, dir, user_bus, getuid(), &pol, &info, dirbuf, sizeof(dirbuf))))
                return r;
        if (info.files)
                printf("%s: %zu policy file%s OK\n", dirbuf, info.files, info.files == 1 ? "" : "s");
        else
                printf("%s: no policy file: the built-in %s-bus policy applies\n", dirbuf,
                       user_bus ? "user" : "system");
        /* valid, but a bus only root can use is rarely what was meant: a
         * drop-in alone, without the base file that allows connect */
        if (!user_bus && info.files && !someone_connects(pol, rule, sizeof(rule))) {
                fprintf(stderr, "bus policy: warning: no user but root may connect: %s\n", rule);
                if (info.base)
                        fprintf(stderr, "  (the defaults come from the base file %s/policy.json)\n", dirbuf);
                else
                        fprintf(stderr,
                                "  (%s/policy.json, the base file that sets the defaults, is missing: with a file "
                                "present every default no file sets is deny; the packaged policy.json allows "
                                "connect, call, publish, subscribe and see, and drop-ins in policy.d/ add to it)\n",
                                dirbuf);
        }
        policy_free(pol);
        return CLI_EXIT_OK;
}

static int run_policy(struct cli *cli, int argc, char **argv)
{
        struct who w = { 0 };
        const char *dir = NULL;
        bool user_bus = false;
        unsigned id;
        int c, r;

        while ((c = cli_getopt(cli, argc, argv, "", opts, false)) != -1) {
                switch (c) {
                case OPT_DIR:
                        dir = optarg;
                        break;
                case OPT_USERBUS:
                        user_bus = true;
                        break;
                case OPT_UID:
                        if ((r = parse_id(cli, "--uid", optarg, &id)))
                                return r;
                        w.uid = (uid_t)id;
                        w.have_uid = true;
                        break;
                case OPT_USER: {
                        struct passwd *pw = getpwnam(optarg);
                        if (!pw)
                                return cli_usage_error(cli, "--user: no user '%s'", optarg);
                        w.uid = pw->pw_uid;
                        w.have_uid = true;
                        break;
                }
                case OPT_GID: {
                        struct group *g = getgrnam(optarg);
                        if (g)
                                id = g->gr_gid;
                        else if ((r = parse_id(cli, "--gid", optarg, &id)))
                                return r;
                        w.gid = (gid_t)id;
                        w.have_gid = true;
                        break;
                }
                case OPT_GROUPS:
                        if ((r = parse_groups(cli, optarg, &w)))
                                return r;
                        break;
                default:
                        return cli_getopt_exit(c);
                }
        }
        if (optind >= argc)
                return cli_usage_error(cli, "expected check or verify");
        const char *what = argv[optind];
        if (strcmp(what, "check") == 0)
                return run_check(cli, argc - optind - 1, argv + optind + 1, dir, user_bus, &w);
        if (strcmp(what, "verify") == 0)
                return run_verify(cli, argc - optind - 1, dir, user_bus);
        return cli_usage_error(cli, "unknown policy command '%s' (check, verify)", what);
}

const struct cli_verb cli_verb_policy = {
        .name = "policy",
        .args = "check VERB [OBJECT [METHOD]] | verify",
        .summary = "explain what the access policy lets a user do",
        .help = "Reads the policy files (policy.json and policy.d/*.json, see docs/policy.md) with\n"
                "the daemon's own code and says what they decide, without asking the daemon:\n"
                "  check VERB [OBJECT [METHOD]]  may --uid/--user do VERB (connect, own, call,\n"
                "                                publish, subscribe, see, backpressure, monitor)\n"
                "                                on OBJECT? Prints the\n"
                "                                rule that decided; exit 0 allowed, 1 denied\n"
                "  verify                        parse the files; exit 0 if busd would accept them,\n"
                "                                65 with the reason if not\n"
                "Options:\n"
                "      --dir DIR       the policy directory (default " BUS_POLICY_SYSTEM_DIR ", or with\n"
                "                      --user-bus $XDG_CONFIG_HOME/busd)\n"
                "      --user-bus      the user bus's built-in policy when DIR has no file\n"
                "      --uid UID       who asks (or --user NAME); the groups default to the\n"
                "      --user NAME     user's primary and supplementary groups\n"
                "      --gid GID       primary group (number or name)\n"
                "      --groups G,...  supplementary groups (numbers or names)\n"
                "The running daemon uses the files as of its start or last SIGHUP.\n",
        .run = run_policy,
};
