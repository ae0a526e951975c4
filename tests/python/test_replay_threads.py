"""`replay --threads N` (issue 21, point 2): the record writer's work that
does not depend on order (application-layer parsing, model inference, flow
record formatting) runs on N threads; what is written must not change.
Every flows and alerts file (and the alert-pcap files) written with 2 and 3
threads is compared byte for byte with the one-thread run, on the lab and
public captures (each skipped when absent), scored and records only, at each
flow-detail level, several captures read as one, and with indicators.

A batch is split only when each thread gets 32 records or more, so the
captures with fewer than 64 flows exercise the one-thread path of the
threaded binary; `test_captures_exercise_the_split` checks that enough of
them are large enough.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import LAB_DIR, capture_params, lab_captures, public_captures


def replay(binary: str, captures: list[Path], out: Path, threads: int, *flags: str) -> tuple[bytes, bytes]:
    """Replays `captures` with `threads` threads into out/; returns the flows and alerts files' bytes."""
    out.mkdir(parents=True, exist_ok=True)
    flows, alerts = out / "flows.json", out / "alerts.json"
    args = [binary, "replay", *map(str, captures), "--threads", str(threads), "--flows", str(flows)]
    if "--no-score" not in flags or "--indicators" in flags:
        args += ["--alerts", str(alerts)]
    r = subprocess.run(args + list(flags), capture_output=True, text=True, timeout=600)
    assert r.returncode in (0, 1), r.stderr  # 1: a capture cut off mid-packet (reported, the rest written)
    return flows.read_bytes(), alerts.read_bytes() if alerts.exists() else b""


def assert_same_for_threads(binary: str, captures: list[Path], tmp: Path, *flags: str, threads=(2, 3)) -> int:
    """The one-thread output equals every multi-thread one; returns the flow records written."""
    base = replay(binary, captures, tmp / "t1", 1, *flags)
    for t in threads:
        other = replay(binary, captures, tmp / f"t{t}", t, *flags)
        assert other[0] == base[0], f"flows differ with --threads {t} {' '.join(flags)}"
        assert other[1] == base[1], f"alerts differ with --threads {t} {' '.join(flags)}"
    return base[0].count(b"\n")


@pytest.mark.parametrize("capture", capture_params())
def test_scored_replay_is_byte_identical_across_threads(tmp_path, flowsentry_bin, capture):
    if capture is None:
        pytest.skip("no captures (captures/ and ../shared/captures-public absent)")
    assert_same_for_threads(flowsentry_bin, [capture], tmp_path)


@pytest.mark.parametrize("capture", capture_params())
def test_records_only_replay_is_byte_identical_across_threads(tmp_path, flowsentry_bin, capture):
    if capture is None:
        pytest.skip("no captures (captures/ and ../shared/captures-public absent)")
    assert_same_for_threads(flowsentry_bin, [capture], tmp_path, "--no-score", threads=(2,))


@pytest.mark.parametrize("detail", ["features", "summary"])
@pytest.mark.parametrize("score", [True, False], ids=["scored", "records-only"])
def test_flow_detail_levels_are_byte_identical_across_threads(tmp_path, flowsentry_bin, detail, score):
    cap = LAB_DIR / "attack-scan.pcap"
    if not cap.exists():
        pytest.skip(f"{cap} absent")
    flags = ["--flow-detail", detail] + ([] if score else ["--no-score"])
    assert assert_same_for_threads(flowsentry_bin, [cap], tmp_path, *flags, threads=(2,)) >= 64


def test_captures_read_as_one_are_byte_identical_across_threads(tmp_path, flowsentry_bin):
    """Several files in one replay: each record names its own capture, across the threads' shares of a batch."""
    caps = [c for c in lab_captures() if c.stat().st_size < 3_000_000][:6]
    if len(caps) < 2:
        pytest.skip("fewer than two lab captures")
    n = assert_same_for_threads(flowsentry_bin, caps, tmp_path)
    assert n >= 256
    flows = (tmp_path / "t2" / "flows.json").read_bytes()
    for c in caps:  # every capture's name is in the records (so records of several files were split)
        assert f'"pcap_filename":"{c}"'.encode() in flows or c.name.encode() in flows


def test_indicators_and_alert_pcap_are_byte_identical_across_threads(tmp_path, flowsentry_bin):
    cap = LAB_DIR / "attack-scan.pcap"
    if not cap.exists():
        pytest.skip(f"{cap} absent")
    # An indicator on the scanned network's busiest addresses: hits on many records.
    probe = subprocess.run([flowsentry_bin, "replay", str(cap), "--no-score", "--flows", "-", "--threads", "1"],
                           capture_output=True, text=True, check=True, timeout=300)
    records = [json.loads(l) for l in probe.stdout.splitlines()]
    dests = sorted({r["dest_ip"] for r in records})[:3]
    feed = tmp_path / "intel.txt"
    feed.write_text("#fields\tindicator\tindicator_type\tmeta.source\n"
                    + "".join(f"{d}\tIntel::ADDR\tthreads-test\n" for d in dests))
    runs = {}
    out = tmp_path / "run"  # the same paths for both runs: alerts name their alert-pcap file
    for t in (1, 2):
        shutil.rmtree(out, ignore_errors=True)
        flows, alerts = replay(flowsentry_bin, [cap], out, t, "--indicators", str(feed), "--alert-pcap", str(out / "pcap"))
        pcaps = {p.name: p.read_bytes() for p in (out / "pcap").iterdir()}
        runs[t] = (flows, alerts, pcaps)
    assert runs[1][1].count(b"threads-test") > 0 and runs[1][2]
    assert runs[2][0] == runs[1][0], "flows differ"
    assert runs[2][1] == runs[1][1], "alerts differ"
    assert runs[2][2] == runs[1][2], "alert pcaps differ"


def test_captures_exercise_the_split(flowsentry_bin):
    """At least a few captures have enough flows (64+) for a batch to be split across two threads."""
    caps = lab_captures() + public_captures()
    if not caps:
        pytest.skip("no captures")
    big = 0
    for c in caps:
        r = subprocess.run([flowsentry_bin, "replay", str(c), "--no-score", "--flows", "-", "--threads", "1"],
                           capture_output=True, timeout=300)
        big += r.stdout.count(b"\n") >= 64
    assert big >= min(3, len(caps))


def test_threads_must_be_positive(flowsentry_bin):
    r = subprocess.run([flowsentry_bin, "replay", str(LAB_DIR / "demo.pcap"), "--flows", "/dev/null", "--threads", "0"],
                       capture_output=True, text=True)
    assert r.returncode == 64 and "--threads" in r.stderr
    r = subprocess.run([flowsentry_bin, "run", "--interface", "lo", "--flows", "/dev/null", "--threads", "0"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 64 and "--threads" in r.stderr
