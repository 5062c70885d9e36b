#!/usr/bin/env python3
"""test_metrics.py: busd's metrics (docs/busd.md, METRICS; docs/bus.md, `bus metrics`).

The real busd with --metrics-listen on a Unix socket path and on
127.0.0.1:<free port> (each test runs on both): GET /metrics answers
OpenMetrics text (checked by prometheus_client's strict OpenMetrics parser
when installed) or, asked for text/plain, the 0.0.4 text that `promtool check
metrics` (Debian's prometheus) passes; counters move after traffic; bad
requests (POST, another path, garbage, an oversized head, idle connections
past the limit) get a 4xx or are closed and disturb neither the bus nor later
scrapes. `bus metrics` through the real CLI passes the same checks. The
address rules (loopback only, not seqpacket) and the configuration file key.

The promtool checks are skipped only when promtool is not installed (CI
installs it: scripts/deps.sh test); the OpenMetrics parser checks likewise
when python3-prometheus-client is missing for every python3 found.

Environment: BUSD, BUS (the binaries). Standard library only (plus the
optional parser).
"""
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import WAIT, Daemon  # noqa: E402

BUS = os.environ.get("BUS", "bus")
OM_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"
TEXT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PROMTOOL = shutil.which("promtool")

# prometheus_client's OpenMetrics parser, in this python or in Debian's
# (the test may run under another interpreter than the one with the package)
_OM_CHECK = ("import sys\n"
             "from prometheus_client.openmetrics.parser import text_string_to_metric_families as p\n"
             "print(len(list(p(sys.stdin.read()))))\n")


def _om_python():
    for py in (sys.executable, "/usr/bin/python3"):
        if py and os.path.exists(py) and subprocess.run(
                [py, "-c", "import prometheus_client.openmetrics.parser"], stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL).returncode == 0:
            return py
    return None


OM_PYTHON = _om_python()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._path)


def parse_samples(text):
    """{'name{labels}': value} of a text exposition (comments skipped)."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, value = line.rsplit(" ", 1)
        out[key] = float(value)
    return out


class _Metrics:
    """Tests run against each address kind (the subclasses say which)."""

    def metrics_arg(self):
        raise NotImplementedError

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="busd-metrics-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.addr = self.metrics_arg()
        self.daemon = Daemon("--metrics-listen", self.addr)
        self.addCleanup(self.daemon.stop)

    # ---- HTTP ---------------------------------------------------------------

    def http(self):
        if self.addr.startswith("/"):
            return UnixHTTPConnection(self.addr, WAIT)
        host, port = self.addr.rsplit(":", 1)
        return http.client.HTTPConnection(host, int(port), timeout=WAIT)

    def request(self, method="GET", path="/metrics", headers=None):
        c = self.http()
        try:
            c.request(method, path, headers=headers or {})
            r = c.getresponse()
            return r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read().decode()
        finally:
            c.close()

    def raw(self):
        """A connected socket to the metrics address."""
        if self.addr.startswith("/"):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(self.addr)
        else:
            host, port = self.addr.rsplit(":", 1)
            s = socket.create_connection((host, int(port)))
        s.settimeout(WAIT)
        return s

    def scrape(self, accept=None):
        status, headers, body = self.request(headers={"Accept": accept} if accept else None)
        self.assertEqual(status, 200, body)
        return headers["content-type"], body

    # ---- checks -------------------------------------------------------------

    def check_openmetrics(self, body):
        self.assertTrue(body.endswith("# EOF\n"), body[-200:])
        if OM_PYTHON:
            p = subprocess.run([OM_PYTHON, "-c", _OM_CHECK], input=body, capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr + body)
            self.assertGreater(int(p.stdout), 10)

    def check_promtool(self, body):
        if not PROMTOOL:
            self.skipTest("promtool is not installed (Debian package prometheus)")
        p = subprocess.run([PROMTOOL, "check", "metrics"], input=body, capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, "promtool: %s%s\n%s" % (p.stdout, p.stderr, body))

    # ---- tests --------------------------------------------------------------

    def test_openmetrics_by_default(self):
        ctype, body = self.scrape()
        self.assertEqual(ctype, OM_TYPE)
        self.check_openmetrics(body)
        # what Prometheus sends
        ctype, body = self.scrape("application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
                                  "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
        self.assertEqual(ctype, OM_TYPE)
        self.check_openmetrics(body)
        for name in ("busd_uptime_seconds", "busd_connections", "busd_messages_received_total", "busd_calls_total",
                     "busd_events_total", "busd_drops_total", "busd_pending_calls", "busd_queued_fds_limit"):
            self.assertRegex(body, r"(?m)^%s \d" % name)

    def test_text_format_passes_promtool(self):
        ctype, body = self.scrape("text/plain")
        self.assertEqual(ctype, TEXT_TYPE)
        self.assertNotIn("# EOF", body)
        self.assertIn("# TYPE busd_calls_total counter", body)
        self.check_promtool(body)

    def test_counters_move(self):
        before = parse_samples(self.scrape()[1])
        a = self.daemon.connect(name="metrics a")
        b = self.daemon.connect(name="metrics b")
        b.subscribe("metrics.>")
        for i in range(5):
            a.publish("metrics.tick", i)
        for _ in range(5):
            b.next_of("event")
        a.ping()
        after = parse_samples(self.scrape()[1])
        self.assertGreaterEqual(after["busd_connections_accepted_total"], before["busd_connections_accepted_total"] + 2)
        self.assertEqual(after["busd_connections"], before["busd_connections"] + 2)
        self.assertGreaterEqual(after["busd_events_total"], before["busd_events_total"] + 5)
        self.assertGreaterEqual(after["busd_deliveries_total"], before["busd_deliveries_total"] + 5)
        self.assertGreater(after["busd_messages_received_total"], before["busd_messages_received_total"])
        self.assertGreater(after["busd_received_bytes_total"], before["busd_received_bytes_total"])
        self.assertEqual(after["busd_subscriptions"], before["busd_subscriptions"] + 1)
        uid = os.getuid()
        self.assertEqual(after['busd_uid_used{uid="%d",resource="connections"}' % uid], 2)
        self.assertEqual(after['busd_uid_used{uid="%d",resource="subscriptions"}' % uid], 1)
        self.assertIn('busd_uid_refused_total{uid="%d"}' % uid, after)
        a.close()
        b.close()

    def test_bad_requests(self):
        status, headers, _ = self.request("POST")
        self.assertEqual(status, 405)
        self.assertEqual(headers.get("allow"), "GET, HEAD")
        self.assertEqual(self.request("DELETE")[0], 405)
        self.assertEqual(self.request("GET", "/")[0], 404)
        self.assertEqual(self.request("GET", "/metrics/x")[0], 404)
        self.assertEqual(self.request("POST", "/other")[0], 404)
        status, headers, body = self.request("HEAD")
        self.assertEqual((status, body), (200, ""))
        # not HTTP at all: closed, or told 4xx (5xx for an unknown version)
        for garbage in (b"garbage\r\n\r\n", b"GET\r\n\r\n", b"GET /metrics\r\n\r\n",
                        b"GET /metrics HTTP/9.9\r\n\r\n"):
            s = self.raw()
            s.sendall(garbage)
            answer = s.recv(4096)
            s.close()
            self.assertTrue(answer == b"" or re.match(rb"HTTP/1\.[01] [45]\d\d ", answer), (garbage, answer))
        # a head larger than the connection's memory limit
        s = self.raw()
        try:
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 65536 + b"\r\n\r\n")
            answer = s.recv(4096)
        except (ConnectionResetError, BrokenPipeError):
            answer = b""
        s.close()
        self.assertTrue(answer == b"" or re.match(rb"HTTP/1\.[01] 4\d\d ", answer), answer[:200])
        # the bus and the metrics are as before
        self.assertTrue(self.daemon.ping()["server"].startswith("busd "))
        self.check_openmetrics(self.scrape()[1])

    def test_connection_limit(self):
        # more idle connections than the limit (16): the bus is not affected,
        # and once they are gone a scrape is answered again
        held = [self.raw() for _ in range(24)]
        self.assertTrue(self.daemon.ping()["server"].startswith("busd "))
        for s in held:
            s.close()
        deadline = time.monotonic() + WAIT
        while True:
            try:
                self.scrape()
                break
            except (ConnectionError, http.client.HTTPException, socket.timeout):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def test_bus_metrics_cli(self):
        env = dict(os.environ, BUS_ADDRESS=self.daemon.stream_addr)
        p = subprocess.run([BUS, "metrics"], env=env, capture_output=True, text=True, timeout=WAIT)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.check_openmetrics(p.stdout)
        # the CLI's own connection is counted
        self.assertGreaterEqual(parse_samples(p.stdout)["busd_connections"], 1)
        p = subprocess.run([BUS, "metrics", "--prometheus"], env=env, capture_output=True, text=True, timeout=WAIT)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.check_promtool(p.stdout)
        p = subprocess.run([BUS, "metrics", "extra"], env=env, capture_output=True, text=True, timeout=WAIT)
        self.assertEqual(p.returncode, 64, p.stderr)


class MetricsUnix(_Metrics, unittest.TestCase):
    def metrics_arg(self):
        return os.path.join(self.tmp, "metrics")

    def test_socket_mode_and_removal(self):
        st = os.stat(self.addr)
        self.assertEqual(st.st_mode & 0o777, 0o600)
        self.daemon.terminate()
        self.assertFalse(os.path.exists(self.addr))

    def test_second_daemon_refused(self):
        d = os.path.join(self.tmp, "b")
        os.mkdir(d)
        p = subprocess.run([os.environ.get("BUSD", "busd"), "--listen", "unix:" + d + "/bus", "--metrics-listen",
                            self.addr], capture_output=True, text=True, timeout=WAIT)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("metrics: refusing to start", p.stderr)
        self.check_openmetrics(self.scrape()[1])


class MetricsTcp(_Metrics, unittest.TestCase):
    def metrics_arg(self):
        return "127.0.0.1:%d" % free_port()

    def test_stuck_request_times_out(self):
        # a head libmicrohttpd never sees the end of (a NUL in the request
        # line) and a silent connection: both closed by the idle timeout
        # (10 s), while the bus and other scrapes are served
        stuck = self.raw()
        stuck.sendall(b"\x00\x01garbage\xff\r\n\r\n")
        silent = self.raw()
        t0 = time.monotonic()
        self.assertTrue(self.daemon.ping()["server"].startswith("busd "))
        self.check_openmetrics(self.scrape()[1])
        for s in (stuck, silent):
            s.settimeout(10 + WAIT)
            answer = s.recv(4096)
            self.assertTrue(answer == b"" or re.match(rb"HTTP/1\.[01] 4\d\d ", answer), answer)
            s.close()
        self.assertLess(time.monotonic() - t0, 10 + WAIT)
        self.check_openmetrics(self.scrape()[1])


class MetricsAddress(unittest.TestCase):
    """The address rules and the configuration file key."""

    def run_busd(self, *args):
        return subprocess.run([os.environ.get("BUSD", "busd")] + list(args), capture_output=True, text=True,
                              timeout=WAIT)

    def test_refused_addresses(self):
        for addr, why in (("0.0.0.0:9101", "not a loopback address"), ("192.0.2.1:80", "not a loopback address"),
                          ("[::]:9101", "not a loopback address"), ("seqpacket:/tmp/x", "not seqpacket"),
                          ("127.0.0.1:0", "port from 1 to 65535"), ("metrics", "not a Unix socket path")):
            p = self.run_busd("--metrics-listen", addr)
            self.assertEqual(p.returncode, 64, (addr, p.stderr))
            self.assertIn(why, p.stderr)

    def test_config_file(self):
        tmp = tempfile.mkdtemp(prefix="busd-metrics-")
        self.addCleanup(shutil.rmtree, tmp, True)
        conf = os.path.join(tmp, "busd.json")
        with open(conf, "w") as f:
            f.write('{"metrics_listen": "0.0.0.0:9101"}')
        p = self.run_busd("--check-config", "--config", conf)
        self.assertEqual(p.returncode, 1)
        self.assertIn("metrics_listen: '0.0.0.0:9101': not a loopback address", p.stderr)

        sock = os.path.join(tmp, "metrics")
        with open(conf, "w") as f:
            f.write('{"metrics_listen": "%s"}' % sock)
        self.assertEqual(self.run_busd("--check-config", "--config", conf).returncode, 0)
        d = Daemon("--config", conf)
        self.addCleanup(d.stop)
        c = UnixHTTPConnection(sock, WAIT)
        c.request("GET", "/metrics")
        r = c.getresponse()
        self.assertEqual(r.status, 200)
        self.assertTrue(r.read().endswith(b"# EOF\n"))
        c.close()
        # a reload does not move the metrics, and says so
        with open(conf, "w") as f:
            f.write('{"metrics_listen": "127.0.0.1:%d"}' % free_port())
        d.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + WAIT
        while "metrics_listen cannot change on reload" not in d.log():
            self.assertLess(time.monotonic(), deadline, d.log())
            time.sleep(0.02)
        self.assertIn("still serving metrics on " + sock, d.log())
        self.assertTrue(os.path.exists(sock))


if __name__ == "__main__":
    unittest.main()
