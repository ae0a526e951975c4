import Decoding
import Locking
import Synchronization  // FSMutex is Mutex outside sanitizer builds

/// A flow record's kept packets: a chain of cells in `FlowPacketRings`,
/// owned by the record from the moment its flow ends until `release`.
public struct PacketChain: Sendable, Equatable {
    /// The first cell (-1: none).
    public var head: Int32
    /// Packets in the chain.
    public var count: Int32
    public static let none = PacketChain(head: -1, count: 0)
    public var isEmpty: Bool { count == 0 }
}

/// The first packets of every flow, kept for `--alert-pcap` (Suricata's
/// conditional pcap-log): up to `ringPackets` packets per flow record, each
/// up to `snaplen` bytes, in a cell arena allocated once at start
/// (`cellCount` cells of `cellStride` bytes: the memcap). Memory never
/// grows with traffic: when the arena is used up, further packets are not
/// kept (counted in `packetsNotKept`) until cells come back.
///
/// The arena is split evenly between the flow table's stripes; a stripe's
/// cells and its flows' chains are changed only under that stripe's lock
/// (`add`, `detach`), so keeping a packet takes no lock of its own. When a
/// flow ends its chain moves into its record; the writer reads it (the
/// alert's packets) and `release`s it from its own thread onto the
/// stripe's return list, a small lock taken once per record, from which
/// the stripe takes cells back when its free list runs dry.
public final class FlowPacketRings: @unchecked Sendable {
    public let ringPackets: Int
    public let snaplen: Int
    public let cellCount: Int
    let stripes: Int
    let slotsPerStripe: Int
    let cellsPerStripe: Int
    /// Cell layout: timestamp ns (Int64), captured length (UInt32), wire
    /// length (UInt32), next cell (Int32), link type (UInt16), then the bytes.
    static let headerBytes = 24
    let cellStride: Int
    let arena: UnsafeMutableRawPointer
    /// Per flow slot (stripe * slotsPerStripe + slot): first, last cell and count.
    let chains: UnsafeMutablePointer<(head: Int32, tail: Int32, count: Int32)>
    /// Per stripe: free list head (changed under the stripe's lock).
    let freeHeads: UnsafeMutablePointer<Int32>
    /// Per stripe: packets kept and not kept (under the stripe's lock).
    let kept: UnsafeMutablePointer<UInt64>
    let notKept: UnsafeMutablePointer<UInt64>
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
        cellCount = cellsPerStripe * stripes
        arena = .allocate(byteCount: cellCount * cellStride, alignment: 8)
        chains = .allocate(capacity: stripes * slotsPerStripe)
        chains.initialize(repeating: (-1, -1, 0), count: stripes * slotsPerStripe)
        freeHeads = .allocate(capacity: stripes)
        kept = .allocate(capacity: stripes)
        kept.initialize(repeating: 0, count: stripes)
        notKept = .allocate(capacity: stripes)
        notKept.initialize(repeating: 0, count: stripes)
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
        freeHeads.deallocate()
        kept.deallocate()
        notKept.deallocate()
        returned.deinitialize(count: stripes)
        returned.deallocate()
    }

    @inline(__always) private func cell(_ c: Int32) -> UnsafeMutableRawPointer { arena + Int(c) * cellStride }
    @inline(__always) private func next(_ c: Int32) -> Int32 { cell(c).load(fromByteOffset: 16, as: Int32.self) }
    @inline(__always) private func setNext(_ c: Int32, _ n: Int32) { cell(c).storeBytes(of: n, toByteOffset: 16, as: Int32.self) }

    /// Keeps a packet of the flow in `slot` of `stripe`, if its ring is not
    /// full and a cell is free. Call under the stripe's lock.
    @inline(__always)
    func add(stripe: Int, slot: Int, bytes: ByteView, wireLength: Int, timestampNs: Int64) {
        let ch = chains + (stripe * slotsPerStripe + slot)
        guard Int(ch.pointee.count) < ringPackets else { return }
        var c = freeHeads[stripe]
        if c < 0 { c = takeBack(stripe) }
        guard c >= 0 else { notKept[stripe] &+= 1; return }
        freeHeads[stripe] = next(c)
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
        kept[stripe] &+= 1
    }

    /// The chain kept for the flow in `slot` of `stripe`, handed to its
    /// record; the slot starts an empty ring. Call under the stripe's lock.
    @inline(__always)
    func detach(stripe: Int, slot: Int) -> PacketChain {
        let ch = chains + (stripe * slotsPerStripe + slot)
        let chain = PacketChain(head: ch.pointee.head, count: ch.pointee.count)
        ch.pointee = (-1, -1, 0)
        return chain
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

    /// The chain's packets in the order they were captured (the chain must
    /// not have been released).
    public func forEach(_ chain: PacketChain, _ body: (Packet) throws -> Void) rethrows {
        var c = chain.head
        while c >= 0 {
            let p = cell(c)
            let caplen = Int(p.load(fromByteOffset: 8, as: UInt32.self))
            try body(Packet(timestampNs: p.load(fromByteOffset: 0, as: Int64.self),
                            wireLength: Int(p.load(fromByteOffset: 12, as: UInt32.self)),
                            linkType: p.load(fromByteOffset: 20, as: UInt16.self),
                            bytes: UnsafeRawBufferPointer(start: p + Self.headerBytes, count: caplen)))
            c = next(c)
        }
    }

    /// Packets kept, and packets that found no free cell (the memcap).
    public var counters: (kept: UInt64, notKept: UInt64) {
        var k: UInt64 = 0, n: UInt64 = 0
        for s in 0..<stripes { k &+= kept[s]; n &+= notKept[s] }
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
