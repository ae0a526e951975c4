"""Ground truth of the traffic lab's captures, checked with tshark.

For every captures/*.pcap there must be a captures/<name>.labels.csv in which
every flow of the capture appears exactly once, with one label from the
vocabulary, and every labelled flow exists in the capture (same packet count,
same first/last time). Flows are enumerated here with tshark, independently
of the lab's own pcap reader and of the Swift code.

A flow is every packet with the same unordered (address, port, address, port,
IP protocol); ports are 0 for protocols without ports (ICMP, ...) and for
non-first IP fragments. Non-IP frames (ARP) are not flows.
"""
from __future__ import annotations

import concurrent.futures
import csv
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CAPTURES = ROOT / "captures"
LABELS = {"benign", "scan", "dos", "bruteforce", "tunnel", "c2", "webattack"}
COLUMNS = ["src_ip", "src_port", "dst_ip", "dst_port", "proto", "first_ts", "last_ts",
           "packets", "bytes", "label", "scenario"]
PCAPS = sorted(CAPTURES.glob("*.pcap"))

pytestmark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")

FIELDS = ["frame.time_epoch", "ip.src", "ip.dst", "ip.proto", "ip.frag_offset",
          "ipv6.src", "ipv6.dst", "ipv6.nxt",
          "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport", "sctp.srcport", "sctp.dstport"]


def key(a, ap, b, bp, proto):
    x, y = (a, int(ap)), (b, int(bp))
    return (int(proto),) + ((x, y) if x <= y else (y, x))


def tshark_flows(pcap: Path):
    cmd = ["tshark", "-n", "-r", str(pcap), "-o", "ip.defragment:FALSE",
           "-o", "ipv6.defragment:FALSE", "-o", "tcp.analyze_sequence_numbers:FALSE",
           "-T", "fields", "-E", "occurrence=f", "-E", "separator=\t"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    flows = {}
    for line in out.splitlines():
        v = line.split("\t")
        v += [""] * (len(FIELDS) - len(v))
        ts, s4, d4, p4, frag, s6, d6, p6, tsp, tdp, usp, udp_, ssp, sdp = v[:14]
        if s4:
            src, dst, proto = s4, d4, int(p4)
            first_frag = not frag or int(frag) == 0
        elif s6:
            src, dst, proto = s6, d6, int(p6)
            first_frag = True
        else:
            continue  # ARP and other non-IP frames
        sp = dp = 0
        if first_frag:
            if proto == 6 and tsp:
                sp, dp = int(tsp), int(tdp)
            elif proto == 17 and usp:
                sp, dp = int(usp), int(udp_)
            elif proto == 132 and ssp:
                sp, dp = int(ssp), int(sdp)
        k = key(src, sp, dst, dp, proto)
        t = float(ts)
        f = flows.get(k)
        if f is None:
            flows[k] = f = {"first": t, "last": t, "packets": 0, "src": (src, sp)}
        f["last"] = t
        f["packets"] += 1
    return flows


def read_csv(path: Path):
    with open(path, newline="") as fh:
        r = csv.DictReader(fh)
        assert r.fieldnames == COLUMNS, f"{path.name}: columns {r.fieldnames}"
        return list(r)


@pytest.fixture(scope="module")
def enumerated():
    """tshark over all captures, two at a time (the lab machines have 2 cores)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as ex:
        return dict(zip(PCAPS, ex.map(tshark_flows, PCAPS)))


def test_there_are_captures():
    names = {p.stem for p in PCAPS}
    assert "demo" in names
    assert sum(n.startswith("mixed-") for n in names) >= 2
    assert sum(n.startswith("benign-") for n in names) >= 2
    assert sum(n.startswith("attack-") for n in names) >= 3


def test_captures_stay_small():
    # the broad benign captures (issue 17) have a budget of their own: at most 4 MiB each
    wide = [f for f in CAPTURES.rglob("benign-wide-*") if f.is_file()]
    total = sum(f.stat().st_size for f in CAPTURES.rglob("*") if f.is_file() and f not in wide)
    assert total < 40 * 1024 * 1024, f"captures/ holds {total / 2**20:.1f} MiB"
    for p in CAPTURES.glob("benign-wide-*.pcap"):
        assert p.stat().st_size <= 4 * 1024 * 1024, f"{p.name}: {p.stat().st_size / 2**20:.1f} MiB"
    assert sum(f.stat().st_size for f in wide) < 18 * 1024 * 1024
    assert (CAPTURES / "demo.pcap").stat().st_size < 2 * 1024 * 1024


@pytest.mark.parametrize("pcap", PCAPS, ids=[p.stem for p in PCAPS])
def test_ground_truth_matches_capture(pcap, enumerated):
    csv_path = pcap.with_suffix(".labels.csv")
    assert csv_path.exists(), f"no ground truth for {pcap.name}"
    rows = read_csv(csv_path)
    flows = enumerated[pcap]
    assert flows, f"{pcap.name} has no IP flows"

    labelled = {}
    for r in rows:
        assert r["label"] in LABELS, f"{pcap.name}: unknown label {r['label']!r}"
        k = key(r["src_ip"], r["src_port"], r["dst_ip"], r["dst_port"], r["proto"])
        assert k not in labelled, f"{pcap.name}: flow {k} labelled twice"
        labelled[k] = r

    missing = [k for k in flows if k not in labelled]
    phantom = [k for k in labelled if k not in flows]
    assert not missing, f"{pcap.name}: {len(missing)} flows without a label, e.g. {missing[:3]}"
    assert not phantom, f"{pcap.name}: {len(phantom)} labelled flows not in the capture, e.g. {phantom[:3]}"

    for k, f in flows.items():
        r = labelled[k]
        assert int(r["packets"]) == f["packets"], f"{pcap.name}: {k} packets {r['packets']} != {f['packets']}"
        assert abs(float(r["first_ts"]) - f["first"]) < 1e-3, f"{pcap.name}: {k} first_ts"
        assert abs(float(r["last_ts"]) - f["last"]) < 1e-3, f"{pcap.name}: {k} last_ts"
        assert (r["src_ip"], int(r["src_port"])) == f["src"], f"{pcap.name}: {k} initiator differs"

    labels = {r["label"] for r in rows}
    if pcap.stem.startswith("benign-") or pcap.stem == "behaviour-lookalike":  # benign by design
        assert labels == {"benign"}, f"{pcap.name}: benign capture has {labels}"
    else:
        assert "benign" in labels and len(labels) >= 2, f"{pcap.name}: labels {labels}"
    if pcap.stem.startswith("mixed-"):
        assert len(labels - {"benign"}) >= 4, f"{pcap.name}: only {labels} in a mixed capture"


def test_every_attack_class_in_several_captures():
    """Train/validation/test can be split by capture: each attack label is in >= 2 captures."""
    seen = {}
    for pcap in PCAPS:
        p = pcap.with_suffix(".labels.csv")
        if p.exists():
            for lab in {r["label"] for r in read_csv(p)}:
                seen.setdefault(lab, set()).add(pcap.stem)
    for lab in LABELS:
        assert len(seen.get(lab, ())) >= 2, f"label {lab} only in {sorted(seen.get(lab, ()))}"
