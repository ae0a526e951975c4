#!/usr/bin/env bash
# Compares what two builds of flowsentry write, capture by capture: flow
# records, alerts, the stderr summary (wall time and packets/s removed) and
# the exit code of `replay`, scored and spine-only, and the `features` table.
# A refactor must leave every one of them byte-identical.
#
# Usage: scripts/compare_builds.sh OLD_BINARY NEW_BINARY [CAPTURE ...]
#   Without captures: every capture in captures/, ../shared/captures-public
#   and lab-out/bench-*.pcap (scripts/make_bench_captures.sh makes those).
# Exit code: 0 when every output agrees, 1 when any differs (each difference
# is named), 2 on a usage error.
set -uo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: $0 OLD_BINARY NEW_BINARY [CAPTURE ...]" >&2; exit 2; }
old=$(realpath "$1"); new=$(realpath "$2"); shift 2
for b in "$old" "$new"; do [ -x "$b" ] || { echo "$0: $b: not an executable" >&2; exit 2; }; done

caps=("$@")
if [ ${#caps[@]} -eq 0 ]; then
  shopt -s nullglob
  caps=(captures/*.pcap captures/*.pcapng ../shared/captures-public/*.pcap ../shared/captures-public/*.pcapng
        lab-out/bench-*.pcap)
fi
model=rules/flowsentry.fsb
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# One run of BINARY with ARGS into DIR: flows, alerts, stderr (times removed), rc.
run() {
  local bin=$1 dir=$2; shift 2
  mkdir -p "$dir"
  "$bin" "$@" 2>"$dir/stderr.raw"
  echo $? >"$dir/rc"
  # The summary's wall time and rate differ from run to run.
  sed -E 's/ in [0-9.]+ s \([0-9]+ packets\/s\)//' "$dir/stderr.raw" >"$dir/stderr"
  rm -f "$dir/stderr.raw"
}

differ=0 compared=0
for cap in "${caps[@]}"; do
  name=$(basename "$cap")
  for mode in scored spine features small-table; do
    for side in old new; do
      bin=$old; [ $side = new ] && bin=$new
      d="$tmp/$side/$name/$mode"
      case $mode in
        scored) run "$bin" "$d" replay "$cap" --model "$model" --flows "$d/flows.json" --alerts "$d/alerts.json" ;;
        spine) run "$bin" "$d" replay "$cap" --no-score --flows "$d/flows.json" ;;
        features) run "$bin" "$d" features "$cap" --format csv -o "$d/features.csv" ;;
        # Eviction, one stripe, short timeouts: the table's full and sweep paths.
        small-table) run "$bin" "$d" replay "$cap" --no-score --max-flows 64 --stripes 1 --idle-timeout 5 \
                       --active-timeout 30 --flows "$d/flows.json" ;;
      esac
    done
    compared=$((compared + 1))
    if ! out=$(diff -r "$tmp/old/$name/$mode" "$tmp/new/$name/$mode" 2>&1); then
      differ=$((differ + 1))
      echo "DIFFERS: $cap ($mode)"
      echo "$out" | head -c 2000 | sed 's/^/  /'
      echo
    fi
  done
  rm -rf "$tmp/old/$name" "$tmp/new/$name"
done
echo "compare_builds: ${#caps[@]} captures, $compared runs per build, $differ differing"
[ $differ -eq 0 ]
