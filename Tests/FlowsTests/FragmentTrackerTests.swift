import Testing
@testable import Decoding
@testable import Flows

@Suite struct FragmentTrackerTests {
    func fragment(id: UInt32, offset: UInt16, sport: UInt16 = 0, dport: UInt16 = 0,
                  src: IPAddress = client, proto: UInt8 = 17) -> DecodedPacket {
        var p = pkt(0, from: src, sport: sport, dport: dport, proto: proto)
        p.isFragment = true
        p.fragmentID = id
        p.fragmentOffset = offset
        p.hasPorts = offset == 0
        if offset != 0 { p.srcPort = 0; p.dstPort = 0 }
        return p
    }

    @Test func laterFragmentsGetTheFirstOnesPorts() {
        let t = FragmentTracker(capacity: 64)
        t.rememberFirst(fragment(id: 7, offset: 0, sport: 5353, dport: 53))
        var later = fragment(id: 7, offset: 185)
        #expect(t.resolve(&later))
        #expect(later.srcPort == 5353 && later.dstPort == 53 && later.hasPorts)
    }

    @Test func anotherDatagramOrSenderIsAnOrphan() {
        let t = FragmentTracker(capacity: 64)
        t.rememberFirst(fragment(id: 7, offset: 0, sport: 5353, dport: 53))
        var otherID = fragment(id: 8, offset: 185)
        var otherSender = fragment(id: 7, offset: 185, src: IPAddress(v4: 10, 0, 0, 99))
        var otherProto = fragment(id: 7, offset: 185, proto: 6)
        #expect(!t.resolve(&otherID) && !t.resolve(&otherSender) && !t.resolve(&otherProto))
        #expect(otherID.srcPort == 0 && !otherID.hasPorts)
    }
}
