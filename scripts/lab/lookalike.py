#!/usr/bin/env python3
"""Benign clients whose traffic looks like slow attacks across flows
(behaviour-lookalike capture of the traffic lab).

  poll     a health-check poller (Prometheus blackbox / Nagios check_http
           style): every target on its own fixed phase of one interval, a new
           connection per probe (GET /health, Connection: close), the name
           resolved every time.
  imap     a mail client checking every --interval seconds: CAPABILITY, LOGIN,
           SELECT INBOX, UID SEARCH UNSEEN, UID FETCH of the flags, LOGOUT
           (python imaplib), always with the right password.
  pop3     the same with POP3: USER/PASS, STAT, LIST, UIDL, QUIT (poplib).
  sshtype  a user at a terminal: ssh in a pseudo-terminal, answers the
           password prompts with --passwords in order (typos first), typed
           key by key, then types --cmds with pauses and exits.

Bounded by --deadline (seconds); seeded by --seed.
"""
import argparse, http.client, imaplib, json, os, poplib, pty, random, select, signal, ssl, time
import urllib.parse

ap = argparse.ArgumentParser()
ap.add_argument("mode", choices=["poll", "imap", "pop3", "sshtype"])
ap.add_argument("targets", nargs="*")
ap.add_argument("--interval", type=float, default=60)
ap.add_argument("--deadline", type=float, default=300)
ap.add_argument("--seed", type=int, default=0)
ap.add_argument("--ua", default="Prometheus/2.45.0")
ap.add_argument("--host", default="mail.lab.test")
ap.add_argument("--user", default="alice")
ap.add_argument("--password", default="")
ap.add_argument("--passwords", default="[]", help="sshtype: JSON list, one per prompt")
ap.add_argument("--cmds", default="[]", help="sshtype: JSON list of shell commands")
a = ap.parse_intermixed_args()
rng = random.Random(a.seed)
T0 = time.time()
END = T0 + a.deadline
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE


def sleep_until(t):
    while True:
        d = t - time.time()
        if d <= 0:
            return
        time.sleep(min(d, 1.0))


def poll():
    phase = {u: rng.uniform(0, a.interval) for u in a.targets}
    due = {u: T0 + phase[u] for u in a.targets}
    while True:
        u = min(due, key=due.get)
        if due[u] >= END:
            return
        sleep_until(due[u])
        p = urllib.parse.urlsplit(u)
        try:
            if p.scheme == "https":
                c = http.client.HTTPSConnection(p.hostname, p.port or 443, timeout=5, context=ctx)
            else:
                c = http.client.HTTPConnection(p.hostname, p.port or 80, timeout=5)
            c.request("GET", p.path or "/", headers={"User-Agent": a.ua, "Accept": "*/*", "Connection": "close"})
            c.getresponse().read()
            c.close()
        except Exception as e:
            print("poll", u, type(e).__name__, e, flush=True)
        due[u] += a.interval * (1 + rng.uniform(-0.002, 0.002))   # a scheduler's timer, not a sleep loop


def mail_loop(check):
    t = T0 + rng.uniform(0, 3)
    while t < END:
        sleep_until(t)
        try:
            check()
        except Exception as e:
            print(a.mode, type(e).__name__, e, flush=True)
        t += a.interval + rng.uniform(-0.5, 0.5)


def imap_check():
    m = imaplib.IMAP4(a.host, 143, timeout=10)
    m.capability()
    m.login(a.user, a.password)
    m.select("INBOX")
    typ, data = m.uid("SEARCH", None, "UNSEEN")
    m.uid("FETCH", "1:*", "(FLAGS)")
    m.logout()


def pop3_check():
    p = poplib.POP3(a.host, 110, timeout=10)
    p.capa()
    p.user(a.user)
    p.pass_(a.password)
    p.stat()
    p.list()
    p.uidl()
    p.quit()


def sshtype():
    pws, cmds = json.loads(a.passwords), json.loads(a.cmds)
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp("ssh", ["ssh", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                          "-o", "LogLevel=ERROR", "-o", "PubkeyAuthentication=no",
                          "-o", "PreferredAuthentications=password", f"{a.user}@{a.host}"])
    buf = b""

    def read(timeout):
        nonlocal buf
        r, _, _ = select.select([fd], [], [], timeout)
        if r:
            try:
                d = os.read(fd, 4096)
            except OSError:
                raise EOFError
            if not d:
                raise EOFError
            buf += d
            return True
        return False

    def expect(pats, timeout):
        nonlocal buf
        t = time.time() + timeout
        while time.time() < t:
            low = buf.lower()
            for p in pats:
                if p in low:
                    return p
            read(min(0.5, max(0.01, t - time.time())))
        raise TimeoutError(f"waiting for {pats}: {buf[-80:]!r}")

    def type_(s, lo, hi):
        for ch in s:
            os.write(fd, ch.encode())
            time.sleep(rng.uniform(lo, hi))

    try:
        for pw in pws:
            expect([b"password:"], 20)
            buf = b""
            time.sleep(rng.uniform(0.8, 3.0))     # reading the prompt
            type_(pw, 0.06, 0.25)
            os.write(fd, b"\r")
        expect([b"$ ", b"# "], 20)
        for c in cmds:
            buf = b""
            time.sleep(rng.uniform(1.0, 6.0))     # thinking
            type_(c, 0.04, 0.30)
            os.write(fd, b"\r")
            time.sleep(0.3)
            try:
                expect([b"$ ", b"# "], 10)
            except TimeoutError:
                pass
        time.sleep(rng.uniform(0.5, 3.0))
        type_("exit", 0.05, 0.2)
        os.write(fd, b"\r")
        t = time.time() + 10
        while time.time() < t:
            try:
                read(0.5)
            except EOFError:
                break
    except (EOFError, TimeoutError) as e:
        print("sshtype:", type(e).__name__, e, flush=True)
    finally:
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass
        os.waitpid(pid, 0)


if a.mode == "poll":
    poll()
elif a.mode == "imap":
    mail_loop(imap_check)
elif a.mode == "pop3":
    mail_loop(pop3_check)
else:
    sshtype()
