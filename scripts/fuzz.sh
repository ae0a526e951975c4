#!/usr/bin/env bash
# Builds the libFuzzer targets (-sanitize=fuzzer,address) straight from the
# module sources and runs each for a bounded time, seeded from the project's
# captures. Findings land in Fuzz/findings/; reproduce one with
#   .build/fuzz/decoder Fuzz/findings/<file>
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
out=.build/fuzz
mkdir -p "$out" Fuzz/findings Fuzz/corpus/decoder Fuzz/corpus/flowtable
flags=(-sanitize=fuzzer,address -parse-as-library -O -g -swift-version 6 -package-name FlowSentry)
swiftc "${flags[@]}" -module-name FuzzDecoder Sources/Decoding/*.swift Fuzz/DecoderFuzz.swift -o "$out/decoder" 2>&1 | grep -v "ld.gold: warning" || true
# One module from four: drop the cross-module imports (and Community ID, the
# one file that needs swift-crypto and is not on the table's path).
src="$out/flowtable-src"; rm -rf "$src"; mkdir -p "$src"
for f in Sources/Decoding/*.swift Sources/Locking/*.swift Sources/Features/*.swift Sources/Flows/*.swift; do
  [ "$(basename "$f")" = CommunityID.swift ] && continue
  sed -E '/^import (Decoding|Locking|Features|Flows)$/d' "$f" > "$src/$(basename "$(dirname "$f")")-$(basename "$f")"
done
swiftc "${flags[@]}" -module-name FuzzFlowTable "$src"/*.swift Fuzz/FlowTableFuzz.swift -o "$out/flowtable" 2>&1 | grep -v "ld.gold: warning" || true
# Seeds: the first packets of every capture, one file per packet, prefixed
# with a link-type selector byte (0 = Ethernet).
python3 - <<'PY'
import glob, os, struct
n = 0
for path in sorted(glob.glob("captures/*.pcap") + glob.glob("Tests/SensorTests/Captures/*.pcap")):
    data = open(path, "rb").read()
    if len(data) < 24: continue
    magic = struct.unpack("<I", data[:4])[0]
    if magic not in (0xA1B2C3D4, 0xA1B23C4D): continue
    lt = struct.unpack("<I", data[20:24])[0]
    sel = {1: 0, 113: 1, 276: 2, 12: 3, 101: 3, 228: 4, 229: 5, 0: 6, 108: 7, 9: 8}.get(lt)
    if sel is None: continue
    off, k = 24, 0
    while off + 16 <= len(data) and k < 200:
        cap = struct.unpack("<I", data[off + 8:off + 12])[0]
        pkt = data[off + 16:off + 16 + cap]
        off += 16 + cap; k += 1
        open(f"Fuzz/corpus/decoder/seed-{n:06d}", "wb").write(bytes([sel, 0]) + pkt[:600]); n += 1
print(f"fuzz: {n} decoder seeds")
PY
for t in decoder flowtable; do
  echo "fuzz: $t for ${secs}s"
  "$out/$t" -max_total_time="$secs" -artifact_prefix=Fuzz/findings/"$t"- -print_final_stats=1 \
    -max_len=2048 Fuzz/corpus/$t 2>&1 | grep -E "stat::|Done|ERROR|SUMMARY" || true
done
ls Fuzz/findings | grep -q . && { echo "fuzz: findings in Fuzz/findings"; exit 1; } || echo "fuzz: no findings"
