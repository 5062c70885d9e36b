#!/usr/bin/env python3
"""The user bus's squatter checks (issue 12), through the real binaries
against a real busd: `bus` (tools/bus), libbus's bus_open(NULL) (loaded with
ctypes) and the Python package (python/src), each run as an unprivileged test
uid without XDG_RUNTIME_DIR, so that the user bus is /tmp/busd-$UID/bus.

- a /tmp/busd-$UID made by another uid (the squatter), one others may write
  to, or a symbolic link: refused before connecting, the path and the owner
  named (`bus` exits 77, libbus -EPERM, busd.UntrustedBus);
- a daemon run as another uid behind the user bus's socket (the directory
  the user's own, the socket a link to the squatter's): refused after
  connecting, by its SO_PEERCRED uid, both under /tmp and $XDG_RUNTIME_DIR;
  a root daemon there is accepted;
- busd itself refuses a /tmp/busd-$UID it does not own.

Needs root (to create other uids' files and setuid the clients); skipped
otherwise. Run one test: cli_userbus_test.py UserBus.test_...
"""
import ctypes
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from cli_test import BUS, WAIT
from daemon_harness import Daemon, spawn_busd
from test_hardening_common import UnprivilegedDaemon

LIBBUS = os.environ.get("LIBBUS", "")


def _sanitized(lib):
    """Is lib built with a sanitizer? Its runtime must then come first in the
    process, which a Python interpreter loading it through ctypes is not."""
    try:
        out = subprocess.run(["ldd", lib], capture_output=True, text=True, timeout=WAIT).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return "libasan" in out or "libubsan" in out or "libtsan" in out


# under ASan the ctypes check is left out: `bus` (linked with the same libbus)
# covers libbus's refusal there
if LIBBUS and _sanitized(LIBBUS):
    LIBBUS = ""
PYSRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python", "src")
USER = 61211  # the user whose bus it is
SQUATTER = 61200  # the other uid
EPERM = 1



def libbus_open():
    """bus_open(NULL) in this (forked, setuid) process: "r\nerror text"."""
    lib = ctypes.CDLL(LIBBUS)
    lib.bus_open_error.restype = ctypes.c_char_p
    bus = ctypes.c_void_p()
    r = lib.bus_open(None, b"userbus-test", ctypes.byref(bus))
    return "%d\n%s" % (r, lib.bus_open_error().decode())


def package_open():
    """busd.connect() in this (forked, setuid) process."""
    sys.path.insert(0, PYSRC)
    import busd
    try:
        busd.connect(timeout=5).close()
        return "connected"
    except busd.UntrustedBus as e:
        return "UntrustedBus %d %s" % (e.data["uid"], e.message)
    except Exception as e:  # noqa: BLE001 (reported to the test)
        return "%s %s" % (type(e).__name__, e)


def in_child(fn, env):
    """Runs fn() in a forked child as USER with env; returns (0, its text,
    ""). (The test's Python may be one USER cannot execute.)"""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            os.environ.clear()
            os.environ.update(env)
            as_user()
            os.write(w, fn().encode())
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        text = f.read().decode()
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), text, ""


def as_user():
    os.setgroups([])
    os.setgid(USER)
    os.setuid(USER)


def user_env(xdg=None):
    env = {k: v for k, v in os.environ.items() if k not in ("XDG_RUNTIME_DIR", "BUS_ADDRESS")}
    env["PYTHONPATH"] = PYSRC
    env["HOME"] = "/"
    if xdg:
        env["XDG_RUNTIME_DIR"] = xdg
    return env


def run(argv, env):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=WAIT, env=env, preexec_fn=as_user,
                       stdin=subprocess.DEVNULL, cwd="/")
    return p.returncode, p.stdout, p.stderr


@unittest.skipIf(os.geteuid() != 0, "needs root to make other uids' directories and setuid clients")
class UserBus(unittest.TestCase):
    def setUp(self):
        self.dir = "/tmp/busd-%d" % USER
        self.remove()
        self.addCleanup(self.remove)

    def remove(self):
        if os.path.islink(self.dir) or os.path.isfile(self.dir):
            os.unlink(self.dir)
        shutil.rmtree(self.dir, True)

    def clients(self, xdg=None):
        """(bus ping, libbus bus_open(NULL), the Python package) as USER."""
        env = user_env(xdg)
        ping = run([BUS, "ping"], env)
        lib = in_child(libbus_open, env) if LIBBUS else None
        pkg = in_child(package_open, env)
        return ping, lib, pkg

    def assert_refused(self, owner, *texts, xdg=None):
        ping, lib, pkg = self.clients(xdg)
        self.assertEqual(ping[0], 77, ping)
        self.assertIn("untrusted user bus", ping[2])
        self.assertIn("uid %d" % owner, ping[2])
        for t in texts:
            self.assertIn(t, ping[2])
        if lib:
            self.assertEqual(lib[0], 0, lib)
            r, why = lib[1].split("\n", 1)
            self.assertEqual(int(r), -EPERM, lib)
            self.assertIn("uid %d" % owner, why)
            for t in texts:
                self.assertIn(t, why)
        self.assertTrue(pkg[1].startswith("UntrustedBus %d " % owner), pkg)
        for t in texts:
            self.assertIn(t, pkg[1])

    def test_a_directory_made_by_another_uid_is_refused(self):
        os.mkdir(self.dir, 0o700)
        os.chown(self.dir, SQUATTER, SQUATTER)
        self.assert_refused(SQUATTER, self.dir, "belongs to uid %d" % SQUATTER)

    def test_a_directory_others_may_write_is_refused(self):
        os.mkdir(self.dir)
        os.chown(self.dir, USER, USER)
        os.chmod(self.dir, 0o777)
        self.assert_refused(USER, self.dir, "writable by group or others")

    def test_a_symbolic_link_is_refused(self):
        target = tempfile.mkdtemp(prefix="busd-py-userbus-")
        self.addCleanup(shutil.rmtree, target, True)
        os.chown(target, USER, USER)
        os.symlink(target, self.dir)
        self.assert_refused(0, self.dir, "symbolic link")

    def behind_user_path(self, daemon, dir):
        """Makes dir (USER's, private) hold `bus` and `bus.seq`: links to the
        daemon's sockets, which USER may open."""
        os.makedirs(dir, 0o700, exist_ok=True)
        os.chown(dir, USER, USER)
        os.chmod(dir, 0o700)
        os.chmod(daemon.dir, 0o711)
        for name in ("bus", "bus.seq"):
            os.chmod(os.path.join(daemon.dir, name), 0o666)
            os.symlink(os.path.join(daemon.dir, name), os.path.join(dir, name))

    def test_a_daemon_of_another_uid_is_refused_by_its_peer_uid(self):
        daemon = UnprivilegedDaemon(SQUATTER, SQUATTER)
        self.addCleanup(daemon.stop, check=False)
        self.behind_user_path(daemon, self.dir)
        self.assert_refused(SQUATTER, os.path.join(self.dir, "bus"), "runs as uid %d" % SQUATTER)
        rc, out, err = run([BUS, "--seqpacket", "ping"], user_env())
        self.assertEqual(rc, 77, err)
        self.assertIn("runs as uid %d" % SQUATTER, err)

    def test_the_peer_uid_is_checked_under_xdg_runtime_dir_too(self):
        xdg = tempfile.mkdtemp(prefix="busd-py-userbus-xdg-")
        self.addCleanup(shutil.rmtree, xdg, True)
        os.chown(xdg, USER, USER)
        daemon = UnprivilegedDaemon(SQUATTER, SQUATTER)
        self.addCleanup(daemon.stop, check=False)
        self.behind_user_path(daemon, os.path.join(xdg, "busd"))
        self.assert_refused(SQUATTER, os.path.join(xdg, "busd", "bus"), "runs as uid %d" % SQUATTER, xdg=xdg)

    def test_a_root_daemon_behind_the_path_is_accepted(self):
        pdir = tempfile.mkdtemp(prefix="busd-py-userbus-policy-")
        self.addCleanup(shutil.rmtree, pdir, True)
        with open(os.path.join(pdir, "policy.json"), "w") as f:
            json.dump({"default": {"connect": "allow"}}, f)
        daemon = Daemon("--system", "--policy-dir", pdir)
        self.addCleanup(daemon.stop, check=False)
        self.behind_user_path(daemon, self.dir)
        ping, lib, pkg = self.clients()
        self.assertEqual(ping[0], 0, ping)
        self.assertIn("busd", json.loads(ping[1])["server"])
        if lib:
            self.assertEqual(lib[1].split("\n")[0], "0", lib)
        self.assertEqual(pkg[1].strip(), "connected", pkg)

    def test_busd_refuses_a_directory_it_does_not_own(self):
        os.mkdir(self.dir, 0o700)
        os.chown(self.dir, SQUATTER, SQUATTER)
        proc, line = spawn_busd([], env=user_env(), log=subprocess.PIPE, prefix=("setpriv", "--reuid=%d" % USER,
                                                                          "--regid=%d" % USER, "--clear-groups"))
        _, err = proc.communicate(timeout=WAIT)
        self.assertEqual((line, proc.returncode), (b"", 1), err)
        self.assertIn(b"%s must belong to uid %d" % (self.dir.encode(), USER), err)
        self.assertEqual(os.listdir(self.dir), [])


if __name__ == "__main__":
    unittest.main()
