#if canImport(Glibc)
import Glibc
#endif

/// Payload byte histograms, handed out only to flows that carry payload.
///
/// Each handle is two 256-bin UInt16 histograms (client→server and
/// server→client), 1 KiB. Storage for all `capacity` handles is made at
/// start-up (no allocation or copy on the packet path; no page fault either
/// when it is also written then, `prefault`) and reused through a free list. When every handle is taken, a flow simply gets no histogram
/// (its payload entropy is reported as 0 and `exhausted` is counted).
public struct ByteHistogramPool: Sendable {
    public static let binsPerHandle = 512
    var storage: [UInt16] = []
    var free: [Int32] = []
    var allocated: Int32 = 0
    public let capacity: Int32
    public var exhausted: UInt64 = 0

    /// `prefault`: every handle's bins are written now (live capture: no
    /// page first touched on the packet path); otherwise a handle's bins are
    /// cleared when it is first acquired.
    public init(capacity: Int, prefault: Bool = true) {
        self.capacity = Int32(clamping: capacity)
        let count = Swift.max(0, Int(self.capacity)) * Self.binsPerHandle
        if prefault {
            storage = [UInt16](repeating: 0, count: count)
        } else {
            storage = [UInt16](unsafeUninitializedCapacity: count) { _, n in n = count }
        }
        free.reserveCapacity(Swift.max(0, Int(self.capacity)))
    }

    /// Returns a zeroed handle, or -1 when the pool is exhausted.
    public mutating func acquire() -> Int32 {
        if let h = free.popLast() {
            let base = Int(h) * Self.binsPerHandle
            for i in base..<(base + Self.binsPerHandle) { storage[i] = 0 }
            return h
        }
        guard allocated < capacity else {
            exhausted &+= 1
            return -1
        }
        let h = allocated
        allocated += 1
        let base = Int(h) * Self.binsPerHandle
        storage.withUnsafeMutableBufferPointer { s in
            s.baseAddress.unsafelyUnwrapped.advanced(by: base).update(repeating: 0, count: Self.binsPerHandle)
        }
        return h
    }

    public mutating func release(_ h: Int32) {
        guard h >= 0 else { return }
        free.append(h)
    }

    /// Adds bytes to direction `dir` (0 = forward, 1 = backward) of handle `h`.
    public mutating func add(_ h: Int32, dir: Int, bytes: UnsafeRawBufferPointer) {
        let base = Int(h) * Self.binsPerHandle + dir * 256
        storage.withUnsafeMutableBufferPointer { s in
            for byte in bytes { s[base + Int(byte)] &+= 1 }
        }
    }

    /// Entropy of one direction (0 or 1), or of both together (nil).
    public func entropy(_ h: Int32, dir: Int?) -> Double {
        guard h >= 0 else { return 0 }
        let base = Int(h) * Self.binsPerHandle
        if let dir {
            return Entropy.bits(counts: storage[(base + dir * 256)..<(base + dir * 256 + 256)])
        }
        var total: Double = 0, sum: Double = 0
        for i in 0..<256 {
            let c = Double(storage[base + i]) + Double(storage[base + 256 + i])
            if c > 0 { total += c; sum += c * log2(c) }
        }
        return total > 0 ? Swift.max(0, log2(total) - sum / total) : 0
    }

    /// Bytes currently reserved by the pool.
    public var memoryBytes: Int { storage.capacity * 2 + free.capacity * 4 }
}
