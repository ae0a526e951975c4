#!/usr/bin/env bash
# Spine benchmark on one capture, all numbers from the same run:
#   flowsentry-bench: bare libpcap read loop, read+decode, whole spine,
#   spine + EVE JSON (best of N), allocations per packet, bytes per flow;
#   then nfdump's nfpcapd on the same file (wall time, best of N) for scale.
# Usage: scripts/bench.sh CAPTURE [REPEATS]
set -euo pipefail
cd "$(dirname "$0")/.."
cap=${1:?usage: scripts/bench.sh CAPTURE [REPEATS]}
n=${2:-3}
swift build -c release --product flowsentry-bench >/dev/null
json=$(.build/release/flowsentry-bench "$cap" --repeats "$n" --json)
.build/release/flowsentry-bench "$cap" --repeats "$n"
if command -v nfpcapd >/dev/null; then
  best=""
  for _ in $(seq "$n"); do
    d=$(mktemp -d)
    s=$(date +%s.%N); nfpcapd -r "$cap" -w "$d" >/dev/null 2>&1 || true; e=$(date +%s.%N)
    rm -rf "$d"
    t=$(python3 -c "print($e-$s)")
    best=$(python3 -c "b='$best'; print(min(float(b), $t) if b else $t)")
  done
  python3 - "$json" "$best" <<'PY'
import json, sys
j = json.loads(sys.argv[1]); t = float(sys.argv[2])
read = j["stages"][0]["packets_per_s"]; pps = j["packets"] / t
print(f"nfpcapd (nfdump {''}, wall time incl. start-up) {pps:12.0f} packets/s   {100*pps/read:.1f}% of read loop")
PY
fi
