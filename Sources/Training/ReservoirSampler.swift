/// Deterministic SplitMix64 generator (seeded; no global state).
package struct SplitMix64: RandomNumberGenerator, Sendable {
    package var state: UInt64
    package init(seed: UInt64) { state = seed }
    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Uniform reservoir sample (Vitter's algorithm R) of fixed-width Float rows, bounded at
/// `capacity` rows: after `seen` rows, each has probability `capacity / seen` of being kept.
package struct ReservoirSampler: Sendable {
    package let capacity: Int
    package let dim: Int
    /// Row-major kept rows (`count × dim`).
    package private(set) var rows: [Float] = []
    package private(set) var seen: Int = 0
    private var rng: SplitMix64

    package init(capacity: Int, dim: Int, seed: UInt64 = 0x5EED) {
        precondition(capacity > 0 && dim > 0)
        self.capacity = capacity
        self.dim = dim
        self.rng = SplitMix64(seed: seed)
        rows.reserveCapacity(capacity * dim)
    }

    package var count: Int { rows.count / dim }

    package mutating func add<C: Collection>(row: C) where C.Element == Float {
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

    package mutating func add(rows batch: [Float], count n: Int) {
        precondition(batch.count >= n * dim)
        for i in 0..<n { add(row: batch[(i * dim)..<((i + 1) * dim)]) }
    }
}
