import Foundation
import Testing
import Detection

/// The batch wrappers the four sequence classifiers share
/// (`SequenceClassifier`), on the bundled model's classifiers: a batch
/// scores like its flows assembled by hand (sequence part, statistics,
/// head), the array form like the pointer form, and the probabilities are
/// the ones each model gave with its own wrappers.
@Suite struct SequenceClassifierTests {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let model: EnsembleModel = try! EnsembleModel.load(path: root.appendingPathComponent("rules/flowsentry.fsb").path)

    /// Three flows: no packets, 5 packets, and more than the sequence holds (clamped).
    static func input(_ shape: NNShape) -> (sequences: [Float], lengths: [Int], stats: [Float]) {
        let lengths = [0, 5, shape.seqLen + 3]
        let sequences = (0 ..< lengths.count * shape.seqLen * shape.channels).map { Float(sin(Double($0) * 0.37)) }
        let stats = (0 ..< lengths.count * shape.statsDim).map { Float(2 * cos(Double($0) * 0.11)) }
        return (sequences, lengths, stats)
    }

    /// `predictProba` by its definition, one flow at a time: the model's
    /// sequence part, then the flow's statistics, through the head.
    static func byHand<M: SequenceClassifier>(_ m: M, scratch: M.Scratch) -> [Float] {
        let (seq, lengths, stats) = input(m.shape)
        let sf = m.sequenceFeatureCount, d = m.shape.statsDim, k = m.shape.classes
        let perFlow = m.shape.seqLen * m.shape.channels
        var out: [Float] = []
        for i in 0 ..< lengths.count {
            let one = NNBatch.with(sequences: Array(seq[(i * perFlow) ..< ((i + 1) * perFlow)]), lengths: [lengths[i]],
                                   stats: Array(stats[(i * d) ..< ((i + 1) * d)]), count: 1) { b in
                var head = [Float](repeating: .nan, count: sf)
                head.withUnsafeMutableBufferPointer { m.encodeSequences(b, scratch: scratch, into: $0.baseAddress!, stride: sf) }
                head += stats[(i * d) ..< ((i + 1) * d)]
                var p = [Float](repeating: .nan, count: k)
                p.withUnsafeMutableBufferPointer { m.predictHead(features: head, count: 1, scratch: scratch, into: $0.baseAddress!) }
                return p
            }
            out += one
        }
        return out
    }

    /// Checks `m`'s shared wrappers; `tolerance` 0 for the int8 models (integer
    /// kernels and our own Float code: exact everywhere), small for the float
    /// ones (BLAS may sum a batch in another order than a single row, and
    /// another CPU in another order than the one that recorded `pinned`).
    static func check<M: SequenceClassifier>(_ m: M, scratch: M.Scratch, headInputs: Int, pinned: [Float],
                                             tolerance: Float) {
        #expect(m.featureCount == headInputs)
        let (seq, lengths, stats) = input(m.shape)
        var probs: [Float] = []
        m.predictProba(sequences: seq, lengths: lengths, stats: stats, count: lengths.count, scratch: scratch, into: &probs)
        #expect(probs.count == lengths.count * m.shape.classes)
        let hand = byHand(m, scratch: scratch)
        for (a, b) in zip(probs, hand) { #expect(abs(a - b) <= tolerance, "batch \(a) vs by hand \(b)") }
        let pinnedTolerance: Float = tolerance == 0 ? 0 : 1e-5
        for (a, b) in zip(probs, pinned) { #expect(abs(a - b) <= pinnedTolerance, "now \(a), before \(b)") }
        #expect(probs.count == pinned.count)
        // The pointer form, into a larger buffer: nothing written past count × classes.
        var big = [Float](repeating: -1, count: probs.count + 3)
        NNBatch.with(sequences: seq, lengths: lengths, stats: stats, count: lengths.count) { b in
            big.withUnsafeMutableBufferPointer { m.predictProba(b, scratch: scratch, into: $0) }
        }
        #expect(Array(big[0 ..< probs.count]) == probs)
        #expect(big[probs.count...].allSatisfy { $0 == -1 })
    }

    @Test func cnnInt8() {
        let m = Self.model.cnn
        Self.check(m, scratch: CNNInt8Scratch(), headInputs: m.head.inputs, pinned: Pinned.cnnInt8, tolerance: 0)
    }

    @Test func lstmInt8() {
        let m = Self.model.lstm
        Self.check(m, scratch: LSTMInt8Scratch(), headInputs: m.head.inputs, pinned: Pinned.lstmInt8, tolerance: 0)
    }

    @Test func cnnFloat() throws {
        let m = try #require(Self.model.cnnFloat)
        Self.check(m, scratch: CNNScratch(), headInputs: m.head.inputs, pinned: Pinned.cnnFloat, tolerance: 1e-6)
    }

    @Test func lstmFloat() throws {
        let m = try #require(Self.model.lstmFloat)
        Self.check(m, scratch: LSTMScratch(), headInputs: m.head.inputs, pinned: Pinned.lstmFloat, tolerance: 1e-6)
    }

    @Test func emptyBatchWritesNothing() {
        let m = Self.model.cnn
        var probs: [Float] = [-1]
        NNBatch.with(sequences: [], lengths: [], stats: [], count: 0) { b in
            probs.withUnsafeMutableBufferPointer { m.predictProba(b, scratch: CNNInt8Scratch(), into: $0) }
        }
        #expect(probs == [-1])
    }

    /// `input`'s probabilities from each model's own wrappers (recorded at
    /// 8e1ab80, before they were shared), flow by flow, class by class.
    enum Pinned {
        static let cnnInt8: [Float] = [
            0.038107075, 4.1964454e-06, 0.0072325845, 4.843213e-05, 0.93123555, 0.00018815046, 0.023183968,
            0.35642868, 0.00012637631, 0.6434387, 1.3384766e-07, 7.509073e-09, 6.0926163e-06, 3.882809e-08,
            0.89437366, 0.053899582, 0.051713508, 5.8022497e-06, 1.6960823e-10, 7.352378e-06, 6.074369e-08,
        ]
        static let lstmInt8: [Float] = [
            0.0005906109, 2.5633683e-06, 0.0035749706, 1.6839788e-06, 0.99396616, 3.7313143e-06, 0.0018604302,
            4.8880634e-06, 4.7397287e-05, 0.9997328, 0.00021488365, 3.419043e-11, 3.4372305e-09, 6.444757e-09,
            0.009336827, 0.073072776, 0.10019929, 0.8173906, 2.7635995e-12, 4.947936e-07, 4.171751e-08,
        ]
        static let cnnFloat: [Float] = [
            0.019685, 4.0902484e-07, 0.0017125949, 1.1617541e-05, 0.9765737, 1.7835611e-05, 0.001998928,
            0.9951988, 0.0022578584, 0.0025430436, 3.7626542e-08, 1.6631051e-10, 2.0059792e-07, 1.2542344e-09,
            0.85240173, 0.14634681, 0.0012404247, 7.372281e-08, 6.3689752e-12, 1.0958611e-05, 3.4552505e-10,
        ]
        static let lstmFloat: [Float] = [
            1.6506989e-05, 1.7267494e-08, 6.0150337e-06, 9.920277e-09, 0.9999728, 1.2223238e-08, 4.7050944e-06,
            0.000105196545, 0.7258958, 0.11032159, 0.16367732, 7.125785e-11, 6.6993686e-09, 8.151762e-08,
            7.224807e-05, 0.54078096, 0.00010421073, 0.4590393, 4.4794706e-15, 3.2046264e-06, 4.3887374e-09,
        ]
    }
}
