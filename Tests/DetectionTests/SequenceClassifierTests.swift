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
    /// re-recorded by `byHand` for the 1.3 bundle (a new bundle has new
    /// weights), so they pin the shared wrappers to the by-hand path.
    enum Pinned {
        static let cnnInt8: [Float] = [
            0.9231289, 7.568807e-06, 0.064121336, 3.7468264e-05, 0.012632722, 5.5522883e-05, 1.6519725e-05,
            0.029118923, 0.9260622, 8.729833e-06, 4.3546797e-06, 5.2855254e-10, 0.04479151, 1.42542285e-05,
            1.0, 1.4121652e-17, 5.0816745e-18, 4.730206e-22, 2.9166536e-10, 1.6635013e-09, 1.1564985e-12,
        ]
        static let lstmInt8: [Float] = [
            0.94555855, 8.064811e-06, 0.03876856, 3.9879396e-06, 0.015658384, 2.410759e-06, 2.8331208e-08,
            3.6457892e-05, 0.8059906, 0.004342234, 0.12041204, 3.7136457e-11, 0.002292501, 0.06692632,
            0.33963695, 1.2840144e-13, 2.2271932e-14, 2.292154e-14, 0.66036284, 2.6008013e-07, 2.0335316e-09,
        ]
        static let cnnFloat: [Float] = [
            0.8050585, 4.2099487e-06, 0.0035107064, 1.6137818e-05, 0.19140106, 8.071197e-06, 1.3757626e-06,
            0.0016507808, 0.9260066, 4.749198e-06, 1.2899396e-06, 4.891897e-12, 0.07231075, 2.578888e-05,
            1.0, 8.248206e-22, 5.1516267e-21, 1.7228779e-25, 2.6276046e-13, 2.027441e-13, 1.1779947e-16,
        ]
        static let lstmFloat: [Float] = [
            0.97360975, 5.1205407e-06, 0.0020850815, 3.7409627e-06, 0.02429595, 3.8846545e-07, 2.6353508e-09,
            8.0540644e-07, 0.75664437, 0.0033844665, 0.12764561, 2.7257385e-13, 0.007486183, 0.10483865,
            0.8578821, 3.178824e-16, 4.672663e-16, 9.826077e-17, 0.14211792, 4.450821e-11, 4.38854e-12,
        ]
    }
}
