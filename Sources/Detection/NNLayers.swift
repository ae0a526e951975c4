// Float parameter containers for the neural classifiers' layers.

/// Fully connected layer: `y = W x + b`, `weight` is `[outputs][inputs]` row-major.
public struct DenseLayer: Sendable, Equatable {
    public let inputs: Int
    public let outputs: Int
    public var weight: [Float]
    public var bias: [Float]

    public init(inputs: Int, outputs: Int, weight: [Float], bias: [Float]) {
        precondition(weight.count == inputs * outputs && bias.count == outputs, "DenseLayer shape mismatch")
        self.inputs = inputs; self.outputs = outputs; self.weight = weight; self.bias = bias
    }

    /// `y = W x + b` for `rows` inputs of `inputs` values each, into `out`
    /// (`outputs` values each).
    public func apply(_ x: UnsafePointer<Float>, rows n: Int, into out: UnsafeMutablePointer<Float>) {
        if n == 0 { return }
        bias.withUnsafeBufferPointer { NNKernels.fillRows(out, with: $0.baseAddress!, rows: n, cols: outputs) }
        weight.withUnsafeBufferPointer { w in
            NNKernels.gemm(transB: true, m: n, n: outputs, k: inputs, a: x, lda: inputs,
                           b: w.baseAddress!, ldb: inputs, beta: 1, c: out, ldc: outputs)
        }
    }

    func encode(into w: inout NNByteWriter) {
        w.int(inputs); w.int(outputs); w.floats(weight); w.floats(bias)
    }

    init(decoding r: inout NNByteReader, _ name: String) throws {
        let i = try r.int("\(name).inputs"), o = try r.int("\(name).outputs")
        let w = try r.floats("\(name).weight", count: i * o)
        let b = try r.floats("\(name).bias", count: o)
        self.init(inputs: i, outputs: o, weight: w, bias: b)
    }
}

/// "Same"-padded 1-D convolution, stride 1. `weight` is `[outChannels][kernel][inChannels]`
/// (one im2col row per output channel).
public struct Conv1DLayer: Sendable, Equatable {
    public let inChannels: Int
    public let outChannels: Int
    public let kernel: Int
    public var weight: [Float]
    public var bias: [Float]

    public init(inChannels: Int, outChannels: Int, kernel: Int, weight: [Float], bias: [Float]) {
        precondition(kernel % 2 == 1, "Conv1DLayer needs an odd kernel")
        precondition(weight.count == outChannels * kernel * inChannels && bias.count == outChannels,
                     "Conv1DLayer shape mismatch")
        self.inChannels = inChannels; self.outChannels = outChannels; self.kernel = kernel
        self.weight = weight; self.bias = bias
    }

    public var rowWidth: Int { kernel * inChannels }

    func encode(into w: inout NNByteWriter) {
        w.int(inChannels); w.int(outChannels); w.int(kernel); w.floats(weight); w.floats(bias)
    }

    init(decoding r: inout NNByteReader, _ name: String) throws {
        let i = try r.int("\(name).inChannels"), o = try r.int("\(name).outChannels")
        let k = try r.int("\(name).kernel", limit: 63)
        guard k % 2 == 1 else { throw NNFormatError.invalidShape("\(name).kernel must be odd") }
        let w = try r.floats("\(name).weight", count: o * k * i)
        let b = try r.floats("\(name).bias", count: o)
        self.init(inChannels: i, outChannels: o, kernel: k, weight: w, bias: b)
    }
}

/// One LSTM layer. Gate order i, f, g, o; `wx` is `[4*hidden][inputs]`, `wh` is
/// `[4*hidden][hidden]`, `bias` is `[4*hidden]`.
/// c_t = f*c_{t-1} + i*g, h_t = o*tanh(c_t) with σ for i, f, o and tanh for g.
public struct LSTMLayer: Sendable, Equatable {
    public let inputs: Int
    public let hidden: Int
    public var wx: [Float]
    public var wh: [Float]
    public var bias: [Float]

    public init(inputs: Int, hidden: Int, wx: [Float], wh: [Float], bias: [Float]) {
        precondition(wx.count == 4 * hidden * inputs && wh.count == 4 * hidden * hidden && bias.count == 4 * hidden,
                     "LSTMLayer shape mismatch")
        self.inputs = inputs; self.hidden = hidden; self.wx = wx; self.wh = wh; self.bias = bias
    }

    func encode(into w: inout NNByteWriter) {
        w.int(inputs); w.int(hidden); w.floats(wx); w.floats(wh); w.floats(bias)
    }

    init(decoding r: inout NNByteReader, _ name: String) throws {
        let i = try r.int("\(name).inputs"), h = try r.int("\(name).hidden", limit: 4096)
        let wx = try r.floats("\(name).wx", count: 4 * h * i)
        let wh = try r.floats("\(name).wh", count: 4 * h * h)
        let b = try r.floats("\(name).bias", count: 4 * h)
        self.init(inputs: i, hidden: h, wx: wx, wh: wh, bias: b)
    }
}
