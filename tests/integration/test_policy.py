#!/usr/bin/env python3
"""Access control and per-uid quotas of the real busd (docs/policy.md), with
clients in forked processes that setgid/setuid to unprivileged ids of the
test's own choosing (the tests run as root; they skip otherwise).

- the matrix: every verb (own, call, reply, publish, subscribe exact and
  wildcard, list/see) x every rule form (allow, deny, deny over allow in either
  file order, no rule with either default, empty file, prefix);
- groups (primary and supplementary), user and group names;
- fail closed: a bad file stops busd from starting, a bad reload keeps the
  policy in force, an empty file denies everything;
- a reload takes back names and subscriptions, and withholds the answer to a
  call the new policy denies;
- quotas: one uid flooding until its limits while another uid is served;
- `bus policy check` and the README's example."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

from daemon_harness import WAIT, Child, Daemon, main
from pyclient import BusError, Client, Closed

A, B, C = 61001, 61002, 61003  # uids (and primary gids) of the test's own choosing
GROUP = 61500                  # a group A has as a supplementary group
BUS = os.environ.get("BUS", "bus")
ALLOW_ALL = {v: "allow" for v in ("connect", "own", "call", "publish", "subscribe", "see")}

# verb -> (policy verb, object in the rule, what the client asks for)
VERBS = {
    "own": ("own", "org.example.Own", "org.example.Own"),
    "call": ("call", "org.example.Svc", "org.example.Svc"),
    "reply": ("call", "org.example.Svc", "org.example.Svc"),
    "publish": ("publish", "sensors.kitchen.temp", "sensors.kitchen.temp"),
    "sub_exact": ("subscribe", "sensors.kitchen.temp", "sensors.kitchen.temp"),
    "sub_wild": ("subscribe", "sensors.>", "sensors.*.temp"),
    "list": ("see", "org.example.Svc", "org.example.Svc"),
}


def as_user(uid, gid, groups, fn, *args):
    """A Child running fn(report, *args) as uid/gid with these supplementary groups."""
    def body(report, *a):
        os.setgroups(groups)
        os.setgid(gid)
        os.setuid(uid)
        fn(report, *a)
    return Child(body, *args)


def outcome(fn):
    """'ok', or the code of the daemon's error."""
    try:
        fn()
        return "ok"
    except BusError as e:
        return e.code


def do_verb(report, addr, verb):
    """Runs one verb as the current (unprivileged) user and reports its outcome
    (and, for the denials, the daemon's message) as JSON."""
    c = Client(addr)
    try:
        c.hello()
    except BusError as e:
        report(json.dumps({"outcome": "connect:" + e.code, "message": e.message}))
        return
    except (Closed, OSError) as e:
        report(json.dumps({"outcome": "connect:closed", "message": str(e)}))
        return
    res = {}
    try:
        if verb == "own":
            st = c.request_name("org.example.Own")
            res["outcome"] = "ok" if st == "primary_owner" else st
        elif verb in ("call", "reply"):
            res["outcome"] = "ok" if c.call("org.example.Svc", "Ping") == "pong" else "wrong answer"
        elif verb == "publish":
            ack = c.publish("sensors.kitchen.temp", 21)
            res["outcome"] = "ok" if ack["delivered"] == 1 else "delivered %d" % ack["delivered"]
        elif verb in ("sub_exact", "sub_wild"):
            c.subscribe(VERBS[verb][2])
            report(json.dumps({"outcome": "subscribed"}))
            ev = c.next_event()
            res["outcome"] = "ok" if ev["topic"] == "sensors.kitchen.temp" else "wrong event"
        elif verb == "list":
            names = {n["name"] for n in c.call("org.busd", "list")["names"]}
            if "org.example.Svc" not in names:
                res["outcome"] = "hidden"
            else:
                c.call("org.busd", "owner", {"name": "org.example.Svc"})
                res["outcome"] = "ok"
    except BusError as e:
        res = {"outcome": e.code, "message": e.message}
    report(json.dumps(res))


def serve_forever(report, addr, name):
    """A service that answers Ping with "pong" (and holds Hold calls until
    Release)."""
    c = Client(addr, timeout=None)
    c.hello(names=[name])
    report("ready")
    held = []
    while True:
        call = c.next_call()
        if call["method"] == "Hold":
            held.append(call)
            report("held")
        elif call["method"] == "Release":
            for h in held:
                c.reply(h, "released")
            held = []
            c.reply(call, "ok")
        elif "id" in call:
            c.reply(call, "pong")


class PolicyTest(unittest.TestCase):
    """A busd per test on a world-accessible directory, --system, with the
    policy files the test writes."""

    def start(self, files, expect_start=True):
        self.pdir = tempfile.mkdtemp(prefix="busd-policy-")
        self.addCleanup(shutil.rmtree, self.pdir, True)
        self.write(files)
        os.chmod(self.pdir, 0o755)
        self.daemon = Daemon("--system", "--policy-dir", self.pdir)
        self.addCleanup(self.daemon.stop)
        os.chmod(self.daemon.dir, 0o755)
        return self.daemon

    def write(self, files):
        os.makedirs(os.path.join(self.pdir, "policy.d"), exist_ok=True)
        for name, content in files.items():
            with open(os.path.join(self.pdir, name), "w") as f:
                f.write(content if isinstance(content, str) else json.dumps(content))

    def reload(self, probe):
        """SIGHUP, then wait until probe() is true (the new policy is in force)."""
        self.daemon.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + WAIT
        while not probe():
            self.assertLess(time.monotonic(), deadline, "the reload never took effect: " + self.daemon.log()[-800:])
            time.sleep(0.02)

    def child(self, ch):
        self.addCleanup(ch.kill)
        return ch

    def service(self, name="org.example.Svc"):
        ch = self.child(Child(serve_forever, self.daemon.stream_addr, name))
        self.assertEqual(ch.readline(), "ready")
        return ch

    def run_verb(self, uid, verb, groups=(), gid=None, seqpacket=False):
        """Runs verb as uid in a child, with the root side of it (a service, a
        subscriber, a publisher); returns the child's report."""
        addr = self.daemon.seq_addr if seqpacket else self.daemon.stream_addr
        sub = None
        if verb == "publish":  # subscribed before the child can publish
            sub = self.daemon.connect()
            sub.subscribe("sensors.>")
        ch = self.child(as_user(uid, uid if gid is None else gid, list(groups), do_verb, addr, verb))
        line = ch.readline()
        if line == "":
            self.fail("the child died: status %s" % ch.wait())
        res = json.loads(line)
        if res["outcome"] == "subscribed":
            pub = self.daemon.connect()
            pub.publish("sensors.kitchen.temp", 21)
            res = json.loads(ch.readline())
        if sub and res["outcome"] == "ok":
            self.assertEqual(sub.next_event()["topic"], "sensors.kitchen.temp")
        self.assertEqual(ch.wait(), 0)
        return res


def require_root(cls):
    if os.geteuid() != 0:
        return unittest.skip("needs root to setuid test clients")(cls)
    return cls


@require_root
class Matrix(PolicyTest):
    def policy(self, form, verb):
        """The files of rule form `form` for `verb`, and the outcomes expected
        for A (whom the rules name) and B (whom they do not)."""
        pverb, obj, _ = VERBS[verb]
        denied = "hidden" if verb == "list" else "denied"
        rule = lambda effect, what=obj: {"for": {"uid": A}, effect: {pverb: [what]}}
        # the defaults of the forms that deny by default: connect, and see unless see is the verb
        # tested (a denied call to a name the caller may not see is answered as one to a name
        # nobody owns, without the rule: docs/policy.md, "What see hides")
        strict = {"connect": "allow"} if pverb == "see" else {"connect": "allow", "see": "allow"}
        if form == "allow":
            return {"policy.json": {"default": strict, "rules": [rule("allow")]}}, "ok", denied
        if form == "deny":
            return {"policy.json": {"default": ALLOW_ALL, "rules": [rule("deny")]}}, denied, "ok"
        if form == "deny_over_allow":
            return ({"policy.json": {"default": dict(ALLOW_ALL, **{pverb: "deny"}), "rules": [rule("allow")]},
                     "policy.d/50-deny.json": {"rules": [rule("deny")]}}, denied, denied)
        if form == "allow_after_deny":
            return ({"policy.json": {"default": ALLOW_ALL, "rules": [rule("deny")]},
                     "policy.d/50-allow.json": {"rules": [rule("allow")]}}, denied, "ok")
        if form == "no_rule_allow":
            other = "org.example.Other" if pverb in ("own", "call", "see") else "other.topic"
            return ({"policy.json": {"default": ALLOW_ALL, "rules": [rule("deny", other)]}}, "ok", "ok")
        if form == "no_rule_deny":
            other = "org.example.Other" if pverb in ("own", "call", "see") else "other.topic"
            return ({"policy.json": {"default": strict, "rules": [rule("allow", other)]}},
                    denied, denied)
        if form == "empty":
            return {"policy.json": "{}"}, "connect:denied", "connect:denied"
        if form == "prefix":
            wide = "org.example.*" if pverb in ("own", "call", "see") else "sensors.>"
            return ({"policy.json": {"default": strict, "rules": [rule("allow", wide)]}},
                    "ok", denied)
        raise AssertionError(form)

    def check_form(self, form):
        for verb in VERBS:
            with self.subTest(form=form, verb=verb):
                files, want_a, want_b = self.policy(form, verb)
                self.start(files)
                if verb in ("call", "reply", "list"):
                    svc = self.service()
                for uid, want in ((A, want_a), (B, want_b)):
                    if verb == "reply":
                        got = self.reply_outcome(uid, svc)
                    else:
                        got = self.run_verb(uid, verb, seqpacket=uid == B)
                    self.assertEqual(got["outcome"], want, "uid %d %s under %s: %s" % (uid, verb, form, got))
                    if want.endswith("denied"):
                        # the message names the rule (or the default) that denied it
                        self.assertTrue(any(s in got.get("message", "") for s in ("rules[", "default")), got)
                self.daemon.stop()

    def reply_outcome(self, uid, svc):
        """The reply path: uid's call is held by the service; the answer comes
        back only if the policy allows the call (it is checked again on the
        way back, with the method, after the reload below)."""
        def call_held(report, addr):
            c = Client(addr)
            try:
                c.hello()
            except BusError as e:
                report(json.dumps({"outcome": "connect:" + e.code, "message": e.message}))
                return
            id = c.call_async("org.example.Svc", "Hold")
            c.ping()  # a denial would have come before the ping's answer
            if any(m.get("id") == id for m in c.backlog):
                msg = c.answer(id)
                report(json.dumps({"outcome": msg.get("code", "ok"), "message": msg.get("message", "")}))
                return
            report(json.dumps({"outcome": "sent"}))
            msg = c.answer(id)
            if msg["type"] == "error":
                report(json.dumps({"outcome": msg["code"], "message": msg["message"]}))
            else:
                report(json.dumps({"outcome": "ok" if msg["result"] == "released" else "wrong"}))
        ch = self.child(as_user(uid, uid, [], call_held, self.daemon.stream_addr))
        first = json.loads(ch.readline())
        if first["outcome"] != "sent":
            return first
        line = svc.readline()  # "held", or the child's answer came first
        if line != "held":
            return json.loads(ch.readline())
        # release the held call from root
        admin = self.daemon.connect()
        admin.call("org.example.Svc", "Release")
        res = json.loads(ch.readline())
        self.assertEqual(ch.wait(), 0)
        return res

    def test_allow(self):
        self.check_form("allow")

    def test_deny(self):
        self.check_form("deny")

    def test_deny_over_allow_in_a_later_file(self):
        self.check_form("deny_over_allow")

    def test_deny_over_allow_in_an_earlier_file(self):
        self.check_form("allow_after_deny")

    def test_no_rule_default_allow(self):
        self.check_form("no_rule_allow")

    def test_no_rule_default_deny(self):
        self.check_form("no_rule_deny")

    def test_empty_file_denies_everything(self):
        self.check_form("empty")

    def test_prefix(self):
        self.check_form("prefix")


@require_root
class Semantics(PolicyTest):
    def test_prefix_does_not_match_the_bare_prefix_or_others(self):
        self.start({"policy.json": {"default": {"connect": "allow"},
                                    "rules": [{"for": {"uid": A}, "allow": {"own": ["org.example.*"]}}]}})

        def owns(report, addr):
            c = Client(addr)
            c.hello()
            report(json.dumps([outcome(lambda n=n: c.request_name(n)) for n in
                               ("org.example.A", "org.example.A.B", "org.example", "org.examples.A", "org.other.A")]))
        ch = self.child(as_user(A, A, [], owns, self.daemon.stream_addr))
        self.assertEqual(json.loads(ch.readline()), ["ok", "ok", "denied", "denied", "denied"])

    def test_wildcard_subscription_cannot_widen_an_allowed_topic(self):
        self.start({"policy.json": {"default": {"connect": "allow"}, "rules": [
            {"for": {"uid": A}, "allow": {"subscribe": ["sensors.kitchen.temp", "public.>"]}}]}})

        def subs(report, addr):
            c = Client(addr)
            c.hello()
            report(json.dumps([outcome(lambda p=p: c.subscribe(p)) for p in
                               ("sensors.kitchen.temp", "sensors.*.temp", "sensors.>", ">", "*.kitchen.temp",
                                "public.a", "public.*", "public.>", "public.a.>")]))
        ch = self.child(as_user(A, A, [], subs, self.daemon.stream_addr))
        self.assertEqual(json.loads(ch.readline()),
                         ["ok", "denied", "denied", "denied", "denied", "ok", "ok", "ok", "ok"])

    def test_a_denied_topic_denies_every_pattern_that_could_match_it(self):
        self.start({"policy.json": {"default": ALLOW_ALL, "rules": [
            {"for": "*", "deny": {"subscribe": ["secret.>"]}}]}})

        def subs(report, addr):
            c = Client(addr)
            c.hello()
            report(json.dumps([outcome(lambda p=p: c.subscribe(p)) for p in
                               (">", "*.x", "secret.a", "secret", "public.>", "*")]))
        ch = self.child(as_user(A, A, [], subs, self.daemon.stream_addr))
        # "secret" alone is not under secret.> (one or more segments follow)
        self.assertEqual(json.loads(ch.readline()), ["denied", "denied", "denied", "ok", "ok", "ok"])

    def test_group_rules_match_primary_and_supplementary_groups(self):
        self.start({"policy.json": {"default": {"connect": "allow"}, "rules": [
            {"for": {"gid": GROUP}, "allow": {"own": ["org.example.Own"]}}]}})
        self.assertEqual(self.run_verb(A, "own", groups=[GROUP])["outcome"], "ok")
        self.assertEqual(self.run_verb(B, "own", gid=GROUP)["outcome"], "ok")
        self.assertEqual(self.run_verb(C, "own")["outcome"], "denied")

    def test_user_and_group_names_are_resolved_at_load(self):
        self.start({"policy.json": {"default": {"connect": "allow"}, "rules": [
            {"for": {"user": "nobody"}, "allow": {"own": ["org.example.Own"]}}]}})
        nobody = 65534
        self.assertEqual(self.run_verb(nobody, "own")["outcome"], "ok")
        self.assertEqual(self.run_verb(A, "own")["outcome"], "denied")

    def test_root_may_do_everything_even_under_an_empty_policy(self):
        d = self.start({"policy.json": "{}"})
        c = d.connect()
        self.assertEqual(c.request_name("org.example.Root"), "primary_owner")
        c.subscribe(">")
        self.assertEqual(c.publish("x.y")["delivered"], 1)

    def test_system_bus_without_files_denies_owning_names_only(self):
        self.start({})
        self.assertEqual(self.run_verb(A, "own")["outcome"], "denied")
        self.assertEqual(self.run_verb(A, "publish")["outcome"], "ok")
        self.assertEqual(self.run_verb(A, "sub_wild")["outcome"], "ok")

    def test_a_uid_without_backpressure_gets_drops_not_stalls(self):
        # system bus, no files: only root's subscriptions may hold publishers
        self.start({})

        def stuck_subscriber(report, addr):
            c = Client(addr)
            c.hello()
            report(json.dumps([c.unique, c.subscribe("flood.>")]))  # asks for lossless
            time.sleep(3600)  # never reads again; killed at cleanup

        ch = self.child(as_user(A, A, [], stuck_subscriber, self.daemon.stream_addr))
        unique, answer = json.loads(ch.readline())
        self.assertEqual(answer, {"pattern": "flood.>", "lossy": True})
        root = self.daemon.connect()
        self.assertEqual(root.subscribe("root.>"), {"pattern": "root.>", "lossy": False})
        pub = self.daemon.connect()
        data = "x" * 8192
        for n in range(10000):
            if pub.publish("flood.x", data)["dropped"]:
                break
        else:
            self.fail("10000 events did not fill a stuck subscriber's queue")
        # not held: every further event is dropped for it at once (held, the
        # publisher would wait out the stall timeout, and the subscriber would
        # be cut, reached by nothing more)
        for _ in range(20):
            self.assertEqual(pub.publish("flood.x", data), {"delivered": 0, "dropped": 1})
        sub = self.daemon.peer_stats(unique)
        self.assertIsNotNone(sub, "the stuck subscriber was cut: it held the publisher")
        self.assertGreaterEqual(sub["drops"], 21)

    def test_backpressure_can_be_granted_to_a_uid(self):
        self.start({"policy.json": {"default": dict(ALLOW_ALL, backpressure="allow")}})

        def subscriber(report, addr):
            c = Client(addr)
            c.hello()
            report(json.dumps([c.subscribe("flood.>"), c.subscribe("other.>", lossy=True)]))

        ch = self.child(as_user(A, A, [], subscriber, self.daemon.stream_addr))
        self.assertEqual(json.loads(ch.readline()), [{"pattern": "flood.>", "lossy": False},
                                                     {"pattern": "other.>", "lossy": True}])
        self.assertEqual(ch.wait(), 0)

    def test_hello_names_are_checked_like_request_name(self):
        self.start({"policy.json": {"default": {"connect": "allow"}}})

        def hello(report, addr):
            c = Client(addr)
            report(json.dumps(c.hello(names=["org.example.Own"])["names"]))
        ch = self.child(as_user(A, A, [], hello, self.daemon.stream_addr))
        self.assertEqual(json.loads(ch.readline()), {"org.example.Own": "denied"})

    def test_denials_are_logged_with_the_rule_and_counted(self):
        self.start({"policy.json": {"default": ALLOW_ALL}, "policy.d/10-x.json": {"rules": [
            {"for": {"uid": A}, "deny": {"publish": ["sensors.>"]}}]}})
        got = self.run_verb(A, "publish")
        self.assertEqual(got["outcome"], "denied")
        self.assertIn("policy.d/10-x.json: rules[0]", got["message"])
        self.assertGreaterEqual(self.daemon.stats()["denials"], 1)
        self.assertIn("denied publish sensors.kitchen.temp", self.daemon.log())
        self.assertIn("10-x.json: rules[0]", self.daemon.log())

    def test_the_user_bus_admits_only_its_owner(self):
        d = Daemon("--policy-dir", tempfile.mkdtemp(prefix="busd-empty-"))  # no --system, no file
        self.addCleanup(d.stop)
        os.chmod(d.dir, 0o755)
        for p in (d.stream_path, d.seq_path):
            os.chmod(p, 0o666)  # past the socket mode: SO_PEERCRED decides

        def connect(report, addr):
            c = Client(addr)
            try:
                c.hello()
                report("ok")
            except BusError as e:
                report(e.code)
            except (Closed, OSError):
                report("closed")
        ch = self.child(as_user(A, A, [], connect, d.stream_addr))
        self.assertEqual(ch.readline(), "denied")
        self.assertEqual(d.connect().ping()["server"].split()[0], "busd")


@require_root
class FailClosed(PolicyTest):
    def busd_exit(self, files):
        pdir = tempfile.mkdtemp(prefix="busd-policy-")
        self.addCleanup(shutil.rmtree, pdir, True)
        os.makedirs(os.path.join(pdir, "policy.d"))
        for name, content in files.items():
            with open(os.path.join(pdir, name), "w") as f:
                f.write(content)
        sock = os.path.join(pdir, "bus")
        busd = os.environ.get("BUSD", "busd")
        p = subprocess.run([busd, "--system", "--policy-dir", pdir, "--listen", "unix:" + sock,
                            "--listen", "seqpacket:" + sock + ".seq"],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=WAIT)
        return p.returncode, p.stderr.decode()

    def test_a_policy_that_does_not_parse_stops_busd_from_starting(self):
        for files, where in (({"policy.json": "{\"rules\": ["}, "policy.json"),
                             ({"policy.json": "{}", "policy.d/20-x.json": "{\"rulez\": []}"}, "20-x.json"),
                             ({"policy.json": "{\"rules\":[{\"for\":{\"user\":\"no-such-user-x\"},"
                                              "\"allow\":{\"own\":[\"a.b\"]}}]}"}, "no-such-user-x"),
                             ({"policy.json": "{\"rules\":[{\"for\":\"*\",\"allow\":{\"own\":[\"org.*.x\"]}}]}"},
                              "org.*.x"),
                             ({"policy.json": "{\"default\":{\"own\":\"allow\",\"own\":\"deny\"}}"}, "policy.json"),
                             ({"policy.json": ""}, "policy.json")):
            with self.subTest(files=files):
                code, err = self.busd_exit(files)
                self.assertEqual(code, 1, err)
                self.assertIn("refusing to start", err)
                self.assertIn(where, err)

    def test_a_bad_reload_keeps_the_policy_in_force(self):
        self.start({"policy.json": {"default": ALLOW_ALL}})
        self.write({"policy.d/90-bad.json": "{\"rules\": 5}"})
        self.reload(lambda: "the policy was not reloaded" in self.daemon.log())
        self.assertIn("90-bad.json", self.daemon.log())
        self.assertEqual(self.run_verb(A, "own")["outcome"], "ok")


@require_root
class Reload(PolicyTest):
    def test_reload_takes_back_names_and_subscriptions_and_says_why(self):
        self.start({"policy.json": {"default": ALLOW_ALL}})

        def holder(report, addr):
            c = Client(addr, timeout=None)
            c.hello()
            c.request_name("org.example.Own")
            c.subscribe("sensors.>")
            c.subscribe("other.>")
            report("ready")
            got = [c.next_of("error"), c.next_of("error"), c.next_of("name_lost")]
            report(json.dumps(got))
            report(json.dumps(c.next_event()))  # other.> still delivers
        ch = self.child(as_user(A, A, [], holder, self.daemon.stream_addr))
        self.assertEqual(ch.readline(), "ready")
        self.write({"policy.d/50-revoke.json": {"rules": [
            {"for": {"uid": A}, "deny": {"own": ["org.example.Own"], "subscribe": ["sensors.kitchen.>"]}}]}})
        self.reload(lambda: "policy: 2 files" in self.daemon.log())
        got = json.loads(ch.readline())
        msgs, lost = got[:2], got[2]
        self.assertEqual(lost["name"], "org.example.Own")
        self.assertEqual({m["code"] for m in msgs}, {"revoked"})
        self.assertEqual({m.get("name") or m.get("pattern") for m in msgs}, {"org.example.Own", "sensors.>"})
        for m in msgs:
            self.assertIn("50-revoke.json: rules[0]", m["message"])
        # other.> was kept: an event on it still reaches the holder
        self.assertEqual(self.daemon.connect().publish("sensors.kitchen.temp")["delivered"], 0)
        self.assertEqual(self.daemon.connect().publish("other.x")["delivered"], 1)
        self.assertEqual(json.loads(ch.readline())["topic"], "other.x")

    def test_a_vanished_policy_json_keeps_the_policy_while_a_removed_drop_in_is_an_edit(self):
        deny_a = {"rules": [{"for": {"uid": A}, "deny": {"publish": ["sensors.>"]}}]}
        self.start({"policy.json": {"default": ALLOW_ALL}, "policy.d/50-deny.json": deny_a})
        self.assertEqual(self.run_verb(A, "publish")["outcome"], "denied")
        # policy.json gone, the drop-in still there: refused, loudly; nothing changes
        os.rename(os.path.join(self.pdir, "policy.json"), os.path.join(self.pdir, "policy.json.away"))
        self.reload(lambda: "WARNING: the policy was not reloaded" in self.daemon.log())
        self.assertIn("policy.json is gone", self.daemon.log())
        self.assertEqual(self.run_verb(A, "publish")["outcome"], "denied")
        # back, and the drop-in removed: an ordinary reload that applies
        os.rename(os.path.join(self.pdir, "policy.json.away"), os.path.join(self.pdir, "policy.json"))
        os.unlink(os.path.join(self.pdir, "policy.d", "50-deny.json"))
        self.reload(lambda: "policy: 1 file from" in self.daemon.log())
        self.assertEqual(self.run_verb(A, "publish")["outcome"], "ok")

    def test_an_answer_to_a_call_the_new_policy_denies_is_withheld(self):
        self.start({"policy.json": {"default": ALLOW_ALL}})
        svc = self.service()

        def caller(report, addr):
            c = Client(addr, timeout=None)
            c.hello()
            id = c.call_async("org.example.Svc", "Hold")
            report("sent")
            msg = c.answer(id)
            report(json.dumps(msg))
        ch = self.child(as_user(A, A, [], caller, self.daemon.stream_addr))
        self.assertEqual(ch.readline(), "sent")
        self.assertEqual(svc.readline(), "held")
        self.write({"policy.d/50-nocall.json": {"rules": [
            {"for": {"uid": A}, "deny": {"call": [{"name": "org.example.Svc", "method": "Hold"}]}}]}})
        self.reload(lambda: "policy: 2 files" in self.daemon.log())
        self.daemon.connect().call("org.example.Svc", "Release")
        msg = json.loads(ch.readline())
        self.assertEqual(msg["type"], "error", msg)
        self.assertEqual(msg["code"], "denied")
        self.assertIn("50-nocall.json: rules[0]", msg["message"])


@require_root
class Quotas(PolicyTest):
    QUOTA = {"connections": 4, "handshakes": 2, "pending_calls": 3, "names": 2, "subscriptions": 3}

    def test_one_uid_flooding_hits_its_quotas_while_another_is_served(self):
        self.start({"policy.json": {"default": ALLOW_ALL,
                                    "quotas": {"overrides": [dict(self.QUOTA, **{"for": {"uid": A}})]}}})
        svc = self.service()
        sink = self.daemon.connect(names=["org.example.Sink"])  # never answers

        def flood(report, addr):
            conns = []
            out = {}
            for i in range(6):  # connections: 4 fit
                c = Client(addr)
                try:
                    c.hello()
                    conns.append(c)
                except BusError as e:
                    out.setdefault("connect", []).append(e.code)
                    out["connect_message"] = e.message
            c = conns[0]
            out["names"] = [outcome(lambda n=n: c.request_name("org.example.N%d" % n)) for n in range(3)]
            out["subs"] = [outcome(lambda n=n: c.subscribe("t%d.>" % n)) for n in range(4)]
            ids = [c.call_async("org.example.Sink", "Wait") for _ in range(5)]
            out["calls"] = []
            for id in ids[3:]:
                m = c.answer(id)
                out["calls"].append(m.get("code"))
                out["calls_message"] = m.get("message")
            report(json.dumps(out))
            # hold everything until the parent has looked at the stats
            c.sock.settimeout(None)
            c.next_of("event")
        ch = self.child(as_user(A, A, [], flood, self.daemon.stream_addr))
        out = json.loads(ch.readline())
        self.assertEqual(out["connect"], ["limit", "limit"])
        self.assertIn("quota connections", out["connect_message"])
        self.assertEqual(out["names"], ["ok", "ok", "limit"])
        self.assertEqual(out["subs"], ["ok", "ok", "ok", "limit"])
        self.assertEqual(out["calls"], ["limit", "limit"])
        self.assertIn("quota pending_calls", out["calls_message"])
        # another uid is served meanwhile
        got = self.run_verb(B, "call")
        self.assertEqual(got["outcome"], "ok")
        uids = {u["uid"]: u for u in self.daemon.stats()["uids"]}
        self.assertEqual(uids[A]["connections"], 4)
        self.assertEqual(uids[A]["pending_calls"], 3)
        self.assertEqual(uids[A]["names"], 2)
        self.assertEqual(uids[A]["subscriptions"], 3)
        self.assertGreaterEqual(uids[A]["refused"], 6)
        ch.kill()
        # all of A's accounting is given back when it is gone
        self.daemon.connect().ping()
        deadline = time.monotonic() + WAIT
        while A in {u["uid"] for u in self.daemon.stats()["uids"]}:
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.02)

    def test_connections_in_handshake_have_their_own_quota(self):
        self.start({"policy.json": {"default": ALLOW_ALL,
                                    "quotas": {"overrides": [dict(self.QUOTA, **{"for": {"uid": A}})]}}})

        def silent(report, addr):
            cs = [Client(addr) for _ in range(2)]  # in handshake: 2 fit
            c = Client(addr)
            try:
                report(json.dumps(c.recv()))
            except (Closed, OSError) as e:
                report(json.dumps({"closed": str(e)}))
            del cs
        ch = self.child(as_user(A, A, [], silent, self.daemon.stream_addr))
        msg = json.loads(ch.readline())
        self.assertEqual(msg.get("code"), "limit", msg)
        self.assertIn("quota handshakes", msg["message"])

    def test_queue_bytes_of_a_uid_bound_what_its_stuck_subscribers_hold(self):
        self.start({"policy.json": {"default": ALLOW_ALL, "quotas": {"overrides": [
            {"for": {"uid": A}, "queue_bytes": 200000}]}}})

        def stuck(report, addr):
            cs = []
            for _ in range(3):
                c = Client(addr)
                c.hello()
                c.subscribe("flood.>")
                cs.append(c)
            report("ready")
            time.sleep(3600)  # never reads; killed at the end
        ch = self.child(as_user(A, A, [], stuck, self.daemon.stream_addr))
        self.assertEqual(ch.readline(), "ready")
        pub = self.daemon.connect()
        payload = "x" * 4000
        dropped = 0
        for _ in range(300):
            dropped += pub.publish("flood.a", payload)["dropped"]

        uid = {u["uid"]: u for u in self.daemon.stats()["uids"]}[A]
        self.assertEqual(uid["quota"]["queue_bytes"], 200000)
        self.assertLessEqual(uid["queue_bytes"], 200000)
        self.assertGreater(dropped, 0)
        self.assertGreater(self.daemon.stats()["drops"], 0)
        # another uid's subscriber is not affected
        other = self.run_verb(B, "sub_exact")
        self.assertEqual(other["outcome"], "ok")


@require_root
class Cli(PolicyTest):
    # the file of the README and docs/policy.md, "Restrict a service's name and its methods to one group"
    README_POLICY = {
        "rules": [
            {"for": {"group": "audio"}, "allow": {"own": ["org.example.Audio"]}},
            {"for": {"not_group": "audio"}, "deny": {"call": ["org.example.Audio"]}},
        ]
    }
    INSTALLED_BASE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "busd", "policy", "policy.json")

    def base(self):
        with open(self.INSTALLED_BASE) as f:
            return f.read()

    def bus(self, *args):
        p = subprocess.run([BUS] + list(args), capture_output=True, timeout=WAIT)
        return p.returncode, p.stdout.decode() + p.stderr.decode()

    def test_policy_check_explains_with_the_rule(self):
        self.start({"policy.json": self.base(), "policy.d/50-audio.json": self.README_POLICY})
        code, out = self.bus("policy", "check", "--dir", self.pdir, "--uid", str(A), "--gid", str(A),
                             "--groups", "", "--text", "call", "org.example.Audio", "Play")
        self.assertEqual(code, 1, out)
        self.assertIn("denied: call org.example.Audio method Play for uid %d" % A, out)
        self.assertIn("50-audio.json: rules[1] (deny call org.example.Audio)", out)
        audio = int(subprocess.run(["getent", "group", "audio"], capture_output=True).stdout.split(b":")[2])
        code, out = self.bus("policy", "check", "--dir", self.pdir, "--uid", str(A), "--gid", str(A),
                             "--groups", "audio", "--json", "own", "org.example.Audio")
        self.assertEqual(code, 0, out)
        res = json.loads(out)
        self.assertTrue(res["allowed"])
        self.assertEqual(res["groups"], [audio])
        self.assertIn("50-audio.json: rules[0]", res["rule"])
        code, out = self.bus("policy", "verify", "--dir", self.pdir)
        self.assertEqual(code, 0, out)
        self.write({"policy.d/60-bad.json": "{"})
        code, out = self.bus("policy", "verify", "--dir", self.pdir)
        self.assertEqual(code, 65, out)
        self.assertIn("60-bad.json", out)

    def test_readme_example_restricts_a_service_to_one_group(self):
        audio = int(subprocess.run(["getent", "group", "audio"], capture_output=True).stdout.split(b":")[2])
        self.start({"policy.json": self.base(), "policy.d/50-audio.json": self.README_POLICY})

        def service(report, addr):
            c = Client(addr, timeout=None)
            c.hello()
            report(outcome(lambda: c.request_name("org.example.Audio")))
            c.serve({"Play": lambda params, call: "playing"})
        svc = self.child(as_user(A, A, [audio], service, self.daemon.stream_addr))
        self.assertEqual(svc.readline(), "ok")

        def outsider(report, addr):
            c = Client(addr)
            c.hello()
            report(outcome(lambda: c.request_name("org.example.Audio")))
            try:
                c.call("org.example.Audio", "Play")
                report("ok")
            except BusError as e:
                report(e.code + ": " + e.message)
        ch = self.child(as_user(B, B, [], outsider, self.daemon.stream_addr))
        self.assertEqual(ch.readline(), "denied")
        line = ch.readline()
        self.assertTrue(line.startswith("denied: "), line)
        self.assertIn("50-audio.json: rules[1]", line)

        def member(report, addr):
            c = Client(addr)
            c.hello()
            report(str(c.call("org.example.Audio", "Play")))
        ch = self.child(as_user(C, C, [audio], member, self.daemon.stream_addr))
        self.assertEqual(ch.readline(), "playing")

    def test_a_refused_connection_reaches_the_cli_with_the_rule(self):
        self.start({"policy.json": "{}"})

        # the build tree may be out of an unprivileged user's reach: a copy of
        # `bus` and its libbus in a directory anyone can read
        tools = tempfile.mkdtemp(prefix="busd-cli-")
        self.addCleanup(shutil.rmtree, tools, True)
        os.chmod(tools, 0o755)
        shutil.copy2(BUS, tools)
        for line in subprocess.run(["ldd", BUS], capture_output=True, text=True).stdout.splitlines():
            parts = line.split()
            if parts and parts[0].startswith("libbus.so") and len(parts) > 2 and parts[2].startswith("/"):
                shutil.copy2(parts[2], os.path.join(tools, parts[0]))
        env = dict(os.environ, LD_LIBRARY_PATH=tools)
        env.pop("ASAN_OPTIONS", None)  # its log directory is root's

        def ping(report, addr):
            p = subprocess.run([os.path.join(tools, os.path.basename(BUS)), "-a", addr, "ping"],
                               capture_output=True, timeout=WAIT, env=env)
            report(json.dumps([p.returncode, p.stderr.decode()]))
        for addr in (self.daemon.stream_addr, self.daemon.seq_addr):
            ch = self.child(as_user(A, A, [], ping, addr))
            code, err = json.loads(ch.readline())
            self.assertEqual(code, 77, err)
            self.assertIn("refused the connection: uid %d may not connect" % A, err)


if __name__ == "__main__":
    main()
