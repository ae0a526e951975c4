#!/usr/bin/env python3
"""Scores the public captures in ../shared/captures-public with a model bundle
and prints, per capture, its file-level label (from MANIFEST.tsv), the flows
and how many were flagged (verdict over the threshold, before policy) by the
models alone and in all (the models or a behaviour verdict), plus
the benign flow false-positive rate. The labels come from the captures'
origin (see the MANIFEST's label_source), not from us.

Usage: scripts/evaluate_public.py [--model BUNDLE] [--bin .build/release/flowsentry] [--json]
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from evaluate_lab import over_threshold  # noqa: E402
PUBLIC = os.path.join(ROOT, "..", "shared", "captures-public")


def score(binary, model, capture, extra=()):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "flows.json")
        cmd = [binary, "replay", capture, "--flows", out, *extra]
        if model:
            cmd += ["--model", model]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0 and not os.path.exists(out):
            return None, p.stderr.strip().splitlines()[-1] if p.stderr else "failed"
        flows = [json.loads(line) for line in open(out)]
    flagged = [f for f in flows if over_threshold(f.get("ml", {}))]
    by_models = [f for f in flagged if f["ml"].get("source") != "behaviour"]
    classes = {}
    for f in flagged:
        c = f["ml"]["class"]
        classes[c] = classes.get(c, 0) + 1
    return {"flows": len(flows), "flagged": len(flagged), "flagged_by_models": len(by_models), "classes": classes}, None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model")
    ap.add_argument("--bin", default=os.path.join(ROOT, ".build", "release", "flowsentry"))
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--no-evidence-gate", action="store_true", help="replay with --no-evidence-gate")
    a = ap.parse_args()
    manifest = os.path.join(PUBLIC, "MANIFEST.tsv")
    if not os.path.exists(manifest):
        print(f"no {manifest}", file=sys.stderr)
        return 1
    rows = list(csv.DictReader(open(manifest), delimiter="\t"))
    results = []
    for r in rows:
        label = r["label"]
        if not (label == "benign" or label.startswith("attack:")):
            continue
        res, err = score(a.bin, a.model, os.path.join(PUBLIC, r["name"]), ["--no-evidence-gate"] if a.no_evidence_gate else [])
        results.append({"capture": r["name"], "label": label, **(res or {"error": err})})
    benign = [x for x in results if x["label"] == "benign" and "flows" in x]
    bf = sum(x["flows"] for x in benign)
    bp = sum(x["flagged"] for x in benign)
    summary = {"benign_flows": bf, "benign_flagged": bp, "benign_fpr": bp / bf if bf else None}
    if a.json:
        print(json.dumps({"captures": results, "summary": summary}, indent=1))
        return 0
    print("| capture | label | flows | flagged by the models | flagged in all (with behaviour) | as |")
    print("|---|---|---|---|---|---|")
    for x in results:
        if "error" in x:
            print(f"| {x['capture']} | {x['label']} | error: {x['error']} | | | |")
            continue
        cls = ", ".join(f"{k} {v}" for k, v in sorted(x["classes"].items()))
        print(f"| {x['capture']} | {x['label']} | {x['flows']} | {x['flagged_by_models']} | {x['flagged']} | {cls} |")
    if bf:
        print(f"\nbenign flows flagged: {bp} of {bf} ({100 * bp / bf:.1f} %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
