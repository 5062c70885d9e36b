"""notify_harness.py: systemd's side of busd's service protocol, for tests.

NotifySocket is a real NOTIFY_SOCKET: an AF_UNIX datagram socket the test
binds in its own directory; busd (libsystemd's sd_notify) sends its READY=1,
STATUS=, WATCHDOG=1, RELOADING=1 and STOPPING=1 datagrams to it. wait_for()
blocks on the socket (no sleeps) until a message with the wanted field comes.

activate() starts busd as systemd starts a socket-activated service: the
test creates the listening sockets, and a tiny launcher puts them at fds 3,
4, ... and execs busd with LISTEN_FDS, LISTEN_PID (its own pid, which exec
keeps) and LISTEN_FDNAMES, exactly as systemd does. Standard library only.
"""
import os
import select
import socket
import subprocess
import sys
import tempfile
import time

from daemon_harness import BUSD, WAIT, _die_with_parent

# Runs in the launched process: the fds named on the command line become 3, 4,
# ... (through high numbers, so that no move overwrites another), then exec.
LAUNCHER = r"""
import fcntl, os, sys
fds = [int(x) for x in sys.argv[1].split(",") if x]
high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 100) for fd in fds]
for fd in fds:
    os.close(fd)
for i, fd in enumerate(high):
    os.dup2(fd, 3 + i)
    os.close(fd)
env = dict(os.environ)
if sys.argv[2] != "-":
    env["LISTEN_FDS"] = str(len(fds))
    env["LISTEN_PID"] = os.environ.get("TEST_LISTEN_PID", str(os.getpid()))
    if sys.argv[3] != "-":
        env["LISTEN_FDNAMES"] = sys.argv[3]
os.execve(sys.argv[4], sys.argv[4:], env)
"""


def parse(datagram):
    """b"READY=1\\nSTATUS=x" -> {"READY": "1", "STATUS": "x"}"""
    fields = {}
    for line in datagram.decode().split("\n"):
        if "=" in line:
            k, v = line.split("=", 1)
            fields[k] = v
    return fields


class NotifySocket:
    def __init__(self, directory=None):
        self._own_dir = directory is None
        self.dir = directory or tempfile.mkdtemp(prefix="busd-notify-")
        self.path = os.path.join(self.dir, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.received = []  # every message, in order

    def env(self, **extra):
        return dict(os.environ, NOTIFY_SOCKET=self.path, **extra)

    def next(self, timeout=WAIT):
        """The next message (a dict), or None after timeout seconds."""
        ready, _, _ = select.select([self.sock], [], [], timeout)
        if not ready:
            return None
        msg = parse(self.sock.recv(65536))
        self.received.append(msg)
        return msg

    def wait_for(self, key, value=None, timeout=WAIT, match=None):
        """Reads messages until one has key (= value; and match(msg) if given);
        returns it. Fails after timeout seconds."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            msg = self.next(max(left, 0)) if left > 0 else None
            if msg is None:
                raise AssertionError("no %s%s from busd within %.1f s; got %r" %
                                     (key, "=" + value if value else "", timeout, self.received))
            if key in msg and (value is None or msg[key] == value) and (match is None or match(msg)):
                return msg

    def close(self):
        self.sock.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        if self._own_dir:
            os.rmdir(self.dir)


def listening_socket(path, kind=socket.SOCK_STREAM, listen=True):
    s = socket.socket(socket.AF_UNIX, kind)
    s.bind(path)
    if listen:
        s.listen(64)
    return s


def activate(socks, names, args=(), env=None, log=None, busd=None, set_listen=True):
    """Starts busd with the given socket objects as fds 3.. and
    LISTEN_FDNAMES=names (None: unset). The test keeps its socket objects
    (close them when done). Returns the Popen. set_listen=False passes the
    fds without LISTEN_* (busd must then ignore them)."""
    fds = [s.fileno() for s in socks]
    cmd = [sys.executable, "-c", LAUNCHER, ",".join(map(str, fds)), "x" if set_listen else "-",
           names if names is not None else "-", busd or BUSD] + list(args)
    return subprocess.Popen(cmd, pass_fds=fds, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
                            preexec_fn=_die_with_parent)
