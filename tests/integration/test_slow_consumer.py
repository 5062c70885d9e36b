#!/usr/bin/env python3
"""Slow and stuck consumers (docs/protocol.md §4.4), over stream and
seqpacket, with a small per-connection queue (--queue-bytes 65536):

- a lossy subscriber that stops reading never blocks the publisher, costs
  the daemon bounded memory, shows up in `stats` with its drops, and does not
  disturb a subscriber that reads;
- when it reads again it learns how many events it missed (`dropped`)
  before any further event;
- when it stays stuck past --stall-timeout it is disconnected;
- a client that sends requests without reading the replies is no longer read
  from (back-pressure), with bounded memory, while others are served.

A lossless subscriber that stops reading holds the publisher instead, for at
most the stall timeout (flow control): test_flow.py.

The tests that are not about the stall timeout run with a long one, so that a
slow machine (or ASan) cannot make a stuck client time out early. Under ASan
the freed-memory quarantine is kept small, else RSS would measure it.
"""
import os
import select
import time

from daemon_harness import WAIT, bind_transports, main

QUEUE = 65536
EVENT_DATA = 8000  # bytes of data per flood event
WINDOW = 7  # events a reading subscriber may be behind: WINDOW * ~8 KB < QUEUE
ASAN_ENV = {"ASAN_OPTIONS": ":".join(filter(None, [os.environ.get("ASAN_OPTIONS"), "quarantine_size_mb=1"]))}
RSS_SLACK_KIB = (QUEUE * 4 + 8 * 1024 * 1024) // 1024


class _Stuck:
    busd_args = ("--queue-bytes", str(QUEUE), "--stall-timeout", "60000")
    busd_env = ASAN_ENV

    def flood(self, pub, reader, first, count):
        """Publishes events first..first+count-1 on flood.x (WINDOW at a time,
        each window closed by a ping); reader reads each window in full.
        Returns the seq numbers reader got."""
        got = []
        pad = "x" * EVENT_DATA
        for start in range(first, first + count, WINDOW):
            n = min(WINDOW, first + count - start)
            for seq in range(start, start + n):
                pub.publish("flood.x", {"seq": seq, "pad": pad}, ack=False)
            pub.ping()  # the publisher is never blocked by the stuck subscriber
            for _ in range(n):
                got.append(reader.next_event()["data"]["seq"])
        return got

    def test_stuck_subscriber_costs_bounded_memory_and_does_not_block_others(self):
        stuck = self.connect(name="stuck")
        # lossy: it loses events; a lossless one would hold the publisher (test_flow.py)
        self.assertEqual(stuck.subscribe("flood.>", lossy=True), {"pattern": "flood.>", "lossy": True})
        reader = self.connect(name="reader")
        reader.subscribe("flood.>")
        pub = self.connect(name="publisher")
        total = (24 << 20) // EVENT_DATA  # ~24 MB of events
        warm = 200
        got = self.flood(pub, reader, 0, warm)  # buffers and allocator warm, stuck is full
        rss_before = self.daemon.rss_kib()
        got += self.flood(pub, reader, warm, total - warm)
        rss_after = self.daemon.rss_kib()
        self.assertEqual(got, list(range(total)), "the reading subscriber missed or reordered events")
        self.assertLess(rss_after - rss_before, RSS_SLACK_KIB,
                        "busd grew from %d to %d KiB while flooding a stuck subscriber" % (rss_before, rss_after))
        stats = self.daemon.stats()
        peers = {p["unique"]: p for p in stats["peers"]}
        self.assertGreater(peers[stuck.unique]["drops"], total // 2)
        self.assertEqual(peers[reader.unique]["drops"], 0)
        self.assertEqual(stats["drops"], peers[stuck.unique]["drops"])
        self.assertLessEqual(peers[stuck.unique]["queue_bytes"], QUEUE)
        self.assertLessEqual(peers[reader.unique]["queue_bytes"], QUEUE)

    def test_resumed_subscriber_gets_dropped_count_before_further_events(self):
        stuck = self.connect()
        pub = self.connect()
        published = self.fill_queue(stuck, pub, topic="flood.x")
        for _ in range(20):  # these are all dropped
            self.assertEqual(pub.publish("flood.x", "more"), {"delivered": 0, "dropped": 1})
        published += 20
        drops = self.daemon.peer_stats(stuck.unique)["drops"]
        self.assertGreaterEqual(drops, 21)
        # it reads again: the events it got, then how many it missed
        delivered = 0
        while True:
            msg = stuck.recv()
            if msg["type"] != "event":
                break
            delivered += 1
        self.assertEqual(msg, {"type": "dropped", "count": drops, "total": drops})
        self.assertEqual(delivered + msg["count"], published)
        pub.publish("flood.x", "after")
        self.assertEqual(stuck.recv()["data"], "after")
        # a second episode: count is per episode, total since connect
        more = self.fill_queue(stuck, pub, topic="flood.x")
        drops2 = self.daemon.peer_stats(stuck.unique)["drops"] - drops
        delivered = 0
        while True:
            msg = stuck.recv()
            if msg["type"] != "event":
                break
            delivered += 1
        self.assertEqual(msg, {"type": "dropped", "count": drops2, "total": drops + drops2})
        self.assertEqual(delivered + drops2, more)

    def test_reader_that_is_only_slow_loses_nothing(self):
        slow = self.connect()
        slow.subscribe("flood.>")
        pub = self.connect()
        got = self.flood(pub, slow, 0, 300)
        self.assertEqual(got, list(range(300)))
        self.assertEqual(self.daemon.peer_stats(slow.unique)["drops"], 0)


class _StallTimeout:
    STALL_MS = 500
    busd_args = ("--queue-bytes", str(QUEUE), "--stall-timeout", str(STALL_MS))

    def test_subscriber_stuck_past_the_stall_timeout_is_disconnected(self):
        watch = self.connect()
        watch.subscribe("$bus.name.org.example.Stuck")
        stuck = self.connect(names=["org.example.Stuck"])
        self.assertEqual(watch.next_event()["data"]["new_owner"], stuck.unique)
        pub = self.connect()
        self.fill_queue(stuck, pub)
        full_at = time.monotonic()
        self.assertAlive(pub)
        # its name is released when the daemon drops the connection
        ev = watch.next_event()
        elapsed = time.monotonic() - full_at
        self.assertEqual(ev["data"], {"name": "org.example.Stuck", "old_owner": stuck.unique, "new_owner": None})
        self.assertGreaterEqual(elapsed, self.STALL_MS / 1000 * 0.9, "disconnected before the stall timeout")
        stuck.read_until_closed()  # raises socket.timeout if the socket never ends
        self.assertIsNone(self.daemon.peer_stats(stuck.unique))
        self.assertIn("disconnecting %s" % stuck.unique, self.daemon.log())
        self.assertAlive(pub)

    def test_client_reading_again_before_the_stall_timeout_stays(self):
        stuck = self.connect()
        pub = self.connect()
        self.fill_queue(stuck, pub)
        while stuck.recv()["type"] != "dropped":
            pass
        # idle with an empty queue: it is not stuck, however long it waits
        self.assertAlive(stuck)
        self.assertIsNotNone(self.daemon.peer_stats(stuck.unique))


class _BackPressure:
    busd_args = ("--queue-bytes", str(QUEUE), "--stall-timeout", "60000")
    busd_env = ASAN_ENV
    MAX_REQUESTS = 200000  # far more than socket buffers and the queue hold

    def test_client_not_reading_replies_is_paused_with_bounded_memory(self):
        good = self.connect()
        rude = self.connect()
        self.assertAlive(good)
        rss_before = self.daemon.rss_kib()
        out = Requests(rude, self.MAX_REQUESTS)
        # send without reading until busd stops reading: what it has read
        # stays below what was sent, across a barrier (good's ping)
        while True:
            out.send_until_blocked()
            before = self.daemon.peer_stats(rude.unique)["messages_in"]
            self.assertAlive(good)
            read = self.daemon.peer_stats(rude.unique)["messages_in"]
            if read == before < out.sent + 1:  # + its hello
                break
            self.assertLess(out.sent, self.MAX_REQUESTS, "busd read every request: no back-pressure")
        peer = self.daemon.peer_stats(rude.unique)
        self.assertLessEqual(peer["queue_bytes"], QUEUE + 64 * 1024)
        self.assertLess(self.daemon.rss_kib() - rss_before, RSS_SLACK_KIB)
        # once it reads, every request is answered exactly once
        self.assertEqual(out.finish_and_collect_ids(), set(range(out.sent)))
        self.assertAlive(rude)
        self.assertAlive(good)


class Requests:
    """Pings with ids 0, 1, ... written to a client's socket without reading
    the replies (non-blocking), then finished while reading them."""

    def __init__(self, client, count):
        self.client = client
        lines = [b'{"type":"call","id":%d,"dest":"org.busd","method":"ping"}' % i for i in range(count)]
        self.packets = lines if client.seqpacket else None
        self.data = None if client.seqpacket else b"\n".join(lines) + b"\n"
        self.off = 0  # packets or bytes written
        self.sent = 0  # complete requests written

    def pending(self):
        return self.off < (len(self.packets) if self.packets else len(self.data))

    def write_some(self):
        """One non-blocking write; raises BlockingIOError when the socket is full."""
        sock = self.client.sock
        sock.setblocking(False)
        try:
            if self.packets:
                sock.send(self.packets[self.off])
                self.off += 1
                self.sent = self.off
            else:
                self.off += sock.send(self.data[self.off:self.off + 65536])
                self.sent = self.data.count(b"\n", 0, self.off)
        finally:
            sock.settimeout(WAIT)

    def send_until_blocked(self):
        try:
            while self.pending():
                self.write_some()
        except BlockingIOError:
            pass

    def finish_and_collect_ids(self):
        """Reads the replies, writing the rest of a partly written line (only
        that: the count stays `sent`) as the daemon reads again. Returns the
        set of reply ids; each must come once."""
        if self.data is not None and self.off and self.data[self.off - 1:self.off] != b"\n":
            end = self.data.index(b"\n", self.off) + 1
            self.data = self.data[:end]
            self.sent += 1
        else:
            self.data = self.data[:self.off] if self.data is not None else None
            self.packets = self.packets[:self.off] if self.packets else None
        ids, c = set(), self.client
        while len(ids) < self.sent:
            if self.pending():
                readable, _, _ = select.select([c.sock], [c.sock], [], WAIT)
                if not readable:
                    self.send_until_blocked()
                    continue
            msg = c.recv()
            if msg["type"] != "reply" or msg["id"] in ids:
                raise AssertionError("not one reply per request: %r" % msg)
            ids.add(msg["id"])
        return ids


bind_transports(globals(), _Stuck, _StallTimeout, _BackPressure)

if __name__ == "__main__":
    main()
