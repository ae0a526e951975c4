#!/usr/bin/env bash
# Two builds of flowsentry-bench, alternated in one sitting on the same
# capture: each round runs OLD then NEW (spine stages, and with --model the
# scoring rates), and the medians over the rounds are printed side by side.
# Spine stages are given as a share of the bare libpcap read loop measured
# in the same run, so a machine that slows down mid-sitting moves both
# builds alike. Use it to show that a change made nothing slower.
#
# Usage: scripts/bench_compare.sh OLD_BENCH NEW_BENCH CAPTURE [ROUNDS] [--model BUNDLE]
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: $0 OLD_BENCH NEW_BENCH CAPTURE [ROUNDS] [--model BUNDLE]" >&2; exit 2; }
old=$1 new=$2 cap=$3; shift 3
rounds=5
if [ $# -gt 0 ] && [ "$1" != --model ]; then rounds=$1; shift; fi
model=""
if [ $# -gt 0 ]; then [ "$1" = --model ] && [ $# -ge 2 ] || { echo "$0: expected --model BUNDLE" >&2; exit 2; }; model=$2; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for r in $(seq "$rounds"); do
  for side in old new; do
    bin=$old; [ $side = new ] && bin=$new
    "$bin" "$cap" --repeats 3 --json >"$tmp/spine.$side.$r.json"
    if [ -n "$model" ]; then "$bin" "$cap" --repeats 1 --model "$model" >"$tmp/scoring.$side.$r.txt" 2>/dev/null; fi
  done
done

python3 - "$tmp" "$rounds" "$cap" <<'PY'
import json, re, statistics, sys, pathlib
tmp, rounds, cap = pathlib.Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
print(f"{cap}: {rounds} rounds, old and new alternated; medians")
spine = {s: [json.loads((tmp / f"spine.{s}.{r}.json").read_text()) for r in range(1, rounds + 1)] for s in ("old", "new")}
names = [st["name"] for st in spine["old"][0]["stages"]]
print(f"{'stage':48} {'old':>16} {'new':>16} {'new/old':>8}")
for i, name in enumerate(names):
    row = []
    for s in ("old", "new"):
        share = [run["stages"][i]["packets_per_s"] / run["stages"][0]["packets_per_s"] for run in spine[s]]
        pps = [run["stages"][i]["packets_per_s"] for run in spine[s]]
        row.append((statistics.median(share), statistics.median(pps)))
    (so, po), (sn, pn) = row
    print(f"{name:48} {po/1e6:6.2f} M/s {100*so:5.1f}% {pn/1e6:6.2f} M/s {100*sn:5.1f}% {sn/so if i else pn/po:8.3f}")
scoring = {s: sorted(tmp.glob(f"scoring.{s}.*.txt")) for s in ("old", "new")}
if scoring["old"]:
    rate = re.compile(r"^\s+(.*?)\s+([0-9]+) flows/s$")
    def rates(path):
        return {m.group(1): float(m.group(2)) for line in path.read_text().splitlines() if (m := rate.match(line))}
    old = [rates(p) for p in scoring["old"]]; new = [rates(p) for p in scoring["new"]]
    print(f"\n{'scoring':60} {'old':>12} {'new':>12} {'new/old':>8}")
    for k in old[0]:
        o = statistics.median(r[k] for r in old); n = statistics.median(r[k] for r in new)
        print(f"{k:60} {o:12.0f} {n:12.0f} {n/o:8.3f}")
PY
