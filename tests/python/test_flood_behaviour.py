"""The flooding behaviour (docs/features.md, "Flooding") on real captures,
checked against what tshark reads from the same packets: the host a spoofed
SYN flood from elsewhere (StopDDoS, one direction only) and the lab's
slowloris pile on is the one the flooding campaign names, the flows it flags
are the flood's, and ordinary traffic — the lab's benign captures and the
public benign ones — raises no flooding verdict at all."""
from __future__ import annotations

import collections
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import LAB_DIR, PUBLIC_DIR, REPO, need_capture, replay_flows_and_alerts

MODEL = REPO / "rules" / "flowsentry.fsb"
# The verdict threshold (0.8) on the documented ramps: one-sided sessions
# 100 -> 300, requests never answered 20 -> 60. A flood's flows before these
# counts precede its verdict.
SESSIONS_BEFORE_VERDICT = 260
REQUESTS_BEFORE_VERDICT = 52

needs_tshark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")


def replay(binary: str, capture: Path, tmp: Path) -> tuple[list[dict], list[dict]]:
    return replay_flows_and_alerts(binary, capture, tmp, MODEL)


def tshark_fields(capture: Path, display_filter: str, fields: list[str]) -> list[list[str]]:
    cmd = ["tshark", "-n", "-r", str(capture), "-Y", display_filter, "-T", "fields"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def flooding_alerts(alerts: list[dict]) -> list[dict]:
    return [a for a in alerts if a.get("behaviour", {}).get("kind") == "flooding"
            and a["behaviour"].get("aggregate") != "closing"]


@needs_tshark
def test_a_spoofed_syn_flood_from_elsewhere_names_its_target(flowsentry_bin, tmp_path):
    cap = PUBLIC_DIR / "atk_ddos_synflood_spoofed.pcap"
    need_capture(cap if cap.exists() else None)
    # tshark: the host receiving the most bare SYNs, and each (source, port) that sent one to it.
    syns = tshark_fields(cap, "tcp.flags.syn == 1 && tcp.flags.ack == 0", ["ip.src", "tcp.srcport", "ip.dst"])
    per_target = collections.Counter(dst for _, _, dst in syns)
    target, _ = per_target.most_common(1)[0]
    sources = {src for src, _, dst in syns if dst == target}
    attempts = {(src, port) for src, port, dst in syns if dst == target}
    assert len(sources) >= 1000

    recs, alerts = replay(flowsentry_bin, cap, tmp_path)
    opened = flooding_alerts(alerts)
    assert [a["dest_ip"] for a in opened] == [target], [(a["src_ip"], a["dest_ip"]) for a in opened]
    a = opened[0]
    assert a["alert"]["signature_id"] == 9100005 and a["alert"]["metadata"]["class"] == ["dos"], a["alert"]
    assert a["behaviour"]["components"]["sources"] >= 20 and a["behaviour"]["components"]["ports"] <= 4

    flooded = [r for r in recs if r["behaviour"]["flooding"] >= 0.8]
    assert {r["dest_ip"] for r in flooded} == {target}
    assert all((r["src_ip"], str(r["src_port"])) in attempts for r in flooded)
    # The capture holds only what reached the victim: its side never shows.
    assert all(r["behaviour"]["flood"].get("target_heard") is False for r in flooded)
    assert len(flooded) >= len(attempts) - SESSIONS_BEFORE_VERDICT, (len(flooded), len(attempts))


@needs_tshark
def test_slowloris_connections_held_without_an_answer_are_a_flood(flowsentry_bin, tmp_path):
    cap = LAB_DIR / "attack-dos.pcap"
    need_capture(cap if cap.exists() else None)
    meta = json.loads(cap.with_suffix(".meta.json").read_text())
    scenario = next(s for s in meta["scenarios"] if s["name"] == "slowloris")
    attacker, victim = scenario["attackers"][0], scenario["victims"][0]
    # tshark: the attacker's TCP streams to the victim's port 80 in which it
    # sent payload and the victim sent none back.
    rows = tshark_fields(cap, f"ip.addr == {attacker} && ip.addr == {victim} && tcp.port == 80",
                         ["tcp.stream", "ip.src", "tcp.srcport", "tcp.len"])
    sent, answered, port = collections.Counter(), collections.Counter(), {}
    for stream, src, sport, length in rows:
        if src == attacker:
            sent[stream] += int(length or 0)
            port[stream] = sport
        else:
            answered[stream] += int(length or 0)
    held = {port[s] for s in sent if sent[s] > 0 and answered[s] == 0}
    assert len(held) >= 60, len(held)

    recs, alerts = replay(flowsentry_bin, cap, tmp_path)
    assert victim in {a["dest_ip"] for a in flooding_alerts(alerts)}
    flagged = {str(r["src_port"]) for r in recs
               if r["src_ip"] == attacker and r["dest_ip"] == victim and r["behaviour"]["flooding"] >= 0.8}
    assert flagged <= held, sorted(flagged - held)[:5]
    assert len(flagged) >= len(held) - REQUESTS_BEFORE_VERDICT, (len(flagged), len(held))


def benign_captures() -> list[Path]:
    lab = sorted(LAB_DIR.glob("benign-*.pcap"))
    public = sorted(PUBLIC_DIR.glob("ben_*.pcap*")) if PUBLIC_DIR.exists() else []
    return lab + public


@pytest.mark.parametrize("cap", benign_captures(), ids=lambda p: p.name)
def test_ordinary_traffic_raises_no_flooding_verdict(flowsentry_bin, tmp_path, cap):
    recs, alerts = replay(flowsentry_bin, cap, tmp_path)
    assert recs
    assert not flooding_alerts(alerts)
    assert max(r["behaviour"]["flooding"] for r in recs) == 0
