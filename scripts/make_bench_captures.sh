#!/usr/bin/env bash
# Builds the benchmark captures of docs/performance.md from captures nobody
# here wrote (../shared/captures-public) into OUT (default lab-out/, git-ignored):
#   bench-benign.pcap  the public benign TCP captures (SMB2 file transfer,
#                      HTTP browsing, SSH session) repeated 100 times, each
#                      copy shifted 60 s later in time, so flows stay distinct;
#   bench-flood.pcap   the public spoofed SYN flood repeated 20 times (each
#                      copy shifted 60 s) merged with one copy of the benign mix.
#   bench-mixed.pcap   bench-benign.pcap with two copies of the flood, 10 and
#                      50 minutes in (27 % of packets are flood packets).
# Needs editcap and mergecap (Debian: wireshark-common, installed with tshark).
# Usage: scripts/make_bench_captures.sh [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
pub=../shared/captures-public
out=${1:-lab-out}
[ -d "$pub" ] || { echo "no $pub: the public captures are needed" >&2; exit 1; }
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

benign=("$pub/ben_smb2_file_transfer.pcap" "$pub/ben_web_browsing_bro_org.pcap" "$pub/ben_ssh_single_session.pcap")
# Seconds of the first record (little-endian classic pcap, as these are).
first() { python3 -c 'import struct,sys; d=open(sys.argv[1],"rb").read(24+8); print(struct.unpack("<I", d[24:28])[0])' "$1"; }
# One benign block: the three captures moved to start at the same second
# (they were made years apart), merged by time.
base=1619605821
aligned=()
for f in "${benign[@]}"; do
  t=$(first "$f"); b=$(basename "$f" .pcap)
  editcap -F pcap -t "$(python3 -c "print($base - $t)")" "$f" "$tmp/$b.pcap"
  aligned+=("$tmp/$b.pcap")
done
mergecap -F pcap -w "$tmp/block.pcap" "${aligned[@]}"
editcap -F pcap -t "$(python3 -c "print($base - $(first "$pub/atk_ddos_synflood_spoofed.pcap"))")" \
  "$pub/atk_ddos_synflood_spoofed.pcap" "$tmp/flood.pcap"

copies() {  # copies SRC N PREFIX: N time-shifted copies of SRC
  local src=$1 n=$2 prefix=$3
  for i in $(seq 0 $((n - 1))); do
    editcap -F pcap -t $((i * 60)) "$src" "$tmp/$prefix-$i.pcap"
  done
}
copies "$tmp/block.pcap" 100 b
mergecap -a -F pcap -w "$out/bench-benign.pcap" $(for i in $(seq 0 99); do echo "$tmp/b-$i.pcap"; done)

copies "$tmp/flood.pcap" 20 f
mergecap -F pcap -w "$out/bench-flood.pcap" "$tmp/block.pcap" $(for i in $(seq 0 19); do echo "$tmp/f-$i.pcap"; done)

# mixed: the benign capture with two copies of the flood, 10 and 50 minutes in
# (about a quarter of its packets open a new flow).
editcap -F pcap -t 600 "$tmp/flood.pcap" "$tmp/m-600.pcap"
editcap -F pcap -t 3000 "$tmp/flood.pcap" "$tmp/m-3000.pcap"
mergecap -F pcap -w "$out/bench-mixed.pcap" "$out/bench-benign.pcap" "$tmp/m-600.pcap" "$tmp/m-3000.pcap"

for f in "$out/bench-benign.pcap" "$out/bench-flood.pcap" "$out/bench-mixed.pcap"; do
  echo "$f: $(capinfos -c -M "$f" | awk -F': *' '/Number of packets/ {print $2}') packets"
done
