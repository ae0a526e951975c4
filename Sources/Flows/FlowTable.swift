import CPrefetch
import Decoding
import Features
import Locking
import Synchronization  // FSMutex is Mutex outside sanitizer builds (and @inlinable code calls it)

/// Timeout classes; each has its own LRU list so expiry only looks at list heads.
@usableFromInline
enum TimeoutClass: Int {
    case tcpNew = 0, tcpEstablished, tcpClosed, udpNew, udpEstablished
    case icmpNew, icmpEstablished, otherNew, otherEstablished
    static let count = 9
}

@usableFromInline
enum TCPBits {
    static let synFromClient: UInt8 = 1
    static let synAckFromServer: UInt8 = 2
    static let finFromClient: UInt8 = 4
    static let finFromServer: UInt8 = 8
    static let rst: UInt8 = 16
    static let handshakeDone: UInt8 = 32
    static let halfOpenCounted: UInt8 = 64
}

@usableFromInline
struct FlowSlot: Sendable {
    var key: FlowKey
    var clientIsA = true
    var inUse = false
    var hasPorts = false
    var sawReply = false
    var tcp: UInt8 = 0
    var cls: UInt8 = 0
    var vlanCount: UInt8 = 0
    var tunnel: TunnelKind = .none
    var prev: Int32 = -1
    var next: Int32 = -1
    var segment: UInt32 = 0
    /// The key's tag in the stripe's index (see `FlowIndex`).
    var indexTag: UInt32 = 0
    var flowID: UInt64 = 0
    var acc = FlowAccumulator()
    /// Outer endpoints, set (with `tunnel`) by a flow's first tunnelled
    /// packet; read only when `tunnel` is not `.none`. Last, and not cleared
    /// for a new flow: most flows never touch these lines.
    var tunnelSrc = IPAddress.zero
    var tunnelDst = IPAddress.zero

    init(key: FlowKey) { self.key = key }

    /// Makes this (free) slot a new flow, in place.
    @inline(__always)
    mutating func start(key: FlowKey, clientIsA: Bool, hasPorts: Bool, vlanCount: UInt8, tcp: UInt8,
                        flowID: UInt64, indexTag: UInt32) {
        self.key = key
        self.clientIsA = clientIsA
        inUse = true
        self.hasPorts = hasPorts
        sawReply = false
        self.tcp = tcp
        cls = 0
        self.vlanCount = vlanCount
        tunnel = .none
        prev = -1
        next = -1
        segment = 0
        self.indexTag = indexTag
        self.flowID = flowID
        acc.reset()  // the context too: the table writes it once the hosts are counted
    }
}

/// A stripe's key index: open addressing with linear probing over
/// `UInt64` entries (0 = empty, else a 32-bit tag of the key's hash and the
/// slot number + 1). The tag's low bits are the home position, so deletion
/// shifts entries back instead of leaving tombstones; the key itself is
/// compared in the slot only when a tag matches. At most half full.
@usableFromInline
struct FlowIndex {
    /// `mask + 1` entries, allocated once (freed by `deallocate`).
    let table: UnsafeMutablePointer<UInt64>
    let mask: Int

    init(capacity: Int) {
        var n = 16
        while n < capacity * 2 { n <<= 1 }
        table = .allocate(capacity: n)
        table.initialize(repeating: 0, count: n)
        mask = n - 1
    }

    func deallocate() { table.deallocate() }

    @inline(__always) static func tag(_ hash: UInt64) -> UInt32 {
        UInt32(truncatingIfNeeded: (hash &* 0x9E37_79B9_7F4A_7C15) >> 32)
    }

    @inline(__always) func home(_ tag: UInt32) -> Int { Int(tag) & mask }

    @inline(__always) static func entry(_ tag: UInt32, _ idx: Int32) -> UInt64 {
        UInt64(tag) << 32 | UInt64(UInt32(bitPattern: idx &+ 1))
    }

    func insert(tag: UInt32, idx: Int32) {
        var i = home(tag)
        while table[i] != 0 { i = (i + 1) & mask }
        table[i] = Self.entry(tag, idx)
    }

    func remove(tag: UInt32, idx: Int32) {
        let want = Self.entry(tag, idx)
        var i = home(tag)
        var guardCount = 0
        while table[i] != want {
            if table[i] == 0 || guardCount > mask { return }  // not present
            i = (i + 1) & mask
            guardCount += 1
        }
        // Backward-shift deletion: move later entries of the run whose home
        // is not in (i, j] into the hole.
        var j = i
        while true {
            j = (j + 1) & mask
            let e = table[j]
            if e == 0 { break }
            let h = Int(UInt32(truncatingIfNeeded: e >> 32)) & mask
            let stays = i <= j ? (i < h && h <= j) : (i < h || h <= j)
            if !stays { table[i] = e; i = j }
        }
        table[i] = 0
    }
}

/// One stripe's state, guarded by the stripe's lock. Slots, index and free
/// list are allocated once at start-up and addressed through pointers: no
/// copy-on-write checks, no reference counting and no slot copies on the
/// packet path. Slot numbers come only from the stripe's own index, LRU
/// lists and free list, all below `capacity`.
@usableFromInline
struct StripeState: @unchecked Sendable {
    let slots: UnsafeMutablePointer<FlowSlot>
    let capacity: Int
    let index: FlowIndex
    /// Free slots, a stack of `freeCount`.
    let free: UnsafeMutablePointer<Int32>
    var freeCount: Int
    var head = InlineArray<9, Int32>(repeating: -1)
    var tail = InlineArray<9, Int32>(repeating: -1)
    var pool: ByteHistogramPool
    var counters = FlowCounters()
    var active = 0

    init(capacity: Int, histograms: Int) {
        let empty = FlowSlot(key: FlowKey(a: .zero, b: .zero, portA: 0, portB: 0, proto: 0))
        self.capacity = capacity
        slots = LargeAllocation.allocate(FlowSlot.self, count: capacity)
        slots.initialize(repeating: empty, count: capacity)
        index = FlowIndex(capacity: capacity)
        free = .allocate(capacity: capacity)
        for i in 0..<capacity { free[i] = Int32(capacity - 1 - i) }
        freeCount = capacity
        pool = ByteHistogramPool(capacity: histograms)
    }

    func deallocate() {
        slots.deinitialize(count: capacity)
        slots.deallocate()
        index.deallocate()
        free.deallocate()
    }

    /// The slot holding `key`, or nil.
    @inline(__always)
    func find(_ key: FlowKey, tag: UInt32) -> Int32? {
        var i = index.home(tag)
        while true {
            let e = index.table[i]
            if e == 0 { return nil }
            if UInt32(truncatingIfNeeded: e >> 32) == tag {
                let idx = Int32(truncatingIfNeeded: e & 0xFFFF_FFFF) &- 1
                if slots[Int(idx)].key == key { return idx }
            }
            i = (i + 1) & index.mask
        }
    }

    /// Takes a free slot, and starts loading the first lines of the one the
    /// stripe's next new flow will take (what a new flow writes: its header,
    /// counters and first statistics), so a flood's new flows do not each
    /// wait for those lines.
    @inline(__always)
    mutating func popFree() -> Int32 {
        freeCount -= 1
        if freeCount > 0 { fs_prefetch_write_range(slots + Int(free[freeCount - 1]), 512) }
        return free[freeCount]
    }

    @inline(__always)
    mutating func pushFree(_ i: Int32) {
        precondition(freeCount < capacity)
        free[freeCount] = i
        freeCount += 1
    }

    @inline(__always)
    mutating func unlink(_ i: Int32) {
        let s = slots + Int(i)
        let c = Int(s.pointee.cls)
        let p = s.pointee.prev, n = s.pointee.next
        if p >= 0 { slots[Int(p)].next = n } else { head[c] = n }
        if n >= 0 { slots[Int(n)].prev = p } else { tail[c] = p }
        s.pointee.prev = -1
        s.pointee.next = -1
    }

    @inline(__always)
    mutating func pushTail(_ i: Int32, cls c: Int) {
        let s = slots + Int(i)
        let t = tail[c]
        s.pointee.cls = UInt8(c)
        s.pointee.prev = t
        s.pointee.next = -1
        if t >= 0 { slots[Int(t)].next = i } else { head[c] = i }
        tail[c] = i
    }
}

/// The flow table: lock-striped, fixed capacity, updated in place.
///
/// A flow's stripe is chosen by a stable hash of its canonical key, so any
/// thread may call `process` for any packet; each stripe is a lock (`FSMutex`) over
/// preallocated slots, a key index and per-timeout-class LRU lists. Under a
/// stripe's lock only flow state changes; ended flows are copied out into
/// the caller's `FlowSink` as finished `FlowRecord`s for scoring and output
/// after the lock is released.
///
/// A flow ends on TCP close (FIN both ways or RST, then `tcpClosedLinger`),
/// on its class's idle timeout, on the active timeout (the record is cut and
/// the flow continues as a new record with the same direction and flow id),
/// on eviction when its stripe is full (least recently active first), or
/// at `flushAll` (shutdown). Time comes only from the packets and from the
/// `now` passed to `expire`, so replay is deterministic.
package final class FlowTable: @unchecked Sendable {
    /// `stripeCount` locks, each over its stripe's state; allocated once,
    /// addressed by pointer (no reference count traffic per packet).
    @usableFromInline let stripes: UnsafeMutablePointer<FSMutex<StripeState>>
    @usableFromInline let stripeCount: Int
    @usableFromInline let stripeMask: Int
    /// Each stripe's index memory and the (common) index mask, outside the
    /// locks, for `process` to start loading a key's index line before it
    /// takes the lock (these never change; the index is read only under the lock).
    let indexBases: UnsafeMutablePointer<UnsafeMutablePointer<UInt64>>
    let indexMask: Int
    package let config: FlowTableConfig
    package let hosts: HostContextTable
    let fragments: FragmentTracker
    @usableFromInline let timeoutsNs: InlineArray<9, Int64>
    @usableFromInline let activeTimeoutNs: Int64
    package let perStripeCapacity: Int

    package init(config: FlowTableConfig = FlowTableConfig()) {
        self.config = config
        var n = 1
        while n < max(1, config.stripes) { n <<= 1 }
        stripeMask = n - 1
        perStripeCapacity = max(1, config.maxFlows / n)
        let hist = max(0, config.histogramCapacity / n)
        stripeCount = n
        stripes = .allocate(capacity: n)
        indexBases = .allocate(capacity: n)
        var mask = 0
        for i in 0..<n {
            let st = StripeState(capacity: perStripeCapacity, histograms: hist)
            (indexBases + i).initialize(to: st.index.table)
            mask = st.index.mask
            (stripes + i).initialize(to: FSMutex(st))
        }
        indexMask = mask
        hosts = HostContextTable(config: config.hostContext)
        fragments = FragmentTracker(capacity: config.fragmentSlots)
        let t = config.classTimeoutsNs
        var ts = InlineArray<9, Int64>(repeating: 0)
        for i in 0..<9 { ts[i] = t[i] }
        timeoutsNs = ts
        activeTimeoutNs = Int64((config.activeTimeout * 1e9).rounded())
    }

    deinit {
        for i in 0..<stripeCount { stripes[i].withLock { $0.deallocate() } }
        stripes.deinitialize(count: stripeCount)
        stripes.deallocate()
        indexBases.deallocate()
    }

    /// Flows currently held.
    package var activeFlows: Int { (0..<stripeCount).reduce(0) { n, i in n + stripes[i].withLock { $0.active } } }

    package var counters: FlowCounters {
        var c = FlowCounters()
        for i in 0..<stripeCount { c.merge(stripes[i].withLock { $0.counters }) }
        return c
    }

    /// Bytes of preallocated flow state per flow slot.
    package static var bytesPerFlowSlot: Int {
        // The slot, two index entries (the index is at most half full), a free-list entry.
        MemoryLayout<FlowSlot>.stride + 2 * MemoryLayout<UInt64>.stride + MemoryLayout<Int32>.stride
    }

    package var histogramsExhausted: UInt64 {
        (0..<stripeCount).reduce(0) { n, i in n + stripes[i].withLock { $0.pool.exhausted } }
    }

    /// Accounts one decoded packet to its flow. `bytes` are the packet's
    /// captured bytes (for payload entropy). Records of flows this ends go to `sink`.
    /// The packet is taken `inout` so its ~200 bytes are not copied per call
    /// (a copy right after decoding also stalled on store forwarding); the
    /// only change made to it: a non-first fragment gets its first
    /// fragment's ports.
    package func process(_ p: inout DecodedPacket, bytes: ByteView, sink: inout FlowSink) {
        if p.isFragment {
            if p.isNonFirstFragment {
                if fragments.resolve(&p) {
                    stripes[0].withLock { $0.counters.fragmentsMatched &+= 1 }
                } else {
                    stripes[0].withLock { $0.counters.fragmentOrphans &+= 1 }
                }
            } else if p.hasPorts {
                fragments.rememberFirst(p)
            }
        }
        // The key's index line starts loading before the lock is taken (a
        // flood's new keys miss it; prefetches are not held up by the lock).
        let k = withUnsafePointer(to: &p) { prepare($0, prefetchHosts: false) }
        locked(&p, k, bytes: bytes, sink: &sink)
    }

    /// A packet's key, its hash and side, worked out once by `prefetch` and
    /// used again by `process(_:prepared:bytes:sink:)`.
    package struct Prepared: Sendable {
        let key: FlowKey
        let hash: UInt64
        let fromA: Bool
        /// The hosts' context lines were prefetched (a bare SYN).
        let hostsPrefetched: Bool
    }

    /// Starts loading what `process` will first wait for on this packet: its
    /// key's index line and, for a bare SYN (under a flood, nearly always a
    /// new flow), its hosts' context lines. A hint, taken without any lock:
    /// a caller that decodes the next packet before processing the current
    /// one overlaps those cache misses with the current packet's work. The
    /// result saves `process(_:prepared:bytes:sink:)` working the key out again.
    package func prefetch(_ p: UnsafePointer<DecodedPacket>) -> Prepared {
        prepare(p, prefetchHosts: true)
    }

    /// `process` for a packet `prefetch` has seen (and that has not changed since).
    package func process(_ p: inout DecodedPacket, prepared k: Prepared, bytes: ByteView, sink: inout FlowSink) {
        // A fragment's key may change here (a non-first one gets its first
        // fragment's ports): the whole path, key worked out again.
        if p.isFragment { process(&p, bytes: bytes, sink: &sink); return }
        locked(&p, k, bytes: bytes, sink: &sink)
    }

    @inline(__always)
    private func prepare(_ p: UnsafePointer<DecodedPacket>, prefetchHosts: Bool) -> Prepared {
        var fromA = true
        let key = FlowKey.make(p.pointee, fromA: &fromA)
        let hash = key.stableHash()
        fs_prefetch(indexBases[Int(truncatingIfNeeded: hash) & stripeMask] + (Int(FlowIndex.tag(hash)) & indexMask))
        let bareSyn = p.pointee.proto == IPProto.tcp && p.pointee.tcpFlags & (TCPFlag.syn | TCPFlag.ack) == TCPFlag.syn
        if prefetchHosts && bareSyn { hosts.prefetch(p.pointee.src, p.pointee.dst, ts: p.pointee.timestampNs) }
        return Prepared(key: key, hash: hash, fromA: fromA, hostsPrefetched: prefetchHosts && bareSyn)
    }

    @inline(__always)
    private func locked(_ p: inout DecodedPacket, _ k: Prepared, bytes: ByteView, sink: inout FlowSink) {
        stripes[Int(truncatingIfNeeded: k.hash) & stripeMask].withLock { st in
            update(&st, key: k.key, hash: k.hash, fromA: k.fromA, hostsPrefetched: k.hostsPrefetched,
                   packet: &p, bytes: bytes, sink: &sink)
        }
    }

    func classFor(proto: UInt8, established: Bool, closed: Bool) -> Int {
        switch proto {
        case IPProto.tcp:
            closed ? TimeoutClass.tcpClosed.rawValue
                : (established ? TimeoutClass.tcpEstablished.rawValue : TimeoutClass.tcpNew.rawValue)
        case IPProto.udp:
            established ? TimeoutClass.udpEstablished.rawValue : TimeoutClass.udpNew.rawValue
        case IPProto.icmp, IPProto.icmpv6:
            established ? TimeoutClass.icmpEstablished.rawValue : TimeoutClass.icmpNew.rawValue
        default:
            established ? TimeoutClass.otherEstablished.rawValue : TimeoutClass.otherNew.rawValue
        }
    }

    private func update(_ st: inout StripeState, key: FlowKey, hash: UInt64, fromA: Bool, hostsPrefetched: Bool,
                        packet p: inout DecodedPacket,
                        bytes: ByteView, sink: inout FlowSink) {
        let ts = p.timestampNs
        let isTCP = p.proto == IPProto.tcp && !p.isNonFirstFragment
        let flags = isTCP ? p.tcpFlags : 0
        let bareSyn = isTCP && flags & (TCPFlag.syn | TCPFlag.ack) == TCPFlag.syn

        var idx: Int32
        let tag = FlowIndex.tag(hash)
        if let found = st.find(key, tag: tag) {
            idx = found
            let i = Int(idx)
            if ts - st.slots[i].acc.lastNs >= timeoutsNs[Int(st.slots[i].cls)] {
                // Idle past its timeout but not yet swept: that flow is over,
                // this packet starts a new one.
                end(&st, idx, reason: endReason(st.slots + i), sink: &sink, free: true, now: ts)
                idx = create(&st, key: key, hash: hash, fromA: fromA, hostsPrefetched: hostsPrefetched, packet: &p)
            } else if st.slots[i].cls == UInt8(TimeoutClass.tcpClosed.rawValue) && bareSyn {
                // A new connection on a closed flow's ports: end the old one first.
                let reason: EndReason = st.slots[i].tcp & TCPBits.rst != 0 ? .tcpRst : .tcpFin
                end(&st, idx, reason: reason, sink: &sink, free: true, now: ts)
                idx = create(&st, key: key, hash: hash, fromA: fromA, hostsPrefetched: hostsPrefetched, packet: &p)
            } else if ts - st.slots[i].acc.firstNs >= activeTimeoutNs && st.slots[i].acc.totalPackets > 0 {
                end(&st, idx, reason: .activeTimeout, sink: &sink, free: false, now: ts)
                st.slots[i].segment &+= 1
                let ctx = st.slots[i].acc.context
                st.slots[i].acc.reset()
                st.slots[i].acc.context = ctx
                st.slots[i].sawReply = false
            }
        } else {
            if st.freeCount == 0 { evictOne(&st, sink: &sink, now: ts) }
            idx = create(&st, key: key, hash: hash, fromA: fromA, hostsPrefetched: hostsPrefetched, packet: &p)
        }

        let i = Int(idx)
        let forward = fromA == st.slots[i].clientIsA
        let dir: Direction = forward ? .forward : .backward
        if !forward { st.slots[i].sawReply = true }
        if p.tunnel != .none && st.slots[i].tunnel == .none {
            st.slots[i].tunnel = p.tunnel
            st.slots[i].tunnelSrc = p.tunnelSrc
            st.slots[i].tunnelDst = p.tunnelDst
        }
        let negBefore = st.slots[i].acc.negativeIATs
        withUnsafePointer(to: &p) { st.slots[i].acc.add($0, direction: dir, bytes: bytes, pool: &st.pool, config: config.features) }
        if st.slots[i].acc.negativeIATs != negBefore { st.counters.negativeIATs &+= 1 }

        var closed = false
        if isTCP {
            var t = st.slots[i].tcp
            if flags & TCPFlag.syn != 0 {
                if flags & TCPFlag.ack == 0 && forward { t |= TCPBits.synFromClient }
                if flags & TCPFlag.ack != 0 && !forward { t |= TCPBits.synAckFromServer }
            } else if forward && flags & TCPFlag.ack != 0 && t & TCPBits.synAckFromServer != 0 {
                t |= TCPBits.handshakeDone
            }
            if flags & TCPFlag.fin != 0 { t |= forward ? TCPBits.finFromClient : TCPBits.finFromServer }
            if flags & TCPFlag.rst != 0 { t |= TCPBits.rst }
            if t & TCPBits.halfOpenCounted != 0
                && t & (TCPBits.handshakeDone | TCPBits.rst) != 0 {
                t &= ~TCPBits.halfOpenCounted
                hosts.halfOpenClosed(dst: st.slots[i].clientIsA ? st.slots[i].key.b : st.slots[i].key.a)
            }
            st.slots[i].tcp = t
            closed = t & TCPBits.rst != 0
                || (t & TCPBits.finFromClient != 0 && t & TCPBits.finFromServer != 0)
        }
        let cls = classFor(proto: p.proto, established: st.slots[i].sawReply, closed: closed)
        // Most recently active of its class: to the tail of its list, unless
        // it is there already (a new flow, or a burst of one flow's packets).
        if st.tail[cls] != idx || Int(st.slots[i].cls) != cls {
            st.unlink(idx)
            st.pushTail(idx, cls: cls)
        }
    }


    private func create(_ st: inout StripeState, key: FlowKey, hash: UInt64, fromA: Bool, hostsPrefetched: Bool,
                        packet p: inout DecodedPacket) -> Int32 {
        let idx = st.popFree()
        // The sender of the first packet is the client, unless it is a SYN-ACK.
        var senderIsClient = true
        if p.proto == IPProto.tcp && !p.isNonFirstFragment
            && p.tcpFlags & (TCPFlag.syn | TCPFlag.ack) == (TCPFlag.syn | TCPFlag.ack) {
            senderIsClient = false
        }
        let bareSyn = p.proto == IPProto.tcp && p.tcpFlags & (TCPFlag.syn | TCPFlag.ack) == TCPFlag.syn
        let client = senderIsClient ? p.src : p.dst
        let server = senderIsClient ? p.dst : p.src
        let dport = senderIsClient ? p.dstPort : p.srcPort
        // The hosts' lines start loading while the slot is written (its
        // lines were prefetched when the previous new flow took a slot),
        // unless `prefetch` started them a packet ahead.
        if !hostsPrefetched { hosts.prefetch(client, server, ts: p.timestampNs) }
        let tag = FlowIndex.tag(hash)
        // Written into the slot in place (a slot is ~1 KB: no temporary to copy).
        st.slots[Int(idx)].start(
            key: key, clientIsA: senderIsClient ? fromA : !fromA, hasPorts: p.hasPorts,
            vlanCount: min(p.vlanCount, 3), tcp: bareSyn ? TCPBits.halfOpenCounted : 0,
            flowID: (hash ^ UInt64(bitPattern: p.timestampNs) &* 0x9E37_79B9_7F4A_7C15) & ((1 << 51) - 1),
            indexTag: tag)
        st.index.insert(tag: tag, idx: idx)
        st.pushTail(idx, cls: classFor(proto: p.proto, established: false, closed: false))
        st.active += 1
        st.counters.created &+= 1
        st.slots[Int(idx)].acc.context = hosts.flowStarted(src: client, dst: server, dport: p.hasPorts ? dport : 0,
                                                           ts: p.timestampNs, halfOpen: bareSyn)
        return idx
    }

    /// Ends the flow in slot `idx`: its record goes to `sink`; with `free`
    /// the slot is unlinked and returned, else the caller continues it.
    private func end(_ st: inout StripeState, _ idx: Int32, reason: EndReason, sink: inout FlowSink,
                     free: Bool, now: Int64) {
        let i = Int(idx)
        // Fields are read from the slot where it lies, through pointers: a
        // method called on a slot copied the whole ~1 KB slot first.
        precondition(i >= 0 && i < st.capacity)
        let slot = st.slots + i
        let acc = UnsafeRawPointer(slot).advanced(by: MemoryLayout<FlowSlot>.offset(of: \.acc).unsafelyUnwrapped)
            .assumingMemoryBound(to: FlowAccumulator.self)
        let seq = UnsafeRawPointer(acc).advanced(by: MemoryLayout<FlowAccumulator>.offset(of: \.sequence).unsafelyUnwrapped)
            .assumingMemoryBound(to: PacketSequence.self)
        let key = slot.pointee.key
        let clientIsA = slot.pointee.clientIsA
        let client = clientIsA ? key.a : key.b
        let server = clientIsA ? key.b : key.a
        let tcp = slot.pointee.tcp
        let lastNs = slot.pointee.acc.lastNs
        let closed = slot.pointee.cls == UInt8(TimeoutClass.tcpClosed.rawValue)
        let tunnel = slot.pointee.tunnel
        // Written straight into the sink's storage: no ~1.3 KB record built
        // here and copied there.
        sink.emplace { r in
            r.set(key: key, srcIP: client, srcPort: clientIsA ? key.portA : key.portB,
                  dstIP: server, dstPort: clientIsA ? key.portB : key.portA,
                  proto: key.proto, hasPorts: slot.pointee.hasPorts, vlanCount: slot.pointee.vlanCount,
                  tunnel: tunnel, tunnelSrc: tunnel != .none ? slot.pointee.tunnelSrc : .zero,
                  tunnelDst: tunnel != .none ? slot.pointee.tunnelDst : .zero,
                  startNs: slot.pointee.acc.firstNs, endNs: lastNs,
                  pktsToServer: UInt64(slot.pointee.acc.pkts[0]), pktsToClient: UInt64(slot.pointee.acc.pkts[1]),
                  bytesToServer: slot.pointee.acc.ipBytes[0], bytesToClient: slot.pointee.acc.ipBytes[1],
                  state: closed ? .closed : (slot.pointee.sawReply ? .established : .new),
                  reason: reason, segment: slot.pointee.segment,
                  tcpFlagsToServer: FlowAccumulator.flagUnion(acc, .forward),
                  tcpFlagsToClient: FlowAccumulator.flagUnion(acc, .backward),
                  flowID: slot.pointee.flowID, negativeIATs: slot.pointee.acc.negativeIATs, endedAtNs: now)
            withUnsafeMutablePointer(to: &r.features) { FlowAccumulator.finish(acc, pool: st.pool, into: $0) }
            r.sequence.copyPrefix(of: seq)
        }
        st.pool.release(st.slots[i].acc.histogram)
        st.slots[i].acc.histogram = -1
        st.counters.ended[Int(reason.rawValue)] &+= 1

        guard free else { return }
        if key.proto == IPProto.tcp && tcp & TCPBits.synFromClient != 0
            && tcp & TCPBits.synAckFromServer == 0 {
            hosts.handshakeFailed(src: client, ts: lastNs)
        }
        if tcp & TCPBits.halfOpenCounted != 0 { hosts.halfOpenClosed(dst: server) }
        st.unlink(idx)
        st.index.remove(tag: st.slots[i].indexTag, idx: idx)
        st.slots[i].inUse = false
        st.pushFree(idx)
        st.active -= 1
    }

    /// Before ending `h` in a sweep (which goes down its LRU list): starts
    /// loading the slot two flows on, and what ending the next flow will
    /// touch beyond its slot (its index entry, its hosts' context lines).
    /// A sweep that ends many flows is then not one cache miss after another.
    @inline(__always)
    private func prefetchAhead(_ st: borrowing StripeState, after h: Int32) {
        let n1 = st.slots[Int(h)].next
        guard n1 >= 0 else { return }
        let s1 = st.slots + Int(n1)
        let n2 = s1.pointee.next
        if n2 >= 0 { fs_prefetch_range(st.slots + Int(n2), MemoryLayout<FlowSlot>.size) }
        fs_prefetch(st.index.table + st.index.home(s1.pointee.indexTag))
        let tcp = s1.pointee.tcp
        if s1.pointee.key.proto == IPProto.tcp && tcp & TCPBits.synFromClient != 0 && tcp & TCPBits.synAckFromServer == 0 {
            hosts.prefetchHeld(s1.pointee.clientIsA ? s1.pointee.key.a : s1.pointee.key.b, ts: s1.pointee.acc.lastNs)
        }
    }

    private func evictOne(_ st: inout StripeState, sink: inout FlowSink, now: Int64) {
        var best: Int32 = -1
        var bestTs = Int64.max
        for c in 0..<TimeoutClass.count {
            let h = st.head[c]
            if h >= 0 && st.slots[Int(h)].acc.lastNs < bestTs {
                bestTs = st.slots[Int(h)].acc.lastNs
                best = h
            }
        }
        if best >= 0 { end(&st, best, reason: .evicted, sink: &sink, free: true, now: now) }
    }

    private func endReason(_ s: UnsafeMutablePointer<FlowSlot>) -> EndReason {
        if s.pointee.cls == UInt8(TimeoutClass.tcpClosed.rawValue) {
            return s.pointee.tcp & TCPBits.rst != 0 ? .tcpRst : .tcpFin
        }
        return .idleTimeout
    }

    /// Ends every flow whose idle timeout (or TCP linger) has passed at `now`
    /// (nanoseconds of packet time, or of the wall clock when live and idle).
    /// Records come out stripe by stripe, each timeout class least recently
    /// active first: a deterministic order for the same input.
    package func expire(now: Int64, sink: inout FlowSink) {
        expire(now: now, chunk: Int.max, sink: &sink) { _ in }
    }

    /// `expire(now:sink:)` in chunks: after at most `chunk` ended flows the
    /// stripe's lock is released and `drain` is called (it should empty the
    /// sink), so a sweep that ends the whole table never holds more than a
    /// chunk of records. Same records in the same order.
    package func expire(now: Int64, chunk: Int, sink: inout FlowSink,
                       drain: (inout FlowSink) throws -> Void) rethrows {
        let limit = max(1, chunk)
        var ended = 0
        for si in 0..<stripeCount {
            var more = true
            while more {
                more = stripes[si].withLock { st -> Bool in
                    for c in 0..<TimeoutClass.count {
                        let timeout = timeoutsNs[c]
                        while st.head[c] >= 0 {
                            let h = st.head[c]
                            guard st.slots[Int(h)].acc.lastNs + timeout <= now else { break }
                            if ended >= limit { return true }
                            prefetchAhead(st, after: h)
                            end(&st, h, reason: endReason(st.slots + Int(h)), sink: &sink, free: true, now: now)
                            ended += 1
                        }
                    }
                    return false
                }
                if more {
                    try drain(&sink)
                    ended = 0
                }
            }
        }
        if ended > 0 { try drain(&sink) }
    }

    /// Ends every flow (end of input, shutdown). TCP flows already closed keep
    /// their FIN/RST reason; the rest end with `reason`. Records come out
    /// ordered by flow start time, all into `sink`.
    package func flushAll(reason: EndReason = .shutdown, sink: inout FlowSink) {
        flushAll(reason: reason, chunk: Int.max, sink: &sink) { _ in }
    }

    /// `flushAll(reason:sink:)` in chunks: the flows are ordered by start time
    /// first (24 bytes per flow), then ended `chunk` at a time, `drain` called
    /// after each chunk (it should empty the sink). At end of input the table
    /// therefore never turns into one batch of records: memory beyond the
    /// table stays one chunk, whatever `maxFlows` is. Same records, same
    /// order. Flows created by other threads meanwhile are ended last.
    package func flushAll(reason: EndReason = .shutdown, chunk: Int, sink: inout FlowSink,
                         drain: (inout FlowSink) throws -> Void) rethrows {
        struct Pending { var start: Int64; var flowID: UInt64; var stripe: Int32; var slot: Int32 }
        var order: [Pending] = []
        order.reserveCapacity(activeFlows)
        for si in 0..<stripeCount {
            stripes[si].withLock { st in
                for c in 0..<TimeoutClass.count {
                    var h = st.head[c]
                    while h >= 0 {
                        order.append(Pending(start: st.slots[Int(h)].acc.firstNs, flowID: st.slots[Int(h)].flowID,
                                             stripe: Int32(si), slot: h))
                        h = st.slots[Int(h)].next
                    }
                }
            }
        }
        order.sort { ($0.start, $0.flowID) < ($1.start, $1.flowID) }
        let limit = max(1, chunk)
        var i = 0
        while i < order.count {
            let upTo = min(order.count, i + min(limit, order.count - i))
            for p in order[i..<upTo] {
                stripes[Int(p.stripe)].withLock { st in
                    let h = p.slot
                    // Gone or replaced meanwhile (only when other threads still feed the table).
                    guard st.slots[Int(h)].inUse && st.slots[Int(h)].flowID == p.flowID else { return }
                    let r = Int(st.slots[Int(h)].cls) == TimeoutClass.tcpClosed.rawValue
                        ? endReason(st.slots + Int(h)) : reason
                    end(&st, h, reason: r, sink: &sink, free: true, now: st.slots[Int(h)].acc.lastNs)
                }
            }
            i = upTo
            try drain(&sink)
        }
        // Anything created after the order was taken.
        var ended = 0
        for si in 0..<stripeCount {
            var more = true
            while more {
                more = stripes[si].withLock { st -> Bool in
                    for c in 0..<TimeoutClass.count {
                        while st.head[c] >= 0 {
                            if ended >= limit { return true }
                            let h = st.head[c]
                            let r = c == TimeoutClass.tcpClosed.rawValue ? endReason(st.slots + Int(h)) : reason
                            end(&st, h, reason: r, sink: &sink, free: true, now: st.slots[Int(h)].acc.lastNs)
                            ended += 1
                        }
                    }
                    return false
                }
                if more {
                    try drain(&sink)
                    ended = 0
                }
            }
        }
        if ended > 0 { try drain(&sink) }
    }
}
