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
    /// re-recorded by `byHand` for the 1.4 bundle (a new bundle has new
    /// weights), so they pin the shared wrappers to the by-hand path.
    enum Pinned {
        static let cnnInt8: [Float] = [
            0.14824447, 0.00031190118, 0.5224995, 8.08808e-05, 0.0008033033, 0.32793787, 0.0001220926,
            0.8919981, 0.06964807, 0.0009926573, 0.0193963, 0.0004360619, 1.45995955e-05, 0.017514253,
            0.9997304, 1.417816e-06, 0.00021506971, 2.115217e-09, 5.180234e-10, 5.2988602e-05, 9.417082e-10,
        ]
        static let lstmInt8: [Float] = [
            0.2933538, 0.0026838828, 0.70327234, 3.6784004e-05, 0.0006261411, 4.984551e-06, 2.2088201e-05,
            0.029387549, 0.0018296714, 3.0560873e-06, 0.069218285, 0.00013953315, 0.7894714, 0.10995045,
            0.99952817, 7.098298e-05, 0.00040030453, 8.58564e-08, 7.726232e-09, 2.684765e-07, 8.649817e-08,
        ]
        static let cnnFloat: [Float] = [
            0.15051648, 0.00015392757, 0.5972282, 3.752667e-05, 0.002015294, 0.25004515, 3.344672e-06,
            0.6855516, 0.08775633, 0.00030307847, 0.013776947, 6.889658e-05, 1.06557545e-05, 0.21253252,
            0.99994993, 2.665518e-07, 3.830896e-05, 3.7816228e-10, 2.1001671e-10, 1.1541767e-05, 1.8989432e-11,
        ]
        static let lstmFloat: [Float] = [
            0.37269217, 0.0009813114, 0.61818314, 4.7883523e-06, 0.00813015, 5.7724064e-06, 2.718657e-06,
            0.010991274, 0.0018413557, 1.4746441e-06, 0.16983269, 5.1012626e-06, 0.3462561, 0.47107196,
            0.9996873, 2.9364724e-05, 0.00028303257, 1.4666203e-08, 7.270451e-08, 2.2490724e-07, 7.818448e-09,
        ]
    }
}
