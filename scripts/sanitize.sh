#!/usr/bin/env bash
# Runs the Swift test suite under AddressSanitizer and/or ThreadSanitizer,
# each in its own build directory, then (ASan) replays mutated captures
# through the sanitized binary. Tests that run the `flowsentry` binary get
# the sanitized one through FLOWSENTRY_BIN.
#
# ThreadSanitizer builds define FLOWSENTRY_TSAN, which turns FSMutex
# (Sources/Locking) from Synchronization.Mutex into a pthread mutex that
# TSan can see (docs/robustness.md explains why).
#
# Usage: scripts/sanitize.sh [address|thread|all] [swift test args, e.g. --filter FlowsTests]
# Logs: .build-asan/sanitize.log, .build-tsan/sanitize.log. Exit 1 on any
# sanitizer report or failing test.
set -uo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
[ $# -gt 0 ] && shift
case "$what" in
  all) kinds=(address thread) ;;
  address|thread) kinds=("$what") ;;
  *) echo "usage: scripts/sanitize.sh [address|thread|all] [swift test args]" >&2; exit 2 ;;
esac
status=0
for kind in "${kinds[@]}"; do
  if [ "$kind" = address ]; then
    scratch=.build-asan; defs=()
    # Leak checking off: the Swift runtime's caches and the test harness's
    # globals are never freed by design; memory errors are what this is for.
    export ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:halt_on_error=1:exitcode=86"
  else
    scratch=.build-tsan; defs=(-Xswiftc -DFLOWSENTRY_TSAN)
    export TSAN_OPTIONS="halt_on_error=0:exitcode=86:second_deadlock_stack=1:history_size=4"
  fi
  mkdir -p "$scratch"
  log="$scratch/sanitize.log"
  echo "sanitize: $kind: building ($scratch)" >&2
  t0=$(date +%s)
  if ! swift build --build-tests --sanitize="$kind" --scratch-path "$scratch" "${defs[@]}" >"$scratch/build.log" 2>&1; then
    tail -30 "$scratch/build.log" >&2
    echo "sanitize: $kind: build failed" >&2
    status=1; continue
  fi
  t1=$(date +%s)
  echo "sanitize: $kind: built in $((t1 - t0)) s; running the tests" >&2
  FLOWSENTRY_BIN="$PWD/$scratch/debug/flowsentry" \
    swift test --skip-build --sanitize="$kind" --scratch-path "$scratch" "${defs[@]}" "$@" >"$log" 2>&1
  rc=$?
  t2=$(date +%s)
  reports=$(grep -c -E "^(==[0-9]+==)?(ERROR|WARNING): (AddressSanitizer|ThreadSanitizer|LeakSanitizer)" "$log")
  summary=$(grep -E "Test run with|tests? (passed|failed)" "$log" | tail -1)
  echo "sanitize: $kind: tests exit $rc in $((t2 - t1)) s, $reports sanitizer reports; $summary" >&2
  grep -E "SUMMARY: (Address|Thread)Sanitizer" "$log" | sort | uniq -c | sort -rn | head -20 >&2
  { [ "$rc" -ne 0 ] || [ "$reports" -ne 0 ]; } && status=1
  if [ "$kind" = address ] && [ $# -eq 0 ] && [ -x "$scratch/debug/flowsentry" ]; then
    echo "sanitize: address: mutated captures through the ASan binary" >&2
    python3 scripts/fuzz_captures.py --bin "$scratch/debug/flowsentry" --count "${SANITIZE_FUZZ_COUNT:-300}" \
      --seed "${SANITIZE_FUZZ_SEED:-11}" --findings "$scratch/fuzz-findings" --timeout 60 >&2 || status=1
  fi
done
exit $status
