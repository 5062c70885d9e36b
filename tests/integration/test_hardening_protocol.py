#!/usr/bin/env python3
"""The wire against docs/protocol.md, where issue 16 found it differs:

10. on seqpacket the daemon sends its packets without a trailing newline
    (§1), also the one error sent to a connection refused as it is accepted
    (max_connections; and, as root, a uid's connections quota and a uid that
    may not connect);
11. an answer from a callee the daemon cannot accept (unknown member, bad
    code, code or message too long, U+0000 in the message) is refused with
    `invalid_message` whose `id` is null and whose `call` is the delivered
    call's id (§4.2 "Errors about an answer": those ids are the daemon's and
    never appear as `id`);
12. a callee's error with "data": null reaches the caller with "data": null
    (§4.2: "with its own code, message and data");
and the D-Bus name queue (§4.1): A owns allowing replacement, B queues, C
replaces: A goes back to the head of the queue, before B, and gets the name
when C releases it.
"""
import json

from daemon_harness import DaemonTest, bind_transports, main
from pyclient import BusError, Client, Closed
from test_policy import ALLOW_ALL, PolicyTest, as_user, require_root
from test_reliability_common import raw_connect

A = 61001  # an unprivileged uid of the test's own choosing


def refused_packet(sock):
    """The raw bytes of the first packet the daemon sends on a refused
    seqpacket connection (a reset may come before it: read again)."""
    for _ in range(3):
        try:
            return sock.recv(70000)
        except ConnectionResetError:
            continue
    return b""


# ---- 10. the refusal at accept, on seqpacket -------------------------------------

class RefusedAtAcceptOverSeqpacket(DaemonTest):
    busd_args = ("--max-connections", "2")

    def test_the_error_to_a_connection_over_max_connections_has_no_trailing_newline(self):
        self.daemon.ping()  # the admin connection: one
        kept = self.connect(seqpacket=True)  # two
        s = raw_connect(self.daemon, seqpacket=True)
        self.addCleanup(s.close)
        data = refused_packet(s)
        self.assertEqual(json.loads(data)["code"], "limit", data)
        self.assertFalse(data.endswith(b"\n"), "a seqpacket packet from the daemon ends in a newline: %r" % data)
        self.assertAlive(kept)


@require_root
class RefusedForItsUidOverSeqpacket(PolicyTest):
    def refusal_as_a(self):
        def connect(report, addr):
            first = Client(addr)
            try:
                first.hello()
            except (BusError, Closed, OSError):
                pass  # refused: the policy denies connecting
            c = Client(addr)
            report(refused_packet(c.sock).hex())
            c.close()
            first.close()
        ch = self.child(as_user(A, A, [], connect, self.daemon.seq_addr))
        return bytes.fromhex(ch.readline())

    def test_the_error_for_a_uid_over_its_connections_quota_has_no_trailing_newline(self):
        self.start({"policy.json": {"default": ALLOW_ALL,
                                    "quotas": {"overrides": [{"for": {"uid": A}, "connections": 1}]}}})
        data = self.refusal_as_a()
        self.assertEqual(json.loads(data)["code"], "limit", data)
        self.assertFalse(data.endswith(b"\n"), "a seqpacket packet from the daemon ends in a newline: %r" % data)

    def test_the_error_for_a_uid_that_may_not_connect_has_no_trailing_newline(self):
        self.start({"policy.json": {"default": ALLOW_ALL, "rules": [{"for": {"uid": A}, "deny": {"connect": True}}]}})
        data = self.refusal_as_a()
        self.assertEqual(json.loads(data)["code"], "denied", data)
        self.assertFalse(data.endswith(b"\n"), "a seqpacket packet from the daemon ends in a newline: %r" % data)


# ---- 11, 12. answers from a callee ----------------------------------------------------

class _CalleeAnswers:
    NAME = "org.example.Answers"

    def deliver(self):
        """A call from a fresh caller, as the service receives it."""
        caller = self.connect()
        id = caller.call_async(self.NAME, "m")
        return caller, id, self.svc.next_call()

    def setUp(self):
        super().setUp()
        self.svc = self.connect(names=[self.NAME])

    def test_an_invalid_answer_is_refused_with_id_null_and_call_set(self):
        bad = {
            "unknown member": lambda k: {"type": "reply", "id": k, "result": 1, "extra": 2},
            "bad code": lambda k: {"type": "error", "id": k, "code": "no spaces allowed", "message": "m"},
            "code too long": lambda k: {"type": "error", "id": k, "code": "c" * 129, "message": "m"},
            "message too long": lambda k: {"type": "error", "id": k, "code": "x.y", "message": "m" * 1025},
            "U+0000 in message": lambda k: {"type": "error", "id": k, "code": "x.y", "message": "a\u0000b"},
        }
        for what, make in bad.items():
            with self.subTest(answer=what):
                caller, id, call = self.deliver()
                self.svc.send(make(call["id"]))
                msg = self.svc.next_of("error")
                self.assertEqual(msg["code"], "invalid_message", msg)
                self.assertIsNone(msg["id"], "the daemon's call id is used as `id`: %r" % msg)
                self.assertEqual(msg.get("call"), call["id"], msg)
                # the call is still the callee's to answer
                self.svc.reply(call, "fine")
                self.assertEqual(caller.result(id), "fine")

    def test_a_callee_error_with_data_null_reaches_the_caller_with_data_null(self):
        caller, id, call = self.deliver()
        self.svc.send_raw(b'{"type":"error","id":%d,"code":"x.nothing","message":"none","data":null}' % call["id"])
        msg = caller.answer(id)
        self.assertEqual(msg["type"], "error", msg)
        self.assertEqual(msg["code"], "x.nothing")
        self.assertIn("data", msg, "the callee's \"data\": null was dropped: %r" % msg)
        self.assertIsNone(msg["data"])


# ---- the name queue --------------------------------------------------------------------

class _NameQueue:
    NAME = "org.example.Queued"

    def owner(self, c):
        return c.call("org.busd", "owner", {"name": self.NAME})

    def test_a_replaced_owner_goes_to_the_head_of_the_queue_and_gets_the_name_back(self):
        a, b, c = self.connect(), self.connect(), self.connect()
        self.assertEqual(a.request_name(self.NAME, allow_replacement=True), "primary_owner")  # queue: true
        self.assertEqual(b.request_name(self.NAME), "in_queue")
        self.assertEqual(c.request_name(self.NAME, replace=True), "primary_owner")
        self.assertEqual(a.next_of("name_lost")["name"], self.NAME)
        self.assertEqual(self.owner(c), {"name": self.NAME, "owner": c.unique, "queue": [a.unique, b.unique]})
        self.assertEqual(c.release_name(self.NAME), "released")
        self.assertEqual(a.next_of("name_acquired")["name"], self.NAME)
        self.assertEqual(self.owner(c), {"name": self.NAME, "owner": a.unique, "queue": [b.unique]})
        # b was never told anything
        b.ping()
        self.assertEqual([m["type"] for m in b.backlog], [])


bind_transports(globals(), _CalleeAnswers, _NameQueue)

if __name__ == "__main__":
    main()
