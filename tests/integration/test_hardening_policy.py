#!/usr/bin/env python3
"""What the access policy must not leak or lose (issue 16), with clients in
forked processes that setuid to unprivileged uids (as test_policy.py; the
tests need root and skip otherwise):

7. a uid denied `see` on a name gets no `$bus.name.<name>` owner events for
   it, even subscribed to `$bus.name.>`;
8. `stats` lists no connection and no uid the asker cannot see; `owner`,
   `introspect` and `pidfd` of a hidden name answer exactly as for an absent
   one (`no_owner`); a denied call to a hidden name does not name its
   owner's unique id;
9. moving a strict policy.json away and reloading (SIGHUP) does not widen
   access: the policy in force stays, and the log says so;
and the per-uid `handshakes` quota is given back when a connection closes
before its hello while the uid keeps another connection open.
"""
import json
import os
import re
import shutil
import signal
import tempfile
import time

from daemon_harness import WAIT, main
from pyclient import BusError, Client, Closed
from test_policy import ALLOW_ALL, PolicyTest, as_user, require_root

A, B = 61001, 61002  # uids (and primary gids) of the test's own choosing
HIDDEN = "org.example.Hidden"
VISIBLE = "org.example.Visible"
ABSENT = "org.example.Absent"


def mentions(text, unique):
    """Does text name the unique id (":12" but not inside ":123")?"""
    return re.search(r"(?<![0-9A-Za-z])%s(?![0-9])" % re.escape(unique), text) is not None


@require_root
class NameEventsRespectSee(PolicyTest):
    def test_owner_changes_of_a_name_the_uid_may_not_see_are_not_published_to_it(self):
        self.start({"policy.json": {"default": ALLOW_ALL,
                                    "rules": [{"for": {"uid": A}, "deny": {"see": [HIDDEN]}}]}})

        def watch(report, addr):
            c = Client(addr)
            c.hello()
            c.subscribe("$bus.name.>")
            report("subscribed")
            got = []
            while True:  # until the last event the parent causes
                ev = c.next_event()
                got.append([ev["topic"], ev["data"]["name"], ev["data"]["new_owner"] is not None])
                if ev["data"]["name"] == VISIBLE and ev["data"]["new_owner"] is None:
                    break
            report(json.dumps(got))

        for addr in (self.daemon.stream_addr, self.daemon.seq_addr):
            with self.subTest(addr=addr):
                ch = self.child(as_user(A, A, [], watch, addr))
                self.assertEqual(ch.readline(), "subscribed")
                owner = self.daemon.connect()
                for name in (HIDDEN, VISIBLE):
                    self.assertEqual(owner.request_name(name), "primary_owner")
                for name in (HIDDEN, VISIBLE):
                    self.assertEqual(owner.release_name(name), "released")
                got = json.loads(ch.readline())
                topic = "$bus.name." + VISIBLE
                self.assertEqual(got, [[topic, VISIBLE, True], [topic, VISIBLE, False]],
                                 "a uid that may not see %s learnt of its owners" % HIDDEN)
                self.assertEqual(ch.wait(), 0)
                owner.close()


@require_root
class HiddenNamesDoNotLeak(PolicyTest):
    def setUp(self):
        self.start({"policy.json": {"default": ALLOW_ALL, "rules": [
            {"for": {"uid": A}, "deny": {"see": [HIDDEN], "call": [HIDDEN]}}]}})

        def own(report, addr):
            c = Client(addr, timeout=None)
            c.hello(name="the hidden service", names=[HIDDEN], methods=[{"name": "Secret"}])
            report(c.unique)
            c.next_call()  # holds the name until killed

        # the hidden name's owner is uid B's only connection
        owner = self.child(as_user(B, B, [], own, self.daemon.stream_addr))
        self.hidden_unique = owner.readline()
        self.assertTrue(self.hidden_unique.startswith(":"), self.hidden_unique)

    def probe(self, seqpacket):
        """What uid A learns, asking over one transport."""
        def ask(report, addr):
            c = Client(addr)
            c.hello()
            out = {}
            st = c.call("org.busd", "stats")
            out["stats_peers"] = [p["unique"] for p in st["peers"]]
            out["stats_uids"] = [u["uid"] for u in st["uids"]]
            out["stats_peers_total"] = st["peers_total"]
            for method, key in (("owner", "name"), ("introspect", "name"), ("pidfd", "peer")):
                for name in (HIDDEN, ABSENT):
                    try:
                        out["%s %s" % (method, name)] = ["ok", json.dumps(c.call("org.busd", method, {key: name}))]
                    except BusError as e:
                        out["%s %s" % (method, name)] = [e.code, e.message]
            try:
                c.call(HIDDEN, "Secret")
                out["call"] = ["ok", ""]
            except BusError as e:
                out["call"] = [e.code, e.message]
            report(json.dumps(out))

        ch = self.child(as_user(A, A, [], ask, self.daemon.seq_addr if seqpacket else self.daemon.stream_addr))
        line = ch.readline()
        self.assertTrue(line, "the asking child died")
        return json.loads(line)

    def test_stats_lists_no_connection_or_uid_the_asker_cannot_see(self):
        for seq in (False, True):
            out = self.probe(seq)
            with self.subTest(seqpacket=seq, what="peers"):
                self.assertNotIn(self.hidden_unique, out["stats_peers"],
                                 "stats shows uid %d the connection that owns %s" % (A, HIDDEN))
            with self.subTest(seqpacket=seq, what="uids"):
                self.assertNotIn(B, out["stats_uids"], "stats shows uid %d the uid that owns %s" % (A, HIDDEN))

    def test_owner_introspect_and_pidfd_of_a_hidden_name_answer_as_for_an_absent_one(self):
        for seq in (False, True):
            out = self.probe(seq)
            for method in ("owner", "introspect", "pidfd"):
                with self.subTest(seqpacket=seq, method=method):
                    hidden, absent = out["%s %s" % (method, HIDDEN)], out["%s %s" % (method, ABSENT)]
                    self.assertEqual(absent[0], "no_owner", absent)
                    self.assertEqual(hidden[0], "no_owner", "%s of a hidden name: %r" % (method, hidden))
                    self.assertEqual(hidden[1].replace(HIDDEN, "NAME"), absent[1].replace(ABSENT, "NAME"),
                                     "the answers for a hidden and an absent name differ")
                    self.assertFalse(mentions(hidden[1], self.hidden_unique), hidden)

    def test_a_denied_call_does_not_name_the_hidden_owner(self):
        for seq in (False, True):
            with self.subTest(seqpacket=seq):
                code, message = self.probe(seq)["call"]
                self.assertNotEqual(code, "ok")
                self.assertFalse(mentions(message, self.hidden_unique),
                                 "the error names the hidden owner %s: %s" % (self.hidden_unique, message))


@require_root
class ReloadWithoutTheFile(PolicyTest):
    def test_moving_a_strict_policy_away_and_reloading_does_not_widen_access(self):
        # stricter than the built-in system-bus policy: uid A may not publish sensors.>
        self.start({"policy.json": {"default": ALLOW_ALL, "rules": [
            {"for": {"uid": A}, "deny": {"publish": ["sensors.>"]}}]}})
        self.assertEqual(self.run_verb(A, "publish")["outcome"], "denied")
        away = tempfile.mkdtemp(prefix="busd-policy-away-")
        self.addCleanup(shutil.rmtree, away, True)
        os.rename(os.path.join(self.pdir, "policy.json"), os.path.join(away, "policy.json"))
        before = len(self.daemon.log().splitlines())
        self.daemon.proc.send_signal(signal.SIGHUP)
        # the reload is done once busd has logged about the policy
        deadline = time.monotonic() + WAIT
        while not any("polic" in line for line in self.daemon.log().splitlines()[before:]):
            self.assertLess(time.monotonic(), deadline, "no word about the policy after SIGHUP")
            time.sleep(0.02)
        self.daemon.ping()
        lines = self.daemon.log().splitlines()[before:]
        got = self.run_verb(A, "publish")
        self.assertEqual(got["outcome"], "denied", "the reload widened access: %r; log: %s" % (got, lines))
        self.assertTrue(any(re.search(r"polic.*(stays|kept|keep|still in force|not reloaded|refus)", line, re.I)
                            for line in lines), "the log does not say the policy in force stays: %s" % lines)


@require_root
class HandshakeQuotaIsGivenBack(PolicyTest):
    QUOTA = {"connections": 8, "handshakes": 2}
    ROUNDS = 7  # alternately silent and sending a message before hello

    def test_a_connection_closed_before_hello_gives_its_handshake_back(self):
        self.start({"policy.json": {"default": ALLOW_ALL,
                                    "quotas": {"overrides": [dict(self.QUOTA, **{"for": {"uid": A}})]}}})

        def churn(report, addr, rounds):
            keep = Client(addr)
            keep.hello()  # the uid keeps this connection open throughout

            def mine():
                return [u for u in keep.call("org.busd", "stats")["uids"] if u["uid"] == A][0]

            out = {"rounds": [], "handshakes": []}
            for i in range(rounds):
                s = Client(addr)
                if i % 2:
                    # a valid message before hello: answered, so accepted and counted in handshake
                    try:
                        s.send({"type": "call", "id": 1, "dest": "org.busd", "method": "ping"})
                        out["rounds"].append(s.recv().get("code"))
                    except (Closed, OSError) as e:
                        out["rounds"].append("closed: %s" % e)
                else:
                    # silent: accepted once the uid's account counts it
                    deadline = time.monotonic() + WAIT
                    while mine()["connections"] != 2 and time.monotonic() < deadline:
                        time.sleep(0.01)
                    out["rounds"].append("accepted" if mine()["connections"] == 2 else "not accepted")
                s.close()
                deadline = time.monotonic() + WAIT
                while mine()["connections"] != 1 and time.monotonic() < deadline:
                    time.sleep(0.01)
                out["handshakes"].append(mine()["handshakes"])
            late = Client(addr)
            try:
                late.hello()
                out["late"] = "welcome"
            except BusError as e:
                out["late"] = e.code
            report(json.dumps(out))

        ch = self.child(as_user(A, A, [], churn, self.daemon.stream_addr, self.ROUNDS))
        line = ch.readline()
        self.assertTrue(line, "the child died")
        out = json.loads(line)
        self.assertEqual(out["rounds"], ["accepted", "hello_required"] * (self.ROUNDS // 2) + ["accepted"],
                         "connections before hello were refused after others had closed: %r" % out)
        self.assertEqual(out["handshakes"], [0] * self.ROUNDS, "handshakes in stats: %r" % out["handshakes"])
        self.assertEqual(out["late"], "welcome")


if __name__ == "__main__":
    main()
