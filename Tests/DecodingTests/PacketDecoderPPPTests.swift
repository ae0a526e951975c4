import Testing
@testable import Decoding

@Suite struct PacketDecoderPPPTests {
    let inner = ipv4(proto: 6, tcp(dport: 22))

    @Test func pppoeSession() {
        let frame = macs + hex("""
            88 64          # PPPoE session
            11 00          # version 1 type 1, code 0
            00 2a          # session id
            00 3e          # length
            00 21          # PPP protocol IPv4
            """) + inner
        let (ok, p) = decode(frame)
        #expect(ok && p.dstPort == 22)
        #expect(decode(Array(frame.prefix(19))).p.anomaly == .truncatedPPPoE)
    }

    @Test func pppLinkWithAddressControlAndMPLS() {
        let plain = hex("ff 03 00 21   # PPP address, control, IPv4") + inner
        #expect(decode(plain, .ppp).p.dstPort == 22)
        let compressed = hex("21   # protocol-field compression: IPv4") + inner
        #expect(decode(compressed, .ppp).p.dstPort == 22)
        let mpls = hex("ff 03 02 81   # PPP: MPLS unicast") + hex("00 01 41 40   # label, S") + inner
        #expect(decode(mpls, .ppp).p.dstPort == 22)
        #expect(decode(hex("ff 03 00"), .ppp).p.anomaly == .truncatedPPP)
        #expect(decode(hex("ff 03 c0 21 01 01 00 04"), .ppp).p.anomaly == .unsupportedPPPProtocol)
    }

    @Test func pppIPv6AndMulticastMPLS() {
        // RFC 5072: PPP protocol 0x0057 is IPv6; RFC 3032: 0x0283 MPLS multicast.
        let v6 = ipv6(next: 6, tcp(dport: 443))
        #expect(decode(hex("ff 03 00 57") + v6, .ppp).p.dstPort == 443)
        #expect(decode(hex("00 57   # no address/control") + v6, .ppp).p.dstPort == 443)
        #expect(decode(hex("ff 03 02 83") + hex("00 01 41 40") + inner, .ppp).p.dstPort == 22)
    }

    @Test func pppEmptyOrBadControlByte() {
        #expect(decode([], .ppp).p.anomaly == .truncatedPPP)
        // Address ff must be followed by control 03 (RFC 1662).
        #expect(decode(hex("ff 05 00 21") + inner, .ppp).p.anomaly == .truncatedPPP)
        // LCP (0xc021) is a control protocol, not data: skipped but not malformed.
        #expect(!Anomaly.unsupportedPPPProtocol.isMalformed)
    }

    @Test func pppoeLinkTypeWithoutEthernet() {
        // DLT_PPP_ETHER: the PPPoE session header is the first byte of the packet.
        let frame = hex("11 00 00 2a 00 3e 00 21   # PPPoE v1/t1, session 42, length, PPP IPv4") + inner
        #expect(decode(frame, .pppEther).p.dstPort == 22)
        #expect(decode(Array(frame.prefix(7)), .pppEther).p.anomaly == .truncatedPPPoE)
    }

    @Test func pppoeOtherVersionIsNotIP() {
        let frame = macs + hex("88 64 12 00 00 2a 00 3e 00 21   # version 1, type 2") + inner
        let (ok, p) = decode(frame)
        #expect(!ok && p.anomaly == .notIP)
    }
}
