import Testing
@testable import Decoding
@testable import Flows

@Suite struct FlowKeyTests {
    @Test func bothDirectionsGiveOneKeyAndSayWhichSideSent() {
        var fromA1 = false, fromA2 = true
        let k1 = FlowKey.make(pkt(0), fromA: &fromA1)
        let k2 = FlowKey.make(reply(0), fromA: &fromA2)
        #expect(k1 == k2 && k1.stableHash() == k2.stableHash())
        #expect(fromA1 != fromA2)
        // `a` is the smaller address: 10.0.0.1 sent the first packet.
        #expect(k1.a == client && k1.portA == 40000 && fromA1)
    }

    @Test func sameHostsOrderByPort() {
        var f1 = false, f2 = false
        let here = IPAddress(v4: 127, 0, 0, 1)
        let k1 = FlowKey.make(pkt(0, from: here, to: here, sport: 5000, dport: 80), fromA: &f1)
        let k2 = FlowKey.make(pkt(0, from: here, to: here, sport: 80, dport: 5000), fromA: &f2)
        #expect(k1 == k2 && f1 != f2 && k1.portA == 80)
    }

    @Test func vlanTagsAndProtocolSeparateKeysAndTagZeroIsNotUntagged() {
        var side = true
        var tagged0 = pkt(0)
        tagged0.vlanCount = 1; tagged0.vlan0 = 0
        var tagged7 = pkt(0)
        tagged7.vlanCount = 1; tagged7.vlan0 = 7
        let plain = FlowKey.make(pkt(0), fromA: &side)
        let k0 = FlowKey.make(tagged0, fromA: &side), k7 = FlowKey.make(tagged7, fromA: &side)
        #expect(plain != k0 && k0 != k7 && plain != k7)
        #expect(k0.vlans == [0] && k7.vlans == [7] && plain.vlans == [])
        #expect(FlowKey.make(pkt(0, proto: 17), fromA: &side) != plain)
        // A portless packet's key ignores whatever the port fields hold.
        var noPorts = pkt(0, proto: 47)
        noPorts.hasPorts = false
        #expect(FlowKey.make(noPorts, fromA: &side).portA == 0)
    }

    /// Every field of the key reaches the stable hash (a field left out
    /// would put that field's flows in one stripe with one flow id).
    @Test func everyKeyFieldChangesTheStableHash() {
        let base = FlowKey(a: IPAddress(v4: 10, 0, 0, 1), b: IPAddress(v4: 10, 0, 0, 2), portA: 1, portB: 2, proto: 6)
        var variants = [base]
        var k = base; k.a = IPAddress(v4: 10, 0, 0, 3); variants.append(k)
        k = base; k.b = IPAddress(v4: 10, 0, 0, 4); variants.append(k)
        k = base; k.portA = 9; variants.append(k)
        k = base; k.portB = 9; variants.append(k)
        k = base; k.proto = 17; variants.append(k)
        k = base; k.vlan0 = 5; variants.append(k)
        k = base; k.vlan1 = 5; variants.append(k)
        k = base; k.vlan2 = 5; variants.append(k)
        #expect(Set(variants.map { $0.stableHash() }).count == variants.count)
        #expect(base.stableHash(seed: 1) != base.stableHash(seed: 2))
    }
}
