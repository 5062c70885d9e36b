#!/usr/bin/env python3
"""busd as a program (docs/busd.md, docs/protocol.md §1): options and exit
codes (0, 1 when it cannot start, 64 for usage errors), refusing to share its
sockets, replacing stale ones, signals, socket permissions and the default
socket paths."""
import os
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import unittest

from daemon_harness import WAIT, Client, DaemonTest, busd_command, main, sanitizer_report, spawn_busd
from pyclient import default_address


def run_busd(*args, env=None):
    """Runs busd to completion; returns (exit code, stdout, stderr)."""
    p = subprocess.run(busd_command(*args), capture_output=True, text=True, timeout=WAIT, env=env,
                       stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


def pings(address):
    with Client(address) as c:
        c.hello()
        return c.ping()["server"].startswith("busd ")


class Started:
    """A busd started by a test with its own arguments and environment."""

    def __init__(self, test, args, env=None):
        self.proc, self.line = spawn_busd(args, env=env, log=subprocess.PIPE)
        test.addCleanup(self.reap)
        self.err = None

    def exit_status(self):
        """Waits for busd to exit (it must do so by itself); returns its status."""
        _, self.err = self.proc.communicate(timeout=WAIT)
        return self.proc.returncode

    def terminate(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)
        return self.exit_status()

    def reap(self):
        if self.proc.poll() is None:
            self.proc.kill()
        _, err = self.proc.communicate(timeout=WAIT)
        report = sanitizer_report(((self.err or b"") + (err or b"")).decode(errors="replace"))
        if report:
            raise AssertionError("sanitizer report in busd's log:\n" + report)


class Options(unittest.TestCase):
    def test_help_exits_0_with_usage(self):
        rc, out, err = run_busd("--help")
        self.assertEqual((rc, err), (0, ""))
        self.assertIn("Usage: busd", out)
        for opt in ("--listen", "--ready-fd", "--queue-bytes", "--stall-timeout", "--version"):
            self.assertIn(opt, out)

    def test_version_exits_0_with_the_version(self):
        rc, out, err = run_busd("--version")
        self.assertEqual((rc, err), (0, ""))
        self.assertRegex(out, r"^busd [0-9]+\.[0-9]+\.[0-9]+")

    def test_bad_options_exit_64_with_a_clear_message(self):
        listen = "--listen", "unix:/nonexistent-dir-for-busd-tests/bus"  # never reached
        cases = [
            (("--bogus",), "unknown or incomplete option '--bogus'"),
            (("--listen",), "unknown or incomplete option '--listen'"),
            (("--listen", "relative/path"), "bad address 'relative/path'"),
            (("--listen", "tcp:1.2.3.4"), "bad address 'tcp:1.2.3.4'"),
            (listen + ("--queue-bytes", "lots"), "--queue-bytes needs a number"),
            (listen + ("--queue-bytes", "1"), "--queue-bytes needs a number from 4096"),
            (listen + ("--stall-timeout", "-5"), "--stall-timeout needs a number"),
            (listen + ("--max-names", "0"), "--max-names needs a number from 1"),
            (listen + ("--ready-fd", "x"), "--ready-fd needs a number"),
            (listen + ("stray",), "unexpected argument 'stray'"),
        ]
        for args, text in cases:
            with self.subTest(args=args):
                rc, out, err = run_busd(*args)
                self.assertEqual(rc, 64, err)
                self.assertIn(text, err)
                self.assertEqual(out, "")


class Sockets(DaemonTest):
    def test_socket_files_are_mode_0600(self):
        for path in (self.daemon.stream_path, self.daemon.seq_path):
            st = os.stat(path)
            self.assertTrue(stat.S_ISSOCK(st.st_mode), path)
            self.assertEqual(stat.S_IMODE(st.st_mode), 0o600, path)
            self.assertEqual(st.st_uid, os.geteuid())

    def test_second_busd_on_the_same_paths_refuses_while_the_first_serves(self):
        d = self.daemon
        second = Started(self, ["--listen", d.stream_addr, "--listen", d.seq_addr])
        self.assertEqual(second.line, b"")
        self.assertEqual(second.exit_status(), 1)
        self.assertIn(b"another busd is already serving " + d.stream_path.encode(), second.err)
        self.assertTrue(stat.S_ISSOCK(os.stat(d.stream_path).st_mode))
        self.assertTrue(stat.S_ISSOCK(os.stat(d.seq_path).st_mode))
        self.assertTrue(pings(d.stream_addr))
        self.assertTrue(pings(d.seq_addr))

    def test_sigterm_removes_the_sockets_and_exits_0(self):
        d = self.daemon
        c = d.connect()
        self.assertEqual(d.terminate(), 0)
        self.assertEqual(c.read_until_closed(), [])
        self.assertFalse(os.path.exists(d.stream_path))
        self.assertFalse(os.path.exists(d.seq_path))

    def test_sighup_is_logged_and_busd_keeps_serving(self):
        c = self.daemon.connect()
        self.daemon.proc.send_signal(signal.SIGHUP)
        self.assertTrue(c.ping()["server"].startswith("busd "))
        c.close()
        self.assertEqual(self.daemon.terminate(), 0)  # handled in order: SIGHUP came first
        self.assertIn("SIGHUP", self.daemon.log())

    def test_sigint_also_exits_0(self):
        self.daemon.proc.send_signal(signal.SIGINT)
        self.assertEqual(self.daemon.proc.wait(WAIT), 0)
        self.daemon.returncode = 0
        self.assertFalse(os.path.exists(self.daemon.stream_path))


class StaleAndForeign(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="busd-py-life-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.stream = os.path.join(self.dir, "bus")
        self.args = ["--listen", "unix:" + self.stream, "--listen", "seqpacket:" + self.stream + ".seq"]

    def test_stale_socket_of_a_killed_busd_is_replaced(self):
        first = Started(self, self.args)
        self.assertEqual(first.line, b"READY=1\n")
        first.proc.kill()
        first.exit_status()
        self.assertTrue(os.path.exists(self.stream), "SIGKILL should leave the socket file")
        with self.assertRaises(ConnectionRefusedError):
            Client("unix:" + self.stream)
        second = Started(self, self.args)
        self.assertEqual(second.line, b"READY=1\n")
        self.assertTrue(pings("unix:" + self.stream))
        self.assertTrue(pings("seqpacket:" + self.stream + ".seq"))
        self.assertEqual(second.terminate(), 0)

    def test_socket_of_another_program_is_left_alone(self):
        other = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(other.close)
        other.bind(self.stream)
        other.listen(1)
        busd = Started(self, self.args)
        self.assertEqual(busd.line, b"")
        self.assertEqual(busd.exit_status(), 1)
        self.assertIn(b"in use by another program", busd.err)
        self.assertTrue(stat.S_ISSOCK(os.stat(self.stream).st_mode))

    def test_a_file_that_is_not_a_socket_is_left_alone(self):
        with open(self.stream, "w") as f:
            f.write("precious")
        busd = Started(self, self.args)
        self.assertEqual(busd.exit_status(), 1)
        self.assertIn(b"is not a socket", busd.err)
        with open(self.stream) as f:
            self.assertEqual(f.read(), "precious")


class DefaultPaths(unittest.TestCase):
    def check_default_bus(self, env, dir):
        busd = Started(self, [], env=env)
        self.assertEqual(busd.line, b"READY=1\n", busd.proc.poll() is not None and busd.exit_status())
        st = os.lstat(dir)
        self.assertTrue(stat.S_ISDIR(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o700)
        for name in ("bus", "bus.seq"):
            self.assertEqual(stat.S_IMODE(os.stat(os.path.join(dir, name)).st_mode), 0o600)
        address = default_address(env)
        self.assertEqual(address, "unix:" + os.path.join(dir, "bus"))
        self.assertTrue(pings(address))
        self.assertTrue(pings("seqpacket:" + os.path.join(dir, "bus.seq")))
        self.assertEqual(busd.terminate(), 0)
        self.assertFalse(os.path.exists(os.path.join(dir, "bus")))

    def test_default_under_xdg_runtime_dir(self):
        xdg = tempfile.mkdtemp(prefix="busd-py-xdg-")
        self.addCleanup(shutil.rmtree, xdg, True)
        env = dict(os.environ, XDG_RUNTIME_DIR=xdg)
        env.pop("BUS_ADDRESS", None)
        self.check_default_bus(env, os.path.join(xdg, "busd"))

    def test_default_in_tmp_without_xdg_runtime_dir(self):
        dir = "/tmp/busd-%d" % os.geteuid()
        if os.path.lexists(dir):
            self.skipTest("%s exists already (a user bus may be running)" % dir)
        self.addCleanup(shutil.rmtree, dir, True)
        env = {k: v for k, v in os.environ.items() if k not in ("XDG_RUNTIME_DIR", "BUS_ADDRESS")}
        self.check_default_bus(env, dir)

    def test_a_default_dir_others_can_enter_is_refused(self):
        xdg = tempfile.mkdtemp(prefix="busd-py-xdg-")
        self.addCleanup(shutil.rmtree, xdg, True)
        os.mkdir(os.path.join(xdg, "busd"), 0o755)
        os.chmod(os.path.join(xdg, "busd"), 0o755)
        busd = Started(self, [], env=dict(os.environ, XDG_RUNTIME_DIR=xdg))
        self.assertEqual(busd.line, b"")
        self.assertEqual(busd.exit_status(), 1)
        self.assertIn(b"must belong to uid", busd.err)
        self.assertEqual(os.listdir(os.path.join(xdg, "busd")), [])


if __name__ == "__main__":
    main()
