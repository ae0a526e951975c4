import Detection

/// Post-training quantization of the float neural classifiers to their int8 inference forms.
///
/// Weights: symmetric int8 per output channel (scale = max|w| / 127). Activations: symmetric
/// int8 with scales calibrated on a calibration set — per tensor for the conv / LSTM inputs
/// and the hidden states, per feature for the dense head's input (those scales are folded
/// into the head's weights, so they cost nothing at inference). The clipping value is the
/// `percentile` of |activation| (100 = max).
package enum Quantizer {
    package static func quantize(_ model: CNNModel, calibration: ClassifierDataset,
                                percentile: Double = 99.99) -> CNNInt8Model {
        precondition(calibration.shape == model.shape && calibration.count > 0)
        let shape = model.shape, t = shape.seqLen, c = shape.channels
        let f1 = model.conv1.outChannels, f2 = model.conv2.outChannels, kern = model.conv1.kernel
        let fc = model.featureCount
        var inputs = NNAbsSample(), hidden1 = NNAbsSample()
        var features = [Float]()
        let scratch = CNNScratch()
        forEachChunk(calibration) { b in
            var logits = [Float](repeating: 0, count: b.count * shape.classes)
            NNBatch.with(sequences: b.sequences, lengths: b.lengths, stats: b.stats, count: b.count) { nb in
                model.forward(nb, scratch: scratch, logits: &logits)
            }
            let y1 = scratch.conv1Output(count: b.count, seqLen: t, channels: f1)
            for i in 0 ..< b.count {
                let len = min(max(b.lengths[i], 0), t)
                inputs.add(b.sequences[(i * t * c) ..< ((i * t + len) * c)])
                hidden1.add(y1[(i * t * f1) ..< ((i * t + len) * f1)])
            }
            features.append(contentsOf: scratch.headInput(count: b.count, width: fc))
        }
        let inputScale = inputs.clip(percentile: 100) / 127
        let h1Scale = hidden1.clip(percentile: percentile) / 127
        let featureScales = columnScales(features, columns: fc, percentile: percentile)

        let cs = (c + 1) & ~1, f1s = (f1 + 1) & ~1
        let w1 = padTaps(model.conv1.weight, outputs: f1, kernel: kern, channels: c, stride: cs)
        let w2 = padTaps(model.conv2.weight, outputs: f2, kernel: kern, channels: f1, stride: f1s)
        var wh = model.head.weight
        for o in 0 ..< shape.classes { for i in 0 ..< fc { wh[o * fc + i] *= featureScales[i] } }
        return CNNInt8Model(
            shape: shape, kernel: kern, filters1: f1, filters2: f2, inputScale: inputScale, hidden1Scale: h1Scale,
            featureScales: featureScales,
            conv1: Int8Matrix(quantizing: w1, outputs: f1, inputs: kern * cs), conv1Bias: model.conv1.bias,
            conv2: Int8Matrix(quantizing: w2, outputs: f2, inputs: kern * f1s), conv2Bias: model.conv2.bias,
            head: Int8Matrix(quantizing: wh, outputs: shape.classes, inputs: fc), headBias: model.head.bias)
    }

    package static func quantize(_ model: LSTMModel, calibration: ClassifierDataset,
                                percentile: Double = 99.99) -> LSTMInt8Model {
        precondition(calibration.shape == model.shape && calibration.count > 0)
        let shape = model.shape, t = shape.seqLen, c = shape.channels, h = model.lstm.hidden, fc = model.featureCount
        var inputs = NNAbsSample()
        var features = [Float]()
        let scratch = LSTMScratch()
        scratch.recordHiddenRange = true
        forEachChunk(calibration) { b in
            var logits = [Float](repeating: 0, count: b.count * shape.classes)
            NNBatch.with(sequences: b.sequences, lengths: b.lengths, stats: b.stats, count: b.count) { nb in
                model.forward(nb, scratch: scratch, logits: &logits)
            }
            for i in 0 ..< b.count {
                let len = min(max(b.lengths[i], 0), t)
                inputs.add(b.sequences[(i * t * c) ..< ((i * t + len) * c)])
            }
            features.append(contentsOf: scratch.headInput(count: b.count, width: fc))
        }
        let inputScale = inputs.clip(percentile: 100) / 127
        let hiddenScale = max(min(scratch.hiddenAbsMax, 1), 1e-3) / 127
        let featureScales = columnScales(features, columns: fc, percentile: percentile)

        let cs = (c + 1) & ~1, width = cs + h, g4 = 4 * h
        var wg = [Float](repeating: 0, count: g4 * width)
        for o in 0 ..< g4 {
            for i in 0 ..< c { wg[o * width + i] = model.lstm.wx[o * c + i] * inputScale }
            for j in 0 ..< h { wg[o * width + cs + j] = model.lstm.wh[o * h + j] * hiddenScale }
        }
        var wh = model.head.weight
        for o in 0 ..< shape.classes { for i in 0 ..< fc { wh[o * fc + i] *= featureScales[i] } }
        return LSTMInt8Model(
            shape: shape, hidden: h, inputScale: inputScale, hiddenScale: hiddenScale, featureScales: featureScales,
            gates: Int8Matrix(quantizing: wg, outputs: g4, inputs: width), gateBias: model.lstm.bias,
            head: Int8Matrix(quantizing: wh, outputs: shape.classes, inputs: fc), headBias: model.head.bias)
    }

    // MARK: Helpers

    static func forEachChunk(_ data: ClassifierDataset, _ body: (NNTrainingBatch) -> Void) {
        var lo = 0
        while lo < data.count {
            let hi = min(lo + 256, data.count)
            body(data.batch(lo ..< hi))
            lo = hi
        }
    }

    /// `[outputs][kernel][channels]` → `[outputs][kernel][stride]` with zero padding.
    static func padTaps(_ w: [Float], outputs: Int, kernel: Int, channels: Int, stride: Int) -> [Float] {
        var out = [Float](repeating: 0, count: outputs * kernel * stride)
        for o in 0 ..< outputs {
            for j in 0 ..< kernel {
                for ch in 0 ..< channels { out[(o * kernel + j) * stride + ch] = w[(o * kernel + j) * channels + ch] }
            }
        }
        return out
    }

    /// Per-column activation scales (clip / 127) of a row-major matrix.
    static func columnScales(_ m: [Float], columns: Int, percentile: Double) -> [Float] {
        let rows = m.count / max(columns, 1)
        return (0 ..< columns).map { j in
            var col = NNAbsSample()
            col.add((0 ..< rows).map { m[$0 * columns + j] })
            return col.clip(percentile: percentile) / 127
        }
    }
}

/// Percentile of |x| from a sample of the values (all values up to `cap`, then a strided
/// replacement); the exact maximum is always tracked.
struct NNAbsSample {
    private var values: [Float] = []
    private let cap = 262_144
    private var seen = 0
    private var maximum: Float = 0

    mutating func add<C: Collection>(_ xs: C) where C.Element == Float {
        for x in xs {
            let a = abs(x)
            maximum = max(maximum, a)
            if values.count < cap { values.append(a) } else if seen % 3 == 0 { values[(seen / 3) % cap] = a }
            seen += 1
        }
    }

    /// Clip value at `percentile` (0...100, 100 = max); a small floor avoids zero scales.
    func clip(percentile: Double) -> Float {
        guard !values.isEmpty else { return 1e-6 }
        if percentile >= 100 { return max(maximum, 1e-6) }
        let sorted = values.sorted()
        let idx = min(sorted.count - 1, Int((percentile / 100 * Double(sorted.count - 1)).rounded(.up)))
        return max(sorted[idx], 1e-6)
    }
}
