#!/usr/bin/env python3
"""Scale (issue 5): 10,000 concurrent clients, half on stream and half on
seqpacket, each subscribed, all connected at once and all receiving one
published event. busd is started with a soft descriptor limit of 1024 and
must raise it to its hard limit by itself. The idle memory per client is
measured from busd's RSS and reported (goal: at most 2 KiB per idle
connection; only a generous bound is asserted). Figures go to
docs/reliability.md.
"""
import resource
import unittest

from daemon_harness import DaemonTest, main
from test_reliability_common import (ASAN_ENV, WRAPPED, assert_back_to_idle, fd_count, nofile_limits, raise_nofile,
                                     report, scaled)
from pyclient import Client

WAVE = 500  # clients connected before their answers are read (max_handshakes is 1024)
WARM = 200  # clients connected before the memory baseline


class TenThousandClients(DaemonTest):
    busd_env = ASAN_ENV
    N = 10000

    def setUp(self):
        if not raise_nofile(self.N + 2000):
            self.skipTest("cannot open %d descriptors here" % (self.N + 2000))
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        # busd inherits a soft limit of 1024: it must raise its own
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))
        try:
            super().setUp()
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    def connect_wave(self, count, first):
        """count clients, alternating transports, each sending hello and a
        subscription at once; returns them once every answer is checked."""
        wave = []
        for k in range(first, first + count):
            c = Client(self.daemon.addr(seqpacket=k % 2 == 1))
            c.send({"type": "hello", "id": 1})
            c.send({"type": "subscribe", "id": 2, "pattern": "scale.>"})
            wave.append(c)
        for c in wave:
            w = c.recv()
            self.assertEqual((w["type"], w["id"]), ("welcome", 1), w)
            c.unique = w["unique"]
            r = c.recv()
            self.assertEqual(r, {"type": "reply", "id": 2, "result": {"pattern": "scale.>", "lossy": False}, "sender": "org.busd"})
        return wave

    @unittest.skipIf(WRAPPED, "under $BUSD_WRAPPER the descriptor limit and the RSS are the wrapper's")
    def test_ten_thousand_subscribed_clients_all_receive_an_event(self):
        n = self.N
        soft, hard = nofile_limits(self.daemon.pid)
        self.assertEqual(soft, hard, "busd did not raise its descriptor limit")
        self.assertGreater(soft, n + 100)
        self.daemon.ping()
        fds0 = fd_count(self.daemon.pid)
        clients = []
        self.addCleanup(lambda: [c.close() for c in clients])
        clients += self.connect_wave(WARM, 0)
        self.daemon.ping()
        rss0 = self.daemon.rss_kib()
        while len(clients) < n:
            clients += self.connect_wave(min(WAVE, n - len(clients)), len(clients))
        self.daemon.ping()
        rss1 = self.daemon.rss_kib()
        per_client = (rss1 - rss0) * 1024 / (n - WARM)
        self.assertEqual(fd_count(self.daemon.pid), fds0 + n)
        self.assertEqual(len({c.unique for c in clients}), n)

        pub = self.connect(name="publisher")
        self.assertEqual(pub.publish("scale.all", {"to": "everyone"}), {"delivered": n, "dropped": 0})
        for c in clients:
            ev = c.recv()
            self.assertEqual((ev["type"], ev["topic"], ev["data"]), ("event", "scale.all", {"to": "everyone"}))
        self.assertAlive(pub)

        # `stats` stays usable at any scale: it counts every connection but lists
        # at most 256, the fullest queues first
        st = self.daemon.stats()
        self.assertEqual(st["connections"], n + 2)  # the clients, the publisher, the admin connection
        self.assertEqual(st["peers_total"], n + 2)
        self.assertEqual(len(st["peers"]), 256)
        queued = [p["queue_bytes"] for p in st["peers"]]
        self.assertEqual(queued, sorted(queued, reverse=True))
        stats_note = "stats answered (%d connections, 256 listed)" % st["peers_total"]
        stream = sum(1 for k in range(n) if k % 2 == 0)
        report("scale: %d clients (%d stream, %d seqpacket), each subscribed, one event delivered to all; busd "
               "raised its descriptor limit from 1024 to %d; RSS %d KiB with %d clients, %d KiB with %d: %.0f bytes "
               "per idle subscribed client (goal 2048); %s" %
               (n, stream, n - stream, soft, rss0, WARM, rss1, n, per_client, stats_note))
        self.assertLess(per_client, scaled(8192, 65536), "busd uses %.0f bytes per idle client" % per_client)
        for c in clients:
            c.close()
        pub.close()
        assert_back_to_idle(self, self.daemon, fds_before=fds0)


if __name__ == "__main__":
    main()
