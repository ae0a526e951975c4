"""The broad benign captures (captures/benign-wide-*.pcap, issue 17) checked with tshark.

Each service the lab's benign-wide plans run must really be on the wire
(seen by tshark's dissectors, independent of the lab's labels), and the
per-capture domain randomisation must be visible in the packets (MTU/MSS,
TCP options, ECN, TTLs, round-trip times). Per capture where every capture
is meant to have it, over all five where a capture may miss a draw (e.g.
HLS over plain HTTP, a TLS 1.2 HTTP/2 handshake whose ALPN is readable).
Skips when tshark is missing or the captures are not there.
"""
from __future__ import annotations

import collections
import concurrent.futures
import csv
import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CAPTURES = ROOT / "captures"
PCAPS = sorted(CAPTURES.glob("benign-wide-*.pcap"))

pytestmark = [pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed"),
              pytest.mark.skipif(not PCAPS, reason="no benign-wide captures")]

FIELDS = ["frame.len", "ip.src", "ip.dst", "ip.ttl", "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport",
          "tcp.flags.syn", "tcp.flags.ack", "tcp.flags.ece", "tcp.flags.cwr", "tcp.options.mss_val",
          "tcp.options.wscale.shift", "tcp.options.timestamp.tsval", "tcp.options.sack_perm",
          "tcp.analysis.initial_rtt", "tls.handshake.type", "tls.handshake.extensions.supported_version",
          "tls.handshake.extensions_alpn_str", "smtp.req.command", "imap.request.command", "pop.request.command",
          "mqtt.msgtype", "ldap.protocolOp", "smb2.cmd", "ntp.flags.mode", "dns.flags.response",
          "dns.flags.recdesired", "dns.resp.type", "http.request.uri", "http.user_agent", "snmp.data",
          "rsync.hdr_magic", "ssh.protocol", "frame.protocols"]
I = {f: i for i, f in enumerate(FIELDS)}


def tshark(pcap: Path):
    cmd = ["tshark", "-n", "-r", str(pcap), "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a",
           "-E", "aggregator=,"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        v = line.split("\t")
        rows.append(v + [""] * (len(FIELDS) - len(v)))
    return rows


@pytest.fixture(scope="module")
def pk():
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as ex:
        return dict(zip([p.stem for p in PCAPS], ex.map(tshark, PCAPS)))


def meta(name):
    return json.loads((CAPTURES / f"{name}.meta.json").read_text())


def vals(r, f):
    x = r[I[f]]
    return x.split(",") if x else []


def has(rows, f, pred=lambda v: True, port=None):
    # (tshark's smtp.req.command holds the first four characters: STARTTLS is "STAR")
    """Number of packets whose field f has a value satisfying pred (and, if given, a TCP/UDP port)."""
    n = 0
    for r in rows:
        if port is not None and str(port) not in (r[I["tcp.srcport"]], r[I["tcp.dstport"]],
                                                  r[I["udp.srcport"]], r[I["udp.dstport"]]):
            continue
        if any(pred(v) for v in vals(r, f)):
            n += 1
    return n


def server_hellos(rows):
    """(version, alpn) of every TLS ServerHello: 1.3 if it carries supported_version 0x0304."""
    out = []
    for r in rows:
        if "2" in vals(r, "tls.handshake.type"):
            sv = vals(r, "tls.handshake.extensions.supported_version")
            out.append(("1.3" if "0x0304" in sv else "1.2", tuple(vals(r, "tls.handshake.extensions_alpn_str"))))
    return out


NAMES = [p.stem for p in PCAPS]


def test_five_captures_with_their_own_randomisation():
    assert NAMES == [f"benign-wide-{i}" for i in range(1, 6)], NAMES
    mtus = []
    for n in NAMES:
        m = meta(n)
        r = m["randomisation"]
        assert len(r["hosts"]) >= 25 and 3 <= r["workers"] <= 8
        for h, v in r["hosts"].items():
            assert 1280 <= v["mtu"] <= 9000 and 0 <= v["loss_pct"] <= 3 and 0.04 <= v["delay_ms"] <= 150, (n, h, v)
        mtus.append(tuple(v["mtu"] for _, v in sorted(r["hosts"].items())))
    assert len(set(mtus)) == len(mtus), "two captures drew the same MTUs"


@pytest.mark.parametrize("name", NAMES)
def test_all_benign_and_named_by_activity(name):
    rows = list(csv.DictReader(open(CAPTURES / f"{name}.labels.csv")))
    assert rows and {r["label"] for r in rows} == {"benign"}
    scen = collections.Counter(r["scenario"] for r in rows)
    assert len(set(scen) - {"background"}) >= 14, scen
    assert scen["background"] < 0.5 * len(rows), "the old benign mix should be background, not the bulk"
    assert 200 <= len(rows) <= 4000
    assert (CAPTURES / f"{name}.pcap").stat().st_size <= 4 * 1024 * 1024


@pytest.mark.parametrize("name", NAMES)
def test_mail(pk, name):
    rows = pk[name]
    assert has(rows, "smtp.req.command", lambda v: v.upper() in ("STARTTLS", "STAR"), port=587), "no STARTTLS on submission"
    assert has(rows, "smtp.req.command", lambda v: v.upper() == "EHLO", port=25), "no SMTP relay on :25"
    imap = has(rows, "imap.request.command", lambda v: v.upper() == "STARTTLS", port=143)
    imaps = has(rows, "tls.handshake.type", lambda v: v == "1", port=993)
    pop = has(rows, "pop.request.command", lambda v: v.upper() == "STLS", port=110) + \
        has(rows, "tls.handshake.type", lambda v: v == "1", port=995)
    assert imap + imaps and pop, (imap, imaps, pop)


def test_mail_all_variants(pk):
    rows = [r for n in NAMES for r in pk[n]]
    assert has(rows, "imap.request.command", lambda v: v.upper() == "STARTTLS", port=143)
    assert has(rows, "tls.handshake.type", lambda v: v == "1", port=993)
    assert has(rows, "pop.request.command", lambda v: v.upper() == "STLS", port=110) or \
        has(rows, "tls.handshake.type", lambda v: v == "1", port=995)


@pytest.mark.parametrize("name", NAMES)
def test_web_tls_versions_and_http2(pk, name):
    rows = pk[name]
    sh = server_hellos(rows)
    assert any(v == "1.3" for v, _ in sh), "no TLS 1.3 handshake"
    hello_h2 = has(rows, "tls.handshake.extensions_alpn_str", lambda v: v == "h2")
    assert hello_h2, "no ClientHello offering h2"


def test_tls12_and_h2_selected(pk):
    sh = [x for n in NAMES for x in server_hellos(pk[n])]
    assert any(v == "1.2" for v, _ in sh), "no TLS 1.2 handshake"
    # a TLS 1.2 ServerHello shows the chosen protocol (1.3 encrypts it)
    assert any(v == "1.2" and a == ("h2",) for v, a in sh), "no server choosing h2"


def test_hls_apt_metrics(pk):
    rows = [r for n in NAMES for r in pk[n]]
    uris = collections.Counter()
    for r in rows:
        for u in vals(r, "http.request.uri"):
            uris[u.rsplit(".", 1)[-1] if "." in u else u] += 1
    assert uris["m3u8"] >= 3 and uris["ts"] >= 3, "no plain-HTTP HLS playlist/segments"
    assert uris["deb"] >= 2 and has(rows, "http.user_agent", lambda v: "APT-HTTP" in v)
    assert uris["/metrics"] >= 10 and has(rows, "http.user_agent", lambda v: v.startswith("Prometheus/"))


@pytest.mark.parametrize("name", NAMES)
def test_iot_directory_files(pk, name):
    rows = pk[name]
    assert has(rows, "mqtt.msgtype", lambda v: v == "3"), "no MQTT PUBLISH"
    assert has(rows, "ldap.protocolOp", lambda v: v == "0") or has(rows, "tls.handshake.type", port=389), "no LDAP bind"
    assert has(rows, "ssh.protocol", lambda v: v.startswith("SSH-2.0")), "no SSH"
    assert has(rows, "rsync.hdr_magic") or has(rows, "frame.protocols", lambda v: "rsync" in v), "no rsync daemon"


def test_iot_directory_files_all(pk):
    rows = [r for n in NAMES for r in pk[n]]
    assert has(rows, "mqtt.msgtype", lambda v: v == "12") and has(rows, "mqtt.msgtype", lambda v: v == "13"), "no PINGREQ/PINGRESP"
    assert has(rows, "mqtt.msgtype", lambda v: v == "8"), "no SUBSCRIBE"
    assert has(rows, "ldap.protocolOp", lambda v: v == "3"), "no LDAP search"
    assert has(rows, "smb2.cmd", lambda v: v == "8"), "no SMB2 READ"
    assert has(rows, "smb2.cmd", lambda v: v == "9"), "no SMB2 WRITE"
    assert has(rows, "snmp.data", lambda v: v == "0"), "no SNMP get-request"
    assert has(rows, "ntp.flags.mode", lambda v: v == "3") and has(rows, "ntp.flags.mode", lambda v: v == "4")


@pytest.mark.parametrize("name", NAMES)
def test_dns_through_the_resolver(pk, name):
    res = meta(name)["randomisation"]["hosts"]["wres"]["address"]
    rows = pk[name]
    chains = iterative = 0
    for r in rows:
        if r[I["ip.src"]] == res and vals(r, "dns.flags.response") == ["1"]:
            if vals(r, "dns.resp.type").count("5") >= 2:
                chains += 1            # an answer to a client with two or more CNAMEs
        if r[I["ip.src"]] == res and vals(r, "dns.flags.response") == ["0"] and vals(r, "dns.flags.recdesired") == ["0"]:
            iterative += 1             # the resolver asking an authority
    assert chains >= 3, f"{chains} CNAME chains answered by the resolver"
    assert iterative >= 10, f"{iterative} iterative queries from the resolver"


@pytest.mark.parametrize("name", NAMES)
def test_randomisation_on_the_wire(pk, name):
    rows = pk[name]
    syn = [r for r in rows if r[I["tcp.flags.syn"]] in ("1", "True") and r[I["tcp.flags.ack"]] in ("0", "False")]
    assert len(syn) >= 50
    mss = {r[I["tcp.options.mss_val"]] for r in syn if r[I["tcp.options.mss_val"]]}
    assert len(mss) >= 4, f"MSS values {mss}"
    assert any(int(m) > 1460 for m in mss) and any(int(m) < 1460 for m in mss), f"MSS values {mss}"
    ts = [bool(r[I["tcp.options.timestamp.tsval"]]) for r in syn]
    ws = [bool(r[I["tcp.options.wscale.shift"]]) for r in syn]
    assert any(ts) and not all(ts), "SYNs all with (or all without) timestamps"
    assert any(ws) and not all(ws), "SYNs all with (or all without) window scaling"
    ecn = [r for r in syn if r[I["tcp.flags.ece"]] in ("1", "True") and r[I["tcp.flags.cwr"]] in ("1", "True")]
    assert ecn and len(ecn) < len(syn), "no ECN-setup SYNs (or only those)"
    assert len({r[I["ip.ttl"]] for r in rows if r[I["ip.ttl"]]}) >= 4


def test_jumbo_frames(pk):
    # a frame over 1514 bytes needs both ends with an MTU over 1500: not drawn in every capture
    assert any(int(r[I["frame.len"]]) > 1514 for n in NAMES for r in pk[n]), "no jumbo frame"


def test_round_trip_times_spread(pk):
    rtt = [float(x) for n in NAMES for r in pk[n] for x in vals(r, "tcp.analysis.initial_rtt")]
    assert rtt and min(rtt) < 0.002 and max(rtt) > 0.1, (min(rtt), max(rtt))
