/// Uniform reservoir sample (Vitter's algorithm R) of fixed-width Float rows, bounded at
/// `capacity` rows: after `seen` rows, each has probability `capacity / seen` of being kept.
package struct ReservoirSampler: Sendable {
    package let capacity: Int
    package let dim: Int
    /// Row-major kept rows (`count × dim`).
    package private(set) var rows: [Float] = []
    package private(set) var seen: Int = 0
    private var rng: NNRandom

    package init(capacity: Int, dim: Int, seed: UInt64 = 0x5EED) {
        precondition(capacity > 0 && dim > 0)
        self.capacity = capacity
        self.dim = dim
        self.rng = NNRandom(seed: seed)
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
