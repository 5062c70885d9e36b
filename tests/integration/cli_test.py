#!/usr/bin/env python3
"""End-to-end tests of bus(1), the command-line tool, against a real busd.

Each test starts its own busd on sockets in a temporary directory and waits for
its readiness line on a pipe (--ready-fd); background `bus listen`/`bus serve`
processes are waited for through their `--ready` line on stderr. Nothing here
sleeps to synchronise. Standard library only.

Environment: BUS (the bus binary), BUSD (the busd binary); BUS_TEST_VERBOSE=1
shows busd's log; BUSD_WRAPPER (e.g. valgrind, see daemon_harness.py) is a
command busd is exec'd through.
Run one group: cli_test.py VerbsStream (see cli.cmake for the groups).
"""
import json
import os
import pty
import select
import socket
import subprocess
import tempfile
import unittest

BUS = os.environ.get("BUS", "bus")
BUSD = os.environ.get("BUSD", "busd")
WAIT = 30  # seconds: an upper bound for anything that should be immediate


class Daemon:
    """busd on <dir>/bus (stream) and <dir>/bus.seq (seqpacket)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="bus-cli-test-")
        self.stream = "unix:%s/bus" % self.dir
        self.seqpacket = "seqpacket:%s/bus.seq" % self.dir
        r, w = os.pipe()
        self.proc = subprocess.Popen(
            os.environ.get("BUSD_WRAPPER", "").split() +
            [BUSD, "--listen", self.stream, "--listen", self.seqpacket, "--ready-fd", str(w)],
            pass_fds=(w,), stdin=subprocess.DEVNULL,
            stderr=None if os.environ.get("BUS_TEST_VERBOSE") else subprocess.DEVNULL)
        os.close(w)
        ready, _, _ = select.select([r], [], [], WAIT)
        line = os.read(r, 64) if ready else b""
        os.close(r)
        if not line:
            self.stop()
            raise RuntimeError("busd did not become ready")

    def stop(self):
        status = 0
        if self.proc.poll() is None:
            self.proc.terminate()
            status = self.proc.wait(WAIT)
        for name in os.listdir(self.dir):
            os.unlink(os.path.join(self.dir, name))
        os.rmdir(self.dir)
        if status != 0:  # e.g. the wrapper's --error-exitcode
            raise AssertionError("busd exited with status %d on SIGTERM" % status)


def read_pty(master):
    """Everything a child writes to the terminal whose master side is
    `master` (its slave end already closed here), until it closes it (EIO) or
    is silent for WAIT; closes master."""
    out = b""
    while True:
        ready, _, _ = select.select([master], [], [], WAIT)
        try:
            data = os.read(master, 65536) if ready else b""
        except OSError:  # EIO: the other side is closed
            data = b""
        if not data:
            break
        out += data
    os.close(master)
    return out


class BusTest(unittest.TestCase):
    seqpacket = False

    def setUp(self):
        self.daemon = Daemon()
        self.addCleanup(self.daemon.stop)
        self.addr = self.daemon.seqpacket if self.seqpacket else self.daemon.stream
        self.tmp = tempfile.mkdtemp(prefix="bus-cli-tmp-")
        self.addCleanup(lambda: subprocess.run(["rm", "-rf", self.tmp]))

    def argv(self, args, address=True):
        return [BUS] + (["--address", self.addr] if address else []) + list(args)

    def bus(self, *args, input=None, env=None, address=True):
        """Runs bus to completion; returns (exit code, stdout, stderr)."""
        p = subprocess.run(self.argv(args, address), input=input, capture_output=True, text=True,
                           timeout=WAIT, env=env)
        return p.returncode, p.stdout, p.stderr

    def bus_ok(self, *args, **kw):
        rc, out, err = self.bus(*args, **kw)
        self.assertEqual(rc, 0, "bus %s failed: %s" % (" ".join(args), err))
        return out

    def start(self, *args, env=None):
        """Starts a background bus (listen or serve) with --ready and waits
        for its `ready` line on stderr."""
        p = subprocess.Popen(self.argv(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL, env=env)
        self.addCleanup(self.reap, p)
        ready, _, _ = select.select([p.stderr], [], [], WAIT)
        line = p.stderr.readline() if ready else b""
        self.assertEqual(line, b"ready\n", "no ready line from bus %s: %r" % (" ".join(args), line))
        return p

    def reap(self, p):
        """Stops a background bus; a sanitizer report in its stderr fails the test."""
        if p.poll() is None:
            p.terminate()
        _, err = p.communicate(timeout=WAIT)
        self.assertNotIn(b"Sanitizer", err)

    def serve(self, name, method, *command, opts=()):
        return self.start("serve", "--ready", *opts, name, method, "--", *command)

    def events(self, listener):
        out, _ = listener.communicate(timeout=WAIT)
        self.assertEqual(listener.returncode, 0)
        return [json.loads(line) for line in out.decode().splitlines()]


class _Verbs(BusTest):
    """Every verb over one transport (subclasses pick it)."""

    def test_ping_answers_with_server_and_address(self):
        res = json.loads(self.bus_ok("ping"))
        self.assertTrue(res["server"].startswith("busd "))
        self.assertEqual(res["address"], self.addr)
        self.assertRegex(res["unique"], r"^:\d+$")

    def test_call_daemon_method_prints_result(self):
        res = json.loads(self.bus_ok("call", "org.busd", "ping"))
        self.assertTrue(res["server"].startswith("busd "))

    def test_serve_answers_call_with_command_output(self):
        self.serve("org.test.Echo", "echo", "cat")
        params = {"text": "héllo", "n": [1, 2.5, None, True]}
        self.assertEqual(json.loads(self.bus_ok("call", "org.test.Echo", "echo", json.dumps(params))), params)

    def test_call_params_from_stdin(self):
        self.serve("org.test.Echo", "echo", "cat")
        out = self.bus_ok("call", "org.test.Echo", "echo", "-", input='{"from": "stdin"}')
        self.assertEqual(json.loads(out), {"from": "stdin"})

    def test_listen_count_receives_publish_with_sender_creds_and_wildcards(self):
        listener = self.start("listen", "--ready", "--count", "2", "sensors.*.temp", "alerts.>")
        pubs = []
        for topic, data in [("sensors.kitchen.temp", "21.5"), ("sensors.kitchen.humidity", "40"),
                            ("alerts.fire.big", '"run"')]:
            p = subprocess.Popen(self.argv(["publish", topic, data]), stderr=subprocess.PIPE)
            _, err = p.communicate(timeout=WAIT)
            self.assertEqual(p.returncode, 0, err)
            pubs.append(p.pid)
        events = self.events(listener)
        self.assertEqual([e["topic"] for e in events], ["sensors.kitchen.temp", "alerts.fire.big"])
        self.assertEqual(events[0]["data"], 21.5)
        self.assertEqual(events[1]["data"], "run")
        self.assertEqual([e["pid"] for e in events], [pubs[0], pubs[2]])
        for e in events:
            self.assertEqual(e["uid"], os.getuid())
            self.assertEqual(e["gid"], os.getgid())
            self.assertRegex(e["sender"], r"^:\d+$")
        self.assertNotEqual(events[0]["sender"], events[1]["sender"])

    def test_listen_prints_overlapping_patterns_once(self):
        listener = self.start("listen", "--ready", "--count", "2", "a.*", "a.>", ">")
        self.bus_ok("publish", "a.b", "1")
        self.bus_ok("publish", "z", "2")
        self.assertEqual([(e["topic"], e["data"]) for e in self.events(listener)], [("a.b", 1), ("z", 2)])

    def test_listen_receives_daemon_name_events_only_when_asked(self):
        daemon_events = self.start("listen", "--ready", "--count", "1", "$bus.name.>")
        everything = self.start("listen", "--ready", "--count", "1", ">")
        self.serve("org.test.Named", "run", "true")
        self.bus_ok("publish", "after.serve")
        events = self.events(daemon_events)
        self.assertEqual(events[0]["topic"], "$bus.name.org.test.Named")
        self.assertEqual(events[0]["sender"], "org.busd")
        self.assertEqual(events[0]["data"]["name"], "org.test.Named")
        self.assertIsNone(events[0]["data"]["old_owner"])
        self.assertRegex(events[0]["data"]["new_owner"], r"^:\d+$")
        self.assertEqual([e["topic"] for e in self.events(everything)], ["after.serve"])

    def test_list_shows_served_name_with_pid(self):
        server = self.serve("org.test.Listed", "get", "true")
        res = json.loads(self.bus_ok("list"))
        entry = [n for n in res["names"] if n["name"] == "org.test.Listed"]
        self.assertEqual(len(entry), 1)
        self.assertEqual(entry[0]["pid"], server.pid)
        self.assertEqual(entry[0]["uid"], os.getuid())
        self.assertIn("get", entry[0]["methods"])

    def test_introspect_shows_declared_method(self):
        self.serve("org.test.Clock", "now", "date", opts=("--declare", "the time",
                                                          "--result-shape", '"string"'))
        res = json.loads(self.bus_ok("introspect", "org.test.Clock"))
        self.assertEqual(res["name"], "org.test.Clock")
        self.assertEqual(res["methods"], [{"name": "now", "description": "the time", "result": "string"}])

    def test_status_reports_counters_and_peers(self):
        res = json.loads(self.bus_ok("status"))
        self.assertGreaterEqual(res["connections"], 1)
        self.assertGreaterEqual(res["uptime_ms"], 0)
        self.assertTrue(any(p["unique"] for p in res["peers"]))


class VerbsStream(_Verbs):
    seqpacket = False


class VerbsSeqpacket(_Verbs):
    seqpacket = True

    def test_seqpacket_option_converts_unix_address(self):
        res = json.loads(self.bus_ok("--address", self.daemon.stream, "--seqpacket", "ping", address=False))
        self.assertEqual(res["address"], self.daemon.seqpacket)
        peers = json.loads(self.bus_ok("list", "--json"))["peers"]
        self.assertEqual({p["transport"] for p in peers}, {"seqpacket"})

    def test_bus_address_env_is_used(self):
        env = dict(os.environ, BUS_ADDRESS=self.addr)
        res = json.loads(self.bus_ok("ping", env=env, address=False))
        self.assertEqual(res["address"], self.addr)


class Serve(BusTest):
    """bus serve: how command outcomes become answers."""

    def test_command_failure_is_error_reply_exit_1(self):
        self.serve("org.test.Fail", "run", "sh", "-c", "echo first >&2; echo 'disk full' >&2; exit 3")
        rc, out, err = self.bus("call", "org.test.Fail", "run")
        self.assertEqual(rc, 1)
        self.assertEqual(out, "")
        self.assertIn("command_failed", err)
        self.assertIn("status 3", err)
        self.assertIn("disk full", err)

    def test_non_json_stdout_is_replied_as_string(self):
        self.serve("org.test.Text", "run", "echo", "hello world")
        self.assertEqual(json.loads(self.bus_ok("call", "org.test.Text", "run")), "hello world")
        self.assertEqual(self.bus_ok("call", "--raw", "org.test.Text", "run"), "hello world\n")

    def test_invalid_utf8_stdout_is_replaced(self):
        self.serve("org.test.Bytes", "run", "printf", "a\\377b")
        self.assertEqual(json.loads(self.bus_ok("call", "org.test.Bytes", "run")), "a\ufffdb")

    def test_json_stdout_is_parsed(self):
        self.serve("org.test.Json", "run", "echo", '{"x": [1, 2], "y": null}')
        self.assertEqual(json.loads(self.bus_ok("call", "org.test.Json", "run")), {"x": [1, 2], "y": None})

    def test_empty_stdout_is_null(self):
        self.serve("org.test.Quiet", "run", "true")
        self.assertEqual(self.bus_ok("call", "org.test.Quiet", "run").strip(), "null")

    def test_command_gets_params_on_stdin_and_caller_in_env(self):
        script = 'p=$(cat); printf \'{"params":%s,"method":"%s","pid":%s,"uid":%s}\' ' \
                 '"$p" "$BUS_METHOD" "$BUS_SENDER_PID" "$BUS_SENDER_UID"'
        self.serve("org.test.Env", "show", "sh", "-c", script)
        caller = subprocess.Popen(self.argv(["call", "org.test.Env", "show", '{"k": 1}']), stdout=subprocess.PIPE)
        out, _ = caller.communicate(timeout=WAIT)
        self.assertEqual(json.loads(out), {"params": {"k": 1}, "method": "show", "pid": caller.pid,
                                           "uid": os.getuid()})

    def test_concurrent_calls_run_at_once(self):
        # Each command waits until both have started: run one after the other,
        # the first would never finish and its call would time out.
        script = 'echo x >> "$0/started"; while [ "$(wc -l < "$0/started")" -lt 2 ]; do sleep 0.01; done; echo ok'
        self.serve("org.test.Both", "run", "sh", "-c", script, self.tmp)
        calls = [subprocess.Popen(self.argv(["--timeout", "10000", "call", "org.test.Both", "run"]),
                                  stdout=subprocess.PIPE) for _ in range(2)]
        for c in calls:
            out, _ = c.communicate(timeout=WAIT)
            self.assertEqual((c.returncode, out), (0, b'"ok"\n'))

    def test_command_time_limit_kills_and_replies_error(self):
        self.serve("org.test.Slow", "run", "sleep", "60", opts=("--timeout", "200"))
        rc, _, err = self.bus("call", "org.test.Slow", "run")
        self.assertEqual(rc, 1)
        self.assertIn("command_failed", err)
        self.assertIn("longer than 200 ms", err)

    def test_oneway_call_runs_command_that_uses_the_bus(self):
        listener = self.start("listen", "--ready", "--count", "1", "oneway.done")
        env = dict(os.environ, BUS=BUS)
        self.start("serve", "--ready", "org.test.Oneway", "run", "--", "sh", "-c",
                   '"$BUS" publish oneway.done "\\"$BUS_ONEWAY\\""', env=env)
        rc, out, err = self.bus("call", "--oneway", "org.test.Oneway", "run")
        self.assertEqual((rc, out), (0, ""), err)
        self.assertEqual([e["data"] for e in self.events(listener)], ["1"])

    def test_name_already_owned_exits_1(self):
        self.serve("org.test.Taken", "run", "true")
        rc, _, err = self.bus("serve", "org.test.Taken", "run", "--", "true")
        self.assertEqual(rc, 1)
        self.assertIn("owned by another connection", err)

    def test_sigterm_stops_serve_with_exit_0(self):
        server = self.serve("org.test.Stop", "run", "true")
        server.terminate()
        server.communicate(timeout=WAIT)
        self.assertEqual(server.returncode, 0)
        rc, _, _ = self.bus("call", "org.test.Stop", "run")
        self.assertEqual(rc, 69)


class ExitCodes(BusTest):
    """The documented exit codes (docs/bus.md, EXIT STATUS)."""

    def test_no_owner_exits_69(self):
        rc, out, err = self.bus("call", "org.test.Nobody", "run")
        self.assertEqual((rc, out), (69, ""))
        self.assertIn("bus list", err)

    def test_timeout_exits_75(self):
        self.serve("org.test.Stuck", "run", "sleep", "60")
        rc, _, err = self.bus("--timeout", "300", "call", "org.test.Stuck", "run")
        self.assertEqual(rc, 75)
        self.assertIn("no answer within 300 ms", err)

    def test_listen_timeout_exits_75(self):
        rc, _, err = self.bus("listen", "--count", "1", "--timeout", "100", "never.published")
        self.assertEqual(rc, 75)

    def test_bus_not_running_exits_68(self):
        rc, _, err = self.bus("--address", "unix:%s/nothing" % self.tmp, "ping", address=False)
        self.assertEqual(rc, 68)
        self.assertIn("is busd running?", err)

    def test_socket_without_daemon_exits_68(self):
        path = "%s/stale" % self.tmp
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)  # bound, not listening: connect() is refused
        self.addCleanup(s.close)
        rc, _, err = self.bus("--address", path, "ping", address=False)
        self.assertEqual(rc, 68)
        self.assertIn("start it with `busd`", err)

    def test_usage_errors_exit_64(self):
        for args in (["call"], ["call", "org.x", "m", "1", "extra"], ["call", "--bogus", "org.x.Y", "m"],
                     ["call", "noname", "m"], ["publish", "$bus.x"], ["listen", "a..b"], ["frobnicate"],
                     ["--timeout", "soon", "ping"], ["serve", "org.x.Y", "m"]):
            rc, out, err = self.bus(*args)
            self.assertEqual(rc, 64, "bus %s: %s" % (" ".join(args), err))
            self.assertEqual(out, "")
            self.assertIn("bus", err)

    def test_invalid_json_exits_65(self):
        rc, _, err = self.bus("call", "org.busd", "ping", "{bad")
        self.assertEqual(rc, 65)
        self.assertIn("invalid JSON", err)
        rc, _, err = self.bus("publish", "a.b", "hello")
        self.assertEqual(rc, 65)
        self.assertIn("'\"hello\"'", err)

    def test_remote_error_exits_1(self):
        rc, _, err = self.bus("call", "org.busd", "no_such_method")
        self.assertEqual(rc, 1)
        self.assertIn("unknown_method", err)

    def test_connection_lost_exits_74(self):
        listener = self.start("listen", "--ready", "--count", "1", "job.started")
        env = dict(os.environ, BUS=BUS)
        self.start("serve", "--ready", "org.test.Hang", "run", "--", "sh", "-c",
                   '"$BUS" publish job.started; exec sleep 60', env=env)
        caller = subprocess.Popen(self.argv(["call", "org.test.Hang", "run"]), stderr=subprocess.PIPE)
        self.events(listener)  # the call is now pending in the command
        self.daemon.proc.kill()
        _, err = caller.communicate(timeout=WAIT)
        self.assertEqual(caller.returncode, 74, err)
        self.assertIn(b"connection to the bus was lost", err)


class Output(BusTest):
    """Terminal versus pipe output, colours, help."""

    def run_tty(self, *args, env=None):
        master, slave = pty.openpty()
        p = subprocess.Popen(self.argv(args), stdout=slave, stderr=subprocess.PIPE, env=env)
        os.close(slave)
        out = read_pty(master)
        p.communicate(timeout=WAIT)
        return p.returncode, out.decode().replace("\r\n", "\n")

    def test_list_is_a_table_on_a_terminal(self):
        server = self.serve("org.test.Table", "get", "true")
        rc, out = self.run_tty("list", env=dict(os.environ, NO_COLOR="1"))
        self.assertEqual(rc, 0)
        lines = out.splitlines()
        self.assertEqual(lines[0].split(), ["NAME", "OWNER", "PID", "UID", "CONNECTION", "METHODS"])
        row = [l for l in lines if l.startswith("org.test.Table")]
        self.assertEqual(len(row), 1)
        self.assertEqual(row[0].split()[2], str(server.pid))
        self.assertNotIn("\033[", out)

    def test_colour_on_a_terminal_unless_no_color(self):
        env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
        env["TERM"] = "xterm"
        rc, out = self.run_tty("call", "org.busd", "ping", env=env)
        self.assertEqual(rc, 0)
        self.assertIn("\033[", out)
        self.assertIn("\n", out.strip())  # pretty: several lines
        rc, out = self.run_tty("call", "org.busd", "ping", env=dict(env, NO_COLOR="1"))
        self.assertEqual(rc, 0)
        self.assertNotIn("\033[", out)

    def test_compact_json_when_piped_pretty_on_request(self):
        out = self.bus_ok("call", "org.busd", "ping")
        self.assertEqual(len(out.splitlines()), 1)
        self.assertNotIn("\033[", out)
        out = self.bus_ok("--pretty", "call", "org.busd", "ping")
        self.assertGreater(len(out.splitlines()), 1)
        self.assertEqual(json.loads(out)["server"], json.loads(self.bus_ok("call", "org.busd", "ping"))["server"])

    def test_help_and_version(self):
        rc, out, _ = self.bus("--help", address=False)
        self.assertEqual(rc, 0)
        for verb in ("call", "publish", "listen", "serve", "list", "introspect", "status", "ping"):
            self.assertRegex(out, r"\n  %s " % verb)
        for code in ("64", "68", "69", "75"):
            self.assertIn(code, out)
        for verb in ("call", "publish", "listen", "serve", "list", "introspect", "status", "ping"):
            rc, out, _ = self.bus(verb, "--help", address=False)
            self.assertEqual(rc, 0)
            self.assertTrue(out.startswith("Usage: bus %s" % verb))
        rc, out, _ = self.bus("--version", address=False)
        self.assertEqual(rc, 0)
        self.assertRegex(out, r"^bus \(busd\) \d+\.\d+\.\d+")


if __name__ == "__main__":
    unittest.main()
