import Testing
@testable import Decoding

@Suite struct PacketDecoderCookedTests {
    let inner = ipv4(proto: 6, tcp(dport: 22))

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

    /// SLL v1 header with the given ARPHRD type and protocol field.
    func sll(hatype: UInt16, proto: UInt16) -> [UInt8] {
        [0, 0, UInt8(hatype >> 8), UInt8(hatype & 0xff), 0, 6, 2, 0, 0, 0, 0, 1, 0, 0,
         UInt8(proto >> 8), UInt8(proto & 0xff)]
    }

    @Test func cookedProtocolFieldIsAnEtherType() {
        // IPv6 and an 802.1Q tag behind SLL (the kernel leaves the tag in on some drivers).
        #expect(decode(sll(hatype: 1, proto: 0x86DD) + ipv6(next: 6, tcp(dport: 443)), .linuxSLL).p.dstPort == 443)
        let tagged = decode(sll(hatype: 1, proto: 0x8100) + hex("00 07 08 00") + inner, .linuxSLL).p
        #expect(tagged.vlanCount == 1 && tagged.vlan0 == 7 && tagged.dstPort == 22)
    }

    @Test func netlinkAndLLCAreNotIP() {
        // ARPHRD_NETLINK = 824 (linux/if_arp.h); ETH_P_802_2 = 0x0004 (linux/if_ether.h).
        let nl = decode(sll(hatype: 824, proto: 0x0800) + inner, .linuxSLL)
        #expect(!nl.ok && nl.p.anomaly == .notIP)
        let llc = decode(sll(hatype: 1, proto: 0x0004) + inner, .linuxSLL)
        #expect(!llc.ok && llc.p.anomaly == .notIP)
    }

    @Test func bsdLoopback() {
        let v6 = ipv6(next: 6, tcp(dport: 443))
        #expect(decode(hex("02 00 00 00  # AF_INET, little-endian writer") + inner, .bsdNull).p.dstPort == 22)
        #expect(decode(hex("00 00 00 02  # AF_INET, big-endian writer") + inner, .bsdNull).p.dstPort == 22)
        #expect(decode(hex("00 00 00 02  # DLT_LOOP, network order") + inner, .bsdLoop).p.dstPort == 22)
        for af: UInt8 in [24, 28, 30] {
            #expect(decode([af, 0, 0, 0] + v6, .bsdNull).p.dstPort == 443)
        }
        #expect(decode(hex("02 00"), .bsdNull).p.anomaly == .truncatedLink)
    }

    @Test func loopbackFamilyTenAndUnknownFamilies() {
        // AF_INET6 is 10 on Linux.
        #expect(decode(hex("0a 00 00 00") + ipv6(next: 6, tcp(dport: 443)), .bsdNull).p.dstPort == 443)
        // AF_APPLETALK (16) or any other family: not IP.
        let (ok, p) = decode(hex("10 00 00 00") + inner, .bsdNull)
        #expect(!ok && p.anomaly == .notIP)
    }
}
