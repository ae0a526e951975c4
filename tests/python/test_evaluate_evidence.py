"""`flowsentry evaluate` reports how often each class's evidence (the gate's
rule) holds for benign flows and for the class's own flows. The c2 rule is
recomputed here from the flow records' behaviour values (the beaconing score,
or a young series' return after a pause: docs/model-card.md) and the counts
must agree: a rule changed in one place and not the other fails this."""
import json
import subprocess

import evaluate_lab
from conftest import LAB_DIR, need_capture

# The behaviour table computes the beaconing score from this many sessions on.
BEACON_SCORE_MIN_SESSIONS = 4


def c2_evidence(behaviour):
    if behaviour.get("beaconing", 0) > 0:
        return True
    sessions = behaviour.get("sessions", 0)
    return 2 <= sessions < BEACON_SCORE_MIN_SESSIONS and behaviour.get("median_gap_s", 0) >= 1


def test_c2_evidence_counts_match_the_records(flowsentry_bin, tmp_path):
    cap = LAB_DIR / "behaviour-slow.pcap"
    need_capture(cap)
    labels = cap.with_suffix(".labels.csv")
    out = subprocess.run([flowsentry_bin, "evaluate", "--captures", str(cap), "--labels", str(labels), "--json"],
                         capture_output=True, text=True, check=True).stdout
    reported = json.loads(out)["evidence"]["c2"]

    flows = tmp_path / "flows.json"
    subprocess.run([flowsentry_bin, "replay", str(cap), "--flows", str(flows), "--no-sequence"],
                   capture_output=True, text=True, check=True)
    rows = evaluate_lab.load_labels(labels)
    counts = {"benign": [0, 0], "c2": [0, 0]}
    for line in open(flows):
        f = json.loads(line)
        if f.get("event_type") != "flow":
            continue
        m = evaluate_lab.match(rows, f)
        if m is None or m[0] not in counts:
            continue
        counts[m[0]][1] += 1
        counts[m[0]][0] += c2_evidence(f.get("behaviour", {}))
    assert counts["benign"][1] > 100 and counts["c2"][1] > 0
    # The background browsing's series give the rule
    # something to refuse: not every benign flow with a series passes.
    assert 0 < counts["benign"][0] < counts["benign"][1]
    # The flows the rule holds for are the same; the totals may differ by a
    # flow the two label matchers (LabelledData.swift, evaluate_lab.py) place
    # differently at a label row's time edge.
    assert reported["benign"] == counts["benign"][0] and reported["class"] == counts["c2"][0]
    assert abs(reported["benign_flows"] - counts["benign"][1]) <= 2
    assert abs(reported["class_flows"] - counts["c2"][1]) <= 2
