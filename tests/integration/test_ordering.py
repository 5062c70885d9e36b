#!/usr/bin/env python3
"""Ordering (docs/protocol.md §4.4): messages from one sender are delivered to
each receiver in the order they were sent -- events, calls, one-way calls,
replies, and all of them interleaved -- over stream and seqpacket. The volumes
stay well below the default queue, so nothing may be dropped either."""
from daemon_harness import bind_transports, main

N = 3000


class _Ordering:
    def test_events_from_one_sender_arrive_in_order_at_every_subscriber(self):
        subs = [self.connect(), self.connect(seqpacket=not self.seqpacket)]
        for s in subs:
            s.subscribe("seq.>")
        pub = self.connect()
        for i in range(N):
            pub.publish("seq.%d" % (i % 7), i, ack=False)
        pub.ping()
        for s in subs:
            self.assertEqual([s.next_event()["data"] for _ in range(N)], list(range(N)))
        self.assertEqual(self.daemon.stats()["drops"], 0)

    def test_events_from_several_senders_keep_each_senders_order(self):
        sub = self.connect()
        sub.subscribe("multi")
        pubs = [self.connect() for _ in range(3)]
        for i in range(N // 3):
            for p in pubs:
                p.publish("multi", i, ack=False)
        last = {p.unique: -1 for p in pubs}
        for _ in range(N // 3 * 3):
            ev = sub.next_event()
            self.assertEqual(ev["data"], last[ev["sender"]] + 1, "out of order from %s" % ev["sender"])
            last[ev["sender"]] = ev["data"]
        self.assertEqual(set(last.values()), {N // 3 - 1})

    def test_calls_and_replies_keep_their_order(self):
        svc = self.connect(names=["org.example.Order"])
        c = self.connect()
        batch = 200  # below max_pending_calls
        ids = [c.call_async("org.example.Order", "m", i) for i in range(batch)]
        calls = [svc.next_call() for _ in range(batch)]
        self.assertEqual([call["params"] for call in calls], list(range(batch)))
        for call in calls:
            svc.reply(call, call["params"])
        answers = [c.next_of("reply") for _ in range(batch)]
        self.assertEqual([a["id"] for a in answers], ids)
        self.assertEqual([a["result"] for a in answers], list(range(batch)))

    def test_oneway_calls_arrive_in_order(self):
        svc = self.connect(names=["org.example.Fire"])
        c = self.connect()
        for i in range(N):
            c.call_async("org.example.Fire", "m", i, oneway=True)
        self.assertEqual([svc.next_call()["params"] for _ in range(N)], list(range(N)))

    def test_events_and_calls_interleaved_keep_the_senders_order(self):
        rcv = self.connect(names=["org.example.Both"])
        rcv.subscribe("both")
        snd = self.connect()
        sent = []
        for i in range(N):
            if i % 3 == 0:
                snd.call_async("org.example.Both", "m", i, oneway=True)
                sent.append(("call", i))
            else:
                snd.publish("both", i, ack=False)
                sent.append(("event", i))
        got = []
        for _ in range(N):
            msg = rcv.recv()
            got.append((msg["type"], msg["params"] if msg["type"] == "call" else msg["data"]))
        self.assertEqual(got, sent)


bind_transports(globals(), _Ordering)

if __name__ == "__main__":
    main()
