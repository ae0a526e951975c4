#!/usr/bin/env bash
# Runs the whole test suite: the Swift tests, then the Python oracle tests.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product flowsentry
swift test
if [ -d tests/python ] && ls tests/python/test_*.py >/dev/null 2>&1; then
  FLOWSENTRY_BIN="$PWD/.build/release/flowsentry" python3 -m pytest -q tests/python
fi
# The Swift suite again under AddressSanitizer and ThreadSanitizer (about 6
# and 5 minutes from clean build directories; FLOWSENTRY_SANITIZE=address or
# =thread runs one, =0 skips them).
san=${FLOWSENTRY_SANITIZE:-all}
if [ "$san" != 0 ]; then bash scripts/sanitize.sh "$san"; fi
