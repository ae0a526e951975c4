#!/usr/bin/env python3
"""Replay end to end with the record writer on 1 and more threads (issue 21, point 2).

For CAPTURE (default lab-out/bench-mixed.pcap, made by
scripts/make_bench_captures.sh), each round: the bare libpcap read loop's
packet rate (flowsentry-bench, stage 0), then `flowsentry replay CAPTURE
--threads T --flows /dev/null` records only (`--no-score`), summary records
only (`--no-score --flow-detail summary`) and scored (`--alerts /dev/null`
too) for each T in THREADS (default 1,2), all
alternated within the round; prints the medians over ROUNDS as a share of the
read loop, the CPU seconds of each run, and the load average before and after.

FLOWSENTRY_BINS=A,B,... compares several builds (e.g. main's and a branch's)
in the same sitting: each round runs every build in turn, and each build
gets its own rows.

Usage: scripts/bench_threads.py [CAPTURE] [ROUNDS] [THREADS]
"""
import json
import os
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
cap = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "lab-out/bench-mixed.pcap")
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
threads = [int(t) for t in (sys.argv[3] if len(sys.argv) > 3 else "1,2").split(",")]
bins = os.environ.get("FLOWSENTRY_BINS", os.environ.get("FLOWSENTRY_BIN", os.path.join(ROOT, ".build/release/flowsentry"))).split(",")
bench = os.environ.get("FLOWSENTRY_BENCH", os.path.join(ROOT, ".build/release/flowsentry-bench"))

modes = {"records only": ["--no-score"], "summary only": ["--no-score", "--flow-detail", "summary"],
         "scored": ["--alerts", "/dev/null"]}
wall = {(b, m, t): [] for b in bins for m in modes for t in threads}
cpu = {(b, m, t): [] for b in bins for m in modes for t in threads}
read_pps = []
load_before = os.getloadavg()
for r in range(rounds):
    j = json.loads(subprocess.run([bench, cap, "--repeats", "1", "--json"], capture_output=True, text=True,
                                  check=True).stdout)
    read_pps.append(j["stages"][0]["packets_per_s"])
    packets = j["packets"]
    for m, flags in modes.items():
        for t in threads:
            for b in bins:
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                t0 = time.perf_counter()
                subprocess.run([b, "replay", cap, "--threads", str(t), "--flows", "/dev/null", *flags],
                               capture_output=True, check=True)
                wall[(b, m, t)].append(time.perf_counter() - t0)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu[(b, m, t)].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
load_after = os.getloadavg()
read = statistics.median(read_pps)
print(f"{cap}: {packets} packets; bare read loop {read:,.0f} packets/s (median of {rounds}); "
      f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after")
print(f"{'mode':14} {'threads':>7} {'× read loop':>12} {'wall s':>8} {'CPU s':>7}" + ("  build" if len(bins) > 1 else ""))
for m in modes:
    for t in threads:
        for b in bins:
            w = statistics.median(wall[(b, m, t)])
            print(f"{m:14} {t:7} {packets / w / read:12.3f} {w:8.3f} {statistics.median(cpu[(b, m, t)]):7.3f}"
                  + (f"  {b}" if len(bins) > 1 else ""))
