"""test_netns_harness.py: the network-namespace harness (netns.py) itself.

Builds a line and a ring of three hosts and proves with plain TCP sockets
(python inside the namespaces) that neighbours reach each other over IPv4 and
IPv6, that there is no routing between non-neighbours, that cut()/restore()
and block()/unblock() break and heal a link; starts busd in two namespaces and
talks to each over its AF_UNIX socket; checks that nothing with the Net's
prefix is left afterwards and that the root namespace's interfaces are
untouched. Needs root (skips otherwise).
"""
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemon_harness  # noqa: E402
import netns  # noqa: E402


def root_links():
    """The root namespace's interface names."""
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True).stdout
    return sorted(line.split(":")[1].strip().split("@")[0] for line in out.splitlines() if line.strip())


class NetnsHarness(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        netns.require()

    def setUp(self):
        self.links_before = root_links()

    def assertGone(self, net):
        names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
        self.assertNotIn(net.prefix, names)
        links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True).stdout
        self.assertNotIn(net.prefix, links)  # no veth whose peer is in one of our namespaces
        self.assertEqual(root_links(), self.links_before)  # the root namespace was never touched
        self.assertFalse(os.path.exists(net.tmpdir))

    def assertReach(self, net, src, dst, families=(4, 6)):
        for fam in families:
            self.assertTrue(net.can_connect(src, dst, fam), "%s -> %s over IPv%d" % (src, dst, fam))

    def assertNoReach(self, net, src, dst, families=(4, 6), **kw):
        for fam in families:
            self.assertFalse(net.can_connect(src, dst, fam, **kw), "%s -> %s over IPv%d" % (src, dst, fam))

    def test_line(self):
        with netns.line(["a", "b", "c"]) as net:
            self.assertEqual(net.hosts, ["a", "b", "c"])
            self.assertEqual(net.addr("a", "b"), "10.231.1.1")
            self.assertEqual(net.addr("b", "a", 6), "fd00:231:1::2")
            self.assertEqual(net.addr("c", "b"), "10.231.2.2")
            self.assertEqual(net.addrs("b", 6), ["fd00:231:1::2", "fd00:231:2::1"])
            with self.assertRaises(KeyError):
                net.addr("a", "c")
            self.assertReach(net, "a", "b")
            self.assertReach(net, "b", "a")
            self.assertReach(net, "c", "b")
            self.assertNoReach(net, "a", "c")  # no route: fails at once
            net.cut("a", "b")
            self.assertNoReach(net, "a", "b")
            self.assertNoReach(net, "b", "a")
            self.assertReach(net, "b", "c", families=(4,))  # the other link is not affected
            net.restore("a", "b")
            self.assertReach(net, "a", "b")
            self.assertReach(net, "b", "a")
            net.cut("a", "b")  # twice: still heals
            net.restore("a", "b")
            self.assertReach(net, "a", "b")
        self.assertGone(net)

    def test_ring(self):
        with netns.ring(["a", "b", "c"]) as net:
            self.assertEqual(len(net.links), 3)
            self.assertEqual(net.addr("c", "a"), "10.231.3.1")
            self.assertEqual(net.addr("a", "c", 6), "fd00:231:3::2")
            self.assertReach(net, "a", "c")
            self.assertReach(net, "c", "a")
            self.assertReach(net, "b", "c")
            net.cut("a", "b")
            self.assertNoReach(net, "a", "b", families=(4,))
            self.assertReach(net, "a", "c")
            net.restore("a", "b")
            self.assertReach(net, "a", "b")
        self.assertGone(net)

    def test_block(self):
        with netns.line(["a", "b"]) as net:
            net.block("a", "b")
            self.assertNoReach(net, "a", "b", timeout=0.3)  # silent: the connect times out
            net.unblock("a", "b")
            self.assertReach(net, "a", "b")
        self.assertGone(net)

    def test_busd_per_namespace(self):
        with netns.line(["a", "b"]) as net:
            da = net.busd("a")
            db = net.busd("b", "--max-names", "7")  # extra arguments are passed on
            self.assertNotEqual(da.pid, db.pid)
            self.assertEqual(da.stream_addr, "unix:" + os.path.join(net.tmpdir, "a", "bus"))
            self.assertEqual(db.seq_addr, "seqpacket:" + os.path.join(net.tmpdir, "b", "bus.seq"))
            for d in (da, db):  # busd itself runs inside the namespace
                self.assertEqual(os.stat("/proc/%d/ns/net" % d.pid).st_ino,
                                 os.stat("/run/netns/" + d.ns).st_ino)
            for d in (da, db):
                for seq in (False, True):
                    with d.connect(seqpacket=seq, name="probe") as c:
                        self.assertTrue(c.ping()["server"].startswith("busd "))
            with da.connect() as ca, db.connect() as cb:  # two separate buses
                ca.request_name("org.example.A")
                self.assertIn("org.example.A", [n["name"] for n in ca.call("org.busd", "list")["names"]])
                self.assertNotIn("org.example.A", [n["name"] for n in cb.call("org.busd", "list")["names"]])
            da.stop()  # stopping one early is fine; close() stops the other
        self.assertGone(net)

    def test_cleanup_on_failure(self):
        with self.assertRaises(RuntimeError):
            with netns.line(["a", "b"]) as net:
                net.busd("a")
                raise RuntimeError("boom")
        self.assertGone(net)

    def test_sweep_stale(self):
        p = subprocess.Popen(["true"])
        p.wait()  # a pid that is no longer alive
        ns = "bt%d-1-x" % p.pid
        subprocess.run(["ip", "netns", "add", ns], check=True)
        try:
            self.assertIn(ns, netns.sweep_stale())
        finally:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        self.assertNotIn(ns, names)


if __name__ == "__main__":
    daemon_harness.main()
