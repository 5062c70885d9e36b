"""test_hardening_common.py: helpers shared by the test_hardening_*.py files
(issue 16: what one client can exhaust, policy leaks, protocol details). No
tests here.

- settle(): waits until a figure of the daemon stops moving (it has done
  what it will do with a flood), bounded;
- flood(): sends frames without reading and without blocking, stopping when
  the daemon stops reading (back-pressure);
- recv_with_fds(): one message and the descriptors that came with it;
- UnprivilegedDaemon: busd run as an unprivileged uid (setuid before exec),
  with a chosen descriptor limit;
- kill_children(): ends the processes a busd started (activated services).

Standard library only.
"""
import array
import ctypes
import json
import os
import select
import signal
import socket
import subprocess
import tempfile
import time

from daemon_harness import WAIT, Daemon, busd_command

PR_SET_PDEATHSIG = 1


def settle(fn, quiet=1.0, timeout=30.0, interval=0.1):
    """Polls fn() until its value has not changed for `quiet` seconds, or
    `timeout` passed; returns the last value. For "the daemon has read and
    handled what it will of a flood" (it may stop reading on purpose), never
    a timing assertion."""
    deadline = time.monotonic() + timeout
    last = fn()
    since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(interval)
        value = fn()
        if value != last:
            last, since = value, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
    return last


def flood(sock, frames, seqpacket, stall=2.0, budget=40.0):
    """Sends frames (bytes, one message each) on sock without reading
    anything and without blocking: stops when all are sent, when the socket
    stayed full for `stall` seconds (the daemon stopped reading), or after
    `budget` seconds. Returns the number of frames sent whole (on stream, a
    frame cut by the stop stays half sent). The socket's timeout is kept."""
    timeout = sock.gettimeout()
    sock.setblocking(False)
    p = select.poll()
    p.register(sock, select.POLLOUT)
    deadline = time.monotonic() + budget
    sent = 0
    try:
        if seqpacket:
            for f in frames:
                while True:
                    try:
                        sock.send(f)
                        sent += 1
                        break
                    except BlockingIOError:
                        if time.monotonic() > deadline or not p.poll(stall * 1000):
                            return sent
            return sent
        data = b"".join(f + b"\n" for f in frames)
        view = memoryview(data)
        off = 0
        while off < len(data):
            try:
                off += sock.send(view[off:off + 262144])
            except BlockingIOError:
                if time.monotonic() > deadline or not p.poll(stall * 1000):
                    break
        return data.count(b"\n", 0, off)
    finally:
        sock.settimeout(timeout)


def recv_with_fds(client, max_fds=4):
    """The next message on client's socket (nothing may be in its backlog or
    partial-line buffer) and the descriptors passed with it (SCM_RIGHTS)."""
    fds = []
    data = b""
    while True:
        chunk, anc, _, _ = client.sock.recvmsg(client.max_recv + 1, socket.CMSG_SPACE(4 * max_fds))
        if not chunk:
            raise ConnectionError("the daemon closed the connection")
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds += list(array.array("i", payload[:len(payload) - len(payload) % 4]))
        data += chunk
        if client.seqpacket or data.endswith(b"\n"):
            break
    return json.loads(data.strip()), fds


def kill_children(pid):
    """SIGKILL to the children of process pid (the services a busd started:
    they are its clients and outlive it on purpose)."""
    try:
        tasks = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return
    for t in tasks:
        try:
            with open("/proc/%d/task/%s/children" % (pid, t)) as f:
                kids = [int(k) for k in f.read().split()]
        except OSError:
            continue
        for k in kids:
            try:
                os.kill(k, signal.SIGKILL)
            except ProcessLookupError:
                pass


def daemon_children(pid):
    kids = []
    try:
        tasks = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return kids
    for t in tasks:
        try:
            with open("/proc/%d/task/%s/children" % (pid, t)) as f:
                kids += [int(k) for k in f.read().split()]
        except OSError:
            pass
    return kids


class UnprivilegedDaemon(Daemon):
    """A Daemon (daemon_harness) whose busd runs as uid/gid (setuid before
    exec; the test must be root), with RLIMIT_NOFILE (nofile, nofile) when
    given: without CAP_SYS_RESOURCE the kernel then limits the descriptors
    busd may have in flight (SCM_RIGHTS not yet received) to that number, and
    sendmsg fails with ETOOMANYREFS beyond it. An empty policy directory
    (the user bus's built-in policy: busd's uid and root may connect) and no
    configuration file."""

    def __init__(self, uid, gid, *args, nofile=None):
        self.dir = tempfile.mkdtemp(prefix="busd-py-unpriv-")
        os.chown(self.dir, uid, gid)
        self.stream_path = os.path.join(self.dir, "bus")
        self.seq_path = os.path.join(self.dir, "bus.seq")
        self.stream_addr = "unix:" + self.stream_path
        self.seq_addr = "seqpacket:" + self.seq_path
        self.log_path = os.path.join(self.dir, "busd.log")
        self._admin = None
        self.returncode = None
        for sub in ("policy", "services", "config"):
            os.mkdir(os.path.join(self.dir, sub))
            os.chown(os.path.join(self.dir, sub), uid, gid)
        env = dict(os.environ, HOME=self.dir, XDG_CONFIG_HOME=os.path.join(self.dir, "config"),
                   XDG_DATA_HOME=os.path.join(self.dir, "config"))
        env.pop("XDG_RUNTIME_DIR", None)

        def drop():
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            if nofile is not None:
                import resource
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
            # after setuid: a change of credentials clears the parent-death signal
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)

        r, w = os.pipe()
        with open(self.log_path, "wb") as log:
            try:
                self.proc = subprocess.Popen(
                    busd_command("--listen", self.stream_addr, "--listen", self.seq_addr, "--policy-dir",
                                 os.path.join(self.dir, "policy"), "--services-dir",
                                 os.path.join(self.dir, "services"), *args, "--ready-fd", str(w)),
                    pass_fds=(w,), stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env, preexec_fn=drop)
            finally:
                os.close(w)
        try:
            ready, _, _ = select.select([r], [], [], WAIT)
            line = os.read(r, 64) if ready else b""
        finally:
            os.close(r)
        self.pid = self.proc.pid
        if line != b"READY=1\n":
            self.stop(check=False)
            raise RuntimeError("busd did not become ready (%r): %s" % (line, self.log()))
