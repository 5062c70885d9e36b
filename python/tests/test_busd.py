#!/usr/bin/env python3
"""The blocking client of the Python package (python/src/busd, docs/python.md)
against a real busd, over stream and seqpacket: calls, errors, timeouts and
cancel, one-way calls, events, names, serving, the daemon's methods, pidfd,
the checks made before sending, the traps of issue 13 (an id-less
parse_error, partial reads, seqpacket sizes), a daemon killed mid-call and
reconnection. Plus the parts without a daemon (addresses, framing, remote
identity)."""
import os
import socket
import threading
import time
import unittest

from pkgtest import WAIT, BusTest, busd, daemon_harness
from busd import _wire


class _Sync:
    def serve(self, **kw):
        svc = self.bus(name="test service", **kw)
        self.assertEqual(svc.request_name("org.example.Svc"), "primary_owner")
        return svc

    def test_call_serve_and_introspect(self):
        svc = self.serve()
        seen = []

        def add(call):
            seen.append(call)
            return call.params["a"] + call.params["b"]
        svc.add_method("add", add, description="adds", params={"a": "int", "b": "int"}, result="int")
        c = self.bus()
        p = c.start_call("org.example.Svc", "add", {"a": 2, "b": 3})
        svc.process(WAIT)
        self.assertEqual(p.result(), 5)
        self.assertEqual(seen[0].sender, c.unique)
        self.assertEqual(seen[0].creds, busd.Creds(os.getuid(), os.getgid(), os.getpid()))
        self.assertIsNone(seen[0].remote)
        self.assertEqual(seen[0].dest, "org.example.Svc")
        self.assertEqual(c.introspect("org.example.Svc")["methods"],
                         [{"name": "add", "description": "adds", "params": {"a": "int", "b": "int"},
                           "result": "int"}])
        names = {n["name"]: n for n in c.list()["names"]}
        self.assertEqual(names["org.example.Svc"]["owner"], svc.unique)
        self.assertEqual(c.owner("org.example.Svc")["owner"], svc.unique)
        self.assertIn("uptime_ms", c.stats())
        self.assertTrue(c.ping()["server"].startswith("busd "))

    def test_every_error_is_typed_with_its_code(self):
        svc = self.serve()

        def fail(call):
            raise busd.ServiceError("org.example.Svc.Nope", "not today", {"why": 1})

        def crash(call):
            raise KeyError("boom")
        svc.add_method("fail", fail)
        svc.add_method("crash", crash)
        c = self.bus()
        with self.assertRaises(busd.RoutingError) as e:
            c.call("org.example.Nobody", "m")
        self.assertEqual((e.exception.code, e.exception.sender, e.exception.local), ("no_owner", "org.busd", False))
        for method, cls, code, data in (("fail", busd.ServiceError, "org.example.Svc.Nope", {"why": 1}),
                                        ("crash", busd.ServiceError, "failed", None),  # KeyError('boom')
                                        ("nothing", busd.RequestError, "unknown_method", None)):
            p = c.start_call("org.example.Svc", method)
            svc.process(WAIT)
            with self.assertRaises(cls) as e:
                p.result()
            self.assertEqual((e.exception.code, e.exception.data), (code, data), e.exception)
            self.assertEqual(e.exception.sender, svc.unique)
        with self.assertRaises(busd.RequestError) as e:
            c.call("org.busd", "owner", {"name": "BUS/NAME"})
        self.assertEqual(e.exception.code, "invalid_params")
        with self.assertRaises(busd.RequestError) as e:
            c.publish("$bus.x", 1)
        self.assertEqual(e.exception.code, "reserved")

    def test_timeout_cancels_the_call_in_the_daemon(self):
        svc = self.serve()
        held = []
        svc.add_method("hold", lambda call: held.append(call.defer()))
        errors = []
        svc.on_error = errors.append
        c = self.bus()
        p = c.start_call("org.example.Svc", "hold", timeout=0.3)
        svc.process(WAIT)
        t0 = time.monotonic()
        with self.assertRaises(busd.CallTimeout) as e:
            p.result()
        self.assertEqual(e.exception.code, "timeout")
        self.assertLess(time.monotonic() - t0, 2)
        self.assertEqual(c.stats()["pending_calls"], 0)  # `cancel` freed the slot
        held[0].reply("late")
        svc.ping()
        svc.process(WAIT)
        self.assertEqual([x.code for x in errors], ["no_such_call"])
        # an explicit cancel() of a pending call does the same
        p = c.start_call("org.example.Svc", "hold")
        svc.process(WAIT)
        p.cancel()
        self.assertEqual(c.stats()["pending_calls"], 0)
        with self.assertRaises(busd.CallTimeout):
            p.result()

    def test_oneway_calls_and_their_refusals(self):
        svc = self.serve()
        got = []
        svc.add_method("note", lambda call: got.append((call.params, call.oneway)))
        c = self.bus()
        errors = []
        c.on_error = errors.append
        c.call_oneway("org.example.Svc", "note", 7)
        c.call_oneway("org.example.Nobody", "note", 8)
        svc.ping()  # one-way calls are not answered: sync on the daemon
        self.until(lambda: got, "the one-way call", step=lambda: svc.process(0.1))
        self.assertEqual(got, [(7, True)])
        self.until(lambda: errors, "the refusal", step=lambda: c.process(0.1))
        self.assertEqual(errors[0].code, "no_owner")

    def test_publish_ack_subscriptions_iterated_and_called_back(self):
        c = self.bus()
        sub = c.subscribe("sensors.*.temp")
        self.assertFalse(sub.lossy)
        called = []
        lossy = c.subscribe("sensors.>", called.append, lossy=True)
        self.assertTrue(lossy.lossy)
        pub = self.bus()
        self.assertEqual(pub.publish("sensors.kitchen.temp", {"c": 21.5}), busd.PublishAck(1, 0))
        self.assertEqual(pub.publish("other", 1), busd.PublishAck(0, 0))
        self.assertIsNone(pub.publish("sensors.hall.temp", 2, ack=False))
        ev = sub.get(WAIT)
        self.assertEqual((ev.topic, ev.data, ev.sender), ("sensors.kitchen.temp", {"c": 21.5}, pub.unique))
        self.assertEqual(ev.creds.pid, os.getpid())
        self.assertEqual(next(iter(sub)).data, 2)
        self.assertEqual([e.data for e in called], [{"c": 21.5}, 2])
        c.unsubscribe("sensors.*.temp")
        self.assertEqual(list(sub), [])  # iteration ends with the subscription
        with self.assertRaises(busd.RequestError) as e:
            c.unsubscribe("sensors.*.temp")
        self.assertEqual(e.exception.code, "not_subscribed")

    def test_names_and_their_notices(self):
        a, b = self.bus(), self.bus()
        notices = []
        a.on_name = lambda name, acquired: notices.append((name, acquired))
        self.assertEqual(a.request_name("org.example.N", allow_replacement=True), "primary_owner")
        self.assertEqual(b.request_name("org.example.N", queue=False), "exists")
        self.assertEqual(b.request_name("org.example.N", replace=True), "primary_owner")
        self.until(lambda: notices, "name_lost", step=lambda: a.process(0.1))
        self.assertEqual(notices, [("org.example.N", False)])
        self.assertEqual(b.release_name("org.example.N"), "released")
        self.until(lambda: len(notices) == 2, "name_acquired", step=lambda: a.process(0.1))
        self.assertEqual(notices[1], ("org.example.N", True))
        self.assertEqual(b.release_name("org.example.N"), "not_owner")

    def test_nan_depth_and_size_are_refused_before_sending(self):
        c = self.bus()
        before = c.stats()["errors"]
        cases = [float("nan"), float("inf"), -float("inf"), 2 ** 64, "\ud800", {1: "x"}, {"a\0": 1}, object()]
        deep = 1
        for _ in range(40):
            deep = [deep]
        cases.append(deep)
        for bad in cases:
            with self.assertRaises(busd.RequestError) as e:
                c.publish("t", bad)
            self.assertEqual((e.exception.code, e.exception.local), ("parse_error", True))
        with self.assertRaises(busd.LimitError) as e:
            c.call("org.busd", "ping", "x" * c.max_message)
        self.assertEqual((e.exception.code, e.exception.local), ("too_large", True))
        # the largest message that fits still goes, and the depth limit is exact
        ok = 1
        for _ in range(c.limits["max_depth"] - 2):  # the message and {"data": ...} count
            ok = [ok]
        self.assertEqual(c.publish("t", ok), busd.PublishAck(0, 0))
        self.assertEqual(c.stats()["errors"], before)  # nothing reached the daemon
        self.assertEqual(c.max_message, 65536 if self.seqpacket else 1048576)

    def test_an_idless_parse_error_fails_the_waiting_call_at_once(self):
        # the trap: a message the daemon cannot read gets an error without id;
        # a naive client waits for its answer for ever
        svc = self.serve()
        svc.add_method("hold", lambda call: call.defer())
        c = self.bus()
        p = c.start_call("org.example.Svc", "hold")
        c._send_bytes(c._frame(b'{"type":"publish","topic":"t","data":NaN,"id":99}'))
        t0 = time.monotonic()
        with self.assertRaises(busd.RequestError) as e:
            p.result()
        self.assertEqual(e.exception.code, "parse_error")
        self.assertLess(time.monotonic() - t0, 2)
        self.assertTrue(c.ping())  # the connection stays

    def test_large_messages_cross_partial_reads_and_whole_packets(self):
        c = self.bus()
        sub = c.subscribe("big")
        pub = self.bus()
        size = c.max_message - 200
        pub.publish("big", "y" * size)
        self.assertEqual(len(sub.get(WAIT).data), size)
        for n in range(100):  # many small messages in one read, split anywhere
            pub.publish("big", n, ack=False)
        self.assertEqual([sub.get(WAIT).data for _ in range(100)], list(range(100)))

    def test_a_blocking_wait_keeps_at_most_8_mib_of_events_and_reports_the_rest(self):
        # the call below waits while 12 MiB of events come in: libbus's rule,
        # events past 8 MiB undispatched are dropped and told to on_dropped
        n, size = 1500, 8192
        c = self.bus()
        got, drops = [], []
        c.subscribe("flood", lambda ev: got.append(ev.data[0]))
        c.on_dropped = lambda count, total: drops.append((count, total))
        publisher_done = threading.Event()

        def publish():
            pub = busd.connect(self.addr(), timeout=WAIT)
            for i in range(n):
                pub.publish("flood", [i, "x" * size], ack=False)
            pub.ping()
            pub.close()
            publisher_done.set()

        svc = self.serve()
        svc.add_method("wait", lambda call: publisher_done.wait(4 * WAIT))
        server = threading.Thread(target=lambda: svc.process(WAIT), daemon=True)
        p = c.start_call("org.example.Svc", "wait", timeout=4 * WAIT)
        server.start()
        threading.Thread(target=publish, daemon=True).start()
        self.assertTrue(p.result())
        server.join(WAIT)
        c.process(0)
        self.assertTrue(drops, "nothing was dropped")
        self.assertEqual(len(got) + sum(d[0] for d in drops), n)
        self.assertEqual(got, sorted(got))
        self.assertEqual(c.dropped_total, n - len(got))
        self.assertLessEqual(len(got) * size, (8 << 20) + 2 * size)

    def test_pidfd_comes_as_scm_rights(self):
        svc = self.serve()
        c = self.bus()
        try:
            pf = c.pidfd("org.example.Svc")
        except busd.DaemonError as e:
            self.assertEqual(e.code, "unsupported")
            self.skipTest("kernel without SO_PEERPIDFD")
        try:
            self.assertEqual((pf.peer, pf.pid), (svc.unique, os.getpid()))
            with open("/proc/self/fdinfo/%d" % pf.fd) as f:
                self.assertIn("Pid:\t%d\n" % os.getpid(), f.read())
        finally:
            os.close(pf.fd)
        with self.assertRaises(busd.RoutingError):
            c.pidfd("org.example.Nobody")
        # a pidfd answer nobody waits for any more gives its descriptor back,
        # so the next answer gets its own; call() to org.busd pidfd is pidfd()
        p = c.start_call("org.busd", "pidfd", {"peer": svc.unique})
        p.cancel()
        c.ping()
        self.assertEqual(len(c._fds), 0)
        pf = c.call("org.busd", "pidfd", {"peer": svc.unique})
        self.assertIsInstance(pf, busd.Pidfd)
        os.close(pf.fd)

    def test_a_daemon_killed_mid_call_fails_the_call_at_once(self):
        svc = self.serve()
        svc.add_method("hold", lambda call: call.defer())
        c = self.bus(timeout=30)
        p = c.start_call("org.example.Svc", "hold")
        svc.process(WAIT)
        self.kill_daemon()
        t0 = time.monotonic()
        with self.assertRaises(busd.Disconnected) as e:
            p.result()
        self.assertEqual(e.exception.code, "disconnected")
        self.assertLess(time.monotonic() - t0, 2)
        with self.assertRaises(busd.Disconnected):
            c.call("org.busd", "ping")
        ends = []
        c.on_disconnect = lambda err, again: ends.append(again)
        self.assertEqual(c.process(0), 1)  # what the connection left, then its end
        self.assertEqual(ends, [False])
        with self.assertRaises(busd.Disconnected):
            c.process(0)  # no reconnection: the end is final

    def test_reconnection_restores_names_methods_and_subscriptions(self):
        svc = self.bus(name="survivor", reconnect=True)
        self.assertEqual(svc.request_name("org.example.Svc"), "primary_owner")
        svc.add_method("echo", lambda call: call.params, description="echo")
        sub = svc.subscribe("news.>", lossy=True)
        log = []
        svc.on_disconnect = lambda err, again: log.append(("down", err.code, again))
        svc.on_reconnect = lambda attempts, not_restored: log.append(("up", not_restored))
        self.kill_daemon()
        self.until(lambda: log, "the disconnect callback", step=lambda: svc.process(0.05))
        self.assertEqual(log, [("down", "disconnected", True)])
        with self.assertRaises(busd.Disconnected):
            svc.publish("news.x", 1)  # between connections nothing is queued
        self.start_again()
        self.until(lambda: len(log) == 2, "the reconnect callback", step=lambda: svc.process(0.05))
        self.assertEqual(log[1], ("up", 0))
        self.assertTrue(svc.connected and svc.unique)  # the new daemon's id (it counts from :1 again)
        c = busd.connect(self.addr(), timeout=WAIT)
        self.addCleanup(c.close)
        self.assertEqual(c.owner("org.example.Svc")["owner"], svc.unique)
        self.assertEqual([m["name"] for m in c.introspect("org.example.Svc")["methods"]], ["echo"])
        p = c.start_call("org.example.Svc", "echo", [1])
        svc.process(WAIT)
        self.assertEqual(p.result(), [1])
        self.assertEqual(c.publish("news.today", "hi"), busd.PublishAck(1, 0))
        self.assertEqual(sub.get(WAIT).data, "hi")
        self.assertTrue(sub.lossy)


class _Refused:
    busd_args = ("--max-connections", "2")

    def test_a_connection_refused_at_accept_raises_the_daemons_error(self):
        kept = [self.bus(), self.bus()]
        with self.assertRaises(busd.LimitError) as e:
            busd.connect(self.addr(), timeout=WAIT)
        self.assertEqual(e.exception.code, "limit")
        self.assertIn("max_connections", e.exception.message)
        self.assertTrue(kept[0].ping())


daemon_harness.bind_transports(globals(), _Sync, _Refused, base=BusTest)


class Offline(unittest.TestCase):
    """The parts without a daemon."""

    def test_addresses_follow_libbus(self):
        env = {"XDG_RUNTIME_DIR": "/run/user/7"}
        self.assertEqual(busd.default_address(env), "unix:/run/user/7/busd/bus")
        self.assertEqual(busd.default_address(dict(env, BUS_ADDRESS="seqpacket:/x/bus.seq")),
                         "seqpacket:/x/bus.seq")
        self.assertEqual(busd.default_address(dict(env, BUS_ADDRESS="")), "unix:/run/user/7/busd/bus")
        for xdg in ("", "relative/dir"):
            self.assertEqual(busd.user_address({"XDG_RUNTIME_DIR": xdg}), "unix:/tmp/busd-%d/bus" % os.geteuid())
        self.assertEqual(busd.user_address({}), "unix:/tmp/busd-%d/bus" % os.geteuid())
        self.assertEqual(busd.parse_address("unix:/a/b"), ("/a/b", False))
        self.assertEqual(busd.parse_address("seqpacket:/a/b.seq"), ("/a/b.seq", True))
        self.assertEqual(busd.parse_address("/a/b"), ("/a/b", False))
        for bad in ("unix:bus", "bus", "tcp:/x", "seqpacket:", "/" + "x" * 107):
            with self.assertRaises(ValueError):
                busd.parse_address(bad)
        self.assertEqual(busd.SYSTEM_ADDRESS, "unix:/run/busd/bus")
        self.assertEqual(_wire.resolve_address(None, True), ("unix:/run/busd/bus", "/run/busd/bus", False))
        self.assertEqual(_wire.resolve_address("seqpacket:/s", True), ("seqpacket:/s", "/s", True))

    def test_connect_uses_bus_address(self):
        old = os.environ.get("BUS_ADDRESS")
        os.environ["BUS_ADDRESS"] = "seqpacket:/nonexistent/bus.seq"
        try:
            with self.assertRaises(FileNotFoundError):
                busd.connect()
        finally:
            if old is None:
                del os.environ["BUS_ADDRESS"]
            else:
                os.environ["BUS_ADDRESS"] = old

    def test_stream_decoder_takes_any_split(self):
        wire = b'{"type":"event","topic":"a","data":"\xc3\xa9"}\r\n  \n{"type":"dropped","count":1,"total":1}\n'
        for cut in range(1, len(wire)):
            d = _wire.StreamDecoder(1000)
            msgs = [m for m, _ in list(d.feed(wire[:cut])) + list(d.feed(wire[cut:]))]
            self.assertEqual([m["type"] for m in msgs], ["event", "dropped"])
            self.assertEqual(msgs[0]["data"], "\u00e9")
        d = _wire.StreamDecoder(10)
        with self.assertRaises(_wire.ProtocolViolation):
            list(d.feed(b'{"type":"reply","id":1}'))  # a line over max_recv, even before its end

    def test_strict_json_from_the_daemon(self):
        for bad in (b'{"type":"event","data":NaN}', b'{"type":"a","type":"b"}', b'[1]', b'{"x":1}', b'\xff'):
            with self.assertRaises(_wire.ProtocolViolation):
                _wire.decode(bad)
        with self.assertRaises(_wire.ProtocolViolation):
            _wire.decode_packet(b'{"type":"a"}', socket.MSG_TRUNC, 100)
        self.assertEqual(_wire.decode_packet(b'{"type":"a"}\n', 0, 100), {"type": "a"})

    def test_remote_identity_of_a_bridged_sender(self):
        msg = {"type": "event", "topic": "t", "data": 1, "sender": "busd-a/:5",
               "remote": {"bus": "busd-a", "via": "busd-b", "creds": {"uid": 1000, "gid": 100, "pid": 42}}}
        self.assertEqual(_wire.identity(msg), ("busd-a/:5", None,
                                               busd.Remote("busd-a", "busd-b", busd.Creds(1000, 100, 42))))
        local = {"sender": ":3", "creds": {"uid": 1, "gid": 2, "pid": 3}}
        self.assertEqual(_wire.identity(local), (":3", busd.Creds(1, 2, 3), None))

    def test_patterns(self):
        for pattern, topic, match in (("a.>", "a.b.c", True), ("a.>", "a", False), ("*.b", "a.b", True),
                                      (">", "$bus.x", False), ("$bus.>", "$bus.name.x", True),
                                      ("a.*", "a.b.c", False), ("a", "a", True)):
            self.assertEqual(busd.pattern_matches(pattern, topic), match, (pattern, topic))

    def test_error_families(self):
        for code, cls in (("parse_error", busd.RequestError), ("limit", busd.LimitError),
                          ("denied", busd.AccessError), ("callee_gone", busd.RoutingError),
                          ("internal", busd.DaemonError), ("org.x.Y", busd.ServiceError),
                          ("timeout", busd.CallTimeout), ("disconnected", busd.Disconnected)):
            e = busd.errors.from_message({"type": "error", "code": code, "message": "m", "sender": "org.busd"})
            self.assertIs(type(e), cls)
            self.assertIsInstance(e, busd.BusError)
            self.assertEqual((e.code, e.message), (code, "m"))
        self.assertTrue(issubclass(busd.CallTimeout, TimeoutError))
        self.assertTrue(issubclass(busd.Disconnected, ConnectionError))


if __name__ == "__main__":
    daemon_harness.main()
