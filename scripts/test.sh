#!/usr/bin/env bash
# Runs the whole test suite: the Swift tests, then the Python oracle tests.
set -euo pipefail
cd "$(dirname "$0")/.."
# The release binary with the Swift runtime linked in: the one the Python
# tests run and scripts/test-deb.sh packages (built once; switching the flag
# back and forth rebuilds every module).
swift build -c release --static-swift-stdlib --product flowsentry
swift test
if [ -d tests/python ] && ls tests/python/test_*.py >/dev/null 2>&1; then
  FLOWSENTRY_BIN="$PWD/.build/release/flowsentry" python3 -m pytest -q tests/python
fi
# The Debian package: built, installed with dpkg -i, run from its installed paths, purged (root only).
bash scripts/test-deb.sh
# The Swift suite again under AddressSanitizer and ThreadSanitizer (about 6
# and 5 minutes from clean build directories; FLOWSENTRY_SANITIZE=address or
# =thread runs one, =0 skips them).
san=${FLOWSENTRY_SANITIZE:-all}
if [ "$san" != 0 ]; then bash scripts/sanitize.sh "$san"; fi
