"""Where `replay` reads packets from (issue 19, point 5), through the built
binary: a pipe, standard input, `/dev/stdin` and a process substitution read
once from the front with the format told by the first bytes; a directory of
captures in the order of their first packets, with `--recursive`; `-r` as
tcpdump's read; `run -i` as tcpdump's interface.

The oracles are independent of FlowSentry: Wireshark's editcap converts a
capture to pcapng and splits one into pieces, and the records of a split
capture read as a directory must equal the records of the whole capture
(flows continue across files), whatever the pieces are called or when they
were written."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CRAFTED = REPO / "Tests" / "SensorTests" / "Captures"
SMALL = CRAFTED / "ethernet-mix.pcap"
# Larger than a pipe's 64 KiB buffer, so the reader really waits on the writer.
LARGE = REPO / "captures" / "attack-bruteforce-web.pcap"
FAILED, USAGE = 1, 64


@pytest.fixture(scope="module")
def binary() -> str:
    b = os.environ.get("FLOWSENTRY_BIN") or str(REPO / ".build" / "release" / "flowsentry")
    if not Path(b).is_file():
        pytest.skip(f"no flowsentry binary at {b}")
    return b


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} not installed")
    return path


def replay_shell(binary: str, inputs: str, out: Path, stdin_from: Path | None = None,
                 extra: str = "") -> subprocess.CompletedProcess:
    """Runs `flowsentry replay INPUTS` through bash (pipes, <(...)), flows to `out`."""
    cmd = f"'{binary}' replay {inputs} --no-score --flows '{out}' {extra}"
    if stdin_from is not None:
        cmd = f"cat '{stdin_from}' | {cmd}"
    return subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=300)


def records(path: Path) -> list[dict]:
    """The records of one run (each run writes a fresh file: EVE files are appended to)."""
    return [json.loads(line) for line in path.read_text().splitlines()]


def without_filename(recs: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "pcap_filename"} for r in recs]


def pcapng_copy(src: Path, dst: Path) -> Path:
    subprocess.run([need("editcap"), "-F", "pcapng", str(src), str(dst)], check=True)
    assert dst.read_bytes()[:4] == b"\x0a\x0d\x0d\x0a"
    return dst


@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
@pytest.mark.parametrize("size", ["small", "large"])
def test_pipes_and_stdin_read_like_the_file(binary, tmp_path, fmt, size):
    src = SMALL if size == "small" else LARGE
    if not src.is_file():
        pytest.skip(f"{src} not present")
    capture = src if fmt == "pcap" else pcapng_copy(src, tmp_path / "c.pcapng")
    from_file = tmp_path / "file.json"
    p = replay_shell(binary, f"'{capture}'", from_file)
    assert p.returncode == 0, p.stderr
    expected = records(from_file)
    assert expected, "the capture gives flows"
    ways = {
        "dash": ("-", capture),
        "dev-stdin": ("/dev/stdin", capture),
        "process-substitution": (f"<(cat '{capture}')", None),
        "r-option": (f"-r '{capture}'", None),
    }
    for name, (inputs, stdin_from) in ways.items():
        out = tmp_path / f"{name}.json"
        p = replay_shell(binary, inputs, out, stdin_from=stdin_from)
        assert p.returncode == 0, f"{name}: {p.stderr}"
        got = records(out)
        # Byte for byte the same flows; only the input's name differs.
        assert without_filename(got) == without_filename(expected), name
        text = out.read_text()
        assert text.replace('"pcap_filename":' + json.dumps(got[0]["pcap_filename"]),
                            '"pcap_filename":' + json.dumps(str(capture))) == from_file.read_text(), name


def test_cut_off_capture_in_a_pipe_names_the_input_and_offset(binary, tmp_path):
    cut = CRAFTED / "cut-mid-record.pcap"
    from_file = replay_shell(binary, f"'{cut}'", tmp_path / "a.json")
    assert from_file.returncode == FAILED
    [file_error] = [ln for ln in from_file.stderr.splitlines() if ln.startswith("flowsentry: error: ")]
    assert file_error.startswith(f"flowsentry: error: {cut}, byte offset ")
    for inputs, stdin_from, name in [("/dev/stdin", cut, "/dev/stdin"), ("-", cut, "-")]:
        out = tmp_path / f"{name.strip('/-').replace('/', '-') or 'dash'}.json"
        p = replay_shell(binary, inputs, out, stdin_from=stdin_from)
        assert p.returncode == FAILED, p.stderr
        errors = [ln for ln in p.stderr.splitlines() if ln.startswith("flowsentry: error: ")]
        # The same message, offset included, naming the input as given.
        assert errors == [file_error.replace(str(cut), name)]
        # The flows read before the cut are written, as from the file.
        assert without_filename(records(out)) == without_filename(records(tmp_path / "a.json"))


def test_not_a_capture_in_a_pipe_is_refused_by_name(binary, tmp_path):
    p = replay_shell(binary, "/dev/stdin", tmp_path / "x.json", stdin_from=CRAFTED / "not-a-capture.txt")
    assert p.returncode == FAILED
    assert any(ln.startswith("flowsentry: error: /dev/stdin: ") for ln in p.stderr.splitlines()), p.stderr


def test_mixed_link_type_pcapng_in_a_pipe_says_to_read_the_file(binary, tmp_path):
    mixed = CRAFTED / "mixed-linktypes.pcapng"
    assert replay_shell(binary, f"'{mixed}'", tmp_path / "file.json").returncode == 0
    p = replay_shell(binary, "-", tmp_path / "pipe.json", stdin_from=mixed)
    assert p.returncode == FAILED
    errors = [ln for ln in p.stderr.splitlines() if ln.startswith("flowsentry: error: ")]
    assert len(errors) == 1 and errors[0].startswith("flowsentry: error: -: ")
    assert "read from a file, not a pipe" in errors[0]


def split_capture(src: Path, into: Path, packets_per_file: int) -> list[Path]:
    """editcap's pieces of `src`, in packet order."""
    into.mkdir(parents=True)
    subprocess.run([need("editcap"), "-c", str(packets_per_file), str(src), str(into / "piece.pcap")], check=True)
    pieces = sorted(into.iterdir())
    assert len(pieces) >= 3
    return pieces


def test_directory_reads_captures_in_first_packet_order(binary, tmp_path):
    whole = tmp_path / "whole.json"
    assert replay_shell(binary, f"'{SMALL}'", whole).returncode == 0
    d = tmp_path / "dir"
    pieces = split_capture(SMALL, d, 10)
    # Names and modification times that run against the packet order.
    renamed = []
    for i, p in enumerate(pieces):
        q = d / f"{len(pieces) - i:02d}-part.pcap"
        p.rename(q)
        os.utime(q, (1_000_000 - i, 1_000_000 - i))
        renamed.append(q)
    (d / "notes.txt").write_text("not a capture\n")
    (d / ".partial.pcap").write_bytes(b"")
    out = tmp_path / "dir.json"
    p = replay_shell(binary, f"'{d}'", out)
    assert p.returncode == 0, p.stderr
    assert f"{d}: passed over 1 files that are not captures" in p.stderr
    assert "from %d files" % len(pieces) in p.stderr
    # Flows continue across the pieces: the records of the whole capture.
    assert without_filename(records(out)) == without_filename(records(whole))
    # And exactly what listing the pieces in packet order gives.
    listed = tmp_path / "listed.json"
    assert replay_shell(binary, " ".join(f"'{q}'" for q in renamed), listed).returncode == 0
    assert out.read_text() == listed.read_text()


def test_directory_recursive(binary, tmp_path):
    whole = tmp_path / "whole.json"
    assert replay_shell(binary, f"'{SMALL}'", whole).returncode == 0
    d = tmp_path / "top"
    pieces = split_capture(SMALL, d, 10)
    # The first piece stays on top, the others go into nested directories.
    for i, p in enumerate(pieces[1:]):
        sub = d / f"day{i % 2}" / "hour"
        sub.mkdir(parents=True, exist_ok=True)
        p.rename(sub / p.name)
    flat = replay_shell(binary, f"'{d}'", tmp_path / "flat.json")
    assert flat.returncode == 0, flat.stderr
    assert "from 1 file " in flat.stderr
    deep = replay_shell(binary, f"'{d}' --recursive", tmp_path / "deep.json")
    assert deep.returncode == 0, deep.stderr
    assert "from %d files" % len(pieces) in deep.stderr
    assert without_filename(records(tmp_path / "deep.json")) == without_filename(records(whole))


def test_empty_directory_is_an_input_failure(binary, tmp_path):
    d = tmp_path / "empty"
    d.mkdir()
    p = replay_shell(binary, f"'{d}' '{SMALL}'", tmp_path / "x.json")
    assert p.returncode == FAILED
    assert f"flowsentry: error: {d}: no pcap or pcapng files in the directory" in p.stderr
    # The other input is still read.
    assert records(tmp_path / "x.json")


def test_replay_help_says_where_packets_come_from(binary):
    text = subprocess.run([binary, "replay", "--help"], capture_output=True, text=True).stdout
    for words in ("'-'", "/dev/stdin", "directory", "--recursive", "-r <file>"):
        assert words in text, words


def test_run_takes_i_as_interface(binary):
    text = subprocess.run([binary, "run", "--help"], capture_output=True, text=True).stdout
    assert "-i, --interface" in text
    p = subprocess.run([binary, "run", "-i", "lo", "-i", "lo"], capture_output=True, text=True)
    assert p.returncode == USAGE
    assert "--interface given twice" in p.stderr
