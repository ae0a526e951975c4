#!/usr/bin/env python3
"""Browser-like web sessions for the lab's benign traffic (HTTP/1.1, python sockets).

A browser does not open one connection per page: on a navigation it opens
several connections to the same host at once (2-8), some of them
speculatively, sends the page request on one and the subresource requests on
the others, and keeps them open when the page is done. Idle keep-alive
connections are then closed by the server (nginx keepalive_timeout) or by the
client after a few seconds; speculative preconnects that never carried a
request are closed by the client after an idle period (an empty TCP
connection: handshake, idle, FIN both ways; with TLS the handshake too).
Later navigations reuse live connections and resume the TLS session for new
ones. Requests carry a browser's header set (cookies, referer, Sec-Fetch-*,
conditional revalidation of objects already fetched).

curl cannot do this: it closes every connection when it exits, so idle
keep-alive and empty preconnects need a client that holds its sockets.

--mode longlived: one connection (often TLS) that stays open for the whole
deadline with kernel TCP keepalives (idle 2-10 s) and sometimes an
application heartbeat request every 8-20 s (chat/notification clients,
dashboards); it ends when the server closes it or at the deadline.

Bounded by --deadline (seconds) and small counts; seeded by --seed.
"""
import argparse, os, random, select, socket, ssl, threading, time

ap = argparse.ArgumentParser()
ap.add_argument("--host", required=True)
ap.add_argument("--port", type=int, default=0)
ap.add_argument("--tls", action="store_true")
ap.add_argument("--root", default="", help="web root to pick existing pages/objects from (nginx); else made-up paths")
ap.add_argument("--mode", choices=["session", "longlived"], default="session")
ap.add_argument("--deadline", type=float, default=25)
ap.add_argument("--seed", type=int, default=0)
ap.add_argument("--ua", default="Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0")
ap.add_argument("--conns", type=int, default=0,
                help="connections per navigation (default: 2-8 at random); e.g. 30 for a page with many objects "
                     "from one CDN host, as browsers without HTTP/2 coalescing open")
a = ap.parse_args()
rng = random.Random(a.seed)
port = a.port or (443 if a.tls else 80)
scheme = "https" if a.tls else "http"
T0 = time.time()
END = T0 + a.deadline
lock = threading.Lock()

if a.root:
    pages = sorted("/" + f for f in os.listdir(a.root) if f.endswith(".html"))
    objs = sorted("/static/" + f for f in os.listdir(os.path.join(a.root, "static")))
else:
    pages = [f"/{p}{i}" for p in ("news", "article", "home", "feed", "a") for i in range(40)]
    objs = [f"/{d}/{i:x}.{e}" for d, e in (("img", "png"), ("assets", "js"), ("assets", "css"), ("img", "jpg"))
            for i in range(60)]

ctx = None
if a.tls:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["http/1.1"])

chrome = "Chrome" in a.ua
cookie = "; ".join(f"{k}={rng.getrandbits(rng.choice([32, 64, 128])):x}"
                   for k in rng.sample(["sid", "_ga", "_gid", "csrftoken", "prefs", "lang", "consent", "_fbp",
                                        "theme", "tz"], rng.randint(0, 6)))
cache = {}       # path -> validators (ETag / Last-Modified) of what this session fetched
tls_session = None


def left():
    return END - time.time()


def headers(path, kind, referer):
    h = [("Host", a.host), ("User-Agent", a.ua)]
    if kind == "document":
        h.append(("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"))
    elif path.endswith((".png", ".jpg", ".ico")):
        h.append(("Accept", "image/avif,image/webp,*/*"))
    elif path.endswith(".css"):
        h.append(("Accept", "text/css,*/*;q=0.1"))
    else:
        h.append(("Accept", "*/*"))
    h += [("Accept-Language", rng.choice(["en-US,en;q=0.5", "en-US,en;q=0.9", "de-DE,de;q=0.9,en;q=0.8",
                                          "fr-FR,fr;q=0.8,en-US;q=0.5,en;q=0.3"])),
          ("Accept-Encoding", "gzip, deflate" + (", br" if a.tls else "")),
          ("Connection", "keep-alive")]
    if referer:
        h.append(("Referer", referer))
    if cookie:
        h.append(("Cookie", cookie))
    if kind == "document":
        h.append(("Upgrade-Insecure-Requests", "1"))
    if chrome:
        h += [("sec-ch-ua", '"Chromium";v="119", "Not?A_Brand";v="24"'), ("sec-ch-ua-mobile", "?0"),
              ("sec-ch-ua-platform", '"Windows"')]
    h += [("Sec-Fetch-Dest", kind), ("Sec-Fetch-Mode", "navigate" if kind == "document" else "no-cors"),
          ("Sec-Fetch-Site", "same-origin" if referer else "none")]
    if kind == "document" and not referer:
        h.append(("Sec-Fetch-User", "?1"))
    v = cache.get(path)
    if v:
        if v.get("etag"):
            h.append(("If-None-Match", v["etag"]))
        if v.get("last-modified"):
            h.append(("If-Modified-Since", v["last-modified"]))
        if kind == "document":
            h.append(("Cache-Control", "max-age=0"))
    return "".join(f"{k}: {x}\r\n" for k, x in h)


class Conn:
    def __init__(self, addr, speculative):
        self.addr, self.speculative = addr, speculative
        self.sock, self.alive, self.used, self.buf = None, False, False, b""
        self.last = time.time()
        self.close_at = None

    def open(self, delay, handshake=True):
        global tls_session
        time.sleep(delay)
        try:
            s = socket.create_connection(self.addr, timeout=min(5, max(0.5, left())))
            if a.tls and handshake:
                with lock:
                    sess = tls_session
                s = ctx.wrap_socket(s, server_hostname=a.host, session=sess)
            self.sock, self.alive, self.last = s, True, time.time()
        except Exception:
            self.alive = False

    def _recv(self, n=65536):
        d = self.sock.recv(n)
        if not d:
            raise EOFError
        return d

    def request(self, path, kind, referer):
        """GET path; returns True when the connection is still usable."""
        if not self.alive or left() < 0.3:
            return False
        self.used = True
        try:
            self.sock.settimeout(max(0.5, min(8, left())))
            self.sock.sendall(f"GET {path} HTTP/1.1\r\n{headers(path, kind, referer)}\r\n".encode())
            while b"\r\n\r\n" not in self.buf:
                self.buf += self._recv()
            head, self.buf = self.buf.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split()[1])
            hd = {}
            for ln in lines[1:]:
                k, _, v = ln.partition(":")
                hd[k.strip().lower()] = v.strip()
            if status not in (204, 304):
                if "content-length" in hd:
                    n = int(hd["content-length"])
                    while len(self.buf) < n:
                        self.buf += self._recv()
                    self.buf = self.buf[n:]
                elif hd.get("transfer-encoding", "").lower() == "chunked":
                    while True:
                        while b"\r\n" not in self.buf:
                            self.buf += self._recv()
                        line, self.buf = self.buf.split(b"\r\n", 1)
                        n = int(line.split(b";")[0], 16)
                        while len(self.buf) < n + 2:
                            self.buf += self._recv()
                        self.buf = self.buf[n + 2:]
                        if n == 0:
                            break
                else:  # body until close
                    while True:
                        self.buf += self._recv()
            if status == 200:
                cache[path] = {k: hd[k] for k in ("etag", "last-modified") if k in hd}
            self.last = time.time()
            if a.tls:
                global tls_session
                with lock:
                    if tls_session is None and self.sock.session is not None:
                        tls_session = self.sock.session
            if hd.get("connection", "").lower() == "close":
                self.close(client=False)
                return False
            return True
        except Exception:
            self.close(client=False)
            return False

    def close(self, client=True):
        if self.sock is not None:
            try:
                if a.tls and client and isinstance(self.sock, ssl.SSLSocket) and rng.random() < 0.5:
                    self.sock.settimeout(0.5)
                    self.sock.unwrap()  # close_notify before the FIN, as some browsers do
            except Exception:
                pass
            try:
                self.sock.close()
            except Exception:
                pass
        self.sock, self.alive = None, False


def idle(conns, until):
    """Hold connections idle until `until`: close a connection at its close_at
    (client), or when the server closes it (EOF; the client then closes too)."""
    while True:
        now = time.time()
        live = [c for c in conns if c.alive]
        for c in live:
            if c.close_at is not None and now >= c.close_at:
                c.close(client=True)
        live = [c for c in live if c.alive]
        if not live or now >= until:
            return
        nxt = min([until] + [c.close_at for c in live if c.close_at is not None])
        try:
            r, _, _ = select.select([c.sock for c in live], [], [], max(0.01, min(nxt - now, 1.0)))
        except Exception:
            return
        for c in live:
            if c.sock in r:
                try:
                    c.sock.settimeout(0)     # a TLS session ticket alone makes the socket readable
                    d = c.sock.recv(4096)
                    if d:
                        continue
                except (ssl.SSLWantReadError, BlockingIOError):
                    continue
                except Exception:
                    pass
                time.sleep(rng.uniform(0, 0.003))
                c.close(client=False)   # server closed: answer with our FIN


def resolve():
    # A browser asks for A and AAAA; the lab is IPv4 only, so it connects over IPv4.
    ai = socket.getaddrinfo(a.host, port, socket.AF_UNSPEC, socket.SOCK_STREAM)
    v4 = [x[4] for x in ai if x[0] == socket.AF_INET]
    return v4[0]


def session():
    addr = resolve()
    conns = []
    referer = None
    for nav in range(rng.randint(1, 3)):
        if left() < 2:
            break
        live = [c for c in conns if c.alive and not c.speculative]
        want = rng.randint(2, 8)
        if a.conns:
            want = a.conns
        new = max(0, want - len(live))
        nspec = min(new - (0 if live else 1), rng.choice([0, 0, 1, 1, 2, 3]))
        fresh = [Conn(addr, speculative=i < nspec) for i in range(new)]
        # a preconnect for HTTPS usually completes the TLS handshake as well
        ths = [threading.Thread(target=c.open, args=(rng.uniform(0, 0.04) * i, not c.speculative or rng.random() < 0.7))
               for i, c in enumerate(fresh)]
        for t in ths:
            t.start()
        for t in ths:
            t.join()
        conns += fresh
        for c in fresh:
            if c.speculative and c.alive:
                c.close_at = time.time() + rng.uniform(1, 15)   # never used, closed by the client
        work = [c for c in conns if c.alive and not c.speculative]
        if not work:
            break
        page = rng.choice(pages)
        main = work[0]
        if not main.request(page, "document", referer):
            work = [c for c in work if c.alive]
            if not work:
                break
        url = f"{scheme}://{a.host}{page}"
        nobj = rng.randint(0, 14)
        if a.conns:   # a page with many objects: most of the connections carry some
            nobj = rng.randint(a.conns * 2 // 3, a.conns)
        todo = [p for p in rng.sample(objs, min(len(objs), nobj))
                if p not in cache or rng.random() < 0.3]  # cached ones are mostly not asked again
        if rng.random() < 0.5 and nav == 0:
            todo.append("/favicon.ico")
        if rng.random() < 0.15:
            todo.append(rng.choice(["/apple-touch-icon.png", "/robots.txt", "/manifest.json", "/sw.js"]))
        work = [c for c in work if c.alive]
        if todo and work:
            # a subset of the connections carries the subresources; the rest stay idle
            k = rng.randint(1, len(work)) if not a.conns else rng.randint(max(1, len(work) * 2 // 3), len(work))
            queues = {c: [] for c in work[:k]}
            for i, p in enumerate(todo):
                queues[work[i % k]].append(p)

            def fetch(c, q):
                for p in q:
                    if not c.request(p, "image" if p.endswith((".png", ".jpg", ".ico")) else
                                     "style" if p.endswith(".css") else "script", url):
                        break
                    time.sleep(rng.uniform(0, 0.05))
            ths = [threading.Thread(target=fetch, args=(c, q)) for c, q in queues.items()]
            for t in ths:
                t.start()
            for t in ths:
                t.join()
        referer = url
        # idle keep-alive: the client closes some connections after 1-15 s, the
        # others wait for the server's keep-alive timeout (or the next page)
        for c in conns:
            if c.alive and c.close_at is None and (not c.used or rng.random() < 0.5):
                # opened but never used: the client drops it after an idle period
                c.close_at = c.last + rng.uniform(1, 15)
        think = rng.uniform(1, 15)
        idle(conns, min(END, time.time() + think))
    # after the last page: wait for the remaining closes, bounded by the deadline
    for c in conns:
        if c.alive and c.close_at is None and rng.random() < 0.3:
            c.close_at = c.last + rng.uniform(1, 15)
    idle(conns, END)
    for c in conns:
        if c.alive:
            c.close(client=True)


def longlived():
    addr = resolve()
    s = socket.create_connection(addr, timeout=5)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    ki = rng.randint(2, 10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, ki)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, ki)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 3)
    c = Conn(addr, speculative=False)
    c.sock, c.alive = (ctx.wrap_socket(s, server_hostname=a.host) if a.tls else s), True
    path = rng.choice(pages)
    if not c.request(path, "document", None):
        return
    hb = rng.uniform(8, 20) if rng.random() < 0.5 else None
    while c.alive and left() > 0.2:
        until = min(END, time.time() + hb * rng.uniform(0.9, 1.1)) if hb else END
        idle([c], until)
        if c.alive and hb and left() > 0.5:
            c.request(rng.choice(objs) if a.root else path + f"?since={int(time.time())}", "empty", path)
    c.close(client=True)


try:
    session() if a.mode == "session" else longlived()
except Exception as e:  # the lab goes on
    print("browse:", type(e).__name__, e, flush=True)
