import Testing
@testable import Decoding
@testable import Flows

/// The per-flow rings of `--alert-pcap`: a flow's first packets, whole and
/// in order, handed to its record; a fixed arena whose cells come back.
@Suite struct FlowPacketRingsTests {
    /// A table with rings of `ring` packets over `cells` cells (one stripe).
    func table(ring: Int, cells: Int, snaplen: Int = 128, activeTimeout: Double? = nil) -> (FlowTable, FlowPacketRings) {
        var c = FlowTableConfig()
        c.stripes = 1
        c.maxFlows = 64
        if let activeTimeout { c.activeTimeout = activeTimeout }
        let t = FlowTable(config: c)
        let layout = t.stripeLayout
        let rings = FlowPacketRings(stripes: layout.stripes, slotsPerStripe: layout.slotsPerStripe, ringPackets: ring,
                                    snaplen: snaplen, memcapBytes: cells * FlowPacketRings.cellBytes(snaplen: snaplen))
        t.packetRings = rings
        return (t, rings)
    }

    /// Feeds `p` with `count` bytes, each the packet's `tag`, and a wire length 10 more.
    func feed(_ t: FlowTable, _ p: DecodedPacket, tag: UInt8, count: Int = 60, sink: inout FlowSink) {
        var p = p
        p.wireLength = count + 10
        let bytes = [UInt8](repeating: tag, count: count)
        bytes.withUnsafeBytes { t.process(&p, bytes: ByteView($0), sink: &sink) }
    }

    func kept(_ rings: FlowPacketRings, _ chain: PacketChain) -> [(ts: Int64, wire: Int, bytes: [UInt8])] {
        var out: [(Int64, Int, [UInt8])] = []
        rings.forEach(chain) { out.append(($0.timestampNs, $0.wireLength, Array($0.bytes))) }
        return out
    }

    @Test func eachRecordGetsItsFlowsFirstPacketsInOrder() {
        let (t, rings) = table(ring: 3, cells: 64)
        var s = FlowSink()
        // Two flows interleaved, five packets each.
        for i in 0..<5 {
            feed(t, i % 2 == 0 ? pkt(Double(i)) : reply(Double(i)), tag: UInt8(i), sink: &s)
            feed(t, pkt(Double(i) + 0.5, sport: 40001), tag: UInt8(100 + i), sink: &s)
        }
        t.flushAll(sink: &s)
        #expect(s.records.count == 2)
        for r in s.records {
            let base: UInt8 = r.srcPort == 40001 ? 100 : 0
            let got = kept(rings, r.packetRing)
            #expect(r.packetRing.count == 3)
            #expect(got.map(\.ts) == (0..<3).map { Int64((Double($0) + (base == 100 ? 0.5 : 0)) * 1e9) })
            #expect(got.map { $0.bytes.first } == (0..<3).map { base + UInt8($0) })
            #expect(got.allSatisfy { $0.bytes.count == 60 && $0.wire == 70 })
            rings.release(r.packetRing)
        }
        #expect(rings.counters.kept == 6)
        #expect(rings.counters.notKept == 0)
    }

    @Test func anActiveTimeoutSegmentStartsItsOwnRing() {
        let (t, rings) = table(ring: 2, cells: 64, activeTimeout: 10)
        var s = FlowSink()
        for i in 0..<11 { feed(t, pkt(Double(i), proto: 17), tag: UInt8(i), sink: &s) }
        // The writer's verdict on segment 0: no alert.
        #expect(s.records.map(\.segment) == [0])
        rings.noteVerdict(s.records[0].packetRing, alerted: false)
        for i in 11..<15 { feed(t, pkt(Double(i), proto: 17), tag: UInt8(i), sink: &s) }
        t.flushAll(sink: &s)
        #expect(s.records.map(\.segment) == [0, 1])
        #expect(kept(rings, s.records[0].packetRing).map { $0.bytes[0] } == [0, 1])
        #expect(kept(rings, s.records[1].packetRing).map { $0.bytes[0] } == [10, 11])
        #expect(!rings.flowAlerted(before: s.records[1].packetRing))
    }

    /// Feeds the UDP flow of `pkt` one packet a second from `from` up to `to` (exclusive), tagged with the second.
    func feedSeconds(_ t: FlowTable, _ range: Range<Int>, sport: UInt16 = 40000, sink: inout FlowSink) {
        for i in range { feed(t, pkt(Double(i), sport: sport, proto: 17), tag: UInt8(truncatingIfNeeded: i), sink: &sink) }
    }

    @Test func afterAnAlertEveryLaterPacketOfTheFlowIsKept() {
        let (t, rings) = table(ring: 2, cells: 256, activeTimeout: 10)
        var s = FlowSink()
        feedSeconds(t, 0..<11, sink: &s)
        #expect(s.records.count == 1)
        rings.noteVerdict(s.records[0].packetRing, alerted: true)
        feedSeconds(t, 11..<25, sink: &s)
        t.flushAll(sink: &s)
        #expect(s.records.map(\.segment) == [0, 1, 2])
        #expect(kept(rings, s.records[0].packetRing).map { $0.bytes[0] } == [0, 1])
        #expect(kept(rings, s.records[1].packetRing).map { $0.bytes[0] } == Array(10..<20))
        #expect(kept(rings, s.records[2].packetRing).map { $0.bytes[0] } == Array(20..<25))
        #expect(!rings.flowAlerted(before: s.records[0].packetRing))
        #expect(rings.flowAlerted(before: s.records[1].packetRing))
        #expect(rings.flowAlerted(before: s.records[2].packetRing))
        #expect(rings.counters.notKept == 0)
    }

    @Test func aSegmentAwaitingItsVerdictKeepsEverythingThenTrimsToItsRing() {
        let (t, rings) = table(ring: 2, cells: 64, activeTimeout: 10)
        var s = FlowSink()
        feedSeconds(t, 0..<16, sink: &s)
        // Segment 1 has 6 packets, all kept while segment 0's verdict is pending.
        let stripeFree = { rings.freeCounts[0] }
        #expect(stripeFree() == 64 - 2 - 6)
        rings.noteVerdict(s.records[0].packetRing, alerted: false)
        feedSeconds(t, 16..<18, sink: &s)
        // Back to the ring: the cells past it are free again, the new packets not kept.
        #expect(stripeFree() == 64 - 2 - 2)
        t.flushAll(sink: &s)
        #expect(kept(rings, s.records[1].packetRing).map { $0.bytes[0] } == [10, 11])
        #expect(rings.counters.notKept == 0)
        // A verdict on a segment that never came (the writer lags by more
        // than one segment): the later segment still waits for its own.
        let (t2, rings2) = table(ring: 2, cells: 64, activeTimeout: 10)
        var s2 = FlowSink()
        feedSeconds(t2, 0..<25, sink: &s2)
        #expect(s2.records.map(\.segment) == [0, 1])
        rings2.noteVerdict(s2.records[0].packetRing, alerted: false)
        feedSeconds(t2, 25..<27, sink: &s2)
        t2.flushAll(sink: &s2)
        #expect(kept(rings2, s2.records[2].packetRing).count == 7)
    }

    @Test func aNewFlowInAnAlertedFlowsSlotDoesNotInheritItsMark() {
        // One slot: every flow takes the same one.
        var c = FlowTableConfig()
        c.stripes = 1
        c.maxFlows = 1
        c.activeTimeout = 10
        let t = FlowTable(config: c)
        let rings = FlowPacketRings(stripes: 1, slotsPerStripe: t.stripeLayout.slotsPerStripe, ringPackets: 2,
                                    snaplen: 64, memcapBytes: 256 * FlowPacketRings.cellBytes(snaplen: 64))
        t.packetRings = rings
        var s = FlowSink()
        feedSeconds(t, 0..<11, sink: &s)
        let first = s.records[0].packetRing
        rings.noteVerdict(first, alerted: true)
        // The alerted flow is evicted by another flow taking its slot, which runs into a second segment.
        feedSeconds(t, 11..<12, sink: &s)
        feedSeconds(t, 12..<30, sport: 40001, sink: &s)
        t.flushAll(sink: &s)
        #expect(s.records.map { "\($0.srcPort)/\($0.segment)" } == ["40000/0", "40000/1", "40001/0", "40001/1"])
        let b0 = s.records[2].packetRing, b1 = s.records[3].packetRing
        #expect(b0.slot == first.slot && b0.generation != first.generation)
        #expect(rings.flowAlerted(before: s.records[1].packetRing))
        #expect(!rings.flowAlerted(before: b0) && !rings.flowAlerted(before: b1))
        #expect(kept(rings, b0).count == 2)
        // A late verdict on the old flow does not replace the new flow's.
        rings.noteVerdict(b0, alerted: false)
        rings.noteVerdict(s.records[1].packetRing, alerted: true)
        #expect(!rings.flowAlerted(before: b1))
    }

    @Test func packetsPastARingLeaveAReserveForNewFlows() {
        // 8 cells: a quarter (2) is kept for packets within rings.
        let (t, rings) = table(ring: 1, cells: 8, activeTimeout: 10)
        var s = FlowSink()
        feedSeconds(t, 0..<11, sink: &s)
        rings.noteVerdict(s.records[0].packetRing, alerted: true)
        rings.release(s.records[0].packetRing)
        feedSeconds(t, 11..<20, sink: &s)
        // Segment 1 (from second 10): 7 cells would be free for it, it takes down to the reserve.
        #expect(rings.freeCounts[0] == 2)
        let notKeptBefore = rings.counters.notKept
        #expect(notKeptBefore == 10 - 6)
        feedSeconds(t, 20..<21, sport: 40001, sink: &s)
        t.flushAll(sink: &s)
        #expect(s.records.map(\.packetRing.count) == [1, 6, 1])
        #expect(rings.counters.notKept == notKeptBefore)
    }

    @Test func longPacketsAreCutAtTheSnaplenWithTheirWireLengthKept() {
        let (t, rings) = table(ring: 4, cells: 8, snaplen: 64)
        var s = FlowSink()
        feed(t, pkt(0), tag: 7, count: 1000, sink: &s)
        t.flushAll(sink: &s)
        let got = kept(rings, s.records[0].packetRing)
        #expect(got.count == 1 && got[0].bytes.count == 64 && got[0].wire == 1010)
    }

    @Test func theArenaIsFixedAndReleasedCellsComeBack() {
        let (t, rings) = table(ring: 4, cells: 5)
        #expect(rings.cellCount == 5)
        var s = FlowSink()
        for i in 0..<4 { feed(t, pkt(Double(i)), tag: 1, sink: &s) }
        for i in 0..<4 { feed(t, pkt(Double(i), sport: 40001), tag: 2, sink: &s) }
        t.flushAll(sink: &s)
        // Four for the first flow, one for the second; three packets not kept.
        #expect(s.records.map(\.packetRing.count).sorted() == [1, 4])
        #expect(rings.counters.notKept == 3)
        for r in s.records { rings.release(r.packetRing) }
        s.removeAll()
        for i in 0..<4 { feed(t, pkt(Double(100 + i), sport: 40002), tag: 3, sink: &s) }
        t.flushAll(sink: &s)
        #expect(s.records.map(\.packetRing.count) == [4])
        #expect(rings.counters.notKept == 3)
    }

    @Test func withoutRingsRecordsCarryNoPackets() {
        let t = FlowTable()
        var s = FlowSink()
        feed(t, pkt(0), tag: 1, sink: &s)
        t.flushAll(sink: &s)
        #expect(s.records[0].packetRing == .none)
    }
}
