/* address.h: bus addresses (docs/protocol.md §1), shared by busd, libbus and
 * the tools.
 *
 * "unix:/path" is the stream socket, "seqpacket:/path" the seqpacket socket,
 * a bare absolute path means unix:. Defaults: the user bus is
 * $XDG_RUNTIME_DIR/busd/bus (or /tmp/busd-$UID/bus when XDG_RUNTIME_DIR is
 * unset or not absolute), the system bus /run/busd/bus; the seqpacket socket
 * is the stream path plus ".seq". Pure: reads the environment only through
 * its arguments; no I/O.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define BUS_SYSTEM_DIR "/run/busd"
#define BUS_SOCKET_NAME "bus"
#define BUS_SEQPACKET_SUFFIX ".seq"

struct address {
        bool seqpacket;
        char path[108]; /* fits sockaddr_un.sun_path */
};

/* Parses an address. Returns 0, or -EINVAL (unknown scheme, relative path)
 * or -ENAMETOOLONG (path longer than a socket path may be). */
int address_parse(const char *s, struct address *ret);
/* Formats "unix:/path" or "seqpacket:/path" into buf. */
void address_format(const struct address *a, char *buf, size_t len);
/* The directory of the default bus: system, or the user's from the given
 * XDG_RUNTIME_DIR value (may be NULL) and uid. Returns 0 or -ENAMETOOLONG. */
int address_default_dir(bool system, const char *xdg_runtime_dir, uid_t uid, char *buf, size_t len);
/* The default stream (or seqpacket) address of the system or user bus. */
int address_default(bool system, bool seqpacket, const char *xdg_runtime_dir, uid_t uid, struct address *ret);
/* The seqpacket sibling of a stream address ("unix:/x" -> "seqpacket:/x.seq"). */
int address_seqpacket_sibling(const struct address *stream, struct address *ret);
