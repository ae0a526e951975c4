#!/usr/bin/env python3
"""Stdlib pcap reader and flow labeller for the FlowSentry traffic lab.

A *flow* is every packet sharing the same unordered
(address, port, address, port, IP protocol) tuple over the whole capture.
Its src is the sender of the first packet seen. ICMP/ICMPv6 and other
port-less protocols (and non-first IP fragments) have ports 0. Non-IP frames
(ARP, ...) are not flows.

This reader is deliberately independent of tshark: the pytest enumerates
flows with tshark and checks them against the CSV written from this reader.
"""
from __future__ import annotations

import csv
import ipaddress
import struct
import sys

LABELS = ("benign", "scan", "dos", "bruteforce", "tunnel", "c2", "webattack")
CSV_COLUMNS = ["src_ip", "src_port", "dst_ip", "dst_port", "proto",
               "first_ts", "last_ts", "packets", "bytes", "label", "scenario"]


def read_packets(path):
    """Yield (ts, src, dst, proto, sport, dport, wirelen) for IPv4/IPv6 frames."""
    with open(path, "rb") as f:
        gh = f.read(24)
        magic = gh[:4]
        if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
            e = "<"
        elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
            e = ">"
        else:
            raise ValueError(f"{path}: not a pcap file")
        nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
        div = 1e9 if nano else 1e6
        linktype = struct.unpack(e + "I", gh[20:24])[0]
        if linktype != 1:
            raise ValueError(f"{path}: linktype {linktype} unsupported (want Ethernet)")
        rh = struct.Struct(e + "IIII")
        read = f.read
        while True:
            h = read(16)
            if len(h) < 16:
                return
            sec, frac, incl, orig = rh.unpack(h)
            data = read(incl)
            ts = sec + frac / div
            off = 12
            etype = (data[off] << 8) | data[off + 1]
            off += 2
            while etype in (0x8100, 0x88A8):
                etype = (data[off + 2] << 8) | data[off + 3]
                off += 4
            if etype == 0x0800:
                ihl = (data[off] & 0x0F) * 4
                proto = data[off + 9]
                frag = ((data[off + 6] << 8) | data[off + 7]) & 0x1FFF
                src = ipaddress.IPv4Address(data[off + 12:off + 16]).compressed
                dst = ipaddress.IPv4Address(data[off + 16:off + 20]).compressed
                l4 = off + ihl
            elif etype == 0x86DD:
                proto = data[off + 6]
                frag = 0
                src = ipaddress.IPv6Address(data[off + 8:off + 24]).compressed
                dst = ipaddress.IPv6Address(data[off + 24:off + 40]).compressed
                l4 = off + 40
            else:
                continue
            sport = dport = 0
            if proto in (6, 17, 132) and frag == 0 and len(data) >= l4 + 4:
                sport = (data[l4] << 8) | data[l4 + 1]
                dport = (data[l4 + 2] << 8) | data[l4 + 3]
            yield ts, src, dst, proto, sport, dport, orig


PORTLESS_PER_PAIR = (1, 58)  # ICMP/ICMPv6: one flow per host pair, may join unrelated exchanges


def flows(path):
    """Return a list of flow dicts (src = first sender) in order of first packet.

    ICMP/ICMPv6 flows also keep their packet times ("_times", not written to
    the CSV): one such flow holds every ICMP exchange between two hosts, so
    the labeller looks at all of its packets (see label_flows).
    """
    table = {}
    for ts, src, dst, proto, sp, dp, ln in read_packets(path):
        a, b = (src, sp), (dst, dp)
        key = (proto,) + ((a, b) if a <= b else (b, a))
        fl = table.get(key)
        if fl is None:
            table[key] = fl = {"src_ip": src, "src_port": sp, "dst_ip": dst,
                               "dst_port": dp, "proto": proto, "first_ts": ts,
                               "last_ts": ts, "packets": 0, "bytes": 0}
            if proto in PORTLESS_PER_PAIR:
                fl["_times"] = []
        fl["last_ts"] = ts
        fl["packets"] += 1
        fl["bytes"] += ln
        if proto in PORTLESS_PER_PAIR:
            fl["_times"].append(ts)
    return sorted(table.values(), key=lambda x: x["first_ts"])


def _match_rule(fl, rule):
    """rule: dict(a=set|'nonlab', b=set, proto=set|None, bport=set|None, lab=set).

    'nonlab' (spoofed sources) matches only flows the non-lab address started
    (a spoofed packet is always a flow's first packet) and the victim's ICMP
    errors to it (a flow of their own), whereas a UDP/IGMP flow a lab host
    starts towards a multicast or broadcast address (mDNS, SSDP, ...) is the
    host's own traffic.
    """
    if rule.get("proto") and fl["proto"] not in rule["proto"]:
        return False
    for i, ((x, xp), (y, yp)) in enumerate((((fl["src_ip"], fl["src_port"]), (fl["dst_ip"], fl["dst_port"])),
                                            ((fl["dst_ip"], fl["dst_port"]), (fl["src_ip"], fl["src_port"])))):
        if y not in rule["b"]:
            continue
        if rule["a"] == "nonlab":
            if x in rule["lab"] or (i != 0 and fl["proto"] != 1):
                continue
        elif x not in rule["a"]:
            continue
        if rule.get("bport") and yp not in rule["bport"]:
            continue
        return True
    return False


def label_flows(fls, scenarios, margin=3.0):
    """Give each flow exactly one label.

    scenarios: list of dicts with label, name, start, end, rules.
    A flow gets an attack label when its first packet falls inside
    [start - 0.5, end + margin] of a scenario and it matches one of that
    scenario's endpoint rules; otherwise it is benign. When several attack
    scenarios match (overlapping windows), the one whose window started last
    before the flow wins.

    ICMP flows are one per host pair over the whole capture, so a benign ping
    and a later flood or scan between the same two hosts are one flow. Each
    of their packets is given a label by the rule above (its own time instead
    of the first packet's) and the flow takes the label most of its packets
    have (a tie: the first packet's).
    """
    scen = sorted(scenarios, key=lambda s: s["start"], reverse=True)
    for fl in fls:
        times = fl.pop("_times", None)
        cand = [s for s in scen if s["start"] - 0.5 <= fl["last_ts"] and fl["first_ts"] <= s["end"] + margin
                and any(_match_rule(fl, r) for r in s["rules"])]

        def at(t):
            for s in cand:
                if s["start"] - 0.5 <= t <= s["end"] + margin:
                    return s["label"], s["name"]
            return "benign", "background"

        fl["label"], fl["scenario"] = at(fl["first_ts"])
        if times and len(times) > 1 and cand:
            votes = {}
            for t in times:
                k = at(t)
                votes[k] = votes.get(k, 0) + 1
            best = max(votes.values())
            if votes.get((fl["label"], fl["scenario"]), 0) < best:
                fl["label"], fl["scenario"] = next(k for k, v in votes.items() if v == best)
    return fls


def write_csv(fls, path):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=CSV_COLUMNS)
        w.writeheader()
        for fl in fls:
            row = dict(fl)
            row["first_ts"] = f"{fl['first_ts']:.6f}"
            row["last_ts"] = f"{fl['last_ts']:.6f}"
            w.writerow(row)


if __name__ == "__main__":
    for p in sys.argv[1:]:
        fl = flows(p)
        print(p, len(fl), "flows", sum(x["packets"] for x in fl), "ip packets")
