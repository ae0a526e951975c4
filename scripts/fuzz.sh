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
targets=(decoder flowtable streamprefix tls http ssh dns quic resp)
[ -n "${FUZZ_TARGETS:-}" ] && read -r -a targets <<< "$FUZZ_TARGETS"  # e.g. FUZZ_TARGETS="tls dns" 
for t in "${targets[@]}"; do mkdir -p "$out" Fuzz/findings "Fuzz/corpus/$t"; done
flags=(-sanitize=fuzzer,address -parse-as-library -O -g -swift-version 6 -package-name FlowSentry)
swiftc "${flags[@]}" -module-name FuzzDecoder Sources/Decoding/*.swift Fuzz/DecoderFuzz.swift -o "$out/decoder" 2>&1 | grep -v "ld.gold: warning" || true
# One module from several: drop the cross-module imports, and the files that
# need swift-crypto and are not on the parsers' or the table's path
# (Community ID and its SHA-1; the JA3/JA4/HASSH/certificate hashes, computed for output only;
# QUICInitialKeys.swift compiles without swift-crypto and then opens no packet).
merge() {  # merge DIR MODULES...: copies the modules' sources into DIR
  local dir=$1; shift; rm -rf "$dir"; mkdir -p "$dir"
  for m in "$@"; do
    for f in Sources/$m/*.swift; do
      case "$(basename "$f")" in CommunityID.swift|SHA1Block.swift|*Fingerprints.swift) continue;; esac
      sed -E '/^import (Decoding|Locking|Context|AppLayer|Features|Flows|Crypto)$/d' "$f" > "$dir/$m-$(basename "$f")"
    done
  done
}
merge "$out/flowtable-src" Decoding Locking Context AppLayer Features Flows
swiftc "${flags[@]}" -I Sources/CPrefetch -module-name FuzzFlowTable "$out/flowtable-src"/*.swift Fuzz/FlowTableFuzz.swift -o "$out/flowtable" 2>&1 | grep -v "ld.gold: warning" || true
merge "$out/applayer-src" Decoding AppLayer
for t in tls http ssh dns quic; do
  f=$(ls Fuzz/ | grep -i "^${t}Fuzz.swift$")
  swiftc "${flags[@]}" -module-name "Fuzz$t" "$out/applayer-src"/*.swift "Fuzz/$f" -o "$out/$t" 2>&1 | grep -v "ld.gold: warning" || true
done
sed -E '/^import Decoding$/d' Sources/Features/StreamPrefixPool.swift > "$out/StreamPrefixPool.swift"
swiftc "${flags[@]}" -module-name FuzzStreamPrefix Sources/Decoding/*.swift "$out/StreamPrefixPool.swift" \
  Fuzz/StreamPrefixFuzz.swift -o "$out/streamprefix" 2>&1 | grep -v "ld.gold: warning" || true
swiftc "${flags[@]}" -module-name FuzzRESP Sources/Sensor/Outputs/RESP.swift Fuzz/RESPFuzz.swift -o "$out/resp" 2>&1 | grep -v "ld.gold: warning" || true
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
# Parser seeds: each TCP stream's first client and server bytes (tshark),
# split as the targets read them.
python3 - <<'PY'
import glob, subprocess, struct, os
n = 0
for path in ["captures/benign-2.pcap", "captures/attack-bruteforce-web.pcap", "captures/attack-tunnel-c2.pcap"]:
    if not os.path.exists(path): continue
    for s in range(0, 25):
        r = subprocess.run(["tshark", "-r", path, "-q", "-z", f"follow,tcp,raw,{s}"], capture_output=True, text=True).stdout
        c, sv = b"", b""
        for line in r.splitlines():
            t = line.strip()
            if not t or any(ch not in "0123456789abcdef" for ch in t): continue
            if line.startswith("\t"): sv += bytes.fromhex(t)
            else: c += bytes.fromhex(t)
        if not c and not sv: break
        c, sv = c[:4096], sv[:4096]
        for t in ("tls", "http", "ssh"):
            open(f"Fuzz/corpus/{t}/seed-{n:05d}", "wb").write(struct.pack(">H", len(c)) + c + sv)
        open(f"Fuzz/corpus/dns/seed-{n:05d}", "wb").write(b"\x01" + struct.pack(">H", len(c)) + c + sv)
        n += 1
print(f"fuzz: {n} parser seeds")
# QUIC: the first UDP/443 datagrams of the HTTP/3 lab capture (selector 0: a datagram).
q = 0
if os.path.exists("captures/benign-wide-5.pcap"):
    r = subprocess.run(["tshark", "-r", "captures/benign-wide-5.pcap", "-Y", "udp.port == 443", "-c", "200",
                        "-T", "fields", "-e", "udp.payload"], capture_output=True, text=True).stdout
    for line in r.split():
        open(f"Fuzz/corpus/quic/seed-{q:05d}", "wb").write(b"\x00" + bytes.fromhex(line.replace(":", "")))
        q += 1
print(f"fuzz: {q} QUIC seeds")
PY
# Reply parser seeds: the replies a Redis output reads.
printf '+OK\r\n' > Fuzz/corpus/resp/seed-ok
printf ':42\r\n' > Fuzz/corpus/resp/seed-int
printf -- '-WRONGTYPE Operation against a key holding the wrong kind of value\r\n' > Fuzz/corpus/resp/seed-err
printf '$15\r\n1700000000000-0\r\n' > Fuzz/corpus/resp/seed-bulk
printf '*2\r\n*1\r\n:1\r\n$-1\r\n' > Fuzz/corpus/resp/seed-array
for t in "${targets[@]}"; do
  echo "fuzz: $t for ${secs}s"
  "$out/$t" -max_total_time="$secs" -artifact_prefix=Fuzz/findings/"$t"- -print_final_stats=1 \
    -max_len=$([ "$t" = decoder ] || [ "$t" = flowtable ] && echo 2048 || echo 8300) Fuzz/corpus/$t 2>&1 | grep -E "stat::|Done|ERROR|SUMMARY" || true
done
ls Fuzz/findings | grep -q . && { echo "fuzz: findings in Fuzz/findings"; exit 1; } || echo "fuzz: no findings"
