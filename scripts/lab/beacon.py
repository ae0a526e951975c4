#!/usr/bin/env python3
"""C2-like beacon: an implant calling home on a timer with jitter.

Every interval*(1 +- jitter) seconds it opens a TLS connection to the server,
POSTs a small encrypted-looking status blob and reads a task. Sometimes it
"exfiltrates" a larger blob. Bounded by --count and --deadline.

Options for the behaviour captures (the defaults keep the lab's c2 scenario
as it was): --scheme http (plain HTTP), --method get (Cobalt-Strike-like: a
GET with the metadata in a cookie; a data burst is a POST), --miss P (a beat
is skipped with probability P: the implant was asleep, the laptop closed),
--burst-p/--burst-max (probability and largest size of a data burst).
"""
import argparse, base64, http.client, os, random, ssl, time

ap = argparse.ArgumentParser()
ap.add_argument("--server", required=True)
ap.add_argument("--port", type=int, default=443)
ap.add_argument("--interval", type=float, default=5.0)
ap.add_argument("--jitter", type=float, default=0.3)
ap.add_argument("--count", type=int, default=20)
ap.add_argument("--deadline", type=float, default=60.0)
ap.add_argument("--path", default="/api/v2/sync")
ap.add_argument("--seed", type=int, default=0)
ap.add_argument("--scheme", choices=["https", "http"], default="https")
ap.add_argument("--method", choices=["post", "get"], default="post")
ap.add_argument("--miss", type=float, default=0.0)
ap.add_argument("--burst-p", type=float, default=None)
ap.add_argument("--burst-max", type=int, default=60000)
a = ap.parse_args()
rng = random.Random(a.seed)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
end = time.time() + a.deadline
ua = rng.choice(["Mozilla/5.0 (Windows NT 10.0; Win64; x64)", "Microsoft-CryptoAPI/10.0",
                 "Mozilla/5.0 (X11; Linux x86_64)", "curl/7.88.1"])


def connect():
    if a.scheme == "https":
        return http.client.HTTPSConnection(a.server, a.port, timeout=8, context=ctx)
    return http.client.HTTPConnection(a.server, a.port, timeout=8)


for i in range(a.count):
    if time.time() >= end:
        break
    if a.burst_p is None:
        size = rng.randint(64, 400) if rng.random() < 0.9 else rng.randint(4000, 60000)
    else:
        size = rng.randint(64, 400) if rng.random() >= a.burst_p else rng.randint(4000, max(4001, a.burst_max))
    skip = a.miss > 0 and i > 0 and rng.random() < a.miss
    try:
        if skip:
            print("beacon", i, "missed", flush=True)
        elif a.method == "get" and size <= 400:
            # metadata in a cookie, the task in the answer
            c = connect()
            meta = base64.b64encode(os.urandom(max(32, size // 3))).decode()
            c.request("GET", a.path + "?v=%08x" % rng.getrandbits(32),
                      headers={"User-Agent": ua, "Accept": "*/*", "Cookie": "SESSIONID=" + meta})
            c.getresponse().read()
            c.close()
        else:
            c = connect()
            c.request("POST", a.path + "?id=%08x" % rng.getrandbits(32), body=os.urandom(size),
                      headers={"User-Agent": ua, "Content-Type": "application/octet-stream"})
            c.getresponse().read()
            c.close()
    except Exception as e:  # the lab goes on even if one beacon fails
        print("beacon", i, "failed:", e, flush=True)
    sleep = a.interval * (1 + rng.uniform(-a.jitter, a.jitter))
    time.sleep(max(0.1, min(sleep, end - time.time())))
