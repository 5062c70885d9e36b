#!/usr/bin/env python3
"""Flow control instead of loss (docs/protocol.md §4.3-4.4, docs/guarantees.md):
against the real busd, over both transports, with raw clients (pyclient.py):
a burst arrives complete and in order; a stuck lossless subscriber holds a
publisher no longer than the stall timeout, then everyone flows; a lossy
subscription never slows a publisher; a client publishing to itself, and two
clients publishing to each other without reading, do not hang."""
import threading
import time

from daemon_harness import bind_transports, main
from pyclient import Closed
from test_reliability_common import scaled

STALL_MS = 1000
QUEUE = 65536
# An upper bound on a wait is a behaviour bound only, with a wide margin (no
# timed tests): "not held" means well short of a hold ending at the stall
# timeout plus this margin, on a slow or loaded machine or under ASan.
MARGIN = 10


class _Flow:
    busd_args = ("--queue-bytes", str(QUEUE), "--stall-timeout", str(STALL_MS))

    def publish_in_thread(self, pub, topic, count, pad=""):
        def run():
            try:
                for seq in range(count):
                    pub.publish(topic, [seq, pad], ack=False)
                pub.ping()
            except (Closed, OSError):
                pass  # cut as stuck (it did not read): also an end
        t = threading.Thread(target=run, daemon=True)
        t.start()
        return t

    def burst(self, nsubs, count):
        subs = [self.connect() for _ in range(nsubs)]
        for s in subs:
            self.assertEqual(s.subscribe("burst.>"), {"pattern": "burst.>", "lossy": False})
        pub = self.connect()
        t = self.publish_in_thread(pub, "burst.x", count, "p" * 64)
        for seq in range(count):  # all read, in turn: none is stuck for the stall timeout
            for s in subs:
                self.assertEqual(s.next_event()["data"][0], seq)
        t.join(60)
        self.assertFalse(t.is_alive())
        self.assertEqual(self.daemon.stats()["drops"], 0)

    def test_burst_one_to_one_complete_and_in_order(self):
        self.burst(1, scaled(100000, 10000))

    def test_burst_one_to_eight_complete_and_in_order(self):
        self.burst(8, scaled(20000, 2000))

    def test_stuck_subscriber_holds_a_publisher_at_most_the_stall_timeout(self):
        stuck = self.connect()
        stuck.subscribe("s.>")
        reader = self.connect()
        reader.subscribe("s.>")
        other_pub, other_sub = self.connect(), self.connect()
        other_sub.subscribe("o.>")
        pub = self.connect()
        pad = "x" * 4000
        worst, n = 0.0, 0
        deadline = time.monotonic() + 3 * STALL_MS / 1000 + MARGIN
        ack = {"dropped": 0}
        while time.monotonic() < deadline:
            t0 = time.monotonic()
            ack = pub.publish("s.x", [n, pad])
            worst = max(worst, time.monotonic() - t0)
            self.assertEqual(reader.next_event()["data"][0], n)
            # a publisher whose events do not reach the stuck one never notices it
            self.assertEqual(other_pub.publish("o.x", n), {"delivered": 1, "dropped": 0})
            self.assertEqual(other_sub.next_event()["data"], n)
            n += 1
            if ack["dropped"]:
                break
        self.assertTrue(ack["dropped"], "the stuck subscriber never lost an event")
        # the lost event was held first: it was given up on at the stall timeout, no sooner
        self.assertGreaterEqual(worst, STALL_MS / 1000 * 0.9, "the publisher was never held")
        self.assertLess(worst, STALL_MS / 1000 + MARGIN, "held longer than the stall timeout")
        # then everyone flows
        for i in range(n, n + 50):
            self.assertEqual(pub.publish("s.x", [i, ""])["dropped"], 0)
            self.assertEqual(reader.next_event()["data"][0], i)

    def test_two_clients_publishing_to_each_other_without_reading(self):
        a, b = self.connect(), self.connect()
        a.subscribe("to.a")
        b.subscribe("to.b")
        pad = "x" * 4000
        ta = self.publish_in_thread(a, "to.b", 200, pad)
        tb = self.publish_in_thread(b, "to.a", 200, pad)
        # neither reads its events while publishing; bounded by the stall timeout
        ta.join(10 * STALL_MS / 1000 + MARGIN)
        tb.join(10 * STALL_MS / 1000 + MARGIN)
        self.assertFalse(ta.is_alive() or tb.is_alive(), "publishers to each other hung")


class _NoHold:
    """With a long stall timeout, so that a hold (which would last it out) is
    told from a slow machine by a bound of half of it."""
    LONG_STALL_MS = 60000
    busd_args = ("--queue-bytes", str(QUEUE), "--stall-timeout", str(LONG_STALL_MS))

    def test_lossy_subscription_never_slows_a_publisher(self):
        lazy = self.connect()
        self.assertEqual(lazy.subscribe("l.>", lossy=True), {"pattern": "l.>", "lossy": True})
        pub = self.connect()
        pad = "x" * 4000
        dropped = 0
        for i in range(200):
            t0 = time.monotonic()
            dropped += pub.publish("l.x", [i, pad])["dropped"]
            self.assertLess(time.monotonic() - t0, self.LONG_STALL_MS / 2000, "a lossy subscriber held the publisher")
        self.assertGreater(dropped, 0)

    def test_publishing_to_itself_does_not_hang(self):
        c = self.connect()
        c.subscribe("self.>")
        pad = "x" * 4000
        for i in range(100):  # it reads only its acks: its own events fill its queue
            t0 = time.monotonic()
            c.publish("self.x", [i, pad])
            self.assertLess(time.monotonic() - t0, self.LONG_STALL_MS / 2000, "it was held on its own queue")
        self.assertAlive(c)


bind_transports(globals(), _Flow, _NoHold)

if __name__ == "__main__":
    main()
