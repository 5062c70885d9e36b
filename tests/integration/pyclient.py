"""pyclient.py: a small busd client written from docs/protocol.md alone.

Standard library only (socket, json). It is the proof that the specification
suffices: nothing here was taken from the daemon's or libbus's sources, and
each part names the section of docs/protocol.md it follows.

    c = Client("unix:/run/user/1000/busd/bus")   # or "seqpacket:/path", or a bare path
    c.hello(name="demo", names=["org.example.Demo"])
    c.call("org.busd", "ping")                   # -> {"server": "busd 1.0.0"}
    c.subscribe("sensors.>")
    c.publish("sensors.kitchen.temp", 21.5)
    c.next_event()                               # -> {"type": "event", "topic": ..., ...}

Waiting: every method that waits for one message (an answer, an event, a
call) keeps whatever else arrives meanwhile in `backlog`, in order, where the
next_* methods find it. Nothing is ever thrown away. A blocking read gives up
after `timeout` seconds with socket.timeout (TimeoutError): a guard against
hanging, not a way to synchronise.

Errors: an `error` answer raises BusError (code, message, data, and the whole
message as .msg); the end of the connection raises Closed.
"""
import collections
import itertools
import json
import os
import socket

__all__ = ["BusError", "Closed", "Client", "ServiceError", "parse_address", "default_address"]

# §1: defaults that hold until the welcome announces the real limits.
DEFAULT_MAX_RECV = {False: 1048576 + 1024, True: 65536 + 1024}


class BusError(Exception):
    """An `error` message (§5) received as the answer to a request."""

    def __init__(self, msg):
        self.msg = msg
        self.code = msg.get("code")
        self.message = msg.get("message")
        self.data = msg.get("data")
        super().__init__("%s: %s" % (self.code, self.message))


class Closed(Exception):
    """The daemon ended the connection."""


def parse_address(address):
    """§1: "unix:/path", "seqpacket:/path" or a bare absolute path.
    Returns (path, seqpacket)."""
    if address.startswith("unix:"):
        path, seqpacket = address[5:], False
    elif address.startswith("seqpacket:"):
        path, seqpacket = address[10:], True
    else:
        path, seqpacket = address, False
    if not path.startswith("/"):
        raise ValueError("bus address needs an absolute path: %r" % address)
    return path, seqpacket


def default_address(env=None):
    """§1 "Default addresses": BUS_ADDRESS, else the user bus. An empty or
    relative XDG_RUNTIME_DIR counts as unset (the XDG spec says to ignore
    it; §1 only speaks of "unset", busd and libbus do the same)."""
    env = os.environ if env is None else env
    if env.get("BUS_ADDRESS"):
        return env["BUS_ADDRESS"]
    if env.get("XDG_RUNTIME_DIR", "").startswith("/"):
        return "unix:%s/busd/bus" % env["XDG_RUNTIME_DIR"]
    return "unix:/tmp/busd-%d/bus" % os.geteuid()


def encode(msg):
    """Compact UTF-8 JSON (§1 stream framing: senders SHOULD write compact JSON;
    §2.1: no NaN/Infinity)."""
    return json.dumps(msg, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


class Client:
    """One connection to a bus, over SOCK_STREAM or SOCK_SEQPACKET (§1)."""

    def __init__(self, address=None, timeout=10.0):
        self.path, self.seqpacket = parse_address(address or default_address())
        kind = socket.SOCK_SEQPACKET if self.seqpacket else socket.SOCK_STREAM
        self.sock = socket.socket(socket.AF_UNIX, kind)
        self.sock.settimeout(timeout)
        self.sock.connect(self.path)
        self.max_recv = DEFAULT_MAX_RECV[self.seqpacket]
        self.welcome = None
        self.unique = None
        self.backlog = []  # messages that arrived while waiting for another
        self._inbuf = b""  # stream: bytes of an incomplete line
        self._lines = collections.deque()  # stream: complete lines not yet returned
        self._ids = itertools.count(1)

    # ---- connection ---------------------------------------------------------

    def close(self):
        self.sock.close()

    def fileno(self):
        return self.sock.fileno()

    def settimeout(self, seconds):
        self.sock.settimeout(seconds)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- framing (§1) --------------------------------------------------------

    def send(self, msg):
        """Sends one message (a dict)."""
        self.send_raw(encode(msg))

    def send_raw(self, data):
        """Sends bytes as one message: a line (a line feed is added) on stream,
        one packet on seqpacket. No check at all: for tests of bad input."""
        if self.seqpacket:
            if self.sock.send(data) != len(data):
                raise OSError("short seqpacket send")
        else:
            self.sock.sendall(data + b"\n")

    def send_bytes(self, data):
        """Stream only: writes bytes exactly as given (partial lines, several lines)."""
        assert not self.seqpacket
        self.sock.sendall(data)

    def recv_raw(self):
        """Reads the next message's bytes from the socket (not the backlog)."""
        if self.seqpacket:
            # §1: a buffer of at least max_recv + 1 bytes; check MSG_TRUNC
            data, _, flags, _ = self.sock.recvmsg(self.max_recv + 1)
            if not data:
                raise Closed("the daemon closed the connection")
            if flags & socket.MSG_TRUNC or len(data) > self.max_recv:
                raise OSError("a packet from the daemon is larger than max_recv (%d)" % self.max_recv)
            return data[:-1] if data.endswith(b"\n") else data
        while True:
            while self._lines:
                line = self._lines.popleft()
                line = line[:-1] if line.endswith(b"\r") else line
                if line.strip(b" \t"):  # blank lines are ignored
                    return line
            chunk = self.sock.recv(262144)
            if not chunk:
                raise Closed("the daemon closed the connection")
            *lines, self._inbuf = (self._inbuf + chunk).split(b"\n")
            self._lines.extend(lines)

    def recv(self):
        """The next message from the socket, parsed (not the backlog)."""
        msg = json.loads(self.recv_raw().decode("utf-8"))
        if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
            raise ValueError("not a bus message: %r" % (msg,))
        return msg

    def read_until_closed(self):
        """Reads and discards until the daemon closes the connection; returns
        the messages read on the way. Raises socket.timeout if it never does."""
        seen = []
        try:
            while True:
                seen.append(self.recv_raw())
        except (Closed, ConnectionResetError):
            return seen

    # ---- waiting --------------------------------------------------------------

    def next(self, match=lambda m: True):
        """The first message, from the backlog then from the socket, for which
        match(msg) is true. Messages passed over stay in the backlog, in order."""
        for i, msg in enumerate(self.backlog):
            if match(msg):
                return self.backlog.pop(i)
        while True:
            msg = self.recv()
            if match(msg):
                return msg
            self.backlog.append(msg)

    def next_of(self, *types):
        return self.next(lambda m: m["type"] in types)

    def next_event(self):
        return self.next_of("event")

    def next_call(self):
        return self.next_of("call")

    def answer(self, id):
        """The `reply` or `error` answering request `id` (§2.3, §4.2)."""
        return self.next(lambda m: m["type"] in ("reply", "error") and m.get("id") == id)

    def result(self, id):
        """The result of request `id`; an error answer raises BusError."""
        msg = self.answer(id)
        if msg["type"] == "error":
            raise BusError(msg)
        return msg["result"]

    # ---- requests --------------------------------------------------------------

    def new_id(self):
        return next(self._ids)

    def request(self, msg):
        """Sends msg with a fresh id and returns the result of its answer."""
        msg = dict(msg, id=self.new_id())
        self.send(msg)
        return self.result(msg["id"])

    def hello(self, **members):
        """§3: hello, then wait for the welcome. Members: name, names, methods,
        protocol. Raises BusError if the daemon refuses the hello."""
        id = self.new_id()
        try:
            self.send(dict(members, type="hello", id=id))
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused at accept (§3): the daemon's reason is still there to read
        for _ in range(2):  # a reset is reported once, before the data that is left
            try:
                msg = self.next(lambda m: m["type"] in ("welcome", "error") and m.get("id") in (id, None))
                break
            except ConnectionResetError:
                continue
        else:
            raise Closed("the daemon reset the connection without saying why")
        if msg["type"] == "error":
            raise BusError(msg)
        self.welcome = msg
        self.unique = msg["unique"]
        self.max_recv = msg["limits"]["max_recv"]
        return msg

    def call_async(self, dest, method, params=None, oneway=False):
        """§4.2: sends a call; returns its id (use result(id) to wait)."""
        id = self.new_id()
        msg = {"type": "call", "id": id, "dest": dest, "method": method, "params": params}
        if oneway:
            msg["oneway"] = True
        self.send(msg)
        return id

    def call(self, dest, method, params=None):
        """A call and its result; the callee's or daemon's error raises BusError."""
        return self.result(self.call_async(dest, method, params))

    def cancel(self, id):
        """§4.2: stop waiting for call `id` (never answered)."""
        self.send({"type": "cancel", "id": id})

    def publish(self, topic, data=None, ack=True):
        """§4.3: with ack, returns {"delivered": N, "dropped": M}."""
        msg = {"type": "publish", "topic": topic, "data": data}
        if not ack:
            self.send(msg)
            return None
        return self.request(msg)

    def subscribe(self, pattern, lossy=None):
        """§4.5; lossy: None (the default, lossless), True or False. Returns
        the result: {"pattern": P, "lossy": effective mode}."""
        msg = {"type": "subscribe", "pattern": pattern}
        if lossy is not None:
            msg["lossy"] = lossy
        return self.request(msg)

    def unsubscribe(self, pattern):
        return self.request({"type": "unsubscribe", "pattern": pattern})

    def request_name(self, name, **flags):
        """§4.1; flags: allow_replacement, replace, queue. Returns the status."""
        return self.request(dict(flags, type="request_name", name=name))["status"]

    def release_name(self, name):
        return self.request({"type": "release_name", "name": name})["status"]

    def declare(self, methods):
        """§2.5: replaces this connection's method declarations."""
        return self.request({"type": "declare", "methods": methods})

    def ping(self):
        """A round trip to the daemon (§4.6); also a barrier: everything this
        client sent before has been handled when it returns."""
        return self.call("org.busd", "ping")

    # ---- serving (§4.2) ----------------------------------------------------------

    def reply(self, call, result=None):
        """Answers a delivered call (not one-way ones: §4.2)."""
        self.send({"type": "reply", "id": call["id"], "result": result})

    def error(self, call, code, message, data=None):
        msg = {"type": "error", "id": call["id"], "code": code, "message": message}
        if data is not None:
            msg["data"] = data
        self.send(msg)

    def serve(self, handlers, count=1):
        """Answers the next `count` calls. handlers maps a method name to
        fn(params, call), which returns the result or raises ServiceError;
        unknown methods get an error `unknown_method`. One-way calls are
        handled but not answered (§4.2)."""
        for _ in range(count):
            call = self.next_call()
            fn = handlers.get(call["method"])
            try:
                if fn is None:
                    raise ServiceError("unknown_method", "no method %r" % call["method"])
                result = fn(call["params"], call)
            except ServiceError as e:
                if "id" in call:
                    self.error(call, e.code, e.message, e.data)
                continue
            if "id" in call:
                self.reply(call, result)


class ServiceError(Exception):
    """Raised by a handler given to Client.serve(): becomes an `error` answer."""

    def __init__(self, code, message, data=None):
        super().__init__(message)
        self.code, self.message, self.data = code, message, data
