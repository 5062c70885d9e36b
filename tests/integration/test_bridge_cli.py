#!/usr/bin/env python3
"""`BUS/NAME` across a real bridge (docs/protocol.md §4.9), from the client
side that users have: libbus (LIBBUS_CALL, tests/integration/libbus_call.c,
which calls with bus_call() and with bus_call_async()) and bus(1) (BUS), over
both transports of the calling host. Two hosts in network namespaces
(netns.py) joined by a TLS link, as in test_bridge.py, whose helpers this
uses. Needs root (skips otherwise)."""
import json
import os
import subprocess
import unittest

import netns
from daemon_harness import WAIT, main
from test_bridge import Service, a_dials_b, callable_

BUS = os.environ.get("BUS")
LIBBUS_CALL = os.environ.get("LIBBUS_CALL")


@unittest.skipUnless(os.geteuid() == 0, "needs root for network namespaces")
@unittest.skipUnless(BUS and LIBBUS_CALL, "needs BUS and LIBBUS_CALL (ctest sets them)")
class RemoteDest(unittest.TestCase):
    def setUp(self):
        netns.require()

    def test_bus_slash_name_through_libbus_and_the_cli(self):
        with netns.line(["a", "b"]) as net:
            da, db = a_dials_b(net)
            s = Service(db, "org.example.OnB")
            try:
                callable_(da.connect(), "busd-b/org.example.OnB")
                for addr in (da.stream_addr, da.seq_addr):
                    # libbus: bus_call() and bus_call_async() give the same answer
                    p = subprocess.run([LIBBUS_CALL, addr, "busd-b/org.example.OnB", "echo", '{"n": 1}'],
                                       capture_output=True, text=True, timeout=WAIT)
                    self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
                    sync, async_ = [json.loads(line) for line in p.stdout.splitlines()]
                    self.assertEqual(sync, async_)
                    self.assertEqual(sync["params"], {"n": 1})
                    self.assertEqual(sync["remote"]["bus"], "busd-a")
                    self.assertTrue(sync["sender"].startswith("busd-a/:"), sync)
                    # an error answer crosses back with its code
                    p = subprocess.run([LIBBUS_CALL, addr, "busd-b/org.example.OnB", "fail"],
                                       capture_output=True, text=True, timeout=WAIT)
                    self.assertEqual(p.stdout.splitlines(), ["error nope", "error nope"], p.stderr)
                    # bus(1)
                    p = subprocess.run([BUS, "-a", addr, "call", "busd-b/org.example.OnB", "echo", "[1, 2]"],
                                       capture_output=True, text=True, timeout=WAIT)
                    self.assertEqual(p.returncode, 0, p.stderr)
                    res = json.loads(p.stdout)
                    self.assertEqual(res["params"], [1, 2])
                    self.assertEqual(res["remote"]["bus"], "busd-a")
                    p = subprocess.run([BUS, "-a", addr, "call", "busd-b/org.example.OnB", "fail"],
                                       capture_output=True, text=True, timeout=WAIT)
                    self.assertEqual(p.returncode, 1, p.stderr)
                    self.assertIn("nope: asked to fail", p.stderr)
                    # a bus no link leads to: no_owner, exit 69
                    p = subprocess.run([BUS, "-a", addr, "call", "busd-z/org.example.OnB", "echo"],
                                       capture_output=True, text=True, timeout=WAIT)
                    self.assertEqual(p.returncode, 69, p.stderr)
                    p = subprocess.run([LIBBUS_CALL, addr, "busd-z/org.example.OnB", "echo"],
                                       capture_output=True, text=True, timeout=WAIT)
                    self.assertEqual(p.stdout.splitlines(), ["error no_owner", "error no_owner"], p.stderr)
            finally:
                s.stop()


if __name__ == "__main__":
    main()
