/// Float 1-D CNN flow classifier:
/// conv1d(C→F1, k) → ReLU → conv1d(F1→F2, k) → ReLU → [max ‖ mean] pooling over the flow's
/// valid packets → concat stats → dense → softmax.
/// Steps at or past a flow's length are zero, so a truncated flow is scored exactly like a
/// flow that has only seen its first `length` packets.
public struct CNNModel: SequenceClassifier, Equatable {
    public static let magic = "FSCN"
    public static let version: UInt16 = 1

    public var shape: NNShape
    public var conv1: Conv1DLayer
    public var conv2: Conv1DLayer
    public var head: DenseLayer

    public init(shape: NNShape, conv1: Conv1DLayer, conv2: Conv1DLayer, head: DenseLayer) {
        precondition(conv1.inChannels == shape.channels && conv2.inChannels == conv1.outChannels)
        precondition(head.inputs == 2 * conv2.outChannels + shape.statsDim && head.outputs == shape.classes)
        self.shape = shape; self.conv1 = conv1; self.conv2 = conv2; self.head = head
    }

    public var parameterCount: Int {
        conv1.weight.count + conv1.bias.count + conv2.weight.count + conv2.bias.count
            + head.weight.count + head.bias.count
    }

    /// Bytes of float parameters (4 per parameter).
    public var parameterBytes: Int { 4 * parameterCount }

    // MARK: Inference

    /// Runs the network up to the logits; leaves conv1's output (post-ReLU) and the head
    /// inputs in the scratch for calibration (`conv1Output`, `headInput`).
    public func forward(_ batch: NNBatch, scratch: CNNScratch, logits: UnsafeMutablePointer<Float>) {
        let feats = scratch.feats.ensure(batch.count * featureCount)
        headInputs(batch, scratch: scratch, into: feats)
        headLogits(features: feats, count: batch.count, logits: logits)
    }

    /// Width of the sequence part of the head input: [max ‖ mean] of conv2's pooled outputs.
    public var sequenceFeatureCount: Int { 2 * conv2.outChannels }

    /// The sequence part of each flow's head input (`sequenceFeatureCount` values at
    /// `out + n * stride`): conv1 → conv2 → pooling, before the statistics join in.
    public func encodeSequences(_ batch: NNBatch, scratch: CNNScratch, into out: UnsafeMutablePointer<Float>, stride: Int) {
        precondition(stride >= sequenceFeatureCount)
        let n = batch.count, t = shape.seqLen, c = shape.channels
        let f1 = conv1.outChannels, f2 = conv2.outChannels, rows = n * t
        if n == 0 { return }
        let lengths = batch.lengths.baseAddress!
        let cols1 = scratch.cols1.ensure(rows * conv1.rowWidth)
        let y1 = scratch.y1.ensure(rows * f1)
        let cols2 = scratch.cols2.ensure(rows * conv2.rowWidth)
        let y2 = scratch.y2.ensure(rows * f2)
        scratch.lastCount = n

        NNKernels.im2col(x: batch.sequences.baseAddress!, count: n, seqLen: t, channels: c,
                         kernel: conv1.kernel, lengths: lengths, cols: cols1)
        conv1.weight.withUnsafeBufferPointer { w in
            NNKernels.gemm(transB: true, m: rows, n: f1, k: conv1.rowWidth, a: cols1, lda: conv1.rowWidth,
                           b: w.baseAddress!, ldb: conv1.rowWidth, beta: 0, c: y1, ldc: f1)
        }
        conv1.bias.withUnsafeBufferPointer {
            NNKernels.biasReLUMasked(y1, bias: $0.baseAddress!, count: n, seqLen: t, features: f1, lengths: lengths)
        }
        NNKernels.im2col(x: y1, count: n, seqLen: t, channels: f1, kernel: conv2.kernel, lengths: lengths, cols: cols2)
        conv2.weight.withUnsafeBufferPointer { w in
            NNKernels.gemm(transB: true, m: rows, n: f2, k: conv2.rowWidth, a: cols2, lda: conv2.rowWidth,
                           b: w.baseAddress!, ldb: conv2.rowWidth, beta: 0, c: y2, ldc: f2)
        }
        conv2.bias.withUnsafeBufferPointer {
            NNKernels.biasReLUMasked(y2, bias: $0.baseAddress!, count: n, seqLen: t, features: f2, lengths: lengths)
        }
        Self.pool(y2, count: n, seqLen: t, features: f2, lengths: lengths, stats: nil,
                  statsDim: stride - 2 * f2, into: out)
    }

    /// The dense head alone on `count` rows of head input ([max ‖ mean ‖ stats],
    /// `featureCount` values each) into logits.
    public func headLogits(features: UnsafePointer<Float>, count n: Int, logits: UnsafeMutablePointer<Float>) {
        head.apply(features, rows: n, into: logits)
    }

    /// `headLogits` followed by softmax: class probabilities, `count × classes`
    /// (the float head needs no scratch).
    public func predictHead(features: UnsafePointer<Float>, count: Int, scratch _: CNNScratch,
                            into probs: UnsafeMutablePointer<Float>) {
        if count == 0 { return }
        headLogits(features: features, count: count, logits: probs)
        NNMath.softmaxRows(probs, rows: count, cols: shape.classes)
    }

    /// Global max and mean pooling over valid steps of `y` (`[n][t][f]`, values >= 0), followed
    /// by the stats vector: `out` row = [max(f) ‖ mean(f) ‖ stats].
    public static func pool(_ y: UnsafePointer<Float>, count: Int, seqLen: Int, features f: Int,
                            lengths: UnsafePointer<Int>, stats: UnsafePointer<Float>?, statsDim: Int,
                            into out: UnsafeMutablePointer<Float>) {
        let width = 2 * f + statsDim
        for n in 0 ..< count {
            let len = min(max(lengths[n], 0), seqLen)
            let mx = out + n * width, mean = mx + f
            mx.update(repeating: 0, count: f)
            mean.update(repeating: 0, count: f)
            for t in 0 ..< len {
                let row = y + (n * seqLen + t) * f
                for j in 0 ..< f {
                    let v = row[j]
                    if v > mx[j] { mx[j] = v }
                    mean[j] += v
                }
            }
            if len > 0 {
                let inv = 1 / Float(len)
                for j in 0 ..< f { mean[j] *= inv }
            }
            if statsDim > 0, let stats { (mean + f).update(from: stats + n * statsDim, count: statsDim) }
        }
    }

    // MARK: Serialization

    public func encode() -> [UInt8] {
        var w = NNByteWriter()
        w.magic(Self.magic); w.u16(Self.version)
        shape.encode(into: &w)
        conv1.encode(into: &w); conv2.encode(into: &w); head.encode(into: &w)
        return w.bytes
    }

    public init(decoding bytes: [UInt8]) throws {
        var r = NNByteReader(bytes)
        try r.expectMagic(Self.magic); try r.expectVersion(Self.version)
        let shape = try NNShape(decoding: &r)
        let c1 = try Conv1DLayer(decoding: &r, "conv1"), c2 = try Conv1DLayer(decoding: &r, "conv2")
        let h = try DenseLayer(decoding: &r, "head")
        try r.expectEnd()
        guard c1.inChannels == shape.channels, c2.inChannels == c1.outChannels,
              h.inputs == 2 * c2.outChannels + shape.statsDim, h.outputs == shape.classes
        else { throw NNFormatError.invalidShape("CNN layer dimensions do not chain") }
        self.init(shape: shape, conv1: c1, conv2: c2, head: h)
    }
}

/// Per-thread scratch for `CNNModel` (not Sendable: one per scoring thread).
public final class CNNScratch: SequenceClassifierScratch {
    let cols1 = NNBuffer<Float>(zero: 0), cols2 = NNBuffer<Float>(zero: 0)
    let y1 = NNBuffer<Float>(zero: 0), y2 = NNBuffer<Float>(zero: 0)
    let feats = NNBuffer<Float>(zero: 0)
    var lastCount = 0

    public init() {}

    public var headInputBuffer: NNBuffer<Float> { feats }

    /// conv1 outputs (post-ReLU) of the last forward pass, `count * seqLen * F1`.
    public func conv1Output(count: Int, seqLen: Int, channels: Int) -> UnsafeBufferPointer<Float> {
        UnsafeBufferPointer(start: y1.pointer, count: count * seqLen * channels)
    }

    /// Head inputs (pooled features ‖ stats) of the last forward pass.
    public func headInput(count: Int, width: Int) -> UnsafeBufferPointer<Float> {
        UnsafeBufferPointer(start: feats.pointer, count: count * width)
    }
}
