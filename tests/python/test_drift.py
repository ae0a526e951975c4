"""Input drift (issue 18, point 1; docs/drift.md), through the built binary.

A reference is attached to a copy of the shipped bundle from the labelled
lab capture benign-wide-1 (`drift --build-reference`, as the lead applies it
to rules/flowsentry.fsb). Against it:
- the capture itself, and a copy shifted by a day with editcap -t, show no
  input at or over PSI 0.25 (a shift of the clock changes no model input);
- a copy with every gap between packets ×20 (timestamps rewritten here)
  shows drift on the timing inputs and not on the size inputs;
- a copy cut to 80 bytes a packet with editcap -s shows drift on the
  payload inputs (entropy, DNS, parsed from the cut bytes) and not on the
  timing ones.
The numbers are checked independently: each flow's raw values from
`flowsentry features` binned with numpy at the reference edges give the
command's counts; PSI and KS recomputed from them with numpy; and
scipy.stats.ks_2samp on the raw values of the original and changed
captures agrees with the binned KS within the documented bound.
A bundle without the section (written here from the documented format)
gets exit 2 and an error naming the file and the section.
"""

from __future__ import annotations

import csv
import json
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CAPTURES = REPO / "captures"
MODEL = REPO / "rules" / "flowsentry.fsb"
BASE = "benign-wide-1"
PSI_WARN = 0.25

TIMING = {"iat_mean_s", "iat_max_s", "iat_min_s", "duration_s", "pkts_per_s", "bytes_per_s", "seq_mean_log_iat"}
SIZES = {"pkt_len_mean", "fwd_pkt_len_mean", "bwd_pkt_len_mean", "fwd_bytes", "bwd_bytes", "fwd_pkts",
         "seq_packets", "seq_mean_ip_len"}
PAYLOAD = {"payload_entropy", "bwd_payload_entropy", "dns_answers", "dns_qname_len"}


def run(binary, *args, timeout=300):
    return subprocess.run([binary, *map(str, args)], capture_output=True, text=True, timeout=timeout)


def stretch_gaps(src: Path, dst: Path, factor: int) -> None:
    """Every packet's time moved so each gap after the first packet is ×factor (pcap, microseconds)."""
    data = src.read_bytes()
    assert struct.unpack("<I", data[:4])[0] == 0xA1B2C3D4, "expects a little-endian microsecond pcap"
    out, off, t0 = bytearray(data[:24]), 24, None
    while off + 16 <= len(data):
        sec, usec, incl, orig = struct.unpack("<IIII", data[off:off + 16])
        t = sec * 1_000_000 + usec
        t0 = t if t0 is None else t0
        t = t0 + (t - t0) * factor
        out += struct.pack("<IIII", t // 1_000_000, t % 1_000_000, incl, orig) + data[off + 16:off + 16 + incl]
        off += 16 + incl
    dst.write_bytes(bytes(out))


def sections(path: Path) -> dict[str, bytes]:
    """The named sections of a bundle (format: Sources/Detection/Bundle.swift)."""
    data = path.read_bytes()
    assert data[:8] == b"FSBUNDLE"
    body = data[28:]
    (n,) = struct.unpack_from("<I", body, 0)
    off, out = 4, {}
    for _ in range(n):
        (ln,) = struct.unpack_from("<H", body, off)
        name = body[off + 2:off + 2 + ln].decode()
        (plen,) = struct.unpack_from("<Q", body, off + 2 + ln)
        out[name] = body[off + 10 + ln:off + 10 + ln + plen]
        off += 10 + ln + plen
    return out


def without_section(src: Path, dst: Path, name: str) -> None:
    """The bundle rewritten without one section (format: Sources/Detection/Bundle.swift)."""
    data = src.read_bytes()
    assert data[:8] == b"FSBUNDLE"
    body = data[28:]
    (n,) = struct.unpack_from("<I", body, 0)
    off, kept = 4, []
    for _ in range(n):
        (ln,) = struct.unpack_from("<H", body, off)
        sname = body[off + 2:off + 2 + ln]
        (plen,) = struct.unpack_from("<Q", body, off + 2 + ln)
        payload = body[off + 10 + ln:off + 10 + ln + plen]
        off += 10 + ln + plen
        if sname.decode() != name:
            kept.append((sname, payload))
    new_body = struct.pack("<I", len(kept)) + b"".join(
        struct.pack("<H", len(s)) + s + struct.pack("<Q", len(p)) + p for s, p in kept)
    head = data[:16] + struct.pack("<Q", len(new_body))
    crc = zlib.crc32(new_body, zlib.crc32(head)) & 0xFFFFFFFF
    dst.write_bytes(head + struct.pack("<I", crc) + new_body)


@pytest.fixture(scope="module")
def lab(flowsentry_bin, tmp_path_factory):
    cap = CAPTURES / f"{BASE}.pcap"
    if not cap.exists() or not MODEL.exists():
        pytest.skip("lab captures or the shipped bundle missing")
    if shutil.which("editcap") is None:
        pytest.skip("editcap (wireshark-common) not installed")
    d = tmp_path_factory.mktemp("drift")
    ref = d / "ref.fsb"
    r = run(flowsentry_bin, "drift", "--build-reference", "--model", MODEL, "--captures", cap,
            "--labels", CAPTURES / f"{BASE}.labels.csv", "--out", ref)
    assert r.returncode == 0, r.stderr
    assert "drift.reference" in r.stdout
    copies = {"original": cap, "shifted": d / "shifted.pcap", "stretched": d / "stretched.pcap", "snap": d / "snap.pcap"}
    subprocess.run(["editcap", "-t", "86400", cap, copies["shifted"]], check=True)
    subprocess.run(["editcap", "-s", "80", cap, copies["snap"]], check=True)
    stretch_gaps(cap, copies["stretched"], 20)
    reports = {}
    for k, p in copies.items():
        r = run(flowsentry_bin, "drift", "--model", ref, p, "--json", "--top", "0")
        assert r.returncode == 0, r.stderr
        reports[k] = json.loads(r.stdout)
    return {"bin": flowsentry_bin, "dir": d, "ref": ref, "copies": copies, "reports": reports}


def over(report) -> set[str]:
    return {i["input"] for i in report["inputs"] if i["psi"] >= PSI_WARN}


def psi_of(report) -> dict[str, float]:
    return {i["input"]: i["psi"] for i in report["inputs"]}


def test_unchanged_and_time_shifted_copies_show_no_drift(lab):
    for k in ("original", "shifted"):
        rep = lab["reports"][k]
        assert rep["inputs_over_threshold"] == 0 and over(rep) == set(), (k, sorted(over(rep)))
        assert rep["max_psi"] < PSI_WARN
        assert rep["flows"] > 400 and rep["reference_flows"] > 250
    # A day later on the clock, the same flows: the same numbers.
    assert psi_of(lab["reports"]["shifted"]) == psi_of(lab["reports"]["original"])


def test_stretched_gaps_drift_on_timing_not_on_sizes(lab):
    rep = lab["reports"]["stretched"]
    moved = over(rep)
    assert TIMING <= moved, sorted(TIMING - moved)
    assert not (SIZES & moved), sorted(SIZES & moved)
    psi = psi_of(rep)
    # ln 20 ≈ 3 on the log scale: the sequence's mean log gap leaves every reference bin it had.
    assert psi["seq_mean_log_iat"] > 1.0


def test_snap_length_drifts_on_payload_not_on_timing(lab):
    rep = lab["reports"]["snap"]
    moved = over(rep)
    assert PAYLOAD <= moved, sorted(PAYLOAD - moved)
    assert not (TIMING & moved), sorted(TIMING & moved)


def test_text_output_top_and_near_threshold(lab):
    r = run(lab["bin"], "drift", "--model", lab["ref"], "--captures", lab["copies"]["stretched"], "--top", "3")
    assert r.returncode == 0, r.stderr
    rows = [l.split() for l in r.stdout.splitlines() if l.startswith("  ") and not l.strip().startswith("input")]
    assert len(rows) == 3
    psis = [float(x[1]) for x in rows]
    assert psis == sorted(psis, reverse=True)
    best = max(lab["reports"]["stretched"]["inputs"], key=lambda i: i["psi"])
    assert rows[0][0] == best["input"] and abs(psis[0] - best["psi"]) < 5e-4
    assert "within 0.10 of the threshold" in r.stdout
    rep = lab["reports"]["stretched"]
    assert 0 <= rep["near_threshold_flows"] <= rep["flows"]
    assert abs(rep["near_threshold_share"] - rep["near_threshold_flows"] / rep["flows"]) < 1e-12


def features(binary, capture: Path, out: Path) -> list[dict[str, str]]:
    r = run(binary, "features", capture, "--no-sequence", "-o", out)
    assert r.returncode == 0, r.stderr
    with out.open() as f:
        return list(csv.DictReader(f))


def test_counts_psi_and_ks_checked_independently(lab):
    np = pytest.importorskip("numpy")
    stats = pytest.importorskip("scipy.stats")
    rep = lab["reports"]["stretched"]
    rows = features(lab["bin"], lab["copies"]["stretched"], lab["dir"] / "stretched.csv")
    base = features(lab["bin"], lab["copies"]["original"], lab["dir"] / "original.csv")
    assert len(rows) == rep["flows"]
    checked = 0
    for inp in rep["inputs"]:
        name = inp["input"]
        counts = np.array(inp["counts"], dtype=float)
        e = np.array(inp["reference_shares"])
        # PSI and KS from the histograms (docs/drift.md).
        a = np.maximum(counts / counts.sum(), 1e-4)
        r = np.maximum(e, 1e-4)
        assert abs(float(np.sum((a - r) * np.log(a / r))) - inp["psi"]) < 1e-9
        assert abs(float(np.max(np.abs(np.cumsum(e) - np.cumsum(counts / counts.sum())))) - inp["ks"]) < 1e-9
        if name not in rows[0]:
            continue  # a sequence summary: not a column of the feature table
        # The flows' own values, binned at the edges: bin = how many edges lie below the value.
        x = np.array([float(row[name]) for row in rows], dtype=np.float32)
        edges = np.array(inp["edges"], dtype=np.float32)
        binned = np.bincount(np.searchsorted(edges, x, side="left"), minlength=len(e))
        assert binned.tolist() == inp["counts"], name
        if name in TIMING:
            # Raw two-sample KS (original capture against the changed one) lies
            # within the binned D plus the largest bin share, give or take the
            # reference being the training split of the original (sampling).
            raw = stats.ks_2samp(np.array([float(b[name]) for b in base]), x.astype(float)).statistic
            bound = max(e.max(), (counts / counts.sum()).max())
            assert inp["ks"] - 0.1 <= raw <= inp["ks"] + bound + 0.1, (name, raw, inp["ks"], bound)
        checked += 1
    assert checked >= 80


def test_bundle_without_the_reference_is_refused(lab):
    bare = lab["dir"] / "bare.fsb"
    without_section(lab["ref"], bare, "drift.reference")
    r = run(lab["bin"], "drift", "--model", bare, lab["copies"]["original"])
    assert r.returncode == 2
    assert str(bare) in r.stderr and '"drift.reference"' in r.stderr and "--build-reference" in r.stderr
    assert r.stdout == ""
    # The same file still scores: replay says drift is not followed, nothing else changes.
    r = run(lab["bin"], "replay", "--model", bare, lab["copies"]["original"], "--flows", lab["dir"] / "f.json")
    assert r.returncode == 0, r.stderr
    assert "drift:" not in r.stderr
    r = run(lab["bin"], "replay", "--model", lab["ref"], lab["copies"]["stretched"], "--flows", lab["dir"] / "g.json")
    assert r.returncode == 0, r.stderr
    assert "drift: " in r.stderr and "model inputs at or over PSI 0.25" in r.stderr


def test_live_window_stats_gauges_and_warning(lab, tmp_path):
    """`run` on lo with a 100-flow window; the capture replayed at top speed
    (tcpreplay): every gap shrinks to microseconds, so the timing inputs
    drift. The stats record, the gauges (parsed by prometheus_client) and
    the warning line must all say so."""
    import os
    import re
    import signal
    import threading
    import time
    import urllib.request
    if os.geteuid() != 0 or shutil.which("tcpreplay") is None:
        pytest.skip("capturing on lo needs root, and tcpreplay")
    prom = pytest.importorskip("prometheus_client.parser")
    cfg = tmp_path / "drift.yaml"
    cfg.write_text("detection:\n  drift:\n    window: 100\n    warn_interval: 1\n")
    stats = tmp_path / "stats.json"
    proc = subprocess.Popen([lab["bin"], "run", "--config", cfg, "--interface", "lo", "--filter", "not host 127.0.0.1",
                             "--model", lab["ref"], "--flows", tmp_path / "flows.json", "--stats", stats,
                             "--stats-interval", "1", "--idle-timeout", "1", "--max-flows", "4096", "--buffer-mb", "8",
                             "--metrics-listen", "127.0.0.1:0"], stderr=subprocess.PIPE, text=True)
    lines, url, ready = [], [], threading.Event()

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
        assert ready.wait(30) and url and proc.poll() is None, "".join(lines)
        subprocess.run(["tcpreplay", "-q", "--topspeed", "-i", "lo", lab["copies"]["original"]], check=True,
                       capture_output=True, timeout=120)
        deadline, record = time.monotonic() + 30, None
        while time.monotonic() < deadline:
            recs = [json.loads(l) for l in stats.read_text().splitlines()] if stats.exists() else []
            record = recs[-1]["stats"].get("drift") if recs else None
            if record and record["flows"] == 100 and any("input drift" in l for l in lines):
                break
            time.sleep(0.5)
        assert record and record["window"] == 100 and record["flows"] == 100, record
        assert record["max_psi"] >= PSI_WARN and record["inputs_over_threshold"] >= 1
        top = {t["input"] for t in record["top"]}
        assert top & TIMING, top
        warning = [l for l in lines if "input drift" in l]
        assert len(warning) >= 1 and "over the last 100 flows" in warning[0], "".join(lines)
        with urllib.request.urlopen(url[0], timeout=5) as r:
            fams = {f.name: f for f in prom.text_string_to_metric_families(r.read().decode())}
        psi = {s.labels["feature"]: s.value for s in fams["flowsentry_feature_drift_psi"].samples}
        ks = {s.labels["feature"]: s.value for s in fams["flowsentry_feature_drift_ks"].samples}
        assert fams["flowsentry_feature_drift_psi"].type == "gauge" and len(psi) == len(ks) == 89
        assert max(psi.values()) >= PSI_WARN and all(0 <= v <= 1 for v in ks.values())
        assert fams["flowsentry_feature_drift_window_flows"].samples[0].value == 100
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def test_command_line_and_exit_codes(lab, tmp_path):
    b, ref, cap = lab["bin"], lab["ref"], lab["copies"]["original"]
    assert run(b, "drift", "--model", ref, cap, "--no-such-option").returncode == 64
    assert run(b, "drift", "--model", ref).returncode == 64                       # no captures
    assert run(b, "drift", "--model", ref, cap, "--top", "-1").returncode == 64
    assert run(b, "drift", "--model", ref, cap, "--labels", "x.csv").returncode == 64  # --labels without --build-reference
    p = run(b, "drift", "--build-reference", "--model", ref, "--captures", cap, "--labels", "x.csv")
    assert p.returncode == 64 and "--out" in p.stderr
    p = run(b, "drift", "--model", tmp_path / "missing.fsb", cap)
    assert p.returncode == 2 and "missing.fsb" in p.stderr
    p = run(b, "drift", "--model", ref, cap, tmp_path / "missing.pcap", "--json")
    assert p.returncode == 1 and "missing.pcap" in p.stderr
    assert json.loads(p.stdout)["flows"] == lab["reports"]["original"]["flows"]  # the rest is still reported
    text = " ".join(run(b, "drift", "--help").stdout.split())
    assert "Exit status: 0 done; 1 done, but" in text and "--build-reference" in text


def test_train_writes_the_reference_build_reference_makes(lab, tmp_path):
    """`train` (one epoch: the reference does not depend on the models) stores
    the section; --build-reference from the same labelled captures gives the
    same bytes, and keeps every other section as it was."""
    names = ["benign-1", "attack-scan"]
    caps = [CAPTURES / f"{n}.pcap" for n in names]
    labels = [CAPTURES / f"{n}.labels.csv" for n in names]
    trained = tmp_path / "t.fsb"
    r = run(lab["bin"], "train", "--captures", *caps, "--labels", *labels, "--epochs", "1", "--patience", "1",
            "--max-per-class", "300", "--out", trained)
    assert r.returncode == 0, r.stderr
    rebuilt = tmp_path / "t2.fsb"
    r = run(lab["bin"], "drift", "--build-reference", "--model", trained, "--captures", *caps, "--labels", *labels,
            "--out", rebuilt)
    assert r.returncode == 0, r.stderr
    a, b = sections(trained), sections(rebuilt)
    assert "drift.reference" in a and a == b
    ref = a["drift.reference"]
    version, rows, inputs = struct.unpack_from("<IQQ", ref, 0)
    schema = json.loads(a["schema"])
    assert version == 1 and rows > 50 and inputs == len(schema) + 3


def test_replay_of_a_small_capture_does_not_judge_drift(lab):
    """Under 200 scored flows (ten per bin) the summary says so instead of PSIs."""
    from conftest import LAB_DIR
    r = run(lab["bin"], "replay", LAB_DIR / "demo.pcap", "--flows", lab["dir"] / "small.json")
    assert r.returncode == 0, r.stderr
    line = [l for l in r.stderr.splitlines() if "drift:" in l]
    assert len(line) == 1 and "too few to compare" in line[0] and "PSI" not in line[0]
