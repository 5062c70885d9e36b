/* bench-nats.c: bus-bench's workloads through nats-server, with nats.c
 * clients as a user of the library would write them (peerkit.h runs them;
 * scripts/bench-peers.sh, docs/benchmarks.md "Against the peers").
 *
 *   bench-nats run --address nats://127.0.0.1:PORT --server-pid PID ...
 *       (peerkit.c, `run --help`)
 *       events: a publisher calls natsConnection_Publish() on bench.ev for
 *         each event (the library buffers and writes in batches, blocking
 *         when its buffer is full), then publishes an empty message as the
 *         end marker and flushes (a PING/PONG round trip: the server has
 *         handled everything). Each subscriber has a synchronous
 *         subscription (natsConnection_SubscribeSync, the library's default
 *         pending limits: 65536 messages, 64 MiB) and takes messages with
 *         natsSubscription_NextMsg(). What the library drops when the
 *         subscriber falls behind is counted as lost, and reported apart
 *         (lib_dropped): the server did deliver those.
 *       call: the service subscribes to bench.echo with a handler that
 *         publishes the data back to the message's reply subject, on a
 *         connection with natsOptions_SetSendAsap() (what nats.h advises for
 *         a connection that sends replies); the caller makes blocking
 *         natsConnection_Request() calls.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nats/nats.h>

#include "peerkit.h"

#define EV_SUBJECT "bench.ev"
#define SERVICE_SUBJECT "bench.echo"
#define REQUEST_TIMEOUT_MS 30000

struct conn_state {
        atomic_bool disconnected; /* set by a library thread */
};

static void on_disconnected(natsConnection *nc, void *closure)
{
        struct conn_state *cs = closure;

        atomic_store(&cs->disconnected, true);
}

/* Connects to url; send_asap for a connection that only answers. */
static natsStatus open_conn(const char *url, bool send_asap, struct conn_state *cs, natsConnection **ret)
{
        natsOptions *opts = NULL;
        natsStatus s = natsOptions_Create(&opts);

        if (s == NATS_OK)
                s = natsOptions_SetURL(opts, url);
        if (s == NATS_OK && send_asap)
                s = natsOptions_SetSendAsap(opts, true);
        if (s == NATS_OK && cs)
                s = natsOptions_SetDisconnectedCB(opts, on_disconnected, cs);
        if (s == NATS_OK)
                s = natsConnection_Connect(ret, opts);
        natsOptions_Destroy(opts);
        return s;
}

/* ---- events --------------------------------------------------------------- */

static int subscriber(const struct peerkit_args *a, const struct peerkit_child *c, struct peerkit_result *res)
{
        struct conn_state cs;
        natsConnection *nc = NULL;
        natsSubscription *sub = NULL;
        natsMsg *msg;
        int64_t dropped = 0;
        uint64_t received = 0, t_last = 0;
        natsStatus s;

        atomic_init(&cs.disconnected, false);
        s = open_conn(a->address, false, &cs, &nc);
        if (s != NATS_OK)
                return peerkit_fail(res, -ECONNREFUSED, "subscriber: connect to %s: %s", a->address,
                                    natsStatus_GetText(s));
        s = natsConnection_SubscribeSync(&sub, nc, EV_SUBJECT);
        /* a round trip: the server has the subscription when it returns */
        if (s == NATS_OK)
                s = natsConnection_Flush(nc);
        if (s != NATS_OK)
                return peerkit_fail(res, -EIO, "subscriber: subscribe: %s", natsStatus_GetText(s));
        peerkit_ready(c);
        if (peerkit_wait_go(c) <= 0)
                return 1;
        for (;;) {
                s = natsSubscription_NextMsg(&msg, sub, a->quiet_ms);
                if (s == NATS_SLOW_CONSUMER)
                        continue; /* the library dropped messages: counted below */
                if (s == NATS_TIMEOUT) {
                        snprintf(res->what, sizeof(res->what), "no end marker: quiet for %u ms after %llu events",
                                 a->quiet_ms, (unsigned long long)received);
                        break;
                }
                if (s != NATS_OK) {
                        res->disconnected = true;
                        snprintf(res->what, sizeof(res->what), "stopped after %llu events: %s",
                                 (unsigned long long)received, natsStatus_GetText(s));
                        break;
                }
                int len = natsMsg_GetDataLength(msg);
                natsMsg_Destroy(msg);
                if (len == 0) {
                        res->end_seen = true;
                        break;
                }
                if (len != (int)a->payload)
                        return peerkit_fail(res, -EPROTO, "subscriber: an event of %d bytes, not %zu", len, a->payload);
                received++;
                t_last = peerkit_now_ns();
        }
        natsSubscription_GetDropped(sub, &dropped);
        bool lost_conn = atomic_load(&cs.disconnected);
        if (lost_conn && !res->what[0])
                snprintf(res->what, sizeof(res->what), "disconnected by the server (reconnected)");
        res->disconnected |= lost_conn;
        res->count = received;
        res->lib_dropped = dropped > 0 ? (uint64_t)dropped : 0;
        res->t_end = t_last;
        natsSubscription_Destroy(sub);
        natsConnection_Destroy(nc);
        return 0;
}

static int publisher(const struct peerkit_args *a, const struct peerkit_child *c, struct peerkit_result *res)
{
        natsConnection *nc = NULL;
        natsStatus s = open_conn(a->address, false, NULL, &nc);

        if (s != NATS_OK)
                return peerkit_fail(res, -ECONNREFUSED, "publisher: connect to %s: %s", a->address,
                                    natsStatus_GetText(s));
        peerkit_ready(c);
        if (peerkit_wait_go(c) <= 0)
                return 1;
        res->t_start = peerkit_now_ns();
        for (uint64_t i = 0; i < a->count; i++)
                if ((s = natsConnection_Publish(nc, EV_SUBJECT, a->data, (int)a->payload)) != NATS_OK)
                        return peerkit_fail(res, -EIO, "publisher: publish %llu: %s", (unsigned long long)i,
                                            natsStatus_GetText(s));
        s = natsConnection_Publish(nc, EV_SUBJECT, NULL, 0); /* the end marker */
        if (s == NATS_OK)
                s = natsConnection_Flush(nc);
        if (s != NATS_OK)
                return peerkit_fail(res, -EIO, "publisher: end marker and flush: %s", natsStatus_GetText(s));
        res->t_end = peerkit_now_ns();
        res->count = a->count;
        natsConnection_Destroy(nc);
        return 0;
}

/* ---- calls ---------------------------------------------------------------- */

static void on_request(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
        natsConnection_Publish(nc, natsMsg_GetReply(msg), natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
        natsMsg_Destroy(msg);
}

static int service(const struct peerkit_args *a, const struct peerkit_child *c, struct peerkit_result *res)
{
        natsConnection *nc = NULL;
        natsSubscription *sub = NULL;
        natsStatus s = open_conn(a->address, true, NULL, &nc);

        if (s != NATS_OK)
                return peerkit_fail(res, -ECONNREFUSED, "service: connect to %s: %s", a->address,
                                    natsStatus_GetText(s));
        s = natsConnection_Subscribe(&sub, nc, SERVICE_SUBJECT, on_request, NULL);
        if (s == NATS_OK)
                s = natsConnection_Flush(nc);
        if (s != NATS_OK)
                return peerkit_fail(res, -EIO, "service: subscribe: %s", natsStatus_GetText(s));
        peerkit_ready(c);
        /* the library's threads serve; we wait for the orchestrator's EOF */
        while (peerkit_wait_go(c) > 0)
                ;
        natsSubscription_Destroy(sub);
        natsConnection_Destroy(nc);
        return 0;
}

static natsStatus call_echo(natsConnection *nc, const struct peerkit_args *a)
{
        natsMsg *reply = NULL;
        natsStatus s = natsConnection_Request(&reply, nc, SERVICE_SUBJECT, a->data, (int)a->payload,
                                              REQUEST_TIMEOUT_MS);

        if (s == NATS_OK && natsMsg_GetDataLength(reply) != (int)a->payload)
                s = NATS_PROTOCOL_ERROR;
        natsMsg_Destroy(reply);
        return s;
}

static int caller(const struct peerkit_args *a, const struct peerkit_child *c, struct peerkit_result *res)
{
        uint64_t *lat = malloc(sizeof(uint64_t) * a->count), warm = a->count / 10 < 1000 ? a->count / 10 : 1000;
        natsConnection *nc = NULL;
        natsStatus s = open_conn(a->address, false, NULL, &nc);

        if (s != NATS_OK)
                return peerkit_fail(res, -ECONNREFUSED, "caller: connect to %s: %s", a->address, natsStatus_GetText(s));
        if (!lat)
                return peerkit_fail(res, -ENOMEM, "caller: out of memory");
        for (uint64_t i = 0; i < warm; i++)
                if ((s = call_echo(nc, a)) != NATS_OK)
                        return peerkit_fail(res, -EIO, "caller: warm-up request: %s", natsStatus_GetText(s));
        peerkit_ready(c);
        if (peerkit_wait_go(c) <= 0)
                return 1;
        res->t_start = peerkit_now_ns();
        for (uint64_t i = 0; i < a->count; i++) {
                uint64_t t = peerkit_now_ns();
                if ((s = call_echo(nc, a)) != NATS_OK)
                        return peerkit_fail(res, -EIO, "caller: request %llu: %s", (unsigned long long)i,
                                            natsStatus_GetText(s));
                lat[i] = peerkit_now_ns() - t;
        }
        res->t_end = peerkit_now_ns();
        res->count = a->count;
        peerkit_percentiles(lat, a->count, &res->p50_ns, &res->p99_ns);
        free(lat);
        natsConnection_Destroy(nc);
        return 0;
}

int main(int argc, char **argv)
{
        static const struct peerkit_peer peer = {
                .name = "nats-server",
                .subscriber = subscriber,
                .publisher = publisher,
                .service = service,
                .caller = caller,
        };

        if (argc >= 2 && strcmp(argv[1], "run") == 0)
                return peerkit_run(&peer, argc - 1, argv + 1);
        fprintf(stderr, "usage: bench-nats run OPTIONS (run --help)\n");
        return 64;
}
