#!/usr/bin/env python3
"""Ordering (docs/protocol.md §4.4): messages from one sender are delivered to
each receiver in the order they were sent -- events, calls, one-way calls,
replies, and all of them interleaved -- over stream and seqpacket. The volumes
stay well below the default queue, so nothing may be dropped either.

The clients are the Python package's (python/src/busd, docs/python.md): its
dispatch hands messages over in arrival order, so what these tests see is
the daemon's order. The reply-order test reads raw answers with pyclient.py,
which shows each answer's id as it arrives."""
import os
import sys

from daemon_harness import WAIT, DaemonTest, bind_transports, main

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python", "src"))
import busd  # noqa: E402

N = 3000


class _Ordering:
    def bus(self, seqpacket=None):
        b = busd.connect(self.daemon.addr(self.seqpacket if seqpacket is None else seqpacket), timeout=WAIT)
        self.addCleanup(b.close)
        return b

    def test_events_from_one_sender_arrive_in_order_at_every_subscriber(self):
        subs = [self.bus().subscribe("seq.>"), self.bus(seqpacket=not self.seqpacket).subscribe("seq.>")]
        pub = self.bus()
        for i in range(N):
            pub.publish("seq.%d" % (i % 7), i, ack=False)
        pub.ping()
        for s in subs:
            self.assertEqual([s.get(WAIT).data for _ in range(N)], list(range(N)))
        self.assertEqual(pub.stats()["drops"], 0)

    def test_events_from_several_senders_keep_each_senders_order(self):
        sub = self.bus().subscribe("multi")
        pubs = [self.bus() for _ in range(3)]
        for i in range(N // 3):
            for p in pubs:
                p.publish("multi", i, ack=False)
        last = {p.unique: -1 for p in pubs}
        for _ in range(N // 3 * 3):
            ev = sub.get(WAIT)
            self.assertEqual(ev.data, last[ev.sender] + 1, "out of order from %s" % ev.sender)
            last[ev.sender] = ev.data
        self.assertEqual(set(last.values()), {N // 3 - 1})

    def test_calls_and_replies_keep_their_order(self):
        svc = self.bus()
        svc.request_name("org.example.Order")
        calls = []
        svc.add_method("m", lambda call: calls.append(call.defer()))
        c = self.connect()  # pyclient: the answers' ids as they arrive
        batch = 200  # below max_pending_calls
        ids = [c.call_async("org.example.Order", "m", i) for i in range(batch)]
        while len(calls) < batch:
            svc.process(WAIT)
        self.assertEqual([call.params for call in calls], list(range(batch)))
        for call in calls:
            call.reply(call.params)
        answers = [c.next_of("reply") for _ in range(batch)]
        self.assertEqual([a["id"] for a in answers], ids)
        self.assertEqual([a["result"] for a in answers], list(range(batch)))

    def test_oneway_calls_arrive_in_order(self):
        svc = self.bus()
        svc.request_name("org.example.Fire")
        got = []
        svc.add_method("m", lambda call: got.append(call.params))
        c = self.bus()
        for i in range(N):
            c.call_oneway("org.example.Fire", "m", i)
        while len(got) < N:
            svc.process(WAIT)
        self.assertEqual(got, list(range(N)))

    def test_events_and_calls_interleaved_keep_the_senders_order(self):
        rcv = self.bus()
        rcv.request_name("org.example.Both")
        got = []
        rcv.add_method("m", lambda call: got.append(("call", call.params)))
        rcv.subscribe("both", lambda ev: got.append(("event", ev.data)))
        snd = self.bus()
        sent = []
        for i in range(N):
            if i % 3 == 0:
                snd.call_oneway("org.example.Both", "m", i)
                sent.append(("call", i))
            else:
                snd.publish("both", i, ack=False)
                sent.append(("event", i))
        while len(got) < N:
            rcv.process(WAIT)
        self.assertEqual(got, sent)


bind_transports(globals(), _Ordering)

if __name__ == "__main__":
    main()
