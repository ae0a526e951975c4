import Foundation
import Testing
@testable import Decoding
@testable import Features
@testable import Flows

let client = IPAddress(v4: 10, 0, 0, 1)
let server = IPAddress(v4: 10, 0, 0, 2)

func pkt(_ t: Double, from src: IPAddress = client, to dst: IPAddress = server,
         sport: UInt16 = 40000, dport: UInt16 = 80, proto: UInt8 = 6, flags: UInt8 = 0x10,
         len: Int = 40) -> DecodedPacket {
    var p = DecodedPacket()
    p.timestampNs = Int64((t * 1e9).rounded())
    p.src = src; p.dst = dst
    p.srcPort = sport; p.dstPort = dport; p.hasPorts = true
    p.proto = proto; p.ipVersion = 4
    p.tcpFlags = proto == 6 ? flags : 0
    p.ipLength = len
    return p
}

func reply(_ t: Double, flags: UInt8 = 0x10, proto: UInt8 = 6, len: Int = 40) -> DecodedPacket {
    pkt(t, from: server, to: client, sport: 80, dport: 40000, proto: proto, flags: flags, len: len)
}

extension FlowTable {
    func feed(_ ps: [DecodedPacket], sink: inout FlowSink) {
        for var p in ps { process(&p, bytes: ByteView(base: nil, count: 0), sink: &sink) }
    }
}

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

@Suite struct IdleGapTests {
    @Test func aPacketAfterTheIdleTimeoutStartsANewFlowEvenBeforeASweep() {
        var c = FlowTableConfig()
        c.setIdleTimeout(10)
        let t = FlowTable(config: c)
        var s = FlowSink()
        t.feed([pkt(0, proto: 17), pkt(5, proto: 17), pkt(15.5, proto: 17)], sink: &s)
        #expect(s.records.count == 1 && s.records[0].reason == .idleTimeout)
        #expect(s.records[0].pktsToServer == 2)
        t.flushAll(sink: &s)
        #expect(s.records.count == 2 && s.records[1].pktsToServer == 1)
    }
}

/// The stripe index against a dictionary: random inserts and removals with
/// many shared home positions (tags chosen from a small set of homes), so
/// backward-shift deletion runs across wrapped clusters.
@Suite struct FlowIndexTests {
    @Test func matchesADictionaryUnderRandomInsertsAndRemovals() {
        let index = FlowIndex(capacity: 64)  // 128 positions
        defer { index.deallocate() }
        var truth: [Int32: UInt32] = [:]
        var rng = SystemRandomNumberGenerator()
        func lookup(_ tag: UInt32, _ idx: Int32) -> Bool {
            var i = index.home(tag)
            while index.table[i] != 0 {
                if index.table[i] == FlowIndex.entry(tag, idx) { return true }
                i = (i + 1) & index.mask
            }
            return false
        }
        for step in 0..<20_000 {
            if truth.count < 64 && (truth.isEmpty || Bool.random(using: &rng)) {
                var idx = Int32.random(in: 0..<64, using: &rng)
                while truth[idx] != nil { idx = (idx + 1) % 64 }
                // Homes 120…127 and 0…3: clusters that wrap around the end.
                let home = UInt32([120, 121, 126, 127, 0, 1, 3].randomElement(using: &rng)!)
                let tag = UInt32.random(in: 0..<(1 << 20), using: &rng) << 7 | home
                index.insert(tag: tag, idx: idx)
                truth[idx] = tag
            } else {
                let (idx, tag) = truth.randomElement(using: &rng)!
                index.remove(tag: tag, idx: idx)
                truth[idx] = nil
            }
            if step % 97 == 0 || truth.count == 64 {
                for (idx, tag) in truth { #expect(lookup(tag, idx), "step \(step): slot \(idx) lost") }
                #expect((0...index.mask).filter { index.table[$0] != 0 }.count == truth.count)
            }
        }
    }
}

@Suite struct ChunkedFlushTests {
    /// A table of `n` flows (mixed protocols, some closed TCP) with 4 stripes.
    func filled(_ n: Int) -> FlowTable {
        var c = FlowTableConfig()
        c.stripes = 4
        c.maxFlows = 4096
        let t = FlowTable(config: c)
        var s = FlowSink()
        for i in 0..<n {
            let sp = UInt16(1000 + i)
            let at = Double(n - i) * 0.001  // later ports start earlier: start order is not insertion order
            switch i % 3 {
            case 0: t.feed([pkt(at, sport: sp, proto: 17), pkt(at + 0.5, sport: sp, proto: 17)], sink: &s)
            case 1: t.feed([pkt(at, sport: sp, flags: 0x02), pkt(at + 1, sport: sp, flags: 0x04)], sink: &s)
            default: t.feed([pkt(at, sport: sp, flags: 0x18, len: 100)], sink: &s)
            }
        }
        #expect(s.records.isEmpty && t.activeFlows == n)
        return t
    }

    func describe(_ rs: [FlowRecord]) -> [String] {
        rs.map { "\($0.flowID) \($0.srcPort) \($0.startNs) \($0.pktsToServer) \($0.reason) \($0.features.values)" }
    }

    @Test func chunkedFlushGivesTheSameRecordsInTheSameOrderAChunkAtATime() {
        var whole = FlowSink()
        filled(1000).flushAll(sink: &whole)
        #expect(whole.records.count == 1000)
        #expect(zip(whole.records, whole.records.dropFirst()).allSatisfy { $0.startNs <= $1.startNs })
        #expect(whole.records.contains { $0.reason == .tcpRst } && whole.records.contains { $0.reason == .shutdown })

        let t = filled(1000)
        var s = FlowSink()
        var got: [FlowRecord] = []
        var batches: [Int] = []
        t.flushAll(reason: .shutdown, chunk: 64, sink: &s) { sink in
            batches.append(sink.records.count)
            got += sink.records
            sink.removeAll()
        }
        #expect(describe(got) == describe(Array(whole.records)))
        #expect(batches.max() == 64 && batches.reduce(0, +) == 1000)
        #expect(batches.count == (1000 + 63) / 64)
        #expect(t.activeFlows == 0 && t.counters.ended(.shutdown) + t.counters.ended(.tcpRst) == 1000)
    }

    @Test func chunkedExpireGivesTheSameRecordsInTheSameOrder() {
        var whole = FlowSink()
        filled(1000).expire(now: Int64(1000e9), sink: &whole)
        #expect(whole.records.count == 1000)

        let t = filled(1000)
        var s = FlowSink()
        var got: [FlowRecord] = []
        var batches: [Int] = []
        t.expire(now: Int64(1000e9), chunk: 100, sink: &s) { sink in
            batches.append(sink.records.count)
            got += sink.records
            sink.removeAll()
        }
        #expect(describe(got) == describe(Array(whole.records)))
        #expect(batches.allSatisfy { $0 <= 100 } && batches.reduce(0, +) == 1000 && batches.count == 10)
        #expect(t.activeFlows == 0)
        // Nothing expired: drain is not called.
        var calls = 0
        filled(10).expire(now: 0, chunk: 4, sink: &s) { _ in calls += 1 }
        #expect(calls == 0)
    }

    /// Records are written in place over storage left from earlier batches:
    /// nothing of a big earlier record (32-packet sequence, tunnel, VLAN,
    /// payload) may show through a small later one. Every stored field is
    /// compared (by reflection, so a field added later is covered too) with
    /// the same flow's record from a fresh sink.
    @Test func aRecordWrittenOverAnEarlierOneKeepsNothingOfIt() {
        func fields(_ r: FlowRecord) -> [String: String] {
            var d: [String: String] = [:]
            for c in Mirror(reflecting: r).children where c.label != "sequence" {
                d[c.label ?? "?"] = String(describing: c.value)
            }
            return d
        }
        var big: [DecodedPacket] = []
        for k in 0..<40 {
            var p = k % 2 == 0 ? pkt(Double(k) * 0.01, flags: 0x18, len: 1400) : reply(Double(k) * 0.01, flags: 0x19, len: 900)
            p.vlanCount = 1; p.vlan0 = 7
            p.tunnel = .gre; p.tunnelSrc = IPAddress(v4: 192, 0, 2, 1); p.tunnelDst = IPAddress(v4: 192, 0, 2, 2)
            p.payloadLength = 100
            big.append(p)
        }
        let small = [pkt(100, from: IPAddress(v4: 10, 9, 9, 9), sport: 5353, dport: 53, proto: 17, len: 61)]

        var reused = FlowSink()
        let t1 = FlowTable()
        t1.feed(big, sink: &reused)
        t1.flushAll(sink: &reused)
        #expect(reused.count == 1 && reused.records[0].sequence.count == 32)
        reused.removeAll()
        let t2 = FlowTable()
        t2.feed(small, sink: &reused)
        t2.flushAll(sink: &reused)

        var fresh = FlowSink()
        let t3 = FlowTable()
        t3.feed(small, sink: &fresh)
        t3.flushAll(sink: &fresh)
        #expect(reused.count == 1 && fresh.count == 1)
        let a = reused.records[0], b = fresh.records[0]
        #expect(fields(a) == fields(b))
        #expect(fields(a).count >= 25)
        #expect(a.sequence.count == 1 && b.sequence.count == 1)
        for i in 0..<PacketSequence.length { #expect(a.sequence[i] == b.sequence[i]) }
        #expect(a.tunnel == .none && a.vlanCount == 0 && a.pktsToServer == 1 && a.features[.pkt_len_max] == 61)
    }
}
