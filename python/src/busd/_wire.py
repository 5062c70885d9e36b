"""busd._wire: the wire protocol without I/O (docs/protocol.md).

Addresses (§1), strict JSON both ways (§2.1) with the limits the welcome
announces (§3), framing of both transports (§1), topic patterns (§4.3), and
the values handed to applications. Shared by the blocking and the asyncio
client; no sockets are touched here.
"""
import functools
import json
import os
import socket
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple

from .errors import LimitError, RequestError

SYSTEM_ADDRESS = "unix:/run/busd/bus"
DAEMON = "org.busd"
MAX_PATH = 107  # sizeof(sun_path) - 1
# §1 defaults until the welcome says otherwise; §3: at most 65536 bytes before hello
DEFAULT_MAX_MESSAGE = {False: 1048576, True: 65536}
HELLO_MAX_MESSAGE = 65536
DEFAULT_MAX_DEPTH = 32
RECV_SLACK = 1024  # max_recv = max_message + 1024 (§1)
INT_MIN, INT_MAX = -(2 ** 63), 2 ** 64 - 1  # §2.1
MAX_ID = 2 ** 53 - 1


def parse_address(address: str) -> Tuple[str, bool]:
    """`unix:/path`, `seqpacket:/path` or a bare absolute path (§1): returns
    (path, seqpacket). Raises ValueError for anything else, as libbus does:
    the path is absolute in every form and at most 107 bytes."""
    if address.startswith("unix:"):
        path, seqpacket = address[5:], False
    elif address.startswith("seqpacket:"):
        path, seqpacket = address[10:], True
    else:
        path, seqpacket = address, False
    if not path.startswith("/"):
        raise ValueError("a bus address is unix:/path, seqpacket:/path or an absolute path: %r" % address)
    if len(os.fsencode(path)) > MAX_PATH:
        raise ValueError("the socket path of %r is longer than %d bytes" % (address, MAX_PATH))
    return path, seqpacket


def user_address(env: Optional[Mapping[str, str]] = None) -> str:
    """The user bus: unix:$XDG_RUNTIME_DIR/busd/bus, or unix:/tmp/busd-$UID/bus
    when XDG_RUNTIME_DIR is unset, empty or not absolute (§1)."""
    xdg = (os.environ if env is None else env).get("XDG_RUNTIME_DIR", "")
    if xdg.startswith("/"):
        return "unix:%s/busd/bus" % xdg
    return "unix:/tmp/busd-%d/bus" % os.geteuid()


def default_address(env: Optional[Mapping[str, str]] = None) -> str:
    """$BUS_ADDRESS if set and not empty, else the user bus."""
    e = os.environ if env is None else env
    return e.get("BUS_ADDRESS") or user_address(e)


def resolve_address(address: Optional[str], system: bool) -> Tuple[str, str, bool]:
    """(address, path, seqpacket) for connect(address, system=...)."""
    if address is None:
        address = SYSTEM_ADDRESS if system else default_address()
    path, seqpacket = parse_address(address)
    return address, path, seqpacket


# ---- strict JSON out -------------------------------------------------------------


def check_value(value: Any, depth: int, max_depth: int, where: str) -> None:
    """Raises RequestError(parse_error, local) for what the daemon's parser
    would refuse without being able to say which message it was: NaN and
    Infinity, integers outside 64 bits, nesting deeper than max_depth (the
    message object counts as 1), non-string member names or names holding
    U+0000, lone surrogates. `depth` is the depth of `value`'s container."""
    stack = [(value, depth)]
    while stack:
        v, d = stack.pop()
        if v is None or v is True or v is False or isinstance(v, str):
            if isinstance(v, str):
                _check_text(v, where)
            continue
        if isinstance(v, int):
            if not INT_MIN <= v <= INT_MAX:
                raise _bad("%s: the integer %d does not fit 64 bits" % (where, v))
            continue
        if isinstance(v, float):
            if v != v or v in (float("inf"), float("-inf")):
                raise _bad("%s: %r is not JSON (NaN and Infinity are refused)" % (where, v))
            continue
        if isinstance(v, (list, tuple)):
            if d + 1 > max_depth:
                raise _bad("%s: nested deeper than %d levels" % (where, max_depth))
            stack.extend((x, d + 1) for x in v)
            continue
        if isinstance(v, dict):
            if d + 1 > max_depth:
                raise _bad("%s: nested deeper than %d levels" % (where, max_depth))
            for k, x in v.items():
                if not isinstance(k, str):
                    raise _bad("%s: member name %r is not a string" % (where, k))
                if "\0" in k:
                    raise _bad("%s: a member name holds U+0000" % where)
                _check_text(k, where)
                stack.append((x, d + 1))
            continue
        raise _bad("%s: %s is not a JSON value" % (where, type(v).__name__))


def _check_text(s: str, where: str) -> None:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        raise _bad("%s: the string holds a lone surrogate, which is not UTF-8" % where) from None


def _bad(text: str) -> RequestError:
    return RequestError("parse_error", text, local=True)


def encode(msg: Dict[str, Any], max_message: int, max_depth: int) -> bytes:
    """Compact UTF-8 JSON of msg, checked against §2.1 and the limits: a
    RequestError(parse_error) or LimitError(too_large), both local, instead
    of sending what the daemon would refuse."""
    check_value(msg, 0, max_depth, msg.get("type", "message"))
    data = json.dumps(msg, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
    if len(data) > max_message:
        raise LimitError("too_large", "the %s is %d bytes, more than max_message (%d)" %
                         (msg.get("type", "message"), len(data), max_message), local=True)
    return data


# ---- strict JSON in ----------------------------------------------------------------


def _no_constant(name: str) -> Any:
    raise ValueError("%s is not JSON" % name)


def _pairs(pairs: List[Tuple[str, Any]]) -> Dict[str, Any]:
    d = dict(pairs)
    if len(d) != len(pairs):
        raise ValueError("an object repeats a member name")
    return d


_DECODER = json.JSONDecoder(parse_constant=_no_constant, object_pairs_hook=_pairs)


class ProtocolViolation(Exception):
    """The daemon sent something that is not a bus message: the connection
    cannot be trusted any more and is ended."""


def decode(data: bytes) -> Dict[str, Any]:
    try:
        msg = _DECODER.decode(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ProtocolViolation("not a JSON message from the daemon (%s): %r" % (e, data[:200])) from None
    if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
        raise ProtocolViolation("not a bus message: %r" % data[:200])
    return msg


class StreamDecoder:
    """JSON Lines (§1): bytes in, complete messages out; partial lines wait
    for the rest. A line longer than max_recv is a violation."""

    def __init__(self, max_recv: int) -> None:
        self.max_recv = max_recv
        self._buf = bytearray()

    def feed(self, chunk: bytes) -> Iterator[Tuple[Dict[str, Any], int]]:
        """The complete messages, each with its size on the wire."""
        self._buf += chunk
        if b"\n" not in chunk:
            if len(self._buf) > self.max_recv + 1:
                raise ProtocolViolation("a line from the daemon is longer than max_recv (%d)" % self.max_recv)
            return
        lines = bytes(self._buf).split(b"\n")
        self._buf = bytearray(lines.pop())  # the partial line after the last line feed
        if len(self._buf) > self.max_recv + 1:
            raise ProtocolViolation("a line from the daemon is longer than max_recv (%d)" % self.max_recv)
        for line in lines:
            if line.endswith(b"\r"):
                line = line[:-1]
            if len(line) > self.max_recv:
                raise ProtocolViolation("a line from the daemon is longer than max_recv (%d)" % self.max_recv)
            if line and line.strip(b" \t"):
                yield decode(line), len(line)


def decode_packet(data: bytes, flags: int, max_recv: int) -> Dict[str, Any]:
    """One seqpacket packet (§1): MSG_TRUNC or more than max_recv is a violation."""
    if flags & socket.MSG_TRUNC or len(data) > max_recv + 1:
        raise ProtocolViolation("a packet from the daemon is larger than max_recv (%d)" % max_recv)
    if data.endswith(b"\n"):
        data = data[:-1]
    return decode(data)


# ---- topics -------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def pattern_matches(pattern: str, topic: str) -> bool:
    """§4.3: `*` one segment, `>` (last) one or more; a wildcard first
    segment does not match a topic starting with `$`."""
    ps, ts = pattern.split("."), topic.split(".")
    if topic.startswith("$") and ps[0] in ("*", ">"):
        return False
    for i, p in enumerate(ps):
        if p == ">":
            return i == len(ps) - 1 and len(ts) > i
        if i >= len(ts) or (p != "*" and p != ts[i]):
            return False
    return len(ts) == len(ps)


# ---- values handed to the application ------------------------------------------------


@dataclass(frozen=True)
class Creds:
    """Credentials the kernel gave the daemon (SO_PEERCRED) at connect."""
    uid: int
    gid: int
    pid: int


@dataclass(frozen=True)
class Remote:
    """A sender on another bus of the bridge (§4.9): its bus, the neighbour
    it came through, and the credentials as its own bus stamped them (never
    a local process's)."""
    bus: str
    via: str
    creds: Creds


def _creds(v: Any) -> Optional[Creds]:
    if isinstance(v, dict) and all(isinstance(v.get(k), int) for k in ("uid", "gid", "pid")):
        return Creds(v["uid"], v["gid"], v["pid"])
    return None


def identity(msg: Dict[str, Any]) -> Tuple[str, Optional[Creds], Optional[Remote]]:
    """(sender, creds, remote) of a delivered call or event: creds for a
    local sender, remote for one across the bridge (then creds is None)."""
    rm = msg.get("remote")
    if isinstance(rm, dict):
        rc = _creds(rm.get("creds"))
        if isinstance(rm.get("bus"), str) and isinstance(rm.get("via"), str) and rc:
            return msg.get("sender", ""), None, Remote(rm["bus"], rm["via"], rc)
        raise ProtocolViolation("malformed 'remote' member: %r" % (rm,))
    return msg.get("sender", ""), _creds(msg.get("creds")), None


@dataclass(frozen=True)
class Event:
    """A delivered event (§2.4)."""
    topic: str
    data: Any
    sender: str
    creds: Optional[Creds]
    remote: Optional[Remote] = None


@dataclass(frozen=True)
class PublishAck:
    """The acknowledgement of a publish (§4.3)."""
    delivered: int
    dropped: int


@dataclass(frozen=True)
class Pidfd:
    """The answer of `pidfd` (§4.6): the caller owns `fd` and closes it."""
    peer: str
    pid: int
    fd: int


@dataclass
class Method:
    """A served method: its handler and its declaration (§2.5)."""
    name: str
    handler: Any
    declaration: Dict[str, Any] = field(default_factory=dict)


def declaration(name: str, description: Optional[str], params: Any, result: Any) -> Dict[str, Any]:
    d: Dict[str, Any] = {"name": name}
    if description is not None:
        d["description"] = description
    if params is not None:
        d["params"] = params
    if result is not None:
        d["result"] = result
    return d


def reconnect_delay(attempt: int, jitter: float) -> float:
    """libbus's backoff (docs/libbus.md, RECONNECTION): 50 ms doubling to 2 s,
    times a factor in [0.5, 1.5)."""
    return float(min(0.05 * 2 ** (attempt - 1), 2.0) * (0.5 + jitter))
