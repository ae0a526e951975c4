#!/usr/bin/env python3
"""Writes the small crafted captures the Swift tests replay
(Tests/SensorTests/Captures/). Standard library only; deterministic.

Each file exercises link types and encapsulations that the lab's own
captures do not: every raw-IP DLT value, BSD loopback in both byte orders,
PPP with MPLS, PPPoE, VLAN stacks, MPLS, GRE, VXLAN, IP-in-IP, IPv6
extension headers, fragments, a nanosecond pcap, a pcapng with two
interfaces, and malformed packets. tshark reads every one of them, and the
oracle tests compare our per-5-tuple counts with it.
"""
import os
import struct
import sys

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(__file__), "..", "Tests", "SensorTests", "Captures")

def ip4(s):
    return bytes(int(x) for x in s.split("."))

def ip6(s):
    head, _, tail = s.partition("::")
    h = [int(x, 16) for x in head.split(":") if x]
    t = [int(x, 16) for x in tail.split(":") if x]
    groups = h + [0] * (8 - len(h) - len(t)) + t
    return b"".join(struct.pack(">H", g) for g in groups)

def ipv4(proto, payload, src="10.1.0.1", dst="10.1.0.2", ident=1, frag=0x4000, total=None, ttl=64):
    tl = total if total is not None else 20 + len(payload)
    return struct.pack(">BBHHHBBH4s4s", 0x45, 0, tl, ident, frag, ttl, proto, 0, ip4(src), ip4(dst)) + payload

def ipv6(nxt, payload, src="2001:db8::1", dst="2001:db8::2", plen=None):
    pl = plen if plen is not None else len(payload)
    return struct.pack(">IHBB", 0x60000000, pl, nxt, 64) + ip6(src) + ip6(dst) + payload

def tcp(sport, dport, flags, payload=b"", seq=1, ack=0, win=29200):
    return struct.pack(">HHIIBBHHH", sport, dport, seq, ack, 0x50, flags, win, 0, 0) + payload

def udp(sport, dport, payload=b""):
    return struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload

def icmp(t, c, payload=b"\x00\x01\x00\x01"):
    return struct.pack(">BBH", t, c, 0) + payload

MAC = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01"

def eth(etype, payload):
    return MAC + struct.pack(">H", etype) + payload

def write_pcap(name, linktype, packets, nano=False, snaplen=65535):
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(struct.pack("<IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype))
        for ts, data, *rest in packets:
            wire = rest[0] if rest else len(data)
            cap = data[:snaplen]
            sec = int(ts)
            frac = round((ts - sec) * (1e9 if nano else 1e6))
            f.write(struct.pack("<IIII", sec, frac, len(cap), wire))
            f.write(cap)

def tcp_session(t0, c, s, sport, dport, wrap, data=b"GET / HTTP/1.1\r\n\r\n", resp=b"HTTP/1.1 200 OK\r\n\r\nhello"):
    """A whole TCP conversation, each packet passed through wrap(ip_packet)."""
    v6 = ":" in c
    def ip(src, dst, seg):
        return ipv6(6, seg, src, dst) if v6 else ipv4(6, seg, src, dst)
    pk = [
        (t0 + 0.000, ip(c, s, tcp(sport, dport, 0x02))),
        (t0 + 0.010, ip(s, c, tcp(dport, sport, 0x12))),
        (t0 + 0.011, ip(c, s, tcp(sport, dport, 0x10))),
        (t0 + 0.020, ip(c, s, tcp(sport, dport, 0x18, data))),
        (t0 + 0.045, ip(s, c, tcp(dport, sport, 0x18, resp))),
        (t0 + 0.050, ip(c, s, tcp(sport, dport, 0x11))),
        (t0 + 0.060, ip(s, c, tcp(dport, sport, 0x11))),
        (t0 + 0.061, ip(c, s, tcp(sport, dport, 0x10))),
    ]
    return [(t, wrap(p)) for t, p in pk]

def main():
    os.makedirs(OUT, exist_ok=True)
    T = 1_700_000_000.0

    # 1. Ethernet mix: plain, VLAN stacks, MPLS, PPPoE, GRE, VXLAN, IP-in-IP, IPv6 ext, fragments, ICMP, malformed.
    pk = []
    pk += tcp_session(T, "10.1.0.1", "10.1.0.2", 40001, 80, lambda p: eth(0x0800, p))
    pk += tcp_session(T + 1, "10.1.0.1", "10.1.0.2", 40002, 80,
                      lambda p: MAC + b"\x81\x00\x00\x64" + b"\x08\x00" + p)                      # 802.1Q 100
    pk += tcp_session(T + 2, "10.1.0.1", "10.1.0.2", 40003, 80,
                      lambda p: MAC + b"\x88\xa8\x00\x0a\x81\x00\x00\x14\x08\x00" + p)            # QinQ 10/20
    pk += tcp_session(T + 3, "10.1.0.1", "10.1.0.2", 40004, 443,
                      lambda p: eth(0x8847, b"\x00\x01\x40\x40\x00\x02\x81\x40" + p))             # MPLS x2
    pk += tcp_session(T + 4, "10.1.0.3", "10.1.0.2", 40005, 22,
                      lambda p: eth(0x8864, struct.pack(">BBHHH", 0x11, 0, 7, len(p) + 2, 0x21) + p))  # PPPoE
    pk += tcp_session(T + 5, "172.16.0.1", "172.16.0.2", 40006, 22,
                      lambda p: eth(0x0800, ipv4(47, b"\x00\x00\x08\x00" + p, "192.0.2.1", "192.0.2.2")))  # GRE
    pk += tcp_session(T + 6, "172.16.1.1", "172.16.1.2", 40007, 8080,
                      lambda p: eth(0x0800, ipv4(17, udp(49152, 4789, b"\x08\x00\x00\x00\x00\x00\x2a\x00" + eth(0x0800, p)),
                                                 "192.0.2.3", "192.0.2.4")))                     # VXLAN
    pk += tcp_session(T + 7, "172.16.2.1", "172.16.2.2", 40008, 25,
                      lambda p: eth(0x0800, ipv4(4, p, "192.0.2.5", "192.0.2.6")))                # 4in4
    pk += tcp_session(T + 8, "2001:db8:1::1", "2001:db8:1::2", 40009, 443,
                      lambda p: eth(0x0800, ipv4(41, p, "192.0.2.7", "192.0.2.8")))               # 6in4
    pk += tcp_session(T + 9, "2001:db8::1", "2001:db8::2", 40010, 80, lambda p: eth(0x86DD, p))  # IPv6
    # IPv6 with hop-by-hop and destination options before UDP.
    ext = b"\x3c\x00\x01\x04\x00\x00\x00\x00" + b"\x11\x00\x01\x04\x00\x00\x00\x00"
    pk.append((T + 10, eth(0x86DD, ipv6(0, ext + udp(5000, 53, b"query")))))
    pk.append((T + 10.1, eth(0x86DD, ipv6(0, ext + udp(53, 5000, b"answer!"), "2001:db8::2", "2001:db8::1"))))
    # IPv4 UDP fragmented in three (first has the UDP header).
    body = udp(6000, 7000, bytes(range(256)) * 4)
    pk.append((T + 11, eth(0x0800, ipv4(17, body[:512], ident=77, frag=0x2000))))
    pk.append((T + 11.001, eth(0x0800, ipv4(17, body[512:1024], ident=77, frag=0x2000 | 64))))
    pk.append((T + 11.002, eth(0x0800, ipv4(17, body[1024:], ident=77, frag=128))))
    # ICMP echo and reply, and a one-way unreachable.
    pk.append((T + 12, eth(0x0800, ipv4(1, icmp(8, 0), "10.1.0.5", "10.1.0.6"))))
    pk.append((T + 12.01, eth(0x0800, ipv4(1, icmp(0, 0), "10.1.0.6", "10.1.0.5"))))
    pk.append((T + 12.02, eth(0x0800, ipv4(1, icmp(3, 3, b"\x00" * 32), "10.1.0.6", "10.1.0.5"))))
    # ICMPv6 echo.
    pk.append((T + 12.5, eth(0x86DD, ipv6(58, icmp(128, 0)))))
    pk.append((T + 12.51, eth(0x86DD, ipv6(58, icmp(129, 0), "2001:db8::2", "2001:db8::1"))))
    # A protocol without ports (OSPF) and ARP (not IP).
    pk.append((T + 13, eth(0x0800, ipv4(89, b"\x02\x01" + b"\x00" * 42, "10.1.0.9", "224.0.0.5"))))
    pk.append((T + 13.1, eth(0x0806, b"\x00\x01\x08\x00\x06\x04\x00\x01" + b"\x00" * 20)))
    # Malformed: IP length beyond the wire; IPv4 header cut off; TCP data offset < 5.
    pk.append((T + 14, eth(0x0800, ipv4(17, udp(1, 2, b"x" * 10), total=1400))))
    pk.append((T + 14.1, eth(0x0800, ipv4(6, b""))[:14 + 12]))
    bad = bytearray(eth(0x0800, ipv4(6, tcp(1, 2, 0x02))))
    bad[14 + 20 + 12] = 0x30
    pk.append((T + 14.2, bytes(bad)))
    # Snaplen-cut payload: headers whole, payload cut (wire length larger than captured).
    big = eth(0x0800, ipv4(6, tcp(40011, 80, 0x18, b"A" * 1400, seq=5), "10.1.0.1", "10.1.0.2"))
    pk.append((T + 15, big[:120], len(big)))
    write_pcap("ethernet-mix.pcap", 1, pk)

    # 2. Every raw-IP link type value, BSD loopback both orders, Linux cooked v1/v2, PPP (+MPLS), nanosecond.
    s = lambda t0, sp: tcp_session(T + t0, "10.2.0.1", "10.2.0.2", sp, 80, lambda p: p)
    write_pcap("raw-dlt12.pcap", 12, s(0, 41000))
    write_pcap("raw-linktype101.pcap", 101, s(0, 41001))
    write_pcap("raw-ipv4-228.pcap", 228, s(0, 41002))
    write_pcap("raw-ipv6-229.pcap", 229, tcp_session(T, "2001:db8:2::1", "2001:db8:2::2", 41003, 80, lambda p: p))
    write_pcap("null-le.pcap", 0, [(t, struct.pack("<I", 2) + p) for t, p in s(0, 41004)])
    write_pcap("loop-be.pcap", 108, [(t, struct.pack(">I", 2) + p) for t, p in s(0, 41005)])
    write_pcap("sll.pcap", 113, [(t, struct.pack(">HHH8sH", 0, 1, 6, b"\x02" * 6 + b"\0\0", 0x0800) + p) for t, p in s(0, 41006)])
    write_pcap("sll2.pcap", 276, [(t, struct.pack(">HHIHBB8s", 0x0800, 0, 3, 1, 0, 6, b"\x02" * 6 + b"\0\0") + p) for t, p in s(0, 41007)])
    write_pcap("ppp.pcap", 9, [(t, b"\xff\x03\x00\x21" + p) for t, p in s(0, 41008)] +
               [(t + 1, b"\xff\x03\x02\x81\x00\x01\x41\x40" + p) for t, p in s(0, 41009)])
    write_pcap("nanosecond.pcap", 1, [(t + 0.000000123, eth(0x0800, p)) for t, p in s(0, 41010)], nano=True)

    # 3. pcapng with two Ethernet interfaces.
    def block(btype, body):
        pad = (-len(body)) % 4
        n = 12 + len(body) + pad
        return struct.pack("<II", btype, n) + body + b"\0" * pad + struct.pack("<I", n)
    shb = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    idb = lambda: block(1, struct.pack("<HHI", 1, 0, 65535))
    epbs = b""
    for i, (t, p) in enumerate(tcp_session(T, "10.3.0.1", "10.3.0.2", 42000, 80, lambda p: eth(0x0800, p))):
        us = int(round(t * 1e6))
        epbs += block(6, struct.pack("<IIIII", i % 2, us >> 32, us & 0xFFFFFFFF, len(p), len(p)) + p)
    with open(os.path.join(OUT, "two-interfaces.pcapng"), "wb") as f:
        f.write(shb + idb() + idb() + epbs)

    # 3b. pcapng whose interfaces have different link types (Ethernet, raw IP,
    # Linux cooked), the raw one with nanosecond resolution (if_tsresol = 9),
    # as `dumpcap -i eth0 -i any` writes; then a copy cut inside a block.
    def idb_opts(linktype, tsresol=None):
        opts = b""
        if tsresol is not None:
            opts += struct.pack("<HHB3x", 9, 1, tsresol)
        if opts:
            opts += struct.pack("<HH", 0, 0)
        return block(1, struct.pack("<HHI", linktype, 0, 65535) + opts)
    sess = tcp_session(T, "10.4.0.1", "10.4.0.2", 43000, 80, lambda p: p)
    wraps = [lambda p: eth(0x0800, p), lambda p: p,
             lambda p: struct.pack(">HHH8sH", 0, 1, 6, b"\x02" * 6 + b"\0\0", 0x0800) + p]
    epbs = b""
    for i, (t, p) in enumerate(sess):
        ifc = i % 3
        data = wraps[ifc](p)
        units = int(round(t * 1e9)) if ifc == 1 else int(round(t * 1e6))
        epbs += block(6, struct.pack("<IIIII", ifc, units >> 32, units & 0xFFFFFFFF, len(data), len(data)) + data)
    mixed = shb + idb_opts(1) + idb_opts(101, 9) + idb_opts(113) + epbs
    with open(os.path.join(OUT, "mixed-linktypes.pcapng"), "wb") as f:
        f.write(mixed)
    with open(os.path.join(OUT, "cut-mid-block.pcapng"), "wb") as f:
        f.write(mixed[:len(mixed) - 30])

    # 4. A capture cut off in the middle of a record, and a file that is not a capture.
    full = os.path.join(OUT, "raw-dlt12.pcap")
    data = open(full, "rb").read()
    open(os.path.join(OUT, "cut-mid-record.pcap"), "wb").write(data[:len(data) - 17])
    open(os.path.join(OUT, "not-a-capture.txt"), "wb").write(b"this is not a capture file\n")

if __name__ == "__main__":
    main()
