#!/usr/bin/env python3
"""Per-host link delay, jitter and loss for the broad benign captures (a netem stand-in).

Runs in the bridge namespace fs-br. Each host's bridge-side veth (v-<host>)
is taken off the bridge and joined to a second veth pair (q-<host> here,
r-<host> on the bridge) by this relay: frames the host sends (read from
v-<host>) are dropped with the host's loss probability, else sent on to
q-<host> after the host's one-way delay (normal jitter, kept in order: no
reordering); frames towards the host (read from q-<host>) pass at once. So,
as with netem on the host's eth0, the delay is on the host's egress and a
round trip between two hosts costs both hosts' delays. tcpdump on br0 sees
the frames after the sender's delay.

Used because this machine's kernel has no sch_netem (`tc qdisc ... netem`
fails: "Specified qdisc kind is unknown"). The per-host values are read
from --conf (JSON {host: {delay_ms, jitter_ms, loss_pct}}), re-read when the
file changes (new values per capture). Bounded by --deadline (seconds).
"""
import argparse, heapq, json, os, random, select, socket, time

ap = argparse.ArgumentParser()
ap.add_argument("--conf", required=True)
ap.add_argument("--hosts", required=True, help="comma list of hosts to relay")
ap.add_argument("--deadline", type=float, default=14400)
ap.add_argument("--seed", type=int, default=0)
a = ap.parse_args()
rng = random.Random(a.seed)
END = time.time() + a.deadline
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4

ep = select.epoll()
route = {}      # fd -> (src socket, dst socket, host, delayed?)
for h in a.hosts.split(","):
    si = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    si.bind((f"v-{h}", 0))
    so = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    so.bind((f"q-{h}", 0))
    for s in (si, so):
        s.setblocking(False)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
        ep.register(s.fileno(), select.EPOLLIN)
    route[si.fileno()] = (si, so, h, True)
    route[so.fileno()] = (so, si, h, False)

conf, mtime = {}, 0.0
heap, seq, last_due = [], 0, {}
next_check = 0.0
while True:
    now = time.time()
    if now >= END:
        break
    if now >= next_check:
        next_check = now + 0.5
        try:
            m = os.stat(a.conf).st_mtime
            if m != mtime:
                conf, mtime = json.load(open(a.conf)), m
        except (OSError, ValueError):
            pass
    while heap and heap[0][0] <= now:
        _, _, dst, data = heapq.heappop(heap)
        try:
            dst.send(data)
        except OSError:
            pass
    timeout = min(0.5, max(0.0, heap[0][0] - now)) if heap else 0.5
    for fd, _ in ep.poll(timeout):
        src, dst, h, delayed = route[fd]
        while True:
            try:
                data, addr = src.recvfrom(65536)
            except (BlockingIOError, InterruptedError):
                break
            if addr[2] == PACKET_OUTGOING:
                continue          # our own transmissions on this interface
            c = conf.get(h)
            if not delayed or not c:
                try:
                    dst.send(data)
                except OSError:
                    pass
                continue
            if c.get("loss_pct") and rng.random() * 100 < c["loss_pct"]:
                continue
            d = max(0.0, rng.gauss(c.get("delay_ms", 0), c.get("jitter_ms", 0))) / 1000
            due = max(time.time() + d, last_due.get(h, 0.0))   # FIFO per link: jitter without reordering
            last_due[h] = due
            seq += 1
            heapq.heappush(heap, (due, seq, dst, data))
