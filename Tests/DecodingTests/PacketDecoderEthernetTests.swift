import Testing
@testable import Decoding

@Suite struct PacketDecoderEthernetTests {
    let inner = ipv4(proto: 6, tcp(dport: 22))

    @Test func ethernetHeaderCutOff() {
        let (ok, p) = decode(Array(synFrame.prefix(13)))
        #expect(!ok && p.anomaly == .truncatedLink)
    }

    @Test func nonIPEtherTypeIsSkippedNotMalformed() {
        let arp = ether(0x0806, [UInt8](repeating: 0, count: 28))
        let (ok, p) = decode(arp)
        #expect(!ok && p.anomaly == .notIP && !p.anomaly.isMalformed)
    }

    @Test func llcSnapCarriesIPv4() {
        let inner = ipv4(proto: 17, udp())
        var frame = macs
        frame += [0, UInt8(3 + 5 + inner.count)]  // length field (< 0x0600)
        frame += hex("aa aa 03   # LLC: SNAP DSAP/SSAP, UI control")
        frame += hex("00 00 00 08 00   # SNAP: OUI 0, EtherType IPv4")
        frame += inner
        let (ok, p) = decode(frame)
        #expect(ok && p.proto == 17 && p.dstPort == 53)
        #expect(decode(Array(frame.prefix(16))).p.anomaly == .truncatedLink)
    }

    @Test func plainLLCIsNotIPAndIPOverLLCIs() {
        // 802.3 with an STP BPDU: DSAP/SSAP 0x42 (IEEE 802.1D), UI control.
        let stp = macs + hex("00 26   # length 38") + hex("42 42 03") + [UInt8](repeating: 0, count: 35)
        let (ok, p) = decode(stp)
        #expect(!ok && p.anomaly == .notIP)
        // DSAP/SSAP 0x06 (DoD IP, RFC 948 era): IPv4 right after the 3-byte LLC header.
        let ipLLC = macs + [0, UInt8(3 + inner.count)] + hex("06 06 03") + inner
        #expect(decode(ipLLC).p.dstPort == 22)
    }

    @Test func singleAndStackedVLANs() {
        let one = macs + hex("81 00  00 64   # 802.1Q, VLAN 100") + hex("08 00") + inner
        let p1 = decode(one).p
        #expect(p1.vlanCount == 1 && p1.vlan0 == 100 && p1.dstPort == 22)
        let qinq = macs + hex("88 a8  00 0a   # 802.1ad S-tag VLAN 10")
            + hex("81 00  20 14   # C-tag PCP 1, VLAN 20") + hex("08 00") + inner
        let p2 = decode(qinq).p
        #expect(p2.vlanCount == 2 && p2.vlan0 == 10 && p2.vlan1 == 20 && p2.proto == 6)
        #expect(decode(Array(qinq.prefix(17))).p.anomaly == .truncatedVLAN)
    }

    @Test func vlanIDIsTheLowTwelveBitsOfTheTCI() {
        // TCI f0 64: PCP 7, DEI 1, VID 0x064 = 100 (IEEE 802.1Q).
        let p = decode(macs + hex("81 00 f0 64") + hex("08 00") + inner).p
        #expect(p.vlan0 == 100)
        // Three tags (0x9100 is the old QinQ TPID): the third lands in vlan2.
        let three = macs + hex("91 00 00 01") + hex("88 a8 00 02") + hex("81 00 0f ff   # VID 4095")
            + hex("08 00") + inner
        let p3 = decode(three).p
        #expect(p3.vlanCount == 3 && p3.vlan0 == 1 && p3.vlan1 == 2 && p3.vlan2 == 4095 && p3.dstPort == 22)
    }

    @Test func moreThanEightVLANTagsIsTooDeep() {
        var tags: [UInt8] = []
        for _ in 0..<9 { tags += hex("81 00 00 05") }
        let (ok, p) = decode(macs + tags + hex("08 00") + inner)
        #expect(!ok && p.anomaly == .encapsulationTooDeep)
        // Eight tags still decode.
        let eight = Array(tags.prefix(8 * 4))
        #expect(decode(macs + eight + hex("08 00") + inner).p.dstPort == 22)
    }

    @Test func mplsLabelStack() {
        let frame = macs + hex("""
            88 47          # MPLS unicast
            00 01 40 40    # label 20, not bottom of stack
            00 02 81 40    # label 40, bottom of stack (S bit)
            """) + inner
        let (ok, p) = decode(frame)
        #expect(ok && p.dstPort == 22)
        #expect(decode(Array(frame.prefix(18))).p.anomaly == .truncatedMPLS)
    }

    @Test func mplsPseudowireWithControlWord() {
        let frame = macs + hex("""
            88 47 00 01 41 40    # MPLS, one label, bottom of stack
            00 00 00 00          # pseudowire control word
            """) + ether(0x0800, inner)
        let (ok, p) = decode(frame)
        #expect(ok && p.dstPort == 22)
    }

    @Test func mplsStackWithoutBottomIsCappedAndUnknownPayloadIsNotIP() {
        var labels: [UInt8] = []
        for _ in 0..<16 { labels += hex("00 01 40 40   # label 20, S clear") }
        let (ok, p) = decode(macs + hex("88 47") + labels + inner)
        #expect(!ok && p.anomaly == .encapsulationTooDeep)
        // Bottom of stack, then a first nibble that is neither 4, 6 nor 0.
        #expect(decode(macs + hex("88 48 00 01 41 40") + hex("55 00 00 00")).p.anomaly == .notIP)
        // MPLS multicast (0x8848) carries IPv6 by its version nibble.
        #expect(decode(macs + hex("88 48 00 01 41 40") + ipv6(next: 6, tcp(dport: 443))).p.dstPort == 443)
    }
}
