#!/usr/bin/env python3
"""Writes a flood capture on demand (stdlib only, seeded): SYN flood from
random spoofed sources, UDP flood, or a scan of every port — for the
robustness measurements in docs/robustness.md (never committed).

  scripts/make_flood.py syn  2000000 /tmp/synflood.pcap
  scripts/make_flood.py udp  1000000 /tmp/udpflood.pcap
  scripts/make_flood.py scan 65535   /tmp/portscan.pcap
  scripts/make_flood.py syn  1000000 /tmp/slow.pcap --rate 5000   # packets per second of packet time (default 100,000)
"""
import random
import struct
import sys

args = sys.argv[1:]
rate = 100_000
if "--rate" in args:
    i = args.index("--rate")
    rate = int(args[i + 1])
    del args[i:i + 2]
if len(args) != 3 or args[0] not in ("syn", "udp", "scan") or rate < 1 or rate > 1_000_000:
    sys.exit(__doc__)
kind, count, out = args[0], int(args[1]), args[2]
step = 1_000_000 // rate  # microseconds between packets
rng = random.Random(20261122)
victim = bytes([10, 9, 0, 1])
scanner = bytes([10, 9, 0, 66])
mac = b"\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00"
t0 = 1_790_000_000

def ip(src, dst, proto, l4):
    return struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), rng.getrandbits(16), 0, 64, proto, 0, src, dst) + l4

with open(out, "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for i in range(count):
        if kind == "syn":
            src = struct.pack(">I", rng.getrandbits(32))
            l4 = struct.pack(">HHIIBBHHH", rng.randrange(1024, 65536), 80, rng.getrandbits(32), 0, 0x50, 0x02, 512, 0, 0)
            pkt = mac + ip(src, victim, 6, l4)
        elif kind == "udp":
            src = struct.pack(">I", rng.getrandbits(32))
            l4 = struct.pack(">HHHH", rng.randrange(1024, 65536), 53, 8 + 32, 0) + bytes(rng.getrandbits(8) for _ in range(32))
            pkt = mac + ip(src, victim, 17, l4)
        else:  # every port of one host, one SYN each (no replies)
            l4 = struct.pack(">HHIIBBHHH", 40000, i % 65536, rng.getrandbits(32), 0, 0x50, 0x02, 1024, 0, 0)
            pkt = mac + ip(scanner, victim, 6, l4)
        ts = t0 + i * step
        f.write(struct.pack("<IIII", ts // 1_000_000, ts % 1_000_000, len(pkt), len(pkt)))
        f.write(pkt)
