#!/usr/bin/env python3
"""Compare FlowSentry's per-5-tuple packet and byte totals with tshark's.

For every capture given, this runs

  * ``flowsentry replay CAPTURE --flows OUT.json`` and sums, over all flow
    records, the packets and IP-layer bytes of each unordered 5-tuple, split
    by direction (``pkts_toserver`` is the src->dest direction of the record,
    ``pkts_toclient`` the reverse);
  * ``tshark`` (Wireshark's dissector, which nobody on this project wrote) with
    IP/IPv6 defragmentation and TCP/UDP reassembly turned off, and sums the same
    quantities per packet.

Both sides must agree EXACTLY, per 5-tuple and per direction.  Every 5-tuple
whose totals differ is reported; the exit status is non-zero on any mismatch
(or if either tool fails on a capture that the other reads).

How a tshark packet is keyed (see docs/validation.md):

  * the IP layer is the innermost one reached through tunnels the sensor
    decapsulates (IP-in-IP, GRE, VXLAN, with Ethernet/VLAN/MPLS/ERSPAN in
    between) - NOT the IP header quoted inside an ICMP error message;
  * the protocol is compared as a number (the sensor's "TCP"/"UDP"/"ICMP"/
    "IPv6-ICMP"/"SCTP" names are mapped back); for IPv6 the extension-header
    chain is followed;
  * ports are TCP/UDP/SCTP ports; for ICMP/ICMPv6 the source "port" is the type and
    the destination "port" is the counterpart type of a request/reply pair
    (Community ID spec pairs) or else the code; other protocols have no ports;
  * a non-first IPv4/IPv6 fragment has no transport header, so it gets the
    ports of the first fragment with the same (src, dst, IP id, protocol);
  * IP bytes are the IPv4 total length, or 40 + the IPv6 payload length.

Excluded from tshark's side (the sensor deliberately skips these as malformed
and does not count them to any flow): packets whose IPv4 total length or IPv6
payload length exceeds what the frame carries on the wire (or whose IP header
is otherwise bogus), and TCP segments whose data offset is below 5 words, which tshark flags with the expert messages listed in
MALFORMED_IP_EXPERT - counted only when the message belongs to the IP layer
the packet is keyed on or one outside it (checked in tshark's PDML output).  Non-IP frames (ARP,
STP, LLDP...) are dropped on both sides.

Usage:
  compare_tshark.py CAPTURE... [--bin PATH] [--json]
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Community ID spec request/reply pairs (the sensor uses the same).
ICMP4_PAIRS = {8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 10: 9, 9: 10, 17: 18, 18: 17}
ICMP6_PAIRS = {128: 129, 129: 128, 133: 134, 134: 133, 135: 136, 136: 135,
               130: 131, 131: 130, 139: 140, 140: 139, 144: 145, 145: 144}

PROTO_NAMES = {6: "TCP", 17: "UDP", 1: "ICMP", 58: "IPv6-ICMP"}
# The sensor's names for protocol numbers (it also names 132 "SCTP", where the
# EVE convention it documents says "else the number"): the comparison keys on
# numbers, so a naming choice never shows up as a count mismatch.
NAME_TO_NUM = {"TCP": 6, "UDP": 17, "ICMP": 1, "IPv6-ICMP": 58, "SCTP": 132}
# Transport protocols whose header starts with 16-bit source and destination
# ports (tshark field prefix).
PORT_PROTOS = {6: "tcp", 17: "udp", 132: "sctp"}

# tshark expert messages (prefixes) for IP headers claiming more bytes than the
# frame holds: the sensor skips such packets (anomaly ip_length_exceeds_wire /
# ipv4_bad_total_length) and counts them to no flow.
MALFORMED_IP_EXPERT = (
    "IPv4 total length exceeds packet length",
    "IPv6 payload length exceeds framing length",
    "Bogus IP length",                 # IPv4 total length < header length
    "Bogus IP header length",          # IPv4 IHL < 5
    "Bogus IPv6 version",
    "Bogus IP version",
)

# frame.protocols tokens that may stand between a tunnel and its inner IP.
TUNNEL_TOKENS = {"gre", "vxlan", "erspan"}
LINK_TOKENS = {"eth", "ethertype", "vlan", "mpls", "pppoes", "ppp", "erspan"}
IPV6_EXT_TOKENS = {"ipv6.hopopts", "ipv6.routing", "ipv6.fraghdr", "ipv6.dstopts"}
IPV6_EXT_NXT = {0: "ipv6.hopopts.nxt", 43: "ipv6.routing.nxt",
                44: "ipv6.fraghdr.nxt", 60: "ipv6.dstopts.nxt"}

FIELDS = [
    "frame.number", "frame.len", "frame.protocols",
    "ip.src", "ip.dst", "ip.proto", "ip.len", "ip.id", "ip.flags.mf", "ip.frag_offset",
    "ipv6.src", "ipv6.dst", "ipv6.nxt", "ipv6.plen",
    "ipv6.hopopts.nxt", "ipv6.routing.nxt", "ipv6.fraghdr.nxt", "ipv6.dstopts.nxt",
    "ipv6.fraghdr.offset", "ipv6.fraghdr.more", "ipv6.fraghdr.ident",
    "tcp.srcport", "tcp.dstport", "tcp.hdr_len", "udp.srcport", "udp.dstport",
    "sctp.srcport", "sctp.dstport",
    "icmp.type", "icmp.code", "icmpv6.type", "icmpv6.code",
    "_ws.expert.message",
]

TSHARK_PREFS = [
    "ip.defragment:FALSE", "ipv6.defragment:FALSE",
    "tcp.desegment_tcp_streams:FALSE", "tcp.analyze_sequence_numbers:FALSE",
    "udp.try_heuristic_first:FALSE",
]


class ToolError(Exception):
    pass


# --------------------------------------------------------------------------
# locating tools

def find_bin(explicit: str | None = None) -> str | None:
    if explicit:
        return explicit if os.path.isfile(explicit) and os.access(explicit, os.X_OK) else None
    for cand in (explicit, os.environ.get("FLOWSENTRY_BIN"),
                 str(REPO / ".build" / "release" / "flowsentry")):
        if cand and os.path.isfile(cand) and os.access(cand, os.X_OK):
            return cand
    return None


def have_tshark() -> bool:
    return shutil.which("tshark") is not None


# --------------------------------------------------------------------------
# the sensor's side

def norm_ip(s: str) -> str:
    return str(ipaddress.ip_address(s))


def run_sensor(capture: str, bin_path: str, extra: list[str] | None = None) -> list[dict]:
    """Run ``flowsentry replay`` and return its flow records."""
    with tempfile.TemporaryDirectory() as td:
        out = os.path.join(td, "flows.json")
        cmd = [bin_path, "replay", "--no-score", capture, "--flows", out] + list(extra or [])
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if p.returncode != 0:
            raise ToolError(f"flowsentry exited {p.returncode}: {p.stderr.strip()[-500:]}")
        recs = []
        if os.path.exists(out):
            with open(out) as fh:
                for line in fh:
                    line = line.strip()
                    if line:
                        recs.append(json.loads(line))
        return recs


def ends_key(proto, a, b):
    """Unordered key plus a flag telling whether a->b is the key's forward way."""
    if a <= b:
        return (proto, a, b), True
    return (proto, b, a), False


def endpoint(ip, port):
    return (ip, -1 if port is None else int(port))


def sensor_totals(records: list[dict]) -> dict:
    """{(proto, ep_lo, ep_hi): [pkts lo->hi, pkts hi->lo, bytes lo->hi, bytes hi->lo]}"""
    tot: dict = defaultdict(lambda: [0, 0, 0, 0])
    for r in records:
        if r.get("event_type") != "flow":
            continue
        sport, dport = r.get("src_port"), r.get("dest_port")
        proto = str(r["proto"])
        if "icmp_type" in r:
            # ICMP records carry type and code, not ports; the flow key pairs
            # them as Community ID does (the type, and its counterpart or the code).
            pairs = ICMP4_PAIRS if proto == "ICMP" else ICMP6_PAIRS
            sport, dport = r["icmp_type"], pairs.get(r["icmp_type"], r.get("icmp_code"))
        src = endpoint(norm_ip(r["src_ip"]), sport)
        dst = endpoint(norm_ip(r["dest_ip"]), dport)
        key, fwd = ends_key(NAME_TO_NUM[proto] if proto in NAME_TO_NUM else int(proto), src, dst)
        f = r["flow"]
        ts_p, tc_p = f["pkts_toserver"], f["pkts_toclient"]
        ts_b, tc_b = f["bytes_toserver"], f["bytes_toclient"]
        t = tot[key]
        if fwd:
            t[0] += ts_p; t[1] += tc_p; t[2] += ts_b; t[3] += tc_b
        else:
            t[0] += tc_p; t[1] += ts_p; t[2] += tc_b; t[3] += ts_b
    return dict(tot)


# --------------------------------------------------------------------------
# tshark's side

def run_tshark(capture: str) -> list[dict]:
    cmd = ["tshark", "-n", "-r", capture, "-T", "fields", "-E", "separator=/t",
           "-E", "occurrence=a", "-E", "aggregator=,"]
    for pref in TSHARK_PREFS:
        cmd += ["-o", pref]
    for f in FIELDS:
        cmd += ["-e", f]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise ToolError(f"tshark exited {p.returncode}: {p.stderr.strip()[-500:]}")
    rows = []
    for line in p.stdout.splitlines():
        parts = line.split("\t")
        parts += [""] * (len(FIELDS) - len(parts))
        row = {}
        for name, val in zip(FIELDS, parts):
            row[name] = val.split(",") if val != "" else []
        # expert messages may themselves contain commas: keep the raw text too
        row["_expert_raw"] = parts[FIELDS.index("_ws.expert.message")]
        rows.append(row)
    _mark_malformed_ip(capture, rows)
    return rows


def _malformed_candidates(rows):
    return [r for r in rows if any(m in r["_expert_raw"] for m in MALFORMED_IP_EXPERT)]


def _mark_malformed_ip(capture: str, rows: list[dict]) -> None:
    """Set row["_ip_malformed"] where the IP layer the sensor keys on, or one
    outside it, carries an IP-length/version error.

    tshark's field output does not say which layer an expert message belongs
    to (a UDP payload that tshark heuristically takes for Teredo can raise
    "Bogus IPv6 version" on an IPv6 header the sensor never decodes), so the
    few frames with such a message are dissected again as PDML, where each
    message sits inside its own protocol layer.
    """
    import xml.etree.ElementTree as ET
    cands = _malformed_candidates(rows)
    if not cands:
        return
    by_num = {r["frame.number"][0]: r for r in cands}
    nums = sorted(by_num, key=int)
    for i in range(0, len(nums), 400):
        chunk = nums[i:i + 400]
        cmd = ["tshark", "-n", "-r", capture, "-T", "pdml",
               "-Y", "frame.number in {" + ",".join(chunk) + "}"]
        for pref in TSHARK_PREFS:
            cmd += ["-o", pref]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if p.returncode != 0:
            raise ToolError(f"tshark (pdml) exited {p.returncode}: {p.stderr.strip()[-500:]}")
        root = ET.fromstring(p.stdout)
        for pkt in root.iter("packet"):
            num = None
            layers = []   # (protocol name, expert messages inside it)
            for proto in pkt.findall("proto"):
                name = proto.get("name")
                if name == "geninfo":
                    for f in proto.iter("field"):
                        if f.get("name") == "num":
                            num = str(int(f.get("show")))
                    continue
                if name in ("frame", "fake-field-wrapper"):
                    continue
                msgs = [f.get("show", "") for f in proto.iter("field")
                        if f.get("name") == "_ws.expert.message"]
                layers.append((name, msgs))
            row = by_num.get(num)
            if row is None:
                continue
            chosen = choose_layer([n for n, _ in layers])
            if chosen is None:
                continue
            pos = chosen[2]
            row["_ip_malformed"] = any(
                n in ("ip", "ipv6") and any(m.startswith(x) for m in msgs for x in MALFORMED_IP_EXPERT)
                for n, msgs in layers[:pos + 1])


def _get(row, field, idx):
    vals = row[field]
    if 0 <= idx < len(vals) and vals[idx] != "":
        return vals[idx]
    return None


def _int(s):
    if s is None:
        return None
    s = s.strip()
    return int(s, 16) if s.lower().startswith("0x") else int(s)


def choose_layer(tokens: list[str]):
    """Pick the IP layer the sensor keys on.

    Returns (family, occurrence index among that family's layers, position in
    tokens) or None for non-IP frames.  Walks outer to inner: an IP layer
    directly inside another IP layer (IP-in-IP / 6in4 / 4in6) or reached
    through GRE / VXLAN (possibly via Ethernet/VLAN/MPLS/ERSPAN) replaces the
    current one; anything else (ICMP quoting an IP header, Teredo, GTP...)
    ends the walk.
    """
    counts = {"ip": 0, "ipv6": 0}
    chosen = None
    since_l3: list[str] = []
    for pos, tok in enumerate(tokens):
        if tok in ("ip", "ipv6"):
            if chosen is None:
                chosen = (tok, counts[tok], pos)
            else:
                between = [t for t in since_l3 if t not in IPV6_EXT_TOKENS]
                via_tunnel = (not between) or (
                    between[0] in ("gre", "udp") and
                    all(t in TUNNEL_TOKENS | LINK_TOKENS for t in between[1:]) and
                    (between[0] == "gre" or "vxlan" in between))
                if via_tunnel:
                    chosen = (tok, counts[tok], pos)
                else:
                    break
            counts[tok] += 1
            since_l3 = []
        elif chosen is not None:
            since_l3.append(tok)
    return chosen


def _occurrence_before(tokens, name, pos):
    return sum(1 for t in tokens[:pos] if t == name)


def tshark_packets(rows: list[dict]):
    """Yield per-packet dicts: key, forward flag, bytes; or a skip reason."""
    first_frag_ports: dict = {}
    for row in rows:
        num = row["frame.number"][0] if row["frame.number"] else "?"
        tokens = row["frame.protocols"][0].split(":") if row["frame.protocols"] else []
        layer = choose_layer(tokens)
        if layer is None:
            yield {"frame": num, "skip": "non-ip"}
            continue
        fam, idx, pos = layer
        if row.get("_ip_malformed"):
            yield {"frame": num, "skip": "malformed-ip-length"}
            continue
        # A TCP header whose data offset is below 5 words is bogus: the sensor
        # skips it as malformed (as Suricata does), tshark still shows its ports.
        hdr = [h for h in row.get("tcp.hdr_len", []) if h.isdigit()]
        if hdr and int(hdr[-1]) < 20 and "tcp" in tokens[pos + 1:pos + 2]:
            yield {"frame": num, "skip": "malformed-tcp-header"}
            continue
        after = tokens[pos + 1:]
        if fam == "ip":
            src, dst = _get(row, "ip.src", idx), _get(row, "ip.dst", idx)
            proto = _int(_get(row, "ip.proto", idx))
            iplen = _int(_get(row, "ip.len", idx))
            frag_off = _int(_get(row, "ip.frag_offset", idx)) or 0
            more = _get(row, "ip.flags.mf", idx) in ("1", "True", "true")
            frag_id = _get(row, "ip.id", idx)
            is_frag = frag_off > 0 or more
        else:
            src, dst = _get(row, "ipv6.src", idx), _get(row, "ipv6.dst", idx)
            plen = _int(_get(row, "ipv6.plen", idx))
            iplen = None if plen is None else 40 + plen
            proto = _int(_get(row, "ipv6.nxt", idx))
            # follow the extension-header chain (one value per header kind,
            # consumed in order)
            cursor = defaultdict(int)
            hops = 0
            while proto in IPV6_EXT_NXT and hops < 16:
                field = IPV6_EXT_NXT[proto]
                nxt = _int(_get(row, field, cursor[field]))
                cursor[field] += 1
                hops += 1
                if nxt is None:
                    break
                proto = nxt
            is_frag = "ipv6.fraghdr" in after[:8]
            frag_off = _int(_get(row, "ipv6.fraghdr.offset", 0)) or 0 if is_frag else 0
            more = _get(row, "ipv6.fraghdr.more", 0) in ("1", "True", "true") if is_frag else False
            frag_id = _get(row, "ipv6.fraghdr.ident", 0) if is_frag else None
        if src is None or dst is None or proto is None or iplen is None:
            yield {"frame": num, "skip": "ip-fields-missing"}
            continue
        src, dst = norm_ip(src), norm_ip(dst)
        sport = dport = None
        if frag_off > 0:
            ports = first_frag_ports.get((src, dst, frag_id, proto))
            if ports is not None:
                sport, dport = ports
        elif proto in PORT_PROTOS:
            name = PORT_PROTOS[proto]
            j = _occurrence_before(tokens, name, pos + 1)
            sport = _int(_get(row, f"{name}.srcport", j))
            dport = _int(_get(row, f"{name}.dstport", j))
        elif proto in (1, 58):
            name = "icmp" if proto == 1 else "icmpv6"
            j = _occurrence_before(tokens, name, pos + 1)
            t = _int(_get(row, f"{name}.type", j))
            c = _int(_get(row, f"{name}.code", j))
            if t is not None:
                pairs = ICMP4_PAIRS if proto == 1 else ICMP6_PAIRS
                sport = t
                dport = pairs.get(t, c)
        if is_frag and frag_off == 0:
            first_frag_ports[(src, dst, frag_id, proto)] = (sport, dport)
        yield {"frame": num, "proto": proto, "src": endpoint(src, sport),
               "dst": endpoint(dst, dport), "bytes": iplen}


def tshark_totals(rows: list[dict]):
    tot: dict = defaultdict(lambda: [0, 0, 0, 0])
    skipped: dict = defaultdict(list)
    for pk in tshark_packets(rows):
        if "skip" in pk:
            skipped[pk["skip"]].append(pk["frame"])
            continue
        key, fwd = ends_key(pk["proto"], pk["src"], pk["dst"])
        t = tot[key]
        if fwd:
            t[0] += 1; t[2] += pk["bytes"]
        else:
            t[1] += 1; t[3] += pk["bytes"]
    return dict(tot), dict(skipped)


# --------------------------------------------------------------------------
# comparison

def fmt_key(key):
    proto, a, b = key
    proto = PROTO_NAMES.get(proto, str(proto))

    def ep(e):
        ip, port = e
        if port < 0:
            return ip
        return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"
    return f"{proto} {ep(a)} <-> {ep(b)}"


def compare_capture(capture: str, bin_path: str) -> dict:
    """Compare one capture; returns a result dict (see main for fields)."""
    res = {"capture": capture, "status": "ok", "tuples_compared": 0,
           "mismatches": [], "excluded": {}, "sensor_packets": 0,
           "tshark_packets": 0, "sensor_bytes": 0, "tshark_bytes": 0}
    if not os.path.isfile(capture):
        res["status"] = "error"
        res["error"] = f"no such capture: {capture}"
        return res
    sensor_err = tshark_err = None
    try:
        recs = run_sensor(capture, bin_path)
    except ToolError as e:
        sensor_err = str(e)
    try:
        rows = run_tshark(capture)
    except ToolError as e:
        tshark_err = str(e)
    if sensor_err and tshark_err:
        res["status"] = "unsupported-by-both"
        res["error"] = f"sensor: {sensor_err} | tshark: {tshark_err}"
        return res
    if sensor_err or tshark_err:
        res["status"] = "error"
        res["error"] = sensor_err or tshark_err
        return res
    ours = sensor_totals(recs)
    theirs, skipped = tshark_totals(rows)
    res["excluded"] = {k: len(v) for k, v in skipped.items()}
    res["excluded_frames"] = {k: v[:20] for k, v in skipped.items()}
    res["flows"] = sum(1 for r in recs if r.get("event_type") == "flow")
    keys = sorted(set(ours) | set(theirs), key=lambda k: (k[0], k[1], k[2]))
    res["tuples_compared"] = len(keys)
    for k in keys:
        a = ours.get(k, [0, 0, 0, 0])
        b = theirs.get(k, [0, 0, 0, 0])
        if a != b:
            res["mismatches"].append({
                "tuple": fmt_key(k),
                "sensor": {"pkts": [a[0], a[1]], "bytes": [a[2], a[3]]},
                "tshark": {"pkts": [b[0], b[1]], "bytes": [b[2], b[3]]},
            })
    res["sensor_packets"] = sum(v[0] + v[1] for v in ours.values())
    res["tshark_packets"] = sum(v[0] + v[1] for v in theirs.values())
    res["sensor_bytes"] = sum(v[2] + v[3] for v in ours.values())
    res["tshark_bytes"] = sum(v[2] + v[3] for v in theirs.values())
    if res["mismatches"]:
        res["status"] = "mismatch"
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("captures", nargs="+")
    ap.add_argument("--bin", help="flowsentry binary (default: $FLOWSENTRY_BIN, "
                    "then .build/release/flowsentry)")
    ap.add_argument("--json", action="store_true", help="print results as JSON")
    ap.add_argument("--allow-unsupported", action="store_true",
                    help="do not fail on captures that neither tool can read")
    args = ap.parse_args(argv)
    bin_path = find_bin(args.bin)
    if bin_path is None:
        print("compare_tshark: flowsentry binary not found (build it or pass --bin)", file=sys.stderr)
        return 2
    if not have_tshark():
        print("compare_tshark: tshark not found on PATH", file=sys.stderr)
        return 2
    results = [compare_capture(c, bin_path) for c in args.captures]
    failed = False
    for r in results:
        if r["status"] in ("mismatch", "error"):
            failed = True
        if r["status"] == "unsupported-by-both" and not args.allow_unsupported:
            failed = True
    if args.json:
        json.dump(results, sys.stdout, indent=2)
        print()
    else:
        for r in results:
            name = os.path.basename(r["capture"])
            if r["status"] in ("error", "unsupported-by-both"):
                print(f"{name}: {r['status'].upper()}: {r['error']}")
                continue
            print(f"{name}: {r['tuples_compared']} 5-tuples, {len(r['mismatches'])} mismatched; "
                  f"packets sensor={r['sensor_packets']} tshark={r['tshark_packets']}; "
                  f"IP bytes sensor={r['sensor_bytes']} tshark={r['tshark_bytes']}; "
                  f"excluded from tshark: {r['excluded'] or 'none'}")
            for m in r["mismatches"]:
                print(f"  MISMATCH {m['tuple']}: sensor pkts {m['sensor']['pkts']} bytes "
                      f"{m['sensor']['bytes']} vs tshark pkts {m['tshark']['pkts']} bytes "
                      f"{m['tshark']['bytes']}  (lo->hi, hi->lo)")
        tot_t = sum(r["tuples_compared"] for r in results)
        tot_m = sum(len(r["mismatches"]) for r in results)
        print(f"TOTAL: {len(results)} captures, {tot_t} 5-tuples compared, {tot_m} mismatched")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
