#!/usr/bin/env python3
"""A Prometheus-like poller for the lab's broad benign captures.

Scrapes GET /metrics of every target every --interval seconds on a fixed
timer (each target its own phase), reusing one keep-alive connection per
target as Prometheus does (reconnecting when the server closed it), with
Prometheus' request headers. Bounded by --deadline and --max-scrapes.
Standard library only.
"""
import argparse, http.client, random, time

ap = argparse.ArgumentParser()
ap.add_argument("targets", nargs="+", help="host:port")
ap.add_argument("--interval", type=float, default=15)
ap.add_argument("--deadline", type=float, default=60)
ap.add_argument("--max-scrapes", type=int, default=400)
ap.add_argument("--seed", type=int, default=0)
a = ap.parse_args()
rng = random.Random(a.seed)
T0 = time.time()
END = T0 + a.deadline
due = {t: T0 + rng.uniform(0, a.interval) for t in a.targets}
conn = {}
n = 0
HDR = {"User-Agent": "Prometheus/2.45.0", "Accept-Encoding": "gzip",
       "Accept": "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
                 "text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
       "X-Prometheus-Scrape-Timeout-Seconds": f"{min(10, a.interval):g}"}
while n < a.max_scrapes:
    t = min(due, key=due.get)
    if due[t] >= END:
        break
    d = due[t] - time.time()
    if d > 0:
        time.sleep(d)
    for attempt in (0, 1):
        try:
            if t not in conn:
                h, p = t.rsplit(":", 1)
                conn[t] = http.client.HTTPConnection(h, int(p), timeout=5)
            conn[t].request("GET", "/metrics", headers=HDR)
            conn[t].getresponse().read()
            break
        except Exception:
            try:
                conn.pop(t).close()
            except Exception:
                pass
    n += 1
    due[t] += a.interval
for c in conn.values():
    c.close()
