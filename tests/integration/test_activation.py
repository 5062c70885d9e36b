#!/usr/bin/env python3
"""Service activation (docs/protocol.md §4.7, docs/busd.md): a call to a name
nobody owns starts its service from an activation file; held calls are
answered once the service owns the name, and fail at once (activation_failed)
when it cannot start, exits first, or misses its deadline."""
import json
import os
import shutil
import signal
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import DaemonTest, main  # noqa: E402
from pyclient import BusError  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

# A service written with pyclient: owns its name, answers `echo` with the
# params and `who` with the environment it was started with, until killed.
SERVICE = r'''
import os, sys
sys.path.insert(0, %r)
from pyclient import Client
name = sys.argv[1]
c = Client(os.environ["BUS_ADDRESS"])
c.hello(name="activated " + name)
c.request_name(name)
while True:
    c.serve({"echo": lambda params, call: params,
             "who": lambda params, call: {"activation_name": os.environ.get("BUS_ACTIVATION_NAME"),
                                          "notify": os.environ.get("NOTIFY_SOCKET")}})
''' % HERE


class Activation(DaemonTest):
    def setUp(self):
        self.services = tempfile.mkdtemp(prefix="busd-services-")
        self.addCleanup(shutil.rmtree, self.services, True)
        self.script = os.path.join(self.services, "service.py")
        with open(self.script, "w") as f:
            f.write(SERVICE)
        self.write("org.test.Echo", {"exec": [sys.executable, self.script, "org.test.Echo"]})
        self.write("org.test.Crash", {"exec": ["/bin/sh", "-c", "exit 3"], "timeout_ms": 60000})
        self.write("org.test.Silent", {"exec": ["/bin/sleep", "30"], "timeout_ms": 300})
        self.write("org.test.Missing", {"exec": ["/nonexistent/service"], "timeout_ms": 60000})
        with open(os.path.join(self.services, "org.test.Bad.json"), "w") as f:
            f.write('{"name": "org.test.Bad", "exec": ["relative"]}')
        self.busd_args = ("--services-dir", self.services)
        super().setUp()
        self.addCleanup(self.kill_services)

    def kill_services(self):
        # the services we started outlive busd on purpose (they are clients); end them here
        os.system("pkill -f %s >/dev/null 2>&1; pkill -f 'sleep 30' >/dev/null 2>&1" % self.script)

    def write(self, name, body):
        with open(os.path.join(self.services, name + ".json"), "w") as f:
            json.dump(dict(body, name=name), f)

    def activatable(self, client):
        return {a["name"]: a["starting"] for a in client.call("org.busd", "list")["activatable"]}

    def test_list_shows_activatable_names_and_skips_bad_files(self):
        c = self.connect()
        self.assertEqual(self.activatable(c), {"org.test.Echo": False, "org.test.Crash": False,
                                               "org.test.Silent": False, "org.test.Missing": False})
        self.assertIn("org.test.Bad.json skipped: exec[0] must be an absolute path", self.daemon.log())

    def test_call_starts_the_service_and_is_answered(self):
        a, b = self.connect(), self.connect(seqpacket=True)
        ids = [a.call_async("org.test.Echo", "echo", {"n": 1}), a.call_async("org.test.Echo", "echo", {"n": 2})]
        idb = b.call_async("org.test.Echo", "echo", {"n": 3})
        self.assertEqual([a.result(i) for i in ids], [{"n": 1}, {"n": 2}])
        self.assertEqual(b.result(idb), {"n": 3})
        # started once, with its name and without busd's own systemd variables
        owner = a.call("org.busd", "owner", {"name": "org.test.Echo"})["owner"]
        self.assertEqual(a.call("org.test.Echo", "who"), {"activation_name": "org.test.Echo", "notify": None})
        self.assertEqual(a.call("org.busd", "owner", {"name": "org.test.Echo"})["owner"], owner)
        self.assertEqual(self.daemon.stats()["held_calls"], 0)

    def test_service_that_exits_fails_waiting_calls_at_once(self):
        c = self.connect()
        # timeout_ms is 60 s: an answer now can only come from the exit
        err = self.assertRaisesBus("activation_failed", c.call, "org.test.Crash", "x")
        self.assertIn("exited with status 3 before taking the name", err.msg["message"])
        self.assertAlive(c)

    def test_service_that_cannot_start_fails_at_once(self):
        c = self.connect()
        err = self.assertRaisesBus("activation_failed", c.call, "org.test.Missing", "x")
        self.assertIn("org.test.Missing", err.msg["message"])

    def test_service_that_never_takes_its_name_fails_at_the_deadline(self):
        c = self.connect()
        err = self.assertRaisesBus("activation_failed", c.call, "org.test.Silent", "x")
        self.assertIn("did not take the name within 300 ms", err.msg["message"])

    def test_not_activatable_is_still_no_owner(self):
        c = self.connect()
        self.assertRaisesBus("no_owner", c.call, "org.test.Nobody", "x")
        self.assertEqual(self.daemon.stats()["held_calls"], 0)

    def test_reload_reads_new_activation_files(self):
        c = self.connect()
        self.write("org.test.Late", {"exec": [sys.executable, self.script, "org.test.Late"]})
        os.unlink(os.path.join(self.services, "org.test.Crash.json"))
        self.daemon.proc.send_signal(signal.SIGHUP)
        # each `list` is a round trip; the signal is handled between two of them
        for _ in range(2000):
            names = self.activatable(c)
            if "org.test.Late" in names:
                break
        self.assertIn("org.test.Late", names)
        self.assertNotIn("org.test.Crash", names)
        self.assertEqual(c.call("org.test.Late", "echo", "hi"), "hi")


if __name__ == "__main__":
    main()
