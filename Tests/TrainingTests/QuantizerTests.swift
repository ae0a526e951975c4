import Testing
import Detection
import ModelFixtures
import Training

@Suite struct QuantizerTests {
    static func agreement<F, Q>(_ floatProbs: F, _ int8Probs: Q) -> (agree: Double, maxDiff: Float)
        where F: Collection<Float>, Q: Collection<Float>
    {
        let a = Array(floatProbs), b = Array(int8Probs), k = NNFixtures.shape.classes
        let fa = NNFixtures.argmax(a, classes: k), qa = NNFixtures.argmax(b, classes: k)
        let same = zip(fa, qa).filter { $0 == $1 }.count
        var md: Float = 0
        for i in 0 ..< a.count { md = max(md, abs(a[i] - b[i])) }
        return (Double(same) / Double(fa.count), md)
    }

    @Test func cnnInt8AgreesWithFloat() {
        let d = NNFixtures.test
        var pf: [Float] = [], pq: [Float] = []
        NNFixtures.cnn.predictProba(sequences: d.sequences, lengths: d.lengths, stats: d.stats, count: d.count,
                                    scratch: CNNScratch(), into: &pf)
        NNFixtures.cnnInt8.predictProba(sequences: d.sequences, lengths: d.lengths, stats: d.stats, count: d.count,
                                        scratch: CNNInt8Scratch(), into: &pq)
        let (agree, maxDiff) = Self.agreement(pf, pq)
        let acc = Double(zip(NNFixtures.argmax(pq, classes: 7), d.labels).filter { $0 == $1 }.count) / Double(d.count)
        print("CNN float/int8 argmax agreement \(agree), max |Δp| \(maxDiff), int8 accuracy \(acc)")
        #expect(agree >= 0.99)
    }

    @Test func lstmInt8AgreesWithFloat() {
        let d = NNFixtures.test
        var pf: [Float] = [], pq: [Float] = []
        NNFixtures.lstm.predictProba(sequences: d.sequences, lengths: d.lengths, stats: d.stats, count: d.count,
                                     scratch: LSTMScratch(), into: &pf)
        NNFixtures.lstmInt8.predictProba(sequences: d.sequences, lengths: d.lengths, stats: d.stats, count: d.count,
                                         scratch: LSTMInt8Scratch(), into: &pq)
        let (agree, maxDiff) = Self.agreement(pf, pq)
        let acc = Double(zip(NNFixtures.argmax(pq, classes: 7), d.labels).filter { $0 == $1 }.count) / Double(d.count)
        print("LSTM float/int8 argmax agreement \(agree), max |Δp| \(maxDiff), int8 accuracy \(acc)")
        #expect(agree >= 0.99)
    }

    @Test func int8AgreesOnTruncatedFlows() {
        // Still-open flows: score every test flow at a random prefix length.
        var d = NNFixtures.test
        var rng = NNRandom(seed: 3)
        for i in 0 ..< d.count where d.lengths[i] > 1 { d.lengths[i] = Int.random(in: 1 ... d.lengths[i], using: &rng) }
        var pf: [Float] = [], pq: [Float] = []
        NNFixtures.cnn.predictProba(sequences: d.sequences, lengths: d.lengths, stats: d.stats, count: d.count,
                                    scratch: CNNScratch(), into: &pf)
        NNFixtures.cnnInt8.predictProba(sequences: d.sequences, lengths: d.lengths, stats: d.stats, count: d.count,
                                        scratch: CNNInt8Scratch(), into: &pq)
        let cnn = Self.agreement(pf, pq)
        NNFixtures.lstm.predictProba(sequences: d.sequences, lengths: d.lengths, stats: d.stats, count: d.count,
                                     scratch: LSTMScratch(), into: &pf)
        NNFixtures.lstmInt8.predictProba(sequences: d.sequences, lengths: d.lengths, stats: d.stats, count: d.count,
                                         scratch: LSTMInt8Scratch(), into: &pq)
        let lstm = Self.agreement(pf, pq)
        print("truncated flows: CNN agreement \(cnn.agree), LSTM agreement \(lstm.agree)")
        #expect(cnn.agree >= 0.98 && lstm.agree >= 0.98)
    }

    @Test func quantizedWeightsAreAtMost30PercentOfFloat() {
        // Default-size models (F=32, hidden 32, 50 stats, 7 classes).
        let shape = NNShape(seqLen: 32, channels: SequenceEncoder.channels, statsDim: 50, classes: 7)
        let calib = NNSyntheticData.dataset(count: 70, seqLen: 32, statsDim: 50, seed: 9)
        let cnn = CNNModel.initialized(shape: shape, seed: 1), lstm = LSTMModel.initialized(shape: shape, seed: 1)
        let q = Quantizer.quantize(cnn, calibration: calib), ql = Quantizer.quantize(lstm, calibration: calib)
        let cnnFloatWeights = 4 * (cnn.conv1.weight.count + cnn.conv2.weight.count + cnn.head.weight.count)
        let lstmFloatWeights = 4 * (lstm.lstm.wx.count + lstm.lstm.wh.count + lstm.head.weight.count)
        let r1 = Double(q.weightBytes) / Double(cnnFloatWeights), r2 = Double(ql.weightBytes) / Double(lstmFloatWeights)
        let t1 = Double(q.parameterBytes) / Double(cnn.parameterBytes), t2 = Double(ql.parameterBytes) / Double(lstm.parameterBytes)
        print("weight bytes int8/float: CNN \(q.weightBytes)/\(cnnFloatWeights) = \(r1), LSTM \(ql.weightBytes)/\(lstmFloatWeights) = \(r2); all parameters incl. float biases: CNN \(t1), LSTM \(t2); serialized: CNN \(q.encode().count)/\(cnn.encode().count), LSTM \(ql.encode().count)/\(lstm.encode().count)")
        #expect(r1 <= 0.30 && r2 <= 0.30)
    }
}

@Suite struct QuantOddShapeTests {
    /// Odd channel / filter counts, kernel 5, no stats, 3 classes, empty and full-length flows.
    @Test func oddShapesMatchFloat() {
        let shape = NNShape(seqLen: 9, channels: 5, statsDim: 0, classes: 3)
        var rng = NNRandom(seed: 5)
        let n = 40
        let seq = rng.uniformArray(n * 9 * 5, bound: 1)
        var lengths = (0 ..< n).map { _ in Int.random(in: 0 ... 9, using: &rng) }
        lengths[0] = 0; lengths[1] = 9; lengths[2] = 1; lengths[3] = 12 // clamped to 9
        let labels = (0 ..< n).map { $0 % 3 }
        let data = ClassifierDataset(shape: shape, sequences: seq, lengths: lengths, labels: labels)
        let cnn = CNNModel.initialized(shape: shape, filters1: 7, filters2: 5, kernel: 5, seed: 2)
        let lstm = LSTMModel.initialized(shape: shape, hidden: 11, seed: 2)
        let q = Quantizer.quantize(cnn, calibration: data, percentile: 100)
        let ql = Quantizer.quantize(lstm, calibration: data, percentile: 100)
        var pf: [Float] = [], pq: [Float] = []
        cnn.predictProba(sequences: seq, lengths: lengths, count: n, scratch: CNNScratch(), into: &pf)
        q.predictProba(sequences: seq, lengths: lengths, count: n, scratch: CNNInt8Scratch(), into: &pq)
        var md: Float = 0
        for i in 0 ..< pf.count { md = max(md, abs(pf[i] - pq[i])) }
        #expect(md < 0.05, "CNN max |Δp| \(md)")
        lstm.predictProba(sequences: seq, lengths: lengths, count: n, scratch: LSTMScratch(), into: &pf)
        ql.predictProba(sequences: seq, lengths: lengths, count: n, scratch: LSTMInt8Scratch(), into: &pq)
        md = 0
        for i in 0 ..< pf.count { md = max(md, abs(pf[i] - pq[i])) }
        #expect(md < 0.05, "LSTM max |Δp| \(md)")
        // Empty batches are fine.
        var empty: [Float] = []
        q.predictProba(sequences: [], lengths: [], count: 0, scratch: CNNInt8Scratch(), into: &empty)
        ql.predictProba(sequences: [], lengths: [], count: 0, scratch: LSTMInt8Scratch(), into: &empty)
        cnn.predictProba(sequences: [], lengths: [], count: 0, scratch: CNNScratch(), into: &empty)
        lstm.predictProba(sequences: [], lengths: [], count: 0, scratch: LSTMScratch(), into: &empty)
        #expect(empty.isEmpty)
    }
}
