#if canImport(Glibc)
import Glibc
#endif

/// A 256-bit linear-counting sketch: distinct-count estimates with bounded
/// memory (exact-ish below ~100 items, ±10% to ~1000, saturating above).
public struct DistinctSketch: Sendable {
    var bits = InlineArray<4, UInt64>(repeating: 0)
    public init() {}
    public mutating func insert(hash: UInt64) {
        let i = Int(hash >> 56)  // top 8 bits pick one of 256
        bits[i >> 6] |= 1 << UInt64(i & 63)
    }
    public mutating func formUnion(_ o: DistinctSketch) {
        for i in 0..<4 { bits[i] |= o.bits[i] }
    }
    public var estimate: UInt32 {
        var set = 0
        for i in 0..<4 { set += bits[i].nonzeroBitCount }
        return Self.estimates[set]
    }

    /// The estimate for `set` bits of 256 set: −256·ln((256 − set)/256),
    /// rounded; saturated at 256·ln(256) ≈ 1420 when all are set.
    public static func estimate(setBits set: Int) -> UInt32 {
        if set <= 0 { return 0 }
        if set >= 256 { return 1420 }
        let m = 256.0
        return UInt32((-m * log(Double(256 - set) / m)).rounded())
    }

    /// `estimate(setBits:)` for 0…256, worked out once (three estimates per
    /// new flow: no logarithm on the packet path).
    static let estimates: [UInt32] = (0...256).map { estimate(setBits: $0) }
}
