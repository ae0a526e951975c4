import Testing
import Detection
import ModelFixtures
import Training

/// The trainer learns a small synthetic task (flag, size, direction and timing patterns).
@Suite struct ClassifierTrainerTests {
    static func config() -> ClassifierTrainingConfig {
        var c = ClassifierTrainingConfig()
        c.epochs = 8
        c.batchSize = 32
        c.learningRate = 5e-3
        c.patience = 3
        c.seed = 7
        return c
    }

    static func accuracy(_ probs: [Float], _ labels: [Int], classes k: Int) -> Double {
        var ok = 0
        for i in 0 ..< labels.count {
            var arg = 0
            for j in 1 ..< k where probs[i * k + j] > probs[i * k + arg] { arg = j }
            if arg == labels[i] { ok += 1 }
        }
        return Double(ok) / Double(labels.count)
    }

    @Test func cnnLearnsSyntheticTask() {
        let train = NNSyntheticData.dataset(count: 700, seqLen: 16, statsDim: 3, seed: 1)
        let val = NNSyntheticData.dataset(count: 210, seqLen: 16, statsDim: 3, seed: 2)
        let test = NNSyntheticData.dataset(count: 350, seqLen: 16, statsDim: 3, seed: 3)
        let (model, history) = ClassifierTrainer(config: Self.config()).trainCNN(train: train, validation: val,
                                                                                 filters1: 16, filters2: 16)
        var p: [Float] = []
        model.predictProba(sequences: test.sequences, lengths: test.lengths, stats: test.stats, count: test.count,
                           scratch: CNNScratch(), into: &p)
        let acc = Self.accuracy(p, test.labels, classes: 7)
        print("CNN synthetic: test accuracy \(acc), train loss \(history.trainLoss), val loss \(history.validationLoss)")
        #expect(acc > 0.95)
        #expect(history.trainLoss.last! < history.trainLoss.first!)
    }

    @Test func lstmLearnsSyntheticTask() {
        let train = NNSyntheticData.dataset(count: 700, seqLen: 16, statsDim: 3, seed: 11)
        let val = NNSyntheticData.dataset(count: 210, seqLen: 16, statsDim: 3, seed: 12)
        let test = NNSyntheticData.dataset(count: 350, seqLen: 16, statsDim: 3, seed: 13)
        let (model, history) = ClassifierTrainer(config: Self.config()).trainLSTM(train: train, validation: val, hidden: 16)
        var p: [Float] = []
        model.predictProba(sequences: test.sequences, lengths: test.lengths, stats: test.stats, count: test.count,
                           scratch: LSTMScratch(), into: &p)
        let acc = Self.accuracy(p, test.labels, classes: 7)
        print("LSTM synthetic: test accuracy \(acc), train loss \(history.trainLoss), val loss \(history.validationLoss)")
        #expect(acc > 0.95)
    }

    @Test func trainingIsDeterministic() {
        let train = NNSyntheticData.dataset(count: 140, seqLen: 8, seed: 21)
        let val = NNSyntheticData.dataset(count: 70, seqLen: 8, seed: 22)
        var c = Self.config(); c.epochs = 2
        let a = ClassifierTrainer(config: c).trainCNN(train: train, validation: val, filters1: 8, filters2: 8)
        let b = ClassifierTrainer(config: c).trainCNN(train: train, validation: val, filters1: 8, filters2: 8)
        #expect(a.model == b.model)
        #expect(a.history.validationLoss == b.history.validationLoss)
    }

    @Test func earlyStoppingKeepsBestEpoch() {
        let train = NNSyntheticData.dataset(count: 140, seqLen: 8, seed: 31)
        let val = NNSyntheticData.dataset(count: 70, seqLen: 8, seed: 32)
        var c = Self.config(); c.epochs = 40; c.patience = 2; c.learningRate = 2e-2
        let (_, h) = ClassifierTrainer(config: c).trainLSTM(train: train, validation: val, hidden: 8)
        let best = h.validationLoss.min()!
        #expect(h.validationLoss[h.bestEpoch] == best)
        if h.stoppedEarly { #expect(h.validationLoss.count == h.bestEpoch + 1 + c.patience) }
    }

    @Test func inverseFrequencyWeights() {
        let shape = NNShape(seqLen: 1, channels: 1, statsDim: 0, classes: 3)
        let d = ClassifierDataset(shape: shape, sequences: [0, 0, 0, 0], lengths: [1, 1, 1, 1], labels: [0, 0, 0, 1])
        let w = d.inverseFrequencyWeights()
        #expect(abs(w[0] - 4.0 / 6.0) < 1e-6 && abs(w[1] - 2) < 1e-6 && w[2] == 1)
    }

    @Test func truncatedFlowsScoreLikeShortFlows() {
        // Scoring a flow with length n must only depend on its first n packets.
        let d = NNSyntheticData.dataset(count: 4, seqLen: 8, seed: 41)
        let model = CNNModel.initialized(shape: d.shape, filters1: 4, filters2: 4, seed: 1)
        var seq2 = d.sequences
        for i in 0 ..< 4 { for t in 3 ..< 8 { for c in 0 ..< d.shape.channels { seq2[(i * 8 + t) * d.shape.channels + c] = 0.77 } } }
        let lens = [Int](repeating: 3, count: 4)
        var p1: [Float] = [], p2: [Float] = []
        model.predictProba(sequences: d.sequences, lengths: lens, count: 4, scratch: CNNScratch(), into: &p1)
        model.predictProba(sequences: seq2, lengths: lens, count: 4, scratch: CNNScratch(), into: &p2)
        #expect(p1 == p2)
        let lstm = LSTMModel.initialized(shape: d.shape, hidden: 4, seed: 1)
        lstm.predictProba(sequences: d.sequences, lengths: lens, count: 4, scratch: LSTMScratch(), into: &p1)
        lstm.predictProba(sequences: seq2, lengths: lens, count: 4, scratch: LSTMScratch(), into: &p2)
        #expect(p1 == p2)
    }
}

/// Input dropout of context columns (`maskProbability`): a column the
/// trainer always hides cannot be learnt, one it never hides can.
@Suite struct ClassifierMaskTests {
    /// Two classes told apart only by statistics column 0 (±1); the
    /// sequences are all alike and column 1 is noise.
    static func data(count: Int, seed: UInt64) -> ClassifierDataset {
        var rng = NNRandom(seed: seed)
        let seqLen = 8
        var raw = [Float](repeating: 0, count: count * seqLen * 5)
        var stats = [Float](), labels = [Int](), lengths = [Int]()
        for n in 0 ..< count {
            let y = n % 2
            for t in 0 ..< 4 {
                let b = (n * seqLen + t) * 5
                raw[b] = 1; raw[b + 1] = 60; raw[b + 4] = 16; raw[b + 3] = t == 0 ? 0 : 0.01
            }
            stats += [y == 1 ? 1 : -1, Float.random(in: -1 ... 1, using: &rng)]
            labels.append(y); lengths.append(4)
        }
        let seq = SequenceEncoder(seqLen: seqLen).encode(raw: raw, lengths: lengths, count: count)
        return ClassifierDataset(shape: NNShape(seqLen: seqLen, channels: SequenceEncoder.channels, statsDim: 2, classes: 2),
                                 sequences: seq, lengths: lengths, stats: stats, labels: labels)
    }

    static func accuracy(maskProbability: Double) -> Double {
        var c = ClassifierTrainerTests.config()
        c.epochs = 6
        c.maskProbability = maskProbability
        c.maskColumns = [0]
        c.maskValues = [0]
        let (model, _) = ClassifierTrainer(config: c).trainCNN(train: data(count: 400, seed: 1), validation: data(count: 100, seed: 2),
                                                               filters1: 8, filters2: 8)
        let test = data(count: 200, seed: 3)
        var p: [Float] = []
        model.predictProba(sequences: test.sequences, lengths: test.lengths, stats: test.stats, count: test.count,
                           scratch: CNNScratch(), into: &p)
        return ClassifierTrainerTests.accuracy(p, test.labels, classes: 2)
    }

    @Test func aColumnNeverHiddenIsLearnt() {
        #expect(Self.accuracy(maskProbability: 0) > 0.95)
    }

    @Test func aColumnAlwaysHiddenIsNot() {
        // Trained on the hiding value only, the model has nothing to tell the classes by.
        #expect(Self.accuracy(maskProbability: 1) < 0.7)
    }
}
