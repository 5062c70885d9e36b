#!/usr/bin/env python3
"""Abuse of the real busd while another client is still served, over stream
and seqpacket. Each test sends one kind of bad input in rounds; between rounds
and afterwards a second, well-behaved client must get its ping answered. Where
the abuser's connection is meant to stay open, it must also get exactly one
error per bad message (nothing fails silently) and still be served itself."""
import random

from daemon_harness import DaemonTest, bind_transports, main

ROUNDS = 10


class _AbuseBase:
    def setUp(self):
        super().setUp()
        self.good = self.connect(name="well-behaved")
        self.good.subscribe("news.>")
        self.abuser = self.connect(name="abuser")

    def rounds(self, send_round, rounds=ROUNDS):
        """Calls send_round(i) for each round; the good client pings between."""
        for i in range(rounds):
            send_round(i)
            self.assertAlive(self.good)

    def expect_errors(self, n, code, accepted=0):
        """The abuser gets exactly n errors with this code, then its ping
        answer; the daemon read n + accepted messages from it, hello and ping."""
        ping = self.abuser.call_async("org.busd", "ping")
        codes = []
        while True:
            msg = self.abuser.next_of("error", "reply")
            if msg.get("id") == ping:
                break
            codes.append(msg.get("code"))
        self.assertEqual(len(codes), n)
        self.assertEqual(set(codes), {code})
        self.assertEqual(self.daemon.peer_stats(self.abuser.unique)["messages_in"], n + accepted + 2)

    def finish(self):
        """The good client is still served in full: a ping, and an event."""
        self.assertAlive(self.good)
        other = self.connect()
        self.assertEqual(other.publish("news.after", "still here")["delivered"], 1)
        self.assertEqual(self.good.next_event()["data"], "still here")


class _Abuse(_AbuseBase):
    def test_garbage(self):
        rng = random.Random(1)
        per_round = 200

        def send(i):
            for _ in range(per_round):
                junk = bytes(rng.choice(range(11, 256)) for _ in range(rng.randint(1, 200)))
                self.abuser.send_raw(b"#" + junk)

        self.rounds(send)
        self.expect_errors(ROUNDS * per_round, "parse_error")
        self.finish()

    def test_truncated_messages(self):
        msg = b'{"type":"call","id":1,"dest":"org.busd","method":"ping","params":{"a":[1,2,{"b":"c"}]}}'

        def send(i):
            for cut in range(1, len(msg)):
                self.abuser.send_raw(msg[:cut])

        self.rounds(send, rounds=3)
        self.expect_errors(3 * (len(msg) - 1), "parse_error")
        self.finish()

    def test_deep_nesting(self):
        depth = 30000 if self.seqpacket else 200000  # within max_message

        def send(i):
            self.abuser.send_raw(b"[" * depth + b"]" * (depth if i % 2 else 0))
            self.abuser.send_raw(b'{"type":"publish","topic":"news.x","data":' + b"{\"a\":" * (depth // 6) + b"1}")

        self.rounds(send)
        self.expect_errors(2 * ROUNDS, "parse_error")
        self.finish()

    def test_invalid_utf8(self):
        bad = [b"\xff", b"\xc3", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe2\x82", b"\x80\x80"]

        def send(i):
            for b in bad:
                self.abuser.send_raw(b'{"type":"publish","topic":"news.utf8","data":"ok' + b + b'ok"}')

        self.rounds(send)
        self.expect_errors(ROUNDS * len(bad), "parse_error")
        self.good.ping()
        self.assertEqual(self.good.backlog, [], "an event with invalid UTF-8 was relayed")
        self.finish()

    def test_wrong_types(self):
        values = [b"null", b"true", b"-1", b"1.5", b'"bad value!"', b"[]", b"{}", b'[{"x":1}]']
        templates = [b'{"type":"call","id":%s,"dest":"org.busd","method":"ping"}',
                     b'{"type":"call","id":7,"dest":%s,"method":"ping"}',
                     b'{"type":"publish","topic":%s}',
                     b'{"type":"subscribe","pattern":%s}',
                     b'{"type":"request_name","name":"a.b","queue":%s}']

        def send(i):
            for t in templates:
                for v in values:
                    if t.startswith(b'{"type":"request_name"') and v in (b"true",):
                        continue  # a correct type
                    self.abuser.send_raw(t % v)

        self.rounds(send, rounds=3)
        self.expect_errors(3 * (len(templates) * len(values) - 1), "invalid_message")
        self.finish()

    def test_forged_identity(self):
        forged = [b'{"type":"publish","topic":"news.forged","sender":"org.busd"}',
                  b'{"type":"publish","topic":"news.forged","creds":{"uid":0,"gid":0,"pid":1}}',
                  b'{"type":"publish","topic":"news.forged","sender":":1","creds":{"uid":0,"gid":0,"pid":1}}',
                  b'{"type":"call","id":3,"dest":"org.busd","method":"ping","sender":":999"}']

        def send(i):
            for f in forged:
                self.abuser.send_raw(f)

        self.rounds(send)
        self.expect_errors(ROUNDS * len(forged), "forged_identity")
        self.good.ping()
        self.assertEqual(self.good.backlog, [], "a forged event was relayed")
        # the abuser's real identity is what receivers see
        self.abuser.publish("news.real", 1)
        self.assertEqual(self.good.next_event()["sender"], self.abuser.unique)
        self.finish()

    def test_thousands_of_requests_without_reading_replies(self):
        n = 500

        def send(i):
            for k in range(n):
                self.abuser.send({"type": "call", "id": i * n + k, "dest": "org.busd", "method": "ping"})

        self.rounds(send)
        ids = set()
        while len(ids) < ROUNDS * n:
            msg = self.abuser.recv()
            self.assertEqual(msg["type"], "reply")
            ids.add(msg["id"])
        self.assertEqual(ids, set(range(ROUNDS * n)))
        self.finish()

    def test_line_over_the_limit_closes_only_the_abuser(self):
        limit = self.abuser.welcome["limits"]["max_message"]
        if self.seqpacket:
            self.abuser.send_raw(b"[" + b" " * limit + b"]")
        else:
            line = b'{"type":"publish","topic":"news.big","data":"' + b"x" * limit  # no line feed
            step = 65536
            self.rounds(lambda i: self.abuser.send_bytes(line[i * step:(i + 1) * step]),
                        rounds=(len(line) + step - 1) // step)
        self.assertEqual(self.abuser.recv()["code"], "too_large")
        self.assertEqual(self.abuser.read_until_closed(), [])
        self.good.ping()
        self.assertEqual(self.good.backlog, [], "part of the oversized line was relayed")
        self.finish()



class StreamAbuse(_AbuseBase, DaemonTest):
    """Abuse of stream framing (seqpacket has no partial messages)."""

    def test_partial_line_then_disconnect(self):
        partial = b'{"type":"publish","topic":"news.partial","data":[' + b"1," * 100
        self.rounds(lambda i: self.abuser.send_bytes(partial))
        self.abuser.close()
        self.daemon.ping()
        self.assertEqual(self.good.backlog, [])
        self.finish()

    def test_many_lines_in_one_write_with_garbage_between(self):
        good_line = b'{"type":"publish","topic":"news.batch","data":1}\n'
        batch = (good_line + b"garbage\n" + b"\n" + b"  \t \r\n") * 1000
        self.rounds(lambda i: self.abuser.send_bytes(batch), rounds=3)
        self.expect_errors(3000, "parse_error", accepted=3000)
        for _ in range(3000):
            self.assertEqual(self.good.next_event()["topic"], "news.batch")
        self.finish()


bind_transports(globals(), _Abuse)

if __name__ == "__main__":
    main()
