"""Packets and IP bytes per 5-tuple (and per direction) agree EXACTLY with tshark."""

from __future__ import annotations

import subprocess

import pytest

import compare_tshark
from conftest import PUBLIC_DIR, UNSUPPORTED, capture_params, need_capture

pytestmark = pytest.mark.skipif(not compare_tshark.have_tshark(), reason="tshark not installed")


@pytest.mark.parametrize("capture", capture_params(crafted=True))
def test_per_tuple_totals_match_tshark(capture, flowsentry_bin):
    path = need_capture(capture)
    r = compare_tshark.compare_capture(path, flowsentry_bin)
    assert r["status"] != "error", r.get("error")
    lines = [f"{m['tuple']}: sensor {m['sensor']} tshark {m['tshark']}" for m in r["mismatches"]]
    assert not r["mismatches"], (
        f"{len(lines)} of {r['tuples_compared']} 5-tuples differ:\n" + "\n".join(lines[:30]))
    assert r["sensor_packets"] == r["tshark_packets"]
    assert r["sensor_bytes"] == r["tshark_bytes"]


def test_truncated_ipv4_is_the_only_exclusion():
    """The one packet excluded from tshark's side is the documented malformed one."""
    p = PUBLIC_DIR / "edge_truncated_ipv4.pcap"
    if not p.exists():
        pytest.skip("public captures absent")
    rows = compare_tshark.run_tshark(str(p))
    _, skipped = compare_tshark.tshark_totals(rows)
    assert {k: len(v) for k, v in skipped.items()} == {"malformed-ip-length": 1}


@pytest.mark.parametrize("name", sorted(UNSUPPORTED))
def test_unsupported_link_type_is_refused(name, flowsentry_bin):
    p = PUBLIC_DIR / name
    if not p.exists():
        pytest.skip("public captures absent")
    proc = subprocess.run([flowsentry_bin, "replay", "--no-score", str(p), "--flows", "/dev/null"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "unsupported link type" in proc.stderr


def test_synthetic_edge_cases_match_tshark(synth_dir, flowsentry_bin):
    """Tunnels (VXLAN, IP-in-IP, 6in4, keyed GRE), MPLS, PPPoE, VLAN stacks,
    IPv4 options, IPv6 extension headers and fragments, ICMP errors and pairs,
    padding, snaplen cuts, port-less protocols, ARP and malformed lengths."""
    r = compare_tshark.compare_capture(str(synth_dir / "edge_cases.pcap"), flowsentry_bin)
    assert r["status"] == "ok", r
    assert r["tuples_compared"] >= 20
    assert r["excluded"] == {"non-ip": 1, "malformed-ip-length": 2}


def test_synthetic_sctp_ports_match_tshark(synth_dir, flowsentry_bin):
    r = compare_tshark.compare_capture(str(synth_dir / "sctp.pcap"), flowsentry_bin)
    assert r["status"] == "ok", r["mismatches"]
