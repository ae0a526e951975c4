import Foundation
import Testing
@testable import Decoding
@testable import Features
@testable import Flows

@Suite struct FlowTableTests {
    @Test func firstSenderIsTheClient() {
        let t = FlowTable()
        var s = FlowSink()
        t.feed([pkt(0, proto: 17), reply(0.1, proto: 17), pkt(0.2, proto: 17)], sink: &s)
        t.flushAll(sink: &s)
        let r = s.records[0]
        #expect(r.srcIP == client && r.srcPort == 40000 && r.dstIP == server && r.dstPort == 80)
        #expect(r.pktsToServer == 2 && r.pktsToClient == 1)
        #expect(r.state == .established && r.reason == .shutdown)
    }

    @Test func synAckSeenFirstMakesTheReceiverTheClient() {
        let t = FlowTable()
        var s = FlowSink()
        t.feed([reply(0, flags: 0x12), pkt(0.1, flags: 0x10)], sink: &s)
        t.flushAll(sink: &s)
        #expect(s.records[0].srcIP == client && s.records[0].pktsToServer == 1 && s.records[0].pktsToClient == 1)
    }

    @Test func finBothWaysEndsAfterTheLinger() {
        let t = FlowTable()
        var s = FlowSink()
        t.feed([pkt(0, flags: 0x02), reply(0.01, flags: 0x12), pkt(0.02), pkt(1, flags: 0x11),
                reply(1.01, flags: 0x11), pkt(1.02)], sink: &s)
        t.expire(now: Int64(3e9), sink: &s)
        #expect(s.records.isEmpty)  // still lingering (5 s)
        t.feed([pkt(2.0)], sink: &s)  // a straggler joins the same record
        t.expire(now: Int64(8e9), sink: &s)
        #expect(s.records.count == 1)
        #expect(s.records[0].reason == .tcpFin && s.records[0].state == .closed)
        #expect(s.records[0].pktsToServer == 5)
    }

    @Test func rstEndsTheFlow() {
        let t = FlowTable()
        var s = FlowSink()
        t.feed([pkt(0, flags: 0x02), reply(0.01, flags: 0x14)], sink: &s)
        t.expire(now: Int64(10e9), sink: &s)
        #expect(s.records.count == 1 && s.records[0].reason == .tcpRst)
    }

    @Test func idleTimeoutsPerProtocol() {
        let t = FlowTable()  // UDP new 30 s; TCP new 60 s
        var s = FlowSink()
        t.feed([pkt(0, proto: 17), pkt(0, sport: 1, flags: 0x02)], sink: &s)
        t.expire(now: Int64(31e9), sink: &s)
        #expect(s.records.count == 1 && s.records[0].proto == 17 && s.records[0].reason == .idleTimeout)
        t.expire(now: Int64(61e9), sink: &s)
        #expect(s.records.count == 2 && s.records[1].proto == 6 && s.records[1].reason == .idleTimeout)
    }

    @Test func activeTimeoutCutsAndContinuesWithTheSameDirection() {
        var c = FlowTableConfig()
        c.activeTimeout = 10
        let t = FlowTable(config: c)
        var s = FlowSink()
        var ps: [DecodedPacket] = []
        for i in 0..<25 { ps.append(i % 2 == 0 ? pkt(Double(i), proto: 17) : reply(Double(i), proto: 17)) }
        t.feed(ps, sink: &s)
        t.flushAll(sink: &s)
        #expect(s.records.count == 3)
        #expect(s.records.map(\.reason) == [.activeTimeout, .activeTimeout, .shutdown])
        #expect(s.records.map(\.segment) == [0, 1, 2])
        #expect(Set(s.records.map(\.flowID)).count == 1)
        #expect(s.records.allSatisfy { $0.srcIP == client })
        #expect(s.records.reduce(0) { $0 + $1.pktsToServer + $1.pktsToClient } == 25)
    }

    @Test func fullTableEvictsLeastRecentlyActive() {
        var c = FlowTableConfig()
        c.maxFlows = 4; c.stripes = 1
        let t = FlowTable(config: c)
        var s = FlowSink()
        for i in 0..<4 { t.feed([pkt(Double(i), sport: UInt16(1000 + i), proto: 17)], sink: &s) }
        t.feed([pkt(4, sport: 1000, proto: 17)], sink: &s)   // 1000 is now the most recent
        t.feed([pkt(5, sport: 2000, proto: 17)], sink: &s)   // table full: evict 1001
        #expect(s.records.count == 1 && s.records[0].reason == .evicted && s.records[0].srcPort == 1001)
        #expect(t.activeFlows == 4)
        #expect(t.counters.ended(.evicted) == 1)
    }

    @Test func newSynOnAClosedFlowStartsANewRecord() {
        let t = FlowTable()
        var s = FlowSink()
        t.feed([pkt(0, flags: 0x02), reply(0.1, flags: 0x14), pkt(1, flags: 0x02), reply(1.1, flags: 0x12)], sink: &s)
        #expect(s.records.count == 1 && s.records[0].reason == .tcpRst)
        t.flushAll(sink: &s)
        #expect(s.records.count == 2 && s.records[1].pktsToServer == 1 && s.records[1].pktsToClient == 1)
    }

    @Test func nonFirstFragmentsCountToTheirFlow() {
        let t = FlowTable()
        var s = FlowSink()
        var first = pkt(0, proto: 17, len: 1500)
        first.isFragment = true; first.moreFragments = true; first.fragmentID = 9
        var second = pkt(0.001, proto: 17, len: 520)
        second.isFragment = true; second.fragmentOffset = 185; second.fragmentID = 9
        second.hasPorts = false; second.srcPort = 0; second.dstPort = 0
        var orphan = second
        orphan.fragmentID = 10
        t.feed([first, second, orphan], sink: &s)
        t.flushAll(sink: &s)
        #expect(s.records.count == 2)
        let main = s.records.first { $0.hasPorts }!
        #expect(main.pktsToServer == 2 && main.bytesToServer == 2020)
        #expect(t.counters.fragmentsMatched == 1 && t.counters.fragmentOrphans == 1)
    }

    @Test func vlansSeparateFlows() {
        let t = FlowTable()
        var s = FlowSink()
        var a = pkt(0, proto: 17); a.vlanCount = 1; a.vlan0 = 10
        var b = pkt(0, proto: 17); b.vlanCount = 1; b.vlan0 = 20
        t.feed([a, b, pkt(0, proto: 17)], sink: &s)
        t.flushAll(sink: &s)
        #expect(s.records.count == 3)
        #expect(Set(s.records.map { $0.key.vlans }) == [[10], [20], []])
    }

    @Test func sameInputGivesIdenticalRecords() {
        func run() -> [String] {
            let t = FlowTable()
            var s = FlowSink()
            var ps: [DecodedPacket] = []
            for i in 0..<500 {
                let sp = UInt16(1000 + i % 37)
                ps.append(pkt(Double(i) * 0.5, sport: sp, proto: i % 3 == 0 ? 17 : 6, flags: 0x18, len: 40 + i))
            }
            t.feed(ps, sink: &s)
            t.expire(now: Int64(200e9), sink: &s)
            t.flushAll(sink: &s)
            return s.records.map { "\($0.flowID) \($0.srcPort) \($0.pktsToServer) \($0.reason) \($0.features.values)" }
        }
        #expect(run() == run())
    }

    /// The index hash is seeded per table; flow ids, records and their order
    /// come from the stable hash and must not depend on the seed. Enough
    /// flows for a full table (evictions), closes, timeouts and a flush.
    @Test func recordsDoNotDependOnTheIndexSeed() {
        func run(seed: UInt64) -> [String] {
            var c = FlowTableConfig()
            c.stripes = 4
            c.maxFlows = 256
            let t = FlowTable(config: c, indexSeed: seed)
            var s = FlowSink()
            var ps: [DecodedPacket] = []
            for i in 0..<3000 {
                let sp = UInt16(1000 + (i * 7919) % 1500)
                let flags: UInt8 = i % 11 == 0 ? 0x02 : (i % 13 == 0 ? 0x04 : 0x18)
                ps.append(pkt(Double(i) * 0.05, sport: sp, proto: i % 4 == 0 ? 17 : 6, flags: flags, len: 40 + i % 300))
            }
            t.feed(ps, sink: &s)
            t.expire(now: Int64(100e9), sink: &s)
            t.flushAll(sink: &s)
            return s.records.map { "\($0.flowID) \($0.srcPort) \($0.pktsToServer) \($0.reason) \($0.features.values)" }
        }
        let a = run(seed: 0), b = run(seed: 0x0123_4567_89AB_CDEF), c = run(seed: .max)
        #expect(a.count > 1000)
        #expect(a == b && a == c)
        // Two tables do not share a seed (the default is random).
        #expect(FlowTable().indexSeed != FlowTable().indexSeed)
        var side = true
        let key = FlowKey.make(pkt(0), fromA: &side)
        #expect(FlowIndex.tag(key.stableHash(seed: 1)) != FlowIndex.tag(key.stableHash(seed: 2)))
    }

    @Test func threadsHammeringSharedStripes() async {
        var c = FlowTableConfig()
        c.stripes = 4
        let t = FlowTable(config: c)
        let threads = 8, flowsPerThread = 64, packetsPerFlow = 50
        // Every thread touches the same 64 flows (both directions), so
        // stripes are contended and each flow is updated from every thread.
        let totals = await withTaskGroup(of: Int.self) { group in
            for th in 0..<threads {
                group.addTask {
                    var s = FlowSink()
                    var ended = 0
                    for i in 0..<packetsPerFlow {
                        for f in 0..<flowsPerThread {
                            var p = (i + th) % 2 == 0
                                ? pkt(Double(i), sport: UInt16(2000 + f), proto: 17)
                                : pkt(Double(i), from: server, to: client, sport: 80, dport: UInt16(2000 + f), proto: 17)
                            t.process(&p, bytes: ByteView(base: nil, count: 0), sink: &s)
                        }
                    }
                    s.drain { _ in ended += 1 }
                    return ended
                }
            }
            return await group.reduce(0, +)
        }
        var s = FlowSink()
        t.flushAll(sink: &s)
        #expect(totals == 0)
        #expect(s.records.count == flowsPerThread)
        let packets = s.records.reduce(0) { $0 + $1.pktsToServer + $1.pktsToClient }
        #expect(packets == UInt64(threads * flowsPerThread * packetsPerFlow))
        #expect(t.activeFlows == 0)
    }
}
