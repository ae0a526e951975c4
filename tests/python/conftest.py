"""Shared fixtures for the independent-oracle tests (tshark, nfstream).

Everything these tests need from outside the repository is optional: the
flowsentry binary ($FLOWSENTRY_BIN, else .build/release/flowsentry), tshark,
nfstream, ../shared/captures-public and captures/.  Whatever is missing makes
the tests that need it skip, never fail.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts"
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))

PUBLIC_DIR = REPO.parent / "shared" / "captures-public"
LAB_DIR = REPO / "captures"
CRAFTED_DIR = REPO / "Tests" / "SensorTests" / "Captures"

# A link type neither the sensor nor tshark decodes: the sensor must refuse it.
UNSUPPORTED = {"edge_unknown_linktype_juniper.pcap"}


def _globbed(root: Path, recursive: bool) -> list[Path]:
    if not root.is_dir():
        return []
    pat = "**/*" if recursive else "*"
    return sorted(p for p in root.glob(pat)
                  if p.is_file() and p.suffix in (".pcap", ".pcapng"))


def public_captures() -> list[Path]:
    return [p for p in _globbed(PUBLIC_DIR, False) if p.name not in UNSUPPORTED]


def lab_captures() -> list[Path]:
    return _globbed(LAB_DIR, True)


def crafted_captures() -> list[Path]:
    """The small captures the Swift tests replay (cut-off ones excluded)."""
    return [p for p in _globbed(CRAFTED_DIR, False) if not p.name.startswith("cut-")]


def capture_params(crafted: bool = False):
    """pytest params over every capture, ids 'public/NAME' and 'lab/NAME'
    (and 'crafted/NAME' with `crafted`: the Swift tests' own captures, which
    use link types and pcapng layouts that nfstream cannot read, so only
    tshark judges them)."""
    params = [pytest.param(p, id=f"public/{p.name}") for p in public_captures()]
    params += [pytest.param(p, id=f"lab/{p.relative_to(LAB_DIR)}") for p in lab_captures()]
    if crafted:
        params += [pytest.param(p, id=f"crafted/{p.name}") for p in crafted_captures()]
    if not params:
        params = [pytest.param(None, id="no-captures")]
    return params


@pytest.fixture(scope="session")
def flowsentry_bin() -> str:
    import compare_tshark
    b = compare_tshark.find_bin()
    if b is None:
        pytest.skip("flowsentry binary not built (set FLOWSENTRY_BIN or build .build/release/flowsentry)")
    return b


def need_capture(path):
    if path is None:
        pytest.skip(f"no captures found in {PUBLIC_DIR} or {LAB_DIR}")
    return str(path)


def loopback_tcpdump(pcap: Path):
    """A free loopback TCP port and a tcpdump writing its packets to `pcap`
    (stop it with SIGINT); the caller waits a moment for the capture to open."""
    import socket
    import subprocess
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dump = subprocess.Popen(["tcpdump", "-i", "lo", "-U", "-w", str(pcap), "-s", "0", f"tcp port {port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return port, dump


def replay_flows_and_alerts(binary: str, capture: Path, tmp: Path, model: Path) -> tuple[list[dict], list[dict]]:
    """Replays `capture` with `model` at `features` detail: its flow records and its alert lines."""
    import json
    import subprocess
    flows, alerts = tmp / (capture.stem + ".flows.json"), tmp / (capture.stem + ".alerts.json")
    subprocess.run([binary, "replay", str(capture), "--model", str(model), "--flows", str(flows),
                    "--alerts", str(alerts), "--flow-detail", "features"], capture_output=True, text=True, check=True)
    recs = [r for r in map(json.loads, open(flows)) if r.get("event_type") == "flow"]
    return recs, [json.loads(line) for line in open(alerts)]


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory):
    """Hand-built edge-case captures (tests/python/synth_captures.py)."""
    import synth_captures
    d = tmp_path_factory.mktemp("synth")
    synth_captures.write_edge_capture(d / "edge_cases.pcap")
    synth_captures.write_sctp_capture(d / "sctp.pcap")
    synth_captures.write_idle_gap_capture(d / "idle_gap.pcap")
    return d
