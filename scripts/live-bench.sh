#!/usr/bin/env bash
# Live capture benchmark: replays CAPTURE with tcpreplay at increasing packet
# rates into one end of a veth pair and runs `flowsentry run` on the other
# end, first with 1 then with 2 capture workers. For every rate it reports
# what tcpreplay achieved and the sensor's final stats record (kernel_packets,
# kernel_drops, decoded packets, queue overflow); per worker count, the
# highest rate with zero kernel drops.
#
#   scripts/live-bench.sh CAPTURE [-r "RATES"] [-d SECONDS] [-w "WORKERS"] [-b BINARY]
#
#   -r  packet rates (packets/s) to try, ascending; "max" = tcpreplay --topspeed
#       (default "10000 25000 50000 100000 200000 400000 max")
#   -d  seconds of traffic per rate (default 5)
#   -w  worker counts (default "1 2")
#   -b  flowsentry binary (default .build/release/flowsentry)
#
# Needs root, ip, tcpreplay, python3. Everything happens in a network
# namespace + veth pair created here (no addresses; frames reach the sensor's
# end as received traffic) and is removed on exit. Bounded: each rate runs at
# most SECONDS + 20 s, and a worker count stops at its first rate with drops.
set -euo pipefail

usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
[ $# -ge 1 ] || usage
CAPTURE=$1; shift
RATES="10000 25000 50000 100000 200000 400000 max"
DURATION=5
WORKERS="1 2"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/.build/release/flowsentry
while getopts "r:d:w:b:h" o; do
    case $o in
        r) RATES=$OPTARG ;; d) DURATION=$OPTARG ;; w) WORKERS=$OPTARG ;; b) BIN=$OPTARG ;; *) usage ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "live-bench: needs root (network namespace, veth, capture)" >&2; exit 1; }
for t in ip tcpreplay python3 timeout; do
    command -v $t >/dev/null || { echo "live-bench: $t not found (apt-get install -y tcpreplay iproute2 python3)" >&2; exit 1; }
done
[ -x "$BIN" ] || { echo "live-bench: $BIN missing: swift build -c release --static-swift-stdlib --product flowsentry" >&2; exit 1; }
[ -r "$CAPTURE" ] || { echo "live-bench: cannot read $CAPTURE" >&2; exit 1; }

NS=fsbench$$; HOSTIF=fsb$$h; NSIF=fsb$$n
WORK=$(mktemp -d /tmp/fs-live-bench.XXXXXX)
SENSOR_PID=
cleanup() {
    [ -n "$SENSOR_PID" ] && kill -KILL "$SENSOR_PID" 2>/dev/null || true
    ip link del "$HOSTIF" 2>/dev/null || true
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

ip netns add "$NS"
ip link add "$HOSTIF" type veth peer name "$NSIF"
ip link set "$NSIF" netns "$NS"
sysctl -q -w "net.ipv6.conf.$HOSTIF.disable_ipv6=1" || true
ip netns exec "$NS" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 || true
ip link set "$HOSTIF" up
ip -n "$NS" link set lo up
ip -n "$NS" link set "$NSIF" up
command -v ethtool >/dev/null && ethtool -K "$HOSTIF" gro off lro off 2>/dev/null || true

# Packets in the capture (to size --loop).
NPKTS=$(python3 - "$CAPTURE" <<'EOF'
import struct, sys
f = open(sys.argv[1], "rb"); h = f.read(24)
magic = struct.unpack("<I", h[:4])[0]
if magic in (0xa1b2c3d4, 0xa1b23c4d): e = "<"
elif magic in (0xd4c3b2a1, 0x4d3cb2a1): e = ">"
else: print(0); sys.exit()
n = 0
while True:
    r = f.read(16)
    if len(r) < 16: break
    incl = struct.unpack(e + "IIII", r)[2]
    f.seek(incl, 1); n += 1
print(n)
EOF
)
[ "$NPKTS" -gt 0 ] || { echo "live-bench: $CAPTURE: only classic pcap is supported here (not pcapng)" >&2; exit 1; }

echo "capture: $CAPTURE ($NPKTS packets), $DURATION s per rate, binary $BIN, $(nproc) CPUs"
printf "%-7s %-9s %-11s %-14s %-12s %-10s %-9s %s\n" workers rate_pps actual_pps kernel_packets kernel_drops decoded overflow result
SUMMARY=""
for W in $WORKERS; do
    BEST=0
    for R in $RATES; do
        if [ "$R" = max ]; then SPEED=(--topspeed); N=500000; else SPEED=(--pps "$R"); N=$R; fi
        LOOPS=$(( (N * DURATION + NPKTS - 1) / NPKTS ))
        STATS=$WORK/stats-$W-$R.json
        "$BIN" run --interface "$HOSTIF" --stats "$STATS" --flows "$WORK/flows-$W-$R.json" \
            --stats-interval 1 --workers "$W" --fanout-group $(( ($$ % 30000) + 30000 )) --buffer-mb 64 \
            --idle-timeout 10 --no-sequence 2>"$WORK/err-$W-$R" &
        SENSOR_PID=$!
        for _ in $(seq 100); do grep -q "capturing on" "$WORK/err-$W-$R" 2>/dev/null && break; sleep 0.1; done
        ACTUAL=$(timeout $(( DURATION * 3 + 20 )) ip netns exec "$NS" tcpreplay -i "$NSIF" "${SPEED[@]}" --loop "$LOOPS" \
                    --preload-pcap -q "$CAPTURE" 2>&1 | sed -n 's/.*Rated: [0-9.]* Bps, [0-9.]* Mbps, \([0-9.]*\) pps.*/\1/p' | head -1)
        sleep 2  # let the workers poll their kernel counters once more
        kill -TERM "$SENSOR_PID"
        for _ in $(seq 150); do kill -0 "$SENSOR_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$SENSOR_PID" 2>/dev/null || true
        wait "$SENSOR_PID" 2>/dev/null || true
        SENSOR_PID=
        read -r KP KD DEC OVF < <(python3 - "$STATS" <<'EOF'
import json, sys
last = None
for line in open(sys.argv[1]):
    try: last = json.loads(line)
    except ValueError: pass
s = last["stats"] if last else {}
c, d, q = s.get("capture", {}), s.get("decoder", {}), s.get("queue", {})
print(c.get("kernel_packets", -1), c.get("kernel_drops", -1), d.get("decoded", -1), q.get("overflow", -1))
EOF
        )
        if [ "$KD" = 0 ] && [ "$KP" -gt 0 ]; then RESULT=ok; BEST="$R requested, ${ACTUAL:-?} achieved"; else RESULT=DROPS; fi
        printf "%-7s %-9s %-11s %-14s %-12s %-10s %-9s %s\n" "$W" "$R" "${ACTUAL:-?}" "$KP" "$KD" "$DEC" "$OVF" "$RESULT"
        [ "$RESULT" = ok ] || break
    done
    SUMMARY="$SUMMARY\n  $W worker(s): highest rate with zero kernel drops: $BEST pps"
done
echo -e "summary:$SUMMARY"
