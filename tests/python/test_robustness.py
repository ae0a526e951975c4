"""evaluate --perturb: problem-space perturbations are real, consistent
traffic (issue 18, point 3).

tshark is the oracle: the perturbed captures must read as well-formed TCP/IP
(right checksums, no sequence anomalies the original did not have), splitting
must keep every HTTP request tshark reassembles, slowing must stretch the
attack conversations and leave the benign ones as they were.
"""

from __future__ import annotations

import csv
import json
import subprocess

import pytest

from conftest import LAB_DIR

CAPTURE = LAB_DIR / "attack-bruteforce-web.pcap"
LABELS = LAB_DIR / "attack-bruteforce-web.labels.csv"


def tshark(path, *args):
    r = subprocess.run(["tshark", "-r", str(path), *args], capture_output=True, text=True, check=True)
    return r.stdout.splitlines()


@pytest.fixture(scope="module")
def perturbed(tmp_path_factory, flowsentry_bin):
    out = tmp_path_factory.mktemp("perturbed")
    r = subprocess.run([flowsentry_bin, "evaluate", "--captures", str(CAPTURE), "--labels", str(LABELS),
                        "--perturb", "split:1", "pad:1", "inject:1", "slow:0.5", "--keep-perturbed", str(out), "--json"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    return out, json.loads(r.stdout)


def kept(out, kind):
    return out / f"attack-bruteforce-web.{kind}.pcap", out / f"attack-bruteforce-web.{kind}.labels.csv"


def test_report_has_a_column_per_perturbation_and_none_matches_plain_evaluate(perturbed, flowsentry_bin):
    _, report = perturbed
    names = [c["perturbation"] for c in report["columns"]]
    assert names == ["none", "split:1.0", "pad:1.0", "inject:1.0", "slow:0.5"]
    plain = json.loads(subprocess.run([flowsentry_bin, "evaluate", "--captures", str(CAPTURE), "--labels", str(LABELS),
                                       "--json"], capture_output=True, text=True, check=True).stdout)
    for cls, row in report["columns"][0]["classes"].items():
        if cls != "benign":
            assert abs(row["named"] / row["flows"] - plain[f"{cls}.recall"]) < 1e-9
    # Every perturbation changed packets; the flows are the same ones.
    for c in report["columns"][1:]:
        assert c["packets_changed"] > 0
        assert {k: v["flows"] for k, v in c["classes"].items()} == {k: v["flows"] for k, v in report["columns"][0]["classes"].items()}


@pytest.mark.parametrize("kind", ["split-1.0", "pad-1.0", "inject-1.0", "slow-0.5"])
def test_perturbed_captures_are_well_formed_tcp(perturbed, kind):
    out, _ = perturbed
    pcap, _ = kept(out, kind)
    bad = tshark(pcap, "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
                 "-Y", "tcp.checksum.status == 0 || ip.checksum.status == 0")
    assert bad == []
    anomalies = lambda p: len(tshark(p, "-Y", "tcp.analysis.flags && !tcp.analysis.window_update"
                                     " && !tcp.analysis.duplicate_ack"))
    assert anomalies(pcap) <= anomalies(CAPTURE)


def test_split_keeps_every_http_request_and_adds_segments(perturbed):
    out, _ = perturbed
    pcap, _ = kept(out, "split-1.0")
    fields = ["-Y", "http.request", "-T", "fields", "-e", "ip.src", "-e", "tcp.srcport", "-e", "http.request.uri"]
    assert sorted(tshark(pcap, *fields)) == sorted(tshark(CAPTURE, *fields))
    assert len(tshark(pcap)) > len(tshark(CAPTURE))
    # Bytes each way per TCP conversation are unchanged (tshark's conversation table).
    conv = lambda p: sorted(l for l in tshark(p, "-q", "-z", "conv,tcp") if "<->" in l)
    strip = lambda rows: [r.split()[:1] + r.split()[2:3] for r in rows]
    assert strip(conv(pcap)) == strip(conv(CAPTURE))


def test_pad_grows_attack_bytes_only(perturbed):
    out, _ = perturbed
    pcap, labels = kept(out, "pad-1.0")
    rows = list(csv.DictReader(open(labels)))
    original = {(r["src_ip"], r["src_port"], r["dst_ip"], r["dst_port"]): r for r in csv.DictReader(open(LABELS))}

    def client_bytes(p):
        out = {}
        for line in tshark(p, "-Y", "tcp.len > 0", "-T", "fields", "-e", "ip.src", "-e", "tcp.srcport",
                           "-e", "ip.dst", "-e", "tcp.dstport", "-e", "tcp.len"):
            a, ap, b, bp, n = line.split("\t")
            out[(a, ap, b, bp)] = out.get((a, ap, b, bp), 0) + int(n)
        return out

    before, after = client_bytes(CAPTURE), client_bytes(pcap)
    grown = 0
    for r in rows:
        k = (r["src_ip"], r["src_port"], r["dst_ip"], r["dst_port"])
        if k not in before or r["proto"] != "6":
            continue
        if r["label"] == "benign":
            assert after[k] == before[k], k
        else:
            assert after[k] >= before[k]
            grown += after[k] > before[k]
        assert k in original
    assert grown > 100


def test_slow_stretches_attack_conversations_and_keeps_benign_ones(perturbed):
    out, _ = perturbed
    pcap, labels = kept(out, "slow-0.5")
    truth = {(r["src_ip"], r["src_port"]): r["label"] for r in csv.DictReader(open(LABELS)) if r["proto"] == "6"}

    def durations(p):
        d = {}
        for line in tshark(p, "-Y", "tcp", "-T", "fields", "-e", "ip.src", "-e", "tcp.srcport", "-e", "ip.dst",
                           "-e", "tcp.dstport", "-e", "frame.time_epoch"):
            a, ap, b, bp, t = line.split("\t")
            k = (a, ap) if (a, ap) in truth else (b, bp)
            lo, hi = d.get(k, (float(t), float(t)))
            d[k] = (min(lo, float(t)), max(hi, float(t)))
        return {k: hi - lo for k, (lo, hi) in d.items()}

    before, after = durations(CAPTURE), durations(pcap)
    longer = 0
    for k, label in truth.items():
        if k not in before:
            continue
        if label == "benign":
            assert abs(after[k] - before[k]) < 1e-6, k
        else:
            # Attacker gaps ×3, the server's kept: between ×1 and ×3.
            assert before[k] - 1e-6 <= after[k] <= 3 * before[k] + 1e-6, k
            longer += after[k] > before[k] * 1.2
    assert longer > 100


def test_bad_perturbation_is_a_usage_error(flowsentry_bin):
    r = subprocess.run([flowsentry_bin, "evaluate", "--captures", str(CAPTURE), "--labels", str(LABELS),
                        "--perturb", "shuffle:0.3"], capture_output=True, text=True)
    assert r.returncode == 64
    assert "shuffle" in r.stderr and "pad" in r.stderr


def test_pad_keeps_every_protocol_message_tshark_parses(perturbed):
    """Padding goes where each protocol carries it (ProtocolPadding.swift): tshark still
    reads every HTTP request (now with an X-Padding header), FTP command and SSH
    key exchange of the attacks, and finds no malformed packet the original lacked."""
    out, _ = perturbed
    pcap, _ = kept(out, "pad-1.0")
    http = ["-Y", "http.request", "-T", "fields", "-e", "ip.src", "-e", "tcp.srcport", "-e", "http.request.uri"]
    assert sorted(tshark(pcap, *http)) == sorted(tshark(CAPTURE, *http))
    assert len(tshark(pcap, "-Y", 'http.request.line contains "X-Padding: "')) > 100
    ftp = ["-Y", "ftp.request", "-T", "fields", "-e", "tcp.srcport", "-e", "ftp.request.command"]
    assert sorted(tshark(pcap, *ftp)) == sorted(tshark(CAPTURE, *ftp))
    padded_pass = [l for l in tshark(pcap, "-Y", 'ftp.request.command == "PASS"', "-T", "fields", "-e", "ftp.request.arg")]
    original_pass = [l for l in tshark(CAPTURE, "-Y", 'ftp.request.command == "PASS"', "-T", "fields", "-e", "ftp.request.arg")]
    assert sum(map(len, padded_pass)) > sum(map(len, original_pass))
    newkeys = ["-Y", "ssh.message_code == 21", "-T", "fields", "-e", "tcp.srcport"]
    assert sorted(tshark(pcap, *newkeys)) == sorted(tshark(CAPTURE, *newkeys)) != []
    broken = lambda p: len(tshark(p, "-Y", "_ws.malformed || _ws.expert.severity == error"))
    assert broken(pcap) <= broken(CAPTURE)


def test_evaluate_counts_behaviour_verdicts_as_the_sensor_alerts(flowsentry_bin):
    """evaluate counts a flow the models pass as flagged when its behaviour verdict
    alerts (the policy beside the model), as replay's records show it; --models-only
    leaves those out."""
    import evaluate_lab as el
    capture, labels = LAB_DIR / "behaviour-slow.pcap", LAB_DIR / "behaviour-slow.labels.csv"

    def flagged(*extra):
        r = subprocess.run([flowsentry_bin, "evaluate", "--captures", str(capture), "--labels", str(labels), "--json", *extra],
                           capture_output=True, text=True, check=True)
        e = json.loads(r.stdout)
        benign = e["classes"].index("benign")
        return {c: sum(row) - row[benign] for c, row in zip(e["classes"], e["confusion"]) if sum(row) > 0}

    rows = el.load_labels(labels)
    replay = {}
    for f in el.score(flowsentry_bin, None, str(capture)):
        m = el.match(rows, f) if f.get("event_type") == "flow" else None
        if m is None:
            continue
        ml = f.get("ml", {})
        hit = ml.get("source") == "behaviour" or (ml.get("class") != "benign" and el.over_threshold(ml))
        replay[m[0]] = replay.get(m[0], 0) + hit
    with_behaviour, models_only = flagged(), flagged("--models-only")
    assert with_behaviour == replay
    assert sum(models_only.values()) < sum(with_behaviour.values())
