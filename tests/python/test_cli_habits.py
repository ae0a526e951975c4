"""The command line's habits, through the built binary (issue 20, point 6):
a single-valued option given twice is refused by name (every option of
every subcommand, read from the binary's own description of itself, so a
new option is covered the day it is added); options that take several
values take them all; `--class` in either case, an unknown class refused;
`alerts --follow` starts at the end like `tail -F`, with `-n N`, says when
it waits for a missing file, and filters by address and port; errors say
the file and the problem once, in plain words; one set of exit codes
across subcommands; `train` shows its epochs."""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SMALL = REPO / "Tests" / "SensorTests" / "Captures" / "ethernet-mix.pcap"
DEMO = REPO / "captures" / "demo.pcap"
MODEL = REPO / "rules" / "flowsentry.fsb"

# The documented exit codes (README "Exit codes", ExitStatus.swift).
OK, FAILED, CANNOT_START, USAGE = 0, 1, 2, 64

# Words of Foundation's error descriptions that must never reach a user.
FOUNDATION_WORDS = ("The operation could not be completed", "NSCocoaErrorDomain", "Error Domain=",
                    "couldn’t be opened", "The file “")


def run(binary: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([binary, *map(str, args)], capture_output=True, text=True, timeout=timeout)


def error_lines(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if ln.startswith(("flowsentry: error: ", "Error: "))]


# ------------------------------------------------------------ repeated options

def single_valued_options(binary: str) -> list[tuple[str, str]]:
    """(subcommand, --option) for every option that takes one value, from
    ArgumentParser's JSON description of the built binary."""
    p = run(binary, "--experimental-dump-help")
    assert p.returncode == 0, p.stderr
    root = json.loads(p.stdout)["command"]
    out = []
    for sub in root.get("subcommands", []):
        for arg in sub.get("arguments", []):
            if arg["kind"] != "option" or arg["isRepeating"]:
                continue
            names = [n for n in arg.get("names", []) if n["kind"] == "long"]
            if names:
                out.append((sub["commandName"], "--" + names[0]["name"]))
    return out


def test_every_single_valued_option_given_twice_is_refused(flowsentry_bin):
    options = single_valued_options(flowsentry_bin)
    subcommands = {s for s, _ in options}
    # Every subcommand has some, and the ones the issue names are among them.
    assert {"replay", "run", "alerts", "check-config", "features", "train", "evaluate", "baseline"} <= subcommands
    assert ("run", "--interface") in options and ("run", "--snaplen") in options
    for sub, opt in options:
        p = run(flowsentry_bin, sub, opt, "1", f"{opt}=2", timeout=20)
        assert p.returncode == USAGE, (sub, opt, p.returncode, p.stderr)
        assert f"Error: {opt} given twice; it takes one value" in p.stderr, (sub, opt, p.stderr)
        assert f"See 'flowsentry {sub} --help'" in p.stderr, p.stderr


def test_a_repeated_option_is_found_past_values_that_look_like_options(flowsentry_bin, tmp_path):
    # `--since -1h` takes "-1h" as its value; the second --since is still the second.
    log = tmp_path / "a.json"
    log.write_text("")
    p = run(flowsentry_bin, "alerts", log, "--since", "-1h", "--since", "-2h")
    assert p.returncode == USAGE and "--since given twice" in p.stderr, p.stderr
    # After "--" everything is an argument, not an option.
    p = run(flowsentry_bin, "replay", "--no-score", "--flows", tmp_path / "f.json", "--", SMALL)
    assert p.returncode == OK, p.stderr
    # Given once, an option still works.
    p = run(flowsentry_bin, "alerts", log, "--since", "-1h")
    assert p.returncode == OK, p.stderr


# ------------------------------------------------------------ alerts: classes, addresses, ports

def alert(n: int, cls: str, src: str = "10.0.0.1", dst: str = "10.0.0.2", sport: int = 40000,
          dport: int = 22, severity: int = 2) -> str:
    """An EVE alert line in the sensor's shape, made here (not by the sensor)."""
    return json.dumps({
        "timestamp": f"2026-11-22T10:{n // 60:02d}:{n % 60:02d}.000000+0000", "flow_id": n,
        "event_type": "alert", "src_ip": src, "src_port": sport, "dest_ip": dst, "dest_port": dport,
        "proto": "TCP", "alert": {"action": "allowed", "signature_id": 9000001, "signature": f"FlowSentry ML: {cls}",
                                  "category": "x", "severity": severity},
        "ml": {"class": cls, "score": 0.9, "threshold": 0.5},
    }) + "\n"


def flow_ids(stdout: str) -> list[int]:
    return [json.loads(ln)["flow_id"] for ln in stdout.splitlines() if ln.strip()]


@pytest.fixture
def mixed_log(tmp_path) -> Path:
    log = tmp_path / "alerts.json"
    log.write_text(alert(1, "scan", dst="10.0.0.9", dport=80) + alert(2, "dos", src="192.0.2.7", dport=53)
                   + alert(3, "bruteforce") + alert(4, "c2", src="2001:db8::5", dst="2001:db8:1::1", dport=443)
                   + '{"event_type":"flow"}\n')
    return log


def test_class_takes_several_values_in_either_case(flowsentry_bin, mixed_log):
    p = run(flowsentry_bin, "alerts", mixed_log, "--json", "--class", "SCAN", "--class", "Dos")
    assert p.returncode == OK, p.stderr
    assert flow_ids(p.stdout) == [1, 2]
    assert "2 shown, 2 filtered out" in p.stderr


def test_an_unknown_class_is_refused_with_the_known_ones(flowsentry_bin, mixed_log):
    p = run(flowsentry_bin, "alerts", mixed_log, "--class", "scna")
    assert p.returncode == USAGE
    e = error_lines(p.stderr)[0]
    assert "'scna' is not a class" in e
    for c in ("scan", "dos", "bruteforce", "tunnel", "c2", "webattack", "anomaly"):
        assert c in e, e


@pytest.mark.parametrize("args,expected", [
    # 1: 10.0.0.1:40000 -> 10.0.0.9:80, 2: 192.0.2.7:40000 -> 10.0.0.2:53,
    # 3: 10.0.0.1:40000 -> 10.0.0.2:22, 4: [2001:db8::5]:40000 -> [2001:db8:1::1]:443
    (["--ip", "10.0.0.2"], [2, 3]),                             # destination
    (["--ip", "10.0.0.1"], [1, 3]),                             # source
    (["--host", "10.0.0.0/28"], [1, 2, 3]),                     # a block, by the option's other name
    (["--ip", "192.0.2.7", "--ip", "2001:db8::/32"], [2, 4]),   # several; an IPv6 block
    (["--port", "22"], [3]),                                    # destination port
    (["--port", "40000"], [1, 2, 3, 4]),                        # source port
    (["--port", "80", "--port", "443"], [1, 4]),
    (["--ip", "10.0.0.0/8", "--port", "80"], [1]),              # both must hold
])
def test_alerts_filter_by_address_and_port(flowsentry_bin, mixed_log, args, expected):
    p = run(flowsentry_bin, "alerts", mixed_log, "--json", *args)
    assert p.returncode == OK, p.stderr
    assert flow_ids(p.stdout) == expected


@pytest.mark.parametrize("args,word", [
    (["--ip", "10.0.0.300"], "--ip"), (["--ip", "10.0.0.0/33"], "--ip"), (["--port", "70000"], "--port"),
    (["-n", "-1"], "--lines"),
])
def test_bad_filter_values_are_usage_errors(flowsentry_bin, mixed_log, args, word):
    p = run(flowsentry_bin, "alerts", mixed_log, *args)
    assert p.returncode == USAGE and word in p.stderr, p.stderr


def test_lines_without_follow_shows_the_last_matching(flowsentry_bin, mixed_log):
    p = run(flowsentry_bin, "alerts", mixed_log, "--json", "-n", "2")
    assert p.returncode == OK and flow_ids(p.stdout) == [3, 4], p.stdout + p.stderr
    p = run(flowsentry_bin, "alerts", mixed_log, "--json", "--lines", "1", "--port", "53")
    assert flow_ids(p.stdout) == [2]


# ------------------------------------------------------------ alerts --follow

class Follower:
    """`flowsentry alerts --follow` in the background; its stdout and stderr
    read line by line with deadlines."""

    def __init__(self, binary: str, *args):
        self.p = subprocess.Popen([binary, "alerts", *map(str, args), "--follow", "--json"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
        os.set_blocking(self.p.stdout.fileno(), False)
        os.set_blocking(self.p.stderr.fileno(), False)
        self.out = ""
        self.err = ""

    def _pump(self, timeout: float) -> None:
        r, _, _ = select.select([self.p.stdout, self.p.stderr], [], [], timeout)
        for f in r:
            chunk = f.read()
            if chunk:
                if f is self.p.stdout:
                    self.out += chunk
                else:
                    self.err += chunk

    def ids_when(self, count: int, timeout: float = 10) -> list[int]:
        deadline = time.monotonic() + timeout
        while len(flow_ids(self.out)) < count and time.monotonic() < deadline:
            self._pump(0.05)
        return flow_ids(self.out)

    def settle(self, seconds: float = 0.8) -> list[int]:
        """What was printed after `seconds` more (nothing else should come)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._pump(0.05)
        return flow_ids(self.out)

    def stderr_has(self, text: str, timeout: float = 10) -> bool:
        deadline = time.monotonic() + timeout
        while text not in self.err and time.monotonic() < deadline:
            self._pump(0.05)
        return text in self.err

    def close(self) -> None:
        self.p.kill()
        self.p.wait(timeout=10)


@pytest.fixture
def follower(flowsentry_bin):
    started = []

    def start(*args):
        f = Follower(flowsentry_bin, *args)
        started.append(f)
        return f

    yield start
    for f in started:
        f.close()


def append(path: Path, text: str) -> None:
    with open(path, "a") as f:
        f.write(text)


def test_follow_starts_at_the_end_showing_the_last_ten(follower, tmp_path):
    log = tmp_path / "alerts.json"
    log.write_text("".join(alert(n, "scan") for n in range(1, 26)))
    f = follower(log)
    assert f.ids_when(10) == list(range(16, 26))
    assert f.settle() == list(range(16, 26))        # nothing older follows
    append(log, alert(26, "scan") + alert(27, "dos"))
    assert f.ids_when(12) == list(range(16, 28))


def test_follow_with_n_shows_the_last_n_matching_then_filters_new_lines(follower, tmp_path):
    log = tmp_path / "alerts.json"
    log.write_text("".join(alert(n, "scan" if n % 2 else "dos", dport=22 if n % 3 else 80) for n in range(1, 31)))
    # The last 3 dos alerts (even ids) to port 22 (ids not divisible by 3): 28, 26, 22.
    f = follower(log, "-n", "3", "--class", "dos", "--port", "22")
    assert f.ids_when(3) == [22, 26, 28]
    append(log, alert(31, "dos", dport=22) + alert(32, "scan", dport=22) + alert(33, "dos", dport=80)
           + alert(34, "dos", src="10.9.9.9", dport=22))
    assert f.ids_when(5) == [22, 26, 28, 31, 34]
    assert f.settle() == [22, 26, 28, 31, 34]


def test_follow_n_zero_shows_only_new_alerts_and_keeps_an_unfinished_line(follower, tmp_path):
    log = tmp_path / "alerts.json"
    line = alert(2, "scan")
    log.write_text(alert(1, "scan") + line[:40])     # the writer is midway through alert 2
    f = follower(log, "-n", "0", "--ip", "10.0.0.0/24")
    assert f.settle() == []
    append(log, line[40:] + alert(3, "scan", src="172.16.0.1", dst="172.16.0.2") + alert(4, "scan"))
    assert f.ids_when(2) == [2, 4]


def test_follow_says_it_waits_for_a_missing_file(follower, tmp_path):
    log = tmp_path / "later" / "alerts.json"
    f = follower(log)
    assert f.stderr_has(f"waiting for {log} to appear"), f.err
    assert f.settle(0.3) == []
    log.parent.mkdir()
    log.write_text(alert(1, "scan") + alert(2, "dos"))
    # A file that appears is read from its start.
    assert f.ids_when(2) == [1, 2]
    assert f.stderr_has(f"{log} appeared"), f.err


def test_follow_keeps_following_across_rotation(follower, tmp_path):
    log = tmp_path / "alerts.json"
    log.write_text(alert(1, "scan"))
    f = follower(log, "-n", "5")
    assert f.ids_when(1) == [1]
    append(log, alert(2, "scan"))
    assert f.ids_when(2) == [1, 2]
    log.rename(tmp_path / "alerts.json.1")
    log.write_text(alert(3, "scan"))
    assert f.ids_when(3) == [1, 2, 3]


# ------------------------------------------------------------ error messages

def assert_said_once(stderr: str, path: Path, *words: str) -> str:
    errors = error_lines(stderr)
    assert len(errors) == 1, stderr
    e = errors[0]
    assert e.count(str(path)) == 1, e
    for w in FOUNDATION_WORDS:
        assert w not in stderr, stderr
    for w in words:
        assert w in e, e
    return e


def test_capture_errors_say_the_file_and_problem_once(flowsentry_bin, tmp_path):
    flows = tmp_path / "f.json"
    cases = []
    missing = tmp_path / "missing.pcap"
    cases.append((missing, ["cannot open: No such file or directory"]))
    directory = tmp_path / "adir"
    directory.mkdir()
    # A directory is read for its captures (test_replay_inputs.py); an empty one is an input failure.
    cases.append((directory, ["no pcap or pcapng files in the directory"]))
    text = tmp_path / "notes.pcap"
    text.write_text("hello, not a capture\n" * 4)
    cases.append((text, ["not a pcap or pcapng file"]))
    empty = tmp_path / "empty.pcap"
    empty.write_bytes(b"")
    cases.append((empty, ["empty file"]))
    # A classic pcap whose first record claims 4 GB: corrupt, at its offset.
    good = SMALL.read_bytes()
    absurd = tmp_path / "absurd.pcap"
    absurd.write_bytes(good[:32] + (0xFFFFFFF0).to_bytes(4, "little") + good[36:])
    cases.append((absurd, ["byte offset 24", "corrupt record", "4294967280"]))
    # A pcapng whose first packet block claims 4 GB.
    shb = bytes.fromhex("0a0d0d0a") + (28).to_bytes(4, "little") + bytes.fromhex("4d3c2b1a") \
        + (1).to_bytes(2, "little") + (0).to_bytes(2, "little") + b"\xff" * 8 + (28).to_bytes(4, "little")
    idb = (1).to_bytes(4, "little") + (20).to_bytes(4, "little") + (1).to_bytes(2, "little") + b"\0\0" \
        + (65535).to_bytes(4, "little") + (20).to_bytes(4, "little")
    epb = (6).to_bytes(4, "little") + (0xFFFFFF00).to_bytes(4, "little") + b"\0" * 40
    absurd_ng = tmp_path / "absurd.pcapng"
    absurd_ng.write_bytes(shb + idb + epb)
    cases.append((absurd_ng, ["byte offset 48", "corrupt pcapng block", "4294967040"]))
    for path, words in cases:
        p = run(flowsentry_bin, "replay", path, "--no-score", "--flows", flows)
        assert p.returncode == FAILED, (path, p.stderr)
        e = assert_said_once(p.stderr, path, *words)
        assert "tried to read" not in e and "dump file" not in e and "cannot open capture" not in e, e


def test_model_policy_and_config_errors_say_the_file_and_problem_once(flowsentry_bin, tmp_path):
    flows = tmp_path / "f.json"
    missing = tmp_path / "missing.fsb"
    p = run(flowsentry_bin, "replay", SMALL, "--model", missing, "--flows", flows)
    assert p.returncode == CANNOT_START
    assert_said_once(p.stderr, missing, "No such file or directory")
    p = run(flowsentry_bin, "replay", SMALL, "--model", tmp_path, "--flows", flows)
    assert p.returncode == CANNOT_START
    assert_said_once(p.stderr, tmp_path, "Is a directory")
    cut = tmp_path / "cut.fsb"
    cut.write_bytes(MODEL.read_bytes()[:5000])
    p = run(flowsentry_bin, "replay", SMALL, "--model", cut, "--flows", flows)
    assert p.returncode == CANNOT_START
    assert_said_once(p.stderr, cut, "truncated")
    policy = tmp_path / "nopolicy.yaml"
    p = run(flowsentry_bin, "replay", SMALL, "--model", MODEL, "--policy", policy, "--flows", flows)
    assert p.returncode == CANNOT_START
    e = assert_said_once(p.stderr, policy, "No such file or directory")
    assert "(file)" not in e, e
    p = run(flowsentry_bin, "replay", SMALL, "--model", MODEL, "--policy", tmp_path, "--flows", flows)
    assert p.returncode == CANNOT_START, "a directory read as an empty policy"
    assert_said_once(p.stderr, tmp_path, "Is a directory")
    p = run(flowsentry_bin, "check-config", tmp_path)
    assert p.returncode == CANNOT_START
    assert_said_once(p.stderr, tmp_path, "Is a directory")


# ------------------------------------------------------------ exit codes

def exit_code_cases(tmp: Path) -> list[tuple[str, list, int]]:
    nowhere = tmp / "no-such-dir" / "out"
    flows = tmp / "f.json"
    log = tmp / "alerts.json"
    log.write_text(alert(1, "scan"))
    cfg = tmp / "good.yaml"
    cfg.write_text(f"capture:\n  interface: lo\ndetection:\n  enabled: false\noutputs:\n  flows: {flows}\n")
    bad_cfg = tmp / "bad.yaml"
    bad_cfg.write_text("capture:\n  workers: 0\n")
    labels = REPO / "captures" / "demo.labels.csv"
    cases = []
    for sub in ("replay", "run", "alerts", "check-config", "features", "train", "evaluate", "baseline"):
        cases.append((sub, [sub, "--no-such-option"], USAGE))
    cases += [
        ("replay", ["replay", SMALL, "--no-score", "--flows", flows], OK),
        ("replay", ["replay", tmp / "missing.pcap", SMALL, "--no-score", "--flows", flows], FAILED),
        ("replay", ["replay", SMALL, "--flows", nowhere], CANNOT_START),
        ("replay", ["replay", SMALL, "--model", tmp / "missing.fsb", "--flows", flows], CANNOT_START),
        ("replay", ["replay", SMALL], USAGE),
        ("features", ["features", SMALL, "-o", flows], OK),
        ("features", ["features", tmp / "missing.pcap", "-o", flows], FAILED),
        ("features", ["features", SMALL, "-o", nowhere], CANNOT_START),
        ("alerts", ["alerts", log], OK),
        ("alerts", ["alerts", tmp / "missing.json"], CANNOT_START),
        ("alerts", ["alerts", tmp], CANNOT_START),
        ("alerts", ["alerts", log, "--min-severity", "0"], USAGE),
        ("check-config", ["check-config", cfg], OK),
        ("check-config", ["check-config", bad_cfg], CANNOT_START),
        ("check-config", ["check-config", tmp / "missing.yaml"], CANNOT_START),
        ("run", ["run", "--config", bad_cfg, "--interface", "lo", "--no-score"], CANNOT_START),
        ("run", ["run", "--config", tmp / "missing.yaml"], CANNOT_START),
        ("run", ["run", "--interface", "fs-nosuch0", "--no-score", "--flows", flows], CANNOT_START),
        ("run", ["run", "--interface", "lo", "--metrics-listen", "nonsense"], USAGE),
        ("train", ["train", "--captures", DEMO, "--labels", labels, "--out", nowhere], CANNOT_START),
        ("train", ["train", "--captures", DEMO, "--out", tmp / "m.fsb"], USAGE),
        ("evaluate", ["evaluate", "--captures", DEMO, "--labels", labels, "--model", tmp / "missing.fsb"],
         CANNOT_START),
        ("baseline", ["baseline", "--captures", DEMO, "--model", tmp / "missing.fsb", "--out", tmp / "b.fsb"],
         CANNOT_START),
        ("baseline", ["baseline", "--captures", DEMO, "--model", MODEL, "--out", nowhere], CANNOT_START),
    ]
    return cases


def test_one_set_of_exit_codes_across_subcommands(flowsentry_bin, tmp_path):
    for sub, args, expected in exit_code_cases(tmp_path):
        p = run(flowsentry_bin, *args, timeout=60)
        assert p.returncode == expected, (args, p.returncode, p.stderr[-600:])
        if expected in (FAILED, CANNOT_START):
            assert error_lines(p.stderr), (args, p.stderr)


def test_every_help_states_the_exit_codes(flowsentry_bin):
    for sub in ("", "replay", "run", "alerts", "check-config", "features", "train", "evaluate", "baseline"):
        p = run(flowsentry_bin, *([sub] if sub else []), "--help")
        text = " ".join(p.stdout.split())
        assert "Exit status: 0 done; 1 done, but" in text and "64 the command line is wrong" in text, sub


# ------------------------------------------------------------ train progress

def train_args(out: Path) -> list:
    caps = ["attack-scan", "benign-1"]
    args = ["train", "--captures", *[REPO / "captures" / f"{c}.pcap" for c in caps],
            "--labels", *[REPO / "captures" / f"{c}.labels.csv" for c in caps],
            "--out", out, "--epochs", "2", "--max-per-class", "300"]
    return [str(a) for a in args]


def need_lab():
    if not (REPO / "captures" / "attack-scan.pcap").exists():
        pytest.skip("lab captures not present")


def test_train_shows_one_line_per_epoch_when_not_on_a_terminal(flowsentry_bin, tmp_path):
    need_lab()
    p = run(flowsentry_bin, *train_args(tmp_path / "m.fsb"), timeout=600)
    assert p.returncode == OK, p.stderr[-2000:]
    assert "\r" not in p.stderr
    for model in ("cnn", "lstm"):
        assert f"  {model} epoch 1/2: loss " in p.stderr and "at most" in p.stderr, p.stderr
        assert f"  {model} epoch 2/2: loss " in p.stderr, p.stderr


def test_train_updates_one_line_on_a_terminal(flowsentry_bin, tmp_path):
    need_lab()
    pid, fd = pty.fork()
    if pid == 0:  # the child: stderr (and stdout) on the pseudo-terminal
        os.execv(flowsentry_bin, [flowsentry_bin, *train_args(tmp_path / "m.fsb")])
    out = b""
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 1)
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
    _, status = os.waitpid(pid, 0)
    text = out.decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == OK, text[-2000:]
    # Each epoch rewrites the line in place (carriage return, erase to end of line) ...
    assert "\r  cnn epoch 1/2: loss " in text and "\r  cnn epoch 2/2: loss " in text, text[-2000:]
    assert "\x1b[K" in text and "at most" in text
    # ... and the next message starts on a line of its own.
    assert "\x1b[K\n  cnn: 2 epochs, best " in text.replace("\r\n", "\n"), text[-2000:]
