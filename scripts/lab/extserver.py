#!/usr/bin/env python3
"""HTTPS server of the lab's "external" host (fs-ext).

Benign clients browse it (GET pages of random sizes); infected hosts use it
as their command-and-control server (POST /api/..., answered with a "task"
of random size). Both travel inside the same TLS, as on a real network.
Without --cert it serves the same over plain HTTP (the DNS tunnel's far end,
and fs-ext's :80 in the behaviour captures). GET /health answers a small
JSON (health-check pollers); a GET with a SESSIONID cookie is an implant's
check-in and is answered with a task like a POST.

The TLS handshake runs in the connection's thread, not in accept(): a client
that connects and never sends a ClientHello (a browser's speculative
preconnect) no longer holds up every other client.
"""
import argparse, os, random, ssl, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "nginx"
    sys_version = ""
    def log_message(self, *a):
        pass
    def _send(self, n, ctype):
        body = os.urandom(n // 2).hex().encode()[:n] if ctype != "text/html" else \
            (b"<html><body>" + b"lorem ipsum dolor sit amet " * (n // 27 + 1))[:n]
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def setup(self):
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(30)
            self.request.do_handshake()
            self.request.settimeout(None)
        super().setup()
    def _task(self):
        # a task: mostly tiny "nothing to do", sometimes a larger blob
        size = random.choice([16, 24, 32, 48]) if random.random() < 0.8 else random.randint(500, 20000)
        self._send(size, "application/octet-stream")
    def do_GET(self):
        if self.path.split("?")[0] == "/health":
            body = b'{"status":"up","checks":{"db":"ok","queue":"ok"}}\n'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if "SESSIONID=" in (self.headers.get("Cookie") or ""):
            self._task()
            return
        if self.path.startswith("/blob/"):
            self._send(min(int(self.path.split("/")[2]), 5_000_000), "application/octet-stream")
            return
        r = random.Random(self.path)
        self._send(min(int(r.lognormvariate(7.8, 1.1)) + 200, 100_000), "text/html")
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0") or 0)
        if n:
            self.rfile.read(min(n, 10_000_000))
        self._task()

class Server(ThreadingHTTPServer):
    daemon_threads = True
    def handle_error(self, request, client_address):
        pass   # a client that went away during the handshake or the request

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=443)
    ap.add_argument("--bind", default="0.0.0.0")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    a = ap.parse_args()
    srv = Server((a.bind, a.port), H)
    if a.cert:  # without a certificate: plain HTTP (the DNS tunnel's far end)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.cert, a.key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
    srv.serve_forever()
