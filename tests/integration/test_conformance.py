#!/usr/bin/env python3
"""Protocol conformance of the real busd, checked with pyclient.py, a client
written from docs/protocol.md alone: handshake, calls and replies, events and
patterns, names, introspection, the org.busd methods, identity. Every test
runs over stream and seqpacket (the *Stream / *Seqpacket classes)."""
import array
import json
import os
import socket

from daemon_harness import Client, DaemonTest, bind_transports, main
from pyclient import BusError

LIMIT_KEYS = {"max_message", "max_recv", "max_depth", "max_pending_calls", "queue_bytes", "max_names",
              "max_subscriptions", "max_methods", "max_queued_fds", "stall_timeout_ms"}
STATS_KEYS = {"uptime_ms", "connections", "connections_total", "messages_in", "messages_out", "bytes_in",
              "bytes_out", "calls", "replies", "events", "deliveries", "drops", "errors", "pending_calls", "held_calls",
              "subscriptions", "names", "peers_total", "peers", "denials", "quota_refusals", "uids", "queued_fds",
              "queued_fds_limit", "fds_refused", "monitors"}
PEER_STATS_KEYS = {"unique", "name", "transport", "queue_bytes", "queue_messages", "queued_fds", "drops",
                   "messages_in", "messages_out", "pending_calls"}
MARK = "zz.mark"  # a topic every subscriber of a test subscribes to, to end its reading


def creds_of_this_process():
    return {"uid": os.getuid(), "gid": os.getgid(), "pid": os.getpid()}


def topics_until_mark(client):
    """Topics of the events the client receives before the MARK event."""
    topics = []
    while True:
        ev = client.next_event()
        if ev["topic"] == MARK:
            return topics
        topics.append(ev["topic"])


class _Handshake:
    def test_welcome_carries_id_unique_protocol_server_limits_names(self):
        c = self.connect(hello=False)
        c.send({"type": "hello", "id": 41, "name": "conformance", "names": ["org.example.Hs"]})
        w = c.recv()
        self.assertEqual(w["type"], "welcome")
        self.assertEqual(w["id"], 41)
        self.assertRegex(w["unique"], r"^:[0-9]+$")
        self.assertEqual(w["protocol"], 1)
        self.assertRegex(w["server"], r"^busd [0-9]+\.[0-9]+\.[0-9]+$")
        self.assertEqual(set(w["limits"]), LIMIT_KEYS)
        self.assertEqual(w["limits"]["max_message"], 65536 if self.seqpacket else 1048576)
        self.assertEqual(w["limits"]["max_recv"], w["limits"]["max_message"] + 1024)
        self.assertEqual(w["limits"]["max_depth"], 32)
        self.assertEqual(w["names"], {"org.example.Hs": "primary_owner"})

    def test_welcome_without_hello_id_has_no_id(self):
        c = self.connect(hello=False)
        c.send({"type": "hello"})
        w = c.recv()
        self.assertEqual(w["type"], "welcome")
        self.assertNotIn("id", w)

    def test_hello_names_are_requested_with_default_flags(self):
        self.connect(names=["org.example.Taken"])
        c = self.connect(hello=False)
        w = c.hello(names=["org.example.Free", "org.example.Taken"])
        # default flags: queue=true, so a taken name puts us in its queue
        self.assertEqual(w["names"], {"org.example.Free": "primary_owner", "org.example.Taken": "in_queue"})

    def test_crlf_and_blank_lines_are_accepted_on_stream_trailing_newline_on_seqpacket(self):
        c = self.connect(hello=False)
        if self.seqpacket:
            c.send_raw(b'{"type":"hello","id":1}\n')
            self.assertEqual(c.recv()["type"], "welcome")
            c.send_raw(b'{"type":"call","id":2,"dest":"org.busd","method":"ping"}\n')
        else:
            c.send_bytes(b'\n  \t\r\n{"type":"hello","id":1}\r\n\n')
            self.assertEqual(c.recv()["type"], "welcome")
            c.send_bytes(b'{"type":"call","id":2,"dest":"org.busd",')
            c.send_bytes(b'"method":"ping"}\r\n')
        self.assertEqual(c.recv()["id"], 2)

    def test_unique_ids_are_never_reused_across_reconnects(self):
        seen = []
        for i in range(20):
            with Client(self.daemon.addr(self.seqpacket or i % 2 == 1)) as c:
                seen.append(c.hello()["unique"])
        self.assertEqual(len(set(seen)), len(seen), seen)
        numbers = [int(u[1:]) for u in seen]
        self.assertEqual(numbers, sorted(numbers))


class _Calls:
    def test_call_is_relayed_with_daemon_id_and_reply_returns_with_caller_id(self):
        svc = self.connect(names=["org.example.Echo"])
        c = self.connect()
        c.send({"type": "call", "id": 9007199254740991, "dest": "org.example.Echo", "method": "echo",
                "params": {"x": [1, "two", None]}})
        call = svc.next_call()
        self.assertEqual(set(call), {"type", "id", "dest", "method", "params", "sender", "creds"})
        self.assertIsInstance(call["id"], int)
        self.assertEqual(call["dest"], "org.example.Echo")
        self.assertEqual(call["method"], "echo")
        self.assertEqual(call["params"], {"x": [1, "two", None]})
        self.assertEqual(call["sender"], c.unique)
        self.assertEqual(call["creds"], creds_of_this_process())
        svc.reply(call, {"echo": call["params"]})
        ans = c.recv()
        self.assertEqual(ans, {"type": "reply", "id": 9007199254740991, "result": {"echo": {"x": [1, "two", None]}},
                               "sender": svc.unique})

    def test_call_by_unique_id_keeps_dest_as_given(self):
        svc = self.connect()
        c = self.connect()
        id = c.call_async(svc.unique, "m")
        call = svc.next_call()
        self.assertEqual(call["dest"], svc.unique)
        svc.reply(call, 5)
        self.assertEqual(c.result(id), 5)

    def test_params_and_result_default_to_null(self):
        svc = self.connect(names=["org.example.Null"])
        c = self.connect()
        c.send({"type": "call", "id": 3, "dest": "org.example.Null", "method": "m"})
        call = svc.next_call()
        self.assertIn("params", call)
        self.assertIsNone(call["params"])
        svc.send({"type": "reply", "id": call["id"]})
        ans = c.answer(3)
        self.assertEqual(ans["type"], "reply")
        self.assertIn("result", ans)
        self.assertIsNone(ans["result"])

    def test_callee_error_passes_through_with_code_message_and_data(self):
        svc = self.connect(names=["org.example.Fail"])
        c = self.connect()
        id1 = c.call_async("org.example.Fail", "m")
        id2 = c.call_async("org.example.Fail", "m")
        svc.error(svc.next_call(), "org.example.Broken", "it broke: disk full", {"free": 0, "disks": ["sda"]})
        svc.error(svc.next_call(), "nodata", "no data member")
        e1 = c.answer(id1)
        self.assertEqual(e1, {"type": "error", "id": id1, "code": "org.example.Broken",
                              "message": "it broke: disk full", "sender": svc.unique,
                              "data": {"free": 0, "disks": ["sda"]}})
        e2 = c.answer(id2)
        self.assertEqual(e2["code"], "nodata")
        self.assertNotIn("data", e2)
        self.assertNotIn("call", e2)

    def test_several_calls_pending_at_once_are_answered_out_of_order(self):
        svc = self.connect(names=["org.example.Many"])
        c = self.connect()
        ids = [c.call_async("org.example.Many", "m", i) for i in range(10)]
        calls = [svc.next_call() for _ in ids]
        self.assertEqual(len({call["id"] for call in calls}), 10)
        for call in reversed(calls):
            svc.reply(call, call["params"] * 10)
        for i, id in enumerate(ids):
            self.assertEqual(c.result(id), i * 10)

    def test_oneway_call_is_delivered_without_id_and_gets_no_answer(self):
        svc = self.connect(names=["org.example.Oneway"])
        c = self.connect()
        c.call_async("org.example.Oneway", "fire", {"n": 1}, oneway=True)
        call = svc.next_call()
        self.assertNotIn("id", call)
        self.assertIs(call["oneway"], True)
        self.assertEqual(call["params"], {"n": 1})
        self.assertEqual(call["sender"], c.unique)
        c.ping()  # barrier: an answer to the one-way call would have come first
        self.assertEqual(c.backlog, [])

    def test_ordinary_call_has_no_oneway_member(self):
        svc = self.connect(names=["org.example.Twoway"])
        c = self.connect()
        c.call_async("org.example.Twoway", "m", oneway=False)
        self.assertNotIn("oneway", svc.next_call())

    def test_oneway_call_failure_is_reported_with_callers_id(self):
        c = self.connect()
        id = c.call_async("org.example.Nobody", "fire", oneway=True)
        self.next_error(c, "no_owner", id=id, contains="org.example.Nobody")

    def test_cancelled_call_frees_its_slot_and_its_late_answer_is_discarded(self):
        svc = self.connect(names=["org.example.Slow"])
        c = self.connect()
        id = c.call_async("org.example.Slow", "m")
        call = svc.next_call()
        c.cancel(id)
        c.ping()
        self.assertEqual(self.daemon.peer_stats(c.unique)["pending_calls"], 0)
        svc.reply(call, "late")
        self.next_error(svc, "no_such_call", id=None, call=call["id"], contains=str(call["id"]))
        c.ping()
        self.assertEqual(c.backlog, [], "the caller got an answer for a cancelled call")

    def test_cancel_of_unknown_id_is_ignored(self):
        c = self.connect()
        c.cancel(12345)
        c.ping()
        self.assertEqual(c.backlog, [])

    def test_client_may_call_itself(self):
        c = self.connect(names=["org.example.Self"])
        id = c.call_async("org.example.Self", "m", 1)
        call = c.next_call()
        self.assertEqual(call["sender"], c.unique)
        c.reply(call, 2)
        self.assertEqual(c.result(id), 2)

    def test_serve_helper_answers_with_results_and_errors(self):
        from pyclient import ServiceError

        svc = self.connect(names=["org.example.Calc"])
        c = self.connect()

        def div(params, call):
            if params["b"] == 0:
                raise ServiceError("org.example.DivByZero", "division by zero", {"a": params["a"]})
            return params["a"] // params["b"]

        ids = [c.call_async("org.example.Calc", "div", {"a": 7, "b": 2}),
               c.call_async("org.example.Calc", "div", {"a": 7, "b": 0}),
               c.call_async("org.example.Calc", "mul", {})]
        svc.serve({"div": div}, count=3)
        self.assertEqual(c.result(ids[0]), 3)
        e = self.assertRaisesBus("org.example.DivByZero", c.result, ids[1])
        self.assertEqual(e.data, {"a": 7})
        self.assertRaisesBus("unknown_method", c.result, ids[2])


class _Events:
    def test_event_carries_topic_data_sender_and_creds(self):
        sub = self.connect()
        sub.subscribe("sensors.*.temp")
        pub = self.connect()
        self.assertEqual(pub.publish("sensors.kitchen.temp", 21.5), {"delivered": 1, "dropped": 0})
        ev = sub.next_event()
        self.assertEqual(ev, {"type": "event", "topic": "sensors.kitchen.temp", "data": 21.5, "sender": pub.unique,
                              "creds": creds_of_this_process()})

    def test_publish_data_defaults_to_null_and_no_ack_without_id(self):
        sub = self.connect()
        sub.subscribe("t")
        pub = self.connect()
        pub.send({"type": "publish", "topic": "t"})
        ev = sub.next_event()
        self.assertIn("data", ev)
        self.assertIsNone(ev["data"])
        pub.ping()
        self.assertEqual(pub.backlog, [], "a publish without id was answered")

    def test_subscribe_and_unsubscribe_answer_with_the_pattern(self):
        c = self.connect()
        self.assertEqual(c.subscribe("a.*.>"), {"pattern": "a.*.>", "lossy": False})
        self.assertEqual(c.subscribe("a.*.>", lossy=True), {"pattern": "a.*.>", "lossy": True})
        self.assertEqual(c.unsubscribe("a.*.>"), {"pattern": "a.*.>"})

    def test_wildcards_match_as_specified(self):
        topics = ["a", "a.b", "a.b.c", "a.b.c.d", "a.x.c", "x.b.c", "b", "$bus.x"]
        expected = {
            "a.b": ["a.b"],
            "a.*": ["a.b"],
            "a.*.c": ["a.b.c", "a.x.c"],
            "*.b.c": ["a.b.c", "x.b.c"],
            "a.>": ["a.b", "a.b.c", "a.b.c.d", "a.x.c"],
            "a.b.>": ["a.b.c", "a.b.c.d"],
            "*": ["a", "b"],
            "*.>": ["a.b", "a.b.c", "a.b.c.d", "a.x.c", "x.b.c"],
            ">": ["a", "a.b", "a.b.c", "a.b.c.d", "a.x.c", "x.b.c", "b"],
        }
        subs = {}
        for pattern in expected:
            s = self.connect()
            s.subscribe(pattern)
            s.subscribe(MARK)
            subs[pattern] = s
        # topics starting with $ are the daemon's; check them through a name change
        names = self.connect()
        pub = self.connect()
        for t in topics:
            if t.startswith("$"):
                names.request_name("org.example.Wild")
                continue
            n = sum(t in want for want in expected.values())
            self.assertEqual(pub.publish(t, t)["delivered"], n, "topic %s" % t)
        names.ping()
        pub.publish(MARK)
        for pattern, s in subs.items():
            self.assertEqual(topics_until_mark(s), expected[pattern], "pattern %r" % pattern)

    def test_dollar_topics_reach_only_explicit_dollar_patterns(self):
        wild = self.connect()
        for p in (">", "*", "*.>", "*.name.>", MARK):
            wild.subscribe(p)
        explicit = self.connect()
        for p in ("$bus.>", "$bus.name.>", "$bus.name.org.example.Dollar", MARK):
            explicit.subscribe(p)
        self.connect(names=["org.example.Dollar"])
        self.connect().publish(MARK)
        self.assertEqual(topics_until_mark(wild), [])
        # three matching patterns, one delivery
        self.assertEqual(topics_until_mark(explicit), ["$bus.name.org.example.Dollar"])

    def test_fan_out_reaches_every_subscriber_once(self):
        subs = [self.connect() for _ in range(4)]
        for i, s in enumerate(subs):
            s.subscribe("fan.*" if i % 2 else "fan.>")
        pub = self.connect()
        self.assertEqual(pub.publish("fan.out", {"n": 1}), {"delivered": 4, "dropped": 0})
        for s in subs:
            self.assertEqual(s.next_event()["data"], {"n": 1})

    def test_subscriber_with_several_matching_patterns_gets_each_event_once(self):
        s = self.connect()
        for p in ("a.b", "a.*", "a.>", "*.b", ">", "*.*", MARK):
            s.subscribe(p)
        pub = self.connect()
        self.assertEqual(pub.publish("a.b", 1)["delivered"], 1)
        pub.publish(MARK)
        self.assertEqual(topics_until_mark(s), ["a.b"])

    def test_publisher_gets_its_own_event_when_subscribed(self):
        c = self.connect()
        c.subscribe("self.>")
        self.assertEqual(c.publish("self.test", "hi")["delivered"], 1)
        ev = c.next_event()
        self.assertEqual((ev["topic"], ev["data"], ev["sender"]), ("self.test", "hi", c.unique))

    def test_subscribing_twice_is_a_noop_and_unsubscribe_removes_the_pattern(self):
        s = self.connect()
        s.subscribe("dup.x")
        s.subscribe("dup.x")
        s.subscribe(MARK)
        pub = self.connect()
        self.assertEqual(pub.publish("dup.x")["delivered"], 1)
        s.unsubscribe("dup.x")
        self.assertEqual(pub.publish("dup.x")["delivered"], 0)
        self.assertRaisesBus("not_subscribed", s.unsubscribe, "dup.x")
        pub.publish(MARK)
        self.assertEqual(topics_until_mark(s), ["dup.x"])

    def test_unsubscribe_leaves_other_patterns(self):
        s = self.connect()
        for p in ("u.a", "u.b", MARK):
            s.subscribe(p)
        s.unsubscribe("u.a")
        pub = self.connect()
        for t in ("u.a", "u.b", MARK):
            pub.publish(t, ack=False)
        self.assertEqual(topics_until_mark(s), ["u.b"])

    def test_events_are_relayed_as_specified_by_the_json_rules(self):
        s = self.connect()
        s.subscribe("json")
        pub = self.connect()
        # payloads arrive as sent: doubles keep their text, 64-bit integers
        # are exact, -0 and escapes stay as written; whitespace outside
        # strings is dropped (a line feed would split a JSON Lines stream)
        pub.send_raw(b'{"type":"publish","topic":"json","data":{"d":2,"f":1.50e3,"u":18446744073709551615,'
                     b'"i":-9223372036854775808,"z":-0,"e":"\\u00e9\\ud83d\\ude00","t":"caf\xc3\xa9"}}')
        raw = s.recv_raw()
        self.assertIn(b'"f":1.50e3', raw)
        self.assertIn(b'"z":-0,"e":"\\u00e9\\ud83d\\ude00"', raw)
        ev = json.loads(raw)
        self.assertEqual(ev["data"], {"d": 2, "f": 1500.0, "u": 18446744073709551615, "i": -9223372036854775808,
                                      "z": 0, "e": "\u00e9\U0001f600", "t": "caf\u00e9"})
        ws = b"\r\n" if self.seqpacket else b"\t"  # a packet may hold a line feed, a line not
        pub.send_raw(b'{"type":"publish","topic":"json","data":[ 1 ,' + ws + b'{ "a b" : " x " } ]}')
        raw = s.recv_raw()
        self.assertIn(b'"data":[1,{"a b":" x "}],', raw)
        self.assertNotIn(b"\n", raw)

    def test_lone_surrogates_and_non_rfc_numbers_are_parse_errors(self):
        # relayed as sent, they would reach receivers whose parsers refuse them
        pub = self.connect()
        for data in (b'"\\ud800"', b'"\\udc00x"', b'"\\ud800\\u0041"', b"01", b"-01", b"00", b"1.", b"-.5",
                     b"1.e5", b"1e"):
            pub.send_raw(b'{"type":"publish","id":1,"topic":"json","data":' + data + b"}")
            err = pub.recv()
            self.assertEqual((err["type"], err["code"]), ("error", "parse_error"), data)

    def test_duplicate_member_names_are_refused_not_relayed(self):
        s = self.connect()
        s.subscribe("json")
        pub = self.connect()
        pub.send_raw(b'{"type":"publish","id":5,"topic":"json","data":{"a":{"d":1,"d":2}}}')
        err = pub.recv()
        self.assertEqual(err["type"], "error")
        self.assertEqual(err["code"], "parse_error")
        self.assertIn("same member name twice", err["message"])
        # nothing reached the subscriber: the next event is the first it sees
        pub.publish("json", 7, ack=True)
        self.assertEqual(s.recv()["data"], 7)


class _Names:
    def test_request_name_statuses(self):
        a = self.connect()
        b = self.connect()
        c = self.connect()
        self.assertEqual(a.request_name("org.example.N"), "primary_owner")
        self.assertEqual(a.request_name("org.example.N"), "already_owner")
        self.assertEqual(b.request_name("org.example.N"), "in_queue")
        self.assertEqual(b.request_name("org.example.N"), "in_queue")
        self.assertEqual(c.request_name("org.example.N", queue=False), "exists")
        res = a.request({"type": "request_name", "name": "org.example.N"})
        self.assertEqual(res, {"name": "org.example.N", "status": "already_owner"})
        self.assertEqual(a.call("org.busd", "owner", {"name": "org.example.N"}),
                         {"name": "org.example.N", "owner": a.unique, "queue": [b.unique]})

    def test_release_passes_the_name_to_the_queue_and_announces_it(self):
        watch = self.connect()
        watch.subscribe("$bus.name.>")
        a = self.connect()
        b = self.connect()
        a.request_name("org.example.Rel")
        b.request_name("org.example.Rel")
        self.assertEqual(watch.next_event()["data"],
                         {"name": "org.example.Rel", "old_owner": None, "new_owner": a.unique})
        self.assertEqual(a.release_name("org.example.Rel"), "released")
        self.assertEqual(b.next_of("name_acquired"), {"type": "name_acquired", "name": "org.example.Rel"})
        ev = watch.next_event()
        self.assertEqual(ev["topic"], "$bus.name.org.example.Rel")
        self.assertEqual(ev["sender"], "org.busd")
        self.assertEqual(ev["data"], {"name": "org.example.Rel", "old_owner": a.unique, "new_owner": b.unique})
        self.assertEqual(a.release_name("org.example.Rel"), "not_owner")
        self.assertEqual(b.release_name("org.example.Rel"), "released")
        self.assertEqual(watch.next_event()["data"],
                         {"name": "org.example.Rel", "old_owner": b.unique, "new_owner": None})
        self.assertRaisesBus("no_owner", a.call, "org.busd", "owner", {"name": "org.example.Rel"})

    def test_queued_connection_can_release_its_place(self):
        a = self.connect()
        b = self.connect()
        a.request_name("org.example.Q")
        b.request_name("org.example.Q")
        self.assertEqual(b.release_name("org.example.Q"), "released")
        self.assertEqual(a.call("org.busd", "owner", {"name": "org.example.Q"})["queue"], [])

    def test_replace_takes_a_name_whose_owner_allows_it(self):
        watch = self.connect()
        watch.subscribe("$bus.name.org.example.Rep")
        a = self.connect()
        b = self.connect()
        a.request_name("org.example.Rep", allow_replacement=True)
        self.assertEqual(b.request_name("org.example.Rep", replace=True), "primary_owner")
        self.assertEqual(a.next_of("name_lost"), {"type": "name_lost", "name": "org.example.Rep"})
        watch.next_event()
        self.assertEqual(watch.next_event()["data"],
                         {"name": "org.example.Rep", "old_owner": a.unique, "new_owner": b.unique})
        # a asked to queue (the default): it waits at the head of the queue
        c = self.connect()
        c.request_name("org.example.Rep")
        self.assertEqual(c.call("org.busd", "owner", {"name": "org.example.Rep"})["queue"], [a.unique, c.unique])
        b.release_name("org.example.Rep")
        self.assertEqual(a.next_of("name_acquired")["name"], "org.example.Rep")

    def test_replaced_owner_that_did_not_queue_drops_out(self):
        a = self.connect()
        b = self.connect()
        a.request_name("org.example.Out", allow_replacement=True, queue=False)
        self.assertEqual(b.request_name("org.example.Out", replace=True), "primary_owner")
        a.next_of("name_lost")
        self.assertEqual(b.call("org.busd", "owner", {"name": "org.example.Out"})["queue"], [])
        self.assertEqual(a.release_name("org.example.Out"), "not_owner")

    def test_replace_is_refused_when_the_owner_does_not_allow_it(self):
        a = self.connect()
        b = self.connect()
        a.request_name("org.example.Keep")
        self.assertEqual(b.request_name("org.example.Keep", replace=True, queue=False), "exists")
        self.assertEqual(b.request_name("org.example.Keep", replace=True), "in_queue")
        self.assertEqual(b.call("org.busd", "owner", {"name": "org.example.Keep"})["owner"], a.unique)
        a.ping()
        self.assertEqual([m for m in a.backlog if m["type"] == "name_lost"], [])

    def test_owner_disconnect_passes_the_name_on(self):
        watch = self.connect()
        watch.subscribe("$bus.name.>")
        a = self.connect(names=["org.example.Gone"])
        b = self.connect(names=["org.example.Gone"])
        watch.next_event()
        a.close()
        self.assertEqual(b.next_of("name_acquired")["name"], "org.example.Gone")
        self.assertEqual(watch.next_event()["data"],
                         {"name": "org.example.Gone", "old_owner": a.unique, "new_owner": b.unique})

    def test_calls_to_a_name_go_to_its_current_owner(self):
        a = self.connect(names=["org.example.Cur"])
        b = self.connect(names=["org.example.Cur"])
        c = self.connect()
        id = c.call_async("org.example.Cur", "m")
        a.reply(a.next_call(), "a")
        self.assertEqual(c.result(id), "a")
        a.release_name("org.example.Cur")
        b.next_of("name_acquired")
        id = c.call_async("org.example.Cur", "m")
        b.reply(b.next_call(), "b")
        self.assertEqual(c.result(id), "b")


class _Introspection:
    METHODS = [{"name": "get", "description": "current time", "params": {"tz": "string"},
                "result": {"iso": "string"}},
               {"name": "set.time"}]

    def test_introspect_returns_declarations_from_hello(self):
        svc = self.connect(names=["org.example.Clock"], methods=self.METHODS)
        c = self.connect()
        for name in ("org.example.Clock", svc.unique):
            self.assertEqual(c.call("org.busd", "introspect", {"name": name}),
                             {"name": name, "owner": svc.unique, "methods": self.METHODS})

    def test_declare_replaces_earlier_declarations(self):
        svc = self.connect(names=["org.example.Decl"], methods=self.METHODS)
        svc.declare([{"name": "only"}])
        res = svc.call("org.busd", "introspect", {"name": "org.example.Decl"})
        self.assertEqual(res["methods"], [{"name": "only"}])
        svc.declare([])
        self.assertEqual(svc.call("org.busd", "introspect", {"name": "org.example.Decl"})["methods"], [])

    def test_introspect_without_declarations_is_empty(self):
        svc = self.connect()
        self.assertEqual(svc.call("org.busd", "introspect", {"name": svc.unique})["methods"], [])

    def test_introspect_of_the_daemon_lists_its_methods(self):
        c = self.connect()
        res = c.call("org.busd", "introspect", {"name": "org.busd"})
        self.assertEqual(res["owner"], "org.busd")
        self.assertEqual({m["name"] for m in res["methods"]}, {"ping", "list", "owner", "introspect", "stats", "pidfd"})

    def test_pidfd_answer_carries_a_pidfd_of_the_peers_process_as_scm_rights(self):
        # §4.6: read with recvmsg(); the descriptor comes with the answer's first byte
        svc = self.connect(names=["org.example.Pidfd"])
        c = self.connect()
        c.send({"type": "call", "id": 41, "dest": "org.busd", "method": "pidfd",
                "params": {"peer": "org.example.Pidfd"}})
        fds = []
        data = b""
        while not data.endswith(b"\n") or not data.strip():
            chunk, anc, _, _ = c.sock.recvmsg(65537, socket.CMSG_SPACE(4 * 4))
            self.assertTrue(chunk, "the daemon closed the connection")
            for level, kind, payload in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fds += list(array.array("i", payload[:len(payload) - len(payload) % 4]))
            data += chunk
            if self.transport == "seqpacket":
                break
        msg = json.loads(data.strip())
        try:
            if msg["type"] == "error":
                self.assertEqual(msg["code"], "unsupported")  # kernel without SO_PEERPIDFD
                self.assertEqual(fds, [])
                return
            self.assertEqual(msg["id"], 41)
            self.assertEqual(msg["result"], {"peer": svc.unique, "pid": os.getpid(), "fd": 1})
            self.assertEqual(len(fds), 1)
            with open("/proc/self/fdinfo/%d" % fds[0]) as f:
                self.assertIn("Pid:\t%d\n" % os.getpid(), f.read())
        finally:
            for fd in fds:
                os.close(fd)

    def test_pidfd_of_nobody_is_no_owner(self):
        c = self.connect()
        with self.assertRaises(BusError) as e:
            c.call("org.busd", "pidfd", {"peer": "org.example.Nobody"})
        self.assertEqual(e.exception.code, "no_owner")

    def test_list_shows_names_and_peers(self):
        svc = self.connect(name="clock service", names=["org.example.Clock", "org.example.Clock2"],
                           methods=self.METHODS)
        waiter = self.connect(names=["org.example.Clock"])
        c = self.connect()
        res = c.call("org.busd", "list")
        names = {n["name"]: n for n in res["names"]}
        self.assertEqual(set(names), {"org.example.Clock", "org.example.Clock2"})
        me = creds_of_this_process()
        self.assertEqual(names["org.example.Clock"], {
            "name": "org.example.Clock", "owner": svc.unique, "pid": me["pid"], "uid": me["uid"], "gid": me["gid"],
            "queue": [waiter.unique], "methods": ["get", "set.time"]})
        peers = {p["unique"]: p for p in res["peers"]}
        self.assertTrue({svc.unique, waiter.unique, c.unique} <= set(peers))
        self.assertEqual(peers[svc.unique], {
            "unique": svc.unique, "name": "clock service", "pid": me["pid"], "uid": me["uid"], "gid": me["gid"],
            "transport": self.transport, "names": ["org.example.Clock", "org.example.Clock2"]})
        self.assertIsNone(peers[c.unique]["name"])
        self.assertEqual(peers[waiter.unique]["names"], [])  # queued, not owner

    def test_owner_of_unique_id_and_unknown_names(self):
        svc = self.connect()
        c = self.connect()
        self.assertEqual(c.call("org.busd", "owner", {"name": svc.unique}),
                         {"name": svc.unique, "owner": svc.unique, "queue": []})
        e = self.assertRaisesBus("no_owner", c.call, "org.busd", "owner", {"name": "org.example.None"})
        self.assertIn("org.example.None", e.message)
        self.assertRaisesBus("no_owner", c.call, "org.busd", "introspect", {"name": ":99999"})

    def test_ping_answers_with_the_server(self):
        c = self.connect()
        c.send({"type": "call", "id": 0, "dest": "org.busd", "method": "ping"})
        self.assertEqual(c.recv(), {"type": "reply", "id": 0, "result": {"server": c.welcome["server"]},
                                    "sender": "org.busd"})
        for params in (None, {}):
            self.assertEqual(c.call("org.busd", "ping", params), {"server": c.welcome["server"]})

    def test_stats_has_every_counter_and_counts_this_test(self):
        c = self.connect()
        before = c.call("org.busd", "stats")
        self.assertEqual(set(before), STATS_KEYS)
        s = self.connect()
        s.subscribe("st.>")
        svc = self.connect()
        c.publish("st.x", 1)
        id = c.call_async(svc.unique, "m")
        svc.reply(svc.next_call(), None)
        c.result(id)
        self.assertRaisesBus("no_owner", c.call, "org.example.Missing", "m")
        after = c.call("org.busd", "stats")
        self.assertEqual(after["connections"], before["connections"] + 2)
        self.assertGreaterEqual(after["connections_total"], after["connections"])
        self.assertEqual(after["calls"] - before["calls"], 1)
        self.assertEqual(after["replies"] - before["replies"], 1)
        self.assertEqual(after["events"] - before["events"], 1)
        self.assertEqual(after["deliveries"] - before["deliveries"], 1)
        self.assertEqual(after["errors"] - before["errors"], 1)
        self.assertEqual(after["subscriptions"] - before["subscriptions"], 1)
        self.assertEqual(after["names"], before["names"])
        self.assertEqual(after["pending_calls"], 0)
        for k in ("messages_in", "messages_out", "bytes_in", "bytes_out"):
            self.assertGreater(after[k], before[k], k)
        self.assertGreaterEqual(after["uptime_ms"], before["uptime_ms"])
        peers = {p["unique"]: p for p in after["peers"]}
        self.assertEqual(set(peers[c.unique]), PEER_STATS_KEYS)
        self.assertEqual(peers[c.unique]["transport"], self.transport)
        self.assertEqual(peers[s.unique]["messages_in"], 2)  # hello, subscribe


class _Identity:
    def test_sender_and_creds_are_those_of_the_sending_process(self):
        svc = self.connect(names=["org.example.Who"])
        sub = self.connect()
        sub.subscribe("who")
        addr = self.daemon.addr(self.seqpacket)

        def child_main(report):
            with Client(addr) as c:
                c.hello()
                report(c.unique)
                c.publish("who", "child")
                report(json.dumps(c.call("org.example.Who", "m")))

        child = self.child(child_main)
        unique = child.readline()
        ev = sub.next_event()
        call = svc.next_call()
        want = {"uid": os.getuid(), "gid": os.getgid(), "pid": child.pid}
        self.assertNotEqual(child.pid, os.getpid())
        self.assertEqual((ev["sender"], ev["creds"]), (unique, want))
        self.assertEqual((call["sender"], call["creds"]), (unique, want))
        svc.reply(call, "ok")
        self.assertEqual(child.readline(), '"ok"')
        self.assertEqual(child.wait(), 0)

    def test_replies_and_errors_carry_the_callee_as_sender(self):
        svc = self.connect(names=["org.example.Id"])
        c = self.connect()
        id1 = c.call_async("org.example.Id", "m")
        id2 = c.call_async("org.example.Id", "m")
        svc.reply(svc.next_call(), 1)
        svc.error(svc.next_call(), "e", "m")
        self.assertEqual(c.answer(id1)["sender"], svc.unique)
        self.assertEqual(c.answer(id2)["sender"], svc.unique)
        self.assertEqual(c.answer(c.call_async("org.busd", "ping"))["sender"], "org.busd")


bind_transports(globals(), _Handshake, _Calls, _Events, _Names, _Introspection, _Identity)


class CrossTransport(DaemonTest):
    def test_stream_and_seqpacket_clients_call_and_publish_to_each_other(self):
        st = self.connect(seqpacket=False, names=["org.example.St"])
        sq = self.connect(seqpacket=True, names=["org.example.Sq"])
        st.subscribe("x.>")
        sq.subscribe("x.>")
        id = st.call_async("org.example.Sq", "m", "from stream")
        call = sq.next_call()
        self.assertEqual(call["params"], "from stream")
        sq.reply(call, "from seqpacket")
        self.assertEqual(st.result(id), "from seqpacket")
        id = sq.call_async("org.example.St", "m", 1)
        st.reply(st.next_call(), 2)
        self.assertEqual(sq.result(id), 2)
        self.assertEqual(st.publish("x.y", "s")["delivered"], 2)
        for c in (st, sq):
            self.assertEqual(c.next_event()["data"], "s")


if __name__ == "__main__":
    main()
