"""Hand-built edge-case captures for the oracle tests.

The public and lab captures do not exercise every decoding path the sensor
has, so this writes small classic-pcap files (plain struct packing, no
third-party packet library) holding the cases the oracles can judge:
server-first TCP, idle splits, RST, all TCP flags, IPv4 and IPv6 fragments,
VXLAN, IP-in-IP, 6in4, GRE with a key, MPLS, PPPoE, stacked VLANs, IPv4
options, IPv6 extension headers, ICMP errors quoting a packet, ICMPv6
pairs, Ethernet padding, snaplen-truncated frames, unknown IP protocols,
ARP, and malformed IP lengths (which the sensor skips).

The content is judged only by tshark and nfstream, never by hand-written
expected numbers.
"""

from __future__ import annotations

import ipaddress
import struct

BASE_TS = 1_700_000_000.0


def _csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def _ip(a: str) -> bytes:
    return ipaddress.ip_address(a).packed


def eth(payload: bytes, etype: int, src="02:00:00:00:00:01", dst="02:00:00:00:00:02",
        vlans=()) -> bytes:
    mac = lambda m: bytes(int(x, 16) for x in m.split(":"))  # noqa: E731
    hdr = mac(dst) + mac(src)
    for v in vlans:
        hdr += struct.pack("!HH", 0x8100, v)
    return hdr + struct.pack("!H", etype) + payload


def ipv4(src, dst, proto, payload, ident=1, df=False, mf=False, frag_off=0,
         options=b"", ttl=64, total_len=None) -> bytes:
    ihl = 5 + len(options) // 4
    tl = total_len if total_len is not None else ihl * 4 + len(payload)
    flags = (0x4000 if df else 0) | (0x2000 if mf else 0) | (frag_off // 8)
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, tl, ident, flags, ttl, proto, 0,
                    _ip(src), _ip(dst)) + options
    h = h[:10] + struct.pack("!H", _csum(h)) + h[12:]
    return h + payload


def ipv6(src, dst, nxt, payload, plen=None, hlim=64) -> bytes:
    pl = plen if plen is not None else len(payload)
    return struct.pack("!IHBB16s16s", 0x60000000, pl, nxt, hlim, _ip(src), _ip(dst)) + payload


def _pseudo(src, dst, proto, length):
    if ":" in src:
        return _ip(src) + _ip(dst) + struct.pack("!IxxxB", length, proto)
    return _ip(src) + _ip(dst) + struct.pack("!xBH", proto, length)


def tcp(src, dst, sport, dport, flags, payload=b"", seq=1000, ack=0, win=65535) -> bytes:
    h = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, win, 0, 0)
    c = _csum(_pseudo(src, dst, 6, len(h) + len(payload)) + h + payload)
    return h[:16] + struct.pack("!H", c) + h[18:] + payload


def udp(src, dst, sport, dport, payload=b"") -> bytes:
    ln = 8 + len(payload)
    h = struct.pack("!HHHH", sport, dport, ln, 0)
    c = _csum(_pseudo(src, dst, 17, ln) + h + payload) or 0xFFFF
    return h[:6] + struct.pack("!H", c) + payload


def icmp(type_, code, rest=b"\0\0\0\0", payload=b"", v6=False, src=None, dst=None) -> bytes:
    h = struct.pack("!BBH", type_, code, 0) + rest + payload
    if v6:
        c = _csum(_pseudo(src, dst, 58, len(h)) + h)
    else:
        c = _csum(h)
    return h[:2] + struct.pack("!H", c) + h[4:]


FIN, SYN, RST, PSH, ACK, URG, ECE, CWR = 1, 2, 4, 8, 16, 32, 64, 128


class PcapWriter:
    """Classic pcap, microsecond timestamps; frames may be cut to a snaplen."""

    def __init__(self, path, linktype=1):
        self.f = open(path, "wb")
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, linktype))

    def write(self, ts: float, frame: bytes, caplen: int | None = None):
        sec = int(ts)
        usec = int(round((ts - sec) * 1e6))
        if usec >= 1_000_000:
            sec, usec = sec + 1, usec - 1_000_000
        data = frame if caplen is None else frame[:caplen]
        self.f.write(struct.pack("<IIII", sec, usec, len(data), len(frame)) + data)

    def close(self):
        self.f.close()


def _tcp_pkt(src, dst, sp, dp, flags, data=b"", **kw):
    return eth(ipv4(src, dst, 6, tcp(src, dst, sp, dp, flags, data, **kw)), 0x0800)


def write_edge_capture(path) -> None:
    """One Ethernet capture holding every edge case (about 100 packets)."""
    w = PcapWriter(path)
    t = BASE_TS
    A, B, C, D = "10.0.0.1", "10.0.0.2", "192.0.2.7", "198.51.100.9"
    A6, B6 = "2001:db8::1", "2001:db8::2"

    def put(dt, frame, caplen=None):
        nonlocal t
        t += dt
        w.write(t, frame, caplen)

    # 1. TCP seen from the SYN-ACK on (capture starts mid-handshake)
    put(0.001, _tcp_pkt(B, A, 80, 40000, SYN | ACK))
    put(0.0021, _tcp_pkt(A, B, 40000, 80, ACK))
    put(0.0105, _tcp_pkt(A, B, 40000, 80, PSH | ACK, b"GET / HTTP/1.0\r\n\r\n"))
    put(0.0307, _tcp_pkt(B, A, 80, 40000, PSH | ACK, b"x" * 700))
    put(0.0011, _tcp_pkt(A, B, 40000, 80, FIN | ACK))
    put(0.0013, _tcp_pkt(B, A, 80, 40000, FIN | ACK))
    put(0.0004, _tcp_pkt(A, B, 40000, 80, ACK))
    # 2. every TCP flag, then a 200 s silence (idle split at 120 s), then more
    put(0.01, _tcp_pkt(A, C, 40001, 443, SYN | ECE | CWR))
    put(0.02, _tcp_pkt(C, A, 443, 40001, SYN | ACK | ECE))
    put(0.001, _tcp_pkt(A, C, 40001, 443, ACK))
    put(0.003, _tcp_pkt(A, C, 40001, 443, PSH | ACK | URG | CWR, b"u" * 33))
    put(0.047, _tcp_pkt(C, A, 443, 40001, ACK | ECE, b"v" * 1200))
    put(200.0, _tcp_pkt(A, C, 40001, 443, PSH | ACK, b"w" * 10))
    put(0.2, _tcp_pkt(C, A, 443, 40001, ACK))
    # 3. RST, then a straggler 10 s later
    put(0.5, _tcp_pkt(A, D, 40002, 22, SYN))
    put(0.1, _tcp_pkt(D, A, 22, 40002, RST | ACK))
    put(10.0, _tcp_pkt(A, D, 40002, 22, ACK))
    # 4. IPv4 UDP datagram in three fragments, and a whole one after it
    body = udp(A, B, 5000, 6000, b"F" * 2000)
    put(0.01, eth(ipv4(A, B, 17, body[:1000], ident=77, mf=True), 0x0800))
    put(0.001, eth(ipv4(A, B, 17, body[1000:2000], ident=77, mf=True, frag_off=1000), 0x0800))
    put(0.001, eth(ipv4(A, B, 17, body[2000:], ident=77, frag_off=2000), 0x0800))
    put(0.3, eth(ipv4(B, A, 17, udp(B, A, 6000, 5000, b"ok")), 0x0800))
    # 5. IPv6 UDP datagram in two fragments (fragment header, next header 44)
    body6 = udp(A6, B6, 5353, 5354, b"S" * 1600)

    def frag6(off, more, chunk):
        return struct.pack("!BBHI", 17, 0, (off & 0xFFF8) | (1 if more else 0), 0xABCD) + chunk
    put(0.02, eth(ipv6(A6, B6, 44, frag6(0, True, body6[:1200])), 0x86DD))
    put(0.001, eth(ipv6(A6, B6, 44, frag6(1200, False, body6[1200:])), 0x86DD))
    # 6. VXLAN (UDP 4789) carrying Ethernet/IPv4/TCP
    for i, (s, d, sp, dp, fl) in enumerate([("172.16.0.1", "172.16.0.2", 5555, 8080, SYN),
                                             ("172.16.0.2", "172.16.0.1", 8080, 5555, SYN | ACK),
                                             ("172.16.0.1", "172.16.0.2", 5555, 8080, ACK)]):
        inner = eth(ipv4(s, d, 6, tcp(s, d, sp, dp, fl)), 0x0800)
        vx = struct.pack("!II", 0x08000000, 42 << 8) + inner
        put(0.004, eth(ipv4(C, D, 17, udp(C, D, 49152 + i, 4789, vx)), 0x0800))
    # 7. IP-in-IP (proto 4): ICMP echo request and reply inside
    put(0.01, eth(ipv4(C, D, 4, ipv4("10.9.0.1", "10.9.0.2", 1, icmp(8, 0, b"\0\1\0\1", b"p" * 56))), 0x0800))
    put(0.002, eth(ipv4(D, C, 4, ipv4("10.9.0.2", "10.9.0.1", 1, icmp(0, 0, b"\0\1\0\1", b"p" * 56))), 0x0800))
    # 8. 6in4 (proto 41): IPv6 UDP inside IPv4
    put(0.01, eth(ipv4(C, D, 41, ipv6("2001:db8:1::1", "2001:db8:2::2", 17,
                                      udp("2001:db8:1::1", "2001:db8:2::2", 1000, 53, b"q" * 30))), 0x0800))
    # 9. GRE with a key (flags K) carrying IPv4/UDP
    gre = struct.pack("!HHI", 0x2000, 0x0800, 1234)
    put(0.01, eth(ipv4(C, D, 47, gre + ipv4("10.7.0.1", "10.7.0.2", 17,
                                           udp("10.7.0.1", "10.7.0.2", 7000, 7001, b"g" * 20))), 0x0800))
    # 10. MPLS (one label) and PPPoE session, each carrying IPv4/UDP
    mpls = struct.pack("!I", (100 << 12) | (1 << 8) | 64)
    put(0.01, eth(mpls + ipv4(A, D, 17, udp(A, D, 3000, 3001, b"m" * 10)), 0x8847))
    ppp_payload = b"\x00\x21" + ipv4(A, D, 17, udp(A, D, 3002, 3003, b"p" * 10))
    put(0.01, eth(struct.pack("!BBHH", 0x11, 0, 0x0001, len(ppp_payload)) + ppp_payload, 0x8864))
    # 11. one UDP 5-tuple on two VLANs and on a QinQ stack
    for vl in ((10,), (20,), (30, 40)):
        put(0.01, eth(ipv4(A, B, 17, udp(A, B, 9999, 9998, b"vlan")), 0x0800, vlans=vl))
    # 12. IPv4 with options (IHL 6: NOP NOP NOP EOL)
    put(0.01, eth(ipv4(B, D, 17, udp(B, D, 1111, 2222, b"o" * 5), options=b"\x01\x01\x01\x00"), 0x0800))
    # 13. IPv6 hop-by-hop + destination options before UDP; ICMPv6 echo and ND
    ext = struct.pack("!BB6s", 60, 0, b"\x01\x04\0\0\0\0") + struct.pack("!BB6s", 17, 0, b"\x01\x04\0\0\0\0")
    put(0.01, eth(ipv6(A6, B6, 0, ext + udp(A6, B6, 4444, 5555, b"e" * 12)), 0x86DD))
    put(0.01, eth(ipv6(A6, B6, 58, icmp(128, 0, b"\0\7\0\1", b"z" * 16, True, A6, B6)), 0x86DD))
    put(0.001, eth(ipv6(B6, A6, 58, icmp(129, 0, b"\0\7\0\1", b"z" * 16, True, B6, A6)), 0x86DD))
    put(0.01, eth(ipv6(A6, "ff02::1:ff00:2", 58, icmp(135, 0, b"\0\0\0\0", _ip(B6), True, A6, "ff02::1:ff00:2")), 0x86DD))
    put(0.001, eth(ipv6(B6, A6, 58, icmp(136, 0, b"\x60\0\0\0", _ip(B6), True, B6, A6)), 0x86DD))
    # 14. UDP to a closed port and the ICMP port-unreachable quoting it
    probe = ipv4(A, D, 17, udp(A, D, 33434, 33435, b"t" * 8))
    put(0.01, eth(probe, 0x0800))
    put(0.002, eth(ipv4(D, A, 1, icmp(3, 3, b"\0\0\0\0", probe[:28])), 0x0800))
    # 15. Ethernet padding: a 40-byte IP packet in a 60-byte frame
    short = _tcp_pkt(A, B, 40003, 25, ACK)
    put(0.01, short + b"\0" * (60 - len(short)))
    put(0.01, _tcp_pkt(B, A, 25, 40003, ACK) + b"\0" * 6)
    # 16. a snaplen-cut frame: 1500 IP bytes on the wire, 96 bytes captured
    put(0.01, _tcp_pkt(A, B, 40003, 25, PSH | ACK, b"d" * 1460), caplen=96)
    # 17. protocols without ports (OSPF 89, ESP 50) and ARP
    put(0.01, eth(ipv4(A, "224.0.0.5", 89, b"\x02\x01\x00\x2c" + b"\0" * 40), 0x0800))
    put(0.01, eth(ipv4(C, D, 50, struct.pack("!II", 0x100, 1) + b"\0" * 32), 0x0800))
    put(0.01, eth(struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, b"\2\0\0\0\0\1", _ip(A),
                              b"\0" * 6, _ip(B)), 0x0806))
    # 18. malformed: IPv4 total length and IPv6 payload length beyond the frame
    put(0.01, eth(ipv4(A, B, 17, udp(A, B, 1, 2, b"bad"), total_len=1400), 0x0800))
    put(0.01, eth(ipv6(A6, B6, 17, udp(A6, B6, 1, 2, b"bad"), plen=900), 0x86DD))
    # 19. ICMP echo with two identifiers between the same hosts, and a timestamp pair
    for ident in (1, 2):
        put(0.01, eth(ipv4(A, C, 1, icmp(8, 0, struct.pack("!HH", ident, 1), b"e" * 8)), 0x0800))
        put(0.001, eth(ipv4(C, A, 1, icmp(0, 0, struct.pack("!HH", ident, 1), b"e" * 8)), 0x0800))
    put(0.01, eth(ipv4(A, C, 1, icmp(13, 0, b"\0\1\0\1", b"\0" * 12)), 0x0800))
    put(0.001, eth(ipv4(C, A, 1, icmp(14, 0, b"\0\1\0\1", b"\0" * 12)), 0x0800))
    w.close()


def write_sctp_capture(path) -> None:
    """SCTP (proto 132): has ports on the wire; kept apart as its keying is a choice."""
    w = PcapWriter(path)
    A, B = "10.0.0.1", "10.0.0.2"
    sctp = struct.pack("!HHII", 2905, 2905, 0, 0) + struct.pack("!BBH", 1, 0, 20) + b"\0" * 16
    w.write(BASE_TS, eth(ipv4(A, B, 132, sctp), 0x0800))
    w.write(BASE_TS + 0.01, eth(ipv4(B, A, 132, sctp), 0x0800))
    w.close()


def write_idle_gap_capture(path) -> None:
    """One TCP connection silent for 200 s mid-way, nothing else in the file.

    With a 120 s idle timeout the silence must end the flow: the packets after
    it belong to a new flow (nfstream splits it so).
    """
    w = PcapWriter(path)
    A, C = "10.0.0.1", "192.0.2.7"
    t = BASE_TS
    for dt, (s, d, sp, dp, fl, data) in [
            (0.0, (A, C, 40001, 443, SYN, b"")),
            (0.02, (C, A, 443, 40001, SYN | ACK, b"")),
            (0.001, (A, C, 40001, 443, ACK, b"")),
            (0.003, (A, C, 40001, 443, PSH | ACK, b"u" * 33)),
            (0.047, (C, A, 443, 40001, ACK, b"v" * 1200)),
            (200.0, (A, C, 40001, 443, PSH | ACK, b"w" * 10)),
            (0.2, (C, A, 443, 40001, ACK, b""))]:
        t += dt
        w.write(t, _tcp_pkt(s, d, sp, dp, fl, data))
    w.close()


if __name__ == "__main__":
    import sys
    write_edge_capture(sys.argv[1])
    if len(sys.argv) > 2:
        write_sctp_capture(sys.argv[2])
    if len(sys.argv) > 3:
        write_idle_gap_capture(sys.argv[3])
