#!/usr/bin/env python3
"""Descriptor exhaustion (issue 5, docs/busd.md LIMITS): busd running with a
hard limit of 64 descriptors gets a flood of connects on both sockets. It
must stay up and keep serving the clients it has, not spin (its CPU time
while the flood waits in its accept queues stays far below the wall time),
log at a bounded rate (at most 20 lines a second), and serve new clients as
soon as descriptors free up. Figures go to docs/reliability.md.

The limit is set on the running daemon with prlimit(2): the same as
starting it under `prlimit --nofile=64:64`, after it raised its soft limit.
"""
import json
import math
import resource
import time
import unittest

from daemon_harness import DaemonTest, main
from test_reliability_common import (ASAN_ENV, WRAPPED, assert_back_to_idle, cpu_seconds, fd_count, raise_nofile,
                                     raw_connect, read_to_eof, readable, report, scaled, wait_until)

LIMIT = 64
FLOOD = 600   # connects, half on each socket: ten times what the daemon can hold
HOLD_S = 3.0  # the window over which CPU time is measured (a measurement, not a wait)
LOG_BURST = 20  # lines a second (docs/busd.md)


class DescriptorExhaustion(DaemonTest):
    busd_env = ASAN_ENV

    @unittest.skipIf(WRAPPED, "under $BUSD_WRAPPER the descriptors and limits are the wrapper's")
    def test_flood_of_connects_beyond_the_descriptor_limit(self):
        self.assertTrue(raise_nofile(FLOOD + 1000))
        watcher = self.connect(name="served throughout")
        watcher.subscribe("fds.>")
        self.daemon.ping()
        fds0 = fd_count(self.daemon.pid)
        resource.prlimit(self.daemon.pid, resource.RLIMIT_NOFILE, (LIMIT, LIMIT))
        log_before = len(self.daemon.log().splitlines())
        t0 = time.monotonic()
        flood = []
        for i in range(FLOOD):
            flood.append(raw_connect(self.daemon, seqpacket=i % 2 == 1))
        self.addCleanup(lambda: [s.close() for s in flood])
        # the connects sit in the sockets' accept queues: the daemon is out of descriptors
        self.assertTrue(wait_until(lambda: fd_count(self.daemon.pid) >= LIMIT - 2),
                        "busd has %d descriptors open" % fd_count(self.daemon.pid))
        cpu0, w0 = cpu_seconds(self.daemon.pid), time.monotonic()
        time.sleep(HOLD_S)
        cpu1, w1 = cpu_seconds(self.daemon.pid), time.monotonic()
        ratio = (cpu1 - cpu0) / (w1 - w0)
        # it still serves the clients it has
        self.assertAlive(watcher)
        other = self.daemon.admin()
        other.publish("fds.x", "still here")
        self.assertEqual(watcher.next_event()["data"], "still here")
        # stream connects it could not take were closed at once, without a
        # word (libuv accepts and closes them); seqpacket ones wait in the
        # kernel's queue, retried every 100 ms
        stream_closed = 0
        for s in flood[0::2]:
            if readable(s):
                s.settimeout(0)
                try:
                    self.assertEqual(s.recv(4096), b"")
                except ConnectionResetError:
                    pass
                stream_closed += 1
        self.assertGreater(stream_closed, 0)
        waiting_sock = flood.pop()  # the last seqpacket connect, still in the queue
        self.assertFalse(readable(waiting_sock))
        # then the flood goes away, and the daemon serves again: the waiting
        # connection too
        for s in flood:
            s.close()
        waiting_sock.sendall(b'{"type":"hello","id":1}')
        self.assertEqual(json.loads(waiting_sock.recv(70000))["type"], "welcome")
        waiting_sock.close()
        fresh = [self.connect(seqpacket=seq) for seq in (False, True)]
        for c in fresh:
            self.assertAlive(c)
        elapsed = time.monotonic() - t0
        lines = self.daemon.log().splitlines()[log_before:]
        accept_lines = [line for line in lines if "accept" in line]
        allowed = LOG_BURST * (math.ceil(elapsed) + 1) + 4
        report("fd exhaustion: hard limit %d, %d connects (half per socket): busd used %.3f s of CPU over %.1f s "
               "holding them (ratio %.3f), logged %d lines in %.1f s (%d about accept; allowed %d); %d stream "
               "connects closed at once, seqpacket ones waited and were served once descriptors freed up" %
               (LIMIT, FLOOD, cpu1 - cpu0, w1 - w0, ratio, len(lines), elapsed, len(accept_lines), allowed,
                stream_closed))
        self.assertLess(ratio, scaled(0.25, 0.5), "busd spins while out of descriptors")
        self.assertTrue(accept_lines, "busd never ran out of descriptors: the test did not test anything")
        self.assertLessEqual(len(lines), allowed, "busd's log is not rate-limited:\n" + "\n".join(lines[:50]))
        for c in fresh:
            c.close()
        watcher.close()
        assert_back_to_idle(self, self.daemon, fds_before=fds0 - 1)  # the watcher is gone


class LogRateUnderRefusals(DaemonTest):
    """Every connection refused for --max-connections is worth a log line:
    a flood of them must be cut down to LOG_BURST lines a second, the rest
    counted in a "(N log lines suppressed)" line."""
    MAX = 8
    busd_args = ("--max-connections", str(MAX))
    FLOOD_S = scaled(2.5, 3.5)

    def test_a_flood_of_refused_connections_is_logged_at_a_bounded_rate(self):
        self.daemon.ping()
        held = [self.connect() for _ in range(self.MAX - 1)]  # with the admin connection: the limit
        log_before = len(self.daemon.log().splitlines())
        refused = 0
        t0 = time.monotonic()
        while time.monotonic() - t0 < self.FLOOD_S:
            s = raw_connect(self.daemon, seqpacket=refused % 2 == 1)
            msgs = read_to_eof(s)
            s.close()
            self.assertEqual([m["code"] for m in msgs], ["limit"], msgs)
            refused += 1
        for c in held:
            self.assertAlive(c)
        elapsed = time.monotonic() - t0
        lines = self.daemon.log().splitlines()[log_before:]
        refusals = [line for line in lines if "refused a connection" in line]
        suppressed = sum(int(line.split("(")[1].split()[0]) for line in lines if "log lines suppressed" in line)
        allowed = LOG_BURST * (math.ceil(elapsed) + 1) + 4
        report("log rate: %d connections refused (max_connections %d) in %.1f s: %d lines logged (allowed %d), "
               "%d more counted as suppressed" % (refused, self.MAX, elapsed, len(lines), allowed, suppressed))
        self.assertGreater(refused, allowed, "the flood was too slow to test the limit")
        self.assertLessEqual(len(lines), allowed, "busd's log is not rate-limited")
        self.assertGreater(suppressed, 0, "no line says how many were suppressed")
        self.assertLessEqual(len(refusals) + suppressed, refused)


if __name__ == "__main__":
    main()
