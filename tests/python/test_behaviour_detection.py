"""Cross-flow behaviour detection, judged on synthetic captures whose sessions
the test made itself (behaviour_captures.py): six attacks that are only
visible across flows (SSH and FTP password guessing, an HTTPS beacon, a slow
horizontal and a slow vertical SYN scan) and five benign look-alikes (NTP
polling, a mail client checking every minute, a user who mistypes an SSH
password, a browser's burst of CDN connections, a health-check poller).

Each capture is replayed with the default model:
`flowsentry replay CAP --flows flows.json --alerts alerts.json`.

The contract checked:
  * every flow record has `behaviour {repetition, beaconing, scanning}` in
    [0, 1] and `behaviour.sessions`, an integer ≥ 1 (the sessions of the
    flow's pair series in the window, this one included);
  * a behaviour alert is an `alert` line whose signature starts with
    "FlowSentry behaviour: " and which has `behaviour {kind, score, sessions,
    window_s, example_flows[{flow_id, community_id}]}`; its example flows are
    flows of the replay (same flow_id and community_id, same client);
  * each attack raises a behaviour alert of its kind from the attacker, and at
    least half of its flows' records reach `ml.score >= ml.threshold`;
  * no look-alike raises a behaviour alert or has a flow record with
    `ml.source == "behaviour"`;
  * the beacon's timestamp score equals the one computed here from the SYN
    times written, with RITA v5's definitions (activecm/rita
    analysis/beacons.go; quartiles as montanaflynn/stats.Quartile), over the
    last min(32, n) session starts of the series.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import subprocess
from pathlib import Path

import pytest

import behaviour_captures as bc
import compare_tshark
from conftest import REPO

BIN = compare_tshark.find_bin()
pytestmark = pytest.mark.skipif(
    BIN is None, reason="flowsentry binary not built (set FLOWSENTRY_BIN or build .build/release/flowsentry)")

SIGNATURE_PREFIX = "FlowSentry behaviour: "
KINDS = ("repetition", "beaconing", "scanning", "dns_tunnel", "flooding")
ATTACKS = [n for n, (_, k) in bc.SCENARIOS.items() if k.startswith("attack:")]
BENIGN = [n for n, (_, k) in bc.SCENARIOS.items() if k == "benign"]
BEACON_WINDOW = 32       # session starts the sensor scores a beacon over
TS_TOLERANCE = 0.02


class Replay:
    def __init__(self, name: str, info: bc.CaptureInfo, rc: int, stderr: str, flows: list[dict],
                 alerts: list[dict]):
        self.name, self.info, self.rc, self.stderr = name, info, rc, stderr
        self.records = [r for r in flows if r.get("event_type") == "flow"]
        self.alerts = alerts + [r for r in flows if r.get("event_type") == "alert"]
        self.behaviour_alerts = [a for a in self.alerts
                                 if str(a.get("alert", {}).get("signature", "")).startswith(SIGNATURE_PREFIX)]
        self.by_key: dict[tuple, list[dict]] = {}
        for r in self.records:
            self.by_key.setdefault(record_key(r), []).append(r)

    def records_of(self, sessions: list[bc.Session]) -> list[dict]:
        return [r for s in sessions for r in self.by_key.get(session_key(s), [])]


def record_key(r: dict) -> tuple:
    return (r.get("src_ip"), r.get("src_port"), r.get("dest_ip"), r.get("dest_port"), r.get("proto"))


def session_key(s: bc.Session) -> tuple:
    return (s.client, s.sport, s.server, s.dport, s.proto)


def _read_lines(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def _replay(binary: str, d: Path, name: str) -> Replay:
    fn, _ = bc.SCENARIOS[name]
    cap = d / f"{name}.pcap"
    info = fn(cap)
    flows, alerts = d / f"{name}.flows.json", d / f"{name}.alerts.json"
    # From the checkout, so the default model (rules/flowsentry.fsb) is found
    # whatever binary is under test.
    p = subprocess.run([binary, "replay", str(cap), "--flows", str(flows), "--alerts", str(alerts)],
                       cwd=REPO, capture_output=True, text=True, timeout=120)
    return Replay(name, info, p.returncode, p.stderr, _read_lines(flows), _read_lines(alerts))


@pytest.fixture(scope="module")
def replays(tmp_path_factory) -> dict[str, Replay]:
    binary = os.path.abspath(BIN)
    d = tmp_path_factory.mktemp("behaviour")
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as ex:
        futs = {n: ex.submit(_replay, binary, d, n) for n in bc.SCENARIOS}
        return {n: f.result() for n, f in futs.items()}


def replayed(replays: dict[str, Replay], name: str) -> Replay:
    r = replays[name]
    assert r.rc == 0, f"{name}: flowsentry replay exited {r.rc}\n{r.stderr}"
    return r


def is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def flagged(record: dict) -> bool:
    ml = record.get("ml") or {}
    return is_number(ml.get("score")) and is_number(ml.get("threshold")) and ml["score"] >= ml["threshold"]


# --------------------------------------------------------------------------
# RITA v5's timestamp score, written from its definition (not from the sensor)


def median(xs: list[float]) -> float:
    x = sorted(xs)
    n = len(x)
    if n == 0:
        return 0.0
    return x[n // 2] if n % 2 else (x[n // 2 - 1] + x[n // 2]) / 2


def quartiles(xs: list[float]) -> tuple[float, float, float]:
    """montanaflynn/stats.Quartile: Q1/Q3 are the medians of the lower/upper
    halves, the middle element belonging to neither when the count is odd."""
    x = sorted(xs)
    n = len(x)
    lower = x[:n // 2]
    upper = x[(n + 1) // 2:]
    return median(lower), median(x), median(upper)


def rita_regularity(xs: list[float], default_mad_score: float) -> float:
    q1, q2, q3 = quartiles(xs)
    iqr = q3 - q1
    bowley = 0.0 if (iqr < 10 or q2 == q1 or q2 == q3) else (q1 + q3 - 2 * q2) / iqr
    m = median(xs)
    mad = median([abs(v - m) for v in xs])
    mad_score = (m - mad) / m if m >= 1 else default_mad_score
    if not mad_score >= 0:
        mad_score = 0.0
    return round(((1 - abs(bowley)) + mad_score) / 2, 3)


def rita_timestamp_score(starts: list[float], split_missed_beats: bool = False) -> float:
    ts = sorted(starts)
    deltas = [b - a for a, b in zip(ts, ts[1:])]
    nonzero = [d for d in deltas if d > 0]
    assert len(ts) >= 4 and len(nonzero) >= 3
    if split_missed_beats:
        nonzero = split_beats(nonzero)
    return rita_regularity(nonzero, default_mad_score=1.0)


def split_beats(gaps: list[float]) -> list[float]:
    """docs/features.md (ours, not RITA's): a gap within 10 % of k times the
    median gap (k = 2..4) counts as k gaps of gap / k, a missed beat."""
    m = median(sorted(gaps))
    out = []
    for g in gaps:
        k = round(g / m)
        if g >= 1.5 * m and 2 <= k <= 4 and abs(g / k - m) <= 0.1 * m:
            out += [g / k] * k
        else:
            out.append(g)
    return out


def test_rita_timestamp_score_reproduces_ritas_test_vectors():
    # activecm/rita analysis/beacons_test.go: constant intervals, and
    # intervals 98..102 (Q 99/100/101, MAD 1 -> 0.995).
    assert rita_timestamp_score([60.0 * i for i in range(10)]) == 1.0
    d = [98, 99, 99, 100, 100, 100, 101, 101, 102]
    ts = [0.0]
    for x in d:
        ts.append(ts[-1] + x)
    assert rita_timestamp_score(ts) == 0.995
    # Widely scattered intervals: Bowley 0.845, MAD 89 -> 0.083.
    d = [1, 299, 25, 4975, 90, 2, 42, 500, 1500]
    ts = [0.0]
    for x in d:
        ts.append(ts[-1] + x)
    assert rita_timestamp_score(ts) == 0.083


# --------------------------------------------------------------------------
# every scenario


@pytest.mark.parametrize("name", list(bc.SCENARIOS))
def test_every_flow_record_carries_behaviour(replays, name):
    r = replayed(replays, name)
    missing = [s for s in r.info.sessions if session_key(s) not in r.by_key]
    assert not missing, f"{name}: sessions written with no flow record: {missing[:3]}"
    assert r.records
    for rec in r.records:
        b = rec.get("behaviour")
        assert isinstance(b, dict), f"{name}: flow {rec.get('flow_id')} has no behaviour object"
        for k in KINDS:
            assert is_number(b.get(k)) and 0.0 <= b[k] <= 1.0, (name, rec.get("flow_id"), k, b.get(k))
        assert is_int(b.get("sessions")) and b["sessions"] >= 1, (name, rec.get("flow_id"), b.get("sessions"))


@pytest.mark.parametrize("name", list(bc.SCENARIOS))
def test_behaviour_alerts_are_well_formed(replays, name):
    r = replayed(replays, name)
    by_id = {}
    for rec in r.records:
        by_id.setdefault(rec.get("flow_id"), []).append(rec)
    for a in r.behaviour_alerts:
        assert a["event_type"] == "alert"
        b = a.get("behaviour")
        assert isinstance(b, dict), a
        assert b.get("kind") in KINDS, b
        assert is_number(b.get("score")), b
        assert is_int(b.get("sessions")) and b["sessions"] >= 1, b
        assert is_number(b.get("window_s")) and b["window_s"] > 0, b
        ex = b.get("example_flows")
        assert isinstance(ex, list) and ex, b
        for e in ex:
            assert isinstance(e, dict) and is_int(e.get("flow_id")) and isinstance(e.get("community_id"), str), e
            recs = by_id.get(e["flow_id"])
            assert recs, f"{name}: example flow {e['flow_id']} is not in the flows log"
            assert any(x.get("community_id") == e["community_id"] for x in recs), (e, recs[0].get("community_id"))
            assert recs[0].get("src_ip") == a.get("src_ip"), (e, recs[0].get("src_ip"), a.get("src_ip"))


# --------------------------------------------------------------------------
# attacks


@pytest.mark.parametrize("name", ATTACKS)
def test_attack_raises_its_behaviour_alert(replays, name):
    r = replayed(replays, name)
    kind = bc.SCENARIOS[name][1].split(":", 1)[1]
    ours = [a for a in r.behaviour_alerts
            if a.get("behaviour", {}).get("kind") == kind and a.get("src_ip") == bc.ATTACKER]
    seen = [(a.get("behaviour", {}).get("kind"), a.get("src_ip")) for a in r.behaviour_alerts]
    assert ours, f"{name}: no '{kind}' behaviour alert from {bc.ATTACKER} (behaviour alerts: {seen})"


@pytest.mark.parametrize("name", ATTACKS)
def test_most_attack_flows_reach_the_threshold(replays, name):
    r = replayed(replays, name)
    recs = r.records_of(r.info.sessions)
    assert len(recs) >= len(r.info.sessions)
    hit = sum(flagged(x) for x in recs)
    assert 2 * hit >= len(recs), (
        f"{name}: {hit} of {len(recs)} attack flow records at or above the threshold; "
        f"scores {[(x.get('ml') or {}).get('score') for x in recs]}")


@pytest.mark.parametrize("name", [n for n in ATTACKS if bc.SCENARIOS[n][1] != "attack:scanning"])
def test_last_attack_flow_counts_its_series(replays, name):
    # behaviour.sessions of the last session: every session of the pair that
    # started within the window (all of them when the window spans the capture).
    r = replayed(replays, name)
    kind = bc.SCENARIOS[name][1].split(":", 1)[1]
    alerts = [a for a in r.behaviour_alerts if a.get("behaviour", {}).get("kind") == kind]
    if not alerts:
        pytest.skip("no behaviour alert to take the window from (test_attack_raises_its_behaviour_alert fails)")
    window = alerts[0]["behaviour"]["window_s"]
    sessions = sorted(r.info.sessions, key=lambda s: s.start)
    last = sessions[-1]
    span = last.start - sessions[0].start
    expected = sum(1 for s in sessions if s.start > last.start - window)
    got = r.by_key[session_key(last)][0]["behaviour"]["sessions"]
    if window >= span + 60:
        assert got == len(sessions), (got, len(sessions), window, span)
    else:   # the window cuts the series: whether it counts from start or end may move one session
        assert abs(got - expected) <= 1, (got, expected, window, span)


def test_beacon_timestamp_score_is_ritas_with_missed_beats_folded(replays):
    r = replayed(replays, "https_beacon")
    sessions = sorted(r.info.sessions, key=lambda s: s.start)
    starts = [s.start for s in sessions][-BEACON_WINDOW:]
    # The sensor folds missed beats back before RITA's score (the beacon here misses three).
    expected = rita_timestamp_score(starts, split_missed_beats=True)
    assert expected > rita_timestamp_score(starts)  # the folding changed something here
    recs = r.by_key[session_key(sessions[-1])]
    comp = recs[0]["behaviour"].get("components")
    assert isinstance(comp, dict) and is_number(comp.get("ts_score")), recs[0]["behaviour"]
    assert abs(comp["ts_score"] - expected) <= TS_TOLERANCE, (comp["ts_score"], expected)
    # The beacon is regular: what it scores here is high, so the comparison means something.
    assert expected >= 0.85


# --------------------------------------------------------------------------
# look-alikes


@pytest.mark.parametrize("name", BENIGN)
def test_lookalike_raises_no_behaviour_alert(replays, name):
    r = replayed(replays, name)
    assert not r.behaviour_alerts, [(a["alert"]["signature"], a.get("behaviour")) for a in r.behaviour_alerts]
    by_behaviour = [x.get("flow_id") for x in r.records if (x.get("ml") or {}).get("source") == "behaviour"]
    assert not by_behaviour, f"{name}: flows flagged by behaviour: {by_behaviour[:5]}"
