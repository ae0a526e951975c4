import Capture
import Decoding
import Foundation
@testable import Perturbation
import Testing

/// A tiny capture written byte by byte: one TCP flow 10.0.0.1:40000 → 10.0.0.2:80
/// (client segments with payloads, server ACKs) and one benign UDP flow, with
/// ground truth that labels the TCP flow `label`.
struct TinyCapture {
    let dir: URL
    let pcap: String
    let labels: String
    /// Client payloads, in order.
    let payloads: [[UInt8]] = [Array("GET /a HTTP/1.1\r\n\r\n".utf8), Array("POST /login user=x&pw=y".utf8), Array("QUIT".utf8)]
    let start: Int64 = 1_700_000_000_000_000_000
    let gapNs: Int64 = 1_000_000  // between consecutive packets of the TCP flow

    init(label: String, secondFlowOffsetNs: Int64 = 0) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("perturb-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        pcap = dir.appendingPathComponent("tiny.pcap").path
        labels = dir.appendingPathComponent("tiny.labels.csv").path
        let w = try PcapWriter(path: pcap, dlt: 1)
        var t = start
        var seq: UInt32 = 1000, ack: UInt32 = 5000
        for p in payloads {
            try w.append(timestampNs: t, wireLength: 0, bytes: Self.tcp(src: 1, dst: 2, sport: 40000, dport: 80, seq: seq, ack: ack, flags: 0x18, payload: p))
            seq &+= UInt32(p.count)
            t += gapNs
            try w.append(timestampNs: t, wireLength: 0, bytes: Self.tcp(src: 2, dst: 1, sport: 80, dport: 40000, seq: ack, ack: seq, flags: 0x10, payload: []))
            t += gapNs
        }
        try w.append(timestampNs: start + 500, wireLength: 0, bytes: Self.udp(src: 3, dst: 4, payload: Array("benign".utf8)))
        try w.close()
        let s = { (ns: Int64) in String(format: "%.6f", Double(ns) / 1e9) }
        var csv = "src_ip,src_port,dst_ip,dst_port,proto,first_ts,last_ts,packets,bytes,label,scenario\n"
        csv += "10.0.0.1,40000,10.0.0.2,80,6,\(s(start)),\(s(t - gapNs)),6,0,\(label),test\n"
        csv += "10.0.0.3,5353,10.0.0.4,53,17,\(s(start + 500)),\(s(start + 500)),1,0,benign,test\n"
        try csv.write(toFile: labels, atomically: true, encoding: .utf8)
    }

    static func ipv4(src: UInt8, dst: UInt8, proto: UInt8, l4: [UInt8]) -> [UInt8] {
        var ip: [UInt8] = [0x45, 0, 0, 0, 0x12, 0x34, 0x40, 0, 64, proto, 0, 0, 10, 0, 0, src, 10, 0, 0, dst]
        PacketSurgery.put16(&ip, 2, UInt16(20 + l4.count))
        let eth: [UInt8] = [2, 0, 0, 0, 0, dst, 2, 0, 0, 0, 0, src, 0x08, 0x00]
        var b = eth + ip + l4
        let l = PacketLayout(ipOffset: 14, proto: proto, l4Offset: 34, payloadOffset: 34 + (proto == 6 ? 20 : 8),
                             payloadLength: l4.count - (proto == 6 ? 20 : 8))
        PacketSurgery.fixChecksums(&b, l)
        return b
    }

    static func tcp(src: UInt8, dst: UInt8, sport: UInt16, dport: UInt16, seq: UInt32, ack: UInt32, flags: UInt8, payload: [UInt8]) -> [UInt8] {
        var h = [UInt8](repeating: 0, count: 20)
        PacketSurgery.put16(&h, 0, sport); PacketSurgery.put16(&h, 2, dport)
        PacketSurgery.put32(&h, 4, seq); PacketSurgery.put32(&h, 8, ack)
        h[12] = 0x50; h[13] = flags; PacketSurgery.put16(&h, 14, 65535)
        return ipv4(src: src, dst: dst, proto: 6, l4: h + payload)
    }

    static func udp(src: UInt8, dst: UInt8, payload: [UInt8]) -> [UInt8] {
        var h = [UInt8](repeating: 0, count: 8)
        PacketSurgery.put16(&h, 0, 5353); PacketSurgery.put16(&h, 2, 53); PacketSurgery.put16(&h, 4, UInt16(8 + payload.count))
        return ipv4(src: src, dst: dst, proto: 17, l4: h + payload)
    }

    func cleanUp() { try? FileManager.default.removeItem(at: dir) }
}

/// One packet of a capture as the tests read it back.
struct ReadPacket {
    var timeNs: Int64
    var bytes: [UInt8]
    var decoded: DecodedPacket
    var seq: UInt32 { PacketSurgery.u32(bytes, decoded.payloadOffset - 20 + 4) }
    var ack: UInt32 { PacketSurgery.u32(bytes, decoded.payloadOffset - 20 + 8) }
    var payload: [UInt8] { Array(bytes[decoded.payloadOffset..<(decoded.payloadOffset + decoded.payloadLength)]) }
    var fromClient: Bool { decoded.srcPort == 40000 }
}

func readAll(_ path: String) throws -> [ReadPacket] {
    let r = try PcapFileReader(path: path)
    let d = PacketDecoder(linkType: r.linkType)
    var out: [ReadPacket] = []
    var p = DecodedPacket()
    while let cp = try r.next() {
        #expect(d.decode(cp.bytes, wireLength: cp.wireLength, timestampNs: cp.timestampNs, into: &p))
        out.append(ReadPacket(timeNs: cp.timestampNs, bytes: cp.bytes.withBytes(from: 0, length: cp.bytes.count) { Array($0) }, decoded: p))
    }
    return out
}

/// The one's-complement sum over a header including its checksum is 0xffff when the checksum is right.
func checksumHolds(_ p: ReadPacket) -> Bool {
    let ip = PacketSurgery.fold(PacketSurgery.sum(p.bytes, 14, 20))
    let l4len = p.bytes.count - 34
    var s = PacketSurgery.sum(p.bytes, 34, l4len) + PacketSurgery.sum(p.bytes, 26, 8)
    s += UInt32(p.decoded.proto) + UInt32(l4len)
    return ip == 0xffff && PacketSurgery.fold(s) == 0xffff
}

@Suite struct PerturbationParsingTests {
    @Test func kindAndStrength() throws {
        #expect(try Perturbation(parsing: "pad:0.25") == Perturbation(kind: .pad, strength: 0.25))
        #expect(try Perturbation(parsing: "spread") == Perturbation(kind: .spread, strength: 0.5))
        #expect(throws: PerturbationError.self) { try Perturbation(parsing: "pad:2") }
        #expect(throws: PerturbationError.self) { try Perturbation(parsing: "pad:x") }
        do {
            _ = try Perturbation(parsing: "shuffle:0.1")
            Issue.record("accepted an unknown kind")
        } catch {
            #expect(error.description.contains("shuffle") && error.description.contains("pad, split"))
        }
    }
}

@Suite struct PacketSurgeryTests {
    /// The IPv4 header of RFC 1071's usual worked example (as on Wikipedia's
    /// "Internet checksum" page): checksum 0xb861.
    @Test func ipv4HeaderChecksumOfAKnownHeader() {
        var b: [UInt8] = [0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xab, 0xcd,
                          0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7]
        let udp = [UInt8](repeating: 0, count: 0x73 - 20)
        b += udp
        PacketSurgery.put16(&b, 24, 0x73 - 20)
        let l = PacketLayout(ipOffset: 0, proto: 17, l4Offset: 20, payloadOffset: 28, payloadLength: 0x73 - 28)
        PacketSurgery.fixChecksums(&b, l)
        #expect(PacketSurgery.u16(b, 10) == 0xb861)
    }
}

@Suite struct PerturbedCaptureTests {
    func perturb(_ t: TinyCapture, _ p: String, seed: UInt64 = 3) throws -> (PerturbedCapture.Summary, [ReadPacket], String) {
        let out = t.dir.appendingPathComponent("out.pcap").path, csv = t.dir.appendingPathComponent("out.csv").path
        let s = try PerturbedCapture.write(capture: t.pcap, labels: t.labels, perturbations: [try Perturbation(parsing: p)],
                                           seed: seed, pcapOut: out, labelsOut: csv)
        return (s, try readAll(out), try String(contentsOfFile: csv, encoding: .utf8))
    }

    @Test func paddingGrowsClientPayloadsAndMovesSequenceNumbers() throws {
        let t = try TinyCapture(label: "bruteforce")
        defer { t.cleanUp() }
        let (s, packets, _) = try perturb(t, "pad:1")
        #expect(s.packetsIn == 7 && s.packetsOut == 7 && s.attackFlows == 1)
        let client = packets.filter { $0.decoded.proto == 6 && $0.fromClient }
        let server = packets.filter { $0.decoded.proto == 6 && !$0.fromClient }
        #expect(client.count == 3 && server.count == 3)
        // The request head gets its padding as a header line before the blank
        // line; what follows the head in that stream is framed by it and stays.
        let head = String(decoding: client[0].payload, as: UTF8.self)
        #expect(head.hasPrefix("GET /a HTTP/1.1\r\nX-Padding: ") && head.hasSuffix("\r\n\r\n"))
        #expect(client[0].payload.count > t.payloads[0].count && client[0].payload.count <= t.payloads[0].count + 512)
        #expect(client[1].payload == t.payloads[1] && client[2].payload == t.payloads[2])
        // Sequence numbers run on without gaps; the server acknowledges what it received.
        var seq: UInt32 = 1000
        for (c, a) in zip(client, server) {
            #expect(c.seq == seq)
            seq &+= UInt32(c.payload.count)
            #expect(a.ack == seq)
            #expect(a.payload.isEmpty)
        }
        for p in packets { #expect(checksumHolds(p)) }
        // The benign UDP packet is untouched.
        #expect(packets.first { $0.decoded.proto == 17 }?.payload == Array("benign".utf8))
    }

    @Test func splittingKeepsTheByteStream() throws {
        let t = try TinyCapture(label: "webattack")
        defer { t.cleanUp() }
        let (s, packets, _) = try perturb(t, "split:1")
        let client = packets.filter { $0.decoded.proto == 6 && $0.fromClient }
        #expect(client.count == 6 && s.packetsOut == 10)
        var stream: [UInt8] = []
        var seq: UInt32 = 1000
        for c in client {
            #expect(c.seq == seq && !c.payload.isEmpty)
            seq &+= UInt32(c.payload.count)
            stream += c.payload
        }
        #expect(stream == t.payloads.flatMap { $0 })
        for p in packets { #expect(checksumHolds(p)) }
    }

    @Test func injectionAddsPureAcksAtTheNextSequenceNumber() throws {
        let t = try TinyCapture(label: "c2")
        defer { t.cleanUp() }
        let (_, packets, _) = try perturb(t, "inject:1")
        // c2: both ends are the attacker's, so every established segment gets an ACK after it.
        let tcp = packets.filter { $0.decoded.proto == 6 }
        #expect(tcp.count == 12)
        for i in stride(from: 0, to: tcp.count, by: 2) {
            let (orig, extra) = (tcp[i], tcp[i + 1])
            #expect(extra.decoded.tcpFlags == TCPFlag.ack && extra.payload.isEmpty)
            #expect(extra.seq == orig.seq &+ UInt32(orig.payload.count))
            #expect(extra.timeNs == orig.timeNs + 1000)
        }
    }

    @Test func slowingMultipliesTheAttackersGaps() throws {
        let t = try TinyCapture(label: "bruteforce")
        defer { t.cleanUp() }
        let (_, packets, csv) = try perturb(t, "slow:0.5")
        let tcp = packets.filter { $0.decoded.proto == 6 }
        // Client packets come after a gap × 3 (1 + 4·0.5); the server's replies keep their 1 ms.
        for i in 1..<tcp.count {
            let gap = tcp[i].timeNs - tcp[i - 1].timeNs
            #expect(gap == (tcp[i].fromClient ? 3 : 1) * t.gapNs)
        }
        // The ground truth follows: the flow's last packet is now 2·1 + 2·3 + 1 ms after its first.
        let row = csv.split(separator: "\n")[1].split(separator: ",")
        let first = Double(row[5])!, last = Double(row[6])!
        #expect(abs((last - first) - 0.009) < 1e-6)
    }

    @Test func jitterAtZeroAndBenignFlowsChangeNothing() throws {
        let t = try TinyCapture(label: "scan")
        defer { t.cleanUp() }
        let (s, packets, _) = try perturb(t, "jitter:0")
        #expect(s.packetsChanged == 0)
        // The tiny capture's UDP packet is written last but is second in time: the result is in time order.
        let original = try readAll(t.pcap).enumerated().sorted { ($0.element.timeNs, $0.offset) < ($1.element.timeNs, $1.offset) }.map(\.element)
        #expect(packets.map(\.bytes) == original.map(\.bytes) && packets.map(\.timeNs) == original.map(\.timeNs))
        let benign = try TinyCapture(label: "benign")
        defer { benign.cleanUp() }
        let (b, bp, _) = try perturb(benign, "pad:1")
        #expect(b.attackFlows == 0 && b.packetsChanged == 0)
        #expect(bp.map(\.bytes) == (try readAll(benign.pcap)).sorted { $0.timeNs < $1.timeNs }.map(\.bytes))
    }

    @Test func spreadingMovesLaterFlowsOfTheCampaign() throws {
        // Two flows of one client and class: the second starts 10 s after the first.
        let t = try TinyCapture(label: "bruteforce")
        defer { t.cleanUp() }
        let original = try readAll(t.pcap)
        let w = try PcapWriter(path: t.pcap, dlt: 1)
        for p in original { try w.append(timestampNs: p.timeNs, wireLength: 0, bytes: p.bytes) }
        let later = TinyCapture.tcp(src: 1, dst: 2, sport: 40001, dport: 80, seq: 1, ack: 1, flags: 0x18, payload: Array("x".utf8))
        try w.append(timestampNs: t.start + 10_000_000_000, wireLength: 0, bytes: later)
        try w.close()
        let s = { (ns: Int64) in String(format: "%.6f", Double(ns) / 1e9) }
        try (try String(contentsOfFile: t.labels, encoding: .utf8)
             + "10.0.0.1,40001,10.0.0.2,80,6,\(s(t.start + 10_000_000_000)),\(s(t.start + 10_000_000_000)),1,0,bruteforce,test\n")
            .write(toFile: t.labels, atomically: true, encoding: .utf8)
        let (_, packets, _) = try perturb(t, "spread:0.5")
        // The first flow stays; the second moves by 10 s × 9 × 0.5 = 45 s.
        #expect(packets.first { $0.decoded.srcPort == 40000 }?.timeNs == t.start)
        #expect(packets.first { $0.decoded.srcPort == 40001 }?.timeNs == t.start + 55_000_000_000)
    }
}
