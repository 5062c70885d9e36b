#!/usr/bin/env python3
"""End-to-end tests of `bus wait` and of the rough edges of issue 12 in bus(1),
the real `bus` binary against a real busd (cli_test.py's Daemon and BusTest:
readiness pipe, `--ready` lines; one test polls the daemon's counters, bounded
by WAIT, nothing sleeps for a fixed time), over both transports where the
transport matters.

- `bus wait NAME...`: at once for owned names, later for names that appear
  (also after busd restarted meanwhile),
  75 with the missing names at --timeout; `bus wait --event PATTERN`;
- --timeout: bounds the connect and hello (a SIGSTOPped daemon), takes units,
  bounds `listen` without --count;
- what the address is when it is not a busd: a D-Bus socket (76), a regular
  file or a directory (68, said so);
- `publish --json` prints the acknowledgement, a terminal warns when nobody
  got the event; empty standard input; MQTT patterns; `serve` without METHOD;
  `call BUS/NAME` without a bridge (no_owner: across a real bridge,
  test_bridge_cli.py); `policy verify` and a drop-in without its base file.

Run one group: cli_wait_test.py WaitStream (cli.cmake lists the groups).
"""
import json
import os
import pty
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from cli_test import BUS, BUSD, WAIT, BusTest, read_pty


class _Wait(BusTest):
    """bus wait over one transport."""

    def test_owned_names_return_at_once(self):
        self.serve("org.test.Here", "run", "true")
        rc, out, err = self.bus("wait", "--timeout", "30s", "org.busd", "org.test.Here")
        self.assertEqual((rc, out), (0, ""), err)

    def test_names_that_appear_later(self):
        waiter = subprocess.Popen(self.argv(["wait", "-t", "1min", "org.test.Later", "org.test.Later2"]),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: waiter.poll() is None and waiter.kill())
        # whether the owners come before or after its subscription, it must see them
        self.serve("org.test.Later", "run", "true")
        self.serve("org.test.Later2", "run", "true")
        out, err = waiter.communicate(timeout=WAIT)
        self.assertEqual((waiter.returncode, out), (0, ""), err)

    def test_timeout_exits_75_and_names_what_is_missing(self):
        rc, out, err = self.bus("wait", "-t", "300ms", "org.busd", "org.test.Never")
        self.assertEqual((rc, out), (75, ""))
        self.assertIn("org.test.Never", err)
        self.assertNotIn("org.busd", err.split("for", 1)[1])

    def test_name_that_came_and_went_is_not_owned(self):
        server = self.serve("org.test.Gone", "run", "true")
        server.terminate()
        server.communicate(timeout=WAIT)
        rc, _, err = self.bus("wait", "-t", "200", "org.test.Gone")
        self.assertEqual(rc, 75, err)

    def test_busd_restarting_while_waiting(self):
        """busd killed and started again on the same sockets: bus wait
        reconnects, asks again and sees the owner on the new daemon."""
        waiter = subprocess.Popen(self.argv(["wait", "-t", "1min", "org.test.Again"]),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: waiter.poll() is None and waiter.kill())
        # killed once the waiter's subscription is in (polling the daemon's
        # counters, bounded by WAIT): then only reconnecting can save it
        deadline = time.monotonic() + WAIT
        while json.loads(self.bus_ok("status"))["subscriptions"] < 1:
            self.assertLess(time.monotonic(), deadline, "bus wait did not subscribe")
            time.sleep(0.02)
        self.daemon.proc.kill()
        self.daemon.proc.wait(WAIT)
        for name in os.listdir(self.daemon.dir):
            os.unlink(os.path.join(self.daemon.dir, name))
        r, w = os.pipe()
        self.daemon.proc = subprocess.Popen(
            os.environ.get("BUSD_WRAPPER", "").split() +
            [BUSD, "--listen", self.daemon.stream, "--listen", self.daemon.seqpacket, "--ready-fd", str(w)],
            pass_fds=(w,), stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(w)
        ready, _, _ = select.select([r], [], [], WAIT)
        self.assertTrue(ready and os.read(r, 64), "busd did not become ready again")
        os.close(r)
        self.serve("org.test.Again", "run", "true")
        out, err = waiter.communicate(timeout=WAIT)
        self.assertEqual((waiter.returncode, out), (0, ""), err)

    def test_event_is_printed_as_listen_prints_it(self):
        waiter = self.start("wait", "--ready", "--timeout", "30s", "--event", "jobs.>", "--event", "other.x")
        self.bus_ok("publish", "unrelated.topic", "0")
        self.bus_ok("publish", "jobs.done", '{"id": 7}')
        out, _ = waiter.communicate(timeout=WAIT)
        self.assertEqual(waiter.returncode, 0)
        lines = out.decode().splitlines()
        self.assertEqual(len(lines), 1)
        ev = json.loads(lines[0])
        self.assertEqual((ev["topic"], ev["data"]), ("jobs.done", {"id": 7}))
        self.assertEqual(ev["uid"], os.getuid())
        self.assertRegex(ev["sender"], r"^:\d+$")

    def test_event_timeout_exits_75(self):
        rc, out, err = self.bus("wait", "-t", "200ms", "--event", "never.>")
        self.assertEqual((rc, out), (75, ""))
        self.assertIn("never.>", err)

    def test_usage(self):
        for args in (["wait"], ["wait", "--event", "a.b", "org.x.Y"], ["wait", "nodot"],
                     ["wait", "--ready", "org.x.Y"], ["wait", "--event", "a/#"]):
            rc, out, err = self.bus(*args)
            self.assertEqual((rc, out), (64, ""), "bus %s: %s" % (" ".join(args), err))


class WaitStream(_Wait):
    seqpacket = False


class WaitSeqpacket(_Wait):
    seqpacket = True


class _Edges(BusTest):
    """Rough edges where the transport matters."""

    def test_timeout_bounds_connect_and_hello_of_a_stopped_daemon(self):
        os.kill(self.daemon.proc.pid, signal.SIGSTOP)
        self.addCleanup(os.kill, self.daemon.proc.pid, signal.SIGCONT)
        for args in (["-t", "500", "ping"], ["--timeout", "300ms", "call", "org.busd", "ping"],
                     ["-t", "0.3s", "list"], ["-t", "300", "wait", "org.busd"]):
            rc, out, err = self.bus(*args)  # WAIT (30 s) guards it, not a timing assertion
            self.assertEqual((rc, out), (75, ""), err)
            self.assertIn("no answer from the daemon within", err)
        os.kill(self.daemon.proc.pid, signal.SIGCONT)
        self.bus_ok("-t", "30s", "ping")

    def test_timeout_units(self):
        for t in ("5000", "5000ms", "5s", "1.5s", "1min", "1h"):
            self.bus_ok("--timeout", t, "ping")
        for t in ("0", "5x", "-1s", "25h", "s", ""):
            rc, _, err = self.bus("--timeout", t, "ping")
            self.assertEqual(rc, 64, t)
            self.assertIn("--timeout wants a time", err)

    def test_listen_timeout_without_count(self):
        rc, out, err = self.bus("listen", "--timeout", "200ms", "quiet.>")
        self.assertEqual((rc, out), (0, ""), err)
        listener = self.start("listen", "--ready", "--timeout", "1s", "some.>")
        self.bus_ok("publish", "some.thing", "1")
        out, _ = listener.communicate(timeout=WAIT)
        self.assertEqual(listener.returncode, 0)
        self.assertEqual([json.loads(l)["topic"] for l in out.decode().splitlines()], ["some.thing"])

    def test_something_that_closes_at_hello_is_not_a_busd(self):
        """A server that accepts and closes without a word, as a D-Bus daemon
        does with bytes that are not its handshake: exit 76, not 68."""
        path = os.path.join(self.tmp, "closer")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET if self.seqpacket else socket.SOCK_STREAM)
        s.bind(path)
        s.listen(4)
        self.addCleanup(s.close)

        def closer():
            c, _ = s.accept()
            c.close()
        t = threading.Thread(target=closer, daemon=True)
        t.start()
        addr = ("seqpacket:" if self.seqpacket else "unix:") + path
        rc, out, err = self.bus("--address", addr, "ping", address=False)
        t.join(WAIT)
        self.assertEqual((rc, out), (76, ""), err)
        self.assertIn("not a busd", err)

    def test_call_bus_slash_name_is_sent(self):
        rc, out, err = self.bus("call", "busd-x/org.test.Far", "run")
        self.assertEqual((rc, out), (69, ""), err)
        self.assertIn("no connection owns", err)

    def test_publish_json_prints_the_acknowledgement(self):
        self.assertEqual(json.loads(self.bus_ok("--json", "publish", "ack.x", "1")), {"delivered": 0, "dropped": 0})
        listener = self.start("listen", "--ready", "--count", "1", "ack.>")
        self.assertEqual(json.loads(self.bus_ok("publish", "-j", "ack.y", "2")), {"delivered": 1, "dropped": 0})
        self.events(listener)
        self.assertEqual(self.bus_ok("publish", "ack.z", "3"), "")  # piped, no --json: nothing, as before

    def test_publish_warns_on_a_terminal_when_nobody_got_it(self):
        master, slave = pty.openpty()
        p = subprocess.Popen(self.argv(["publish", "nobody.listens", "1"]), stdout=subprocess.PIPE, stderr=slave)
        os.close(slave)
        err = read_pty(master)
        out, _ = p.communicate(timeout=WAIT)
        self.assertEqual((p.returncode, out), (0, b""))
        self.assertIn(b"nobody is subscribed to nobody.listens", err)


class EdgesStream(_Edges):
    seqpacket = False


class EdgesSeqpacket(_Edges):
    seqpacket = True


class Edges(BusTest):
    """Rough edges without a transport of their own."""

    def test_dbus_socket_exits_76(self):
        dbus = shutil.which("dbus-daemon")
        if not dbus:
            self.skipTest("no dbus-daemon")
        path = os.path.join(self.tmp, "dbus")
        p = subprocess.Popen([dbus, "--session", "--nofork", "--nopidfile", "--address=unix:path=" + path,
                              "--print-address"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.addCleanup(lambda: (p.kill(), p.communicate(timeout=WAIT)))
        ready, _, _ = select.select([p.stdout], [], [], WAIT)
        self.assertTrue(ready and p.stdout.readline().startswith("unix:"), "dbus-daemon did not start")
        rc, out, err = self.bus("--address", path, "ping", address=False)
        self.assertEqual((rc, out), (76, ""), err)
        self.assertIn("not a busd", err)

    def test_regular_file_and_directory_say_what_they_are(self):
        f = os.path.join(self.tmp, "file")
        open(f, "w").close()
        for path, what in ((f, "a regular file"), (self.tmp, "a directory")):
            rc, out, err = self.bus("--address", path, "ping", address=False)
            self.assertEqual((rc, out), (68, ""), err)
            self.assertIn("this is %s, not a socket" % what, err)
            self.assertNotIn("busd has stopped", err)

    def test_empty_stdin(self):
        for args in (["call", "org.busd", "ping", "-"], ["publish", "a.b", "-"]):
            rc, out, err = self.bus(*args, input=" \n")
            self.assertEqual((rc, out), (65, ""))
            self.assertIn("standard input is empty", err)

    def test_mqtt_pattern_hint(self):
        rc, _, err = self.bus("listen", "sensors/#")
        self.assertEqual(rc, 64)
        self.assertIn("MQTT's '#' is '>' here", err)
        self.assertIn("'sensors.>'", err)
        rc, _, err = self.bus("listen", "home/+/temp")
        self.assertEqual(rc, 64)
        self.assertIn("'home.*.temp'", err)

    def test_serve_without_method(self):
        rc, out, err = self.bus("serve", "org.test.X", "--", "true")
        self.assertEqual((rc, out), (64, ""))
        self.assertIn("expected NAME METHOD -- COMMAND", err)

    def test_policy_verify_warns_when_only_root_may_connect(self):
        d = os.path.join(self.tmp, "policy")
        os.makedirs(os.path.join(d, "policy.d"))
        with open(os.path.join(d, "policy.d", "50-audio.json"), "w") as f:
            json.dump({"rules": [{"for": {"group": "root"}, "allow": {"own": ["org.example.Audio"]}},
                                 {"for": {"not_group": "root"}, "deny": {"call": ["org.example.Audio"]}}]}, f)
        rc, out, err = self.bus("policy", "--dir", d, "verify", address=False)
        self.assertEqual(rc, 0, err)  # valid: busd would accept it
        self.assertIn("no user but root may connect", err)
        self.assertIn(os.path.join(d, "policy.json"), err)
        self.assertIn("is missing", err)
        # with the base file the package installs, the drop-in adds to it
        here = os.path.dirname(os.path.abspath(__file__))
        shutil.copy(os.path.join(here, "..", "..", "busd", "policy", "policy.json"), d)
        rc, out, err = self.bus("policy", "--dir", d, "verify", address=False)
        self.assertEqual((rc, err), (0, ""))
        # a base file that denies connect: said, and which file it is
        with open(os.path.join(d, "policy.json"), "w") as f:
            json.dump({"default": {"connect": "deny"}}, f)
        rc, out, err = self.bus("policy", "--dir", d, "verify", address=False)
        self.assertEqual(rc, 0, err)
        self.assertIn("no user but root may connect: default (connect: deny) from %s/policy.json" % d, err)


if __name__ == "__main__":
    unittest.main()
