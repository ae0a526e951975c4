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

/// One sliding-window bucket of a host's activity.
@usableFromInline
struct HostBucket: Sendable {
    @usableFromInline var epoch: Int64 = -1
    @usableFromInline var srcFlows: UInt32 = 0
    @usableFromInline var srcFailed: UInt32 = 0
    @usableFromInline var dstFlows: UInt32 = 0
    @usableFromInline var dsts = DistinctSketch()
    @usableFromInline var dports = DistinctSketch()
    @usableFromInline var srcs = DistinctSketch()
    @usableFromInline init() {}
}

@usableFromInline
struct HostEntry: Sendable {
    @usableFromInline var address = IPAddress.zero
    @usableFromInline var used = false
    @usableFromInline var lastEpoch: Int64 = 0
    @usableFromInline var halfOpen: UInt32 = 0
    @usableFromInline var buckets = InlineArray<8, HostBucket>(repeating: HostBucket())
    @usableFromInline init() {}
}

/// Per-host context over a sliding window with bounded memory, shared by all
/// flow-table stripes. Striped by address hash, each stripe a `Mutex` over a
/// fixed open-addressing array; when a probe window is full the least
/// recently active host in it is replaced (approximate LRU). Distinct counts
/// are linear-counting sketches (approximate); flow and failure counts are exact
/// within the window while the host stays in the table.
public final class HostContextTable: Sendable {
    @usableFromInline struct Stripe: Sendable {
        @usableFromInline var entries: [HostEntry]
        @usableFromInline init(capacity: Int) { entries = Array(repeating: HostEntry(), count: capacity) }
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
        bucketCount = min(8, max(1, config.buckets))
        bucketNs = Int64(max(1, config.windowSeconds)) * 1_000_000_000 / Int64(bucketCount)
        var s: [Box] = []
        for _ in 0..<n { s.append(Box(Stripe(capacity: max(8, config.capacity / n)))) }
        stripes = s
    }

    public var memoryBytes: Int { stripes.count * perStripe * MemoryLayout<HostEntry>.stride }

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

    /// Finds or makes the entry for `a` in a stripe; returns its index.
    @inlinable
    static func slot(_ s: inout Stripe, _ a: IPAddress, hash: UInt64, epoch: Int64) -> Int {
        let n = s.entries.count
        let start = Int(truncatingIfNeeded: hash >> 8) & Int.max % n
        var victim = start
        var oldest = Int64.max
        for probe in 0..<8 {
            let i = (start + probe) % n
            if s.entries[i].used {
                if s.entries[i].address == a { return i }
                if s.entries[i].lastEpoch < oldest { oldest = s.entries[i].lastEpoch; victim = i }
            } else {
                victim = i
                oldest = Int64.min
                break
            }
        }
        // Reset in place: stale buckets are recognised by their epoch, so
        // only the epochs need clearing, not the sketches.
        s.entries[victim].used = true
        s.entries[victim].address = a
        s.entries[victim].lastEpoch = epoch
        s.entries[victim].halfOpen = 0
        for k in 0..<8 { s.entries[victim].buckets[k].epoch = -1 }
        return victim
    }

    @inlinable
    func bucket(_ e: inout HostEntry, epoch: Int64) -> Int {
        let b = Int(epoch % Int64(bucketCount))
        if e.buckets[b].epoch != epoch {
            e.buckets[b] = HostBucket()
            e.buckets[b].epoch = epoch
        }
        e.lastEpoch = max(e.lastEpoch, epoch)
        return b
    }

    /// Records a new flow from `src` to `dst:dport` at `ts` and returns the
    /// context both hosts had, this flow included. `halfOpen` says the flow
    /// opened with a bare SYN (it counts as half-open at `dst` until
    /// `handshakeDone` or `flowEnded` is called).
    @inlinable
    public func flowStarted(src: IPAddress, dst: IPAddress, dport: UInt16, ts: Int64,
                            halfOpen: Bool) -> HostContextSnapshot {
        let epoch = max(0, ts) / bucketNs
        var snap = HostContextSnapshot()
        let hs = Self.hash(src), hd = Self.hash(dst)
        stripes[Int(hs & UInt64(stripeMask))].lock.withLock { s in
            let i = Self.slot(&s, src, hash: hs, epoch: epoch)
            let b = bucket(&s.entries[i], epoch: epoch)
            s.entries[i].buckets[b].srcFlows &+= 1
            s.entries[i].buckets[b].dsts.insert(hash: hd)
            s.entries[i].buckets[b].dports.insert(hash: Self.portHash(dport))
            var dsts = DistinctSketch(), ports = DistinctSketch()
            for k in 0..<bucketCount where s.entries[i].buckets[k].epoch > epoch - Int64(bucketCount) {
                snap.srcFlows &+= s.entries[i].buckets[k].srcFlows
                snap.srcFailedHandshakes &+= s.entries[i].buckets[k].srcFailed
                dsts.formUnion(s.entries[i].buckets[k].dsts)
                ports.formUnion(s.entries[i].buckets[k].dports)
            }
            snap.srcDistinctDsts = dsts.estimate
            snap.srcDistinctDports = ports.estimate
        }
        stripes[Int(hd & UInt64(stripeMask))].lock.withLock { s in
            let i = Self.slot(&s, dst, hash: hd, epoch: epoch)
            let b = bucket(&s.entries[i], epoch: epoch)
            s.entries[i].buckets[b].dstFlows &+= 1
            s.entries[i].buckets[b].srcs.insert(hash: hs)
            if halfOpen { s.entries[i].halfOpen &+= 1 }
            var srcs = DistinctSketch()
            for k in 0..<bucketCount where s.entries[i].buckets[k].epoch > epoch - Int64(bucketCount) {
                snap.dstFlows &+= s.entries[i].buckets[k].dstFlows
                srcs.formUnion(s.entries[i].buckets[k].srcs)
            }
            snap.dstDistinctSrcs = srcs.estimate
            snap.dstHalfOpen = s.entries[i].halfOpen
        }
        return snap
    }

    /// A half-open flow to `dst` completed its handshake (or ended).
    @inlinable
    public func halfOpenClosed(dst: IPAddress) {
        let hd = Self.hash(dst)
        stripes[Int(hd & UInt64(stripeMask))].lock.withLock { s in
            let n = s.entries.count
            let start = Int(truncatingIfNeeded: hd >> 8) & Int.max % n
            for probe in 0..<8 {
                let i = (start + probe) % n
                if s.entries[i].used && s.entries[i].address == dst {
                    if s.entries[i].halfOpen > 0 { s.entries[i].halfOpen -= 1 }
                    return
                }
            }
        }
    }

    /// A TCP handshake from `src` failed (no SYN-ACK, or reset before one).
    @inlinable
    public func handshakeFailed(src: IPAddress, ts: Int64) {
        let epoch = max(0, ts) / bucketNs
        let hs = Self.hash(src)
        stripes[Int(hs & UInt64(stripeMask))].lock.withLock { s in
            let i = Self.slot(&s, src, hash: hs, epoch: epoch)
            let b = bucket(&s.entries[i], epoch: epoch)
            s.entries[i].buckets[b].srcFailed &+= 1
        }
    }
}
