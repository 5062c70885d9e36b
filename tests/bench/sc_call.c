/* sc_call.c: sequential call round trips through busd. A service process
 * owns org.bench.Echo and answers `echo` with its params; a caller process
 * makes blocking bus_call()s one after the other and times each. The daemon
 * routes two messages per round trip (the call and the reply). */
#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bus.h>

#include "bench.h"

#define SERVICE "org.bench.Echo"
#define NAME_WAIT_MS 30000 /* across a bridge: until the name is advertised; catches a dead link only */

struct call_role {
        const char *address;         /* the caller's bus */
        const char *service_address; /* the service's: the other bus with --remote-address */
        size_t payload;
        uint64_t n, warm;
        bool remote;
};

static int on_echo(struct bus *bus, struct bus_call *call, void *userdata)
{
        return bus_reply(call, bus_call_params(call));
}

/* Serves until the main process closes our down pipe. */
static int kid_service(const struct kid_io *io, void *arg)
{
        struct call_role *r = arg;
        struct bus *bus;
        int e = bus_open(r->service_address, "bench-service", &bus);

        if (e < 0)
                return io_fail(io, e, "service: bus_open %s: %s", r->service_address, bus_open_error());
        if ((e = bus_add_method(bus, "echo", "returns its params", NULL, NULL, on_echo, NULL)) < 0 ||
            (e = bus_request_name(bus, SERVICE, 0)) != BUS_NAME_PRIMARY_OWNER)
                return io_fail(io, e < 0 ? e : -EEXIST, "service: cannot serve %s: %s", SERVICE, bus_last_error(bus));
        io_ready(io);
        for (;;) {
                while ((e = bus_process(bus)) > 0)
                        ;
                if (e < 0)
                        break;
                struct pollfd p[2] = { { .fd = bus_get_fd(bus), .events = (short)bus_get_events(bus) },
                                       { .fd = io->down, .events = POLLIN } };
                if (poll(p, 2, bus_get_timeout(bus)) < 0 && errno != EINTR)
                        break;
                if (p[1].revents)
                        break;
        }
        bus_close(bus);
        return 0;
}

static int kid_caller(const struct kid_io *io, void *arg)
{
        struct call_role *r = arg;
        struct result res = { .kind = KID_RESULT };
        struct json_object *params = payload_json(r->payload), *out;
        uint64_t *lat = malloc(sizeof(uint64_t) * r->n);
        struct bus *bus;
        int e = bus_open(r->address, "bench-caller", &bus);

        if (e < 0)
                return io_fail(io, e, "caller: bus_open %s: %s", r->address, bus_open_error());
        if (!params || !lat)
                return io_fail(io, -ENOMEM, "caller: out of memory");
        /* across a bridge the name reaches the caller's bus when the link
         * advertises it: until then the call fails with no_owner */
        for (uint64_t t0 = now_ns(); r->remote;) {
                if ((e = bus_call(bus, SERVICE, "echo", params, BUS_TIMEOUT_DEFAULT, &out)) >= 0) {
                        json_object_put(out);
                        break;
                }
                const char *code = bus_last_error_code(bus);
                if (!code || strcmp(code, "no_owner") != 0 || now_ns() - t0 > NAME_WAIT_MS * 1000000ull)
                        return io_fail(io, e, "caller: %s not callable across the bridge: %s", SERVICE,
                                       bus_last_error(bus));
                poll(NULL, 0, 5);
        }
        for (uint64_t i = 0; i < r->warm; i++) {
                if ((e = bus_call(bus, SERVICE, "echo", params, BUS_TIMEOUT_DEFAULT, &out)) < 0)
                        return io_fail(io, e, "caller: warm-up call: %s", bus_last_error(bus));
                json_object_put(out);
        }
        io_ready(io);
        if (io_wait(io) <= 0)
                return 1;
        res.t_start = now_ns();
        for (uint64_t i = 0; i < r->n; i++) {
                uint64_t t = now_ns();
                e = bus_call(bus, SERVICE, "echo", params, BUS_TIMEOUT_DEFAULT, &out);
                lat[i] = now_ns() - t;
                if (e < 0)
                        return io_fail(io, e, "caller: call %llu: %s (%s)", (unsigned long long)i, bus_last_error(bus),
                                       bus_last_error_code(bus) ? bus_last_error_code(bus) : "local");
                if (!out || json_object_get_string_len(out) != (int)r->payload)
                        return io_fail(io, -EPROTO, "caller: call %llu: wrong answer", (unsigned long long)i);
                json_object_put(out);
        }
        res.t_end = now_ns();
        res.count = r->n;
        percentiles(lat, r->n, &res.p50_ns, &res.p99_ns);
        io_send(io, &res);
        bus_close(bus);
        json_object_put(params);
        free(lat);
        return 0;
}

void sc_call(struct bench *b, enum transport t)
{
        struct row *row = report_add(&b->rep, "call", t);
        uint64_t n = bench_count(b, SC_CALL);
        struct call_role role = { .address = b->d.addr[t],
                                  .service_address = b->d.addr[t],
                                  .payload = b->opt.payload,
                                  .n = n,
                                  .warm = n / 10 < 1000 ? n / 10 : 1000 };
        struct snap s0, s1, r0 = { 0 }, r1 = { 0 };
        struct result res;
        struct kids ks;
        char err[256];

        if (!row)
                return;
        if (b->rctl) {
                role.service_address = b->rd.addr[t];
                role.remote = true;
        }
        kids_init(&ks);
        int is = kids_spawn(&ks, "service", kid_service, &role);
        if (is < 0 || kid_wait_ready(&ks.k[is], err, sizeof(err)) < 0)
                goto fail;
        int ic = kids_spawn(&ks, "caller", kid_caller, &role);
        if (ic < 0 || kid_wait_ready(&ks.k[ic], err, sizeof(err)) < 0)
                goto fail;
        if (bench_snap(b, &s0, &r0) < 0) {
                snprintf(err, sizeof(err), "cannot sample the daemon");
                goto fail;
        }
        kid_go(&ks.k[ic]);
        int e = kid_read(&ks.k[ic], &res, 600000);
        if (e < 0 || res.error) {
                snprintf(err, sizeof(err), "caller: %s",
                         e == -ETIMEDOUT ? "no result after 600 s (hang)"
                         : e < 0         ? "died"
                                         : res.what);
                goto fail;
        }
        if (bench_snap(b, &s1, &r1) < 0) {
                snprintf(err, sizeof(err), "cannot sample the daemon");
                goto fail;
        }
        kids_finish(&ks);
        double secs = (double)(res.t_end - res.t_start) / 1e9;
        uint64_t routed = (s1.calls - s0.calls) + (s1.replies - s0.replies);
        if (b->rctl) {
                /* across: each call and each reply is routed by both daemons;
                 * per message, their CPU together */
                routed = 2 * n;
                snprintf(row->note, sizeof(row->note), "across the bridge");
        }
        row->count = n;
        row->value = secs > 0 ? (double)n / secs : 0;
        row->unit = "calls/s";
        row->p50_us = (double)res.p50_ns / 1e3;
        row->p99_us = (double)res.p99_ns / 1e3;
        row->daemon_us = routed ? (double)bench_cpu_ns(b, &s0, &s1, &r0, &r1) / 1e3 / (double)routed : NAN;
        if (routed != 2 * n && b->d.child > 0) {
                row->failed = true;
                snprintf(row->note, sizeof(row->note), "daemon routed %llu messages, expected %llu",
                         (unsigned long long)routed, (unsigned long long)(2 * n));
        }
        return;
fail:
        row->failed = true;
        snprintf(row->note, sizeof(row->note), "%s", err);
        kids_kill(&ks);
}
