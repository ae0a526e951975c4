import Context
import CPrefetch
import Decoding
import Features
import Locking
import Synchronization  // FSMutex is Mutex outside sanitizer builds (and code calls it)

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
public final class FlowTable: @unchecked Sendable {
    /// `stripeCount` locks, each over its stripe's state; allocated once,
    /// addressed by pointer (no reference count traffic per packet).
    let stripes: UnsafeMutablePointer<FSMutex<StripeState>>
    let stripeCount: Int
    let stripeMask: Int
    /// Each stripe's index memory and the (common) index mask, outside the
    /// locks, for `process` to start loading a key's index line before it
    /// takes the lock (these never change; the index is read only under the lock).
    let indexBases: UnsafeMutablePointer<UnsafeMutablePointer<UInt64>>
    let indexMask: Int
    public let config: FlowTableConfig
    public let hosts: HostContextTable
    let fragments: FragmentTracker
    let timeoutsNs: InlineArray<9, Int64>
    let activeTimeoutNs: Int64
    public let perStripeCapacity: Int
    /// The seed of the key hash that places a key in its stripe's index,
    /// random per table: where keys land in the index cannot be worked out
    /// from outside, so crafted keys cannot pile up in one probe run (hash
    /// flooding). The stripe and the flow id come from the key's stable hash:
    /// what is written out, and in which order, stays the same in every run.
    let indexSeed: UInt64
    /// Keeps each flow's first packets for `--alert-pcap` (nil: off, the
    /// default). Set before the first packet; never changed after.
    public var packetRings: FlowPacketRings?
    /// Stripes and slots per stripe, as `FlowPacketRings` is sized.
    public var stripeLayout: (stripes: Int, slotsPerStripe: Int) { (stripeCount, perStripeCapacity) }

    public convenience init(config: FlowTableConfig = FlowTableConfig(), prefault: Bool = true) {
        self.init(config: config, indexSeed: UInt64.random(in: .min ... .max), prefault: prefault)
    }

    /// A table whose index seed is given (tests show that output does not depend on it).
    /// `prefault` (live capture) writes the slots, index and payload
    /// histograms once now, so a flood's new flows never first touch their
    /// pages on the packet path; replay leaves them to be touched when used
    /// (see `StripeState`).
    init(config: FlowTableConfig, indexSeed: UInt64, prefault: Bool = true) {
        self.config = config
        self.indexSeed = indexSeed
        var n = 1
        while n < max(1, config.stripes) { n <<= 1 }
        stripeMask = n - 1
        perStripeCapacity = max(1, config.maxFlows / n)
        let hist = max(0, min(config.histogramCapacity, config.maxFlows) / n)
        let streams = max(0, min(config.appStreamCapacity, config.maxFlows) / n)
        stripeCount = n
        stripes = .allocate(capacity: n)
        indexBases = .allocate(capacity: n)
        var mask = 0
        for i in 0..<n {
            let st = StripeState(capacity: perStripeCapacity, histograms: hist, streams: streams,
                                 prefixBytes: config.features.appPrefixBytes, prefault: prefault)
            (indexBases + i).initialize(to: st.index.table)
            mask = st.index.mask
            (stripes + i).initialize(to: FSMutex(st))
        }
        indexMask = mask
        hosts = HostContextTable(config: config.hostContext, prefault: prefault)
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
    public var activeFlows: Int { (0..<stripeCount).reduce(0) { n, i in n + stripes[i].withLock { $0.active } } }

    public var counters: FlowCounters {
        var c = FlowCounters()
        for i in 0..<stripeCount { c.merge(stripes[i].withLock { $0.counters }) }
        return c
    }

    /// Bytes of preallocated flow state per flow slot.
    public static var bytesPerFlowSlot: Int {
        // The slot, two index entries (the index is at most half full), a free-list entry.
        MemoryLayout<FlowSlot>.stride + 2 * MemoryLayout<UInt64>.stride + MemoryLayout<Int32>.stride
    }

    public var histogramsExhausted: UInt64 {
        (0..<stripeCount).reduce(0) { n, i in n + stripes[i].withLock { $0.pool.exhausted } }
    }

    /// Flows that carried payload but found no free application-layer stream prefix.
    public var appStreamsExhausted: UInt64 {
        (0..<stripeCount).reduce(0) { n, i in n + stripes[i].withLock { $0.streams.exhausted } }
    }

    /// Accounts one decoded packet to its flow. `bytes` are the packet's
    /// captured bytes (for payload entropy). Records of flows this ends go to `sink`.
    /// The packet is taken `inout` and read in place (its ~200 bytes are not
    /// copied per call); the only change made to it: a non-first fragment
    /// gets its first fragment's ports.
    public func process(_ p: inout DecodedPacket, bytes: ByteView, sink: inout FlowSink) {
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

    /// What the table works out from a packet before taking a lock, once:
    /// by `prefetch`, used again by `process(_:prepared:bytes:sink:)`.
    public struct Prepared: Sendable {
        let key: FlowKey
        /// The key's stable hash: its stripe and flow id.
        let hash: UInt64
        /// The key's tag in its stripe's index (from the seeded index hash).
        let tag: UInt32
        let fromA: Bool
        /// A bare SYN (`TCPTracker.isBareSyn`).
        let bareSyn: Bool
        /// The hosts' context lines were prefetched (a bare SYN).
        let hostsPrefetched: Bool
    }

    /// Starts loading what `process` will first wait for on this packet: its
    /// key's index line and, for a bare SYN (under a flood, nearly always a
    /// new flow), its hosts' context lines. A hint, taken without any lock:
    /// a caller that decodes the next packet before processing the current
    /// one overlaps those cache misses with the current packet's work. The
    /// result saves `process(_:prepared:bytes:sink:)` working the key out again.
    public func prefetch(_ p: UnsafePointer<DecodedPacket>) -> Prepared {
        prepare(p, prefetchHosts: true)
    }

    /// `process` for a packet `prefetch` has seen (and that has not changed since).
    public func process(_ p: inout DecodedPacket, prepared k: Prepared, bytes: ByteView, sink: inout FlowSink) {
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
        let tag = FlowIndex.tag(key.stableHash(seed: indexSeed))
        fs_prefetch(indexBases[Int(truncatingIfNeeded: hash) & stripeMask] + (Int(tag) & indexMask))
        let bareSyn = TCPTracker.isBareSyn(proto: p.pointee.proto, flags: p.pointee.tcpFlags,
                                           nonFirstFragment: p.pointee.isNonFirstFragment)
        if prefetchHosts && bareSyn { hosts.prefetch(p.pointee.src, p.pointee.dst, ts: p.pointee.timestampNs) }
        return Prepared(key: key, hash: hash, tag: tag, fromA: fromA, bareSyn: bareSyn,
                        hostsPrefetched: prefetchHosts && bareSyn)
    }

    @inline(__always)
    private func locked(_ p: inout DecodedPacket, _ k: Prepared, bytes: ByteView, sink: inout FlowSink) {
        stripes[Int(truncatingIfNeeded: k.hash) & stripeMask].withLock { st in
            update(&st, k, packet: &p, bytes: bytes, sink: &sink)
        }
        if !sink.hostEvents.isEmpty { applyHostEvents(&sink.hostEvents) }
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

    private func update(_ st: inout StripeState, _ k: Prepared, packet p: inout DecodedPacket,
                        bytes: ByteView, sink: inout FlowSink) {
        let ts = p.timestampNs
        let isTCP = p.proto == IPProto.tcp && !p.isNonFirstFragment

        var idx: Int32
        if let found = st.find(k.key, tag: k.tag) {
            idx = found
            let i = Int(idx)
            if ts - st.slots[i].acc.lastNs >= timeoutsNs[Int(st.slots[i].cls)] {
                // Idle past its timeout but not yet swept: that flow is over,
                // this packet starts a new one.
                end(&st, idx, reason: endReason(st.slots + i, otherwise: .idleTimeout), sink: &sink, free: true, now: ts)
                idx = create(&st, k, packet: &p, sink: &sink)
            } else if st.slots[i].cls == UInt8(TimeoutClass.tcpClosed.rawValue) && k.bareSyn {
                // A new connection on a closed flow's ports: end the old one first.
                end(&st, idx, reason: st.slots[i].tcp.closeReason, sink: &sink, free: true, now: ts)
                idx = create(&st, k, packet: &p, sink: &sink)
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
            idx = create(&st, k, packet: &p, sink: &sink)
        }

        let i = Int(idx)
        if let rings = packetRings {
            rings.add(stripe: Int(truncatingIfNeeded: k.hash) & stripeMask, slot: i, bytes: bytes,
                      wireLength: p.wireLength, timestampNs: ts)
        }
        let forward = k.fromA == st.slots[i].clientIsA
        let dir: Direction = forward ? .forward : .backward
        if !forward { st.slots[i].sawReply = true }
        st.slots[i].lastPacketNumber = p.packetNumber
        if (p.proto == IPProto.icmp || p.proto == IPProto.icmpv6) && !p.isNonFirstFragment {
            st.slots[i].noteICMP(type: p.icmpType, code: p.icmpCode, forward: forward)
        }
        if p.tunnel != .none && st.slots[i].tunnel == .none {
            st.slots[i].tunnel = p.tunnel
            st.slots[i].tunnelSrc = p.tunnelSrc
            st.slots[i].tunnelDst = p.tunnelDst
        }
        let negBefore = st.slots[i].acc.negativeIATs
        withUnsafePointer(to: &p) { packet in
            st.slots[i].acc.add(packet, direction: dir, bytes: bytes, pool: &st.pool, config: config.features)
            if packet.pointee.payloadLength > 0 && !packet.pointee.isFragment && st.streams.isEnabled {
                let d = dir.rawValue
                let syn: UInt32? = st.slots[i].acc.synSeen & (1 << UInt8(d)) != 0 ? st.slots[i].acc.synSequence[d] : nil
                st.streams.add(&st.slots[i].acc.streams, packet: packet, direction: d, isn: syn, bytes: bytes)
            }
        }
        if st.slots[i].acc.negativeIATs != negBefore { st.counters.negativeIATs &+= 1 }

        var closed = false
        if isTCP {
            if st.slots[i].tcp.observe(flags: p.tcpFlags, fromClient: forward) {
                sink.hostEvents.append(.halfOpenClosed(server: st.slots[i].clientIsA ? st.slots[i].key.b : st.slots[i].key.a))
            }
            closed = st.slots[i].tcp.isClosed
        }
        let cls = classFor(proto: p.proto, established: st.slots[i].sawReply, closed: closed)
        // Most recently active of its class: to the tail of its list, unless
        // it is there already (a new flow, or a burst of one flow's packets).
        if st.tail[cls] != idx || Int(st.slots[i].cls) != cls {
            st.unlink(idx)
            st.pushTail(idx, cls: cls)
        }
    }


    private func create(_ st: inout StripeState, _ k: Prepared, packet p: inout DecodedPacket,
                        sink: inout FlowSink) -> Int32 {
        let idx = st.popFree()
        // The sender of the first packet is the client, unless it is a SYN-ACK.
        let senderIsClient = !TCPTracker.isSynAck(proto: p.proto, flags: p.tcpFlags,
                                                  nonFirstFragment: p.isNonFirstFragment)
        let client = senderIsClient ? p.src : p.dst
        let server = senderIsClient ? p.dst : p.src
        let dport = senderIsClient ? p.dstPort : p.srcPort
        // The hosts' lines start loading while the slot is written (its
        // lines were prefetched when the previous new flow took a slot),
        // unless `prefetch` started them a packet ahead.
        if !k.hostsPrefetched { hosts.prefetch(client, server, ts: p.timestampNs) }
        // Written into the slot in place (a slot is ~1 KB: no temporary to copy).
        st.slots[Int(idx)].start(
            key: k.key, clientIsA: senderIsClient ? k.fromA : !k.fromA, hasPorts: p.hasPorts,
            vlanCount: min(p.vlanCount, 3), tcp: TCPTracker(openedByBareSyn: k.bareSyn),
            flowID: (k.hash ^ UInt64(bitPattern: p.timestampNs) &* 0x9E37_79B9_7F4A_7C15) & ((1 << 51) - 1),
            indexTag: k.tag)
        st.index.insert(tag: k.tag, idx: idx)
        st.pushTail(idx, cls: classFor(proto: p.proto, established: false, closed: false))
        st.active += 1
        st.counters.created &+= 1
        // The hosts' context is written into the slot once the lock is released (`applyHostEvents`).
        sink.hostEvents.append(.flowStarted(client: client, server: server, dport: p.hasPorts ? dport : 0,
                                            ts: p.timestampNs, halfOpen: k.bareSyn,
                                            stripe: Int32(truncatingIfNeeded: Int(truncatingIfNeeded: k.hash) & stripeMask),
                                            slot: idx, flowID: st.slots[Int(idx)].flowID))
        return idx
    }

}
