"""`flowsentry baseline`'s poisoning guard, tried as a new user would
(issue 18, point 4; docs/model-card.md, "`baseline`: making it a site's own").

- A spoofed SYN flood given as a site's "normal" traffic (made by
  scripts/make_flood.py, as tests/python/test_floods.py does) is refused:
  exit 2, nothing written, the offending flows named; tshark confirms the
  named 5-tuples are SYNs of that capture.
- With --force the bundle is written and its provenance says it was forced;
  the hashes it records are checked with hashlib.
- The first half of captures/benign-wide-1.pcap (cut with editcap) is
  accepted; the new bundle's version is not the stock one and it still
  alerts on captures/demo.pcap (`flowsentry replay`), with its own version.
- With canaries (added to a copy of the shipped bundle by `add-canaries`
  from captures/attack-scan), the flood is refused for the canaries too.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "rules" / "flowsentry.fsb"
CAPTURES = ROOT / "captures"
MAKE_FLOOD = ROOT / "scripts" / "make_flood.py"
VICTIM = "10.9.0.1"  # make_flood.py's target


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run(*args, check_rc=None):
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=600)
    if check_rc is not None:
        assert p.returncode == check_rc, f"exit {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}"
    return p


def model_info(binary, bundle: Path) -> dict:
    return json.loads(run(binary, "model-info", bundle, "--json", check_rc=0).stdout)


@pytest.fixture(scope="module")
def synflood(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("flood") / "synflood.pcap"
    subprocess.run([sys.executable, str(MAKE_FLOOD), "syn", "3000", str(out), "--rate", "1000"], check=True)
    return out


@pytest.fixture(scope="module")
def benign_first_half(tmp_path_factory) -> Path:
    if shutil.which("editcap") is None or shutil.which("capinfos") is None:
        pytest.skip("editcap/capinfos (tshark's tools) not installed")
    src = CAPTURES / "benign-wide-1.pcap"
    fields = subprocess.run(["capinfos", "-a", "-e", "-S", "-T", "-r", str(src)], capture_output=True, text=True,
                            check=True).stdout.strip().split("\t")
    mid = (float(fields[1]) + float(fields[2])) / 2
    out = tmp_path_factory.mktemp("site") / "benign-wide-1.first.pcap"
    subprocess.run(["editcap", "-B", f"{mid:.6f}", str(src), str(out)], check=True, capture_output=True)
    return out


def test_syn_flood_alone_is_refused_naming_flows(flowsentry_bin, synflood, tmp_path):
    out = tmp_path / "site.fsb"
    p = run(flowsentry_bin, "baseline", "--captures", synflood, "--model", MODEL, "--out", out, check_rc=2)
    assert not out.exists(), "a refused baseline must write nothing"
    assert "poisoning guard" in p.stderr and "baseline refused" in p.stderr
    # The reasons: the share and the campaign against the flood's one target.
    share = re.search(r"(\d+) of (\d+) flows \(([\d.]+) %\) are attacks", p.stderr)
    assert share, p.stderr
    attacks, flows = int(share.group(1)), int(share.group(2))
    assert flows >= 2900 and attacks > 0.9 * flows
    assert f"dos flows to {VICTIM}" in p.stderr
    # The first named flows, with flow id, 5-tuple, class and score, and the count.
    assert f"first 10 of {attacks}" in p.stderr
    named = re.findall(r"flow_id (\d+)\s+tcp ([\d.]+):(\d+) → ([\d.]+):(\d+)\s+(\w+)\s+score ([\d.]+)", p.stderr)
    assert len(named) == 10
    for _, src, sport, dst, dport, cls, score in named:
        assert dst == VICTIM and dport == "80" and cls == "dos" and float(score) >= 0.5
    if shutil.which("tshark"):
        # Independent: each named 5-tuple is a SYN of the capture.
        _, src, sport, _, _, _, _ = named[0]
        seen = subprocess.run(["tshark", "-r", str(synflood), "-Y",
                               f"ip.src=={src} && tcp.srcport=={sport} && ip.dst=={VICTIM} && tcp.flags.syn==1",
                               "-T", "fields", "-e", "frame.number"], capture_output=True, text=True, check=True).stdout.split()
        assert len(seen) == 1


def test_force_writes_and_records_it(flowsentry_bin, synflood, tmp_path):
    out = tmp_path / "forced.fsb"
    p = run(flowsentry_bin, "baseline", "--captures", synflood, "--model", MODEL, "--out", out, "--force", check_rc=0)
    assert "FORCED" in p.stdout and out.exists()
    info = model_info(flowsentry_bin, out)
    last = info["provenance"]["baselines"][-1]
    assert last["forced"] is True
    assert any("campaign" in f for f in last["guardFindings"])
    assert last["parentSHA256"] == sha256(MODEL)
    assert last["captures"] == [{"path": str(synflood), "sha256": sha256(synflood), "bytes": synflood.stat().st_size}]
    stock = model_info(flowsentry_bin, MODEL)["model_version"]
    digest = hashlib.sha256(sha256(synflood).encode()).hexdigest()[:8]
    assert info["model_version"] == f"{stock.split('+site.')[0]}+site.{digest}"
    assert last["parentModelVersion"] == stock
    assert "baseline_forced" in info["notes"]
    text = run(flowsentry_bin, "model-info", out, check_rc=0).stdout
    assert "FORCED" in text


def alerts(binary, model: Path, capture: Path, tmp: Path) -> list[dict]:
    out = tmp / f"alerts-{model.stem}.json"
    run(binary, "replay", capture, "--model", model, "--alerts", out, check_rc=0)
    return [json.loads(line) for line in out.read_text().splitlines() if line.strip()]


def test_benign_site_is_accepted_and_still_alerts_on_demo(flowsentry_bin, benign_first_half, tmp_path):
    out = tmp_path / "site.fsb"
    p = run(flowsentry_bin, "baseline", "--captures", benign_first_half, "--model", MODEL, "--out", out, check_rc=0)
    assert "FORCED" not in p.stdout
    info = model_info(flowsentry_bin, out)
    stock = model_info(flowsentry_bin, MODEL)["model_version"]
    version = info["model_version"]
    assert version != stock and version.startswith(stock + "+site.")
    last = info["provenance"]["baselines"][-1]
    assert last["forced"] is False and last["guardFindings"] == []
    assert last["captures"][0]["sha256"] == sha256(benign_first_half)

    demo = CAPTURES / "demo.pcap"
    before = [a for a in alerts(flowsentry_bin, MODEL, demo, tmp_path) if "ml" in a and a["ml"].get("class")]
    after = [a for a in alerts(flowsentry_bin, out, demo, tmp_path) if "ml" in a and a["ml"].get("class")]
    assert before, "the stock bundle alerts on the demo capture"
    # The site's benign first half moved nothing the models alert on.
    assert len(after) == len(before)
    assert {a["ml"]["class"] for a in after} == {a["ml"]["class"] for a in before}
    assert all(a["ml"]["model_version"] == version for a in after)


def test_canaries_refuse_a_flood_that_silences_them(flowsentry_bin, synflood, tmp_path):
    with_canaries = tmp_path / "canaries.fsb"
    p = run(flowsentry_bin, "add-canaries", "--model", MODEL, "--out", with_canaries,
            "--captures", CAPTURES / "attack-scan.pcap", "--labels", CAPTURES / "attack-scan.labels.csv", check_rc=0)
    assert re.search(r"canaries: .*scan \d+", p.stdout), p.stdout
    info = model_info(flowsentry_bin, with_canaries)
    assert info["canaries"].get("scan", 0) > 0
    assert info["provenance"]["canaries"]["writtenBy"] == "add-canaries"
    p = run(flowsentry_bin, "baseline", "--captures", synflood, "--model", with_canaries, "--out", tmp_path / "x.fsb",
            check_rc=2)
    m = re.search(r"would miss (\d+) of (\d+) scan canaries", p.stderr)
    assert m and int(m.group(1)) > 0.1 * int(m.group(2)), p.stderr
    # The canaries travel with a re-baselined bundle.
    benign = CAPTURES / "benign-2.pcap"
    site = tmp_path / "site.fsb"
    p = run(flowsentry_bin, "baseline", "--captures", benign, "--model", with_canaries, "--out", site, check_rc=0)
    assert "canaries caught: scan" in p.stdout
    assert model_info(flowsentry_bin, site)["canaries"] == info["canaries"]
