#!/usr/bin/env python3
"""`monitor` (docs/protocol.md §4.10) and `bus monitor` against the real busd,
over stream and seqpacket:

- a root monitor sees the calls, replies, errors and events between two other
  clients, in and out, with their identity as the daemon stamped it;
- the filters (name, from, topic, types) keep only what they name;
- a monitoring connection does nothing else, and is nobody's callee;
- a monitor that never reads does not slow a publisher: its drops are counted
  (stats) and told (`dropped`) once it reads;
- monitors are listed in stats and logged;
- an unprivileged uid sees only its own uid's traffic and nothing `see`
  hides; the policy verb `monitor` grants all of it (root needed: clients
  setuid to test uids, skipped otherwise);
- `bus monitor` prints JSON Lines, and its --pcapng file is decoded as JSON
  by tshark (skipped when tshark is not installed)."""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

from daemon_harness import WAIT, BusError, Child, Daemon, DaemonTest, bind_transports, main
from pyclient import Client

BUS = os.environ.get("BUS", "bus")
A, B, C = 61101, 61102, 61103  # uids (and gids) of the test's own choosing


def start_monitor(mon, **filters):
    """Makes mon a monitor; returns the reply's result."""
    return mon.request(dict(filters, type="monitor"))


def drain(mon, idle=0.3):
    """Every record (and `dropped` notice) mon has received, until none came
    for `idle` seconds. Call after a round trip of the traffic's clients: the
    daemon queued the records before it answered them."""
    got = []
    mon.settimeout(idle)
    try:
        while True:
            got.append(mon.recv())
    except (socket.timeout, TimeoutError, BlockingIOError):
        pass
    finally:
        mon.settimeout(WAIT)
    return got


def records(msgs, dir=None, type=None):
    return [m for m in msgs if m["type"] == "monitor" and (dir is None or m["dir"] == dir)
            and (type is None or m["message"]["type"] == type)]


def ident_of(client):
    """The identity a record gives a client of this test process."""
    return {"unique": client.unique, "uid": os.getuid(), "gid": os.getgid(), "pid": os.getpid()}


class _Monitor:
    def traffic(self):
        """A service, a caller and a subscriber; one call answered, one failed,
        one event. Returns (svc, caller, sub)."""
        svc = self.connect(names=["org.example.Echo"])
        caller = self.connect()
        sub = self.connect()
        sub.subscribe("sensors.>")
        id1 = caller.call_async("org.example.Echo", "echo", {"x": 1})
        call = svc.next_call()
        svc.reply(call, {"x": 1})
        self.assertEqual(caller.result(id1), {"x": 1})
        id2 = caller.call_async("org.example.Echo", "fail")
        call = svc.next_call()
        svc.error(call, "org.example.Failed", "it failed", {"why": "test"})
        self.assertRaises(BusError, caller.result, id2)
        caller.publish("sensors.kitchen.temp", 21.5)
        self.assertEqual(sub.next_event()["data"], 21.5)
        caller.ping()
        return svc, caller, sub

    def test_root_sees_calls_replies_errors_events_with_identity(self):
        mon = self.connect()
        res = start_monitor(mon)
        self.assertEqual(res["scope"], "all")
        self.assertEqual(res["uid"], os.getuid())
        svc, caller, sub = self.traffic()
        got = drain(mon)
        seqs = [m["seq"] for m in records(got)]
        self.assertEqual(seqs, list(range(1, len(seqs) + 1)), "records in order, none dropped")
        daemon = records(got, "in")[0]["dest"]
        self.assertEqual(daemon["unique"], "org.busd")
        # the call, in (as the caller sent it) and out (as the service got it)
        call_in = [m for m in records(got, "in", "call") if m["message"]["method"] == "echo"][0]
        self.assertEqual(call_in["sender"], ident_of(caller))
        self.assertEqual(call_in["message"], {"type": "call", "id": call_in["message"]["id"],
                                              "dest": "org.example.Echo", "method": "echo", "params": {"x": 1}})
        call_out = [m for m in records(got, "out", "call") if m["message"]["method"] == "echo"][0]
        self.assertEqual(call_out["sender"], ident_of(caller))
        self.assertEqual(call_out["dest"], ident_of(svc))
        self.assertEqual(call_out["message"]["sender"], caller.unique)
        self.assertEqual(call_out["message"]["creds"], {"uid": os.getuid(), "gid": os.getgid(), "pid": os.getpid()})
        self.assertGreater(call_out["time_us"], (time.time() - 60) * 1e6)
        # the reply, out to the caller with its own id
        reply = [m for m in records(got, "out", "reply") if m["dest"]["unique"] == caller.unique
                 and m["sender"]["unique"] == svc.unique][0]
        self.assertEqual(reply["message"]["result"], {"x": 1})
        self.assertEqual(reply["sender"], ident_of(svc))
        # the callee's error, relayed
        err = [m for m in records(got, "out", "error") if m["message"]["code"] == "org.example.Failed"][0]
        self.assertEqual((err["sender"]["unique"], err["dest"]["unique"]), (svc.unique, caller.unique))
        self.assertEqual(err["message"]["data"], {"why": "test"})
        # the event: published (in), delivered (out)
        pub = records(got, "in", "publish")[0]
        self.assertEqual((pub["sender"]["unique"], pub["message"]["topic"]), (caller.unique, "sensors.kitchen.temp"))
        ev = records(got, "out", "event")[0]
        self.assertEqual((ev["sender"], ev["dest"]), (ident_of(caller), ident_of(sub)))
        self.assertEqual(ev["message"]["data"], 21.5)
        # the daemon's own error to a call nobody answers
        caller.call_async("org.example.Nobody", "x")
        caller.ping()
        no_owner = [m for m in records(drain(mon), "out", "error") if m["message"]["code"] == "no_owner"][0]
        self.assertEqual(no_owner["sender"]["unique"], "org.busd")

    def test_payload_relayed_as_sent(self):
        mon = self.connect()
        start_monitor(mon, types=["publish"])
        pub = self.connect()
        pub.send_raw(b'{"type":"publish",  "topic":"a.b","data":{"n":1.50e3,"s":"\\u00e9"},"id":7}')
        pub.next_of("reply")
        raw = mon.recv_raw()
        self.assertIn(b'"message":{"type":"publish","topic":"a.b","data":{"n":1.50e3,"s":"\\u00e9"},"id":7}}', raw)

    def test_filters(self):
        cases = [({"name": "org.example.Echo"}, lambda m: "org.example.Echo" in json.dumps(m) or
                  m["message"].get("sender") == self.svc_unique or m["sender"]["unique"] == self.svc_unique
                  or m["dest"]["unique"] == self.svc_unique),
                 ({"topic": "sensors.*.temp"}, lambda m: m["message"].get("topic") == "sensors.kitchen.temp"),
                 ({"types": ["error"]}, lambda m: m["message"]["type"] == "error"),
                 ({"types": ["call", "reply"]}, lambda m: m["message"]["type"] in ("call", "reply"))]
        mons = []
        for filters, _ in cases:
            mon = self.connect()
            start_monitor(mon, **filters)
            mons.append(mon)
        svc, caller, sub = self.traffic()
        self.svc_unique = svc.unique
        for (filters, keeps), mon in zip(cases, mons):
            got = records(drain(mon))
            self.assertTrue(got, filters)
            for m in got:
                self.assertTrue(keeps(m), (filters, m))
        # from: only what the service sent (in) or the daemon relayed for it (out)
        mon = self.connect()
        start_monitor(mon, **{"from": svc.unique})
        self.traffic_again(svc, caller)
        got = records(drain(mon))
        self.assertEqual({(m["dir"], m["message"]["type"]) for m in got}, {("in", "reply"), ("out", "reply")})
        self.assertTrue(all(m["sender"]["unique"] == svc.unique for m in got))

    def traffic_again(self, svc, caller):
        id = caller.call_async("org.example.Echo", "echo")
        svc.reply(svc.next_call(), "again")
        self.assertEqual(caller.result(id), "again")
        caller.ping()

    def test_bad_requests(self):
        mon = self.connect()
        for bad, code in (({"types": []}, "invalid_message"), ({"types": ["nope"]}, "invalid_message"),
                          ({"from": "org.example.X"}, "invalid_message"), ({"topic": "a.>.b"}, "invalid_message"),
                          ({"name": ":3"}, "invalid_message"), ({"sender": ":3"}, "forged_identity")):
            with self.assertRaises(BusError) as e:
                start_monitor(mon, **bad)
            self.assertEqual(e.exception.code, code, bad)
        # a connection that subscribes (or owns names) may not monitor
        sub = self.connect()
        sub.subscribe("a.>")
        with self.assertRaises(BusError) as e:
            start_monitor(sub)
        self.assertEqual(e.exception.code, "invalid_message")

    def test_a_monitor_does_nothing_else(self):
        mon = self.connect()
        start_monitor(mon)
        mon.send({"type": "subscribe", "pattern": "a.>", "id": 50})
        mon.send({"type": "monitor", "id": 51})
        errors = [m for m in drain(mon) if m["type"] == "error"]
        self.assertEqual([(m["id"], m["code"]) for m in errors], [(50, "invalid_message"), (51, "invalid_message")])
        self.assertIn("monitors", errors[0]["message"])
        # nobody can call it by its unique id
        other = self.connect()
        with self.assertRaises(BusError) as e:
            other.call(mon.unique, "x")
        self.assertEqual(e.exception.code, "no_owner")

    def test_a_monitor_that_never_reads_does_not_slow_a_publisher(self):
        mon = self.connect()
        start_monitor(mon)
        pub = self.connect()
        sub = self.connect()
        sub.subscribe("flood.>", lossy=True)
        payload = "x" * 1024
        t0 = time.monotonic()
        for i in range(20000):
            pub.publish("flood.%d" % (i % 10), payload, ack=False)
        pub.ping()
        self.assertLess(time.monotonic() - t0, WAIT)
        st = [m for m in self.daemon.stats()["monitors"] if m["unique"] == mon.unique][0]
        self.assertGreater(st["drops"], 0, st)
        self.assertLessEqual(st["queue_bytes"], 4 * 1024 * 1024 + 4096, st)
        # reading again: a `dropped` notice counts what it missed
        deadline = time.monotonic() + WAIT
        dropped = None
        last_seq = 0
        while dropped is None:
            self.assertLess(time.monotonic(), deadline)
            m = mon.recv()
            if m["type"] == "dropped":
                dropped = m
            else:
                last_seq = m["seq"]
        self.assertGreater(dropped["count"], 0)
        pub.publish("after.drop", 1, ack=False)
        pub.ping()
        after = [m for m in drain(mon) if m["type"] == "monitor"]
        self.assertTrue(after)
        # the seq counts the dropped records too: the gap is what was dropped
        self.assertGreater(after[0]["seq"], last_seq + 1)

    def test_stats_and_log(self):
        mon = self.connect()
        start_monitor(mon, name="org.example.Echo", types=["call"])
        st = [m for m in self.daemon.stats()["monitors"] if m["unique"] == mon.unique]
        self.assertEqual(len(st), 1)
        self.assertEqual(st[0]["filter"], {"name": "org.example.Echo", "types": ["call"]})
        self.assertEqual((st[0]["scope"], st[0]["uid"], st[0]["drops"]), ("all", os.getuid(), 0))
        mon.close()
        deadline = time.monotonic() + WAIT
        while "monitor %s (uid %d, pid %d) ended" % (mon.unique, os.getuid(), os.getpid()) not in self.daemon.log():
            self.assertLess(time.monotonic(), deadline, self.daemon.log())
            time.sleep(0.02)
        self.assertIn("monitor %s (uid %d, pid %d) started: all traffic, filter "
                      '{"name":"org.example.Echo","types":["call"]}' % (mon.unique, os.getuid(), os.getpid()),
                      self.daemon.log())
        self.assertEqual([m for m in self.daemon.stats()["monitors"] if m["unique"] == mon.unique], [])

    def cli_monitor(self, *args):
        p = subprocess.Popen([BUS, "-a", self.daemon.addr(self.seqpacket), "monitor", "--ready"] + list(args),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(p.kill)
        self.assertEqual(p.stderr.readline(), "ready\n")
        return p

    def test_cli_json_lines(self):
        p = self.cli_monitor("--json", "--type", "call,reply", "--name", "org.example.Echo", "-n", "4")
        svc, caller, sub = self.traffic()
        out, err = p.communicate(timeout=WAIT)
        self.assertEqual(p.returncode, 0, err)
        lines = [json.loads(line) for line in out.splitlines()]
        self.assertEqual([(m["dir"], m["message"]["type"]) for m in lines],
                         [("in", "call"), ("out", "call"), ("in", "reply"), ("out", "reply")])
        self.assertEqual(lines[1]["dest"]["unique"], svc.unique)

    def test_cli_usage_and_status(self):
        for args in (["--type", "nope"], ["--name", ":3"], ["--topic", "a.>.b"], ["operand"]):
            res = subprocess.run([BUS, "-a", self.daemon.addr(self.seqpacket), "monitor"] + args,
                                 capture_output=True, text=True, timeout=WAIT)
            self.assertEqual(res.returncode, 64, (args, res.stderr))
        # a sender the daemon refuses: its error, exit 1
        res = subprocess.run([BUS, "-a", self.daemon.addr(self.seqpacket), "monitor", "--sender", "org.x.Y"],
                             capture_output=True, text=True, timeout=WAIT)
        self.assertEqual(res.returncode, 1, res.stderr)
        self.assertIn("invalid_message", res.stderr)
        # bus status lists a running monitor with its filter
        p = self.cli_monitor("--json", "--topic", "sensors.>")
        res = subprocess.run([BUS, "-a", self.daemon.addr(self.seqpacket), "status", "--json"],
                             capture_output=True, text=True, timeout=WAIT)
        self.assertEqual(res.returncode, 0, res.stderr)
        mons = json.loads(res.stdout)["monitors"]
        self.assertEqual([(m["scope"], m["filter"]) for m in mons], [("all", {"topic": "sensors.>"})])
        p.kill()
        p.wait()

    def test_cli_pcapng_decoded_by_tshark(self):
        tshark = shutil.which("tshark")
        if not tshark:
            self.skipTest("tshark is not installed (Debian package tshark)")
        path = os.path.join(tempfile.mkdtemp(prefix="busd-pcap-"), "bus.pcapng")
        self.addCleanup(shutil.rmtree, os.path.dirname(path), True)
        p = self.cli_monitor("--pcapng", path, "--type", "call,event", "-n", "5")
        self.traffic()
        out, err = p.communicate(timeout=WAIT)
        self.assertEqual(p.returncode, 0, err)
        res = subprocess.run([tshark, "-r", path, "-V"], capture_output=True, text=True, timeout=WAIT,
                             env=dict(os.environ, HOME=os.path.dirname(path)))
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(res.stdout.count("JavaScript Object Notation"), 5, res.stdout[:2000])
        self.assertIn("Protocol Name: json", res.stdout)
        for text in ("String value: monitor", "String value: echo", "String value: sensors.kitchen.temp",
                     "Key: dest", "out :"):
            self.assertIn(text, res.stdout)


bind_transports(globals(), _Monitor)


# ---- unprivileged monitors (need root to setuid) ----------------------------------


def as_user(uid, fn, *args):
    def body(report, *a):
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        fn(report, *a)
    return Child(body, *args)


def monitor_as(report, addr):
    """A monitor as the current uid: reports its scope, then every record it
    gets until it reads the sentinel event's record, as one JSON line."""
    mon = Client(addr)
    mon.hello()
    report(json.dumps(start_monitor(mon)))
    got = []
    while True:
        m = mon.recv()
        got.append(m)
        if m["type"] == "monitor" and m["message"].get("topic") == "end.mark":
            break
    mon.close()
    report(json.dumps(got))


def caller_as(report, addr, dest):
    """Calls dest.echo as the current uid and reports its unique id and the result."""
    c = Client(addr)
    c.hello()
    res = {"unique": c.unique, "result": c.call(dest, "echo", "hi")}
    c.close()
    report(json.dumps(res))


def publish_as(report, addr, topic):
    c = Client(addr)
    c.hello()
    c.publish(topic, 1)
    c.close()
    report("published")


@unittest.skipIf(os.geteuid() != 0, "needs root to setuid test clients")
class _Unprivileged:
    def setUp(self):
        self.pdir = tempfile.mkdtemp(prefix="busd-policy-")
        self.addCleanup(shutil.rmtree, self.pdir, True)
        allow = {v: "allow" for v in ("connect", "own", "call", "publish", "subscribe", "see")}
        policy = {"default": allow, "rules": [
            {"for": {"uid": A}, "deny": {"see": ["org.example.Hidden"]}},
            {"for": {"uid": C}, "allow": {"monitor": True}}]}
        with open(os.path.join(self.pdir, "policy.json"), "w") as f:
            json.dump(policy, f)
        os.chmod(self.pdir, 0o755)
        self.daemon = Daemon("--system", "--policy-dir", self.pdir)
        self.addCleanup(self.daemon.stop)
        os.chmod(self.daemon.dir, 0o755)

    def serve(self, name):
        svc = Client(self.addr)
        svc.hello(names=[name])
        self.addCleanup(svc.close)
        return svc

    @property
    def addr(self):
        return self.daemon.addr(self.seqpacket)

    def run_as(self, uid, fn, *args):
        ch = as_user(uid, fn, *args)
        self.addCleanup(ch.kill)
        return ch

    def calls(self, services, callers):
        """Each (uid, dest) of callers calls dest; the services answer."""
        uniques = {}
        for uid, dest in callers:
            ch = self.run_as(uid, caller_as, self.addr, dest)
            svc = services[dest]
            call = svc.next_call()
            svc.reply(call, call["params"])
            res = json.loads(ch.readline())
            self.assertEqual(res["result"], "hi")
            self.assertEqual(ch.wait(), 0)
            uniques[(uid, dest)] = res["unique"]
        return uniques

    def sentinel(self):
        """A publishes end.mark: the last record the monitors wait for."""
        ch = self.run_as(A, publish_as, self.addr, "end.mark")
        self.assertEqual(ch.readline(), "published")
        self.assertEqual(ch.wait(), 0)

    def test_an_unprivileged_uid_sees_only_its_own_traffic(self):
        services = {n: self.serve(n) for n in ("org.example.Svc", "org.example.Hidden")}
        mon = self.run_as(A, monitor_as, self.addr)
        self.assertEqual(json.loads(mon.readline())["scope"], "uid")
        uniques = self.calls(services, [(A, "org.example.Svc"), (B, "org.example.Svc"), (A, "org.example.Hidden"),
                                        (0, "org.example.Svc")])
        self.sentinel()
        got = [m for m in json.loads(mon.readline()) if m["type"] == "monitor"]
        for m in got:
            # from or to a connection of A's uid (the other side's identity only if A may see it)
            self.assertTrue(m["sender"].get("uid") == A or m["dest"].get("uid") == A, m)
            self.assertNotIn(uniques[(B, "org.example.Svc")], json.dumps(m))
            self.assertNotIn(uniques[(0, "org.example.Svc")], json.dumps(m))
            self.assertNotEqual(m["dest"]["unique"], services["org.example.Hidden"].unique, m)
        kinds = {(m["dir"], m["message"]["type"], m["message"].get("dest"), m["dest"]["unique"]) for m in got}
        self.assertIn(("in", "call", "org.example.Svc", "org.busd"), kinds)
        self.assertIn(("out", "call", "org.example.Svc", services["org.example.Svc"].unique), kinds)
        self.assertIn(("in", "call", "org.example.Hidden", "org.busd"), kinds)
        # the call to the hidden service is A's own (in) but never shown going to it
        self.assertEqual([k for k in kinds if k[:3] == ("out", "call", "org.example.Hidden")], [])
        # the hidden service's reply: shown to A's caller, without the service's credentials
        hidden_reply = [m for m in got if m["dir"] == "out" and m["message"]["type"] == "reply"
                        and m["dest"]["unique"] == uniques[(A, "org.example.Hidden")]][0]
        self.assertEqual(hidden_reply["sender"], {"unique": services["org.example.Hidden"].unique})
        self.assertEqual(mon.wait(), 0)

    def test_the_monitor_verb_grants_all_traffic(self):
        services = {"org.example.Svc": self.serve("org.example.Svc")}
        mon = self.run_as(C, monitor_as, self.addr)
        self.assertEqual(json.loads(mon.readline())["scope"], "all")
        uniques = self.calls(services, [(B, "org.example.Svc")])
        self.sentinel()
        got = json.loads(mon.readline())
        self.assertTrue(any(m["type"] == "monitor" and m["sender"]["unique"] == uniques[(B, "org.example.Svc")]
                            and m["sender"]["uid"] == B for m in got))
        self.assertEqual(mon.wait(), 0)


for _suffix, _seq in (("Stream", False), ("Seqpacket", True)):
    globals()["Unprivileged" + _suffix] = type("Unprivileged" + _suffix, (_Unprivileged, unittest.TestCase),
                                               {"seqpacket": _seq})

if __name__ == "__main__":
    main()
