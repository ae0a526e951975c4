import Decoding
import Locking
import Synchronization  // FSMutex is Mutex outside sanitizer builds

/// A flow record's kept packets: a chain of cells in `FlowPacketRings`,
/// owned by the record from the moment it ends until `release`, and which
/// flow record it was: the flow slot, the slot's generation (bumped each
/// time a flow leaves the slot, so a later flow in the slot is never taken
/// for this one) and the record's segment.
public struct PacketChain: Sendable, Equatable {
    /// The first cell (-1: none).
    public var head: Int32
    /// Packets in the chain.
    public var count: Int32
    /// The flow's slot across all stripes (-1: no rings).
    public var slot: Int32
    public var generation: UInt32
    /// The record's segment (0, then 1, 2, … after each active-timeout cut).
    public var segment: UInt32
    public static let none = PacketChain(head: -1, count: 0, slot: -1, generation: 0, segment: 0)
    public var isEmpty: Bool { count == 0 }
}

/// The first packets of every flow, kept for `--alert-pcap` (Suricata's
/// conditional pcap-log): up to `ringPackets` packets per flow record, each
/// up to `snaplen` bytes, in a cell arena allocated once at start
/// (`cellCount` cells of `cellStride` bytes: the memcap). Memory never
/// grows with traffic: when the arena is used up, further packets are not
/// kept (counted: `counters.notKept`) until cells come back.
///
/// After an alert, every later packet of the flow: a flow cut by the active
/// timeout continues in a new record (segment) in the same slot, and the
/// writer notes each such record's verdict in the slot's mark
/// (`noteVerdict`: generation, segment, alerted). A continued segment keeps
/// packets past its ring while the verdict of the segment before is not yet
/// known (pending), all of them once the mark says the flow alerted, and
/// goes back to its ring (the extra cells freed) once it says no. Packets
/// past a ring never take a stripe's last quarter of cells, nor its last
/// half while their verdict is pending (the reserve for new flows' first
/// packets).
///
/// The arena is split evenly between the flow table's stripes; a stripe's
/// cells and its flows' chains are changed only under that stripe's lock
/// (`add`, `detach`), so keeping a packet takes no lock of its own. When a
/// flow ends its chain moves into its record; the writer reads it (the
/// alert's packets) and `release`s it from its own thread onto the
/// stripe's return list, a small lock taken once per record, from which
/// the stripe takes cells back when its free list runs low.
public final class FlowPacketRings: @unchecked Sendable {
    public let ringPackets: Int
    public let snaplen: Int
    public let cellCount: Int
    let stripes: Int
    let slotsPerStripe: Int
    let cellsPerStripe: Int
    /// Free cells a stripe keeps for packets within rings: packets past the
    /// ring of an alerted flow are kept only above a quarter of its cells;
    /// those of a record awaiting its verdict only above half (they are
    /// likely not wanted: most flows never alert).
    let alertedReserve: Int
    let pendingReserve: Int
    /// Cell layout: timestamp ns (Int64), captured length (UInt32), wire
    /// length (UInt32), next cell (Int32), link type (UInt16), then the bytes.
    static let headerBytes = 24
    let cellStride: Int
    let arena: UnsafeMutableRawPointer

    /// What a slot's current record keeps past its ring.
    enum Keep: UInt8 {
        /// Its first `ringPackets` packets only (a flow's first segment,
        /// or a later one whose flow has not alerted).
        case ring
        /// Everything, until the writer's verdict on the segment before.
        case pending
        /// Everything: the flow has alerted.
        case all
    }

    /// A flow slot's chain and the record it belongs to (under the stripe's lock).
    struct SlotChain {
        var head: Int32 = -1
        var tail: Int32 = -1
        var count: Int32 = 0
        var generation: UInt32 = 0
        var segment: UInt32 = 0
        var keep = Keep.ring
    }
    /// Per flow slot (stripe * slotsPerStripe + slot).
    let chains: UnsafeMutablePointer<SlotChain>
    /// Per flow slot: the writer's latest verdict on the slot's flow
    /// (`markWord`; 0: none yet).
    let marks: UnsafeMutablePointer<Atomic<UInt64>>
    /// Per stripe: free list head and its length (changed under the stripe's lock).
    let freeHeads: UnsafeMutablePointer<Int32>
    let freeCounts: UnsafeMutablePointer<Int>
    /// Per stripe: packets kept and not kept. Changed under the stripe's
    /// lock (a relaxed load and store: one writer, no read-modify-write),
    /// read by the output thread for stats without it.
    let kept: UnsafeMutablePointer<Atomic<UInt64>>
    let notKept: UnsafeMutablePointer<Atomic<UInt64>>
    /// Per stripe: chains released by the writer, waiting to be taken back.
    let returned: UnsafeMutablePointer<FSMutex<[PacketChain]>>
    /// The LINKTYPE_ of the packets being read (replay: the current file's;
    /// live: the interface's), stored with each kept packet.
    public var linkType: UInt16 {
        get { linkTypeValue.load(ordering: .relaxed) }
        set { linkTypeValue.store(newValue, ordering: .relaxed) }
    }
    private let linkTypeValue = Atomic<UInt16>(1)

    /// Bytes of one cell (a kept packet of up to `snaplen` bytes and its header).
    public static func cellBytes(snaplen: Int) -> Int { (headerBytes + snaplen + 7) & ~7 }

    /// Bytes per flow-table slot besides the arena: its chain and its mark.
    public static var bytesPerSlot: Int { MemoryLayout<SlotChain>.stride + MemoryLayout<UInt64>.stride }

    /// - Parameters:
    ///   - stripes, slotsPerStripe: the flow table's (`FlowTable.stripeCount`, `perStripeCapacity`).
    ///   - memcapBytes: the arena; at least one cell per stripe.
    public init(stripes: Int, slotsPerStripe: Int, ringPackets: Int, snaplen: Int, memcapBytes: Int) {
        self.stripes = stripes
        self.slotsPerStripe = slotsPerStripe
        self.ringPackets = max(1, ringPackets)
        self.snaplen = max(64, snaplen)
        cellStride = Self.cellBytes(snaplen: self.snaplen)
        cellsPerStripe = max(1, memcapBytes / cellStride / stripes)
        alertedReserve = cellsPerStripe / 4
        pendingReserve = cellsPerStripe / 2
        cellCount = cellsPerStripe * stripes
        arena = .allocate(byteCount: cellCount * cellStride, alignment: 8)
        let slots = stripes * slotsPerStripe
        chains = .allocate(capacity: slots)
        chains.initialize(repeating: SlotChain(), count: slots)
        marks = .allocate(capacity: slots)
        for i in 0..<slots { (marks + i).initialize(to: Atomic(0)) }
        freeHeads = .allocate(capacity: stripes)
        freeCounts = .allocate(capacity: stripes)
        freeCounts.initialize(repeating: cellsPerStripe, count: stripes)
        kept = .allocate(capacity: stripes)
        notKept = .allocate(capacity: stripes)
        for s in 0..<stripes { (kept + s).initialize(to: Atomic(0)); (notKept + s).initialize(to: Atomic(0)) }
        returned = .allocate(capacity: stripes)
        for s in 0..<stripes {
            let first = s * cellsPerStripe
            for c in first..<(first + cellsPerStripe) { setNext(Int32(c), c + 1 < first + cellsPerStripe ? Int32(c + 1) : -1) }
            freeHeads[s] = Int32(first)
            (returned + s).initialize(to: FSMutex([]))
        }
    }

    deinit {
        arena.deallocate()
        chains.deallocate()
        marks.deinitialize(count: stripes * slotsPerStripe)
        marks.deallocate()
        freeHeads.deallocate()
        freeCounts.deallocate()
        kept.deinitialize(count: stripes)
        kept.deallocate()
        notKept.deinitialize(count: stripes)
        notKept.deallocate()
        returned.deinitialize(count: stripes)
        returned.deallocate()
    }

    @inline(__always) private func cell(_ c: Int32) -> UnsafeMutableRawPointer { arena + Int(c) * cellStride }
    @inline(__always) private func next(_ c: Int32) -> Int32 { cell(c).load(fromByteOffset: 16, as: Int32.self) }
    @inline(__always) private func setNext(_ c: Int32, _ n: Int32) { cell(c).storeBytes(of: n, toByteOffset: 16, as: Int32.self) }

    /// Keeps a packet of the flow in `slot` of `stripe`, if its ring is not
    /// full (or its record keeps packets past the ring) and a cell is free.
    /// Call under the stripe's lock.
    @inline(__always)
    func add(stripe: Int, slot: Int, bytes: ByteView, wireLength: Int, timestampNs: Int64) {
        let ch = chains + (stripe * slotsPerStripe + slot)
        if Int(ch.pointee.count) >= ringPackets {
            guard ch.pointee.keep != .ring, keepsPastRing(stripe: stripe, ch) else { return }
        }
        var c = freeHeads[stripe]
        if c < 0 { c = takeBack(stripe) }
        guard c >= 0 else { bump(notKept, stripe); return }
        freeHeads[stripe] = next(c)
        freeCounts[stripe] -= 1
        let p = cell(c)
        let caplen = min(bytes.count, snaplen)
        p.storeBytes(of: timestampNs, toByteOffset: 0, as: Int64.self)
        p.storeBytes(of: UInt32(caplen), toByteOffset: 8, as: UInt32.self)
        p.storeBytes(of: UInt32(max(wireLength, bytes.count)), toByteOffset: 12, as: UInt32.self)
        p.storeBytes(of: Int32(-1), toByteOffset: 16, as: Int32.self)
        p.storeBytes(of: linkType, toByteOffset: 20, as: UInt16.self)
        if caplen > 0, let src = bytes.baseAddress { (p + Self.headerBytes).copyMemory(from: src, byteCount: caplen) }
        if ch.pointee.tail >= 0 { setNext(ch.pointee.tail, c) } else { ch.pointee.head = c }
        ch.pointee.tail = c
        ch.pointee.count += 1
        bump(kept, stripe)
    }

    /// A packet past the ring of a pending or alerted record: reads the
    /// writer's verdict while pending (an alert: keep everything; none: back
    /// to the ring, the cells past it freed), then whether the stripe has
    /// free cells above the reserve. An alerted flow's packet finding none
    /// takes back released cells first, then is counted as not kept; a
    /// pending one is simply not kept (it is likely not wanted; if it was,
    /// the record's `alert_pcap.packets` falls short of its packet count).
    private func keepsPastRing(stripe: Int, _ ch: UnsafeMutablePointer<SlotChain>) -> Bool {
        if ch.pointee.keep == .pending {
            let w = marks[ch - chains].load(ordering: .relaxed)
            if Self.noted(w) && Self.generation(w) == ch.pointee.generation {
                if Self.alerted(w) {
                    ch.pointee.keep = .all
                } else if Self.segment(w) &+ 1 >= ch.pointee.segment {
                    ch.pointee.keep = .ring
                    trimToRing(stripe: stripe, ch)
                    return false
                }
            }
        }
        if ch.pointee.keep == .pending { return freeCounts[stripe] > pendingReserve }
        if freeCounts[stripe] <= alertedReserve { _ = takeBack(stripe) }
        guard freeCounts[stripe] > alertedReserve else { bump(notKept, stripe); return false }
        return true
    }

    /// Cuts a chain back to its first `ringPackets` cells; the rest go to the free list.
    private func trimToRing(stripe: Int, _ ch: UnsafeMutablePointer<SlotChain>) {
        guard Int(ch.pointee.count) > ringPackets else { return }
        var last = ch.pointee.head
        for _ in 1..<ringPackets { last = next(last) }
        let cut = next(last)
        setNext(last, -1)
        setNext(ch.pointee.tail, freeHeads[stripe])
        freeHeads[stripe] = cut
        freeCounts[stripe] += Int(ch.pointee.count) - ringPackets
        ch.pointee.tail = last
        ch.pointee.count = Int32(ringPackets)
    }

    /// The chain kept for the record of the flow in `slot` of `stripe`,
    /// handed to that record; the slot starts an empty ring. With
    /// `continues` (an active-timeout cut) the same flow goes on as its next
    /// segment, which keeps packets past its ring until the writer's
    /// verdict on this one (or all of them, the flow having alerted);
    /// otherwise the slot's next flow gets a new generation. Call under the
    /// stripe's lock.
    @inline(__always)
    func detach(stripe: Int, slot: Int, continues: Bool) -> PacketChain {
        let g = stripe * slotsPerStripe + slot
        let ch = chains + g
        let was = ch.pointee
        let chain = PacketChain(head: was.head, count: was.count, slot: Int32(g), generation: was.generation,
                                segment: was.segment)
        ch.pointee = SlotChain()
        if continues {
            ch.pointee.generation = was.generation
            ch.pointee.segment = was.segment &+ 1
            ch.pointee.keep = was.keep == .all ? .all : .pending
        } else {
            ch.pointee.generation = was.generation &+ 1
        }
        return chain
    }

    /// A mark: the slot's flow (generation, bits 32–63), a verdict is
    /// there (bit 31), the latest segment with a verdict (bits 1–30), and
    /// whether the flow has alerted in it or before (bit 0).
    static func markWord(generation: UInt32, segment: UInt32, alerted: Bool) -> UInt64 {
        UInt64(generation) << 32 | 1 << 31 | UInt64(min(segment, 0x3FFF_FFFF)) << 1 | (alerted ? 1 : 0)
    }
    static func noted(_ w: UInt64) -> Bool { w & (1 << 31) != 0 }
    static func generation(_ w: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: w >> 32) }
    static func segment(_ w: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: w >> 1) & 0x3FFF_FFFF }
    static func alerted(_ w: UInt64) -> Bool { w & 1 != 0 }

    /// Whether an earlier record (segment) of `chain`'s flow has alerted,
    /// as noted by `noteVerdict`: this record's packets are then all written.
    public func flowAlerted(before chain: PacketChain) -> Bool {
        guard chain.slot >= 0 else { return false }
        let w = marks[Int(chain.slot)].load(ordering: .relaxed)
        return Self.noted(w) && Self.generation(w) == chain.generation && Self.alerted(w) && Self.segment(w) < chain.segment
    }

    /// The writer's verdict on a record whose flow continues (it ended on
    /// the active timeout): whether the flow has alerted, in this record or
    /// before. Any thread. A verdict on an older segment, or on an older
    /// flow of the slot, does not replace a newer one; an alert sticks.
    public func noteVerdict(_ chain: PacketChain, alerted: Bool) {
        guard chain.slot >= 0 else { return }
        let m = marks + Int(chain.slot)
        var old = m.pointee.load(ordering: .relaxed)
        while true {
            let sameFlow = Self.noted(old) && Self.generation(old) == chain.generation
            if Self.noted(old) && !sameFlow && Int32(bitPattern: chain.generation &- Self.generation(old)) < 0 { return }
            let segment = sameFlow ? max(Self.segment(old), chain.segment) : chain.segment
            let new = Self.markWord(generation: chain.generation, segment: segment,
                                    alerted: alerted || (sameFlow && Self.alerted(old)))
            if new == old { return }
            let (done, seen) = m.pointee.compareExchange(expected: old, desired: new, ordering: .relaxed)
            if done { return }
            old = seen
        }
    }

    /// Gives a record's chain back (any thread; once per chain).
    public func release(_ chain: PacketChain) {
        guard chain.head >= 0 else { return }
        returned[Int(chain.head) / cellsPerStripe].withLock { $0.append(chain) }
    }

    /// Moves the stripe's released chains onto its free list; the new free head.
    private func takeBack(_ stripe: Int) -> Int32 {
        let back = returned[stripe].withLock { list -> [PacketChain] in
            let l = list
            list.removeAll(keepingCapacity: true)
            return l
        }
        for chain in back {
            var c = chain.head, last = c
            while c >= 0 { last = c; c = next(c) }
            setNext(last, freeHeads[stripe])
            freeHeads[stripe] = chain.head
            freeCounts[stripe] += Int(chain.count)
        }
        return freeHeads[stripe]
    }

    /// One kept packet, as `forEach` hands it over.
    public struct Packet {
        public let timestampNs: Int64
        public let wireLength: Int
        public let linkType: UInt16
        public let bytes: UnsafeRawBufferPointer
    }

    /// The chain's first `limit` packets in the order they were captured
    /// (the chain must not have been released).
    public func forEach(_ chain: PacketChain, limit: Int = .max, _ body: (Packet) throws -> Void) rethrows {
        var c = chain.head
        var n = 0
        while c >= 0 && n < limit {
            let p = cell(c)
            let caplen = Int(p.load(fromByteOffset: 8, as: UInt32.self))
            try body(Packet(timestampNs: p.load(fromByteOffset: 0, as: Int64.self),
                            wireLength: Int(p.load(fromByteOffset: 12, as: UInt32.self)),
                            linkType: p.load(fromByteOffset: 20, as: UInt16.self),
                            bytes: UnsafeRawBufferPointer(start: p + Self.headerBytes, count: caplen)))
            c = next(c)
            n += 1
        }
    }

    /// Adds one to a stripe's counter (under the stripe's lock: the only writer).
    @inline(__always)
    private func bump(_ counter: UnsafeMutablePointer<Atomic<UInt64>>, _ stripe: Int) {
        counter[stripe].store(counter[stripe].load(ordering: .relaxed) &+ 1, ordering: .relaxed)
    }

    /// Packets kept, and packets that found no free cell (the memcap).
    public var counters: (kept: UInt64, notKept: UInt64) {
        var k: UInt64 = 0, n: UInt64 = 0
        for s in 0..<stripes { k &+= kept[s].load(ordering: .relaxed); n &+= notKept[s].load(ordering: .relaxed) }
        return (k, n)
    }
}

extension LinkType {
    /// The LINKTYPE_ value a pcap file of these packets carries.
    public var pcapLinkType: UInt16 {
        switch self {
        case .ethernet: 1
        case .linuxSLL: 113
        case .linuxSLL2: 276
        case .rawIP: 101
        case .rawIPv4: 228
        case .rawIPv6: 229
        case .bsdNull: 0
        case .bsdLoop: 108
        case .ppp: 9
        case .pppEther: 51
        case .ciscoHDLC: 104
        }
    }
}
