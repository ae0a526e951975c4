/// Int8 form of `CNNModel` for inference: int8 weights (per-output-channel scales), int8
/// activations (per-tensor scales for the conv inputs; per-feature scales folded into the
/// head's weights), int32 accumulation; bias, ReLU, pooling and softmax in Float.
///
/// Flows are processed one at a time and only their valid steps are computed. Sequences are
/// quantized into rows padded with kernel/2 zero steps on each side, so the convolution window
/// of a step is a contiguous slice (no im2col copy).
public struct CNNInt8Model: SequenceClassifier, Equatable {
    public static let magic = "FSCQ"
    public static let version: UInt16 = 1

    public let shape: NNShape
    public let kernel: Int
    /// Input channels rounded up to even (pairs for the kernel).
    public let inputStride: Int
    public let filters1: Int
    public let filters1Stride: Int
    public let filters2: Int
    /// Activation scale of the encoded input sequence (real ≈ int8 × scale).
    public let inputScale: Float
    /// Activation scale of conv1's (ReLU) output, i.e. conv2's input.
    public let hidden1Scale: Float
    /// Per-feature activation scales of the head input [max ‖ mean ‖ stats] (folded into `head`).
    public let featureScales: [Float]
    /// conv1 weights `[filters1][kernel][inputStride]`.
    public let conv1: Int8Matrix
    public let conv1Bias: [Float]
    /// conv2 weights `[filters2][kernel][filters1Stride]`.
    public let conv2: Int8Matrix
    public let conv2Bias: [Float]
    /// Head weights with the feature scales folded in: row o ≈ W[o][i] · featureScales[i].
    public let head: Int8Matrix
    public let headBias: [Float]

    // Derived: acc → float factors.
    let conv1Dequant: [Float]
    let conv2Dequant: [Float]
    let inverseFeatureScales: [Float]

    public init(shape: NNShape, kernel: Int, filters1: Int, filters2: Int, inputScale: Float, hidden1Scale: Float,
                featureScales: [Float], conv1: Int8Matrix, conv1Bias: [Float], conv2: Int8Matrix, conv2Bias: [Float],
                head: Int8Matrix, headBias: [Float]) {
        self.shape = shape; self.kernel = kernel; self.filters1 = filters1; self.filters2 = filters2
        inputStride = (shape.channels + 1) & ~1
        filters1Stride = (filters1 + 1) & ~1
        precondition(conv1.outputs == filters1 && conv1.inputs == kernel * inputStride && conv1Bias.count == filters1)
        precondition(conv2.outputs == filters2 && conv2.inputs == kernel * filters1Stride && conv2Bias.count == filters2)
        precondition(head.outputs == shape.classes && head.inputs == 2 * filters2 + shape.statsDim
            && headBias.count == shape.classes && featureScales.count == head.inputs)
        self.inputScale = inputScale; self.hidden1Scale = hidden1Scale; self.featureScales = featureScales
        self.conv1 = conv1; self.conv1Bias = conv1Bias; self.conv2 = conv2; self.conv2Bias = conv2Bias
        self.head = head; self.headBias = headBias
        conv1Dequant = conv1.scales.map { $0 * inputScale }
        conv2Dequant = conv2.scales.map { $0 * hidden1Scale }
        inverseFeatureScales = featureScales.map { $0 > 0 ? 1 / $0 : 0 }
    }

    /// Bytes of quantized parameters: int8 weights, their Float scales, Float biases and
    /// activation scales.
    public var parameterBytes: Int {
        conv1.byteCount + conv2.byteCount + head.byteCount
            + 4 * (conv1Bias.count + conv2Bias.count + headBias.count + featureScales.count + 2)
    }

    /// Bytes of the weight tensors only (int8 + per-channel scales).
    public var weightBytes: Int { conv1.byteCount + conv2.byteCount + head.byteCount }

    // MARK: Inference

    /// Width of the sequence part of the head input: [max ‖ mean] of conv2's pooled outputs.
    public var sequenceFeatureCount: Int { 2 * filters2 }

    /// The sequence part of each flow's head input (`sequenceFeatureCount` values at
    /// `out + n * stride`): conv1 → conv2 → [max ‖ mean] pooling, what `predictProba`
    /// computes before the statistics join in.
    public func encodeSequences(_ batch: NNBatch, scratch: CNNInt8Scratch, into out: UnsafeMutablePointer<Float>, stride: Int) {
        batch.check(shape)
        precondition(stride >= sequenceFeatureCount)
        let t = shape.seqLen, c = shape.channels, cs = inputStride, fs = filters1Stride
        let f1 = filters1, f2 = filters2
        let pad = kernel / 2
        let xq = scratch.xq.ensure((t + 2 * pad) * cs + 2)
        let hq = scratch.hq.ensure((t + 2 * pad) * fs + 2)
        let acc0 = scratch.acc.ensure(2 * 128 + 2 * max(conv1.paddedOutputs, conv2.paddedOutputs, head.paddedOutputs))
        let acc1 = acc0 + max(conv1.paddedOutputs, conv2.paddedOutputs, head.paddedOutputs)
        let y = scratch.y.ensure(2 * max(f1, f2) + 2)
        let seq = batch.sequences.baseAddress!
        let invIn = 1 / inputScale, invH1 = 1 / hidden1Scale
        let w1 = scratch.widened.weights(conv1, slot: 0)
        let w2 = scratch.widened.weights(conv2, slot: 1)
        conv1Dequant.withUnsafeBufferPointer { dq1 in
        conv2Dequant.withUnsafeBufferPointer { dq2 in
        conv1Bias.withUnsafeBufferPointer { b1 in
        conv2Bias.withUnsafeBufferPointer { b2 in
          for n in 0 ..< batch.count {
            let mx = out + n * stride
            let len = shape.clampedLength(batch.lengths[n])
            // Quantize the valid steps into rows pad..<pad+len; `pad` zero rows on each side.
            xq.update(repeating: 0, count: pad * cs)
            for s in 0 ..< len {
                let row = xq + (s + pad) * cs
                Int8Kernels.quantize(seq + (n * t + s) * c, count: c, inverseScale: invIn, into: row)
                if cs > c { row[c] = 0 }
            }
            (xq + (len + pad) * cs).update(repeating: 0, count: pad * cs)
            hq.update(repeating: 0, count: pad * fs)
            (hq + (len + pad) * fs).update(repeating: 0, count: pad * fs)

            // conv1 → ReLU → requantize into hq rows pad..<pad+len.
            var s = 0
            while s < len {
                let two = s + 1 < len
                if two {
                    Int8Kernels.matvec2(xq + s * cs, xq + (s + 1) * cs, widened: w1, pairs: conv1.pairs, blocks: conv1.blocks,
                                        into: acc0, acc1)
                } else {
                    Int8Kernels.matvec(xq + s * cs, widened: w1, pairs: conv1.pairs, blocks: conv1.blocks, into: acc0)
                }
                for r in 0 ..< (two ? 2 : 1) {
                    let a = r == 0 ? acc0 : acc1
                    let yr = y + r * f1
                    for o in 0 ..< f1 { let v = Float(a[o]) * dq1[o] + b1[o]; yr[o] = v > 0 ? v : 0 }
                    let row = hq + (s + r + pad) * fs
                    Int8Kernels.quantize(yr, count: f1, inverseScale: invH1, into: row)
                    if fs > f1 { row[f1] = 0 }
                }
                s += two ? 2 : 1
            }

            // conv2 → ReLU → max/mean pooling in Float.
            let mean = mx + f2
            mx.update(repeating: 0, count: f2)
            mean.update(repeating: 0, count: f2)
            s = 0
            while s < len {
                let two = s + 1 < len
                if two {
                    Int8Kernels.matvec2(hq + s * fs, hq + (s + 1) * fs, widened: w2, pairs: conv2.pairs, blocks: conv2.blocks,
                                        into: acc0, acc1)
                } else {
                    Int8Kernels.matvec(hq + s * fs, widened: w2, pairs: conv2.pairs, blocks: conv2.blocks, into: acc0)
                }
                for r in 0 ..< (two ? 2 : 1) {
                    let a = r == 0 ? acc0 : acc1
                    for o in 0 ..< f2 {
                        var v = Float(a[o]) * dq2[o] + b2[o]
                        v = v > 0 ? v : 0
                        mx[o] = v > mx[o] ? v : mx[o]
                        mean[o] += v
                    }
                }
                s += two ? 2 : 1
            }
            if len > 0 {
                let inv = 1 / Float(len)
                for o in 0 ..< f2 { mean[o] *= inv }
            }
          }
        } } } }
    }

    /// The head alone on `count` rows of head input ([max ‖ mean ‖ stats], `featureCount`
    /// values each): per-feature quantization (scales folded into the weights), dense, softmax.
    public func predictHead(features: UnsafePointer<Float>, count: Int, scratch: CNNInt8Scratch,
                            into probs: UnsafeMutablePointer<Float>) {
        let acc = scratch.acc.ensure(2 * 128 + 2 * max(conv1.paddedOutputs, conv2.paddedOutputs, head.paddedOutputs))
        let fq = scratch.fq.ensure(featureCount + 2)
        let wh = scratch.widened.weights(head, slot: 2)
        Int8Kernels.denseSoftmax(features, count: count, head: head, widened: wh, bias: headBias,
                                 inverseFeatureScales: inverseFeatureScales, quantized: fq, acc: acc, into: probs)
    }

    // MARK: Serialization

    public func encode() -> [UInt8] {
        var w = NNByteWriter()
        w.magic(Self.magic); w.u16(Self.version)
        shape.encode(into: &w)
        w.int(kernel); w.int(filters1); w.int(filters2)
        w.f32(inputScale); w.f32(hidden1Scale); w.floats(featureScales)
        conv1.encode(into: &w); w.floats(conv1Bias)
        conv2.encode(into: &w); w.floats(conv2Bias)
        head.encode(into: &w); w.floats(headBias)
        return w.bytes
    }

    public init(decoding bytes: [UInt8]) throws {
        var r = NNByteReader(bytes)
        try r.expectMagic(Self.magic); try r.expectVersion(Self.version)
        let shape = try NNShape(decoding: &r)
        let kernel = try r.int("kernel", limit: 63), f1 = try r.int("filters1"), f2 = try r.int("filters2")
        let inS = try r.f32("inputScale"), h1S = try r.f32("hidden1Scale")
        let fs = try r.floats("featureScales", count: 2 * f2 + shape.statsDim)
        let c1 = try Int8Matrix(decoding: &r, "conv1"), b1 = try r.floats("conv1Bias", count: f1)
        let c2 = try Int8Matrix(decoding: &r, "conv2"), b2 = try r.floats("conv2Bias", count: f2)
        let h = try Int8Matrix(decoding: &r, "head"), bh = try r.floats("headBias", count: shape.classes)
        try r.expectEnd()
        let cs = (shape.channels + 1) & ~1, f1s = (f1 + 1) & ~1
        guard kernel % 2 == 1, c1.outputs == f1, c1.inputs == kernel * cs, c2.outputs == f2, c2.inputs == kernel * f1s,
              h.outputs == shape.classes, h.inputs == 2 * f2 + shape.statsDim, inS > 0, h1S > 0
        else { throw NNFormatError.invalidShape("int8 CNN layer dimensions do not chain") }
        self.init(shape: shape, kernel: kernel, filters1: f1, filters2: f2, inputScale: inS, hidden1Scale: h1S,
                  featureScales: fs, conv1: c1, conv1Bias: b1, conv2: c2, conv2Bias: b2, head: h, headBias: bh)
    }
}

/// Per-thread scratch for `CNNInt8Model` (sized per flow, independent of batch size).
public final class CNNInt8Scratch: SequenceClassifierScratch {
    let xq = NNBuffer<Int16>(zero: 0), hq = NNBuffer<Int16>(zero: 0), fq = NNBuffer<Int16>(zero: 0)
    let acc = NNBuffer<Int32>(zero: 0)
    let y = NNBuffer<Float>(zero: 0), feats = NNBuffer<Float>(zero: 0)
    /// Int16-widened working copy of the weights (~2 bytes per weight, refreshed per model).
    public let widened = Int8WidenedWeights()

    public init() {}

    public var headInputBuffer: NNBuffer<Float> { feats }
}
