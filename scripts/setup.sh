#!/usr/bin/env bash
# Installs what FlowSentry needs on Debian 12 (idempotent): the system
# libraries it links (libpcap, OpenBLAS, libsvm) and the independent tools the
# tests compare against or drive (tshark, tcpdump, tcpreplay, iproute2, zzuf;
# nfstream from PyPI), and dpkg-dev for scripts/build-deb.sh.
set -euo pipefail
need=()
for p in libpcap-dev libopenblas-dev libsvm-dev tshark tcpdump tcpreplay iproute2 python3-pip zzuf dpkg-dev; do
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
