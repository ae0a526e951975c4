"""The DNS question each UDP flow on port 53 carries (behaviour.dns: qtype,
subdomain length and entropy), against tshark's dissection of the same
packets: the first query of the flow (dns.qry.name, dns.qry.type), with the
registered domain and the subdomain's Shannon entropy worked out here from
the documented rule (docs/features.md: the last two labels, three under a
generic second level of a two-letter country code)."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from collections import Counter

import pytest

import behaviour_captures as bc
import compare_tshark
from conftest import PUBLIC_DIR, REPO

BIN = compare_tshark.find_bin()
pytestmark = pytest.mark.skipif(BIN is None or shutil.which("tshark") is None, reason="needs flowsentry and tshark")
GENERIC = {"co", "com", "net", "org", "gov", "edu", "ac", "or", "ne", "go", "mil", "gob", "nic", "ltd", "plc"}


def subdomain(name: str) -> str:
    labels = name.lower().rstrip(".").split(".")
    keep = 2
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in GENERIC:
        keep = 3
    return "".join(labels[:-keep]) if len(labels) > keep else ""


def entropy(s: str) -> float:
    if not s:
        return 0.0
    c = Counter(s)
    return -sum(n / len(s) * math.log2(n / len(s)) for n in c.values())


def first_queries(cap) -> dict:
    out = subprocess.run(["tshark", "-r", str(cap), "-Y", "dns.flags.response == 0 && udp", "-T", "fields",
                          "-e", "ip.src", "-e", "udp.srcport", "-e", "ip.dst", "-e", "udp.dstport",
                          "-e", "dns.qry.name", "-e", "dns.qry.type"], capture_output=True, text=True, check=True).stdout
    first = {}
    for line in out.splitlines():
        f = line.split("\t")
        if len(f) < 6 or not f[4]:
            continue
        key = (f[0], int(f[1]), f[2], int(f[3]))
        first.setdefault(key, (f[4].split(",")[0], int(f[5].split(",")[0])))
    return first


def captures(tmp_path):
    caps = [REPO / "captures" / "attack-tunnel-c2.pcap", REPO / "captures" / "benign-2.pcap"]
    for name in ("dns_txt_c2", "dns_browsing"):
        p = tmp_path / f"{name}.pcap"
        bc.SCENARIOS[name][0](p)
        caps.append(p)
    if (PUBLIC_DIR / "edge_rawip_linktype_dns.pcap").exists():
        caps.append(PUBLIC_DIR / "edge_rawip_linktype_dns.pcap")
    return caps


def test_dns_question_matches_tshark(tmp_path):
    checked = 0
    for cap in captures(tmp_path):
        truth = first_queries(cap)
        out = subprocess.run([BIN, "replay", str(cap), "--flows", "-", "--no-score"], capture_output=True, text=True,
                             check=True, cwd=REPO).stdout
        for line in out.splitlines():
            r = json.loads(line)
            d = r.get("behaviour", {}).get("dns")
            if r["proto"] != "UDP" or d is None or r.get("flow", {}).get("segment", 0):
                continue
            key = (r["src_ip"], r["src_port"], r["dest_ip"], r["dest_port"])
            assert key in truth, (cap.name, key)
            name, qtype = truth[key]
            if not name.isascii():
                # tshark prints each byte outside ASCII as U+FFFD: one symbol for
                # different bytes, so its entropy cannot be the wire's.
                continue
            sub = subdomain(name)
            assert d["qtype"] == qtype, (cap.name, key, name)
            assert d["subdomain_length"] == len(sub), (cap.name, key, name)
            assert abs(d["subdomain_entropy"] - entropy(sub)) < 1e-5, (cap.name, key, name)
            checked += 1
        # Every query flow tshark sees (not arpa) has its question.
        seen = {(json.loads(x)["src_ip"], json.loads(x).get("src_port")) for x in out.splitlines()
                if "dns" in json.loads(x).get("behaviour", {})}
        for (s, sp, _, dp), (name, _) in truth.items():
            # Port 53 only (mDNS on 5353 is not a query to a resolver); .arpa names are left out.
            if 53 in (sp, dp) and not name.lower().rstrip(".").endswith("arpa"):
                assert (s, sp) in seen, (cap.name, s, sp, name)
    assert checked >= 400, checked
