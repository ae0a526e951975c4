#!/usr/bin/env python3
"""A node_exporter-like /metrics endpoint for the lab's broad benign captures.

HTTP/1.1 with keep-alive (Prometheus reuses its scrape connection). Each
scrape returns a few hundred metric lines (Prometheus text format 0.0.4)
whose counters grow and gauges move, 8-40 kB per answer depending on
--series. Bounded by --deadline (seconds). Standard library only.
"""
import argparse, random, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, default=9100)
ap.add_argument("--series", type=int, default=120)
ap.add_argument("--seed", type=int, default=0)
ap.add_argument("--deadline", type=float, default=14400)
a = ap.parse_args()
rng = random.Random(a.seed)
T0 = time.time()
NAMES = [("node_cpu_seconds_total", "counter", 'cpu="{i}",mode="{m}"'),
         ("node_network_receive_bytes_total", "counter", 'device="eth{i}"'),
         ("node_network_transmit_bytes_total", "counter", 'device="eth{i}"'),
         ("node_filesystem_avail_bytes", "gauge", 'device="/dev/sda{i}",fstype="ext4",mountpoint="/srv/{m}"'),
         ("node_disk_io_time_seconds_total", "counter", 'device="sd{m}{i}"'),
         ("process_resident_memory_bytes", "gauge", 'job="{m}",instance="{i}"'),
         ("http_requests_total", "counter", 'code="200",handler="/api/{m}/{i}",method="GET"'),
         ("http_request_duration_seconds_bucket", "histogram", 'handler="/api/{m}",le="0.{i}"')]
MODES = ["idle", "user", "system", "iowait", "irq", "softirq", "steal", "nice"]
base = {}


def body():
    t = time.time() - T0
    out = []
    for n, typ, lab in NAMES:
        out.append(f"# HELP {n} {n.replace('_', ' ')}.\n# TYPE {n} {'counter' if typ == 'histogram' else typ}")
        for i in range(a.series // len(NAMES)):
            k = (n, i)
            b = base.setdefault(k, rng.uniform(1e3, 1e9))
            v = b + t * (b / 5e4) if typ != "gauge" else b * (1 + 0.01 * rng.uniform(-1, 1))
            out.append(f"{n}{{{lab.format(i=i, m=MODES[i % len(MODES)])}}} {v:.6g}")
    out.append(f"node_time_seconds {time.time():.3f}")
    return ("\n".join(out) + "\n").encode()


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        b = body() if self.path.startswith("/metrics") else b"ok\n"
        self.send_response(200 if self.path.startswith("/metrics") else 404)
        self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)

    def log_message(self, *args):
        pass


srv = ThreadingHTTPServer(("0.0.0.0", a.port), H)
srv.daemon_threads = True
threading.Timer(a.deadline, srv.shutdown).start()
srv.serve_forever()
