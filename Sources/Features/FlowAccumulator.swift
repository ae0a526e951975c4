import AppLayer
import Context
import Decoding

/// Which side sent a packet: the client (flow initiator) or the server.
public enum Direction: Int, Sendable {
    case forward = 0   // client → server
    case backward = 1  // server → client
}

/// Configuration of the per-flow feature accumulators.
public struct FeatureConfig: Sendable, Equatable {
    /// Payload bytes per direction fed to the byte histogram (bounds the cost
    /// of payload entropy on bulk transfers).
    public var entropyPrefixBytes: Int = 1024
    /// Stream bytes per direction kept for the application-layer parsers
    /// (`StreamPrefixPool`); 0 turns application-layer parsing off.
    public var appPrefixBytes: Int = 4096
    public init() {}
}

/// All features of one flow, accumulated in place as packets arrive: fixed
/// size, no per-packet storage except the first 32 packets' summary.
///
/// Laid out for a table of reused slots under floods of short flows: what
/// `reset` clears and a flow's first packet writes comes first (six cache
/// lines or so with the slot's header); the inter-arrival statistics, used
/// from a flow's second packet on, come last. The length and inter-arrival
/// statistics are not cleared by `reset`: `started` says which hold values,
/// and the first value restarts them.
public struct FlowAccumulator: Sendable {
    public var firstNs: Int64 = 0
    public var lastNs: Int64 = 0
    var lastDirNs = InlineArray<2, Int64>(repeating: -1)
    public var pkts = InlineArray<2, UInt32>(repeating: 0)
    public var ipBytes = InlineArray<2, UInt64>(repeating: 0)
    public var payloadBytes = InlineArray<2, UInt64>(repeating: 0)
    var tcpPackets: UInt32 = 0
    /// Handle into a `ByteHistogramPool`, or −1 when the flow has none (yet).
    public var histogram: Int32 = -1
    /// Handle into a `StreamPrefixPool`, or −1 when the flow has none (yet).
    public var streams: Int32 = -1
    /// Each direction's SYN sequence number (`synSeen` bit 1 << direction
    /// says which are set): where its stream's byte 0 lies.
    public var synSequence = InlineArray<2, UInt32>(repeating: 0)
    public var synSeen: UInt8 = 0
    /// Inter-arrival times that would have been negative (timestamps going
    /// backwards) and were clamped to zero.
    public var negativeIATs: UInt32 = 0
    var initWindow = InlineArray<2, Int32>(repeating: -1)
    /// Which statistics hold values: `Started` bits.
    var started: UInt8 = 0
    /// Host context captured at the flow's start.
    public var context = HostContextSnapshot()
    var combos = FlagComboCounts()
    var flags = InlineArray<2, FlagCounts>(repeating: FlagCounts())
    var len = LengthStats()
    var lenDir = InlineArray<2, LengthStats>(repeating: LengthStats())
    public var sequence = PacketSequence()
    /// The first question of the client's first datagram, for UDP flows on
    /// port 53 (`DNSQuestionParser`); one attempt per flow.
    public var dns = DNSQuestion()
    var dnsTried = false
    var iat = RunningStats()
    var iatDir = InlineArray<2, RunningStats>(repeating: RunningStats())

    enum Started {
        static var len: UInt8 { 1 }
        static var lenDir: UInt8 { 2 }    // << direction
        static var iat: UInt8 { 8 }
        static var iatDir: UInt8 { 16 }   // << direction
    }

    public init() {}

    /// Back to the state of `init()`, in place (statistics count as empty
    /// until `started` says otherwise; entries past `sequence.count` are never read).
    public mutating func reset() {
        firstNs = 0; lastNs = 0
        lastDirNs = InlineArray(repeating: -1)
        pkts = InlineArray(repeating: 0)
        ipBytes = InlineArray(repeating: 0)
        payloadBytes = InlineArray(repeating: 0)
        tcpPackets = 0
        histogram = -1
        streams = -1
        synSeen = 0
        negativeIATs = 0
        initWindow = InlineArray(repeating: -1)
        started = 0
        context = HostContextSnapshot()
        combos = FlagComboCounts()
        flags = InlineArray(repeating: FlagCounts())
        sequence.count = 0
        if dnsTried { dns = DNSQuestion(); dnsTried = false }  // only DNS flows wrote it
    }

    public var totalPackets: UInt64 { UInt64(pkts[0]) + UInt64(pkts[1]) }

    /// Adds one packet. `bytes` is the packet's captured bytes (for payload
    /// entropy); `pool` provides the histogram when the flow first carries payload.
    public mutating func add(_ p: DecodedPacket, direction: Direction, bytes: ByteView,
                             pool: inout ByteHistogramPool, config: FeatureConfig) {
        withUnsafePointer(to: p) { add($0, direction: direction, bytes: bytes, pool: &pool, config: config) }
    }

    /// `add` reading the packet where it lies: the flow table's call passed
    /// a ~200-byte copy of it otherwise.
    public mutating func add(_ packet: UnsafePointer<DecodedPacket>, direction: Direction, bytes: ByteView,
                             pool: inout ByteHistogramPool, config: FeatureConfig) {
        let p = packet.pointee  // only the fields used are loaded
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
            if started & Started.iat != 0 { iat.add(gap) } else { iat.restart(gap); started |= Started.iat }
            if ts > lastNs { lastNs = ts }
        }
        let prevDir = lastDirNs[d]
        if prevDir >= 0 {
            let x = Double(Swift.max(0, ts - prevDir)) * 1e-9
            let bit = Started.iatDir << UInt8(d)
            if started & bit != 0 { iatDir[d].add(x) } else { iatDir[d].restart(x); started |= bit }
        }
        if ts > prevDir { lastDirNs[d] = ts }

        pkts[d] &+= 1
        ipBytes[d] &+= UInt64(p.ipLength)
        let payload = p.payloadLength
        // Payload already fed to the histogram: the prefix of this direction.
        let fed = Int(Swift.min(payloadBytes[d], UInt64(config.entropyPrefixBytes)))
        payloadBytes[d] &+= UInt64(payload)
        if started & Started.len != 0 { len.add(p.ipLength) } else { len.restart(p.ipLength); started |= Started.len }
        let lenBit = Started.lenDir << UInt8(d)
        if started & lenBit != 0 { lenDir[d].add(p.ipLength) } else { lenDir[d].restart(p.ipLength); started |= lenBit }

        if p.proto == IPProto.tcp && !p.isNonFirstFragment {
            tcpPackets &+= 1
            flags[d].add(p.tcpFlags)
            combos.add(p.tcpFlags)
            if initWindow[d] < 0 { initWindow[d] = Int32(p.tcpWindow) }
            if p.tcpFlags & TCPFlag.syn != 0 && synSeen & (1 << UInt8(d)) == 0 {
                synSequence[d] = p.tcpSeq
                synSeen |= 1 << UInt8(d)
            }
        }

        sequence.append(SequenceEntry(
            direction: d == 0 ? 1 : -1,
            tcpFlags: p.proto == IPProto.tcp ? p.tcpFlags : 0,
            ipLength: UInt16(clamping: p.ipLength),
            payloadLength: UInt16(clamping: payload),
            iat: Float(gap)))

        if d == 0 && !dnsTried && payload > 0 && p.proto == IPProto.udp && (p.dstPort == 53 || p.srcPort == 53) {
            dnsTried = true
            let available = Swift.min(payload, bytes.count - p.payloadOffset)
            if available > 0, let q = DNSQuestionParser.parse(bytes, at: p.payloadOffset, length: available) { dns = q }
        }

        // Payload byte histogram over a bounded prefix of each direction.
        let room = config.entropyPrefixBytes - fed
        let payloadOffset = p.payloadOffset
        if payload > 0 && room > 0 && payloadOffset < bytes.count {
            if histogram < 0 { histogram = pool.acquire() }
            if histogram >= 0 {
                let take = Swift.min(room, payload)
                let h = histogram
                bytes.withBytes(from: payloadOffset, length: take) { buf in
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
    /// storage. Through pointers, so the accumulator is read where it lies and
    /// never copied (to the compiler, the record being written might overlap it).
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
        // Statistics not started are empty (all zero), whatever the slot held.
        let started = a.pointee.started
        func len(_ bit: UInt8, _ s: @autoclosure () -> LengthStats) -> LengthStats { started & bit != 0 ? s() : LengthStats() }
        func iat(_ bit: UInt8, _ s: @autoclosure () -> RunningStats) -> RunningStats { started & bit != 0 ? s() : RunningStats() }
        put(len(Started.len, a.pointee.len), .pkt_len_min, .pkt_len_max, .pkt_len_mean, .pkt_len_std)
        put(len(Started.lenDir, a.pointee.lenDir[0]), .fwd_pkt_len_min, .fwd_pkt_len_max, .fwd_pkt_len_mean, .fwd_pkt_len_std)
        put(len(Started.lenDir << 1, a.pointee.lenDir[1]), .bwd_pkt_len_min, .bwd_pkt_len_max, .bwd_pkt_len_mean, .bwd_pkt_len_std)
        put(iat(Started.iat, a.pointee.iat), .iat_min_s, .iat_max_s, .iat_mean_s, .iat_std_s)
        put(iat(Started.iatDir, a.pointee.iatDir[0]), .fwd_iat_min_s, .fwd_iat_max_s, .fwd_iat_mean_s, .fwd_iat_std_s)
        put(iat(Started.iatDir << 1, a.pointee.iatDir[1]), .bwd_iat_min_s, .bwd_iat_max_s, .bwd_iat_mean_s, .bwd_iat_std_s)
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
        // One TCP packet: one combination, entropy exactly 0 (no logarithms).
        set(.tcp_flag_entropy, a.pointee.tcpPackets > 1 ? a.pointee.combos.entropyBits : 0)
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
        // The behaviour and application-layer features: zero here, set on the
        // record path (the behaviour stage; `AppLayerFeatures.fill`).
        for i in Feature.firstBehaviour.rawValue..<Feature.count { out.pointee.storage[i] = 0 }
    }

    /// TCP flags seen in each direction, OR-ed (for the record's tcp object).
    public func flagUnion(_ d: Direction) -> UInt8 {
        withUnsafePointer(to: self) { Self.flagUnion($0, d) }
    }

    /// `flagUnion` of the accumulator at `a`.
    public static func flagUnion(_ a: UnsafePointer<FlowAccumulator>, _ d: Direction) -> UInt8 {
        let c = a.pointee.flags[d.rawValue].counts
        var u: UInt8 = 0
        for bit in 0..<8 { u |= (c[bit] != 0 ? 1 : 0) << UInt8(bit) }
        return u
    }
}
