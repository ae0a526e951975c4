"""`flowsentry export-onnx` against an independent executor.

onnxruntime runs the exported graphs on the inputs the sensor built for each
flow of held-out captures (`--reference` writes them with the sensor's float
CNN and LSTM probabilities, from the sensor's own scorer) and must give those
probabilities to 1e-5; the same graphs fed from the `features` table give the
same. onnx's checker validates every graph. A bundle that cannot be read or
exported is refused with exit status 2, naming the file and the problem, and
the output directory is left as it was.
"""

from __future__ import annotations

import json
import re
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

REPO = Path(__file__).resolve().parents[2]
MODEL = REPO / "rules" / "flowsentry.fsb"
CAPTURES = REPO / "captures"
# The held-out captures of the model card: benign, scans, floods, guessing, tunnels, web attacks.
TEST_CAPTURES = [CAPTURES / "demo.pcap", CAPTURES / "mixed-3.pcap"]
TOLERANCE = 1e-5
CANNOT_START = 2


def run(binary, *args, timeout=300):
    return subprocess.run([binary, *map(str, args)], capture_output=True, text=True, timeout=timeout)


def export(binary, bundle, out, *reference):
    args = ["export-onnx", "--model", bundle, "--out", out]
    if reference:
        args += ["--reference", *reference]
    p = run(binary, *args)
    assert p.returncode == 0, p.stderr
    return json.loads((Path(out) / "model.json").read_text())


def reference_rows(out):
    return [json.loads(line) for line in (Path(out) / "reference.jsonl").read_text().splitlines()]


def graph_inputs(rows, seq_len):
    return {
        "stats": np.array([r["stats"] for r in rows], dtype=np.float32),
        "sequence": np.array([r["sequence"] for r in rows], dtype=np.float32).reshape(len(rows), seq_len, 5),
        "length": np.array([r["length"] for r in rows], dtype=np.int64),
    }


def turns(packets):
    """The sidecar's `turns` view of a flow's packets [(dir, ip_len, payload_len, iat_s, flags)],
    written from its description in model.json (not from the sensor's code)."""
    out, gap, open_turn = [], 0.0, False
    for d, ip, pl, iat, flags in packets:
        flags = int(flags)
        gap += iat
        control = flags & 0x07 != 0  # FIN, SYN or RST
        if pl == 0 and not control and flags & 0x10:
            continue  # a pure ACK
        joins = pl > 0 and not control
        if open_turn and joins and out[-1][0] == d:
            t = out[-1]
            out[-1] = (t[0], t[1] + pl, t[2] + pl, t[3], t[4] | flags)
            gap = 0.0
            continue
        out.append((d, ip, pl, gap, flags))
        gap, open_turn = 0.0, joins
    return out


def run_graph(path, inputs):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["probabilities"], inputs)[0]


def check_against_sensor(out, sidecar):
    """Every exported graph passes onnx's checker and reproduces the sensor's
    float probabilities on every reference flow; returns the rows."""
    rows = reference_rows(out)
    inputs = graph_inputs(rows, sidecar["sequence"]["length"])
    for net in ("cnn", "lstm"):
        path = Path(out) / sidecar["models"][net]["file"]
        model = onnx.load(str(path))
        onnx.checker.check_model(model, full_check=True)
        assert [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")] == [sidecar["opset"]]
        got = run_graph(path, inputs)
        expected = np.array([r[net] for r in rows], dtype=np.float32)
        assert got.shape == expected.shape == (len(rows), len(sidecar["classes"]))
        worst = np.abs(got - expected).max()
        assert worst <= TOLERANCE, f"{net}: largest difference {worst} (row {np.abs(got - expected).max(axis=1).argmax()})"
    return rows


# ------------------------------------------------------------ the shipped bundle

@pytest.fixture(scope="module")
def shipped(flowsentry_bin, tmp_path_factory):
    out = tmp_path_factory.mktemp("onnx") / "shipped"
    sidecar = export(flowsentry_bin, MODEL, out, *TEST_CAPTURES)
    return out, sidecar


def test_shipped_bundle_graphs_give_the_sensors_float_probabilities(shipped):
    out, sidecar = shipped
    rows = check_against_sensor(out, sidecar)
    # The flows exercise what the graphs must get right: short and full
    # sequences, and verdicts of several classes.
    lengths = {r["length"] for r in rows}
    assert len(rows) > 1000 and 1 in lengths and sidecar["sequence"]["length"] in lengths
    assert any(1 < n < 32 for n in lengths)
    predicted = {int(np.argmax(r["cnn"])) for r in rows}
    assert len(predicted) >= 4, predicted


def test_sidecar_describes_the_bundle(shipped, flowsentry_bin):
    _, sidecar = shipped
    sections = read_bundle(MODEL)
    assert sidecar["features"] == json.loads(sections["schema"])
    assert sidecar["classes"] == sections["classes"].decode().split("\n")
    assert sidecar["model_version"] == json.loads(sections["meta"])["modelVersion"]
    threshold = struct.unpack_from("<7d", sections["ensemble"], 8)[4]
    assert sidecar["threshold"] == pytest.approx(threshold, rel=1e-7)
    assert sidecar["sequence"]["length"] == 32
    assert [c["name"] for c in sidecar["sequence"]["channels"]] == [
        "direction", "ip_length", "payload_length", "inter_arrival_s", "tcp_flags"]
    assert [i["name"] for i in sidecar["inputs"]] == ["stats", "sequence", "length"]
    assert sidecar["inputs"][0]["shape"] == ["N", len(sidecar["features"])]
    # Every input feature is a column of the sensor's feature table.
    header = run(flowsentry_bin, "features", TEST_CAPTURES[0], "--format", "csv", "--no-sequence").stdout.splitlines()[0]
    assert set(sidecar["features"]) <= set(header.split(","))


def test_feature_table_feeds_the_graphs(flowsentry_bin, tmp_path):
    """The inputs in the reference file are the `features` table's values
    (to the table's 9 decimals), and the graphs fed straight from that table
    give the same probabilities."""
    feature_table_feeds_the_graphs(flowsentry_bin, MODEL, tmp_path)


def feature_table_feeds_the_graphs(flowsentry_bin, bundle, tmp_path):
    out = tmp_path / "onnx"
    sidecar = export(flowsentry_bin, bundle, out, TEST_CAPTURES[0])
    refs = reference_rows(out)
    table = tmp_path / "demo.jsonl"
    p = run(flowsentry_bin, "features", TEST_CAPTURES[0], "--format", "jsonl", "-o", table)
    assert p.returncode == 0, p.stderr
    flows = [json.loads(line) for line in table.read_text().splitlines()]
    # One replay of one capture: the same flows in the same order.
    assert [f["flow_id"] for f in flows] == [r["flow_id"] for r in refs] and flows
    seq_len = sidecar["sequence"]["length"]
    fields = ["dir", "ip_len", "payload_len", "iat_s", "tcp_flags"]
    stats, seqs, lengths = [], [], []
    for f, ref in zip(flows, refs):
        assert ref["community_id"] == f["community_id"]
        # The table prints 9 decimals; the sensor rounds each feature to float32.
        exact = np.array([f[name] for name in sidecar["features"]], dtype=np.float64)
        np.testing.assert_allclose(np.array(ref["stats"], dtype=np.float32).astype(np.float64), exact,
                                   rtol=2.0 ** -24, atol=5.0001e-10)
        row = exact.astype(np.float32)
        seq = np.array([[f[f"seq{t + 1:02d}_{x}"] for x in fields] for t in range(seq_len)], dtype=np.float32)
        # The table has no length column: a packet's direction is never 0.
        length = int(np.count_nonzero(seq[:, 0]))
        if sidecar["sequence"].get("view", "packets") == "turns":
            # The sensor's float32 sums and gaps: summed here in float64, equal to float32 rounding.
            steps = turns([tuple(float(v) for v in row) for row in seq[:length]])
            length = len(steps)
            seq = np.zeros_like(seq)
            if steps:
                seq[:length] = np.array(steps, dtype=np.float32)
            np.testing.assert_allclose(seq.reshape(-1), np.array(ref["sequence"], dtype=np.float32), rtol=1e-6, atol=1e-9)
        else:
            np.testing.assert_array_equal(seq.reshape(-1), np.array(ref["sequence"], dtype=np.float32))
        assert length == ref["length"]
        stats.append(row); seqs.append(seq); lengths.append(length)
    inputs = {"stats": np.stack(stats), "sequence": np.stack(seqs), "length": np.array(lengths, dtype=np.int64)}
    for net in ("cnn", "lstm"):
        got = run_graph(out / f"{net}.onnx", inputs)
        expected = np.array([r[net] for r in refs], dtype=np.float32)
        assert np.abs(got - expected).max() <= TOLERANCE, net
    return sidecar


def test_docs_onnxruntime_example_runs(shipped):
    """The five-line example in docs/onnx.md works as written."""
    out, _ = shipped
    text = (REPO / "docs" / "onnx.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    assert len([ln for ln in code.splitlines() if ln.strip()]) <= 6
    scope = {"__name__": "example"}
    exec(compile(code.replace('"out/', f'"{out}/'), "docs/onnx.md", "exec"), scope)
    probs = scope["probs"]
    assert probs.shape == (1, 7) and abs(float(probs.sum()) - 1) < 1e-5


# ------------------------------------------------------------ a bundle from train

def test_a_freshly_trained_bundle_exports_and_matches(flowsentry_bin, tmp_path):
    bundle = tmp_path / "small.fsb"
    names = ["attack-scan", "benign-1"]
    p = run(flowsentry_bin, "train", "--captures", *[CAPTURES / f"{n}.pcap" for n in names],
            "--labels", *[CAPTURES / f"{n}.labels.csv" for n in names],
            "--epochs", "2", "--seed", "5", "--out", bundle, timeout=600)
    assert p.returncode == 0, p.stderr
    out = tmp_path / "onnx"
    sidecar = export(flowsentry_bin, bundle, out, CAPTURES / "attack-scan.pcap", CAPTURES / "demo.pcap")
    assert sidecar["features"] == json.loads(read_bundle(bundle)["schema"])
    check_against_sensor(out, sidecar)


def test_a_turns_bundle_exports_its_view_and_the_table_feeds_it(flowsentry_bin, tmp_path):
    """A bundle whose sequence models see turns (train --sequence-view turns):
    the sidecar says so, and the `features` table's packets, turned into steps
    by this file's own reading of the sidecar's description, are the sensor's
    inputs and give its probabilities."""
    bundle = tmp_path / "turns.fsb"
    names = ["attack-bruteforce-web", "benign-1"]
    p = run(flowsentry_bin, "train", "--captures", *[CAPTURES / f"{n}.pcap" for n in names],
            "--labels", *[CAPTURES / f"{n}.labels.csv" for n in names],
            "--epochs", "2", "--seed", "5", "--sequence-view", "turns", "--out", bundle, timeout=600)
    assert p.returncode == 0, p.stderr
    sidecar = feature_table_feeds_the_graphs(flowsentry_bin, bundle, tmp_path)
    assert sidecar["sequence"]["view"] == "turns"
    # Some flow lost pure ACKs or had segments joined: the view changed something.
    refs = reference_rows(tmp_path / "onnx")
    table = [json.loads(line) for line in (tmp_path / "demo.jsonl").read_text().splitlines()]
    packets = [sum(1 for t in range(32) if f[f"seq{t + 1:02d}_dir"] != 0) for f in table]
    assert any(r["length"] < n for r, n in zip(refs, packets))


# ------------------------------------------------------------ bundles it refuses

def read_bundle(path) -> dict[str, bytes]:
    """Sections of a bundle (layout: Sources/Detection/Bundle.swift)."""
    b = Path(path).read_bytes()
    assert b[:8] == b"FSBUNDLE"
    count, = struct.unpack_from("<I", b, 28)
    o, sections = 32, {}
    for _ in range(count):
        n, = struct.unpack_from("<H", b, o)
        name = b[o + 2:o + 2 + n].decode()
        o += 2 + n
        size, = struct.unpack_from("<Q", b, o)
        sections[name] = b[o + 8:o + 8 + size]
        o += 8 + size
    return sections


def write_bundle(path, sections: dict[str, bytes]):
    body = struct.pack("<I", len(sections)) + b"".join(
        struct.pack("<H", len(k.encode())) + k.encode() + struct.pack("<Q", len(v)) + v
        for k, v in sorted(sections.items()))
    head = b"FSBUNDLE" + struct.pack("<IIQ", 1, 0, len(body))
    Path(path).write_bytes(head + struct.pack("<I", zlib.crc32(body, zlib.crc32(head))) + body)


def test_bundle_rewriter_round_trips(tmp_path):
    write_bundle(tmp_path / "copy.fsb", read_bundle(MODEL))
    assert (tmp_path / "copy.fsb").read_bytes() == MODEL.read_bytes()


def truncated(path):
    path.write_bytes(MODEL.read_bytes()[:40000])


def without(section):
    def make(path):
        s = read_bundle(MODEL)
        del s[section]
        write_bundle(path, s)
    return make


def lstm_for_16_packets(path):
    s = read_bundle(MODEL)
    net = bytearray(s["lstm.float"])
    assert net[:4] == b"FSLN" and struct.unpack_from("<I", net, 6)[0] == 32
    struct.pack_into("<I", net, 6, 16)  # shape.seqLen, after magic and version
    s["lstm.float"] = bytes(net)
    write_bundle(path, s)


def not_a_bundle(path):
    path.write_text("benign,scan\n")


BAD_BUNDLES = [
    pytest.param(truncated, r"truncated bundle at offset \d+", id="truncated"),
    pytest.param(not_a_bundle, "not a FlowSentry model bundle", id="not-a-bundle"),
    pytest.param(without("cnn.float"), r'cannot export to ONNX: no float CNN \(section "cnn.float"\)', id="int8-only-cnn"),
    pytest.param(without("lstm.float"), r'cannot export to ONNX: no float LSTM \(section "lstm.float"\)', id="int8-only-lstm"),
    pytest.param(without("cnn.int8"), 'bundle has no "cnn.int8" section', id="no-cnn-section"),
    pytest.param(lstm_for_16_packets, "cannot export to ONNX: the float LSTM takes 16-packet sequences", id="unsupported-lstm"),
]


@pytest.mark.parametrize("make, reason", BAD_BUNDLES)
@pytest.mark.parametrize("out_exists", [False, True], ids=["new-dir", "existing-dir"])
def test_bad_bundle_is_refused_and_nothing_is_written(flowsentry_bin, tmp_path, make, reason, out_exists):
    bundle = tmp_path / "bad.fsb"
    make(bundle)
    out = tmp_path / "out"
    if out_exists:
        out.mkdir()
        (out / "keep.txt").write_text("mine")
    p = run(flowsentry_bin, "export-onnx", "--model", bundle, "--out", out, "--reference", CAPTURES / "demo.pcap")
    assert p.returncode == CANNOT_START, (p.returncode, p.stderr)
    errors = [ln for ln in p.stderr.splitlines() if ln.startswith("flowsentry: error: ")]
    assert len(errors) == 1, p.stderr
    assert str(bundle) in errors[0] and re.search(reason, errors[0]), errors[0]
    if out_exists:
        assert sorted(x.name for x in out.iterdir()) == ["keep.txt"]
    else:
        assert not out.exists()


def test_missing_bundle_is_refused(flowsentry_bin, tmp_path):
    p = run(flowsentry_bin, "export-onnx", "--model", tmp_path / "none.fsb", "--out", tmp_path / "out")
    assert p.returncode == CANNOT_START
    assert str(tmp_path / "none.fsb") in p.stderr
    assert not (tmp_path / "out").exists()


def test_missing_reference_capture_still_exports_and_exits_1(flowsentry_bin, tmp_path):
    out = tmp_path / "out"
    p = run(flowsentry_bin, "export-onnx", "--model", MODEL, "--out", out, "--reference", tmp_path / "gone.pcap")
    assert p.returncode == 1, p.stderr
    assert str(tmp_path / "gone.pcap") in p.stderr
    assert sorted(x.name for x in out.iterdir()) == ["cnn.onnx", "lstm.onnx", "model.json", "reference.jsonl"]
    assert (out / "reference.jsonl").read_text() == ""
