#if canImport(Glibc)
import Glibc
#endif
import Decoding

/// The first bytes of each direction of a conversation, in order, for the
/// application-layer parsers (TLS, HTTP, SSH, DNS over TCP): at most
/// `prefixBytes` per direction, handed out only to flows that carry payload.
///
/// TCP segments are placed by sequence number relative to the direction's
/// first byte (the SYN's sequence + 1, or the first data segment's when the
/// handshake was missed), so out-of-order segments land where they belong
/// and retransmissions and overlaps keep the bytes seen first. Bytes past a
/// hole wait in up to `maxPendingRanges` ranges until the hole fills; the
/// parsers read only the contiguous part from byte 0. UDP keeps each
/// direction's first datagram; when the client's first datagram starts with
/// a QUIC Initial packet (`QUICHeader.isInitial`), its next Initial datagrams
/// are kept after it too, up to `maxQUICDatagrams` in all and as long as
/// each fits whole in the prefix: a ClientHello with post-quantum key shares
/// spans two Initial packets. They are only copied here; the QUIC parser
/// opens them when the flow's record is written.
///
/// Memory: each direction starts in a small area of `smallBytes` (512)
/// bytes, four handles' worth to a page, and moves to a block of
/// `prefixBytes` the first time its bytes reach past it (most DNS messages
/// and many requests never do). `capacity` handles hold 2 × `smallBytes`
/// bytes and `MemoryLayout<StreamPrefixState>.stride` bytes of state;
/// 2 × `capacity` blocks of `prefixBytes` back them. All of it is allocated
/// at start and never zeroed: the allocator maps fresh pages, and a page
/// becomes resident only when bytes are first written to it (only
/// `contiguous` bytes are ever read), so small flows cost a quarter page
/// and a first touch of a page is paid once per page, not per flow. Handles
/// and blocks are reused through free lists. When every handle is taken a
/// flow simply gets none and `exhausted` is counted.
public struct StreamPrefixPool: Sendable {
    public static let maxPendingRanges = 4
    /// Most client datagrams kept for a QUIC flow (its first and later Initials).
    public static let maxQUICDatagrams = 4
    /// Bytes of a direction's first area (less when the prefix is smaller).
    public let smallBytes: Int
    public let prefixBytes: Int
    public let capacity: Int32
    /// The small areas (2 per handle), then the blocks.
    var bytes: [UInt8] = []
    let blocksStart: Int
    var state: [StreamPrefixState] = []
    var free: [Int32] = []
    var blocksUsed: Int32 = 0
    var freeBlocks: [Int32] = []
    public var exhausted: UInt64 = 0

    public init(capacity: Int, prefixBytes: Int) {
        self.prefixBytes = Swift.max(0, prefixBytes)
        self.capacity = prefixBytes > 0 ? Int32(clamping: Swift.max(0, capacity)) : 0
        smallBytes = Swift.min(512, self.prefixBytes)
        blocksStart = Int(self.capacity) * 2 * smallBytes
        let total = blocksStart + (self.prefixBytes > smallBytes ? Int(self.capacity) * 2 * self.prefixBytes : 0)
        // Not initialised on purpose (see above): a byte is read only after it is written.
        bytes = [UInt8](unsafeUninitializedCapacity: total) { _, count in count = total }
        state.reserveCapacity(Int(self.capacity))
        free.reserveCapacity(Int(self.capacity))
        freeBlocks.reserveCapacity(2 * Int(self.capacity))
    }

    public var isEnabled: Bool { capacity > 0 }

    /// A fresh handle, or -1 when the pool is exhausted (or disabled).
    mutating func acquire() -> Int32 {
        if let h = free.popLast() {
            state[Int(h)] = StreamPrefixState()
            return h
        }
        guard Int32(state.count) < capacity else {
            if capacity > 0 { exhausted &+= 1 }
            return -1
        }
        state.append(StreamPrefixState())
        return Int32(state.count - 1)
    }

    public mutating func release(_ h: Int32) {
        guard h >= 0 else { return }
        for d in 0..<2 where state[Int(h)].dir[d].block >= 0 { freeBlocks.append(state[Int(h)].dir[d].block) }
        free.append(h)
    }

    /// Where direction `d` of handle `h` keeps byte 0, and how far it may
    /// write, for bytes up to `end`: its small area, or its block, taken
    /// (and the small area's bytes copied over) when `end` is past the
    /// small area. There are two blocks per handle, so one is always free;
    /// were none, the small area would be all the direction gets.
    private mutating func location(_ h: Int, _ d: Int, upTo end: Int) -> (base: Int, limit: Int) {
        let block = state[h].dir[d].block
        if block >= 0 { return (blocksStart + Int(block) * prefixBytes, prefixBytes) }
        let small = (h * 2 + d) * smallBytes
        guard end > smallBytes, prefixBytes > smallBytes else { return (small, smallBytes) }
        let b: Int32
        if let f = freeBlocks.popLast() { b = f } else if blocksUsed < 2 * capacity { b = blocksUsed; blocksUsed += 1 } else {
            return (small, smallBytes)
        }
        state[h].dir[d].block = b
        let base = blocksStart + Int(b) * prefixBytes
        let n = smallBytes
        bytes.withUnsafeMutableBytes { all in
            guard let p = all.baseAddress else { return }
            (p + base).copyMemory(from: p + small, byteCount: n)
        }
        return (base, prefixBytes)
    }

    /// Adds one packet's payload to direction `d` (0 client, 1 server) of the
    /// flow whose handle is `handle` (acquired here on the first payload).
    /// `isn` is the direction's SYN sequence number when one was seen.
    public mutating func add(_ handle: inout Int32, packet p: UnsafePointer<DecodedPacket>, direction d: Int,
                             isn: UInt32?, bytes view: ByteView) {
        let payload = p.pointee.payloadLength
        guard payload > 0, capacity > 0 else { return }
        if handle < 0 {
            handle = acquire()
            if handle < 0 { return }
        }
        let h = Int(handle)
        let offset = p.pointee.payloadOffset
        let captured = Swift.max(0, Swift.min(payload, view.count - offset))
        if p.pointee.proto != IPProto.tcp {
            // One datagram per direction: the first (and a QUIC client's next Initials).
            state[h].dir[d].datagrams &+= 1
            guard state[h].dir[d].contiguous == 0 else {
                if state[h].dir[d].quicCount > 0 { addQUICInitial(h, view, offset: offset, captured: captured) }
                return
            }
            let (base, limit) = location(h, d, upTo: Swift.min(captured, prefixBytes))
            let take = Swift.min(captured, limit)
            copy(view, from: offset, count: take, to: base)
            state[h].dir[d].contiguous = Int32(take)
            if payload > limit { state[h].dir[d].truncated = true }
            if captured < Swift.min(payload, limit) { state[h].dir[d].gaps &+= 1 }
            if d == 0 && take == payload && QUICHeader.isInitial(view, at: offset) {
                state[h].dir[0].quicCount = 1
                state[h].quicEnds[0] = UInt16(take)
            }
            return
        }
        let seq = p.pointee.tcpSeq
        if !state[h].dir[d].hasBase {
            state[h].dir[d].hasBase = true
            if let isn { state[h].dir[d].base = isn &+ 1 } else {
                state[h].dir[d].base = seq
                state[h].dir[d].midstream = true
            }
        }
        // Signed offset of the segment from the direction's first byte
        // (sequence numbers wrap: the difference is taken modulo 2^32).
        var start = Int(Int32(bitPattern: seq &- state[h].dir[d].base))
        var end = start + payload
        if end > prefixBytes { state[h].dir[d].truncated = true }
        if end <= 0 || start >= prefixBytes { return }
        // Bytes the snapshot length cut off are a hole in the stream.
        if captured < payload { end = start + captured; state[h].dir[d].gaps &+= 1 }
        var skip = 0
        if start < 0 { skip = -start; start = 0 }
        end = Swift.min(end, prefixBytes)
        guard end > start else { return }
        let (base, limit) = location(h, d, upTo: end)
        if end > limit {
            // No block free: the stream stops at the small area.
            state[h].dir[d].truncated = true
            end = limit
            guard end > start else { return }
        }
        let contiguous = Int(state[h].dir[d].contiguous)
        if start < contiguous {
            // A retransmission or overlap: keep what arrived first, take only the new tail.
            state[h].dir[d].overlaps &+= 1
            guard end > contiguous else { return }
            skip += contiguous - start
            start = contiguous
        }
        if start == contiguous {
            copy(view, from: offset + skip, count: end - start, to: base + start)
            state[h].dir[d].contiguous = Int32(end)
            mergePending(h, d)
        } else {
            // Out of order: park it past the hole, if a range is free.
            state[h].dir[d].outOfOrder &+= 1
            guard state[h].dir[d].pendingCount < Self.maxPendingRanges else {
                state[h].dir[d].dropped &+= 1
                return
            }
            copy(view, from: offset + skip, count: end - start, to: base + start)
            let k = Int(state[h].dir[d].pendingCount)
            state[h].dir[d].pendingStart[k] = Int32(start)
            state[h].dir[d].pendingEnd[k] = Int32(end)
            state[h].dir[d].pendingCount += 1
        }
    }

    /// A later client datagram of a flow that opened with a QUIC Initial:
    /// kept after the ones before it when it is an Initial too, is whole,
    /// fits, and the flow has kept fewer than `maxQUICDatagrams`. Any other
    /// datagram costs one comparison (and five bytes read while under the cap).
    private mutating func addQUICInitial(_ h: Int, _ view: ByteView, offset: Int, captured: Int) {
        let n = Int(state[h].dir[0].quicCount)
        guard n < Self.maxQUICDatagrams, captured > 0, QUICHeader.isInitial(view, at: offset) else { return }
        let start = Int(state[h].quicEnds[n - 1])
        let end = start + captured
        let (base, limit) = location(h, 0, upTo: end)
        guard end <= limit else { return }
        copy(view, from: offset, count: captured, to: base + start)
        state[h].quicEnds[n] = UInt16(end)
        state[h].dir[0].quicCount = UInt8(n + 1)
    }

    /// Extends the contiguous run over parked ranges it now reaches.
    private mutating func mergePending(_ h: Int, _ d: Int) {
        var moved = true
        while moved && state[h].dir[d].pendingCount > 0 {
            moved = false
            var k = 0
            while k < Int(state[h].dir[d].pendingCount) {
                let s = Int(state[h].dir[d].pendingStart[k]), e = Int(state[h].dir[d].pendingEnd[k])
                let c = Int(state[h].dir[d].contiguous)
                if s <= c {
                    // Where a parked range and the in-order bytes overlap,
                    // the in-order copy (written last) is what stays.
                    if e > c { state[h].dir[d].contiguous = Int32(e) }
                    let last = Int(state[h].dir[d].pendingCount) - 1
                    state[h].dir[d].pendingStart[k] = state[h].dir[d].pendingStart[last]
                    state[h].dir[d].pendingEnd[k] = state[h].dir[d].pendingEnd[last]
                    state[h].dir[d].pendingCount -= 1
                    moved = true
                } else {
                    k += 1
                }
            }
        }
    }

    private mutating func copy(_ view: ByteView, from offset: Int, count: Int, to at: Int) {
        guard count > 0 else { return }
        view.withBytes(from: offset, length: count) { src in
            bytes.withUnsafeMutableBytes { dst in
                let n = Swift.min(src.count, dst.count - at)
                guard n > 0, let s = src.baseAddress, let d = dst.baseAddress else { return }
                (d + at).copyMemory(from: s, byteCount: n)
            }
        }
    }

    /// The contiguous bytes of direction `d` and what happened on the way,
    /// handed to `body` (valid only inside it).
    public func withStream<R>(_ handle: Int32, direction d: Int, _ body: (ByteView, StreamPrefixState.Direction) -> R) -> R {
        guard handle >= 0 else { return body(ByteView(base: nil, count: 0), StreamPrefixState.Direction()) }
        let h = Int(handle)
        let s = state[h].dir[d]
        return bytes.withUnsafeBytes { all in
            let base = s.block >= 0 ? blocksStart + Int(s.block) * prefixBytes : (h * 2 + d) * smallBytes
            return body(ByteView(base: all.baseAddress.map { $0 + base }, count: Int(s.contiguous)), s)
        }
    }

    /// The client's kept QUIC Initial datagrams of handle `h` (the first
    /// datagram, then the later Initials after it) and where each ends,
    /// handed to `body` (valid only inside it); no datagrams when the flow
    /// did not open with a QUIC Initial.
    public func withQUICInitials<R>(_ handle: Int32, _ body: (ByteView, QUICDatagramEnds) -> R) -> R {
        guard handle >= 0, state[Int(handle)].dir[0].quicCount > 0 else {
            return body(ByteView(base: nil, count: 0), QUICDatagramEnds())
        }
        let h = Int(handle)
        var ends = QUICDatagramEnds()
        for i in 0..<Int(state[h].dir[0].quicCount) { ends.append(Int(state[h].quicEnds[i])) }
        let s = state[h].dir[0]
        return bytes.withUnsafeBytes { all in
            let base = s.block >= 0 ? blocksStart + Int(s.block) * prefixBytes : h * 2 * smallBytes
            return body(ByteView(base: all.baseAddress.map { $0 + base }, count: ends.last), ends)
        }
    }

    /// Bytes currently reserved by the pool.
    public var memoryBytes: Int {
        bytes.capacity + state.capacity * MemoryLayout<StreamPrefixState>.stride + free.capacity * 4
            + freeBlocks.capacity * 4
    }
}

/// Reassembly state of one flow's two directions.
public struct StreamPrefixState: Sendable {
    public struct Direction: Sendable {
        /// Sequence number of byte 0 of the stream (TCP).
        var base: UInt32 = 0
        var hasBase = false
        /// UDP, client direction: datagrams kept for a QUIC flow (0: the flow
        /// did not open with a QUIC Initial). Here, in the padding after
        /// `hasBase`, every later datagram's check reads the line it already reads.
        var quicCount: UInt8 = 0
        /// Bytes from 0 with no hole: what the parsers read.
        public internal(set) var contiguous: Int32 = 0
        var pendingStart = InlineArray<4, Int32>(repeating: 0)
        var pendingEnd = InlineArray<4, Int32>(repeating: 0)
        var pendingCount: UInt8 = 0
        /// The direction sent more than the prefix holds.
        public internal(set) var truncated = false
        /// The handshake was not seen: byte 0 is the first data segment seen.
        public internal(set) var midstream = false
        /// Segments that arrived ahead of a hole; retransmitted or
        /// overlapping segments; out-of-order segments dropped because
        /// every pending range was taken; holes left by the snapshot length.
        public internal(set) var outOfOrder: UInt32 = 0
        public internal(set) var overlaps: UInt32 = 0
        public internal(set) var dropped: UInt32 = 0
        public internal(set) var gaps: UInt32 = 0
        /// UDP: datagrams seen in this direction (the first is kept).
        public internal(set) var datagrams: UInt32 = 0
        /// The block the bytes moved to once past the small area, or −1.
        var block: Int32 = -1

        public init() {}

        /// Bytes parked past a hole that never filled.
        public var hasHole: Bool { pendingCount > 0 }
    }
    var dir = InlineArray<2, Direction>(repeating: Direction())
    /// Where each client datagram kept for a QUIC flow ends in the client's bytes.
    var quicEnds = InlineArray<4, UInt16>(repeating: 0)
}
