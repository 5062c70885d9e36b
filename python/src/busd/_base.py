"""busd._base: what the blocking and the asyncio client share, without I/O.

The state a bus keeps across connections (names with their flags, patterns
with their modes, served methods), the messages it sends, how a message from
the daemon is classified, and the socket calls that do not block (recvmsg
with room for descriptors, sends with MSG_DONTWAIT). The drivers (client.py,
aio.py) own the waiting.
"""
import array
import os
import random
import socket
from collections import deque
from typing import Any, Callable, Deque, Dict, List, Optional, Tuple

from . import _wire
from .errors import BusError, Disconnected, RequestError
from ._wire import Creds, Remote

READ_SIZE = 262144
FD_SPACE = socket.CMSG_SPACE(16 * array.array("i").itemsize)
DEFAULT_TIMEOUT = 25.0  # libbus's default call and handshake timeout


class IncomingCall:
    """A call delivered to a served method (§2.4). Answer it by returning a
    value from the handler (or raising ServiceError), or keep it with defer()
    and answer later with reply() / error(). One-way calls take no answer."""

    def __init__(self, bus: Any, msg: Dict[str, Any], conn: int) -> None:
        self._bus, self._conn = bus, conn
        self.id: Optional[int] = msg.get("id")
        self.method: str = msg.get("method", "")
        self.dest: str = msg.get("dest", "")
        self.params: Any = msg.get("params")
        self.oneway: bool = bool(msg.get("oneway"))
        self.sender, self.creds, self.remote = _wire.identity(msg)
        self.answered = self.oneway
        self.deferred = False

    def defer(self) -> "IncomingCall":
        """The handler's return value is then not the answer: reply() later."""
        self.deferred = True
        return self

    def _answer(self, msg: Dict[str, Any]) -> Any:
        if self.answered:
            if self.oneway:
                return None
            raise RuntimeError("call %s.%s was already answered" % (self.dest, self.method))
        self.answered = True
        return self._bus._send_answer(self._conn, msg)

    def reply(self, result: Any = None) -> Any:
        """Answers with a result. If it cannot be sent as given (NaN, too
        large) the caller gets error `failed` saying why, and this raises."""
        return self._answer({"type": "reply", "id": self.id, "result": result})

    def error(self, code: str, message: str, data: Any = None) -> Any:
        """Answers with an error (message cut to 1024 bytes)."""
        msg = {"type": "error", "id": self.id, "code": code, "message": _cut(message, 1024)}
        if data is not None:
            msg["data"] = data
        return self._answer(msg)

    def __repr__(self) -> str:
        return "<IncomingCall %s.%s from %s>" % (self.dest, self.method, self.sender)


def _cut(text: str, limit: int) -> str:
    b = text.encode("utf-8", "replace")
    return text if len(b) <= limit else b[:limit].decode("utf-8", "ignore")


class Base:
    """State and message building shared by Bus and aio.Bus."""

    def __init__(self, address: Optional[str], name: Optional[str], system: bool, reconnect: bool,
                 timeout: float) -> None:
        self.address, self._path, self.seqpacket = _wire.resolve_address(address, system)
        self.display_name = name
        self.reconnect = reconnect
        self.timeout = timeout
        self.unique = ""
        self.welcome: Dict[str, Any] = {}
        self.limits: Dict[str, Any] = {}
        self.dropped_total = 0
        self._sock: Optional[socket.socket] = None
        self._conn = 0  # counts connections: answers for an older one are refused
        self._ids = 1
        self._names: Dict[str, Dict[str, bool]] = {}  # name -> flags of the last request
        self._owned: Dict[str, bool] = {}  # name -> primary owner (True) or queued (False)
        self._methods: Dict[str, _wire.Method] = {}
        self._fds: Deque[int] = deque()
        self._decoder: Optional[_wire.StreamDecoder] = None
        self._closed = False
        self._jitter = random.random()
        self._attempt = 0
        self.on_name: Optional[Callable[[str, bool], Any]] = None
        self.on_dropped: Optional[Callable[[int, int], Any]] = None
        self.on_error: Optional[Callable[[BusError], Any]] = None
        self.on_disconnect: Optional[Callable[[BusError, bool], Any]] = None
        self.on_reconnect: Optional[Callable[[int, int], Any]] = None

    # ---- limits and encoding ----------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._sock is not None and bool(self.unique)

    @property
    def max_message(self) -> int:
        if not self.welcome:
            return _wire.HELLO_MAX_MESSAGE
        return int(self.limits.get("max_message", _wire.DEFAULT_MAX_MESSAGE[self.seqpacket]))

    @property
    def max_recv(self) -> int:
        if not self.welcome:
            return _wire.DEFAULT_MAX_MESSAGE[self.seqpacket] + _wire.RECV_SLACK
        return int(self.limits.get("max_recv", self.max_message + _wire.RECV_SLACK))

    def _encode(self, msg: Dict[str, Any]) -> bytes:
        return _wire.encode(msg, self.max_message, int(self.limits.get("max_depth", _wire.DEFAULT_MAX_DEPTH)))

    def _frame(self, data: bytes) -> bytes:
        return data if self.seqpacket else data + b"\n"

    def _send_out(self, data: bytes) -> None:
        """Sends one framed message now (each client its own way)."""
        raise NotImplementedError

    def _send_answer(self, conn: int, msg: Dict[str, Any]) -> None:
        """Sends a served call's reply or error on the connection it came
        on; one that cannot be encoded (too large, too deep) is answered
        with `failed` instead, and the error raised."""
        if conn != self._conn or self._sock is None:
            raise Disconnected("disconnected", "the call came on a connection that has ended", local=True)
        try:
            data = self._frame(self._encode(msg))
        except BusError as e:
            self._send_out(self._frame(self._encode({"type": "error", "id": msg["id"], "code": "failed",
                                                     "message": "the answer cannot be sent: %s" % e.message})))
            raise
        self._send_out(data)

    def _new_id(self) -> int:
        i = self._ids
        self._ids = 1 if i >= _wire.MAX_ID else i + 1
        return i

    def _not_connected(self, why: str = "") -> Disconnected:
        if self._closed:
            return Disconnected("disconnected", "the bus is closed", local=True)
        return Disconnected("disconnected", why or "the bus is between connections", local=True)

    # ---- the socket, without blocking -------------------------------------------------

    def _new_socket(self) -> socket.socket:
        kind = socket.SOCK_SEQPACKET if self.seqpacket else socket.SOCK_STREAM
        return socket.socket(socket.AF_UNIX, kind | socket.SOCK_CLOEXEC)

    def _start_connection(self, sock: socket.socket) -> None:
        self._sock = sock
        self._conn += 1
        self.welcome, self.limits, self.unique = {}, {}, ""
        self._decoder = None if self.seqpacket else _wire.StreamDecoder(self.max_recv)

    def _hello(self) -> Dict[str, Any]:
        msg: Dict[str, Any] = {"type": "hello", "id": self._new_id(), "protocol": 1}
        if self.display_name:
            msg["name"] = self.display_name
        return msg

    def _take_welcome(self, msg: Dict[str, Any]) -> None:
        if not isinstance(msg.get("unique"), str) or not isinstance(msg.get("limits"), dict):
            raise _wire.ProtocolViolation("a welcome without unique id or limits: %r" % (msg,))
        self.welcome, self.limits, self.unique = msg, msg["limits"], msg["unique"]
        if self._decoder:
            self._decoder.max_recv = self.max_recv

    def _recv_nowait(self) -> Optional[List[Tuple[Dict[str, Any], int]]]:
        """Reads what the socket has: a list of messages with their sizes (maybe empty), None
        if it would block. Raises ProtocolViolation, or OSError / EOFError
        for the end of the connection. Descriptors go to self._fds."""
        assert self._sock is not None
        size = self.max_recv + 1 if self.seqpacket else READ_SIZE
        try:
            data, anc, flags, _ = self._sock.recvmsg(size, FD_SPACE, socket.MSG_DONTWAIT | socket.MSG_CMSG_CLOEXEC)
        except (BlockingIOError, InterruptedError):
            return None
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds = array.array("i")
                fds.frombytes(payload[:len(payload) - len(payload) % fds.itemsize])
                self._fds.extend(fds)
        if flags & socket.MSG_CTRUNC:
            raise _wire.ProtocolViolation("descriptors from the daemon were cut off (MSG_CTRUNC)")
        if not data:
            raise EOFError("the daemon closed the connection")
        if self.seqpacket:
            return [(_wire.decode_packet(data, flags, self.max_recv), len(data))]
        assert self._decoder is not None
        return list(self._decoder.feed(data))

    def _drop_socket(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        while self._fds:
            os.close(self._fds.popleft())
        self.unique = ""

    # ---- classifying what arrives ---------------------------------------------------

    @staticmethod
    def _answer_id(msg: Dict[str, Any]) -> Optional[int]:
        if msg["type"] in ("reply", "error", "welcome") and isinstance(msg.get("id"), int):
            return int(msg["id"])
        return None

    @staticmethod
    def _is_unattributed(msg: Dict[str, Any]) -> bool:
        """An error that answers none of our requests although it is about
        one of them (the trap of issue 13): an id-less error that is not
        about an answer (`call`) nor a revocation. Every request this package
        sends has an id, so only a message the daemon could not read gets
        one; the package then fails every waiting request rather than let
        one wait forever."""
        return (msg["type"] == "error" and msg.get("id") is None and "call" not in msg and
                msg.get("code") not in ("revoked",))

    def _take_pidfd(self, result: Any) -> _wire.Pidfd:
        if not isinstance(result, dict) or not isinstance(result.get("pid"), int):
            raise _wire.ProtocolViolation("a pidfd answer without pid: %r" % (result,))
        if not self._fds:
            raise RequestError("internal", "the daemon's pidfd answer came without a descriptor", local=True)
        return _wire.Pidfd(result.get("peer", ""), result["pid"], self._fds.popleft())

    def _late_answer(self, msg: Dict[str, Any]) -> None:
        """An answer nobody waits for any more (timed out, cancelled): a
        pidfd answer's descriptor is closed, so that the next pidfd answer
        gets its own (they are paired in order)."""
        res = msg.get("result")
        if (msg["type"] == "reply" and msg.get("sender") == _wire.DAEMON and isinstance(res, dict) and
                isinstance(res.get("fd"), int) and isinstance(res.get("pid"), int) and self._fds):
            os.close(self._fds.popleft())

    @staticmethod
    def _is_pidfd_call(msg: Dict[str, Any]) -> bool:
        return msg["type"] == "call" and msg.get("dest") == _wire.DAEMON and msg.get("method") == "pidfd"

    def _name_status(self, name: str, status: str, flags: Dict[str, bool]) -> List[Tuple[str, bool]]:
        """Records the status of a request; returns the notices a change of
        ownership across a reconnection makes (name, acquired)."""
        was = self._owned.get(name)
        notices: List[Tuple[str, bool]] = []
        if status in ("primary_owner", "already_owner"):
            self._names[name], self._owned[name] = flags, True
            if was is False:
                notices.append((name, True))
        elif status == "in_queue":
            self._names[name], self._owned[name] = flags, False
            if was:
                notices.append((name, False))
        else:
            self._names.pop(name, None)
            self._owned.pop(name, None)
            if was:
                notices.append((name, False))
        return notices

    def _name_notice(self, msg: Dict[str, Any]) -> Optional[Tuple[str, bool]]:
        name = msg.get("name")
        if not isinstance(name, str):
            return None
        if msg["type"] == "name_acquired":
            self._owned[name] = True
            return name, True
        flags = self._names.get(name)
        if flags is not None and not flags.get("queue", True):
            self._names.pop(name, None)
            self._owned.pop(name, None)
        elif flags is not None:
            self._owned[name] = False
        return name, False

    def _declare_msg(self) -> Dict[str, Any]:
        return {"type": "declare", "id": self._new_id(), "methods": [m.declaration for m in self._methods.values()]}

    @staticmethod
    def _request_name_msg(name: str, flags: Dict[str, bool], id: int) -> Dict[str, Any]:
        return dict(flags, type="request_name", name=name, id=id)

    @staticmethod
    def _subscribe_msg(pattern: str, lossy: bool, id: int) -> Dict[str, Any]:
        return {"type": "subscribe", "pattern": pattern, "lossy": lossy, "id": id}

    def _answer_failed(self, call: IncomingCall, exc: BaseException) -> Dict[str, Any]:
        return {"type": "error", "id": call.id, "code": "failed",
                "message": _cut("%s.%s failed: %s" % (call.dest, call.method, exc), 1024)}


__all__ = ["Base", "IncomingCall", "Creds", "Remote", "DEFAULT_TIMEOUT"]
