import CPrefetch
import Decoding
import Locking
import Synchronization  // FSMutex is Mutex outside sanitizer builds (and code calls it)
#if canImport(Glibc)
import Glibc
#endif

/// Per-host context over a sliding window with bounded memory, shared by all
/// flow-table stripes. Striped by address hash, each stripe a `Mutex` over
/// fixed, cache-line-aligned memory laid out so that a new host touches few
/// lines however many hosts a flood brings: a compact probe index (one word
/// per host: a 32-bit tag of the address hash and the host's last active
/// bucket), a 128-byte header per host (the epochs of its buckets, its
/// address, its half-open count) and 128 bytes per host × bucket (counters
/// and sketches), touched only for the buckets in the window. When a probe
/// window of 8 is full, the least recently active host in it is replaced
/// (approximate LRU). Distinct counts are linear-counting sketches
/// (approximate); flow and failure counts are exact within the window while
/// the host stays in the table.
public final class HostContextTable: @unchecked Sendable {
    static let maxBuckets = 8
    static let probes = 8

    struct Stripe: @unchecked Sendable {
        /// Hosts in this stripe.
        let n: Int
        /// `n - 1` when `n` is a power of two (probe starts by mask), else 0 (by modulo).
        let mask: Int
        /// Probe index: 0 = empty, else tag << 32 | last active epoch (low 32 bits).
        let index: UnsafeMutablePointer<UInt64>
        /// Host `h`'s header.
        let headers: UnsafeMutablePointer<HostHeader>
        /// Host `h`'s bucket slots: `maxBuckets` from `h * maxBuckets`.
        let buckets: UnsafeMutablePointer<HostBucket>

        init(capacity n: Int, prefault: Bool = true) {
            precondition(MemoryLayout<HostHeader>.stride == 128 && MemoryLayout<HostBucket>.stride == 128)
            self.n = n
            mask = n & (n - 1) == 0 ? n - 1 : 0
            if prefault {
                index = .allocate(capacity: n)
                index.initialize(repeating: 0, count: n)
            } else {
                index = LargeAllocation.allocateFilled(repeating: 0, count: n)
            }
            headers = LargeAllocation.allocateRaw(byteCount: n * MemoryLayout<HostHeader>.stride, alignment: 128)
                .bindMemory(to: HostHeader.self, capacity: n)
            headers.initialize(repeating: HostHeader(address: .zero), count: n)
            // A bucket is cleared by `bucket` before its first use (its epoch
            // starts unused); with `prefault` all are written once here all
            // the same, so that no page of the table is first touched
            // (faulted in, cleared by the kernel) on the packet path when a
            // flood brings new hosts (live capture; replay leaves them).
            let count = n * HostContextTable.maxBuckets
            buckets = LargeAllocation.allocateRaw(byteCount: count * MemoryLayout<HostBucket>.stride, alignment: 128)
                .bindMemory(to: HostBucket.self, capacity: count)
            if prefault { buckets.initialize(repeating: HostBucket(), count: count) }
        }

        func deallocate() {
            index.deallocate()
            UnsafeMutableRawPointer(headers).deallocate()
            UnsafeMutableRawPointer(buckets).deallocate()
        }

        /// Host `h`'s slot for the bucket of `epoch`'s position `k` in the window.
        func bucket(_ h: Int, _ k: Int) -> UnsafeMutablePointer<HostBucket> {
            buckets + h * HostContextTable.maxBuckets + k
        }

        /// Hosts held now.
        var used: Int { (0..<n).reduce(0) { $0 + (index[$1] != 0 ? 1 : 0) } }
    }
    /// `stripeCount` locks over the stripes, allocated once and addressed by
    /// pointer (no reference counting per call).
    let stripes: UnsafeMutablePointer<FSMutex<Stripe>>
    /// The same stripes' sizes and memory, outside the locks, for `prefetch`
    /// alone (these values never change; what they point to is read and
    /// written only under the stripe's lock).
    let geometry: UnsafeMutablePointer<Stripe>
    let stripeCount: Int
    let stripeMask: Int
    let perStripe: Int
    let bucketNs: Int64
    let bucketCount: Int
    /// 1 / bucketNs and 1 / bucketCount (see `divide`).
    let bucketsPerNs: Double
    let perBucketCount: Double
    public let config: HostContextConfig

    /// `prefault`: see `Stripe.init` (live capture writes every bucket now).
    public init(config: HostContextConfig = HostContextConfig(), stripeCount: Int = 16, prefault: Bool = true) {
        self.config = config
        var n = 1
        while n < stripeCount { n <<= 1 }
        stripeMask = n - 1
        self.stripeCount = n
        perStripe = max(8, config.capacity / n)
        bucketCount = min(Self.maxBuckets, max(1, config.buckets))
        bucketNs = Int64(max(1, config.windowSeconds)) * 1_000_000_000 / Int64(bucketCount)
        bucketsPerNs = 1 / Double(bucketNs)
        perBucketCount = 1 / Double(bucketCount)
        stripes = .allocate(capacity: n)
        geometry = .allocate(capacity: n)
        for i in 0..<n {
            let st = Stripe(capacity: max(8, config.capacity / n), prefault: prefault)
            (geometry + i).initialize(to: st)
            (stripes + i).initialize(to: FSMutex(st))
        }
    }

    deinit {
        for i in 0..<stripeCount { stripes[i].withLock { $0.deallocate() } }
        stripes.deinitialize(count: stripeCount)
        stripes.deallocate()
        geometry.deinitialize(count: stripeCount)
        geometry.deallocate()
    }

    /// `x / d` and `x % d` for `x ≥ 0`, `d > 0`, exact: below 2⁶² the
    /// quotient is estimated in floating point (off by a few at most) and
    /// corrected, instead of a 64-bit integer division per call.
    static func divide(_ x: Int64, _ d: Int64, reciprocal: Double) -> (quotient: Int64, remainder: Int) {
        if x >= 1 << 62 { return (x / d, Int(x % d)) }  // beyond any sane timestamp: the plain way
        var q = Int64(Double(x) * reciprocal)
        var r = x &- q &* d
        while r < 0 { q -= 1; r &+= d }
        while r >= d { q += 1; r &-= d }
        return (q, Int(r))
    }

    /// Asks the CPU to start loading what `flowStarted` for hosts `a` and
    /// `b` at `ts` will touch beyond the probe index: the header and current
    /// bucket of the entry each holds, or of the entry it would take (under a
    /// flood of new sources, rarely the home position), so that a flow table
    /// can overlap those cache misses with other work. Takes no lock and
    /// changes nothing (see `position`).
    public func prefetch(_ a: IPAddress, _ b: IPAddress, ts: Int64) {
        let e = Self.divide(max(0, ts), bucketNs, reciprocal: bucketsPerNs).quotient
        prefetch(a, epoch: e, making: true)
        prefetch(b, epoch: e, making: true)
    }

    /// `prefetch` for what `handshakeFailed` for `a` at `ts` touches: only a
    /// host already held.
    public func prefetchHeld(_ a: IPAddress, ts: Int64) {
        prefetch(a, epoch: Self.divide(max(0, ts), bucketNs, reciprocal: bucketsPerNs).quotient, making: false)
    }

    private func prefetch(_ a: IPAddress, epoch: Int64, making: Bool) {
        let h = Self.hash(a)
        let k = Self.divide(epoch, Int64(bucketCount), reciprocal: perBucketCount).remainder
        let s = geometry[Int(h & UInt64(stripeMask))]
        guard let i = Self.position(s, hash: h, epoch: epoch, making: making) else { return }
        let hp = UnsafeRawPointer(s.headers + i)
        fs_prefetch(hp)
        fs_prefetch(hp + 64)
        let b = UnsafeRawPointer(s.bucket(i, k))
        fs_prefetch(b)
        fs_prefetch(b + 64)
    }

    /// The entry `slot` (with `making`) or `find` would return for a host of
    /// this hash, judged by the probe index alone (a matching tag is taken
    /// for the host: good enough for a prefetch). Reads the index without
    /// the stripe's lock, word by word (relaxed loads; every write to the
    /// index is a relaxed store under the lock), so a concurrent change
    /// only makes the hint miss.
    static func position(_ s: Stripe, hash: UInt64, epoch: Int64, making: Bool) -> Int? {
        let r = probe(s, hash: hash, epoch: epoch, load: { fs_load_relaxed(s.index + $0) }, isHost: { _ in true })
        return r.found || making ? r.index : nil
    }

    /// The probe window of a host of this hash: the entry whose tag matches
    /// and `isHost` confirms (`found`), else the first empty entry, else the
    /// least recently active entry of the window (the largest age, the first
    /// of equals, in wrapping 32-bit epochs). `load` reads an index word.
    @inline(__always)
    static func probe(_ s: Stripe, hash: UInt64, epoch: Int64, load: (Int) -> UInt64,
                      isHost: (Int) -> Bool) -> (index: Int, found: Bool) {
        let n = s.n, t = tag(hash)
        let now = UInt32(truncatingIfNeeded: epoch)
        var i = start(hash, s)
        var victim = i
        var oldest = Int32.min
        for _ in 0..<probes {
            let e = load(i)
            if e == 0 { return (i, false) }
            if e >> 32 == t && isHost(i) { return (i, true) }
            let age = Int32(bitPattern: now &- UInt32(truncatingIfNeeded: e))
            if age > oldest { oldest = age; victim = i }
            i += 1
            if i == n { i = 0 }
        }
        return (victim, false)
    }

    /// Bytes of state per host.
    public static var bytesPerHost: Int {
        MemoryLayout<UInt64>.stride + MemoryLayout<HostHeader>.stride + maxBuckets * MemoryLayout<HostBucket>.stride
    }

    public var memoryBytes: Int { stripeCount * perStripe * Self.bytesPerHost }

    /// Hosts held now, over all stripes.
    public var hostsHeld: Int { (0..<stripeCount).reduce(0) { n, i in n + stripes[i].withLock { $0.used } } }

    static func hash(_ a: IPAddress) -> UInt64 {
        var h = a.hi &* 0x9E37_79B9_7F4A_7C15
        h ^= (a.lo &+ UInt64(a.version)) &* 0xC2B2_AE3D_27D4_EB4F
        h ^= h >> 29
        h = h &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 32
        return h
    }

    static func portHash(_ p: UInt16) -> UInt64 {
        var h = UInt64(p) &* 0x9E37_79B9_7F4A_7C15
        h ^= h >> 31
        return h &* 0xBF58_476D_1CE4_E5B9
    }

    static func tag(_ hash: UInt64) -> UInt64 { (hash >> 32) | 1 }

    /// The distinct-count estimate of a sketch holding one item.
    static let oneDistinct = DistinctSketch.estimate(setBits: 1)

    static func start(_ hash: UInt64, _ s: Stripe) -> Int {
        let x = Int(truncatingIfNeeded: (hash >> 8) & 0xFFFF_FFFF)
        return s.mask != 0 ? x & s.mask : x % s.n
    }

    /// The entry of `a` in a stripe, or nil.
    static func find(_ s: Stripe, _ a: IPAddress, hash: UInt64) -> Int? {
        let n = s.n, t = tag(hash)
        var i = start(hash, s)
        for _ in 0..<probes {
            let e = s.index[i]
            // Entries are never emptied again, and `slot` takes the first
            // empty one of a run: nothing of `a` lies past an empty entry.
            if e == 0 { return nil }
            if e >> 32 == t && s.headers[i].address == a { return i }
            i += 1
            if i == n { i = 0 }
        }
        return nil
    }

    /// Finds or makes the entry for `a` in a stripe; returns its index and
    /// whether it was made now (its buckets all unused).
    static func slot(_ s: Stripe, _ a: IPAddress, hash: UInt64, epoch: Int64) -> (Int, created: Bool) {
        let r = probe(s, hash: hash, epoch: epoch, load: { s.index[$0] }, isHost: { s.headers[$0].address == a })
        if r.found { return (r.index, false) }
        let victim = r.index, t = tag(hash), now = UInt32(truncatingIfNeeded: epoch)
        // Reset in place: stale buckets are recognised by their epoch, so
        // only the epochs need clearing, not the counters and sketches.
        fs_store_relaxed(s.index + victim, t << 32 | UInt64(now))
        s.headers[victim] = HostHeader(address: a)
        return (victim, true)
    }

    /// The current bucket of host `h` (cleared when it starts a new epoch).
    func bucket(_ s: Stripe, _ h: Int, epoch: Int64) -> UnsafeMutablePointer<HostBucket> {
        let k = Self.divide(epoch, Int64(bucketCount), reciprocal: perBucketCount).remainder
        let b = s.bucket(h, k)
        if s.headers[h].epochs[k] != epoch {
            s.headers[h].epochs[k] = epoch
            b.pointee = HostBucket()
        }
        let e = s.index[h]
        let last = UInt32(truncatingIfNeeded: e)
        let now = UInt32(truncatingIfNeeded: epoch)
        if Int32(bitPattern: now &- last) > 0 { fs_store_relaxed(s.index + h, e & 0xFFFF_FFFF_0000_0000 | UInt64(now)) }
        return b
    }

    /// Records a new flow from `src` to `dst:dport` at `ts` and returns the
    /// context both hosts had, this flow included. `halfOpen` says the flow
    /// opened with a bare SYN (it counts as half-open at `dst` until
    /// `handshakeDone` or `flowEnded` is called).
    public func flowStarted(src: IPAddress, dst: IPAddress, dport: UInt16, ts: Int64,
                            halfOpen: Bool) -> HostContextSnapshot {
        let epoch = Self.divide(max(0, ts), bucketNs, reciprocal: bucketsPerNs).quotient
        let live = epoch - Int64(bucketCount)
        var snap = HostContextSnapshot()
        let hs = Self.hash(src), hd = Self.hash(dst)
        stripes[Int(hs & UInt64(stripeMask))].withLock { s in
            let (h, created) = Self.slot(s, src, hash: hs, epoch: epoch)
            let b = bucket(s, h, epoch: epoch)
            b.pointee.flowsAsSource &+= 1
            b.pointee.destinations.insert(hash: hd)
            b.pointee.destinationPorts.insert(hash: Self.portHash(dport))
            if created {
                // A host new to the table has one bucket in use, holding this
                // flow alone (what the loop below would find; a flood of new
                // sources makes this the common case).
                snap.srcFlows = 1
                snap.srcDistinctDsts = Self.oneDistinct
                snap.srcDistinctDports = Self.oneDistinct
                return
            }
            var dsts = DistinctSketch(), ports = DistinctSketch()
            for k in 0..<bucketCount where s.headers[h].epochs[k] > live {
                let bk = s.bucket(h, k)
                snap.srcFlows &+= bk.pointee.flowsAsSource
                snap.srcFailedHandshakes &+= bk.pointee.failedHandshakes
                dsts.formUnion(bk.pointee.destinations)
                ports.formUnion(bk.pointee.destinationPorts)
            }
            snap.srcDistinctDsts = dsts.estimate
            snap.srcDistinctDports = ports.estimate
        }
        stripes[Int(hd & UInt64(stripeMask))].withLock { s in
            let (h, created) = Self.slot(s, dst, hash: hd, epoch: epoch)
            let b = bucket(s, h, epoch: epoch)
            b.pointee.flowsAsDestination &+= 1
            b.pointee.sources.insert(hash: hs)
            if halfOpen { s.headers[h].halfOpen &+= 1 }
            if created {
                snap.dstFlows = 1
                snap.dstDistinctSrcs = Self.oneDistinct
                snap.dstHalfOpen = s.headers[h].halfOpen
                return
            }
            var srcs = DistinctSketch()
            for k in 0..<bucketCount where s.headers[h].epochs[k] > live {
                let bk = s.bucket(h, k)
                snap.dstFlows &+= bk.pointee.flowsAsDestination
                srcs.formUnion(bk.pointee.sources)
            }
            snap.dstDistinctSrcs = srcs.estimate
            snap.dstHalfOpen = s.headers[h].halfOpen
        }
        return snap
    }

    /// A half-open flow to `dst` completed its handshake (or ended).
    public func halfOpenClosed(dst: IPAddress) {
        let hd = Self.hash(dst)
        stripes[Int(hd & UInt64(stripeMask))].withLock { s in
            if let h = Self.find(s, dst, hash: hd), s.headers[h].halfOpen > 0 { s.headers[h].halfOpen -= 1 }
        }
    }

    /// A TCP handshake from `src` failed (no SYN-ACK, or reset before one).
    public func handshakeFailed(src: IPAddress, ts: Int64) {
        let epoch = Self.divide(max(0, ts), bucketNs, reciprocal: bucketsPerNs).quotient
        let hs = Self.hash(src)
        stripes[Int(hs & UInt64(stripeMask))].withLock { s in
            // Only a host still held: its flows' context is gone with it, and
            // making an entry here would push out a host that is still active
            // (under a random-source flood, one for every ended flow).
            guard let h = Self.find(s, src, hash: hs) else { return }
            bucket(s, h, epoch: epoch).pointee.failedHandshakes &+= 1
        }
    }
}
