import Testing
@testable import Decoding

@Suite struct LinkTypeTests {
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

    @Test func pppoeAndCiscoHDLCAndUnsupported() {
        // pcap/dlt.h: DLT_PPP_ETHER 51, DLT_C_HDLC 104.
        #expect(LinkType(dlt: 51) == .pppEther)
        #expect(LinkType(dlt: 104) == .ciscoHDLC)
        // DLT_IEEE802_11 105, DLT_IEEE802_11_RADIO 127, DLT_USB_LINUX 189, negative values.
        for dlt: Int32 in [105, 127, 189, -1, 277] { #expect(LinkType(dlt: dlt) == nil, "DLT \(dlt)") }
    }
}
