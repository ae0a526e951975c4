import Testing
@testable import Decoding

/// The decode entry point: link-type dispatch, raw IP, what every packet gets.
@Suite struct PacketDecoderTests {
    let inner = ipv4(proto: 6, tcp(dport: 22))

    @Test func everyPrefixOfEveryFixtureDecodesWithoutTrapping() {
        // Each cut must give a clean result: decoded, or skipped with a reason.
        let frames: [[UInt8]] = [synFrame, ipv6ExtensionChain(),
                                 ether(0x0800, ipv4(proto: 47, hex("00 00 08 00") + ipv4(proto: 6, tcp())))]
        for f in frames {
            for n in 0...f.count {
                let (ok, p) = decode(Array(f.prefix(n)), wire: f.count)
                #expect(ok || p.anomaly != .none)
            }
        }
    }

    @Test func rawIP() {
        #expect(decode(inner, .rawIP).p.dstPort == 22)
        #expect(decode(inner, .rawIPv4).p.dstPort == 22)
        let v6 = ipv6(next: 6, tcp(dport: 443))
        #expect(decode(v6, .rawIP).p.dstPort == 443)
        #expect(decode(v6, .rawIPv6).p.dstPort == 443)
        #expect(decode(hex("50 00 00 00"), .rawIP).p.anomaly == .badIPVersion)
    }

    @Test func rawIPEmptyAndWrongFamily() {
        #expect(decode([], .rawIP).p.anomaly == .truncatedLink)
        // DLT_IPV4 carrying an IPv6 header, and the other way round.
        #expect(decode(ipv6(next: 6, tcp()), .rawIPv4).p.anomaly == .badIPVersion)
        #expect(decode(inner, .rawIPv6).p.anomaly == .badIPVersion)  // 40 bytes: a whole IPv6 header's length
    }

    @Test func ciscoHDLC() {
        let frame = hex("0f 00 08 00   # address, control, EtherType IPv4") + inner
        #expect(decode(frame, .ciscoHDLC).p.dstPort == 22)
        #expect(decode(hex("0f 00 08"), .ciscoHDLC).p.anomaly == .truncatedLink)
        #expect(decode(hex("0f 00 08 06") + [UInt8](repeating: 0, count: 28), .ciscoHDLC).p.anomaly == .notIP)
    }

    @Test func timestampAndLengthsAreRecorded() {
        var p = DecodedPacket()
        let ok = synFrame.withUnsafeBytes { buf in
            PacketDecoder(linkType: .ethernet).decode(ByteView(buf), wireLength: 1514,
                                                      timestampNs: 1_700_000_000_123_456_789, into: &p)
        }
        #expect(ok && p.timestampNs == 1_700_000_000_123_456_789)
        #expect(p.capturedLength == synFrame.count && p.wireLength == 1514)
        // A wire length below the captured bytes is raised to them.
        #expect(decode(synFrame, wire: 10).p.wireLength == synFrame.count)
    }

    @Test func aReusedPacketStartsAfreshOnEachDecode() {
        var p = DecodedPacket()
        let d = PacketDecoder(linkType: .ethernet)
        let vlan = macs + hex("81 00 00 64   # VLAN 100") + hex("08 00") + inner
        _ = vlan.withUnsafeBytes { d.decode(ByteView($0), wireLength: vlan.count, timestampNs: 1, into: &p) }
        #expect(p.vlanCount == 1)
        let bad = Array(synFrame.prefix(20))
        _ = bad.withUnsafeBytes { d.decode(ByteView($0), wireLength: bad.count, timestampNs: 2, into: &p) }
        #expect(p.anomaly == .truncatedIPv4 && p.vlanCount == 0 && p.dstPort == 0)
        _ = synFrame.withUnsafeBytes { d.decode(ByteView($0), wireLength: synFrame.count, timestampNs: 3, into: &p) }
        #expect(p.anomaly == .none && p.dstPort == 443)
    }

    @Test func maxEncapsulationIsTheTunnelDepthAllowed() {
        // Two IP-in-IP layers around the TCP packet: depth 2.
        let frame = ether(0x0800, ipv4(proto: 4, ipv4(proto: 4, inner)))
        func run(_ max: UInt8) -> (Bool, DecodedPacket) {
            var p = DecodedPacket()
            let ok = frame.withUnsafeBytes {
                PacketDecoder(linkType: .ethernet, maxEncapsulation: max)
                    .decode(ByteView($0), wireLength: frame.count, timestampNs: 1, into: &p)
            }
            return (ok, p)
        }
        #expect(run(2).0 && run(2).1.encapsulationDepth == 2 && run(2).1.dstPort == 22)
        #expect(!run(1).0 && run(1).1.anomaly == .encapsulationTooDeep)
        #expect(!run(0).0)
    }

    @Test func protocolsWithoutADecoderAreProtocolOnlyFlows() {
        // ESP (50): the decoder has no ESP layer; the flow is kept by protocol.
        let (ok, p) = decode(ether(0x0800, ipv4(proto: 50, [UInt8](repeating: 0, count: 12))))
        #expect(ok && p.proto == 50 && !p.hasPorts && p.payloadOffset == 14 + 20 && p.payloadLength == 12)
    }
}
