#!/usr/bin/env python3
"""How fast one sensor's Redis output sends (docs/outputs.md): runs
`flowsentry run` on lo with a Redis output whose server is down, sends
N UDP flows (distinct ports), waits until the flow log has them all (the
output holds them in its queue), starts redis-server, and times how fast
the held records arrive (LLEN polled every 5 ms). Needs root (capture on
lo), redis-server and redis-py. Usage: scripts/redis-output-rate.py [N]"""

import json, os, signal, socket, subprocess, sys, tempfile, time
from pathlib import Path

import redis

N = int(sys.argv[1]) if len(sys.argv) > 1 else 40000
binary = os.environ.get("FLOWSENTRY_BIN", str(Path(__file__).resolve().parents[1] / ".build/release/flowsentry"))
with tempfile.TemporaryDirectory() as tmp:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]
    flows = Path(tmp) / "flows.json"
    cfg = Path(tmp) / "c.yaml"
    cfg.write_text(json.dumps({
        "capture": {"interface": "lo", "bpf_filter": "udp and dst host 127.0.0.2 and dst portrange 20000-59999", "buffer_mb": 64},
        "flow": {"idle_timeout": 1, "max_flows": N + 1000}, "detection": {"enabled": False},
        "outputs": {"flows": str(flows), "queue_capacity": 2 * N,
                    "list": [{"type": "redis", "port": port, "mode": "rpush", "types": ["flow"], "queue": 2 * N, "backoff_max": 0.2}]}}))
    sensor = subprocess.Popen([binary, "run", "--config", str(cfg)], stderr=subprocess.DEVNULL)
    time.sleep(2)
    out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(N):
        out.sendto(b"x", ("127.0.0.2", 20000 + i % 40000))
    deadline = time.monotonic() + 120
    while (not flows.exists() or sum(1 for _ in flows.open()) < N) and time.monotonic() < deadline:
        time.sleep(0.2)
    server = subprocess.Popen(["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
    try:
        r = redis.Redis(port=port)
        while True:
            try: r.ping(); break
            except redis.exceptions.ConnectionError: time.sleep(0.01)
        first = None
        while time.monotonic() < deadline:
            n, now = r.llen("flowsentry:flow"), time.monotonic()
            if n and first is None: first = (now, n)
            if n >= N: break
            time.sleep(0.005)
        size = flows.stat().st_size // N
        rate = (N - first[1]) / (now - first[0])
        print(f"{N - first[1]} held records in {now - first[0]:.3f} s: {rate:,.0f} records/s, {rate * size / 1e6:,.0f} MB/s ({size} B/record)")
    finally:
        sensor.send_signal(signal.SIGINT); sensor.wait(30)
        server.kill(); server.wait()
