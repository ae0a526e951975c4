"""EVE records as Suricata's consumers expect them (issue 20, point 2).

tshark is the oracle for the packet facts (ICMP type and code each way, the
TCP handshake and teardown flags, frame numbers); the type check reads the
records' raw JSON text, as Elasticsearch's dynamic mapping would.
"""

from __future__ import annotations

import collections
import json
import subprocess

import pytest

from conftest import LAB_DIR, PUBLIC_DIR, need_capture

import evaluate_lab

TSHARK = "tshark"

# MITRE ATT&CK (enterprise) tactic and technique the classes stand for, from
# attack.mitre.org: Discovery/Network Service Discovery, Impact/Network Denial
# of Service, Credential Access/Brute Force, Command and Control/Application
# Layer Protocol, Command and Control/Protocol Tunneling, Initial Access/
# Exploit Public-Facing Application.
ATTACK = {
    "scan": ("TA0007", "T1046"), "dos": ("TA0040", "T1498"), "bruteforce": ("TA0006", "T1110"),
    "c2": ("TA0011", "T1071"), "tunnel": ("TA0011", "T1572"), "webattack": ("TA0001", "T1190"),
}


def have_tshark():
    try:
        subprocess.run([TSHARK, "-v"], capture_output=True, check=True)
        return True
    except (OSError, subprocess.CalledProcessError):
        return False


def lab(name):
    p = LAB_DIR / name
    return need_capture(p if p.exists() else None)


def replay(bin_, capture, tmp_path, *args):
    flows, alerts = tmp_path / "flows.json", tmp_path / "alerts.json"
    outputs = ["--flows", str(flows)] + ([] if "--no-score" in args else ["--alerts", str(alerts)])
    proc = subprocess.run([bin_, "replay", capture, *outputs, *args], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return flows.read_text(), alerts.read_text() if alerts.exists() else ""


def records(text):
    return [json.loads(line) for line in text.splitlines() if line]


def tshark_rows(capture, filt, fields):
    out = subprocess.run([TSHARK, "-r", capture, "-Y", filt, "-T", "fields", "-E", "separator=\t",
                          "-o", "tcp.relative_sequence_numbers:FALSE", *sum((["-e", f] for f in fields), [])],
                         capture_output=True, text=True, check=True, timeout=600).stdout
    return [line.split("\t") for line in out.splitlines()]


def epoch(text):
    return evaluate_lab.epoch(text)


@pytest.mark.skipif(not have_tshark(), reason="tshark not installed")
def test_icmp_flows_carry_type_and_code_each_way_as_tshark_reads_them(flowsentry_bin, tmp_path):
    # nmap's host discovery sends echo requests with code 9 and timestamp
    # requests, and its scans draw port-unreachable errors: codes that are not 0.
    cap = lab("attack-scan.pcap")
    flows, _ = replay(flowsentry_bin, cap, tmp_path, "--no-score")
    icmp = [f for f in records(flows) if f["proto"] == "ICMP"]
    assert len(icmp) >= 3
    # An ICMP error quotes the packet it answers: tshark lists the outer header's fields first.
    packets = [(float(t), int(n), s.split(",")[0], d.split(",")[0], int(ty.split(",")[0]), int(co.split(",")[0]))
               for t, n, s, d, ty, co in tshark_rows(cap, "icmp", ["frame.time_epoch", "frame.number", "ip.src",
                                                                      "ip.dst", "icmp.type", "icmp.code"])]
    codes_seen = set()
    for f in icmp:
        assert "src_port" not in f and "dest_port" not in f, f
        start, end = epoch(f["flow"]["start"]), epoch(f["flow"]["end"])
        inside = [p for p in packets if start - 1e-6 <= p[0] <= end + 1e-6]
        first = [p for p in inside if p[2] == f["src_ip"] and p[3] == f["dest_ip"] and p[4] == f["icmp_type"]]
        assert first, f"no {f['icmp_type']} from {f['src_ip']} to {f['dest_ip']} in tshark"
        assert first[0][5] == f["icmp_code"], (f, first[0])
        codes_seen.add(f["icmp_code"])
        replies = [p for p in inside if p[2] == f["dest_ip"] and p[3] == f["src_ip"]]
        if "response_icmp_type" in f:
            assert (f["response_icmp_type"], f["response_icmp_code"]) in {(p[4], p[5]) for p in replies}, f
        else:
            # A request type whose reply never came: tshark sees no packet back.
            assert f["flow"]["pkts_toclient"] == 0 and not replies, f
    assert codes_seen - {0}, "the capture's non-zero ICMP codes never reached a record"


def test_lab_icmp_flows_match_their_ground_truth_rows(flowsentry_bin, tmp_path):
    # The lab labels ICMP flows with ports 0 (pcapflows.py); records without
    # ports must find those rows (before, the type written as src_port hid them).
    cap = lab("attack-dos.pcap")
    rows = evaluate_lab.load_labels(str(LAB_DIR / "attack-dos.labels.csv"))
    flows, _ = replay(flowsentry_bin, cap, tmp_path, "--no-score")
    icmp = [f for f in records(flows) if f["proto"] == "ICMP"]
    assert len(icmp) >= 2
    matched = [evaluate_lab.match(rows, f) for f in icmp]
    assert all(m is not None for m in matched), [f for f, m in zip(icmp, matched) if m is None][:3]
    assert "dos" in {m[0] for m in matched}


def expected_tcp_state(pkts, client):
    """Suricata's words for where a connection stood, from its packets' flags
    (docs/flow-records.md): RST or FIN both ways closed, one FIN fin_wait1,
    the three-way handshake established, SYN-ACK without the final ACK
    syn_recv, an unanswered SYN syn_sent, no SYN none."""
    syn = synack = done = rst = False
    fin = set()
    for src, flags in pkts:
        c = src == client
        if flags & 0x04:
            rst = True
        if flags & 0x01:
            fin.add(c)
        if flags & 0x02:
            syn |= c and not flags & 0x10
            synack |= not c and bool(flags & 0x10)
        elif c and flags & 0x10 and synack:
            done = True
    if rst or fin == {True, False}:
        return "closed"
    if fin:
        return "fin_wait1"
    return "established" if done else "syn_recv" if synack else "syn_sent" if syn else "none"


@pytest.mark.skipif(not have_tshark(), reason="tshark not installed")
@pytest.mark.parametrize("name", ["attack-scan.pcap", "benign-1.pcap"])
def test_tcp_state_follows_the_handshake_and_teardown_tshark_sees(name, flowsentry_bin, tmp_path):
    cap = lab(name)
    flows, _ = replay(flowsentry_bin, cap, tmp_path, "--no-score")
    tcp = [f for f in records(flows) if f["proto"] == "TCP"]
    by_tuple = collections.Counter((f["src_ip"], f["src_port"], f["dest_ip"], f["dest_port"]) for f in tcp)
    streams = collections.defaultdict(list)
    for s, sp, d, dp, flags in tshark_rows(cap, "tcp", ["ip.src", "tcp.srcport", "ip.dst", "tcp.dstport", "tcp.flags"]):
        key = tuple(sorted([(s, int(sp)), (d, int(dp))]))
        streams[key].append((s, int(flags, 16)))
    checked, states = 0, collections.Counter()
    for f in tcp:
        t = (f["src_ip"], f["src_port"], f["dest_ip"], f["dest_port"])
        if by_tuple[t] != 1:
            continue  # a reused tuple: several records share tshark's packets
        key = tuple(sorted([(t[0], t[1]), (t[2], t[3])]))
        assert f["tcp"]["state"] == expected_tcp_state(streams[key], f["src_ip"]), f
        checked += 1
        states[f["tcp"]["state"]] += 1
    assert checked >= 20
    assert len(states) >= 2, states


def json_types(text):
    """Per key path (list positions folded to []), the JSON number kinds seen
    in the raw text: 'int' for digits only, 'float' for a fraction or exponent."""
    kinds = collections.defaultdict(set)

    def walk(v, path):
        if isinstance(v, dict):
            for k, x in v.items():
                walk(x, f"{path}.{k}")
        elif isinstance(v, list):
            for i, x in enumerate(v):
                # The sequence's columns differ in kind; its column is part of the path.
                walk(x, f"{path}[{i}]" if path.endswith("sequence[]") else f"{path}[]")
        elif isinstance(v, tuple):
            kinds[path].add(v[0])

    for line in text.splitlines():
        if line:
            walk(json.loads(line, parse_int=lambda s: ("int", s), parse_float=lambda s: ("float", s)), "")
    return kinds


@pytest.mark.parametrize("name", ["attack-scan.pcap", "attack-tunnel-c2.pcap", "benign-1.pcap"])
def test_every_number_field_is_always_one_json_kind(name, flowsentry_bin, tmp_path):
    # A field written once as 3 and once as 3.5 makes Elasticsearch map it
    # `long` from the first document and drop the fraction of every later one.
    flows, alerts = replay(flowsentry_bin, lab(name), tmp_path)
    for text in (flows, alerts):
        kinds = json_types(text)
        mixed = {p: k for p, k in kinds.items() if len(k) > 1}
        assert not mixed, mixed
    kinds = json_types(flows)
    assert kinds[".features.duration_s"] == {"float"} and kinds[".sequence[][3]"] == {"float"}
    assert kinds[".sequence[][1]"] == {"int"} and kinds[".flow.pkts_toserver"] == {"int"}
    if alerts:
        kinds = json_types(alerts)
        assert kinds[".ml.score"] == {"float"} and kinds[".ml.explanation[].value"] == {"float"}


@pytest.mark.skipif(not have_tshark(), reason="tshark not installed")
def test_alert_pcap_cnt_is_the_frame_number_of_the_flows_last_packet(flowsentry_bin, tmp_path):
    cap = lab("attack-bruteforce-web.pcap")
    _, alerts = replay(flowsentry_bin, cap, tmp_path)
    alerts = [a for a in records(alerts) if "ml" in a and "aggregate" not in a["ml"]]
    assert alerts
    frames = {int(n): (float(t), s, d) for n, t, s, d in
              tshark_rows(cap, "ip", ["frame.number", "frame.time_epoch", "ip.src", "ip.dst"])}
    for a in alerts:
        t, s, d = frames[a["pcap_cnt"]]
        assert {s, d} == {a["src_ip"], a["dest_ip"]}, a
        assert abs(t - epoch(a["flow"]["end"])) < 2e-6, a


def test_alert_metadata_runner_up_and_site_categories(flowsentry_bin, tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\nclasses:\n  scan: {severity: 3, category: \"Site: reconnaissance\"}\n")
    _, alerts = replay(flowsentry_bin, lab("attack-scan.pcap"), tmp_path, "--policy", str(policy))
    alerts = [a for a in records(alerts) if "ml" in a]
    assert alerts
    classes = collections.Counter(a["ml"]["class"] for a in alerts)
    assert classes["scan"] > 0
    close = 0
    for a in alerts:
        cls, md = a["ml"]["class"], a["alert"]["metadata"]
        assert md["detector"] == ["ml"] and md["class"] == [cls] and md["model_version"] == [a["ml"]["model_version"]]
        if cls in ATTACK:
            assert (md["mitre_tactic_id"][0], md["mitre_technique_id"][0]) == ATTACK[cls]
        if cls == "scan":
            assert a["alert"]["category"] == "Site: reconnaissance"
        elif cls == "dos":
            assert a["alert"]["category"] == "Detection of a Denial of Service Attack"
        if "runner_up" in a["ml"]:
            r, p = a["ml"]["runner_up"], a["ml"]["class_probability"]
            assert r["class"] not in (cls, "benign") and p / 2 <= r["probability"] <= p, a["ml"]
            close += 1
        if cls in ATTACK:
            assert 0 < a["ml"]["class_probability"] <= 1
    # The policy's category must be checked, and an unknown key refused with its path.
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nclasses:\n  scan: {categroy: x}\n")
    proc = subprocess.run([flowsentry_bin, "replay", lab("attack-scan.pcap"), "--policy", str(bad),
                           "--flows", "/dev/null"], capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "classes.scan.categroy" in proc.stderr and "category" in proc.stderr


def test_a_scan_alerted_as_another_class_shows_scan_as_runner_up(flowsentry_bin, tmp_path):
    # masscan's SYNs to 1,001 ports: some of its alerts come out as dos; where
    # scan was nearly as likely, the operator must see it.
    cap = PUBLIC_DIR / "atk_scan_masscan_tcp_0-1000.pcap"
    _, alerts = replay(flowsentry_bin, need_capture(cap if cap.exists() else None), tmp_path)
    ml = [a["ml"] for a in records(alerts) if "ml" in a]
    others = [m for m in ml if m["class"] != "scan"]
    assert ml and any(m["class"] == "scan" for m in ml)
    assert others and any(m.get("runner_up", {}).get("class") == "scan" for m in others), others
