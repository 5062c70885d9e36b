#!/usr/bin/env python3
"""A connect storm (issue 16): thousands of clients that connect and send
their hello at once must ALL be welcomed, on each transport. max_handshakes
(docs/protocol.md §3) is there so that silent connections cannot keep a
client out; it must not turn away clients whose hello is already waiting in
their socket because the daemon accepted faster than it read.

And the guarantee it exists for still holds: max_handshakes silent
connections do not keep a client that says hello out.

The tests run as whoever runs them: as root no per-uid quota applies
(docs/policy.md), so only the daemon's own limits are tested.
"""
import json
import resource
import select
import socket
import struct
import time

from daemon_harness import WAIT, Child, DaemonTest, bind_transports, main
from test_reliability_common import (ASAN_ENV, WRAPPED, assert_back_to_idle, raise_nofile, raw_connect, report,
                                     scaled)

HELLO = b'{"type":"hello","id":1}'


def storm(path, seqpacket, n, timeout, workers=4):
    """n clients in `workers` processes connect to path and send their hello
    at once (each right after its connect, before any answer is read); then
    every answer is read. Returns ({first message type or error code:
    count}, seconds)."""
    t0 = time.monotonic()
    children = [Child(lambda report, k: report(json.dumps(storm_one(path, seqpacket, k, timeout))),
                      n // workers + (1 if i < n % workers else 0)) for i in range(workers)]
    outcome = {}
    try:
        for ch in children:
            line = ch.readline(timeout=timeout * 2)
            if not line:
                raise AssertionError("a storm worker died: status %s" % ch.wait())
            for k, v in json.loads(line).items():
                outcome[k] = outcome.get(k, 0) + v
            ch.wait()
    finally:
        for ch in children:
            ch.kill()
    return outcome, time.monotonic() - t0


def storm_one(path, seqpacket, n, timeout):
    """One worker of storm(): its n clients. Returns its outcome."""
    kind = socket.SOCK_SEQPACKET if seqpacket else socket.SOCK_STREAM
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_UNIX, kind)
            socks.append(s)
            # blocking (a non-blocking AF_UNIX connect fails with EAGAIN while
            # the daemon's accept queue is full), bounded by SO_SNDTIMEO
            s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", int(timeout), 0))
            s.connect(path)
            s.settimeout(timeout)
            try:
                s.sendall(HELLO if seqpacket else HELLO + b"\n")
            except (BrokenPipeError, ConnectionResetError):
                pass  # refused already: its reason is still there to read
        outcome = {}
        p = select.poll()
        by_fd = {s.fileno(): s for s in socks}
        bufs = {fd: b"" for fd in by_fd}
        for fd in by_fd:
            p.register(fd, select.POLLIN)
        deadline = time.monotonic() + timeout
        while by_fd and time.monotonic() < deadline:
            for fd, _ in p.poll(1000):
                s = by_fd[fd]
                try:
                    data = s.recv(70000)
                except ConnectionResetError:
                    continue  # seqpacket: a reset comes before the daemon's last packet
                if data:
                    bufs[fd] += data
                    if not seqpacket and b"\n" not in bufs[fd]:
                        continue
                    msg = json.loads(bufs[fd].split(b"\n")[0])
                    key = msg["type"] if msg["type"] != "error" else msg["code"]
                else:
                    key = "closed without a word"
                outcome[key] = outcome.get(key, 0) + 1
                p.unregister(fd)
                del by_fd[fd]
        if by_fd:
            outcome["no answer"] = len(by_fd)
        return outcome
    finally:
        for s in socks:
            s.close()


class _Storm:
    busd_env = ASAN_ENV

    def run_storm(self, n):
        if WRAPPED:
            self.skipTest("a storm of %d clients against a busd under $BUSD_WRAPPER takes too long" % n)
        if not raise_nofile(n + 1000):
            self.skipTest("cannot open %d descriptors here" % n)
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard != resource.RLIM_INFINITY and hard < n + 100:
            self.skipTest("busd's hard descriptor limit (%d) is below %d" % (hard, n + 100))
        self.daemon.ping()
        path = self.daemon.seq_path if self.seqpacket else self.daemon.stream_path
        outcome, took = storm(path, self.seqpacket, n, timeout=WAIT * 3)
        report("connect storm (%s): %d clients connected and sent hello at once in %.1f s: %r" %
               (self.transport, n, took, outcome))
        self.assertEqual(outcome, {"welcome": n}, "not every client of the storm was welcomed")
        self.assertAlive(self.connect())
        assert_back_to_idle(self, self.daemon, connections=2)

    def test_3000_clients_connecting_at_once_are_all_welcomed(self):
        self.run_storm(scaled(3000, 1000))

    def test_10000_clients_connecting_at_once_are_all_welcomed(self):
        self.run_storm(scaled(10000, 3000))


bind_transports(globals(), _Storm)


class SilentConnectionsStillCannotKeepAClientOut(DaemonTest):
    MAX = 200
    busd_args = ("--max-handshakes", str(MAX), "--hello-timeout", "3600000")

    def test_max_handshakes_silent_connections_do_not_keep_a_client_out(self):
        self.assertTrue(raise_nofile(4 * self.MAX + 1000))
        self.daemon.ping()
        for seq in (False, True):
            silent = [raw_connect(self.daemon, seqpacket=i % 2 == 1) for i in range(2 * self.MAX)]
            for s in silent:
                self.addCleanup(s.close)
            c = self.connect(seqpacket=seq)  # hello
            self.assertAlive(c)
            c.close()
            # and a storm-sized burst of good clients behind them is still served
            outcome, _ = storm(self.daemon.seq_path if seq else self.daemon.stream_path, seq, self.MAX // 2, WAIT)
            self.assertEqual(outcome, {"welcome": self.MAX // 2})
            for s in silent:
                s.close()


if __name__ == "__main__":
    main()
