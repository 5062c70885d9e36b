#!/usr/bin/env python3
"""Flow control across a bridge link (issue 17; docs/bridge.md, docs/guarantees.md):
real busd instances in network namespaces joined by TLS links, as
test_bridge.py builds them (netns.py, certificates from scripts/gen-test-certs.sh).

- a burst of 1,000,000 events published on A as fast as a raw socket takes
  them reaches a lossless subscriber on B complete and in order: the
  publisher is held while the link's queue is full, B stops reading the link
  while its subscriber's queue is full, nothing is dropped anywhere;
- a stalled subscriber on B holds A's publisher no longer than B's stall
  timeout: the publisher finishes, the healthy subscriber on B gets every
  event in order, and B counts what the stalled one lost (or cuts it);
- a link cut mid-burst is never silent: what B did not confirm is counted as
  `lost` (in the `$bus.link` down event, the link's stats and the daemon's
  `drops`), so events received plus events counted cover every event that
  had the link to go to; the link heals and a new event crosses;
- SIGHUP removing and re-adding a link while events flow on another: that
  flow loses nothing and its connection is never made again.

Against a sanitizer build or under $BUSD_WRAPPER the bursts are smaller
(test_reliability_common.scaled(): 100,000 events instead of 1,000,000 in the
first test, 8,000 instead of 20,000 in the second, 50,000 instead of 200,000
in the third); $BUS_BRIDGE_FLOW_EVENTS sets the first test's count. Events are
written and read in large chunks, and a subscriber only looks at each event's
`data` number (anything else it reads is parsed and kept). Waits poll stats,
logs or the readers' progress; a guard fails a test only when nothing moved
for WAIT seconds (or, for the stalled subscriber, when the publisher has not
finished after a generous deadline). No assertion is about time or rates."""
import json
import os
import re
import select
import threading
import time
import unittest

import netns
import test_bridge as tb
import test_bridge_reload as tbr
from daemon_harness import WAIT, main
from pyclient import Closed
from test_reliability_common import scaled

# B's stall timeout in the stalled-subscriber test; A's is longer, so that what
# ends the hold is B giving up on its stalled subscriber, not A giving up on the link
STALL_MS = 1000
A_STALL_MS = 10000

_DATA = re.compile(rb'"data":\[?(-?\d+)')


def publish_lines(topic, start, stop, pad=None, ids=False):
    """Publish messages for data start..stop-1 as JSON lines (data N, or
    [N, pad]); with ids, publish N has id N + ID0 (answered with an ack)."""
    data = '%d' if pad is None else '[%%d,"%s"]' % pad
    if ids:
        fmt = '{"type":"publish","topic":"%s","data":%s,"id":%%d}\n' % (topic, data)
        return "".join(fmt % (n, n + ID0) for n in range(start, stop)).encode()
    fmt = '{"type":"publish","topic":"%s","data":%s}\n' % (topic, data)
    return "".join(fmt % n for n in range(start, stop)).encode()


ID0 = 1000  # publish ids: clear of the ids pyclient used for hello and subscribe
BATCH = 10000


def burst(topic, count, pad=None, ids=False, final_id=None):
    """The chunks of a burst of `count` publishes (data 0..count-1); with
    final_id, the last one alone carries that id."""
    last = count - 1 if final_id is not None else count
    for start in range(0, last, BATCH):
        yield publish_lines(topic, start, min(start + BATCH, last), pad, ids)
    if final_id is not None:
        msg = {"type": "publish", "topic": topic, "data": last if pad is None else [last, pad], "id": final_id}
        yield (json.dumps(msg, separators=(",", ":")) + "\n").encode()


class Writer(threading.Thread):
    """Writes the chunks to a client's stream socket (blocking: a held
    publisher's writes simply wait)."""

    def __init__(self, client, chunks):
        super().__init__(daemon=True)
        self.client, self.chunks = client, chunks
        self.error = None
        self.done = False

    def run(self):
        try:
            for chunk in self.chunks:
                self.client.sock.sendall(chunk)
            self.done = True
        except OSError as e:
            self.error = e


class Reader(threading.Thread):
    """Reads a client's stream connection in a thread, cheaply. Each event on
    `topic` has its data number (data N or [N, ...]) checked against the next
    expected one (from 0): gaps and disorder are counted and the first few
    described. Every other message is parsed and kept in `other`, in order,
    with the number of `topic` events read before it (`on_other(reader, msg)`
    is called too). Stops at stop(), at the end of the connection, or once
    `until(msg)` is true for another message."""

    def __init__(self, client, topic, keep=False, until=None, on_other=None):
        super().__init__(daemon=True)
        assert not client.backlog and not client._lines and not client._inbuf, "unread input before the reader"
        client.sock.settimeout(None)
        self.sock = client.sock
        self.prefix = b'{"type":"event","topic":"' + topic.encode() + b'",'
        self.until, self.on_other = until, on_other
        self.expect = 0      # the next data number expected
        self.received = 0    # events on topic
        self.missing = 0     # numbers skipped
        self.disorder = 0    # numbers not above the previous one
        self.anomalies = []  # the first few, described
        self.values = set() if keep else None
        self.other = []      # (events on topic read before it, message)
        self.closed = False
        self.finished = False
        self.error = None
        self.progress = time.monotonic()
        self._stop = False

    def stop(self):
        self._stop = True

    def _note(self, text):
        if len(self.anomalies) < 5:
            self.anomalies.append(text)

    def _line(self, line):
        m = _DATA.search(line, len(self.prefix)) if line.startswith(self.prefix) else None
        if m:
            v = int(m.group(1))
            if self.values is not None:
                self.values.add(v)
            self.received += 1
            if v == self.expect:
                self.expect = v + 1
            elif v > self.expect:
                self._note("%d..%d missing" % (self.expect, v - 1))
                self.missing += v - self.expect
                self.expect = v + 1
            else:
                self._note("%d after %d" % (v, self.expect - 1))
                self.disorder += 1
            return False
        if not line.strip():
            return False
        msg = json.loads(line)
        self.other.append((self.received, msg))
        if self.on_other:
            self.on_other(self, msg)
        return bool(self.until and self.until(msg))

    def run(self):
        buf = b""
        try:
            while not self._stop:
                ready, _, _ = select.select([self.sock], [], [], 0.1)
                if not ready:
                    continue
                chunk = self.sock.recv(1 << 20)
                if not chunk:
                    self.closed = True
                    return
                self.progress = time.monotonic()
                *lines, buf = (buf + chunk).split(b"\n")
                for line in lines:
                    if self._line(line):
                        self.finished = True
                        return
        except Exception as e:  # reported by summary()
            self.error = e
            self.closed = True

    def others(self, type_=None, topic=None):
        return [m for _, m in self.other if (type_ is None or m.get("type") == type_)
                and (topic is None or m.get("topic") == topic)]

    def dropped_notices(self):
        return self.others("dropped")

    def summary(self):
        return "%d received, next expected %d, %d missing, %d out of order%s%s%s%s" % (
            self.received, self.expect, self.missing, self.disorder,
            " (%s)" % "; ".join(self.anomalies) if self.anomalies else "",
            ", dropped notices %s" % self.dropped_notices() if self.dropped_notices() else "",
            ", connection closed" if self.closed else "",
            ", reading failed: %r" % self.error if self.error else "")


def wait_progress(done, readers=(), writers=(), idle=WAIT, deadline=None):
    """Waits until done() is true; gives up (returns False) once neither a
    reader nor a writer made progress for `idle` seconds, or past an absolute
    deadline (monotonic). A failure guard, not a measure."""
    last, mark = time.monotonic(), None
    while not done():
        now = time.monotonic()
        state = tuple(r.progress for r in readers) + tuple(w.done for w in writers)
        if state != mark:
            mark, last = state, now
        if now - last > idle or (deadline is not None and now > deadline):
            return False
        time.sleep(0.02)
    return True


@unittest.skipUnless(os.geteuid() == 0, "needs root for network namespaces")
class BridgeFlow(unittest.TestCase):
    def setUp(self):
        netns.require()

    # keepalive and timeout of the links that are not cut: a 1 s timeout (test_bridge.py's) can
    # expire while both cores are busy with a burst, and a link that drops loses events
    CALM = {"keepalive_ms": 1000, "timeout_ms": 15000}

    def pair(self, net, a_args=(), b_args=(), **extra):
        """busd-a dials busd-b (a line a-b), both links up; extra: bridge file keys."""
        d = net.tmpdir
        fb = tb.bridge_file(d, "busd-b", [tb.link("from-a", ["busd-a"])], listen=["%s:7400" % net.addr("b", "a")],
                            **extra)
        fa = tb.bridge_file(d, "busd-a", [tb.link("to-b", ["busd-b"], connect="%s:7400" % net.addr("b", "a"))],
                            **extra)
        db = net.busd("b", "--bridge-config", fb, *b_args)
        da = net.busd("a", "--bridge-config", fa, *a_args)
        tb.links_up(da, 1)
        tb.links_up(db, 1)
        return da, db

    def publisher(self, d):
        pub = d.connect()
        pub.settimeout(None)  # a held publisher's writes wait as long as the hold lasts
        self.addCleanup(pub.close)
        return pub

    def subscriber(self, d, pattern):
        sub = d.connect()
        self.assertEqual(sub.subscribe(pattern), {"pattern": pattern, "lossy": False})
        self.addCleanup(sub.close)
        return sub

    def final_ack(self, reader, id):
        acks = [m for m in reader.others("reply") if m.get("id") == id]
        return acks[0]["result"] if acks else None

    def test_a_million_event_burst_crosses_complete_and_in_order(self):
        """1,000,000 publishes (data 0..N-1, no ids but the last) written on A
        as fast as the socket takes them reach a plain lossless subscriber on
        B complete, in order, without a `dropped` notice; nothing is dropped
        on A's link (up once all along: its timeout is 15 s here), nor in
        either daemon, and the last publish's ack counts no drop."""
        n = int(os.environ.get("BUS_BRIDGE_FLOW_EVENTS") or scaled(1000000, 100000))
        with netns.line(["a", "b"]) as net:
            da, db = self.pair(net, **self.CALM)
            sub = Reader(self.subscriber(db, "t.>"), "t.x")
            sub.start()
            pub = self.publisher(da)
            acks = Reader(pub, "t.none", until=lambda m: m.get("type") in ("reply", "error"))
            acks.start()
            w = Writer(pub, burst("t.x", n, final_id=7))
            w.start()
            # the ack of the last publish comes once A handled every one before it
            acked = wait_progress(lambda: acks.finished, [sub, acks], [w])
            got_all = wait_progress(lambda: sub.expect >= n, [sub], [w])
            sub.stop()
            a_link = tbr.link_stats(da, "to-b")
            a_drops, b_drops = da.stats()["drops"], db.stats()["drops"]
            ack = self.final_ack(acks, 7)
            problems = []
            if w.error:
                problems.append("the publisher's writes failed: %s" % w.error)
            if not acked:
                problems.append("the last publish was never acknowledged (A stopped handling the publisher)")
            elif ack is None or ack.get("dropped") != 0:
                problems.append("the last publish's ack: expected dropped 0, got %s" % (ack or acks.others()))
            if not (got_all and sub.received == n and sub.missing == 0 and sub.disorder == 0):
                problems.append("B's subscriber: expected %d events in order, got %s" % (n, sub.summary()))
            if sub.dropped_notices():
                problems.append("B's subscriber was told of drops: %s" % sub.dropped_notices())
            if (a_link or {}).get("dropped") != 0 or (a_link or {}).get("connections") != 1:
                problems.append("A's link to-b: expected dropped 0 on the one connection, stats %s" % a_link)
            if a_drops or b_drops:
                problems.append("daemon drops: expected 0 and 0, A %d, B %d" % (a_drops, b_drops))
            if problems:
                self.fail("a burst of %d events A->B:\n  %s" % (n, "\n  ".join(problems)))

    def test_a_stalled_remote_subscriber_holds_the_publisher_no_longer_than_the_stall_timeout(self):
        """B (stall timeout 1 s, 1 MiB queues) has a subscriber that never
        reads after subscribing and a healthy one. A burst of 1 KB events
        from A (20,000: several times what every queue and socket buffer on
        the way holds) is held while B waits for the stalled one, but only
        until B gives up on it: the publisher finishes (its last publish is
        acknowledged, within a generous guard of 60 s), the healthy
        subscriber gets every event in order, and B counted what the stalled
        one lost (its `drops` > 0) or cut it as stuck (its log). A's stall
        timeout is 10 s, so that what ends the hold is B's bound, and A drops
        nothing."""
        n = scaled(20000, 8000)
        pad = "x" * 1000
        with netns.line(["a", "b"]) as net:
            da, db = self.pair(net, a_args=("--stall-timeout", str(A_STALL_MS)),
                               b_args=("--stall-timeout", str(STALL_MS), "--queue-bytes", str(1 << 20)), **self.CALM)
            stalled = self.subscriber(db, "s.>")  # never read again
            healthy = Reader(self.subscriber(db, "s.>"), "s.x")
            healthy.start()
            pub = self.publisher(da)
            acks = Reader(pub, "s.none", until=lambda m: m.get("type") in ("reply", "error"))
            acks.start()
            w = Writer(pub, burst("s.x", n, pad=pad, final_id=9))
            w.start()
            start = time.monotonic()
            guard = start + max(60.0, 6 * WAIT)  # a failure guard only
            acked = wait_progress(lambda: acks.finished, idle=float("inf"), deadline=guard)
            got_all = acked and wait_progress(lambda: healthy.expect >= n, [healthy])
            healthy.stop()
            b_stats, b_log = db.stats(), db.log()
            cut = "%s (pid %d) disconnected: stuck" % (stalled.unique, os.getpid()) in b_log
            a_link = tbr.link_stats(da, "to-b")
            problems = []
            if w.error:
                problems.append("the publisher's writes failed: %s" % w.error)
            if not acked:
                problems.append("the publisher was still held after %d s (its publishes %s written), expected "
                                "it released once B gave up on the stalled subscriber" % (
                                    guard - start, "all" if w.done else "not all"))
            if not (got_all and healthy.received == n and healthy.missing == 0 and healthy.disorder == 0
                    and not healthy.dropped_notices()):
                problems.append("the healthy subscriber on B: expected %d events in order, got %s" % (
                    n, healthy.summary()))
            if not (b_stats["drops"] > 0 or cut):
                problems.append("the stalled subscriber's loss was not counted: B's drops %d, not cut as stuck "
                                "in B's log" % b_stats["drops"])
            if da.stats()["drops"] or (a_link or {}).get("dropped") != 0 or (a_link or {}).get("connections") != 1:
                problems.append("A's side: expected no drop, the link's one connection; drops %d, link %s" % (
                    da.stats()["drops"], a_link))
            if problems:
                self.fail("a stalled subscriber on B, %d events of 1 KB from A:\n  %s" % (n, "\n  ".join(problems)))

    def test_a_link_cut_mid_burst_counts_what_was_lost(self):
        """A burst of 200,000 publishes with ids from A, a lossless subscriber
        on B; once a quarter is acknowledged the link is blocked (every packet
        dropped both ways, netns.block()) until A declares it down (timeout_ms
        1 s). The publisher's own connection also subscribes to `$bus.link.>`:
        the acks before A's down event there are the publishes A handled while
        the link was up; with those acked later that count a drop, they are
        the events that had the link to go to. Shown: the down event carries
        `lost` (a number), A's link stats carry `lost` while it is down and
        after (cumulative), A's `drops` include it, and events B received plus
        events counted (A's and B's `drops`) cover every one of those events:
        nothing silently lost. B received no event twice nor out of order.
        Unblocked, the link comes back and a new event crosses."""
        n = scaled(200000, 50000)
        with netns.line(["a", "b"]) as net:
            da, db = self.pair(net)
            sub = Reader(self.subscriber(db, "t.>"), "t.burst", keep=True,
                         until=lambda m: m.get("type") == "event" and m.get("topic") == "t.after")
            sub.start()
            pub = self.publisher(da)
            pub.subscribe("$bus.link.>")
            # per publish: 0 not acked, 1 acked before the down event, 2 after it with a drop, 3 after it
            status = bytearray(n)
            seen = {"acks": 0, "down": None}

            def on_reply(reader, msg):
                if msg.get("type") == "event" and msg["data"].get("state") == "down" and seen["down"] is None:
                    seen["down"] = msg
                elif msg.get("type") == "reply" and ID0 <= msg.get("id", -1) < ID0 + n:
                    i, dropped = msg["id"] - ID0, msg["result"]["dropped"]
                    status[i] = 1 if seen["down"] is None else (2 if dropped else 3)
                    seen["acks"] += 1
            acks = Reader(pub, "t.none", on_other=on_reply)
            acks.start()
            w = Writer(pub, burst("t.burst", n, ids=True))
            w.start()
            self.assertTrue(wait_progress(lambda: seen["acks"] >= n // 4 or w.done, [acks, sub], [w]),
                            "the burst stalled before the cut: %d acks, B %s" % (seen["acks"], sub.summary()))
            net.block("a", "b")
            tb.wait_until("A to declare the link down", lambda: seen["down"] is not None, timeout=3 * WAIT)
            down_stats = tbr.link_stats(da, "to-b")
            # the rest of the burst is handled with no link to go to; then the link comes back
            self.assertTrue(wait_progress(lambda: seen["acks"] >= n, [acks], [w]),
                            "%d of %d publishes acknowledged (writer done: %s)" % (seen["acks"], n, w.done))
            net.unblock("a", "b")
            tb.links_up(da, 1)
            with da.connect() as after:
                after.publish("t.after")
            crossed = wait_progress(lambda: sub.finished, [sub])
            acks.stop()
            a_stats, b_stats = da.stats(), db.stats()
            a_link = tbr.link_stats(da, "to-b")
            routed = [i for i in range(n) if status[i] in (1, 2)]
            missing = sum(1 for i in routed if i not in sub.values)
            counted = a_stats["drops"] + b_stats["drops"]
            down = seen["down"]["data"]
            problems = []
            if not isinstance(down.get("lost"), int):
                problems.append("A's $bus.link down event: expected a number `lost`, got %s" % down)
            if not isinstance((down_stats or {}).get("lost"), int):
                problems.append("A's stats of the link while down: expected a number `lost`, got %s" % down_stats)
            if not isinstance((a_link or {}).get("lost"), int):
                problems.append("A's stats of the link up again: expected a number `lost`, got %s" % a_link)
            elif isinstance(down.get("lost"), int) and a_link["lost"] < down["lost"]:
                problems.append("A's link `lost` %d is below the down event's %d (it is cumulative)" % (
                    a_link["lost"], down["lost"]))
            elif a_stats["drops"] < a_link["lost"]:
                problems.append("A's drops %d do not include the link's lost %d" % (a_stats["drops"], a_link["lost"]))
            if missing > counted:
                problems.append("%d events had the link to go to, B received %d of them: %d missing, but only %d "
                                "counted (A's drops %d, B's %d; the link at the down event %s, now %s)" % (
                                    len(routed), len(routed) - missing, missing, counted, a_stats["drops"],
                                    b_stats["drops"], down, a_link))
            if sub.disorder:
                problems.append("B's subscriber got events twice or out of order: %s" % sub.summary())
            if not crossed:
                problems.append("after the link came back, a new event did not cross to B (%s)" % sub.summary())
            if problems:
                self.fail("a link cut mid-burst (%d publishes, %d acked before the down event):\n  %s" % (
                    n, status.count(1), "\n  ".join(problems)))


@unittest.skipUnless(os.geteuid() == 0, "needs root for network namespaces")
class ReloadWhileFlowing(tbr.StarBridge, unittest.TestCase):
    def test_sighup_removing_and_adding_a_link_loses_nothing_on_the_others(self):
        """A (dialling B and C, test_bridge_reload.py's star) publishes to B
        without pause: batches of 200 events, the last of each with an id
        (its ack waits for the batch). Meanwhile A's file drops the link to C
        (SIGHUP), then brings it back (SIGHUP): C's link goes and comes back
        (an event crosses to C again), and B's subscriber gets every event in
        order, with nothing dropped or lost on A's link to B nor in B, over
        the A-B connection made once (`connections` stays 1, both reloads log
        it `kept`). A's own drops are not checked: the flow went to C as well
        (C's link exports everything), and what was on to-c when it was
        removed may be counted there."""
        with netns.star("a", ["b", "c"]) as net:
            da, db, dc = self.start(net, with_c=True)
            sb, sc, pub = db.connect(), dc.connect(), da.connect()
            for c in (sb, sc, pub):
                self.addCleanup(c.close)
            sb.subscribe("flow.>")
            sub = Reader(sb, "flow.x")
            sub.start()
            sc.subscribe("t.>")
            state = {"stop": False, "sent": 0, "dropped": 0, "error": None}

            def publish():
                try:
                    while not state["stop"]:
                        k = state["sent"]
                        pub.send_bytes(publish_lines("flow.x", k, k + 199))
                        state["dropped"] += pub.publish("flow.x", k + 199)["dropped"]
                        state["sent"] = k + 200
                except (OSError, Closed) as e:
                    state["error"] = e
            t = threading.Thread(target=publish, daemon=True)
            t.start()
            self.addCleanup(state.__setitem__, "stop", True)

            def flowing(what):
                mark = sub.received
                self.assertTrue(wait_progress(lambda: sub.received >= mark + 2000, [sub]),
                                "the flow A->B stopped (%s): B %s, publisher %s" % (what, sub.summary(), state))
            flowing("before the reloads")
            self.reload(da, [self.to_b], "SIGHUP: bridge: link to-c removed")
            self.assertIsNone(tbr.link_stats(da, "to-c"))
            flowing("after removing to-c")
            self.reload(da, [self.to_b, self.to_c], "SIGHUP: bridge: link to-c added")
            tb.wait_until("the link to C back", lambda: tbr.up(da, "to-c"))
            tb.links_up(dc, 1)
            with da.connect() as other:
                self.assertTrue(tbr.crosses(other, sc, "t.c.back"))
            flowing("after adding to-c back")
            state["stop"] = True
            t.join(WAIT)
            self.assertFalse(t.is_alive(), "the publisher did not finish its batch")
            sent = state["sent"]
            got_all = wait_progress(lambda: sub.expect >= sent, [sub])
            sub.stop()
            to_b = tbr.link_stats(da, "to-b") or {}
            a_drops, b_drops = da.stats()["drops"], db.stats()["drops"]
            problems = []
            if state["error"]:
                problems.append("the publisher failed: %r" % state["error"])
            if not (got_all and sub.received == sent and sub.missing == 0 and sub.disorder == 0
                    and not sub.dropped_notices()):
                problems.append("B's subscriber: expected %d events in order, got %s" % (sent, sub.summary()))
            # A's drops and the acks may count events given up on to-c as it was removed: not checked
            if to_b.get("dropped") != 0 or to_b.get("lost", 0) != 0 or b_drops:
                problems.append("drops on the way to B: expected none, A's link to-b %s, B's drops %d (A's drops %d, "
                                "acks counted %d)" % (to_b, b_drops, a_drops, state["dropped"]))
            if to_b.get("connections") != 1 or to_b.get("state") != "up":
                problems.append("A's link to-b: expected up with connections 1, got %s" % to_b)
            if da.log().count("SIGHUP: bridge: link to-b kept") != 2:
                problems.append("expected two `SIGHUP: bridge: link to-b kept` lines in A's log")
            if problems:
                self.fail("SIGHUP removing and adding to-c while A->B flows:\n  %s" % "\n  ".join(problems))


if __name__ == "__main__":
    main()
