#!/usr/bin/env python3
"""Authoritative DNS server of the DNS C2 zone (runs on fs-ext, UDP and TCP :53).

The lab's resolver (dnsmasq) forwards the zone here. Every TXT query under the
zone is an implant's check-in or a chunk of exfiltrated data: mostly a short
"no task" TXT answer (12-24 random bytes, base64), sometimes a task of
200-900 bytes split into 255-byte character strings. A queries get one
address, other types an empty answer; names outside the zone REFUSED.
Standard library only.
"""
import argparse, base64, random, socket, struct, threading

ap = argparse.ArgumentParser()
ap.add_argument("--zone", required=True)
ap.add_argument("--bind", default="0.0.0.0")
ap.add_argument("--port", type=int, default=53)
ap.add_argument("--seed", type=int, default=0)
a = ap.parse_args()
zone = a.zone.lower().rstrip(".")
rng = random.Random(a.seed)
lock = threading.Lock()


def parse_name(msg, off):
    labels = []
    while True:
        n = msg[off]
        if n == 0:
            return ".".join(labels), off + 1
        if n & 0xC0:
            raise ValueError("compression in question")
        labels.append(msg[off + 1:off + 1 + n].decode("ascii", "replace"))
        off += 1 + n


def answer(q):
    if len(q) < 12:
        return None
    qid, flags, qd = struct.unpack("!HHH", q[:6])
    if qd != 1 or flags & 0x8000:
        return None
    name, off = parse_name(q, 12)
    qtype, qclass = struct.unpack("!HH", q[off:off + 4])
    question = q[12:off + 4]
    edns = len(q) > off + 4   # an OPT record follows: answer with one too
    rd = flags & 0x0100
    lname = name.lower()
    if not (lname == zone or lname.endswith("." + zone)):
        return struct.pack("!HHHHHH", qid, 0x8000 | rd | 5, 1, 0, 0, 0) + question
    rrs = []
    if qtype == 16:  # TXT
        with lock:
            if rng.random() < 0.85:
                data = ("ok:" + base64.b64encode(rng.randbytes(rng.randint(12, 24))).decode()).encode()
            else:
                data = ("t:" + base64.b64encode(rng.randbytes(rng.randint(150, 670))).decode()).encode()
        rdata = b"".join(bytes([len(data[i:i + 255])]) + data[i:i + 255] for i in range(0, len(data), 255))
        rrs.append(struct.pack("!HHHIH", 0xC00C, 16, 1, 60, len(rdata)) + rdata)
    elif qtype == 1:  # A
        rrs.append(struct.pack("!HHHIH", 0xC00C, 1, 1, 300, 4) + socket.inet_aton("198.51.100.%d" % (sum(lname.encode()) % 250 + 1)))
    out = struct.pack("!HHHHHH", qid, 0x8400 | rd, 1, len(rrs), 0, 1 if edns else 0) + question + b"".join(rrs)
    if edns:
        out += b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 0)
    return out


def udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((a.bind, a.port))
    while True:
        q, peer = s.recvfrom(4096)
        try:
            r = answer(q)
        except Exception:
            r = None
        if r:
            s.sendto(r, peer)


def tcp_conn(c):
    try:
        c.settimeout(10)
        while True:
            h = c.recv(2)
            if len(h) < 2:
                break
            n = struct.unpack("!H", h)[0]
            q = b""
            while len(q) < n:
                d = c.recv(n - len(q))
                if not d:
                    return
                q += d
            r = answer(q)
            if r:
                c.sendall(struct.pack("!H", len(r)) + r)
    except Exception:
        pass
    finally:
        c.close()


def tcp():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a.bind, a.port))
    s.listen(64)
    while True:
        c, _ = s.accept()
        threading.Thread(target=tcp_conn, args=(c,), daemon=True).start()


threading.Thread(target=tcp, daemon=True).start()
udp()
