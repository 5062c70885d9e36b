#!/usr/bin/env python3
"""Crashes and churn (issue 5): clients killed with SIGKILL in the middle of
a line, with calls pending, names owned and subscriptions; clients that shut
down their writing side in the middle of a message; a thousand clients
connecting and leaving continuously. Afterwards the daemon's descriptor
count and accounting (connections, pending calls, subscriptions, names,
queues) are back where they started, its memory near it, and (checked by the
harness) its log holds no sanitizer report.

BUS_CHURN_SECONDS and BUS_CHURN_CLIENTS lengthen the churn for soak runs
(tests/soak.sh); BUS_TEST_SEED changes its random choices (default 5).
"""
import os
import random
import socket
import time

from daemon_harness import WAIT, DaemonTest, bind_transports, main
from pyclient import Client
from test_reliability_common import (ASAN_ENV, assert_back_to_idle, fd_count, raise_nofile, report, scaled,
                                     wait_until)

SERVICE = "org.example.Churn"


def kid(report_line, address, k, role):
    """A child process: sets up state on the bus, says it is ready, then
    waits to be killed. A caller leaves a call pending, a name owned, a
    subscription, and (on stream) half a line unsent; a callee owns a name
    and waits for a call it will never answer."""
    c = Client(address)
    if role == "callee":
        c.hello(names=["org.example.Callee%d" % k])
        report_line("ready")
        c.next_call()
        report_line("called")
    else:
        c.hello(names=["org.example.Kid%d" % k])
        c.subscribe("churn.>")
        c.call_async(SERVICE, "hold", {"k": k})
        c.publish("churn.kid", k, ack=False)
        c.ping()
        if not c.seqpacket:
            c.send_bytes(b'{"type":"publish","topic":"churn.half","data":"never fini')
        report_line("ready")
    time.sleep(3600)


class KilledClients(DaemonTest):
    busd_env = ASAN_ENV

    def test_clients_killed_mid_line_with_state_leave_nothing_behind(self):
        n = scaled(60, 30)
        self.daemon.ping()
        fds0 = fd_count(self.daemon.pid)
        rss0 = self.daemon.rss_kib()
        service = self.connect(names=[SERVICE])
        caller = self.connect(seqpacket=True)
        watch = self.connect()
        watch.subscribe("churn.>")
        gone = 0
        stale = []  # calls delivered to the service whose callers were killed
        for k in range(n):
            seq = k % 2 == 1
            role = "callee" if k % 3 == 2 else "caller"
            ch = self.child(kid, self.daemon.addr(seq), k, role)
            self.assertEqual(ch.readline(), "ready")
            if role == "callee":
                id = caller.call_async("org.example.Callee%d" % k, "work")
                self.assertEqual(ch.readline(), "called")  # the call is pending at the callee
                ch.kill()
                self.assertEqual(caller.answer(id)["code"], "callee_gone")
                gone += 1
            else:
                call = service.next_call()
                self.assertEqual(call["params"], {"k": k})
                stale.append(call)
                ch.kill()
        st = wait_until(lambda: (lambda s: s if s["connections"] == 4 else None)(self.daemon.stats()))
        self.assertTrue(st, "killed clients are still connected")
        self.assertEqual((st["pending_calls"], st["names"], st["subscriptions"]), (0, 1, 1))
        # answering calls whose callers were killed is an error for the service, nothing more
        for call in stale:
            service.reply(call, "late")
        for call in stale:
            self.next_error(service, "no_such_call", call=call["id"])
        self.assertAlive(watch)
        report("killed clients: %d children killed with SIGKILL (%d callers mid-line with a call pending, a name "
               "and a subscription; %d callees with a call pending: each caller got callee_gone)" %
               (n, n - gone, gone))
        for c in (service, caller, watch):
            c.close()
        assert_back_to_idle(self, self.daemon, fds_before=fds0)
        rss1 = self.daemon.rss_kib()
        self.assertLess(rss1 - rss0, scaled(4, 16) * 1024)


class _HalfClose:
    def test_shutdown_write_mid_message_gets_answers_to_what_was_complete(self):
        c = self.connect()
        if self.seqpacket:
            c.send({"type": "call", "id": 5, "dest": "org.busd", "method": "ping"})
        else:
            c.send_bytes(b'{"type":"call","id":5,"dest":"org.busd","method":"ping"}\n{"type":"call","id":6,"de')
        c.sock.shutdown(socket.SHUT_WR)
        self.assertEqual(c.recv()["id"], 5)
        self.assertEqual(c.read_until_closed(), [])  # the half line is dropped with the connection
        assert_back_to_idle(self, self.daemon)

    def test_half_closed_subscriber_gets_what_was_queued_then_nothing(self):
        sub = self.connect()
        sub.subscribe("half.>")
        pub = self.connect()
        self.assertEqual(pub.publish("half.a", 1)["delivered"], 1)
        sub.sock.shutdown(socket.SHUT_WR)
        self.assertTrue(wait_until(lambda: self.daemon.peer_stats(sub.unique) is None))
        self.assertEqual(pub.publish("half.b", 2)["delivered"], 0)
        self.assertEqual(sub.recv()["data"], 1)
        self.assertEqual(sub.read_until_closed(), [])
        self.assertEqual(self.daemon.stats()["subscriptions"], 0)

    def test_half_closed_callee_fails_its_pending_call(self):
        callee = self.connect(names=["org.example.Half"])
        caller = self.connect()
        id = caller.call_async("org.example.Half", "work")
        callee.next_call()
        callee.sock.shutdown(socket.SHUT_WR)
        self.assertEqual(caller.answer(id)["code"], "callee_gone")
        self.assertEqual(self.daemon.stats()["pending_calls"], 0)


bind_transports(globals(), _HalfClose)


class Churn(DaemonTest):
    SECONDS = float(os.environ.get("BUS_CHURN_SECONDS", scaled(20, 12)))
    CLIENTS = int(os.environ.get("BUS_CHURN_CLIENTS", 1000))
    busd_env = ASAN_ENV

    def test_a_thousand_clients_connecting_and_leaving_continuously(self):
        rng = random.Random(int(os.environ.get("BUS_TEST_SEED", "5")))
        self.assertTrue(raise_nofile(self.CLIENTS * 2 + 1000))
        self.daemon.ping()
        fds0 = fd_count(self.daemon.pid)
        rss0 = self.daemon.rss_kib()
        service = self.connect(names=[SERVICE])
        control = self.connect(seqpacket=True, name="control")
        counts = {"connects": 0, "verified": 0, "pings": 0, "served": 0}
        exits = [0] * 6

        def new_client(k):
            c = Client(self.daemon.addr(seqpacket=rng.random() < 0.5))
            c.send({"type": "hello", "id": 1})
            if rng.random() < 0.5:
                c.send({"type": "subscribe", "id": 2, "pattern": "churn.>"})
            if rng.random() < 0.2:
                c.send({"type": "request_name", "id": 3, "name": "org.example.Slot%d" % k})
            counts["connects"] += 1
            if rng.random() < 0.1:  # some wait for their welcome and check it
                w = c.recv()
                self.assertEqual((w["type"], w["id"]), ("welcome", 1), w)
                counts["verified"] += 1
            return c

        def leave(c):
            mode = rng.randrange(6)
            exits[mode] += 1
            try:
                if mode == 1:  # mid-message
                    if c.seqpacket:
                        c.send_raw(b'{"type":"publish","topic":"churn.x"}')
                    else:
                        c.send_bytes(b'{"type":"publish","topic":"chu')
                elif mode == 2:  # with a call pending at the service
                    c.send({"type": "call", "id": 9, "dest": SERVICE, "method": "hold"})
                elif mode == 3:  # half close first
                    c.sock.shutdown(socket.SHUT_WR)
                elif mode == 4:  # a burst of requests it never reads the answers of
                    for i in range(20):
                        c.send({"type": "call", "id": 100 + i, "dest": "org.busd", "method": "ping"})
                elif mode == 5:  # a bad line
                    c.send_raw(b"#garbage")
            except OSError:
                pass  # the daemon may have closed it already
            c.close()

        def serve():
            service.settimeout(0.0)
            try:
                while True:
                    m = service.recv()
                    if m["type"] == "call" and "id" in m:
                        service.reply(m, "ok")
                        counts["served"] += 1
            except (BlockingIOError, socket.timeout):
                pass
            finally:
                service.settimeout(WAIT)

        pool = [new_client(k) for k in range(self.CLIENTS)]
        peak_fds = fd_count(self.daemon.pid)
        t0 = time.monotonic()
        it = 0
        while time.monotonic() - t0 < self.SECONDS:
            k = rng.randrange(self.CLIENTS)
            leave(pool[k])
            pool[k] = new_client(k)
            it += 1
            if it % 50 == 0:
                serve()
            if it % 200 == 0:
                self.assertAlive(control)
                control.publish("churn.tick", it, ack=False)
                counts["pings"] += 1
                peak_fds = max(peak_fds, fd_count(self.daemon.pid))
        elapsed = time.monotonic() - t0
        rss_peak = self.daemon.rss_kib()
        for c in pool:
            leave(c)
        serve()
        self.assertAlive(control)
        # the service's answers to callers that left are refused, never lost
        service.close()
        control.close()
        assert_back_to_idle(self, self.daemon, fds_before=fds0)
        rss1 = self.daemon.rss_kib()
        report("churn: %d client slots, %d connects in %.0f s (%.0f/s), exits: %d plain, %d mid-message, %d with a "
               "call pending, %d half-closed, %d with unread answers, %d after a bad line; %d calls served; "
               "control pinged %d times; busd descriptors %d at rest, %d at peak, %d after; RSS %d KiB before, "
               "%d KiB at the end of the churn, %d KiB after" %
               (self.CLIENTS, counts["connects"], elapsed, counts["connects"] / elapsed, exits[0], exits[1], exits[2],
                exits[3], exits[4], exits[5], counts["served"], counts["pings"], fds0, peak_fds,
                fd_count(self.daemon.pid), rss0, rss_peak, rss1))
        self.assertLess(rss1 - rss0, scaled(16, 64) * 1024, "busd did not give back what the churn took")


if __name__ == "__main__":
    main()
