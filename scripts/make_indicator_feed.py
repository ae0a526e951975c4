#!/usr/bin/env python3
"""Writes a large synthetic Zeek Intel file for the indicator benchmark
(docs/performance.md, "Indicators"): N indicators in the mix a threat feed
has — addresses (IPv4 and IPv6), subnets of every length from /8 to /30,
domains, URLs, JA3, JA4 and HASSH — from 20 sources. IPv4 addresses are
spread over public unicast space (private ranges left out), as a feed's
are; subnets lie in 240.0.0.0/4, IPv6 in 2001:db8::/32, names under
.invalid: nothing on the lab's captures (a random public address may
rarely be one of a public capture's: the benchmark prints the hits).

Usage: scripts/make_indicator_feed.py OUT [N]   (N default 2,500,000)
"""
import ipaddress
import random
import sys

out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 2_500_000
rng = random.Random(20)
hexd = "0123456789abcdef"


PRIVATE = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8",
                                                "169.254.0.0/16", "100.64.0.0/10")]


def public_v4():
    while True:
        a = ipaddress.IPv4Address(rng.randrange(1 << 24, 224 << 24))
        if not any(a in n for n in PRIVATE):
            return str(a)


def hexs(k):
    return "".join(rng.choice(hexd) for _ in range(k))


mix = [("addr4", 0.40), ("addr6", 0.04), ("subnet", 0.06), ("domain", 0.32), ("url", 0.10),
       ("ja3", 0.04), ("ja4", 0.02), ("hassh", 0.02)]
with open(out, "w") as f:
    f.write("#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\tmeta.severity\n")
    for kind, share in mix:
        for i in range(int(n * share)):
            src = f"feed-{i % 20}"
            if kind == "addr4":  # anywhere in public unicast space, as a feed's are
                v, t = public_v4(), "Intel::ADDR"
            elif kind == "addr6":  # 2001:db8::/32: documentation
                v, t = f"2001:db8:{i >> 16:x}:{i & 0xffff:x}::{rng.randrange(1, 0xffff):x}", "Intel::ADDR"
            elif kind == "subnet":
                length = 8 + i % 23
                v, t = f"{240 + i % 16}.{(i >> 4) & 255}.{(i >> 12) & 255}.0/{length}", "Intel::SUBNET"
            elif kind == "domain":
                v, t = f"{hexs(8)}-{i}.example-{i % 97}.invalid", "Intel::DOMAIN"
            elif kind == "url":
                v, t = f"{hexs(6)}-{i}.invalid/{hexs(10)}/index.php?id={i}", "Intel::URL"
            elif kind == "ja3":
                v, t = hexs(32), "Intel::JA3"
            elif kind == "ja4":
                v, t = f"t13d{rng.randrange(10, 99)}{rng.randrange(10, 99)}h2_{hexs(12)}_{hexs(12)}", "Intel::JA4"
            else:
                v, t = hexs(32), "Intel::HASSH"
            f.write(f"{v}\t{t}\t{src}\t-\t{1 + i % 3}\n")
