import Testing
@testable import Decoding

@Suite struct LinkLayerTests {
    let inner = ipv4(proto: 6, tcp(dport: 22))

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

    @Test func linuxCookedV1() {
        let sll = hex("""
            00 00          # packet type: to us
            00 01          # ARPHRD_ETHER
            00 06          # address length
            02 00 00 00 00 01 00 00   # address (8 bytes, padded)
            08 00          # protocol IPv4
            """) + inner
        #expect(decode(sll, .linuxSLL).p.dstPort == 22)
        #expect(decode(Array(sll.prefix(15)), .linuxSLL).p.anomaly == .truncatedLink)
    }

    @Test func linuxCookedV2() {
        let sll2 = hex("""
            08 00          # protocol IPv4
            00 00          # reserved
            00 00 00 02    # interface index
            00 01          # ARPHRD_ETHER
            00             # packet type
            06             # address length
            02 00 00 00 00 01 00 00   # address
            """) + inner
        #expect(decode(sll2, .linuxSLL2).p.dstPort == 22)
        #expect(decode(Array(sll2.prefix(19)), .linuxSLL2).p.anomaly == .truncatedLink)
    }

    @Test func rawIPAndLoopback() {
        #expect(decode(inner, .rawIP).p.dstPort == 22)
        #expect(decode(inner, .rawIPv4).p.dstPort == 22)
        let v6 = ipv6(next: 6, tcp(dport: 443))
        #expect(decode(v6, .rawIP).p.dstPort == 443)
        #expect(decode(v6, .rawIPv6).p.dstPort == 443)
        #expect(decode(hex("02 00 00 00  # AF_INET, little-endian writer") + inner, .bsdNull).p.dstPort == 22)
        #expect(decode(hex("00 00 00 02  # AF_INET, big-endian writer") + inner, .bsdNull).p.dstPort == 22)
        #expect(decode(hex("00 00 00 02  # DLT_LOOP, network order") + inner, .bsdLoop).p.dstPort == 22)
        for af: UInt8 in [24, 28, 30] {
            #expect(decode([af, 0, 0, 0] + v6, .bsdNull).p.dstPort == 443)
        }
        #expect(decode(hex("02 00"), .bsdNull).p.anomaly == .truncatedLink)
        #expect(decode(hex("50 00 00 00"), .rawIP).p.anomaly == .badIPVersion)
    }

    @Test func ciscoHDLC() {
        let frame = hex("0f 00 08 00   # address, control, EtherType IPv4") + inner
        #expect(decode(frame, .ciscoHDLC).p.dstPort == 22)
    }

    @Test func linkTypeMapping() {
        for dlt: Int32 in [12, 14, 101] { #expect(LinkType(dlt: dlt) == .rawIP) }
        #expect(LinkType(dlt: 228) == .rawIPv4)
        #expect(LinkType(dlt: 229) == .rawIPv6)
        #expect(LinkType(dlt: 1) == .ethernet)
        #expect(LinkType(dlt: 113) == .linuxSLL)
        #expect(LinkType(dlt: 276) == .linuxSLL2)
        #expect(LinkType(dlt: 0) == .bsdNull)
        #expect(LinkType(dlt: 108) == .bsdLoop)
        #expect(LinkType(dlt: 9) == .ppp && LinkType(dlt: 50) == .ppp)
        #expect(LinkType(dlt: 132) == nil)
    }
}
