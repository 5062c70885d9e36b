#!/usr/bin/env python3
"""Slow and stuck consumers, together (issue 5; the single behaviours are in
test_slow_consumer.py): while a publisher floods,

- ten subscribers that never read, on both transports, cost the daemon at
  most their queue each, are disconnected once their queue stayed full past
  --stall-timeout, and only then;
- a subscriber that stops reading, then reads, is told exactly how many
  events it missed before any further event, then stops again and is cut;
- two subscribers that read get every event, in order;
- the publisher is never blocked (each window of events ends with a ping):
  the subscribers that stop reading subscribed lossy (a lossless one holds
  the publisher instead, for at most the stall timeout: test_flow.py).

And every call to a service that stops reading ends exactly once: the call
that finds its queue full is held on the caller (flow control) and fails with
queue_full at the stall timeout; the service is cut in the same tick, and the
calls delivered to it (and one held again, if the caller's next call was
already read) fail with callee_gone; later ones find no owner.
"""
import time

from daemon_harness import WAIT, DaemonTest, bind_transports, main
from test_reliability_common import ASAN_ENV, assert_back_to_idle, report, scaled

QUEUE = 65536
EVENT_DATA = 8000
WINDOW = 7  # events a reading subscriber may be behind: WINDOW * ~8 KB < QUEUE


class StuckSubscribersUnderFlood(DaemonTest):
    STALL_MS = scaled(2000, 4000)
    STUCK = 10
    busd_args = ("--queue-bytes", str(QUEUE), "--stall-timeout", str(STALL_MS))
    busd_env = ASAN_ENV

    def window(self, pub, readers, seq, pad):
        """Publishes WINDOW events, pings (the publisher is never blocked),
        then each reader reads them; returns the next seq."""
        for s in range(seq, seq + WINDOW):
            pub.publish("flood.x", {"seq": s, "pad": pad}, ack=False)
        pub.ping()
        for r, got in readers:
            for _ in range(WINDOW):
                got.append(r.next_event()["data"]["seq"])
        return seq + WINDOW

    def test_stuck_subscribers_are_cut_the_recovering_one_is_told_the_readers_get_everything(self):
        pad = "x" * EVENT_DATA
        good = [(self.connect(seqpacket=seq, name="reader"), []) for seq in (False, True)]
        stuck = [self.connect(seqpacket=k % 2 == 1, name="stuck") for k in range(self.STUCK)]
        recovering = self.connect(name="recovering")
        for g, _ in good:
            g.subscribe("flood.>")
        for c in stuck + [recovering]:  # lossy: they lose events, the publisher never waits
            self.assertEqual(c.subscribe("flood.>", lossy=True), {"pattern": "flood.>", "lossy": True})
        pub = self.connect(name="publisher")
        seq = 0
        # fill every stuck queue (and the recovering one's)
        while self.daemon.peer_stats(recovering.unique)["drops"] == 0:
            seq = self.window(pub, good, seq, pad)
        for _ in range(3):
            seq = self.window(pub, good, seq, pad)
        rss_full = self.daemon.rss_kib()
        # the recovering subscriber reads: the events it got, then how many it missed
        delivered = 0
        while True:
            msg = recovering.recv()
            if msg["type"] != "event":
                break
            self.assertEqual(msg["data"]["seq"], delivered)
            delivered += 1
        drops = self.daemon.peer_stats(recovering.unique)["drops"]
        self.assertEqual(msg, {"type": "dropped", "count": drops, "total": drops})
        self.assertEqual(delivered + drops, seq)
        # it stops reading again; the flood goes on until the daemon has cut
        # every subscriber that does not read
        cut_at = None
        deadline = time.monotonic() + WAIT + 3 * self.STALL_MS / 1000
        peak = rss_full
        while time.monotonic() < deadline:
            seq = self.window(pub, good, seq, pad)
            peak = max(peak, self.daemon.rss_kib())
            left = {p["unique"] for p in self.daemon.stats()["peers"]} & {c.unique for c in stuck + [recovering]}
            if not left:
                cut_at = seq
                break
        self.assertIsNotNone(cut_at, "subscribers that never read were not disconnected")
        # the readers lost nothing and got it all in order
        for _, got in good:
            self.assertEqual(got, list(range(seq)))
        # each one that never read sees what fitted in its socket, no `dropped`, then the end
        log = self.daemon.log()
        for c in stuck + [recovering]:
            self.assertIn("disconnecting %s" % c.unique, log)
            self.assertIn("for %d ms without it reading" % self.STALL_MS, log)
            seen = c.read_until_closed()
            self.assertFalse([m for m in seen if b'"dropped"' in m], "told of drops it never read up to")
        bound = (self.STUCK + 3) * QUEUE // 1024 * 2 + scaled(8, 32) * 1024
        report("slow consumers: %d events of %d bytes, %d stuck subscribers and one that read once: told it "
               "missed %d events, all cut after the stall timeout (%d ms); 2 readers got all %d in order; busd RSS "
               "%d KiB with the queues full, peak %d KiB (+%d, bound %d)" %
               (seq, EVENT_DATA, self.STUCK, drops, self.STALL_MS, seq, rss_full, peak, peak - rss_full, bound))
        self.assertLess(peak - rss_full, bound, "busd grew while flooding stuck subscribers")
        for c, _ in good:
            c.close()
        pub.close()
        assert_back_to_idle(self, self.daemon)


class _StuckService:
    STALL_MS = scaled(1000, 2000)
    busd_args = ("--queue-bytes", str(QUEUE), "--stall-timeout", str(STALL_MS), "--max-pending-calls", "100000")
    busd_env = ASAN_ENV

    def test_every_call_to_a_stuck_service_ends_exactly_once(self):
        service = self.connect(names=["org.example.Stuck"])  # never reads its calls
        caller = self.connect(seqpacket=not self.seqpacket)
        params = {"pad": "p" * 4000}
        ids = []
        # enough calls to fill its socket and its queue many times over, 20 at
        # a time: the caller reads its own answers (a ping is the barrier),
        # else its own queue would fill and the daemon would stop reading it
        for _ in range(scaled(30, 20)):
            for _ in range(20):
                ids.append(caller.call_async("org.example.Stuck", "work", params))
            caller.ping()
        answers = {}
        while len(answers) < len(ids):
            msg = caller.next_of("reply", "error")
            self.assertNotIn(msg["id"], answers, "a call was answered twice")
            answers[msg["id"]] = msg
        self.assertEqual(set(answers), set(ids))
        codes = [answers[i]["code"] for i in ids]
        # the first call that did not fit was held and failed with queue_full
        # at the stall timeout, in the tick that cut the service (its stall
        # clock started with that hold); the delivered ones failed with
        # callee_gone when it was cut, and so did at most one call held
        # again after the queue_full (already read from the caller); the
        # rest found no owner
        self.assertTrue({"queue_full", "callee_gone"} <= set(codes) <= {"queue_full", "callee_gone", "no_owner"},
                        set(codes))
        self.assertEqual(codes.count("queue_full"), 1, "more than one call was held past the stall timeout")
        k = codes.index("queue_full")
        self.assertNotIn("no_owner", codes[:k], "a call found no owner before the service was cut")
        self.assertNotIn("queue_full", codes[:k])
        after = codes[k + 1:]
        self.assertLessEqual(after.count("callee_gone"), 1, "calls were delivered after one was held to the end")
        self.assertEqual(after, sorted(after, key=lambda c: c != "callee_gone"), "a call was delivered after the "
                         "service was gone")
        self.assertIn("stall_timeout", answers[ids[k]]["message"])
        self.assertAlive(caller)
        self.assertIn("disconnecting %s" % service.unique, self.daemon.log())
        self.assertEqual(self.daemon.stats()["pending_calls"], 0)
        report("stuck service (%s): %d calls of 4 KB: %d failed with callee_gone when it was cut, "
               "%d held to the stall timeout and failed with queue_full, %d found no owner; each answered once" %
               (self.transport, len(ids), codes.count("callee_gone"), codes.count("queue_full"),
                codes.count("no_owner")))
        caller.close()
        assert_back_to_idle(self, self.daemon)


bind_transports(globals(), _StuckService)

if __name__ == "__main__":
    main()
