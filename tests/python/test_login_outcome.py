"""The `login` object of flow records against independent truth.

- FTP, POP3, IMAP and HTTP: tshark's dissectors are the oracle. Per TCP
  conversation, tshark's requests and answers (ftp.request.command /
  ftp.response.code, pop.request.command / pop.response.indicator,
  imap.request_tag + imap.request.command / imap.response_tag +
  imap.response.status, http.response.code) give the refused attempts and
  whether a login was accepted, by the RFCs' rules.
- SSH is encrypted, so tshark cannot say; the lab's scenarios can: every
  hydra session is a failed login, every interactive ssh, scp and rsync
  session of the broad benign lab logged in; Zeek's own trace of SSH
  password guessing (../shared/captures-public) is all failed logins, and
  its single interactive session is not.
"""

from __future__ import annotations

import collections
import json
import subprocess
from pathlib import Path

import pytest

from conftest import LAB_DIR, PUBLIC_DIR

import evaluate_lab

PLAIN = ["behaviour-slow.pcap", "behaviour-lookalike.pcap", "attack-bruteforce-web.pcap", "mixed-2.pcap", "mixed-3.pcap"]


def replay(binary: str, capture: Path, tmp: Path) -> list[dict]:
    out = tmp / (capture.stem + ".flows.json")
    subprocess.run([binary, "replay", str(capture), "--flows", str(out), "--no-score", "--no-sequence"],
                   check=True, capture_output=True)
    return [json.loads(line) for line in out.open()]


def conversation(a_ip, a_port, b_ip, b_port) -> tuple:
    return tuple(sorted([(a_ip, int(a_port)), (b_ip, int(b_port))]))


def tshark_logins(capture: Path) -> dict[tuple, tuple[str, int, bool | None]]:
    """Per conversation: (protocol, refused attempts, accepted) as tshark's dissection shows them."""
    fields = ["ip.src", "tcp.srcport", "ip.dst", "tcp.dstport", "ftp.request.command", "ftp.response.code",
              "pop.request.command", "pop.response.indicator", "imap.request_tag", "imap.request.command",
              "imap.response_tag", "imap.response.status", "http.response.code"]
    cmd = ["tshark", "-r", str(capture), "-o", "tcp.desegment_tcp_streams:TRUE", "-Y", "tcp && (ftp || pop || imap || http.response)",
           "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|"] + sum((["-e", f] for f in fields), [])
    rows = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()
    state = collections.defaultdict(lambda: {"proto": None, "pending": [], "tags": set(), "fail": 0, "ok": None})
    for line in rows:
        v = (line.split("\t") + [""] * len(fields))[:len(fields)]
        s = state[conversation(v[0], v[1], v[2], v[3])]
        many = lambda x: [p for p in x.split("|") if p]
        if v[4] or v[5]:
            s["proto"] = "ftp"
            s["pending"] += [c.upper() for c in many(v[4])]
            for code in many(v[5]):
                code = int(code)
                if code == 220 and not s.get("greeted"):
                    s["greeted"] = True
                    continue
                cmd_ = s["pending"].pop(0) if s["pending"] else ""
                if cmd_ in ("USER", "PASS") and 500 <= code < 600:
                    s["fail"] += 1; s["ok"] = False
                if cmd_ in ("USER", "PASS") and code == 230:
                    s["ok"] = True
        if v[6] or v[7]:
            s["proto"] = "pop3"
            for c in many(v[6]):
                # An AUTH exchange's client lines (tshark shows them as
                # commands) and its "+ " challenges (no indicator) belong to
                # the AUTH; its closing +OK or -ERR answers it.
                if not s.get("in_auth"):
                    s["pending"].append(c.upper())
                    s["in_auth"] = c.upper() == "AUTH"
            for ind in many(v[7]):
                if not s.get("greeted"):
                    s["greeted"] = True
                    continue
                cmd_ = s["pending"].pop(0) if s["pending"] else ""
                if cmd_ == "AUTH":
                    s["in_auth"] = False
                if cmd_ in ("PASS", "APOP", "AUTH"):
                    if ind == "+OK": s["ok"] = True
                    elif ind == "-ERR": s["fail"] += 1; s["ok"] = False
        if v[8] or v[11]:
            s["proto"] = "imap"
            for tag, c in zip(many(v[8]), many(v[9])):
                if c.upper() in ("LOGIN", "AUTHENTICATE"):
                    s["tags"].add(tag)
            for tag, st in zip(many(v[10]), many(v[11])):
                if tag in s["tags"]:
                    if st.upper() == "OK": s["ok"] = True
                    elif st.upper() == "NO": s["fail"] += 1; s["ok"] = False
        for code in many(v[12]):
            if int(code) in (401, 407):
                s["proto"] = "http"; s["fail"] += 1
    out = {}
    for k, s in state.items():
        if s["proto"] == "http" and s["fail"]:
            out[k] = ("http", s["fail"], None)
        elif s["proto"] in ("ftp", "pop3", "imap") and s["ok"] is not None:
            out[k] = (s["proto"], s["fail"], s["ok"])
    return out


@pytest.mark.parametrize("name", PLAIN)
def test_plain_text_logins_agree_with_tshark(flowsentry_bin, tmp_path, name):
    capture = LAB_DIR / name
    if not capture.exists():
        pytest.skip(f"{capture} missing")
    oracle = tshark_logins(capture)
    ours = {}
    for f in replay(flowsentry_bin, capture, tmp_path):
        if f.get("proto") != "TCP":
            continue
        l = f.get("login")
        key = conversation(f["src_ip"], f["src_port"], f["dest_ip"], f["dest_port"])
        if l and l["protocol"] != "ssh":
            ours[key] = (l["protocol"], l["failures"], l.get("success"))
    assert oracle, f"{name}: tshark shows no logins: the oracle found nothing to check"
    assert ours == oracle


def ssh_records(binary, capture, tmp):
    return [f for f in replay(binary, capture, tmp) if f.get("app_proto") == "ssh"]


def test_ssh_logins_follow_the_labs_scenarios(flowsentry_bin, tmp_path):
    expected = {"hydra-ssh": False, "slow-ssh-hydra": False, "ssh-interactive": True, "scp": True, "rsync-ssh": True}
    seen = collections.Counter()
    for name in ["demo.pcap", "behaviour-slow.pcap", "mixed-1.pcap", "benign-wide-1.pcap", "benign-wide-2.pcap",
                 "benign-wide-3.pcap", "benign-wide-4.pcap"]:
        capture = LAB_DIR / name
        if not capture.exists():
            continue
        labels = evaluate_lab.load_labels(str(capture).replace(".pcap", ".labels.csv"))
        for f in ssh_records(flowsentry_bin, capture, tmp_path):
            m = evaluate_lab.match(labels, f)
            if not m or m[1] not in expected:
                continue
            got = (f.get("login") or {}).get("success")
            assert got is expected[m[1]], f"{name} {m[1]} {f['src_ip']}:{f['src_port']}: login {f.get('login')}"
            seen[m[1]] += 1
    assert seen["hydra-ssh"] >= 5 and seen["slow-ssh-hydra"] >= 5, seen
    assert seen["ssh-interactive"] + seen["scp"] + seen["rsync-ssh"] >= 3, seen


def test_zeeks_ssh_traces(flowsentry_bin, tmp_path):
    guessing = PUBLIC_DIR / "atk_bruteforce_ssh_guessing.pcap"
    single = PUBLIC_DIR / "ben_ssh_single_session.pcap"
    if not guessing.exists() or not single.exists():
        pytest.skip("../shared/captures-public absent")
    g = ssh_records(flowsentry_bin, guessing, tmp_path)
    assert len(g) == 11 and all(f["login"]["success"] is False for f in g)
    s = ssh_records(flowsentry_bin, single, tmp_path)
    assert len(s) == 1 and s[0].get("login", {}).get("success") is not False
