#!/usr/bin/env bash
# Installs what FlowSentry needs on Debian 12 (idempotent): the system
# libraries it links (libpcap, OpenBLAS, libsvm) and the independent tools the
# tests compare against or drive (tshark, tcpdump, tcpreplay, iproute2, zzuf;
# nfstream from PyPI), and dpkg-dev for scripts/build-deb.sh.
set -euo pipefail
need=()
for p in libpcap-dev libopenblas-dev libsvm-dev tshark tcpdump tcpreplay iproute2 python3-pip zzuf dpkg-dev redis-server redis-tools; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [ -f scripts/requirements-test.txt ]; then
  python3 -m pip install -q --disable-pip-version-check -r scripts/requirements-test.txt >&2 || \
    echo "setup: warning: could not install Python test requirements (oracle tests will skip)" >&2
fi
# promtool (tests/python/test_metrics_endpoint.py checks the exposition with
# it): taken out of Debian's `prometheus` package without installing the
# package, so no user is created and no server started (19 MB download,
# about 4 s). Best effort: without it that check is skipped.
if ! command -v promtool >/dev/null 2>&1; then
  tmp=$(mktemp -d)
  if (cd "$tmp" && apt-get download -qq prometheus >/dev/null 2>&1) && dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/x"; then
    $SUDO install -m 0755 "$tmp/x/usr/bin/promtool" /usr/local/bin/promtool
  else
    echo "setup: warning: could not fetch promtool (the promtool check is skipped)" >&2
  fi
  rm -rf "$tmp"
fi
