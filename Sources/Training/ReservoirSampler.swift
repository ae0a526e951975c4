/// Deterministic SplitMix64 generator (seeded; no global state).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Uniform reservoir sample (Vitter's algorithm R) of fixed-width Float rows, bounded at
/// `capacity` rows: after `seen` rows, each has probability `capacity / seen` of being kept.
public struct ReservoirSampler: Sendable {
    public let capacity: Int
    public let dim: Int
    /// Row-major kept rows (`count × dim`).
    public private(set) var rows: [Float] = []
    public private(set) var seen: Int = 0
    private var rng: SplitMix64

    public init(capacity: Int, dim: Int, seed: UInt64 = 0x5EED) {
        precondition(capacity > 0 && dim > 0)
        self.capacity = capacity
        self.dim = dim
        self.rng = SplitMix64(seed: seed)
        rows.reserveCapacity(capacity * dim)
    }

    public var count: Int { rows.count / dim }

    public mutating func add<C: Collection>(row: C) where C.Element == Float {
        precondition(row.count == dim)
        seen += 1
        if count < capacity {
            rows.append(contentsOf: row)
            return
        }
        let j = Int.random(in: 0..<seen, using: &rng)
        if j < capacity {
            var c = j * dim
            for v in row { rows[c] = v; c += 1 }
        }
    }

    public mutating func add(rows batch: [Float], count n: Int) {
        precondition(batch.count >= n * dim)
        for i in 0..<n { add(row: batch[(i * dim)..<((i + 1) * dim)]) }
    }
}
