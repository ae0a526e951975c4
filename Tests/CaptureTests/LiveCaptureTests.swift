import CPcap
import Decoding
import Foundation
import Testing
@testable import Capture
import NetnsTestSupport

extension NetnsLab {
    /// The capture tests' labs: 198.18.(100 + tag).0/24, the peer address
    /// reachable through a permanent neighbour entry.
    init(tag: Int) throws { try self.init(prefix: "fsl", tag: tag, subnet: 100 + tag, neighbour: true) }
}

/// Sends `count` UDP datagrams from the namespace; payload "FSL" + 4-byte sequence.
private let udpSender = """
import socket, struct, sys
dst, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 40000))
for i in range(n):
    s.sendto(b"FSL" + struct.pack("!I", i), (dst, port))
"""

/// Writes raw Ethernet/IPv4/UDP frames for `flows` flows in both directions
/// (A→B and B→A per round) out of the namespace's veth. Payload: "FSL",
/// sequence (4), flow (2), direction (1).
private let bidirectionalSender = """
import socket, struct, sys
ifname, a, b, flows, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifname, 0))
def csum(h):
    t = sum(struct.unpack("!10H", h))
    while t >> 16: t = (t & 0xffff) + (t >> 16)
    return (~t) & 0xffff
def frame(src, dst, sp, dp, payload):
    udp = struct.pack("!HHHH", sp, dp, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return bytes.fromhex("02005e100001") + bytes.fromhex("02005e100002") + b"\\x08\\x00" + ip + udp
seq = 0
for r in range(rounds):
    for f in range(flows):
        for d in (0, 1):
            p = b"FSL" + struct.pack("!IHB", seq, f, d)
            s.send(frame(a, b, 40000 + f, 9000 + f, p) if d == 0 else frame(b, a, 9000 + f, 40000 + f, p))
            seq += 1
"""

/// What a test reads from a captured UDP packet.
struct SeenPacket: Hashable {
    var seq: UInt32
    var flow: UInt16
    var direction: UInt8
    var src: IPAddress
    var dst: IPAddress
    var srcPort: UInt16
    var dstPort: UInt16
}

private func decodeTestPacket(_ pkt: CapturedPacket, decoder: PacketDecoder, into p: inout DecodedPacket) -> SeenPacket? {
    guard decoder.decode(pkt.bytes, wireLength: pkt.wireLength, timestampNs: pkt.timestampNs, into: &p),
          p.proto == IPProto.udp,
          pkt.bytes.u8(p.payloadOffset) == 0x46, pkt.bytes.u8(p.payloadOffset + 1) == 0x53,
          pkt.bytes.u8(p.payloadOffset + 2) == 0x4C,
          let seq = pkt.bytes.u32(p.payloadOffset + 3) else { return nil }
    let flow = pkt.bytes.u16(p.payloadOffset + 7) ?? 0
    let dir = pkt.bytes.u8(p.payloadOffset + 9) ?? 0
    return SeenPacket(seq: seq, flow: flow, direction: dir, src: p.src, dst: p.dst, srcPort: p.srcPort, dstPort: p.dstPort)
}

@Suite(.serialized, .enabled(if: NetnsLab.available, Comment(rawValue: NetnsLab.skipReason)))
struct LiveCaptureTests {
    @Test func capturesUDPFromANamespace() throws {
        let lab = try NetnsLab(tag: 0)
        defer { lab.destroy() }
        let cap = try LiveCapture(interface: lab.hostIf, options: LiveCaptureOptions(filter: "udp and dst port 5555"))
        #expect(cap.linkType == .ethernet)
        #expect(cap.nanosecondTimestamps)
        #expect(cap.snaplen == 262_144)
        let before = Int64(Date().timeIntervalSince1970 * 1e9)
        try lab.python(udpSender, [lab.peerAddr, "5555", "200"])

        let decoder = PacketDecoder(linkType: cap.linkType)
        var p = DecodedPacket()
        var seen: [UInt32] = []
        var timestamps: [Int64] = []
        let deadline = Date().addingTimeInterval(5)
        while seen.count < 200 && Date() < deadline {
            guard let pkt = try cap.next() else { continue }
            guard let s = decodeTestPacket(pkt, decoder: decoder, into: &p) else { continue }
            #expect(s.src == IPAddress(lab.nsAddr))
            #expect(s.dst == IPAddress(lab.peerAddr))
            #expect(s.srcPort == 40000 && s.dstPort == 5555)
            #expect(pkt.wireLength == 14 + 20 + 8 + 7)
            seen.append(s.seq)
            timestamps.append(pkt.timestampNs)
        }
        #expect(seen == Array(0..<200))
        let after = Int64(Date().timeIntervalSince1970 * 1e9)
        #expect(timestamps.allSatisfy { $0 >= before - 1_000_000_000 && $0 <= after + 1_000_000_000 })
        #expect(timestamps == timestamps.sorted())
        // Idle: next() comes back with nil instead of blocking.
        let t0 = Date()
        #expect(try cap.next() == nil)
        #expect(Date().timeIntervalSince(t0) < 2)
        let stats = try cap.stats()
        #expect(stats.received >= 200)
        #expect(stats.dropped == 0)
        #expect(cap.packetsRead == 200)
    }

    @Test func fanoutSpreadsFlowsAndKeepsBothDirectionsTogether() throws {
        let lab = try NetnsLab(tag: 1)
        defer { lab.destroy() }
        let group = UInt16(truncatingIfNeeded: getpid() &* 7 &+ 1)
        let opts = LiveCaptureOptions(filter: "udp", fanout: (groupID: group, mode: .hash))
        let caps = [try LiveCapture(interface: lab.hostIf, options: opts),
                    try LiveCapture(interface: lab.hostIf, options: opts)]
        #expect(caps.allSatisfy { $0.fanoutGroup == group })
        let flows = 16, rounds = 10
        let total = flows * rounds * 2
        try lab.python(bidirectionalSender, [lab.nsIf, lab.nsAddr, lab.peerAddr, "\(flows)", "\(rounds)"])

        let decoder = PacketDecoder(linkType: .ethernet)
        var p = DecodedPacket()
        var perHandle: [[SeenPacket]] = [[], []]
        let deadline = Date().addingTimeInterval(5)
        while perHandle[0].count + perHandle[1].count < total && Date() < deadline {
            for (i, cap) in caps.enumerated() {
                // Drain what is ready on this handle, then turn to the other.
                while let pkt = try cap.next() {
                    if let s = decodeTestPacket(pkt, decoder: decoder, into: &p) { perHandle[i].append(s) }
                }
            }
        }
        let a = Set(perHandle[0].map(\.seq)), b = Set(perHandle[1].map(\.seq))
        #expect(perHandle[0].count == a.count && perHandle[1].count == b.count, "a packet came twice to one handle")
        #expect(a.isDisjoint(with: b), "a packet reached both handles")
        #expect(a.union(b) == Set((0..<UInt32(total))), "packets lost: got \(a.count + b.count) of \(total)")
        // Both directions of every flow on one handle.
        for flow in 0..<UInt16(flows) {
            let holders = (0..<2).filter { i in perHandle[i].contains { $0.flow == flow } }
            #expect(holders.count == 1, "flow \(flow) split across handles")
            if let h = holders.first {
                let dirs = Set(perHandle[h].filter { $0.flow == flow }.map(\.direction))
                #expect(dirs == [0, 1])
            }
        }
        print("fanout: handle 0 got \(perHandle[0].count), handle 1 got \(perHandle[1].count) of \(total)")
        // 16 flows all hashing to one of two members has probability 2^-15.
        #expect(!perHandle[0].isEmpty && !perHandle[1].isEmpty)
    }

    @Test func fanoutJoinedTwiceFailsClearly() throws {
        let lab = try NetnsLab(tag: 2)
        defer { lab.destroy() }
        let cap = try LiveCapture(interface: lab.hostIf)
        let group = UInt16(truncatingIfNeeded: getpid() &* 7 &+ 2)
        try cap.joinFanout(groupID: group, mode: .hash)
        do {
            try cap.joinFanout(groupID: group &+ 1, mode: .loadBalance)
            Issue.record("second join succeeded")
        } catch {
            guard case .fanoutFailed(let i, let g, _) = error else { Issue.record("got \(error)"); return }
            #expect(i == lab.hostIf && g == group &+ 1)
            #expect(error.description.contains("PACKET_FANOUT group"))
        }
    }

    @Test func unknownInterfaceIsAClearError() {
        let name = "fsnone\(getpid())"
        do {
            _ = try LiveCapture(interface: name)
            Issue.record("opened a missing interface")
        } catch {
            #expect(error == .noSuchInterface(interface: name, reason: error.reasonText))
            #expect(error.description.hasPrefix("\(name): no such interface"))
            #expect(error.isInterfaceUnavailable)
        }
    }

    @Test func badFilterNamesTheFilter() throws {
        let lab = try NetnsLab(tag: 3)
        defer { lab.destroy() }
        do {
            _ = try LiveCapture(interface: lab.hostIf, options: LiveCaptureOptions(filter: "port nonsense"))
            Issue.record("bad filter accepted")
        } catch {
            guard case .badFilter(let i, let f, _) = error else { Issue.record("got \(error)"); return }
            #expect(i == lab.hostIf && f == "port nonsense")
        }
    }

    @Test func interfaceVanishingIsReportedNotACrash() throws {
        let lab = try NetnsLab(tag: 4)
        defer { lab.destroy() }
        let cap = try LiveCapture(interface: lab.hostIf, options: LiveCaptureOptions(filter: "udp"))
        try lab.python(udpSender, [lab.peerAddr, "5555", "5"])
        try NetnsLab.run(["link", "del", lab.hostIf])
        var gone: LiveCaptureError?
        var packets = 0
        let deadline = Date().addingTimeInterval(5)
        while gone == nil && Date() < deadline {
            do {
                if try cap.next() != nil { packets += 1 }
            } catch {
                gone = error
            }
        }
        guard let gone else { Issue.record("no error within 5 s after deleting \(lab.hostIf)"); return }
        guard case .interfaceGone(let i, _) = gone else { Issue.record("got \(gone)"); return }
        #expect(i == lab.hostIf)
        #expect(gone.isInterfaceUnavailable)
        print("interface-gone after \(packets) packets: \(gone)")
        #expect(packets <= 5)
        #expect(!InterfaceInfo.exists(interface: lab.hostIf))
    }

    @Test func interfaceGoingDownIsReported() throws {
        let lab = try NetnsLab(tag: 7)
        defer { lab.destroy() }
        let cap = try LiveCapture(interface: lab.hostIf, options: LiveCaptureOptions(filter: "udp"))
        try NetnsLab.run(["link", "set", lab.hostIf, "down"])
        var error: LiveCaptureError?
        let deadline = Date().addingTimeInterval(5)
        while error == nil && Date() < deadline {
            do { _ = try cap.next() } catch let e { error = e }
        }
        print("interface-down: \(error.map { "\($0)" } ?? "no error")")
        guard let error else { Issue.record("no error within 5 s after setting \(lab.hostIf) down"); return }
        guard case .interfaceGone = error else { Issue.record("got \(error)"); return }
        // Opening a down interface is the retryable interfaceNotUp (or gone).
        do {
            _ = try LiveCapture(interface: lab.hostIf)
            Issue.record("opened a down interface")
        } catch let e {
            print("open while down: \(e)")
            #expect(e.isInterfaceUnavailable)
        }
    }

    @Test func breakLoopMakesNextReturnNil() throws {
        let lab = try NetnsLab(tag: 5)
        defer { lab.destroy() }
        let cap = try LiveCapture(interface: lab.hostIf)
        cap.breakLoop()
        #expect(cap.isStopping)
        #expect(try cap.next() == nil)
    }

    @Test func upDownAndOffloadsMatchIpAndEthtool() throws {
        let lab = try NetnsLab(tag: 6)
        defer { lab.destroy() }
        #expect(InterfaceInfo.exists(interface: lab.hostIf))
        #expect(try InterfaceInfo.isUp(interface: lab.hostIf))
        try NetnsLab.run(["link", "set", lab.hostIf, "down"])
        #expect(try InterfaceInfo.isUp(interface: lab.hostIf) == false)
        try NetnsLab.run(["link", "set", lab.hostIf, "up"])
        #expect(try InterfaceInfo.isUp(interface: lab.hostIf))

        guard let ethtool = ["/usr/sbin/ethtool", "/sbin/ethtool"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            return  // the toggling half needs ethtool
        }
        for setting in ["on", "off"] {
            try NetnsLab.exec(ethtool, ["-K", lab.hostIf, "gro", setting])
            let o = try InterfaceInfo.offloads(interface: lab.hostIf)
            #expect(o.gro == (setting == "on"), "\(o)")
            #expect(o.mergesReceivedPackets == (setting == "on"))
            // Compare everything with ethtool's own view.
            let k = try NetnsLab.exec(ethtool, ["-k", lab.hostIf])
            func state(_ name: String) -> Bool? {
                guard let line = k.split(separator: "\n").first(where: { $0.hasPrefix("\(name):") }) else { return nil }
                return line.contains(": on")
            }
            #expect(o.gro == state("generic-receive-offload"))
            #expect(o.lro == state("large-receive-offload"))
            #expect(o.gso == state("generic-segmentation-offload"))
            #expect(o.tso == state("tcp-segmentation-offload"))
        }
    }
}

extension LiveCaptureError {
    var reasonText: String {
        switch self {
        case let .noSuchInterface(_, r), let .permissionDenied(_, r), let .promiscuousPermissionDenied(_, r),
             let .interfaceNotUp(_, r), let .cannotOpen(_, r), let .interfaceGone(_, r), let .readFailed(_, r),
             let .statsFailed(_, r), let .badFilter(_, _, r), let .fanoutFailed(_, _, r), let .ioctlFailed(_, _, r):
            return r
        case .unsupportedLinkType: return ""
        }
    }
}

@Suite struct CaptureStatsTests {
    @Test func advanceWithoutWrap() {
        #expect(CaptureStatsAccumulator.advance(10, from: 5, to: 9) == 14)
        #expect(CaptureStatsAccumulator.advance(0, from: 0, to: 0) == 0)
    }

    @Test func advanceAcrossTwoToThe32() {
        // 2^32 - 100 → 50 is a step of 150 across the wrap.
        #expect(CaptureStatsAccumulator.advance(1_000, from: UInt32.max - 99, to: 50) == 1_150)
        #expect(CaptureStatsAccumulator.advance(0, from: UInt32.max, to: 0) == 1)
    }

    @Test func runningTotalsKeepCountingPastTheWrap() {
        var acc = CaptureStatsAccumulator()
        acc.update(received: 4_000_000_000, dropped: 10, ifDropped: 0)
        acc.update(received: UInt32.max, dropped: 4_294_967_290, ifDropped: 1)
        let t = acc.update(received: 1_000, dropped: 5, ifDropped: 1)
        #expect(t.received == (1 << 32) + 1_000)
        #expect(t.dropped == (1 << 32) + 5)
        #expect(t.ifDropped == 1)
        // A second wrap of received, polled in time.
        acc.update(received: 3_000_000_000, dropped: 5, ifDropped: 1)
        let t2 = acc.update(received: 7, dropped: 5, ifDropped: 1)
        #expect(t2.received == (2 << 32) + 7)
        #expect(t2.dropped == (1 << 32) + 5)
    }
}

@Suite struct LiveCaptureErrorTests {
    @Test func permissionDeniedSaysHowToGrantCapNetRaw() {
        let e = LiveCaptureError.activationFailure(interface: "eth1", code: PCAP_ERROR_PERM_DENIED,
                                                   message: "socket: Operation not permitted")
        #expect(e == .permissionDenied(interface: "eth1", reason: "socket: Operation not permitted"))
        let text = e.description
        #expect(text.hasPrefix("eth1: permission denied"))
        #expect(text.contains("CAP_NET_RAW"))
        #expect(text.contains("setcap cap_net_raw"))
        #expect(text.contains("flowsentry@"))
        #expect(!e.isInterfaceUnavailable)
    }

    @Test func promiscuousPermissionDenied() {
        let e = LiveCaptureError.activationFailure(interface: "eth1", code: PCAP_ERROR_PROMISC_PERM_DENIED, message: "")
        guard case .promiscuousPermissionDenied = e else { Issue.record("got \(e)"); return }
        #expect(e.description.contains("CAP_NET_RAW"))
    }

    @Test func missingAndDownInterfacesAreRetryable() {
        let missing = LiveCaptureError.activationFailure(interface: "eth9", code: PCAP_ERROR_NO_SUCH_DEVICE, message: "No such device exists")
        #expect(missing == .noSuchInterface(interface: "eth9", reason: "No such device exists"))
        #expect(missing.isInterfaceUnavailable)
        #expect(missing.description.hasPrefix("eth9: no such interface"))
        let down = LiveCaptureError.activationFailure(interface: "eth9", code: PCAP_ERROR_IFACE_NOT_UP, message: "")
        guard case .interfaceNotUp = down else { Issue.record("got \(down)"); return }
        #expect(down.isInterfaceUnavailable)
        #expect(LiveCaptureError.interfaceGone(interface: "eth9", reason: "x").isInterfaceUnavailable)
        #expect(LiveCaptureError.interfaceGone(interface: "eth9", reason: "x").interface == "eth9")
    }

    @Test func otherActivationErrorsNameTheStatus() {
        let e = LiveCaptureError.activationFailure(interface: "wlan0", code: PCAP_ERROR_RFMON_NOTSUP, message: "")
        guard case .cannotOpen = e else { Issue.record("got \(e)"); return }
        #expect(e.description.hasPrefix("wlan0: cannot open interface"))
    }
}
