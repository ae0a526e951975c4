#!/usr/bin/env python3
"""Replay end to end at each flow-record detail level (issue 21, point 3).

For CAPTURE (default lab-out/bench-mixed.pcap, made by
scripts/make_bench_captures.sh): the bare libpcap read loop's packet rate
(flowsentry-bench, stage 0), then `flowsentry replay CAPTURE --flows FILE
--flow-detail D` for D in full, features, summary, records only
(`--no-score`) and scored (`--alerts /dev/null` too), the runs alternated
REPEATS times; prints medians of packets/s as a share of the read loop and
the bytes per flow record of each level.

Usage: scripts/bench_flow_detail.py [CAPTURE] [REPEATS]
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
cap = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "lab-out/bench-mixed.pcap")
repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
bin_ = os.environ.get("FLOWSENTRY_BIN", os.path.join(ROOT, ".build/release/flowsentry"))
bench = os.path.join(ROOT, ".build/release/flowsentry-bench")

levels = ["full", "features", "summary"]
modes = {"records only": ["--no-score"], "scored": ["--alerts", "/dev/null"]}
times = {(m, d): [] for m in modes for d in levels}
read_pps = []
sizes = {}
with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "flows.json")
    for r in range(repeats):
        j = json.loads(subprocess.run([bench, cap, "--repeats", "1", "--json"], capture_output=True, text=True,
                                      check=True).stdout)
        read_pps.append(j["stages"][0]["packets_per_s"])
        packets = j["packets"]
        for m, flags in modes.items():
            for d in levels:
                if os.path.exists(out):
                    os.remove(out)  # replay appends to an existing log
                t0 = time.perf_counter()
                subprocess.run([bin_, "replay", cap, "--flows", out, "--flow-detail", d, *flags],
                               capture_output=True, check=True)
                times[(m, d)].append(time.perf_counter() - t0)
                if m == "records only" and r == 0:
                    n = sum(1 for _ in open(out, "rb"))
                    sizes[d] = (os.path.getsize(out) / max(n, 1), n)
read = statistics.median(read_pps)
print(f"{cap}: {packets} packets; bare read loop {read:,.0f} packets/s (median of {repeats})")
print(f"{'detail':10} {'bytes/record':>13} {'records only':>14} {'scored':>10}   (× read loop)")
for d in levels:
    ro = packets / statistics.median(times[("records only", d)]) / read
    sc = packets / statistics.median(times[("scored", d)]) / read
    print(f"{d:10} {sizes[d][0]:13.0f} {ro:14.3f} {sc:10.3f}")
