#!/usr/bin/env python3
"""busd's configuration file (docs/busd.md, CONFIGURATION), against the real
daemon: --check-config and its exit codes, the default locations, the
precedence (command line > file > defaults), a bad file refusing the start,
and the SIGHUP reload: a good file applied to new checks (visible in the
welcome `limits` of a new connection) with every client staying connected,
a bad file rejected with the old configuration kept and the reason logged,
then a later good file applied. Reloads are waited for on a real
NOTIFY_SOCKET (RELOADING=1 then READY=1), never with a delay.
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import unittest

from daemon_harness import BUSD, WAIT, BusError, Client, Daemon, bind_transports, main, spawn_busd
from notify_harness import NotifySocket


def run_busd(*args, env=None):
    p = subprocess.run([BUSD] + list(args), capture_output=True, text=True, timeout=WAIT, env=env,
                       stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


class TempDir(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="busd-cfg-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def path(self, *names):
        return os.path.join(self.dir, *names)

    def write(self, name, content):
        p = self.path(name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(content if isinstance(content, str) else json.dumps(content))
        return p


# ---- --check-config ----------------------------------------------------------------


class CheckConfig(TempDir):
    def test_a_good_file_exits_0(self):
        cfg = self.write("busd.json", {"verbose": True, "limits": {"max_names": 4},
                                       "listen": ["unix:/run/x/bus", "seqpacket:/run/x/bus.seq"]})
        rc, out, err = run_busd("--check-config", "--config", cfg)
        self.assertEqual((rc, out, err), (0, cfg + ": OK\n", ""))

    def test_a_bad_file_exits_1_with_the_key_and_the_reason(self):
        cases = [
            ({"limits": {"queu_bytes": 5000}}, "limits.queu_bytes: unknown key (known here: queue_bytes,"),
            ({"limits": {"queue_bytes": 100}}, "limits.queue_bytes: must be an integer from 4096 to 4294967296, "
                                               "not 100"),
            ({"limits": {"max_names": "4"}}, 'limits.max_names: must be an integer from 1 to 1048576, not "4"'),
            ({"verbose": "yes"}, 'verbose: must be true or false, not "yes"'),
            ({"listen": ["tcp:1.2.3.4:5"]}, 'listen[0]: bad address "tcp:1.2.3.4:5"'),
            ({"activation": {}}, "activation: unknown key"),
            ("{\n  \"verbose\": true,\n}\n", "invalid JSON at line 3, column 1"),
            ('{"verbose": true, "verbose": false}', "the same member name twice"),
            ("[]", "the file must hold one JSON object"),
            ("", "invalid JSON"),
        ]
        for content, want in cases:
            with self.subTest(content=content):
                cfg = self.write("bad.json", content)
                rc, out, err = run_busd("--check-config", "--config", cfg)
                self.assertEqual((rc, out), (1, ""))
                self.assertTrue(err.startswith("busd: %s: " % cfg), err)
                self.assertIn(want, err)

    def test_a_missing_config_file_is_an_error(self):
        rc, out, err = run_busd("--check-config", "--config", self.path("nope.json"))
        self.assertEqual(rc, 1)
        self.assertIn("nope.json: No such file or directory", err)
        rc, _, err = run_busd("--check-config", "--config", self.dir)
        self.assertEqual(rc, 1)
        self.assertIn("not a regular file", err)

    def test_a_missing_default_file_is_fine(self):
        env = dict(os.environ, XDG_CONFIG_HOME=self.dir)
        rc, out, err = run_busd("--check-config", env=env)
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(out, self.path("busd", "busd.json") + ": no file; the built-in defaults apply\n")

    def test_the_default_user_file_is_read(self):
        # $XDG_CONFIG_HOME/busd/busd.json, else ~/.config/busd/busd.json
        self.write("xdg/busd/busd.json", {"limits": {"max_names": 0}})
        self.write("home/.config/busd/busd.json", {"limits": {"max_names": -1}})
        env = dict(os.environ, XDG_CONFIG_HOME=self.path("xdg"), HOME=self.path("home"))
        rc, _, err = run_busd("--check-config", env=env)
        self.assertEqual(rc, 1)
        self.assertIn(self.path("xdg/busd/busd.json") + ": limits.max_names: must be an integer", err)
        env.pop("XDG_CONFIG_HOME")
        rc, _, err = run_busd("--check-config", env=env)
        self.assertEqual(rc, 1)
        self.assertIn(self.path("home/.config/busd/busd.json") + ": limits.max_names", err)
        env["XDG_CONFIG_HOME"] = "relative/ignored"
        rc, _, err = run_busd("--check-config", env=env)
        self.assertIn(self.path("home/.config/busd/busd.json"), err)

    def test_config_needs_a_name(self):
        rc, _, err = run_busd("--config", "")
        self.assertEqual(rc, 64)
        self.assertIn("--config needs a file name", err)
        rc, _, err = run_busd("--config")
        self.assertEqual(rc, 64)


# ---- the file at start ---------------------------------------------------------------


class Startup(TempDir):
    def start(self, *args, env=None):
        d = Daemon(*args, env=env)
        self.addCleanup(d.stop)
        return d

    def test_limits_from_the_file_reach_the_welcome(self):
        cfg = self.write("busd.json", {"limits": {"max_names": 5, "queue_bytes": 65536, "max_subscriptions": 7,
                                                  "max_pending_calls": 3, "stall_timeout_ms": 1234}})
        d = self.start("--config", cfg)
        for seq in (False, True):
            with d.connect(seqpacket=seq) as c:
                lim = c.welcome["limits"]
                self.assertEqual((lim["max_names"], lim["queue_bytes"], lim["max_subscriptions"],
                                  lim["max_pending_calls"], lim["stall_timeout_ms"]), (5, 65536, 7, 3, 1234))
        self.assertIn("configuration from " + cfg, d.log())

    def test_the_command_line_wins_over_the_file(self):
        cfg = self.write("busd.json", {"limits": {"max_names": 5, "queue_bytes": 65536}})
        d = self.start("--config", cfg, "--max-names", "9")
        with d.connect() as c:
            self.assertEqual(c.welcome["limits"]["max_names"], 9)       # command line
            self.assertEqual(c.welcome["limits"]["queue_bytes"], 65536)  # file
            self.assertEqual(c.welcome["limits"]["max_subscriptions"], 1024)  # default

    def test_the_default_user_file_applies(self):
        self.write("xdg/busd/busd.json", {"limits": {"max_names": 6}})
        d = self.start(env=dict(os.environ, XDG_CONFIG_HOME=self.path("xdg")))
        with d.connect() as c:
            self.assertEqual(c.welcome["limits"]["max_names"], 6)

    def test_listen_and_verbose_from_the_file(self):
        cfg = self.write("busd.json", {"verbose": True,
                                       "listen": ["unix:" + self.path("fbus"), "seqpacket:" + self.path("fbus.seq")]})
        with open(self.path("log"), "wb") as log:
            proc, line = spawn_busd(["--config", cfg], log=log)
        self.addCleanup(proc.wait)
        self.addCleanup(proc.terminate)
        self.assertEqual(line, b"READY=1\n")
        for address in ("unix:" + self.path("fbus"), "seqpacket:" + self.path("fbus.seq")):
            with Client(address) as c:
                c.hello()
                c.ping()
        proc.terminate()
        self.assertEqual(proc.wait(WAIT), 0)
        with open(self.path("log")) as f:
            log = f.read()
        self.assertIn("connected over seqpacket", log)  # verbose
        self.assertFalse(os.path.exists(self.path("fbus")))

    def test_listen_on_the_command_line_wins(self):
        cfg = self.write("busd.json", {"listen": ["unix:" + self.path("fbus")]})
        d = self.start("--config", cfg)
        self.assertFalse(os.path.exists(self.path("fbus")))
        self.assertIn("listen in %s is ignored: --listen given" % cfg, d.log())

    def test_a_bad_file_stops_the_start(self):
        cfg = self.write("busd.json", {"limits": {"max_names": 0}})
        with open(self.path("log"), "wb") as log:
            proc, line = spawn_busd(["--config", cfg, "--listen", "unix:" + self.path("bus")], log=log)
        self.assertEqual((proc.wait(WAIT), line), (1, b""))
        with open(self.path("log")) as f:
            self.assertEqual(f.read(), "busd: %s: limits.max_names: must be an integer from 1 to 1048576, not 0\n"
                             % cfg)
        self.assertFalse(os.path.exists(self.path("bus")))
        rc, _, err = run_busd("--config", self.path("missing.json"), "--listen", "unix:" + self.path("bus"))
        self.assertEqual(rc, 1)
        self.assertIn("missing.json: No such file or directory", err)


# ---- SIGHUP --------------------------------------------------------------------------


class ReloadBase(TempDir):
    """busd with --config FILE and a NOTIFY_SOCKET to see each reload end."""

    initial = {"limits": {"max_names": 8, "queue_bytes": 65536}}
    args = ()
    seqpacket = False

    def setUp(self):
        super().setUp()
        self.cfg = self.write("busd.json", self.initial)
        self.notify = NotifySocket(self.dir)
        self.addCleanup(self.notify.close)
        self.daemon = Daemon("--config", self.cfg, *self.args, env=self.notify.env())
        self.addCleanup(self.daemon.stop)
        self.notify.wait_for("READY", "1")

    def connect(self, **members):
        c = self.daemon.connect(self.seqpacket, **members)
        self.addCleanup(c.close)
        return c

    def reload(self, content=None):
        """Writes the file (unless None) and sends SIGHUP; returns once busd
        says READY=1 again."""
        if content is not None:
            self.write("busd.json", content)
        self.daemon.proc.send_signal(signal.SIGHUP)
        self.notify.wait_for("RELOADING", "1")
        self.notify.wait_for("READY", "1")

    def limits(self):
        with self.daemon.connect(self.seqpacket) as c:
            return c.welcome["limits"]


class _Reload:
    def test_a_good_file_applies_and_nobody_is_dropped(self):
        old = self.connect(names=["org.example.A"])
        sub = self.connect()
        sub.subscribe("news.>")
        self.assertEqual(self.limits()["max_names"], 8)
        self.reload({"limits": {"max_names": 3, "queue_bytes": 131072, "max_subscriptions": 5}})
        lim = self.limits()
        self.assertEqual((lim["max_names"], lim["queue_bytes"], lim["max_subscriptions"]), (3, 131072, 5))
        # the clients from before are still served, with what they had
        self.assertTrue(old.ping())
        self.assertEqual(old.call("org.busd", "owner", {"name": "org.example.A"})["owner"], old.unique)
        old.publish("news.x", 1)
        self.assertEqual(sub.next_event()["data"], 1)
        self.assertIn("SIGHUP: reloaded %s: limits.queue_bytes 65536 -> 131072, limits.max_names 8 -> 3, "
                      "limits.max_subscriptions 1024 -> 5" % self.cfg, self.daemon.log())

    def test_a_bad_file_is_rejected_and_the_old_one_kept_then_a_good_one_applies(self):
        old = self.connect()
        self.reload({"limits": {"max_names": 4, "bogus": 1}})
        log = self.daemon.log()
        self.assertIn("SIGHUP: reload failed, keeping the current configuration: %s: limits.bogus: unknown key"
                      % self.cfg, log)
        self.assertEqual(self.limits()["max_names"], 8)
        self.assertTrue(old.ping())
        self.reload("{ not json")
        self.assertIn("invalid JSON", self.daemon.log())
        self.assertEqual(self.limits()["max_names"], 8)
        # then a good one
        self.reload({"limits": {"max_names": 2}})
        self.assertEqual(self.limits()["max_names"], 2)
        self.assertEqual(self.limits()["queue_bytes"], 4194304)  # no longer in the file: the default
        self.assertTrue(old.ping())


bind_transports(globals(), _Reload, base=ReloadBase)


class ReloadSemantics(ReloadBase):
    def test_names_beyond_a_lowered_max_names_are_kept(self):
        c = self.connect(names=["org.example.N%d" % i for i in range(5)])
        self.reload({"limits": {"max_names": 2}})
        for i in range(5):
            self.assertEqual(c.call("org.busd", "owner", {"name": "org.example.N%d" % i})["owner"], c.unique)
        with self.assertRaises(BusError) as ctx:
            c.request_name("org.example.More")
        self.assertEqual(ctx.exception.code, "limit")
        # releasing makes room only below the new limit
        c.release_name("org.example.N0")
        with self.assertRaises(BusError):
            c.request_name("org.example.More")

    def test_max_connections_applies_to_new_connections(self):
        keep = [self.connect() for _ in range(2)]
        # the harness's admin connection is not open: 2 connections now
        self.reload({"limits": {"max_connections": 2}})
        with Client(self.daemon.stream_addr) as extra:
            msg = extra.recv()
            self.assertEqual((msg["type"], msg["code"]), ("error", "limit"))
            self.assertIn("max_connections", msg["message"])
        for c in keep:
            self.assertTrue(c.ping())
        self.reload({"limits": {"max_connections": 3}})
        with Client(self.daemon.stream_addr) as extra:
            extra.hello()
            self.assertTrue(extra.ping())

    def test_hello_timeout_applies(self):
        self.reload({"limits": {"hello_timeout_ms": 100}})
        with Client(self.daemon.stream_addr) as silent:
            msg = silent.recv()
            self.assertEqual(msg["code"], "hello_timeout")
            self.assertIn("no hello within 100 ms", msg["message"])

    def test_verbose_applies(self):
        self.connect()
        self.assertNotIn("connected over", self.daemon.log())
        self.reload({"verbose": True})
        self.connect()
        self.assertIn("connected over stream", self.daemon.log())

    def test_listen_cannot_change_on_reload(self):
        self.reload({"listen": ["unix:" + self.path("other")]})
        self.assertIn("SIGHUP: listen in %s is ignored: the sockets come from --listen" % self.cfg,
                      self.daemon.log())
        self.assertFalse(os.path.exists(self.path("other")))
        self.assertTrue(self.connect().ping())

    def test_a_removed_config_file_is_an_error_kept_old(self):
        os.unlink(self.cfg)
        self.reload()
        self.assertIn("reload failed, keeping the current configuration: %s: No such file or directory" % self.cfg,
                      self.daemon.log())
        self.assertEqual(self.limits()["max_names"], 8)


class ReloadDefaultFile(TempDir):
    def test_a_removed_default_file_means_the_defaults(self):
        cfg = self.write("xdg/busd/busd.json", {"limits": {"max_names": 5}})
        notify = NotifySocket(self.dir)
        self.addCleanup(notify.close)
        d = Daemon(env=notify.env(XDG_CONFIG_HOME=self.path("xdg")))
        self.addCleanup(d.stop)
        notify.wait_for("READY", "1")
        with d.connect() as c:
            self.assertEqual(c.welcome["limits"]["max_names"], 5)
        os.unlink(cfg)
        d.proc.send_signal(signal.SIGHUP)
        notify.wait_for("RELOADING", "1")
        notify.wait_for("READY", "1")
        with d.connect() as c:
            self.assertEqual(c.welcome["limits"]["max_names"], 256)
        self.assertIn("SIGHUP: reloaded the built-in defaults (no file at %s): limits.max_names 5 -> 256" % cfg,
                      d.log())


class ReloadUnderCommandLine(ReloadBase):
    args = ("--max-names", "6")

    def test_the_command_line_still_wins(self):
        self.assertEqual(self.limits()["max_names"], 6)
        self.reload({"limits": {"max_names": 3, "max_subscriptions": 9}})
        self.assertEqual((self.limits()["max_names"], self.limits()["max_subscriptions"]), (6, 9))
        self.assertIn("the command line still sets limits.max_names", self.daemon.log())


class ReloadListenFromFile(TempDir):
    """Listen addresses from the file: a reload that changes them is logged,
    the sockets served stay."""

    def test_changed_listen_is_logged_and_not_applied(self):
        a, b = "unix:" + self.path("bus"), "seqpacket:" + self.path("bus.seq")
        cfg = self.write("busd.json", {"listen": [a, b]})
        notify = NotifySocket(self.dir)
        self.addCleanup(notify.close)
        with open(self.path("log"), "wb") as log:
            proc, line = spawn_busd(["--config", cfg], log=log, env=notify.env())
        self.addCleanup(proc.wait)
        self.addCleanup(proc.kill)
        self.assertEqual(line, b"READY=1\n")
        self.write("busd.json", {"listen": [b, a]})  # same set: nothing to say
        proc.send_signal(signal.SIGHUP)
        notify.wait_for("RELOADING", "1")
        notify.wait_for("READY", "1")
        self.write("busd.json", {"listen": ["unix:" + self.path("new")]})
        proc.send_signal(signal.SIGHUP)
        notify.wait_for("RELOADING", "1")
        notify.wait_for("READY", "1")
        with Client(a) as c:
            c.hello()
            self.assertTrue(c.ping())
        self.assertFalse(os.path.exists(self.path("new")))
        proc.terminate()
        self.assertEqual(proc.wait(WAIT), 0)
        with open(self.path("log")) as f:
            log = f.read()
        self.assertEqual(log.count("listen addresses cannot change"), 1)
        self.assertIn("SIGHUP: listen addresses cannot change on reload: still serving %s %s; restart busd to "
                      "serve unix:%s" % (a, b, self.path("new")), log)


if __name__ == "__main__":
    main()
