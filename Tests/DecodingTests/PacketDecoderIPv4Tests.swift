import Testing
@testable import Decoding

@Suite struct PacketDecoderIPv4Tests {
    @Test func decodesEveryField() {
        let (ok, p) = decode(synFrame)
        #expect(ok)
        #expect(p.anomaly == .none)
        #expect(p.ipVersion == 4)
        #expect(p.src.description == "192.168.1.10")
        #expect(p.dst.description == "192.168.1.20")
        #expect(p.proto == 6)
        #expect(p.ttl == 64)
        #expect(p.ipLength == 64)
        #expect(p.ipOffset == 14)
        #expect(p.srcPort == 54321 && p.dstPort == 443 && p.hasPorts)
        #expect(p.tcpFlags == 0xC2)
        #expect(p.tcpWindow == 64240)
        #expect(p.tcpSeq == 100)
        #expect(p.payloadOffset == 14 + 24 + 40)
        #expect(p.payloadLength == 0)
        #expect(!p.isFragment)
        #expect(p.vlanCount == 0 && p.tunnel == .none)
    }

    @Test func ipv4HeaderCutOff() {
        // 14 Ethernet + 19 bytes of IPv4: not even the fixed header.
        #expect(decode(Array(synFrame.prefix(33))).p.anomaly == .truncatedIPv4)
        // The fixed header is there but the option word is not.
        #expect(decode(Array(synFrame.prefix(36))).p.anomaly == .truncatedIPv4)
    }

    @Test func ipv4HeaderLengthBelowMinimum() {
        var f = synFrame
        f[14] = 0x44  // IHL 4 = 16 bytes
        #expect(decode(f).p.anomaly == .ipv4BadHeaderLength)
    }

    @Test func ipv4TotalLengthBelowHeader() {
        var f = synFrame
        f[16] = 0; f[17] = 20  // total 20 < IHL 24
        #expect(decode(f).p.anomaly == .ipv4BadTotalLength)
    }

    @Test func ipv4LengthBeyondWireIsMalformed() {
        var f = synFrame
        f[16] = 0x05; f[17] = 0xdc  // claims 1500 bytes, 64 on the wire
        #expect(decode(f).p.anomaly == .ipLengthExceedsWire)
    }

    @Test func snaplenCutPayloadStillCounts() {
        // A 1000-byte datagram captured with a 96-byte snaplen: headers whole.
        let payload = [UInt8](repeating: 0x41, count: 1000 - 20 - 20)
        let frame = ether(0x0800, ipv4(proto: 6, tcp(flags: 0x18, payload)))
        let cut = Array(frame.prefix(96))
        let (ok, p) = decode(cut, wire: frame.count)
        #expect(ok)
        #expect(p.ipLength == 1000)
        #expect(p.payloadLength == 960)
        #expect(p.capturedLength == 96 && p.wireLength == frame.count)
    }

    @Test func ipv4FragmentsCarryIDAndOffset() {
        let first = decode(ether(0x0800, ipv4(proto: 17, flagsFrag: 0x2000, id: 77, udp(sport: 1, dport: 2, [UInt8](repeating: 0, count: 24))))).p
        #expect(first.isFragment && first.moreFragments && first.fragmentOffset == 0 && first.hasPorts)
        let later = decode(ether(0x0800, ipv4(proto: 17, flagsFrag: 0x0004, id: 77, [UInt8](repeating: 0, count: 16)))).p
        #expect(later.isNonFirstFragment && later.fragmentID == 77 && !later.hasPorts && later.payloadLength == 16)
    }

    @Test func versionNibbleOtherThanFourUnderEtherTypeIPv4() {
        // EtherType says IPv4, the header says version 6 (RFC 791: version is the first nibble).
        var f = synFrame
        f[14] = 0x66
        #expect(decode(f).p.anomaly == .badIPVersion)
    }

    @Test func lastFragmentOffsetAndDFOnlyIsNotAFragment() {
        // Flags/offset 0x00b9: MF clear, offset 185 (× 8 = 1480 bytes): the last fragment.
        let last = decode(ether(0x0800, ipv4(proto: 17, flagsFrag: 0x00b9, id: 9, [UInt8](repeating: 0, count: 8)))).p
        #expect(last.isFragment && !last.moreFragments && last.fragmentOffset == 185 && last.fragmentID == 9)
        #expect(last.isNonFirstFragment && !last.hasPorts)
        // DF set, offset 0, MF clear: a whole datagram.
        let whole = decode(ether(0x0800, ipv4(proto: 17, flagsFrag: 0x4000, id: 9, udp()))).p
        #expect(!whole.isFragment && whole.fragmentID == 0 && whole.hasPorts)
    }

    @Test func ttlAndProtocolComeFromTheirBytes() {
        var f = synFrame
        f[14 + 8] = 1      // TTL 1
        let p = decode(f).p
        #expect(p.ttl == 1 && p.proto == 6)
    }
}
