import Testing
@testable import Decoding

@Suite struct DecodedPacketTests {
    /// `reset()` zeroes the bytes; that must equal `DecodedPacket()` in every
    /// field (by reflection, so a field added later with a non-zero default fails here).
    @Test func resetEqualsAFreshPacketInEveryField() {
        var p = DecodedPacket()
        p.timestampNs = -5; p.packetNumber = 12; p.wireLength = 1500; p.capturedLength = 60
        p.vlanCount = 2; p.vlan0 = 10; p.vlan1 = 20; p.vlan2 = 30; p.ipVersion = 6
        p.src = IPAddress(v4: 10, 0, 0, 1); p.dst = IPAddress(v4: 10, 0, 0, 2)
        p.proto = 6; p.ttl = 64; p.ipLength = 40; p.ipOffset = 14
        p.srcPort = 1; p.dstPort = 2; p.hasPorts = true; p.icmpType = 3; p.icmpCode = 4
        p.tcpFlags = 0xFF; p.tcpWindow = 7; p.tcpSeq = 9; p.payloadLength = 3; p.payloadOffset = 54
        p.isFragment = true; p.fragmentOffset = 8; p.moreFragments = true; p.fragmentID = 77
        p.tunnel = .erspan; p.tunnelSrc = p.src; p.tunnelDst = p.dst; p.encapsulationDepth = 2
        p.anomaly = Anomaly.allCases.last!
        let dirty = Mirror(reflecting: p).children.map { "\($0.value)" }
        p.reset()
        let fresh = DecodedPacket()
        let a = Mirror(reflecting: p).children.map { ($0.label ?? "", "\($0.value)") }
        let b = Mirror(reflecting: fresh).children.map { ($0.label ?? "", "\($0.value)") }
        #expect(a.count == b.count && a.count > 20)
        for (x, y) in zip(a, b) { #expect(x == y, "field \(x.0) after reset: \(x.1), fresh: \(y.1)") }
        // The dirtying above reached every field, so the check can fail.
        for (i, d) in dirty.enumerated() where i < b.count { #expect(d != b[i].1, "field \(b[i].0) was not dirtied") }
    }

    @Test func protocolNumbersAreIANAs() {
        // /etc/protocols (IANA "Assigned Internet Protocol Numbers").
        #expect(IPProto.icmp == 1 && IPProto.ipip == 4 && IPProto.tcp == 6 && IPProto.udp == 17)
        #expect(IPProto.ipv6 == 41 && IPProto.gre == 47 && IPProto.esp == 50 && IPProto.ah == 51)
        #expect(IPProto.icmpv6 == 58 && IPProto.sctp == 132)
    }

    @Test func tcpFlagBitsAreTheHeaderByte() {
        // RFC 9293 §3.1 (control bits, low to high: FIN SYN RST PSH ACK URG) and RFC 3168 (ECE, CWR).
        let bits = [TCPFlag.fin, TCPFlag.syn, TCPFlag.rst, TCPFlag.psh, TCPFlag.ack, TCPFlag.urg, TCPFlag.ece, TCPFlag.cwr]
        #expect(bits == [1, 2, 4, 8, 16, 32, 64, 128])
    }

    @Test func timeClampAndFragmentPredicate() {
        #expect(PacketTime.clamp(-1) == 0 && PacketTime.clamp(5) == 5)
        #expect(PacketTime.clamp(.max) == PacketTime.maxNs && PacketTime.maxNs == 1 << 62)
        #expect(PacketTime.maxSeconds == 4_611_686_018)
        var p = DecodedPacket()
        #expect(!p.isNonFirstFragment)
        p.isFragment = true
        #expect(!p.isNonFirstFragment)  // first fragment: offset 0
        p.fragmentOffset = 1
        #expect(p.isNonFirstFragment)
        p.isFragment = false
        #expect(!p.isNonFirstFragment)
    }

    @Test func tunnelNames() {
        #expect(TunnelKind.allCasesForTest.map(\.name) == ["none", "GRE", "VXLAN", "IP-in-IP", "ERSPAN"])
    }
}

extension TunnelKind {
    static var allCasesForTest: [TunnelKind] { (0...4).map { TunnelKind(rawValue: $0)! } }
}
