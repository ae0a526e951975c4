import Decoding

/// Which side sent a packet: the client (flow initiator) or the server.
public enum Direction: Int, Sendable {
    case forward = 0   // client → server
    case backward = 1  // server → client
}

/// Configuration of the per-flow feature accumulators.
public struct FeatureConfig: Sendable {
    /// Payload bytes per direction fed to the byte histogram (bounds the cost
    /// of payload entropy on bulk transfers).
    public var entropyPrefixBytes: Int = 1024
    public init() {}
}

/// All features of one flow, accumulated in place as packets arrive: fixed
/// size, no per-packet storage except the first 32 packets' summary.
public struct FlowAccumulator: Sendable {
    public var firstNs: Int64 = 0
    public var lastNs: Int64 = 0
    @usableFromInline var lastDirNs = InlineArray<2, Int64>(repeating: -1)
    public var pkts = InlineArray<2, UInt32>(repeating: 0)
    public var ipBytes = InlineArray<2, UInt64>(repeating: 0)
    public var payloadBytes = InlineArray<2, UInt64>(repeating: 0)
    @usableFromInline var len = LengthStats()
    @usableFromInline var lenDir = InlineArray<2, LengthStats>(repeating: LengthStats())
    @usableFromInline var iat = RunningStats()
    @usableFromInline var iatDir = InlineArray<2, RunningStats>(repeating: RunningStats())
    @usableFromInline var flags = InlineArray<2, FlagCounts>(repeating: FlagCounts())
    @usableFromInline var combos = FlagComboCounts()
    @usableFromInline var tcpPackets: UInt32 = 0
    @usableFromInline var initWindow = InlineArray<2, Int32>(repeating: -1)
    public var sequence = PacketSequence()
    /// Handle into a `ByteHistogramPool`, or −1 when the flow has none (yet).
    public var histogram: Int32 = -1
    /// Inter-arrival times that would have been negative (timestamps going
    /// backwards) and were clamped to zero.
    public var negativeIATs: UInt32 = 0
    /// Host context captured at the flow's start.
    public var context = HostContextSnapshot()

    public init() {}

    /// Back to the state of `init()`, in place.
    @inlinable
    public mutating func reset() {
        firstNs = 0; lastNs = 0
        lastDirNs = InlineArray(repeating: -1)
        pkts = InlineArray(repeating: 0)
        ipBytes = InlineArray(repeating: 0)
        payloadBytes = InlineArray(repeating: 0)
        len = LengthStats()
        lenDir = InlineArray(repeating: LengthStats())
        iat = RunningStats()
        iatDir = InlineArray(repeating: RunningStats())
        flags = InlineArray(repeating: FlagCounts())
        combos = FlagComboCounts()
        tcpPackets = 0
        initWindow = InlineArray(repeating: -1)
        sequence.count = 0  // entries past `count` are never read
        histogram = -1
        negativeIATs = 0
        context = HostContextSnapshot()
    }

    public var totalPackets: UInt64 { UInt64(pkts[0]) + UInt64(pkts[1]) }

    /// Adds one packet. `bytes` is the packet's captured bytes (for payload
    /// entropy); `pool` provides the histogram when the flow first carries payload.
    @inlinable
    public mutating func add(_ p: DecodedPacket, direction: Direction, bytes: ByteView,
                             pool: inout ByteHistogramPool, config: FeatureConfig) {
        let d = direction.rawValue
        let ts = p.timestampNs
        let first = totalPackets == 0
        var gap: Double = 0
        if first {
            firstNs = ts
            lastNs = ts
        } else {
            var delta = ts - lastNs
            if delta < 0 { delta = 0; negativeIATs &+= 1 }
            gap = Double(delta) * 1e-9
            iat.add(gap)
            if ts > lastNs { lastNs = ts }
        }
        let prevDir = lastDirNs[d]
        if prevDir >= 0 {
            let delta = Swift.max(0, ts - prevDir)
            iatDir[d].add(Double(delta) * 1e-9)
        }
        if ts > prevDir { lastDirNs[d] = ts }

        pkts[d] &+= 1
        ipBytes[d] &+= UInt64(p.ipLength)
        let payload = p.payloadLength
        // Payload already fed to the histogram: the prefix of this direction.
        let fed = Int(Swift.min(payloadBytes[d], UInt64(config.entropyPrefixBytes)))
        payloadBytes[d] &+= UInt64(payload)
        len.add(p.ipLength)
        lenDir[d].add(p.ipLength)

        if p.proto == IPProto.tcp && !p.isNonFirstFragment {
            tcpPackets &+= 1
            flags[d].add(p.tcpFlags)
            combos.add(p.tcpFlags)
            if initWindow[d] < 0 { initWindow[d] = Int32(p.tcpWindow) }
        }

        sequence.append(SequenceEntry(
            direction: d == 0 ? 1 : -1,
            tcpFlags: p.proto == IPProto.tcp ? p.tcpFlags : 0,
            ipLength: UInt16(clamping: p.ipLength),
            payloadLength: UInt16(clamping: payload),
            iat: Float(gap)))

        // Payload byte histogram over a bounded prefix of each direction.
        let room = config.entropyPrefixBytes - fed
        if payload > 0 && room > 0 && p.payloadOffset < bytes.count {
            if histogram < 0 { histogram = pool.acquire() }
            if histogram >= 0 {
                let take = Swift.min(room, payload)
                let h = histogram
                bytes.withBytes(from: p.payloadOffset, length: take) { buf in
                    pool.add(h, dir: d, bytes: buf)
                }
            }
        }
    }

    /// Computes the finished feature values. Releases nothing: the caller
    /// returns the histogram to its pool after this.
    public func finish(pool: borrowing ByteHistogramPool) -> FeatureVector {
        var v = FeatureVector()
        finish(pool: pool, into: &v)
        return v
    }

    /// `finish(pool:)` written into `v` (every value is set).
    public func finish(pool: borrowing ByteHistogramPool, into v: inout FeatureVector) {
        withUnsafePointer(to: self) { a in
            withUnsafeMutablePointer(to: &v) { Self.finish(a, pool: pool, into: $0) }
        }
    }

    /// `finish(pool:)` of the accumulator at `a`, written into `out` (every
    /// value is set): straight from a flow slot into a record in a sink's
    /// storage. Through pointers because a method called on a slot in place
    /// copied the whole accumulator first (the record being written might,
    /// for all the compiler knew, overlap it).
    public static func finish(_ a: UnsafePointer<FlowAccumulator>, pool: borrowing ByteHistogramPool,
                              into out: UnsafeMutablePointer<FeatureVector>) {
        func set(_ f: Feature, _ x: Double) { out.pointee.storage[f.rawValue] = x }
        let duration = Double(a.pointee.lastNs - a.pointee.firstNs) * 1e-9
        set(.duration_s, duration)
        let pkts = a.pointee.pkts, ipBytes = a.pointee.ipBytes, payloadBytes = a.pointee.payloadBytes
        set(.fwd_pkts, Double(pkts[0])); set(.bwd_pkts, Double(pkts[1]))
        set(.fwd_bytes, Double(ipBytes[0])); set(.bwd_bytes, Double(ipBytes[1]))
        set(.fwd_payload_bytes, Double(payloadBytes[0])); set(.bwd_payload_bytes, Double(payloadBytes[1]))
        func put(_ s: RunningStats, _ fmin: Feature, _ fmax: Feature, _ fmean: Feature, _ fstd: Feature) {
            set(fmin, s.min); set(fmax, s.max); set(fmean, s.mean); set(fstd, s.std)
        }
        func put(_ s: LengthStats, _ fmin: Feature, _ fmax: Feature, _ fmean: Feature, _ fstd: Feature) {
            set(fmin, s.min); set(fmax, s.max); set(fmean, s.mean); set(fstd, s.std)
        }
        put(a.pointee.len, .pkt_len_min, .pkt_len_max, .pkt_len_mean, .pkt_len_std)
        put(a.pointee.lenDir[0], .fwd_pkt_len_min, .fwd_pkt_len_max, .fwd_pkt_len_mean, .fwd_pkt_len_std)
        put(a.pointee.lenDir[1], .bwd_pkt_len_min, .bwd_pkt_len_max, .bwd_pkt_len_mean, .bwd_pkt_len_std)
        put(a.pointee.iat, .iat_min_s, .iat_max_s, .iat_mean_s, .iat_std_s)
        put(a.pointee.iatDir[0], .fwd_iat_min_s, .fwd_iat_max_s, .fwd_iat_mean_s, .fwd_iat_std_s)
        put(a.pointee.iatDir[1], .bwd_iat_min_s, .bwd_iat_max_s, .bwd_iat_mean_s, .bwd_iat_std_s)
        // The flag features sit in schema order FIN SYN RST PSH ACK URG ECE CWR,
        // total then forward then backward (checked by a test).
        let total = Feature.fin_count.rawValue, fwd = Feature.fwd_fin_count.rawValue
        let bwd = Feature.bwd_fin_count.rawValue
        let f0 = a.pointee.flags[0].counts, f1 = a.pointee.flags[1].counts
        for bit in 0..<8 {
            out.pointee.storage[fwd + bit] = Double(f0[bit])
            out.pointee.storage[bwd + bit] = Double(f1[bit])
            out.pointee.storage[total + bit] = Double(f0[bit] + f1[bit])
        }
        set(.tcp_flag_entropy, a.pointee.tcpPackets > 0 ? a.pointee.combos.entropyBits : 0)
        let h = a.pointee.histogram
        if h >= 0 {
            set(.payload_entropy, pool.entropy(h, dir: nil))
            set(.fwd_payload_entropy, pool.entropy(h, dir: 0))
            set(.bwd_payload_entropy, pool.entropy(h, dir: 1))
        } else {
            set(.payload_entropy, 0); set(.fwd_payload_entropy, 0); set(.bwd_payload_entropy, 0)
        }
        let packets = Double(UInt64(pkts[0]) + UInt64(pkts[1]))
        let bytes = Double(ipBytes[0] + ipBytes[1])
        set(.pkts_per_s, duration > 0 ? packets / duration : 0)
        set(.bytes_per_s, duration > 0 ? bytes / duration : 0)
        let win = a.pointee.initWindow
        set(.fwd_init_win_bytes, Double(Swift.max(0, win[0])))
        set(.bwd_init_win_bytes, Double(Swift.max(0, win[1])))
        let c = a.pointee.context
        set(.src_flows, Double(c.srcFlows))
        set(.src_distinct_dsts, Double(c.srcDistinctDsts))
        set(.src_distinct_dports, Double(c.srcDistinctDports))
        set(.src_failed_handshakes, Double(c.srcFailedHandshakes))
        set(.dst_flows, Double(c.dstFlows))
        set(.dst_distinct_srcs, Double(c.dstDistinctSrcs))
        set(.dst_half_open, Double(c.dstHalfOpen))
    }

    /// TCP flags seen in each direction, OR-ed (for the record's tcp object).
    public func flagUnion(_ d: Direction) -> UInt8 {
        withUnsafePointer(to: self) { Self.flagUnion($0, d) }
    }

    /// `flagUnion` of the accumulator at `a`.
    @inlinable
    public static func flagUnion(_ a: UnsafePointer<FlowAccumulator>, _ d: Direction) -> UInt8 {
        let c = a.pointee.flags[d.rawValue].counts
        var u: UInt8 = 0
        for bit in 0..<8 { u |= (c[bit] != 0 ? 1 : 0) << UInt8(bit) }
        return u
    }
}
