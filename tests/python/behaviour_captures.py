"""Synthetic captures for cross-flow behaviour detection (repetition,
beaconing, scanning) and for benign traffic that looks like it.

Every capture is classic pcap, Ethernet/IPv4, built by plain struct packing
with the helpers of synth_captures.py (no third-party packet library). The
traffic is made of whole sessions: TCP with the three-way handshake, data
both ways with consistent sequence and acknowledgement numbers (the receiver
acknowledges every second segment and the end of each write, or piggybacks
the acknowledgement on its reply), FIN/ACK close or RST where stated; UDP as
request/response pairs. Time is packet time from BASE_TS; every random
choice (jitter, sizes, ports, sequence numbers) comes from
`random.Random(seed)`, so a seed gives the same bytes every time.

Each `write_<name>(path, seed=...)` writes one capture and returns a
`CaptureInfo`: the sessions it holds (client, server, ports, protocol, the
time of their first packet = the SYN for TCP) and the attacker's address
for the attack scenarios, so a test can find the flows and recompute values
from the timestamps actually written (rounded to the microsecond, as in the
file). `SCENARIOS` maps a name to (function, kind), kind "attack:<behaviour>"
or "benign".

    python3 tests/python/behaviour_captures.py OUTDIR [NAME ...]
"""

from __future__ import annotations

import math
import ipaddress
import random
import struct
from dataclasses import dataclass, field
from pathlib import Path

from synth_captures import ACK, FIN, PSH, RST, SYN, eth, ipv4, tcp, udp

BASE_TS = 1_700_000_000.0
ATTACKER = "10.9.0.66"
MSS = 1448
CLIENT_MAC = "02:00:0a:09:00:01"
SERVER_MAC = "02:00:0a:09:00:02"
NTP_EPOCH_OFFSET = 2_208_988_800  # seconds from 1900-01-01 to 1970-01-01


# ---------------------------------------------------------------------------
# capture bookkeeping


@dataclass
class Session:
    """One flow as the generator made it: client (initiator) → server."""
    client: str
    sport: int
    server: str
    dport: int
    proto: str          # "TCP" or "UDP", as flow records name it
    start: float        # time of the first packet (the SYN for TCP), µs-rounded
    role: str = "attack"   # "attack", "benign" or "probe"
    outcome: str = ""      # scans: "silent", "rst", "open"


@dataclass
class CaptureInfo:
    name: str
    kind: str
    attacker: str | None
    sessions: list[Session] = field(default_factory=list)
    packets: int = 0
    snaplen: int = 262144


class Capture:
    """Packets of overlapping sessions, kept until written in time order."""

    def __init__(self):
        self.events: list[tuple[float, int, bytes]] = []
        self.ip_ids: dict[str, int] = {}

    def ip_id(self, host: str, rng: random.Random) -> int:
        v = self.ip_ids.get(host)
        if v is None:
            v = rng.randrange(1, 0xFFFF)
        v = (v + 1) & 0xFFFF
        self.ip_ids[host] = v
        return v

    def add(self, t: float, frame: bytes) -> None:
        self.events.append((round(t, 6), len(self.events), frame))

    def write(self, path, snaplen: int = 262144) -> int:
        self.events.sort(key=lambda e: (e[0], e[1]))
        with open(path, "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, 1))
            for ts, _, frame in self.events:
                sec = int(ts)
                usec = int(round((ts - sec) * 1e6))
                if usec >= 1_000_000:
                    sec, usec = sec + 1, usec - 1_000_000
                data = frame[:snaplen]
                f.write(struct.pack("<IIII", sec, usec, len(data), len(frame)) + data)
        return len(self.events)


def _frame(cap: Capture, rng, src, dst, l4: bytes, proto: int, to_server: bool, ttl=64) -> bytes:
    ip = ipv4(src, dst, proto, l4, ident=cap.ip_id(src, rng), df=(proto == 6), ttl=ttl)
    if to_server:
        return eth(ip, 0x0800, src=CLIENT_MAC, dst=SERVER_MAC)
    return eth(ip, 0x0800, src=SERVER_MAC, dst=CLIENT_MAC)


class TcpSession:
    """One TCP connection seen at a sensor next to the server.

    `t` is the session's clock; every method emits packets at `t` (moving it
    on) with the sequence and acknowledgement numbers the two stacks would
    use. Packets the server sends leave at once; the client's answers come
    one round trip later.
    """

    def __init__(self, cap: Capture, rng: random.Random, client: str, sport: int, server: str, dport: int,
                 t: float, rtt: float = 0.002, cwin: int = 64240, swin: int = 65160):
        self.cap, self.rng = cap, rng
        self.client, self.sport, self.server, self.dport = client, sport, server, dport
        self.t = t
        self.rtt = rtt
        self.nxt = {True: rng.getrandbits(32), False: rng.getrandbits(32)}   # True: the client's side
        self.win = {True: cwin, False: swin}
        self.start = round(t, 6)
        self.app_bytes = {True: 0, False: 0}
        self.pkts = {True: 0, False: 0}

    def emit(self, from_client: bool, flags: int, data: bytes = b"", seq: int | None = None,
             ack: int | None = None) -> None:
        src, dst = (self.client, self.server) if from_client else (self.server, self.client)
        sp, dp = (self.sport, self.dport) if from_client else (self.dport, self.sport)
        s = self.nxt[from_client] if seq is None else seq
        a = (self.nxt[not from_client] if flags & ACK else 0) if ack is None else ack
        seg = tcp(src, dst, sp, dp, flags, data, seq=s & 0xFFFFFFFF, ack=a & 0xFFFFFFFF,
                  win=self.win[from_client])
        self.cap.add(self.t, _frame(self.cap, self.rng, src, dst, seg, 6, from_client))
        if seq is None:
            self.nxt[from_client] = (self.nxt[from_client] + len(data) + (1 if flags & (SYN | FIN) else 0)) \
                & 0xFFFFFFFF
        self.app_bytes[from_client] += len(data)
        self.pkts[from_client] += 1

    def _wait(self, sender_is_client: bool) -> float:
        """Delay before the other side's answer to a packet from `sender_is_client` is seen."""
        return self.rtt * self.rng.uniform(0.9, 1.2) if not sender_is_client else \
            self.rng.uniform(0.00005, 0.0002)

    def handshake(self) -> "TcpSession":
        self.emit(True, SYN)
        self.t += self._wait(True)
        self.emit(False, SYN | ACK)
        self.t += self._wait(False)
        self.emit(True, ACK)
        return self

    def send(self, from_client: bool, data: bytes, delay: float = 0.0, ack: bool = True,
             gap: float = 0.00002) -> "TcpSession":
        """One application write: MSS-sized segments, PSH on the last. The
        peer acknowledges every second segment, and the end unless `ack` is
        False (its next packet, a reply, then carries the acknowledgement)."""
        self.t += delay
        chunks = [data[i:i + MSS] for i in range(0, len(data), MSS)] or [b""]
        for i, ch in enumerate(chunks):
            last = i == len(chunks) - 1
            if i:
                self.t += gap
            self.emit(from_client, ACK | (PSH if last else 0), ch)
            if i % 2 == 1 and not last:
                self.t += 0.00001
                self.emit(not from_client, ACK)
        if ack:
            self.t += self._wait(from_client)
            self.emit(not from_client, ACK)
        return self

    def close(self, from_client: bool, delay: float = 0.0, acked: bool = True) -> "TcpSession":
        """FIN from one side, FIN/ACK back, last ACK."""
        self.t += delay
        self.emit(from_client, FIN | ACK)
        self.t += self._wait(from_client)
        self.emit(not from_client, FIN | ACK)
        self.t += self._wait(not from_client)
        self.emit(from_client, ACK)
        return self

    def reset(self, from_client: bool, delay: float = 0.0) -> "TcpSession":
        self.t += delay
        self.emit(from_client, RST | ACK)
        return self

    def session(self, role: str = "attack") -> Session:
        return Session(self.client, self.sport, self.server, self.dport, "TCP", self.start, role)


def _ts(t: float) -> float:
    return round(t, 6)


# ---------------------------------------------------------------------------
# application payloads (shaped like the real protocols; what is encrypted on
# the wire is random bytes of a plausible length)

SSH_CLIENT_BANNER = b"SSH-2.0-libssh_0.9.6\r\n"
SSH_SERVER_BANNER = b"SSH-2.0-OpenSSH_8.9p1\r\n"

_LIBSSH_KEX = ("curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,"
               "ecdh-sha2-nistp521,diffie-hellman-group18-sha512,diffie-hellman-group16-sha512,"
               "diffie-hellman-group-exchange-sha256,diffie-hellman-group14-sha256,diffie-hellman-group14-sha1,"
               "diffie-hellman-group1-sha1,ext-info-c")
_LIBSSH_HOSTKEY = ("ssh-ed25519,ecdsa-sha2-nistp521,ecdsa-sha2-nistp384,ecdsa-sha2-nistp256,rsa-sha2-512,"
                   "rsa-sha2-256,ssh-rsa,ssh-dss,ssh-ed25519-cert-v01@openssh.com,"
                   "ecdsa-sha2-nistp521-cert-v01@openssh.com,ecdsa-sha2-nistp384-cert-v01@openssh.com,"
                   "ecdsa-sha2-nistp256-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,"
                   "rsa-sha2-256-cert-v01@openssh.com,ssh-rsa-cert-v01@openssh.com,ssh-dss-cert-v01@openssh.com")
_LIBSSH_ENC = ("chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr,"
               "aes192-ctr,aes128-ctr,aes256-cbc,aes192-cbc,aes128-cbc,3des-cbc")
_LIBSSH_MAC = ("hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,"
               "hmac-sha2-256,hmac-sha2-512,hmac-sha1")
_OPENSSH_KEX = ("curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,"
                "ecdh-sha2-nistp521,sntrup761x25519-sha512@openssh.com,diffie-hellman-group-exchange-sha256,"
                "diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256")
_OPENSSH_HOSTKEY = "rsa-sha2-512,rsa-sha2-256,ecdsa-sha2-nistp256,ssh-ed25519"
_OPENSSH_ENC = ("chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,"
                "aes256-gcm@openssh.com")
_OPENSSH_MAC = ("umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,"
                "hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,"
                "hmac-sha2-256,hmac-sha2-512,hmac-sha1")


def _namelist(s: str) -> bytes:
    return struct.pack("!I", len(s)) + s.encode()


def ssh_packet(payload: bytes, rng: random.Random, extra_blocks: int = 0) -> bytes:
    """An unencrypted SSH binary packet (RFC 4253 §6), block size 8."""
    pad = 8 - (5 + len(payload)) % 8
    if pad < 4:
        pad += 8
    pad += 8 * extra_blocks
    return struct.pack("!IB", 1 + len(payload) + pad, pad) + payload + rng.randbytes(pad)


def ssh_kexinit(rng: random.Random, kex, hostkey, enc, mac, comp="none,zlib@openssh.com",
                extra_blocks: int = 0) -> bytes:
    body = bytes([20]) + rng.randbytes(16)
    for nl in (kex, hostkey, enc, enc, mac, mac, comp, comp, "", ""):
        body += _namelist(nl)
    body += b"\0" + b"\0\0\0\0"
    return ssh_packet(body, rng, extra_blocks)


def ssh_ecdh_init(rng) -> bytes:
    return ssh_packet(bytes([30]) + struct.pack("!I", 32) + rng.randbytes(32), rng)


def ssh_ecdh_reply(rng) -> bytes:
    hostkey = _namelist("ssh-ed25519") + struct.pack("!I", 32) + rng.randbytes(32)
    sig = _namelist("ssh-ed25519") + struct.pack("!I", 64) + rng.randbytes(64)
    body = (bytes([31]) + struct.pack("!I", len(hostkey)) + hostkey + struct.pack("!I", 32) + rng.randbytes(32)
            + struct.pack("!I", len(sig)) + sig)
    return ssh_packet(body, rng)


def ssh_newkeys(rng) -> bytes:
    return ssh_packet(bytes([21]), rng)


def encrypted(rng: random.Random, lo: int, hi: int, step: int = 4) -> bytes:
    """An encrypted record of a size in [lo, hi] (multiple of `step`)."""
    return rng.randbytes(rng.randrange(lo, hi + 1, step) if step > 1 else rng.randint(lo, hi))


def _tls_record(ctype: int, body: bytes, version: int = 0x0303) -> bytes:
    return struct.pack("!BHH", ctype, version, len(body)) + body


def _ext(etype: int, body: bytes) -> bytes:
    return struct.pack("!HH", etype, len(body)) + body


def tls_client_hello(rng: random.Random, sni: str, pad_to: int | None = None) -> bytes:
    """A TLS 1.3 ClientHello record (x25519 key share, SNI, ALPN)."""
    ciphers = [0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8, 0xC013, 0xC014,
               0x009C, 0x009D, 0x002F, 0x0035]
    host = sni.encode()
    exts = _ext(0, struct.pack("!HBH", len(host) + 3, 0, len(host)) + host)
    exts += _ext(23, b"") + _ext(0xFF01, b"\0")
    exts += _ext(10, struct.pack("!H", 8) + struct.pack("!4H", 0x001D, 0x0017, 0x0018, 0x0019))
    exts += _ext(11, b"\x01\x00")
    exts += _ext(35, b"")
    alpn = b"\x02h2\x08http/1.1"
    exts += _ext(16, struct.pack("!H", len(alpn)) + alpn)
    exts += _ext(5, b"\x01\x00\x00\x00\x00")
    sig = [0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601]
    exts += _ext(13, struct.pack("!H", 2 * len(sig)) + struct.pack(f"!{len(sig)}H", *sig))
    exts += _ext(18, b"")
    exts += _ext(51, struct.pack("!HHH", 36, 0x001D, 32) + rng.randbytes(32))
    exts += _ext(45, b"\x01\x01")
    exts += _ext(43, b"\x04\x03\x04\x03\x03")
    body = (struct.pack("!H", 0x0303) + rng.randbytes(32) + b"\x20" + rng.randbytes(32)
            + struct.pack("!H", 2 * len(ciphers)) + struct.pack(f"!{len(ciphers)}H", *ciphers) + b"\x01\x00")
    base = len(body) + 2 + len(exts) + 4 + 5
    if pad_to is not None and pad_to - base >= 4:
        exts += _ext(21, b"\0" * (pad_to - base - 4))
    body += struct.pack("!H", len(exts)) + exts
    hs = bytes([1]) + struct.pack("!I", len(body))[1:] + body
    return _tls_record(22, hs, 0x0301)


def tls_server_hello(rng: random.Random, session_id_len: int = 32) -> bytes:
    exts = _ext(43, b"\x03\x04") + _ext(51, struct.pack("!HH", 0x001D, 32) + rng.randbytes(32))
    body = (struct.pack("!H", 0x0303) + rng.randbytes(32) + bytes([session_id_len]) + rng.randbytes(session_id_len)
            + struct.pack("!H", 0x1301) + b"\x00" + struct.pack("!H", len(exts)) + exts)
    return _tls_record(22, bytes([2]) + struct.pack("!I", len(body))[1:] + body)


TLS_CCS = _tls_record(20, b"\x01")


def tls_app(rng: random.Random, n: int) -> bytes:
    """TLS 1.3 application-data records holding `n` bytes in all (headers included)."""
    out = b""
    while n > 5:
        k = min(n - 5, 16401)
        out += _tls_record(23, rng.randbytes(k))
        n -= k + 5
    return out


# ---------------------------------------------------------------------------
# attacks


def _ssh_attempt_session(cap: Capture, rng: random.Random, client: str, sport: int, server: str, t: float,
                         attempts: int, rtt: float, think: tuple[float, float] = (0.005, 0.03)) -> TcpSession:
    """One SSH connection that fails to log in `attempts` times, then the
    client closes: banners, KEXINIT both ways, ECDH, NEWKEYS, service
    request, `attempts` × (USERAUTH_REQUEST password ~100 B, FAILURE
    50–80 B after the server's failure delay), FIN."""
    s = TcpSession(cap, rng, client, sport, server, 22, t, rtt=rtt).handshake()
    s.send(False, SSH_SERVER_BANNER, delay=rng.uniform(0.001, 0.004), ack=False)
    s.send(True, SSH_CLIENT_BANNER, delay=s._wait(False), ack=False)
    # The client's KEXINIT follows its banner at once; the server's KEXINIT
    # carries the acknowledgement of both.
    s.send(True, ssh_kexinit(rng, _LIBSSH_KEX, _LIBSSH_HOSTKEY, _LIBSSH_ENC, _LIBSSH_MAC,
                             comp="none,zlib@openssh.com,zlib", extra_blocks=rng.randint(0, 2)),
           delay=0.0003, ack=False)
    s.send(False, ssh_kexinit(rng, _OPENSSH_KEX, _OPENSSH_HOSTKEY, _OPENSSH_ENC, _OPENSSH_MAC,
                              extra_blocks=rng.randint(0, 1)), delay=0.0004, ack=False)
    s.send(True, ssh_ecdh_init(rng), delay=s._wait(False), ack=False)
    reply, nk = ssh_ecdh_reply(rng), ssh_newkeys(rng)
    if rng.random() < 0.5:
        s.send(False, reply + nk, delay=rng.uniform(0.002, 0.006), ack=False)
    else:
        s.send(False, reply, delay=rng.uniform(0.002, 0.006), ack=False)
        s.send(False, nk, delay=0.00003, ack=False)
    # NEWKEYS and SERVICE_REQUEST (encrypted from here on).
    s.send(True, ssh_newkeys(rng) + encrypted(rng, 44, 52), delay=s._wait(False), ack=False)
    s.send(False, encrypted(rng, 44, 52), delay=0.0003, ack=False)
    for i in range(attempts):
        s.send(True, encrypted(rng, 92, 112), delay=s._wait(False) + rng.uniform(*think), ack=True)
        s.send(False, encrypted(rng, 52, 76), delay=rng.uniform(0.3, 1.2), ack=False)
    s.t += s._wait(False)
    s.emit(True, ACK)
    s.close(True, delay=rng.uniform(0.001, 0.02))
    return s


def _ssh_guessing(path, seed: int, n: int, gap: tuple[float, float], name: str) -> CaptureInfo:
    rng = random.Random(seed)
    cap = Capture()
    info = CaptureInfo(name, "attack:repetition", ATTACKER)
    t = BASE_TS + rng.uniform(0.1, 1.0)
    sport = rng.randrange(33000, 52000)
    for _ in range(n):
        sport += rng.randint(1, 7)
        s = _ssh_attempt_session(cap, rng, ATTACKER, sport, "10.9.0.5", t, attempts=rng.randint(2, 3),
                                 rtt=rng.uniform(0.0008, 0.0015))
        info.sessions.append(s.session())
        t += rng.uniform(*gap)
    info.packets = cap.write(path)
    return info


def write_ssh_guessing_fast(path, seed: int = 1) -> CaptureInfo:
    """14 failed SSH logins from 10.9.0.66 to 10.9.0.5:22, one every 3–8 s."""
    return _ssh_guessing(path, seed, 14, (3.0, 8.0), "ssh_guessing_fast")


def write_ssh_guessing_slow(path, seed: int = 2) -> CaptureInfo:
    """12 failed SSH logins, one every 25–35 s (about 6 minutes)."""
    return _ssh_guessing(path, seed, 12, (25.0, 35.0), "ssh_guessing_slow")


_FTP_USERS = ["admin", "root", "ftp", "user", "test"]
_FTP_PASSWORDS = ["123456", "password", "admin", "12345678", "qwerty", "letmein", "111111", "abc123",
                  "ftp", "welcome", "admin123", "passw0rd", "root", "changeme", "1q2w3e4r", "master", "secret"]


def write_ftp_bruteforce(path, seed: int = 3) -> CaptureInfo:
    """15 FTP logins to 10.9.0.6:21 one every 2–5 s: 220 banner, USER/331,
    PASS/530 "Login incorrect." (after vsftpd's failed-login delay), QUIT/221,
    the server closes."""
    rng = random.Random(seed)
    cap = Capture()
    info = CaptureInfo("ftp_bruteforce", "attack:repetition", ATTACKER)
    t = BASE_TS + rng.uniform(0.1, 1.0)
    sport = rng.randrange(33000, 52000)
    user = rng.choice(_FTP_USERS)
    pwds = rng.sample(_FTP_PASSWORDS, 15)
    for i in range(15):
        sport += rng.randint(1, 5)
        s = TcpSession(cap, rng, ATTACKER, sport, "10.9.0.6", 21, t, rtt=rng.uniform(0.0008, 0.0015)).handshake()
        s.send(False, b"220 (vsFTPd 3.0.5)\r\n", delay=rng.uniform(0.002, 0.006), ack=False)
        s.send(True, f"USER {user}\r\n".encode(), delay=s._wait(False) + rng.uniform(0.001, 0.01), ack=False)
        s.send(False, b"331 Please specify the password.\r\n", delay=0.0002, ack=False)
        s.send(True, f"PASS {pwds[i]}\r\n".encode(), delay=s._wait(False) + rng.uniform(0.001, 0.01), ack=True)
        s.send(False, b"530 Login incorrect.\r\n", delay=rng.uniform(0.9, 1.4), ack=False)
        s.send(True, b"QUIT\r\n", delay=s._wait(False) + rng.uniform(0.001, 0.005), ack=False)
        s.send(False, b"221 Goodbye.\r\n", delay=0.0002, ack=False)
        s.close(False, delay=0.00005)
        info.sessions.append(s.session())
        t += rng.uniform(2.0, 5.0)
    info.packets = cap.write(path)
    return info


def beacon_schedule(rng: random.Random, sessions: int, period: float, jitter: float, missed: int,
                    t0: float) -> list[float]:
    """Start times of `sessions` check-ins: each sleep is period × U(1 − jitter,
    1 + jitter); `missed` beats (never the first or last) are skipped, so the
    gap there is two sleeps."""
    beats = sessions + missed
    skip = set(rng.sample(range(1, beats - 1), missed))
    out, t = [], t0
    for k in range(beats):
        if k not in skip:
            out.append(_ts(t))
        t += period * rng.uniform(1 - jitter, 1 + jitter)
    return out


def write_https_beacon(path, seed: int = 4) -> CaptureInfo:
    """40 TLS 1.3 check-ins from 10.9.0.66 to 10.9.0.7:443, every 30 s with
    ±20 % uniform jitter on each sleep and 3 missed beats. Client ~520 B
    (ClientHello, Finished, a small request), server ~1500–1700 B; the client
    closes with FIN."""
    rng = random.Random(seed)
    cap = Capture()
    info = CaptureInfo("https_beacon", "attack:beaconing", ATTACKER)
    sport = rng.randrange(40000, 50000)
    for start in beacon_schedule(rng, 40, 30.0, 0.2, 3, BASE_TS + rng.uniform(0.1, 1.0)):
        sport += rng.randint(1, 40)
        rtt = rng.uniform(0.02, 0.035)
        s = TcpSession(cap, rng, ATTACKER, sport, "10.9.0.7", 443, start, rtt=rtt).handshake()
        s.send(True, tls_client_hello(rng, "cdn-static-assets.example.net"), delay=0.0002, ack=True)
        flight = tls_server_hello(rng) + TLS_CCS + tls_app(rng, rng.randint(1195, 1270))
        s.send(False, flight, delay=rng.uniform(0.001, 0.003), ack=False)
        s.send(True, TLS_CCS + tls_app(rng, 58) + tls_app(rng, rng.randint(150, 170)), delay=s._wait(False),
               ack=True)
        s.send(False, tls_app(rng, rng.randint(160, 300)), delay=rng.uniform(0.03, 0.12), ack=False)
        s.t += s._wait(False)
        s.emit(True, ACK)
        s.close(True, delay=rng.uniform(0.01, 0.05))
        info.sessions.append(s.session())
    info.packets = cap.write(path)
    return info


def _syn_probe(cap: Capture, rng: random.Random, scanner: str, sport: int, target: str, dport: int, t: float,
               answer: str, info: CaptureInfo) -> None:
    """One nmap-style raw SYN (window 1024): no answer, RST/ACK from the
    target, or SYN-ACK answered by the scanner's kernel with a bare RST."""
    s = TcpSession(cap, rng, scanner, sport, target, dport, t, rtt=rng.uniform(0.0005, 0.003), cwin=1024)
    isn = s.nxt[True]
    s.emit(True, SYN)
    if answer == "rst":
        s.t += s._wait(True) + rng.uniform(0.0001, 0.0005)
        s.emit(False, RST | ACK, seq=0, ack=isn + 1)
    elif answer == "open":
        s.t += s._wait(True) + rng.uniform(0.0001, 0.0005)
        s.emit(False, SYN | ACK)
        s.t += s._wait(False)
        s.emit(True, RST, ack=0)
    sess = s.session("probe")
    sess.outcome = answer
    info.sessions.append(sess)


def write_slow_syn_scan(path, seed: int = 5) -> CaptureInfo:
    """SYN probes from 10.9.0.66 to port 22 of 10.9.1.1–40 (shuffled), one
    every 20 s (about 13 min): 35 unanswered, 4 refused with RST/ACK, 1
    SYN-ACK that the scanner resets."""
    rng = random.Random(seed)
    cap = Capture()
    info = CaptureInfo("slow_syn_scan", "attack:scanning", ATTACKER)
    targets = [f"10.9.1.{i}" for i in range(1, 41)]
    rng.shuffle(targets)
    answers = ["silent"] * 35 + ["rst"] * 4 + ["open"]
    rng.shuffle(answers)
    sport = rng.randrange(40000, 60000)
    t = BASE_TS + rng.uniform(0.1, 1.0)
    for target, answer in zip(targets, answers):
        _syn_probe(cap, rng, ATTACKER, sport, target, 22, t, answer, info)
        t += 20.0 + rng.uniform(-0.05, 0.05)
    info.packets = cap.write(path)
    return info


_SCAN_PORTS = [21, 22, 23, 25, 53, 80, 110, 111, 135, 139, 143, 443, 445, 587, 993, 995, 1433, 1723, 2049,
               3306, 3389, 5432, 5900, 6379, 8000, 8080, 8443, 9000, 9200, 27017]


def write_vertical_slow_scan(path, seed: int = 6) -> CaptureInfo:
    """SYN probes from 10.9.0.66 to 30 ports of 10.9.0.8 (shuffled), one every
    15 s: closed ports answer RST/ACK, two open ones (22, 80) SYN-ACK and the
    scanner resets."""
    rng = random.Random(seed)
    cap = Capture()
    info = CaptureInfo("vertical_slow_scan", "attack:scanning", ATTACKER)
    ports = list(_SCAN_PORTS)
    rng.shuffle(ports)
    sport = rng.randrange(40000, 60000)
    t = BASE_TS + rng.uniform(0.1, 1.0)
    for port in ports:
        _syn_probe(cap, rng, ATTACKER, sport, "10.9.0.8", port, t, "open" if port in (22, 80) else "rst", info)
        t += 15.0 + rng.uniform(-0.05, 0.05)
    info.packets = cap.write(path)
    return info


# ---------------------------------------------------------------------------
# benign look-alikes


def _ntp_ts(t: float) -> bytes:
    sec = int(t) + NTP_EPOCH_OFFSET
    frac = int((t - int(t)) * (1 << 32)) & 0xFFFFFFFF
    return struct.pack("!II", sec & 0xFFFFFFFF, frac)


def write_ntp_polling(path, seed: int = 7, source_port: int | None = None) -> CaptureInfo:
    """An NTPv4 client 10.9.2.10 polling 10.9.0.123:123 every 64 s (±1 s)
    for 40 minutes: mode 3 request, mode 4 reply, 48 bytes each. The client
    takes a new random source port per request (chrony, systemd-timesyncd),
    so every poll is its own flow; `source_port=123` makes ntpd's single
    long-lived flow instead."""
    rng = random.Random(seed)
    cap = Capture()
    info = CaptureInfo("ntp_polling", "benign", None)
    client, server = "10.9.2.10", "10.9.0.123"
    t = BASE_TS + rng.uniform(0.1, 1.0)
    seen: set[int] = set()
    ref = t - 900.0
    while t < BASE_TS + 40 * 60:
        sp = source_port
        if sp is None:
            sp = rng.randrange(32768, 61000)
            while sp in seen:
                sp = rng.randrange(32768, 61000)
            seen.add(sp)
        xmit = _ntp_ts(t + rng.uniform(-0.002, 0.002))   # client clock slightly off
        req = bytes([0x23, 0, 6, 0xEC]) + struct.pack("!II", 0, 0) + b"\0\0\0\0" + b"\0" * 24 + xmit
        cap.add(t, _frame(cap, rng, client, server, udp(client, server, sp, 123, req), 17, True))
        owd = rng.uniform(0.0003, 0.0008)
        rx, tx = t + owd, t + owd + rng.uniform(0.00002, 0.00006)
        reply = (bytes([0x24, 2, 6, 0xE9]) + struct.pack("!II", 0x0000_01A3, 0x0000_0C2B) + bytes([192, 0, 2, 10])
                 + _ntp_ts(ref) + xmit + _ntp_ts(rx) + _ntp_ts(tx))
        cap.add(t + 2 * owd, _frame(cap, rng, server, client, udp(server, client, 123, sp, reply), 17, False))
        if sp not in {s.sport for s in info.sessions}:
            info.sessions.append(Session(client, sp, server, 123, "UDP", _ts(t), "benign"))
        if rng.random() < 0.1:
            ref = t
        t += 64.0 + rng.uniform(-1.0, 1.0)
    info.packets = cap.write(path)
    return info


_IMAP_GREETING = (b"* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ AUTH=PLAIN] "
                  b"Dovecot ready.\r\n")


def write_imap_mail_check(path, seed: int = 8) -> CaptureInfo:
    """A mail client 10.9.2.25 checking 10.9.0.25:143 every 60 s (±2 s) for
    30 minutes: greeting, LOGIN (OK), SELECT INBOX, UID FETCH of the flags
    of new mail, LOGOUT; the server closes. A successful login every time;
    server bytes ~500 B."""
    rng = random.Random(seed)
    cap = Capture()
    info = CaptureInfo("imap_mail_check", "benign", None)
    client, server = "10.9.2.25", "10.9.0.25"
    t = BASE_TS + rng.uniform(0.1, 1.0)
    sport = rng.randrange(40000, 50000)
    exists, uidnext = rng.randint(40, 400), rng.randint(5000, 9000)
    for _ in range(30):
        sport += rng.randint(1, 30)
        if rng.random() < 0.2:
            exists, uidnext = exists + 1, uidnext + 1
        s = TcpSession(cap, rng, client, sport, server, 143, t, rtt=rng.uniform(0.0005, 0.002)).handshake()
        s.send(False, _IMAP_GREETING, delay=rng.uniform(0.002, 0.01), ack=False)
        s.send(True, b"a001 LOGIN alice \"correct-horse-battery\"\r\n", delay=s._wait(False), ack=False)
        s.send(False, b"a001 OK [CAPABILITY IMAP4rev1 IDLE UIDPLUS MOVE] Logged in\r\n",
               delay=rng.uniform(0.01, 0.04), ack=False)
        s.send(True, b"a002 SELECT INBOX\r\n", delay=s._wait(False), ack=False)
        sel = (b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
               b"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted.\r\n"
               + f"* {exists} EXISTS\r\n* 0 RECENT\r\n* OK [UIDVALIDITY 1698765432] UIDs valid\r\n"
                 f"* OK [UIDNEXT {uidnext}] Predicted next UID\r\n".encode()
               + b"a002 OK [READ-WRITE] Select completed (0.001 + 0.000 secs).\r\n")
        s.send(False, sel, delay=rng.uniform(0.001, 0.004), ack=False)
        s.send(True, f"a003 UID FETCH {uidnext - 1}:* (FLAGS)\r\n".encode(), delay=s._wait(False), ack=False)
        s.send(False, f"* {exists} FETCH (UID {uidnext - 1} FLAGS (\\Seen))\r\na003 OK Fetch completed.\r\n".encode(),
               delay=rng.uniform(0.0005, 0.002), ack=False)
        s.send(True, b"a004 LOGOUT\r\n", delay=s._wait(False), ack=False)
        s.send(False, b"* BYE Logging out\r\na004 OK Logout completed.\r\n",
               delay=0.0003, ack=False)
        s.close(False, delay=0.00005)
        info.sessions.append(s.session("benign"))
        t += 60.0 + rng.uniform(-2.0, 2.0)
    info.packets = cap.write(path)
    return info


def write_ssh_typo(path, seed: int = 9) -> CaptureInfo:
    """One user 10.9.2.20 to 10.9.0.5:22: two short sessions that fail (a
    mistyped password, then the user gives up), 5–10 s apart, then one
    interactive session of 5 minutes: keystrokes and their echoes (36-byte
    encrypted packets), command output bursts; server bytes > 50 KB."""
    rng = random.Random(seed)
    cap = Capture()
    info = CaptureInfo("ssh_typo", "benign", None)
    client, server = "10.9.2.20", "10.9.0.5"
    t = BASE_TS + rng.uniform(0.1, 1.0)
    sport = rng.randrange(40000, 50000)
    for _ in range(2):
        sport += rng.randint(1, 9)
        s = _ssh_attempt_session(cap, rng, client, sport, server, t, attempts=1, rtt=0.004, think=(2.0, 3.5))
        info.sessions.append(s.session("benign"))
        t += rng.uniform(5.0, 10.0)
        t = max(t, s.t + 0.5)
    sport += rng.randint(1, 9)
    s = TcpSession(cap, rng, client, sport, server, 22, t, rtt=0.004).handshake()
    s.send(False, SSH_SERVER_BANNER, delay=0.002, ack=False)
    s.send(True, b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n", delay=s._wait(False), ack=False)
    s.send(True, ssh_kexinit(rng, _OPENSSH_KEX + ",ext-info-c", _OPENSSH_HOSTKEY, _OPENSSH_ENC, _OPENSSH_MAC),
           delay=0.0003, ack=False)
    s.send(False, ssh_kexinit(rng, _OPENSSH_KEX, _OPENSSH_HOSTKEY, _OPENSSH_ENC, _OPENSSH_MAC), delay=0.0004,
           ack=False)
    s.send(True, ssh_ecdh_init(rng), delay=s._wait(False), ack=False)
    s.send(False, ssh_ecdh_reply(rng) + ssh_newkeys(rng), delay=0.004, ack=False)
    s.send(True, ssh_newkeys(rng) + encrypted(rng, 44, 52), delay=s._wait(False), ack=False)
    s.send(False, encrypted(rng, 44, 52), delay=0.0003, ack=False)
    # password typed correctly this time, success, channel, pty, shell, motd
    s.send(True, encrypted(rng, 92, 112), delay=s._wait(False) + rng.uniform(3.0, 5.0), ack=False)
    s.send(False, encrypted(rng, 28, 36), delay=rng.uniform(0.05, 0.15), ack=False)
    s.send(True, encrypted(rng, 400, 480), delay=s._wait(False), ack=False)    # channel open, pty-req, env, shell
    s.send(False, encrypted(rng, 900, 1400), delay=0.02, ack=True)             # confirmations, motd, prompt
    end = s.t + 300.0
    while s.t < end:
        # a command line: keystrokes, each echoed by the server
        for _ in range(rng.randint(4, 25)):
            s.send(True, encrypted(rng, 36, 36), delay=rng.uniform(0.08, 0.35), ack=False)
            s.send(False, encrypted(rng, 36, 36), delay=rng.uniform(0.0003, 0.001), ack=False)
            s.t += s._wait(False) + 0.03
            s.emit(True, ACK)
        # Enter, then the command's output and a new prompt
        s.send(True, encrypted(rng, 36, 36), delay=rng.uniform(0.1, 0.4), ack=False)
        out = int(min(40000, max(80, rng.lognormvariate(7.5, 1.3))))
        s.send(False, encrypted(rng, out, out + 64), delay=rng.uniform(0.005, 0.2), ack=True)
        s.t += rng.uniform(1.0, 12.0)   # reading, thinking
    s.send(True, encrypted(rng, 36, 36), delay=0.2, ack=False)                   # "exit"
    s.send(False, encrypted(rng, 120, 180), delay=0.01, ack=False)               # exit-status, eof, close
    s.send(True, encrypted(rng, 36, 52), delay=s._wait(False), ack=True)         # close
    s.close(True, delay=0.001)
    info.sessions.append(s.session("benign"))
    info.packets = cap.write(path)
    return info


def write_browser_cdn_burst(path, seed: int = 10) -> CaptureInfo:
    """A browser 10.9.2.30 opening 30 TLS connections to 10.9.0.80:443 within
    2 s; responses from 2 KB to 400 KB (lognormal); a third of the
    connections stay open, idle, for 30–60 s before the client closes them.
    Captured with a 64-byte snap length (the file stays small; IP lengths
    keep the true sizes)."""
    rng = random.Random(seed)
    cap = Capture()
    info = CaptureInfo("browser_cdn_burst", "benign", None, snaplen=64)
    client, server = "10.9.2.30", "10.9.0.80"
    starts = sorted(BASE_TS + rng.uniform(0.0, 2.0) for _ in range(30))
    keep = set(rng.sample(range(30), 10))
    sport = rng.randrange(40000, 50000)
    # Lognormal sizes, stretched in log space onto exactly 2 KB … 400 KB.
    logs = [rng.gauss(math.log(15_000), 1.4) for _ in range(30)]
    lo, hi = min(logs), max(logs)
    sizes = [int(round(math.exp(math.log(2_000) + (x - lo) / (hi - lo) * math.log(200)))) for x in logs]
    for i, t in enumerate(starts):
        sport += rng.randint(1, 3)
        s = TcpSession(cap, rng, client, sport, server, 443, t, rtt=rng.uniform(0.008, 0.015)).handshake()
        s.send(True, tls_client_hello(rng, "static.cdn.example.org", pad_to=517), delay=0.0002, ack=True)
        flight = tls_server_hello(rng) + TLS_CCS + tls_app(rng, rng.randint(2900, 3300))
        s.send(False, flight, delay=rng.uniform(0.001, 0.003), ack=False)
        s.send(True, TLS_CCS + tls_app(rng, 58) + tls_app(rng, rng.randint(380, 620)), delay=s._wait(False),
               ack=True)
        s.send(False, tls_app(rng, sizes[i]), delay=rng.uniform(0.005, 0.06), ack=True, gap=0.00012)
        s.close(True, delay=rng.uniform(30.0, 60.0) if i in keep else rng.uniform(0.2, 3.0))
        info.sessions.append(s.session("benign"))
    info.packets = cap.write(path, snaplen=info.snaplen)
    return info


def write_monitoring_poller(path, seed: int = 11) -> CaptureInfo:
    """A poller 10.9.2.50 doing GET /health on 10.9.0.90–94:80 every 30 s for
    20 minutes; 200 OK with a 20–40 byte JSON body, Connection: close (the
    server closes)."""
    rng = random.Random(seed)
    cap = Capture()
    info = CaptureInfo("monitoring_poller", "benign", None)
    client = "10.9.2.50"
    servers = [f"10.9.0.{i}" for i in range(90, 95)]
    sport = rng.randrange(40000, 50000)
    t0 = BASE_TS + rng.uniform(0.1, 1.0)
    for r in range(40):
        tr = t0 + 30.0 * r + rng.uniform(0.0, 0.05)
        for j, server in enumerate(servers):
            sport += rng.randint(1, 4)
            t = tr + 0.004 * j + rng.uniform(0.0, 0.002)
            s = TcpSession(cap, rng, client, sport, server, 80, t, rtt=rng.uniform(0.0003, 0.001)).handshake()
            req = (f"GET /health HTTP/1.1\r\nHost: {server}\r\nUser-Agent: Go-http-client/1.1\r\n"
                   "Accept-Encoding: gzip\r\nConnection: close\r\n\r\n").encode()
            s.send(True, req, delay=0.0001, ack=False)
            body = f'{{"status":"ok","uptime_s":{int(t - BASE_TS) + rng.randint(10**3, 10**4)}}}'.encode()
            body = body[:40]
            stamp = "Tue, 14 Nov 2023 22:13:20 GMT"
            resp = (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDate: {stamp}\r\n"
                    f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
            s.send(False, resp, delay=rng.uniform(0.0005, 0.003), ack=False)
            s.close(False, delay=0.00005)
            info.sessions.append(s.session("benign"))
    info.packets = cap.write(path)
    return info



def dns_message(qid: int, name: str, qtype: int, response: bool = False, answer: bytes = b"") -> bytes:
    """A DNS message (RFC 1035 §4.1) with one question; a response carries
    `answer` (already encoded RRs, counted as one)."""
    flags = 0x8180 if response else 0x0100
    q = b"".join(bytes([len(label)]) + label.encode() for label in name.split(".")) + b"\0"
    q += struct.pack("!HH", qtype, 1)
    return struct.pack("!HHHHHH", qid, flags, 1, 1 if answer else 0, 0, 0) + q + answer


def _txt_rr(text: bytes) -> bytes:
    return b"\xc0\x0c" + struct.pack("!HHIH", 16, 1, 0, len(text) + 1) + bytes([len(text)]) + text


def _a_rr(addr: str) -> bytes:
    return b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + ipaddress.ip_address(addr).packed


def _dns_exchange(cap: Capture, rng, info: CaptureInfo, client: str, resolver: str, t: float, name: str,
                  qtype: int, answer: bytes, label: str) -> None:
    sp = rng.randrange(32768, 61000)
    qid = rng.randrange(65536)
    cap.add(t, _frame(cap, rng, client, resolver, udp(client, resolver, sp, 53, dns_message(qid, name, qtype)), 17, True))
    rt = t + rng.uniform(0.002, 0.030)
    reply = dns_message(qid, name, qtype, response=True, answer=answer)
    cap.add(rt, _frame(cap, rng, resolver, client, udp(resolver, client, 53, sp, reply), 17, False))
    info.sessions.append(Session(client, sp, resolver, 53, "UDP", _ts(t), label))


def write_dns_txt_c2(path, seed: int = 12) -> CaptureInfo:
    """A DNS command channel: 10.9.0.66 asks its resolver 10.9.0.53 for TXT
    records of 100 names under c2.example.net, each a random 16–28 character
    base32 label (a session id and a counter, as dnscat-style tools encode
    them), one every 3–9 s; the answers carry 60–180 bytes of base64 text."""
    rng = random.Random(seed)
    cap = Capture()
    info = CaptureInfo("dns_txt_c2", "attack:dns_tunnel", ATTACKER)
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    b64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    t = BASE_TS + rng.uniform(0.1, 1.0)
    for _ in range(100):
        label = "".join(rng.choice(alphabet) for _ in range(rng.randint(16, 28)))
        text = bytes(rng.choice(b64) for _ in range(rng.randint(60, 180)))
        _dns_exchange(cap, rng, info, ATTACKER, "10.9.0.53", t, f"{label}.c2.example.net", 16, _txt_rr(text), "attack")
        t += rng.uniform(3, 9)
    info.packets = cap.write(path)
    return info


def write_dns_browsing(path, seed: int = 13) -> CaptureInfo:
    """A browsing client 10.9.2.60 resolving, over 20 minutes, 160 A/AAAA
    look-ups of CDN and site names: video CDN hosts with random-looking
    labels (r3---sn-abc12de.googlevideo.com), image and script hosts, some
    repeated, a few TXT look-ups (SPF-style) — the DNS of ordinary browsing."""
    rng = random.Random(seed)
    cap = Capture()
    info = CaptureInfo("dns_browsing", "benign", None)
    client = "10.9.2.60"
    names = ["www.wikipedia.org", "en.wikipedia.org", "upload.wikimedia.org", "login.wikimedia.org",
             "www.bbc.co.uk", "static.files.bbci.co.uk", "ichef.bbci.co.uk", "www.example.com",
             "fonts.googleapis.com", "fonts.gstatic.com", "www.google.com", "apis.google.com",
             "images-na.ssl-images-amazon.com", "m.media-amazon.com", "www.amazon.com",
             "cdn.jsdelivr.net", "ajax.googleapis.com", "platform.twitter.com", "abs.twimg.com"]
    alnum = "abcdefghijklmnopqrstuvwxyz0123456789"
    for _ in range(12):
        names.append(f"r{rng.randint(1, 9)}---sn-{''.join(rng.choice(alnum) for _ in range(8))}.googlevideo.com")
    for _ in range(8):
        names.append(f"d{''.join(rng.choice(alnum) for _ in range(12))}.cloudfront.net")
    t = BASE_TS + rng.uniform(0.1, 1.0)
    for _ in range(160):
        name = rng.choice(names)
        qtype = rng.choice([1, 1, 28]) if rng.random() > 0.03 else 16
        ans = _a_rr(f"10.9.{rng.randint(3, 9)}.{rng.randint(1, 250)}") if qtype == 1 else b""
        _dns_exchange(cap, rng, info, client, "10.9.0.53", t, name, qtype, ans, "benign")
        t += rng.expovariate(1 / 7.5)
    info.packets = cap.write(path)
    return info

SCENARIOS = {
    "ssh_guessing_fast": (write_ssh_guessing_fast, "attack:repetition"),
    "ssh_guessing_slow": (write_ssh_guessing_slow, "attack:repetition"),
    "ftp_bruteforce": (write_ftp_bruteforce, "attack:repetition"),
    "https_beacon": (write_https_beacon, "attack:beaconing"),
    "slow_syn_scan": (write_slow_syn_scan, "attack:scanning"),
    "vertical_slow_scan": (write_vertical_slow_scan, "attack:scanning"),
    "dns_txt_c2": (write_dns_txt_c2, "attack:dns_tunnel"),
    "ntp_polling": (write_ntp_polling, "benign"),
    "imap_mail_check": (write_imap_mail_check, "benign"),
    "ssh_typo": (write_ssh_typo, "benign"),
    "browser_cdn_burst": (write_browser_cdn_burst, "benign"),
    "monitoring_poller": (write_monitoring_poller, "benign"),
    "dns_browsing": (write_dns_browsing, "benign"),
}


if __name__ == "__main__":
    import sys
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for name in sys.argv[2:] or SCENARIOS:
        fn, kind = SCENARIOS[name]
        p = out / f"{name}.pcap"
        inf = fn(p)
        print(f"{name:20s} {kind:20s} {inf.packets:6d} packets {len(inf.sessions):4d} sessions "
              f"{p.stat().st_size / 1024:7.1f} KiB")
