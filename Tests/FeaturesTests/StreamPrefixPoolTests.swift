import Testing
@testable import Decoding
@testable import Features

/// Segments handed to a `StreamPrefixPool` as the flow table hands them:
/// a decoded packet whose payload lies at `payloadOffset` of its bytes.
private struct Stream {
    var pool: StreamPrefixPool
    var handle: Int32 = -1

    init(prefix: Int = 16, capacity: Int = 4) { pool = StreamPrefixPool(capacity: capacity, prefixBytes: prefix) }

    mutating func segment(_ payload: [UInt8], seq: UInt32, dir: Int = 0, isn: UInt32? = 999, proto: UInt8 = IPProto.tcp,
                          captured: Int? = nil) {
        let header = [UInt8](repeating: 0xEE, count: 8)
        let bytes = header + payload.prefix(captured ?? payload.count)
        var p = DecodedPacket()
        p.proto = proto
        p.tcpSeq = seq
        p.payloadOffset = header.count
        p.payloadLength = payload.count
        bytes.withUnsafeBytes { raw in
            withUnsafePointer(to: p) { pool.add(&handle, packet: $0, direction: dir, isn: isn, bytes: ByteView(raw)) }
        }
    }

    func text(_ dir: Int = 0) -> String {
        pool.withStream(handle, direction: dir) { view, _ in
            String(decoding: (0..<view.count).map { view.u8($0)! }, as: UTF8.self)
        }
    }

    func state(_ dir: Int = 0) -> StreamPrefixState.Direction { pool.withStream(handle, direction: dir) { $1 } }
}

private func b(_ s: String) -> [UInt8] { Array(s.utf8) }

@Suite struct StreamPrefixPoolTests {
    @Test func inOrderSegmentsFromTheSynSequence() {
        var s = Stream()
        s.segment(b("GET "), seq: 1000)          // ISN 999: byte 0 is 1000
        s.segment(b("/ HTTP"), seq: 1004)
        #expect(s.text() == "GET / HTTP")
        #expect(s.state().outOfOrder == 0 && s.state().overlaps == 0 && !s.state().midstream)
    }

    @Test func outOfOrderSegmentWaitsForTheHole() {
        var s = Stream()
        s.segment(b("CDEF"), seq: 1002)
        #expect(s.text() == "")                  // a hole at 0–1: nothing contiguous yet
        s.segment(b("AB"), seq: 1000)
        #expect(s.text() == "ABCDEF")
        #expect(s.state().outOfOrder == 1 && !s.state().hasHole)
    }

    @Test func retransmissionKeepsTheBytesSeenFirstAndTakesTheNewTail() {
        var s = Stream()
        s.segment(b("ABCD"), seq: 1000)
        s.segment(b("xxCDEF"), seq: 1000)        // overlaps 0–3 with other bytes, adds 4–5
        #expect(s.text() == "ABCDEF")
        s.segment(b("AB"), seq: 1000)             // a pure retransmission
        #expect(s.text() == "ABCDEF" && s.state().overlaps == 2)
    }

    @Test func prefixCutsTheStreamAndSaysSo() {
        var s = Stream(prefix: 8)
        s.segment(b("0123456789"), seq: 1000)
        #expect(s.text() == "01234567" && s.state().truncated)
        s.segment(b("zz"), seq: 1020)             // wholly past the prefix
        #expect(s.text() == "01234567")
    }

    @Test func sequenceNumbersWrapAroundZero() {
        var s = Stream()
        s.segment(b("AB"), seq: UInt32.max, isn: UInt32.max - 1)
        s.segment(b("CD"), seq: 1)                // UInt32.max + 2 wraps to 1
        #expect(s.text() == "ABCD")
    }

    @Test func withoutAHandshakeTheFirstSegmentStartsTheStream() {
        var s = Stream()
        s.segment(b("CD"), seq: 5002, isn: nil)
        s.segment(b("AB"), seq: 5000, isn: nil)   // before byte 0: dropped as old data
        s.segment(b("EF"), seq: 5004, isn: nil)
        #expect(s.text() == "CDEF" && s.state().midstream)
    }

    @Test func snapshotLengthLeavesAHole() {
        var s = Stream()
        s.segment(b("ABCD"), seq: 1000, captured: 2)
        s.segment(b("EF"), seq: 1004)
        #expect(s.text() == "AB" && s.state().gaps == 1 && s.state().hasHole)
    }

    @Test func pendingRangesAreBounded() {
        var s = Stream(prefix: 64)
        for k in 0..<6 { s.segment(b("x"), seq: UInt32(1002 + 2 * k)) }
        #expect(s.state().outOfOrder == 6 && s.state().dropped == 2)
        #expect(s.text() == "")
    }

    @Test func directionsAreSeparateAndUDPKeepsTheFirstDatagram() {
        var s = Stream()
        s.segment(b("query"), seq: 0, dir: 0, isn: nil, proto: IPProto.udp)
        s.segment(b("again"), seq: 0, dir: 0, isn: nil, proto: IPProto.udp)
        s.segment(b("answer"), seq: 0, dir: 1, isn: nil, proto: IPProto.udp)
        #expect(s.text(0) == "query" && s.text(1) == "answer" && s.state(0).datagrams == 2)
    }

    /// A client datagram that starts a QUIC Initial (long header, version 1, type 0).
    private func initial(_ fill: UInt8, _ n: Int, version: [UInt8] = [0, 0, 0, 1], first: UInt8 = 0xC3) -> [UInt8] {
        [first] + version + [UInt8](repeating: fill, count: n - 5)
    }

    @Test func quicClientKeepsItsInitialDatagramsAfterTheFirst() {
        var s = Stream(prefix: 4096)
        s.segment(initial(1, 1200), seq: 0, dir: 0, isn: nil, proto: IPProto.udp)
        s.segment(initial(9, 300), seq: 0, dir: 1, isn: nil, proto: IPProto.udp)         // the server's: not kept
        s.segment([0x41, 1, 2, 3, 4, 5], seq: 0, dir: 0, isn: nil, proto: IPProto.udp)  // a short header: skipped
        s.segment(initial(2, 1200, first: 0xE3), seq: 0, dir: 0, isn: nil, proto: IPProto.udp)  // Handshake: skipped
        s.segment(initial(3, 1200), seq: 0, dir: 0, isn: nil, proto: IPProto.udp)
        s.segment(initial(4, 1200), seq: 0, dir: 0, isn: nil, proto: IPProto.udp)
        s.segment(initial(5, 1200), seq: 0, dir: 0, isn: nil, proto: IPProto.udp)       // past 4096: not kept
        s.segment(initial(6, 400), seq: 0, dir: 0, isn: nil, proto: IPProto.udp)        // fits; the fourth and last
        s.segment(initial(7, 10), seq: 0, dir: 0, isn: nil, proto: IPProto.udp)         // over the count
        // The first datagram is still what every other parser reads.
        #expect(s.state(0).contiguous == 1200 && s.state(0).datagrams == 8)
        s.pool.withQUICInitials(s.handle) { view, ends in
            #expect(ends.count == 4 && [ends[0], ends[1], ends[2], ends[3]] == [1200, 2400, 3600, 4000])
            #expect(view.count == 4000 && view.u8(1199) == 1 && view.u8(1205) == 3 && view.u8(2405) == 4
                && view.u8(3605) == 6)
        }
        // A UDP flow that does not open with a version 1 or 2 Initial keeps its first datagram only.
        for first in [initial(1, 1200, version: [0xFF, 0, 0, 0x1D]), b("query")] {
            var u = Stream(prefix: 4096)
            u.segment(first, seq: 0, dir: 0, isn: nil, proto: IPProto.udp)
            u.segment(initial(3, 1200), seq: 0, dir: 0, isn: nil, proto: IPProto.udp)
            u.pool.withQUICInitials(u.handle) { view, ends in #expect(view.count == 0 && ends.count == 0) }
        }
        // A version 2 Initial (type bits 01).
        var v2 = Stream(prefix: 4096)
        v2.segment(initial(1, 1200, version: [0x6B, 0x33, 0x43, 0xCF], first: 0xD3), seq: 0, dir: 0, isn: nil,
                   proto: IPProto.udp)
        v2.pool.withQUICInitials(v2.handle) { _, ends in #expect(ends.count == 1) }
    }

    @Test func exhaustedPoolCountsAndReleasedHandlesAreReusedClean() {
        var pool = StreamPrefixPool(capacity: 1, prefixBytes: 8)
        var p = DecodedPacket()
        p.proto = IPProto.udp; p.payloadLength = 3
        let bytes: [UInt8] = [1, 2, 3]
        var h1: Int32 = -1, h2: Int32 = -1
        bytes.withUnsafeBytes { raw in
            withUnsafePointer(to: p) {
                pool.add(&h1, packet: $0, direction: 0, isn: nil, bytes: ByteView(raw))
                pool.add(&h2, packet: $0, direction: 0, isn: nil, bytes: ByteView(raw))
            }
        }
        #expect(h1 == 0 && h2 == -1 && pool.exhausted == 1)
        pool.release(h1)
        var h3: Int32 = -1
        #expect(pool.withStream(h1, direction: 0) { v, _ in v.count } == 3)
        bytes.withUnsafeBytes { raw in
            var q = p; q.payloadLength = 1
            withUnsafePointer(to: q) { pool.add(&h3, packet: $0, direction: 1, isn: nil, bytes: ByteView(raw)) }
        }
        #expect(h3 == 0)
        #expect(pool.withStream(h3, direction: 0) { v, _ in v.count } == 0)  // the old flow's bytes are gone
        #expect(pool.withStream(h3, direction: 1) { v, _ in v.count } == 1)
    }

    @Test func disabledPoolTakesNothing() {
        var s = Stream(prefix: 0)
        s.segment(b("ABC"), seq: 1000)
        #expect(s.handle == -1 && s.pool.exhausted == 0)
    }
}

@Suite struct StreamPrefixMemoryTests {
    /// docs/flow-records.md states the state per flow; keep it true.
    @Test func statePerFlowIsAsDocumented() {
        #expect(MemoryLayout<StreamPrefixState>.stride == 152)
        let pool = StreamPrefixPool(capacity: 16, prefixBytes: 4096)
        #expect(pool.memoryBytes >= 16 * 2 * 4096)
    }
}

@Suite struct StreamPrefixPromotionTests {
    /// A direction starts in its small area and moves to a block when its
    /// bytes pass it, with the bytes (and the ranges parked past a hole) intact.
    @Test func bytesMoveToABlockPastTheSmallArea() {
        var pool = StreamPrefixPool(capacity: 2, prefixBytes: 2048)
        #expect(pool.smallBytes == 512)
        var h: Int32 = -1
        func seg(_ byte: UInt8, at offset: Int, count: Int) {
            var p = DecodedPacket()
            p.proto = IPProto.tcp; p.tcpSeq = UInt32(1000 + offset); p.payloadOffset = 0; p.payloadLength = count
            let b = [UInt8](repeating: byte, count: count)
            b.withUnsafeBytes { raw in withUnsafePointer(to: p) { pool.add(&h, packet: $0, direction: 0, isn: 999, bytes: ByteView(raw)) } }
        }
        seg(1, at: 0, count: 300)
        seg(3, at: 400, count: 100)          // parked in the small area
        seg(4, at: 900, count: 100)          // parked past it: the direction moves to a block
        seg(2, at: 300, count: 100)          // fills the first hole
        seg(5, at: 500, count: 400)          // and the second
        let bytes: [UInt8] = pool.withStream(h, direction: 0) { v, _ in (0..<v.count).map { v.u8($0)! } }
        let want = [UInt8](repeating: 1, count: 300) + [UInt8](repeating: 2, count: 100) + [UInt8](repeating: 3, count: 100)
            + [UInt8](repeating: 5, count: 400) + [UInt8](repeating: 4, count: 100)
        #expect(bytes == want)
        // The block comes back with the handle; the next flow starts small again.
        pool.release(h)
        var h2: Int32 = -1
        var p = DecodedPacket(); p.proto = IPProto.udp; p.payloadLength = 3
        [UInt8](repeating: 9, count: 3).withUnsafeBytes { raw in
            withUnsafePointer(to: p) { pool.add(&h2, packet: $0, direction: 0, isn: nil, bytes: ByteView(raw)) }
        }
        #expect(h2 == h && pool.withStream(h2, direction: 0) { v, _ in v.count } == 3)
        #expect(pool.freeBlocks.count == 1)
    }

    /// There are two blocks per handle: both directions of a flow always get one.
    @Test func bothDirectionsOfAFlowGetABlock() {
        var pool = StreamPrefixPool(capacity: 1, prefixBytes: 4096)
        var h: Int32 = -1
        for (d, n) in [(0, 3000), (1, 3000)] {
            var p = DecodedPacket(); p.proto = IPProto.udp; p.payloadLength = n
            [UInt8](repeating: 7, count: n).withUnsafeBytes { raw in
                withUnsafePointer(to: p) { pool.add(&h, packet: $0, direction: d, isn: nil, bytes: ByteView(raw)) }
            }
        }
        #expect(pool.withStream(h, direction: 0) { v, _ in v.count } == 3000)
        #expect(pool.withStream(h, direction: 1) { v, _ in v.count } == 3000)
    }
}
