"""test_reliability_common.py: helpers shared by the test_reliability_*.py
files (issue 5, docs/reliability.md). No tests here.

Sizes scale down when busd is a sanitizer build (BUS_SANITIZE_BUILD=1, or
the binary links AddressSanitizer) or runs under $BUSD_WRAPPER (valgrind):
such a daemon is slower and its memory figures include redzones and shadow
memory (under a wrapper, the tests that read busd's RSS skip themselves:
daemon_harness.Daemon.rss_kib). Every scaled figure keeps the stated minimum
in the plain build.

Observing the daemon from /proc: RSS (daemon_harness.Daemon.rss_kib), open
descriptors, CPU time, limits. Standard library only.
"""
import json
import os
import resource
import select
import socket
import sys
import time

from daemon_harness import BUSD, WAIT

ASAN_ENV = {"ASAN_OPTIONS": ":".join(filter(None, [os.environ.get("ASAN_OPTIONS"), "quarantine_size_mb=1"]))}


def _busd_is_asan():
    try:
        with open(BUSD if os.path.isabs(BUSD) else _which(BUSD), "rb") as f:
            return b"__asan_init" in f.read()
    except (OSError, TypeError):
        return False


def _which(name):
    for d in os.environ.get("PATH", "").split(os.pathsep):
        p = os.path.join(d, name)
        if os.access(p, os.X_OK):
            return p
    return None


# busd exec'd through $BUSD_WRAPPER (valgrind, scripts/valgrind.sh) is slower still
WRAPPED = bool(os.environ.get("BUSD_WRAPPER", "").strip())
SANITIZED = os.environ.get("BUS_SANITIZE_BUILD") == "1" or _busd_is_asan() or WRAPPED


def scaled(plain, sanitized):
    """plain in a plain build, sanitized against a sanitizer build."""
    return sanitized if SANITIZED else plain


def report(text):
    """A figure for docs/reliability.md: printed with the test's output."""
    sys.stderr.write("\n[figure] %s\n" % text)
    sys.stderr.flush()


def raise_nofile(n):
    """Makes sure this process may open n descriptors (raising the hard limit
    too when allowed). Returns False if it cannot."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < n:
        try:
            if hard == resource.RLIM_INFINITY or hard >= n:
                resource.setrlimit(resource.RLIMIT_NOFILE, (n, hard))
            else:  # root may raise the hard limit too
                resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))
        except (ValueError, OSError):
            return False
    return True


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def cpu_seconds(pid):
    """User + system CPU time of a process, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # after the command name: state is field 3, utime 14, stime 15 (1-based)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def nofile_limits(pid):
    """(soft, hard) RLIMIT_NOFILE of a process, from /proc (None: unlimited)."""
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max open files"):
                soft, hard = line.split()[3:5]
                return (None if soft == "unlimited" else int(soft), None if hard == "unlimited" else int(hard))
    raise RuntimeError("no open files limit for %d" % pid)


def wait_until(fn, timeout=WAIT, interval=0.05):
    """Polls fn() until it returns something true; returns the last value.
    A guard for what the daemon does asynchronously (closing connections),
    never a timing assertion."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def counters_idle(daemon, connections=1):
    """The daemon's accounting is back to idle: only `connections` peers (the
    admin connection), and no pending or held calls, subscriptions, names,
    queued bytes or queued descriptors. Returns (ok, stats)."""
    st = daemon.stats()
    ok = (st["connections"] == connections and st["pending_calls"] == 0 and st["held_calls"] == 0 and
          st["subscriptions"] == 0 and st["names"] == 0 and st["queued_fds"] == 0 and
          all(p["queue_bytes"] == 0 and p["queue_messages"] == 0 and p["pending_calls"] == 0 for p in st["peers"]))
    return ok, st


def assert_back_to_idle(test, daemon, fds_before=None, connections=1):
    """Waits (bounded) for the daemon to finish closing what the test closed,
    then checks every accounting counter is back to idle and, if given, that
    its descriptor count is back to fds_before."""
    result = {}

    def idle():
        ok, result["stats"] = counters_idle(daemon, connections)
        if ok and fds_before is not None:
            result["fds"] = fd_count(daemon.pid)
            ok = result["fds"] == fds_before
        return ok

    if not wait_until(idle, timeout=WAIT * 2):
        st = result["stats"]
        test.fail("the daemon did not return to idle: connections %d (expected %d), pending_calls %d, "
                  "held_calls %d, subscriptions %d, names %d, descriptors %s (expected %s), busy peers %r" %
                  (st["connections"], connections, st["pending_calls"], st["held_calls"], st["subscriptions"],
                   st["names"], result.get("fds"), fds_before,
                   [p for p in st["peers"] if p["queue_bytes"] or p["pending_calls"]]))
    return result["stats"]


def raw_connect(daemon, seqpacket, timeout=WAIT):
    """A plain socket connected to the daemon (no hello, nothing sent)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET if seqpacket else socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(daemon.seq_path if seqpacket else daemon.stream_path)
    return s


def read_to_eof(sock, timeout=WAIT):
    """The messages the daemon sends on a raw socket until it closes the
    connection. Raises socket.timeout if it never does. A reset is the end
    on stream (it comes after the data); on seqpacket it comes first when
    the daemon closed with packets of ours unread, and the daemon's last
    packets are still there to read after it."""
    sock.settimeout(timeout)
    seq = sock.type == socket.SOCK_SEQPACKET
    msgs, buf = [], b""
    while True:
        try:
            data = sock.recv(1 << 20)
        except ConnectionResetError:
            if seq:
                continue
            data = b""
        if not data:
            break
        if seq:
            msgs.append(json.loads(data))
        else:
            buf += data
    if not seq:
        msgs = [json.loads(line) for line in buf.split(b"\n") if line.strip()]
    return msgs


def readable(sock):
    """True if the socket has data or an end of connection waiting."""
    p = select.poll()  # select() cannot watch descriptors beyond 1023
    p.register(sock, select.POLLIN)
    return bool(p.poll(0))
