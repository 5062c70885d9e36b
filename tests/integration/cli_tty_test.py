#!/usr/bin/env python3
"""`bus status` and `bus list` on a terminal (issue 12): the real `bus` on a
pseudo-terminal whose window size the test sets (TIOCSWINSZ), against a real
busd with quotas, and a service with a long name and display name.

- no line is wider than the terminal (80 and 60 columns, and $COLUMNS);
  cut cells end with an ellipsis;
- byte counts have units, a quota is shown as used/limit (no raw JSON);
- --full shows the long values whole; piped output is the JSON, unchanged.

Run one test: cli_tty_test.py Tty.test_...
"""
import fcntl
import json
import os
import pty
import shutil
import struct
import subprocess
import tempfile
import termios
import unittest

from cli_test import WAIT, BusTest, read_pty
from daemon_harness import Daemon

LONG_NAME = "org.example.AVeryLongServiceNameThatDoesNotFit.OnAnyTerminal.Clock"
POLICY = {"default": {v: "allow" for v in ("connect", "own", "call", "publish", "subscribe", "see")},
          # root is not limited by the default: an override gives the test's uid (root) limits
          "quotas": {"overrides": [{"for": {"uid": os.geteuid()}, "connections": 64, "queue_bytes": 8388608,
                                    "names": 32}]}}


class Tty(BusTest):
    def setUp(self):
        pdir = tempfile.mkdtemp(prefix="bus-cli-tty-policy-")
        self.addCleanup(shutil.rmtree, pdir, True)
        with open(os.path.join(pdir, "policy.json"), "w") as f:
            json.dump(POLICY, f)
        self.daemon = Daemon("--policy-dir", pdir)
        self.addCleanup(self.daemon.stop)
        self.addr = self.daemon.stream_addr
        self.tmp = tempfile.mkdtemp(prefix="bus-cli-tmp-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.serve(LONG_NAME, "now", "date", opts=("--declare", "the time " * 20))

    def run_tty(self, *args, cols=80, rows=24, env=None):
        """bus ARGS with standard output on a terminal of cols x rows;
        returns (exit code, output lines)."""
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        if env is None:
            env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
        env = dict(env, NO_COLOR="1", LANG="C.UTF-8")
        env.pop("LC_ALL", None)
        p = subprocess.Popen(self.argv(args), stdout=slave, stderr=subprocess.PIPE, env=env)
        os.close(slave)
        out = read_pty(master)
        _, err = p.communicate(timeout=WAIT)
        self.assertEqual(p.returncode, 0, err)
        return out.decode().replace("\r\n", "\n").splitlines()

    def assert_fits(self, lines, cols):
        for line in lines:
            self.assertLessEqual(len(line), cols, "wider than %d columns: %r" % (cols, line))

    def test_status_fits_the_terminal_with_units_and_quotas(self):
        for cols in (80, 60):
            lines = self.run_tty("status", cols=cols)
            self.assert_fits(lines, cols)
            text = "\n".join(lines)
            self.assertNotIn("{", text)  # no raw JSON (the quota)
            self.assertRegex(text, r"bytes_in +[0-9.]+ (B|KiB)")
            uids = lines[lines.index("uids:") + 1:]
            header, row = uids[0].split(), uids[1].split()
            self.assertEqual(header[0], "UID")
            self.assertRegex(row[1], r"^[0-9]+/64$")  # connections: used/limit
            self.assertRegex(uids[1], r"[0-9.]+ (B|KiB|MiB)/8 MiB")  # queue bytes: used/limit, in units
            peers = lines[lines.index("peers:") + 1:]
            self.assertTrue(any("\u2026" in line for line in peers), peers)  # the long display name, cut

    def test_list_and_peers_fit_and_full_shows_everything(self):
        for verb in (("list",), ("list", "--peers")):
            lines = self.run_tty(*verb, cols=80)
            self.assert_fits(lines, 80)
            self.assertNotIn(LONG_NAME, "\n".join(lines))
            self.assertIn("\u2026", "\n".join(lines))
            full = "\n".join(self.run_tty(*verb, "--full", cols=80))
            self.assertIn(LONG_NAME, full)
            self.assertIn("bus serve " + LONG_NAME[:40], full)

    def test_columns_overrides_the_window_size(self):
        lines = self.run_tty("list", cols=200, env=dict(os.environ, COLUMNS="50"))
        self.assert_fits(lines, 50)
        self.assertEqual(lines[0].split()[0], "NAME")

    def test_piped_output_is_the_json_unchanged(self):
        res = json.loads(self.bus_ok("status"))
        self.assertIsInstance(res["uids"][0]["quota"], dict)
        self.assertIsInstance(res["bytes_in"], int)
        self.assertEqual(json.loads(self.bus_ok("status", "--full")).keys(), res.keys())
        names = json.loads(self.bus_ok("list"))["names"]
        self.assertIn(LONG_NAME, [n["name"] for n in names])


if __name__ == "__main__":
    unittest.main()
