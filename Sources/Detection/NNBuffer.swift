/// A growable, uninitialised-on-growth scratch buffer owned by a single thread.
/// Used by the models' `Scratch` classes so per-batch scoring does not allocate.
public final class NNBuffer<Element> {
    public private(set) var pointer: UnsafeMutablePointer<Element>
    public private(set) var capacity: Int
    private let zero: Element

    public init(zero: Element) {
        self.zero = zero
        capacity = 16
        pointer = .allocate(capacity: capacity)
        pointer.initialize(repeating: zero, count: capacity)
    }

    deinit { pointer.deallocate() }

    /// Returns storage for at least `count` elements (contents preserved only if no growth).
    @inline(__always)
    public func ensure(_ count: Int) -> UnsafeMutablePointer<Element> {
        if count > capacity { grow(count) }
        return pointer
    }

    private func grow(_ count: Int) {
        pointer.deallocate()
        capacity = max(count, capacity * 2)
        pointer = .allocate(capacity: capacity)
        pointer.initialize(repeating: zero, count: capacity)
    }
}

/// A batch of flows as seen by the neural models (see `NNShape` for the layout).
/// Holds borrowed pointers: only valid for the duration of the call that created it.
public struct NNBatch {
    public let sequences: UnsafeBufferPointer<Float>
    public let lengths: UnsafeBufferPointer<Int>
    public let stats: UnsafeBufferPointer<Float>
    public let count: Int

    public init(sequences: UnsafeBufferPointer<Float>, lengths: UnsafeBufferPointer<Int>,
                stats: UnsafeBufferPointer<Float>, count: Int) {
        self.sequences = sequences; self.lengths = lengths; self.stats = stats; self.count = count
    }

    func check(_ shape: NNShape) {
        precondition(sequences.count >= count * shape.seqLen * shape.channels, "sequences too short for batch")
        precondition(lengths.count >= count, "lengths too short for batch")
        precondition(shape.statsDim == 0 || stats.count >= count * shape.statsDim, "stats too short for batch")
    }

    /// Calls `body` with a batch view over arrays.
    public static func with<R>(sequences: [Float], lengths: [Int], stats: [Float], count: Int,
                               _ body: (NNBatch) throws -> R) rethrows -> R {
        try sequences.withUnsafeBufferPointer { s in
            try lengths.withUnsafeBufferPointer { l in
                try stats.withUnsafeBufferPointer { st in
                    try body(NNBatch(sequences: s, lengths: l, stats: st, count: count))
                }
            }
        }
    }
}
