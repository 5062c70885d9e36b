#!/usr/bin/env python3
"""busd under systemd (docs/busd.md, SYSTEMD): socket activation and the
notify protocol, against the real daemon.

- Socket activation for real with systemd-socket-activate (Debian's systemd
  package), one test per socket type and one with both (two of them chained,
  each naming its socket); and through a launcher that passes both sockets
  exactly as systemd does (LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES), for the
  cases the tool cannot make: a wrong name, a wrong type, a socket that does
  not listen, a descriptor that is no socket.
- Sockets received from systemd are not unlinked at exit; no lock files.
- Type=notify: READY=1 once serving, STATUS= with live figures, WATCHDOG=1
  at half of WATCHDOG_USEC when WATCHDOG_PID is busd's (or unset), STOPPING=1
  on SIGTERM and SIGINT, RELOADING=1 then READY=1 around a SIGHUP reload;
  all received on a real NOTIFY_SOCKET datagram socket made by the test.
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from daemon_harness import BUSD, WAIT, Client, Daemon, _die_with_parent, main, sanitizer_report
from notify_harness import NotifySocket, activate, listening_socket

SOCKET_ACTIVATE = shutil.which("systemd-socket-activate")


class Dir:
    """A private directory with a NOTIFY_SOCKET in it, and busd's log."""

    def __init__(self, test):
        self.path = tempfile.mkdtemp(prefix="busd-sd-")
        self.notify = NotifySocket(self.path)
        self.log_path = os.path.join(self.path, "busd.log")
        self.log_file = open(self.log_path, "wb")
        test.addCleanup(self.cleanup)
        self.proc = None

    def join(self, name):
        return os.path.join(self.path, name)

    def log(self):
        with open(self.log_path, "r", errors="replace") as f:
            return f.read()

    def wait(self, proc=None):
        """Waits for busd to exit by itself; returns its status."""
        return (proc or self.proc).wait(WAIT)

    def stop(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)
        return self.wait()

    def cleanup(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log_file.close()
        report = sanitizer_report(self.log())
        self.notify.close()
        shutil.rmtree(self.path, ignore_errors=True)
        if report:
            raise AssertionError("sanitizer report in busd's log:\n" + report)


def pings(address):
    with Client(address) as c:
        c.hello()
        return c.ping()["server"].startswith("busd ")


# ---- socket activation -----------------------------------------------------------


class Activation(unittest.TestCase):
    def start(self, socks, names, args=(), extra_env=None):
        d = Dir(self)
        env = d.notify.env(**(extra_env or {}))
        d.proc = activate(socks, names, args=args, env=env, log=d.log_file)
        return d

    def both(self, d):
        st = listening_socket(d.join("bus"))
        sq = listening_socket(d.join("bus.seq"), socket.SOCK_SEQPACKET)
        self.addCleanup(st.close)
        self.addCleanup(sq.close)
        return st, sq

    def test_both_sockets_passed_serve_and_stay_at_exit(self):
        d = Dir(self)
        st, sq = self.both(d)
        d.proc = activate([st, sq], "stream:seqpacket", env=d.notify.env(), log=d.log_file)
        ready = d.notify.wait_for("READY", "1")
        self.assertIn("STATUS", ready)
        self.assertTrue(pings("unix:" + d.join("bus")))
        self.assertTrue(pings("seqpacket:" + d.join("bus.seq")))
        log = d.log()
        self.assertIn("serving unix:%s (max_message 1048576, from systemd)" % d.join("bus"), log)
        self.assertIn("serving seqpacket:%s (max_message" % d.join("bus.seq"), log)
        self.assertIn("from systemd)", log.split("seqpacket:")[1])
        self.assertEqual(d.stop(), 0)
        d.notify.wait_for("STOPPING", "1")
        # systemd owns them: not unlinked, no lock files taken
        self.assertTrue(os.path.exists(d.join("bus")))
        self.assertTrue(os.path.exists(d.join("bus.seq")))
        self.assertFalse(os.path.exists(d.join("bus.lock")))
        self.assertFalse(os.path.exists(d.join("bus.seq.lock")))

    def test_names_decide_not_the_order(self):
        d = Dir(self)
        st, sq = self.both(d)
        d.proc = activate([sq, st], "seqpacket:stream", env=d.notify.env(), log=d.log_file)
        d.notify.wait_for("READY", "1")
        self.assertTrue(pings("unix:" + d.join("bus")))
        self.assertTrue(pings("seqpacket:" + d.join("bus.seq")))
        self.assertEqual(d.stop(), 0)

    def test_listen_options_are_ignored_when_activated(self):
        d = Dir(self)
        st, sq = self.both(d)
        d.proc = activate([st, sq], "stream:seqpacket", args=["--listen", "unix:" + d.join("other")],
                          env=d.notify.env(), log=d.log_file)
        d.notify.wait_for("READY", "1")
        self.assertTrue(pings("unix:" + d.join("bus")))
        self.assertFalse(os.path.exists(d.join("other")))
        self.assertIn("--listen is ignored: the sockets come from systemd", d.log())
        self.assertEqual(d.stop(), 0)

    def test_fds_for_another_process_are_ignored(self):
        # LISTEN_PID names someone else: busd binds its own sockets (the fallback)
        d = Dir(self)
        st, sq = self.both(d)
        args = ["--listen", "unix:" + d.join("own"), "--listen", "seqpacket:" + d.join("own.seq")]
        d.proc = activate([st, sq], "stream:seqpacket", args=args, env=d.notify.env(TEST_LISTEN_PID="1"),
                          log=d.log_file)
        d.notify.wait_for("READY", "1")
        self.assertTrue(pings("unix:" + d.join("own")))
        self.assertTrue(pings("seqpacket:" + d.join("own.seq")))
        self.assertNotIn("from systemd", d.log())
        self.assertEqual(d.stop(), 0)
        # bound by busd itself: removed at exit, as always
        self.assertFalse(os.path.exists(d.join("own")))
        self.assertFalse(os.path.exists(d.join("own.seq")))

    def refused(self, socks, names, *expect):
        d = Dir(self)
        d.proc = activate(socks, names, env=d.notify.env(), log=d.log_file)
        self.assertEqual(d.wait(), 1)
        log = d.log()
        for text in expect:
            self.assertIn(text, log)
        self.assertIsNone(d.notify.next(0))  # never said READY
        return d

    def test_unknown_name_is_refused(self):
        d = Dir(self)
        st, sq = self.both(d)
        self.refused([st, sq], "stream:busd.socket", 'socket 4 from systemd is named "busd.socket"',
                     "FileDescriptorName=")

    def test_missing_names_are_refused(self):
        d = Dir(self)
        st, _ = self.both(d)
        self.refused([st], None, 'is named "unknown"', "FileDescriptorName=")

    def test_a_name_on_the_wrong_type_is_refused(self):
        d = Dir(self)
        st, sq = self.both(d)
        self.refused([st, sq], "stream:stream", 'socket 4 from systemd is named "stream" but is a SOCK_SEQPACKET '
                     'socket, not SOCK_STREAM')
        # one name per socket, no more no less
        self.refused([sq], "seqpacket:x", "LISTEN_FDS=1, LISTEN_FDNAMES=seqpacket:x", "must name each socket")
        self.refused([st], "seqpacket", 'is named "seqpacket" but is a SOCK_STREAM socket, not SOCK_SEQPACKET')

    def test_a_socket_that_does_not_listen_is_refused(self):
        d = Dir(self)
        s = listening_socket(d.join("bus"), listen=False)
        self.addCleanup(s.close)
        self.refused([s], "stream", 'socket 3 from systemd ("stream") is not listening')

    def test_a_datagram_socket_is_refused(self):
        d = Dir(self)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind(d.join("dgram"))
        self.addCleanup(s.close)
        self.refused([s], "stream", "is a SOCK_DGRAM socket, not SOCK_STREAM")

    def test_an_inet_socket_is_refused(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        self.addCleanup(s.close)
        self.refused([s], "stream", "is not an AF_UNIX socket")

    def test_a_descriptor_that_is_no_socket_is_refused(self):
        r, w = os.pipe()
        self.addCleanup(os.close, r)
        self.addCleanup(os.close, w)

        class Fd:
            def fileno(self):
                return r

        self.refused([Fd()], "stream", 'socket 3 from systemd ("stream"): not a socket')


# ---- the real systemd-socket-activate --------------------------------------------


@unittest.skipUnless(SOCKET_ACTIVATE, "systemd-socket-activate not installed (Debian package systemd)")
class RealSocketActivate(unittest.TestCase):
    """systemd-socket-activate binds, waits for the first connection, then
    execs busd with the socket(s). Its stderr says "Listening on PATH as N."
    once each socket is bound: the test waits for those lines, not a delay."""

    def launch(self, d, outer_args):
        cmd = list(outer_args) + [BUSD]
        d.proc = subprocess.Popen(cmd, env=d.notify.env(), stdin=subprocess.DEVNULL, stdout=d.log_file,
                                  stderr=subprocess.PIPE, preexec_fn=_die_with_parent)
        self.addCleanup(d.proc.stderr.close)

    def wait_listening(self, d, path):
        want = "Listening on %s as" % path
        while True:
            line = d.proc.stderr.readline().decode(errors="replace")
            if not line:
                self.fail("systemd-socket-activate exited before listening on %s" % path)
            if want in line:
                return

    def drain_stderr(self, d):
        """The rest of stderr (busd's log, after the exec) once it exited."""
        log = d.proc.stderr.read().decode(errors="replace")
        report = sanitizer_report(log)
        if report:
            self.fail("sanitizer report in busd's log:\n" + report)
        return log

    def check_one(self, seqpacket):
        d = Dir(self)
        path = d.join("bus.seq" if seqpacket else "bus")
        name = "seqpacket" if seqpacket else "stream"
        args = [SOCKET_ACTIVATE] + (["--seqpacket"] if seqpacket else []) + \
            ["-l", path, "--fdname=" + name, "-E", "NOTIFY_SOCKET"]
        self.launch(d, args)
        self.wait_listening(d, path)
        address = ("seqpacket:" if seqpacket else "unix:") + path
        # the first connection starts busd; it waits in the kernel's queue meanwhile
        c = Client(address)
        self.addCleanup(c.close)
        welcome = c.hello()
        self.assertEqual(welcome["type"], "welcome")
        d.notify.wait_for("READY", "1")
        self.assertTrue(pings(address))
        c.close()
        self.assertEqual(d.stop(), 0)
        log = self.drain_stderr(d)
        self.assertIn("serving %s (max_message" % address, log)
        self.assertIn("from systemd", log)
        self.assertIn("socket-activated without a %s socket" % ("stream" if seqpacket else "seqpacket"), log)
        d.notify.wait_for("STOPPING", "1")
        self.assertTrue(os.path.exists(path))  # not unlinked: systemd's

    def test_stream(self):
        self.check_one(False)

    def test_seqpacket(self):
        self.check_one(True)

    def test_both_named_through_two_chained_activators(self):
        # The outer one passes the seqpacket socket as fd 3 ("seqpacket"); the
        # inner one adds the stream socket as fd 4 and names both.
        d = Dir(self)
        seq, stream = d.join("bus.seq"), d.join("bus")
        args = [SOCKET_ACTIVATE, "--seqpacket", "-l", seq, "--fdname=seqpacket", "-E", "NOTIFY_SOCKET",
                SOCKET_ACTIVATE, "-l", stream, "--fdname=seqpacket:stream", "-E", "NOTIFY_SOCKET"]
        self.launch(d, args)
        self.wait_listening(d, seq)
        c = Client("seqpacket:" + seq)
        self.addCleanup(c.close)
        c.hello()
        d.notify.wait_for("READY", "1")
        self.assertTrue(pings("unix:" + stream))
        self.assertTrue(pings("seqpacket:" + seq))
        c.close()
        self.assertEqual(d.stop(), 0)
        log = self.drain_stderr(d)
        self.assertIn("serving unix:%s (max_message 1048576, from systemd)" % stream, log)
        self.assertIn("serving seqpacket:%s" % seq, log)
        self.assertNotIn("socket-activated without", log)


# ---- Type=notify -----------------------------------------------------------------


class Notify(unittest.TestCase):
    """busd started by the ordinary harness (its own sockets, --ready-fd) with
    NOTIFY_SOCKET set."""

    def start(self, *args, **env):
        self.notify = NotifySocket()
        self.addCleanup(self.notify.close)
        self.daemon = Daemon(*args, env=self.notify.env(**env))
        self.addCleanup(self.daemon.stop)
        return self.daemon

    def test_ready_with_a_status_once_serving(self):
        self.start()
        ready = self.notify.wait_for("READY", "1")
        self.assertEqual(ready["STATUS"], "Serving 0 connections, 0 messages/s, 0 events dropped")
        self.assertTrue(pings(self.daemon.stream_addr))  # --ready-fd went first: both work together

    def test_status_tells_live_figures_and_only_changes(self):
        d = self.start()
        self.notify.wait_for("READY", "1")
        a = d.connect()
        b = d.connect(seqpacket=True)
        self.addCleanup(a.close)
        self.addCleanup(b.close)
        for _ in range(20):
            a.ping()
        # within one period (2 s) a STATUS with the new figures
        msg = self.notify.wait_for("STATUS", match=lambda m: m["STATUS"].startswith("Serving 2 connections"),
                                   timeout=5)
        self.assertRegex(msg["STATUS"], r"^Serving 2 connections, [0-9]+ messages/s, 0 events dropped$")
        self.assertNotIn("READY", msg)
        # drops show up (a lossy subscriber: a lossless one would hold the publisher instead)
        b.subscribe("t.>", lossy=True)
        b.settimeout(WAIT)
        data = "x" * 16384
        dropped = 0
        for _ in range(2000):
            dropped = a.publish("t.x", data)["dropped"]
            if dropped:
                break
        self.assertTrue(dropped)
        msg = self.notify.wait_for("STATUS", match=lambda m: not m["STATUS"].endswith(" 0 events dropped"),
                                   timeout=5)
        # idle: once the rate is back at 0 nothing changes, so nothing is sent
        if " 0 messages/s" not in msg["STATUS"]:
            self.notify.wait_for("STATUS", match=lambda m: " 0 messages/s" in m["STATUS"], timeout=5)
        self.assertIsNone(self.notify.next(2.5))

    def test_watchdog_at_half_the_interval(self):
        # WATCHDOG_PID must be busd's own pid: a shell puts its $$ there and execs busd
        d = Dir(self)
        self.notify = d.notify
        args = ["--listen", "unix:" + d.join("bus"), "--listen", "seqpacket:" + d.join("bus.seq")]
        env = self.notify.env(WATCHDOG_USEC="200000")
        d.proc = subprocess.Popen(["sh", "-c", 'WATCHDOG_PID=$$ exec "$0" "$@"', BUSD] + args, env=env,
                                  stdin=subprocess.DEVNULL, stdout=d.log_file, stderr=d.log_file,
                                  preexec_fn=_die_with_parent)
        self.notify.wait_for("READY", "1")
        start = time.monotonic()
        for _ in range(5):
            self.notify.wait_for("WATCHDOG", "1", timeout=2)
        elapsed = time.monotonic() - start
        self.assertLess(elapsed, 4.0)  # 5 pings at 100 ms; generous for a loaded machine
        self.assertIn("watchdog: pinging every 100 ms", d.log())
        # a stopped loop stops petting
        d.proc.send_signal(signal.SIGSTOP)
        while self.notify.next(0.3) is not None:  # what was already sent
            pass
        self.assertIsNone(self.notify.next(0.5))
        d.proc.send_signal(signal.SIGCONT)
        self.notify.wait_for("WATCHDOG", "1", timeout=2)
        self.assertEqual(d.stop(), 0)

    def test_no_watchdog_for_another_pid_or_without_it(self):
        d = self.start(WATCHDOG_USEC="100000", WATCHDOG_PID="1")
        self.notify.wait_for("READY", "1")
        self.assertIsNone(self.notify.next(0.5))
        self.assertNotIn("watchdog", d.log())

    def test_stopping_on_sigterm_and_sigint(self):
        for sig, name in ((signal.SIGTERM, "SIGTERM"), (signal.SIGINT, "SIGINT")):
            with self.subTest(signal=name):
                d = self.start()
                self.notify.wait_for("READY", "1")
                d.proc.send_signal(sig)
                msg = self.notify.wait_for("STOPPING", "1")
                self.assertEqual(msg["STATUS"], "Shutting down (%s)" % name)
                self.assertEqual(d.proc.wait(WAIT), 0)
                d.returncode = 0

    def test_reloading_then_ready_around_a_reload(self):
        d = Dir(self)
        cfg = d.join("busd.json")
        with open(cfg, "w") as f:
            f.write('{"limits": {"max_names": 8}}')
        dm = self.start("--config", cfg)
        self.notify.wait_for("READY", "1")
        dm.proc.send_signal(signal.SIGHUP)
        msg = self.notify.wait_for("RELOADING", "1")
        self.assertGreater(int(msg["MONOTONIC_USEC"]), 0)
        self.notify.wait_for("READY", "1")
        # a failed reload also ends in READY=1: busd goes on with the old configuration
        with open(cfg, "w") as f:
            f.write('{"limits": {"max_names": 0}}')
        dm.proc.send_signal(signal.SIGHUP)
        self.notify.wait_for("RELOADING", "1")
        self.notify.wait_for("READY", "1")
        self.assertIn("reload failed", dm.log())

    def test_nothing_is_sent_without_notify_socket(self):
        # the ordinary harness, no NOTIFY_SOCKET: busd runs as before
        d = Daemon()
        self.addCleanup(d.stop)
        self.assertTrue(pings(d.stream_addr))
        self.assertNotIn("watchdog", d.log())


if __name__ == "__main__":
    main()
