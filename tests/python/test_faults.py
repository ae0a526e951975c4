"""Faults around the sensor, through the built binary: log directories that
are missing or not writable, a disk that fills up during a replay, a model
bundle or policy that is missing or corrupt, and a bad configuration. Each
must end in a clear error naming the path and a non-zero exit, before any
packet is read where the fault is known at start -- never silently, never
with a signal. (The live service's disk-full and interface-loss behaviour is
tested in Tests/SensorTests/LiveSensorTests.swift.)"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CAPTURE = REPO / "captures" / "mixed-1.pcap"
SMALL = REPO / "Tests" / "SensorTests" / "Captures" / "ethernet-mix.pcap"
MODEL = REPO / "rules" / "flowsentry.fsb"
IS_ROOT = os.geteuid() == 0


def run(binary: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=timeout)


def first_error(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.startswith("flowsentry: error: ")]
    assert lines, f"no 'flowsentry: error:' line in:\n{stderr}"
    return lines[0]


def mount_tmpfs(path: Path, options: str) -> None:
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], check=True)


def umount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], check=False)


@pytest.fixture
def readonly_dir(tmp_path):
    """A directory this process cannot create files in: a read-only tmpfs as
    root (root ignores permission bits), mode 0555 otherwise."""
    d = tmp_path / "ro"
    if IS_ROOT:
        mount_tmpfs(d, "ro,size=64k")
        yield d
        umount(d)
    else:
        d.mkdir()
        d.chmod(0o555)
        yield d
        d.chmod(0o755)


# ------------------------------------------------------------ log directories

@pytest.mark.parametrize("option", ["--flows", "--alerts"])
def test_replay_log_in_a_missing_directory(tmp_path, flowsentry_bin, option):
    target = tmp_path / "no-such-dir" / "out.json"
    other = "--alerts" if option == "--flows" else "--flows"
    p = run(flowsentry_bin, "replay", str(SMALL), option, str(target), other, str(tmp_path / "other.json"))
    assert p.returncode == 2
    e = first_error(p.stderr)
    assert str(target) in e and "No such file or directory" in e
    # Refused before any packet was read: no summary, nothing written to the other log.
    other_log = tmp_path / "other.json"
    assert "flowsentry: read " not in p.stderr
    assert not other_log.exists() or other_log.stat().st_size == 0


def test_replay_log_in_a_read_only_directory(readonly_dir, flowsentry_bin):
    target = readonly_dir / "flows.json"
    p = run(flowsentry_bin, "replay", str(SMALL), "--no-score", "--flows", str(target))
    assert p.returncode == 2
    e = first_error(p.stderr)
    assert str(target) in e and ("Read-only file system" in e or "Permission denied" in e)


@pytest.mark.parametrize("option", ["--flows", "--alerts", "--stats"])
def test_run_refuses_to_start_with_an_unwritable_log(tmp_path, readonly_dir, flowsentry_bin, option):
    # The logs are opened before the interface, so this needs no capture rights.
    for target in (tmp_path / "missing" / "x.json", readonly_dir / "x.json"):
        args = ["run", "--interface", "lo", "--no-score", option, str(target)]
        if option == "--alerts":
            args.remove("--no-score")
            args += ["--model", str(MODEL)]
        p = run(flowsentry_bin, *args, timeout=20)
        assert p.returncode == 2, p.stderr
        e = first_error(p.stderr)
        assert str(target) in e and "cannot open for writing" in e
        assert "capturing on" not in p.stderr


# ------------------------------------------------------------ disk full

@pytest.mark.skipif(not IS_ROOT or shutil.which("mount") is None, reason="needs root to mount a 1 MiB tmpfs")
def test_replay_onto_a_full_disk_accounts_for_every_record(tmp_path, flowsentry_bin):
    disk = tmp_path / "disk"
    mount_tmpfs(disk, "size=1m")
    try:
        flows = disk / "flows.json"
        p = run(flowsentry_bin, "replay", str(CAPTURE), "--no-score", "--flows", str(flows), timeout=120)
        assert p.returncode == 1, p.stderr
        errors = [ln for ln in p.stderr.splitlines() if ln.startswith("flowsentry: error: ")]
        assert any(str(flows) in e and "No space left on device" in e for e in errors), p.stderr
        missing = [e for e in errors if "records not written" in e]
        assert len(missing) == 1, p.stderr
        not_written = int(missing[0].split(": ")[3].split()[0])
        total = int(p.stderr.split("\n  flows ")[1].split(":")[0].split()[0])
        # The file holds only whole records (each line parses) ...
        data = flows.read_bytes()
        assert data.endswith(b"\n")
        lines = data.splitlines()
        for ln in lines:
            assert json.loads(ln)["event_type"] == "flow"
        # ... and every flow is either in it or counted as not written.
        assert len(lines) > 0 and not_written > 0
        assert len(lines) + not_written == total
    finally:
        umount(disk)


# ------------------------------------------------------------ model, policy, config

def test_replay_with_a_missing_or_corrupt_model(tmp_path, flowsentry_bin):
    good = MODEL.read_bytes()
    cases = {
        "missing": None,
        "truncated": good[: len(good) // 2],
        "flipped": good[:len(good) // 3] + bytes([good[len(good) // 3] ^ 0x40]) + good[len(good) // 3 + 1:],
        "empty": b"",
        "not-a-bundle": b"hello, this is not a model\n" * 10,
    }
    for name, data in cases.items():
        model = tmp_path / f"{name}.fsb"
        if data is not None:
            model.write_bytes(data)
        flows = tmp_path / f"flows-{name}.json"
        p = run(flowsentry_bin, "replay", str(SMALL), "--model", str(model), "--flows", str(flows))
        assert p.returncode == 2, (name, p.stderr)
        e = first_error(p.stderr)
        assert str(model) in e, (name, e)
        # Loaded before anything else: no output file, no packets read.
        assert not flows.exists() and "flowsentry: read " not in p.stderr, name


def test_run_with_a_corrupt_model_or_policy_stops_before_capture(tmp_path, flowsentry_bin):
    bad_model = tmp_path / "bad.fsb"
    bad_model.write_bytes(MODEL.read_bytes()[:1000])
    p = run(flowsentry_bin, "run", "--interface", "lo", "--model", str(bad_model), "--flows", str(tmp_path / "f.json"),
            timeout=20)
    assert p.returncode == 2 and str(bad_model) in first_error(p.stderr)
    assert "capturing on" not in p.stderr

    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\nclasses:\n  dos: {severity: 7}\n")
    p = run(flowsentry_bin, "run", "--interface", "lo", "--model", str(MODEL), "--policy", str(policy),
            "--flows", str(tmp_path / "f.json"), timeout=20)
    assert p.returncode == 2
    e = first_error(p.stderr)
    assert str(policy) in e and "severity" in e
    assert "capturing on" not in p.stderr


def test_run_flags_override_only_the_settings_they_name(tmp_path, flowsentry_bin):
    """`run` puts the flags given on top of the file: a flag changes its
    setting, and a flag left out keeps the file's value (not the built-in
    default). An interface that does not exist stops each run after its
    settings were accepted."""
    cfg = tmp_path / "flowsentry.yaml"
    cfg.write_text(f"outputs:\n  flows: {tmp_path / 'f.json'}\nflow:\n  max_flows: 8\n  stripes: 8\n")
    base = ["run", "--config", str(cfg), "--interface", "fsnoif0", "--no-score"]
    # --max-flows replaces the file's 8: its 8 stripes no longer fit 4 flows.
    p = run(flowsentry_bin, *base, "--max-flows", "4", timeout=20)
    assert p.returncode != 0 and "flow.stripes" in p.stderr and "(4)" in p.stderr, p.stderr
    # The file's 2 stripes fit 4 flows although the default (16) would not.
    cfg.write_text(f"outputs:\n  flows: {tmp_path / 'f.json'}\nflow:\n  max_flows: 8\n  stripes: 2\n")
    p = run(flowsentry_bin, *base, "--max-flows", "4", timeout=20)
    assert p.returncode != 0 and "stripes" not in p.stderr and "fsnoif0" in p.stderr, p.stderr
    # Flags not given (here --stripes, --max-flows) keep the file's 8 and 8:
    # the default 16 stripes would not fit 8 flows.
    cfg.write_text(f"outputs:\n  flows: {tmp_path / 'f.json'}\nflow:\n  max_flows: 8\n  stripes: 8\n")
    p = run(flowsentry_bin, *base, "--active-timeout", "60", timeout=20)
    assert p.returncode != 0 and "stripes" not in p.stderr and "fsnoif0" in p.stderr, p.stderr
    # Out of range on its own: named by the flag.
    p = run(flowsentry_bin, *base, "--stripes", "6", timeout=20)
    assert p.returncode != 0 and "--stripes must be a power of two" in p.stderr, p.stderr


@pytest.mark.parametrize("text,key", [
    ("capture:\n  workers: 0\n", "capture.workers"),
    ("capture:\n  snaplen: lots\n", "capture.snaplen"),
    ("flow:\n  max_flowz: 10\n", "max_flowz"),
    ("capture: [unclosed\n", ""),
])
def test_run_and_check_config_name_the_config_error(tmp_path, flowsentry_bin, text, key):
    cfg = tmp_path / "flowsentry.yaml"
    cfg.write_text(text)
    for args in (["check-config", str(cfg)], ["run", "--config", str(cfg), "--interface", "lo", "--no-score"]):
        p = run(flowsentry_bin, *args, timeout=20)
        assert p.returncode != 0 and p.returncode > 0, (args, p.stderr)
        out = p.stderr + p.stdout
        assert str(cfg) in out and key in out, (args, out)
        assert "capturing on" not in out


def test_check_config_checks_the_interface_and_every_output_path(tmp_path, flowsentry_bin):
    """An interface that does not exist and an output that cannot be written
    are refused by key before run would fail on them; a good file says which
    model and policy it loads, and says when no policy lies beside the model."""
    missing_if = tmp_path / "if.yaml"
    missing_if.write_text(f"capture:\n  interface: fs-nosuch0\ndetection:\n  enabled: false\n"
                          f"outputs:\n  flows: {tmp_path}/flows.json\n")
    p = run(flowsentry_bin, "check-config", str(missing_if), timeout=20)
    assert p.returncode == 2 and "capture.interface" in p.stderr and "fs-nosuch0" in p.stderr, p.stderr
    no_dir = tmp_path / "dir.yaml"
    no_dir.write_text(f"capture:\n  interface: lo\ndetection:\n  enabled: false\n"
                      f"outputs:\n  directory: {tmp_path}/gone\n  alerts: alerts.json\n")
    p = run(flowsentry_bin, "check-config", str(no_dir), timeout=20)
    assert p.returncode == 2 and "outputs.directory" in p.stderr and "does not exist" in p.stderr, p.stderr
    (tmp_path / "taken").mkdir()
    is_dir = tmp_path / "isdir.yaml"
    is_dir.write_text(f"capture:\n  interface: lo\ndetection:\n  enabled: false\noutputs:\n  flows: {tmp_path}/taken\n")
    p = run(flowsentry_bin, "check-config", str(is_dir), timeout=20)
    assert p.returncode == 2 and "outputs.flows" in p.stderr and "is a directory" in p.stderr, p.stderr
    # A bundle with no policy.yaml beside it: the built-in policy, said at check and at start.
    lone = tmp_path / "bundle"
    lone.mkdir()
    shutil.copy(MODEL, lone / "flowsentry.fsb")
    good = tmp_path / "good.yaml"
    good.write_text(f"capture:\n  interface: lo\ndetection:\n  model: {lone}/flowsentry.fsb\n"
                    f"outputs:\n  flows: {tmp_path}/flows.json\n")
    p = run(flowsentry_bin, "check-config", str(good), timeout=20)
    assert p.returncode == 0 and str(lone / "flowsentry.fsb") in p.stdout, p.stdout + p.stderr
    assert "no policy.yaml beside the model" in p.stdout, p.stdout
    p = run(flowsentry_bin, "replay", str(REPO / "captures" / "demo.pcap"), "--model", str(MODEL),
            "--flows", str(tmp_path / "f.json"), timeout=60)
    assert p.returncode == 0 and f"model {MODEL}" in p.stderr and "policy.yaml" in p.stderr, p.stderr


@pytest.mark.parametrize("section,key", [
    ('capture:\n  interface: lo\n  bpf_filter: "tcp prot 80"\n', "capture.bpf_filter"),
    ("capture:\n  interface: lo\ndetection:\n  model: /nonexistent/flowsentry.fsb\n", "detection.model"),
])
def test_check_config_compiles_the_filter_and_loads_the_model(tmp_path, flowsentry_bin, section, key):
    """check-config refuses what run would refuse: a filter that does not
    compile, a bundle that cannot be loaded (named by key); with detection
    off the bundle is not needed, and a good file says which model it loads."""
    out = tmp_path / "flows.json"
    cfg = tmp_path / "flowsentry.yaml"
    cfg.write_text(section + f"outputs:\n  flows: {out}\n")
    p = run(flowsentry_bin, "check-config", str(cfg), timeout=20)
    assert p.returncode == 2, p.stdout + p.stderr
    assert key in p.stderr and str(cfg) in p.stderr, p.stderr
    assert not out.exists()
    off = tmp_path / "off.yaml"
    off.write_text("capture:\n  interface: lo\ndetection:\n  enabled: false\n  model: /nonexistent/flowsentry.fsb\n"
                   f"outputs:\n  flows: {out}\n")
    assert run(flowsentry_bin, "check-config", str(off), timeout=20).returncode == 0
    good = tmp_path / "good.yaml"
    good.write_text(f'capture:\n  interface: lo\n  bpf_filter: "tcp port 80"\ndetection:\n  model: {MODEL}\n'
                    f"outputs:\n  flows: {out}\n")
    p = run(flowsentry_bin, "check-config", str(good), timeout=20)
    assert p.returncode == 0 and "ok" in p.stdout and "flowsentry-ml-" in p.stdout, p.stdout + p.stderr
