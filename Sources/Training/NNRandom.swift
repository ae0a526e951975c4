import Detection

/// Deterministic SplitMix64 generator (seeded training runs are reproducible).
package struct NNRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    package init(seed: UInt64) { state = seed }

    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [-bound, bound].
    package mutating func uniform(_ bound: Float) -> Float { Float.random(in: -bound ... bound, using: &self) }

    package mutating func uniformArray(_ count: Int, bound: Float) -> [Float] {
        (0 ..< count).map { _ in uniform(bound) }
    }
}

extension CNNModel {
    /// He-uniform conv weights, Glorot-uniform head, zero biases.
    package static func initialized(shape: NNShape, filters1: Int = 32, filters2: Int = 32, kernel: Int = 3,
                                   seed: UInt64) -> CNNModel {
        var rng = NNRandom(seed: seed)
        let c1 = Conv1DLayer(inChannels: shape.channels, outChannels: filters1, kernel: kernel,
                             weight: rng.uniformArray(filters1 * kernel * shape.channels,
                                                      bound: (6 / Float(kernel * shape.channels)).squareRoot()),
                             bias: [Float](repeating: 0.01, count: filters1))
        let c2 = Conv1DLayer(inChannels: filters1, outChannels: filters2, kernel: kernel,
                             weight: rng.uniformArray(filters2 * kernel * filters1,
                                                      bound: (6 / Float(kernel * filters1)).squareRoot()),
                             bias: [Float](repeating: 0.01, count: filters2))
        let fin = 2 * filters2 + shape.statsDim
        let head = DenseLayer(inputs: fin, outputs: shape.classes,
                              weight: rng.uniformArray(fin * shape.classes,
                                                       bound: (6 / Float(fin + shape.classes)).squareRoot()),
                              bias: [Float](repeating: 0, count: shape.classes))
        return CNNModel(shape: shape, conv1: c1, conv2: c2, head: head)
    }
}

extension LSTMModel {
    /// Uniform(±1/√hidden) LSTM weights with forget-gate bias 1, Glorot-uniform head.
    package static func initialized(shape: NNShape, hidden: Int = 32, seed: UInt64) -> LSTMModel {
        var rng = NNRandom(seed: seed)
        let bound = 1 / Float(hidden).squareRoot()
        var bias = [Float](repeating: 0, count: 4 * hidden)
        for j in hidden ..< 2 * hidden { bias[j] = 1 }
        let l = LSTMLayer(inputs: shape.channels, hidden: hidden,
                          wx: rng.uniformArray(4 * hidden * shape.channels, bound: bound),
                          wh: rng.uniformArray(4 * hidden * hidden, bound: bound), bias: bias)
        let fin = hidden + shape.statsDim
        let head = DenseLayer(inputs: fin, outputs: shape.classes,
                              weight: rng.uniformArray(fin * shape.classes,
                                                       bound: (6 / Float(fin + shape.classes)).squareRoot()),
                              bias: [Float](repeating: 0, count: shape.classes))
        return LSTMModel(shape: shape, lstm: l, head: head)
    }
}
