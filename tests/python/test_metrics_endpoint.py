"""The Prometheus endpoint of `flowsentry run`, judged by real parsers: the
sensor captures on `lo` (a BPF filter keeps it to this test's own UDP
packets) with the metrics endpoint on, is scraped twice, and the exposition
is parsed by prometheus_client's text parser (PyPI, the Prometheus project's
Python client) and, where installed, checked by `promtool check metrics`.

What must hold: counters typed as counters (and named *_total), gauges and
the histogram as such; labels interface/worker/class/output where they mean
something; flowsentry_build_info and the process_* metrics; every counter
monotonic between scrapes; the packet counter equal to the packets this test
sent; host names and bracketed IPv6 accepted for the listen address, a bad
one refused with the reason."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest

prom_parser = pytest.importorskip("prometheus_client.parser", reason="prometheus-client not installed (scripts/requirements-test.txt)")

REPO = Path(__file__).resolve().parents[2]
MODEL = REPO / "rules" / "flowsentry.fsb"
CAN_CAPTURE = os.geteuid() == 0  # capturing on lo needs CAP_NET_RAW

COUNTERS = {
    "flowsentry_capture_kernel_packets", "flowsentry_capture_kernel_drops", "flowsentry_capture_kernel_ifdrops",
    "flowsentry_decoder_packets", "flowsentry_decoder_bytes", "flowsentry_decoder_decoded",
    "flowsentry_decoder_skipped", "flowsentry_flows_created", "flowsentry_flows_ended",
    "flowsentry_queue_overflow", "flowsentry_output_records", "flowsentry_output_records_dropped",
    "flowsentry_ml_flows_scored", "flowsentry_alerts", "flowsentry_closing_alerts", "process_cpu_seconds",
}
GAUGES = {
    "flowsentry_build_info", "flowsentry_model_info", "flowsentry_flows_active", "flowsentry_queue_depth",
    "flowsentry_uptime_seconds", "process_resident_memory_bytes", "process_virtual_memory_bytes",
    "process_open_fds", "process_max_fds", "process_start_time_seconds",
}


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sensor:
    """`flowsentry run` on lo with the metrics endpoint; the URL it logs."""

    def __init__(self, binary: str, tmp: Path, listen: str, udp_port: int):
        args = [binary, "run", "--interface", "lo", "--filter", f"udp and port {udp_port}",
                "--flows", str(tmp / "flows.json"), "--alerts", str(tmp / "alerts.json"),
                "--stats", str(tmp / "stats.json"), "--stats-interval", "1", "--idle-timeout", "1",
                "--max-flows", "4096", "--buffer-mb", "4", "--model", str(MODEL), "--metrics-listen", listen]
        self.proc = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self.url: str | None = None
        ready = threading.Event()

        def read():
            for line in self.proc.stderr:
                self.lines.append(line)
                m = re.search(r"Prometheus metrics on (http://\S+/metrics)", line)
                if m:
                    self.url = m.group(1)
                if "capturing on" in line:
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        ready.wait(30)
        assert self.url and self.proc.poll() is None, "".join(self.lines)

    def scrape(self) -> tuple[str, str]:
        with urllib.request.urlopen(self.url, timeout=5) as r:
            return r.headers.get("Content-Type", ""), r.read().decode()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(30)


@pytest.fixture
def sensor_factory(flowsentry_bin, tmp_path):
    if not CAN_CAPTURE:
        pytest.skip("capturing on lo needs root (CAP_NET_RAW)")
    started: list[Sensor] = []

    def start(listen: str, udp_port: int) -> Sensor:
        s = Sensor(flowsentry_bin, tmp_path, listen, udp_port)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


def families(text: str) -> dict:
    return {f.name: f for f in prom_parser.text_string_to_metric_families(text)}


def samples(fams: dict) -> dict:
    """(sample name, sorted labels) -> value, for every sample."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for f in fams.values() for s in f.samples}


def send_udp(port: int, n: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for i in range(n):
            s.sendto(b"flowsentry metrics test %d" % i, ("127.0.0.1", port))


def wait_for(sensor: Sensor, predicate, timeout: float = 10):
    deadline = time.monotonic() + timeout
    while True:
        fams = families(sensor.scrape()[1])
        if predicate(fams) or time.monotonic() > deadline:
            return fams
        time.sleep(0.3)


def value(fams: dict, sample: str, **labels) -> float | None:
    for f in fams.values():
        for s in f.samples:
            if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return None


def test_exposition_types_labels_and_monotonic_counters(sensor_factory, tmp_path):
    port = free_udp_port()
    sensor = sensor_factory("127.0.0.1:0", port)
    send_udp(port, 20)
    # The sensor's part is refreshed once a second; the 20 packets are all read by then.
    first = wait_for(sensor, lambda f: value(f, "flowsentry_decoder_packets_total", interface="lo", worker="0") == 20)
    content_type, text1 = sensor.scrape()
    assert content_type.startswith("text/plain; version=0.0.4"), content_type
    first = families(text1)
    assert value(first, "flowsentry_decoder_packets_total", interface="lo", worker="0") == 20

    # Types, as the parser read them (it drops a counter family's _total suffix: the samples keep it).
    for name in COUNTERS:
        assert name in first and first[name].type == "counter", (name, first.get(name))
        assert all(s.name == name + "_total" for s in first[name].samples), name
    for name in GAUGES:
        assert name in first and first[name].type == "gauge", (name, first.get(name))
    hist = first["flowsentry_ml_flow_to_output_seconds"]
    assert hist.type == "histogram"
    assert any(s.name.endswith("_bucket") and s.labels.get("le") == "+Inf" for s in hist.samples)

    # Labels where they mean something.
    assert {s.labels["worker"] for s in first["flowsentry_capture_kernel_packets"].samples} == {"0"}
    assert all(s.labels["interface"] == "lo" for s in first["flowsentry_decoder_packets"].samples)
    assert {s.labels["output"] for s in first["flowsentry_output_records"].samples} == {"alerts", "flows", "stats"}
    classes = {s.labels["class"] for s in first["flowsentry_alerts"].samples}
    assert classes and "benign" not in classes
    info = first["flowsentry_build_info"].samples[0]
    assert info.value == 1 and info.labels["version"] and info.labels["swift"].startswith("6.")
    assert first["flowsentry_model_info"].samples[0].labels["model_version"].startswith("flowsentry-ml-")

    # Process metrics, against what this test can see of the process.
    start = value(first, "process_start_time_seconds")
    assert start is not None and abs(start - (time.time() - float(value(first, "flowsentry_uptime_seconds", interface="lo")))) < 5
    assert value(first, "process_open_fds") > 3 and value(first, "process_max_fds") >= value(first, "process_open_fds")
    with open(f"/proc/{sensor.proc.pid}/status") as f:
        rss_kib = int(next(ln for ln in f if ln.startswith("VmRSS:")).split()[1])
    assert abs(value(first, "process_resident_memory_bytes") - rss_kib * 1024) <= 0.2 * rss_kib * 1024

    # More traffic, then every counter is at least what it was, and the packet counters moved exactly.
    send_udp(port, 7)
    second = wait_for(sensor, lambda f: value(f, "flowsentry_decoder_packets_total", worker="0") == 27)
    a, b = samples(first), samples(second)
    counter_samples = [k for k in a if any(k[0] == f.name + "_total" for f in first.values() if f.type == "counter")
                       or k[0].endswith(("_bucket", "_count", "_sum"))]
    assert len(counter_samples) > 50
    for k in counter_samples:
        assert k in b, f"{k} vanished"
        assert b[k] >= a[k], f"{k} went from {a[k]} to {b[k]}"
    assert value(second, "flowsentry_decoder_packets_total", worker="0") == 27
    assert value(second, "flowsentry_capture_kernel_packets_total", worker="0") >= 27

    # promtool, where installed (the Debian package `prometheus` ships it).
    promtool = shutil.which("promtool")
    if promtool:
        p = subprocess.run([promtool, "check", "metrics"], input=sensor.scrape()[1], capture_output=True, text=True,
                           timeout=30)
        assert p.returncode == 0 and not p.stdout.strip() and not p.stderr.strip(), p.stdout + p.stderr

    # The stats record, written at shutdown, counts the same packets under Suricata's name.
    assert sensor.stop() == 0, "".join(sensor.lines)
    last = json.loads((tmp_path / "stats.json").read_text().splitlines()[-1])
    assert last["stats"]["decoder"]["pkts"] == 27 and isinstance(last["stats"]["uptime"], int)


@pytest.mark.parametrize("listen, host", [("[::1]:0", "[::1]"), ("localhost:0", None)])
def test_ipv6_and_host_names_are_served(sensor_factory, listen, host):
    sensor = sensor_factory(listen, free_udp_port())
    if host:
        assert sensor.url.startswith(f"http://{host}:")
    else:  # localhost: whichever loopback address getaddrinfo gave first
        assert re.match(r"http://(127\.0\.0\.1|\[::1\]):\d+/metrics$", sensor.url), sensor.url
    fams = families(sensor.scrape()[1])
    assert fams["flowsentry_build_info"].type == "gauge" and fams["process_cpu_seconds"].type == "counter"


@pytest.mark.parametrize("listen, reason", [
    ("::1:9560", "needs brackets, as [::1]:9560"),
    ("localhost", "no port"),
    ("127.0.0.1:99999", "the port must be a number from 0 to 65535"),
])
def test_bad_listen_address_is_refused_with_the_reason(flowsentry_bin, tmp_path, listen, reason):
    p = subprocess.run([flowsentry_bin, "run", "--interface", "lo", "--no-score", "--flows", str(tmp_path / "f.json"),
                        "--metrics-listen", listen], capture_output=True, text=True, timeout=20)
    assert p.returncode != 0
    assert reason in p.stderr and listen in p.stderr, p.stderr
    assert "capturing on" not in p.stderr


def test_check_config_resolves_the_metrics_address(flowsentry_bin, tmp_path):
    cfg = tmp_path / "flowsentry.yaml"
    base = f"capture:\n  interface: lo\noutputs:\n  flows: {tmp_path / 'flows.json'}\ndetection:\n  enabled: false\n"
    cfg.write_text(base + "metrics_listen: no-such-host.invalid:9560\n")
    p = subprocess.run([flowsentry_bin, "check-config", str(cfg)], capture_output=True, text=True, timeout=30)
    assert p.returncode == 2, p.stdout + p.stderr
    assert "metrics_listen" in p.stderr and "cannot resolve 'no-such-host.invalid'" in p.stderr, p.stderr
    cfg.write_text(base + "metrics_listen: \"[::1:9560\"\n")
    p = subprocess.run([flowsentry_bin, "check-config", str(cfg)], capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and "metrics_listen" in p.stderr and "closing ']'" in p.stderr, p.stderr
    cfg.write_text(base + "metrics_listen: localhost:9560\n")
    p = subprocess.run([flowsentry_bin, "check-config", str(cfg)], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stdout + p.stderr


def test_grafana_dashboard_queries_only_what_the_sensor_exposes(sensor_factory):
    # contrib/grafana/flowsentry-dashboard.json: every metric its queries name
    # is in a real scrape, with every label the queries group or filter by.
    dash = json.loads((REPO / "contrib" / "grafana" / "flowsentry-dashboard.json").read_text())
    port = free_udp_port()
    s = sensor_factory("127.0.0.1:0", port)
    send_udp(port, 5)
    fams = wait_for(s, lambda f: value(f, "flowsentry_decoder_packets_total") == 5)
    labels: dict[str, set] = {}
    for f in fams.values():
        for smp in f.samples:
            labels.setdefault(smp.name, set()).update(smp.labels)
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    exprs += [v["query"]["query"] for v in dash["templating"]["list"] if isinstance(v.get("query"), dict)]
    assert len(exprs) >= 12
    for expr in exprs:
        names = re.findall(r"\b((?:flowsentry|process)_[a-z_]+)\b", expr)
        assert names, expr
        grouped = set()
        for g in re.findall(r"by \(([^)]*)\)", expr):
            grouped |= {x.strip() for x in g.split(",")} - {"le"}
        for name in names:
            assert name in labels, f"{name} (in {expr!r}) is not exposed"
            for lbl in grouped:
                if lbl == "instance":
                    continue
                assert any(lbl in labels.get(n, set()) for n in names), f"{lbl} not a label of {names}"
