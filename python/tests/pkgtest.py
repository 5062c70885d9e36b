"""pkgtest.py: what the package's tests share. Puts python/src (the package,
uninstalled) and tests/integration (daemon_harness.py: a real busd on
temporary sockets) on sys.path, and adds to DaemonTest a bus of the package
on the test's transport and a restart of busd on the same sockets."""
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
if os.environ.get("BUSD_PY_INSTALLED") is None:  # test the tree's package, not an installed one
    sys.path.insert(0, os.path.join(ROOT, "python", "src"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import daemon_harness  # noqa: E402
from daemon_harness import WAIT, DaemonTest, spawn_busd  # noqa: E402

import busd  # noqa: E402


class BusTest(DaemonTest):
    def addr(self):
        return self.daemon.addr(self.seqpacket)

    def bus(self, **kw):
        """A blocking bus of the package on this test's transport."""
        kw.setdefault("timeout", WAIT)
        b = busd.connect(self.addr(), **kw)
        self.addCleanup(b.close)
        return b

    def kill_daemon(self):
        self.daemon.kill()

    def start_again(self):
        """busd again on the same two sockets (after kill_daemon())."""
        with open(self.daemon.log_path, "ab") as log:
            proc, line = spawn_busd(["--listen", self.daemon.stream_addr, "--listen", self.daemon.seq_addr],
                                    log=log)

        def stop():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(WAIT)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self.addCleanup(stop)
        self.assertEqual(line, b"READY=1\n", self.daemon.log()[-2000:])
        return proc

    def until(self, cond, what, timeout=WAIT, step=None):
        """Runs step() (or sleeps) until cond() holds."""
        deadline = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > deadline:
                self.fail("timed out waiting for " + what)
            if step:
                step()
            else:
                time.sleep(0.01)


__all__ = ["BusTest", "WAIT", "busd", "daemon_harness"]
