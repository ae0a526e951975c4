"""`replay --watch DIR` (issue 19, point 5), through the built binary: each
capture that appears in the directory is read once it is complete — a
capture written slowly, in chunks, is not read half-written — until SIGTERM;
a restart reads only the captures added since (the state file).

Oracles: the records of the watch must equal, byte for byte, the records of
a plain `replay` of the same captures in the order the watch took them (the
watch only decides *when* a file is read), and the packets read must equal
tshark's count of the captures' packets. Bounded in time: every wait has a
deadline."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIRST = REPO / "Tests" / "SensorTests" / "Captures" / "ethernet-mix.pcap"
SLOW = REPO / "captures" / "demo.pcap"
LATER = REPO / "captures" / "benign-1.pcap"


@pytest.fixture(scope="module")
def binary() -> str:
    b = os.environ.get("FLOWSENTRY_BIN") or str(REPO / ".build" / "release" / "flowsentry")
    if not Path(b).is_file():
        pytest.skip(f"no flowsentry binary at {b}")
    for c in (FIRST, SLOW, LATER):
        if not c.is_file():
            pytest.skip(f"{c} not present")
    return b


def tshark_packets(path: Path) -> int:
    tshark = shutil.which("tshark")
    if tshark is None:
        pytest.skip("tshark not installed")
    out = subprocess.run([tshark, "-n", "-r", str(path), "-T", "fields", "-e", "frame.number"],
                         capture_output=True, text=True, check=True).stdout
    return len(out.split())


def state_names(state: Path) -> list[str]:
    if not state.is_file():
        return []
    return [line.split("\t")[2] for line in state.read_text().splitlines()]


def wait_for(cond, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def start_watch(binary: str, watched: Path, out: Path, settle: float = 2) -> subprocess.Popen:
    return subprocess.Popen([binary, "replay", "--watch", str(watched), "--settle", str(settle),
                             "--no-score", "--flows", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def stop(p: subprocess.Popen) -> str:
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    return err


def plain_replay(binary: str, captures: list[Path], out: Path) -> str:
    p = subprocess.run([binary, "replay", *map(str, captures), "--no-score", "--flows", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return out.read_text()


def test_watch_reads_each_complete_capture_once_and_remembers_across_restarts(binary, tmp_path):
    watched = tmp_path / "incoming"
    watched.mkdir()
    state = watched / ".flowsentry-processed"
    out1 = tmp_path / "run1.json"
    p = start_watch(binary, watched, out1)
    try:
        # A capture copied in whole.
        shutil.copyfile(FIRST, watched / "a.pcap")
        wait_for(lambda: state_names(state) == ["a.pcap"], "a.pcap to be read")
        # While the watch waits, the records of a.pcap's ended flows are written and flushed.
        wait_for(lambda: out1.is_file() and out1.read_text().count("\n") > 0, "a.pcap's records", seconds=30)
        early = [json.loads(line) for line in out1.read_text().splitlines()]
        assert early and all(r["pcap_filename"] == str(watched / "a.pcap") for r in early)
        # A capture written slowly: changing more often than the settle time,
        # open all along; it must not be read before it is closed.
        data = SLOW.read_bytes()
        step = len(data) // 10 + 1
        with open(watched / "b.pcap", "wb") as f:
            for i in range(0, len(data), step):
                f.write(data[i:i + step])
                f.flush()
                time.sleep(0.3)
                assert state_names(state) == ["a.pcap"], "b.pcap was taken while still being written"
        wait_for(lambda: state_names(state) == ["a.pcap", "b.pcap"], "b.pcap to be read")
    finally:
        if p.poll() is None:
            err1 = stop(p)
    assert "error" not in err1, err1
    # Every packet of both captures read once (tshark counts them).
    expected_packets = tshark_packets(FIRST) + tshark_packets(SLOW)
    assert f"read {expected_packets} packets from 2 files" in err1, err1
    # The same records as a plain replay of the same files in the same order.
    oracle = plain_replay(binary, [watched / "a.pcap", watched / "b.pcap"], tmp_path / "plain1.json")
    assert out1.read_text() == oracle
    recs = [json.loads(line) for line in oracle.splitlines()]
    assert {r["pcap_filename"] for r in recs} == {str(watched / "a.pcap"), str(watched / "b.pcap")}

    # Restart: a capture added while stopped is read; the two read before are not.
    shutil.copyfile(LATER, watched / "c.pcap")
    out2 = tmp_path / "run2.json"
    p = start_watch(binary, watched, out2)
    try:
        wait_for(lambda: state_names(state) == ["a.pcap", "b.pcap", "c.pcap"], "c.pcap to be read")
    finally:
        err2 = stop(p)
    assert f"read {tshark_packets(LATER)} packets from 1 file " in err2, err2
    assert "2 captures read before" in err2
    assert out2.read_text() == plain_replay(binary, [watched / "c.pcap"], tmp_path / "plain2.json")


def test_watch_refuses_a_missing_directory_and_state_without_watch(binary, tmp_path):
    p = subprocess.run([binary, "replay", "--watch", str(tmp_path / "absent"), "--no-score", "--flows", "-"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and str(tmp_path / "absent") in p.stderr
    p = subprocess.run([binary, "replay", str(FIRST), "--state", str(tmp_path / "s"), "--no-score", "--flows", "-"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 64 and "--state needs --watch" in p.stderr


def test_watch_rejects_a_corrupt_state_file_by_line(binary, tmp_path):
    (tmp_path / ".flowsentry-processed").write_text("12\t34\tok.pcap\nnot a state line\n")
    p = subprocess.run([binary, "replay", "--watch", str(tmp_path), "--no-score", "--flows", "-"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2
    assert ".flowsentry-processed" in p.stderr and "line 2" in p.stderr
