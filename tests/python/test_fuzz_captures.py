"""Mutated pcap/pcapng files through `flowsentry replay` (scripts/fuzz_captures.py):
no signal, no hang; exit 0, or exit 1 with one error line naming the file."""

from __future__ import annotations

import argparse
import shutil

import pytest

import fuzz_captures


def test_seeds_cover_both_readers():
    seeds = fuzz_captures.seed_inputs()
    names = [n for n, _ in seeds]
    assert sum(n.endswith(".pcapng") for n in names) >= 5
    assert sum(n.endswith(".pcap") for n in names) >= 10
    # The pcapng rewrite of a lab prefix holds the same packets as its pcap.
    by = dict(seeds)
    pre = by["demo-head.pcap"]
    ng = by["demo-head.pcapng"]
    recs, _ = fuzz_captures.pcap_records(pre)
    blocks = fuzz_captures.pcapng_blocks(ng)
    assert [b[1] for b in blocks[:2]] == [0x0A0D0D0A, 1]
    assert sum(1 for b in blocks if b[1] == 6) == len(recs) > 0


def test_seeds_reach_the_quic_parser():
    """The head of the HTTP/3 lab capture holds client QUIC Initials (long
    header, version 1, type Initial, to UDP 443), so the mutations reach the
    QUIC Initial parser (docs/flow-records.md, `quic`)."""
    by = dict(fuzz_captures.seed_inputs())
    pre = by.get("benign-wide-5-head.pcap")
    if pre is None:
        pytest.skip("no captures/benign-wide-5.pcap")
    initials = 0
    for off, cap in fuzz_captures.pcap_records(pre)[0]:
        pkt = pre[off + 16:off + 16 + cap]
        if len(pkt) < 42 or pkt[12:14] != b"\x08\x00" or pkt[23] != 17:
            continue
        udp = 14 + (pkt[14] & 0x0F) * 4
        payload = pkt[udp + 8:]
        if pkt[udp + 2:udp + 4] == b"\x01\xbb" and len(payload) >= 1200 and payload[0] & 0xF0 == 0xC0 \
                and payload[1:5] == b"\x00\x00\x00\x01":
            initials += 1
    assert initials >= 1


def test_judge_rejects_what_it_should():
    f = "/tmp/x/m1.pcap"
    summary = "flowsentry: read 3 packets from 1 file in 0.001 s (1 packets/s)\n"
    assert fuzz_captures.judge(f, 0, summary) is None
    assert fuzz_captures.judge(f, 1, f"flowsentry: error: {f}, byte offset 40: cut off: x\n" + summary) is None
    assert "signal" in fuzz_captures.judge(f, -4, "")
    assert "exit 2" in fuzz_captures.judge(f, 2, "")
    assert "name the file" in fuzz_captures.judge(f, 1, "flowsentry: error: something broke\n" + summary)
    assert "exactly one" in fuzz_captures.judge(f, 1, f"flowsentry: error: {f}: a\nflowsentry: error: {f}: b\n" + summary)
    assert "summary" in fuzz_captures.judge(f, 1, f"flowsentry: error: {f}: a\n")
    assert "error was printed" in fuzz_captures.judge(f, 0, f"flowsentry: error: {f}: a\n" + summary)


def test_python_mutator_is_seeded():
    import random
    data = dict(fuzz_captures.seed_inputs())["benign-1-head.pcapng"]
    a = [fuzz_captures.mutate_python(data, random.Random(9))[0] for _ in range(3)]
    b = [fuzz_captures.mutate_python(data, random.Random(9))[0] for _ in range(3)]
    assert a == b and a[0] != data


def _run(tmp_path, flowsentry_bin, **kw):
    args = argparse.Namespace(count=200, minutes=0, seed=20261122, mutator="python", score_every=20, timeout=20,
                              bin=flowsentry_bin, findings=str(tmp_path / "findings"), stop_on_finding=False,
                              verbose=False)
    for k, v in kw.items():
        setattr(args, k, v)
    return fuzz_captures.run(args)


def test_200_mutated_captures_replay_or_fail_cleanly(tmp_path, flowsentry_bin):
    o = _run(tmp_path, flowsentry_bin)
    assert not o.findings, "\n\n".join(o.findings[:5])
    assert o.runs == 200 and o.ok + o.clean_errors == 200
    # Both outcomes occur: the mutations reach packet data, and they break files.
    assert o.ok >= 20 and o.clean_errors >= 20
    assert o.scored == 10


@pytest.mark.skipif(shutil.which("zzuf") is None, reason="zzuf not installed (apt-get install zzuf)")
def test_zzuf_mutated_captures(tmp_path, flowsentry_bin):
    o = _run(tmp_path, flowsentry_bin, count=60, mutator="zzuf", seed=7)
    assert not o.findings, "\n\n".join(o.findings[:5])
    assert o.runs == 60
