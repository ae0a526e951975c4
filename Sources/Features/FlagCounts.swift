import Decoding
#if canImport(Glibc)
import Glibc
#endif

/// Per-flag counts for the eight TCP flags of one direction.
public struct FlagCounts: Sendable {
    var counts = InlineArray<8, UInt32>(repeating: 0)
    public init() {}

    @inline(__always)
    public mutating func add(_ flags: UInt8) {
        for i in 0..<8 { counts[i] &+= UInt32(truncatingIfNeeded: (flags >> UInt8(i)) & 1) }
    }

    /// Count for bit `i` (0 = FIN … 7 = CWR).
    public subscript(_ bit: Int) -> UInt32 { counts[bit] }
}

/// Counts of distinct TCP flag combinations, for TCP-flag entropy. Keeps
/// up to 8 distinct combinations exactly; rarer ones beyond that share one
/// overflow bin (so entropy is exact for flows with ≤ 8 combinations, a
/// slight underestimate otherwise).
public struct FlagComboCounts: Sendable {
    var combos = InlineArray<8, UInt8>(repeating: 0)
    var counts = InlineArray<8, UInt32>(repeating: 0)
    var used: UInt8 = 0
    var overflow: UInt32 = 0
    public init() {}

    @inline(__always)
    public mutating func add(_ flags: UInt8) {
        for i in 0..<Int(used) where combos[i] == flags {
            counts[i] &+= 1
            return
        }
        if used < 8 {
            combos[Int(used)] = flags
            counts[Int(used)] = 1
            used &+= 1
        } else {
            overflow &+= 1
        }
    }

    public var entropyBits: Double {
        var total: Double = overflow > 0 ? Double(overflow) : 0
        var sum: Double = overflow > 0 ? Double(overflow) * log2(Double(overflow)) : 0
        for i in 0..<Int(used) {
            let c = Double(counts[i])
            total += c
            sum += c * log2(c)
        }
        return total > 0 ? Swift.max(0, log2(total) - sum / total) : 0
    }
}
