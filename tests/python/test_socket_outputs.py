"""The syslog and unix-socket outputs of `flowsentry run` against real
listeners this test starts (Python socket servers): RFC 5424 messages to a
local syslog socket (as /dev/log), to UDP and to TCP (octet counting,
RFC 6587), each parsed by the RFC's grammar; EVE lines to a unix_dgram and
a unix_stream socket. The sensor captures on `lo` (its own UDP flows), and
its flow log is the reference: every record arrives once, in order."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="capturing on lo needs CAP_NET_RAW")

# RFC 5424 section 6: HEADER SP STRUCTURED-DATA [SP MSG]; the sensor sends NILVALUE structured data.
RFC5424 = re.compile(
    rb"^<(?P<pri>\d{1,3})>1 (?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z) (?P<host>[!-~]{1,255}) "
    rb"(?P<app>flowsentry) (?P<pid>\d+) (?P<msgid>flow|alert|stats) - (?P<msg>\{.*\})$", re.S)


class Listener:
    """Collects what arrives on one socket, in a thread."""

    def __init__(self, family, kind, address, framing: str):
        self.sock = socket.socket(family, kind)
        if kind == socket.SOCK_DGRAM:
            # UDP has no backpressure: a receive buffer that holds the whole run, so the
            # kernel does not drop what this reader has not taken yet (SO_RCVBUFFORCE: root).
            self.sock.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_RCVBUFFORCE", 33), 32 << 20)
        self.sock.bind(address)
        self.items: list[bytes] = []
        self.framing = framing
        if kind == socket.SOCK_STREAM:
            self.sock.listen(4)
        self.sock.settimeout(0.2)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        if self.sock.type == socket.SOCK_DGRAM:
            while not self.stop.is_set():
                try:
                    self.items.append(self.sock.recv(1 << 20))
                except socket.timeout:
                    pass
            return
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            conn.settimeout(0.2)
            buf = b""
            while not self.stop.is_set():
                try:
                    data = conn.recv(1 << 16)
                except socket.timeout:
                    continue
                if not data:
                    break
                buf += data
                buf = self.split(buf)
            conn.close()

    def split(self, buf: bytes) -> bytes:
        while True:
            if self.framing == "lines":
                i = buf.find(b"\n")
                if i < 0:
                    return buf
                self.items.append(buf[:i])
                buf = buf[i + 1:]
            else:  # octet counting: LEN SP MSG
                sp = buf.find(b" ")
                if sp < 0:
                    return buf
                n = int(buf[:sp])
                if len(buf) < sp + 1 + n:
                    return buf
                self.items.append(buf[sp + 1:sp + 1 + n])
                buf = buf[sp + 1 + n:]

    def close(self):
        self.stop.set()
        self.thread.join(5)
        self.sock.close()


def free_port(kind) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_syslog_and_unix_socket_outputs_deliver_every_record_in_order(tmp_path, flowsentry_bin):
    udp_port, tcp_port, flow_port = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_STREAM), free_port(socket.SOCK_DGRAM)
    listeners = {
        "dgram": Listener(socket.AF_UNIX, socket.SOCK_DGRAM, str(tmp_path / "eve.dgram"), "datagrams"),
        "stream": Listener(socket.AF_UNIX, socket.SOCK_STREAM, str(tmp_path / "eve.stream"), "lines"),
        "devlog": Listener(socket.AF_UNIX, socket.SOCK_DGRAM, str(tmp_path / "log.sock"), "datagrams"),
        "udp": Listener(socket.AF_INET, socket.SOCK_DGRAM, ("127.0.0.1", udp_port), "datagrams"),
        "tcp": Listener(socket.AF_INET, socket.SOCK_STREAM, ("127.0.0.1", tcp_port), "octets"),
    }
    flows = tmp_path / "flows.json"
    config = {
        "capture": {"interface": "lo", "bpf_filter": f"udp and dst port {flow_port}", "buffer_mb": 4},
        "flow": {"idle_timeout": 1}, "detection": {"enabled": False},
        "outputs": {"flows": str(flows), "list": [
            {"type": "unix_dgram", "path": str(tmp_path / "eve.dgram"), "types": ["flow"]},
            {"type": "unix_stream", "path": str(tmp_path / "eve.stream"), "types": ["flow"]},
            {"type": "syslog", "name": "devlog", "address": "unix:" + str(tmp_path / "log.sock"), "types": ["flow"]},
            {"type": "syslog", "name": "udp", "address": f"udp:127.0.0.1:{udp_port}", "facility": "local3", "types": ["flow"]},
            {"type": "syslog", "name": "tcp", "address": f"tcp:127.0.0.1:{tcp_port}", "facility": "daemon", "types": ["flow"]},
        ]},
    }
    cfg = tmp_path / "c.yaml"
    cfg.write_text(json.dumps(config))
    proc = subprocess.Popen([flowsentry_bin, "run", "--config", str(cfg)], stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(2)
        assert proc.poll() is None, proc.stderr.read()
        n = 100
        socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(n)]
        for s in socks:
            s.sendto(b"syslog-test", ("127.0.0.1", flow_port))
        for s in socks:
            s.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (flows.exists() and len(flows.read_text().splitlines()) >= n
                                                   and all(len(l.items) >= n for l in listeners.values())):
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
        stderr = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
        for l in listeners.values():
            l.close()

    lines = [l.encode() for l in flows.read_text().splitlines()]
    assert len(lines) == n
    assert listeners["dgram"].items == lines, "unix_dgram: one record per datagram, in order"
    assert listeners["stream"].items == lines, "unix_stream: the lines, in order"
    for name, facility in (("devlog", 21), ("udp", 19), ("tcp", 3)):
        got = [RFC5424.match(m) for m in listeners[name].items]
        assert all(got), f"{name}: not RFC 5424: {listeners[name].items[:1]}"
        assert [m["msg"] for m in got] == lines, f"{name}: every record once, in order"
        assert {int(m["pri"]) for m in got} == {facility * 8 + 6}, f"{name}: facility {facility}, severity info for flows"
        assert {m["msgid"] for m in got} == {b"flow"} and {int(m["pid"]) for m in got} == {proc.pid}
    for name in ("unix_dgram", "unix_stream", "devlog", "udp", "tcp"):
        assert re.search(rf"output {name}: {n} records written, 0 dropped", stderr), stderr
