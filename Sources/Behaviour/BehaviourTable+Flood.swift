import CPrefetch
import Decoding
#if canImport(Glibc)
import Glibc
#endif

/// One bucket (a sixth of the flood window) of what a target host received;
/// also the window's sums (`epoch` unused there). Empty, it is all zero
/// bytes (epoch 0, no sessions), which adds nothing to the window's sums.
struct FloodBucket {
    var epoch: Int64 = 0
    /// Sessions to the target that started in the bucket.
    var sessions: UInt32 = 0
    /// Of those, one-sided ones (`SessionObservation.isOneSided`).
    var oneSided: UInt32 = 0
    /// Of the one-sided: TCP sessions, and the requests among them the
    /// target took the connection for and never answered.
    var tcp: UInt32 = 0
    var requests: UInt32 = 0
    /// Of the one-sided: datagrams carrying bulk data (`floodBulkBytes` or more each).
    var bulk: UInt32 = 0
    /// Linear-counting bitmaps (64 bits) of the one-sided sessions' clients and ports.
    var sources: UInt64 = 0
    var ports: UInt64 = 0
}

/// What one host received over the flood window, and when the capture last
/// showed its side of a conversation. 320 bytes.
struct FloodTarget {
    var address = IPAddress.zero
    /// Whether the target ever answered a session or started one, and the
    /// packet time it last did (an inbound-only capture never shows this,
    /// and there every datagram a busy server received looks unanswered).
    /// Never heard is all zero bytes, like the rest of an empty entry.
    var heard = false
    var heardNs: Int64 = 0
    var buckets = InlineArray<6, FloodBucket>(repeating: FloodBucket())

    mutating func hear(at ns: Int64) {
        heardNs = heard ? max(heardNs, ns) : ns
        heard = true
    }
}

extension SessionObservation {
    /// The target returned nothing in the session: a TCP connection it
    /// refused, left half-open, or took without answering the request sent
    /// on it (a SYN flood's, a slow attack's); a datagram or echo request
    /// it never answered. TCP picked up mid-stream (`unknown`) is left out:
    /// a capture of one direction shows every session so.
    func isOneSided() -> Bool {
        switch proto {
        case IPProto.tcp: return outcome != .unknown && serverBytes == 0
        case IPProto.udp, IPProto.icmp, IPProto.icmpv6: return !icmpError && serverPackets == 0
        default: return false
        }
    }
}

extension BehaviourTable {
    /// Flooding per target host (docs/features.md, "Flooding"), over the
    /// flood window (`floodWindowSeconds`, six buckets):
    ///   volume   = max(clamp((one-sided − 100) / (300 − 100)), clamp((unanswered requests − 20) / (60 − 20)))
    ///   flooding = volume, when the flow is one-sided itself (or an ICMP
    ///   error the target sent), the target's side shows in the capture
    ///   (else the one-sided sessions must be mostly SYNs or bulk datagrams),
    ///   at least half of its sessions were one-sided, and they came from
    ///   `floodSources` sources or more, or went to `floodPorts` ports or
    ///   fewer, or mostly carried bulk data; else 0.
    /// A busy server's clients exchange data with it; a vertical scan is
    /// one source's empty probes over many ports.
    func floodValues(_ o: SessionObservation, into v: inout BehaviourValues) {
        let oneSided = o.isOneSided()
        if o.serverIsUnicast {
            let i = targetSlot(o.server, at: o.startNs)
            let t = targets + i
            if o.serverPackets > 0 { t.pointee.hear(at: o.startNs) }
            let epoch = max(0, o.startNs) / floodBucketNs
            let k = Int(epoch % Int64(Self.bucketCount))
            var b = t.pointee.buckets[k]
            if b.epoch < epoch { b = FloodBucket(); b.epoch = epoch }
            if b.epoch == epoch {
                b.sessions &+= 1
                if oneSided {
                    b.oneSided &+= 1
                    if o.proto == IPProto.tcp {
                        b.tcp &+= 1
                        if o.outcome == .answered && o.clientBytes > 0 { b.requests &+= 1 }
                    }
                    if o.proto == IPProto.udp && o.clientBytes >= UInt64(config.floodBulkBytes) &* max(1, o.clientPackets) { b.bulk &+= 1 }
                    b.sources |= Self.sketchBit(Self.mix(o.client))
                    b.ports |= Self.sketchBit(UInt64(o.serverPort) &* 0x9E37_79B9_7F4A_7C15)
                }
                t.pointee.buckets[k] = b
            }
            if oneSided { score(counts(t, at: o.startNs), into: &v) }
        }
        // The flow's client is heard from; an ICMP error it sent is its
        // answer to the flood it takes (a closed port's unreachables).
        guard let c = findTarget(o.client) else { return }
        let t = targets + c
        t.pointee.hear(at: o.startNs)
        if o.icmpError {
            score(counts(t, at: o.startNs), into: &v)
            v.floodTargetIsClient = true
        }
    }

    /// The window's sums for target `t` at `ns`, and whether the target was heard from in it.
    private func counts(_ t: UnsafeMutablePointer<FloodTarget>, at ns: Int64) -> (sums: FloodBucket, heard: Bool) {
        var c = FloodBucket()
        let epoch = max(0, ns) / floodBucketNs
        for k in 0..<Self.bucketCount {
            let b = t.pointee.buckets[k]
            guard b.epoch > epoch - Int64(Self.bucketCount), b.epoch <= epoch else { continue }
            c.sessions &+= b.sessions; c.oneSided &+= b.oneSided; c.tcp &+= b.tcp; c.requests &+= b.requests; c.bulk &+= b.bulk
            c.sources |= b.sources; c.ports |= b.ports
        }
        let heard = t.pointee.heard && ns - t.pointee.heardNs <= floodWindowNs
        return (c, heard)
    }

    private func score(_ window: (sums: FloodBucket, heard: Bool), into v: inout BehaviourValues) {
        let c = window.sums
        v.floodSessions = c.sessions; v.floodOneSided = c.oneSided; v.floodRequests = c.requests
        v.floodSources = Self.distinctEstimate(c.sources); v.floodPorts = Self.distinctEstimate(c.ports)
        v.floodTargetHeard = window.heard
        v.floodWindowSeconds = UInt32(config.floodWindowSeconds)
        // Unheard, only what a capture of one direction cannot show of
        // ordinary traffic counts: SYNs that got nothing more (a client's
        // sessions there carry ACKs and data) and bulk datagrams (look-ups
        // are small); a busy resolver's queries look unanswered there.
        guard window.heard || 2 * (c.tcp + c.bulk) >= c.oneSided, 2 * c.oneSided >= c.sessions else { return }
        let concentrated = v.floodSources >= UInt32(config.floodSources) || v.floodPorts <= UInt32(config.floodPorts)
            || 2 * c.bulk >= c.oneSided
        guard concentrated else { return }
        func ramp(_ x: UInt32, _ low: Int, _ high: Int) -> Double {
            min(1, max(0, (Double(x) - Double(low)) / Double(high - low)))
        }
        v.flooding = SeriesStatistics.round3(max(ramp(c.oneSided, config.floodSessionsLow, config.floodSessionsHigh),
                                                 ramp(c.requests, config.floodRequestsLow, config.floodRequestsHigh)))
    }

    /// The bit of a 64-bit linear-counting bitmap that hash `h` sets (its top six bits).
    static func sketchBit(_ h: UInt64) -> UInt64 { 1 << (h >> 58) }

    /// Distinct items in a 64-bit linear-counting bitmap: −64·ln((64 − set)/64),
    /// rounded; 266 (64·ln 64) when every bit is set.
    static func distinctEstimate(_ bits: UInt64) -> UInt32 { distinctEstimates[bits.nonzeroBitCount] }

    static let distinctEstimates: [UInt32] = (0...64).map { set in
        set >= 64 ? UInt32((64 * log(64.0)).rounded()) : UInt32((-64 * log(Double(64 - set) / 64)).rounded())
    }

    /// Asks the CPU to start loading the target entries `floodValues(o)` touches.
    func prefetchFlood(_ o: SessionObservation) {
        let server = Int((Self.mix(o.server) | 1) % UInt64(targetCount))
        fs_prefetch_range(targetIndex + server, Self.probes * MemoryLayout<Slot>.stride)
        let client = Int((Self.mix(o.client) | 1) % UInt64(targetCount))
        fs_prefetch_range(targetIndex + client, Self.probes * MemoryLayout<Slot>.stride)
    }

    /// The slot of `address`'s target entry, taken (and cleared) if new.
    private func targetSlot(_ address: IPAddress, at ns: Int64) -> Int {
        let (i, probed) = probe(targetIndex, count: targetCount, hash: Self.mix(address) | 1, at: ns,
                                staleAfter: floodWindowNs) { targets[$0].address == address }
        if probed == .found {
            targetIndex[i].lastNs = max(targetIndex[i].lastNs, ns)
            return i
        }
        let d = Self.change(probed)
        counters.targetsHeld += d.held; counters.targetEvictions &+= d.evicted
        targets[i] = FloodTarget()
        targets[i].address = address
        return i
    }

    /// `address`'s target entry, if it has one (nothing is taken).
    private func findTarget(_ address: IPAddress) -> Int? {
        let h = Self.mix(address) | 1
        let home = Int(h % UInt64(targetCount))
        for k in 0..<Self.probes {
            let i = (home + k) % targetCount
            if targetIndex[i].hash == h && targets[i].address == address { return i }
        }
        return nil
    }
}
