#!/usr/bin/env bash
# FlowSentry traffic lab: rebuild every capture from scratch.
#   sudo scripts/lab/run.sh                      # all captures into captures/
#   sudo scripts/lab/run.sh --scale 30 --only mixed-1 --prefix bench- --out lab-out
# Installs the tools it needs (Debian apt; aioquic from PyPI into a venv), runs scripts/lab/lab.py, and always
# removes the lab's network namespaces at the end, also when a step fails.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/../.."

if [ "$(id -u)" != 0 ]; then echo "run as root (network namespaces)" >&2; exit 1; fi

pkgs=(iproute2 ethtool tcpdump tshark nginx dnsmasq openssh-server openssh-client sshpass
      iperf3 nmap masscan hping3 hydra slowhttptest apache2-utils wrk iodine vsftpd chrony
      ntpdate openssl curl dnsutils python3 iputils-ping
      medusa ncrack dovecot-imapd dovecot-pop3d
      unbound nsd samba smbclient rsync mosquitto mosquitto-clients slapd ldap-utils snmpd snmp
      swaks libnet-ssleay-perl libio-socket-ssl-perl python3-aiosmtpd python3-venv ngtcp2-client)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# HTTP/3 over QUIC (benign-wide-5): aioquic from PyPI in a venv of its own (Debian has no python3-aioquic)
export FS_LAB_VENV="${FS_LAB_VENV:-/opt/fs-lab-venv}"
if ! "$FS_LAB_VENV/bin/python" -c 'import aioquic' 2>/dev/null; then
  /usr/bin/python3 -m venv "$FS_LAB_VENV"
  "$FS_LAB_VENV/bin/pip" install -q aioquic==1.7.2
fi

cleanup() { python3 "$here/lab.py" --cleanup || true; }
trap cleanup EXIT INT TERM HUP
start=$(date +%s)
python3 "$here/lab.py" "$@"
echo "lab took $(( $(date +%s) - start ))s"
