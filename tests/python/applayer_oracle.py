"""Application-layer metadata of flow records (`app_proto`, `dns`, `tls`,
`http`, `ssh`, docs/flow-records.md) against tshark 4.0's dissection of the
same packets: the helpers of tests/python/test_applayer_oracle.py.

Per capture, tshark runs once (`-T json` with the fields below, only the
frames that carry DNS, TLS, HTTP or SSH, or follow a lost segment) and
flowsentry runs once (`replay --no-score`); a second, narrower tshark pass
runs only for captures with HTTP requests whose header block never ends.
Every tshark frame is keyed like the sensor keys flows (the innermost IP
layer reached through tunnels, as scripts/compare_tshark.py chooses it) and
given to the sensor's flow with the same unordered 5-tuple whose [start,
end] holds the frame's time — so a 5-tuple that repeats (a UDP port reused
after the idle timeout, a TCP port reused after a close) is told apart by
time, and the sensor's direction (src is the client) decides which side a
banner or a KEXINIT came from. Each flow
then gets tshark's view of its first messages (first query and first
response, first ClientHello, ServerHello, leaf certificate, first HTTP request
and response, each side's banner and KEXINIT), compared field by field with
the record's objects.

A field is counted over the flows where tshark or the sensor has a value:
`agree`, `differ`, `missing` (tshark has one, the record none) and
`invented` (the record has one, tshark none). The differences that are
by design are normalised where the value is read (EVE's conventions: AAAA
expanded, Host split, Content-Type cut, DNS names with non-UTF-8 bytes, …) or
set apart as `exempt` with their reason in `exemption` (the sensor's stream
prefix, a hole in the stream, HTTP over UDP), each with a comment saying why.
"""

from __future__ import annotations

import calendar
import hashlib
import ipaddress
import json
import os
import re
import subprocess
import tempfile
import time
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import compare_tshark

# Stream bytes per direction handed to the sensor's parsers (its
# `--app-prefix` default, passed explicitly when the binary has the flag).
PREFIX = 4096

FIELDS = [
    "frame.number", "frame.time_epoch", "frame.protocols",
    "ip.src", "ip.dst", "ipv6.src", "ipv6.dst",
    "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport", "udp.length", "tcp.seq", "tcp.len",
    "tcp.analysis.lost_segment",
    "dns.id", "dns.flags", "dns.flags.response", "dns.qry.name", "dns.qry.type",
    "dns.count.answers", "dns.resp.type", "dns.a", "dns.aaaa",
    "tls.record.content_type", "tls.handshake.type", "tls.handshake.extensions_server_name", "tls.handshake.ja3",
    "tls.handshake.ja3_full", "tls.handshake.ja3s", "tls.handshake.ja3s_full", "tls.handshake.random",
    "tls.handshake.certificate", "tls.handshake.length", "tls.record.length", "tls.handshake.version",
    "tls.handshake.extensions.supported_version", "tls.handshake.extensions_alpn_str",
    "x509af.serialNumber", "x509af.utcTime", "x509af.generalizedTime",
    "http.request.method", "http.request.uri", "http.request.version", "http.host", "http.user_agent",
    "http.response.code", "http.content_type", "http.request.line", "http.response.line",
    "http.response.version", "http.response.phrase",
    "ssh.protocol", "ssh.message_code", "ssh.packet_length", "ssh.kex.hassh", "ssh.kex.hassh_algorithms",
    "ssh.kex.hasshserver", "ssh.kex.hasshserver_algorithms",
]
# mDNS and LLMNR are their own protocols to tshark (with the dns.* fields).
DISPLAY_FILTER = ("tcp.analysis.lost_segment || dns || mdns || llmnr || tls || http.request || http.response"
                  " || ssh.protocol || ssh.kex.hassh || ssh.kex.hasshserver")
# TFTP follows a conversation by port after a request to port 69: in
# attack-scan.pcap nmap's UDP probes reuse one source port, so tshark takes
# the later DNS probes to port 53 (version.bind, server status) for TFTP. No
# compared protocol needs it.
TSHARK_DISABLED = ["tftp"]
TSHARK_PREFS = [
    # A response's status line and headers are dissected where the headers
    # end, not held back until a body that a cut capture never completes.
    "http.desegment_body:FALSE",
    # Segments that arrive out of order (a lost segment retransmitted after
    # later ones, as the broad benign lab's lossy links make) are put in
    # sequence order, as the sensor's stream prefix does (tcp.reassemble_out_of_order).
    "tcp.reassemble_out_of_order:TRUE",
]
# Ports tshark dissects as SSH by itself (it has no SSH heuristic); a flow the
# sensor calls ssh on another port gets `-d tcp.port==P,ssh`, so tshark judges
# its banner and KEXINIT instead of leaving it undissected.
TSHARK_SSH_PORTS = {22, 29418}

# EVE's version names (Suricata rust/src/tls_version.rs).
TLS_VERSIONS = {0x0300: "SSLv3", 0x0301: "TLSv1", 0x0302: "TLS 1.1", 0x0303: "TLS 1.2", 0x0304: "TLS 1.3"}

# The ServerHello random of a HelloRetryRequest (RFC 8446 §4.1.3).
HRR_RANDOM = "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c"

RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED",
          6: "YXDOMAIN", 7: "YXRRSET", 8: "NXRRSET", 9: "NOTAUTH", 10: "NOTZONE"}
RRTYPES = {1: "A", 2: "NS", 3: "MD", 4: "MF", 5: "CNAME", 6: "SOA", 7: "MB", 8: "MG", 9: "MR", 10: "NULL",
           11: "WKS", 12: "PTR", 13: "HINFO", 14: "MINFO", 15: "MX", 16: "TXT", 17: "RP", 18: "AFSDB",
           19: "X25", 20: "ISDN", 21: "RT", 22: "NSAP", 23: "NSAPPTR", 24: "SIG", 25: "KEY", 26: "PX",
           27: "GPOS", 28: "AAAA", 29: "LOC", 30: "NXT", 33: "SRV", 34: "ATMA", 35: "NAPTR", 36: "KX",
           37: "CERT", 38: "A6", 39: "DNAME", 41: "OPT", 42: "APL", 43: "DS", 44: "SSHFP", 45: "IPSECKEY",
           46: "RRSIG", 47: "NSEC", 48: "DNSKEY", 49: "DHCID", 50: "NSEC3", 51: "NSEC3PARAM", 52: "TLSA",
           55: "HIP", 59: "CDS", 60: "CDNSKEY", 61: "OPENPGPKEY", 62: "CSYNC", 63: "ZONEMD", 64: "SVCB",
           65: "HTTPS", 99: "SPF", 249: "TKEY", 250: "TSIG", 251: "IXFR", 252: "AXFR", 253: "MAILB",
           254: "MAILA", 255: "ANY", 256: "URI", 257: "CAA", 32768: "TA", 32769: "DLV"}
RRTYPE_NUM = {v: k for k, v in RRTYPES.items()}

# Every compared field, named after its place in the record (`app_proto`:
# the record's app_proto where tshark dissects that protocol).
DNS_FIELDS = ["dns.app_proto", "dns.type", "dns.rrname", "dns.rrtype", "dns.id", "dns.flags", "dns.rcode",
              "dns.answers.A", "dns.answers.AAAA"]
TLS_FIELDS = ["tls.app_proto", "tls.version", "tls.sni", "tls.ja3.hash", "tls.ja3.string", "tls.ja3s.hash",
              "tls.ja3s.string", "tls.client_alpns", "tls.server_alpns", "tls.fingerprint", "tls.serial",
              "tls.notbefore", "tls.notafter"]
HTTP_FIELDS = ["http.app_proto", "http.hostname", "http.http_port", "http.url", "http.http_method", "http.protocol",
               "http.http_user_agent", "http.status", "http.http_content_type"]
SSH_FIELDS = ["ssh.app_proto", "ssh.client.proto_version", "ssh.client.software_version", "ssh.server.proto_version",
              "ssh.server.software_version", "ssh.client.hassh.hash", "ssh.client.hassh.string",
              "ssh.server.hassh.hash", "ssh.server.hassh.string"]
ALL_FIELDS = DNS_FIELDS + TLS_FIELDS + HTTP_FIELDS + SSH_FIELDS
# The field whose tshark count measures coverage (messages compared) per protocol.
COVERAGE_FIELD = {"dns": "dns.rrname", "tls": "tls.ja3.hash", "http": "http.url", "ssh": "ssh.client.hassh.hash"}


# --------------------------------------------------------------------------
# time

def epoch_us(s: str) -> int:
    """frame.time_epoch ("1700000000.061000123") as whole microseconds."""
    sec, _, frac = s.partition(".")
    return int(sec) * 1_000_000 + int((frac + "000000")[:6])


def eve_us(s: str) -> int:
    """An EVE time ("2023-11-14T22:13:20.061000+0000") as epoch microseconds."""
    d = datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%f%z")
    return calendar.timegm(d.utctimetuple()) * 1_000_000 + d.microsecond


# --------------------------------------------------------------------------
# the sensor's side

def sensor_supports(bin_path: str, flag: str) -> bool:
    p = subprocess.run([bin_path, "replay", "--help"], capture_output=True, text=True, timeout=60)
    return flag in p.stdout


@dataclass
class Flow:
    rec: dict                      # the first segment's record
    key: tuple                     # unordered (proto, endpoint, endpoint)
    src: tuple                     # (ip, port): the client
    start: int
    end: int
    frames: list = field(default_factory=list)   # tshark frames, in capture order
    # Requests tshark dissects only with header reassembly off (second pass):
    # for the flows whose first request's header block never ends.
    partial: list = field(default_factory=list)

    def label(self) -> str:
        r = self.rec
        sp = f":{r['src_port']}" if "src_port" in r else ""
        dp = f":{r['dest_port']}" if "dest_port" in r else ""
        return f"{r['proto']} {r['src_ip']}{sp} -> {r['dest_ip']}{dp} start {r['flow']['start']}"


PROTO_NUM = {"TCP": 6, "UDP": 17}


def endpoint(ip: str, port) -> tuple:
    return (str(ipaddress.ip_address(ip)), -1 if port is None else int(port))


def unordered(proto: int, a: tuple, b: tuple) -> tuple:
    return (proto, a, b) if a <= b else (proto, b, a)


def sensor_flows(records: list[dict]) -> list[Flow]:
    """One Flow per flow_id (the active timeout's continuation records are
    folded into their first segment: the app objects come from the start)."""
    by_id: dict = {}
    order = []
    for r in records:
        if r.get("event_type") != "flow" or r.get("proto") not in PROTO_NUM:
            continue
        f = r["flow"]
        start, end = eve_us(f["start"]), eve_us(f["end"])
        fid = (r["flow_id"], r["src_ip"], r.get("src_port"), r["dest_ip"], r.get("dest_port"))
        if fid in by_id:
            fl = by_id[fid]
            fl.start, fl.end = min(fl.start, start), max(fl.end, end)
            if not f.get("segment"):
                fl.rec = r
            continue
        src = endpoint(r["src_ip"], r.get("src_port"))
        dst = endpoint(r["dest_ip"], r.get("dest_port"))
        fl = Flow(rec=r, key=unordered(PROTO_NUM[r["proto"]], src, dst), src=src, start=start, end=end)
        by_id[fid] = fl
        order.append(fl)
    return order


def run_sensor(bin_path: str, capture: str, extra: list[str]) -> list[dict]:
    with tempfile.TemporaryDirectory() as td:
        out = os.path.join(td, "flows.json")   # fresh file: --flows appends
        p = subprocess.run([bin_path, "replay", capture, "--no-score", "--no-sequence", "--flows", out, *extra],
                           capture_output=True, text=True, timeout=300)
        if p.returncode != 0:
            raise RuntimeError(f"flowsentry exited {p.returncode} on {capture}: {p.stderr.strip()[-500:]}")
        with open(out) as fh:
            return [json.loads(line) for line in fh if line.strip()]


# --------------------------------------------------------------------------
# tshark's side

def run_tshark(capture: str, ssh_ports: set[int], display_filter: str = DISPLAY_FILTER,
               prefs: list[str] = ()) -> list[dict]:
    cmd = ["tshark", "-n", "-r", capture, "-Y", display_filter, "-T", "json"]
    for pref in [*TSHARK_PREFS, *prefs]:
        cmd += ["-o", pref]
    for proto in TSHARK_DISABLED:
        cmd += ["--disable-protocol", proto]
    for port in sorted(ssh_ports):
        cmd += ["-d", f"tcp.port=={port},ssh"]
    for f in FIELDS:
        cmd += ["-e", f]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        raise RuntimeError(f"tshark exited {p.returncode} on {capture}: {p.stderr.strip()[-500:]}")
    out = p.stdout.strip()
    return [pkt["_source"]["layers"] for pkt in json.loads(out)] if out else []


def _at(layers: dict, name: str, i: int):
    v = layers.get(name) or []
    return v[i] if 0 <= i < len(v) and v[i] != "" else None


def frame_key(layers: dict):
    """(proto, src endpoint, dst endpoint) of the IP layer the sensor keys on,
    or None (non-IP, an IP header quoted in an ICMP error, no ports)."""
    tokens = (layers.get("frame.protocols") or [""])[0].split(":")
    if "icmp" in tokens or "icmpv6" in tokens:
        return None           # DNS quoted inside an ICMP error is not the flow's message
    chosen = compare_tshark.choose_layer(tokens)
    if chosen is None:
        return None
    fam, idx, pos = chosen
    src, dst = _at(layers, f"{fam}.src", idx), _at(layers, f"{fam}.dst", idx)
    after = tokens[pos + 1:pos + 2]
    if not after or after[0] not in ("tcp", "udp") or src is None or dst is None:
        return None
    t = after[0]
    j = sum(1 for x in tokens[:pos + 1] if x == t)   # transport layers before this one (tunnels over UDP)
    sp, dp = _at(layers, f"{t}.srcport", j), _at(layers, f"{t}.dstport", j)
    if sp is None or dp is None:
        return None
    return (6 if t == "tcp" else 17, endpoint(src, sp), endpoint(dst, dp))


def assign_frames(flows: list[Flow], frames: list[dict]) -> list[dict]:
    """Give each frame to its flow; returns the frames no flow holds."""
    by_key: dict = defaultdict(list)
    for fl in flows:
        by_key[fl.key].append(fl)
    starts = {}
    for k, fls in by_key.items():
        fls.sort(key=lambda f: f.start)
        starts[k] = [f.start for f in fls]
    orphans = []
    for layers in frames:
        fk = frame_key(layers)
        if fk is None:
            continue
        proto, a, b = fk
        k = unordered(proto, a, b)
        t = epoch_us(layers["frame.time_epoch"][0])
        fls = by_key.get(k)
        i = bisect_right(starts[k], t + 1) - 1 if fls else -1
        if i < 0 or t > fls[i].end + 1:
            orphans.append(layers)
            continue
        layers["_from_client"] = a == fls[i].src
        fls[i].frames.append(layers)
    return orphans


# --------------------------------------------------------------------------
# tshark's view of one flow

def _first(layers, name):
    return _at(layers, name, 0)


def host_split(host: str):
    """http.host keeps ":port"; EVE has hostname and http_port apart."""
    m = re.fullmatch(r"\[([^\]]*)\](?::(\d+))?", host)
    if m:
        return m.group(1), (int(m.group(2)) if m.group(2) else None)
    if host.count(":") == 1:
        h, _, p = host.partition(":")
        if p.isdigit():
            return h, int(p)
    return host, None


def banner_split(banner: str):
    """"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3" -> ("2.0", "OpenSSH_8.9p1"): Suricata's
    proto_version (up to the next '-') and software_version (up to the first
    space; the comments are dropped)."""
    if not banner.startswith("SSH-"):
        return None, None
    rest = banner[4:]
    proto, dash, soft = rest.partition("-")
    if not dash:
        return proto, None
    return proto, re.split(r"[ \r\n]", soft, maxsplit=1)[0]


def frame_start(layers) -> int | None:
    """Offset in its direction's stream of the frame's first payload byte."""
    seq = _first(layers, "tcp.seq")
    return None if seq is None else int(seq) - 1


def datagram_end(layers) -> int | None:
    """A UDP message's end: its datagram's payload length (the sensor keeps
    the first datagram of each direction, cut at the prefix)."""
    n = _first(layers, "udp.length")
    return None if n is None else int(n) - 8


def _blen(s: str) -> int:
    return len(s.encode("utf-8", "surrogateescape"))


def http_header_end(layers, request: bool) -> int:
    """Bytes of the first request's (or response's) start line and headers,
    which begin the direction's stream: where the sensor must have read to."""
    if request:
        start = f"{_first(layers, 'http.request.method')} {_first(layers, 'http.request.uri')} " \
                f"{_first(layers, 'http.request.version')}\r\n"
        lines = layers.get("http.request.line") or []
    else:
        start = f"{_first(layers, 'http.response.version')} {_first(layers, 'http.response.code')} " \
                f"{_first(layers, 'http.response.phrase') or ''}\r\n"
        lines = layers.get("http.response.line") or []
    return _blen(start) + sum(_blen(x) for x in lines) + 2


class ServerRecords:
    """The server's TLS records and handshake messages in stream order, to
    place the leaf certificate in the server's byte stream (TLS <= 1.2: only
    handshake records come before the Certificate)."""

    def __init__(self):
        self.record_starts = []      # handshake-byte position where each record's payload starts
        self.payload = 0
        self.hs_pos = 0
        self.cert_hs_pos = None

    def add(self, layers):
        if self.cert_hs_pos is not None:
            return
        for n in layers.get("tls.record.length") or []:
            self.record_starts.append(self.payload)
            self.payload += int(n)
        for t, n in zip(layers.get("tls.handshake.type") or [], layers.get("tls.handshake.length") or []):
            if t == "11":
                self.cert_hs_pos = self.hs_pos
                return
            self.hs_pos += 4 + int(n)

    def leaf_end(self, leaf_len: int) -> int | None:
        """Stream offset just past the leaf certificate: the Certificate
        message's 4-byte header, the 3-byte list length, the leaf's 3-byte
        length and DER, plus the 5-byte header of every record before it."""
        if self.cert_hs_pos is None:
            return None
        end = self.cert_hs_pos + 10 + leaf_len
        return end + 5 * sum(1 for r in self.record_starts if r < end)


def tshark_view(fl: Flow) -> dict:
    """Field -> (value, frame, end) from tshark for the flow's first
    messages; `end` is where the message ends in its direction's stream as
    far as tshark says (a lower bound: the frame's start, or the exact end
    where it can be worked out), or None for datagrams."""
    v: dict = {}
    gap = {True: None, False: None}   # per side (from client?): offset of the first hole
    server_tls = ServerRecords()
    tls_bytes = {True: 0, False: 0}       # per side: TLS record bytes in earlier frames
    banner_end = {True: 0, False: 0}      # per side: the identification line's end

    def lower_bound(layers):
        s = frame_start(layers)
        return None if s is None else s + 1

    def put(name, value, layers, end=None, note=None):
        if value is not None and name not in v:
            ends = [x for x in (end, lower_bound(layers)) if x is not None]
            v[name] = (value, layers, max(ends) if ends else None, gap[layers["_from_client"]], note)

    first_msg = {True: None, False: None}   # each side's first DNS message
    for L in fl.frames:
        side = L["_from_client"]
        if L.get("tcp.analysis.lost_segment") and gap[side] is None:
            # "Previous segment not captured": a hole before this frame. The
            # sensor's prefix stops at the first hole of a direction, tshark
            # dissects what follows it.
            gap[side] = frame_start(L)
        # The first frame tshark dissects as each protocol names tshark's
        # app_proto for the flow (any TLS record counts: a lone alert too).
        for proto, present in (("dns", L.get("dns.id")), ("tls", L.get("tls.record.content_type")),
                               ("http", L.get("http.request.method") or L.get("http.response.code")),
                               ("ssh", L.get("ssh.protocol") or L.get("ssh.message_code"))):
            if present:
                put(f"{proto}.app_proto", proto, L, datagram_end(L))
        if L.get("dns.id") and first_msg[side] is None:
            first_msg[side] = L
        types = L.get("tls.handshake.type") or []
        records = [int(n) for n in L.get("tls.record.length") or []]
        # A hello is the first record tshark reports in its frame: it ends
        # after the direction's earlier records, its header and its length.
        hello_end = tls_bytes[side] + 5 + records[0] if records else None
        tls_bytes[side] += sum(5 + n for n in records)
        if not side:
            server_tls.add(L)
        if "1" in types:
            put("tls.sni", _first(L, "tls.handshake.extensions_server_name"), L, hello_end)
            put("tls.ja3.hash", _first(L, "tls.handshake.ja3"), L, hello_end)
            put("tls.ja3.string", _first(L, "tls.handshake.ja3_full"), L, hello_end)
            alpns = L.get("tls.handshake.extensions_alpn_str")
            put("tls.client_alpns", tuple(alpns) if alpns else None, L, hello_end)
            # Without a ServerHello, EVE's version is the client's highest
            # offer (supported_versions without GREASE, else legacy_version).
            offers = [int(x, 0) for x in L.get("tls.handshake.extensions.supported_version") or []]
            offers = [x for x in offers if (x & 0x0F0F) != 0x0A0A]
            ver = max(offers) if offers else int(_first(L, "tls.handshake.version") or "0", 0)
            put("_client_version", TLS_VERSIONS.get(ver, f"0x{ver:04x}"), L, hello_end)
        if "2" in types:
            # A HelloRetryRequest is a ServerHello to tshark; the sensor keeps
            # the ServerHello that follows it (TLSInfo.serverHello), the
            # handshake's real choice — so this side does too.
            randoms = [r.replace(":", "").lower() for r in L.get("tls.handshake.random") or []]
            if HRR_RANDOM not in randoms:
                put("tls.ja3s.hash", _first(L, "tls.handshake.ja3s"), L, hello_end)
                put("tls.ja3s.string", _first(L, "tls.handshake.ja3s_full"), L, hello_end)
                alpns = L.get("tls.handshake.extensions_alpn_str")
                put("tls.server_alpns", tuple(alpns) if alpns else None, L, hello_end)
                # EVE's version is the server's: supported_versions when the
                # ServerHello has it (TLS 1.3), else its legacy version.
                ver = _first(L, "tls.handshake.extensions.supported_version") or _first(L, "tls.handshake.version")
                if ver is not None:
                    put("tls.version", TLS_VERSIONS.get(int(ver, 0), ver), L, hello_end)
        cert = _first(L, "tls.handshake.certificate")
        if cert is not None:
            der = bytes.fromhex(cert.replace(":", ""))
            leaf_end = server_tls.leaf_end(len(der))
            put("tls.fingerprint", ":".join(f"{b:02x}" for b in hashlib.sha1(der).digest()), L, leaf_end)
            # x509 fields are flattened over the chain, leaf first. EVE: the
            # serial as upper-case hex pairs joined by ':'; validity as
            # YYYY-MM-DDTHH:MM:SS (UTC, no zone).
            serial = _first(L, "x509af.serialNumber")
            if serial is not None:
                serial = serial.replace(":", "").upper()
                put("tls.serial", ":".join(serial[i:i + 2] for i in range(0, len(serial), 2)), L, leaf_end)
            times = L.get("x509af.utcTime") or []
            if not L.get("x509af.generalizedTime") and len(times) >= 2:
                # (a leaf with a GeneralizedTime would interleave the two
                # fields' order; no capture here has one)
                conv = [t.replace(" (UTC)", "").replace(" ", "T") for t in times[:2]]
                put("tls.notbefore", conv[0], L, leaf_end)
                put("tls.notafter", conv[1], L, leaf_end)
        if _first(L, "http.request.method") is not None and "_http_request" not in v:
            v["_http_request"] = L
            end = http_header_end(L, True)
            host = _first(L, "http.host")
            if host is not None:
                h, p = host_split(host)
                put("http.hostname", h, L, end)
                put("http.http_port", p, L, end)
            put("http.url", _first(L, "http.request.uri"), L, end)
            put("http.http_method", _first(L, "http.request.method"), L, end)
            put("http.protocol", _first(L, "http.request.version"), L, end)
            put("http.http_user_agent", _first(L, "http.user_agent"), L, end)
        if _first(L, "http.response.code") is not None and "_http_response" not in v:
            v["_http_response"] = L
            end = http_header_end(L, False)
            put("http.status", int(_first(L, "http.response.code")), L, end)
            ct = _first(L, "http.content_type")
            if ct is not None:
                # EVE cuts the response's Content-Type at the first ';'
                # (output-json-http.c); tshark keeps the parameters.
                put("http.http_content_type", ct.split(";")[0].strip(), L, end)
        banner = _first(L, "ssh.protocol")
        if banner is not None:
            who = "client" if side else "server"
            banner_end[side] = _blen(banner) + 2        # the line and its CR LF
            pv, sv = banner_split(banner)
            put(f"ssh.{who}.proto_version", pv, L, banner_end[side])
            put(f"ssh.{who}.software_version", sv, L, banner_end[side])
        # The KEXINIT is the first binary packet after the banner: its
        # 4-byte length and packet_length bytes.
        plen = _first(L, "ssh.packet_length")
        kex_end = banner_end[side] + 4 + int(plen) if plen is not None else None
        put("ssh.client.hassh.hash", _first(L, "ssh.kex.hassh"), L, kex_end)
        put("ssh.client.hassh.string", _first(L, "ssh.kex.hassh_algorithms"), L, kex_end)
        put("ssh.server.hassh.hash", _first(L, "ssh.kex.hasshserver"), L, kex_end)
        put("ssh.server.hassh.string", _first(L, "ssh.kex.hasshserver_algorithms"), L, kex_end)

    if "tls.version" not in v and "_client_version" in v:
        v["tls.version"] = v["_client_version"]

    if "_http_request" not in v:
        for L in fl.partial:
            if L["_from_client"] and _first(L, "http.request.method") is not None:
                # The first request's header block never ends (a slowloris
                # client): tshark dissects a request only once its headers
                # are complete, the sensor (like Suricata's libhtp, which logs
                # the transaction when the flow ends) reports what it read.
                # tshark's second pass, header reassembly off, dissects the
                # lines of the first segment: compared with those, noted.
                note = "request header block never ends: tshark's first segment"
                host = _first(L, "http.host")
                if host is not None:
                    h, p = host_split(host)
                    put("http.hostname", h, L, note=note)
                    put("http.http_port", p, L, note=note)
                put("http.url", _first(L, "http.request.uri"), L, note=note)
                put("http.http_method", _first(L, "http.request.method"), L, note=note)
                put("http.protocol", _first(L, "http.request.version"), L, note=note)
                put("http.http_user_agent", _first(L, "http.user_agent"), L, note=note)
                put("http.app_proto", "http", L, note=note)
                break

    # DNS: the sensor reads the first message each way — the client's if it
    # is a query, the server's if it is a response, or, when the server sent
    # nothing, the client's if it is a response (a one-way capture, an mDNS
    # announcement) — and EVE's object is the response when there is one,
    # else the query.
    def qr(m):
        return m is not None and _first(m, "dns.flags.response") in ("1", "True", "true")
    query = first_msg[True] if first_msg[True] is not None and not qr(first_msg[True]) else None
    response = first_msg[False] if qr(first_msg[False]) else None
    if response is None and first_msg[False] is None and qr(first_msg[True]):
        response = first_msg[True]
    msg = response if response is not None else query
    if msg is not None:
        end = datagram_end(msg)
        put("dns.type", "response" if msg is response else "request", msg, end)
        put("dns.rrname", _first(msg, "dns.qry.name"), msg, end)
        qt = _first(msg, "dns.qry.type")
        put("dns.rrtype", int(qt) if qt is not None else None, msg, end)
        put("dns.id", int(_first(msg, "dns.id"), 0), msg, end)
        flags = _first(msg, "dns.flags")
        if flags is not None:
            # tshark shows dns.flags.rcode only for responses; EVE v3 writes
            # the header's RCODE for requests too: taken from the flags word.
            flags = int(flags, 0)
            put("dns.flags", flags, msg, end)
            put("dns.rcode", RCODES.get(flags & 0xF, str(flags & 0xF)), msg, end)
        if msg is response:
            # dns.a / dns.aaaa cover every section; the answer section's
            # records are the first ones of each type among the first
            # dns.count.answers resource records.
            n = int(_first(msg, "dns.count.answers") or 0)
            types = [int(t) for t in (msg.get("dns.resp.type") or [])][:n]
            n_a, n_aaaa = types.count(1), types.count(28)
            put("dns.answers.A", frozenset((msg.get("dns.a") or [])[:n_a]), msg, end)
            # EVE prints AAAA rdata fully expanded (8 groups of 4 hex
            # digits); tshark compresses it: compared as addresses, expanded.
            put("dns.answers.AAAA",
                frozenset(ipaddress.IPv6Address(x).exploded for x in (msg.get("dns.aaaa") or [])[:n_aaaa]), msg, end)
    return v


# --------------------------------------------------------------------------
# the record's view

def _dig(d, path):
    for p in path:
        if not isinstance(d, dict) or p not in d:
            return None
        d = d[p]
    return d


def sensor_view(rec: dict) -> dict:
    v: dict = {}

    def put(name, value):
        if value is not None:
            v[name] = value

    d = rec.get("dns")
    if isinstance(d, dict):
        put("dns.type", d.get("type"))
        q = (d.get("queries") or [None])[0] or {}
        put("dns.rrname", q.get("rrname"))
        t = q.get("rrtype")
        if t is not None:
            put("dns.rrtype", int(t) if str(t).isdigit() else RRTYPE_NUM.get(t, t))
        put("dns.id", d.get("id"))
        f = d.get("flags")
        if f is not None:
            # EVE: lower-case hex without 0x ("8180", "100").
            put("dns.flags", int(f, 16) if isinstance(f, str) and re.fullmatch(r"[0-9a-fA-F]+", f) else f)
        put("dns.rcode", d.get("rcode"))
        if d.get("type") == "response":
            ans = d.get("answers") or []
            put("dns.answers.A", frozenset(a.get("rdata") for a in ans if a.get("rrtype") == "A"))
            put("dns.answers.AAAA", frozenset(a.get("rdata") for a in ans if a.get("rrtype") == "AAAA"))
    t = rec.get("tls")
    if isinstance(t, dict):
        put("tls.sni", t.get("sni"))
        put("tls.ja3.hash", _dig(t, ["ja3", "hash"]))
        put("tls.ja3.string", _dig(t, ["ja3", "string"]))
        put("tls.ja3s.hash", _dig(t, ["ja3s", "hash"]))
        put("tls.ja3s.string", _dig(t, ["ja3s", "string"]))
        put("tls.fingerprint", t.get("fingerprint"))
        put("tls.version", t.get("version") if t.get("version") != "UNDETERMINED" else None)
        put("tls.serial", t.get("serial"))
        put("tls.notbefore", t.get("notbefore"))
        put("tls.notafter", t.get("notafter"))
        put("tls.client_alpns", tuple(t["client_alpns"]) if t.get("client_alpns") else None)
        put("tls.server_alpns", tuple(t["server_alpns"]) if t.get("server_alpns") else None)
    q = rec.get("quic")
    if isinstance(q, dict):
        # tshark shows a QUIC flow's ClientHello with the tls.* fields; the
        # record keeps it in its quic object, under the same names.
        put("tls.sni", q.get("sni"))
        put("tls.ja3.hash", _dig(q, ["ja3", "hash"]))
        put("tls.ja3.string", _dig(q, ["ja3", "string"]))
        put("tls.client_alpns", tuple(q["client_alpns"]) if q.get("client_alpns") else None)
    h = rec.get("http")
    if isinstance(h, dict):
        for k in ("hostname", "http_port", "url", "http_method", "protocol", "http_user_agent", "status",
                  "http_content_type"):
            put(f"http.{k}", h.get(k))
    s = rec.get("ssh")
    if isinstance(s, dict):
        for side in ("client", "server"):
            put(f"ssh.{side}.proto_version", _dig(s, [side, "proto_version"]))
            put(f"ssh.{side}.software_version", _dig(s, [side, "software_version"]))
            put(f"ssh.{side}.hassh.hash", _dig(s, [side, "hassh", "hash"]))
            put(f"ssh.{side}.hassh.string", _dig(s, [side, "hassh", "string"]))
    return v


# --------------------------------------------------------------------------
# comparison

@dataclass
class FieldStats:
    agree: int = 0
    differ: int = 0
    missing: int = 0       # tshark has a value, the record none
    invented: int = 0      # the record has a value, tshark none
    exempt: dict = field(default_factory=lambda: defaultdict(int))
    notes: dict = field(default_factory=lambda: defaultdict(int))   # compared, from a documented special case

    @property
    def tshark(self) -> int:
        return self.agree + self.differ + self.missing

    @property
    def judged(self) -> int:
        return self.agree + self.differ + self.missing + self.invented

    @property
    def ratio(self) -> float:
        return self.agree / self.judged if self.judged else 1.0

    def add(self, other: "FieldStats"):
        self.agree += other.agree; self.differ += other.differ
        self.missing += other.missing; self.invented += other.invented
        for k, n in other.exempt.items():
            self.exempt[k] += n
        for k, n in other.notes.items():
            self.notes[k] += n


def exemption(name: str, theirs, ours, fl: Flow, prefix: int = PREFIX):
    """The documented reason a difference is by design, else None. Each is a
    case of the sensor's parsers seeing less than tshark (a value tshark has
    and the record not): never a value only the record has, never two
    different values."""
    if name.endswith(".app_proto") and ours == "failed":
        ours = None     # the sensor saw bytes it could not name: no value either
    if theirs is None or ours is not None:
        return None
    if name.startswith("http.") and fl.rec.get("proto") == "UDP":
        # tshark dissects SSDP (HTTP over UDP, port 1900) as HTTP; the sensor,
        # like Suricata, parses HTTP on TCP only.
        return "http: HTTP over UDP (SSDP), parsed on TCP only"
    _, frame, end, gap, _ = theirs
    proto = name.split(".")[0]
    if proto == "tls" and fl.rec.get("app_proto") == "failed":
        # STARTTLS (SMTP, IMAP, POP3, LDAP): the stream starts in plain text
        # and turns to TLS; the sensor names a flow by its first bytes and
        # has no parser for those protocols, so it says 'failed' and reads no TLS.
        return "tls: after a plain-text start (STARTTLS), the sensor names the first bytes"
    if proto == "tls" and fl.rec.get("app_proto") == "quic":
        # The sensor opens the client's Initial packets only: the server's
        # hello inside QUIC (JA3S, its ALPN, the version it chose) is not read.
        return "tls: inside QUIC, the server's Initial is not opened"
    if end is not None and end > prefix:
        # tshark reassembles a message however far into the stream it ends;
        # the sensor parses the first `prefix` bytes of each direction.
        return f"{proto}: message ends past the sensor's {prefix}-byte prefix"
    start = frame_start(frame)
    if gap is not None and start is not None and start >= gap:
        # The direction lost a segment before this message: the sensor's
        # prefix ends at the hole, tshark dissects the message after it.
        return f"{proto}: message after a hole in the stream"
    return None


def eve_bytes(s: str) -> bytes:
    """The bytes of an EVE string in which Suricata's string_from_bytes wrote
    every byte >= 0x80 of a non-UTF-8 name as the four characters \\xNN."""
    out = bytearray()
    i = 0
    while i < len(s):
        m = re.match(r"\\x([0-9a-fA-F]{2})", s[i:i + 4])
        if m:
            out.append(int(m.group(1), 16))
            i += 4
        else:
            out += s[i].encode("utf-8")
            i += 1
    return bytes(out)


def tshark_utf8(b: bytes) -> str:
    """Bytes as tshark 4.0 shows a DNS name: UTF-8 decoded the lax way (the
    lead byte says how many continuation bytes follow, up to five, overlong
    forms accepted), each broken sequence one U+FFFD. Checked against every
    non-UTF-8 name in the lab captures (1,862 names, all equal)."""
    out = []
    i = 0
    while i < len(b):
        c = b[i]
        if c < 0x80:
            out.append(chr(c)); i += 1
            continue
        if c < 0xC0 or c >= 0xFE:
            out.append("\ufffd"); i += 1
            continue
        n = 1 if c < 0xE0 else 2 if c < 0xF0 else 3 if c < 0xF8 else 4 if c < 0xFC else 5
        cp, j = c & (0x3F >> n), i + 1
        while j < len(b) and j - i <= n and 0x80 <= b[j] < 0xC0:
            cp = cp << 6 | b[j] & 0x3F
            j += 1
        if j - i <= n or cp > 0x10FFFF or 0xD800 <= cp <= 0xDFFF:
            out.append("\ufffd")
        else:
            out.append(chr(cp))
        i = j
    return "".join(out)


def tshark_text(s: str) -> str:
    """tshark's JSON writes some code points as the six characters \\uXXXX."""
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), s)


def equal(name: str, theirs, ours) -> bool:
    if name == "dns.rrname" and isinstance(theirs, str) and isinstance(ours, str):
        if theirs == "<Root>":
            theirs = ""       # tshark's name for the root; EVE writes it empty
        if theirs == ours:
            return True
        if "\\x" in ours:
            # A name that is not UTF-8: EVE writes its bytes >= 0x80 as \xNN
            # (Suricata's string_from_bytes); tshark decodes it as lax UTF-8
            # with U+FFFD for broken sequences. Compared as tshark's text.
            return tshark_utf8(eve_bytes(ours)) == tshark_text(theirs)
        return False
    return theirs == ours


def compare_flow(fl: Flow, stats: dict, problems: list, capture: str, prefix: int = PREFIX):
    """Counts each field of one flow into `stats`; every difference (the
    exempt ones too, marked) goes to `problems`."""
    tv = tshark_view(fl)
    sv = sensor_view(fl.rec)
    app = fl.rec.get("app_proto")
    for proto in ("dns", "tls", "http", "ssh"):
        # Where tshark dissects the protocol, the record's app_proto (any
        # value) is compared with it; elsewhere only a record naming it counts.
        if f"{proto}.app_proto" in tv:
            if app is not None:
                sv[f"{proto}.app_proto"] = app
        elif app == proto:
            sv[f"{proto}.app_proto"] = app
    for name in ALL_FIELDS:
        theirs = tv.get(name)
        ours = sv.get(name)
        if name.startswith("dns.answers."):
            # An empty set is no value on either side.
            if theirs is not None and not theirs[0]:
                theirs = None
            if ours is not None and not ours:
                ours = None
        if theirs is None and ours is None:
            continue
        st = stats[name]
        if theirs is not None and theirs[4]:
            st.notes[theirs[4]] += 1
        if theirs is not None and ours is not None and equal(name, theirs[0], ours):
            st.agree += 1
            continue
        why = exemption(name, theirs, ours, fl, prefix)
        if why:
            st.exempt[why] += 1
            kind = "exempt: " + why
        elif theirs is None:
            st.invented += 1
            kind = "invented"
        elif ours is None:
            st.missing += 1
            kind = "missing"
        else:
            st.differ += 1
            kind = "differ"
        problems.append({
            "capture": capture, "flow": fl.label(), "app_proto": fl.rec.get("app_proto"), "field": name,
            "kind": kind, "ours": _show(ours), "tshark": _show(theirs[0]) if theirs else None,
            "frame": (theirs[1].get("frame.number") or ["?"])[0] if theirs else None,
        })


def _show(x):
    if isinstance(x, frozenset):
        return sorted(x)
    return x


def compare_capture(capture: str, bin_path: str, prefix: int | None = PREFIX) -> dict:
    """Everything for one capture: the per-field counts, every difference.
    `prefix`: passed as --app-prefix (None: the binary has no such flag and
    its default, PREFIX, applies)."""
    t0 = time.monotonic()
    extra = ["--app-prefix", str(prefix)] if prefix is not None else []
    prefix = PREFIX if prefix is None else prefix
    records = run_sensor(bin_path, capture, extra)
    flows = sensor_flows(records)
    ssh_ports = {fl.rec.get("dest_port") for fl in flows if fl.rec.get("app_proto") == "ssh"
                 and fl.rec.get("proto") == "TCP"} - TSHARK_SSH_PORTS - {None}
    frames = run_tshark(capture, ssh_ports)
    orphans = assign_frames(flows, frames)
    need = [fl for fl in flows if fl.rec.get("proto") == "TCP" and isinstance(fl.rec.get("http"), dict)
            and not any(_first(L, "http.request.method") for L in fl.frames)]
    if need:
        # Second pass, only for captures with requests whose header block
        # never ends (see tshark_view).
        shadows = [Flow(rec=fl.rec, key=fl.key, src=fl.src, start=fl.start, end=fl.end) for fl in flows]
        assign_frames(shadows, run_tshark(capture, set(), "http.request", ["http.desegment_headers:FALSE"]))
        wanted = {id(fl.rec) for fl in need}
        for fl, sh in zip(flows, shadows):
            if id(fl.rec) in wanted:
                fl.partial = sh.frames
    stats: dict = defaultdict(FieldStats)
    problems: list = []
    for fl in flows:
        compare_flow(fl, stats, problems, os.path.basename(capture), prefix)
    app = defaultdict(int)
    for fl in flows:
        app[fl.rec.get("app_proto", "-")] += 1
    return {"capture": capture, "stats": dict(stats), "problems": problems, "orphans": len(orphans),
            "orphan_examples": [(o.get("frame.number") or ["?"])[0] for o in orphans[:5]],
            "flows": len(flows), "app_proto": dict(app), "ssh_ports": sorted(ssh_ports),
            "seconds": time.monotonic() - t0}


# --------------------------------------------------------------------------
# JA4, recomputed from tshark's ClientHello fields (FoxIO JA4,
# technical_details/JA4.md), independent of the sensor's Swift code

JA4_VERSIONS = {0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10", 0x0300: "s3", 0x0002: "s2",
                0xFEFF: "d1", 0xFEFD: "d2", 0xFEFC: "d3"}


def is_grease(v: int) -> bool:
    """RFC 8701 GREASE values: 0x0a0a, 0x1a1a, … 0xfafa."""
    return v & 0x0F0F == 0x0A0A and v >> 8 == v & 0xFF


def ja4(transport: str, legacy_version: int, supported_versions: list[int], ciphers: list[int],
        extensions: list[int], signature_algorithms: list[int], alpn_first: bytes | None) -> str:
    """JA4 of one ClientHello: `transport` "t" (TLS over TCP) or "q" (QUIC);
    the lists in wire order as tshark gives them (GREASE still in)."""
    versions = [v for v in supported_versions if not is_grease(v)]
    version = JA4_VERSIONS.get(max(versions) if versions else legacy_version, "00")
    ciphers = [c for c in ciphers if not is_grease(c)]
    exts = [e for e in extensions if not is_grease(e)]
    if not alpn_first:
        alpn = "00"
    elif chr(alpn_first[0]).isascii() and chr(alpn_first[0]).isalnum() and chr(alpn_first[-1]).isascii() \
            and chr(alpn_first[-1]).isalnum():
        alpn = chr(alpn_first[0]) + chr(alpn_first[-1])
    else:
        alpn = f"{alpn_first[0]:02x}"[0] + f"{alpn_first[-1]:02x}"[1]
    a = f"{transport}{version}{'d' if 0 in exts else 'i'}{min(len(ciphers), 99):02d}{min(len(exts), 99):02d}{alpn}"

    def h12(s: str) -> str:
        return hashlib.sha256(s.encode()).hexdigest()[:12] if s else "000000000000"

    b = ",".join(f"{c:04x}" for c in sorted(ciphers))
    c = ",".join(f"{e:04x}" for e in sorted(e for e in exts if e not in (0x0000, 0x0010)))
    sigs = [s for s in signature_algorithms if not is_grease(s)]
    if sigs:
        c += "_" + ",".join(f"{s:04x}" for s in sigs)
    return f"{a}_{h12(b)}_{h12(c)}"
