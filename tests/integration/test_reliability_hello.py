#!/usr/bin/env python3
"""Connections that never say hello (docs/protocol.md §3, docs/guarantees.md):

- at most --max-handshakes connections may wait to say hello; each new one
  evicts the oldest once it has been silent for the handshake grace (1 s:
  the newcomer waits in the accept queue until then), which is told `limit`
  and closed, so thousands of silent
  connections cannot keep a real client out, and the daemon's memory stays
  bounded by that cap even when each silent connection sent a 60 KiB partial
  line (the daemon holds what was sent, never what a message might become);
- a connection that does not say hello within --hello-timeout is told
  `hello_timeout` and closed, whatever it sent meanwhile;
- before hello a message may have 64 KiB, after hello the transport's
  max_message.

The figures go to docs/reliability.md.
"""

from daemon_harness import WAIT, DaemonTest, bind_transports, main
from test_reliability_common import (ASAN_ENV, assert_back_to_idle, raise_nofile, raw_connect, read_to_eof,
                                     readable, report, scaled, wait_until)

PARTIAL = b'{"type":"hello","name":"' + b"x" * (60 * 1024)  # never finished


class SilentConnectionsAreCapped(DaemonTest):
    MAX = 100
    # a hello timeout far beyond the test: only the cap closes connections here
    busd_args = ("--max-handshakes", str(MAX), "--hello-timeout", "3600000")
    busd_env = ASAN_ENV

    def test_thousands_of_silent_connections_evict_the_oldest_and_memory_stays_bounded(self):
        n = 3000
        self.assertTrue(raise_nofile(n + 1000), "cannot open %d descriptors" % n)
        self.daemon.ping()
        warm = self.connect(seqpacket=False)
        warm.ping()
        rss0 = self.daemon.rss_kib()
        total0 = self.daemon.stats()["connections_total"]
        silent, legit, partials = [], 0, 0
        for i in range(n):
            seq = i % 2 == 1
            s = raw_connect(self.daemon, seq)
            self.addCleanup(s.close)
            if not seq and i % 4 == 0:
                s.sendall(PARTIAL)  # 60 KiB of a line that never ends
                partials += 1
            silent.append(s)
            if i % 250 == 124:  # a real client gets in meanwhile, on either transport
                # once the daemon has accepted the silent ones before it: a
                # client is evicted only if max_handshakes newer connections
                # come before its hello
                self.assertTrue(wait_until(lambda: self.daemon.stats()["connections_total"] >= total0 + i + 1 + legit))
                c = self.connect(seqpacket=(i // 250) % 2 == 1)
                self.assertAlive(c)
                c.close()
                legit += 1
        # every connection but the newest MAX is evicted, oldest first: the
        # daemon accepts the two sockets' connections in its own order, so
        # "oldest" is exact up to a small window around the boundary
        window = 40
        evicted = set()
        for i in range(n - self.MAX - window):
            msgs = read_to_eof(silent[i])
            self.assertEqual(len(msgs), 1, msgs)
            self.assertError(msgs[0], "limit", contains="max_handshakes")
            evicted.add(i)
        rest = range(n - self.MAX - window, n)

        def all_evicted():
            for i in rest:
                if i not in evicted and readable(silent[i]):
                    msgs = read_to_eof(silent[i])
                    self.assertEqual([m["code"] for m in msgs], ["limit"])
                    evicted.add(i)
            return len(evicted) >= n - self.MAX

        self.assertTrue(wait_until(all_evicted), "%d evicted, expected %d" % (len(evicted), n - self.MAX))
        rss1 = self.daemon.rss_kib()
        survivors = [i for i in range(n) if i not in evicted]
        self.assertEqual(len(survivors), self.MAX)
        self.assertGreaterEqual(min(survivors), n - self.MAX - window, "a newer connection was evicted first")
        for i in survivors:
            self.assertFalse(readable(silent[i]), "connection %d was told something or closed" % i)
        st = self.daemon.stats()
        self.assertEqual(st["connections"], 1 + self.MAX + 1)  # admin, silent ones, warm
        # memory: what the surviving connections hold (at most 64 KiB each),
        # not what thousands of partial lines would add up to
        bound_kib = self.MAX * 64 * 2 + 8 * 1024
        self.assertLess(rss1 - rss0, bound_kib, "busd grew by %d KiB holding %d silent connections" %
                        (rss1 - rss0, self.MAX))
        report("hello cap: %d silent connections (%d with a 60 KiB partial line), max_handshakes %d: %d evicted "
               "with `limit`, %d legitimate clients served meanwhile, busd RSS %+d KiB (bound %d KiB; "
               "unbounded it would hold %d KiB of partial lines)" %
               (n, partials, self.MAX, len(evicted), legit, rss1 - rss0, bound_kib, partials * 60))
        # still serving
        late = self.connect(seqpacket=True)
        self.assertAlive(late)
        late.close()
        for i in survivors:
            silent[i].close()
        warm.close()
        assert_back_to_idle(self, self.daemon)


class SilentConnectionsTimeOut(DaemonTest):
    TIMEOUT_MS = 1000
    busd_args = ("--hello-timeout", str(TIMEOUT_MS))

    def test_connections_without_hello_are_told_hello_timeout_then_closed(self):
        k = scaled(400, 200)
        self.assertTrue(raise_nofile(k + 1000))
        legit = self.connect()  # said hello at once: never timed out
        socks = []
        for i in range(k):
            seq = i % 2 == 1
            s = raw_connect(self.daemon, seq)
            self.addCleanup(s.close)
            kind = i % 5
            expect = []
            if kind == 1:  # something valid but not hello
                s.sendall(b'{"type":"call","id":7,"dest":"org.busd","method":"ping"}' + (b"" if seq else b"\n"))
                expect = ["hello_required"]
            elif kind == 2:  # garbage
                s.sendall(b"#garbage" + (b"" if seq else b"\n"))
                expect = ["parse_error"]
            elif kind == 3:  # an invalid hello: still before hello
                s.sendall(b'{"type":"hello","name":5}' + (b"" if seq else b"\n"))
                expect = ["invalid_message"]
            elif kind == 4 and not seq:  # a line that never ends
                s.sendall(PARTIAL)
            socks.append((s, expect))
        for s, expect in socks:
            msgs = read_to_eof(s, timeout=WAIT + self.TIMEOUT_MS / 1000)
            self.assertEqual([m["code"] for m in msgs], expect + ["hello_timeout"], msgs)
            self.assertError(msgs[-1], "hello_timeout", contains="hello_timeout")
        self.assertAlive(legit)
        report("hello timeout: %d connections without hello (silent, partial line, garbage, valid non-hello, "
               "invalid hello) each told `hello_timeout` then closed; a client that said hello stayed" % k)
        legit.close()
        assert_back_to_idle(self, self.daemon)


class _MessageSizeBeforeHello:
    @staticmethod
    def publish_of(size, id=1):
        head = b'{"type":"publish","id":%d,"topic":"size.x","data":"' % id
        return head + b"x" * (size - len(head) - 2) + b'"}'

    def test_64_kib_message_before_hello_is_read_and_one_byte_more_closes(self):
        c = self.connect(hello=False)
        c.send_raw(self.publish_of(65536))
        self.assertError(c.recv(), "hello_required", id=1)
        c.send_raw(self.publish_of(65537))
        self.assertError(c.recv(), "too_large", contains="before hello")
        self.assertEqual(c.read_until_closed(), [])
        self.assertAlive(self.connect())

    def test_after_hello_the_transport_limit_applies(self):
        c = self.connect()
        limit = c.welcome["limits"]["max_message"]
        size = min(limit, 65537 + 1000)
        c.send_raw(self.publish_of(size, id=2))
        self.assertEqual(c.result(2), {"delivered": 0, "dropped": 0})


bind_transports(globals(), _MessageSizeBeforeHello)

if __name__ == "__main__":
    main()
