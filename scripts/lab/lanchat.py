#!/usr/bin/env python3
"""Local-network chatter for the lab's benign traffic: the small multicast and
broadcast announcements and discovery queries every real LAN carries.

--mode client (a benign action on a client host): 1-3 of
  * mDNS query (UDP 5353 -> 224.0.0.251:5353, TTL 255), DNS-SD service
    browsing, repeated with mDNS back-off (1 s, 2 s); sometimes after joining
    the group (the kernel then sends IGMP reports)
  * mDNS announcement of the host's own name and a service (sent twice, 1 s apart)
  * SSDP M-SEARCH (ephemeral port -> 239.255.255.250:1900, TTL 2, 2-3 copies);
    the gateway's responder answers by unicast
  * SSDP NOTIFY ssdp:alive for a device/service (from port 1900)
  * LLMNR query for a single-label name (-> 224.0.0.252:5355, TTL 1, twice)
  * NetBIOS name query broadcast (137 -> <subnet broadcast>:137, up to 3 tries)
  * WS-Discovery Probe (-> 239.255.255.250:3702)
--mode responder (runs on the lab's gateway, like a home router): answers
  SSDP M-SEARCH by unicast, mDNS queries for its services by multicast, and
  sends an SSDP NOTIFY burst every 20-40 s. Bounded by --deadline and a
  packet budget.

Every socket is bound to eth0 for multicast (IP_MULTICAST_IF), so the packets
leave through the lab bridge, where tcpdump records them.
"""
import argparse, fcntl, os, random, select, socket, struct, time, uuid

ap = argparse.ArgumentParser()
ap.add_argument("--mode", choices=["client", "responder"], default="client")
ap.add_argument("--name", default="host")
ap.add_argument("--seed", type=int, default=0)
ap.add_argument("--deadline", type=float, default=12)
ap.add_argument("--budget", type=int, default=20000, help="responder: at most this many packets")
ap.add_argument("--dev", default="eth0")
a = ap.parse_args()
rng = random.Random(a.seed)
END = time.time() + a.deadline
MDNS, SSDP, LLMNR = ("224.0.0.251", 5353), ("239.255.255.250", 1900), ("224.0.0.252", 5355)
WSD = ("239.255.255.250", 3702)


def my_addr():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        return socket.inet_ntoa(fcntl.ioctl(s.fileno(), 0x8915, struct.pack("256s", a.dev.encode()[:15]))[20:24])
    except OSError:
        return "0.0.0.0"
    finally:
        s.close()


def bcast_addr():
    """The subnet's broadcast address (from address and netmask: the lab adds
    addresses without an explicit broadcast)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        mask = fcntl.ioctl(s.fileno(), 0x891B, struct.pack("256s", a.dev.encode()[:15]))[20:24]  # SIOCGIFNETMASK
    finally:
        s.close()
    ip = socket.inet_aton(my_addr())
    return socket.inet_ntoa(bytes(x | (~m & 0xFF) for x, m in zip(ip, mask)))


IFINDEX = socket.if_nametoindex(a.dev)


def usock(port=0, ttl=1, join=None, bcast=False):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, struct.pack("4s4si", b"\0" * 4, b"\0" * 4, IFINDEX))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, ttl)
    if bcast:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.bind(("", port))
    for g in join or []:
        s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                     struct.pack("4s4si", socket.inet_aton(g), b"\0" * 4, IFINDEX))
    return s


# --- DNS wire format (mDNS, LLMNR) ---------------------------------------------
def dname(n):
    return b"".join(bytes([len(l)]) + l.encode() for l in n.rstrip(".").split(".") if l) + b"\0"


def question(n, qtype, qu=False):
    return dname(n) + struct.pack("!HH", qtype, 1 | (0x8000 if qu else 0))


def rr(n, rtype, data, ttl=120, flush=False):
    return dname(n) + struct.pack("!HHIH", rtype, 1 | (0x8000 if flush else 0), ttl, len(data)) + data


def txt(*items):
    return b"".join(bytes([len(x)]) + x.encode() for x in items) or b"\0"


def msg(qid, flags, qs=(), ans=(), add=()):
    return struct.pack("!HHHHHH", qid, flags, len(qs), len(ans), 0, len(add)) + b"".join(qs) + b"".join(ans) + b"".join(add)


def qnames(data):
    """Names asked in a DNS query (no compression in questions of the queriers we see)."""
    out = []
    try:
        qd = struct.unpack("!H", data[4:6])[0]
        off = 12
        for _ in range(qd):
            labels = []
            while data[off]:
                if data[off] & 0xC0:
                    return out
                labels.append(data[off + 1:off + 1 + data[off]].decode("latin-1"))
                off += 1 + data[off]
            off += 5
            out.append(".".join(labels).lower())
    except Exception:
        pass
    return out


SERVICES = ["_googlecast._tcp.local", "_airplay._tcp.local", "_raop._tcp.local", "_ipp._tcp.local",
            "_printer._tcp.local", "_spotify-connect._tcp.local", "_smb._tcp.local", "_hap._tcp.local",
            "_companion-link._tcp.local", "_sleep-proxy._udp.local", "_http._tcp.local", "_device-info._tcp.local"]


# --- client actions ------------------------------------------------------------
def mdns_query():
    join = rng.random() < 0.5
    s = usock(5353, ttl=255, join=[MDNS[0]] if join else None)
    names = ["_services._dns-sd._udp.local"] if rng.random() < 0.4 else rng.sample(SERVICES, rng.randint(1, 3))
    qu = rng.random() < 0.3
    for i, wait in enumerate([0, 1, 2][:rng.randint(1, 3)]):
        if time.time() + wait > END:
            break
        time.sleep(wait)
        qs = [question(n, 12, qu and i == 0) for n in names]
        if rng.random() < 0.3:
            qs.append(question(f"{a.name}.local", 1))
        s.sendto(msg(0, 0, qs), MDNS)
    drain(s, min(1.0, END - time.time()))
    s.close()


def mdns_announce():
    s = usock(5353, ttl=255)
    host = f"{a.name}.local"
    svc = rng.choice(["_workstation._tcp.local", "_ssh._tcp.local", "_sftp-ssh._tcp.local", "_smb._tcp.local",
                      "_device-info._tcp.local"])
    inst = f"{a.name}.{svc}"
    ip = socket.inet_aton(my_addr())
    ans = [rr(host, 1, ip, 120, True),
           rr(svc, 12, dname(inst), 4500),
           rr(inst, 33, struct.pack("!HHH", 0, 0, rng.choice([9, 22, 445, 0])) + dname(host), 120, True),
           rr(inst, 16, txt(*rng.sample(["model=MacBookPro18,3", "osxvers=22", "path=/", "u=" + a.name,
                                         "vendor=" + rng.choice(["Dell", "Lenovo", "HP"]), "ver=1"],
                                        rng.randint(1, 3))), 4500, True)]
    for i in range(2):
        if i:
            time.sleep(1)
        s.sendto(msg(0, 0x8400, ans=ans), MDNS)
    s.close()


def ssdp_search():
    s = usock(0, ttl=rng.choice([2, 2, 4]))
    st = rng.choice(["ssdp:all", "upnp:rootdevice", "urn:dial-multiscreen-org:service:dial:1",
                     "urn:schemas-upnp-org:device:InternetGatewayDevice:1", "urn:schemas-upnp-org:device:MediaRenderer:1"])
    mx = rng.randint(1, 3)
    ua = rng.choice(["Microsoft-Windows/10.0 UPnP/1.0", "Chromium/119.0 Linux", "Linux/6.1 UPnP/1.1 MiniUPnPc/2.2.4"])
    m = (f"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: {mx}\r\n"
         f"ST: {st}\r\nUSER-AGENT: {ua}\r\n\r\n").encode()
    for i in range(rng.randint(2, 3)):
        s.sendto(m, SSDP)
        time.sleep(rng.uniform(0.05, 0.3))
    drain(s, min(mx + 0.5, END - time.time()))
    s.close()


def ssdp_notify():
    s = usock(1900, ttl=2)
    u = uuid.UUID(int=rng.getrandbits(128))
    loc = f"http://{my_addr()}:{rng.choice([8008, 8060, 49152, 2869, 1400])}/{rng.choice(['desc.xml', 'ssdp/device-desc.xml', 'upnp/rootdesc.xml'])}"
    srv = rng.choice(["Linux/5.15 UPnP/1.0 Sonos/70.3", "Windows/10.0 UPnP/1.0", "Linux/4.9 UPnP/1.0 Cast/1.56"])
    for nt in ["upnp:rootdevice", f"uuid:{u}", rng.choice(["urn:schemas-upnp-org:device:MediaRenderer:1",
                                                          "urn:schemas-upnp-org:service:ContentDirectory:1",
                                                          "urn:dial-multiscreen-org:service:dial:1"])]:
        usn = f"uuid:{u}" + ("" if nt.startswith("uuid") else f"::{nt}")
        s.sendto((f"NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nCACHE-CONTROL: max-age=1800\r\n"
                  f"LOCATION: {loc}\r\nNT: {nt}\r\nNTS: ssdp:alive\r\nSERVER: {srv}\r\nUSN: {usn}\r\n\r\n").encode(), SSDP)
        time.sleep(rng.uniform(0.01, 0.1))
    s.close()


def llmnr():
    s = usock(0, ttl=1)
    n = rng.choice(["wpad", "fileserver", "printer01", "nas", "desktop-" + "%06x" % rng.getrandbits(24),
                    "sharepoint", "isatap"])
    q = msg(rng.getrandbits(16), 0, [question(n, 1)])
    for _ in range(2):
        s.sendto(q, LLMNR)
        time.sleep(0.1)
    drain(s, 0.3)
    s.close()


def nbns():
    s = usock(137, bcast=True)
    n = rng.choice(["WPAD", "WORKGROUP", "FILESERVER", "NAS", "PRINTER01"]).ljust(15)[:15] + "\0"
    enc = "".join(chr(0x41 + (ord(c) >> 4)) + chr(0x41 + (ord(c) & 15)) for c in n)
    q = struct.pack("!HHHHHH", rng.getrandbits(16), 0x0110, 1, 0, 0, 0) + bytes([32]) + enc.encode() + b"\0" + \
        struct.pack("!HH", 0x20, 1)
    dst = (bcast_addr(), 137)
    for i in range(rng.randint(1, 3)):
        if i:
            time.sleep(0.75)
        s.sendto(q, dst)
    s.close()


def wsd():
    s = usock(0, ttl=1)
    mid = uuid.UUID(int=rng.getrandbits(128))
    body = ('<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" '
            'xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:wsd="http://schemas.xmlsoap.org/ws/2005/04/discovery" '
            'xmlns:wsdp="http://schemas.xmlsoap.org/ws/2006/02/devprof"><soap:Header>'
            '<wsa:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</wsa:To>'
            '<wsa:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</wsa:Action>'
            f'<wsa:MessageID>urn:uuid:{mid}</wsa:MessageID></soap:Header><soap:Body><wsd:Probe>'
            f'<wsd:Types>{rng.choice(["wsdp:Device", "wsdp:Device pub:Computer", "wscn:ScanDeviceType"])}</wsd:Types>'
            '</wsd:Probe></soap:Body></soap:Envelope>').encode()
    for _ in range(rng.randint(1, 2)):
        s.sendto(body, WSD)
        time.sleep(rng.uniform(0.05, 0.25))
    s.close()


def drain(s, t):
    end = time.time() + max(0, t)
    while time.time() < end:
        r, _, _ = select.select([s], [], [], max(0, end - time.time()))
        if not r:
            return
        s.recv(9000)


def client():
    acts = rng.sample([mdns_query, mdns_query, mdns_announce, ssdp_search, ssdp_search, ssdp_notify, llmnr, nbns,
                       wsd], rng.randint(1, 3))
    for f in dict.fromkeys(acts):
        if time.time() >= END:
            break
        try:
            f()
        except OSError as e:
            print("lanchat:", f.__name__, e, flush=True)
        time.sleep(rng.uniform(0, 1.5))


# --- responder on the gateway ------------------------------------------------------
def responder():
    sent = 0
    u = uuid.UUID(int=rng.getrandbits(128))
    name = rng.choice(["router", "fritz-box", "gateway", "openwrt"])
    ssdp = usock(1900, ttl=2, join=[SSDP[0]])
    mdns = usock(5353, ttl=255, join=[MDNS[0]])
    kinds = ["upnp:rootdevice", f"uuid:{u}", "urn:schemas-upnp-org:device:InternetGatewayDevice:1",
             "urn:schemas-upnp-org:service:WANIPConnection:1"]
    server = "Linux/5.4 UPnP/1.1 MiniUPnPd/2.3.0"
    pending = []      # (time, data, addr, sock)
    next_notify = time.time() + rng.uniform(2, 10)
    while time.time() < END and sent < a.budget:
        now = time.time()
        if now >= next_notify:
            loc = f"http://{my_addr()}:5000/rootDesc.xml"
            for nt in kinds:
                usn = f"uuid:{u}" + ("" if nt.startswith("uuid") else f"::{nt}")
                m = (f"NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nCACHE-CONTROL: max-age=120\r\n"
                     f"LOCATION: {loc}\r\nSERVER: {server}\r\nNT: {nt}\r\nUSN: {usn}\r\nNTS: ssdp:alive\r\n\r\n").encode()
                for k in range(2):
                    pending.append((now + k * 0.1 + rng.uniform(0, 0.05), m, SSDP, ssdp))
            next_notify = now + rng.uniform(20, 40)
        pending.sort(key=lambda x: x[0])
        while pending and pending[0][0] <= time.time():
            _, m, dst, s = pending.pop(0)
            try:
                s.sendto(m, dst)
                sent += 1
            except OSError:
                pass   # the lab re-addresses hosts between captures
        wait = min([next_notify] + [p[0] for p in pending[:1]]) - time.time()
        r, _, _ = select.select([ssdp, mdns], [], [], max(0.01, min(wait, 1.0)))
        if len(pending) > 200:
            continue
        if ssdp in r:
            data, src = ssdp.recvfrom(9000)
            if data.startswith(b"M-SEARCH"):
                hd = {}
                for ln in data.decode("latin-1").split("\r\n")[1:]:
                    k, _, v = ln.partition(":")
                    hd[k.strip().upper()] = v.strip()
                st = hd.get("ST", "")
                mx = min(3, max(1, int(hd.get("MX", "1") or 1)))
                if st in ("ssdp:all", "upnp:rootdevice") or st in kinds:
                    loc = f"http://{my_addr()}:5000/rootDesc.xml"
                    for nt in (kinds if st == "ssdp:all" else [st]):
                        usn = f"uuid:{u}" + ("" if nt.startswith("uuid") else f"::{nt}")
                        m = (f"HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nST: {nt}\r\nUSN: {usn}\r\nEXT:\r\n"
                             f"SERVER: {server}\r\nLOCATION: {loc}\r\nOPT: \"http://schemas.upnp.org/upnp/1/0/\"; ns=01\r\n"
                             f"01-NLS: {rng.getrandbits(32)}\r\nBOOTID.UPNP.ORG: 1\r\nCONFIGID.UPNP.ORG: 1337\r\n\r\n").encode()
                        pending.append((time.time() + rng.uniform(0, mx * 0.5), m, src, ssdp))
        if mdns in r:
            data, src = mdns.recvfrom(9000)
            flags = struct.unpack("!H", data[2:4])[0] if len(data) >= 12 else 0x8000
            if not flags & 0x8000 and src[0] != my_addr():
                asked = qnames(data)
                host = f"{name}.local"
                inst = f"{name}._http._tcp.local"
                ans = []
                if "_services._dns-sd._udp.local" in asked:
                    ans.append(rr("_services._dns-sd._udp.local", 12, dname("_http._tcp.local"), 4500))
                if "_http._tcp.local" in asked:
                    ans += [rr("_http._tcp.local", 12, dname(inst), 4500),
                            rr(inst, 33, struct.pack("!HHH", 0, 0, 80) + dname(host), 120, True),
                            rr(inst, 16, txt("path=/"), 4500, True)]
                if host in asked or ans:
                    ans.append(rr(host, 1, socket.inet_aton(my_addr()), 120, True))
                if ans:
                    pending.append((time.time() + rng.uniform(0.02, 0.12), msg(0, 0x8400, ans=ans), MDNS, mdns))


if __name__ == "__main__":
    try:
        responder() if a.mode == "responder" else client()
    except KeyboardInterrupt:
        pass
