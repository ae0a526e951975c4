import Context
import CPrefetch
import Decoding
import Features
import Locking
import Synchronization  // FSMutex is Mutex outside sanitizer builds (and code calls it)

extension FlowTable {
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
        if s1.pointee.tcp.handshakeFailed {
            hosts.prefetchHeld(s1.pointee.clientIsA ? s1.pointee.key.a : s1.pointee.key.b, ts: s1.pointee.acc.lastNs)
        }
    }

    func evictOne(_ st: inout StripeState, sink: inout FlowSink, now: Int64) {
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

    /// A closed TCP flow ends for its FIN or RST whenever it ends; any
    /// other flow for `otherwise` (idle timeout, shutdown, end of input).
    func endReason(_ s: UnsafeMutablePointer<FlowSlot>, otherwise: EndReason) -> EndReason {
        s.pointee.cls == UInt8(TimeoutClass.tcpClosed.rawValue) ? s.pointee.tcp.closeReason : otherwise
    }

    /// Ends flows from the heads of each stripe's LRU lists, stripe by
    /// stripe and class by class, while `due(head, timeoutNs)` holds: the
    /// one sweep that both expiry and flush use. After `chunk` ended flows
    /// the stripe's lock is released and `drain` is called (it should empty
    /// the sink); it is called once more at the end if anything was ended.
    /// The lock is also let go whenever the ended flows' host events fill
    /// their log, to apply them. `endedAt` gives the time recorded as the
    /// flow's end.
    private func sweepHeads(chunk: Int, reason otherwise: EndReason, sink: inout FlowSink,
                            due: (UnsafeMutablePointer<FlowSlot>, Int64) -> Bool,
                            endedAt: (UnsafeMutablePointer<FlowSlot>) -> Int64,
                            drain: (inout FlowSink) throws -> Void) rethrows {
        enum Pause { case stripeDone, chunkFull, hostEventsFull }
        let limit = max(1, chunk)
        var ended = 0
        for si in 0..<stripeCount {
            var pause = Pause.chunkFull
            while pause != .stripeDone {
                pause = stripes[si].withLock { st -> Pause in
                    for c in 0..<TimeoutClass.count {
                        let timeout = timeoutsNs[c]
                        while st.head[c] >= 0 {
                            let h = st.head[c]
                            let slot = st.slots + Int(h)
                            guard due(slot, timeout) else { break }
                            if ended >= limit { return .chunkFull }
                            if sink.hostEvents.isFull { return .hostEventsFull }
                            prefetchAhead(st, after: h)
                            end(&st, h, reason: endReason(slot, otherwise: otherwise), sink: &sink, free: true,
                                now: endedAt(slot))
                            ended += 1
                        }
                    }
                    return .stripeDone
                }
                if !sink.hostEvents.isEmpty { applyHostEvents(&sink.hostEvents) }
                if pause == .chunkFull {
                    try drain(&sink)
                    ended = 0
                }
            }
        }
        if ended > 0 { try drain(&sink) }
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
        try sweepHeads(chunk: chunk, reason: .idleTimeout, sink: &sink,
                       due: { slot, timeout in slot.pointee.acc.lastNs + timeout <= now },
                       endedAt: { _ in now }, drain: drain)
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
                    end(&st, h, reason: endReason(st.slots + Int(h), otherwise: reason), sink: &sink, free: true,
                        now: st.slots[Int(h)].acc.lastNs)
                }
                if !sink.hostEvents.isEmpty { applyHostEvents(&sink.hostEvents) }
            }
            i = upTo
            try drain(&sink)
        }
        // Anything created after the order was taken.
        try sweepHeads(chunk: chunk, reason: reason, sink: &sink, due: { _, _ in true },
                       endedAt: { $0.pointee.acc.lastNs }, drain: drain)
    }
}
