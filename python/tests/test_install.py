#!/usr/bin/env python3
"""The offline install of docs/python.md, as a user would run it: a fresh
virtual environment of Debian's Python, `pip install --no-index
--no-build-isolation ./python`, then the installed package (not the tree's)
talks to a real busd over both transports and its py.typed is there.
Skipped when Debian's python3 lacks venv, setuptools or wheel (scripts/deps.sh
installs them)."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from pkgtest import ROOT, WAIT, daemon_harness

PYTHON = os.environ.get("BUS_TEST_VENV_PYTHON", "/usr/bin/python3")

SCRIPT = r"""
import os, sys, busd, busd.aio, asyncio
assert busd.__file__.startswith(sys.prefix), busd.__file__
assert os.path.exists(os.path.join(os.path.dirname(busd.__file__), "py.typed"))
for addr in sys.argv[1:]:
    with busd.connect(addr) as bus:
        assert bus.ping()["server"].startswith("busd ")
        assert bus.publish("t", {"x": 1}) == busd.PublishAck(0, 0)
    async def main():
        bus = await busd.aio.connect(addr)
        assert (await bus.ping())["server"].startswith("busd ")
        await bus.close()
    asyncio.run(main())
print("ok")
"""


class Install(daemon_harness.DaemonTest):
    def test_offline_install_into_a_fresh_venv(self):
        probe = subprocess.run([PYTHON, "-c", "import venv, ensurepip, setuptools, wheel"], capture_output=True)
        if probe.returncode != 0:
            self.skipTest("%s lacks venv, setuptools or wheel: %s" % (PYTHON, probe.stderr.decode()[-200:]))
        tmp = tempfile.mkdtemp(prefix="busd-py-venv-")
        self.addCleanup(shutil.rmtree, tmp, True)
        venv = os.path.join(tmp, "v")
        # pip builds in the directory it is given: a copy keeps the tree clean
        src = os.path.join(tmp, "python")
        shutil.copytree(os.path.join(ROOT, "python"), src, ignore=shutil.ignore_patterns("build", "*.egg-info",
                                                                                            "__pycache__"))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON"))}
        env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
        for cmd in ([PYTHON, "-m", "venv", "--system-site-packages", venv],
                    [os.path.join(venv, "bin", "pip"), "install", "--no-index", "--no-build-isolation",
                     src]):
            r = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, timeout=300)
            self.assertEqual(r.returncode, 0, "%s:\n%s%s" % (" ".join(cmd), r.stdout.decode()[-3000:],
                                                             r.stderr.decode()[-3000:]))
        r = subprocess.run([os.path.join(venv, "bin", "python"), "-c", SCRIPT, self.daemon.stream_addr,
                            self.daemon.seq_addr], cwd=tmp, env=env, capture_output=True, timeout=10 * WAIT)
        self.assertEqual((r.returncode, r.stdout), (0, b"ok\n"), r.stderr.decode()[-3000:])


if __name__ == "__main__":
    sys.exit(unittest.main(verbosity=2))
