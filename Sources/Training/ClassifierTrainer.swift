import Detection

/// Labelled flows for training the neural classifiers (layout as in `NNShape`).
package struct ClassifierDataset: Sendable {
    package var shape: NNShape
    package var sequences: [Float]
    package var lengths: [Int]
    package var stats: [Float]
    package var labels: [Int]

    package init(shape: NNShape, sequences: [Float], lengths: [Int], stats: [Float] = [], labels: [Int]) {
        precondition(sequences.count == labels.count * shape.seqLen * shape.channels, "sequences/labels mismatch")
        precondition(lengths.count == labels.count && stats.count == labels.count * shape.statsDim)
        precondition(labels.allSatisfy { $0 >= 0 && $0 < shape.classes }, "label out of range")
        self.shape = shape; self.sequences = sequences; self.lengths = lengths; self.stats = stats; self.labels = labels
    }

    package var count: Int { labels.count }

    /// Gathers the given rows into a contiguous batch.
    package func batch(_ indices: some Collection<Int>) -> NNTrainingBatch {
        let row = shape.seqLen * shape.channels, d = shape.statsDim
        var seq = [Float](); seq.reserveCapacity(indices.count * row)
        var st = [Float](); st.reserveCapacity(indices.count * d)
        var lens = [Int](), labs = [Int]()
        for i in indices {
            seq.append(contentsOf: sequences[i * row ..< (i + 1) * row])
            st.append(contentsOf: stats[i * d ..< (i + 1) * d])
            lens.append(lengths[i]); labs.append(labels[i])
        }
        return NNTrainingBatch(sequences: seq, lengths: lens, stats: st, labels: labs, count: indices.count)
    }

    /// Inverse-frequency class weights, normalised to mean 1 over the classes present
    /// (absent classes get weight 1).
    package func inverseFrequencyWeights() -> [Float] {
        var counts = [Int](repeating: 0, count: shape.classes)
        for l in labels { counts[l] += 1 }
        let present = counts.filter { $0 > 0 }.count
        guard present > 0 else { return [Float](repeating: 1, count: shape.classes) }
        return counts.map { $0 > 0 ? Float(count) / Float(present * $0) : 1 }
    }
}

/// Hyper-parameters of `ClassifierTrainer`.
package struct ClassifierTrainingConfig: Sendable {
    package var epochs = 30
    package var learningRate: Float = 3e-3
    package var batchSize = 64
    /// Stop after this many epochs without a validation-loss improvement (best model kept).
    package var patience = 5
    /// Per-class loss weights; nil = inverse class frequency of the training set.
    package var classWeights: [Float]?
    package var seed: UInt64 = 42
    /// Probability that a training sequence is truncated to its first n packets, n uniform in
    /// 1...length (only the length changes: the models ignore steps past it).
    package var truncationProbability: Double = 0.3
    /// Input dropout for context columns: with this probability a training
    /// row's `maskColumns` (indices into the statistics) are set to
    /// `maskValues` (their value when nothing is known), so the classifiers
    /// also learn each class from the flow itself and do not lean on one
    /// kind of input alone.
    package var maskProbability: Double = 0
    package var maskColumns: [Int] = []
    package var maskValues: [Float] = []
    package var weightDecay: Float = 0
    package var clipNorm: Float? = 5
    /// Optional wall-clock budget in seconds (checked between epochs).
    package var timeLimit: Double?
    /// Adversarial training: each batch's attack rows are also trained on as
    /// moved by this adversary (the gradients of the two halves averaged).
    package var adversary: FeasibleAdversary?
    /// Called after each epoch (on the training thread), for progress reports.
    package var onEpoch: (@Sendable (EpochProgress) -> Void)?

    package init() {}
}

/// Loss curves of one training run.
package struct ClassifierTrainingHistory: Sendable {
    package var trainLoss: [Float] = []
    package var validationLoss: [Float] = []
    package var validationAccuracy: [Float] = []
    /// Epoch (0-based) of the returned (best) parameters.
    package var bestEpoch = 0
    package var stoppedEarly = false
}

/// Fits the float CNN / LSTM classifiers with mini-batch Adam, class-weighted cross-entropy,
/// truncation augmentation and early stopping. Deterministic for a given seed.
package struct ClassifierTrainer: Sendable {
    package var config: ClassifierTrainingConfig

    package init(config: ClassifierTrainingConfig = .init()) { self.config = config }

    package func trainCNN(train: ClassifierDataset, validation: ClassifierDataset,
                         filters1: Int = 32, filters2: Int = 32, kernel: Int = 3) -> (model: CNNModel, history: ClassifierTrainingHistory) {
        let m = CNNModel.initialized(shape: train.shape, filters1: filters1, filters2: filters2, kernel: kernel,
                                     seed: config.seed)
        return fit(m, train: train, validation: validation)
    }

    package func trainLSTM(train: ClassifierDataset, validation: ClassifierDataset,
                          hidden: Int = 32) -> (model: LSTMModel, history: ClassifierTrainingHistory) {
        let m = LSTMModel.initialized(shape: train.shape, hidden: hidden, seed: config.seed)
        return fit(m, train: train, validation: validation)
    }

    /// Trains any `NNTrainable` starting from `initial`.
    package func fit<M: NNTrainable>(_ initial: M, train: ClassifierDataset,
                                    validation: ClassifierDataset) -> (model: M, history: ClassifierTrainingHistory) {
        precondition(train.shape == initial.shape && validation.shape == initial.shape, "dataset shape mismatch")
        let weights = config.classWeights ?? train.inverseFrequencyWeights()
        precondition(weights.count == initial.shape.classes)
        var rng = NNRandom(seed: config.seed ^ 0x5EED)
        var model = initial
        var params = model.tensors
        var adam = AdamOptimizer(shapes: params.map(\.count), learningRate: config.learningRate,
                                 weightDecay: config.weightDecay, clipNorm: config.clipNorm)
        var history = ClassifierTrainingHistory()
        var best = model, bestLoss = Float.infinity, sinceBest = 0
        let start = ContinuousClock.now
        var order = Array(0 ..< train.count)
        for epoch in 0 ..< config.epochs {
            order.shuffle(using: &rng)
            var lossSum: Double = 0, batches = 0
            var lo = 0
            while lo < order.count {
                let hi = min(lo + config.batchSize, order.count)
                var b = train.batch(order[lo ..< hi])
                for i in 0 ..< b.count where b.lengths[i] > 1 && Double.random(in: 0 ..< 1, using: &rng) < config.truncationProbability {
                    b.lengths[i] = Int.random(in: 1 ... min(b.lengths[i], train.shape.seqLen), using: &rng)
                }
                if config.maskProbability > 0 {
                    let d = train.shape.statsDim
                    for i in 0 ..< b.count where Double.random(in: 0 ..< 1, using: &rng) < config.maskProbability {
                        for (c, v) in zip(config.maskColumns, config.maskValues) { b.stats[i * d + c] = v }
                    }
                }
                var (loss, grads) = model.lossAndGradients(b, classWeights: weights)
                if let adversary = config.adversary, let adv = adversary.perturb(b, model: model, classWeights: weights) {
                    let (advLoss, advGrads) = model.lossAndGradients(adv, classWeights: weights)
                    loss = (loss + advLoss) / 2
                    for k in grads.indices { for j in grads[k].indices { grads[k][j] = (grads[k][j] + advGrads[k][j]) / 2 } }
                }
                adam.update(&params, gradients: grads)
                model.tensors = params
                lossSum += Double(loss); batches += 1
                lo = hi
            }
            let trainLoss = Float(lossSum / Double(max(batches, 1)))
            history.trainLoss.append(trainLoss)
            let (vl, va) = validation.count > 0 ? Self.evaluate(model, validation, weights: weights) : (trainLoss, 0)
            history.validationLoss.append(vl)
            history.validationAccuracy.append(va)
            if let onEpoch = config.onEpoch {
                let elapsed = ContinuousClock.now - start
                onEpoch(EpochProgress(model: "classifier", epoch: epoch + 1, epochs: config.epochs, trainLoss: trainLoss,
                                      validationLoss: vl, validationAccuracy: va,
                                      elapsed: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18))
            }
            if vl < bestLoss {
                bestLoss = vl; best = model; history.bestEpoch = epoch; sinceBest = 0
            } else {
                sinceBest += 1
                if sinceBest >= config.patience { history.stoppedEarly = true; break }
            }
            if let limit = config.timeLimit, (ContinuousClock.now - start) > .seconds(limit) { break }
        }
        return (best, history)
    }

    /// Class-weighted cross-entropy and accuracy of `model` on `data`.
    package static func evaluate<M: NNTrainable>(_ model: M, _ data: ClassifierDataset,
                                                weights: [Float]) -> (loss: Float, accuracy: Float) {
        let k = data.shape.classes
        var loss: Double = 0, wsum: Double = 0, correct = 0
        var lo = 0
        while lo < data.count {
            let hi = min(lo + 512, data.count)
            let b = data.batch(lo ..< hi)
            let p = model.probabilities(b)
            for i in 0 ..< b.count {
                let y = b.labels[i], w = Double(weights[y])
                loss -= w * Double(log(max(p[i * k + y], 1e-30)))
                wsum += w
                var arg = 0
                for j in 1 ..< k where p[i * k + j] > p[i * k + arg] { arg = j }
                if arg == y { correct += 1 }
            }
            lo = hi
        }
        return (Float(loss / max(wsum, 1e-12)), Float(correct) / Float(max(data.count, 1)))
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
