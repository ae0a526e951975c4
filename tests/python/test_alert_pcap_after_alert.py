"""`--alert-pcap`, every packet of a flow after its alert (issue 19, point 4).

A long TCP connection is cut by a small `--active-timeout` into several
records (segments). Its first segment carries an HTTP request whose Host is
an indicator, so that segment alone alerts; the later segments carry binary
data that matches nothing. Like Suricata's conditional pcap-log, the alert
pcap must then hold the first segment's ring (its first packets) and every
packet of every later segment, through the flow's last packet, and each
later segment's flow record must name its file and packet range. A second
connection of the same shape that never alerts must leave nothing behind.

The oracle is tshark: it reads the original capture (the flow's packets by
its 5-tuple, split into segments by the records' start and end times) and
every file FlowSentry wrote; times, lengths and bytes must match, in order.
Live (`run -i lo`, root, tcpreplay) must write the same packets as replay.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from datetime import datetime
from pathlib import Path

import pytest

from synth_captures import ACK, FIN, PSH, SYN, PcapWriter, eth, ipv4, tcp

BASE = 1_700_000_000.0
ALERTED = ("10.1.0.5", 40100, "192.0.2.80", 80, "evil.example")
QUIET = ("10.1.0.6", 40200, "198.51.100.7", 80, "fine.example")
SECONDS = 9.0


def write_connection(put, client, cport, server, sport, host, t0):
    """Handshake, a GET for `host`, then a packet every 0.1 s (server data
    and client ACKs in turn) for SECONDS, then FINs both ways."""
    cseq, sseq = 1000, 5000

    def frame(src, dst, sp, dp, flags, data=b"", seq=0, ack=0):
        return eth(ipv4(src, dst, 6, tcp(src, dst, sp, dp, flags, data, seq=seq, ack=ack)), 0x0800)

    put(t0, frame(client, server, cport, sport, SYN, seq=cseq))
    put(t0 + 0.01, frame(server, client, sport, cport, SYN | ACK, seq=sseq, ack=cseq + 1))
    cseq, sseq = cseq + 1, sseq + 1
    put(t0 + 0.02, frame(client, server, cport, sport, ACK, seq=cseq, ack=sseq))
    get = f"GET /index.html HTTP/1.1\r\nHost: {host}\r\nUser-Agent: test\r\n\r\n".encode()
    put(t0 + 0.03, frame(client, server, cport, sport, PSH | ACK, get, seq=cseq, ack=sseq))
    cseq += len(get)
    i = 0
    t = t0 + 0.1
    while t < t0 + SECONDS:
        if i % 2 == 0:
            data = bytes((i * 7 + k) % 251 for k in range(200))
            put(t, frame(server, client, sport, cport, PSH | ACK, b"\x00\x01" + data, seq=sseq, ack=cseq))
            sseq += len(data) + 2
        else:
            put(t, frame(client, server, cport, sport, ACK, seq=cseq, ack=sseq))
        i += 1
        t += 0.1
    put(t, frame(client, server, cport, sport, FIN | ACK, seq=cseq, ack=sseq))
    put(t + 0.01, frame(server, client, sport, cport, FIN | ACK, seq=sseq, ack=cseq + 1))
    put(t + 0.02, frame(client, server, cport, sport, ACK, seq=cseq + 1, ack=sseq + 1))


def write_capture(path: Path) -> None:
    frames = []
    put = lambda ts, f: frames.append((ts, f))  # noqa: E731
    write_connection(put, *ALERTED, BASE)
    write_connection(put, *QUIET, BASE + 0.05)
    w = PcapWriter(path)
    for ts, f in sorted(frames, key=lambda x: x[0]):
        w.write(ts, f)
    w.close()


@pytest.fixture(scope="module")
def binary() -> str:
    b = os.environ.get("FLOWSENTRY_BIN") or str(Path(__file__).resolve().parents[2] / ".build/release/flowsentry")
    if not Path(b).is_file():
        pytest.skip(f"no flowsentry binary at {b}")
    if shutil.which("tshark") is None:
        pytest.skip("tshark not installed")
    return b


@pytest.fixture(scope="module")
def capture(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("cap") / "long-flows.pcap"
    write_capture(p)
    return p


@pytest.fixture(scope="module")
def intel(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("intel") / "intel.txt"
    p.write_text("#fields\tindicator\tindicator_type\tmeta.source\nevil.example\tIntel::DOMAIN\tlong-flow-test\n")
    return p


def tshark_packets(path: Path, display_filter: str | None = None) -> list[dict]:
    cmd = ["tshark", "-n", "-r", str(path), "-T", "json", "-x"]
    if display_filter:
        cmd += ["-Y", display_filter]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, f"tshark cannot read {path}: {p.stderr}"
    out = []
    for pkt in json.loads(p.stdout or "[]"):
        layers = pkt["_source"]["layers"]
        frame = layers["frame"]
        out.append({"number": int(frame["frame.number"]), "time": float(frame["frame.time_epoch"]),
                    "len": int(frame["frame.len"]), "bytes": layers["frame_raw"][0]})
    return out


def epoch(ts: str) -> float:
    return datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


def port_filter(flow) -> str:
    client, cport, server, sport, _ = flow
    return f"ip.addr=={client} && ip.addr=={server} && tcp.port=={cport} && tcp.port=={sport}"


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def replay(binary: str, capture: Path, intel: Path, tmp: Path, *extra: str):
    tmp.mkdir(parents=True, exist_ok=True)
    flows, alerts, out = tmp / "flows.json", tmp / "alerts.json", tmp / "pcap"
    p = subprocess.run([binary, "replay", str(capture), "--no-score", "--indicators", str(intel),
                        "--active-timeout", "2", "--flows", str(flows), "--alerts", str(alerts),
                        "--alert-pcap", str(out), *extra], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return lines(flows), lines(alerts), out, p.stderr


def in_range(files: dict, ap: dict) -> list[dict]:
    path = ap["file"]
    if path not in files:
        files[path] = tshark_packets(Path(path))
    got = files[path][ap["first_packet"] - 1: ap["first_packet"] - 1 + ap["packets"]]
    assert len(got) == ap["packets"], f"{path} holds fewer packets than named"
    return got


def check_written(flows, alerts, out, original: list[dict], ring: int) -> list[dict]:
    """Checks the records of the alerted connection against tshark's view of
    the original; returns the packets written for it, in record order."""
    cport = ALERTED[1]
    records = sorted((f for f in flows if cport in (f["src_port"], f["dest_port"])),
                     key=lambda f: f["flow"].get("segment", 0))
    assert len(records) >= 3, "the active timeout cuts the connection into segments"
    assert [f["flow"].get("segment", 0) for f in records] == list(range(len(records)))
    assert len({f["flow_id"] for f in records}) == 1
    mine = [a for a in alerts if cport in (a["src_port"], a["dest_port"])]
    assert len(mine) == 1 and mine[0]["flow"].get("segment", 0) == 0, "only the first segment alerts"
    assert records[0]["flow"]["alerted"] and "alert_pcap" not in records[0]
    files: dict[str, list[dict]] = {}
    written = []
    # Segment 0: the alert names its ring, the first packets of the segment.
    seg_packets = []
    for f in records:
        start, end = epoch(f["flow"]["start"]), epoch(f["flow"]["end"])
        seg = [p for p in original if start - 1e-6 <= p["time"] <= end + 1e-6]
        assert len(seg) == f["flow"]["pkts_toserver"] + f["flow"]["pkts_toclient"]
        seg_packets.append(seg)
    expected0 = seg_packets[0][:ring]
    got = in_range(files, mine[0]["alert_pcap"])
    assert mine[0]["alert_pcap"]["packets"] == len(expected0)
    written += got
    assert [(p["time"], p["len"], p["bytes"]) for p in got] == [(p["time"], p["len"], p["bytes"]) for p in expected0]
    # Every later segment: not alerted, its flow record names all its packets.
    for f, seg in zip(records[1:], seg_packets[1:]):
        assert not f["flow"]["alerted"]
        ap = f["alert_pcap"]
        assert ap["packets"] == len(seg), f
        got = in_range(files, ap)
        assert [(p["time"], p["len"], p["bytes"]) for p in got] == [(p["time"], p["len"], p["bytes"]) for p in seg]
        written += got
    # The whole connection from its first packet through its last, but the
    # first segment's packets past its ring (those came before the alert).
    expected_all = expected0 + [p for seg in seg_packets[1:] for p in seg]
    assert [p["bytes"] for p in written] == [p["bytes"] for p in expected_all]
    # Nothing else in the files: the named ranges account for every packet.
    all_files = sorted(out.iterdir())
    assert sum(len(tshark_packets(p)) for p in all_files) == len(written)
    return written


def test_every_packet_after_the_alert_is_written_and_named(binary, capture, intel, tmp_path):
    flows, alerts, out, err = replay(binary, capture, intel, tmp_path)
    original = tshark_packets(capture, port_filter(ALERTED))
    written = check_written(flows, alerts, out, original, ring=32)
    # With the default ring (32) the first segment fits whole: every packet of the connection.
    assert len(written) == len(original)
    assert [p["time"] for p in written] == [p["time"] for p in original]
    assert "after an alert" in err


def test_a_small_ring_cuts_only_the_alerted_segment(binary, capture, intel, tmp_path):
    flows, alerts, out, _ = replay(binary, capture, intel, tmp_path, "--alert-pcap-packets", "5")
    original = tshark_packets(capture, port_filter(ALERTED))
    written = check_written(flows, alerts, out, original, ring=5)
    assert len(written) < len(original)


def test_a_flow_that_never_alerts_leaves_nothing(binary, capture, intel, tmp_path):
    flows, alerts, out, _ = replay(binary, capture, intel, tmp_path)
    quiet = [f for f in flows if QUIET[1] in (f["src_port"], f["dest_port"])]
    assert len(quiet) >= 3 and not any(f["flow"]["alerted"] or "alert_pcap" in f for f in quiet)
    assert not [a for a in alerts if QUIET[1] in (a["src_port"], a["dest_port"])]
    for p in out.iterdir():
        assert tshark_packets(p, f"tcp.port=={QUIET[1]}") == [], p
    # Without an alert anywhere, no file at all.
    empty = intel.parent / "none.txt"
    empty.write_text("#fields\tindicator\tindicator_type\tmeta.source\nnowhere.example\tIntel::DOMAIN\tt\n")
    flows2, alerts2, out2, _ = replay(binary, capture, empty, tmp_path / "none")
    assert alerts2 == [] and not any("alert_pcap" in f for f in flows2)
    assert not out2.exists() or list(out2.iterdir()) == []


def test_live_writes_the_same_packets_as_replay(binary, capture, intel, tmp_path):
    """`run -i lo` fed the capture by tcpreplay (at its own pace) writes the
    same packets, byte for byte and in order, as replay of the capture."""
    if os.geteuid() != 0:
        pytest.skip("capturing on lo needs root")
    if shutil.which("tcpreplay") is None:
        pytest.skip("tcpreplay not installed")
    flows_r, alerts_r, out_r, _ = replay(binary, capture, intel, tmp_path / "replay")
    original = tshark_packets(capture, port_filter(ALERTED))
    replayed = check_written(flows_r, alerts_r, out_r, original, ring=32)

    live = tmp_path / "live"
    live.mkdir()
    flows, alerts = live / "flows.json", live / "alerts.json"
    p = subprocess.Popen([binary, "run", "-i", "lo", "--no-score", "--indicators", str(intel),
                          "--filter", "net 10.1.0.0/24", "--active-timeout", "2", "--tcp-linger", "0.2",
                          "--flows", str(flows), "--alerts", str(alerts), "--alert-pcap", str(live / "pcap")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(2)  # the capture is open
        r = subprocess.run(["tcpreplay", "-q", "-i", "lo", str(capture)], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        time.sleep(1.5)
    finally:
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    live_flows, live_alerts = lines(flows), lines(alerts)
    cport = ALERTED[1]
    records = sorted((f for f in live_flows if cport in (f["src_port"], f["dest_port"])),
                     key=lambda f: f["flow"].get("segment", 0))
    assert len(records) >= 3, err
    mine = [a for a in live_alerts if cport in (a["src_port"], a["dest_port"])]
    assert len(mine) == 1
    files: dict[str, list[dict]] = {}
    got = in_range(files, mine[0]["alert_pcap"])
    for f in records[1:]:
        got += in_range(files, f["alert_pcap"])
    assert [p["bytes"] for p in got] == [p["bytes"] for p in replayed]
    assert not any("alert_pcap" in f for f in live_flows if QUIET[1] in (f["src_port"], f["dest_port"]))
