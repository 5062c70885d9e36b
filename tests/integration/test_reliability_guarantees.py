#!/usr/bin/env python3
"""The sentences of docs/guarantees.md that no other test checks:

- the default limits: those announced in `welcome`, and max_handshakes,
  hello_timeout and max_connections by their effect with no options;
- what happens to a one-way call, to the daemon's own `$bus.name` events
  and to name notices when the receiver's queue is full;
- at most 256 calls are held for a name whose service is starting, and each
  ends once;
- one client's malformed message cannot change how another's is read, and a
  seqpacket client can read why it was disconnected even after a reset.
"""
import json
import os
import resource
import shutil
import socket
import tempfile
import unittest

from daemon_harness import WAIT, DaemonTest, bind_transports, known_bug, main
from pyclient import BusError, Client, Closed
from test_reliability_common import (WRAPPED, raise_nofile, raw_connect, read_to_eof, readable, report,
                                     wait_until)

DEFAULT_LIMITS = {"max_depth": 32, "max_pending_calls": 256, "queue_bytes": 4194304, "max_names": 256,
                  "max_subscriptions": 1024, "max_methods": 256, "max_queued_fds": 64, "stall_timeout_ms": 15000}


class Defaults(DaemonTest):
    def test_welcome_announces_the_default_limits(self):
        for seq, max_message in ((False, 1048576), (True, 65536)):
            lim = self.connect(seqpacket=seq).welcome["limits"]
            self.assertEqual(lim, dict(DEFAULT_LIMITS, max_message=max_message, max_recv=max_message + 1024))

    def test_default_max_handshakes_is_1024_and_hello_timeout_10_s(self):
        self.daemon.ping()
        self.assertTrue(raise_nofile(3000))
        socks = [raw_connect(self.daemon, seqpacket=i % 2 == 1) for i in range(1025)]
        for s in socks:
            self.addCleanup(s.close)
        # one connection too many: exactly one, among the oldest, is evicted
        evicted = []

        def find_evicted():
            evicted.extend(i for i in range(40) if i not in evicted and readable(socks[i]))
            return evicted

        self.assertTrue(wait_until(find_evicted))
        self.assertEqual(len(evicted), 1)
        self.assertEqual([m["code"] for m in read_to_eof(socks[evicted[0]])], ["limit"])
        # the other 1024 are told hello_timeout once 10 s have passed (the message says how long)
        for i, s in enumerate(socks):
            if i in evicted:
                continue
            msgs = read_to_eof(s, timeout=WAIT + 10)
            self.assertEqual([m["code"] for m in msgs], ["hello_timeout"])
            self.assertIn("no hello within 10000 ms", msgs[0]["message"])

    @unittest.skipIf(WRAPPED, "16,384 connections to a busd under $BUSD_WRAPPER take too long")
    def test_default_max_connections_is_16384(self):
        n = 16384
        if not raise_nofile(n + 1000):
            self.skipTest("cannot open %d descriptors here" % n)
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard != resource.RLIM_INFINITY and hard < n + 100:
            self.skipTest("busd's hard descriptor limit is below %d" % n)
        self.daemon.ping()  # the admin connection is one
        clients = []
        self.addCleanup(lambda: [c.close() for c in clients])
        while len(clients) < n - 1:
            wave = []
            for k in range(min(500, n - 1 - len(clients))):
                c = Client(self.daemon.addr(seqpacket=k % 2 == 1))
                c.send({"type": "hello", "id": 1})
                wave.append(c)
            for c in wave:
                self.assertEqual(c.recv()["type"], "welcome")
            clients += wave
        for seq in (False, True):
            msgs = read_to_eof(raw_connect(self.daemon, seqpacket=seq))
            self.assertEqual([m["code"] for m in msgs], ["limit"])
            self.assertIn("max_connections", msgs[0]["message"])
        clients.pop().close()  # one leaves: the next one is served

        def served():
            c = Client(self.daemon.addr())
            try:
                c.hello()
                clients.append(c)
                return True
            except (Closed, ConnectionResetError, BusError):
                c.close()
                return False

        self.assertTrue(wait_until(served))
        report("default max_connections: %d connections served, the next refused with `limit`, served again "
               "once one left" % n)


class _HeldOneway:
    STALL_MS = 1000
    QUEUE = 65536
    busd_args = ("--queue-bytes", str(QUEUE), "--stall-timeout", str(STALL_MS))

    def test_oneway_call_to_a_full_queue_is_refused_to_the_caller_with_its_id(self):
        svc = self.connect(names=["org.example.Full"])
        self.fill_queue_without_drop(svc, self.connect(), self.QUEUE)
        c = self.connect()
        c.settimeout(self.STALL_MS / 1000 + 10)  # a behaviour bound, with a wide margin
        # held on c (flow control) like any call; svc never drains: at the
        # stall timeout it is refused to c, with its id
        c.send({"type": "call", "id": 90, "dest": "org.example.Full", "method": "m", "params": "p" * 8192,
                "oneway": True})
        self.next_error(c, "queue_full", id=90, contains=(svc.unique, "stall_timeout"))
        self.assertAlive(c)


class _FullQueues:
    busd_args = ("--queue-bytes", "65536", "--stall-timeout", "60000")

    def test_name_owner_events_are_dropped_and_counted_like_any_event(self):
        watcher = self.connect()
        watcher.subscribe("$bus.name.>")
        published = self.fill_queue(watcher, self.connect())
        drops = self.daemon.peer_stats(watcher.unique)["drops"]
        self.connect(names=["org.example.Seen"])  # its $bus.name event finds the queue full
        self.assertEqual(self.daemon.peer_stats(watcher.unique)["drops"], drops + 1)
        events = 0
        while True:
            msg = watcher.recv()
            if msg["type"] != "event":
                break
            events += 1
        self.assertEqual(msg, {"type": "dropped", "count": drops + 1, "total": drops + 1})
        self.assertEqual(events + drops, published)  # the name event was the one more dropped

    def test_name_notices_to_a_full_queue_are_never_dropped(self):
        owner = self.connect()
        self.assertEqual(owner.request_name("org.example.Taken", allow_replacement=True), "primary_owner")
        self.fill_queue(owner, self.connect())
        taker = self.connect()
        self.assertEqual(taker.request_name("org.example.Taken", replace=True), "primary_owner")
        self.assertGreater(self.daemon.peer_stats(owner.unique)["drops"], 0)
        # reading, it finds the notice after the events queued before it, and
        # then (drained to half) how many events it missed
        types = []
        while "dropped" not in types:
            types.append(owner.recv()["type"])
        self.assertEqual(types.count("name_lost"), 1)
        self.assertLess(types.index("name_lost"), types.index("dropped"))


class _Isolation:
    def test_a_message_cut_inside_a_surrogate_pair_does_not_change_the_next_one(self):
        # json-c kept the pending high surrogate of a failed text for the next
        # one: another client's "\ude00" became U+1F600 (fixed in proto/jsonparse.c)
        sub = self.connect()
        sub.subscribe("iso.>")
        bad = self.connect()
        other = self.connect(seqpacket=not self.seqpacket)
        for cut in (b'"\\ud83d\\ude', b'"\\ud83d\\u', b'"\\ud83d\\ude0"'):
            for text, expect in ((b'"\\ude00"', None), (b'"x\\u0041y"', "xAy"), (b'{"a":1,"\\u0061":2}', None)):
                bad.send_raw(b'{"type":"publish","id":1,"topic":"iso.x","data":' + cut)
                self.next_error(bad, "parse_error")
                other.send_raw(b'{"type":"publish","id":2,"topic":"iso.x","data":' + text + b"}")
                if expect is None:  # a lone low surrogate stays lone, a duplicate a duplicate
                    self.next_error(other, "parse_error")
                    continue
                self.assertEqual(other.result(2)["delivered"], 1)
                self.assertEqual(sub.next_event()["data"], expect)

    def test_member_name_with_nul_is_refused(self):
        sub = self.connect()
        sub.subscribe("iso.>")
        pub = self.connect()
        pub.send_raw(b'{"type":"publish","id":1,"topic":"iso.n","data":{"a\\u0000b":1,"c":2}}')
        self.next_error(pub, "parse_error", contains="member name with U+0000")
        # a string value with U+0000 is fine, and nothing of the refused event arrived
        pub.send_raw(b'{"type":"publish","id":2,"topic":"iso.n","data":{"ab":"x\\u0000y"}}')
        self.assertEqual(pub.result(2)["delivered"], 1)
        self.assertEqual(sub.next_event()["data"], {"ab": "x\u0000y"})


class HeldCalls(DaemonTest):
    """Calls held for an activatable name whose service is starting."""
    SLEEP_S = 3

    def setUp(self):
        self.services = tempfile.mkdtemp(prefix="busd-services-")
        self.addCleanup(shutil.rmtree, self.services, True)
        # a service that exits without taking its name, after SLEEP_S
        with open(os.path.join(self.services, "org.test.Slow.json"), "w") as f:
            json.dump({"name": "org.test.Slow", "exec": ["/bin/sleep", str(self.SLEEP_S)], "timeout_ms": 60000}, f)
        self.busd_args = ("--services-dir", self.services, "--max-pending-calls", "1000")
        super().setUp()

    def test_at_most_256_calls_are_held_per_name_and_each_ends_once(self):
        c = self.connect()
        ids = [c.call_async("org.test.Slow", "m") for _ in range(257)]
        self.next_error(c, "limit", id=ids[-1], contains="256 calls are already waiting")
        self.assertEqual(self.daemon.stats()["held_calls"], 256)
        # the service exits without taking the name: every held call fails, once
        answers = {}
        while len(answers) < 256:
            m = c.next_of("reply", "error")
            self.assertNotIn(m["id"], answers)
            answers[m["id"]] = m["code"]
        self.assertEqual(set(answers), set(ids[:-1]))
        self.assertEqual(set(answers.values()), {"activation_failed"})
        self.assertEqual(self.daemon.stats()["held_calls"], 0)


class SeqpacketReset(DaemonTest):
    seqpacket = True

    def test_the_reason_for_a_close_is_readable_after_a_reset(self):
        # the daemon closes while packets of ours are unread: the kernel
        # reports ECONNRESET to our next read first, then the daemon's last
        # packet (the error saying why), then the end
        s = raw_connect(self.daemon, seqpacket=True)
        self.addCleanup(s.close)
        s.sendall(b'{"type":"hello","id":1}')
        self.assertEqual(json.loads(s.recv(70000))["type"], "welcome")
        s.sendall(b"[" + b" " * 70000 + b"]")  # over max_message: too_large, then closed
        try:  # more than busd reads at once: some stay unread when it closes
            for _ in range(64):
                s.send(b'{"type":"call","id":2,"dest":"org.busd","method":"ping"}', socket.MSG_DONTWAIT)
        except OSError:
            pass  # already closed
        msgs = read_to_eof(s)
        self.assertEqual([m["code"] for m in msgs], ["too_large"])


bind_transports(globals(), _HeldOneway, _FullQueues, _Isolation)

if __name__ == "__main__":
    main()
