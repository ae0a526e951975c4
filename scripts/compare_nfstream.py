#!/usr/bin/env python3
"""Compare FlowSentry's per-flow statistics with nfstream's (PyPI ``nfstream``).

For every capture given, this runs

  * ``flowsentry replay CAPTURE --flows OUT.json --idle-timeout 120
    --active-timeout 1800 --tcp-linger 120`` and
  * ``NFStreamer(source=CAPTURE, statistical_analysis=True, splt_analysis=0,
    n_dissections=0, idle_timeout=120, active_timeout=1800,
    accounting_mode=1, decode_tunnels=False)``

then pairs flows and compares, per pair, the fields both tools compute.

Settings that make the two comparable (see docs/validation.md):

  * same idle (120 s) and active (1800 s) timeouts;
  * nfstream never ends a TCP flow on FIN or RST (only idle/active timeout and
    end of input), so the sensor's post-FIN/RST linger is set to the idle
    timeout (``--tcp-linger 120``): a closed TCP connection then ends by the
    same idle rule in both tools;
  * ``accounting_mode=1``: nfstream's packet sizes (``*_ps``) are IP-layer
    sizes, as the sensor's ``pkt_len_*`` are (the default, 0, is link-layer
    size);
  * ``decode_tunnels=False``: nfstream decodes GTP/CAPWAP/TZSP, which the
    sensor does not; neither then decapsulates those (nfstream does not decode
    GRE at all, so GRE-carried flows pair with nothing - reported, not
    compared).

Pairing: a sensor flow and an nfstream flow pair when they have the same
protocol, the same two IP endpoints, the same ports (TCP/UDP only: nfstream
reports ICMP with ports 0, so ICMP pairs on addresses alone), the same VLAN id
(nfstream keeps the innermost tag), and the same start time to the
millisecond (nfstream keeps integer-millisecond timestamps).  A pair whose end
times also agree has matching boundaries and its fields are compared; a pair
whose ends differ is counted under ``boundary_differs`` and not compared.
Sensor flows that contain non-first IP fragments are compared but their
counts are expected to differ (nfstream drops non-first fragments); they are
reported under ``fragment_flows`` and left out of the mismatch count.

Direction: nfstream's src is always the first packet's sender; the sensor's
src is the client (it follows SYN / SYN-ACK).  Where they differ the sensor's
fwd/bwd fields are compared with nfstream's dst2src/src2dst.

Tolerances: packet counts, byte counts, min/max packet size and TCP flag
counts are exact; mean/std packet size agree to 1e-9 relative; every time
quantity in milliseconds agrees within the error that nfstream's truncation
of timestamps to whole milliseconds allows: 1 ms for duration, min/max/mean
inter-arrival time, and sqrt(2) ms for the sample standard deviation of
inter-arrival times (|std(x+e) - std(x)| <= std(e) <= sqrt(m/(m-1)) * max|e|
with m >= 2 gaps), plus 1e-6 relative.

Usage:
  compare_nfstream.py CAPTURE... [--bin PATH] [--json] [--idle-timeout S]
                     [--active-timeout S]
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import math
import os
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare_tshark import ToolError, find_bin, norm_ip, run_sensor  # noqa: E402

PROTO_NUM = {"TCP": 6, "UDP": 17, "ICMP": 1, "IPv6-ICMP": 58}
SQRT2 = math.sqrt(2.0)

# (our feature name, nfstream attribute, kind)
#   kind: "exact" | "ps" (float, 1e-9 rel) | "ms1" (ms, 1 ms abs) | "msstd" (sqrt2 ms)
FIELD_MAP = [
    ("pkts", "bidirectional_packets", "exact"),
    ("fwd_pkts", "src2dst_packets", "exact"),
    ("bwd_pkts", "dst2src_packets", "exact"),
    ("bytes", "bidirectional_bytes", "exact"),
    ("fwd_bytes", "src2dst_bytes", "exact"),
    ("bwd_bytes", "dst2src_bytes", "exact"),
    ("duration_ms", "bidirectional_duration_ms", "ms1"),
]
for ours, theirs in (("pkt_len", "bidirectional"), ("fwd_pkt_len", "src2dst"),
                     ("bwd_pkt_len", "dst2src")):
    FIELD_MAP += [
        (f"{ours}_min", f"{theirs}_min_ps", "exact"),
        (f"{ours}_max", f"{theirs}_max_ps", "exact"),
        (f"{ours}_mean", f"{theirs}_mean_ps", "ps"),
        (f"{ours}_std", f"{theirs}_stddev_ps", "ps"),
    ]
for ours, theirs in (("iat", "bidirectional"), ("fwd_iat", "src2dst"),
                     ("bwd_iat", "dst2src")):
    FIELD_MAP += [
        (f"{ours}_min_ms", f"{theirs}_min_piat_ms", "ms1"),
        (f"{ours}_max_ms", f"{theirs}_max_piat_ms", "ms1"),
        (f"{ours}_mean_ms", f"{theirs}_mean_piat_ms", "ms1"),
        (f"{ours}_std_ms", f"{theirs}_stddev_piat_ms", "msstd"),
    ]
FLAGS = ["syn", "fin", "rst", "psh", "ack", "urg", "ece", "cwr"]
for fl in FLAGS:
    FIELD_MAP += [
        (f"{fl}_count", f"bidirectional_{fl}_packets", "exact"),
        (f"fwd_{fl}_count", f"src2dst_{fl}_packets", "exact"),
        (f"bwd_{fl}_count", f"dst2src_{fl}_packets", "exact"),
    ]
FIELD_NAMES = [f[1] for f in FIELD_MAP]


def have_nfstream() -> bool:
    try:
        import nfstream  # noqa: F401
    except Exception:
        return False
    return True


# --------------------------------------------------------------------------
# sensor side

def parse_ts(s) -> float:
    """EVE timestamp -> POSIX seconds (float, microsecond-or-better)."""
    if isinstance(s, (int, float)):
        return float(s)
    from datetime import datetime
    txt = s
    # "2006-06-16T19:58:33.019178+0000" / "...Z" / nanoseconds
    frac = ""
    if "." in txt:
        head, rest = txt.split(".", 1)
        digits = ""
        i = 0
        while i < len(rest) and rest[i].isdigit():
            digits += rest[i]
            i += 1
        tz = rest[i:]
        frac = digits
        txt = head + tz
    tz = txt[19:]
    if tz in ("Z", ""):
        tz = "+0000"
    tz = tz.replace(":", "")
    dt = datetime.strptime(txt[:19] + tz, "%Y-%m-%dT%H:%M:%S%z")
    return dt.timestamp() + (float("0." + frac) if frac else 0.0)


def sensor_flow_view(r: dict) -> dict:
    f, ft = r["flow"], r.get("features", {})
    v = {
        "proto": PROTO_NUM.get(str(r["proto"]), None),
        "src_ip": norm_ip(r["src_ip"]), "dst_ip": norm_ip(r["dest_ip"]),
        "src_port": r.get("src_port"), "dst_port": r.get("dest_port"),
        "vlan": list(r.get("vlan") or []),
        "tunnel": r.get("tunnel"),
        "start": parse_ts(f["start"]), "end": parse_ts(f["end"]),
        "reason": f.get("reason"), "state": f.get("state"),
    }
    if v["proto"] is None:
        try:
            v["proto"] = int(r["proto"])
        except (TypeError, ValueError):
            v["proto"] = -1
    vals = {
        "pkts": f["pkts_toserver"] + f["pkts_toclient"],
        "fwd_pkts": ft.get("fwd_pkts"), "bwd_pkts": ft.get("bwd_pkts"),
        "bytes": f["bytes_toserver"] + f["bytes_toclient"],
        "fwd_bytes": ft.get("fwd_bytes"), "bwd_bytes": ft.get("bwd_bytes"),
        "duration_ms": None if ft.get("duration_s") is None else ft["duration_s"] * 1000.0,
    }
    for p in ("pkt_len", "fwd_pkt_len", "bwd_pkt_len"):
        for s in ("min", "max", "mean", "std"):
            vals[f"{p}_{s}"] = ft.get(f"{p}_{s}")
    for p in ("iat", "fwd_iat", "bwd_iat"):
        for s in ("min", "max", "mean", "std"):
            x = ft.get(f"{p}_{s}_s")
            vals[f"{p}_{s}_ms"] = None if x is None else x * 1000.0
    for fl in FLAGS:
        for pre in ("", "fwd_", "bwd_"):
            vals[f"{pre}{fl}_count"] = ft.get(f"{pre}{fl}_count")
    v["vals"] = vals
    return v


def swap_dir(vals: dict) -> dict:
    out = dict(vals)
    for k, x in vals.items():
        if k.startswith("fwd_"):
            out["bwd_" + k[4:]] = x
        elif k.startswith("bwd_"):
            out["fwd_" + k[4:]] = x
    return out


# --------------------------------------------------------------------------
# nfstream side

def run_nfstream(capture: str, idle: int, active: int) -> list[dict]:
    from nfstream import NFStreamer
    s = NFStreamer(source=capture, statistical_analysis=True, splt_analysis=0,
                   n_dissections=0, idle_timeout=idle, active_timeout=active,
                   accounting_mode=1, decode_tunnels=False, n_meters=1)
    out = []
    for fl in s:
        d = {
            "proto": fl.protocol, "src_ip": norm_ip(fl.src_ip), "dst_ip": norm_ip(fl.dst_ip),
            "src_port": fl.src_port, "dst_port": fl.dst_port, "vlan": fl.vlan_id,
            "first_ms": fl.bidirectional_first_seen_ms, "last_ms": fl.bidirectional_last_seen_ms,
            "expiration_id": fl.expiration_id,
        }
        d["vals"] = {name: getattr(fl, name) for name in FIELD_NAMES}
        out.append(d)
    return out


# --------------------------------------------------------------------------
# fragments (nfstream drops non-first fragments; the sensor counts them)

def fragment_pairs(capture: str) -> set:
    """Unordered (ip, ip) pairs that carry non-first IPv4/IPv6 fragments."""
    if shutil.which("tshark") is None:
        return set()
    cmd = ["tshark", "-n", "-r", capture, "-o", "ip.defragment:FALSE",
           "-o", "ipv6.defragment:FALSE", "-Y",
           "ip.frag_offset > 0 || ipv6.fraghdr.offset > 0",
           "-T", "fields", "-E", "separator=/t", "-e", "ip.src", "-e", "ip.dst",
           "-e", "ipv6.src", "-e", "ipv6.dst"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    pairs = set()
    for line in p.stdout.splitlines():
        parts = (line.split("\t") + ["", "", "", ""])[:4]
        for a, b in ((parts[0], parts[1]), (parts[2], parts[3])):
            if a and b:
                for x, y in zip(a.split(","), b.split(",")):
                    x, y = norm_ip(x), norm_ip(y)
                    pairs.add(tuple(sorted((x, y))))
    return pairs


# --------------------------------------------------------------------------
# comparison

def tolerance_ok(kind: str, ours, theirs) -> bool:
    if ours is None:
        ours = 0
    if theirs is None:
        theirs = 0
    if kind == "exact":
        return ours == theirs
    diff = abs(float(ours) - float(theirs))
    rel = 1e-6 * max(abs(float(ours)), abs(float(theirs)))
    if kind == "ps":
        return diff <= 1e-9 * max(1.0, abs(float(ours)), abs(float(theirs)))
    if kind == "ms1":
        return diff <= 1.0 + rel + 1e-9
    if kind == "msstd":
        return diff <= SQRT2 + rel + 1e-9
    raise ValueError(kind)


def pair_key(proto, ip_a, port_a, ip_b, port_b, vlan):
    ports = proto in (6, 17)
    a = (ip_a, port_a if ports else None)
    b = (ip_b, port_b if ports else None)
    lo, hi = sorted((a, b), key=lambda e: (e[0], -1 if e[1] is None else e[1]))
    return (proto, lo, hi, vlan)


def compare_capture(capture: str, bin_path: str, idle: int = 120, active: int = 1800,
                    linger: int | None = None) -> dict:
    if linger is None:
        linger = idle
    res = {"capture": capture, "status": "ok", "sensor_flows": 0, "nfstream_flows": 0,
           "paired": 0, "compared": 0, "boundary_differs": [], "fragment_flows": 0,
           "fragment_flow_differences": [], "settings": {
               "idle_timeout": idle, "active_timeout": active, "tcp_linger": linger},
           "direction_swapped": 0, "unpaired_sensor": [], "unpaired_nfstream": [],
           "field_mismatches": {}, "mismatch_examples": [], "fields_compared": FIELD_NAMES}
    if not os.path.isfile(capture):
        res["status"] = "error"
        res["error"] = f"no such capture: {capture}"
        return res
    try:
        recs = run_sensor(capture, bin_path, ["--idle-timeout", str(idle),
                                              "--active-timeout", str(active),
                                              "--tcp-linger", str(linger)])
    except ToolError as e:
        recs = None
        sensor_err = str(e)
    theirs = run_nfstream(capture, idle, active)
    res["nfstream_flows"] = len(theirs)
    if recs is None:
        # nfstream reads files it cannot decode silently (no flows, no error)
        res["status"] = "unsupported-by-both" if not theirs else "error"
        res["error"] = sensor_err
        return res
    ours = [sensor_flow_view(r) for r in recs if r.get("event_type") == "flow"]
    res["sensor_flows"] = len(ours)
    frag = fragment_pairs(capture)

    buckets = defaultdict(list)
    for i, n in enumerate(theirs):
        k = pair_key(n["proto"], n["src_ip"], n["src_port"], n["dst_ip"], n["dst_port"], n["vlan"])
        buckets[k].append(i)
    used = set()
    mismatch_counts = defaultdict(int)
    for o in ours:
        vlan = o["vlan"][-1] if o["vlan"] else 0
        k = pair_key(o["proto"], o["src_ip"], o["src_port"], o["dst_ip"], o["dst_port"], vlan)
        start_ms = math.floor(o["start"] * 1000.0 + 1e-6)
        cand = [i for i in buckets.get(k, []) if i not in used
                and abs(theirs[i]["first_ms"] - start_ms) <= 1]
        desc = (f"{o['proto']} {o['src_ip']}:{o['src_port']} -> {o['dst_ip']}:{o['dst_port']}"
                f" start={o['start']:.6f}")
        if o["tunnel"]:
            desc += " (tunnelled)"
        if len(cand) != 1:
            res["unpaired_sensor"].append(desc + ("" if not cand else f" ({len(cand)} candidates)"))
            continue
        i = cand[0]
        used.add(i)
        n = theirs[i]
        res["paired"] += 1
        end_ms = math.floor(o["end"] * 1000.0 + 1e-6)
        if abs(n["last_ms"] - end_ms) > 1:
            res["boundary_differs"].append(
                desc + f" sensor end={o['end']:.6f} reason={o['reason']} pkts={o['vals']['pkts']}; "
                f"nfstream last_seen_ms={n['last_ms']} pkts={n['vals']['bidirectional_packets']}")
            continue
        vals = o["vals"]
        if o["src_ip"] != n["src_ip"] or (n["proto"] in (6, 17) and o["src_port"] != n["src_port"]):
            vals = swap_dir(vals)
            res["direction_swapped"] += 1
        is_frag = tuple(sorted((o["src_ip"], o["dst_ip"]))) in frag
        if is_frag:
            res["fragment_flows"] += 1
        res["compared"] += 1
        bad = []
        for ours_name, nf_name, kind in FIELD_MAP:
            if not tolerance_ok(kind, vals.get(ours_name), n["vals"][nf_name]):
                bad.append((nf_name, vals.get(ours_name), n["vals"][nf_name]))
        if bad and is_frag:
            res["fragment_flow_differences"].append({"flow": desc, "fields": [
                {"field": f, "sensor": a, "nfstream": b} for f, a, b in bad]})
        if bad and not is_frag:
            for nf_name, _, _ in bad:
                mismatch_counts[nf_name] += 1
            if len(res["mismatch_examples"]) < 25:
                res["mismatch_examples"].append({"flow": desc, "fields": [
                    {"field": f, "sensor": a, "nfstream": b} for f, a, b in bad]})
    for i, n in enumerate(theirs):
        if i not in used:
            res["unpaired_nfstream"].append(
                f"{n['proto']} {n['src_ip']}:{n['src_port']} -> {n['dst_ip']}:{n['dst_port']}"
                f" vlan={n['vlan']} first_ms={n['first_ms']} pkts={n['vals']['bidirectional_packets']}")
    res["field_mismatches"] = dict(mismatch_counts)
    if mismatch_counts:
        res["status"] = "mismatch"
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("captures", nargs="+")
    ap.add_argument("--bin")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--idle-timeout", type=int, default=120)
    ap.add_argument("--active-timeout", type=int, default=1800)
    ap.add_argument("--tcp-linger", type=int, default=None,
                    help="sensor's --tcp-linger (default: the idle timeout)")
    ap.add_argument("--allow-unsupported", action="store_true",
                    help="do not fail on captures the sensor refuses and nfstream reads as empty")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="list unpaired flows and boundary differences")
    args = ap.parse_args(argv)
    bin_path = find_bin(args.bin)
    if bin_path is None:
        print("compare_nfstream: flowsentry binary not found", file=sys.stderr)
        return 2
    if not have_nfstream():
        print("compare_nfstream: nfstream not importable (pip install nfstream)", file=sys.stderr)
        return 2
    results = [compare_capture(c, bin_path, args.idle_timeout, args.active_timeout,
                               args.tcp_linger) for c in args.captures]
    failed = any(r["status"] in ("mismatch", "error") or
                 (r["status"] == "unsupported-by-both" and not args.allow_unsupported)
                 for r in results)
    if args.json:
        json.dump(results, sys.stdout, indent=2, default=str)
        print()
        return 1 if failed else 0
    for r in results:
        name = os.path.basename(r["capture"])
        if r["status"] in ("error", "unsupported-by-both"):
            print(f"{name}: {r['status'].upper()}: {r['error'].splitlines()[0]}"
                  f" (nfstream flows: {r['nfstream_flows']})")
            continue
        nmis = sum(r["field_mismatches"].values())
        print(f"{name}: sensor {r['sensor_flows']} flows, nfstream {r['nfstream_flows']}; "
              f"paired {r['paired']}, compared {r['compared']} ({len(FIELD_MAP)} fields each), "
              f"boundary differs {len(r['boundary_differs'])}, "
              f"unpaired sensor/nfstream {len(r['unpaired_sensor'])}/{len(r['unpaired_nfstream'])}, "
              f"direction-swapped {r['direction_swapped']}, fragment flows {r['fragment_flows']}; "
              f"field mismatches {nmis}")
        for f, c in sorted(r["field_mismatches"].items()):
            print(f"  {f}: {c} flows")
        for ex in r["mismatch_examples"][:5]:
            print(f"  e.g. {ex['flow']}: " + "; ".join(
                f"{x['field']} sensor={x['sensor']} nfstream={x['nfstream']}" for x in ex["fields"][:6]))
        if args.verbose:
            for ex in r["fragment_flow_differences"][:5]:
                print(f"  fragment flow (expected to differ) {ex['flow']}: " + "; ".join(
                    f"{x['field']} sensor={x['sensor']} nfstream={x['nfstream']}" for x in ex["fields"]))
            for x in r["boundary_differs"][:20]:
                print(f"  boundary: {x}")
            for x in r["unpaired_sensor"][:20]:
                print(f"  unpaired sensor: {x}")
            for x in r["unpaired_nfstream"][:20]:
                print(f"  unpaired nfstream: {x}")
    print(f"TOTAL: {len(results)} captures, "
          f"{sum(r.get('compared', 0) for r in results)} flows compared, "
          f"{sum(sum(r.get('field_mismatches', {}).values()) for r in results)} field mismatches")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
