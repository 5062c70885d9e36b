/* policyload.h: reading the policy files (docs/policy.md) for the daemon.
 *
 * The directory holds policy.json and a drop-in directory policy.d/ whose
 * *.json files apply after it in lexical order. User and group names are
 * resolved with the system's databases here, once, at load. This is the I/O
 * half; busd/policy/policy.c builds and checks the policy.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct policy;

/* The system bus's directory: busd under the sysconfdir busd was built with
 * (CMAKE_INSTALL_FULL_SYSCONFDIR: /etc for a /usr installation,
 * /usr/local/etc for /usr/local). */
#ifndef BUS_POLICY_SYSTEM_DIR
#define BUS_POLICY_SYSTEM_DIR "/etc/busd"
#endif

/* The default directory: BUS_POLICY_SYSTEM_DIR for the system bus; for a
 * user bus $XDG_CONFIG_HOME/busd (or ~/.config/busd). Returns 0 or -ENOENT (no
 * home), -ENAMETOOLONG. */
int policyload_default_dir(bool system, char *buf, size_t len);

/* What a load read. */
struct policyload_info {
        size_t files; /* 0: none, the embedded default */
        bool base;    /* policy.json was among them */
};

/* Loads the policy of dir. No file at all: the embedded default for the bus
 * (policy_default(system, owner)) and ret_info->files = 0. Any file that
 * cannot be read or parsed: -EINVAL (or another negative errno) with the
 * reason in err, and no policy (fail closed); *ret_info is filled on success
 * only. */
int policyload(const char *dir, bool system, uid_t owner, struct policy **ret, struct policyload_info *ret_info,
               char *err, size_t errlen);
