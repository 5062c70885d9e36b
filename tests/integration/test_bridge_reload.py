#!/usr/bin/env python3
"""The bridge's configuration re-read on SIGHUP (docs/bridge.md, "Reload"),
between real busd instances in network namespaces (netns.py), as
test_bridge.py runs them: a star, bus A in the middle dialling B and C.

- adding a link to C: events flow A->C, A->B keeps flowing and the A-B
  connection was not made again (its stats' "connections" stays 1);
- removing it: A->C stops, a call pending over it fails with link_down;
- a broken file: every link stays, the reason is logged;
- one link's filter changed: applied in place, the other link untouched.
Waits poll the daemons' stats and logs (bounded by WAIT); no assertion is
about time."""
import os
import signal
import unittest

import netns
import test_bridge as tb
from daemon_harness import main
from pyclient import BusError


def link_stats(d, name):
    for l in d.stats().get("bridge", {}).get("links", []):
        if l["link"] == name:
            return l
    return None


def up(d, name):
    l = link_stats(d, name)
    return l is not None and l.get("state") == "up"


def crosses(pub, sub, topic):
    """pub's event on topic reaches sub (subscribed to it)."""
    pub.publish(topic)
    ev = sub.next_event()
    return ev["topic"] == topic


class StarBridge:
    """A star of busd: A in the middle dialling B (and C), A's file rewritten
    and re-read on SIGHUP. A mixin for unittest.TestCase (test_bridge_flow.py
    uses it too)."""

    def setUp(self):
        netns.require()

    def start(self, net, with_c):
        d = net.tmpdir
        self.fb = tb.bridge_file(d, "busd-b", [tb.link("from-a", ["busd-a"])], listen=["%s:7400" % net.addr("b", "a")])
        self.fc = tb.bridge_file(d, "busd-c", [tb.link("from-a", ["busd-a"])], listen=["%s:7400" % net.addr("c", "a")])
        self.to_b = tb.link("to-b", ["busd-b"], connect="%s:7400" % net.addr("b", "a"))
        self.to_c = tb.link("to-c", ["busd-c"], connect="%s:7400" % net.addr("c", "a"))
        self.fa = tb.bridge_file(d, "busd-a", [self.to_b] + ([self.to_c] if with_c else []))
        db = net.busd("b", "--bridge-config", self.fb)
        dc = net.busd("c", "--bridge-config", self.fc)
        da = net.busd("a", "--bridge-config", self.fa)
        tb.links_up(da, 2 if with_c else 1)
        return da, db, dc

    def reload(self, da, links, expect, **extra):
        """Rewrites A's file with these links, SIGHUP, waits for the log line."""
        before = da.log().count(expect)
        tb.bridge_file(os.path.dirname(self.fa), "busd-a", links, **extra)
        os.kill(da.pid, signal.SIGHUP)
        tb.wait_until("busd-a to log %r" % expect, lambda: da.log().count(expect) > before)


@unittest.skipUnless(os.geteuid() == 0, "needs root for network namespaces")
class Reload(StarBridge, unittest.TestCase):
    def test_add_then_remove_a_link(self):
        with netns.star("a", ["b", "c"]) as net:
            da, db, dc = self.start(net, with_c=False)
            self.assertEqual(link_stats(da, "to-b")["connections"], 1)
            sb, sc = db.connect(), dc.connect()
            sb.subscribe("t.>")
            sc.subscribe("t.>")
            pub = da.connect()
            self.assertTrue(crosses(pub, sb, "t.before"))

            # (1) a link to C added: A->C flows, A->B still does, on the same connection
            self.reload(da, [self.to_b, self.to_c], "SIGHUP: bridge: link to-c added")
            self.assertIn("SIGHUP: bridge: link to-b kept", da.log())
            tb.wait_until("the link to C", lambda: up(da, "to-c"))
            tb.links_up(dc, 1)
            self.assertTrue(crosses(pub, sc, "t.to.c"))
            self.assertEqual(sb.next_event()["topic"], "t.to.c")  # B too: it is on every link
            self.assertTrue(crosses(pub, sb, "t.still.b"))
            self.assertEqual(sc.next_event()["topic"], "t.still.b")
            self.assertEqual(link_stats(da, "to-b")["connections"], 1)  # never re-established
            self.assertEqual(link_stats(da, "to-b")["state"], "up")

            # (2) removed again: a call pending over it fails with link_down, A->C stops
            s = tb.Service(dc, "org.example.OnC")
            try:
                ca = da.connect()
                tb.callable_(ca, "org.example.OnC")
                id = ca.call_async("org.example.OnC", "hold")
                self.assertEqual(s.child.readline(), "held")
                self.reload(da, [self.to_b], "SIGHUP: bridge: link to-c removed")
                ans = ca.answer(id)
                self.assertEqual((ans["type"], ans["code"]), ("error", "link_down"))
                self.assertIn("busd-c", ans["message"])
                self.assertIsNone(link_stats(da, "to-c"))
                with self.assertRaises(BusError) as e:
                    ca.call("org.example.OnC", "ping")
                self.assertEqual(e.exception.code, "no_owner")
            finally:
                s.stop()
            pub.publish("t.gone")
            self.assertEqual(sb.next_event()["topic"], "t.gone")  # A sent it (to B only)
            dc.connect().publish("t.local.c")
            self.assertEqual(sc.next_event()["topic"], "t.local.c")  # C never got t.gone
            self.assertEqual(link_stats(da, "to-b")["connections"], 1)

    def test_a_broken_file_keeps_every_link(self):
        with netns.star("a", ["b", "c"]) as net:
            da, db, dc = self.start(net, with_c=True)
            with open(self.fa, "w") as f:
                f.write('{"links": [{"name": "to-b", "peers": []}]}')
            os.kill(da.pid, signal.SIGHUP)
            tb.wait_until("the refusal in the log",
                          lambda: "SIGHUP: the bridge was not reloaded, the links in force stay" in da.log())
            self.assertIn("links[0]", da.log())
            sb = db.connect()
            sb.subscribe("t.>")
            self.assertTrue(crosses(da.connect(), sb, "t.after.broken"))
            for name in ("to-b", "to-c"):
                st = link_stats(da, name)
                self.assertEqual((st["state"], st["connections"]), ("up", 1), st)
            # a file that names a certificate that is not there: refused as well
            tb.bridge_file(os.path.dirname(self.fa), "busd-a", [self.to_b, self.to_c], cert="/nonexistent.pem")
            os.kill(da.pid, signal.SIGHUP)
            tb.wait_until("the second refusal",
                          lambda: da.log().count("SIGHUP: the bridge was not reloaded") >= 2)
            self.assertTrue(crosses(da.connect(), sb, "t.after.nocert"))
            self.assertEqual(link_stats(da, "to-c")["connections"], 1)

    def test_a_filter_changed_on_one_link_leaves_the_other_alone(self):
        with netns.star("a", ["b", "c"]) as net:
            da, db, dc = self.start(net, with_c=True)
            sb, sc = db.connect(), dc.connect()
            sb.subscribe("t.>")
            sc.subscribe("t.>")
            pub = da.connect()
            pub.publish("t.one")
            self.assertEqual(sb.next_event()["topic"], "t.one")
            self.assertEqual(sc.next_event()["topic"], "t.one")
            narrow = dict(self.to_c, export={"topics": ["t.only.>"], "names": ["*"]})
            self.reload(da, [self.to_b, narrow], "SIGHUP: bridge: link to-c kept, its filters swapped in place")
            self.assertIn("SIGHUP: bridge: link to-b kept", da.log())
            pub.publish("t.wide")
            pub.publish("t.only.narrow")
            self.assertEqual(sb.next_event()["topic"], "t.wide")
            self.assertEqual(sb.next_event()["topic"], "t.only.narrow")
            self.assertEqual(sc.next_event()["topic"], "t.only.narrow")  # t.wide was filtered
            for name in ("to-b", "to-c"):
                st = link_stats(da, name)
                self.assertEqual((st["state"], st["connections"]), ("up", 1), st)
            # a changed address restarts that link alone (here: back to the same one, by another spelling)
            moved = dict(narrow, connect="%s:7400" % net.addr("c", "a"), peers=["busd-c", "busd-x"])
            self.reload(da, [self.to_b, moved], "SIGHUP: bridge: link to-c restarted")
            tb.wait_until("to-c up again", lambda: up(da, "to-c") and link_stats(da, "to-c")["connections"] == 2)
            self.assertEqual(link_stats(da, "to-b")["connections"], 1)


if __name__ == "__main__":
    main()
