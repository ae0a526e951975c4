#!/usr/bin/env python3
"""Scores labelled lab captures with a model bundle and prints, per capture,
class and scenario, the labelled flows and how many went over the threshold:
by the models alone (`ml.source` is not "behaviour") and in all (models or a
behaviour verdict). Flows are matched to label rows by 5-tuple (either
direction) and time overlap, as `flowsentry evaluate` does; unmatched flows
are left out.

With `--test-blocks`, only the flows `flowsentry train` holds out as its
test split are counted: per (capture, class, scenario), flows in start order
cut into ten contiguous time blocks, blocks 5 and 10 (none when fewer than
10 flows) — for captures that were also training data.

Usage: scripts/evaluate_lab.py [--model BUNDLE] [--bin PATH] [--test-blocks] [--json] CAPTURE.pcap...
(each capture's labels are CAPTURE.labels.csv beside it)
"""
import argparse
import collections
import csv
import datetime
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PROTO = {"TCP": 6, "UDP": 17, "ICMP": 1, "IPv6-ICMP": 58, "ICMP6": 58}


def load_labels(path):
    rows = collections.defaultdict(list)
    for r in csv.DictReader(open(path)):
        key = (r["src_ip"], int(r["src_port"] or 0), r["dst_ip"], int(r["dst_port"] or 0), int(r["proto"]))
        rows[key].append((float(r["first_ts"]), float(r["last_ts"]), r["label"], r["scenario"]))
    return rows


def epoch(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


def match(rows, f):
    proto = f.get("proto")
    proto = PROTO.get(proto, proto) if isinstance(proto, str) else proto
    a = (f["src_ip"], f.get("src_port", 0), f["dest_ip"], f.get("dest_port", 0), proto)
    b = (a[2], a[3], a[0], a[1], proto)
    start, end = epoch(f["flow"]["start"]), epoch(f["flow"]["end"])
    for key in (a, b):
        for (t0, t1, label, scenario) in rows.get(key, []):
            if start <= t1 + 1 and end >= t0 - 1:
                return label, scenario
    return None


def over_threshold(ml):
    """The record's verdict is an alert before policy: over its threshold and
    not dropped by the support gate (`unsupported_class`)."""
    return ml.get("score", 0) >= ml.get("threshold", 1) and "unsupported_class" not in ml


def test_blocks(matched):
    """The flows in train's test split (LabelledData.swift: blocks 5 and 10 of ten)."""
    groups = collections.defaultdict(list)
    for i, (f, m) in enumerate(matched):
        groups[m].append(i)
    keep = set()
    for idx in groups.values():
        idx.sort(key=lambda i: epoch(matched[i][0]["flow"]["start"]))
        n = len(idx)
        if n < 10:
            continue
        for rank, i in enumerate(idx):
            if min(9, rank * 10 // n) % 5 == 4:
                keep.add(i)
    return [matched[i] for i in sorted(keep)]


def score(binary, model, capture, extra=()):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "flows.json")
        cmd = [binary, "replay", capture, "--flows", out, "--no-sequence", *extra]
        if model:
            cmd += ["--model", model]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if not os.path.exists(out):
            sys.exit(f"{capture}: replay failed: {p.stderr.strip()}")
        return [json.loads(line) for line in open(out)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("captures", nargs="+")
    ap.add_argument("--model")
    ap.add_argument("--bin", default=os.path.join(ROOT, ".build", "release", "flowsentry"))
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--test-blocks", action="store_true")
    ap.add_argument("--no-evidence-gate", action="store_true", help="replay with --no-evidence-gate")
    a = ap.parse_args()
    tally = collections.defaultdict(lambda: [0, 0, 0])  # flows, models only, with behaviour
    for cap in a.captures:
        rows = load_labels(cap[: -len(".pcap")] + ".labels.csv")
        name = os.path.basename(cap)
        matched = []
        for f in score(a.bin, a.model, cap, ["--no-evidence-gate"] if a.no_evidence_gate else []):
            m = match(rows, f)
            if m is not None:
                matched.append((f, m))
        if a.test_blocks:
            matched = test_blocks(matched)
        for f, m in matched:
            ml = f.get("ml", {})
            over = over_threshold(ml)
            models = over and ml.get("source") != "behaviour"
            for key in ((name, m[0], m[1]), (name, m[0], "*"), ("*", m[0], "*")):
                t = tally[key]
                t[0] += 1
                t[1] += models
                t[2] += over
    out = [{"capture": k[0], "class": k[1], "scenario": k[2], "flows": v[0], "models": v[1], "with_behaviour": v[2]}
           for k, v in sorted(tally.items())]
    if a.json:
        print(json.dumps(out, indent=1))
        return 0
    print("| capture | class | scenario | flows | models only | with behaviour |")
    print("|---|---|---|---:|---:|---:|")
    for x in out:
        print(f"| {x['capture']} | {x['class']} | {x['scenario']} | {x['flows']} | {x['models']} | {x['with_behaviour']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
