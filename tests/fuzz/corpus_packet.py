#!/usr/bin/env python3
"""corpus_packet.py: writes the seed corpus of fuzz_packet (corpus/packet/).

The target's input is binary (fuzz_packet.c: a 3-byte header per packet), so
the seeds are written from this readable description. Run it from anywhere;
it rewrites the seed-* files and leaves regress-* files alone.
"""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "packet")

TRUNC, WRITE = 4, 8
RECONNECT, SMALL, TICK = 1 << 4, 2 << 4, 3 << 4


def pkt(peer, data, flags=0):
    if isinstance(data, (dict, list)):
        data = json.dumps(data, separators=(",", ":"))
    if isinstance(data, str):
        data = data.encode()
    return struct.pack("<BH", peer | flags, len(data)) + data


def publish_of(size):
    """A publish of exactly size bytes."""
    text = '{"type":"publish","topic":"a.b","data":"%s"}'
    return text % ("x" * (size - len(text % "")))


def hello(peer, **kw):
    return pkt(peer, dict(type="hello", **kw))


SEEDS = {
    # every client message type, each answered
    "session": [hello(0, id=1, name="a", names=["org.example.A"]), hello(1),
                pkt(0, {"type": "subscribe", "pattern": "t.>", "id": 2}),
                pkt(1, {"type": "publish", "topic": "t.x", "data": {"k": [1, 2.5e3, None]}}),
                pkt(1, {"type": "call", "id": 3, "dest": "org.example.A", "method": "m", "params": [1]}),
                pkt(0, {"type": "reply", "id": 1, "result": True}, WRITE),
                pkt(1, {"type": "call", "id": 4, "dest": ":1", "method": "m"}),
                pkt(0, {"type": "error", "id": 2, "code": "my.err", "message": "no", "data": 1}),
                pkt(1, {"type": "call", "id": 5, "dest": "org.example.A", "method": "m"}),
                pkt(1, {"type": "cancel", "id": 5}),
                pkt(0, {"type": "unsubscribe", "pattern": "t.>", "id": 6}),
                pkt(0, {"type": "request_name", "name": "org.example.B", "id": 7, "queue": False}),
                pkt(0, {"type": "release_name", "name": "org.example.B", "id": 8}),
                pkt(0, {"type": "declare", "id": 9, "methods": [{"name": "m", "params": {"x": "int"}}]},
                    WRITE),
                pkt(1, {"type": "call", "id": 6, "dest": "org.busd", "method": "introspect",
                        "params": {"name": "org.example.A"}}, WRITE)],
    # one trailing line feed is stripped; raw line feeds elsewhere are JSON whitespace
    "newlines": [pkt(0, '{"type":"hello"}\n'), pkt(0, '{"type":"publish",\n"topic":"a.b",\n"data":\n1.5e1}\n'),
                 pkt(0, '{"type":"publish","topic":"a.b","data":1}\n\n'), pkt(0, "\n"), pkt(0, " \t\n"),
                 pkt(0, '\n{"type":"publish","topic":"a.b","data":1}')],
    # relayed doubles keep their text: one with a line feed around it must not break the line
    "relay-double": [hello(0), hello(1), pkt(1, {"type": "subscribe", "pattern": "x.*"}),
                     pkt(0, '{"type":"publish","topic":"x.y","data":[\n-0.0e-0\n,\r\n1E+308\n]}'),
                     pkt(0, '{"type":"call","id":1,"dest":":2","method":"m","params":\n2.50\n}'),
                     pkt(1, '{"type":"reply","id":1,"result":\n1e-7\n}', WRITE)],
    # MSG_TRUNC: refused whatever the packet holds, then the connection goes
    "truncated": [hello(0), pkt(0, {"type": "publish", "topic": "a.b"}, TRUNC), pkt(0, "x", TRUNC),
                  pkt(1, '{"type":"hello"}\n', TRUNC), hello(1)],
    # limits of a small connection (max_message 200): at, at plus the line feed, CR LF, over
    "small-limit": [pkt(2, hello(2)[3:], SMALL), pkt(2, publish_of(200)), pkt(2, publish_of(200) + "\n", WRITE),
                    pkt(2, publish_of(199) + "\r\n"), pkt(2, publish_of(201)),
                    pkt(3, '{"type":"hello"}', SMALL), pkt(3, publish_of(200) + "\n\n")],
    # zero-length packet: the end of the connection; a reconnect keeps nothing
    "eof": [hello(0, names=["org.example.A"]), hello(1), pkt(1, {"type": "call", "id": 1, "dest": "org.example.A",
                                                                 "method": "m"}),
            pkt(0, b""), pkt(1, {"type": "call", "id": 2, "dest": "org.example.A", "method": "m"}, WRITE),
            pkt(1, {"type": "publish", "topic": "a"}, RECONNECT)],
    # messages before hello, invalid ones, and forged identity
    "invalid": [pkt(0, {"type": "publish", "topic": "a.b"}), pkt(0, "{"), pkt(0, "[1]"), pkt(0, "null"),
                pkt(0, b'{"type":"hello","name":"\xc3\x28"}'), pkt(0, b'{"type":"he\x00llo"}'),
                pkt(0, '{"type":"hello","type":"hello"}'), pkt(0, {"type": "welcome"}),
                hello(0), hello(0), pkt(0, {"type": "publish", "topic": "a.b", "sender": ":9"}),
                pkt(0, {"type": "call", "id": 2 ** 53, "dest": "a.b", "method": "m"}),
                pkt(0, "[" * 33 + "]" * 33)],
    # a subscriber that stops reading, a publisher that floods, time passing
    "stall": [hello(0), hello(1), pkt(1, {"type": "subscribe", "pattern": ">"})] +
             [pkt(0, {"type": "publish", "topic": "f.x", "data": "y" * 900})] * 6 +
             [pkt(0, {"type": "publish", "topic": "f.x"}, TICK), pkt(0, {"type": "publish", "topic": "f.x"}, TICK),
              pkt(0, {"type": "publish", "topic": "f.x"}, TICK), pkt(1, {"type": "publish", "topic": "f.x"}, WRITE)],
    # calls whose answers cannot fit the caller's small max_recv
    "small-recv": [pkt(2, '{"type":"hello"}', SMALL), hello(0, names=["org.example.Big"]),
                   pkt(2, {"type": "call", "id": 1, "dest": "org.example.Big", "method": "m"}),
                   pkt(0, {"type": "reply", "id": 1, "result": "z" * 1300}),
                   pkt(2, {"type": "call", "id": 2, "dest": "org.example.Big", "method": "m"}),
                   pkt(0, {"type": "error", "id": 2, "code": "e", "message": "m" * 1024, "data": "d" * 300})],
    # monitors (protocol §4.10): one of everything and one filtered, with a small max_recv, records
    # of packets holding raw line feeds, records that do not fit, a monitor refusing other messages
    "monitor": [hello(0), hello(1, names=["org.example.A"]), pkt(2, '{"type":"hello"}', SMALL),
                pkt(0, {"type": "monitor", "id": 1}),
                pkt(2, {"type": "monitor", "id": 1, "name": "org.example.A", "types": ["call", "reply"]}),
                pkt(3, '{"type":"hello"}\n'), pkt(3, {"type": "call", "id": 1, "dest": "org.example.A", "method": "m"}),
                pkt(1, '{"type":"reply",\n"id":1,\n"result":"%s"}' % ("r" * 1500)),
                pkt(3, publish_of(1200)), pkt(0, {"type": "subscribe", "pattern": "a.>", "id": 2}),
                pkt(0, {"type": "publish", "topic": "a.b"}, WRITE), pkt(3, {"type": "publish", "topic": "a.b"}, TICK)],
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name in os.listdir(OUT):
        if name.startswith("seed-"):
            os.unlink(os.path.join(OUT, name))
    for name, packets in SEEDS.items():
        with open(os.path.join(OUT, "seed-%s.bin" % name), "wb") as f:
            f.write(b"".join(packets))


if __name__ == "__main__":
    main()
