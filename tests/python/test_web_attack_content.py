"""Web attacks by content (docs/features.md, "Web attacks by content") on real
captures, checked against what tshark reads from the same packets and what
the attack tools sent: every lab flow whose requests carry one of the lab
web-attack tool's injection payloads (its own lists, in scripts/lab/webattack.py)
is flagged; no flow the lab labels benign is; the SQL injections of the
public DVWA capture (Zeek tags their GETs HTTP::URI_SQLI) raise content alerts;
the public benign captures raise none."""
from __future__ import annotations

import ast
import collections
import shutil
import subprocess
import urllib.parse
from pathlib import Path

import pytest

from conftest import LAB_DIR, PUBLIC_DIR, REPO, need_capture, replay_flows_and_alerts

MODEL = REPO / "rules" / "flowsentry.fsb"
needs_tshark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
SIGNATURE_ID = 9100006  # 9100001 + BehaviourKind.webAttack


def replay(binary: str, capture: Path, tmp: Path) -> tuple[list[dict], list[dict]]:
    return replay_flows_and_alerts(binary, capture, tmp, MODEL)


def flagged(r: dict) -> bool:
    return (r.get("behaviour") or {}).get("web_attack", 0) >= 0.8


def key(r: dict) -> tuple:
    return (r["src_ip"], int(r.get("src_port", 0)), r["dest_ip"], int(r.get("dest_port", 0)))


def payloads() -> list[str]:
    """The injection payloads the lab's web-attack tool sends (forced browsing is not content)."""
    tree = ast.parse((REPO / "scripts" / "lab" / "webattack.py").read_text())
    lists = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) and node.targets[0].id in {"SQLI", "XSS", "TRAV", "CMDI"}:
            lists[node.targets[0].id] = ast.literal_eval(node.value)
    assert set(lists) == {"SQLI", "XSS", "TRAV", "CMDI"}
    return [p for v in lists.values() for p in v]


def tshark_requests(capture: Path) -> dict[tuple, list[str]]:
    """Per TCP connection (client, port, server, port, tshark's stream index): the
    request-targets and form values, decoded as the tool encoded them, and the
    requests' times. A client port reused later is another connection."""
    cmd = ["tshark", "-n", "-r", str(capture), "-Y", "http.request && tcp", "-T", "fields", "-E", "occurrence=a",
           "-E", "aggregator=\x1f", "-e", "ip.src", "-e", "tcp.srcport", "-e", "ip.dst", "-e", "tcp.dstport",
           "-e", "tcp.stream", "-e", "frame.time_epoch", "-e", "http.request.uri", "-e", "urlencoded-form.value"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    flows = collections.defaultdict(list)
    for line in out.splitlines():
        v = line.split("\t") + [""] * 8
        k = (v[0], int(v[1]), v[2], int(v[3]), int(v[4]))
        flows[k].append((float(v[5]), urllib.parse.unquote_plus(v[6])))
        flows[k].extend((float(v[5]), x) for x in v[7].split("\x1f") if x)
    return flows


def epoch(text: str) -> float:
    import datetime
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


def record_of(recs: list[dict], k: tuple, t: float) -> dict | None:
    """The flow record of connection `k` (its 4-tuple) that was open at time `t`."""
    for r in recs:
        if key(r) == k[:4] and epoch(r["flow"]["start"]) - 1e-3 <= t <= epoch(r["flow"]["end"]) + 1e-3:
            return r
    return None


@needs_tshark
@pytest.mark.parametrize("name", ["attack-bruteforce-web", "mixed-3"])
def test_every_flow_carrying_the_tools_payloads_is_flagged(flowsentry_bin, tmp_path, name):
    cap = LAB_DIR / f"{name}.pcap"
    need_capture(cap if cap.exists() else None)
    sent = payloads()
    requests = tshark_requests(cap)
    carrying = {k: texts[0][0] for k, texts in requests.items() if any(p in t for _, t in texts for p in sent)}
    assert len(carrying) >= 50, f"{name}: only {len(carrying)} flows carry the tool's payloads"
    recs, _ = replay(flowsentry_bin, cap, tmp_path)
    missed = [k for k, t in carrying.items() if not ((r := record_of(recs, k, t)) and flagged(r))]
    assert not missed, f"{name}: {len(missed)} of {len(carrying)} flows with injection payloads not flagged, e.g. {missed[:3]}"


@pytest.mark.parametrize("pattern", ["captures/*.pcap", "public"])
def test_no_ordinary_flow_is_flagged(flowsentry_bin, tmp_path, pattern):
    import csv
    if pattern == "public":
        caps = sorted(PUBLIC_DIR.glob("ben_*.pcap*")) if PUBLIC_DIR.exists() else []
        need_capture(caps[0] if caps else None)
    else:
        caps = sorted(LAB_DIR.glob("*.pcap"))
        need_capture(caps[0] if caps else None)
    benign_flows = 0
    for cap in caps:
        labels = None
        if pattern != "public":
            labels = {}
            for row in csv.DictReader(open(cap.with_suffix(".labels.csv"))):
                k = (row["src_ip"], int(row["src_port"] or 0), row["dst_ip"], int(row["dst_port"] or 0))
                labels[k] = labels[(k[2], k[3], k[0], k[1])] = row["label"]
        recs, alerts = replay(flowsentry_bin, cap, tmp_path)
        for r in recs:
            if labels is not None and labels.get(key(r)) != "benign":
                continue
            benign_flows += 1
            assert not flagged(r), f"{cap.name}: benign flow {key(r)} flagged: {r.get('http')}"
        if pattern == "public":
            assert not [a for a in alerts if a["alert"]["signature_id"] == SIGNATURE_ID], cap.name
    assert benign_flows >= (4000 if pattern != "public" else 30)


@needs_tshark
def test_the_public_dvwa_sql_injections_raise_content_alerts(flowsentry_bin, tmp_path):
    cap = PUBLIC_DIR / "atk_web_sqli_dvwa.pcapng"
    need_capture(cap if cap.exists() else None)
    # tshark: the flows whose GETs put a quote into DVWA's SQL-injection page's id parameter.
    injected = {k[:4] for k, texts in tshark_requests(cap).items()
                if any("/vulnerabilities/sqli/?id=" in t and "'" in t for _, t in texts)}
    assert len(injected) == 3
    recs, alerts = replay(flowsentry_bin, cap, tmp_path)
    assert {key(r) for r in recs if flagged(r)} == injected
    content = [a for a in alerts if a["alert"]["signature_id"] == SIGNATURE_ID and a["behaviour"].get("aggregate") != "closing"]
    assert content, "no content alert"
    a = content[0]
    assert a["alert"]["category"] == "Web Application Attack"
    assert a["alert"]["metadata"]["detector"] == ["content"] and a["alert"]["metadata"]["class"] == ["webattack"]
    assert "sql_injection" in a["behaviour"]["components"]["families"]
    assert a["http"]["url"].startswith("/dvwa/vulnerabilities/sqli/?id=")


def capture_loopback_exchanges(tmp: Path, paths_per_connection: list[list[str]], existing: set[str]) -> Path:
    """Real HTTP/1.1 keep-alive connections on loopback, captured by tcpdump:
    a server that answers 200 for `existing` paths and 404 otherwise, and one
    http.client connection per list of paths. Bounded: a few dozen requests."""
    import http.client
    import http.server
    import signal
    import socket
    import threading
    import time

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            body = b"found\n" if self.path in existing else b"not found\n"
            self.send_response(200 if self.path in existing else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    pcap = tmp / "loopback-http.pcap"
    dump = subprocess.Popen(["tcpdump", "-i", "lo", "-U", "-w", str(pcap), "-s", "0", f"tcp port {port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        time.sleep(1.0)  # tcpdump's capture is open
        if dump.poll() is not None:
            pytest.skip(f"tcpdump cannot capture on lo: {dump.stderr.read().decode()[:200]}")
        for paths in paths_per_connection:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            for p in paths:
                conn.request("GET", p, headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"})
                conn.getresponse().read()
            conn.close()
        time.sleep(1.0)
    finally:
        server.shutdown()
        server.server_close()
        dump.send_signal(signal.SIGINT)
        dump.wait(timeout=10)
    return pcap


@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump not installed")
def test_a_keep_alive_connection_guessing_paths_is_forced_browsing(flowsentry_bin, tmp_path):
    guesses = ["/admin", "/.git/config", "/.env", "/backup.zip", "/wp-login.php", "/phpmyadmin", "/server-status",
               "/db.sql", "/old", "/test", "/console", "/index.html"]
    page = ["/index.html"] + [f"/static/a{k}.js" for k in range(12)] + ["/favicon.ico", "/missing.css"]
    existing = {"/index.html"} | {f"/static/a{k}.js" for k in range(12)}
    pcap = capture_loopback_exchanges(tmp_path, [guesses, page], existing)
    # tshark: the two connections, and the 404s each got.
    misses = collections.Counter()
    out = subprocess.run(["tshark", "-n", "-r", str(pcap), "-Y", "http.response.code == 404", "-T", "fields", "-e", "tcp.dstport"],
                         capture_output=True, text=True, check=True).stdout if shutil.which("tshark") else ""
    for line in out.split():
        misses[int(line)] += 1
    recs, alerts = replay(flowsentry_bin, pcap, tmp_path)
    assert len(recs) == 2
    guessing = next(r for r in recs if r["http"]["url"] == "/admin")  # the record's http is its first request
    browsing = next(r for r in recs if r is not guessing)
    if misses:
        assert misses[guessing["src_port"]] == 11 and misses[browsing["src_port"]] == 2
    assert flagged(guessing) and not flagged(browsing)
    content = [a for a in alerts if a["alert"]["signature_id"] == SIGNATURE_ID and a["behaviour"].get("aggregate") != "closing"]
    assert len(content) == 1 and content[0]["behaviour"]["components"]["families"] == "forced_browsing"
    assert content[0]["src_port"] == guessing["src_port"]
