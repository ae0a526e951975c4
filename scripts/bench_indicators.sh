#!/usr/bin/env bash
# The record path with a large indicator set loaded vs none, alternated in
# one sitting (docs/performance.md, "Indicators"). N rounds, each running
# `flowsentry replay` four ways: CAPTURE without and with the feed, and a
# tiny capture (captures/demo.pcap) without and with it, whose difference is
# the feed's load. Spine only (--no-score) and scored. Measured: CPU time
# (user + sys, all threads; steadier than wall time on a shared machine)
# and the replay's own wall time ("read … in X s", which leaves the load
# out). The feed's matching costs  with − none − load;  the ratio printed is
# (with − load) / none, medians of the rounds. Then the load's wall time and
# peak RSS.
# Usage: scripts/bench_indicators.sh CAPTURE [N] [FEED]
#   FEED default: 2.5 million indicators written by scripts/make_indicator_feed.py
set -euo pipefail
cd "$(dirname "$0")/.."
cap=${1:?usage: scripts/bench_indicators.sh CAPTURE [N] [FEED]}
n=${2:-5}
feed=${3:-}
bin=.build/release/flowsentry
small=captures/demo.pcap
[ -x "$bin" ] || swift build -c release --product flowsentry >/dev/null
if [ -z "$feed" ]; then
  feed=$(mktemp --suffix=.intel)
  trap 'rm -f "$feed"' EXIT
  python3 scripts/make_indicator_feed.py "$feed" 2500000
fi
# One run: prints "CPU_SECONDS WALL_SECONDS" (wall: the replay's own).
run() {
  /usr/bin/time -f "cpu %U %S" "$bin" replay "$@" 2>&1 \
    | awk '/^cpu /{c=$2+$3} /^flowsentry: read /{for(i=1;i<=NF;i++) if($i=="in") w=$(i+1)} /indicators: [0-9]+ hits/{h=$2} END{print c, w, h+0}'
}
for mode in spine scored; do
  # Without scoring or indicators replay takes no --alerts: the feed's runs add it.
  if [ "$mode" = spine ]; then args=(--no-score --flows /dev/null); feedargs=(--alerts /dev/null)
  else args=(--flows /dev/null --alerts /dev/null); feedargs=(); fi
  rows=()
  for _ in $(seq "$n"); do
    rows+=("$(run "$cap" "${args[@]}") $(run "$cap" "${args[@]}" "${feedargs[@]}" --indicators "$feed") $(run "$small" "${args[@]}") $(run "$small" "${args[@]}" "${feedargs[@]}" --indicators "$feed")")
  done
  printf '%s\n' "${rows[@]}" | python3 -c '
import statistics, sys
mode = sys.argv[1]
r = [[float(x) for x in line.split()] for line in sys.stdin if line.strip()]
# columns: cpu wall hits, for: big none, big feed, small none, small feed
none = [x[0] for x in r]; feed = [x[3] for x in r]; load = [x[9] - x[6] for x in r]
wn = [x[1] for x in r]; wf = [x[4] for x in r]
m = statistics.median
print(f"{mode}: CPU none {m(none):.3f} s, with the feed {m(feed):.3f} s, its load {m(load):.3f} s: "
      f"ratio (with - load) / none {m([(f - l) / n for n, f, l in zip(none, feed, load)]):.3f}; "
      f"replay wall none {m(wn):.3f} s, with {m(wf):.3f} s (ratio {m(wf) / m(wn):.3f}); hits {int(r[0][5])}")
print("   rounds (cpu none, cpu feed, load):", [(round(a, 2), round(b, 2), round(c, 2)) for a, b, c in zip(none, feed, load)])
' "$mode"
done
for label in none feed; do
  extra=(); [ "$label" = feed ] && extra=(--indicators "$feed")
  /usr/bin/time -f "load ($label): %e s wall, %U s user, peak RSS %M KB" "$bin" replay "$small" --no-score --flows /dev/null "${extra[@]}" 2>&1 \
    | grep -E "^load|indicators .*MiB" || true
done
