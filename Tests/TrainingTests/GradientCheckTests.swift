import Testing
import Detection
import ModelFixtures
import Training

/// Finite-difference checks of every layer's backward pass (central differences in Float).
@Suite struct GradientCheckTests {
    /// ||a − b|| / (||a|| + ||b||).
    static func relativeError(_ a: [Float], _ b: [Float]) -> Double {
        var num: Double = 0, na: Double = 0, nb: Double = 0
        for i in 0 ..< a.count {
            num += Double(a[i] - b[i]) * Double(a[i] - b[i])
            na += Double(a[i]) * Double(a[i]); nb += Double(b[i]) * Double(b[i])
        }
        return num.squareRoot() / max(na.squareRoot() + nb.squareRoot(), 1e-12)
    }

    /// Central-difference gradient of `f` with respect to `x`.
    static func numeric(_ x: [Float], eps: Float, _ f: ([Float]) -> Double) -> [Float] {
        var g = [Float](repeating: 0, count: x.count)
        var xp = x
        for i in 0 ..< x.count {
            let orig = xp[i]
            xp[i] = orig + eps; let fp = f(xp)
            xp[i] = orig - eps; let fm = f(xp)
            xp[i] = orig
            g[i] = Float((fp - fm) / (2 * Double(eps)))
        }
        return g
    }

    static func dot(_ a: [Float], _ b: [Float]) -> Double {
        var s: Double = 0
        for i in 0 ..< a.count { s += Double(a[i]) * Double(b[i]) }
        return s
    }

    static func check(_ name: String, _ analytic: [Float], _ numeric: [Float], tolerance: Double = 1e-2) {
        let e = relativeError(analytic, numeric)
        print("gradient check \(name): relative error \(e)")
        #expect(e < tolerance, "\(name) relative error \(e)")
    }

    @Test func dense() {
        var rng = NNRandom(seed: 1)
        let n = 4
        let layer = DenseLayer(inputs: 5, outputs: 3, weight: rng.uniformArray(15, bound: 1), bias: rng.uniformArray(3, bound: 1))
        let x = rng.uniformArray(n * 5, bound: 1), r = rng.uniformArray(n * 3, bound: 1)
        let g = Backprop.denseBackward(layer, x: x, dy: r, count: n, inputGradient: true)
        let eps: Float = 1e-2
        Self.check("dense.weight", g.dWeight, Self.numeric(layer.weight, eps: eps) { w in
            Self.dot(Backprop.denseForward(DenseLayer(inputs: 5, outputs: 3, weight: w, bias: layer.bias), x: x, count: n), r)
        })
        Self.check("dense.bias", g.dBias, Self.numeric(layer.bias, eps: eps) { b in
            Self.dot(Backprop.denseForward(DenseLayer(inputs: 5, outputs: 3, weight: layer.weight, bias: b), x: x, count: n), r)
        })
        Self.check("dense.input", g.dx!, Self.numeric(x, eps: eps) { xx in
            Self.dot(Backprop.denseForward(layer, x: xx, count: n), r)
        })
    }

    @Test func conv1D() {
        var rng = NNRandom(seed: 2)
        let n = 2, t = 6, c = 3, f = 4, k = 3
        let lengths = [6, 4]
        let layer = Conv1DLayer(inChannels: c, outChannels: f, kernel: k, weight: rng.uniformArray(f * k * c, bound: 1),
                                bias: rng.uniformArray(f, bound: 1))
        let x = rng.uniformArray(n * t * c, bound: 1), r = rng.uniformArray(n * t * f, bound: 1)
        let (_, cols) = Backprop.convForward(layer, x: x, count: n, seqLen: t, lengths: lengths)
        let g = Backprop.convBackward(layer, dy: r, cols: cols, count: n, seqLen: t, lengths: lengths, inputGradient: true)
        func loss(_ l: Conv1DLayer, _ xx: [Float]) -> Double {
            Self.dot(Backprop.convForward(l, x: xx, count: n, seqLen: t, lengths: lengths).y, r)
        }
        let eps: Float = 1e-2
        Self.check("conv.weight", g.dWeight, Self.numeric(layer.weight, eps: eps) { w in
            loss(Conv1DLayer(inChannels: c, outChannels: f, kernel: k, weight: w, bias: layer.bias), x)
        })
        Self.check("conv.bias", g.dBias, Self.numeric(layer.bias, eps: eps) { b in
            loss(Conv1DLayer(inChannels: c, outChannels: f, kernel: k, weight: layer.weight, bias: b), x)
        })
        // Steps past the length do not influence the output: their numeric gradient is 0 too.
        Self.check("conv.input", g.dx!, Self.numeric(x, eps: eps) { loss(layer, $0) })
    }

    @Test func lstm() {
        var rng = NNRandom(seed: 3)
        let n = 3, t = 5, c = 3, h = 9 // 9 = one 8-lane SIMD block + a scalar tail
        let lengths = [5, 3, 1]
        let layer = LSTMLayer(inputs: c, hidden: h, wx: rng.uniformArray(4 * h * c, bound: 0.8),
                              wh: rng.uniformArray(4 * h * h, bound: 0.8), bias: rng.uniformArray(4 * h, bound: 0.5))
        let x = rng.uniformArray(n * t * c, bound: 1), r = rng.uniformArray(n * h, bound: 1)
        let cache = Backprop.lstmForward(layer, x: x, count: n, seqLen: t, lengths: lengths)
        let g = Backprop.lstmBackward(layer, x: x, cache: cache, dLast: r, lengths: lengths, inputGradient: true)
        func loss(_ l: LSTMLayer, _ xx: [Float]) -> Double {
            Self.dot(Backprop.lstmForward(l, x: xx, count: n, seqLen: t, lengths: lengths).last, r)
        }
        let eps: Float = 1e-2
        Self.check("lstm.wx", g.dWx, Self.numeric(layer.wx, eps: eps) { w in
            loss(LSTMLayer(inputs: c, hidden: h, wx: w, wh: layer.wh, bias: layer.bias), x)
        })
        Self.check("lstm.wh", g.dWh, Self.numeric(layer.wh, eps: eps) { w in
            loss(LSTMLayer(inputs: c, hidden: h, wx: layer.wx, wh: w, bias: layer.bias), x)
        })
        Self.check("lstm.bias", g.dBias, Self.numeric(layer.bias, eps: eps) { b in
            loss(LSTMLayer(inputs: c, hidden: h, wx: layer.wx, wh: layer.wh, bias: b), x)
        })
        Self.check("lstm.input", g.dx!, Self.numeric(x, eps: eps) { loss(layer, $0) })
    }

    @Test func weightedSoftmaxCrossEntropy() {
        var rng = NNRandom(seed: 4)
        let n = 5, k = 4
        let logits = rng.uniformArray(n * k, bound: 3)
        let labels = [0, 1, 2, 3, 1], weights: [Float] = [0.5, 2, 1, 3]
        let (_, d) = Backprop.softmaxCrossEntropy(logits: logits, labels: labels, count: n, classes: k, classWeights: weights)
        Self.check("softmaxCE.logits", d, Self.numeric(logits, eps: 1e-2) { z in
            Double(Backprop.softmaxCrossEntropy(logits: z, labels: labels, count: n, classes: k, classWeights: weights).loss)
        })
    }

    static func tinyBatch(statsDim: Int) -> NNTrainingBatch {
        let data = NNSyntheticData.dataset(count: 6, seqLen: 8, statsDim: statsDim, seed: 9)
        return data.batch(0 ..< 6)
    }

    /// End-to-end check of every CNN parameter tensor through ReLU, masking, pooling and loss.
    @Test func cnnModel() {
        let b = Self.tinyBatch(statsDim: 2)
        let shape = NNShape(seqLen: 8, channels: SequenceEncoder.channels, statsDim: 2, classes: 7)
        let model = CNNModel.initialized(shape: shape, filters1: 4, filters2: 5, kernel: 3, seed: 5)
        let weights: [Float] = [1, 2, 0.5, 1, 1, 1.5, 1]
        let (_, grads) = model.lossAndGradients(b, classWeights: weights)
        let names = ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "head.weight", "head.bias"]
        for (k, name) in names.enumerated() {
            let num = Self.numeric(model.tensors[k], eps: 1e-3) { p in
                var m = model; var ts = m.tensors; ts[k] = p; m.tensors = ts
                return Double(m.lossAndGradients(b, classWeights: weights).loss)
            }
            Self.check("cnn.\(name)", grads[k], num, tolerance: 2e-2)
        }
    }

    @Test func lstmModel() {
        let b = Self.tinyBatch(statsDim: 2)
        let shape = NNShape(seqLen: 8, channels: SequenceEncoder.channels, statsDim: 2, classes: 7)
        let model = LSTMModel.initialized(shape: shape, hidden: 4, seed: 6)
        let weights: [Float] = [1, 2, 0.5, 1, 1, 1.5, 1]
        let (_, grads) = model.lossAndGradients(b, classWeights: weights)
        let names = ["lstm.wx", "lstm.wh", "lstm.bias", "head.weight", "head.bias"]
        for (k, name) in names.enumerated() {
            let num = Self.numeric(model.tensors[k], eps: 1e-2) { p in
                var m = model; var ts = m.tensors; ts[k] = p; m.tensors = ts
                return Double(m.lossAndGradients(b, classWeights: weights).loss)
            }
            Self.check("lstmModel.\(name)", grads[k], num)
        }
    }

    /// The models' input gradients (used by adversarial training) against central differences of the loss.
    @Test func modelInputGradients() {
        let b = Self.tinyBatch(statsDim: 2)
        let shape = NNShape(seqLen: 8, channels: SequenceEncoder.channels, statsDim: 2, classes: 7)
        let weights: [Float] = [1, 2, 0.5, 1, 1, 1.5, 1]
        let cnn = CNNModel.initialized(shape: shape, filters1: 4, filters2: 5, kernel: 3, seed: 5)
        let lstm = LSTMModel.initialized(shape: shape, hidden: 4, seed: 6)
        func numeric<M: NNTrainable>(_ m: M, eps: Float) -> [Float] {
            Self.numeric(b.sequences, eps: eps) { x in
                var c = b; c.sequences = x
                return Double(m.lossAndGradients(c, classWeights: weights).loss)
            }
        }
        // Positions past a flow's length do not reach the loss: both gradients are 0 there.
        Self.check("cnn.input", cnn.inputGradient(b, classWeights: weights), numeric(cnn, eps: 1e-3), tolerance: 2e-2)
        Self.check("lstm.input", lstm.inputGradient(b, classWeights: weights), numeric(lstm, eps: 1e-2))
    }
}
