"""`--alert-pcap DIR` (issue 19, point 4), through the built binary: the
packets of alerted flows in rotated pcap files, each alert naming its file
and packet range.

The oracle is tshark, on both sides: it reads every file FlowSentry wrote
(so the files are valid pcap), and for each alert the packets in the named
range must be exactly the flow's first packets as tshark sees them in the
original capture (filtered by the flow's 5-tuple from the flow's start):
the same count (all of them, or the ring size for a longer flow), the same
timestamps to the nanosecond, the same lengths and the same bytes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CAPTURE = REPO / "captures" / "demo.pcap"


@pytest.fixture(scope="module")
def binary() -> str:
    b = os.environ.get("FLOWSENTRY_BIN") or str(REPO / ".build" / "release" / "flowsentry")
    if not Path(b).is_file():
        pytest.skip(f"no flowsentry binary at {b}")
    if not CAPTURE.is_file():
        pytest.skip(f"{CAPTURE} not present")
    if shutil.which("tshark") is None:
        pytest.skip("tshark not installed")
    return b


def replay(binary: str, tmp: Path, *extra: str) -> tuple[list[dict], Path]:
    out = tmp / "pcap"
    tmp.mkdir(parents=True, exist_ok=True)
    alerts = tmp / "alerts.json"
    p = subprocess.run([binary, "replay", str(CAPTURE), "--alerts", str(alerts), "--alert-pcap", str(out), *extra],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return [json.loads(line) for line in alerts.read_text().splitlines()], out


def tshark_packets(path: Path, display_filter: str | None = None) -> list[dict]:
    """Every packet tshark reads: number, epoch time (ns digits), frame length, captured length, bytes."""
    cmd = ["tshark", "-n", "-r", str(path), "-T", "json", "-x"]
    if display_filter:
        cmd += ["-Y", display_filter]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, f"tshark cannot read {path}: {p.stderr}"
    packets = []
    for pkt in json.loads(p.stdout or "[]"):
        layers = pkt["_source"]["layers"]
        frame = layers["frame"]
        packets.append({"number": int(frame["frame.number"]), "time": frame["frame.time_epoch"],
                        "len": int(frame["frame.len"]), "cap_len": int(frame["frame.cap_len"]),
                        "bytes": layers["frame_raw"][0]})
    return packets


def epoch(ts: str) -> float:
    return datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


def flow_filter(a: dict) -> str | None:
    proto = a["proto"].lower()
    if proto not in ("tcp", "udp"):
        return None
    return (f"ip.addr=={a['src_ip']} && ip.addr=={a['dest_ip']} && "
            f"{proto}.port=={a['src_port']} && {proto}.port=={a['dest_port']}")


def original_first_packets(a: dict, ring: int) -> list[dict] | None:
    """The flow's first packets in the original capture, by tshark."""
    f = flow_filter(a)
    if f is None:
        return None
    start = epoch(a["flow"]["start"])
    # EVE times are microseconds: the flow's first packet is within 1 µs of its start.
    pkts = [p for p in tshark_packets(CAPTURE, f) if float(p["time"]) >= start - 1e-6]
    total = a["flow"]["pkts_toserver"] + a["flow"]["pkts_toclient"]
    return pkts[:min(ring, total)]


def check_alerts_against_original(alerts: list[dict], ring: int) -> int:
    """Checks every alert with alert_pcap; returns how many were compared with the original."""
    files: dict[str, list[dict]] = {}
    compared = 0
    for a in alerts:
        ap = a.get("alert_pcap")
        if ap is None:
            continue
        path = ap["file"]
        if path not in files:
            files[path] = tshark_packets(Path(path))
        got = files[path][ap["first_packet"] - 1: ap["first_packet"] - 1 + ap["packets"]]
        assert len(got) == ap["packets"], f"{path} has fewer packets than the alert names"
        total = a["flow"]["pkts_toserver"] + a["flow"]["pkts_toclient"]
        assert ap["packets"] == min(ring, total), a
        expected = original_first_packets(a, ring)
        if expected is None:
            continue
        assert [p["time"] for p in got] == [p["time"] for p in expected], a["flow_id"]
        assert [p["len"] for p in got] == [p["len"] for p in expected], a["flow_id"]
        assert [p["bytes"] for p in got] == [p["bytes"] for p in expected], a["flow_id"]
        compared += 1
    return compared


def test_each_alert_names_exactly_its_flows_packets(binary, tmp_path):
    alerts, out = replay(binary, tmp_path)
    files = sorted(out.iterdir())
    assert files, "no pcap written"
    for f in files:
        tshark_packets(f)  # every file reads
    with_pcap = [a for a in alerts if "alert_pcap" in a]
    assert len(with_pcap) >= 5
    # Only closing aggregate lines (about earlier, folded flows) name no packets.
    for a in alerts:
        if "alert_pcap" not in a:
            assert (a.get("ml") or a.get("behaviour") or {}).get("aggregate") == "closing", a
    assert check_alerts_against_original(alerts, ring=32) >= 5
    # The linktype and time precision are the capture's (Ethernet, ns), by capinfos if present.
    if shutil.which("capinfos"):
        info = subprocess.run(["capinfos", str(files[0])], capture_output=True, text=True).stdout
        assert "Ethernet" in info and "nanoseconds" in info


def test_ring_limit_keeps_the_first_packets_of_a_long_flow(binary, tmp_path):
    ring = 4
    alerts, _ = replay(binary, tmp_path, "--alert-pcap-packets", str(ring))
    long_flows = [a for a in alerts if "alert_pcap" in a
                  and a["flow"]["pkts_toserver"] + a["flow"]["pkts_toclient"] > ring]
    assert long_flows, "the capture has an alerted flow longer than the ring"
    assert all(a["alert_pcap"]["packets"] == ring for a in long_flows)
    assert check_alerts_against_original(alerts, ring=ring) >= 3


def test_files_rotate_at_the_size_cap_and_the_oldest_go(binary, tmp_path):
    cap_bytes = 4096
    alerts, out = replay(binary, tmp_path / "all", "--alert-pcap-file-size", str(cap_bytes / 1048576),
                         "--alert-pcap-files", "0")
    files = sorted(out.iterdir(), key=lambda p: int(p.name.split(".")[1]))
    assert len(files) >= 3, [f.name for f in files]
    runs: dict[str, int] = {}
    for a in alerts:
        if "alert_pcap" in a:
            runs[a["alert_pcap"]["file"]] = runs.get(a["alert_pcap"]["file"], 0) + 1
    for f in files:
        n = len(tshark_packets(f))
        named = sum(a["alert_pcap"]["packets"] for a in alerts
                    if "alert_pcap" in a and a["alert_pcap"]["file"] == str(f))
        assert n == named, f"{f.name}: {n} packets, alerts name {named}"
        # Past the cap only when one flow alone is bigger than it.
        assert f.stat().st_size <= cap_bytes or runs[str(f)] == 1, f.name
    assert check_alerts_against_original(alerts, ring=32) >= 5

    # With a file count cap, only the newest files stay.
    _, capped = replay(binary, tmp_path / "capped", "--alert-pcap-file-size", str(cap_bytes / 1048576),
                       "--alert-pcap-files", "2")
    names = sorted(p.name for p in capped.iterdir())
    assert names == sorted(f.name for f in files[-2:])


def test_alert_pcap_needs_an_alerts_log(binary, tmp_path):
    p = subprocess.run([binary, "replay", str(CAPTURE), "--flows", str(tmp_path / "f.json"),
                        "--alert-pcap", str(tmp_path / "pcap")], capture_output=True, text=True, timeout=60)
    assert p.returncode == 64 and "--alerts" in p.stderr


def test_alerts_pcap_prints_where_the_packets_are(binary, tmp_path):
    alerts, _ = replay(binary, tmp_path)
    p = subprocess.run([binary, "alerts", "--pcap", str(tmp_path / "alerts.json")],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    lines = [ln.strip() for ln in p.stdout.splitlines() if ln.strip().startswith("pcap: ")]
    assert len(lines) == len(alerts)
    for a, line in zip(alerts, lines):
        ap = a.get("alert_pcap")
        if ap is None:
            assert line == "pcap: none"
        else:
            last = ap["first_packet"] + ap["packets"] - 1
            assert line.startswith(f"pcap: {ap['file']} packets {ap['first_packet']}-{last} ")


def test_flow_records_are_the_same_with_and_without_alert_pcap(binary, tmp_path):
    """Keeping packets changes nothing else: the flows log is byte for byte the same."""
    outs = []
    for name, extra in (("off", []), ("on", ["--alert-pcap", str(tmp_path / "pcap")])):
        flows = tmp_path / f"flows-{name}.json"
        p = subprocess.run([binary, "replay", str(CAPTURE), "--flows", str(flows),
                            "--alerts", str(tmp_path / f"alerts-{name}.json"), *extra],
                           capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stderr
        outs.append(flows.read_text())
    assert outs[0] and outs[0] == outs[1]


def test_run_on_loopback_writes_the_alerted_connections_packets(binary, tmp_path):
    """`run --alert-pcap` live: a TCP connection on lo, made to alert by an
    indicator on 127.0.0.1, has its packets — the handshake first — in the
    named range, as tshark reads them."""
    import signal
    import socket
    import threading
    import time
    if os.geteuid() != 0:
        pytest.skip("capturing on lo needs root")
    intel = tmp_path / "intel.txt"
    intel.write_text("#fields\tindicator\tindicator_type\tmeta.source\n127.0.0.1\tIntel::ADDR\tlive-test\n")
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    port = srv.getsockname()[1]
    alerts = tmp_path / "alerts.json"
    p = subprocess.Popen([binary, "run", "-i", "lo", "--no-score", "--indicators", str(intel),
                          "--filter", f"tcp port {port}", "--alerts", str(alerts),
                          "--alert-pcap", str(tmp_path / "pcap"), "--tcp-linger", "0.2"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(2)  # the capture is open

        def serve():
            c, _ = srv.accept()
            c.recv(100)
            c.sendall(b"pong" * 10)
            c.close()
        t = threading.Thread(target=serve)
        t.start()
        c = socket.create_connection(("127.0.0.1", port))
        c.sendall(b"ping")
        c.recv(100)
        c.close()
        t.join()
        time.sleep(2)
    finally:
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=60)
        srv.close()
    assert p.returncode == 0, err
    mine = [json.loads(line) for line in alerts.read_text().splitlines()]
    mine = [a for a in mine if port in (a.get("src_port"), a.get("dest_port"))]
    assert mine, err
    for a in mine:
        ap = a["alert_pcap"]
        pkts = tshark_packets(Path(ap["file"]), f"tcp.port=={port}")
        got = [q for q in pkts if ap["first_packet"] <= q["number"] < ap["first_packet"] + ap["packets"]]
        assert len(got) == ap["packets"] == a["flow"]["pkts_toserver"] + a["flow"]["pkts_toclient"]
        assert ap["packets"] >= 8  # handshake, data both ways, FINs
    first = tshark_packets(Path(mine[0]["alert_pcap"]["file"]),
                           f"frame.number=={mine[0]['alert_pcap']['first_packet']} && tcp.flags.syn==1 && tcp.flags.ack==0")
    assert len(first) == 1, "the range starts with the client's SYN"
