#!/usr/bin/env python3
"""The asyncio client of the Python package (busd.aio) against a real busd,
over stream and seqpacket: the blocking client's tests in asyncio's shape,
with cancellation of an awaiting task sending the protocol's `cancel`."""
import asyncio
import os
import time

from pkgtest import WAIT, BusTest, busd, daemon_harness
import busd.aio


class _Aio:
    def arun(self, coro):
        return asyncio.run(asyncio.wait_for(coro, 4 * WAIT))

    async def bus(self, **kw):
        kw.setdefault("timeout", WAIT)
        b = await busd.aio.connect(self.addr(), **kw)
        self.buses.append(b)
        return b

    async def serve(self, **kw):
        svc = await self.bus(name="async service", **kw)
        self.assertEqual(await svc.request_name("org.example.Aio"), "primary_owner")
        return svc

    def setUp(self):
        super().setUp()
        self.buses = []

    async def close_all(self):
        for b in self.buses:
            await b.close()

    def test_calls_served_by_coroutines(self):
        async def body():
            svc = await self.serve()

            async def slow_add(call):
                await asyncio.sleep(0.01)
                return call.params["a"] + call.params["b"]

            def fail(call):
                raise busd.ServiceError("org.example.Aio.Nope", "no", [1])
            await svc.add_method("add", slow_add, description="adds", params={"a": 1, "b": 2}, result=3)
            await svc.add_method("fail", fail)
            c = await self.bus()
            results = await asyncio.gather(*(c.call("org.example.Aio", "add", {"a": i, "b": 1}) for i in range(50)))
            self.assertEqual(results, [i + 1 for i in range(50)])
            with self.assertRaises(busd.ServiceError) as e:
                await c.call("org.example.Aio", "fail")
            self.assertEqual((e.exception.code, e.exception.data, e.exception.sender),
                             ("org.example.Aio.Nope", [1], svc.unique))
            with self.assertRaises(busd.RoutingError):
                await c.call("org.example.Nobody", "m")
            self.assertEqual((await c.introspect("org.example.Aio"))["methods"][0]["name"], "add")
            self.assertEqual((await c.owner("org.example.Aio"))["owner"], svc.unique)
            self.assertIn("names", await c.list())
            self.assertTrue((await c.ping())["server"].startswith("busd "))
            await self.close_all()
        self.arun(body())

    def test_timeout_and_cancellation_send_cancel(self):
        async def body():
            svc = await self.serve()
            await svc.add_method("hold", lambda call: call.defer())
            c = await self.bus()
            t0 = time.monotonic()
            with self.assertRaises(busd.CallTimeout):
                await c.call("org.example.Aio", "hold", timeout=0.2)
            self.assertLess(time.monotonic() - t0, 2)
            self.assertEqual((await c.stats())["pending_calls"], 0)
            task = asyncio.ensure_future(c.call("org.example.Aio", "hold"))
            while (await c.stats())["pending_calls"] == 0:
                await asyncio.sleep(0.01)
            task.cancel()
            with self.assertRaises(asyncio.CancelledError):
                await task
            self.assertEqual((await c.stats())["pending_calls"], 0)
            task = c.start_call("org.example.Aio", "hold")  # sent at once
            self.assertEqual((await c.stats())["pending_calls"], 1)
            task.cancel()
            with self.assertRaises(asyncio.CancelledError):
                await task
            self.assertEqual((await c.stats())["pending_calls"], 0)
            with self.assertRaises(asyncio.TimeoutError):  # wait_for() cancels the call the same way
                await asyncio.wait_for(c.call("org.example.Aio", "hold"), 0.1)
            self.assertEqual((await c.stats())["pending_calls"], 0)
            await self.close_all()
        self.arun(body())

    def test_events_async_iterated_and_called_back(self):
        async def body():
            c = await self.bus()
            sub = await c.subscribe("sensors.>")
            self.assertFalse(sub.lossy)
            called = []

            async def on_event(ev):
                called.append(ev.data)
            lossy = await c.subscribe("sensors.hall", on_event, lossy=True)
            self.assertTrue(lossy.lossy)
            pub = await self.bus()
            self.assertEqual(await pub.publish("sensors.hall", 1), busd.PublishAck(1, 0))
            await pub.publish("sensors.kitchen", 2, ack=False)
            got = []
            async for ev in sub:
                got.append(ev)
                if len(got) == 2:
                    break
            self.assertEqual([(e.topic, e.data) for e in got], [("sensors.hall", 1), ("sensors.kitchen", 2)])
            self.assertEqual((got[0].sender, got[0].creds.pid), (pub.unique, os.getpid()))
            self.assertEqual(called, [1])
            with self.assertRaises(busd.RequestError) as e:
                await c.publish("x", float("nan"))
            self.assertTrue(e.exception.local)
            with self.assertRaises(busd.LimitError):
                await c.publish("x", "y" * c.max_message)
            await sub.unsubscribe()
            self.assertEqual([e async for e in sub], [])
            await self.close_all()
        self.arun(body())

    def test_names_and_notices(self):
        async def body():
            a, b = await self.bus(), await self.bus()
            notices = []
            a.on_name = lambda name, acquired: notices.append((name, acquired))
            self.assertEqual(await a.request_name("org.example.N", allow_replacement=True), "primary_owner")
            self.assertEqual(await b.request_name("org.example.N", replace=True), "primary_owner")
            await b.release_name("org.example.N")
            while len(notices) < 2:
                await asyncio.sleep(0.01)
            self.assertEqual(notices, [("org.example.N", False), ("org.example.N", True)])
            await self.close_all()
        self.arun(body())

    def test_an_idless_parse_error_fails_the_waiting_call_at_once(self):
        async def body():
            svc = await self.serve()
            await svc.add_method("hold", lambda call: call.defer())
            c = await self.bus()
            task = c.start_call("org.example.Aio", "hold")
            c._write(c._frame(b'{"type":"publish","topic":"t","data":NaN,"id":99}'))
            with self.assertRaises(busd.RequestError) as e:
                await asyncio.wait_for(task, 2)
            self.assertEqual(e.exception.code, "parse_error")
            self.assertTrue((await c.ping())["server"])
            await self.close_all()
        self.arun(body())

    def test_pidfd(self):
        async def body():
            svc = await self.serve()
            c = await self.bus()
            try:
                pf = await c.pidfd("org.example.Aio")
            except busd.DaemonError:
                return
            try:
                self.assertEqual((pf.peer, pf.pid), (svc.unique, os.getpid()))
            finally:
                os.close(pf.fd)
            await self.close_all()
        self.arun(body())

    def test_killed_daemon_and_reconnection(self):
        async def body():
            svc = await self.serve(reconnect=True)
            held = []
            await svc.add_method("hold", lambda call: held.append(call.defer()))
            await svc.add_method("echo", lambda call: call.params)
            sub = await svc.subscribe("news")
            up = asyncio.Event()
            svc.on_reconnect = lambda attempts, not_restored: up.set()
            c = await self.bus()
            task = asyncio.ensure_future(c.call("org.example.Aio", "hold"))
            while not held:
                await asyncio.sleep(0.01)
            self.kill_daemon()
            t0 = time.monotonic()
            with self.assertRaises(busd.Disconnected):
                await task
            self.assertLess(time.monotonic() - t0, 2)
            with self.assertRaises(busd.Disconnected):
                await c.ping()
            self.start_again()
            await asyncio.wait_for(up.wait(), WAIT)
            c2 = await self.bus()
            self.assertEqual((await c2.owner("org.example.Aio"))["owner"], svc.unique)
            self.assertEqual(await c2.call("org.example.Aio", "echo", "back"), "back")
            self.assertEqual(await c2.publish("news", 5), busd.PublishAck(1, 0))
            self.assertEqual((await sub.get(WAIT)).data, 5)
            await self.close_all()
        self.arun(body())


daemon_harness.bind_transports(globals(), _Aio, base=BusTest)

if __name__ == "__main__":
    daemon_harness.main()
