"""busd.client: the blocking client (one thread, no background work).

Every method that waits reads the socket while it waits and keeps whatever
is not its answer for process(), which runs the callbacks (event handlers,
served methods, notices) in arrival order: no callback ever runs inside
call(), publish() or another request, as in libbus. Subscriptions without a
callback are iterated instead; iterating dispatches too.
"""
import collections
import select
import socket
import time
from typing import Any, Callable, Deque, Dict, Iterator, Optional

from . import _userbus, _wire
from ._base import DEFAULT_TIMEOUT, Base, IncomingCall
from ._wire import Event, Pidfd, PublishAck, ProtocolViolation
from .errors import BusError, CallTimeout, Disconnected, RequestError, from_message

__all__ = ["Bus", "PendingCall", "Subscription", "connect"]

READ_BUDGET = 64  # reads per _read_available(): a flood never keeps a wait from looking at its answer
IN_MAX = 8 << 20  # bytes of undispatched messages before events read meanwhile are dropped (libbus's bound)


class PendingCall:
    """A call on its way (Bus.start_call): wait for it with result(), or give
    up with cancel() (the daemon is sent `cancel`)."""

    def __init__(self, bus: "Bus", id: int, is_call: bool, deadline: Optional[float]) -> None:
        self._bus, self.id, self._is_call, self._deadline = bus, id, is_call, deadline
        self.done = False
        self.value: Any = None
        self.exc: Optional[BusError] = None
        self.pidfd = False

    def _resolve(self, value: Any = None, exc: Optional[BusError] = None) -> None:
        if not self.done:
            self.done, self.value, self.exc = True, value, exc

    def result(self, timeout: Optional[float] = None) -> Any:
        """Waits for the answer: its result, or raises its error
        (CallTimeout after the call's timeout or `timeout`, whichever is
        first; the call is then cancelled)."""
        deadline = self._deadline
        if timeout is not None:
            t = time.monotonic() + timeout
            deadline = t if deadline is None else min(deadline, t)
        try:
            self._bus._wait(self, deadline)
        finally:
            if not self.done:  # timeout, KeyboardInterrupt, any exception: stop waiting for it
                self.cancel("no answer within the timeout (the call was cancelled)")
        if self.exc is not None:
            raise self.exc
        return self.value

    def cancel(self, why: str = "the call was cancelled") -> None:
        """Forgets the call; the daemon is told (`cancel`, never answered).
        result() then raises CallTimeout."""
        if self.done:
            return
        self._resolve(exc=CallTimeout("timeout", why, local=True))
        self._bus._pending.pop(self.id, None)
        if self._is_call and self._bus._sock is not None:
            try:
                self._bus._send_raw({"type": "cancel", "id": self.id})
            except BusError:
                pass


class Subscription:
    """A subscribed pattern. Without a callback its events wait here: iterate
    (`for ev in sub`) or get(timeout). `lossy` is the mode the daemon
    confirmed. Iteration ends when the subscription ends (unsubscribe(),
    revoked, close(), or the end of a bus that does not reconnect)."""

    def __init__(self, bus: "Bus", pattern: str, lossy: bool, callback: Optional[Callable[[Event], Any]]) -> None:
        self.bus, self.pattern, self.lossy_requested, self.callback = bus, pattern, lossy, callback
        self.lossy = lossy
        self.active = True
        self._events: Deque[Event] = collections.deque()

    def get(self, timeout: Optional[float] = None) -> Event:
        """The next event; raises TimeoutError after `timeout` seconds, and
        Disconnected / StopIteration-like LookupError when the subscription
        has ended (see __iter__)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._events:
            if not self.active:
                raise LookupError("the subscription to %r has ended" % self.pattern)
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise TimeoutError("no event for %r within %s s" % (self.pattern, timeout))
            self.bus.process(remaining)
        return self._events.popleft()

    def __iter__(self) -> Iterator[Event]:
        while True:
            try:
                yield self.get()
            except LookupError:
                return

    def unsubscribe(self) -> None:
        self.bus.unsubscribe(self.pattern)


class Bus(Base):
    """A connection to a bus that may outlive its connections.

    address: `unix:/path`, `seqpacket:/path` or an absolute path; None means
    $BUS_ADDRESS, else the user bus (system=True: the system bus). name: the
    display name. reconnect: connect again after the daemon went away and
    restore names, methods and subscriptions (libbus's rules). timeout: the
    default call timeout and the handshake's, in seconds."""

    def __init__(self, address: Optional[str] = None, *, name: Optional[str] = None, system: bool = False,
                 reconnect: bool = False, timeout: float = DEFAULT_TIMEOUT) -> None:
        super().__init__(address, name, system, reconnect, timeout)
        self._pending: Dict[int, PendingCall] = {}
        self._inbox: Deque[Dict[str, Any]] = collections.deque()
        self._inbox_bytes = 0
        self._daemon_dropped = 0  # the daemon's `total`
        self._local_dropped = 0  # events dropped here (IN_MAX)
        self._subs: Dict[str, Subscription] = {}
        self._quit = False
        self._restoring = False
        self._next_attempt: Optional[float] = None
        self._why = ""
        self._connect()

    # ---- connection -----------------------------------------------------------------

    def _connect(self) -> None:
        sock = self._new_socket()
        try:
            _userbus.check_dir(self._path)
            sock.settimeout(self.timeout)
            sock.connect(self._path)
            _userbus.check_peer(sock, self._path)
            sock.setblocking(False)
        except BaseException:
            sock.close()
            raise
        self._start_connection(sock)
        hello = self._hello()
        p = PendingCall(self, hello["id"], False, time.monotonic() + self.timeout)
        self._pending[p.id] = p
        try:  # a fresh socket's buffer takes a hello (at most 64 KiB) whole
            sock.send(self._frame(self._encode(hello)), socket.MSG_NOSIGNAL)
        except OSError:
            pass  # refused at accept (§3): the daemon's reason is still there to read
        try:
            p.result()
        except BaseException:
            self._drop_socket()
            raise
        self._take_welcome(p.value)

    def close(self) -> None:
        """Closes the connection; waiting requests fail with Disconnected,
        subscriptions end. The bus cannot be used afterwards."""
        if self._closed:
            return
        self._closed = True
        self._drop_socket()
        self._fail_pending(Disconnected("disconnected", "the bus was closed", local=True))
        for s in self._subs.values():
            s.active = False
        self._subs.clear()

    def __enter__(self) -> "Bus":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def fileno(self) -> int:
        """The current socket's fd (-1 between connections): it changes when
        the bus reconnects. Watch it for reading, then call process(0)."""
        return self._sock.fileno() if self._sock is not None else -1

    def _fail_pending(self, exc: BusError) -> None:
        pending, self._pending = self._pending, {}
        for p in pending.values():
            p._resolve(exc=exc)

    def _lost(self, why: BaseException) -> None:
        """The connection ended: fail what waits on it, tell on_disconnect
        (from process()), and plan the first reconnection attempt."""
        if self._sock is None:
            return
        self._drop_socket()
        self._why = "the connection ended: %s" % (why or type(why).__name__)
        err = Disconnected("disconnected", self._why, local=True)
        self._fail_pending(err)
        if self._restoring:
            return
        again = self.reconnect and not self._closed
        self._inbox.append({"type": "_disconnect", "error": err, "reconnecting": again})
        if again:
            self._attempt = 0
            self._schedule()
        else:
            for s in self._subs.values():
                s.active = False

    def _schedule(self) -> None:
        self._attempt += 1
        self._next_attempt = time.monotonic() + _wire.reconnect_delay(self._attempt, self._jitter)

    def _step(self) -> None:
        """Takes a due reconnection step: one attempt, with the restoring."""
        if (self._sock is not None or self._closed or not self.reconnect or self._next_attempt is None or
                time.monotonic() < self._next_attempt):
            return
        self._restoring = True
        try:
            self._connect()
            self._restore()
        except (OSError, BusError, ProtocolViolation, EOFError) as e:
            self._drop_socket()
            self._why = "reconnecting: attempt %d failed: %s" % (self._attempt, e)
            self._schedule()
            return
        finally:
            self._restoring = False
        self._next_attempt = None

    def _restore(self) -> None:
        """Requests the names again (with their flags), subscribes the
        patterns, declares the methods; reports changes and refusals."""
        waits = []
        for name, flags in list(self._names.items()):
            waits.append(("name", name, flags, self._start(self._request_name_msg(name, flags, self._new_id()))))
        for s in list(self._subs.values()):
            waits.append(("sub", s.pattern, {}, self._start(self._subscribe_msg(s.pattern, s.lossy_requested,
                                                                                 self._new_id()))))
        if self._methods:
            waits.append(("declare", "", {}, self._start(self._declare_msg())))
        not_restored = 0
        for kind, what, flags, p in waits:
            try:
                res = p.result()
            except Disconnected:
                raise
            except BusError as e:
                not_restored += 1
                e.message = "not restored after reconnecting (%s %s): %s" % (kind, what, e.message)
                self._inbox.append({"type": "_error", "error": e})
                if kind == "sub" and what in self._subs:
                    self._subs.pop(what).active = False
                if kind == "name":
                    for notice in self._name_status(what, "refused", flags):
                        self._inbox.append({"type": "_name", "name": notice[0], "acquired": notice[1]})
                continue
            if kind == "name" and isinstance(res, dict):
                for notice in self._name_status(what, str(res.get("status")), flags):
                    not_restored += not notice[1]
                    self._inbox.append({"type": "_name", "name": notice[0], "acquired": notice[1]})
            elif kind == "sub" and what in self._subs and isinstance(res, dict):
                self._subs[what].lossy = bool(res.get("lossy", True))
        self._inbox.append({"type": "_reconnect", "attempts": self._attempt, "not_restored": not_restored})
        self._attempt = 0

    def _check_connected(self) -> None:
        if self._sock is None:
            self._step()
        if self._sock is None:
            raise self._not_connected(self._why)

    # ---- sending and reading -----------------------------------------------------------

    def _send_bytes(self, data: bytes) -> None:
        """Writes one framed message; while the socket is full it keeps
        reading (the daemon must never wait on us), as libbus does."""
        view = memoryview(data)
        progress = time.monotonic()
        while view:
            if self._sock is None:
                raise self._not_connected(self._why)
            try:
                n = self._sock.send(view, socket.MSG_DONTWAIT | socket.MSG_NOSIGNAL)
            except (BlockingIOError, InterruptedError):
                if time.monotonic() - progress > self._stall_limit():
                    # libbus's -ENOBUFS; a message half written spoils the stream: end the connection
                    self._lost(OSError("the daemon took no byte for %.0f s" % self._stall_limit()))
                    raise self._not_connected(self._why) from None
                p = select.poll()
                p.register(self._sock, select.POLLIN | select.POLLOUT)
                if any(ev & (select.POLLIN | select.POLLHUP | select.POLLERR) for _, ev in p.poll(1000)):
                    self._read_available()
                continue
            except OSError as e:
                self._lost(e)
                raise self._not_connected(self._why) from None
            if self.seqpacket and n != len(view):
                raise OSError("short seqpacket send")
            view = view[n:]
            progress = time.monotonic()

    def _stall_limit(self) -> float:
        """How long a send waits for the daemon to take a byte: its stall
        timeout + 10 s, 25 s at least (libbus's BUS_OUT_STALL_MARGIN_MS)."""
        return max(25.0, int(self.limits.get("stall_timeout_ms", 15000)) / 1000 + 10)

    def _send_raw(self, msg: Dict[str, Any]) -> None:
        self._check_connected()
        self._send_bytes(self._frame(self._encode(msg)))

    def _read_available(self) -> bool:
        """Reads all the socket has now; False if nothing was there."""
        got = False
        reads = 0
        while self._sock is not None and reads < READ_BUDGET:
            reads += 1
            try:
                msgs = self._recv_nowait()
            except ConnectionResetError as e:
                if not self.welcome and reads == 1:
                    continue  # refused at accept: after a reset the daemon's reason is still to read (§3)
                self._lost(e)
                return True
            except (OSError, EOFError, ProtocolViolation) as e:
                self._lost(e)
                return True
            if msgs is None:
                break
            got = True
            for m, size in msgs:
                self._route(m, size)
        return got

    def _read(self, timeout: Optional[float]) -> None:
        """Waits up to timeout (None: for ever) for input, and reads it."""
        if self._sock is None:
            if timeout is not None and timeout > 0:
                time.sleep(timeout)
            return
        p = select.poll()
        p.register(self._sock, select.POLLIN)
        if p.poll(None if timeout is None else max(0, int(timeout * 1000 + 0.999))):
            self._read_available()

    def _route(self, msg: Dict[str, Any], size: int = 0) -> None:
        """Answers go to their waiter at once; the rest waits for process().
        While more than IN_MAX bytes wait there (a blocking call that lasts
        while events pour in), further events are dropped and reported to
        on_dropped in their place, as libbus does: the only place where the
        package drops anything."""
        id = self._answer_id(msg)
        p = self._pending.pop(id, None) if id is not None else None
        if p is not None:
            if msg["type"] == "error":
                p._resolve(exc=from_message(msg))
            elif p.pidfd:
                try:
                    p._resolve(self._take_pidfd(msg.get("result")))
                except (BusError, ProtocolViolation) as e:
                    p._resolve(exc=e if isinstance(e, BusError) else RequestError("internal", str(e), local=True))
            else:
                p._resolve(msg if msg["type"] == "welcome" else msg.get("result"))
            return
        if msg["type"] == "error" and msg.get("id") is None and not self.welcome:
            self._fail_pending(from_message(msg))  # refused before the welcome (§3)
        elif msg.get("code") == "parse_error" and self._is_unattributed(msg):
            # the daemon could not read one of our messages, so it cannot say which
            self._fail_pending(from_message(msg))
        if msg["type"] == "reply":
            self._late_answer(msg)  # timed out or cancelled: dropped
            return
        if msg["type"] == "event" and self._inbox_bytes > IN_MAX:
            if self._inbox and self._inbox[-1]["type"] == "_dropped":
                self._inbox[-1]["count"] += 1
            else:
                self._inbox.append({"type": "_dropped", "count": 1, "_size": 0})
            return
        msg["_size"] = size
        self._inbox_bytes += size
        self._inbox.append(msg)

    def _wait(self, p: PendingCall, deadline: Optional[float]) -> None:
        while not p.done:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return
            if self._sock is None:
                p._resolve(exc=self._not_connected(self._why))
                return
            self._read(remaining)

    def _start(self, msg: Dict[str, Any], timeout: Optional[float] = None, pidfd: bool = False) -> PendingCall:
        """Sends a request with an id and returns its PendingCall."""
        t = self.timeout if timeout is None else timeout
        p = PendingCall(self, msg["id"], msg["type"] == "call", time.monotonic() + t if t >= 0 else None)
        p.pidfd = pidfd or self._is_pidfd_call(msg)
        data = self._frame(self._encode(msg))
        self._pending[p.id] = p
        try:
            self._send_bytes(data)
        except BaseException:
            self._pending.pop(p.id, None)
            raise
        return p

    def _request(self, msg: Dict[str, Any], timeout: Optional[float] = None, pidfd: bool = False) -> Any:
        self._check_connected()
        msg["id"] = self._new_id()
        return self._start(msg, timeout, pidfd).result()

    # ---- calls --------------------------------------------------------------------------

    def call(self, dest: str, method: str, params: Any = None, *, timeout: Optional[float] = None) -> Any:
        """Calls method on dest (well-known name, unique id, `BUS/NAME`, or
        org.busd) and returns the result. Raises the error's class (.code,
        .message, .data), CallTimeout after `timeout` seconds (default: the
        bus's; the daemon is sent `cancel`), Disconnected at once when the
        connection ends."""
        return self._request({"type": "call", "dest": dest, "method": method, "params": params}, timeout)

    def start_call(self, dest: str, method: str, params: Any = None, *,
                   timeout: Optional[float] = None) -> PendingCall:
        """Sends a call without waiting: PendingCall.result() / .cancel()."""
        self._check_connected()
        return self._start({"type": "call", "id": self._new_id(), "dest": dest, "method": method,
                            "params": params}, timeout)

    def call_oneway(self, dest: str, method: str, params: Any = None) -> None:
        """A call that takes no answer; the daemon's own refusals reach on_error."""
        self._send_raw({"type": "call", "id": self._new_id(), "dest": dest, "method": method, "params": params,
                        "oneway": True})

    # ---- events ---------------------------------------------------------------------------

    def publish(self, topic: str, data: Any = None, *, ack: bool = True) -> Optional[PublishAck]:
        """Publishes data on topic. ack=True waits for the daemon's
        acknowledgement {delivered, dropped}; ack=False only sends (a
        refusal then reaches on_error) and returns None."""
        msg: Dict[str, Any] = {"type": "publish", "topic": topic, "data": data}
        if not ack:
            if topic.startswith("$"):
                raise RequestError("reserved", "topics starting with '$' are published by the daemon only",
                                   local=True)
            self._send_raw(msg)
            return None
        res = self._request(msg)
        return PublishAck(int(res.get("delivered", 0)), int(res.get("dropped", 0)))

    def subscribe(self, pattern: str, callback: Optional[Callable[[Event], Any]] = None, *,
                  lossy: bool = False) -> Subscription:
        """Subscribes to pattern and waits for the daemon's confirmation.
        With a callback, process()/run() call it for each event; without
        one, iterate the returned Subscription. lossy=True asks for a lossy
        subscription (drops reported to on_dropped); `.lossy` of the result
        is the mode in effect. Subscribing again replaces the callback."""
        res = self._request(self._subscribe_msg(pattern, lossy, 0))
        sub = self._subs.get(pattern)
        if sub is None or not sub.active:
            sub = self._subs[pattern] = Subscription(self, pattern, lossy, callback)
        sub.callback, sub.lossy_requested = callback, lossy
        sub.lossy = bool(res.get("lossy", True)) if isinstance(res, dict) else True
        return sub

    def unsubscribe(self, pattern: str) -> None:
        """Removes the pattern (waits for the daemon; between connections it
        is only forgotten). Events of it not yet dispatched are dropped."""
        sub = self._subs.pop(pattern, None)
        if sub is not None:
            sub.active = False
        if self._sock is None and sub is not None:
            return
        self._request({"type": "unsubscribe", "pattern": pattern})

    # ---- names --------------------------------------------------------------------------------

    def request_name(self, name: str, *, allow_replacement: bool = False, replace: bool = False,
                     queue: bool = True) -> str:
        """§4.1: returns primary_owner, in_queue, exists or already_owner.
        The name is requested again after a reconnection (unless `exists`)."""
        flags = {"allow_replacement": allow_replacement, "replace": replace, "queue": queue}
        res = self._request(dict(flags, type="request_name", name=name))
        status = str(res.get("status"))
        for notice in self._name_status(name, status, flags):
            self._inbox.append({"type": "_name", "name": notice[0], "acquired": notice[1]})
        return status

    def release_name(self, name: str) -> str:
        """Returns `released` or `not_owner`; between connections the name is
        only forgotten (`released`)."""
        self._names.pop(name, None)
        self._owned.pop(name, None)
        if self._sock is None:
            return "released"
        return str(self._request({"type": "release_name", "name": name}).get("status"))

    # ---- serving -----------------------------------------------------------------------------

    def add_method(self, name: str, handler: Callable[[IncomingCall], Any], *, description: Optional[str] = None,
                   params: Any = None, result: Any = None) -> None:
        """Serves `name`: handler(call) returns the result, raises
        ServiceError(code, message, data) for an error answer, or calls
        call.defer() and answers later. Declares all methods again (§2.5,
        waits for the daemon; between connections they are declared on the
        next one)."""
        old = self._methods.get(name)
        self._methods[name] = _wire.Method(name, handler, _wire.declaration(name, description, params, result))
        if self._sock is None:
            return
        try:
            self._request(self._declare_msg())
        except BaseException:
            if old is None:
                self._methods.pop(name, None)
            else:
                self._methods[name] = old
            raise

    def method(self, name: Optional[str] = None, **declaration: Any) -> Callable[[Callable[[IncomingCall], Any]],
                                                                                  Callable[[IncomingCall], Any]]:
        """Decorator form of add_method()."""
        def wrap(fn: Callable[[IncomingCall], Any]) -> Callable[[IncomingCall], Any]:
            self.add_method(name or fn.__name__, fn, **declaration)
            return fn
        return wrap

    def remove_method(self, name: str) -> None:
        if self._methods.pop(name, None) is not None and self._sock is not None:
            self._request(self._declare_msg())

    def _send_out(self, data: bytes) -> None:
        self._send_bytes(data)

    def _serve(self, msg: Dict[str, Any]) -> None:
        call = IncomingCall(self, msg, self._conn)
        m = self._methods.get(call.method)
        if m is None:
            if not call.answered:
                call.error("unknown_method", "no method '%s' here" % call.method)
            return
        try:
            value = m.handler(call)
        except BusError as e:
            if not call.answered and not isinstance(e, Disconnected):
                call.error(e.code, e.message, e.data)
            return
        except Exception as e:
            if not call.answered:
                self._send_answer(call._conn, self._answer_failed(call, e))
                call.answered = True
            return
        if not call.answered and not call.deferred:
            try:
                call.reply(value)
            except BusError:
                pass  # the caller got `failed` saying why

    # ---- the daemon's methods (§4.6) ----------------------------------------------------------

    def ping(self) -> Dict[str, Any]:
        return dict(self.call(_wire.DAEMON, "ping"))

    def list(self) -> Dict[str, Any]:
        """Names, peers, activatable and remote names (§4.6)."""
        return dict(self.call(_wire.DAEMON, "list"))

    def stats(self) -> Dict[str, Any]:
        """The daemon's counters (`bus status`)."""
        return dict(self.call(_wire.DAEMON, "stats"))

    def owner(self, name: str) -> Dict[str, Any]:
        return dict(self.call(_wire.DAEMON, "owner", {"name": name}))

    def introspect(self, name: str) -> Dict[str, Any]:
        """{"name", "owner", "methods": [declarations]} of a name or unique id."""
        return dict(self.call(_wire.DAEMON, "introspect", {"name": name}))

    def pidfd(self, peer: str) -> Pidfd:
        """A pidfd of the process behind peer (SCM_RIGHTS on the answer,
        §4.6). The caller owns .fd and closes it."""
        pf: Pidfd = self._request({"type": "call", "dest": _wire.DAEMON, "method": "pidfd",
                                   "params": {"peer": peer}}, pidfd=True)
        return pf

    # ---- dispatching ---------------------------------------------------------------------------

    def process(self, timeout: Optional[float] = 0.0) -> int:
        """Dispatches what has arrived (callbacks, served methods, queued
        events); if nothing had, waits up to timeout seconds (None: until
        something comes) and dispatches that. Also takes a due reconnection
        step. Returns how many messages were dispatched."""
        if self._sock is None and not self._inbox:
            if self._closed or not self.reconnect or self._next_attempt is None:
                raise self._not_connected(self._why)
            due = self._next_attempt - time.monotonic()
            if timeout is None or due <= timeout:
                time.sleep(max(0.0, due))
                self._step()
            else:
                time.sleep(timeout)
        elif not self._inbox:
            if not self._read_available():
                self._read(timeout)
        n = 0
        while self._inbox:
            msg = self._inbox.popleft()
            self._inbox_bytes -= msg.pop("_size", 0)
            self._dispatch(msg)
            n += 1
        return n

    def run(self) -> None:
        """process() until quit(); returns, or raises Disconnected when the
        connection ends for good (reconnect off)."""
        self._quit = False
        while not self._quit:
            self.process(None)

    def quit(self) -> None:
        """Makes run() return after the current dispatch."""
        self._quit = True

    def _dispatch(self, msg: Dict[str, Any]) -> None:
        t = msg["type"]
        if t == "event":
            sender, creds, remote = _wire.identity(msg)
            topic = msg.get("topic", "")
            ev = Event(topic, msg.get("data"), sender, creds, remote)
            for sub in list(self._subs.values()):
                if sub.active and _wire.pattern_matches(sub.pattern, topic):
                    if sub.callback is not None:
                        sub.callback(ev)
                    else:
                        sub._events.append(ev)
        elif t == "call":
            self._serve(msg)
        elif t in ("name_acquired", "name_lost"):
            notice = self._name_notice(msg)
            if notice and self.on_name:
                self.on_name(*notice)
        elif t == "_name":
            if self.on_name:
                self.on_name(msg["name"], msg["acquired"])
        elif t in ("dropped", "_dropped"):
            if t == "dropped":
                self._daemon_dropped = int(msg.get("total", self._daemon_dropped))
            else:
                self._local_dropped += msg["count"]
            self.dropped_total = self._daemon_dropped + self._local_dropped
            if self.on_dropped:
                self.on_dropped(int(msg.get("count", 0)), self.dropped_total)
        elif t in ("error", "_error"):
            exc = msg["error"] if t == "_error" else from_message(msg)
            if exc.code == "revoked":
                if isinstance(msg.get("pattern"), str) and msg["pattern"] in self._subs:
                    self._subs.pop(msg["pattern"]).active = False
                if isinstance(msg.get("name"), str):
                    self._names.pop(msg["name"], None)
            if self.on_error:
                self.on_error(exc)
        elif t == "_disconnect":
            if self.on_disconnect:
                self.on_disconnect(msg["error"], msg["reconnecting"])
        elif t == "_reconnect":
            if self.on_reconnect:
                self.on_reconnect(msg["attempts"], msg["not_restored"])


def connect(address: Optional[str] = None, *, name: Optional[str] = None, system: bool = False,
            reconnect: bool = False, timeout: float = DEFAULT_TIMEOUT) -> Bus:
    """Connects and says hello; see Bus."""
    return Bus(address, name=name, system=system, reconnect=reconnect, timeout=timeout)

