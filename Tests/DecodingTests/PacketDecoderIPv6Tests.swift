import Testing
@testable import Decoding

@Suite struct PacketDecoderIPv6Tests {
    @Test func walksExtensionHeaders() {
        let (ok, p) = decode(ipv6ExtensionChain())
        #expect(ok)
        #expect(p.ipVersion == 6 && p.proto == 17)
        #expect(p.src.description == "2001:0db8:0000:0000:0000:0000:0000:0001")
        #expect(p.srcPort == 1000 && p.dstPort == 2000)
        #expect(p.isFragment && p.moreFragments && p.fragmentOffset == 0 && p.fragmentID == 0xbeef)
        #expect(p.ipLength == ipv6ExtensionChain().count - 14)
        #expect(p.payloadLength == 4)
    }

    @Test func truncatedFixedHeader() {
        #expect(decode(Array(ipv6ExtensionChain().prefix(14 + 39))).p.anomaly == .truncatedIPv6)
    }

    @Test func truncatedExtensionHeader() {
        // Cut inside the routing header's address.
        #expect(decode(Array(ipv6ExtensionChain().prefix(14 + 40 + 8 + 12)), wire: ipv6ExtensionChain().count).p.anomaly
                == .truncatedIPv6Extension)
    }

    @Test func tooManyExtensionHeaders() {
        var ext: [UInt8] = []
        for _ in 0..<10 { ext += hex("3c 00 01 04 00 00 00 00   # dest-opts → dest-opts") }
        let frame = ether(0x86DD, ipv6(next: 60, ext + udp()))
        #expect(decode(frame).p.anomaly == .ipv6TooManyExtensions)
    }

    @Test func authenticationHeader() {
        let ah = hex("""
            06 04 00 00                # AH: next TCP, payload len 4 → (4+2)*4 = 24 bytes
            00 00 01 00 00 00 00 01    # SPI, sequence
            00 00 00 00 00 00 00 00 00 00 00 00   # ICV (96 bits)
            """)
        let (ok, p) = decode(ether(0x86DD, ipv6(next: 51, ah + tcp(dport: 22))))
        #expect(ok && p.proto == 6 && p.dstPort == 22)
    }

    @Test func nonFirstFragmentHasNoTransportHeader() {
        let frag = hex("""
            11 00 00 b9                # fragment: next UDP, offset 23 (184 bytes), M=1
            00 00 be ef                # identification
            """)
        let (ok, p) = decode(ether(0x86DD, ipv6(next: 44, frag + [UInt8](repeating: 7, count: 32))))
        #expect(ok && p.isNonFirstFragment && p.fragmentOffset == 23 && !p.hasPorts)
        #expect(p.payloadLength == 32)
    }

    @Test func payloadLengthBeyondWire() {
        let frame = ether(0x86DD, ipv6(next: 17, udp(), payloadLength: 1400))
        #expect(decode(frame).p.anomaly == .ipLengthExceedsWire)
    }

    @Test func icmpv6EchoUsesTypeAndCounterpart() {
        let echo = hex("80 00 00 00 00 01 00 01   # echo request type 128, code 0, id, seq")
        let (ok, p) = decode(ether(0x86DD, ipv6(next: 58, echo)))
        #expect(ok && p.proto == 58 && p.srcPort == 128 && p.dstPort == 129)
    }
}
