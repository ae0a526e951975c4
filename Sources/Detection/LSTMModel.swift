/// Float LSTM flow classifier: one LSTM layer over the packet sequence, the hidden state after
/// the flow's last valid packet (‖ stats) → dense → softmax.
public struct LSTMModel: SequenceClassifier, Equatable {
    public static let magic = "FSLN"
    public static let version: UInt16 = 1

    public var shape: NNShape
    public var lstm: LSTMLayer
    public var head: DenseLayer

    public init(shape: NNShape, lstm: LSTMLayer, head: DenseLayer) {
        precondition(lstm.inputs == shape.channels)
        precondition(head.inputs == lstm.hidden + shape.statsDim && head.outputs == shape.classes)
        self.shape = shape; self.lstm = lstm; self.head = head
    }

    public var parameterCount: Int {
        lstm.wx.count + lstm.wh.count + lstm.bias.count + head.weight.count + head.bias.count
    }

    public var parameterBytes: Int { 4 * parameterCount }

    // MARK: Inference

    /// Runs up to the logits; leaves the head input in the scratch and, when
    /// `scratch.recordHiddenRange` is set, the max |h| seen in `scratch.hiddenAbsMax`.
    public func forward(_ batch: NNBatch, scratch: LSTMScratch, logits: UnsafeMutablePointer<Float>) {
        let feats = scratch.feats.ensure(batch.count * featureCount)
        headInputs(batch, scratch: scratch, into: feats)
        headLogits(features: feats, count: batch.count, logits: logits)
    }

    /// Width of the sequence part of the head input: the hidden state after the last packet.
    public var sequenceFeatureCount: Int { lstm.hidden }

    /// The sequence part of each flow's head input (`sequenceFeatureCount` values at
    /// `out + n * stride`): the hidden state after the flow's last valid packet (zeros for
    /// an empty flow), before the statistics join in.
    public func encodeSequences(_ batch: NNBatch, scratch: LSTMScratch, into out: UnsafeMutablePointer<Float>, stride: Int) {
        precondition(stride >= sequenceFeatureCount)
        let n = batch.count, t = shape.seqLen, c = shape.channels, h = lstm.hidden, g4 = 4 * h
        if n == 0 { return }
        let lengths = batch.lengths.baseAddress!
        var maxLen = 0
        for i in 0 ..< n { maxLen = max(maxLen, shape.clampedLength(lengths[i])) }
        let xg = scratch.gates.ensure(n * t * g4)
        let hs = scratch.h.ensure(n * h), cs = scratch.c.ensure(n * h)
        hs.update(repeating: 0, count: n * h)
        cs.update(repeating: 0, count: n * h)
        for i in 0 ..< n { (out + i * stride).update(repeating: 0, count: h) }

        lstm.bias.withUnsafeBufferPointer { NNKernels.fillRows(xg, with: $0.baseAddress!, rows: n * t, cols: g4) }
        lstm.wx.withUnsafeBufferPointer { w in
            NNKernels.gemm(transB: true, m: n * t, n: g4, k: c, a: batch.sequences.baseAddress!, lda: c,
                           b: w.baseAddress!, ldb: c, beta: 1, c: xg, ldc: g4)
        }
        var hmax: Float = scratch.hiddenAbsMax
        lstm.wh.withUnsafeBufferPointer { whp in
            for step in 0 ..< maxLen {
                if step > 0 {
                    NNKernels.gemm(transB: true, m: n, n: g4, k: h, a: hs, lda: h, b: whp.baseAddress!, ldb: h,
                                   beta: 1, c: xg + step * g4, ldc: t * g4)
                }
                for i in 0 ..< n {
                    let g = xg + (i * t + step) * g4
                    Self.cell(gates: g, c: cs + i * h, h: hs + i * h, hidden: h)
                    if step == shape.clampedLength(lengths[i]) - 1 {
                        (out + i * stride).update(from: hs + i * h, count: h)
                    }
                }
                if scratch.recordHiddenRange {
                    for k in 0 ..< n * h { hmax = max(hmax, abs(hs[k])) }
                }
            }
        }
        scratch.hiddenAbsMax = hmax
    }

    /// The dense head alone on `count` rows of head input ([h_last ‖ stats],
    /// `featureCount` values each) into logits.
    public func headLogits(features: UnsafePointer<Float>, count n: Int, logits: UnsafeMutablePointer<Float>) {
        head.apply(features, rows: n, into: logits)
    }

    /// `headLogits` followed by softmax: class probabilities, `count × classes`
    /// (the float head needs no scratch).
    public func predictHead(features: UnsafePointer<Float>, count: Int, scratch _: LSTMScratch,
                            into probs: UnsafeMutablePointer<Float>) {
        if count == 0 { return }
        headLogits(features: features, count: count, logits: probs)
        NNMath.softmaxRows(probs, rows: count, cols: shape.classes)
    }

    /// One LSTM cell update from pre-activation gates `[i|f|g|o]` (overwritten with activations).
    @inline(__always)
    public static func cell(gates g: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>,
                            h: UnsafeMutablePointer<Float>, hidden: Int) {
        var j = 0
        #if !DEBUG
        // 8 lanes at a time; same formulas as the scalar tail, so results are bit-identical.
        // (Skipped in debug builds, where generic SIMD code is very slow.)
        typealias V = SIMD8<Float>
        let gr = UnsafeMutableRawPointer(g), cr = UnsafeMutableRawPointer(c), hr = UnsafeMutableRawPointer(h)
        while j + 8 <= hidden {
            let ig = NNMath.sigmoid(gr.loadUnaligned(fromByteOffset: 4 * j, as: V.self))
            let fg = NNMath.sigmoid(gr.loadUnaligned(fromByteOffset: 4 * (hidden + j), as: V.self))
            let gg = NNMath.tanh(gr.loadUnaligned(fromByteOffset: 4 * (2 * hidden + j), as: V.self))
            let og = NNMath.sigmoid(gr.loadUnaligned(fromByteOffset: 4 * (3 * hidden + j), as: V.self))
            gr.storeBytes(of: ig, toByteOffset: 4 * j, as: V.self)
            gr.storeBytes(of: fg, toByteOffset: 4 * (hidden + j), as: V.self)
            gr.storeBytes(of: gg, toByteOffset: 4 * (2 * hidden + j), as: V.self)
            gr.storeBytes(of: og, toByteOffset: 4 * (3 * hidden + j), as: V.self)
            let cv = fg * cr.loadUnaligned(fromByteOffset: 4 * j, as: V.self) + ig * gg
            cr.storeBytes(of: cv, toByteOffset: 4 * j, as: V.self)
            hr.storeBytes(of: og * NNMath.tanh(cv), toByteOffset: 4 * j, as: V.self)
            j += 8
        }
        #endif
        while j < hidden {
            let ig = NNMath.sigmoid(g[j])
            let fg = NNMath.sigmoid(g[hidden + j])
            let gg = NNMath.tanh(g[2 * hidden + j])
            let og = NNMath.sigmoid(g[3 * hidden + j])
            g[j] = ig; g[hidden + j] = fg; g[2 * hidden + j] = gg; g[3 * hidden + j] = og
            let cv = fg * c[j] + ig * gg
            c[j] = cv
            h[j] = og * NNMath.tanh(cv)
            j += 1
        }
    }

    // MARK: Serialization

    public func encode() -> [UInt8] {
        var w = NNByteWriter()
        w.magic(Self.magic); w.u16(Self.version)
        shape.encode(into: &w)
        lstm.encode(into: &w); head.encode(into: &w)
        return w.bytes
    }

    public init(decoding bytes: [UInt8]) throws {
        var r = NNByteReader(bytes)
        try r.expectMagic(Self.magic); try r.expectVersion(Self.version)
        let shape = try NNShape(decoding: &r)
        let l = try LSTMLayer(decoding: &r, "lstm"), h = try DenseLayer(decoding: &r, "head")
        try r.expectEnd()
        guard l.inputs == shape.channels, h.inputs == l.hidden + shape.statsDim, h.outputs == shape.classes
        else { throw NNFormatError.invalidShape("LSTM layer dimensions do not chain") }
        self.init(shape: shape, lstm: l, head: h)
    }
}

/// Per-thread scratch for `LSTMModel`.
public final class LSTMScratch: SequenceClassifierScratch {
    let gates = NNBuffer<Float>(zero: 0), h = NNBuffer<Float>(zero: 0), c = NNBuffer<Float>(zero: 0)
    let feats = NNBuffer<Float>(zero: 0)
    /// When true, `forward` tracks the largest |h| into `hiddenAbsMax` (for calibration).
    public var recordHiddenRange = false
    public var hiddenAbsMax: Float = 0

    public init() {}

    public var headInputBuffer: NNBuffer<Float> { feats }

    public func headInput(count: Int, width: Int) -> UnsafeBufferPointer<Float> {
        UnsafeBufferPointer(start: feats.pointer, count: count * width)
    }
}
