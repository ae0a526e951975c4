#!/usr/bin/env bash
# --alert-pcap's cost, alternated in one sitting: each round replays CAPTURE
# with BASE (a build without the feature), with NEW without --alert-pcap, and
# with NEW with it; prints each run's wall seconds by side, then the last
# run's "alert pcap:" summary line. Run from the repository root (the
# default model bundle in rules/ is used). docs/performance.md.
#
# Usage: scripts/bench_alert_pcap.sh BASE_FLOWSENTRY NEW_FLOWSENTRY CAPTURE [ROUNDS]
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: $0 BASE_FLOWSENTRY NEW_FLOWSENTRY CAPTURE [ROUNDS]" >&2; exit 2; }
base=$1 new=$2 cap=$3 rounds=${4:-5}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for r in $(seq "$rounds"); do
  for side in base off on; do
    bin=$new; [ $side = base ] && bin=$base
    extra=(); [ $side = on ] && { rm -rf "$out/pcap"; extra=(--alert-pcap "$out/pcap"); }
    s=$(date +%s.%N)
    "$bin" replay "$cap" --flows /dev/null --alerts /dev/null "${extra[@]}" 2>"$out/err.$side" || { cat "$out/err.$side" >&2; exit 1; }
    e=$(date +%s.%N)
    echo "$side $(python3 -c "print(round($e - $s, 3))")"
  done
done | sort -k1,1 -s | awk '{a[$1]=a[$1]" "$2} END{for(k in a) print k":"a[k]}'
grep "alert pcap" "$out/err.on" || true
