import Foundation
import Training

/// Deterministic pseudo-random rows for tests and timing (on `NNRandom`'s SplitMix64).
package struct TestRNG {
    private var rng: NNRandom
    package init(state: UInt64) { rng = NNRandom(seed: state) }
    package mutating func next() -> UInt64 { rng.next() }
    package mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
    package mutating func normal() -> Double {
        let u1 = max(uniform(), 1e-300), u2 = uniform()
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }
    package mutating func rows(_ n: Int, _ dim: Int) -> [Float] {
        var out = [Float](repeating: 0, count: n * dim)
        for i in 0..<(n * dim) {
            let spread: Double = 1.0 + Double(i % dim) * 0.1
            let shift = Double(i % 3)
            out[i] = Float(normal() * spread + shift)
        }
        return out
    }
}
