#!/usr/bin/env python3
"""The network bridge (docs/bridge.md) between real busd instances on real
"hosts": Linux network namespaces made by the test (tests/integration/netns.py),
joined by veth pairs with IPv4 and IPv6 addresses of the test's own choosing.
Links are TLS 1.3 with mutual authentication; the certificates are made by
scripts/gen-test-certs.sh (openssl) for this run.

- a line and a ring of three hosts: events cross both ways exactly once, calls
  and their answers and errors cross both ways, identity arrives as remote;
- a link cut and restored: a call pending over it fails at once (link_down),
  the link comes back by itself, names and traffic resume;
- refused: a plaintext client, a certificate from another CA, an expired one,
  one not on the allowlist, a peer that forges identity fields; a bridge
  without credentials does not start;
- filters: what is not exported never crosses.
Waits poll the daemons' stats (bounded by WAIT); no assertion is about time."""
import json
import os
import re
import socket
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

import netns
from daemon_harness import WAIT, Daemon, main, spawn_busd
from pyclient import BusError, Client

HERE = os.path.dirname(os.path.abspath(__file__))
GEN = os.path.join(HERE, "..", "..", "scripts", "gen-test-certs.sh")
CERTS = None


def certs():
    global CERTS
    if CERTS is None:
        CERTS = tempfile.mkdtemp(prefix="busd-bridge-certs-")
        subprocess.run(["bash", GEN, CERTS], check=True, capture_output=True, timeout=60)
    return CERTS


def pem(name):
    return os.path.join(certs(), name + ".pem")


def key(name):
    return os.path.join(certs(), name + ".key")


def bridge_file(dir, me, links, listen=(), **extra):
    """Writes a bridge configuration for bus `me`; returns its path."""
    cfg = dict({"cert": pem(me), "key": key(me), "ca": pem("ca"), "listen": list(listen), "links": links,
                "keepalive_ms": 200, "timeout_ms": 1000, "handshake_timeout_ms": 2000,
                "reconnect_min_ms": 50, "reconnect_max_ms": 400}, **extra)
    path = os.path.join(dir, "bridge-%s.json" % me)
    with open(path, "w") as f:
        json.dump(cfg, f)
    return path


EVERYTHING = {"topics": [">"], "names": ["*"]}


def link(name, peers, connect=None, export=EVERYTHING, import_=EVERYTHING):
    l = {"name": name, "peers": peers, "export": export, "import": import_}
    if connect:
        l["connect"] = connect
    return l


def wait_until(what, fn, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.02)


def links_up(d, n):
    """Waits until daemon d has n links up (hello exchanged)."""
    def up():
        b = d.stats().get("bridge", {})
        return sum(1 for l in b.get("links", []) if l.get("state") == "up") >= n
    wait_until("%d bridge links up on %s" % (n, d), up)


def a_dials_b(net, **a_link):
    """Buses a and b of net (netns.line(["a", "b"])) bridged, a dialling b,
    every topic and name both ways unless a_link sets a's link (export=...);
    returns (da, db) once a's link is up."""
    d = net.tmpdir
    fb = bridge_file(d, "busd-b", [link("from-a", ["busd-a"])], listen=["%s:7400" % net.addr("b", "a")])
    fa = bridge_file(d, "busd-a", [link("to-b", ["busd-b"], connect="%s:7400" % net.addr("b", "a"), **a_link)])
    db, da = net.busd("b", "--bridge-config", fb), net.busd("a", "--bridge-config", fa)
    links_up(da, 1)
    return da, db


def callable_(client, dest):
    """Waits until dest can be called from client (its name has crossed)."""
    def ok():
        try:
            client.call(dest, "ping")
            return True
        except BusError as e:
            return e.code != "no_owner"
    wait_until("%s to be reachable" % dest, ok)


def serve(client, handlers, count):
    client.serve(handlers, count)


def drain_events(client, marker_topic):
    """Events until the one on marker_topic (included)."""
    seen = []
    while True:
        ev = client.next_event()
        seen.append(ev)
        if ev["topic"] == marker_topic:
            return seen


class Service:
    """A service in a forked child: answers ping, echo (params and the caller's
    identity as the service saw it), fail (an error), hold (never)."""

    def __init__(self, daemon, name):
        from daemon_harness import Child
        self.child = Child(self._run, daemon.stream_addr, name)
        assert self.child.readline() == "ready"

    @staticmethod
    def _run(report, addr, name):
        c = Client(addr, timeout=None)
        c.hello(names=[name])
        report("ready")
        while True:
            call = c.next_call()
            m = call["method"]
            if m == "hold":
                report("held")
                continue
            if m == "fail":
                c.error(call, "nope", "asked to fail")
            elif "id" in call:
                c.reply(call, {"params": call.get("params"), "sender": call.get("sender"),
                               "remote": call.get("remote"), "creds": call.get("creds")})

    def stop(self):
        self.child.kill()


@unittest.skipUnless(os.geteuid() == 0, "needs root for network namespaces")
class Topologies(unittest.TestCase):
    def setUp(self):
        netns.require()

    def start_line(self, net, family_bc=6):
        """a dials b over IPv4, c dials b over IPv6."""
        d = net.tmpdir
        fb = bridge_file(d, "busd-b", [link("from-a", ["busd-a"]), link("from-c", ["busd-c"])],
                         listen=["%s:7400" % net.addr("b", "a"), "[%s]:7400" % net.addr("b", "c", 6)])
        fa = bridge_file(d, "busd-a", [link("to-b", ["busd-b"], connect="%s:7400" % net.addr("b", "a"))])
        fc = bridge_file(d, "busd-c", [link("to-b", ["busd-b"], connect="[%s]:7400" % net.addr("b", "c", 6))])
        db = net.busd("b", "--bridge-config", fb)
        da = net.busd("a", "--bridge-config", fa)
        dc = net.busd("c", "--bridge-config", fc)
        links_up(da, 1)
        links_up(dc, 1)
        links_up(db, 2)
        return da, db, dc

    def check_events(self, daemons):
        """Each bus publishes one event; every subscriber gets each exactly once."""
        subs = []
        for d in daemons:
            s = d.connect()
            s.subscribe("t.>")
            subs.append(s)
        for i, d in enumerate(daemons):
            d.connect().publish("t.from%d" % i, {"i": i})
        for i, s in enumerate(subs):
            # the last marker from every bus ends the reading: then nothing else is queued
            for j, d in enumerate(daemons):
                d.connect().publish("t.mark%d" % j)
            got = {}
            pending = set("t.mark%d" % j for j in range(len(daemons)))
            while pending:
                ev = s.next_event()
                got[ev["topic"]] = got.get(ev["topic"], 0) + 1
                pending.discard(ev["topic"])
                if ev["topic"].startswith("t.from") and ev["topic"] != "t.from%d" % i:
                    self.assertNotIn("creds", ev)  # remote: never as a local uid
                    self.assertIn("remote", ev)
            for j in range(len(daemons)):
                self.assertEqual(got.get("t.from%d" % j), 1, "bus %d, event from %d: %s" % (i, j, got))
            s.ping()
            self.assertEqual([m for m in s.backlog if m["type"] == "event" and m["topic"].startswith("t.from")], [])

    def test_line_events_and_calls_cross_both_ways(self):
        with netns.line(["a", "b", "c"]) as net:
            da, db, dc = self.start_line(net)
            self.check_events([da, db, dc])
            # the identity of a remote publisher
            sub = dc.connect()
            sub.subscribe("who.>")
            pub = da.connect()
            pub.publish("who.am.i")
            ev = sub.next_event()
            self.assertEqual(ev["remote"]["bus"], "busd-a")
            self.assertEqual(ev["remote"]["via"], "busd-b")
            self.assertEqual(ev["sender"], "busd-a/" + pub.unique)
            self.assertEqual(ev["remote"]["creds"]["pid"], os.getpid())
            # the CLI shows a remote publisher as remote
            bus = os.environ.get("BUS")
            if bus:
                p = subprocess.Popen([bus, "-a", dc.stream_addr, "listen", "--count", "1", "--ready", "cli.>"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                self.assertEqual(p.stderr.readline().strip(), "ready")  # bus(1): on standard error
                pub.publish("cli.x", 3)
                line = json.loads(p.stdout.readline())
                p.wait(WAIT)
                self.assertEqual(line["remote"]["bus"], "busd-a")
                self.assertNotIn("uid", line)
                self.assertEqual(line["sender"], "busd-a/" + pub.unique)
                # bus metrics: b's two links up, with the events that crossed
                # them counted (docs/busd.md, METRICS)
                p = subprocess.run([bus, "-a", db.stream_addr, "metrics"], capture_output=True, text=True,
                                   timeout=WAIT)
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertEqual(len(re.findall(r'(?m)^busd_link_up\{link="[^"]+"\} 1$', p.stdout)), 2, p.stdout)
                sent = re.findall(r'(?m)^busd_link_events_sent_total\{link="[^"]+"\} (\d+)$', p.stdout)
                self.assertEqual(len(sent), 2, p.stdout)
                self.assertGreater(sum(int(n) for n in sent), 0, p.stdout)
                self.assertTrue(p.stdout.endswith("# EOF\n"))
                promtool = shutil.which("promtool")
                if promtool:
                    p = subprocess.run([bus, "-a", db.stream_addr, "metrics", "--prometheus"], capture_output=True,
                                       text=True, timeout=WAIT)
                    check = subprocess.run([promtool, "check", "metrics"], input=p.stdout, capture_output=True,
                                           text=True)
                    self.assertEqual(check.returncode, 0, check.stdout + check.stderr + p.stdout)
            # calls a -> c and c -> a, through b
            sc = Service(dc, "org.example.OnC")
            sa = Service(da, "org.example.OnA")
            try:
                ca, cc = da.connect(), dc.connect()
                callable_(ca, "org.example.OnC")
                callable_(cc, "org.example.OnA")
                res = ca.call("org.example.OnC", "echo", [1, 2])
                self.assertEqual(res["params"], [1, 2])
                self.assertEqual(res["sender"], "busd-a/" + ca.unique)
                self.assertEqual(res["remote"]["bus"], "busd-a")
                self.assertIsNone(res["creds"])
                self.assertEqual(cc.call("org.example.OnA", "echo", "x")["remote"]["bus"], "busd-c")
                with self.assertRaises(BusError) as e:
                    ca.call("org.example.OnC", "fail")
                self.assertEqual(e.exception.code, "nope")
                with self.assertRaises(BusError) as e:
                    ca.call("org.example.Nobody", "x")
                self.assertEqual(e.exception.code, "no_owner")
                # explicit addressing of one bus
                self.assertEqual(ca.call("busd-c/org.example.OnC", "echo", 7)["params"], 7)
                with self.assertRaises(BusError) as e:
                    ca.call("busd-b/org.example.OnC", "echo")
                self.assertEqual(e.exception.code, "no_owner")
                # the callee vanishes with the call pending: the error crosses back at once
                id = ca.call_async("org.example.OnC", "hold")
                self.assertEqual(sc.child.readline(), "held")
                sc.stop()
                ans = ca.answer(id)
                self.assertEqual((ans["type"], ans["code"]), ("error", "callee_gone"))
                self.assertTrue(ans["sender"].startswith("busd-c/"), ans)
            finally:
                sc.stop()
                sa.stop()

    def test_ring_events_once_and_calls(self):
        with netns.ring(["a", "b", "c"]) as net:
            d = net.tmpdir
            fa = bridge_file(d, "busd-a", [link("ab", ["busd-b"], connect="%s:7400" % net.addr("b", "a")),
                                           link("from-c", ["busd-c"])], listen=["%s:7400" % net.addr("a", "c")])
            fb = bridge_file(d, "busd-b", [link("from-a", ["busd-a"]),
                                           link("bc", ["busd-c"], connect="[%s]:7400" % net.addr("c", "b", 6))],
                             listen=["%s:7400" % net.addr("b", "a")])
            fc = bridge_file(d, "busd-c", [link("from-b", ["busd-b"]),
                                           link("ca", ["busd-a"], connect="%s:7400" % net.addr("a", "c"))],
                             listen=["[%s]:7400" % net.addr("c", "b", 6)])
            da, db, dc = net.busd("a", "--bridge-config", fa), net.busd("b", "--bridge-config", fb), \
                net.busd("c", "--bridge-config", fc)
            for x in (da, db, dc):
                links_up(x, 2)
            self.check_events([da, db, dc])
            s = Service(dc, "org.example.Ring")
            try:
                ca = da.connect()
                callable_(ca, "org.example.Ring")
                self.assertEqual(ca.call("org.example.Ring", "echo", 1)["remote"]["via"], "busd-a")
                self.assertEqual(db.stats()["bridge"]["links"][0]["state"], "up")
                # duplicates were seen and dropped somewhere in the ring
                self.assertGreater(sum(x.stats()["bridge"]["duplicates"] for x in (da, db, dc)), 0)
            finally:
                s.stop()

    def test_a_cut_link_fails_pending_calls_at_once_and_heals(self):
        with netns.line(["a", "b"]) as net:
            da, db = a_dials_b(net)
            s = Service(db, "org.example.Far")
            try:
                ca = da.connect()
                callable_(ca, "org.example.Far")
                watch = da.connect()
                watch.subscribe("$bus.link.>")
                id = ca.call_async("org.example.Far", "hold")
                ca.ping()
                net.cut("a", "b")
                ans = ca.answer(id)  # not the caller's timeout: the link's (timeout_ms 1 s)
                self.assertEqual(ans["type"], "error")
                self.assertEqual(ans["code"], "link_down")
                self.assertIn("busd-b", ans["message"])
                down = watch.next_event()
                self.assertEqual((down["topic"], down["data"]["state"]), ("$bus.link.busd-b", "down"))
                with self.assertRaises(BusError) as e:
                    ca.call("org.example.Far", "ping")
                self.assertEqual(e.exception.code, "no_owner")
                net.restore("a", "b")
                up = watch.next_event()
                self.assertEqual(up["data"]["state"], "up")
                links_up(da, 1)
                callable_(ca, "org.example.Far")  # names re-synchronised
                self.assertEqual(ca.call("org.example.Far", "echo", "again")["params"], "again")
                st = [l for l in da.stats()["bridge"]["links"] if l["link"] == "to-b"][0]
                self.assertEqual(st["state"], "up")
            finally:
                s.stop()

    def test_filters_keep_what_is_not_exported_at_home(self):
        with netns.line(["a", "b"]) as net:
            narrow = {"topics": ["public.>"], "names": ["org.example.Public.*"]}
            da, db = a_dials_b(net, export=narrow)
            links_up(db, 1)
            sub = db.connect()
            sub.subscribe(">")
            pub = da.connect()
            pub.publish("secret.plans")
            pub.publish("public.news")
            ev = sub.next_event()
            self.assertEqual(ev["topic"], "public.news")
            secret = Service(da, "org.example.Secret")
            public = Service(da, "org.example.Public.Svc")
            try:
                cb = db.connect()
                callable_(cb, "org.example.Public.Svc")
                with self.assertRaises(BusError) as e:
                    cb.call("org.example.Secret", "ping")
                self.assertEqual(e.exception.code, "no_owner")
                with self.assertRaises(BusError) as e:
                    cb.call("busd-a/org.example.Secret", "ping")
                self.assertEqual(e.exception.code, "no_owner")
            finally:
                secret.stop()
                public.stop()
            # b exports everything to a, but a imports only what it exports here (everything): reverse works
            sa = da.connect()
            sa.subscribe("back.>")
            db.connect().publish("back.x")
            self.assertEqual(sa.next_event()["topic"], "back.x")


class TlsPeer:
    """A raw bridge peer speaking TLS 1.3 from Python, with a certificate of
    our choosing: for refusals and forged messages."""

    def __init__(self, port, cert, keyf, ca=None):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.check_hostname = False
        ctx.load_verify_locations(ca or pem("ca"))
        ctx.load_cert_chain(cert, keyf)
        raw = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
        self.sock = ctx.wrap_socket(raw)
        self.buf = b""

    def accepted(self):
        """The server's acceptance byte (b"\\x01"), or b"" if it refused us."""
        try:
            return self.sock.recv(1)
        except (ssl.SSLError, ConnectionError, OSError):
            return b""

    def send(self, obj):
        self.sock.sendall((json.dumps(obj) + "\n").encode())

    def lines_until_closed(self):
        out = []
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                self.buf += chunk
        except (ssl.SSLError, ConnectionError, OSError):
            pass
        for line in self.buf.split(b"\n"):
            if line.strip():
                out.append(json.loads(line))
        return out


class Refusals(unittest.TestCase):
    """On loopback: busd-a accepts busd-c only."""

    PORT = 17000 + os.getpid() % 20000

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="busd-bridge-")
        f = bridge_file(self.dir, "busd-a", [link("from-c", ["busd-c"])], listen=["127.0.0.1:%d" % self.PORT])
        self.daemon = Daemon("--bridge-config", f)
        self.addCleanup(self.daemon.stop)

    def log_says(self, text):
        wait_until("busd to log %r" % text, lambda: text in self.daemon.log())

    def refused(self, cert, keyf, ca=None):
        try:
            p = TlsPeer(self.PORT, cert, keyf, ca)
        except (ssl.SSLError, ConnectionError, OSError):
            return True  # refused during the handshake
        return p.accepted() == b""

    def test_a_plaintext_client_is_refused(self):
        s = socket.create_connection(("127.0.0.1", self.PORT), timeout=WAIT)
        s.sendall(b'{"type":"link_hello","protocol":2,"bus":"busd-c","epoch":1}\n')
        self.assertEqual(s.recv(100)[:1] in (b"", b"\x15", b"\x16"), True)  # closed, or a TLS alert
        self.log_says("does not speak TLS")
        self.assertEqual(self.daemon.stats()["bridge"]["links"][0]["state"], "waiting")

    def test_a_certificate_of_another_ca_is_refused(self):
        self.assertTrue(self.refused(pem("rogue"), key("rogue"), ca=pem("ca")))
        self.log_says("certificate")

    def test_an_expired_certificate_is_refused(self):
        self.assertTrue(self.refused(pem("expired"), key("expired")))
        self.log_says("expired")

    def test_a_certificate_not_on_the_allowlist_is_refused(self):
        self.assertTrue(self.refused(pem("busd-d"), key("busd-d")))
        self.log_says("busd-d")

    def test_forged_identity_fields_close_the_link_and_nothing_is_delivered(self):
        sub = self.daemon.connect()
        sub.subscribe(">")
        creds = {"uid": 0, "gid": 0, "pid": 1}
        for forged in (
            # another bus's event at one hop: only busd-c itself is one hop away
            {"type": "event", "origin": "busd-x", "epoch": 1, "seq": 1, "hops": 1, "topic": "t.x",
             "sender": ":1", "creds": creds},
            # busd-c's own event claiming to come from further away
            {"type": "event", "origin": "busd-c", "epoch": 1, "seq": 2, "hops": 3, "topic": "t.x",
             "sender": ":1", "creds": creds},
            # credentials that are not numbers, or carry more than they should
            {"type": "event", "origin": "busd-c", "epoch": 1, "seq": 3, "hops": 1, "topic": "t.x",
             "sender": ":1", "creds": {"uid": -5, "gid": 0, "pid": 1}},
            {"type": "event", "origin": "busd-c", "epoch": 1, "seq": 4, "hops": 1, "topic": "t.x",
             "sender": ":1", "creds": dict(creds, local=True)},
            # a sender that is not an id on its bus
            {"type": "event", "origin": "busd-c", "epoch": 1, "seq": 5, "hops": 1, "topic": "t.x",
             "sender": "root", "creds": creds},
            # names another bus owns, offered as its own
            {"type": "names", "add": [{"name": "org.example.X", "origin": "busd-z", "hops": 1}]},
            # an answer claiming to come from this very bus
            {"type": "reply", "id": 1, "result": None, "sender": "busd-a/:1"},
        ):
            p = TlsPeer(self.PORT, pem("busd-c"), key("busd-c"))
            self.assertEqual(p.accepted(), b"\x01")
            p.send({"type": "link_hello", "protocol": 2, "bus": "busd-c", "epoch": 1})
            p.send(forged)
            lines = p.lines_until_closed()  # the daemon closes the link
            self.assertEqual(lines[0]["type"], "link_hello")
            self.assertEqual(lines[0]["bus"], "busd-a")
        self.log_says("protocol violation by busd-c")
        sub.ping()
        self.assertEqual([m for m in sub.backlog if m["type"] == "event" and m["topic"] == "t.x"], [])

    def test_a_hello_naming_another_bus_than_the_certificate_is_refused(self):
        p = TlsPeer(self.PORT, pem("busd-c"), key("busd-c"))
        self.assertEqual(p.accepted(), b"\x01")
        p.send({"type": "link_hello", "protocol": 2, "bus": "busd-b", "epoch": 1})
        p.lines_until_closed()
        self.log_says("forged identity")

    def test_silent_connections_are_capped_and_closed_at_the_handshake_deadline(self):
        port = self.PORT + 1
        f = bridge_file(self.dir, "busd-a", [link("from-c", ["busd-c"])], listen=["127.0.0.1:%d" % port],
                        max_half_open=3, handshake_timeout_ms=500)
        d = Daemon("--bridge-config", f)
        self.addCleanup(d.stop)
        silent = [socket.create_connection(("127.0.0.1", port), timeout=WAIT) for _ in range(6)]
        wait_until("refusals beyond max_half_open",
                   lambda: d.stats()["bridge"]["refused_half_open"] >= 3)
        for s in silent:  # each is closed: refused at once, or at the deadline
            try:
                self.assertEqual(s.recv(1), b"")
            except ConnectionResetError:
                pass
            s.close()
        wait_until("the deadline in the log", lambda: "no TLS handshake within 500 ms" in d.log())
        self.assertIn("max_half_open", d.log())
        # the real peer still gets in
        p = TlsPeer(port, pem("busd-c"), key("busd-c"))
        self.assertEqual(p.accepted(), b"\x01")

    def test_a_real_peer_gets_in(self):
        p = TlsPeer(self.PORT, pem("busd-c"), key("busd-c"))
        self.assertEqual(p.accepted(), b"\x01")
        p.send({"type": "link_hello", "protocol": 2, "bus": "busd-c", "epoch": 1})
        sub = self.daemon.connect()
        sub.subscribe("t.>")
        p.send({"type": "event", "origin": "busd-c", "epoch": 1, "seq": 1, "hops": 1, "topic": "t.real",
                "data": 5, "sender": ":9", "creds": {"uid": 1000, "gid": 1000, "pid": 77}})
        ev = sub.next_event()
        self.assertEqual((ev["topic"], ev["sender"], ev["remote"]["creds"]["uid"]), ("t.real", "busd-c/:9", 1000))
        self.assertNotIn("creds", ev)


class HostNames(unittest.TestCase):
    def test_a_link_dials_a_host_name(self):
        port = 17000 + (os.getpid() + 7) % 20000
        d = tempfile.mkdtemp(prefix="busd-bridge-")
        # localhost may resolve to ::1 or 127.0.0.1 first: listen on both
        fa = bridge_file(d, "busd-a", [link("from-b", ["busd-b"])],
                         listen=["127.0.0.1:%d" % port, "[::1]:%d" % port])
        fb = bridge_file(d, "busd-b", [link("to-a", ["busd-a"], connect="localhost:%d" % port)])
        da = Daemon("--bridge-config", fa)
        self.addCleanup(da.stop)
        db = Daemon("--bridge-config", fb)
        self.addCleanup(db.stop)
        links_up(db, 1)
        sub = da.connect()
        sub.subscribe("named.>")
        db.connect().publish("named.x")
        self.assertEqual(sub.next_event()["remote"]["bus"], "busd-b")

    def test_a_name_that_does_not_resolve_is_retried_and_reported(self):
        d = tempfile.mkdtemp(prefix="busd-bridge-")
        fb = bridge_file(d, "busd-b", [link("to-nowhere", ["busd-a"], connect="no-such-host.invalid:7400")])
        db = Daemon("--bridge-config", fb)
        self.addCleanup(db.stop)
        wait_until("the resolution error in the status", lambda: "cannot resolve no-such-host.invalid" in
                   (db.stats()["bridge"]["links"][0].get("last_error") or ""))
        self.assertIn(db.stats()["bridge"]["links"][0]["state"], ("down", "connecting"))


class Startup(unittest.TestCase):
    def run_busd(self, *args):
        d = tempfile.mkdtemp(prefix="busd-bridge-")
        busd = os.environ.get("BUSD", "busd")
        p = subprocess.run([busd, "--listen", "unix:%s/bus" % d, "--listen", "seqpacket:%s/bus.seq" % d] + list(args),
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=WAIT)
        return p.returncode, p.stderr.decode()

    def test_a_bridge_without_credentials_does_not_start(self):
        code, err = self.run_busd("--bridge-listen", "127.0.0.1:17399", "--bridge-peer", "busd-b")
        self.assertEqual(code, 1, err)
        self.assertIn("needs credentials", err)

    def test_a_bridge_file_that_does_not_parse_stops_busd(self):
        d = tempfile.mkdtemp(prefix="busd-bridge-")
        f = os.path.join(d, "b.json")
        with open(f, "w") as fh:
            fh.write('{"links": [{"name": "x", "peers": []}]}')
        code, err = self.run_busd("--bridge-config", f)
        self.assertEqual(code, 1, err)
        self.assertIn("links[0]", err)


if __name__ == "__main__":
    main()
