import Foundation

/// Deterministic pseudo-random rows for tests and timing (SplitMix64).
package struct TestRNG {
    package var state: UInt64
    package init(state: UInt64) { self.state = state }
    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
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
