"""The systemd unit and the logrotate snippet do what operators expect.

- `systemctl reload flowsentry@IF` reloads the model and policy: the unit's
  ExecReload sends SIGUSR2 (as Suricata's reload reloads its rules), and
  logrotate reopens the logs with `systemctl kill -s HUP`, never a reload.
- `systemd-analyze verify` accepts the unit (skipped without systemd-analyze).
- The unit's own ExecReload command line, expanded as systemd expands it,
  makes a running `flowsentry run` reload (RELOADING=1, then READY=1 on the
  notify socket, "reloaded <version>" in its log), while logrotate's HUP
  only reopens the logs (needs root to capture on `lo`; skipped otherwise).

The reload itself (a corrupt bundle rejected, the running one kept) is
tested in Tests/SensorTests/LiveSensorBinaryTests.swift; this file tests the
service files that drive it.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "systemd" / "flowsentry@.service"
LOGROTATE = REPO / "systemd" / "flowsentry.logrotate"
BUNDLE = REPO / "rules" / "flowsentry.fsb"


def unit_settings(path: Path) -> dict[str, list[str]]:
    """Key → every value it is given, comments and section headers skipped."""
    settings: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, _, value = line.partition("=")
        settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def test_reload_sends_usr2_and_log_rotation_sends_hup():
    s = unit_settings(UNIT)
    assert s["ExecReload"] == ["/bin/kill -USR2 $MAINPID"]
    assert s["Type"] == ["notify"], "RELOADING=1/READY=1 need Type=notify"
    postrotate = LOGROTATE.read_text().split("postrotate", 1)[1].split("endscript", 1)[0]
    assert "systemctl kill -s HUP 'flowsentry@*.service'" in postrotate
    assert "reload" not in postrotate, "log rotation must not reload the model"


def test_documentation_names_pages_the_package_installs():
    docs = unit_settings(UNIT)["Documentation"][0].split()
    # The package ships the GenerateManual pages (flowsentry.1, one per
    # subcommand: flowsentry.run.1, ...) and the README in /usr/share/doc;
    # scripts/test-deb.sh checks that each exists once installed.
    assert docs == ["man:flowsentry.run(1)", "man:flowsentry(1)", "file:/usr/share/doc/flowsentry/README.md"]
    exec_start = shlex.split(unit_settings(UNIT)["ExecStart"][0])
    assert exec_start[0] == "/usr/bin/flowsentry" and exec_start[1] == "run"


def test_systemd_analyze_verify_accepts_the_unit(tmp_path, flowsentry_bin):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze not installed")
    # verify checks that ExecStart's binary exists: point it at the build,
    # and name the file as an instance (a template alone is not verifiable).
    text = UNIT.read_text().replace("ExecStart=/usr/bin/flowsentry ", f"ExecStart={flowsentry_bin} ")
    instance = tmp_path / "flowsentry@lo.service"
    instance.write_text(text)
    r = subprocess.run([analyze, "verify", "--man=no", str(instance)],
                       capture_output=True, text=True, timeout=60)
    # Complaints about other units on the host (a broken unit elsewhere) are
    # not ours; any line naming our file is.
    ours = [l for l in (r.stdout + r.stderr).splitlines() if "flowsentry" in l]
    assert r.returncode == 0 and not ours, r.stdout + r.stderr


class NotifySocket:
    """A datagram socket standing in for systemd's $NOTIFY_SOCKET."""

    def __init__(self, path: Path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.setblocking(False)
        self.messages: list[str] = []

    def poll(self) -> None:
        while True:
            try:
                self.messages.extend(self.sock.recv(4096).decode().splitlines())
            except BlockingIOError:
                return

    def wait_for(self, *wanted: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.poll()
            if all(w in self.messages for w in wanted):
                return True
            time.sleep(0.05)
        return False


def wait_for_text(path: Path, text: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in path.read_text(errors="replace"):
            return True
        time.sleep(0.05)
    return False


def test_the_units_reload_command_reloads_a_running_sensor(tmp_path, flowsentry_bin):
    if os.geteuid() != 0:
        pytest.skip("capturing on lo needs root (CAP_NET_RAW)")
    notify = NotifySocket(tmp_path / "notify.sock")
    model = tmp_path / "flowsentry.fsb"
    shutil.copyfile(BUNDLE, model)
    log = tmp_path / "stderr.log"
    env = dict(os.environ, NOTIFY_SOCKET=notify.path)
    env.pop("WATCHDOG_USEC", None)
    with open(log, "w") as err:
        p = subprocess.Popen(
            [flowsentry_bin, "run", "--interface", "lo", "--flows", str(tmp_path / "flows.json"),
             "--model", str(model), "--filter", "udp port 9", "--buffer-mb", "2", "--max-flows", "1024"],
            stdout=subprocess.DEVNULL, stderr=err, env=env)
    try:
        assert notify.wait_for("READY=1", timeout=20), f"no READY=1: {notify.messages}\n{log.read_text()}"
        version = re.search(r"\((flowsentry-ml-[^,]+),", log.read_text())
        assert version, log.read_text()

        # logrotate's postrotate signal: the logs are reopened, nothing is reloaded.
        notify.messages.clear()
        os.kill(p.pid, signal.SIGHUP)
        assert wait_for_text(log, "reopened log files", timeout=5), log.read_text()
        time.sleep(0.3)
        notify.poll()
        assert "RELOADING=1" not in notify.messages
        assert "reload requested" not in log.read_text()

        # `systemctl reload`: the unit's ExecReload, $MAINPID expanded as systemd does.
        exec_reload = unit_settings(UNIT)["ExecReload"][0].replace("$MAINPID", str(p.pid))
        subprocess.run(shlex.split(exec_reload), check=True, timeout=10)
        assert notify.wait_for("RELOADING=1", "READY=1", timeout=10), f"{notify.messages}\n{log.read_text()}"
        assert notify.messages.index("RELOADING=1") < notify.messages.index("READY=1")
        assert wait_for_text(log, f"reloaded {version.group(1)}", timeout=5), log.read_text()
        assert p.poll() is None, "the sensor exited on reload"
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            rc = p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            raise
    assert rc == 0, log.read_text()
