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
    var tunnelSrc = IPAddress.zero
    var tunnelDst = IPAddress.zero
    var acc = FlowAccumulator()

    init(key: FlowKey) { self.key = key }

    /// Makes this (free) slot a new flow, in place.
    @inline(__always)
    mutating func start(key: FlowKey, clientIsA: Bool, hasPorts: Bool, vlanCount: UInt8, tcp: UInt8,
                        flowID: UInt64, indexTag: UInt32, context: HostContextSnapshot) {
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
        tunnelSrc = .zero
        tunnelDst = .zero
        acc.reset()
        acc.context = context
    }
}

/// A stripe's key index: open addressing with linear probing over
/// `UInt64` entries (0 = empty, else a 32-bit tag of the key's hash and the
/// slot number + 1). The tag's low bits are the home position, so deletion
/// shifts entries back instead of leaving tombstones; the key itself is
/// compared in the slot only when a tag matches. At most half full.
@usableFromInline
struct FlowIndex: Sendable {
    var table: [UInt64]
    let mask: Int

    init(capacity: Int) {
        var n = 16
        while n < capacity * 2 { n <<= 1 }
        table = Array(repeating: 0, count: n)
        mask = n - 1
    }

    @inline(__always) static func tag(_ hash: UInt64) -> UInt32 {
        UInt32(truncatingIfNeeded: (hash &* 0x9E37_79B9_7F4A_7C15) >> 32)
    }

    @inline(__always) func home(_ tag: UInt32) -> Int { Int(tag) & mask }

    @inline(__always) static func entry(_ tag: UInt32, _ idx: Int32) -> UInt64 {
        UInt64(tag) << 32 | UInt64(UInt32(bitPattern: idx &+ 1))
    }

    mutating func insert(tag: UInt32, idx: Int32) {
        var i = home(tag)
        while table[i] != 0 { i = (i + 1) & mask }
        table[i] = Self.entry(tag, idx)
    }

    mutating func remove(tag: UInt32, idx: Int32) {
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

@usableFromInline
struct StripeState: Sendable {
    var slots: [FlowSlot]
    var index: FlowIndex
    var free: [Int32]
    var head = InlineArray<9, Int32>(repeating: -1)
    var tail = InlineArray<9, Int32>(repeating: -1)
    var pool: ByteHistogramPool
    var counters = FlowCounters()
    var active = 0

    init(capacity: Int, histograms: Int) {
        let empty = FlowSlot(key: FlowKey(a: .zero, b: .zero, portA: 0, portB: 0, proto: 0))
        slots = Array(repeating: empty, count: capacity)
        index = FlowIndex(capacity: capacity)
        free = (0..<Int32(capacity)).reversed().map { $0 }
        pool = ByteHistogramPool(capacity: histograms)
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

    mutating func unlink(_ i: Int32) {
        let c = Int(slots[Int(i)].cls)
        let p = slots[Int(i)].prev, n = slots[Int(i)].next
        if p >= 0 { slots[Int(p)].next = n } else { head[c] = n }
        if n >= 0 { slots[Int(n)].prev = p } else { tail[c] = p }
        slots[Int(i)].prev = -1
        slots[Int(i)].next = -1
    }

    mutating func pushTail(_ i: Int32, cls c: Int) {
        slots[Int(i)].cls = UInt8(c)
        slots[Int(i)].prev = tail[c]
        slots[Int(i)].next = -1
        if tail[c] >= 0 { slots[Int(tail[c])].next = i } else { head[c] = i }
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
public final class FlowTable: Sendable {
    @usableFromInline final class Stripe: Sendable {
        @usableFromInline let lock: FSMutex<StripeState>
        init(_ s: StripeState) { lock = FSMutex(s) }
    }

    @usableFromInline let stripes: [Stripe]
    @usableFromInline let stripeMask: Int
    public let config: FlowTableConfig
    public let hosts: HostContextTable
    let fragments: FragmentTracker
    @usableFromInline let timeoutsNs: InlineArray<9, Int64>
    @usableFromInline let activeTimeoutNs: Int64
    public let perStripeCapacity: Int

    public init(config: FlowTableConfig = FlowTableConfig()) {
        self.config = config
        var n = 1
        while n < max(1, config.stripes) { n <<= 1 }
        stripeMask = n - 1
        perStripeCapacity = max(1, config.maxFlows / n)
        let hist = max(0, config.histogramCapacity / n)
        var s: [Stripe] = []
        for _ in 0..<n { s.append(Stripe(StripeState(capacity: perStripeCapacity, histograms: hist))) }
        stripes = s
        hosts = HostContextTable(config: config.hostContext)
        fragments = FragmentTracker(capacity: config.fragmentSlots)
        let t = config.classTimeoutsNs
        var ts = InlineArray<9, Int64>(repeating: 0)
        for i in 0..<9 { ts[i] = t[i] }
        timeoutsNs = ts
        activeTimeoutNs = Int64((config.activeTimeout * 1e9).rounded())
    }

    /// Flows currently held.
    public var activeFlows: Int { stripes.reduce(0) { $0 + $1.lock.withLock { $0.active } } }

    public var counters: FlowCounters {
        var c = FlowCounters()
        for s in stripes { c.merge(s.lock.withLock { $0.counters }) }
        return c
    }

    /// Bytes of preallocated flow state per flow slot.
    public static var bytesPerFlowSlot: Int {
        // The slot, two index entries (the index is at most half full), a free-list entry.
        MemoryLayout<FlowSlot>.stride + 2 * MemoryLayout<UInt64>.stride + MemoryLayout<Int32>.stride
    }

    public var histogramsExhausted: UInt64 {
        stripes.reduce(0) { $0 + $1.lock.withLock { $0.pool.exhausted } }
    }

    /// Accounts one decoded packet to its flow. `bytes` are the packet's
    /// captured bytes (for payload entropy). Records of flows this ends go to `sink`.
    public func process(_ packet: DecodedPacket, bytes: ByteView, sink: inout FlowSink) {
        var p = packet
        if p.isFragment {
            if p.isNonFirstFragment {
                if fragments.resolve(&p) {
                    stripes[0].lock.withLock { $0.counters.fragmentsMatched &+= 1 }
                } else {
                    stripes[0].lock.withLock { $0.counters.fragmentOrphans &+= 1 }
                }
            } else if p.hasPorts {
                fragments.rememberFirst(p)
            }
        }
        var fromA = true
        let key = FlowKey.make(p, fromA: &fromA)
        let hash = key.stableHash()
        let s = stripes[Int(truncatingIfNeeded: hash) & stripeMask]
        s.lock.withLock { st in
            update(&st, key: key, hash: hash, fromA: fromA, packet: p, bytes: bytes, sink: &sink)
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

    private func update(_ st: inout StripeState, key: FlowKey, hash: UInt64, fromA: Bool, packet p: DecodedPacket,
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
                end(&st, idx, reason: endReason(for: st.slots[i]), sink: &sink, free: true, now: ts)
                idx = create(&st, key: key, hash: hash, fromA: fromA, packet: p)
            } else if st.slots[i].cls == UInt8(TimeoutClass.tcpClosed.rawValue) && bareSyn {
                // A new connection on a closed flow's ports: end the old one first.
                let reason: EndReason = st.slots[i].tcp & TCPBits.rst != 0 ? .tcpRst : .tcpFin
                end(&st, idx, reason: reason, sink: &sink, free: true, now: ts)
                idx = create(&st, key: key, hash: hash, fromA: fromA, packet: p)
            } else if ts - st.slots[i].acc.firstNs >= activeTimeoutNs && st.slots[i].acc.totalPackets > 0 {
                end(&st, idx, reason: .activeTimeout, sink: &sink, free: false, now: ts)
                st.slots[i].segment &+= 1
                let ctx = st.slots[i].acc.context
                st.slots[i].acc.reset()
                st.slots[i].acc.context = ctx
                st.slots[i].sawReply = false
            }
        } else {
            if st.free.isEmpty { evictOne(&st, sink: &sink, now: ts) }
            idx = create(&st, key: key, hash: hash, fromA: fromA, packet: p)
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
        st.slots[i].acc.add(p, direction: dir, bytes: bytes, pool: &st.pool, config: config.features)
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
                hosts.halfOpenClosed(dst: serverAddress(st.slots[i]))
            }
            st.slots[i].tcp = t
            closed = t & TCPBits.rst != 0
                || (t & TCPBits.finFromClient != 0 && t & TCPBits.finFromServer != 0)
        }
        let cls = classFor(proto: p.proto, established: st.slots[i].sawReply, closed: closed)
        st.unlink(idx)
        st.pushTail(idx, cls: cls)
    }

    func serverAddress(_ s: FlowSlot) -> IPAddress { s.clientIsA ? s.key.b : s.key.a }
    func clientAddress(_ s: FlowSlot) -> IPAddress { s.clientIsA ? s.key.a : s.key.b }

    private func create(_ st: inout StripeState, key: FlowKey, hash: UInt64, fromA: Bool, packet p: DecodedPacket) -> Int32 {
        let idx = st.free.removeLast()
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
        let context = hosts.flowStarted(src: client, dst: server, dport: p.hasPorts ? dport : 0,
                                        ts: p.timestampNs, halfOpen: bareSyn)
        let tag = FlowIndex.tag(hash)
        // Written into the slot in place (a slot is ~1 KB: no temporary to copy).
        st.slots[Int(idx)].start(
            key: key, clientIsA: senderIsClient ? fromA : !fromA, hasPorts: p.hasPorts,
            vlanCount: min(p.vlanCount, 3), tcp: bareSyn ? TCPBits.halfOpenCounted : 0,
            flowID: (hash ^ UInt64(bitPattern: p.timestampNs) &* 0x9E37_79B9_7F4A_7C15) & ((1 << 51) - 1),
            indexTag: tag, context: context)
        st.index.insert(tag: tag, idx: idx)
        st.pushTail(idx, cls: classFor(proto: p.proto, established: false, closed: false))
        st.active += 1
        st.counters.created &+= 1
        return idx
    }

    /// Ends the flow in slot `idx`: its record goes to `sink`; with `free`
    /// the slot is unlinked and returned, else the caller continues it.
    private func end(_ st: inout StripeState, _ idx: Int32, reason: EndReason, sink: inout FlowSink,
                     free: Bool, now: Int64) {
        let i = Int(idx)
        // Fields are read from the slot where it lies, through a span: the
        // array's subscript getter copied the whole ~1 KB slot for each
        // method called on it (`finish`, `flagUnion`).
        let key: FlowKey, client: IPAddress, server: IPAddress, tcp: UInt8, lastNs: Int64
        do {
            let slots = st.slots.span
            key = slots[i].key
            let clientIsA = slots[i].clientIsA
            client = clientIsA ? key.a : key.b
            server = clientIsA ? key.b : key.a
            tcp = slots[i].tcp
            lastNs = slots[i].acc.lastNs
            let closed = slots[i].cls == UInt8(TimeoutClass.tcpClosed.rawValue)
            sink.append(FlowRecord(
                key: key, srcIP: client, srcPort: clientIsA ? key.portA : key.portB,
                dstIP: server, dstPort: clientIsA ? key.portB : key.portA,
                proto: key.proto, hasPorts: slots[i].hasPorts, vlanCount: slots[i].vlanCount,
                tunnel: slots[i].tunnel, tunnelSrc: slots[i].tunnelSrc, tunnelDst: slots[i].tunnelDst,
                startNs: slots[i].acc.firstNs, endNs: lastNs,
                pktsToServer: UInt64(slots[i].acc.pkts[0]), pktsToClient: UInt64(slots[i].acc.pkts[1]),
                bytesToServer: slots[i].acc.ipBytes[0], bytesToClient: slots[i].acc.ipBytes[1],
                state: closed ? .closed : (slots[i].sawReply ? .established : .new),
                reason: reason, segment: slots[i].segment,
                tcpFlagsToServer: slots[i].acc.flagUnion(.forward), tcpFlagsToClient: slots[i].acc.flagUnion(.backward),
                flowID: slots[i].flowID, features: slots[i].acc.finish(pool: st.pool),
                sequence: slots[i].acc.sequence,
                negativeIATs: slots[i].acc.negativeIATs, endedAtNs: now))
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
        st.free.append(idx)
        st.active -= 1
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

    private func endReason(for s: FlowSlot) -> EndReason {
        if s.cls == UInt8(TimeoutClass.tcpClosed.rawValue) {
            return s.tcp & TCPBits.rst != 0 ? .tcpRst : .tcpFin
        }
        return .idleTimeout
    }

    /// Ends every flow whose idle timeout (or TCP linger) has passed at `now`
    /// (nanoseconds of packet time, or of the wall clock when live and idle).
    /// Records come out stripe by stripe, each timeout class least recently
    /// active first: a deterministic order for the same input.
    public func expire(now: Int64, sink: inout FlowSink) {
        expire(now: now, chunk: Int.max, sink: &sink) { _ in }
    }

    /// `expire(now:sink:)` in chunks: after at most `chunk` ended flows the
    /// stripe's lock is released and `drain` is called (it should empty the
    /// sink), so a sweep that ends the whole table never holds more than a
    /// chunk of records. Same records in the same order.
    public func expire(now: Int64, chunk: Int, sink: inout FlowSink,
                       drain: (inout FlowSink) throws -> Void) rethrows {
        let limit = max(1, chunk)
        var ended = 0
        for s in stripes {
            var more = true
            while more {
                more = s.lock.withLock { st -> Bool in
                    for c in 0..<TimeoutClass.count {
                        let timeout = timeoutsNs[c]
                        while st.head[c] >= 0 {
                            let h = st.head[c]
                            guard st.slots[Int(h)].acc.lastNs + timeout <= now else { break }
                            if ended >= limit { return true }
                            end(&st, h, reason: endReason(for: st.slots[Int(h)]), sink: &sink, free: true, now: now)
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
    public func flushAll(reason: EndReason = .shutdown, sink: inout FlowSink) {
        flushAll(reason: reason, chunk: Int.max, sink: &sink) { _ in }
    }

    /// `flushAll(reason:sink:)` in chunks: the flows are ordered by start time
    /// first (24 bytes per flow), then ended `chunk` at a time, `drain` called
    /// after each chunk (it should empty the sink). At end of input the table
    /// therefore never turns into one batch of records: memory beyond the
    /// table stays one chunk, whatever `maxFlows` is. Same records, same
    /// order. Flows created by other threads meanwhile are ended last.
    public func flushAll(reason: EndReason = .shutdown, chunk: Int, sink: inout FlowSink,
                         drain: (inout FlowSink) throws -> Void) rethrows {
        struct Pending { var start: Int64; var flowID: UInt64; var stripe: Int32; var slot: Int32 }
        var order: [Pending] = []
        order.reserveCapacity(activeFlows)
        for (si, s) in stripes.enumerated() {
            s.lock.withLock { st in
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
                stripes[Int(p.stripe)].lock.withLock { st in
                    let h = p.slot
                    // Gone or replaced meanwhile (only when other threads still feed the table).
                    guard st.slots[Int(h)].inUse && st.slots[Int(h)].flowID == p.flowID else { return }
                    let r = Int(st.slots[Int(h)].cls) == TimeoutClass.tcpClosed.rawValue
                        ? endReason(for: st.slots[Int(h)]) : reason
                    end(&st, h, reason: r, sink: &sink, free: true, now: st.slots[Int(h)].acc.lastNs)
                }
            }
            i = upTo
            try drain(&sink)
        }
        // Anything created after the order was taken.
        var ended = 0
        for s in stripes {
            var more = true
            while more {
                more = s.lock.withLock { st -> Bool in
                    for c in 0..<TimeoutClass.count {
                        while st.head[c] >= 0 {
                            if ended >= limit { return true }
                            let h = st.head[c]
                            let r = c == TimeoutClass.tcpClosed.rawValue ? endReason(for: st.slots[Int(h)]) : reason
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
