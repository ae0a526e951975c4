"""The Redis outputs of `flowsentry run` against a real redis-server (Debian's,
started here on a loopback port and a unix socket in a temp dir, without
persistence, and stopped after), read back with redis-py (PyPI).

The sensor captures on `lo` (a BPF filter keeps it to this test's own UDP
packets, one flow per source port); its flow log is the reference: every
record of it must arrive in Redis once and in the same order, through a list
(RPUSH over TCP, LPUSH over the unix socket), a stream (XADD) and a channel
(PUBLISH, read by a subscriber started first). With requirepass, the right
password (and an ACL user) gets the records in and a wrong one is refused
and counted. With the server killed mid-run and started again: capture goes
on, the flow log has everything, the output holds up to its queue bound,
counts what it dropped, reconnects, and written + dropped accounts for every
record."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

redis = pytest.importorskip("redis", reason="redis-py not installed (scripts/requirements-test.txt)")

REDIS_SERVER = shutil.which("redis-server")
pytestmark = [
    pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server not installed (scripts/setup.sh)"),
    pytest.mark.skipif(os.geteuid() != 0, reason="capturing on lo needs CAP_NET_RAW"),
]


def free_port(kind=socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """redis-server on 127.0.0.1:port and a unix socket, no persistence."""

    def __init__(self, tmp: Path, port: int, *extra: str):
        self.port = port
        self.socket = str(tmp / f"redis-{port}.sock")
        self.args = [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                     "--unixsocket", self.socket, "--unixsocketperm", "700", "--dir", str(tmp), *extra]
        self.proc: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(self.args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def client(self, **kw):
        return redis.Redis(host="127.0.0.1", port=self.port, **kw)


@pytest.fixture
def servers():
    started: list[RedisServer] = []
    yield started
    for s in started:
        s.kill()


class Sensor:
    """`flowsentry run` on lo with a config file; stderr collected."""

    def __init__(self, binary: str, tmp: Path, udp_port: int, outputs: list[dict], queue_stats: bool = True):
        self.flows = tmp / "flows.json"
        self.stats = tmp / "stats.json"
        config = {
            "capture": {"interface": "lo", "bpf_filter": f"udp and dst port {udp_port}", "buffer_mb": 4},
            "flow": {"idle_timeout": 1, "max_flows": 4096},
            "detection": {"enabled": False},
            "stats_interval": 1,
            "outputs": {"flows": str(self.flows), "stats": str(self.stats), "list": outputs},
        }
        cfg = tmp / "flowsentry.yaml"
        cfg.write_text(json.dumps(config))  # JSON is YAML
        self.proc = subprocess.Popen([binary, "run", "--config", str(cfg)], stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        ready = threading.Event()

        def read():
            for line in self.proc.stderr:
                self.lines.append(line)
                if "capturing on" in line:
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        assert ready.wait(30) and self.proc.poll() is None, "".join(self.lines)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(30)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    @property
    def stderr(self) -> str:
        return "".join(self.lines)

    def flow_lines(self) -> list[str]:
        return self.flows.read_text().splitlines() if self.flows.exists() else []

    def last_by_output(self) -> dict:
        last = self.stats.read_text().splitlines()[-1]
        return json.loads(last)["stats"]["outputs"]

    def final_counts(self, name: str) -> tuple[int, int, int]:
        """(written, dropped, reconnects) from the exit line of output `name`."""
        m = re.search(rf"output {re.escape(name)}: (\d+) records written, (\d+) dropped, (\d+) reconnects", self.stderr)
        assert m, self.stderr
        return int(m[1]), int(m[2]), int(m[3])


def send_flows(udp_port: int, count: int) -> None:
    """`count` UDP flows to 127.0.0.1:udp_port, each from its own source port
    (the sockets stay open until all have sent, so no port is used twice)."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            socks.append(s)
            s.sendto(b"flowsentry-redis-test", ("127.0.0.1", udp_port))
            time.sleep(0.002)
    finally:
        for s in socks:
            s.close()


def wait_for(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_every_record_arrives_once_in_order_by_list_stream_and_channel(tmp_path, flowsentry_bin, servers):
    server = RedisServer(tmp_path, free_port())
    servers.append(server)
    r = server.client()
    udp_port = free_port(socket.SOCK_DGRAM)

    # The channel's subscriber is there before the sensor publishes.
    pubsub = r.pubsub()
    pubsub.subscribe("c:flow")
    assert pubsub.get_message(timeout=5)["type"] == "subscribe"
    published: list[str] = []
    stop = threading.Event()

    def listen():
        while not stop.is_set():
            m = pubsub.get_message(timeout=0.2)
            if m and m["type"] == "message":
                published.append(m["data"].decode())

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()

    outputs = [
        {"type": "redis", "name": "tcp-list", "port": server.port, "mode": "rpush", "key": "t:{type}",
         "types": ["flow"], "batch": 7},
        {"type": "redis", "name": "unix-list", "socket": server.socket, "mode": "list", "key": "u:{type}",
         "types": ["flow", "stats"]},
        {"type": "redis", "name": "stream", "port": server.port, "mode": "stream", "key": "s:{type}",
         "types": ["flow"], "stream_maxlen": 100000},
        {"type": "redis", "name": "channel", "host": "localhost", "port": server.port, "mode": "channel",
         "key": "c:{type}", "types": ["flow"]},
    ]
    sensor = Sensor(flowsentry_bin, tmp_path, udp_port, outputs)
    try:
        n = 300
        send_flows(udp_port, n)
        wait_for(lambda: len(sensor.flow_lines()) >= n, 30, "the flow log")
        assert sensor.stop() == 0, sensor.stderr
    finally:
        sensor.kill()
    wait_for(lambda: len(published) >= n, 10, "the published records")
    stop.set()
    listener.join(5)
    pubsub.close()

    flows = sensor.flow_lines()
    assert len(flows) == n, "one flow per source port"
    assert [json.loads(x)["event_type"] for x in flows] == ["flow"] * n
    rpushed = [x.decode() for x in r.lrange("t:flow", 0, -1)]
    lpushed = [x.decode() for x in r.lrange("u:flow", 0, -1)]
    streamed = [fields[b"eve"].decode() for _, fields in r.xrange("s:flow")]
    assert rpushed == flows, "RPUSH over TCP: every record once, in order"
    assert lpushed[::-1] == flows, "LPUSH over the unix socket: the newest at the head"
    assert streamed == flows, "XADD: every record once, in order"
    assert published == flows, "PUBLISH: every record once, in order"
    # Stats records went to the unix-socket output only, as EVE stats lines.
    stats = [json.loads(x) for x in r.lrange("u:stats", 0, -1)]
    assert stats and all(s["event_type"] == "stats" for s in stats)
    assert r.exists("t:stats") == 0 and r.exists("s:stats") == 0
    # Each output's counters: on exit (after the outputs drained), and in the stats records.
    for name in ("tcp-list", "stream", "channel"):
        assert sensor.final_counts(name) == (n, 0, 0)
    by = sensor.last_by_output()
    assert by["flows"]["written"] == n and by["tcp-list"]["dropped"] == 0 and by["tcp-list"]["written"] <= n


def test_auth_with_password_and_acl_user_and_a_refused_password(tmp_path, flowsentry_bin, servers):
    server = RedisServer(tmp_path, free_port(), "--requirepass", "s3cret",
                         "--user", "sensor", "on", ">sensorpw", "~fs:*", "&*", "+@all")
    servers.append(server)
    udp_port = free_port(socket.SOCK_DGRAM)
    outputs = [
        {"type": "redis", "name": "default-user", "port": server.port, "password": "s3cret", "mode": "rpush",
         "key": "fs:a:{type}", "types": ["flow"]},
        {"type": "redis", "name": "acl-user", "port": server.port, "username": "sensor", "password": "sensorpw",
         "mode": "rpush", "key": "fs:b:{type}", "types": ["flow"]},
        {"type": "redis", "name": "wrong", "port": server.port, "password": "nope", "mode": "rpush",
         "key": "fs:c:{type}", "types": ["flow"], "drain_seconds": 1, "backoff_max": 0.5},
    ]
    sensor = Sensor(flowsentry_bin, tmp_path, udp_port, outputs)
    try:
        n = 40
        send_flows(udp_port, n)
        wait_for(lambda: len(sensor.flow_lines()) >= n, 30, "the flow log")
        assert sensor.stop() == 0, sensor.stderr
    finally:
        sensor.kill()
    r = server.client(password="s3cret")
    flows = sensor.flow_lines()
    assert [x.decode() for x in r.lrange("fs:a:flow", 0, -1)] == flows
    assert [x.decode() for x in r.lrange("fs:b:flow", 0, -1)] == flows
    assert r.exists("fs:c:flow") == 0
    assert "output wrong" in sensor.stderr and "AUTH refused" in sensor.stderr, sensor.stderr
    assert "nope" not in sensor.stderr, "the password is not logged"
    # Unauthenticated clients are refused by the server itself (the oracle that AUTH mattered).
    with pytest.raises(redis.exceptions.AuthenticationError):
        server.client().ping()


def test_killed_and_restarted_server_drops_are_counted_and_the_file_has_everything(tmp_path, flowsentry_bin, servers):
    server = RedisServer(tmp_path, free_port())
    servers.append(server)
    udp_port = free_port(socket.SOCK_DGRAM)
    queue = 20
    outputs = [{"type": "redis", "name": "bus", "port": server.port, "mode": "rpush", "key": "k:{type}",
                "types": ["flow"], "queue": queue, "backoff_max": 0.5, "timeout": 2}]
    sensor = Sensor(flowsentry_bin, tmp_path, udp_port, outputs)
    try:
        # Phase 1: the server is up; every record arrives (fewer than the queue holds, so none dropped).
        send_flows(udp_port, 15)
        wait_for(lambda: server.client().llen("k:flow") == 15, 30, "phase 1 in Redis")
        # Phase 2: the server is gone; capture and the flow log go on, the output holds `queue` records.
        server.kill()
        send_flows(udp_port, 60)
        wait_for(lambda: len(sensor.flow_lines()) >= 75, 30, "phase 2 in the flow log")
        wait_for(lambda: "output bus" in sensor.stderr, 10, "the connection error logged")
        # Phase 3: a fresh server on the same port; the output reconnects and sends what it held, then new records.
        server.start()
        wait_for(lambda: "connected to redis" in sensor.stderr, 15, "the reconnection")
        send_flows(udp_port, 15)
        wait_for(lambda: len(sensor.flow_lines()) >= 90, 30, "phase 3 in the flow log")
        wait_for(lambda: [x.decode() for x in server.client().lrange("k:flow", -15, -1)] == sensor.flow_lines()[-15:],
                 30, "phase 3 in Redis")
        time.sleep(1.5)  # a stats record after the last send
        by = sensor.last_by_output()
        assert sensor.stop() == 0, sensor.stderr
    finally:
        sensor.kill()

    flows = sensor.flow_lines()
    assert len(flows) == 90, "the flow log lost nothing"
    after = [x.decode() for x in server.client().lrange("k:flow", 0, -1)]
    assert len(set(after)) == len(after), "no record twice"
    positions = [flows.index(x) for x in after]
    assert positions == sorted(positions), "in the flow log's order"
    assert flows[-15:] == after[-15:], "everything after the reconnection arrived"
    written, dropped, reconnects = sensor.final_counts("bus")
    assert reconnects >= 1
    assert dropped >= 60 - queue, "what did not fit in the queue was dropped and counted"
    assert written + dropped == 90, "every record written or counted as dropped"
    assert written == 15 + len(after), "written: phase 1 to the old server, the rest to the new one"
    assert by["bus"]["reconnects"] >= 1 and by["bus"]["dropped"] == dropped, "the stats records say the same"
