/* limits.h: every protocol limit and default in one place.
 *
 * The daemon reports the per-connection values in its `welcome` message
 * (docs/protocol.md §3); clients read them from there rather than from here.
 * Pure constants, no code.
 */
#pragma once

#define BUS_PROTOCOL_VERSION 1
#define BUS_VERSION "1.0.0"
#define BUS_SERVER_STRING "busd " BUS_VERSION

/* The daemon's own reserved well-known name. */
#define BUS_DAEMON_NAME "org.busd"

/* Largest message a client may send, framing excluded. */
#define BUS_MAX_MESSAGE_STREAM (1024u * 1024u)
#define BUS_MAX_MESSAGE_SEQPACKET (64u * 1024u)
/* Before its hello, a connection may send at most this much in one message. */
#define BUS_MAX_HELLO_MESSAGE (64u * 1024u)
/* The daemon adds at most this many bytes (sender identity) to what it relays. */
#define BUS_RELAY_OVERHEAD 1024u

/* Nesting of objects/arrays, counting the message object itself. */
#define BUS_MAX_DEPTH 32

/* Syntax limits (docs/protocol.md §2.2). */
#define BUS_MAX_NAME 255
#define BUS_MAX_BUS_NAME 63 /* a bus's name on the bridge */
#define BUS_MAX_METHOD 255
#define BUS_MAX_TOPIC 255
#define BUS_MAX_TOPIC_SEGMENTS 32
#define BUS_MAX_CODE 128
#define BUS_MAX_ERROR_MESSAGE 1024
#define BUS_MAX_DISPLAY_NAME 64
#define BUS_MAX_DESCRIPTION 256
#define BUS_MAX_ID 9007199254740991ull /* 2^53 - 1 */
#define BUS_MAX_METHODS 256u           /* declarations per connection */
/* Nesting of a declaration's params/result shape, so that an introspect
 * answer (4 levels around it) stays far within BUS_MAX_DEPTH. */
#define BUS_MAX_SHAPE_DEPTH 16

/* Per-connection defaults; busd options override them. */
#define BUS_DEFAULT_QUEUE_BYTES (4u * 1024u * 1024u)
#define BUS_DEFAULT_MAX_PENDING_CALLS 256u
#define BUS_DEFAULT_MAX_NAMES 256u
#define BUS_DEFAULT_MAX_SUBSCRIPTIONS 1024u
#define BUS_DEFAULT_STALL_TIMEOUT_MS 15000u
/* Connections that have not said hello yet: how many at once, and for how long. */
#define BUS_DEFAULT_MAX_HANDSHAKES 1024u
#define BUS_DEFAULT_HELLO_TIMEOUT_MS 10000u
/* When max_handshakes connections wait to say hello, a new one is accepted
 * only in place of one that has been silent this long (nothing unread in its
 * socket), or half the hello timeout if that is shorter; meanwhile the kernel's
 * accept queue holds the newcomers. A client whose hello is waiting is never
 * evicted. */
#define BUS_HANDSHAKE_GRACE_MS 1000u

/* Descriptors the daemon holds in output queues (a pidfd answer keeps one
 * until it is written): per connection (announced in welcome), for all
 * connections together (never more than 1/BUS_QUEUED_FDS_NOFILE_SHARE of the
 * daemon's RLIMIT_NOFILE, so that queued descriptors cannot take those that
 * connections need); per uid it is the policy's queued_fds quota. Each
 * queued descriptor also counts BUS_QUEUED_FD_COST bytes in queue_bytes. */
#define BUS_MAX_QUEUED_FDS 64u
#define BUS_MAX_QUEUED_FDS_TOTAL 4096u
#define BUS_QUEUED_FDS_NOFILE_SHARE 4u
#define BUS_QUEUED_FD_COST 1024u

/* Calls held for an activatable name while its service starts (busd/core/
 * activate.c): at most this many, holding at most this many bytes (each its
 * params as compact text, its method and the name); beyond either the caller
 * gets `limit`. The per-uid quota held_bytes bounds them too. */
#define BUS_MAX_HELD_CALLS 256u
/* Connections monitoring the bus at once (busd/core/monitor.c): each costs a
 * record per message it sees; beyond this a `monitor` request gets `limit`. */
#define BUS_MAX_MONITORS 64u
#define BUS_MAX_HELD_BYTES (16u * 1024u * 1024u)
/* After a service failed to start (it exited or was killed before taking its
 * name, could not be started, or missed its deadline), calls to its name fail
 * at once with activation_failed for this long, doubled with each failure in
 * a row up to the maximum; a start that succeeds resets it. */
#define BUS_ACTIVATION_RETRY_MS 1000u
#define BUS_ACTIVATION_RETRY_MAX_MS 60000u

/* Files the daemon reads whole (util/readfile.h): larger ones are refused
 * before they are parsed. */
#define BUS_MAX_CONFIG_FILE (1024u * 1024u)   /* busd.json (busd/config/options.c) */
#define BUS_MAX_POLICY_FILE (1024u * 1024u)   /* each policy file (busd/policy/policyload.c) */
#define BUS_MAX_ACTIVATION_FILE (64u * 1024u) /* each activation file (busd/io/services.c) */
#define BUS_MAX_BRIDGE_FILE (1024u * 1024u)   /* the bridge file (busd/io/server.c) */
