"""The application-layer objects of flow records (`dns`, `tls`, `http`, `ssh`,
Suricata EVE shapes) against tshark 4.0 on every lab capture (captures/) and
every public one (../shared/captures-public, skipped when absent).

Per flow (matched by 5-tuple and time, the sensor's src being the client;
tests/python/applayer_oracle.py says how) and per field:

* every protocol — `app_proto` where tshark dissects DNS, TLS, HTTP or SSH;
* DNS — of the first response (else the first query): `dns.qry.name` and
  `dns.qry.type` of the first question, `dns.id`, `dns.flags` and its RCODE,
  the type (request/response), and the answer section's A and AAAA addresses
  as sets (`dns.a`, `dns.aaaa`);
* TLS — the first ClientHello's SNI, JA3 (`tls.handshake.ja3`, `ja3_full`)
  and ALPN list (a QUIC flow's from the record's `quic` object: tshark opens
  the Initials too; the server's side of QUIC is exempt); the ServerHello's
  JA3S (`ja3s`, `ja3s_full`), ALPN and version; the first certificate's
  SHA-1 fingerprint, serial and validity;
* HTTP — the first request's Host (split into hostname and port as EVE
  does), URI, method, version and User-Agent; the first response's status
  and Content-Type (cut at ';' as EVE does);
* SSH — each side's banner (`ssh.protocol`) split into proto_version and
  software_version, `ssh.kex.hassh` and `ssh.kex.hasshserver` with their
  algorithm strings.

For every field, at least 99 % of the flows where tshark has a value must
carry the same value, and no record may carry a value tshark does not see;
the differences that are by design are set apart with their reason
(applayer_oracle.exemption) and printed, and every other one is listed in
the failure message. Each protocol must have been seen often enough that the
test cannot pass on nothing. A last test replays three lab captures with a
512-byte prefix, so that the prefix rule is exercised and shown to hide
nothing else.
"""

from __future__ import annotations

import os
import shutil
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import pytest

import applayer_oracle as ao
import compare_tshark
from conftest import LAB_DIR, PUBLIC_DIR, public_captures

BIN = compare_tshark.find_bin()
pytestmark = pytest.mark.skipif(BIN is None or shutil.which("tshark") is None, reason="needs flowsentry and tshark")

AGREEMENT = 0.99
# Least messages compared per capture group when the group is there (about
# half of what the captures of this commit give: docs/validation.md), so that
# the test cannot pass vacuously. The public captures carry no TLS.
MIN_COMPARED = {"lab": {"dns": 1500, "tls": 400, "http": 1000, "ssh": 50},
                "public": {"dns": 3, "tls": 0, "http": 10, "ssh": 10}}
PROTO_FIELDS = {"dns": ao.DNS_FIELDS, "tls": ao.TLS_FIELDS, "http": ao.HTTP_FIELDS, "ssh": ao.SSH_FIELDS}


def captures():
    lab = sorted(p for p in LAB_DIR.glob("*.pcap*") if p.suffix in (".pcap", ".pcapng"))
    return [("lab", p) for p in lab] + [("public", p) for p in public_captures()]


@pytest.fixture(scope="module")
def results():
    caps = captures()
    if not caps:
        pytest.skip(f"no captures in {LAB_DIR} or {PUBLIC_DIR}")
    prefix = ao.PREFIX if ao.sensor_supports(BIN, "--app-prefix") else None
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 2)) as ex:
        futs = [(group, ex.submit(ao.compare_capture, str(p), BIN, prefix)) for group, p in caps]
        out = [(group, f.result()) for group, f in futs]
    print()
    for group, r in out:
        print(f"{group}/{os.path.basename(r['capture'])}: {r['flows']} flows, app_proto {r['app_proto']}, "
              f"{r['orphans']} tshark frames outside any flow {r['orphan_examples']}, "
              f"ssh decode-as {r['ssh_ports']}, {r['seconds']:.1f} s")
    return out


def report(results, proto):
    """Per capture group and field: the counts, printed; returns the totals
    and per-group counts, the problems and the printed table."""
    fields = PROTO_FIELDS[proto]
    per_group: dict = defaultdict(lambda: defaultdict(ao.FieldStats))
    total: dict = defaultdict(ao.FieldStats)
    problems = []
    for group, r in results:
        for name in fields:
            if name in r["stats"]:
                per_group[group][name].add(r["stats"][name])
                total[name].add(r["stats"][name])
        problems += [p for p in r["problems"] if p["field"] in fields]
    lines = [f"{proto.upper()} vs tshark ({'field':>28}: tshark-valued agree differ missing invented exempt)"]
    for group in ("lab", "public"):
        for name in fields:
            s = per_group[group].get(name)
            if s is None:
                continue
            ex = "; ".join([f"{k}: {n}" for k, n in sorted(s.exempt.items())]
                           + [f"(compared: {k}: {n})" for k, n in sorted(s.notes.items())])
            lines.append(f"  {group:>6} {name:>28}: {s.tshark:6d} {s.agree:6d} {s.differ:6d} {s.missing:6d} "
                         f"{s.invented:6d}  {ex}")
    print("\n".join(lines))
    return total, per_group, problems, "\n".join(lines)


def describe(problems):
    return "\n".join(f"  {p['capture']} {p['flow']} [app_proto {p['app_proto']}] {p['field']} {p['kind']}: "
                     f"ours {p['ours']!r} tshark {p['tshark']!r} (frame {p['frame']})" for p in problems)


@pytest.mark.parametrize("proto", ["dns", "tls", "http", "ssh"])
def test_applayer_fields_match_tshark(results, proto):
    total, per_group, found, table = report(results, proto)
    exempt = [p for p in found if p["kind"].startswith("exempt")]
    problems = [p for p in found if not p["kind"].startswith("exempt")]
    if exempt:
        print(f"{len(exempt)} {proto} differences by design:\n{describe(exempt)}")
    for group in {g for g, _ in results}:
        cov = per_group[group][ao.COVERAGE_FIELD[proto]]
        compared = cov.tshark + sum(cov.exempt.values())
        assert compared >= MIN_COMPARED[group][proto], \
            f"only {compared} {proto} messages compared in the {group} captures\n{table}"
    failing = []
    for name, s in sorted(total.items()):
        if s.tshark and s.agree / s.tshark < AGREEMENT:
            failing.append(f"{name}: {s.agree}/{s.tshark} agree ({100 * s.agree / s.tshark:.2f} %)")
        if s.invented:
            failing.append(f"{name}: {s.invented} values tshark does not see")
    if problems:
        print(f"{len(problems)} {proto} disagreements:\n{describe(problems)}")
    # The list first and the verdict last, so that the end of the output says what failed.
    assert not failing, f"every disagreement:\n{describe(problems)}\n{table}\n" + "\n".join(failing)


SMALL_PREFIX = 512
SMALL_PREFIX_CAPTURES = ["benign-2.pcap", "mixed-1.pcap", "behaviour-slow.pcap"]


def test_small_prefix_differences_are_all_explained(results):
    """The prefix rule, exercised: with --app-prefix 512 most ClientHellos,
    KEXINITs and certificates no longer fit, and every value the records lose
    must be one the rule sets apart (a message ending past the prefix) — no
    difference that the default run does not have, and no wrong value from a
    cut message."""
    if not ao.sensor_supports(BIN, "--app-prefix"):
        pytest.skip("the binary has no --app-prefix")
    caps = [LAB_DIR / n for n in SMALL_PREFIX_CAPTURES if (LAB_DIR / n).exists()]
    if not caps:
        pytest.skip(f"no lab captures in {LAB_DIR}")
    known = {(p["capture"], p["flow"], p["field"], p["kind"]) for _, r in results for p in r["problems"]}
    new, exempt = [], defaultdict(int)
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 2)) as ex:
        for r in ex.map(lambda p: ao.compare_capture(str(p), BIN, SMALL_PREFIX), caps):
            for p in r["problems"]:
                if p["kind"].startswith("exempt"):
                    exempt[p["kind"]] += 1
                elif (p["capture"], p["flow"], p["field"], p["kind"]) not in known:
                    new.append(p)
    print(f"\n--app-prefix {SMALL_PREFIX}: {dict(exempt)}")
    past = sum(n for k, n in exempt.items() if "past the sensor's" in k)
    assert past >= 200, f"the prefix rule was hardly exercised: {dict(exempt)}"
    assert not new, f"differences with --app-prefix {SMALL_PREFIX} only:\n{describe(new)}"
