"""Indicators (Zeek Intel files, docs/indicators.md) on a real capture,
with tshark as the independent oracle.

tshark dissects captures/benign-wide-1.pcap (DNS, TLS, HTTP and SSH from
the lab's wide benign traffic); from its fields the test picks real
values — an address, the /24 of another, a DNS query name, a TLS SNI, a
JA3, a client HASSH and an HTTP URL — writes them as a Zeek Intel file,
each with its own source, replays the capture with `--indicators`, and
checks that the alerts name exactly the conversations (unordered 5-tuples)
that tshark says carry each value, with the indicator's type, kind,
source, severity and the field it matched in; and that the flow records of
those flows, and only those, say `flow.alerted`. Then: a file with a bad
line is refused by `replay` and `check-config`, naming file and line.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest

import compare_tshark
from conftest import LAB_DIR

BIN = compare_tshark.find_bin()
CAPTURE = LAB_DIR / "benign-wide-1.pcap"
pytestmark = pytest.mark.skipif(BIN is None or shutil.which("tshark") is None or not CAPTURE.exists(),
                                reason="needs flowsentry, tshark and captures/benign-wide-1.pcap")

FIELDS = ["frame.number", "frame.protocols", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst",
          "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport",
          "dns.qry.name", "tls.handshake.type", "tls.handshake.extensions_server_name", "tls.handshake.ja3",
          "x509ce.dNSName", "http.request", "http.host", "http.request.uri", "ssh.kex.hassh"]


def norm_ip(s: str) -> str:
    return str(ipaddress.ip_address(s))


def conv(proto: str, a: str, ap: int, b: str, bp: int):
    """A conversation as an unordered 5-tuple."""
    return (proto, frozenset({(norm_ip(a), ap), (norm_ip(b), bp)}))


class Frames:
    """tshark's view of the capture, per conversation (TCP and UDP only)."""

    def __init__(self, path: Path):
        cmd = ["tshark", "-n", "-r", str(path), "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a",
               "-E", "aggregator=|"]
        for f in FIELDS:
            cmd += ["-e", f]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        self.endpoints = defaultdict(set)      # address -> conversations it is in
        self.dns = defaultdict(set)            # conversation -> query names (every DNS frame)
        self.client_hello = {}                 # conversation -> (sni, ja3) of the first ClientHello
        self.sans = defaultdict(set)           # conversation -> certificate DNS names
        self.request = {}                      # conversation -> (host, uri) of the first request
        self.hassh = {}                        # conversation -> client HASSH
        for line in out.splitlines():
            v = dict(zip(FIELDS, line.split("\t")))
            protos = v["frame.protocols"].split(":")
            if "icmp" in protos or "icmpv6" in protos:
                continue  # ICMP errors quote another packet's headers
            first = lambda k: v.get(k, "").split("|")[0]
            src, dst = first("ip.src") or first("ipv6.src"), first("ip.dst") or first("ipv6.dst")
            if "tcp" in protos:
                c = conv("TCP", src, int(first("tcp.srcport")), dst, int(first("tcp.dstport")))
            elif "udp" in protos:
                c = conv("UDP", src, int(first("udp.srcport")), dst, int(first("udp.dstport")))
            else:
                continue
            self.endpoints[norm_ip(src)].add(c)
            self.endpoints[norm_ip(dst)].add(c)
            if first("dns.qry.name") and ("dns" in protos):
                self.dns[c].add(first("dns.qry.name").lower())
            if "1" in v["tls.handshake.type"].split("|") and c not in self.client_hello:
                self.client_hello[c] = (first("tls.handshake.extensions_server_name").lower(), first("tls.handshake.ja3"))
            if v["x509ce.dNSName"]:
                self.sans[c] |= {n.lower() for n in v["x509ce.dNSName"].split("|")}
            if v["http.request"] and c not in self.request and first("http.host"):
                self.request[c] = (first("http.host").lower().split(":")[0], first("http.request.uri"))
            if first("ssh.kex.hassh"):
                self.hassh.setdefault(c, first("ssh.kex.hassh"))


@pytest.fixture(scope="module")
def frames():
    return Frames(CAPTURE)


def pick(counts: dict, low: int = 1, high: int = 40, exclude=()):
    """The value held by the most conversations within [low, high] (ties by value)."""
    ok = [(len(cs), val) for val, cs in counts.items() if low <= len(cs) <= high and val and val not in exclude]
    assert ok, f"no value in {low}..{high} conversations: {sorted((len(c), v) for v, c in counts.items())[:20]}"
    return max(ok, key=lambda t: (t[0], t[1]))[1]


def by_value(mapping: dict, f=lambda x: x):
    out = defaultdict(set)
    for c, val in mapping.items():
        out[f(val)].add(c)
    return out


def test_indicator_alerts_name_exactly_the_flows_tshark_says_carry_them(frames, tmp_path):
    # A DNS name asked on its own (every DNS frame of its conversations asks only it):
    # the sensor reads one question per flow.
    names = defaultdict(set)
    for c, qs in frames.dns.items():
        for q in qs:
            names[q].add(c)
    alone = {q: cs for q, cs in names.items() if all(frames.dns[c] == {q} for c in cs)}
    domain = pick(alone)
    sni = pick(by_value(frames.client_hello, lambda v: v[0]), exclude={domain})
    ja3 = pick(by_value(frames.client_hello, lambda v: v[1]))
    hassh = pick(by_value(frames.hassh))
    url_of = {c: host + uri for c, (host, uri) in frames.request.items()}
    url = pick(by_value(url_of))
    # Addresses in TCP/UDP conversations only (the sensor's ICMP flows have no ports to compare).
    tls_servers = {next(ip for ip, port in c[1] if port == 443) for c in frames.client_hello
                   if any(p == 443 for _, p in c[1])}
    address = pick({ip: frames.endpoints[ip] for ip in tls_servers}, low=1, high=60)
    http_servers = {next(ip for ip, port in c[1] if port == 80) for c in frames.request
                    if any(p == 80 for _, p in c[1])}
    other = sorted(ip for ip in http_servers if ipaddress.ip_address(ip).version == 4
                   and ipaddress.ip_address(ip) not in ipaddress.ip_network(f"{address}/24", strict=False))
    assert other, "no HTTP server outside the address's /24"
    subnet = str(ipaddress.ip_network(f"{other[0]}/24", strict=False))

    indicators = [
        (address, "Intel::ADDR", "oracle-addr", "1"),
        (subnet, "Intel::SUBNET", "oracle-subnet", "-"),
        (domain.upper(), "Intel::DOMAIN", "oracle-domain", "3"),   # matching is case-blind
        (sni, "FlowSentry::TLS_SNI", "oracle-sni", "1"),
        (ja3, "Intel::JA3", "oracle-ja3", "2"),
        (hassh, "Intel::HASSH", "oracle-hassh", "2"),
        ("http://" + url, "Intel::URL", "oracle-url", "1"),        # the scheme is dropped at load
    ]
    feed = tmp_path / "feed.intel"
    feed.write_text("#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\tmeta.severity\n"
                    + "".join(f"{v}\t{t}\t{s}\tfrom the oracle\t{sev}\n" for v, t, s, sev in indicators)
                    + "d41d8cd98f00b204e9800998ecf8427e\tIntel::FILE_HASH\tunseen\t-\t-\n")
    alerts, flows = tmp_path / "alerts.json", tmp_path / "flows.json"
    r = subprocess.run([BIN, "replay", str(CAPTURE), "--no-score", "--indicators", str(feed),
                        "--alerts", str(alerts), "--flows", str(flows)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "7 (1 ip, 1 cidr, 1 domain, 1 tls_sni, 1 url, 1 ja3, 1 hassh)" in r.stderr, r.stderr
    assert "skipped (types the sensor does not see): 1 Intel::FILE_HASH" in r.stderr, r.stderr

    got = defaultdict(set)       # (source, matched field) -> conversations
    alert_flows = set()
    for line in alerts.read_text().splitlines():
        a = json.loads(line)
        assert a["event_type"] == "alert"
        ind = a["indicator"]
        c = conv(a["proto"], a["src_ip"], a.get("src_port", 0), a["dest_ip"], a.get("dest_port", 0))
        got[(ind["source"], ind["matched"])].add(c)
        alert_flows.add(a["flow_id"])
        value, typ, source, sev = next(i for i in indicators if i[2] == ind["source"])
        assert ind["type"] == typ and a["alert"]["metadata"]["indicator_type"] == [typ]
        assert a["alert"]["metadata"]["indicator_source"] == [source]
        assert ind["severity"] == a["alert"]["severity"] == (2 if sev == "-" else int(sev))
        expect_value = {"Intel::DOMAIN": value.lower(), "Intel::URL": url}.get(typ, value)
        assert ind["value"] == expect_value
        assert a["alert"]["signature_id"] == 9_200_001 + ["ip", "cidr", "domain", "tls_sni", "url", "ja3", "ja4", "hassh", "cert_hash"].index(ind["kind"])
        if ind["matched"] in ("src_ip", "dest_ip"):
            ip = a["src_ip"] if ind["matched"] == "src_ip" else a["dest_ip"]
            assert ipaddress.ip_address(ip) in ipaddress.ip_network(value)

    def both_sides(key_source):
        return got[(key_source, "src_ip")] | got[(key_source, "dest_ip")]

    expected = {
        "address": (both_sides("oracle-addr"), frames.endpoints[address]),
        "subnet": (both_sides("oracle-subnet"),
                   {c for ip, cs in frames.endpoints.items() if ipaddress.ip_address(ip) in ipaddress.ip_network(subnet) for c in cs}),
        "dns": (got[("oracle-domain", "dns.queries.rrname")], names[domain]),
        "domain in SNI": (got[("oracle-domain", "tls.sni")], {c for c, v in frames.client_hello.items() if v[0] == domain}),
        "domain in Host": (got[("oracle-domain", "http.hostname")], {c for c, v in frames.request.items() if v[0] == domain}),
        "domain in certificate": (got[("oracle-domain", "tls.subjectaltname")], {c for c, v in frames.sans.items() if domain in v}),
        "sni": (got[("oracle-sni", "tls.sni")], {c for c, v in frames.client_hello.items() if v[0] == sni}),
        "ja3": (got[("oracle-ja3", "tls.ja3.hash")], {c for c, v in frames.client_hello.items() if v[1] == ja3}),
        "hassh": (got[("oracle-hassh", "ssh.client.hassh.hash")], {c for c, v in frames.hassh.items() if v == hassh}),
        "url": (got[("oracle-url", "http.url")], {c for c, v in url_of.items() if v == url}),
    }
    print("indicators:", indicators)
    print("conversations per check:", {k: len(v[1]) for k, v in expected.items()})
    for what, (alerted, oracle) in expected.items():
        assert alerted == oracle, f"{what}: alerted only {alerted - oracle}, tshark only {oracle - alerted}"
    assert all(expected[k][1] for k in ("address", "subnet", "dns", "sni", "ja3", "hassh", "url"))
    known = {(s, m) for s, m in got}
    assert known <= {("oracle-addr", "src_ip"), ("oracle-addr", "dest_ip"), ("oracle-subnet", "src_ip"),
                     ("oracle-subnet", "dest_ip"), ("oracle-domain", "dns.queries.rrname"), ("oracle-domain", "tls.sni"),
                     ("oracle-domain", "http.hostname"), ("oracle-domain", "tls.subjectaltname"),
                     ("oracle-sni", "tls.sni"), ("oracle-ja3", "tls.ja3.hash"), ("oracle-hassh", "ssh.client.hassh.hash"),
                     ("oracle-url", "http.url")}, known

    # Without scoring, a flow record says alerted exactly when an indicator matched it.
    records = [json.loads(l) for l in flows.read_text().splitlines()]
    assert {f["flow_id"] for f in records if f["flow"]["alerted"]} == alert_flows


BAD = "#fields\tindicator\tindicator_type\tmeta.source\n192.0.2.1\tIntel::ADDR\tok\nnot-an-ip\tIntel::ADDR\tfeed\n"


def test_a_bad_line_is_refused_with_file_and_line(tmp_path):
    bad = tmp_path / "bad.intel"
    bad.write_text(BAD)
    r = subprocess.run([BIN, "replay", str(CAPTURE), "--no-score", "--indicators", str(bad), "--flows", "/dev/null"],
                       capture_output=True, text=True)
    assert r.returncode != 0
    assert f"{bad}:3: 'not-an-ip' is not an IPv4 or IPv6 address" in r.stderr, r.stderr
    assert "the file is not loaded" in r.stderr
    assert "read " not in r.stderr  # refused before any packet

    good = tmp_path / "good.intel"
    good.write_text(BAD.splitlines(keepends=True)[0] + "192.0.2.1\tIntel::ADDR\tok\n")
    config = tmp_path / "flowsentry.yaml"
    config.write_text(f"capture:\n  interface: lo\noutputs:\n  stats: {tmp_path}/stats.json\n"
                      f"detection:\n  enabled: false\n  indicators:\n    - {good}\n    - {bad}\n")
    r = subprocess.run([BIN, "check-config", str(config)], capture_output=True, text=True)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "detection.indicators" in r.stderr and f"{bad}:3: 'not-an-ip'" in r.stderr, r.stderr

    config.write_text(config.read_text().replace(f"    - {bad}\n", ""))
    r = subprocess.run([BIN, "check-config", str(config)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "indicators" in r.stdout and ": 1 (1 ip)" in r.stdout and r.stdout.rstrip().endswith("ok"), r.stdout
