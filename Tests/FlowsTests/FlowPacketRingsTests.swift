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
        for i in 0..<15 { feed(t, pkt(Double(i), proto: 17), tag: UInt8(i), sink: &s) }
        t.flushAll(sink: &s)
        #expect(s.records.map(\.segment) == [0, 1])
        #expect(kept(rings, s.records[0].packetRing).map { $0.bytes[0] } == [0, 1])
        #expect(kept(rings, s.records[1].packetRing).map { $0.bytes[0] } == [10, 11])
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
