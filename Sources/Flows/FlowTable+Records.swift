import Context
import CPrefetch
import Decoding
import Features
import Locking
import Synchronization  // FSMutex is Mutex outside sanitizer builds (and code calls it)

extension FlowTable {
    /// Ends the flow in slot `idx`: its record goes to `sink`; with `free`
    /// the slot is unlinked and returned, else the caller continues it.
    func end(_ st: inout StripeState, _ idx: Int32, reason: EndReason, sink: inout FlowSink,
                     free: Bool, now: Int64) {
        let i = Int(idx)
        // Fields are read through pointers from the slot where it lies: the
        // ~1 KB slot is never copied.
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
        let capture = appCapture(st, slot)
        // Without `free` the flow goes on in this slot as its next segment.
        let kept = packetRings.map {
            $0.detach(stripe: Int(truncatingIfNeeded: key.stableHash()) & stripeMask, slot: i, continues: !free)
        } ?? .none
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
                  flowID: slot.pointee.flowID, negativeIATs: slot.pointee.acc.negativeIATs, endedAtNs: now,
                  icmpToServer: slot.pointee.icmpToServer, icmpToClient: slot.pointee.icmpToClient,
                  tcpState: tcp.endState, lastPacketNumber: slot.pointee.lastPacketNumber)
            withUnsafeMutablePointer(to: &r.features) { FlowAccumulator.finish(acc, pool: st.pool, into: $0) }
            r.sequence.copyPrefix(of: seq)
            r.dns = slot.pointee.acc.dns
            r.app = nil
            r.appCapture = capture
            r.packetRing = kept
        }
        st.pool.release(st.slots[i].acc.histogram)
        st.slots[i].acc.histogram = -1
        st.streams.release(st.slots[i].acc.streams)
        st.slots[i].acc.streams = -1
        st.counters.ended[Int(reason.rawValue)] &+= 1

        guard free else { return }
        if tcp.handshakeFailed { sink.hostEvents.append(.handshakeFailed(client: client, ts: lastNs)) }
        if tcp.halfOpenPending { sink.hostEvents.append(.halfOpenClosed(server: server)) }
        st.unlink(idx)
        st.index.remove(tag: st.slots[i].indexTag, idx: idx)
        st.slots[i].inUse = false
        st.pushFree(idx)
        st.active -= 1
    }

    /// Applies, in order, the host-context changes collected under a
    /// stripe's lock, with no stripe lock held, and empties the log. A new
    /// flow's context goes into its slot under its stripe's lock again,
    /// unless the flow has ended meanwhile (another thread's packet evicted
    /// it): its record then went out without context.
    func applyHostEvents(_ log: inout HostEventLog) {
        for i in 0..<log.count {
            switch log.events[i] {
            case let .flowStarted(client, server, dport, ts, halfOpen, stripe, slot, flowID):
                let context = hosts.flowStarted(src: client, dst: server, dport: dport, ts: ts, halfOpen: halfOpen)
                stripes[Int(stripe)].withLock { st in
                    let s = Int(slot)
                    if st.slots[s].inUse && st.slots[s].flowID == flowID { st.slots[s].acc.context = context }
                }
            case let .halfOpenClosed(server):
                hosts.halfOpenClosed(dst: server)
            case let .handshakeFailed(client, ts):
                hosts.handshakeFailed(src: client, ts: ts)
            }
        }
        log.removeAll()
    }
}
