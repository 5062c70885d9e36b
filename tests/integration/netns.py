"""netns.py: "hosts" as Linux network namespaces, for tests of busd's network bridge.

Every host is a network namespace created by the test, joined to others by veth
pairs carrying addresses of the test's own choosing. No address, interface or
route outside those namespaces is ever touched: each veth pair is created inside
one of the test's namespaces (`ip -n NS link add ... peer ... netns NS2`), so it
never appears in the root namespace, and dies with its namespaces.

    import netns
    netns.require()                           # unittest.SkipTest unless root and `ip netns` works
    with netns.line(["a", "b", "c"]) as net:  # a-b-c; also ring(), star(), mesh(), Net()
        da, db = net.busd("a", *bridge_args_a), net.busd("b", *bridge_args_b)
        c = da.connect()                      # pyclient.Client over da's AF_UNIX socket
        net.addr("b", "a")                    # "10.231.1.2": b's address on its link to a
        net.addr("b", "a", 6)                 # "fd00:231:1::2"
        net.cut("a", "b"); net.restore("a", "b")

API
---
Net(names, tmpdir=None)            context manager (also closed at exit by atexit). Creates one
                                   namespace per host name, brings lo up, sets the IPv6 sysctls
                                   (accept_dad=0, keep_addr_on_down=1). Host names: 1-13 of
                                   [A-Za-z0-9_.-] (the interface to peer P is named "v-P").
  .hosts, .prefix, .tmpdir, .links  host names in order; "bt<pid>-<n>-"; the Net's private
                                   directory; {frozenset({x, y}): Link}
  .ns(host) -> str                 the namespace's name (prefix + host), for `ip -n` / `ip netns exec`
  .link(x, y) -> Link              a veth pair x<->y: link number L = 1, 2, ... in creation order,
                                   x gets 10.231.L.1/24 and fd00:231:L::1/64, y gets .2 and ::2
                                   (IPv6 with nodad), MACs 02:00:0a:e7:LL:01/02, permanent
                                   neighbour entries both ways (no ARP/ND on the first packet);
                                   returns once both ends are up and routable, IPv6 included.
  .addr(host, peer, family=4)      host's address on its link to peer (KeyError: no such link)
  .addrs(host, family=4) -> list   host's addresses on all its links, in link order
  .run(host, argv, **kw)           subprocess.run(["ip", "netns", "exec", ns] + argv); defaults
                                   check=True, capture_output=True, text=True, timeout=WAIT
  .popen(host, argv, **kw)         subprocess.Popen likewise (dies with the test process; killed
                                   at close())
  .cut(x, y) / .restore(x, y)      `ip link set down` / `up` on both ends: new connections fail at
                                   once (no route). restore() puts back the addresses and
                                   neighbour entries and waits until both families are usable.
  .block(x, y) / .unblock(x, y)    a silent partition: both ends' egress qdisc becomes
                                   `pfifo limit 0` (every packet dropped, link still up, no error
                                   to the peer; no firewall needed); unblock() deletes it.
                                   unittest.SkipTest if the kernel refuses the qdisc.
  .can_connect(src, dst, family=4, addr=None, timeout=1.0) -> bool
                                   a plain TCP connect from a python in src to a listener in dst
                                   (on addr, default dst's address on its link to src, else its
                                   first address): the probe used to check a link.
  .busd(host, *args, env=None) -> NetDaemon
                                   busd inside the host's namespace, with
                                   --listen unix:TMP/<host>/bus --listen seqpacket:TMP/<host>/bus.seq
                                   plus args, ready (--ready-fd) when it returns, as
                                   daemon_harness.Daemon does it ($BUSD, $BUSD_WRAPPER, WAIT).
                                   A second busd on the same host gets TMP/<host>.2/ and so on.
  .close()                         stops the daemons (SIGTERM; SIGKILL if stuck), kills every
                                   process left in the namespaces, deletes the namespaces (and so
                                   the veths), removes tmpdir. Idempotent. On a clean `with` exit
                                   a daemon's unclean exit or sanitizer report is raised after the
                                   cleanup (AssertionError), as Daemon.stop() does.
NetDaemon                          a daemon_harness.Daemon (stream_addr, seq_addr, connect(),
                                   log(), stop(), terminate(), kill(), stats(), ping(), pid, dir)
                                   plus .host and .ns. AF_UNIX sockets are filesystem paths, so
                                   the test process connects from the root namespace.
Link                               .index, .x, .y, .hosts, .ifname(host), .addr(host, family=4),
                                   .peer(host), .net
line(names) / ring(names) / star(center, leaves) / mesh(names)
                                   a Net with those links (ring of 2 is one link; star's hosts
                                   are [center] + leaves). Keyword arguments go to Net().
require()                          SkipTest (with the reason) unless root, `ip` exists and a probe
                                   namespace with a veth pair can be made. Net() calls it.
sweep_stale()                      deletes namespaces "bt<pid>-..." and directories
                                   TMP/bt<pid>-* (with our marker) whose pid is not alive: what a
                                   killed run (SIGKILL, ctest timeout) left. Run once per process
                                   by the first Net().

Names carry the creating process's full pid ("bt<pid>-<n>-<host>", n counting the process's
Nets) so that sweep_stale() can tell a crashed run's leftovers from a live run's namespaces; the
pid is never the namespace's only guard: only names of that exact form are considered.
Cleanup happens on `with` exit (exception or not), at interpreter exit (atexit), on SIGTERM
(turned into SystemExit if SIGTERM had the default action) and, for SIGKILL, by the next run's
sweep. busd and popen() children also get PR_SET_PDEATHSIG.

No routing: hosts only reach their direct neighbours (forwarding stays off). Standard library
only; needs root and iproute2 (ip, tc).
"""
import atexit
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemon_harness  # noqa: E402
from daemon_harness import WAIT, busd_command  # noqa: E402

IP = shutil.which("ip") or "/usr/sbin/ip"
TC = shutil.which("tc") or "/usr/sbin/tc"
PID = os.getpid()
_NAME = re.compile(r"^bt(\d+)-(\d+|probe)-")  # what sweep_stale() may delete
_HOST = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,12}$")
_MARKER = ".busd-netns"
_lock = threading.Lock()
_live = []          # Nets not closed yet (closed by atexit)
_counter = [0]
_require_result = []  # [None] once require() passed, [reason] if it failed
_swept = [False]


def _ip(*args, check=True, timeout=WAIT):
    """Runs ip with args; returns stdout. RuntimeError with ip's message on failure."""
    p = subprocess.run([IP] + list(args), stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=timeout)
    if check and p.returncode != 0:
        raise RuntimeError("ip %s: %s" % (" ".join(args), (p.stderr or p.stdout).strip()))
    return p.stdout


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _netns_names():
    out = _ip("netns", "list", check=False)
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def _kill_ns_processes(ns):
    """SIGKILLs every process inside namespace ns (only ever one of ours)."""
    for _ in range(50):
        pids = [int(p) for p in _ip("netns", "pids", ns, check=False).split() if p.isdigit()]
        pids = [p for p in pids if p != os.getpid()]
        if not pids:
            return
        for p in pids:  # a dead process (zombie or not) has left the namespace
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.01)


def _delete_ns(ns):
    _kill_ns_processes(ns)
    _ip("netns", "del", ns, check=False)


def require():
    """Raises unittest.SkipTest unless this process can build namespaces with veth pairs."""
    with _lock:
        if not _require_result:
            _require_result.append(_probe())
        reason = _require_result[0]
    if reason:
        raise unittest.SkipTest(reason)


def _probe():
    if os.geteuid() != 0:
        return "network namespace tests need root"
    if not os.path.exists(IP):
        return "no `ip` command (iproute2)"
    ns = "bt%d-probe-" % PID
    try:
        _ip("netns", "add", ns)
        try:
            _ip("-n", ns, "link", "set", "lo", "up")
            _ip("-n", ns, "link", "add", "v-x", "type", "veth", "peer", "name", "v-y")
        finally:
            _delete_ns(ns)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        return "`ip netns` is unusable here: %s" % e
    return None


def sweep_stale():
    """Removes what crashed runs left: namespaces bt<pid>-<n|probe>-* and marked
    directories TMP/bt<pid>-* whose pid is no longer alive. Returns the names removed."""
    removed = []
    for ns in _netns_names():
        m = _NAME.match(ns)
        if m and int(m.group(1)) != PID and not _alive(int(m.group(1))):
            _delete_ns(ns)
            removed.append(ns)
    tmp = tempfile.gettempdir()
    try:
        entries = os.listdir(tmp)
    except OSError:
        entries = []
    for e in entries:
        m = re.match(r"^bt(\d+)-", e)
        path = os.path.join(tmp, e)
        if m and int(m.group(1)) != PID and not _alive(int(m.group(1))) \
                and os.path.exists(os.path.join(path, _MARKER)):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _close_all():
    for net in list(_live):
        try:
            net.close(check=False)
        except Exception:  # best effort at exit
            pass


def _on_sigterm(signum, frame):
    raise SystemExit(128 + signum)


_installed = [False]


def _install_exit_hooks():
    if _installed[0]:
        return
    _installed[0] = True
    atexit.register(_close_all)
    if threading.current_thread() is threading.main_thread() \
            and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _on_sigterm)


class Link:
    """One veth pair between hosts x and y (x has the .1 addresses)."""

    def __init__(self, net, index, x, y):
        self.net, self.index, self.x, self.y = net, index, x, y
        self.hosts = (x, y)

    def _end(self, host):
        if host == self.x:
            return 1
        if host == self.y:
            return 2
        raise KeyError("%s is not on link %s-%s" % (host, self.x, self.y))

    def peer(self, host):
        return self.y if self._end(host) == 1 else self.x

    def ifname(self, host):
        return "v-" + self.peer(host)

    def addr(self, host, family=4):
        end = self._end(host)
        if family == 4:
            return "10.231.%d.%d" % (self.index, end)
        if family == 6:
            return "fd00:231:%d::%d" % (self.index, end)
        raise ValueError("family is 4 or 6")

    def mac(self, host):
        return "02:00:0a:e7:%02x:%02x" % (self.index, self._end(host))

    def __repr__(self):
        return "<Link %d %s-%s>" % (self.index, self.x, self.y)


class NetDaemon(daemon_harness.Daemon):
    """busd inside a namespace: a daemon_harness.Daemon whose process was
    started through `ip netns exec` (which execs, so .pid is busd's)."""

    def __init__(self, ns, host, dir, *args, env=None):
        self.ns, self.host = ns, host
        self.dir = dir
        os.mkdir(dir)
        self.stream_path = os.path.join(dir, "bus")
        self.seq_path = os.path.join(dir, "bus.seq")
        self.stream_addr = "unix:" + self.stream_path
        self.seq_addr = "seqpacket:" + self.seq_path
        self.log_path = os.path.join(dir, "busd.log")
        self._admin = None
        self.returncode = None
        with open(self.log_path, "wb") as log:
            self.proc, line = _spawn_in(ns, ["--listen", self.stream_addr, "--listen", self.seq_addr] + list(args),
                                        env=env, log=log)
        self.pid = self.proc.pid
        if line != b"READY=1\n":
            self.stop(check=False)
            raise RuntimeError("busd on %s did not become ready (%r): %s" % (host, line, self.log()))

    def __repr__(self):
        return "<NetDaemon %s pid %d>" % (self.host, self.pid)


def _spawn_in(ns, args, env=None, log=None):
    """daemon_harness.spawn_busd, inside namespace ns."""
    return daemon_harness.spawn_busd(args, env=env, log=log, prefix=(IP, "netns", "exec", ns))


_LISTENER = r"""
import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam)
s.bind((sys.argv[1], 0))
s.listen(8)
s.settimeout(float(sys.argv[2]))
print(s.getsockname()[1], flush=True)
try:
    c, peer = s.accept()
    print("accepted", peer[0], flush=True)
except OSError as e:
    print("no connection:", e, flush=True)
"""

_CONNECTOR = r"""
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3])).close()
except OSError as e:
    print(e)
    sys.exit(1)
"""


class Net:
    """A set of hosts (network namespaces) and the links between them."""

    def __init__(self, names, tmpdir=None):
        require()
        names = list(names)
        for n in names:
            if not _HOST.match(n):
                raise ValueError("host name %r: 1-13 of [A-Za-z0-9_.-]" % n)
        if len(set(names)) != len(names):
            raise ValueError("duplicate host names in %r" % names)
        with _lock:
            _counter[0] += 1
            n = _counter[0]
            if not _swept[0]:
                _swept[0] = True
                sweep_stale()
        _install_exit_hooks()
        self.prefix = "bt%d-%d-" % (PID, n)
        self.hosts = []
        self.links = {}
        self._daemons = []
        self._procs = []
        self._busd_dirs = {}
        self._closed = False
        self._own_tmpdir = tmpdir is None
        self.tmpdir = tmpdir or tempfile.mkdtemp(prefix=self.prefix)
        open(os.path.join(self.tmpdir, _MARKER), "w").close()
        _live.append(self)
        try:
            for h in names:
                self._add_host(h)
        except BaseException:
            self.close(check=False)
            raise

    # ---- building ---------------------------------------------------------------

    def ns(self, host):
        if host not in self.hosts:
            raise KeyError("no host %r in %r" % (host, self.hosts))
        return self.prefix + host

    def _add_host(self, host):
        ns = self.prefix + host
        _ip("netns", "add", ns)
        self.hosts.append(host)
        _ip("-n", ns, "link", "set", "lo", "up")
        # new interfaces: no DAD (addresses usable at once), IPv6 addresses kept across down/up
        conf = "/proc/sys/net/ipv6/conf/"
        script = "; ".join("echo %s > %s%s/%s" % (v, conf, d, k)
                           for d in ("all", "default")
                           for k, v in (("disable_ipv6", 0), ("accept_dad", 0), ("keep_addr_on_down", 1)))
        self.run(host, ["sh", "-ec", script])

    def link(self, x, y):
        """A veth pair between x and y, configured and usable when this returns."""
        if x == y:
            raise ValueError("a link needs two hosts")
        key = frozenset((x, y))
        if key in self.links:
            raise ValueError("hosts %s and %s are already linked" % (x, y))
        nx, ny = self.ns(x), self.ns(y)
        if len(self.links) >= 254:
            raise ValueError("at most 254 links")
        lk = Link(self, len(self.links) + 1, x, y)
        _ip("-n", nx, "link", "add", lk.ifname(x), "address", lk.mac(x), "type", "veth",
            "peer", "name", lk.ifname(y), "address", lk.mac(y), "netns", ny)
        self.links[key] = lk
        self._configure(lk)
        return lk

    def _configure(self, lk):
        """Addresses up, neighbours, link up (idempotent), then waits until usable."""
        for h in lk.hosts:
            ns, dev = self.ns(h), lk.ifname(h)
            _ip("-n", ns, "addr", "replace", lk.addr(h, 4) + "/24", "dev", dev)
            _ip("-n", ns, "-6", "addr", "replace", lk.addr(h, 6) + "/64", "dev", dev, "nodad")
        for h in lk.hosts:
            _ip("-n", self.ns(h), "link", "set", lk.ifname(h), "up")
        for h in lk.hosts:
            p = lk.peer(h)
            for fam in (4, 6):
                _ip("-n", self.ns(h), "neigh", "replace", lk.addr(p, fam), "lladdr", lk.mac(p),
                    "dev", lk.ifname(h), "nud", "permanent")
        self._wait_usable(lk)

    def _usable(self, lk, host):
        ns, dev = self.ns(host), lk.ifname(host)
        info = json.loads(_ip("-n", ns, "-j", "addr", "show", "dev", dev) or "[]")
        if not info or info[0].get("operstate") != "UP":
            return False
        want = {lk.addr(host, 4), lk.addr(host, 6)}
        for a in info[0].get("addr_info", []):
            if a.get("local") in want and not (a.get("tentative") or a.get("dadfailed")):
                want.discard(a["local"])
        if want:
            return False
        for fam in (4, 6):
            out = _ip("-n", ns, "-%d" % fam, "-j", "route", "get", lk.addr(lk.peer(host), fam), check=False)
            try:
                if json.loads(out)[0].get("dev") != dev:
                    return False
            except (ValueError, IndexError, AttributeError):
                return False
        return True

    def _wait_usable(self, lk):
        deadline = time.monotonic() + WAIT
        while not all(self._usable(lk, h) for h in lk.hosts):
            if time.monotonic() > deadline:
                raise RuntimeError("link %s-%s did not become usable: %s" % (
                    lk.x, lk.y, _ip("-n", self.ns(lk.x), "addr", "show", check=False)))
            time.sleep(0.01)

    def _link(self, x, y):
        try:
            return self.links[frozenset((x, y))]
        except KeyError:
            raise KeyError("no link between %s and %s" % (x, y)) from None

    # ---- addresses ----------------------------------------------------------------

    def addr(self, host, peer, family=4):
        return self._link(host, peer).addr(host, family)

    def addrs(self, host, family=4):
        return [lk.addr(host, family) for lk in sorted(self.links.values(), key=lambda lk: lk.index)
                if host in lk.hosts]

    # ---- processes ------------------------------------------------------------------

    def _argv(self, host, argv):
        return [IP, "netns", "exec", self.ns(host)] + list(argv)

    def run(self, host, argv, **kw):
        kw.setdefault("check", True)
        kw.setdefault("timeout", WAIT)
        if "stdout" not in kw and "stderr" not in kw:
            kw.setdefault("capture_output", True)
        if "encoding" not in kw and "errors" not in kw and "universal_newlines" not in kw:
            kw.setdefault("text", True)
        if "input" not in kw:
            kw.setdefault("stdin", subprocess.DEVNULL)
        return subprocess.run(self._argv(host, argv), **kw)

    def popen(self, host, argv, **kw):
        kw.setdefault("preexec_fn", daemon_harness._die_with_parent)
        p = subprocess.Popen(self._argv(host, argv), **kw)
        self._procs.append(p)
        return p

    def busd(self, host, *args, env=None):
        """busd inside host's namespace on TMP/<host>/bus and bus.seq, plus args."""
        ns = self.ns(host)
        k = self._busd_dirs[host] = self._busd_dirs.get(host, 0) + 1
        d = os.path.join(self.tmpdir, host if k == 1 else "%s.%d" % (host, k))
        daemon = NetDaemon(ns, host, d, *args, env=env)
        self._daemons.append(daemon)
        return daemon

    def can_connect(self, src, dst, family=4, addr=None, timeout=1.0):
        """Whether a TCP connection from src to a listener in dst on addr succeeds."""
        if addr is None:
            if frozenset((src, dst)) in self.links:
                addr = self.addr(dst, src, family)
            else:
                mine = self.addrs(dst, family)
                if not mine:
                    raise ValueError("host %s has no address" % dst)
                addr = mine[0]
        listener = self.popen(dst, [sys.executable, "-c", _LISTENER, addr, str(timeout + WAIT)],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
        try:
            port = listener.stdout.readline().strip()
            if not port.isdigit():
                raise RuntimeError("listener in %s on %s did not start" % (dst, addr))
            p = self.run(src, [sys.executable, "-c", _CONNECTOR, addr, port, str(timeout)], check=False,
                         timeout=timeout + WAIT)
            ok = p.returncode == 0
            if ok:  # the listener saw it, from src's side of the link
                line = listener.stdout.readline()
                if not line.startswith("accepted"):
                    raise RuntimeError("connected to %s:%s but the listener says %r" % (addr, port, line))
            return ok
        finally:
            listener.kill()
            listener.wait()
            listener.stdout.close()
            self._procs.remove(listener)

    # ---- faults ---------------------------------------------------------------------

    def cut(self, x, y):
        """Both ends of the x-y link down: routes go, new connections fail at once."""
        lk = self._link(x, y)
        for h in lk.hosts:
            _ip("-n", self.ns(h), "link", "set", lk.ifname(h), "down")

    def restore(self, x, y):
        """Both ends up again; returns once IPv4 and IPv6 are usable."""
        self._configure(self._link(x, y))

    def block(self, x, y):
        """Silently drops every packet on the x-y link, both ways (the link stays up)."""
        lk = self._link(x, y)
        for h in lk.hosts:
            p = subprocess.run([TC, "-n", self.ns(h), "qdisc", "replace", "dev", lk.ifname(h), "root",
                                "pfifo", "limit", "0"], capture_output=True, text=True, stdin=subprocess.DEVNULL)
            if p.returncode != 0:
                raise unittest.SkipTest("cannot block a link (tc qdisc pfifo): %s" % p.stderr.strip())

    def unblock(self, x, y):
        lk = self._link(x, y)
        for h in lk.hosts:
            subprocess.run([TC, "-n", self.ns(h), "qdisc", "del", "dev", lk.ifname(h), "root"],
                           capture_output=True, stdin=subprocess.DEVNULL)
        self._wait_usable(lk)

    # ---- ending -----------------------------------------------------------------------

    def close(self, check=True):
        """Removes everything this Net made. With check, a daemon's sanitizer
        report or unclean exit is raised (after the cleanup)."""
        if self._closed:
            return
        self._closed = True
        errors = []
        for d in self._daemons:
            try:
                d.stop(check=check)
            except AssertionError as e:
                errors.append("busd on %s: %s" % (d.host, e))
            except Exception as e:  # cleanup goes on
                errors.append("busd on %s: %r" % (d.host, e))
        for p in self._procs:
            if p.poll() is None:
                p.kill()
            try:
                p.wait(WAIT)
            except subprocess.TimeoutExpired:
                pass
        for h in self.hosts:
            _delete_ns(self.prefix + h)
        if self._own_tmpdir:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
        try:
            _live.remove(self)
        except ValueError:
            pass
        if check and errors:
            raise AssertionError("\n".join(errors))

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close(check=exc_type is None)
        return False

    def __repr__(self):
        return "<Net %s %s>" % (self.prefix, sorted(lk.hosts for lk in self.links.values()))


# ---- topologies ---------------------------------------------------------------------------


def _with_links(names, pairs, **kw):
    net = Net(names, **kw)
    try:
        for x, y in pairs:
            net.link(x, y)
    except BaseException:
        net.close(check=False)
        raise
    return net


def line(names, **kw):
    """names[0] - names[1] - ... - names[-1]."""
    names = list(names)
    return _with_links(names, zip(names, names[1:]), **kw)


def ring(names, **kw):
    """A line closed by names[-1] - names[0] (for 3 hosts or more)."""
    names = list(names)
    pairs = list(zip(names, names[1:]))
    if len(names) > 2:
        pairs.append((names[-1], names[0]))
    return _with_links(names, pairs, **kw)


def star(center, leaves, **kw):
    """center linked to each leaf; hosts are [center] + leaves."""
    leaves = list(leaves)
    return _with_links([center] + leaves, [(center, leaf) for leaf in leaves], **kw)


def mesh(names, **kw):
    """Every pair of hosts linked."""
    names = list(names)
    return _with_links(names, [(x, y) for i, x in enumerate(names) for y in names[i + 1:]], **kw)


__all__ = ["Link", "Net", "NetDaemon", "line", "mesh", "require", "ring", "star", "sweep_stale"]
