import Detection

/// A mini-batch for training / evaluation (layout as in `NNShape`).
package struct NNTrainingBatch: Sendable {
    package var sequences: [Float]
    package var lengths: [Int]
    package var stats: [Float]
    package var labels: [Int]
    package var count: Int

    package init(sequences: [Float], lengths: [Int], stats: [Float], labels: [Int], count: Int) {
        self.sequences = sequences; self.lengths = lengths; self.stats = stats; self.labels = labels; self.count = count
    }
}

/// A float model the trainer can fit: a fixed, ordered list of parameter tensors and a
/// loss/gradient function returning gradients in the same order.
package protocol NNTrainable: Sendable {
    var shape: NNShape { get }
    var tensors: [[Float]] { get set }
    func lossAndGradients(_ batch: NNTrainingBatch, classWeights: [Float]) -> (loss: Float, gradients: [[Float]])
    /// The gradient of the loss with respect to the encoded sequences (`count * seqLen * channels`),
    /// for adversarial training steps.
    func inputGradient(_ batch: NNTrainingBatch, classWeights: [Float]) -> [Float]
    /// Class probabilities, `count * classes`.
    func probabilities(_ batch: NNTrainingBatch) -> [Float]
}

extension CNNModel: NNTrainable {
    /// conv1.weight, conv1.bias, conv2.weight, conv2.bias, head.weight, head.bias.
    package var tensors: [[Float]] {
        get { [conv1.weight, conv1.bias, conv2.weight, conv2.bias, head.weight, head.bias] }
        set {
            conv1.weight = newValue[0]; conv1.bias = newValue[1]
            conv2.weight = newValue[2]; conv2.bias = newValue[3]
            head.weight = newValue[4]; head.bias = newValue[5]
        }
    }

    package func lossAndGradients(_ b: NNTrainingBatch, classWeights: [Float]) -> (loss: Float, gradients: [[Float]]) {
        let r = backprop(b, classWeights: classWeights, inputGradient: false)
        return (r.loss, r.gradients)
    }

    package func inputGradient(_ b: NNTrainingBatch, classWeights: [Float]) -> [Float] {
        backprop(b, classWeights: classWeights, inputGradient: true).dx!
    }

    private func backprop(_ b: NNTrainingBatch, classWeights: [Float],
                          inputGradient: Bool) -> (loss: Float, gradients: [[Float]], dx: [Float]?) {
        let n = b.count, t = shape.seqLen
        var (y1, cols1) = Backprop.convForward(conv1, x: b.sequences, count: n, seqLen: t, lengths: b.lengths)
        Backprop.reluMasked(&y1, count: n, seqLen: t, features: conv1.outChannels, lengths: b.lengths)
        var (y2, cols2) = Backprop.convForward(conv2, x: y1, count: n, seqLen: t, lengths: b.lengths)
        Backprop.reluMasked(&y2, count: n, seqLen: t, features: conv2.outChannels, lengths: b.lengths)
        var feats = [Float](repeating: 0, count: n * featureCount)
        b.stats.withUnsafeBufferPointer { st in
            CNNModel.pool(y2, count: n, seqLen: t, features: conv2.outChannels, lengths: b.lengths,
                          stats: st.baseAddress, statsDim: shape.statsDim, into: &feats)
        }
        let logits = Backprop.denseForward(head, x: feats, count: n)
        let (loss, dz) = Backprop.softmaxCrossEntropy(logits: logits, labels: b.labels, count: n,
                                                      classes: shape.classes, classWeights: classWeights)
        let gHead = Backprop.denseBackward(head, x: feats, dy: dz, count: n, inputGradient: true)
        var dy2 = Backprop.poolBackward(gHead.dx!, y: y2, count: n, seqLen: t, features: conv2.outChannels,
                                        statsDim: shape.statsDim, lengths: b.lengths)
        Backprop.reluBackward(&dy2, output: y2)
        let g2 = Backprop.convBackward(conv2, dy: dy2, cols: cols2, count: n, seqLen: t, lengths: b.lengths,
                                       inputGradient: true)
        var dy1 = g2.dx!
        Backprop.reluBackward(&dy1, output: y1)
        let g1 = Backprop.convBackward(conv1, dy: dy1, cols: cols1, count: n, seqLen: t, lengths: b.lengths,
                                       inputGradient: inputGradient)
        return (loss, [g1.dWeight, g1.dBias, g2.dWeight, g2.dBias, gHead.dWeight, gHead.dBias], g1.dx)
    }

    package func probabilities(_ b: NNTrainingBatch) -> [Float] {
        var p: [Float] = []
        predictProba(sequences: b.sequences, lengths: b.lengths, stats: b.stats, count: b.count,
                     scratch: CNNScratch(), into: &p)
        return p
    }
}

extension LSTMModel: NNTrainable {
    /// lstm.wx, lstm.wh, lstm.bias, head.weight, head.bias.
    package var tensors: [[Float]] {
        get { [lstm.wx, lstm.wh, lstm.bias, head.weight, head.bias] }
        set {
            lstm.wx = newValue[0]; lstm.wh = newValue[1]; lstm.bias = newValue[2]
            head.weight = newValue[3]; head.bias = newValue[4]
        }
    }

    package func lossAndGradients(_ b: NNTrainingBatch, classWeights: [Float]) -> (loss: Float, gradients: [[Float]]) {
        let r = backprop(b, classWeights: classWeights, inputGradient: false)
        return (r.loss, r.gradients)
    }

    package func inputGradient(_ b: NNTrainingBatch, classWeights: [Float]) -> [Float] {
        backprop(b, classWeights: classWeights, inputGradient: true).dx!
    }

    private func backprop(_ b: NNTrainingBatch, classWeights: [Float],
                          inputGradient: Bool) -> (loss: Float, gradients: [[Float]], dx: [Float]?) {
        let n = b.count, t = shape.seqLen, h = lstm.hidden, fc = featureCount, d = shape.statsDim
        let cache = Backprop.lstmForward(lstm, x: b.sequences, count: n, seqLen: t, lengths: b.lengths)
        var feats = [Float](repeating: 0, count: n * fc)
        for i in 0 ..< n {
            for j in 0 ..< h { feats[i * fc + j] = cache.last[i * h + j] }
            for j in 0 ..< d { feats[i * fc + h + j] = b.stats[i * d + j] }
        }
        let logits = Backprop.denseForward(head, x: feats, count: n)
        let (loss, dz) = Backprop.softmaxCrossEntropy(logits: logits, labels: b.labels, count: n,
                                                      classes: shape.classes, classWeights: classWeights)
        let gHead = Backprop.denseBackward(head, x: feats, dy: dz, count: n, inputGradient: true)
        var dLast = [Float](repeating: 0, count: n * h)
        for i in 0 ..< n { for j in 0 ..< h { dLast[i * h + j] = gHead.dx![i * fc + j] } }
        let g = Backprop.lstmBackward(lstm, x: b.sequences, cache: cache, dLast: dLast, lengths: b.lengths,
                                      inputGradient: inputGradient)
        return (loss, [g.dWx, g.dWh, g.dBias, gHead.dWeight, gHead.dBias], g.dx)
    }

    package func probabilities(_ b: NNTrainingBatch) -> [Float] {
        var p: [Float] = []
        predictProba(sequences: b.sequences, lengths: b.lengths, stats: b.stats, count: b.count,
                     scratch: LSTMScratch(), into: &p)
        return p
    }
}
