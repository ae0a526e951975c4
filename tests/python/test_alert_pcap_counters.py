"""`--alert-pcap`'s counters in `run`'s stats records and Prometheus metrics
(issue 19, point 4): TCP connections on lo, made to alert by an indicator on
127.0.0.1, have their packets written to the alert pcap files; the stats
record's `alert_pcap` and the `flowsentry_alert_pcap_*` metrics (parsed by
prometheus_client) must count exactly the flows the alert lines name and
the packets tshark reads from the files."""

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

CONNECTIONS = 3


def metric(text: str, name: str) -> float | None:
    for f in prom_parser.text_string_to_metric_families(text):
        for s in f.samples:
            if s.name == name:
                return s.value
    return None


def tshark_frames(path: Path) -> int:
    p = subprocess.run(["tshark", "-n", "-r", str(path), "-T", "fields", "-e", "frame.number"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, f"tshark cannot read {path}: {p.stderr}"
    return len(p.stdout.split())


def test_stats_and_metrics_count_what_the_alert_pcap_files_hold(tmp_path, flowsentry_bin):
    if os.geteuid() != 0:
        pytest.skip("capturing on lo needs root")
    if shutil.which("tshark") is None:
        pytest.skip("tshark not installed")
    intel = tmp_path / "intel.txt"
    intel.write_text("#fields\tindicator\tindicator_type\tmeta.source\n127.0.0.1\tIntel::ADDR\tcounter-test\n")
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    port = srv.getsockname()[1]
    alerts, stats, pcaps = tmp_path / "alerts.json", tmp_path / "stats.json", tmp_path / "pcap"
    proc = subprocess.Popen([flowsentry_bin, "run", "-i", "lo", "--no-score", "--indicators", str(intel),
                             "--filter", f"tcp port {port}", "--alerts", str(alerts), "--stats", str(stats),
                             "--stats-interval", "1", "--metrics-listen", "127.0.0.1:0",
                             "--alert-pcap", str(pcaps), "--tcp-linger", "0.2"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
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

    threading.Thread(target=read, daemon=True).start()
    try:
        assert ready.wait(30) and url, "".join(lines)

        def serve():
            for _ in range(CONNECTIONS):
                c, _ = srv.accept()
                c.recv(100)
                c.sendall(b"pong" * 10)
                c.close()
        t = threading.Thread(target=serve)
        t.start()
        for _ in range(CONNECTIONS):
            c = socket.create_connection(("127.0.0.1", port))
            c.sendall(b"ping")
            c.recv(100)
            c.close()
        t.join()

        # Until every connection's alert is out and a stats record and a scrape agree.
        deadline = time.monotonic() + 20
        while True:
            mine = [json.loads(l) for l in alerts.read_text().splitlines()] if alerts.exists() else []
            flows = {a["flow_id"]: a["alert_pcap"] for a in mine if "alert_pcap" in a}
            recs = stats.read_text().splitlines() if stats.exists() else []
            st = json.loads(recs[-1])["stats"].get("alert_pcap") if recs else None
            with urllib.request.urlopen(url[0], timeout=5) as r:
                text = r.read().decode()
            if (len(flows) == CONNECTIONS and st and st["flows_written"] == CONNECTIONS
                    and metric(text, "flowsentry_alert_pcap_flows_total") == CONNECTIONS) or time.monotonic() > deadline:
                break
            time.sleep(0.3)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        srv.close()
    stderr = "".join(lines)
    assert proc.returncode == 0, stderr
    assert len(flows) == CONNECTIONS, stderr
    files = sorted(pcaps.glob("flowsentry-alerts.*.pcap"))
    on_disk = sum(tshark_frames(f) for f in files)
    named = sum(ap["packets"] for ap in flows.values())
    assert on_disk == named >= CONNECTIONS * 8, "the files hold exactly the alerted flows' packets"
    assert st == {"flows_written": CONNECTIONS, "packets_written": on_disk, "write_errors": 0,
                  "packets_kept": st["packets_kept"], "packets_not_kept": 0}, st
    assert st["packets_kept"] >= on_disk
    assert metric(text, "flowsentry_alert_pcap_flows_total") == CONNECTIONS
    assert metric(text, "flowsentry_alert_pcap_packets_total") == on_disk
    assert metric(text, "flowsentry_alert_pcap_write_errors_total") == 0
    assert metric(text, "flowsentry_alert_pcap_packets_not_kept_total") == 0
    assert metric(text, "flowsentry_alert_pcap_packets_kept_total") >= on_disk
    # The final log line says the same.
    assert re.search(rf"alert pcap: {CONNECTIONS} flows( \(\d+ after an alert\))?, {on_disk} packets written", stderr), stderr
