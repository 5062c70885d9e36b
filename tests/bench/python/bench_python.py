#!/usr/bin/env python3
"""bench_python.py ROLE ADDRESS [COUNT]: one side of scripts/bench-python.sh
(docs/benchmarks.md, "The Python client against python3-dbus").

Roles, each a process of its own:
  busd-serve ADDR          the package (python/src/busd) serving org.bench.Py echo
  busd-call ADDR N         N blocking calls to echo, one at a time
  busd-sub ADDR N          subscribes to bench.py, says READY, counts N events
  busd-pub ADDR N          publishes N events (no acknowledgement), then one
                           with it (so every event has been handed to the bus)
  dbus-serve ADDR          python3-dbus (GLib main loop) exporting org.bench.Py.Echo
  dbus-call ADDR N         N blocking method calls through a proxy
  dbus-sub ADDR N          a signal receiver (GLib main loop), READY, counts N
  dbus-pub ADDR N          N signals org.bench.Py.Tick, then a flush
Payloads: the same 64-byte string everywhere. A caller prints
{"calls": N, "seconds": S}; a subscriber {"events": received, "seconds": S}
timed from its first event to its last (it gives up WAIT seconds after the
last one came: a broker may drop or disconnect a slow receiver; what arrived
is reported). Servers and subscribers print READY once they can be reached."""
import json
import os
import sys
import time

PAYLOAD = "x" * 64
NAME, PATH, IFACE = "org.bench.Py", "/org/bench/Py", "org.bench.Py"
WAIT = 10.0


def ready():
    print("READY", flush=True)


def report(**kw):
    print(json.dumps(kw), flush=True)


# ---- busd (the package) ------------------------------------------------------------------------

def busd_bus(addr, name):
    sys.path.insert(0, os.environ.get("BUSD_PYTHON", ""))
    import busd
    return busd.connect(addr, name=name)


def busd_serve(addr, n):
    bus = busd_bus(addr, "bench-py-serve")
    bus.request_name(NAME)
    bus.add_method("echo", lambda call: call.params)
    ready()
    bus.run()


def busd_call(addr, n):
    bus = busd_bus(addr, "bench-py-call")
    for _ in range(min(n // 10, 1000)):  # warm up
        bus.call(NAME, "echo", PAYLOAD)
    t0 = time.perf_counter()
    for _ in range(n):
        bus.call(NAME, "echo", PAYLOAD)
    report(calls=n, seconds=time.perf_counter() - t0)


def busd_sub(addr, n):
    bus = busd_bus(addr, "bench-py-sub")
    sub = bus.subscribe("bench.py")
    ready()
    got, t0, t1 = 0, None, None
    while got < n:
        try:
            sub.get(timeout=WAIT)
        except TimeoutError:
            break
        t1 = time.perf_counter()
        t0 = t0 or t1
        got += 1
    report(events=got, seconds=(t1 - t0) if got > 1 else 0.0)


def busd_pub(addr, n):
    bus = busd_bus(addr, "bench-py-pub")
    for _ in range(n - 1):
        bus.publish("bench.py", PAYLOAD, ack=False)
    bus.publish("bench.py", PAYLOAD, ack=True)


# ---- python3-dbus --------------------------------------------------------------------------

def dbus_conn(addr, mainloop):
    import dbus
    if mainloop:
        from dbus.mainloop.glib import DBusGMainLoop
        DBusGMainLoop(set_as_default=True)
    return dbus, dbus.bus.BusConnection(addr)


def dbus_serve(addr, n):
    import dbus.service
    from gi.repository import GLib
    dbus_mod, conn = dbus_conn(addr, True)

    class Echo(dbus.service.Object):
        @dbus.service.method(IFACE, in_signature="s", out_signature="s")
        def Echo(self, s):
            return s

    name = dbus.service.BusName(NAME, conn)
    obj = Echo(conn, PATH)
    ready()
    GLib.MainLoop().run()
    del name, obj


def dbus_call(addr, n):
    dbus_mod, conn = dbus_conn(addr, False)
    echo = conn.get_object(NAME, PATH).get_dbus_method("Echo", IFACE)
    for _ in range(min(n // 10, 1000)):
        echo(PAYLOAD)
    t0 = time.perf_counter()
    for _ in range(n):
        echo(PAYLOAD)
    report(calls=n, seconds=time.perf_counter() - t0)


def dbus_sub(addr, n):
    from gi.repository import GLib
    dbus_mod, conn = dbus_conn(addr, True)
    loop = GLib.MainLoop()
    st = {"got": 0, "t0": None, "t1": None, "last": time.monotonic()}

    def on_tick(s):
        st["t1"] = time.perf_counter()
        st["t0"] = st["t0"] or st["t1"]
        st["got"] += 1
        st["last"] = time.monotonic()
        if st["got"] >= n:
            loop.quit()

    def watchdog():
        if time.monotonic() - st["last"] > WAIT:
            loop.quit()
            return False
        return True

    conn.add_signal_receiver(on_tick, signal_name="Tick", dbus_interface=IFACE, path=PATH)
    conn.call_blocking("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetId", "", [])
    GLib.timeout_add(500, watchdog)
    st["last"] = time.monotonic() + 60  # waits for the publisher to start
    ready()
    loop.run()
    got = st["got"]
    report(events=got, seconds=(st["t1"] - st["t0"]) if got > 1 else 0.0)


def dbus_pub(addr, n):
    dbus_mod, conn = dbus_conn(addr, False)
    from dbus.lowlevel import SignalMessage
    for _ in range(n):
        m = SignalMessage(PATH, IFACE, "Tick")
        m.append(PAYLOAD, signature="s")
        conn.send_message(m)
    conn.flush()


ROLES = {"busd-serve": busd_serve, "busd-call": busd_call, "busd-sub": busd_sub, "busd-pub": busd_pub,
         "dbus-serve": dbus_serve, "dbus-call": dbus_call, "dbus-sub": dbus_sub, "dbus-pub": dbus_pub}

if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in ROLES:
        sys.exit(__doc__)
    ROLES[sys.argv[1]](sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 0)
