import Decoding
import Locking
import Synchronization  // FSMutex is Mutex outside sanitizer builds (and @inlinable code calls it)
#if canImport(Glibc)
import Glibc
#endif

/// What the sensor knew about a flow's endpoints when the flow started,
/// over the sliding window (see `HostContextTable`).
public struct HostContextSnapshot: Sendable, Equatable {
    public var srcFlows: UInt32 = 0
    public var srcDistinctDsts: UInt32 = 0
    public var srcDistinctDports: UInt32 = 0
    public var srcFailedHandshakes: UInt32 = 0
    public var dstFlows: UInt32 = 0
    public var dstDistinctSrcs: UInt32 = 0
    public var dstHalfOpen: UInt32 = 0
    public init() {}
}

public struct HostContextConfig: Sendable {
    /// Sliding window length, split into `buckets` equal buckets.
    public var windowSeconds: Int = 60
    public var buckets: Int = 6
    /// Hosts tracked at once (memory is fixed: about 700 bytes a host).
    public var capacity: Int = 32768
    public init() {}
}

/// A 256-bit linear-counting sketch: distinct-count estimates with bounded
/// memory (exact-ish below ~100 items, ±10% to ~1000, saturating above).
public struct DistinctSketch: Sendable {
    @usableFromInline var bits = InlineArray<4, UInt64>(repeating: 0)
    public init() {}
    @inlinable public mutating func insert(hash: UInt64) {
        let i = Int(hash >> 56)  // top 8 bits pick one of 256
        bits[i >> 6] |= 1 << UInt64(i & 63)
    }
    @inlinable public mutating func formUnion(_ o: DistinctSketch) {
        for i in 0..<4 { bits[i] |= o.bits[i] }
    }
    public var estimate: UInt32 {
        var set = 0
        for i in 0..<4 { set += bits[i].nonzeroBitCount }
        if set == 0 { return 0 }
        if set >= 256 { return 1420 }  // saturated: 256·ln(256) ≈ 1420
        let m = 256.0
        return UInt32((-m * log(Double(256 - set) / m)).rounded())
    }
}

/// Per-host context over a sliding window with bounded memory, shared by all
/// flow-table stripes. Striped by address hash, each stripe a `Mutex` over
/// fixed arrays: a compact probe index (a 32-bit tag, the address and the
/// last active bucket per host, so a lookup touches a cache line or two
/// however many hosts a flood brings) and flat per-bucket state (epochs,
/// counters, sketches), touched only for the bucket in use. When a probe
/// window of 8 is full, the least recently active host in it is replaced
/// (approximate LRU). Distinct counts are linear-counting sketches
/// (approximate); flow and failure counts are exact within the window while
/// the host stays in the table.
public final class HostContextTable: Sendable {
    /// Sketches per bucket: destinations, destination ports (as a source),
    /// sources (as a destination).
    @usableFromInline static let sketchWords = 3 * 4
    @usableFromInline static let maxBuckets = 8
    @usableFromInline static let probes = 8

    @usableFromInline struct Stripe: Sendable {
        /// Probe index: 0 = empty, else the address hash's high bits | 1.
        @usableFromInline var tags: [UInt32]
        @usableFromInline var lastEpoch: [Int64]
        @usableFromInline var addresses: [IPAddress]
        @usableFromInline var halfOpen: [UInt32]
        /// Per host × bucket: the bucket's epoch (-1: unused).
        @usableFromInline var epochs: [Int64]
        /// Per host × bucket: source flows, failed handshakes, destination flows.
        @usableFromInline var counts: [UInt32]
        /// Per host × bucket: `sketchWords` words of sketches.
        @usableFromInline var sketches: [UInt64]

        @usableFromInline init(capacity n: Int) {
            tags = Array(repeating: 0, count: n)
            lastEpoch = Array(repeating: 0, count: n)
            addresses = Array(repeating: .zero, count: n)
            halfOpen = Array(repeating: 0, count: n)
            epochs = Array(repeating: -1, count: n * HostContextTable.maxBuckets)
            counts = Array(repeating: 0, count: n * HostContextTable.maxBuckets * 3)
            sketches = Array(repeating: 0, count: n * HostContextTable.maxBuckets * HostContextTable.sketchWords)
        }

        /// Hosts held now.
        var used: Int { tags.reduce(0) { $0 + ($1 != 0 ? 1 : 0) } }
    }
    @usableFromInline final class Box: Sendable {
        @usableFromInline let lock: FSMutex<Stripe>
        init(_ s: Stripe) { lock = FSMutex(s) }
    }
    @usableFromInline let stripes: [Box]
    @usableFromInline let stripeMask: Int
    @usableFromInline let perStripe: Int
    @usableFromInline let bucketNs: Int64
    @usableFromInline let bucketCount: Int
    public let config: HostContextConfig

    public init(config: HostContextConfig = HostContextConfig(), stripeCount: Int = 16) {
        self.config = config
        var n = 1
        while n < stripeCount { n <<= 1 }
        stripeMask = n - 1
        perStripe = max(8, config.capacity / n)
        bucketCount = min(Self.maxBuckets, max(1, config.buckets))
        bucketNs = Int64(max(1, config.windowSeconds)) * 1_000_000_000 / Int64(bucketCount)
        var s: [Box] = []
        for _ in 0..<n { s.append(Box(Stripe(capacity: max(8, config.capacity / n)))) }
        stripes = s
    }

    /// Bytes of state per host.
    public static var bytesPerHost: Int {
        4 + 8 + MemoryLayout<IPAddress>.stride + 4 + maxBuckets * (8 + 3 * 4 + sketchWords * 8)
    }

    public var memoryBytes: Int { stripes.count * perStripe * Self.bytesPerHost }

    @inlinable
    static func hash(_ a: IPAddress) -> UInt64 {
        var h = a.hi &* 0x9E37_79B9_7F4A_7C15
        h ^= (a.lo &+ UInt64(a.version)) &* 0xC2B2_AE3D_27D4_EB4F
        h ^= h >> 29
        h = h &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 32
        return h
    }

    @inlinable
    static func portHash(_ p: UInt16) -> UInt64 {
        var h = UInt64(p) &* 0x9E37_79B9_7F4A_7C15
        h ^= h >> 31
        return h &* 0xBF58_476D_1CE4_E5B9
    }

    @inlinable static func tag(_ hash: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: hash >> 32) | 1 }

    @inlinable static func start(_ hash: UInt64, _ n: Int) -> Int {
        Int(truncatingIfNeeded: (hash >> 8) & 0xFFFF_FFFF) % n
    }

    /// The entry of `a` in a stripe, or nil.
    @inlinable
    static func find(_ s: borrowing Stripe, _ a: IPAddress, hash: UInt64) -> Int? {
        let n = s.tags.count, t = tag(hash)
        var i = start(hash, n)
        for _ in 0..<probes {
            if s.tags[i] == t && s.addresses[i] == a { return i }
            i += 1
            if i == n { i = 0 }
        }
        return nil
    }

    /// Finds or makes the entry for `a` in a stripe; returns its index.
    @inlinable
    static func slot(_ s: inout Stripe, _ a: IPAddress, hash: UInt64, epoch: Int64) -> Int {
        let n = s.tags.count, t = tag(hash)
        var i = start(hash, n)
        var victim = i
        var oldest = Int64.max
        for _ in 0..<probes {
            let ti = s.tags[i]
            if ti == 0 { victim = i; break }
            if ti == t && s.addresses[i] == a { return i }
            if s.lastEpoch[i] < oldest { oldest = s.lastEpoch[i]; victim = i }
            i += 1
            if i == n { i = 0 }
        }
        // Reset in place: stale buckets are recognised by their epoch, so
        // only the epochs need clearing, not the counters and sketches.
        s.tags[victim] = t
        s.addresses[victim] = a
        s.lastEpoch[victim] = epoch
        s.halfOpen[victim] = 0
        let e = victim * maxBuckets
        for k in 0..<maxBuckets { s.epochs[e + k] = -1 }
        return victim
    }

    /// The current bucket of host `h` (cleared when it starts a new epoch);
    /// returns the host × bucket index.
    @inlinable
    func bucket(_ s: inout Stripe, _ h: Int, epoch: Int64) -> Int {
        let hb = h * Self.maxBuckets + Int(epoch % Int64(bucketCount))
        if s.epochs[hb] != epoch {
            s.epochs[hb] = epoch
            for c in 0..<3 { s.counts[hb * 3 + c] = 0 }
            for w in 0..<Self.sketchWords { s.sketches[hb * Self.sketchWords + w] = 0 }
        }
        if epoch > s.lastEpoch[h] { s.lastEpoch[h] = epoch }
        return hb
    }

    @inlinable
    static func insert(_ s: inout Stripe, _ hb: Int, sketch: Int, hash: UInt64) {
        let bit = Int(hash >> 56)
        s.sketches[hb * sketchWords + sketch * 4 + (bit >> 6)] |= 1 << UInt64(bit & 63)
    }

    @inlinable
    static func union(_ s: borrowing Stripe, _ hb: Int, sketch: Int, into d: inout DistinctSketch) {
        let o = hb * sketchWords + sketch * 4
        for w in 0..<4 { d.bits[w] |= s.sketches[o + w] }
    }

    /// Records a new flow from `src` to `dst:dport` at `ts` and returns the
    /// context both hosts had, this flow included. `halfOpen` says the flow
    /// opened with a bare SYN (it counts as half-open at `dst` until
    /// `handshakeDone` or `flowEnded` is called).
    @inlinable
    public func flowStarted(src: IPAddress, dst: IPAddress, dport: UInt16, ts: Int64,
                            halfOpen: Bool) -> HostContextSnapshot {
        let epoch = max(0, ts) / bucketNs
        let live = epoch - Int64(bucketCount)
        var snap = HostContextSnapshot()
        let hs = Self.hash(src), hd = Self.hash(dst)
        stripes[Int(hs & UInt64(stripeMask))].lock.withLock { s in
            let h = Self.slot(&s, src, hash: hs, epoch: epoch)
            let hb = bucket(&s, h, epoch: epoch)
            s.counts[hb * 3] &+= 1
            Self.insert(&s, hb, sketch: 0, hash: hd)
            Self.insert(&s, hb, sketch: 1, hash: Self.portHash(dport))
            var dsts = DistinctSketch(), ports = DistinctSketch()
            let base = h * Self.maxBuckets
            for k in 0..<bucketCount where s.epochs[base + k] > live {
                snap.srcFlows &+= s.counts[(base + k) * 3]
                snap.srcFailedHandshakes &+= s.counts[(base + k) * 3 + 1]
                Self.union(s, base + k, sketch: 0, into: &dsts)
                Self.union(s, base + k, sketch: 1, into: &ports)
            }
            snap.srcDistinctDsts = dsts.estimate
            snap.srcDistinctDports = ports.estimate
        }
        stripes[Int(hd & UInt64(stripeMask))].lock.withLock { s in
            let h = Self.slot(&s, dst, hash: hd, epoch: epoch)
            let hb = bucket(&s, h, epoch: epoch)
            s.counts[hb * 3 + 2] &+= 1
            Self.insert(&s, hb, sketch: 2, hash: hs)
            if halfOpen { s.halfOpen[h] &+= 1 }
            var srcs = DistinctSketch()
            let base = h * Self.maxBuckets
            for k in 0..<bucketCount where s.epochs[base + k] > live {
                snap.dstFlows &+= s.counts[(base + k) * 3 + 2]
                Self.union(s, base + k, sketch: 2, into: &srcs)
            }
            snap.dstDistinctSrcs = srcs.estimate
            snap.dstHalfOpen = s.halfOpen[h]
        }
        return snap
    }

    /// A half-open flow to `dst` completed its handshake (or ended).
    @inlinable
    public func halfOpenClosed(dst: IPAddress) {
        let hd = Self.hash(dst)
        stripes[Int(hd & UInt64(stripeMask))].lock.withLock { s in
            if let h = Self.find(s, dst, hash: hd), s.halfOpen[h] > 0 { s.halfOpen[h] -= 1 }
        }
    }

    /// A TCP handshake from `src` failed (no SYN-ACK, or reset before one).
    @inlinable
    public func handshakeFailed(src: IPAddress, ts: Int64) {
        let epoch = max(0, ts) / bucketNs
        let hs = Self.hash(src)
        stripes[Int(hs & UInt64(stripeMask))].lock.withLock { s in
            // Only a host still held: its flows' context is gone with it, and
            // making an entry here would push out a host that is still active
            // (under a random-source flood, one for every ended flow).
            guard let h = Self.find(s, src, hash: hs) else { return }
            let hb = bucket(&s, h, epoch: epoch)
            s.counts[hb * 3 + 1] &+= 1
        }
    }
}
