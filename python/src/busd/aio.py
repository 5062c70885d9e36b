"""busd.aio: the asyncio client, with the blocking client's shape.

    bus = await busd.aio.connect()
    print(await bus.call("org.busd", "ping"))
    async for ev in await bus.subscribe("sensors.>"):
        ...

The socket is watched with the loop's add_reader(); answers resolve their
futures as they arrive, events go to their subscription's queue or callback,
served methods run as tasks. Cancelling a call (a task cancelled, a
wait_for() timeout) sends the protocol's `cancel`.
"""
import asyncio
import collections
import inspect
import os
import socket
from typing import Any, AsyncIterator, Awaitable, Callable, Deque, Dict, Optional, Set, Tuple, Union

from . import _userbus, _wire
from ._base import DEFAULT_TIMEOUT, Base, IncomingCall
from ._wire import Event, Pidfd, ProtocolViolation, PublishAck
from .errors import BusError, CallTimeout, Disconnected, RequestError, from_message

__all__ = ["Bus", "Subscription", "connect"]

OUT_MAX = 8 << 20  # bytes buffered before senders wait for the socket (libbus's bound)
_END = object()

Handler = Callable[[IncomingCall], Any]
EventCallback = Callable[[Event], Union[None, Awaitable[None]]]


class Subscription:
    """A subscribed pattern: `async for ev in sub`, or `await sub.get()`;
    with a callback its events go there instead. `lossy`: the mode the
    daemon confirmed."""

    def __init__(self, bus: "Bus", pattern: str, lossy: bool, callback: Optional[EventCallback]) -> None:
        self.bus, self.pattern, self.lossy_requested, self.callback = bus, pattern, lossy, callback
        self.lossy = lossy
        self.active = True
        self._queue: "asyncio.Queue[Any]" = asyncio.Queue()

    def _end(self) -> None:
        if self.active:
            self.active = False
            self._queue.put_nowait(_END)

    async def get(self, timeout: Optional[float] = None) -> Event:
        """The next event; TimeoutError after timeout seconds; LookupError
        when the subscription has ended."""
        if not self.active and self._queue.empty():
            raise LookupError("the subscription to %r has ended" % self.pattern)
        ev = await asyncio.wait_for(self._queue.get(), timeout)
        if ev is _END:
            self._queue.put_nowait(_END)
            raise LookupError("the subscription to %r has ended" % self.pattern)
        return ev  # type: ignore[no-any-return]

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._iter()

    async def _iter(self) -> AsyncIterator[Event]:
        while True:
            try:
                yield await self.get()
            except LookupError:
                return

    async def unsubscribe(self) -> None:
        await self.bus.unsubscribe(self.pattern)


class Bus(Base):
    """The asyncio bus; make one with `await busd.aio.connect(...)` (same
    arguments as busd.connect())."""

    def __init__(self, address: Optional[str] = None, *, name: Optional[str] = None, system: bool = False,
                 reconnect: bool = False, timeout: float = DEFAULT_TIMEOUT) -> None:
        super().__init__(address, name, system, reconnect, timeout)
        self._loop = asyncio.get_running_loop()
        self._pending: Dict[int, Tuple["asyncio.Future[Any]", bool]] = {}
        self._subs: Dict[str, Subscription] = {}
        self._out: Deque[memoryview] = collections.deque()
        self._out_bytes = 0
        self._drained = asyncio.Event()
        self._drained.set()
        self._tasks: Set["asyncio.Task[Any]"] = set()
        self._reconnector: Optional["asyncio.Task[None]"] = None
        self._why = ""
        self._restoring = False

    # ---- connection -------------------------------------------------------------------

    async def _connect(self) -> None:
        sock = self._new_socket()
        sock.setblocking(False)
        try:
            _userbus.check_dir(self._path)
            await asyncio.wait_for(self._loop.sock_connect(sock, self._path), self.timeout)
            _userbus.check_peer(sock, self._path)
        except BaseException:
            sock.close()
            raise
        self._start_connection(sock)
        self._loop.add_reader(sock.fileno(), self._on_readable)
        hello = self._hello()
        fut = self._expect(hello["id"], False)
        try:  # a fresh socket's buffer takes a hello (at most 64 KiB) whole
            sock.send(self._frame(self._encode(hello)), socket.MSG_NOSIGNAL)
        except OSError:
            pass  # refused at accept (§3): the daemon's reason is still there to read
        try:
            welcome = await self._await(hello["id"], fut, self.timeout, False)
        except BaseException:
            self._drop()
            raise
        self._take_welcome(welcome)

    async def close(self) -> None:
        """Closes the connection: waiting requests fail with Disconnected,
        subscriptions end, served calls still running are left unanswered."""
        if self._closed:
            return
        self._closed = True
        if self._reconnector:
            self._reconnector.cancel()
        self._drop()
        self._fail_pending(Disconnected("disconnected", "the bus was closed", local=True))
        for s in self._subs.values():
            s._end()
        self._subs.clear()
        for t in list(self._tasks):
            t.cancel()

    async def __aenter__(self) -> "Bus":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    def _drop(self) -> None:
        if self._sock is not None:
            self._loop.remove_reader(self._sock.fileno())
            self._loop.remove_writer(self._sock.fileno())
        self._drop_socket()
        self._out.clear()
        self._out_bytes = 0
        self._drained.set()

    def _fail_pending(self, exc: BusError) -> None:
        pending, self._pending = self._pending, {}
        for fut, _ in pending.values():
            if not fut.done():
                fut.set_exception(exc)

    def _lost(self, why: BaseException) -> None:
        if self._sock is None:
            return
        self._drop()
        self._why = "the connection ended: %s" % (why or type(why).__name__)
        err = Disconnected("disconnected", self._why, local=True)
        self._fail_pending(err)
        if self._restoring:
            return
        again = self.reconnect and not self._closed
        if self.on_disconnect:
            self._callback(self.on_disconnect, err, again)
        if again:
            self._reconnector = self._loop.create_task(self._reconnect())
        else:
            for s in self._subs.values():
                s._end()

    async def _reconnect(self) -> None:
        attempt = 0
        while not self._closed:
            attempt += 1
            await asyncio.sleep(_wire.reconnect_delay(attempt, self._jitter))
            self._restoring = True
            try:
                await self._connect()
                not_restored = await self._restore()
            except (OSError, BusError, ProtocolViolation, EOFError, asyncio.TimeoutError) as e:
                self._drop()
                self._why = "reconnecting: attempt %d failed: %s" % (attempt, e)
                continue
            finally:
                self._restoring = False
            if self.on_reconnect:
                self._callback(self.on_reconnect, attempt, not_restored)
            return

    async def _restore(self) -> int:
        waits = []
        for name, flags in list(self._names.items()):
            msg = self._request_name_msg(name, flags, self._new_id())
            waits.append(("name", name, flags, msg))
        for s in list(self._subs.values()):
            waits.append(("sub", s.pattern, {}, self._subscribe_msg(s.pattern, s.lossy_requested, self._new_id())))
        if self._methods:
            waits.append(("declare", "", {}, self._declare_msg()))
        futs = []
        for _, _, _, msg in waits:
            futs.append(self._expect(msg["id"], False))
            self._write(self._frame(self._encode(msg)))
        not_restored = 0
        for (kind, what, flags, msg), fut in zip(waits, futs):
            try:
                res = await self._await(msg["id"], fut, self.timeout, False)
            except Disconnected:
                raise
            except BusError as e:
                not_restored += 1
                e.message = "not restored after reconnecting (%s %s): %s" % (kind, what, e.message)
                if self.on_error:
                    self._callback(self.on_error, e)
                if kind == "sub" and what in self._subs:
                    self._subs.pop(what)._end()
                if kind == "name":
                    for n in self._name_status(what, "refused", flags):
                        self._notify_name(*n)
                continue
            if kind == "name" and isinstance(res, dict):
                for n in self._name_status(what, str(res.get("status")), flags):
                    not_restored += not n[1]
                    self._notify_name(*n)
            elif kind == "sub" and what in self._subs and isinstance(res, dict):
                self._subs[what].lossy = bool(res.get("lossy", True))
        return not_restored

    # ---- I/O --------------------------------------------------------------------------

    def _on_readable(self) -> None:
        reads = 0
        while self._sock is not None and reads < 64:  # then the loop's other callbacks get their turn
            reads += 1
            try:
                msgs = self._recv_nowait()
            except ConnectionResetError as e:
                if not self.welcome and reads == 1:
                    continue  # refused at accept: after a reset the daemon's reason is still to read (§3)
                self._lost(e)
                return
            except (OSError, EOFError, ProtocolViolation) as e:
                self._lost(e)
                return
            if msgs is None:
                return
            for m, _ in msgs:
                self._route(m)

    def _write(self, data: bytes) -> None:
        """Sends or buffers one framed message (never blocks)."""
        if self._sock is None:
            raise self._not_connected(self._why)
        view = memoryview(data)
        if not self._out:
            try:
                n = self._sock.send(view, socket.MSG_DONTWAIT | socket.MSG_NOSIGNAL)
                view = view[n:]
            except (BlockingIOError, InterruptedError):
                pass
            except OSError as e:
                self._lost(e)
                raise self._not_connected(self._why) from None
            if not view:
                return
            self._loop.add_writer(self._sock.fileno(), self._on_writable)
        self._out.append(view)
        self._out_bytes += len(view)
        if self._out_bytes > OUT_MAX:
            self._drained.clear()

    def _on_writable(self) -> None:
        while self._out and self._sock is not None:
            view = self._out[0]
            try:
                n = self._sock.send(view, socket.MSG_DONTWAIT | socket.MSG_NOSIGNAL)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                self._lost(e)
                return
            self._out_bytes -= n
            if n == len(view):
                self._out.popleft()
            else:
                self._out[0] = view[n:]
        if self._sock is not None:
            self._loop.remove_writer(self._sock.fileno())
        self._drained.set()

    async def _send(self, msg: Dict[str, Any]) -> None:
        if self._sock is None:
            raise self._not_connected(self._why)
        await self._drained.wait()
        self._write(self._frame(self._encode(msg)))

    def _expect(self, id: int, is_call: bool) -> "asyncio.Future[Any]":
        fut: "asyncio.Future[Any]" = self._loop.create_future()
        self._pending[id] = (fut, is_call)
        return fut

    async def _await(self, id: int, fut: "asyncio.Future[Any]", timeout: Optional[float], is_call: bool) -> Any:
        try:
            return await asyncio.wait_for(asyncio.shield(fut), timeout)
        except asyncio.TimeoutError:
            raise CallTimeout("timeout", "no answer within %s s (the call was cancelled)" % timeout,
                              local=True) from None
        finally:
            if not fut.done():  # timed out or cancelled: the daemon forgets the call too
                fut.cancel()
                self._pending.pop(id, None)
                if is_call and self._sock is not None:
                    try:
                        self._write(self._frame(self._encode({"type": "cancel", "id": id})))
                    except BusError:
                        pass

    def _send_request(self, msg: Dict[str, Any], pidfd: bool = False) -> "asyncio.Future[Any]":
        """Sends a request now (with a new id); its future is in _pending."""
        if self._sock is None:
            raise self._not_connected(self._why)
        msg["id"] = self._new_id()
        data = self._frame(self._encode(msg))
        fut = self._expect(msg["id"], msg["type"] == "call")
        if pidfd or self._is_pidfd_call(msg):
            fut.pidfd = True  # type: ignore[attr-defined]
        try:
            self._write(data)
        except BaseException:
            self._pending.pop(msg["id"], None)
            raise
        return fut

    def _timeout(self, timeout: Optional[float]) -> Optional[float]:
        t = self.timeout if timeout is None else timeout
        return t if t >= 0 else None

    async def _request(self, msg: Dict[str, Any], timeout: Optional[float] = None, pidfd: bool = False) -> Any:
        if self._sock is None:
            raise self._not_connected(self._why)
        await self._drained.wait()
        fut = self._send_request(msg, pidfd)
        return await self._await(msg["id"], fut, self._timeout(timeout), msg["type"] == "call")

    def _route(self, msg: Dict[str, Any]) -> None:
        id = self._answer_id(msg)
        entry = self._pending.pop(id, None) if id is not None else None
        if entry is not None:
            fut = entry[0]
            try:
                if msg["type"] == "error":
                    value: Any = from_message(msg)
                elif getattr(fut, "pidfd", False):
                    value = self._take_pidfd(msg.get("result"))
                else:
                    value = msg if msg["type"] == "welcome" else msg.get("result")
            except (BusError, ProtocolViolation) as e:
                value = e if isinstance(e, BusError) else RequestError("internal", str(e), local=True)
            if fut.done():  # cancelled meanwhile: a descriptor is closed, not leaked
                if isinstance(value, Pidfd):
                    os.close(value.fd)
            elif isinstance(value, BaseException):
                fut.set_exception(value)
            else:
                fut.set_result(value)
            return
        if msg["type"] == "error" and msg.get("id") is None and not self.welcome:
            self._fail_pending(from_message(msg))
        elif msg.get("code") == "parse_error" and self._is_unattributed(msg):
            self._fail_pending(from_message(msg))
        if msg["type"] == "reply":
            self._late_answer(msg)
            return
        self._dispatch(msg)

    def _callback(self, fn: Callable[..., Any], *args: Any) -> None:
        r = fn(*args)
        if inspect.isawaitable(r):
            self._spawn(r)

    def _spawn(self, aw: Awaitable[Any]) -> None:
        t = asyncio.ensure_future(aw)
        self._tasks.add(t)
        t.add_done_callback(self._tasks.discard)

    def _notify_name(self, name: str, acquired: bool) -> None:
        if self.on_name:
            self._callback(self.on_name, name, acquired)

    def _dispatch(self, msg: Dict[str, Any]) -> None:
        t = msg["type"]
        if t == "event":
            sender, creds, remote = _wire.identity(msg)
            topic = msg.get("topic", "")
            ev = Event(topic, msg.get("data"), sender, creds, remote)
            for sub in list(self._subs.values()):
                if sub.active and _wire.pattern_matches(sub.pattern, topic):
                    if sub.callback is not None:
                        self._callback(sub.callback, ev)
                    else:
                        sub._queue.put_nowait(ev)
        elif t == "call":
            self._spawn(self._serve(msg))
        elif t in ("name_acquired", "name_lost"):
            notice = self._name_notice(msg)
            if notice:
                self._notify_name(*notice)
        elif t == "dropped":
            self.dropped_total = int(msg.get("total", self.dropped_total))
            if self.on_dropped:
                self._callback(self.on_dropped, int(msg.get("count", 0)), self.dropped_total)
        elif t == "error":
            exc = from_message(msg)
            if exc.code == "revoked":
                if isinstance(msg.get("pattern"), str) and msg["pattern"] in self._subs:
                    self._subs.pop(msg["pattern"])._end()
                if isinstance(msg.get("name"), str):
                    self._names.pop(msg["name"], None)
            if self.on_error:
                self._callback(self.on_error, exc)

    # ---- calls, events, names: the blocking client's methods as coroutines ---------------

    async def call(self, dest: str, method: str, params: Any = None, *, timeout: Optional[float] = None) -> Any:
        """As busd.Bus.call(); cancelling the awaiting task sends `cancel`."""
        return await self._request({"type": "call", "dest": dest, "method": method, "params": params}, timeout)

    def start_call(self, dest: str, method: str, params: Any = None, *,
                   timeout: Optional[float] = None) -> "asyncio.Task[Any]":
        """Sends the call now and returns a task that waits for its answer
        (busd.Bus.start_call()'s PendingCall): await it, or cancel() it, which
        sends `cancel`."""
        msg = {"type": "call", "dest": dest, "method": method, "params": params}
        fut = self._send_request(msg)
        return asyncio.ensure_future(self._await(msg["id"], fut, self._timeout(timeout), True))

    async def call_oneway(self, dest: str, method: str, params: Any = None) -> None:
        await self._send({"type": "call", "id": self._new_id(), "dest": dest, "method": method, "params": params,
                          "oneway": True})

    async def publish(self, topic: str, data: Any = None, *, ack: bool = True) -> Optional[PublishAck]:
        msg: Dict[str, Any] = {"type": "publish", "topic": topic, "data": data}
        if not ack:
            if topic.startswith("$"):
                raise RequestError("reserved", "topics starting with '$' are published by the daemon only",
                                   local=True)
            await self._send(msg)
            return None
        res = await self._request(msg)
        return PublishAck(int(res.get("delivered", 0)), int(res.get("dropped", 0)))

    async def subscribe(self, pattern: str, callback: Optional[EventCallback] = None, *,
                        lossy: bool = False) -> Subscription:
        """As busd.Bus.subscribe(); the callback may be a coroutine function."""
        res = await self._request(self._subscribe_msg(pattern, lossy, 0))
        sub = self._subs.get(pattern)
        if sub is None or not sub.active:
            sub = self._subs[pattern] = Subscription(self, pattern, lossy, callback)
        sub.callback, sub.lossy_requested = callback, lossy
        sub.lossy = bool(res.get("lossy", True)) if isinstance(res, dict) else True
        return sub

    async def unsubscribe(self, pattern: str) -> None:
        sub = self._subs.pop(pattern, None)
        if sub is not None:
            sub._end()
        if self._sock is None and sub is not None:
            return
        await self._request({"type": "unsubscribe", "pattern": pattern})

    async def request_name(self, name: str, *, allow_replacement: bool = False, replace: bool = False,
                           queue: bool = True) -> str:
        flags = {"allow_replacement": allow_replacement, "replace": replace, "queue": queue}
        res = await self._request(dict(flags, type="request_name", name=name))
        status = str(res.get("status"))
        for n in self._name_status(name, status, flags):
            self._notify_name(*n)
        return status

    async def release_name(self, name: str) -> str:
        self._names.pop(name, None)
        self._owned.pop(name, None)
        if self._sock is None:
            return "released"
        return str((await self._request({"type": "release_name", "name": name})).get("status"))

    async def add_method(self, name: str, handler: Handler, *, description: Optional[str] = None,
                         params: Any = None, result: Any = None) -> None:
        """As busd.Bus.add_method(); the handler may be a coroutine function
        (each call runs in its own task)."""
        old = self._methods.get(name)
        self._methods[name] = _wire.Method(name, handler, _wire.declaration(name, description, params, result))
        if self._sock is None:
            return
        try:
            await self._request(self._declare_msg())
        except BaseException:
            if old is None:
                self._methods.pop(name, None)
            else:
                self._methods[name] = old
            raise

    async def remove_method(self, name: str) -> None:
        if self._methods.pop(name, None) is not None and self._sock is not None:
            await self._request(self._declare_msg())

    def _send_out(self, data: bytes) -> None:
        self._write(data)

    async def _serve(self, msg: Dict[str, Any]) -> None:
        call = IncomingCall(self, msg, self._conn)
        m = self._methods.get(call.method)
        try:
            if m is None:
                if not call.answered:
                    call.error("unknown_method", "no method '%s' here" % call.method)
                return
            try:
                value = m.handler(call)
                if inspect.isawaitable(value):
                    value = await value
            except BusError as e:
                if not call.answered and not isinstance(e, Disconnected):
                    call.error(e.code, e.message, e.data)
                return
            except Exception as e:
                if not call.answered:
                    call.answered = True
                    self._send_answer(call._conn, self._answer_failed(call, e))
                return
            if not call.answered and not call.deferred:
                call.reply(value)
        except BusError:
            pass  # the connection ended, or the caller got `failed` saying why

    # ---- the daemon's methods (§4.6) ---------------------------------------------------------

    async def ping(self) -> Dict[str, Any]:
        return dict(await self.call(_wire.DAEMON, "ping"))

    async def list(self) -> Dict[str, Any]:
        return dict(await self.call(_wire.DAEMON, "list"))

    async def stats(self) -> Dict[str, Any]:
        return dict(await self.call(_wire.DAEMON, "stats"))

    async def owner(self, name: str) -> Dict[str, Any]:
        return dict(await self.call(_wire.DAEMON, "owner", {"name": name}))

    async def introspect(self, name: str) -> Dict[str, Any]:
        return dict(await self.call(_wire.DAEMON, "introspect", {"name": name}))

    async def pidfd(self, peer: str) -> Pidfd:
        pf: Pidfd = await self._request({"type": "call", "dest": _wire.DAEMON, "method": "pidfd",
                                         "params": {"peer": peer}}, pidfd=True)
        return pf


async def connect(address: Optional[str] = None, *, name: Optional[str] = None, system: bool = False,
                  reconnect: bool = False, timeout: float = DEFAULT_TIMEOUT) -> Bus:
    """Connects and says hello; see busd.connect()."""
    bus = Bus(address, name=name, system=system, reconnect=reconnect, timeout=timeout)
    await bus._connect()
    return bus
