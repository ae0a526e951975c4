import Testing
@testable import Decoding

@Suite struct PacketDecoderTransportTests {
    @Test func tcpHeaderCutOff() {
        // IP header whole, TCP fixed header cut after 10 bytes.
        #expect(decode(Array(synFrame.prefix(14 + 24 + 10)), wire: synFrame.count).p.anomaly == .truncatedTCP)
        // TCP fixed header whole but its options cut.
        #expect(decode(Array(synFrame.prefix(14 + 24 + 30)), wire: synFrame.count).p.anomaly == .truncatedTCP)
    }

    @Test func tcpDataOffsetBelowMinimum() {
        var f = synFrame
        f[14 + 24 + 12] = 0x40  // data offset 4
        #expect(decode(f).p.anomaly == .tcpBadDataOffset)
    }

    @Test func tcpDataOffsetBeyondDatagram() {
        var f = synFrame
        f[14 + 24 + 12] = 0xf0  // 60 bytes of header in a 40-byte segment
        #expect(decode(f).p.anomaly == .tcpBadDataOffset)
    }

    @Test func udpFields() {
        let (ok, p) = decode(ether(0x0800, ipv4(proto: 17, udp(sport: 5353, dport: 53, [9, 9, 9]))))
        #expect(ok && p.srcPort == 5353 && p.dstPort == 53 && p.payloadLength == 3)
    }

    @Test func udpTruncated() {
        let frame = ether(0x0800, ipv4(proto: 17, udp()))
        #expect(decode(Array(frame.prefix(14 + 20 + 6)), wire: frame.count).p.anomaly == .truncatedUDP)
    }

    @Test func udpLengthFieldBelowHeader() {
        var frame = ether(0x0800, ipv4(proto: 17, udp()))
        frame[14 + 20 + 5] = 4  // UDP length 4 < 8
        #expect(decode(frame).p.anomaly == .udpBadLength)
    }

    @Test func icmpEchoRequestAndReplyShareKeyPorts() {
        let req = decode(ether(0x0800, ipv4(proto: 1, hex("08 00 00 00 00 01 00 01  # echo request")))).p
        let rep = decode(ether(0x0800, ipv4(proto: 1, src: [10, 0, 0, 2], dst: [10, 0, 0, 1],
                                            hex("00 00 00 00 00 01 00 01  # echo reply")))).p
        #expect(req.srcPort == 8 && req.dstPort == 0)
        #expect(rep.srcPort == 0 && rep.dstPort == 8)
    }

    @Test func icmpOneWayTypeUsesCode() {
        let p = decode(ether(0x0800, ipv4(proto: 1, hex("03 01 00 00 00 00 00 00  # dest unreachable, host")))).p
        #expect(p.srcPort == 3 && p.dstPort == 1 && p.icmpType == 3 && p.icmpCode == 1)
    }

    @Test func icmpTruncated() {
        let frame = ether(0x0800, ipv4(proto: 1, hex("08 00 00 00 00 01 00 01")))
        #expect(decode(Array(frame.prefix(14 + 20 + 3)), wire: frame.count).p.anomaly == .truncatedICMP)
    }

    @Test func otherProtocolIsProtocolOnly() {
        let (ok, p) = decode(ether(0x0800, ipv4(proto: 89, [UInt8](repeating: 0, count: 44))))  // OSPF
        #expect(ok && p.proto == 89 && !p.hasPorts && p.payloadLength == 44)
    }
}

@Suite struct SCTPTests {
    @Test func portsFromTheCommonHeader() {
        let sctp = hex("""
            0b 59 0b 59    # src port 2905, dst port 2905 (M3UA)
            00 00 00 07    # verification tag
            00 00 00 00    # checksum
            00 03 00 10 00 00 00 00 00 00 00 00 00 00 00 00   # a DATA-ish chunk
            """)
        let (ok, p) = decode(ether(0x0800, ipv4(proto: 132, sctp)))
        #expect(ok && p.srcPort == 2905 && p.dstPort == 2905 && p.hasPorts && p.payloadLength == 16)
        let cut = ether(0x0800, ipv4(proto: 132, sctp))
        #expect(decode(Array(cut.prefix(14 + 20 + 10)), wire: cut.count).p.anomaly == .truncatedSCTP)
    }
}
