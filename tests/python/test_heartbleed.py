"""Heartbleed (CVE-2014-0160) by content (docs/features.md, "Web attacks by
content"): real TCP connections on loopback, captured by tcpdump, each
opened with a real TLS ClientHello and the server's real answer (Python's
ssl module over memory buffers), then heartbeat records sent raw — one
connection asks 3 bytes and gets 16 KiB back (a vulnerable server's
over-read), one gets its 40-byte heartbeat echoed at its size. tshark reads
the heartbeat records' lengths; the sensor must flag the first and only it."""
from __future__ import annotations

import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import REPO, loopback_tcpdump, replay_flows_and_alerts

MODEL = REPO / "rules" / "flowsentry.fsb"
SIGNATURE_ID = 9100006


def hello_pair(tmp: Path) -> tuple[bytes, bytes]:
    """A real ClientHello and the server's first flight in answer, as bytes."""
    key, cert = tmp / "k.pem", tmp / "c.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "2", "-subj", "/CN=lab.test"], check=True, capture_output=True)
    cctx = ssl.create_default_context()
    cctx.check_hostname = False
    cctx.verify_mode = ssl.CERT_NONE
    cctx.maximum_version = ssl.TLSVersion.TLSv1_2
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(cert, key)
    ci, co, si, so = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    c = cctx.wrap_bio(ci, co, server_hostname="lab.test")
    s = sctx.wrap_bio(si, so, server_side=True)
    with pytest.raises(ssl.SSLWantReadError):
        c.do_handshake()
    client_hello = co.read()
    si.write(client_hello)
    with pytest.raises(ssl.SSLWantReadError):
        s.do_handshake()
    return client_hello, so.read()


def heartbeat(payload_length: int, body: bytes) -> bytes:
    msg = bytes([1]) + payload_length.to_bytes(2, "big") + body
    return bytes([24, 3, 2]) + len(msg).to_bytes(2, "big") + msg


def capture(tmp: Path, exchanges: list[tuple[bytes, bytes]]) -> Path:
    client_hello, flight = hello_pair(tmp)
    pcap = tmp / "heartbeats.pcap"
    port, dump = loopback_tcpdump(pcap)
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(4)
    server.settimeout(10)

    def serve():
        for _, answer in exchanges:
            conn, _ = server.accept()
            with conn:
                conn.settimeout(5)
                got = b""
                while len(got) < len(client_hello):
                    got += conn.recv(65536)
                conn.sendall(flight)
                conn.recv(65536)  # the heartbeat
                conn.sendall(answer)
                time.sleep(0.2)

    t = threading.Thread(target=serve, daemon=True)
    try:
        time.sleep(1.0)
        if dump.poll() is not None:
            pytest.skip(f"tcpdump cannot capture on lo: {dump.stderr.read().decode()[:200]}")
        t.start()
        for request, _ in exchanges:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
                c.sendall(client_hello)
                got = b""
                while len(got) < len(flight):
                    got += c.recv(65536)
                c.sendall(request)
                time.sleep(0.5)
        t.join(timeout=10)
        time.sleep(1.0)
    finally:
        server.close()
        dump.send_signal(signal.SIGINT)
        dump.wait(timeout=10)
    return pcap


@pytest.mark.skipif(shutil.which("tcpdump") is None or shutil.which("openssl") is None, reason="tcpdump or openssl missing")
def test_a_heartbeat_answered_with_16_kib_for_3_bytes_is_heartbleed(flowsentry_bin, tmp_path):
    bleed = (heartbeat(0x4000, b""), heartbeat(0x4000, bytes(range(256)) * 64 + b"\0" * 16))
    echo_body = b"x" * 24 + b"\0" * 16
    echo = (heartbeat(24, echo_body), bytes([24, 3, 2, 0, 43, 2, 0, 24]) + echo_body)
    pcap = capture(tmp_path, [bleed, echo])
    if shutil.which("tshark"):
        out = subprocess.run(["tshark", "-n", "-r", str(pcap), "-Y", "tls.record.content_type == 24", "-T", "fields",
                              "-e", "tcp.srcport", "-e", "tcp.dstport", "-e", "tls.record.length"],
                             capture_output=True, text=True, check=True).stdout.split("\n")
        lengths = sorted(int(line.split("\t")[2].split(",")[0]) for line in out if line)
        assert lengths == [3, 43, 43, 16403], lengths
    recs, alerts = replay_flows_and_alerts(flowsentry_bin, pcap, tmp_path, MODEL)
    assert len(recs) == 2
    flagged = [r for r in recs if (r.get("behaviour") or {}).get("web_attack", 0) >= 0.8]
    assert len(flagged) == 1 and flagged[0]["ml"]["class"] == "webattack"
    assert flagged[0]["tls"]["heartbeat"]["server_max_length"] == 16403
    content = [a for a in alerts if a["alert"]["signature_id"] == SIGNATURE_ID and a["behaviour"].get("aggregate") != "closing"]
    assert len(content) == 1 and content[0]["behaviour"]["components"]["families"] == "tls_heartbleed"
    assert "Heartbleed" in content[0]["behaviour"]["reason"]
    # The signature's one text covers the TLS family too (not "in HTTP requests" alone).
    assert "TLS" in content[0]["alert"]["signature"], content[0]["alert"]["signature"]
