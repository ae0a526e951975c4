#!/usr/bin/env python3
"""The site path, measured (issue 17 point 5): what `flowsentry baseline`
on a site's normal traffic does to that site's false alerts, and what it
costs in recall elsewhere.

Each SITE capture (benign, labelled: CAPTURE.labels.csv beside it) stands
for one site's traffic. It is cut in time at its midpoint (editcap): the
first half is the "day of normal traffic" `baseline` re-fits on, the second
half is the site's traffic afterwards. Reported per site: benign flows of
the second half over the threshold with the stock bundle and with the
site's bundle, and, for each site bundle, the attack flows it flags over the
ATTACK captures (labelled lab captures) against the stock bundle's count.
Flows are counted as the sensor alerts (evidence gate on, models or a
behaviour verdict, before policy).

Usage: scripts/evaluate_site.py --model B --sites S1.pcap ... --attacks A1.pcap ... [--json OUT]
"""
import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import evaluate_lab  # noqa: E402


def time_bounds(pcap):
    out = subprocess.run(["capinfos", "-a", "-e", "-S", "-T", "-r", pcap], capture_output=True, text=True,
                         check=True).stdout.strip().split("\t")
    return float(out[1]), float(out[2])


def halves(pcap, d):
    first, last = time_bounds(pcap)
    mid = (first + last) / 2
    a, b = os.path.join(d, "first.pcap"), os.path.join(d, "second.pcap")
    stamp = f"{mid:.6f}"
    subprocess.run(["editcap", "-B", stamp, pcap, a], check=True, capture_output=True)
    subprocess.run(["editcap", "-A", stamp, pcap, b], check=True, capture_output=True)
    return a, b


def counts(binary, model, pcap, labels):
    """Per label: [flows, over the threshold as the sensor alerts]."""
    rows = evaluate_lab.load_labels(labels)
    c = collections.defaultdict(lambda: [0, 0])
    for f in evaluate_lab.score(binary, model, pcap):
        m = evaluate_lab.match(rows, f)
        if m is None:
            continue
        c[m[0]][0] += 1
        c[m[0]][1] += evaluate_lab.over_threshold(f.get("ml", {}))
    return c


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.path.join(ROOT, "rules", "flowsentry.fsb"))
    ap.add_argument("--sites", nargs="+", required=True)
    ap.add_argument("--attacks", nargs="*", default=[])
    ap.add_argument("--bin", default=os.path.join(ROOT, ".build", "release", "flowsentry"))
    ap.add_argument("--json")
    a = ap.parse_args()
    label = lambda p: p[: -len(".pcap")] + ".labels.csv"  # noqa: E731
    stock_attacks = collections.Counter()
    attack_flows = collections.Counter()
    for cap in a.attacks:
        for lab, (n, k) in counts(a.bin, a.model, cap, label(cap)).items():
            if lab != "benign":
                attack_flows[lab] += n
                stock_attacks[lab] += k
    results = []
    for site in a.sites:
        with tempfile.TemporaryDirectory() as d:
            first, second = halves(site, d)
            bundle = os.path.join(d, "site.fsb")
            p = subprocess.run([a.bin, "baseline", "--captures", first, "--model", a.model, "--out", bundle],
                               capture_output=True, text=True)
            if p.returncode != 0:
                sys.exit(f"{site}: baseline failed: {p.stderr.strip()}")
            before = counts(a.bin, a.model, second, label(site))["benign"]
            after = counts(a.bin, bundle, second, label(site))["benign"]
            site_attacks = collections.Counter()
            for cap in a.attacks:
                for lab, (n, k) in counts(a.bin, bundle, cap, label(cap)).items():
                    if lab != "benign":
                        site_attacks[lab] += k
            results.append({"site": os.path.basename(site), "benign_flows": before[0],
                            "flagged_stock": before[1], "flagged_site": after[1],
                            "baseline_says": p.stdout.strip().splitlines(),
                            "attacks_stock": dict(stock_attacks), "attacks_site": dict(site_attacks)})
    print("| site (second half) | benign flows | flagged, stock bundle | flagged, after baseline on the first half |"
          " attack flows flagged elsewhere, stock → site bundle |")
    print("|---|---:|---:|---:|---|")
    for r in results:
        att = ", ".join(f"{k} {r['attacks_stock'].get(k, 0)} → {r['attacks_site'].get(k, 0)} of {attack_flows[k]}"
                        for k in sorted(attack_flows))
        print(f"| {r['site']} | {r['benign_flows']} | {r['flagged_stock']} | {r['flagged_site']} | {att} |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
