import Testing
@testable import Decoding

@Suite struct PacketDecoderTunnelsTests {
    let innerTCP = ipv4(proto: 6, src: [172, 16, 0, 1], dst: [172, 16, 0, 2], tcp(dport: 22))

    @Test func greCarriesIPv4AndKeepsOuterEndpoints() {
        let gre = hex("""
            20 00          # flags: key present, version 0
            08 00          # protocol IPv4
            00 00 00 2a    # key
            """)
        let frame = ether(0x0800, ipv4(proto: 47, src: [1, 1, 1, 1], dst: [2, 2, 2, 2], gre + innerTCP))
        let (ok, p) = decode(frame)
        #expect(ok)
        #expect(p.src.description == "172.16.0.1" && p.dst.description == "172.16.0.2" && p.dstPort == 22)
        #expect(p.tunnel == .gre)
        #expect(p.tunnelSrc.description == "1.1.1.1" && p.tunnelDst.description == "2.2.2.2")
        #expect(p.ipLength == innerTCP.count)
        #expect(decode(Array(frame.prefix(14 + 20 + 6)), wire: frame.count).p.anomaly == .truncatedGRE)
    }

    @Test func greTransparentEthernetAndERSPAN() {
        let teb = hex("00 00 65 58   # GRE, transparent Ethernet bridging") + ether(0x0800, innerTCP)
        #expect(decode(ether(0x0800, ipv4(proto: 47, teb))).p.dstPort == 22)
        let erspan = hex("""
            10 00 88 be          # GRE: sequence present, ERSPAN type II
            00 00 00 01          # sequence
            10 01 00 00 00 00 00 00   # ERSPAN II header
            """) + ether(0x0800, innerTCP)
        let p = decode(ether(0x0800, ipv4(proto: 47, erspan))).p
        #expect(p.dstPort == 22 && p.tunnel == .erspan)
    }

    @Test func vxlan() {
        let vx = hex("""
            08 00 00 00    # VXLAN flags: I (VNI valid)
            00 12 34 00    # VNI 0x1234
            """) + ether(0x0800, innerTCP)
        let frame = ether(0x0800, ipv4(proto: 17, udp(sport: 49152, dport: 4789, vx)))
        let (ok, p) = decode(frame)
        #expect(ok && p.tunnel == .vxlan && p.proto == 6 && p.dstPort == 22)
        #expect(p.tunnelSrc.description == "10.0.0.1")
        let cut = Array(frame.prefix(14 + 20 + 8 + 5))
        #expect(decode(cut, wire: frame.count).p.anomaly == .truncatedVXLAN)
    }

    @Test func ipInIPAllFourWays() {
        let in6 = ipv6(next: 6, tcp(dport: 443))
        let p44 = decode(ether(0x0800, ipv4(proto: 4, innerTCP))).p
        #expect(p44.tunnel == .ipInIP && p44.ipVersion == 4 && p44.dstPort == 22)
        let p64 = decode(ether(0x0800, ipv4(proto: 41, in6))).p
        #expect(p64.tunnel == .ipInIP && p64.ipVersion == 6 && p64.dstPort == 443)
        let p46 = decode(ether(0x86DD, ipv6(next: 4, innerTCP))).p
        #expect(p46.tunnel == .ipInIP && p46.ipVersion == 4 && p46.tunnelSrc.version == 6)
        let p66 = decode(ether(0x86DD, ipv6(next: 41, in6))).p
        #expect(p66.tunnel == .ipInIP && p66.ipVersion == 6 && p66.dstPort == 443)
    }

    @Test func encapsulationDepthIsCapped() {
        var pkt = innerTCP
        for _ in 0..<6 { pkt = ipv4(proto: 4, pkt) }
        let (ok, p) = decode(ether(0x0800, pkt))
        #expect(!ok && p.anomaly == .encapsulationTooDeep)
    }
}
