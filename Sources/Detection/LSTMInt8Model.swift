/// Int8 form of `LSTMModel` for inference.
///
/// Each step's gate pre-activations come from ONE int8 matrix-vector product over the
/// concatenated row [x_t ‖ h_{t-1}]: the input and recurrent weights are quantized per gate
/// output with the two activation scales folded in (W'[o] = [Wx[o]·s_x ‖ Wh[o]·s_h]), so a
/// single int32 accumulator per gate is dequantized with one factor. Gate nonlinearities and
/// the cell state stay in Float; h is requantized for the next step. Two flows are stepped
/// together so each widened weight vector is used twice.
public struct LSTMInt8Model: SequenceClassifier, Equatable {
    public static let magic = "FSLQ"
    public static let version: UInt16 = 1

    public let shape: NNShape
    public let hidden: Int
    /// Input channels rounded up to even.
    public let inputStride: Int
    /// Activation scale of the encoded input sequence.
    public let inputScale: Float
    /// Activation scale of the hidden state h (|h| < 1).
    public let hiddenScale: Float
    /// Per-feature activation scales of the head input [h_last ‖ stats] (folded into `head`).
    public let featureScales: [Float]
    /// `[4*hidden][inputStride + hidden]`, gate order i, f, g, o.
    public let gates: Int8Matrix
    public let gateBias: [Float]
    public let head: Int8Matrix
    public let headBias: [Float]

    let inverseFeatureScales: [Float]

    public init(shape: NNShape, hidden: Int, inputScale: Float, hiddenScale: Float, featureScales: [Float],
                gates: Int8Matrix, gateBias: [Float], head: Int8Matrix, headBias: [Float]) {
        self.shape = shape; self.hidden = hidden
        inputStride = (shape.channels + 1) & ~1
        precondition(gates.outputs == 4 * hidden && gates.inputs == inputStride + hidden && gateBias.count == 4 * hidden)
        precondition(head.outputs == shape.classes && head.inputs == hidden + shape.statsDim
            && headBias.count == shape.classes && featureScales.count == head.inputs)
        self.inputScale = inputScale; self.hiddenScale = hiddenScale; self.featureScales = featureScales
        self.gates = gates; self.gateBias = gateBias; self.head = head; self.headBias = headBias
        inverseFeatureScales = featureScales.map { $0 > 0 ? 1 / $0 : 0 }
    }

    public var parameterBytes: Int {
        gates.byteCount + head.byteCount + 4 * (gateBias.count + headBias.count + featureScales.count + 2)
    }

    public var weightBytes: Int { gates.byteCount + head.byteCount }

    // MARK: Inference

    /// Width of the sequence part of the head input: the hidden state after the last packet.
    public var sequenceFeatureCount: Int { hidden }

    /// The sequence part of each flow's head input (`sequenceFeatureCount` values at
    /// `out + n * stride`): the hidden state after the flow's last valid packet (zeros for
    /// an empty flow), what `predictProba` computes before the statistics join in. Two
    /// flows are stepped together.
    public func encodeSequences(_ batch: NNBatch, scratch: LSTMInt8Scratch, into out: UnsafeMutablePointer<Float>, stride: Int) {
        batch.check(shape)
        precondition(stride >= sequenceFeatureCount)
        let t = shape.seqLen, c = shape.channels, cs = inputStride, h = hidden, g4 = 4 * h
        let rowLen = 2 * gates.pairs
        let zq = scratch.zq.ensure(2 * rowLen)
        let acc = scratch.acc.ensure(2 * gates.paddedOutputs + head.paddedOutputs)
        let fbuf = scratch.f.ensure(2 * g4 + 4 * h)
        let seq = batch.sequences.baseAddress!
        let invIn = 1 / inputScale, invH = 1 / hiddenScale
        let wg = scratch.widened.weights(gates, slot: 0)
        gates.scales.withUnsafeBufferPointer { dqg in
        gateBias.withUnsafeBufferPointer { bg in
          var n = 0
          while n < batch.count {
            let pair = n + 1 < batch.count ? 2 : 1
            let o = out + n * stride
            var lens = (shape.clampedLength(batch.lengths[n]), 0)
            if pair == 2 { lens.1 = shape.clampedLength(batch.lengths[n + 1]) }
            zq.update(repeating: 0, count: 2 * rowLen)
            let cst = fbuf + 2 * g4, hst = cst + 2 * h
            cst.update(repeating: 0, count: 4 * h)
            for r in 0 ..< pair { (o + r * stride).update(repeating: 0, count: h) }
            let steps = max(lens.0, lens.1)
            for s in 0 ..< steps {
                let active0 = s < lens.0, active1 = pair == 2 && s < lens.1
                for r in 0 ..< 2 where r == 0 ? active0 : active1 {
                    Int8Kernels.quantize(seq + ((n + r) * t + s) * c, count: c, inverseScale: invIn, into: zq + r * rowLen)
                }
                let a0 = acc, a1 = acc + gates.paddedOutputs
                if active0 && active1 {
                    Int8Kernels.matvec2(zq, zq + rowLen, widened: wg, pairs: gates.pairs, blocks: gates.blocks, into: a0, a1)
                } else if active0 {
                    Int8Kernels.matvec(zq, widened: wg, pairs: gates.pairs, blocks: gates.blocks, into: a0)
                } else {
                    Int8Kernels.matvec(zq + rowLen, widened: wg, pairs: gates.pairs, blocks: gates.blocks, into: a1)
                }
                for r in 0 ..< 2 where r == 0 ? active0 : active1 {
                    let a = r == 0 ? a0 : a1, g = fbuf + r * g4
                    for o in 0 ..< g4 { g[o] = Float(a[o]) * dqg[o] + bg[o] }
                    let hr = hst + r * h
                    LSTMModel.cell(gates: g, c: cst + r * h, h: hr, hidden: h)
                    Int8Kernels.quantize(hr, count: h, inverseScale: invH, into: zq + r * rowLen + cs)
                    if s == (r == 0 ? lens.0 : lens.1) - 1 { (o + r * stride).update(from: hr, count: h) }
                }
            }
            n += pair
          }
        } }
    }

    /// The sequence part of a flow and of the flow with each of its first `removed` packets
    /// removed in turn: row 0 of `out` (stride `stride`) is what `encodeSequences` gives the
    /// first sequence of `batch`; row 1 + p what it gives that sequence with packet p removed
    /// (later packets shifted left, one packet shorter). The same values: a row without
    /// packet p sees the flow's own packets 0..<p first, so its recurrence starts from the
    /// flow's own state after packet p − 1 instead of running those steps again (two such
    /// rows are stepped together, as in `encodeSequences`).
    public func encodeRemovals(_ batch: NNBatch, removed: Int, scratch: LSTMInt8Scratch,
                               into out: UnsafeMutablePointer<Float>, stride: Int) {
        batch.check(shape)
        precondition(batch.count >= 1 && stride >= sequenceFeatureCount)
        let len = shape.clampedLength(batch.lengths[0])
        precondition(removed >= 0 && removed <= len)
        let c = shape.channels, cs = inputStride, h = hidden, g4 = 4 * h
        let rowLen = 2 * gates.pairs
        let zq = scratch.zq.ensure(2 * rowLen)
        let acc = scratch.acc.ensure(2 * gates.paddedOutputs + head.paddedOutputs)
        let fbuf = scratch.f.ensure(2 * g4 + 4 * h)
        // The flow's own state (c ‖ h) before each step: states + s * 2h, s in 0...len.
        let states = scratch.states.ensure((len + 1) * 2 * h)
        let seq = batch.sequences.baseAddress!
        let invIn = 1 / inputScale, invH = 1 / hiddenScale
        let wg = scratch.widened.weights(gates, slot: 0)
        gates.scales.withUnsafeBufferPointer { dqg in
        gateBias.withUnsafeBufferPointer { bg in
            let cst = fbuf + 2 * g4, hst = cst + 2 * h
            let a0 = acc, a1 = acc + gates.paddedOutputs
            /// Finishes a step of row r (0 or 1) from its gate accumulators `a`.
            func finish(_ r: Int, _ a: UnsafeMutablePointer<Int32>) {
                let g = fbuf + r * g4
                for o in 0 ..< g4 { g[o] = Float(a[o]) * dqg[o] + bg[o] }
                let hr = hst + r * h
                LSTMModel.cell(gates: g, c: cst + r * h, h: hr, hidden: h)
                Int8Kernels.quantize(hr, count: h, inverseScale: invH, into: zq + r * rowLen + cs)
            }
            /// Sets row r's state to the flow's own state before step s.
            func load(_ r: Int, _ s: Int) {
                let st = states + s * 2 * h
                (cst + r * h).update(from: st, count: h)
                (hst + r * h).update(from: st + h, count: h)
                if s == 0 { (zq + r * rowLen + cs).update(repeating: 0, count: rowLen - cs) } else {
                    (zq + r * rowLen + cs).update(repeating: 0, count: rowLen - cs)
                    Int8Kernels.quantize(hst + r * h, count: h, inverseScale: invH, into: zq + r * rowLen + cs)
                }
            }
            // The flow itself, keeping its state before every step.
            zq.update(repeating: 0, count: 2 * rowLen)
            cst.update(repeating: 0, count: 4 * h)
            states.update(repeating: 0, count: 2 * h)
            for s in 0 ..< len {
                Int8Kernels.quantize(seq + s * c, count: c, inverseScale: invIn, into: zq)
                Int8Kernels.matvec(zq, widened: wg, pairs: gates.pairs, blocks: gates.blocks, into: a0)
                finish(0, a0)
                let st = states + (s + 1) * 2 * h
                st.update(from: cst, count: h)
                (st + h).update(from: hst, count: h)
            }
            out.update(repeating: 0, count: h)
            if len > 0 { out.update(from: states + len * 2 * h + h, count: h) }
            // Without packet p: the flow's state before step p, then steps p..<len-1 on
            // packets p+1..<len. Rows p and p+1 pair up: row p takes step p alone, then
            // both take steps p+1..<len-1 (both read packet s+1 at step s).
            var p = 0
            while p < removed {
                let pair = p + 1 < removed ? 2 : 1
                for r in 0 ..< pair { load(r, p + r) }
                if p < len - 1 {
                    Int8Kernels.quantize(seq + (p + 1) * c, count: c, inverseScale: invIn, into: zq)
                    Int8Kernels.matvec(zq, widened: wg, pairs: gates.pairs, blocks: gates.blocks, into: a0)
                    finish(0, a0)
                }
                var s = p + 1
                while s < len - 1 {
                    for r in 0 ..< pair {
                        Int8Kernels.quantize(seq + (s + 1) * c, count: c, inverseScale: invIn, into: zq + r * rowLen)
                    }
                    if pair == 2 {
                        Int8Kernels.matvec2(zq, zq + rowLen, widened: wg, pairs: gates.pairs, blocks: gates.blocks, into: a0, a1)
                        finish(0, a0); finish(1, a1)
                    } else {
                        Int8Kernels.matvec(zq, widened: wg, pairs: gates.pairs, blocks: gates.blocks, into: a0)
                        finish(0, a0)
                    }
                    s += 1
                }
                // The state after the last step (before step len−1), or zeros for an empty row.
                for r in 0 ..< pair {
                    let o = out + (1 + p + r) * stride
                    if len - 1 > 0 { o.update(from: hst + r * h, count: h) } else { o.update(repeating: 0, count: h) }
                }
                p += pair
            }
        } }
    }

    /// The head alone on `count` rows of head input ([h_last ‖ stats], `featureCount`
    /// values each): per-feature quantization (scales folded into the weights), dense, softmax.
    public func predictHead(features: UnsafePointer<Float>, count: Int, scratch: LSTMInt8Scratch,
                            into probs: UnsafeMutablePointer<Float>) {
        let acc = scratch.acc.ensure(2 * gates.paddedOutputs + head.paddedOutputs)
        let fq = scratch.fq.ensure(2 * head.pairs)
        let wh = scratch.widened.weights(head, slot: 1)
        Int8Kernels.denseSoftmax(features, count: count, head: head, widened: wh, bias: headBias,
                                 inverseFeatureScales: inverseFeatureScales, quantized: fq,
                                 acc: acc + 2 * gates.paddedOutputs, into: probs)
    }

    // MARK: Serialization

    public func encode() -> [UInt8] {
        var w = NNByteWriter()
        w.magic(Self.magic); w.u16(Self.version)
        shape.encode(into: &w)
        w.int(hidden); w.f32(inputScale); w.f32(hiddenScale); w.floats(featureScales)
        gates.encode(into: &w); w.floats(gateBias)
        head.encode(into: &w); w.floats(headBias)
        return w.bytes
    }

    public init(decoding bytes: [UInt8]) throws {
        var r = NNByteReader(bytes)
        try r.expectMagic(Self.magic); try r.expectVersion(Self.version)
        let shape = try NNShape(decoding: &r)
        let hidden = try r.int("hidden", limit: 4096)
        let inS = try r.f32("inputScale"), hS = try r.f32("hiddenScale")
        let fs = try r.floats("featureScales", count: hidden + shape.statsDim)
        let g = try Int8Matrix(decoding: &r, "gates"), gb = try r.floats("gateBias", count: 4 * hidden)
        let h = try Int8Matrix(decoding: &r, "head"), hb = try r.floats("headBias", count: shape.classes)
        try r.expectEnd()
        let cs = (shape.channels + 1) & ~1
        guard g.outputs == 4 * hidden, g.inputs == cs + hidden, h.outputs == shape.classes,
              h.inputs == hidden + shape.statsDim, inS > 0, hS > 0
        else { throw NNFormatError.invalidShape("int8 LSTM layer dimensions do not chain") }
        self.init(shape: shape, hidden: hidden, inputScale: inS, hiddenScale: hS, featureScales: fs,
                  gates: g, gateBias: gb, head: h, headBias: hb)
    }
}

/// Per-thread scratch for `LSTMInt8Model` (sized per flow pair, independent of batch size).
public final class LSTMInt8Scratch: SequenceClassifierScratch {
    let zq = NNBuffer<Int16>(zero: 0), fq = NNBuffer<Int16>(zero: 0)
    let acc = NNBuffer<Int32>(zero: 0)
    let f = NNBuffer<Float>(zero: 0), feats = NNBuffer<Float>(zero: 0), states = NNBuffer<Float>(zero: 0)
    /// Int16-widened working copy of the weights (~2 bytes per weight, refreshed per model).
    public let widened = Int8WidenedWeights()

    public init() {}

    public var headInputBuffer: NNBuffer<Float> { feats }
}
