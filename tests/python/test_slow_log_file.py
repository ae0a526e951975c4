"""A stalled log file costs its own records only (issue 19, point 3).

`flowsentry run` captures on `lo` (a BPF filter keeps it to this test's own
UDP packets) with the flows log on a FIFO (mkfifo) whose reader opened it
and never reads, and the alerts log on a regular file (an indicator for
127.0.0.1 gives every flow an alert line, so alerts need no model). Once the
pipe is full the flows log's writer blocks; its queue (`outputs.file_queue`,
200 records here: more than an expiry sweep's batch, less than the flows
sent) fills and drops. What must hold:

- the alerts log gets an alert for every flow this test sent (the source
  ports are the oracle: the test chose them);
- the Prometheus endpoint (parsed by prometheus_client) and a stats record
  show the flows output dropping and the alerts output dropping nothing, and
  the kernel dropped no packet;
- one queue-full warning naming the flows output;
- SIGTERM ends the sensor within the documented bound (5 s for the blocked
  file, inside run's 10 s drain limit) with exit status 1 (records given up
  at shutdown are counted as lost, as for a full disk) and a message naming
  the blocked file.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest

prom_parser = pytest.importorskip("prometheus_client.parser", reason="prometheus-client not installed (scripts/requirements-test.txt)")

CAN_CAPTURE = os.geteuid() == 0  # capturing on lo needs CAP_NET_RAW
FLOWS = 600


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sample(text: str, name: str, **labels) -> list[float]:
    return [s.value for f in prom_parser.text_string_to_metric_families(text) for s in f.samples
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]


def last_stats(path: Path) -> dict | None:
    if not path.exists():
        return None
    lines = path.read_text().splitlines()
    return json.loads(lines[-1])["stats"] if lines else None


def test_a_stalled_flows_fifo_drops_its_own_records_while_alerts_capture_and_exit_go_on(tmp_path, flowsentry_bin):
    if not CAN_CAPTURE:
        pytest.skip("capturing on lo needs root (CAP_NET_RAW)")
    port = free_udp_port()
    fifo, alerts, stats = tmp_path / "flows.fifo", tmp_path / "alerts.json", tmp_path / "stats.json"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # opened, never read
    feed = tmp_path / "local.intel"
    feed.write_text("#fields\tindicator\tindicator_type\tmeta.source\n127.0.0.1\tIntel::ADDR\tslow-file-test\n")
    config = {
        "stats_interval": 1,
        "metrics_listen": "127.0.0.1:0",
        "capture": {"interface": "lo", "bpf_filter": f"udp and dst port {port}", "buffer_mb": 8},
        "flow": {"idle_timeout": 1},
        "detection": {"enabled": False, "indicators": [str(feed)]},
        "outputs": {"flows": str(fifo), "alerts": str(alerts), "stats": str(stats), "file_queue": 200},
    }
    cfg = tmp_path / "c.yaml"
    cfg.write_text(json.dumps(config))
    proc = subprocess.Popen([flowsentry_bin, "run", "--config", str(cfg)], stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    ready = threading.Event()
    url: list[str] = []

    def read():
        for line in proc.stderr:
            lines.append(line)
            m = re.search(r"Prometheus metrics on (http://\S+/metrics)", line)
            if m:
                url.append(m.group(1))
            if "capturing on" in line:
                ready.set()
        ready.set()

    reader_thread = threading.Thread(target=read, daemon=True)
    reader_thread.start()
    try:
        assert ready.wait(30) and proc.poll() is None and url, "".join(lines)
        # Bounded traffic: one datagram from each of FLOWS source ports, 100 a second, so
        # that each expiry sweep (every 0.5 s) ends some 50 flows: a batch fits every queue.
        # Every socket stays open until all are sent, so no source port is handed out twice.
        socks = []
        for i in range(FLOWS):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            s.sendto(b"slow log file test %d" % i, ("127.0.0.1", port))
            if i % 10 == 9:
                time.sleep(0.1)
        sent = [s.getsockname()[1] for s in socks]
        for s in socks:
            s.close()
        assert len(set(sent)) == FLOWS

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            got = {json.loads(l).get("src_port") for l in alerts.read_text().splitlines()} if alerts.exists() else set()
            if got >= set(sent):
                break
            time.sleep(0.2)
        alert_lines = [json.loads(l) for l in alerts.read_text().splitlines()]
        got = {a["src_port"] for a in alert_lines}
        assert got == set(sent), (f"every flow's alert, with the flows log stalled: {len(got & set(sent))} of {len(sent)}, "
                                  f"{len(got - set(sent))} others\n" + "".join(lines))
        assert all(a["event_type"] == "alert" and a["indicator"]["source"] == "slow-file-test" for a in alert_lines)

        # Metrics and a stats record written after the drops.
        deadline = time.monotonic() + 10
        while True:
            with urllib.request.urlopen(url[0], timeout=5) as r:
                text = r.read().decode()
            st = last_stats(stats)
            if (sample(text, "flowsentry_output_records_dropped_total", output="flows") or [0])[0] > 0 \
                    and st and st["outputs"]["flows"]["dropped"] > 0 or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert sample(text, "flowsentry_output_records_dropped_total", output="flows")[0] > 0, text
        assert sample(text, "flowsentry_output_records_dropped_total", output="alerts") == [0.0]
        assert sample(text, "flowsentry_output_records_total", output="alerts")[0] >= FLOWS
        assert sample(text, "flowsentry_output_queue_records", output="flows")[0] > 0, "the stalled writer holds its queue"
        assert sum(sample(text, "flowsentry_capture_kernel_drops_total")) == 0
        assert st is not None and st["outputs"]["flows"]["dropped"] > 0 and st["outputs"]["alerts"]["dropped"] == 0, st
        assert st["capture"]["kernel_drops"] == 0 and st["output"]["records_dropped"] >= st["outputs"]["flows"]["dropped"]
        assert proc.poll() is None, "still running"

        start = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(15)
        took = time.monotonic() - start
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(reader)
    reader_thread.join(5)
    stderr = "".join(lines)
    assert code == 1, stderr
    assert took < 9, f"SIGTERM to exit took {took:.1f} s"
    assert len(re.findall(r"warning: output flows: .*flows\.fifo is not keeping up", stderr)) == 1, stderr
    assert "flows.fifo still blocked at shutdown" in stderr, stderr
    m = re.search(r"output flows: (\d+) records written, (\d+) dropped", stderr)
    assert m and int(m.group(2)) > 0, stderr
    assert int(m.group(1)) + int(m.group(2)) == FLOWS, "every flow record written to the pipe or counted as dropped\n" + stderr
    assert "kernel_drops 0 (" in stderr, stderr
    assert "output alerts:" not in stderr, "the alerts log dropped nothing"


def test_a_flows_fifo_whose_reader_went_away_is_a_failed_write_not_a_killed_sensor(tmp_path, flowsentry_bin):
    """The reader of the flows FIFO closes it: writes fail with EPIPE (run
    ignores SIGPIPE), which is handled as any failed write (held for retry,
    counted); the sensor keeps capturing and alerting, and SIGTERM exits 1
    reporting the records it could not write."""
    if not CAN_CAPTURE:
        pytest.skip("capturing on lo needs root (CAP_NET_RAW)")
    port = free_udp_port()
    fifo, alerts = tmp_path / "flows.fifo", tmp_path / "alerts.json"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    feed = tmp_path / "local.intel"
    feed.write_text("#fields\tindicator\tindicator_type\tmeta.source\n127.0.0.1\tIntel::ADDR\tslow-file-test\n")
    config = {
        "metrics_listen": "127.0.0.1:0",
        "capture": {"interface": "lo", "bpf_filter": f"udp and dst port {port}", "buffer_mb": 8},
        "flow": {"idle_timeout": 1},
        "detection": {"enabled": False, "indicators": [str(feed)]},
        "outputs": {"flows": str(fifo), "alerts": str(alerts)},
    }
    cfg = tmp_path / "c.yaml"
    cfg.write_text(json.dumps(config))
    proc = subprocess.Popen([flowsentry_bin, "run", "--config", str(cfg)], stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    ready = threading.Event()
    url: list[str] = []

    def read():
        for line in proc.stderr:
            lines.append(line)
            m = re.search(r"Prometheus metrics on (http://\S+/metrics)", line)
            if m:
                url.append(m.group(1))
            if "capturing on" in line:
                ready.set()
        ready.set()

    reader_thread = threading.Thread(target=read, daemon=True)
    reader_thread.start()
    try:
        assert ready.wait(30) and proc.poll() is None and url, "".join(lines)
        os.close(reader)  # the only reader goes away
        reader = -1
        socks = []
        for i in range(50):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            s.sendto(b"reader gone %d" % i, ("127.0.0.1", port))
        sent = {s.getsockname()[1] for s in socks}
        for s in socks:
            s.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            got = {json.loads(l)["src_port"] for l in alerts.read_text().splitlines()} if alerts.exists() else set()
            with urllib.request.urlopen(url[0], timeout=5) as r:
                text = r.read().decode()
            if got >= sent and (sample(text, "flowsentry_output_records_pending") or [0])[0] == 50:
                break
            time.sleep(0.3)
        assert got == sent, "".join(lines)
        assert proc.poll() is None, "the sensor survives the reader's going away"
        assert sample(text, "flowsentry_output_write_errors_total")[0] > 0, text
        assert sample(text, "flowsentry_output_records_pending") == [50.0], "held for retry, not lost"
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if reader >= 0:
            os.close(reader)
    reader_thread.join(5)
    stderr = "".join(lines)
    assert code == 1, stderr
    assert "Broken pipe" in stderr, stderr
    assert "flows.fifo: 50 records could not be written before exit" in stderr, stderr
