"""daemon_harness.py: a real busd on temporary sockets for the Python tests.

Daemon() makes a private directory, starts $BUSD with
    --listen unix:DIR/bus --listen seqpacket:DIR/bus.seq --ready-fd N
and returns once busd has written its readiness line to the pipe N: no sleeps,
no polling. busd gets PR_SET_PDEATHSIG, so it dies with the test process even
if the test is killed; stop() (SIGTERM) also fails the test if busd's log holds
a sanitizer report.

DaemonTest is the unittest base: one daemon per test, started with the class's
`busd_args`; `seqpacket` picks the transport of connect(). Test bodies shared by
both transports live in a mixin and are bound twice:

    class _Calls: ...tests...
    bind_transports(globals(), _Calls)   # defines CallsStream and CallsSeqpacket

Environment: BUSD (the busd binary), BUS_TEST_VERBOSE=1 (show busd's log),
BUS_TEST_KNOWN_BUGS=1 (run the tests skipped as known daemon bugs),
BUSD_WRAPPER (a command busd is exec'd through, split at blanks, e.g.
"valgrind --error-exitcode=99 --quiet": scripts/valgrind.sh; its error exit
status or a valgrind report in busd's log fails the test, and WAIT grows).
Standard library only.
"""
import ctypes
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import traceback
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pyclient import BusError, Client, Closed  # noqa: E402

BUSD = os.environ.get("BUSD", "busd")
WRAPPER = os.environ.get("BUSD_WRAPPER", "").split()
# seconds: a guard on blocking reads for what should be immediate (valgrind is ~20x slower)
WAIT = 60.0 if WRAPPER else 10.0
PR_SET_PDEATHSIG = 1


def _die_with_parent():
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


# a valgrind memcheck error or leak report (not its banner or summaries)
_VALGRIND_ERROR = re.compile(r"^==\d+== (Invalid |Conditional jump|Use of uninitialised|Syscall param|Mismatched |"
                             r"Source and destination overlap|Argument .* of function|Jump to |Process terminating|"
                             r"[\d,]+ bytes in [\d,]+ blocks are definitely lost)", re.M)


def sanitizer_report(text):
    """The part of a log that is a sanitizer or valgrind report, or None."""
    for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
        at = text.find(marker)
        if at >= 0:
            return text[at:at + 2000]
    m = _VALGRIND_ERROR.search(text)
    if m:
        return text[m.start():m.start() + 4000]
    return None


def busd_command(*args):
    """The argv that runs busd with args, through $BUSD_WRAPPER if set."""
    return WRAPPER + [BUSD] + list(args)


def spawn_busd(args, env=None, log=None, prefix=()):
    """Starts busd with args plus --ready-fd (after the command `prefix`, e.g.
    `ip netns exec NS`); returns (Popen, ready line) once it is ready, or once
    it exited (ready line b"")."""
    r, w = os.pipe()
    try:
        proc = subprocess.Popen(list(prefix) + busd_command(*args, "--ready-fd", str(w)), pass_fds=(w,),
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
                                preexec_fn=_die_with_parent)
    finally:
        os.close(w)
    try:
        ready, _, _ = select.select([r], [], [], WAIT)
        line = os.read(r, 64) if ready else b""
    finally:
        os.close(r)
    return proc, line


class Daemon:
    """busd on <dir>/bus (stream) and <dir>/bus.seq (seqpacket)."""

    def __init__(self, *args, env=None):
        self.dir = tempfile.mkdtemp(prefix="busd-py-")
        self.stream_path = os.path.join(self.dir, "bus")
        self.seq_path = os.path.join(self.dir, "bus.seq")
        self.stream_addr = "unix:" + self.stream_path
        self.seq_addr = "seqpacket:" + self.seq_path
        self.log_path = os.path.join(self.dir, "busd.log")
        self._admin = None
        self.returncode = None
        with open(self.log_path, "wb") as log:
            self.proc, line = spawn_busd(["--listen", self.stream_addr, "--listen", self.seq_addr] + list(args),
                                         env=env, log=log)
        self.pid = self.proc.pid
        if line != b"READY=1\n":
            self.stop(check=False)
            raise RuntimeError("busd did not become ready (%r): %s" % (line, self.log()))

    def addr(self, seqpacket=False):
        return self.seq_addr if seqpacket else self.stream_addr

    def connect(self, seqpacket=False, hello=True, timeout=WAIT, **members):
        """A new client; with hello (the default) it has done its handshake."""
        c = Client(self.addr(seqpacket), timeout=timeout)
        if hello:
            c.hello(**members)
        return c

    def log(self):
        try:
            with open(self.log_path, "r", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    # ---- observing the daemon ---------------------------------------------

    def admin(self):
        """A stream connection kept for stats/ping (one peer in the stats)."""
        if self._admin is None:
            self._admin = self.connect(name="test admin")
        return self._admin

    def stats(self):
        return self.admin().call("org.busd", "stats")

    def peer_stats(self, unique):
        for p in self.stats()["peers"]:
            if p["unique"] == unique:
                return p
        return None

    def ping(self):
        return self.admin().ping()

    def rss_kib(self):
        """The daemon's resident set size in KiB, from /proc. Under
        $BUSD_WRAPPER the process is the wrapper (valgrind), whose memory says
        nothing about busd's: the test is skipped."""
        if WRAPPER:
            raise unittest.SkipTest("busd's RSS is not measurable under $BUSD_WRAPPER (%s)" % WRAPPER[0])
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise RuntimeError("no VmRSS for busd")

    # ---- ending -------------------------------------------------------------

    def terminate(self):
        """SIGTERM and wait; returns the exit status. Keeps the directory."""
        if self.returncode is None:
            if self._admin:
                self._admin.close()
                self._admin = None
            self.proc.send_signal(signal.SIGTERM)
            self.returncode = self.proc.wait(WAIT)
        return self.returncode

    def kill(self):
        """SIGKILL: the socket files stay behind, as after a crash."""
        if self.returncode is None:
            self.proc.kill()
            self.returncode = self.proc.wait(WAIT)

    def stop(self, check=True):
        """Ends the daemon (SIGTERM), removes the directory; with check, a
        sanitizer report in the log or an unclean exit fails the test."""
        try:
            if self.returncode is None:
                try:
                    self.terminate()
                except subprocess.TimeoutExpired:
                    self.kill()
                    raise AssertionError("busd did not exit on SIGTERM")
                if check and self.returncode != 0:
                    raise AssertionError("busd exited with status %d: %s" % (self.returncode, self.log()[-2000:]))
            report = sanitizer_report(self.log())
            if os.environ.get("BUS_TEST_VERBOSE"):
                sys.stderr.write(self.log())
            if check and report:
                raise AssertionError("sanitizer report in busd's log:\n" + report)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            shutil.rmtree(self.dir, ignore_errors=True)


class Child:
    """A forked child process running fn(report), where report(text) sends a
    line to the parent. Used where the sending process itself matters (creds
    pid) or must die at a chosen moment (callee_gone)."""

    def __init__(self, fn, *args):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: never returns into the test runner
            os.close(r)
            status = 0
            try:
                fn(lambda text: os.write(w, (text + "\n").encode()), *args)
            except BaseException:
                traceback.print_exc()
                status = 1
            finally:
                os._exit(status)
        os.close(w)
        self.pid = pid
        self._r = r
        self._buf = b""
        self.status = None

    def readline(self, timeout=WAIT):
        """The child's next report line ("" at its exit)."""
        while b"\n" not in self._buf:
            ready, _, _ = select.select([self._r], [], [], timeout)
            if not ready:
                raise TimeoutError("no report from the child process")
            chunk = os.read(self._r, 4096)
            if not chunk:
                return ""
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return line.decode()

    def kill(self):
        if self.status is None:
            os.kill(self.pid, signal.SIGKILL)
            self.wait()

    def wait(self):
        if self.status is None:
            _, st = os.waitpid(self.pid, 0)
            self.status = os.waitstatus_to_exitcode(st)
            os.close(self._r)
        return self.status


class DaemonTest(unittest.TestCase):
    """A fresh busd per test (started with busd_args); connect() uses the
    class's transport."""

    seqpacket = False
    busd_args = ()
    busd_env = None  # extra environment variables for busd

    def setUp(self):
        env = dict(os.environ, **self.busd_env) if self.busd_env else None
        self.daemon = Daemon(*self.busd_args, env=env)
        self.addCleanup(self.daemon.stop)

    @property
    def transport(self):
        return "seqpacket" if self.seqpacket else "stream"

    def connect(self, hello=True, seqpacket=None, **members):
        c = self.daemon.connect(self.seqpacket if seqpacket is None else seqpacket, hello=hello, **members)
        self.addCleanup(c.close)
        return c

    def child(self, fn, *args):
        ch = Child(fn, *args)
        self.addCleanup(ch.kill)
        return ch

    # ---- assertions ----------------------------------------------------------

    def assertError(self, msg, code, id=None, contains=(), call=None):
        """msg is an `error` from the daemon with this code and id (None: null),
        whose message names each string in `contains`, and whose `call`
        member is `call` (None: absent)."""
        self.assertEqual(msg["type"], "error", msg)
        self.assertEqual(msg["code"], code, msg)
        self.assertIn("id", msg, msg)
        self.assertEqual(msg["id"], id, msg)
        self.assertEqual(msg.get("call"), call, msg)
        self.assertEqual(msg["sender"], "org.busd", msg)
        self.assertIsInstance(msg["message"], str, msg)
        for text in (contains,) if isinstance(contains, str) else contains:
            self.assertIn(text.lower(), msg["message"].lower(), msg)

    def next_error(self, client, code, id=None, contains=(), call=None):
        """Reads the next error (other messages stay in the backlog) and checks it."""
        msg = client.next_of("error")
        self.assertError(msg, code, id=id, contains=contains, call=call)
        return msg

    def assertAlive(self, client):
        """The connection is open and served: a ping round trip works."""
        self.assertTrue(client.ping()["server"].startswith("busd "))

    def fill_queue(self, victim, publisher, topic="fill.queue", size=8192, cap=10000):
        """Subscribes victim (which then stops reading) to topic, lossy (a
        lossless subscription would hold the publisher instead: test_flow.py),
        and publishes events of `size` bytes until the daemon reports one
        dropped: victim's queue is then full. Returns the number of events
        published."""
        victim.subscribe(topic, lossy=True)
        data = "x" * size
        for n in range(1, cap + 1):
            if publisher.publish(topic, data)["dropped"]:
                return n
        self.fail("%d events of %d bytes did not fill a queue" % (cap, size))

    def fill_queue_without_drop(self, victim, publisher, queue, topic="fill.queue"):
        """Fills victim's queue (of `queue` bytes; victim then stops reading)
        with lossy events while they fit, smaller as room runs out, so that
        less than 8 KiB is left and no event was dropped: a drop would start
        victim's stall clock, a relay that does not fit starts it later."""
        victim.subscribe(topic, lossy=True)
        for size in (8192, 1024):
            while queue - self.daemon.peer_stats(victim.unique)["queue_bytes"] > 2 * size + 512:
                self.assertEqual(publisher.publish(topic, "x" * size), {"delivered": 1, "dropped": 0})
        self.assertLess(queue - self.daemon.peer_stats(victim.unique)["queue_bytes"], 8192)

    def assertRaisesBus(self, code, fn, *args, **kw):
        with self.assertRaises(BusError) as ctx:
            fn(*args, **kw)
        self.assertEqual(ctx.exception.code, code, ctx.exception.msg)
        return ctx.exception


def known_bug(reason):
    """Marks a test that fails because of a daemon bug not fixed yet: it is
    skipped with the reason, unless BUS_TEST_KNOWN_BUGS=1 (to check a fix)."""
    if os.environ.get("BUS_TEST_KNOWN_BUGS"):
        return lambda test: test
    return unittest.skip("known daemon bug: " + reason)


def bind_transports(namespace, *mixins, base=DaemonTest):
    """Binds each mixin of tests to both transports: for _Foo, defines
    FooStream and FooSeqpacket in namespace (a module's globals())."""
    for m in mixins:
        name = m.__name__.lstrip("_")
        for suffix, seq in (("Stream", False), ("Seqpacket", True)):
            namespace[name + suffix] = type(name + suffix, (m, base), {"seqpacket": seq,
                                                                       "__module__": namespace["__name__"]})


def main():
    unittest.main(verbosity=2)


__all__ = ["BUSD", "WAIT", "WRAPPER", "BusError", "Child", "Client", "Closed", "Daemon", "DaemonTest",
           "bind_transports", "busd_command", "known_bug", "main", "sanitizer_report", "spawn_busd"]
