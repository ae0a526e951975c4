#!/usr/bin/env python3
"""Print a markdown table of the captures: packets and flows per label (from the CSVs)."""
import collections, csv, glob, os, sys

d = sys.argv[1] if len(sys.argv) > 1 else "captures"
LABELS = ["benign", "scan", "dos", "bruteforce", "tunnel", "c2", "webattack"]
tot = collections.Counter()
print("| capture | MB | packets | flows | " + " | ".join(f"{l} flows/pkts" for l in LABELS) + " |")
print("|---" * (4 + len(LABELS)) + "|")
for p in sorted(glob.glob(os.path.join(d, "*.labels.csv"))):
    name = os.path.basename(p)[:-len(".labels.csv")]
    f, k = collections.Counter(), collections.Counter()
    for r in csv.DictReader(open(p)):
        f[r["label"]] += 1
        k[r["label"]] += int(r["packets"])
    mb = os.path.getsize(os.path.join(d, name + ".pcap")) / 2**20
    for l in LABELS:
        tot["f" + l] += f[l]; tot["p" + l] += k[l]
    tot["mb"] += mb; tot["p"] += sum(k.values()); tot["f"] += sum(f.values())
    print(f"| {name} | {mb:.1f} | {sum(k.values())} | {sum(f.values())} | "
          + " | ".join(f"{f[l]}/{k[l]}" if f[l] else "-" for l in LABELS) + " |")
print(f"| **total** | {tot['mb']:.1f} | {tot['p']} | {tot['f']} | "
      + " | ".join(f"{tot['f' + l]}/{tot['p' + l]}" for l in LABELS) + " |")
