import Detection

/// The float classifiers as ONNX graphs, node for node the computation of
/// `CNNModel` and `LSTMModel` after the shared input preparation
/// (`InputGraph`). Both end in the same head: [sequence part ‖ normalised
/// statistics] → Gemm → Softmax, output `probabilities` float32 `[N, classes]`.
enum ClassifierGraphs {
    static let outputName = "probabilities"

    /// conv1d → ReLU → conv1d → ReLU over the valid steps, [max ‖ mean] pooled
    /// over them (`CNNModel.encodeSequences`), then the head.
    static func cnn(_ m: CNNModel, normaliser: Normaliser, statClip: Float) -> Onnx_GraphProto {
        var g = GraphBuilder(name: "flowsentry_cnn")
        let inputs = InputGraph.build(&g, normaliser: normaliser, statClip: statClip, seqLen: m.shape.seqLen)
        // Conv wants [N, C, T]; the mask follows as [N, 1, T].
        let x = g.node("Transpose", [inputs.sequence], "sequence_nct", [Attribute.ints("perm", [0, 2, 1])])
        let valid = g.node("Unsqueeze", [inputs.valid, g.constant("axis_1", int64s: [1], shape: [1])], "step_valid_nct")
        let zero = g.scalar("zero", 0)
        func conv(_ input: String, _ layer: Conv1DLayer, _ name: String) -> String {
            let w = g.constant("\(name)_weight", floats: onnxConvWeight(layer),
                               shape: [layer.outChannels, layer.inChannels, layer.kernel])
            let b = g.constant("\(name)_bias", floats: layer.bias, shape: [layer.outChannels])
            let pad = layer.kernel / 2
            let y = g.node("Conv", [input, w, b], name, [
                Attribute.ints("kernel_shape", [layer.kernel]), Attribute.ints("pads", [pad, pad]),
                Attribute.ints("strides", [1]), Attribute.ints("dilations", [1]),
            ])
            let r = g.node("Relu", [y], "\(name)_relu")
            // Steps at or past the length are zero, as `NNKernels.biasReLUMasked` leaves them.
            return g.node("Where", [valid, r, zero], "\(name)_masked")
        }
        let y2 = conv(conv(x, m.conv1, "conv1"), m.conv2, "conv2")
        // Pooling over the valid steps: the ReLU outputs are ≥ 0 and the others
        // 0, so the max over all steps is the max over the valid ones (0 for an
        // empty flow); the mean divides by the valid count (at least 1).
        let maxPool = g.node("ReduceMax", [y2], "pool_max", [Attribute.ints("axes", [2]), Attribute.int("keepdims", 0)])
        let sum = g.node("ReduceSum", [y2, g.constant("axis_2", int64s: [2], shape: [1])], "pool_sum",
                         [Attribute.int("keepdims", 0)])
        let validFloat = g.node("Cast", [inputs.valid], "step_valid_float",
                                [Attribute.int("to", Onnx_TensorProto.DataType.float.rawValue)])
        let count = g.node("ReduceSum", [validFloat, g.constant("axis_1", int64s: [1], shape: [1])], "valid_steps",
                           [Attribute.int("keepdims", 1)])
        let inverse = g.node("Reciprocal", [g.node("Max", [count, g.scalar("one", 1)], "valid_steps_at_least_1")], "valid_steps_inverse")
        let mean = g.node("Mul", [sum, inverse], "pool_mean")
        head(&g, [maxPool, mean, inputs.stats], m.head)
        return g.graph
    }

    /// One LSTM layer over the valid steps, its hidden state after the last
    /// one (zeros for an empty flow; `LSTMModel.encodeSequences`), then the head.
    static func lstm(_ m: LSTMModel, normaliser: Normaliser, statClip: Float) -> Onnx_GraphProto {
        var g = GraphBuilder(name: "flowsentry_lstm")
        let t = m.shape.seqLen, h = m.lstm.hidden, c = m.lstm.inputs
        let inputs = InputGraph.build(&g, normaliser: normaliser, statClip: statClip, seqLen: t)
        // LSTM wants [T, N, C]; its direction axis is 1 wide (forward only).
        let x = g.node("Transpose", [inputs.sequence], "sequence_tnc", [Attribute.ints("perm", [1, 0, 2])])
        let w = g.constant("lstm_w", floats: onnxGateOrder(m.lstm.wx, hidden: h, width: c), shape: [1, 4 * h, c])
        let r = g.constant("lstm_r", floats: onnxGateOrder(m.lstm.wh, hidden: h, width: h), shape: [1, 4 * h, h])
        // ONNX adds an input and a recurrent bias; ours is one, the other zero.
        let b = g.constant("lstm_b", floats: onnxGateOrder(m.lstm.bias, hidden: h, width: 1) + [Float](repeating: 0, count: 4 * h),
                           shape: [1, 8 * h])
        // sequence_lens must be 1…T: an empty flow runs one (zero) step and its
        // state is replaced by zeros below.
        let clamped = g.node("Max", [g.node("Min", [inputs.length, g.constant("seq_len", int64s: [Int64(t)], shape: [])], "length_at_most_t"),
                                     g.constant("one_i64", int64s: [1], shape: [])], "length_clamped")
        let lens = g.node("Cast", [clamped], "sequence_lens", [Attribute.int("to", Onnx_TensorProto.DataType.int32.rawValue)])
        let outs = g.node("LSTM", [x, w, r, b, lens], outputs: ["", "lstm_h_last", ""], [
            Attribute.int("hidden_size", h), Attribute.string("direction", "forward"),
        ])
        let last = g.node("Squeeze", [outs[1], g.constant("axis_0", int64s: [0], shape: [1])], "lstm_h")
        let nonEmpty = g.node("Greater", [inputs.length, g.constant("zero_i64", int64s: [0], shape: [])], "flow_not_empty")
        let nonEmptyColumn = g.node("Unsqueeze", [nonEmpty, g.constant("axis_1", int64s: [1], shape: [1])], "flow_not_empty_column")
        let state = g.node("Where", [nonEmptyColumn, last, g.scalar("zero", 0)], "lstm_h_or_0")
        head(&g, [state, inputs.stats], m.head)
        return g.graph
    }

    /// [parts ‖ …] → Gemm (`DenseLayer.apply`: `W x + b`) → Softmax.
    private static func head(_ g: inout GraphBuilder, _ parts: [String], _ layer: DenseLayer) {
        let x = g.node("Concat", parts, "head_input", [Attribute.int("axis", 1)])
        let w = g.constant("head_weight", floats: layer.weight, shape: [layer.outputs, layer.inputs])
        let b = g.constant("head_bias", floats: layer.bias, shape: [layer.outputs])
        let logits = g.node("Gemm", [x, w, b], "logits", [Attribute.int("transB", 1)])
        let p = g.node("Softmax", [logits], "softmax", [Attribute.int("axis", 1)])
        g.output(p, as: outputName, .float, shape: [.symbolic("N"), .fixed(layer.outputs)],
                 doc: "class probabilities, in the sidecar's class order")
    }

    /// Our conv weight is `[out][kernel][in]`; ONNX's is `[out][in][kernel]`.
    static func onnxConvWeight(_ l: Conv1DLayer) -> [Float] {
        var w = [Float](repeating: 0, count: l.weight.count)
        for o in 0..<l.outChannels {
            for k in 0..<l.kernel {
                for i in 0..<l.inChannels {
                    w[(o * l.inChannels + i) * l.kernel + k] = l.weight[(o * l.kernel + k) * l.inChannels + i]
                }
            }
        }
        return w
    }

    /// Our gate blocks are i, f, g, o (`LSTMLayer`); ONNX's are i, o, f, c
    /// (c being our g). Each block is `hidden` rows of `width` values.
    static func onnxGateOrder(_ v: [Float], hidden h: Int, width: Int) -> [Float] {
        let block = h * width
        precondition(v.count == 4 * block)
        let ours = ["i": 0, "f": 1, "g": 2, "o": 3]
        return ["i", "o", "f", "g"].flatMap { v[(ours[$0]! * block)..<((ours[$0]! + 1) * block)] }
    }
}
