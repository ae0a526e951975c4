#!/usr/bin/env python3
"""HTTP/3 server of the lab's QUIC capture (benign-wide-5), on fs-wweb.

aioquic (PyPI) serves the files under --root over HTTP/3 on UDP :443 of
every --listen address, one socket per address (a socket bound to 0.0.0.0
would answer from the interface's first address, not from the CDN edge
the client asked). Session tickets are kept in memory and offer 0-RTT, so
a returning client resumes and sends its first requests as early data.
Connection migration and NAT rebinding are aioquic's (path validation with
PATH_CHALLENGE). A `Range: bytes=A-B` request gets a 206 with that part.

--blackhole ADDR binds UDP :443 on ADDR and discards what arrives: it
stands in for a firewall that drops UDP/443 to that address (the lab has
neither nftables nor iptables), so a client's Initials stay unanswered.

Bounded by --deadline (seconds). Needs aioquic (scripts/lab/run.sh
installs it into the lab's venv).
"""
import argparse
import asyncio
import mimetypes
import os
import re
import socket

from aioquic.asyncio import QuicConnectionProtocol, serve
from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.h3.events import HeadersReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import ProtocolNegotiated

RANGE = re.compile(rb"bytes=(\d+)-(\d*)$")


class TicketStore:
    """Single-use session tickets shared by all listening addresses."""

    def __init__(self):
        self.tickets = {}

    def add(self, ticket):
        self.tickets[ticket.ticket] = ticket

    def pop(self, label):
        return self.tickets.pop(label, None)


class H3Files(QuicConnectionProtocol):
    root = "."

    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.http = None

    def quic_event_received(self, event):
        if isinstance(event, ProtocolNegotiated) and event.alpn_protocol in H3_ALPN:
            self.http = H3Connection(self._quic)
        if self.http is None:
            return
        for ev in self.http.handle_event(event):
            if isinstance(ev, HeadersReceived):
                self.answer(ev.stream_id, dict(ev.headers))

    def answer(self, sid, h):
        path = h.get(b":path", b"/").split(b"?", 1)[0].decode("latin-1")
        if path.endswith("/"):
            path += "index.html"
        full = os.path.realpath(os.path.join(self.root, path.lstrip("/")))
        ok = h.get(b":method") == b"GET" and full.startswith(self.root + os.sep) and os.path.isfile(full)
        if not ok:
            self.http.send_headers(sid, [(b":status", b"404"), (b"content-length", b"0")], end_stream=True)
            self.transmit()
            return
        body = open(full, "rb").read()
        status = b"200"
        extra = []
        m = RANGE.match(h.get(b"range", b""))
        if m and int(m.group(1)) < len(body):
            a = int(m.group(1))
            b = min(len(body) - 1, int(m.group(2))) if m.group(2) else len(body) - 1
            extra = [(b"content-range", f"bytes {a}-{b}/{len(body)}".encode())]
            body, status = body[a:b + 1], b"206"
        ctype = (mimetypes.guess_type(full)[0] or "application/octet-stream").encode()
        self.http.send_headers(sid, [(b":status", status), (b"server", b"h3-edge"), (b"content-type", ctype),
                                     (b"content-length", str(len(body)).encode()),
                                     (b"cache-control", b"max-age=300")] + extra)
        self.http.send_data(sid, body, end_stream=True)
        self.transmit()


class Discard(asyncio.DatagramProtocol):
    def datagram_received(self, data, addr):
        pass


async def main(a):
    H3Files.root = os.path.realpath(a.root)
    cfg = QuicConfiguration(is_client=False, alpn_protocols=H3_ALPN, idle_timeout=30.0,
                            congestion_control_algorithm=a.cc, max_datagram_size=a.mds)
    cfg.load_cert_chain(a.cert, a.key)
    store = TicketStore()
    for addr in a.listen.split(","):
        await serve(addr, a.port, configuration=cfg, create_protocol=H3Files,
                    session_ticket_fetcher=store.pop, session_ticket_handler=store.add, retry=a.retry)
    loop = asyncio.get_running_loop()
    for addr in filter(None, a.blackhole.split(",")):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((addr, a.port))
        await loop.create_datagram_endpoint(Discard, sock=s)
    await asyncio.sleep(a.deadline)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--listen", required=True, help="comma list of IPv4 addresses")
    ap.add_argument("--port", type=int, default=443)
    ap.add_argument("--blackhole", default="", help="comma list of addresses whose UDP :443 swallows everything")
    ap.add_argument("--root", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--cc", default="reno", choices=["reno", "cubic"])
    ap.add_argument("--mds", type=int, default=1200, help="max UDP payload (QUIC needs >= 1200)")
    ap.add_argument("--retry", action="store_true", help="answer every Initial with a Retry (address validation)")
    ap.add_argument("--deadline", type=float, default=3600)
    asyncio.run(main(ap.parse_args()))
