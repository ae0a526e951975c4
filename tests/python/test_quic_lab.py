"""HTTP/3 over QUIC in the lab's captures/benign-wide-5.pcap (issue 17), checked with tshark.

tshark's QUIC dissector (it decrypts Initial packets itself: their keys come
from the client's first destination connection ID) is the oracle, independent
of the lab's labels and of the Swift code:

- every flow of the capture has exactly one label row, and every UDP/443
  flow is labelled with a `quic-*` scenario and dissected as QUIC (and the
  other way round), version 1 on every long-header packet; the one
  exception is the new path of a migration to a new connection ID, which
  tshark cannot link (the ID was issued inside encrypted frames): its
  datagrams must then be short-header packets by their first byte;
- per conversation the connection IDs agree: the client's Initial names the
  server's chosen ID as its destination from then on;
- the client Initials are padded to >= 1200 bytes, name the scenario's host
  (SNI) and offer ALPN h3; the servers answer the page loads, downloads and
  migrations;
- resumed handshakes (pre_shared_key) and 0-RTT packets; a NAT rebinding or
  migration is a second UDP flow of the same client that starts with
  short-header packets only; the clients that give up send only Initials
  (the blocked address stays silent and a TCP fallback follows; the refused
  one answers ICMP port unreachable).

Skips when tshark or the capture is missing.
"""
from __future__ import annotations

import collections
import csv
import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CAPTURES = ROOT / "captures"
NAME = "benign-wide-5"
PCAP = CAPTURES / f"{NAME}.pcap"

pytestmark = [pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed"),
              pytest.mark.skipif(not PCAP.exists(), reason=f"no captures/{NAME}.pcap")]

FIELDS = ["frame.time_epoch", "ip.src", "ip.dst", "ip.proto", "ip.frag_offset", "tcp.srcport", "tcp.dstport",
          "udp.srcport", "udp.dstport", "udp.length", "frame.protocols", "quic.header_form", "quic.long.packet_type",
          "quic.version", "quic.dcid", "quic.scid", "tls.handshake.type", "tls.handshake.extensions_server_name",
          "tls.handshake.extensions_alpn_str", "tls.handshake.extension.type", "icmp.type", "icmp.code", "data.data"]
I = {f: i for i, f in enumerate(FIELDS)}
INITIAL, ZERO_RTT = "0", "1"
PSK = "41"   # TLS extension pre_shared_key: a resumed session


class Frame:
    """One frame's fields; `first` is the outermost value (ICMP errors quote an inner IP/UDP header)."""

    def __init__(self, values):
        self.v = values

    def all(self, f):
        x = self.v[I[f]]
        return x.split(",") if x else []

    def first(self, f):
        a = self.all(f)
        return a[0] if a else ""


@pytest.fixture(scope="module")
def frames():
    cmd = ["tshark", "-n", "-r", str(PCAP), "-o", "ip.defragment:FALSE", "-T", "fields", "-E", "separator=\t",
           "-E", "occurrence=a", "-E", "aggregator=,"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        v = line.split("\t")
        rows.append(Frame(v + [""] * (len(FIELDS) - len(v))))
    return [r for r in rows if r.first("ip.src")]


def key(a, ap, b, bp, proto):
    x, y = (a, int(ap)), (b, int(bp))
    return (int(proto),) + ((x, y) if x <= y else (y, x))


def frame_key(fr):
    proto = int(fr.first("ip.proto"))
    sp = dp = 0
    frag = fr.first("ip.frag_offset")
    if not frag or int(frag) == 0:
        if proto == 6:
            sp, dp = fr.first("tcp.srcport"), fr.first("tcp.dstport")
        elif proto == 17:
            sp, dp = fr.first("udp.srcport"), fr.first("udp.dstport")
    return key(fr.first("ip.src"), sp, fr.first("ip.dst"), dp, proto)


@pytest.fixture(scope="module")
def flows(frames):
    """5-tuple -> the flow's frames in capture order."""
    out = collections.defaultdict(list)
    for fr in frames:
        out[frame_key(fr)].append(fr)
    return out


@pytest.fixture(scope="module")
def labels():
    rows = list(csv.DictReader(open(CAPTURES / f"{NAME}.labels.csv")))
    return {key(r["src_ip"], r["src_port"], r["dst_ip"], r["dst_port"], r["proto"]): r for r in rows}, rows


@pytest.fixture(scope="module")
def meta():
    return json.loads((CAPTURES / f"{NAME}.meta.json").read_text())


def is_quic(fr):
    return "quic" in fr.first("frame.protocols").split(":")


def udp443(k):
    return k[0] == 17 and 443 in (k[1][1], k[2][1])


def quic_flows(labels, scenario=None):
    by_key, _ = labels
    return {k: r for k, r in by_key.items()
            if r["scenario"].startswith("quic-") and udp443(k) and (scenario is None or r["scenario"] == scenario)}


def test_every_flow_has_one_label(flows, labels):
    by_key, rows = labels
    assert len(by_key) == len(rows), "a flow labelled twice"
    assert set(flows) == set(by_key), (sorted(set(flows) - set(by_key))[:5], sorted(set(by_key) - set(flows))[:5])
    for k, frs in flows.items():
        assert int(by_key[k]["packets"]) == len(frs), (k, by_key[k]["packets"], len(frs))
    assert {r["label"] for r in rows} == {"benign"}


def short_header(fr):
    """The UDP payload starts like a QUIC short-header packet (RFC 9000 17.3: form bit 0, fixed bit 1)."""
    d = fr.first("data.data").replace(":", "")
    return len(d) >= 2 and int(d[:2], 16) & 0xC0 == 0x40


def test_udp443_is_quic_and_labelled_quic(flows, labels, meta):
    by_key, _ = labels
    q = [k for k in flows if udp443(k)]
    assert len(q) >= 10, f"{len(q)} UDP/443 flows"
    unknown_ids = []
    for k in q:
        frs = flows[k]
        assert by_key[k]["scenario"].startswith("quic-"), (k, by_key[k]["scenario"])
        if not any(is_quic(fr) for fr in frs):
            # a migration to a new connection ID: tshark cannot link the new ID (it was issued inside
            # encrypted frames), so it shows the new path as data; the bytes are short-header packets
            assert by_key[k]["scenario"] == "quic-migrate" and all(short_header(fr) for fr in frs), k
            unknown_ids.append(by_key[k]["src_ip"])
            continue
        assert all(is_quic(fr) for fr in frs), (k, [fr.first("frame.protocols") for fr in frs if not is_quic(fr)][:3])
        versions = {v for fr in frs for v in fr.all("quic.version")}
        assert versions <= {"0x00000001"}, (k, versions)
    new_cid = [s for s in meta["scenarios"] if s["name"] == "quic-migrate" and s["params"]["new_cid"]]
    assert len(unknown_ids) <= len(new_cid), (unknown_ids, len(new_cid))
    # and tshark dissects QUIC nowhere else (but in the quoted datagram of an ICMP error)
    assert all(udp443(frame_key(fr)) for frs in flows.values() for fr in frs if is_quic(fr) and fr.first("ip.proto") == "17")


def test_every_quic_scenario_ran(labels, meta):
    scen = collections.Counter(r["scenario"] for r in quic_flows(labels).values())
    for s in ("quic-page", "quic-page-ngtcp2", "quic-download", "quic-migrate", "quic-giveup", "quic-refused"):
        assert scen[s] >= 1, (s, scen)
    r = meta["randomisation"]["quic"]
    assert r["blocked_udp443"] and r["congestion_control"] in ("reno", "cubic")


def client_of(k, row):
    return row["src_ip"], int(row["src_port"])


def handshakes(flows, labels):
    """Per QUIC flow that starts with a client Initial: (key, row, client Initial frames, server frames)."""
    out = []
    for k, row in quic_flows(labels).items():
        frs = flows[k]
        cli = client_of(k, row)
        first = frs[0]
        if INITIAL not in first.all("quic.long.packet_type"):
            continue
        c_init = [fr for fr in frs if (fr.first("ip.src"), int(fr.first("udp.srcport"))) == cli
                  and INITIAL in fr.all("quic.long.packet_type")]
        srv = [fr for fr in frs if (fr.first("ip.src"), int(fr.first("udp.srcport"))) != cli]
        out.append((k, row, c_init, srv))
    return out


def test_client_initials_padded_named_and_h3(flows, labels, meta):
    hosts = collections.defaultdict(set)     # client address -> hosts its QUIC scenarios named
    for s in meta["scenarios"]:
        if s["name"].startswith("quic-"):
            hosts[s["attackers"][0]].add(s["params"]["host"])
    hs = handshakes(flows, labels)
    assert len(hs) >= 8, len(hs)
    for k, row, c_init, srv in hs:
        assert c_init, k
        for fr in c_init:
            assert int(fr.first("udp.length")) - 8 >= 1200, (k, fr.first("udp.length"))
        hello = [fr for fr in c_init if "1" in fr.all("tls.handshake.type")]
        assert hello, (k, "no ClientHello tshark could decrypt")
        sni = hello[0].first("tls.handshake.extensions_server_name")
        assert sni in hosts[row["src_ip"]], (k, sni, hosts[row["src_ip"]])
        assert "h3" in hello[0].all("tls.handshake.extensions_alpn_str"), k


def test_servers_answer_and_connection_ids_agree(flows, labels):
    answered = 0
    for k, row, c_init, srv in handshakes(flows, labels):
        if row["scenario"] in ("quic-giveup", "quic-refused"):
            continue
        assert srv, (k, row["scenario"], "server never answered")
        answered += 1
        s_long = [fr for fr in srv if fr.first("quic.header_form") == "1"]
        assert s_long, k
        # the server addresses the client by the ID the client chose in its Initial; the client moves
        # from its random first destination ID to the one the server chose
        c_scid = {fr.first("quic.scid") for fr in c_init}
        assert len(c_scid) == 1, (k, c_scid)
        assert all(set(fr.all("quic.dcid")) == c_scid for fr in s_long), (k, "server not addressing the client's ID")
        s_scid = {x for fr in s_long for x in fr.all("quic.scid")}
        c_dcid = {x for fr in flows[k] if fr not in srv for x in fr.all("quic.dcid")}
        assert s_scid & c_dcid, (k, "client never addressing the server's ID", s_scid, c_dcid)
        assert c_init[0].first("quic.dcid") not in s_scid, k
    assert answered >= 6


def test_resumption_and_0rtt(flows, labels):
    resumed = zero_rtt = 0
    stacks = set()
    for k, row, c_init, srv in handshakes(flows, labels):
        hello = [fr for fr in c_init if "1" in fr.all("tls.handshake.type")]
        psk = PSK in hello[0].all("tls.handshake.extension.type")
        early = any(ZERO_RTT in fr.all("quic.long.packet_type") for fr in flows[k])
        assert psk or not early, (k, "0-RTT without a resumed session")
        resumed += psk
        zero_rtt += early
        if early:
            stacks.add(row["scenario"])
    assert resumed >= 2 and zero_rtt >= 2, (resumed, zero_rtt)
    assert stacks == {"quic-page", "quic-page-ngtcp2"}, stacks   # aioquic's and ngtcp2's 0-RTT


def test_rebinding_continues_on_a_new_path(flows, labels, meta):
    mig = quic_flows(labels, "quic-migrate")
    by_client = collections.defaultdict(list)
    for k, row in mig.items():
        by_client[row["src_ip"]].append((float(row["first_ts"]), k))
    moved = 0
    for client, ks in by_client.items():
        ks.sort()
        for _, k in ks[1:]:
            frs = flows[k]
            if any(fr.first("quic.header_form") == "1" for fr in frs):
                continue       # a new connection of a later run, not a move
            srcs = {fr.first("ip.src") for fr in frs}
            assert srcs == {client, frs[0].first("ip.dst")}, (k, "the server did not answer on the new path")
            moved += 1
    runs = [s for s in meta["scenarios"] if s["name"] == "quic-migrate"]
    assert moved >= len(runs) >= 1, (moved, len(runs))


def test_giving_up(flows, labels, meta):
    blocked = meta["randomisation"]["quic"]["blocked_udp443"]
    by_key, _ = labels
    for k, row in quic_flows(labels, "quic-giveup").items():
        frs = flows[k]
        assert {fr.first("ip.dst") for fr in frs} == {blocked}, (k, "the blocked address answered")
        assert len(frs) >= 2 and all(fr.all("quic.long.packet_type") == [INITIAL] for fr in frs), k
        fallback = [t for t, r in by_key.items() if r["scenario"] == "quic-giveup" and t[0] == 6
                    and r["src_ip"] == row["src_ip"] and 443 in (t[1][1], t[2][1])]
        assert fallback, (k, "no TCP fallback")
    for k, row in quic_flows(labels, "quic-refused").items():
        frs = flows[k]
        assert len(frs) >= 2 and all(fr.first("ip.src") == row["src_ip"] for fr in frs), k
        icmp = [fr for t, fs in flows.items() if t[0] == 1 and row["src_ip"] in (t[1][0], t[2][0])
                for fr in fs if fr.first("icmp.type") == "3" and fr.first("icmp.code") == "3"
                and fr.first("udp.dstport") == "443"]   # the quoted datagram's
        assert icmp, (k, "no ICMP port unreachable")
        assert all(by_key[frame_key(fr)]["scenario"] == "quic-refused" for fr in icmp)


def test_through_the_randomised_links(flows, labels, meta):
    """The link relay's drawn one-way delays show in the handshakes: the capture sees a frame after its
    sender's delay, so a client Initial's answer comes no sooner than the server's delay and the
    client's next packet no sooner than the client's (jitter allowed); the loss of the server's
    link shows as retransmitted server Initials."""
    r = meta["randomisation"]
    hosts = {v["address"]: v for v in r["hosts"].values()}
    hosts.update({ip: r["hosts"]["wweb"] for ip in r["cdn_edge_addresses"]})   # fs-wweb's other addresses
    lag = lambda h: max(0.0, hosts[h]["delay_ms"] - 4 * hosts[h]["jitter_ms"]) / 1000   # noqa: E731
    seen = set()
    for k, row, c_init, srv in handshakes(flows, labels):
        if not srv:
            continue
        t0 = float(c_init[0].first("frame.time_epoch"))
        s0 = float(srv[0].first("frame.time_epoch"))
        server, client = srv[0].first("ip.src"), row["src_ip"]
        assert s0 - t0 >= lag(server), (k, s0 - t0, hosts[server])
        nxt = [fr for fr in flows[k] if fr not in srv and float(fr.first("frame.time_epoch")) > s0]
        if nxt and nxt[0] not in c_init:
            assert float(nxt[0].first("frame.time_epoch")) - s0 >= lag(client), (k, hosts[client])
        seen.add(client)
    delays = sorted(hosts[c]["delay_ms"] for c in seen)
    assert delays[0] < 2 and delays[-1] > 20, delays
    assert len({hosts[c]["mtu"] for c in seen}) >= 2, "QUIC clients all with one MTU"
