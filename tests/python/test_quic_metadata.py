"""The `quic` object of flow records (docs/flow-records.md) against tshark
4.0, which opens QUIC Initial packets itself (their keys come from the
client's first Destination Connection ID): per QUIC flow of the lab's
captures/benign-wide-5.pcap (aioquic and ngtcp2 clients), the ClientHello's
SNI and ALPN as tshark reads them, and its JA4 with the QUIC letter `q`,
recomputed by applayer_oracle.ja4 from tshark's cipher, extension,
signature-algorithm and version lists (tshark 4.0 has no JA4 of its own).

Every flow in which tshark sees a client's QUIC ClientHello must be
`app_proto` "quic" with the same values, and there must be such flows.
Skips when tshark, the binary or the capture is missing.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

import applayer_oracle as ao

ROOT = Path(__file__).resolve().parents[2]
PCAP = ROOT / "captures" / "benign-wide-5.pcap"

pytestmark = [pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed"),
              pytest.mark.skipif(not PCAP.exists(), reason="no captures/benign-wide-5.pcap")]

FIELDS = ["ip.src", "ipv6.src", "udp.srcport", "ip.dst", "ipv6.dst", "udp.dstport",
          "tls.handshake.extensions_server_name", "tls.handshake.extensions_alpn_str", "tls.handshake.version",
          "tls.handshake.extensions.supported_version", "tls.handshake.ciphersuite", "tls.handshake.extension.type",
          "tls.handshake.sig_hash_alg"]
SIGNATURE_ALGORITHMS_CERT = 50   # tshark's sig_hash_alg would mix its list with ext 13's


def numbers(s: str) -> list[int]:
    return [int(x, 0) for x in s.split(",") if x]


def tshark_hellos() -> dict:
    """The first client QUIC ClientHello tshark reads per (client, server) endpoint pair."""
    p = subprocess.run(["tshark", "-r", str(PCAP), "-Y", "quic && tls.handshake.type == 1", "-T", "fields",
                        "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=,",
                        *[a for f in FIELDS for a in ("-e", f)]],
                       capture_output=True, text=True, timeout=300, check=True)
    out = {}
    for line in p.stdout.splitlines():
        v = dict(zip(FIELDS, line.split("\t")))
        key = (v["ip.src"] or v["ipv6.src"], int(v["udp.srcport"]), v["ip.dst"] or v["ipv6.dst"],
               int(v["udp.dstport"]))
        if key in out:
            continue
        exts = numbers(v["tls.handshake.extension.type"])
        alpns = [a for a in v["tls.handshake.extensions_alpn_str"].split(",") if a]
        out[key] = {
            "sni": v["tls.handshake.extensions_server_name"] or None,
            "alpn": alpns,
            "ja4": ao.ja4("q", int(v["tls.handshake.version"], 0),
                          numbers(v["tls.handshake.extensions.supported_version"]),
                          numbers(v["tls.handshake.ciphersuite"]), exts, numbers(v["tls.handshake.sig_hash_alg"]),
                          alpns[0].encode() if alpns else None),
            "ja4_exact": SIGNATURE_ALGORITHMS_CERT not in exts,
        }
    return out


def sensor_records(binary: str, tmp_path: Path) -> dict:
    out = tmp_path / "flows.json"
    subprocess.run([binary, "replay", str(PCAP), "--no-score", "--flows", str(out)],
                   capture_output=True, text=True, timeout=300, check=True)
    recs = {}
    for line in out.read_text().splitlines():
        r = json.loads(line)
        if r.get("event_type") == "flow" and r.get("proto") == "UDP" and not r["flow"].get("segment"):
            recs.setdefault((r["src_ip"], r["src_port"], r["dest_ip"], r["dest_port"]), r)
    return recs


def test_ja4_helper_reproduces_the_spec_example():
    # FoxIO's JA4.md example (GREASE added: it must be ignored).
    ciphers = [0x0A0A, 0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8, 0xC013, 0xC014,
               0x009C, 0x009D, 0x002F, 0x0035]
    exts = [0x1A1A, 0x001B, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002D, 0x000D, 0x0005, 0x0023, 0x0012, 0x002B,
            0xFF01, 0x000B, 0x000A, 0x0015]
    sigs = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601]
    assert ao.ja4("t", 0x0303, [0x3A3A, 0x0304, 0x0303], ciphers, exts, sigs, b"h2") \
        == "t13d1516h2_8daaf6152771_e5627efa2ab1"
    assert ao.ja4("q", 0x0303, [], [], [], [], None) == "q12i000000_000000000000_000000000000"
    assert ao.ja4("t", 0x0303, [], [0x1301], [0x0010], [], bytes([0x30, 0xAB])) == "t12i0101" + "3b_" \
        + ao.ja4("t", 0x0303, [], [0x1301], [0x0010], [], b"h2").split("_", 1)[1]


def test_quic_flows_match_tshark(flowsentry_bin, tmp_path):
    hellos = tshark_hellos()
    recs = sensor_records(flowsentry_bin, tmp_path)
    assert len(hellos) >= 10, f"tshark read only {len(hellos)} QUIC ClientHellos"
    problems = []
    exact = 0
    for key, t in sorted(hellos.items()):
        r = recs.get(key)
        if r is None:
            problems.append(f"{key}: no flow record")
            continue
        q = r.get("quic") or {}
        if r.get("app_proto") != "quic" or q.get("version") != "1":
            problems.append(f"{key}: app_proto {r.get('app_proto')}, quic {q}")
            continue
        if q.get("sni") != t["sni"] or q.get("client_alpns", []) != t["alpn"]:
            problems.append(f"{key}: sni/alpn {q.get('sni')} {q.get('client_alpns')} != tshark {t['sni']} {t['alpn']}")
        if t["ja4_exact"]:
            exact += 1
            if q.get("ja4") != t["ja4"]:
                problems.append(f"{key}: ja4 {q.get('ja4')} != {t['ja4']}")
        elif q.get("ja4", "").split("_")[:2] != t["ja4"].split("_")[:2]:
            problems.append(f"{key}: ja4 parts a, b {q.get('ja4')} != {t['ja4']}")
    print(f"\n{len(hellos)} QUIC ClientHellos in tshark, {len(hellos) - len(problems)} matched, "
          f"{exact} with the whole JA4 compared")
    assert not problems, "\n".join(problems)
    assert exact >= 10
    # No UDP flow tshark has no ClientHello for is called QUIC with an SNI it does not see.
    invented = [k for k, r in recs.items() if r.get("quic", {}).get("sni") and k not in hellos]
    assert not invented, invented
