"""`flowsentry model-info` and what `train` writes for it (issue 18, point 5):
the model card beside the bundle and the bundle's provenance section.

The oracle for a bundle's contents is this file's own reader of the bundle
format (docs: Sources/Detection/Bundle.swift's layout comment, checked
against zlib's CRC-32), and hashlib for every SHA-256.
"""
from __future__ import annotations

import hashlib
import json
import re
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "rules" / "flowsentry.fsb"
CAPTURES = ROOT / "captures"
TINY = ["benign-1", "attack-scan"]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_bundle(path: Path) -> dict[str, bytes]:
    """Sections of a FlowSentry bundle, its checksum verified."""
    data = path.read_bytes()
    assert data[:8] == b"FSBUNDLE"
    version, _, body_len, crc = struct.unpack_from("<IIQI", data, 8)
    assert version == 1 and body_len == len(data) - 28
    assert zlib.crc32(data[28:], zlib.crc32(data[:24])) == crc
    off = 28
    (n,) = struct.unpack_from("<I", data, off); off += 4
    sections = {}
    for _ in range(n):
        (ln,) = struct.unpack_from("<H", data, off); off += 2
        name = data[off:off + ln].decode(); off += ln
        (pl,) = struct.unpack_from("<Q", data, off); off += 8
        sections[name] = data[off:off + pl]; off += pl
    assert off == len(data)
    return sections


def run(*args, rc=0):
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=900)
    assert p.returncode == rc, f"exit {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}"
    return p


@pytest.fixture(scope="module")
def tiny(flowsentry_bin, tmp_path_factory):
    """A bundle trained in seconds on two small lab captures."""
    d = tmp_path_factory.mktemp("tiny")
    out = d / "tiny.fsb"
    caps = [CAPTURES / f"{n}.pcap" for n in TINY]
    labels = [CAPTURES / f"{n}.labels.csv" for n in TINY]
    p = run(flowsentry_bin, "train", "--captures", *caps, "--labels", *labels, "--out", out,
            "--epochs", "2", "--patience", "1", "--max-per-class", "400", "--model-version", "tiny-1")
    return out, caps, labels, p.stdout


def test_train_writes_the_card_and_provenance(flowsentry_bin, tiny):
    out, caps, labels, stdout = tiny
    card = out.with_name("tiny.card.md")
    assert card.exists() and f"wrote {card}" in stdout
    sections = read_bundle(out)
    prov = json.loads(sections["provenance"])
    t = prov["training"]
    assert [c["path"] for c in t["captures"]] == [str(c) for c in caps]
    assert [c["sha256"] for c in t["captures"]] == [sha256(c) for c in caps]
    assert [c["bytes"] for c in t["captures"]] == [c.stat().st_size for c in caps]
    assert [c["sha256"] for c in t["labels"]] == [sha256(c) for c in labels]
    assert t["card"]["sha256"] == sha256(card)
    assert t["modelVersion"] == "tiny-1"
    text = card.read_text()
    for c in caps:
        assert sha256(c) in text
    # The threshold the card states is the bundle's own (the "ensemble" section's fifth double).
    threshold = struct.unpack_from("<7d", sections["ensemble"], 8)[4]
    assert f"Alert threshold: {threshold:.6f}" in text
    # Split counts add up to each class's labelled flows over the captures.
    split = dict(re.findall(r"^\| (\w+) \| (\d+ \| \d+ \| \d+) \|$", text, re.M))
    per_capture = re.findall(r"^\| \S+\.pcap \| `[0-9a-f]{64}` \| \d+ \| (.*) \|$", text, re.M)
    labelled: dict[str, int] = {}
    for row in per_capture:
        for cls, n in re.findall(r"(\w+) (\d+)", row):
            labelled[cls] = labelled.get(cls, 0) + int(n)
    assert labelled and {k: sum(map(int, v.split(" | "))) for k, v in split.items() if k in labelled} == labelled
    # Canaries: scan flows the tiny bundle catches, counted in the card and the provenance.
    assert "canaries" in sections
    assert prov["canaries"]["writtenBy"] == "train"


def test_model_info_of_a_trained_bundle(flowsentry_bin, tiny):
    out, caps, _, _ = tiny
    info = json.loads(run(flowsentry_bin, "model-info", out, "--json").stdout)
    sections = read_bundle(out)
    meta = json.loads(sections["meta"])
    assert info["model_version"] == meta["modelVersion"] == "tiny-1"
    assert info["created_at"] == meta["createdAt"]
    assert info["classes"] == sections["classes"].decode().split("\n")
    assert info["sections"] == {k: len(v) for k, v in sections.items()}
    assert info["sha256"] == sha256(out)
    assert info["provenance"] == json.loads(sections["provenance"])
    assert info["card_on_disk"].startswith("matches")
    text = run(flowsentry_bin, "model-info", out).stdout
    assert "model version: tiny-1" in text and "provenance:" in text and "baselines: none" in text
    for c in caps:
        assert sha256(c) in text
    # An edited card no longer matches the hash the bundle recorded.
    card = out.with_name("tiny.card.md")
    saved = card.read_bytes()
    try:
        card.write_bytes(saved + b"\nedited\n")
        again = json.loads(run(flowsentry_bin, "model-info", out, "--json").stdout)
        assert again["card_on_disk"].startswith("differs")
    finally:
        card.write_bytes(saved)


def test_model_info_of_the_shipped_bundle(flowsentry_bin):
    sections = read_bundle(MODEL)
    meta = json.loads(sections["meta"])
    info = json.loads(run(flowsentry_bin, "model-info", MODEL, "--json").stdout)
    assert info["model_version"] == meta["modelVersion"]
    assert info["classes"] == sections["classes"].decode().split("\n")
    assert set(info["sections"]) == set(sections)
    text = run(flowsentry_bin, "model-info", MODEL).stdout
    assert f"model version: {meta['modelVersion']}" in text
    if "provenance" not in sections:
        # Made before provenance was recorded: says so, shows what the meta has.
        assert info["provenance"] is None
        assert "provenance: absent" in text
        for c in meta["trainingCaptures"]:
            assert c in text


def test_model_info_refuses_what_is_not_a_bundle(flowsentry_bin, tmp_path):
    bad = tmp_path / "not-a-bundle.fsb"
    bad.write_bytes(b"hello, not a bundle\n")
    p = run(flowsentry_bin, "model-info", bad, rc=2)
    assert str(bad) in p.stderr
    p = run(flowsentry_bin, "model-info", tmp_path / "missing.fsb", rc=2)
    assert "missing.fsb" in p.stderr
