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

    /// `input`'s probabilities, flow by flow, class by class: first recorded
    /// from each model's own wrappers at 8e1ab80 (before they were shared);
    /// re-recorded by `byHand` for the 1.5 bundle (a new bundle has new
    /// weights), so they pin the shared wrappers to the by-hand path.
    enum Pinned {
        static let cnnInt8: [Float] = [
            0.9799257, 9.7037664e-05, 0.018424165, 0.0008926371, 0.00021580243, 0.00043003054, 1.4730446e-05,
            0.39793155, 0.38122347, 1.2156823e-08, 7.3234226e-08, 0.22071025, 0.00013173706, 2.8927916e-06,
            1.0, 1.0641163e-11, 3.1782086e-12, 1.1001805e-15, 5.798108e-09, 1.3489332e-13, 1.3477319e-15,
        ]
        static let lstmInt8: [Float] = [
            0.89760983, 2.648744e-05, 0.09709495, 0.00010248111, 0.00022150943, 0.0043812594, 0.0005634308,
            0.0009533502, 0.39616337, 2.767579e-05, 0.09042089, 0.5001537, 0.009202, 0.0030790593,
            0.9999969, 1.2799154e-08, 1.5159292e-06, 3.4845996e-08, 1.3097484e-07, 1.428083e-06, 1.4930398e-08,
        ]
        static let cnnFloat: [Float] = [
            0.985314, 0.000117322765, 0.013230946, 0.000679144, 0.0003620155, 0.00028685428, 9.743217e-06,
            0.56397384, 0.28617063, 1.6202977e-08, 1.00950324e-07, 0.14960521, 0.00024369187, 6.4223786e-06,
            1.0, 1.4794006e-11, 1.3201698e-12, 6.266949e-16, 9.123632e-09, 3.1500308e-14, 3.3728685e-16,
        ]
        static let lstmFloat: [Float] = [
            0.9004381, 1.857147e-05, 0.09332426, 5.935973e-05, 0.0005222317, 0.005364653, 0.0002728475,
            0.0012154086, 0.5664853, 2.783969e-05, 0.16286197, 0.25179687, 0.009888767, 0.0077238646,
            0.99999607, 1.274329e-08, 1.7927176e-06, 2.9107214e-08, 3.101019e-07, 1.7907705e-06, 8.368443e-09,
        ]
    }
}
