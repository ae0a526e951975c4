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
        let duration = Double(lastNs - firstNs) * 1e-9
        v[.duration_s] = duration
        v[.fwd_pkts] = Double(pkts[0]); v[.bwd_pkts] = Double(pkts[1])
        v[.fwd_bytes] = Double(ipBytes[0]); v[.bwd_bytes] = Double(ipBytes[1])
        v[.fwd_payload_bytes] = Double(payloadBytes[0]); v[.bwd_payload_bytes] = Double(payloadBytes[1])
        func put(_ s: RunningStats, _ fmin: Feature, _ fmax: Feature, _ fmean: Feature, _ fstd: Feature) {
            v[fmin] = s.min; v[fmax] = s.max; v[fmean] = s.mean; v[fstd] = s.std
        }
        func put(_ s: LengthStats, _ fmin: Feature, _ fmax: Feature, _ fmean: Feature, _ fstd: Feature) {
            v[fmin] = s.min; v[fmax] = s.max; v[fmean] = s.mean; v[fstd] = s.std
        }
        put(len, .pkt_len_min, .pkt_len_max, .pkt_len_mean, .pkt_len_std)
        put(lenDir[0], .fwd_pkt_len_min, .fwd_pkt_len_max, .fwd_pkt_len_mean, .fwd_pkt_len_std)
        put(lenDir[1], .bwd_pkt_len_min, .bwd_pkt_len_max, .bwd_pkt_len_mean, .bwd_pkt_len_std)
        put(iat, .iat_min_s, .iat_max_s, .iat_mean_s, .iat_std_s)
        put(iatDir[0], .fwd_iat_min_s, .fwd_iat_max_s, .fwd_iat_mean_s, .fwd_iat_std_s)
        put(iatDir[1], .bwd_iat_min_s, .bwd_iat_max_s, .bwd_iat_mean_s, .bwd_iat_std_s)
        // The flag features sit in schema order FIN SYN RST PSH ACK URG ECE CWR,
        // total then forward then backward (checked by a test).
        let total = Feature.fin_count.rawValue, fwd = Feature.fwd_fin_count.rawValue
        let bwd = Feature.bwd_fin_count.rawValue
        for bit in 0..<8 {
            v.storage[fwd + bit] = Double(flags[0][bit])
            v.storage[bwd + bit] = Double(flags[1][bit])
            v.storage[total + bit] = Double(flags[0][bit] + flags[1][bit])
        }
        v[.tcp_flag_entropy] = tcpPackets > 0 ? combos.entropyBits : 0
        v[.payload_entropy] = pool.entropy(histogram, dir: nil)
        v[.fwd_payload_entropy] = pool.entropy(histogram, dir: 0)
        v[.bwd_payload_entropy] = pool.entropy(histogram, dir: 1)
        let packets = Double(totalPackets)
        let bytes = Double(ipBytes[0] + ipBytes[1])
        v[.pkts_per_s] = duration > 0 ? packets / duration : 0
        v[.bytes_per_s] = duration > 0 ? bytes / duration : 0
        v[.fwd_init_win_bytes] = Double(Swift.max(0, initWindow[0]))
        v[.bwd_init_win_bytes] = Double(Swift.max(0, initWindow[1]))
        v[.src_flows] = Double(context.srcFlows)
        v[.src_distinct_dsts] = Double(context.srcDistinctDsts)
        v[.src_distinct_dports] = Double(context.srcDistinctDports)
        v[.src_failed_handshakes] = Double(context.srcFailedHandshakes)
        v[.dst_flows] = Double(context.dstFlows)
        v[.dst_distinct_srcs] = Double(context.dstDistinctSrcs)
        v[.dst_half_open] = Double(context.dstHalfOpen)
        return v
    }

    /// TCP flags seen in each direction, OR-ed (for the record's tcp object).
    public func flagUnion(_ d: Direction) -> UInt8 {
        var u: UInt8 = 0
        for bit in 0..<8 where flags[d.rawValue][bit] > 0 { u |= 1 << UInt8(bit) }
        return u
    }
}
