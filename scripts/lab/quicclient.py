#!/usr/bin/env python3
"""HTTP/3 client of the lab's QUIC capture (benign-wide-5): aioquic (PyPI).

One of four behaviours per run (seeded parameters come from benignwide.py):

* page loads (--visits N): per visit one connection; GET the page, then
  every object it names (<link rel="preload" href=...>), up to --objects,
  multiplexed on that connection; visits after the first resume the TLS
  session with the ticket of the one before and, with --zero-rtt, send the
  page request as 0-RTT early data before the handshake completes.
* a download (--path P --range N): one GET with `Range: bytes=0-(N-1)`.
* a long-lived connection (--poll N): GET a small object every --poll-every
  seconds; after --rebind-after of them the client moves to a new UDP
  socket (a new source port, as a NAT rebinding looks on the wire), with
  --new-cid also to a new connection ID (an intentional migration); the
  server validates the new path (PATH_CHALLENGE/PATH_RESPONSE).
* --giveup T: if the handshake has not completed after T seconds the client
  abandons the connection without a word (as a browser racing QUIC against
  TCP does) and exits with status 3; the caller then falls back to TCP.

The client binds an IPv4 socket (the lab is IPv4 only). Bounded by
--deadline (seconds).
"""
import argparse
import asyncio
import random
import re
import socket
import ssl
import sys
import time

from aioquic.asyncio import QuicConnectionProtocol
from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.h3.events import DataReceived, HeadersReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.connection import QuicConnection

PRELOAD = re.compile(rb'href="([^"]+)"')


class H3Client(QuicConnectionProtocol):
    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.http = H3Connection(self._quic)
        self.waiters, self.bodies = {}, {}

    def quic_event_received(self, event):
        for ev in self.http.handle_event(event):
            if isinstance(ev, (HeadersReceived, DataReceived)) and ev.stream_id in self.waiters:
                if isinstance(ev, DataReceived):
                    self.bodies[ev.stream_id].append(ev.data)
                if ev.stream_ended:
                    w = self.waiters.pop(ev.stream_id)
                    if not w.done():
                        w.set_result(b"".join(self.bodies.pop(ev.stream_id)))
        super().quic_event_received(event)

    def request(self, authority, path, ua, extra=()):
        """Send a GET; returns a future of the body."""
        sid = self._quic.get_next_available_stream_id()
        self.http.send_headers(sid, [(b":method", b"GET"), (b":scheme", b"https"), (b":authority", authority.encode()),
                                     (b":path", path.encode()), (b"user-agent", ua.encode()),
                                     (b"accept", b"*/*"), (b"accept-language", b"en-US,en;q=0.9")] + list(extra),
                               end_stream=True)
        fut = self._loop.create_future()
        self.waiters[sid], self.bodies[sid] = fut, []
        self.transmit()
        return fut


def udp_socket():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", 0))
    return s


async def open_conn(a, addr, ticket=None, tickets=None, early=False):
    """A connection to addr; with early=True it returns before the handshake (0-RTT)."""
    cfg = QuicConfiguration(is_client=True, alpn_protocols=H3_ALPN, verify_mode=ssl.CERT_NONE, server_name=a.host,
                            max_datagram_size=a.mds, congestion_control_algorithm=a.cc, idle_timeout=a.idle)
    cfg.session_ticket = ticket
    conn = QuicConnection(configuration=cfg, session_ticket_handler=(tickets.append if tickets is not None else None))
    loop = asyncio.get_running_loop()
    _, proto = await loop.create_datagram_endpoint(lambda: H3Client(conn), sock=udp_socket())
    proto.connect(addr, transmit=not early)
    if not early:
        await proto.wait_connected()
    return proto


async def close(proto):
    proto.close()
    try:
        await asyncio.wait_for(proto.wait_closed(), 5)
    except asyncio.TimeoutError:
        pass
    proto._transport.close()


async def rebind(proto, new_cid):
    """Move the connection to a new UDP socket (new source port)."""
    old = proto._transport
    await asyncio.get_running_loop().create_datagram_endpoint(lambda: proto, sock=udp_socket())
    old.close()
    if new_cid:
        proto.change_connection_id()
    else:
        await proto.ping()


async def page_visits(a, addr, rng):
    tickets = []
    for v in range(a.visits):
        ticket = tickets[-1] if tickets and v > 0 else None
        proto = await open_conn(a, addr, ticket, tickets, early=bool(ticket and a.zero_rtt))
        page = await proto.request(a.host, a.page, a.ua)
        objs = [x.decode() for x in PRELOAD.findall(page)]
        objs = rng.sample(objs, min(len(objs), a.objects))
        await asyncio.gather(*(proto.request(a.host, o, a.ua, [(b"referer", f"https://{a.host}{a.page}".encode())])
                               for o in objs))
        await asyncio.sleep(rng.uniform(0.2, 2.0))   # reading the page; then the tab closes the connection
        await close(proto)
        if v + 1 < a.visits:
            await asyncio.sleep(rng.uniform(*a.gap))


async def download(a, addr, rng):
    proto = await open_conn(a, addr)
    await proto.request(a.host, a.path, a.ua, [(b"range", f"bytes=0-{a.range - 1}".encode())])
    await close(proto)


async def poll(a, addr, rng):
    proto = await open_conn(a, addr)
    await proto.request(a.host, a.page, a.ua)
    for i in range(a.poll):
        await asyncio.sleep(max(0.2, rng.gauss(a.poll_every, a.poll_every / 5)))
        if i == a.rebind_after:
            await rebind(proto, a.new_cid)
        await proto.request(a.host, rng.choice(a.poll_paths), a.ua)
    await close(proto)


async def giveup(a, addr, rng):
    proto = await open_conn(a, addr, early=True)
    proto.transmit()
    try:
        await asyncio.wait_for(proto.wait_connected(), a.giveup)
    except asyncio.TimeoutError:
        proto._transport.close()        # abandoned silently: no CONNECTION_CLOSE
        return 3
    await proto.request(a.host, a.page, a.ua)
    await close(proto)
    return 0


async def main(a):
    rng = random.Random(a.seed)
    infos = await asyncio.get_running_loop().getaddrinfo(a.host, a.port, family=socket.AF_INET, type=socket.SOCK_DGRAM)
    addr = infos[0][4]
    if a.giveup:
        job = giveup(a, addr, rng)
    elif a.poll:
        job = poll(a, addr, rng)
    elif a.path:
        job = download(a, addr, rng)
    else:
        job = page_visits(a, addr, rng)
    return await asyncio.wait_for(job, a.deadline)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", type=int, default=443)
    ap.add_argument("--page", default="/index.html")
    ap.add_argument("--visits", type=int, default=1)
    ap.add_argument("--objects", type=int, default=8)
    ap.add_argument("--gap", type=float, nargs=2, default=[1.0, 6.0], help="seconds between visits (uniform)")
    ap.add_argument("--zero-rtt", action="store_true")
    ap.add_argument("--path", default="")
    ap.add_argument("--range", type=int, default=200_000)
    ap.add_argument("--poll", type=int, default=0)
    ap.add_argument("--poll-every", type=float, default=2.0)
    ap.add_argument("--poll-paths", nargs="+", default=["/index.html"])
    ap.add_argument("--rebind-after", type=int, default=-1)
    ap.add_argument("--new-cid", action="store_true")
    ap.add_argument("--giveup", type=float, default=0)
    ap.add_argument("--mds", type=int, default=1200, help="max UDP payload (QUIC needs >= 1200)")
    ap.add_argument("--cc", default="reno", choices=["reno", "cubic"])
    ap.add_argument("--idle", type=float, default=30.0)
    ap.add_argument("--ua", default="Mozilla/5.0 (X11; Linux x86_64) Chrome/119.0.0.0")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--deadline", type=float, default=60)
    t0 = time.time()
    try:
        rc = asyncio.run(main(ap.parse_args()))
    except asyncio.TimeoutError:
        print(f"deadline after {time.time() - t0:.1f}s", file=sys.stderr)
        rc = 4
    sys.exit(rc or 0)
