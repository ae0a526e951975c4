#!/usr/bin/env python3
"""An HLS-like live stream viewer for the lab's broad benign captures.

One keep-alive HTTP/1.1 connection (TLS or not) to the stream host: GET the
master playlist, then the variant playlist, then every target duration
(2-6 s) the next segment, re-fetching the variant playlist before each
segment as live players do. Reconnects when the server closes an idle
connection. Bounded by --deadline and --segments. Standard library only.
"""
import argparse, http.client, random, ssl, time

ap = argparse.ArgumentParser()
ap.add_argument("--host", required=True)
ap.add_argument("--channel", default="ch0")
ap.add_argument("--tls", action="store_true")
ap.add_argument("--segdur", type=float, default=4)
ap.add_argument("--segments", type=int, default=10)
ap.add_argument("--start", type=int, default=0)
ap.add_argument("--deadline", type=float, default=40)
ap.add_argument("--seed", type=int, default=0)
ap.add_argument("--ua", default="AppleCoreMedia/1.0.0.20G165 (Apple TV; U; CPU OS 16_6 like Mac OS X; en_us)")
a = ap.parse_args()
rng = random.Random(a.seed)
END = time.time() + a.deadline
ctx = ssl._create_unverified_context() if a.tls else None
c = None


def get(path):
    global c
    for attempt in (0, 1):
        try:
            if c is None:
                c = (http.client.HTTPSConnection(a.host, 443, timeout=10, context=ctx) if a.tls
                     else http.client.HTTPConnection(a.host, 80, timeout=10))
            c.request("GET", path, headers={"User-Agent": a.ua, "Accept": "*/*", "Accept-Encoding": "identity",
                                            "X-Playback-Session-Id": "%032X" % rng.getrandbits(128)})
            return c.getresponse().read()
        except Exception:
            try:
                c.close()
            except Exception:
                pass
            c = None
    return b""


base = f"/live/{a.channel}"
get(f"{base}/master.m3u8")
for i in range(a.start, a.start + a.segments):
    t = time.time()
    if t + 1 > END:
        break
    get(f"{base}/index.m3u8")
    get(f"{base}/seg{i % 60:05d}.ts")
    time.sleep(max(0, min(END - time.time(), a.segdur * rng.uniform(0.9, 1.1) - (time.time() - t))))
if c:
    c.close()
