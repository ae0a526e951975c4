#!/usr/bin/env python3
"""Broad benign captures of the FlowSentry traffic lab (issue 17).

Five captures made only on request (`lab.py --only benign-wide-1,...,benign-wide-5`),
benign only, for a leave-one-group-out evaluation of the classifiers on
ordinary traffic of other networks. Each capture has its own domain
randomisation drawn from the seed (per host one-way delay 0.05-150 ms,
jitter, loss 0-3 %, MTU 1280-9000, TCP window scaling / timestamps / SACK /
ECN / congestion control per namespace, default TTL; the number of
concurrent clients; the service mix), recorded in its meta.json.

Real tools on extra namespaces that exist only when these captures are asked
for (the other captures' namespaces, addresses and draws stay as they were):

* fs-wmx   mail: aiosmtpd (mailserver.py) :25 STARTTLS and :587 submission
           (STARTTLS + AUTH), dovecot IMAP :143 STARTTLS, IMAPS :993,
           POP3 :110 STLS, POP3S :995; clients swaks and curl
* fs-wweb  nginx HTTP/1.1 :80, HTTPS :443 with HTTP/2 (ALPN h2), TLS 1.2 and
           1.3; multi-object pages, long files, HLS playlists and segments,
           an apt-like repository; 3-8 extra addresses behind CDN names
* fs-wres  unbound, the recursive resolver of the new clients: stub zones on
           two authoritative nsd servers (fs-wns1, fs-wns2) with long
           CDN-style names and CNAME chains across zones, lab.test forwarded
           to the lab's dnsmasq
* fs-wnas  OpenSSH (interactive ssh in a pty, scp, rsync over ssh), samba
           (smbclient get/put), the rsync daemon :873
* fs-wiot  mosquitto :1883/:8883 (mosquitto_pub/sub sensors and dashboards),
           slapd :389 (ldapwhoami/ldapsearch, sometimes StartTLS),
           snmpd :161 (snmpget/snmpwalk)
* metricsd.py :9100 on fs-wnas, fs-wiot, fs-wweb, scraped by scrape.py
* fs-wc1..8 clients; 3-8 of them run workers per capture
* benign-wide-5 only: HTTP/3 over QUIC (aioquic, quicserver.py on fs-wweb's
  addresses, UDP :443; quicclient.py on the clients): multi-object page
  loads on one connection, resumed connections with 0-RTT, ranged
  downloads, NAT rebinding / migration, clients giving up on a QUIC server
  that never answers (then TCP) or refuses (ICMP port unreachable)

Every flow is labelled benign; its scenario names the activity that made
it (the record's endpoint rules: client, server addresses, protocol, port,
and the client's lookups at the resolver during the activity), resolver to
authority flows are `dns-recursion`, the lab's old benign workers (on h1..h8)
stay `background`.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import math
import os
import random
import shlex
import subprocess
import sys
import textwrap
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
NAMES = [f"benign-wide-{i}" for i in range(1, 6)]
QUIC_CAPTURES = {"benign-wide-5"}  # the captures that add HTTP/3 over QUIC to the mix
SRV = ["wmx", "wweb", "wres", "wns1", "wns2", "wnas", "wiot"]
CLI = [f"wc{i}" for i in range(1, 9)]
HOSTS = SRV + CLI
SYSPY = "/usr/bin/python3"        # Debian's python (python3-aiosmtpd)
VENV = os.environ.get("FS_LAB_VENV", "/opt/fs-lab-venv")   # aioquic (PyPI), made by run.sh
QUICPY = f"{VENV}/bin/python"
MARGIN = 6                        # seconds a foreground action leaves before the nominal end
GAP = 3.7                         # min seconds between two actions of one client (label window end + 3 s)

# foreground activities and their base weights (each capture multiplies them by 0.3-2)
KINDS = {
    "smtp-submission": 1.0, "smtp-relay": 0.5, "imap-starttls": 0.8, "imaps": 0.7, "pop3": 0.5,
    "web-h2": 1.6, "web-http1": 1.0, "web-browse": 0.8, "download": 0.25, "hls": 0.35, "apt-update": 0.35,
    "dns-lookups": 1.2, "ntp": 0.6, "smb": 0.8, "ssh-interactive": 0.5, "scp": 0.4, "rsync-ssh": 0.35,
    "rsync-daemon": 0.4, "ldap": 0.8,
}
# HTTP/3 over QUIC (the QUIC captures only; their weights are drawn from a generator of their own,
# so the draws of the other captures stay as they were)
QUIC_KINDS = {"quic-page": 2.0, "quic-page-ngtcp2": 0.8, "quic-download": 0.4, "quic-migrate": 0.8,
              "quic-giveup": 0.6, "quic-refused": 0.3}
SIDE = ["mqtt-sensor", "mqtt-subscriber", "prometheus-scrape", "snmp-poll"]
USERS = {"alice": "Sunflower#42", "bob": "tr0ub4dor&3", "carol": "correct-horse-7"}
UAS = ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36",
       "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
       "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
       "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
       "curl/7.88.1"]
WORDS = ("network flow sensor packet order report invoice meeting project budget product update release notes "
         "travel policy team weather market analysis security training calendar support ticket").split()


def plans(seed):
    """Per capture: duration (70-100 s), the old benign workers (1-3, mean think 2-6 s, no bulk/iperf3)."""
    out = {}
    for n in NAMES:
        r = random.Random(f"{seed}:{n}:plan")
        out[n] = {"wide": True, "duration": r.randint(70, 100), "workers": r.randint(1, 3),
                  "bg_think": round(r.uniform(2, 6), 1), "bg_skip": ["bulk", "iperf", "scp"]}
        if n in QUIC_CAPTURES:
            # six more activities, each twice in the first round: a longer capture with all 8 worker
            # clients, and one old background worker (the capture stays under 4 MiB)
            out[n].update(quic=True, duration=r.randint(100, 120), min_clients=8, workers=1)
    return out


def _L(lab):
    return sys.modules[type(lab).__module__]


# ------------------------------------------------------------------ namespaces
def build(lab):
    """The extra namespaces, and a bridge that carries 9000-byte frames."""
    L = _L(lab)
    for h in HOSTS:
        n = L.ns(h)
        L.sh(["ip", "netns", "add", n])
        os.makedirs(f"/etc/netns/{n}", exist_ok=True)
        L.nsx(h, ["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1",
                  "net.ipv4.icmp_ratelimit=0", "net.ipv4.ip_forward=0", "net.ipv4.ping_group_range=0 2147483647"])
        L.nsx(h, ["ip", "link", "set", "lo", "up"])
        L.sh(["ip", "link", "add", "v-" + h, "netns", L.BR, "type", "veth", "peer", "name", "eth0", "netns", n])
        L.sh(["ip", "netns", "exec", L.BR, "ip", "link", "set", "v-" + h, "master", "br0", "up"])
        L.sh(["ip", "netns", "exec", L.BR, "ethtool", "-K", "v-" + h, "gro", "off", "gso", "off", "tso", "off",
              "lro", "off", "tx", "off", "rx", "off"], check=False)
        L.nsx(h, ["ethtool", "-K", "eth0", "gro", "off", "gso", "off", "tso", "off", "lro", "off", "tx", "off",
                  "rx", "off"], check=False)
        L.nsx(h, ["ip", "link", "set", "eth0", "up"])
    for h in L.HOSTS + HOSTS:
        L.sh(["ip", "netns", "exec", L.BR, "ip", "link", "set", "v-" + h, "mtu", "9000"])
    L.sh(["ip", "netns", "exec", L.BR, "ip", "link", "set", "br0", "mtu", "9000"])
    # link delay/jitter/loss (linkdelay.py, this kernel has no netem): v-<host> leaves the
    # bridge; the relay joins it to q-<host>, whose peer r-<host> is the bridge port
    for h in relayed(lab):
        b = ["ip", "netns", "exec", L.BR]
        L.sh(b + ["ip", "link", "add", "q-" + h, "type", "veth", "peer", "name", "r-" + h])
        for i in ("q-" + h, "r-" + h):
            L.sh(b + ["ip", "link", "set", i, "mtu", "9000"])
            L.sh(b + ["ethtool", "-K", i, "gro", "off", "gso", "off", "tso", "off", "lro", "off", "tx", "off",
                      "rx", "off"], check=False)
        L.sh(b + ["ip", "link", "set", "v-" + h, "nomaster"])
        L.sh(b + ["ip", "link", "set", "r-" + h, "master", "br0", "up"])
        L.sh(b + ["ip", "link", "set", "q-" + h, "promisc", "on", "up"])
        L.sh(b + ["ip", "link", "set", "v-" + h, "promisc", "on", "up"])


def relayed(lab):
    L = _L(lab)
    return [h for h in L.HOSTS if h != "gw"] + HOSTS


def links_file(lab):
    return f"{lab.work}/wide/links.json"


TCP_DEFAULTS = {"net.ipv4.tcp_window_scaling": 1, "net.ipv4.tcp_timestamps": 1, "net.ipv4.tcp_sack": 1,
                "net.ipv4.tcp_ecn": 2}


def reset(lab):
    """A non-wide capture after a wide one in the same run: MTU 1500 and default TCP options."""
    L = _L(lab)
    json.dump({}, open(links_file(lab) + ".tmp", "w"))
    os.replace(links_file(lab) + ".tmp", links_file(lab))
    for h in L.HOSTS:
        L.nsx(h, ["ip", "link", "set", "eth0", "mtu", "1500"], check=False)
        L.nsx(h, ["sysctl", "-qw"] + [f"{k}={v}" for k, v in TCP_DEFAULTS.items()], check=False)


def randomise(lab, name, plan):
    """Addresses of the extra hosts, and the capture's domain randomisation on every host.
    Returns the drawn values (for the meta.json)."""
    L = _L(lab)
    rng = random.Random(f"{lab.seed}:{name}:wide")
    qrng = random.Random(f"{lab.seed}:{name}:quic")
    used = set(lab.addr.values()) | {ip for v in lab.extra.values() for ip in v}
    free = [str(L.NET.network_address + i) for i in rng.sample(range(2, L.NET.num_addresses - 2), 200)
            if (i & 0xFF) not in (0, 255)]
    free = [x for x in free if x not in used]
    lab.waddr = {h: free.pop() for h in HOSTS}
    lab.wextra = {"wweb": [free.pop() for _ in range(rng.randint(3, 8))]}
    # QUIC: an address of fs-wweb whose UDP :443 swallows every datagram (meet.corp.example)
    lab.wquic = {"blocked": free.pop()} if plan.get("quic") else None
    lab.wmac = {}
    for h in HOSTS:
        mac = "02:%02x:%02x:%02x:%02x:%02x" % tuple(rng.randrange(256) for _ in range(5))
        lab.wmac[h] = mac
        L.nsx(h, ["ip", "link", "set", "eth0", "down"])
        L.nsx(h, ["ip", "link", "set", "eth0", "address", mac])
        L.nsx(h, ["ip", "addr", "flush", "dev", "eth0"])
        L.nsx(h, ["ip", "addr", "add", lab.waddr[h] + "/16", "dev", "eth0"])
        for ip in lab.wextra.get(h, []) + ([lab.wquic["blocked"]] if lab.wquic and h == "wweb" else []):
            L.nsx(h, ["ip", "addr", "add", ip + "/16", "dev", "eth0"])
        L.nsx(h, ["ip", "link", "set", "eth0", "up"])
        with open(f"/etc/netns/{L.ns(h)}/resolv.conf", "w") as f:
            f.write(f"nameserver {lab.waddr['wres']}\nsearch corp.example\noptions timeout:2 attempts:2\n")
    hostsmeta = {}
    for h in [x for x in L.HOSTS if x != "gw"] + HOSTS:
        # one-way delay: LAN, metro or WAN-like, so RTTs between hosts range ~0.1-300 ms
        tier = rng.choices(["lan", "metro", "wan"], weights=[0.5, 0.3, 0.2])[0]
        d = math.exp(rng.uniform(*{"lan": (math.log(0.05), math.log(2)), "metro": (math.log(2), math.log(20)),
                                   "wan": (math.log(20), math.log(150))}[tier]))
        j = d * rng.choice([0, 0.02, 0.05, 0.1, 0.2, 0.3])
        loss = rng.choice([0, 0, 0, 0.1, 0.3, 0.5, 1, 2, 3])
        mtu = rng.choice([1280, 1360, 1400, 1420, 1450, 1480, 1492, 1500, 1500, 1500, 1500, 4000, 4470, 9000, 9000])
        ttl = rng.choice([32, 60, 63, 64, 64, 64, 64, 100, 128, 128, 128, 200, 255])
        tcp = {"net.ipv4.tcp_window_scaling": int(rng.random() > 0.2),
               "net.ipv4.tcp_timestamps": int(rng.random() > 0.3),
               "net.ipv4.tcp_sack": int(rng.random() > 0.15),
               "net.ipv4.tcp_ecn": rng.choice([0, 1, 1, 2, 2]),
               "net.ipv4.tcp_congestion_control": rng.choice(["cubic", "cubic", "reno", "bbr"])}
        L.nsx(h, ["ip", "link", "set", "eth0", "mtu", str(mtu)])
        L.nsx(h, ["sysctl", "-qw", f"net.ipv4.ip_default_ttl={ttl}"] + [f"{k}={v}" for k, v in tcp.items()],
              check=False)
        # no netem on the hosts (the relay in fs-br applies the delay): remove the lab's, where it exists
        L.nsx(h, ["tc", "qdisc", "del", "dev", "eth0", "root"], check=False)
        hostsmeta[h] = {"address": lab.waddr.get(h) or lab.addr[h], "delay_ms": round(d, 3), "jitter_ms": round(j, 3),
                        "loss_pct": loss, "mtu": mtu, "ttl": ttl,
                        **{k.split(".")[-1]: v for k, v in tcp.items()}}
        if h in HOSTS:
            L.nsx(h, ["ip", "route", "replace", "224.0.0.0/4", "dev", "eth0"], check=False)
    json.dump({h: {k: hostsmeta[h][k] for k in ("delay_ms", "jitter_ms", "loss_pct")} for h in hostsmeta},
              open(links_file(lab) + ".tmp", "w"))
    os.replace(links_file(lab) + ".tmp", links_file(lab))
    nworkers = min(len(CLI), int(rng.randint(3, 8) * (1 if lab.scale <= 1 else min(2, 1 + math.log2(lab.scale)))))
    nworkers = max(nworkers, plan.get("min_clients", 0))
    clients = rng.sample(CLI, len(CLI))
    weights = {k: round(w * rng.uniform(0.3, 2.0), 3) for k, w in KINDS.items()}
    if lab.wquic:
        weights.update({k: round(w * qrng.uniform(0.3, 2.0), 3) for k, w in QUIC_KINDS.items()})
    side = {"mqtt-sensor": rng.randint(1, 3), "mqtt-subscriber": rng.randint(1, 2), "prometheus-scrape": 1,
            "snmp-poll": rng.randint(0, 1) or 1}
    sidehosts = {k: rng.sample(CLI, n) for k, n in side.items()}
    lab.wcfg = {"workers": clients[:nworkers], "weights": weights, "side": sidehosts,
                "think_s": round(rng.uniform(GAP + 0.5, 9), 1)}
    lab.wnames = dns_zones(lab, name)
    restart_dns(lab)
    quic_meta = restart_quic(lab, qrng)
    time.sleep(1.5)
    return {**({"quic": quic_meta} if quic_meta else {}),
            "hosts": hostsmeta, "workers": nworkers, "worker_clients": clients[:nworkers],
            "think_mean_s": lab.wcfg["think_s"], "activity_weights": weights, "side_jobs": sidehosts,
            "cdn_edge_addresses": lab.wextra["wweb"], "ranges": {
                "delay_ms": "linkdelay.py (no netem on this kernel): 0.05-150 one-way per host (LAN 50 %: 0.05-2, metro 30 %: 2-20, WAN 20 %: 20-150, log-uniform)",
                "jitter": "0-30 % of the delay (normal, no reordering)", "loss_pct": "0-3", "mtu": "1280-9000",
                "ttl": "32-255", "tcp": "window scaling off 20 %, timestamps off 30 %, SACK off 15 %, ECN 0/1/2, cubic/reno/bbr",
                "workers": "3-8 clients", "weights": "base x 0.3-2"}}


# ------------------------------------------------------------------ DNS
def dns_zones(lab, name):
    """Zone files for the two authoritative servers; returns the names clients look up."""
    rng = random.Random(f"{lab.seed}:{name}:zones")
    W = lab.waddr
    edges = [W["wweb"]] + lab.wextra["wweb"]
    zones = {"corp.example": [], "shop.example": [], "news-site.example": [], "social.example": [],   # fs-wns1
             "cdnedge.net": [], "edgesuite-lab.net": [], "cloudfront-lab.net": []}                       # fs-wns2
    on1 = ["corp.example", "shop.example", "news-site.example", "social.example"]

    def ttl():
        return rng.choice([20, 30, 60, 60, 120, 300, 3600])

    def add(zone, rel, typ, data):
        zones[zone].append(f"{rel}\t{ttl()}\tIN\t{typ}\t{data}")

    corp = {"mx": W["wmx"], "mail": W["wmx"], "smtp": W["wmx"], "imap": W["wmx"], "pop": W["wmx"],
            "nas": W["wnas"], "files": W["wnas"], "ldap": W["wiot"], "mqtt": W["wiot"], "iot": W["wiot"],
            "deb": W["wweb"], "repo": W["wweb"], "dl": W["wweb"], "intranet": W["wweb"], "ns1": W["wns1"]}
    for k, v in corp.items():
        add("corp.example", k, "A", v)
    add("corp.example", "@", "MX", "10 mx.corp.example.")
    add("corp.example", "@", "TXT", f'"v=spf1 ip4:{W["wmx"]} -all"')
    add("corp.example", "_imaps._tcp", "SRV", "0 1 993 imap.corp.example.")
    add("corp.example", "_submission._tcp", "SRV", "0 1 587 smtp.corp.example.")
    add("corp.example", "_ldap._tcp", "SRV", "0 100 389 ldap.corp.example.")
    add("corp.example", "time", "CNAME", "pool.ntp.lab.test.")
    add("corp.example", "stream", "CNAME", "live-corp-example.edgesuite-lab.net.")
    add("edgesuite-lab.net", "live-corp-example", "CNAME", f"e{rng.randint(1000, 99999)}.b.cdnedge.net.")
    # CDN style: site -> site.edgesuite-lab.net -> eNNNN.x.cdnedge.net -> edges; d<hex>.cloudfront-lab.net
    sites = []
    prefixes = ["www", "static", "img", "assets", "cdn", "media", "video", "api", "fonts", "js", "m", "shop",
                "checkout", "login", "beacon", "images-eu", "prod-assets", "content"]
    for i in range(rng.randint(40, 70)):
        zone = rng.choice(on1[1:] + on1[1:] + ["corp.example"])
        rel = rng.choice(prefixes) + ("" if rng.random() < 0.6 else f"-{rng.choice(['eu', 'us', 'ap'])}{rng.randint(1, 9)}")
        if any(r == rel and z == zone for z, r in sites):
            continue
        sites.append((zone, rel))
        fq = f"{rel}.{zone}"
        style = rng.choices(["direct", "akamai", "cloudfront", "long"], weights=[0.2, 0.35, 0.25, 0.2])[0]
        if style == "direct":
            for ip in rng.sample(edges, rng.randint(1, 2)):
                add(zone, rel, "A", ip)
            continue
        if style == "cloudfront":
            cf = "d%013x" % rng.getrandbits(52)
            add(zone, rel, "CNAME", f"{cf}.cloudfront-lab.net.")
            for ip in rng.sample(edges, min(len(edges), rng.randint(2, 4))):
                add("cloudfront-lab.net", cf, "A", ip)
            continue
        e = f"e{rng.randint(1000, 99999)}.{rng.choice('abcdg')}.cdnedge.net"
        if style == "akamai":
            add(zone, rel, "CNAME", f"{fq}.edgesuite-lab.net.")
            add("edgesuite-lab.net", fq, "CNAME", f"{e}.")
        else:   # three hops: a global traffic manager name in between
            gtm = f"{rel}-{zone.split('.')[0]}-prod-{rng.choice(['eu-west-1', 'us-east-2', 'ap-southeast-1'])}.global.cdnedge.net"
            add(zone, rel, "CNAME", f"{fq}.edgesuite-lab.net.")
            add("edgesuite-lab.net", fq, "CNAME", f"{gtm}.")
            add("cdnedge.net", gtm[:-len(".cdnedge.net")], "CNAME", f"{e}.")
        for ip in rng.sample(edges, min(len(edges), rng.randint(1, 4))):
            add("cdnedge.net", e[:-len(".cdnedge.net")], "A", ip)
        if rng.random() < 0.4:
            add("cdnedge.net", e[:-len(".cdnedge.net")], "AAAA", "fd77:%x::%x" % (rng.getrandbits(16), rng.getrandbits(16)))
    for z in on1[1:]:
        add(z, "@", "TXT", f'"v=spf1 include:_spf.{z} ~all"')
        add(z, "@", "TXT", '"google-site-verification=%s"' % hashlib.sha256(f"{z}{name}".encode()).hexdigest()[:43])
        add(z, "@", "MX", "10 mx.corp.example.")
    if lab.wquic:   # a fixed TTL (no draw), so the other captures' zones stay as they were
        zones["corp.example"].append(f"meet\t300\tIN\tA\t{lab.wquic['blocked']}")
    serial = int(time.time())
    w = f"{lab.work}/wide"
    for srv, zs in (("wns1", on1), ("wns2", ["cdnedge.net", "edgesuite-lab.net", "cloudfront-lab.net"])):
        d = f"{w}/{srv}"
        os.makedirs(d, exist_ok=True)
        conf = [f"server:\n  ip-address: 0.0.0.0\n  port: 53\n  username: \"\"\n  chroot: \"\"\n  database: \"\"\n"
                f"  zonelistfile: {d}/zone.list\n  xfrdfile: {d}/xfrd.state\n  xfrdir: {d}\n  pidfile: {d}/nsd.pid\n"
                f"  logfile: {d}/nsd.log\n  zonesdir: {d}\n  server-count: 1\n  do-ip6: no\n  hide-version: yes\n"
                f"  verbosity: 1\nremote-control:\n  control-enable: no\n"]
        for z in zs:
            ns_ip = W[srv]
            hdr = (f"$ORIGIN {z}.\n$TTL 300\n@\t3600\tIN\tSOA\tns.{z}. hostmaster.{z}. {serial} 3600 600 86400 60\n"
                   f"@\t3600\tIN\tNS\tns.{z}.\nns\t3600\tIN\tA\t{ns_ip}\n")
            open(f"{d}/{z}.zone", "w").write(hdr + "\n".join(zones[z]) + "\n")
            conf.append(f"zone:\n  name: {z}\n  zonefile: {z}.zone\n")
        open(f"{d}/nsd.conf", "w").write("".join(conf))
    ud = f"{w}/unbound"
    os.makedirs(ud, exist_ok=True)
    stubs = "".join(f"stub-zone:\n  name: \"{z}\"\n  stub-addr: {W['wns1' if z in on1 else 'wns2']}\n"
                    for z in zones)
    open(f"{ud}/unbound.conf", "w").write(
        f"server:\n  interface: 0.0.0.0\n  port: 53\n  do-ip6: no\n  access-control: 0.0.0.0/0 allow\n"
        f"  username: \"\"\n  chroot: \"\"\n  directory: \"{ud}\"\n  pidfile: \"{ud}/unbound.pid\"\n"
        f"  use-syslog: no\n  logfile: \"{ud}/unbound.log\"\n  verbosity: 1\n  module-config: \"iterator\"\n"
        f"  num-threads: 1\n  qname-minimisation: yes\n  edns-buffer-size: 1232\n  do-not-query-localhost: no\n"
        f"  prefetch: {'yes' if rng.random() < 0.5 else 'no'}\n  cache-max-ttl: {rng.choice([30, 60, 300, 86400])}\n"
        f"  local-zone: \"test.\" nodefault\n  domain-insecure: \"example\"\n  domain-insecure: \"net\"\n"
        f"  domain-insecure: \"test\"\n  target-fetch-policy: \"0 0 0 0 0\"\n"
        f"remote-control:\n  control-enable: no\n" + stubs +
        f"forward-zone:\n  name: \"lab.test\"\n  forward-addr: {lab.addr['dns']}\n")
    names = [f"{r}.{z}" for z, r in sites]
    return {"sites": names, "corp": sorted(corp)}


def stop_tagged(lab, tag):
    """Stops the lab's processes marked with attribute `tag` (one capture's servers)."""
    for p in list(lab.procs):
        if getattr(p, tag, False):
            try:
                os.killpg(p.pid, 15)
            except Exception:
                pass
            p.wait()
            lab.procs.remove(p)


def restart_dns(lab):
    stop_tagged(lab, "_wide_dns")
    w = f"{lab.work}/wide"
    for srv in ("wns1", "wns2"):
        p = lab.spawn(srv, ["nsd", "-d", "-c", f"{w}/{srv}/nsd.conf"], f"nsd-{srv}")
        p._wide_dns = True
    p = lab.spawn("wres", ["unbound", "-d", "-c", f"{w}/unbound/unbound.conf"], "unbound")
    p._wide_dns = True


def restart_quic(lab, rng):
    """The HTTP/3 server of a QUIC capture on fs-wweb's addresses of this capture (they change per
    capture); stops the one of the capture before. Returns its drawn settings (for the meta.json)."""
    stop_tagged(lab, "_wide_quic")
    if not lab.wquic:
        return None
    if not os.path.exists(QUICPY):
        raise RuntimeError(f"{QUICPY} missing: the QUIC capture needs aioquic in the venv {VENV} "
                           f"(scripts/lab/run.sh makes it; FS_LAB_VENV names another)")
    w = f"{lab.work}/wide"
    cc, retry, mds = rng.choice(["reno", "cubic"]), rng.random() < 0.2, rng.choice([1200, 1232, 1252])
    addrs = [lab.waddr["wweb"]] + lab.wextra["wweb"]
    p = lab.spawn("wweb", [QUICPY, f"{HERE}/quicserver.py", "--listen", ",".join(addrs), "--blackhole",
                           lab.wquic["blocked"], "--root", f"{w}/www", "--cert", f"{w}/tls.crt", "--key",
                           f"{w}/tls.key", "--cc", cc, "--mds", str(mds)] + (["--retry"] if retry else []), "quicserver")
    p._wide_quic = True
    return {"server": "aioquic (quicserver.py), UDP :443 on fs-wweb and its edge addresses", "congestion_control": cc,
            "max_datagram": mds, "retry": retry, "blocked_udp443": lab.wquic["blocked"]}


# ------------------------------------------------------------------ servers
def make_content(lab):
    rng = random.Random(f"{lab.seed}:widecontent")
    w = f"{lab.work}/wide"
    www = f"{w}/www"
    for d in ("static", "dl", "debian/dists/bookworm/main/binary-amd64", "debian/pool/main", "share/pub/docs",
              "share/backup", "smb/docs", "smb/upload", "src", "att"):
        os.makedirs(f"{w}/{d}" if not d.startswith(("static", "dl", "debian")) else f"{www}/{d}", exist_ok=True)
    objs = []
    for i in range(160):
        kind = rng.choice(["css", "js", "js", "png", "jpg", "webp", "json", "woff2", "svg"])
        n = min(int(rng.lognormvariate(7.2, 1.0)) + 150, 40_000)
        p = f"/static/o{i}.{kind}"
        data = rng.randbytes(n) if kind in ("png", "jpg", "webp", "woff2") else \
            (" ".join(rng.choice(WORDS) for _ in range(n // 7 + 1))).encode()[:n]
        open(www + p, "wb").write(data)
        objs.append(p)
    for i in range(30):
        n = min(int(rng.lognormvariate(8.2, 0.7)) + 500, 40_000)
        refs = rng.sample(objs, rng.randint(8, 40))
        txt = " ".join(rng.choice(WORDS) for _ in range(n // 7))
        links = "".join(f'<link rel="preload" href="{r}">' for r in refs)
        open(f"{www}/p{i}.html", "w").write(f"<html><head><title>p{i}</title>{links}</head><body><p>{txt}</p></body></html>\n")
    open(f"{www}/index.html", "w").write("<html><body>corp portal</body></html>\n")
    for i in range(4):   # long downloads (rate-limited and cut by the client)
        with open(f"{www}/dl/big{i}.bin", "wb") as f:
            f.write(rng.randbytes(int(rng.uniform(2, 6) * 1e6)))
    # HLS: three channels, 60 segments each, 15-45 kB per segment (a low bit-rate rendition)
    for ch in range(3):
        d = f"{www}/live/ch{ch}"
        os.makedirs(d, exist_ok=True)
        td = rng.choice([2, 4, 6])
        open(f"{d}/master.m3u8", "w").write(
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-STREAM-INF:BANDWIDTH=%d,RESOLUTION=640x360,CODECS=\"avc1.4d401e,mp4a.40.2\"\n"
            "index.m3u8\n" % rng.randint(200_000, 600_000))
        pl = ["#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{td}", "#EXT-X-MEDIA-SEQUENCE:0"]
        for s in range(60):
            pl += [f"#EXTINF:{td:.3f},", f"seg{s:05d}.ts"]
            open(f"{d}/seg{s:05d}.ts", "wb").write(b"\x47" + rng.randbytes(int(rng.uniform(8_000, 20_000)) - 1))
        open(f"{d}/index.m3u8", "w").write("\n".join(pl) + "\n")
    # apt-like repository
    pk = []
    for i in range(30):
        name = rng.choice(["lib", "python3-", "node-", "golang-", ""]) + rng.choice(WORDS) + rng.choice(["", "-utils", "-common", "-data"])
        n = int(math.exp(rng.uniform(math.log(6_000), math.log(120_000))))
        data = b"!<arch>\ndebian-binary   " + rng.randbytes(n)
        fn = f"pool/main/{name[0]}/{name}_{rng.randint(1, 9)}.{rng.randint(0, 20)}-{rng.randint(1, 4)}_amd64.deb"
        os.makedirs(os.path.dirname(f"{www}/debian/{fn}"), exist_ok=True)
        open(f"{www}/debian/{fn}", "wb").write(data)
        pk.append(f"Package: {name}\nVersion: 1.{i}\nArchitecture: amd64\nMaintainer: Lab <lab@corp.example>\n"
                  f"Installed-Size: {n // 1000}\nFilename: {fn}\nSize: {len(data)}\n"
                  f"SHA256: {hashlib.sha256(data).hexdigest()}\nDescription: {' '.join(rng.sample(WORDS, 6))}\n")
    pkgs = ("\n".join(pk) * 15).encode()   # an index of 450 entries
    open(f"{www}/debian/dists/bookworm/main/binary-amd64/Packages.gz", "wb").write(gzip.compress(pkgs, 6))
    open(f"{www}/debian/dists/bookworm/InRelease", "w").write(
        "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nOrigin: Corp\nLabel: Corp\nSuite: stable\nCodename: bookworm\n"
        + "".join(f" {hashlib.sha256(bytes([i])).hexdigest()} {rng.randint(1000, 9_000_000)} main/binary-{a}/Packages.gz\n"
                  for i, a in enumerate(["amd64", "arm64", "i386", "all"]))
        + "-----BEGIN PGP SIGNATURE-----\n" + rng.randbytes(600).hex() + "\n-----END PGP SIGNATURE-----\n")
    lab.wdebs = [l.split("Filename: ")[1].split("\n")[0] for l in pk]
    lab.wobjs, lab.wpages = objs, [f"/p{i}.html" for i in range(30)]
    # file shares (smb, rsync), sources for uploads, mail attachments made per message
    for i in range(10):
        n = int(math.exp(rng.uniform(math.log(2_000), math.log(40_000))))
        ext = rng.choice(["docx", "xlsx", "pdf", "txt", "csv", "png"])
        for d in ("smb/docs",) + (("share/pub/docs",) if i < 5 else ()):
            open(f"{w}/{d}/f{i}.{ext}", "wb").write(rng.randbytes(n) if ext in ("png", "pdf", "docx", "xlsx")
                                                    else (" ".join(rng.choice(WORDS) for _ in range(n // 7))).encode())
    lab.wsmbfiles = sorted(os.listdir(f"{w}/smb/docs"))
    for i in range(8):
        open(f"{w}/src/notes{i}.txt", "w").write(" ".join(rng.choice(WORDS) for _ in range(rng.randint(100, 2500))))


def start_servers(lab):
    L = _L(lab)
    w = f"{lab.work}/wide"
    os.makedirs(w, exist_ok=True)
    json.dump({}, open(links_file(lab), "w"))
    lab.spawn("br", [sys.executable, f"{HERE}/linkdelay.py", "--conf", links_file(lab), "--hosts",
                     ",".join(relayed(lab)), "--seed", str(lab.seed)], "linkdelay")
    make_content(lab)
    san = ",".join(f"DNS:*.{z}" for z in ["corp.example", "shop.example", "news-site.example", "social.example",
                                          "cdnedge.net", "edgesuite-lab.net", "cloudfront-lab.net"])
    L.sh(f"openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=corp.example -addext subjectAltName={san} "
         f"-keyout {w}/tls.key -out {w}/tls.crt")
    os.chmod(f"{w}/tls.key", 0o644)
    # ---- mail: aiosmtpd (25, 587) and dovecot (143, 993, 110, 995) with TLS
    open(f"{w}/mail.users", "w").write("".join(f"{u}:{p}\n" for u, p in USERS.items()))
    import pwd
    lines = []
    for u, p in USERS.items():
        pw = pwd.getpwnam(u)
        md = f"{pw.pw_dir}/Maildir"
        for d in ("cur", "new", "tmp"):
            os.makedirs(f"{md}/{d}", exist_ok=True)
        r = random.Random(f"{lab.seed}:widemail:{u}")
        if len(os.listdir(f"{md}/cur")) + len(os.listdir(f"{md}/new")) < 4:
            for i in range(r.randint(4, 9)):
                body = " ".join(r.choice(WORDS) for _ in range(r.randint(30, 600)))
                open(f"{md}/cur/{1765000000 + i}.W{i}P1.wide:2,S", "w").write(
                    f"From: colleague{i}@corp.example\nTo: {u}@corp.example\nSubject: {r.choice(WORDS)} {i}\n"
                    f"Date: Tue, 1 Dec 2026 09:{i:02d}:00 +0000\nMessage-ID: <{u}.w{i}@corp.example>\n\n{body}\n")
        os.system(f"chown -R {u}:{u} {shlex.quote(md)}")
        lines.append(f"{u}:{{PLAIN}}{p}:{pw.pw_uid}:{pw.pw_gid}::{pw.pw_dir}::")
    open(f"{w}/dovecot.passwd", "w").write("\n".join(lines) + "\n")
    open(f"{w}/dovecot.conf", "w").write(f"""protocols = imap pop3
listen = *
base_dir = {w}/dovecot-run
state_dir = {w}/dovecot-state
log_path = {w}/dovecot.log
ssl = required
ssl_cert = <{w}/tls.crt
ssl_key = <{w}/tls.key
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
first_valid_uid = 100
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%n {w}/dovecot.passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%n {w}/dovecot.passwd
}}
protocol pop3 {{
  pop3_uidl_format = %08Xu%08Xv
}}
""")
    lab.spawn("wmx", ["dovecot", "-F", "-c", f"{w}/dovecot.conf"], "dovecot-wide")
    lab.spawn("wmx", [SYSPY, f"{HERE}/mailserver.py", "--cert", f"{w}/tls.crt", "--key", f"{w}/tls.key",
                      "--users", f"{w}/mail.users"], "mailserver")
    # ---- web: nginx with HTTP/2, TLS 1.2 and 1.3
    open(f"{w}/nginx.conf", "w").write(f"""
user root; worker_processes 1; daemon off; pid {w}/nginx.pid; error_log {w}/nginx-error.log;
events {{ worker_connections 4096; }}
http {{
  access_log off; sendfile on; keepalive_timeout 15; keepalive_requests 1000; 
  ssl_protocols TLSv1.2 TLSv1.3; ssl_session_cache shared:WSSL:2m; ssl_session_timeout 10m;
  ssl_certificate {w}/tls.crt; ssl_certificate_key {w}/tls.key;
  types {{ text/html html; text/css css; application/javascript js; image/png png; image/jpeg jpg; image/webp webp;
           image/svg+xml svg; font/woff2 woff2; application/json json; application/octet-stream bin;
           application/vnd.apple.mpegurl m3u8; video/mp2t ts; application/vnd.debian.binary-package deb;
           application/gzip gz; text/plain txt; }}
  server {{
    listen 80 default_server; listen 443 ssl http2 default_server; server_name _;
    root {w}/www;
    location /live/ {{ add_header Cache-Control "no-cache"; }}
    location = /health {{ default_type application/json; return 200 '{{"status":"up"}}\\n'; }}
  }}
}}
""")
    lab.spawn("wweb", ["nginx", "-c", f"{w}/nginx.conf"], "nginx-wide")
    # ---- nas: sshd, samba, rsync daemon
    open(f"{w}/sshd_config", "w").write(f"""Port 22
HostKey {lab.work}/ssh_host_ed25519_key
HostKey {lab.work}/ssh_host_rsa_key
PidFile {w}/sshd.pid
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin no
MaxStartups 100:30:200
UseDNS no
Subsystem sftp internal-sftp
""")
    lab.spawn("wnas", ["/usr/sbin/sshd", "-D", "-f", f"{w}/sshd_config", "-E", f"{w}/sshd.log"], "sshd-wide")
    sd = f"{w}/samba"
    for d in ("private", "lock", "state", "cache", "run", "log"):
        os.makedirs(f"{sd}/{d}", exist_ok=True)
    os.system(f"chmod -R 777 {w}/smb")
    open(f"{sd}/smb.conf", "w").write(f"""[global]
  netbios name = NAS01
  workgroup = CORP
  server string = corp file server
  server role = standalone server
  security = user
  map to guest = never
  passdb backend = tdbsam:{sd}/private/passdb.tdb
  private dir = {sd}/private
  lock directory = {sd}/lock
  state directory = {sd}/state
  cache directory = {sd}/cache
  pid directory = {sd}/run
  ncalrpc dir = {sd}/run/ncalrpc
  log file = {sd}/log/log.%m
  max log size = 1000
  smb ports = 445
  disable netbios = yes
  load printers = no
  printing = bsd
  printcap name = /dev/null
  disable spoolss = yes
  server min protocol = SMB2_02
  multicast dns register = no
[share]
  path = {w}/smb
  read only = no
  browseable = yes
  valid users = alice bob carol
  force user = root
""")
    for u, p in USERS.items():
        subprocess.run(["smbpasswd", "-c", f"{sd}/smb.conf", "-s", "-a", u], input=f"{p}\n{p}\n", text=True,
                       capture_output=True)
    lab.spawn("wnas", ["smbd", "-F", "--no-process-group", "-s", f"{sd}/smb.conf", "--debug-stdout"], "smbd")
    open(f"{w}/rsyncd.secrets", "w").write("".join(f"{u}:{p}\n" for u, p in USERS.items()))
    os.chmod(f"{w}/rsyncd.secrets", 0o600)
    open(f"{w}/rsyncd.conf", "w").write(f"""pid file = {w}/rsyncd.pid
use chroot = no
uid = root
gid = root
max connections = 50
log file = {w}/rsyncd.log
[pub]
  path = {w}/share/pub
  read only = yes
  comment = public documents
[backup]
  path = {w}/share/backup
  read only = no
  auth users = alice, bob, carol
  secrets file = {w}/rsyncd.secrets
""")
    lab.spawn("wnas", ["rsync", "--daemon", "--no-detach", f"--config={w}/rsyncd.conf", "--port=873"], "rsyncd")
    # ---- iot: mosquitto, slapd, snmpd
    open(f"{w}/mosquitto.conf", "w").write(f"""user root
per_listener_settings false
allow_anonymous true
persistence false
log_dest file {w}/mosquitto.log
listener 1883 0.0.0.0
listener 8883 0.0.0.0
certfile {w}/tls.crt
keyfile {w}/tls.key
""")
    lab.spawn("wiot", ["mosquitto", "-c", f"{w}/mosquitto.conf"], "mosquitto")
    ld = f"{w}/ldap"
    os.makedirs(f"{ld}/db", exist_ok=True)
    open(f"{ld}/slapd.conf", "w").write(f"""include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
pidfile {ld}/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
TLSCertificateFile {w}/tls.crt
TLSCertificateKeyFile {w}/tls.key
database mdb
maxsize 104857600
suffix "dc=corp,dc=example"
rootdn "cn=admin,dc=corp,dc=example"
rootpw labadmin
directory {ld}/db
access to attrs=userPassword by self read by anonymous auth by * none
access to * by * read
""")
    r = random.Random(f"{lab.seed}:ldap")
    ents = ["dn: dc=corp,dc=example\nobjectClass: dcObject\nobjectClass: organization\no: Corp\ndc: corp\n",
            "dn: ou=people,dc=corp,dc=example\nobjectClass: organizationalUnit\nou: people\n",
            "dn: ou=groups,dc=corp,dc=example\nobjectClass: organizationalUnit\nou: groups\n"]
    people = list(USERS) + [f"{r.choice(['j', 'm', 's', 'a', 'k'])}{r.choice(WORDS)}{i}" for i in range(40)]
    for i, u in enumerate(people):
        pwv = USERS.get(u, f"x{r.getrandbits(40):x}")
        ents.append(f"dn: uid={u},ou=people,dc=corp,dc=example\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\n"
                    f"uid: {u}\ncn: {u.title()}\nsn: {u.title()}\nmail: {u}@corp.example\nuidNumber: {20000 + i}\n"
                    f"gidNumber: {20000 + i % 5}\nhomeDirectory: /home/{u}\nloginShell: /bin/bash\n"
                    f"telephoneNumber: +1 555 {r.randint(1000, 9999)}\ntitle: {r.choice(WORDS)} engineer\n"
                    f"userPassword: {pwv}\n")
    for g in range(5):
        mem = "".join(f"memberUid: {m}\n" for m in r.sample(people, r.randint(3, 15)))
        ents.append(f"dn: cn=team{g},ou=groups,dc=corp,dc=example\nobjectClass: posixGroup\ncn: team{g}\n"
                    f"gidNumber: {20000 + g}\n{mem}")
    open(f"{ld}/init.ldif", "w").write("\n".join(ents))
    L.sh(["slapadd", "-f", f"{ld}/slapd.conf", "-l", f"{ld}/init.ldif"], check=False)
    lab.wpeople = people
    lab.spawn("wiot", ["slapd", "-d", "0", "-f", f"{ld}/slapd.conf", "-h", "ldap:///"], "slapd")
    open(f"{w}/snmpd.conf", "w").write("agentAddress udp:161\nrocommunity public default\n"
                                       "sysLocation Server room 2, rack 4\nsysContact ops@corp.example\nsysName iot-gw-01\n")
    os.makedirs(f"{w}/snmp", exist_ok=True)
    lab.spawn("wiot", ["env", f"SNMP_PERSISTENT_DIR={w}/snmp", "snmpd", "-f", "-Lo", "-C", "-c", f"{w}/snmpd.conf",
                       "-p", f"{w}/snmpd.pid"], "snmpd")
    for i, h in enumerate(("wnas", "wiot", "wweb")):
        lab.spawn(h, [sys.executable, f"{HERE}/metricsd.py", "--port", "9100", "--series", str(40 + 20 * i),
                      "--seed", str(lab.seed + i)], f"metricsd-{h}")
    time.sleep(2)


# ------------------------------------------------------------------ activities
def activity(lab, kind, rng, c, budget):
    """Returns (command, timeout, targets [(ips, protos, ports)], tool, params)."""
    W, A, w, s = lab.waddr, lab.addr, f"{lab.work}/wide", lab.scale
    q = shlex.quote
    u = rng.choice(list(USERS))
    pw = USERS[u]
    ua = rng.choice(UAS)
    edges = [W["wweb"]] + lab.wextra["wweb"]
    P = {}
    if kind in ("smtp-submission", "smtp-relay"):
        n = max(1, int(rng.randint(1, 2) * s))
        cmds = []
        for i in range(n):
            atts = []
            for j in range(rng.choice([0, 0, 1, 1, 1, 2, 3])):
                ext, mt = rng.choice([("pdf", "application/pdf"), ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
                                      ("png", "image/png"), ("zip", "application/zip"), ("csv", "text/csv"), ("ics", "text/calendar")])
                size = int(min(120_000, rng.lognormvariate(8.3, 1.2) + 300))
                fn = f"{w}/att/{c}-{rng.getrandbits(32):08x}.{ext}"
                open(fn, "wb").write(rng.randbytes(size) if ext in ("pdf", "png", "zip", "docx")
                                     else (" ".join(rng.choice(WORDS) for _ in range(size // 7))).encode())
                atts.append(f"--attach-type {mt} --attach-name {rng.choice(WORDS)}-{j}.{ext} --attach @{fn}")
            to = ",".join(f"{x}@corp.example" for x in rng.sample(list(USERS), rng.randint(1, 3)))
            subj = " ".join(rng.sample(WORDS, rng.randint(2, 6)))
            body = textwrap.fill(" ".join(rng.choice(WORDS) for _ in range(rng.randint(10, 400))), 76)   # SMTP lines <= 998
            if kind == "smtp-submission":
                tls = "--tls"
                port, frm, helo = 587, f"{u}@corp.example", f"{c}.corp.example"
                auth = f"--auth {rng.choice(['LOGIN', 'PLAIN'])} --auth-user {u} --auth-password {q(pw)}"
                srv = "smtp.corp.example"
            else:
                tls = "--tls" if rng.random() < 0.8 else ""
                port, auth, srv = 25, "", "mx.corp.example"
                dom = rng.choice(["shop.example", "news-site.example", "social.example"])
                frm, helo = f"{rng.choice(['noreply', 'newsletter', 'orders', 'notify'])}@{dom}", f"mta{rng.randint(1, 9)}.{dom}"
            cmds.append(f"swaks -S --server {srv} --port {port} {tls} {auth} --ehlo {helo} --from {frm} --to {to} "
                        f"--header {q('Subject: ' + subj)} --header 'X-Mailer: Microsoft Outlook 16.0' --body {q(body)} "
                        + " ".join(atts))
            cmds.append(f"sleep {rng.uniform(0.5, 6):.1f}")
        P.update(messages=n, port=port)
        return "; ".join(cmds[:-1]), min(budget, 20 + 15 * n), [([W["wmx"]], {6}, {port})], "swaks", P
    if kind in ("imap-starttls", "imaps", "pop3"):
        if kind == "pop3":
            tls = rng.choice(["stls", "pop3s"])
            base = "pop3://pop.corp.example" if tls == "stls" else "pop3s://pop.corp.example"
            urls = [f"{base}/"] + [f"{base}/{i}" for i in rng.sample(range(1, 5), rng.randint(1, 3))]
            port = 110 if tls == "stls" else 995
        else:
            base = "imap://imap.corp.example" if kind == "imap-starttls" else "imaps://imap.corp.example"
            urls = [f"{base}/", f"{base}/INBOX?ALL"] + [f"{base}/INBOX;MAILINDEX={i}" for i in rng.sample(range(1, 5), rng.randint(1, 3))]
            port = 143 if kind == "imap-starttls" else 993
        checks = max(1, int(rng.randint(1, 3) * s))
        iv = rng.uniform(4, 12)
        one = f"curl -sk {'--ssl-reqd ' if port in (110, 143) else ''}-u {q(u + ':' + pw)} " + " ".join(f"{q(x)} -o /dev/null" for x in urls)
        cmd = f"; sleep {iv:.1f}; ".join([one] * checks)
        P.update(checks=checks, interval_s=round(iv, 1), port=port)
        return cmd, min(budget, 15 + checks * (iv + 10)), [([W["wmx"]], {6}, {port})], "curl", P
    if kind in ("web-h2", "web-http1"):
        sites = lab.wnames["sites"]
        n = max(1, int(rng.randint(1, 2) * s))
        tlsv = rng.choice(["--tlsv1.3", "--tls-max 1.2", ""])
        scheme = "https" if kind == "web-h2" or rng.random() < 0.75 else "http"
        proto = "--http2" if kind == "web-h2" else "--http1.1"
        cmds = []
        for _ in range(n):
            site, cdn = rng.choice(sites), rng.choice(sites)
            page = rng.choice(lab.wpages)
            objs = rng.sample(lab.wobjs, rng.randint(4, 16))
            urls = [f"{scheme}://{site}{page}"] + [f"{scheme}://{rng.choice([site, cdn, cdn])}{o}" for o in objs]
            outs = " ".join(f"-o /dev/null {q(x)}" for x in urls)
            par = f"--parallel --parallel-max {rng.choice([6, 10, 20, 50]) if kind == 'web-h2' else rng.choice([4, 6])}"
            cmds.append(f"curl -sk {proto} {tlsv if scheme == 'https' else ''} {par} -A {q(ua)} "
                        f"-H 'Accept-Language: en-US,en;q=0.9' --compressed {outs}")
            cmds.append(f"sleep {rng.uniform(1, 8):.1f}")
        P.update(pages=n, tls=tlsv or "default (1.3)", scheme=scheme)
        return "; ".join(cmds[:-1]), min(budget, 40), [(edges, {6}, {80, 443})], "curl", P
    if kind == "web-browse":
        site = rng.choice(lab.wnames["sites"])
        d = int(min(budget - 5, rng.randint(12, 35)))
        tls = rng.random() < 0.8
        cmd = (f"python3 {HERE}/browse.py --host {site} {'--tls' if tls else ''} --root {w}/www --deadline {d} "
               f"--seed {rng.randrange(1 << 30)} --ua {q(ua)}")
        P.update(host=site, tls=tls)
        return cmd, d + 8, [(edges, {6}, {80, 443})], "browse.py (python sockets, HTTP/1.1)", P
    if kind == "download":
        rate = rng.choice([16_000, 24_000, 32_000, 48_000])
        t = int(min(budget - 3, rng.uniform(5, 12), 1.6e5 / rate))
        f = f"/dl/big{rng.randrange(4)}.bin"
        sch = rng.choice(["https", "https", "http"])
        host = rng.choice(["dl.corp.example"] + lab.wnames["sites"][:3])
        cmd = f"curl -sk --limit-rate {rate // 1000}k --max-time {t} -o /dev/null -A {q(ua)} {sch}://{host}{f} || [ $? = 28 ]"
        P.update(rate_Bps=rate, max_time_s=t, file=f)
        return cmd, t + 6, [(edges, {6}, {80, 443})], "curl --limit-rate", P
    if kind == "hls":
        segdur = rng.choice([2, 3, 4, 6])
        d = int(min(budget - 3, rng.randint(15, 35)))
        tls = rng.random() < 0.4
        host = rng.choice(["stream.corp.example"] + [x for x in lab.wnames["sites"] if x.startswith(("video", "media", "cdn"))])
        cmd = (f"python3 {HERE}/hls.py --host {host} {'--tls' if tls else ''} --channel ch{rng.randrange(3)} "
               f"--segdur {segdur} --segments {int(d / segdur) + 1} --start {rng.randrange(40)} --deadline {d} "
               f"--seed {rng.randrange(1 << 30)}")
        P.update(host=host, segment_s=segdur, duration_s=d, tls=tls)
        return cmd, d + 8, [(edges, {6}, {80, 443})], "hls.py (python http.client, keep-alive)", P
    if kind == "apt-update":
        apt = "Debian APT-HTTP/1.3 (2.6.1)"
        base = "http://deb.corp.example/debian"
        idx = f"-o /dev/null {base}/dists/bookworm/InRelease -o /dev/null {base}/dists/bookworm/main/binary-amd64/Packages.gz"
        debs = " ".join(f"-o /dev/null {base}/{p}" for p in rng.sample(lab.wdebs, max(1, int(rng.randint(1, 4) * s))))
        cmd = f"curl -s -A {q(apt)} {idx}; sleep {rng.uniform(1, 5):.1f}; curl -s -A {q(apt)} {debs}"
        return cmd, min(budget, 30), [(edges, {6}, {80})], "curl (APT user agent)", P
    if kind == "dns-lookups":
        n = max(2, int(rng.randint(5, 25) * s))
        cmds = []
        for _ in range(n):
            r = rng.random()
            if r < 0.7:
                name, t = rng.choice(lab.wnames["sites"]), rng.choice(["A", "A", "A", "AAAA", "CNAME"])
            elif r < 0.85:
                name, t = f"{rng.choice(lab.wnames['corp'])}.corp.example", rng.choice(["A", "A", "MX", "TXT"])
            elif r < 0.93:
                name, t = rng.choice(["_imaps._tcp.corp.example SRV", "_ldap._tcp.corp.example SRV", "corp.example MX",
                                      "shop.example TXT", "time.corp.example A", "stream.corp.example A"]).split()
            else:
                name, t = rng.choice(["www.lab.test", "portal.lab.test", "pool.ntp.lab.test", f"nohost{rng.randrange(99)}.shop.example"]), "A"
            cmds.append(f"dig +tries=1 +time=3 {'+tcp ' if rng.random() < 0.04 else ''}{name} {t} >/dev/null")
            cmds.append(f"sleep {rng.expovariate(1.2):.2f}")
        P.update(lookups=n)
        return "; ".join(cmds), min(budget, 40), [], "dig", P
    if kind == "ntp":
        if rng.random() < 0.6:
            srv = rng.choice(["server ntp.lab.test iburst", "pool pool.ntp.lab.test iburst maxsources 3",
                              "server time.corp.example iburst"])
            cmd = (f"chronyd -Q -t 12 'pidfile {lab.work}/wide/chrony-{c}.pid' 'cmdport 0' {q(srv)} >/dev/null 2>&1")
            tool = "chronyd -Q"
        else:
            srv = rng.choice(["ntp.lab.test", "pool.ntp.lab.test", "time.corp.example"])
            cmd = f"ntpdate -q {srv} >/dev/null"
            tool = "ntpdate -q"
        P.update(server=srv)
        return cmd, 18, [([A["ntp"]] + lab.extra.get("ntp", []), {17}, {123})], tool, P
    if kind == "smb":
        m = rng.choice(["SMB3", "SMB3", "SMB2"])
        files = rng.sample(lab.wsmbfiles, rng.randint(1, 3))
        ops = ["cd docs", "ls"] + [f"get {f} /dev/null" for f in files]
        if rng.random() < 0.6:
            src = rng.choice(sorted(os.listdir(f"{w}/src")))
            ops += ["cd ../upload", f"put {w}/src/{src} {c}-{src}", "ls"]
        enc = "--client-protection=encrypt " if rng.random() < 0.15 else ""
        # the address from DNS each time (-I): smbclient's own name cache (gencache) is shared by all
        # namespaces and would keep the address of the previous capture
        cmd = (f"smbclient //nas.corp.example/share -I \"$(getent ahostsv4 nas.corp.example | awk 'NR==1{{print $1}}')\" "
               f"-U {q(u + '%' + pw)} -m {m} {enc}-c {q('; '.join(ops))} >/dev/null")
        P.update(max_protocol=m, encrypted=bool(enc), files=len(files))
        return cmd, min(budget, 30), [([W["wnas"]], {6}, {445, 139})], "smbclient", P
    if kind == "ssh-interactive":
        cmdsl = rng.sample(["ls -la", "df -h", "uptime", "cat /etc/os-release", "ps aux | head", "free -m", "who",
                            "du -sh .", "date", "tail -n 3 /etc/passwd", "ls /tmp", "uname -r", "top -bn1 | head -8"],
                           rng.randint(3, 7))
        cmd = (f"python3 {HERE}/lookalike.py sshtype --host nas.corp.example --user {u} --seed {rng.randrange(1 << 30)} "
               f"--cmds {q(json.dumps(cmdsl))} --passwords {q(json.dumps([pw]))}")
        P.update(commands=len(cmdsl))
        return cmd, min(budget, 90), [([W["wnas"]], {6}, {22})], "ssh in a pty (lookalike.py sshtype)", P
    o = "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
    if kind == "scp":
        src = rng.choice(sorted(os.listdir(f"{w}/src")))
        if rng.random() < 0.5:
            cmd = f"sshpass -p {q(pw)} scp -q {o} {w}/src/{src} {u}@nas.corp.example:scp-{c}-{src}"
        else:
            cmd = f"sshpass -p {q(pw)} scp -q {o} {u}@nas.corp.example:files/doc{rng.randrange(6)}.dat /dev/null"
        return cmd, min(budget, 30), [([W["wnas"]], {6}, {22})], "scp (sshpass)", P
    if kind == "rsync-ssh":
        d = f"/tmp/fs-wide-rs-{c}"
        if rng.random() < 0.6:
            cmd = (f"rsync -az -e {q('sshpass -p ' + q(pw) + ' ssh ' + o)} {w}/src/ {u}@nas.corp.example:rsync-{c}/")
        else:
            cmd = (f"mkdir -p {d}; rsync -a -e {q('sshpass -p ' + q(pw) + ' ssh ' + o)} "
                   f"{u}@nas.corp.example:files/doc{rng.randrange(6)}.dat {d}/; rm -rf {d}")
        return cmd, min(budget, 40), [([W["wnas"]], {6}, {22})], "rsync over ssh", P
    if kind == "rsync-daemon":
        d = f"/tmp/fs-wide-rd-{c}"
        r = rng.random()
        if r < 0.4:
            cmd = f"mkdir -p {d}; rsync -a rsync://nas.corp.example/pub/docs/ {d}/; rm -rf {d}"
        elif r < 0.8:
            cmd = f"RSYNC_PASSWORD={q(pw)} rsync -az {w}/src/ rsync://{u}@nas.corp.example/backup/{c}/"
        else:
            cmd = f"rsync rsync://nas.corp.example/ >/dev/null; rsync rsync://nas.corp.example/pub/docs/ >/dev/null"
        return cmd, min(budget, 40), [([W["wnas"]], {6}, {873})], "rsync (daemon, :873)", P
    if kind == "ldap":
        dn = f"uid={u},ou=people,dc=corp,dc=example"
        tls = "-ZZ " if rng.random() < 0.3 else ""
        base = "LDAPTLS_REQCERT=never "
        H = "-H ldap://ldap.corp.example"
        cmds = [f"{base}ldapwhoami -x {tls}{H} -D {q(dn)} -w {q(pw)}"]
        for _ in range(rng.randint(1, 4)):
            f = rng.choice([f"(uid={rng.choice(lab.wpeople)})", "(objectClass=posixGroup)", f"(mail={rng.choice(lab.wpeople)}@corp.example)",
                            f"(&(objectClass=inetOrgPerson)(title=*{rng.choice(WORDS)}*))", f"(memberUid={u})"])
            cmds.append(f"{base}ldapsearch -x {tls}{H} -D {q(dn)} -w {q(pw)} -b dc=corp,dc=example {q(f)} cn mail uid memberUid >/dev/null")
            cmds.append(f"sleep {rng.uniform(0.2, 3):.1f}")
        if rng.random() < 0.3:
            cmds.append(f"ldapsearch -x {H} -b ou=groups,dc=corp,dc=example >/dev/null")
        P.update(starttls=bool(tls))
        return "; ".join(cmds), min(budget, 30), [([W["wiot"]], {6}, {389})], "ldapwhoami/ldapsearch", P
    if kind.startswith("quic-"):
        return quic_activity(lab, kind, rng, c, budget, ua)
    raise ValueError(kind)


def quic_activity(lab, kind, rng, c, budget, ua):
    """HTTP/3 over QUIC (quicclient.py, aioquic); datagrams of 1200-1252 bytes fit every MTU drawn (>= 1280)."""
    W, w = lab.waddr, f"{lab.work}/wide"
    q = shlex.quote
    edges = [W["wweb"]] + lab.wextra["wweb"]
    site = rng.choice(lab.wnames["sites"])
    P = {"max_datagram": rng.choice([1200, 1200, 1232, 1250, 1252]), "cc": rng.choice(["reno", "cubic"]), "host": site}
    base = (f"{QUICPY} {HERE}/quicclient.py --mds {P['max_datagram']} --cc {P['cc']} --ua {q(ua)} "
            f"--seed {rng.randrange(1 << 30)}")
    tool = "quicclient.py (aioquic, HTTP/3)"
    if kind == "quic-page-ngtcp2":
        # a second QUIC stack: ngtcp2's example client (Debian ngtcp2-client, GnuTLS); the session and
        # transport parameters kept in files, so the visits after the first resume with 0-RTT. It takes
        # the SNI from its host argument and resolves it itself (the first address, even an AAAA): a
        # corp name with only an A record
        site = P["host"] = rng.choice(["intranet.corp.example", "dl.corp.example", "repo.corp.example"])
        visits = rng.choice([1, 2, 2, 3])
        page, objs = rng.choice(lab.wpages), rng.sample(lab.wobjs, rng.randint(3, 12))
        urls = " ".join(f"https://{site}{x}" for x in [page] + objs)
        st = f"/tmp/fs-wide-ngtcp2-{c}"
        one = (f"timeout 15 gtlsclient -q --exit-on-all-streams-close --session-file {st}.sess --tp-file {st}.tp "
               f"--cc {P['cc']} --max-udp-payload-size {P['max_datagram']} {'--no-pmtud ' if rng.random() < 0.5 else ''}"
               f"{site} 443 {urls} >/dev/null 2>&1")
        cmd = f"rm -f {st}.*; " + "; ".join(f"{one}; sleep {rng.uniform(1, 8):.1f}" for _ in range(visits)) + f"; rm -f {st}.*"
        P.update(visits=visits, objects=len(objs), page=page)
        return cmd, min(budget, 20 * visits + 10), [(edges, {17}, {443}), (edges, {1}, None)], "gtlsclient (ngtcp2, HTTP/3)", P
    if kind == "quic-page":
        visits = rng.choice([1, 2, 2, 3])
        d = int(min(budget - 3, 40))
        P.update(visits=visits, objects=rng.randint(4, 16), zero_rtt=rng.random() < 0.7, page=rng.choice(lab.wpages))
        cmd = (f"{base} --host {site} --page {P['page']} --visits {visits} --objects {P['objects']} "
               f"--gap 1 8 {'--zero-rtt ' if P['zero_rtt'] else ''}--deadline {d}")
        return cmd, d + 5, [(edges, {17}, {443}), (edges, {1}, None)], tool, P
    if kind == "quic-download":
        P.update(file=f"/dl/big{rng.randrange(4)}.bin", bytes=int(rng.uniform(100_000, 300_000)))
        d = int(min(budget - 3, 30))
        cmd = f"{base} --host {site} --path {P['file']} --range {P['bytes']} --deadline {d}"
        return cmd, d + 5, [(edges, {17}, {443}), (edges, {1}, None)], tool, P
    if kind == "quic-migrate":
        n = rng.randint(4, 12)
        every = rng.uniform(1, 4)
        P.update(polls=n, every_s=round(every, 1), rebind_after=rng.randint(1, n - 2), new_cid=rng.random() < 0.5)
        d = int(min(budget - 3, n * every * 1.5 + 10))
        cmd = (f"{base} --host {site} --page {rng.choice(lab.wpages)} --poll {n} --poll-every {every:.1f} "
               f"--rebind-after {P['rebind_after']} {'--new-cid ' if P['new_cid'] else ''}"
               f"--poll-paths {' '.join(rng.sample(lab.wobjs, 3))} --deadline {d}")
        return cmd, d + 5, [(edges, {17}, {443}), (edges, {1}, None)], tool + ", NAT rebinding / migration", P
    t = round(rng.uniform(2, 6), 1)
    if kind == "quic-giveup":
        # UDP/443 dropped on the way: unanswered Initials, then the page over TCP (HTTP/2)
        P.update(host="meet.corp.example", giveup_s=t, then="curl --http2")
        cmd = (f"{base} --host meet.corp.example --giveup {t} --deadline {t + 2}; [ $? = 3 ] && "
               f"curl -sk --http2 -o /dev/null -A {q(ua)} https://meet.corp.example{rng.choice(lab.wpages)}")
        return cmd, t + 20, [([lab.wquic["blocked"]], {6, 17}, {443})], tool + ", gives up, then curl", P
    if kind == "quic-refused":
        # no QUIC server at that address: ICMP port unreachable, the client retries until it gives up
        P.update(host="files.corp.example", giveup_s=t)
        cmd = f"{base} --host files.corp.example --giveup {t} --deadline {t + 2}; [ $? = 3 ]"
        return cmd, t + 6, [([W["wnas"]], {17}, {443}), ([W["wnas"]], {1}, None)], tool + ", gives up", P
    raise ValueError(kind)


def side_job(lab, kind, rng, c, dur):
    W, w = lab.waddr, f"{lab.work}/wide"
    P = {}
    if kind == "mqtt-sensor":
        iv = rng.choice([3, 5, 8, 12, 15, 20])
        ka = rng.choice([5, 10, 15, 30])
        tls = rng.random() < 0.3
        n = max(1, int(dur / iv))
        sid = f"sensor-{rng.getrandbits(24):06x}"
        topic = f"site{rng.randint(1, 4)}/{rng.choice(['hvac', 'power', 'door', 'env'])}/{sid}/telemetry"
        qos = rng.choice([0, 0, 1])
        gen = (f"for i in $(seq 1 {n}); do [ $SECONDS -ge {int(dur) - iv} ] && break; echo \"{{\\\"ts\\\":$(date +%s),\\\"seq\\\":$i,\\\"temp\\\":$((180 + RANDOM % 60))e-1,"
               f"\\\"hum\\\":$((30 + RANDOM % 40)),\\\"bat\\\":$((60 + RANDOM % 40))}}\"; sleep {iv}; done")
        tl = f"-p 8883 --cafile {w}/tls.crt --insecure" if tls else "-p 1883"
        cmd = f"{gen} | mosquitto_pub -h {W['wiot']} {tl} -i {sid} -k {ka} -q {qos} -l -t {topic}"
        P.update(interval_s=iv, keepalive_s=ka, tls=tls, qos=qos, topic=topic)
        return cmd, dur + 5, [([W["wiot"]], {6}, {1883, 8883})], "mosquitto_pub -l", P
    if kind == "mqtt-subscriber":
        ka = rng.choice([5, 10, 20])
        tls = rng.random() < 0.3
        tl = f"-p 8883 --cafile {w}/tls.crt --insecure" if tls else "-p 1883"
        cmd = (f"timeout -s INT {int(dur)} mosquitto_sub -h {W['wiot']} {tl} -i dash-{rng.getrandbits(24):06x} "
               f"-k {ka} -q {rng.choice([0, 1])} -v -t {shlex.quote(rng.choice(['site1/#', '+/+/+/telemetry', '#']))} >/dev/null; "
               f"rc=$?; [ $rc = 124 ] || [ $rc = 0 ]")
        P.update(keepalive_s=ka, tls=tls)
        return cmd, dur + 5, [([W["wiot"]], {6}, {1883, 8883})], "mosquitto_sub", P
    if kind == "prometheus-scrape":
        iv = rng.choice([10, 15])
        tg = " ".join(f"{W[h]}:9100" for h in ("wnas", "wiot", "wweb"))
        cmd = f"python3 {HERE}/scrape.py --interval {iv} --deadline {int(dur)} --seed {rng.randrange(1 << 30)} {tg}"
        P.update(interval_s=iv)
        return cmd, dur + 5, [([W["wnas"], W["wiot"], W["wweb"]], {6}, {9100})], "scrape.py (Prometheus-like)", P
    if kind == "snmp-poll":
        iv = rng.choice([10, 15, 20, 30])
        n = max(1, int(dur / iv))
        oids = "1.3.6.1.2.1.1.3.0 1.3.6.1.2.1.1.5.0 1.3.6.1.2.1.1.6.0"
        cmd = (f"for i in $(seq 1 {n}); do [ $SECONDS -ge {int(dur) - iv} ] && break; snmpget -v2c -c public -m '' -On -t 2 -r 1 {W['wiot']} {oids} >/dev/null; "
               f"snmpwalk -v2c -c public -m '' -On -t 2 -r 1 {W['wiot']} 1.3.6.1.2.1.2.2.1 >/dev/null; sleep {iv}; done")
        P.update(interval_s=iv)
        return cmd, dur + 5, [([W["wiot"]], {17}, {161})], "snmpget/snmpwalk", P
    raise ValueError(kind)


# ------------------------------------------------------------------ running
def _record(lab, name, c, targets, tool, cmd, params, dns=True):
    ip = lab.waddr[c]
    rules = [{"a": {ip}, "b": set(b), "proto": set(p), "bport": set(pt) if pt else None, "lab": set()}
             for b, p, pt in targets]
    if dns:
        rules.append({"a": {ip}, "b": {lab.waddr["wres"]}, "proto": {6, 17}, "bport": {53}, "lab": set()})
    return {"name": name, "label": "benign", "tool": tool, "attackers": [ip], "client": c,
            "victims": sorted({x for b, _, _ in targets for x in b} | ({lab.waddr["wres"]} if dns else set())),
            "rules": rules, "command": cmd, "params": params}


def _run(lab, c, rec, cmd, timeout):
    rec["start"] = time.time()
    lab.run(c, cmd, timeout, "wide")
    rec["end"] = time.time()
    with lab.lock:
        lab.scen.append(rec)


def run(lab, name, t0, dur):
    """The new workers and side jobs of one capture; returns when they are done."""
    end = t0 + dur
    W = lab.waddr
    L = _L(lab)
    rec = {"name": "dns-recursion", "label": "benign", "tool": "unbound (stub zones on nsd, lab.test forwarded to dnsmasq)",
           "attackers": [W["wres"]], "victims": [W["wns1"], W["wns2"], lab.addr["dns"]], "start": t0 - 5,
           "end": end + 60, "command": "", "rules": [{"a": {W["wres"]}, "b": {W["wns1"], W["wns2"], lab.addr["dns"]},
                                                       "proto": {6, 17}, "bport": {53}, "lab": set()}]}
    with lab.lock:
        lab.scen.append(rec)
    cfg = lab.wcfg
    ths = []
    for kind, hosts in cfg["side"].items():
        for i, c in enumerate(hosts):
            r = random.Random(f"{lab.seed}:{name}:side:{kind}:{i}")
            st = r.uniform(0, min(15, dur / 5))
            d = max(10, dur - st - r.uniform(0, dur / 4))
            cmd, tmo, tg, tool, P = side_job(lab, kind, r, c, d)
            rc = _record(lab, kind, c, tg, tool, cmd, P, dns=False)
            ths.append(threading.Thread(target=lambda c=c, rc=rc, cmd=cmd, tmo=tmo, st=st: (time.sleep(st), _run(lab, c, rc, cmd, tmo)),
                                        daemon=True))
    todo = list(KINDS)
    random.Random(f"{lab.seed}:{name}:order").shuffle(todo)
    if lab.wquic:   # the QUIC activities first (pop() takes from the end), so each runs at least twice
        quic = list(QUIC_KINDS) * 2
        random.Random(f"{lab.seed}:{name}:quic-order").shuffle(quic)
        todo += quic
    qlock = threading.Lock()

    def worker(i, c):
        r = random.Random(f"{lab.seed}:{name}:wide-worker{i}")
        time.sleep(r.uniform(0, 4))
        for n in range(int(60 * lab.scale)):
            budget = end - MARGIN - time.time()
            if budget < 12:
                break
            with qlock:
                kind = todo.pop() if todo else None
            if kind is None:
                ks = list(cfg["weights"])
                kind = r.choices(ks, weights=[cfg["weights"][k] for k in ks])[0]
            try:
                cmd, tmo, tg, tool, P = activity(lab, kind, r, c, budget)
            except Exception as e:   # noqa: BLE001
                L.log(f"  [wide] {kind}: {e}")
                continue
            rc = _record(lab, kind, c, tg, tool, cmd, P)
            _run(lab, c, rc, cmd, max(5, min(tmo, end + 4 - time.time())))
            time.sleep(max(GAP, r.expovariate(1 / cfg["think_s"])))

    ths += [threading.Thread(target=worker, args=(i, c), daemon=True) for i, c in enumerate(cfg["workers"])]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
