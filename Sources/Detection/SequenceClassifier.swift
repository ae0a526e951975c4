/// A flow classifier built as a sequence part and a head: the sequence part
/// (convolutions and pooling, or a recurrence) turns each flow's packet
/// sequence into `sequenceFeatureCount` values, the flow's statistics are
/// appended to them, and the head (dense layer, softmax) turns that head
/// input into class probabilities. `CNNModel`, `LSTMModel` and their int8
/// forms conform; the batch wrappers below are written once for all four.
///
/// Callers use the conforming types directly or through a generic parameter
/// (`some SequenceClassifier`), so the wrappers are specialised per model.
public protocol SequenceClassifier: Sendable {
    /// Per-thread working memory (not Sendable: one per scoring thread).
    associatedtype Scratch: SequenceClassifierScratch

    var shape: NNShape { get }

    /// Width of the sequence part of the head input.
    var sequenceFeatureCount: Int { get }

    /// The sequence part of each flow's head input: `sequenceFeatureCount`
    /// values at `out + n * stride` for flow n, before the statistics join in.
    func encodeSequences(_ batch: NNBatch, scratch: Scratch, into out: UnsafeMutablePointer<Float>, stride: Int)

    /// The head alone on `count` rows of head input (`featureCount` values
    /// each): class probabilities, `count × classes`, into `probs`.
    func predictHead(features: UnsafePointer<Float>, count: Int, scratch: Scratch,
                     into probs: UnsafeMutablePointer<Float>)
}

/// The scratch of a `SequenceClassifier`: where the batch wrappers assemble
/// head inputs.
public protocol SequenceClassifierScratch: AnyObject {
    /// Head inputs of the last batch, `count × featureCount`.
    var headInputBuffer: NNBuffer<Float> { get }
}

extension SequenceClassifier {
    /// Width of the head input: the sequence part, then the statistics.
    public var featureCount: Int { sequenceFeatureCount + shape.statsDim }

    /// Writes each flow's head input [sequence part ‖ statistics] at
    /// `out + n * featureCount`.
    public func headInputs(_ batch: NNBatch, scratch: Scratch, into out: UnsafeMutablePointer<Float>) {
        let n = batch.count, fc = featureCount, sf = sequenceFeatureCount, d = shape.statsDim
        encodeSequences(batch, scratch: scratch, into: out, stride: fc)
        if d > 0, let st = batch.stats.baseAddress {
            for i in 0 ..< n { (out + i * fc + sf).update(from: st + i * d, count: d) }
        }
    }

    /// Scores a batch; writes `count * classes` probabilities into `probs`.
    public func predictProba(_ batch: NNBatch, scratch: Scratch, into probs: UnsafeMutableBufferPointer<Float>) {
        batch.check(shape)
        precondition(probs.count >= batch.count * shape.classes)
        if batch.count == 0 { return }
        let feats = scratch.headInputBuffer.ensure(batch.count * featureCount)
        headInputs(batch, scratch: scratch, into: feats)
        predictHead(features: feats, count: batch.count, scratch: scratch, into: probs.baseAddress!)
    }

    /// Array convenience; resizes `probs` to `count * classes`.
    public func predictProba(sequences: [Float], lengths: [Int], stats: [Float] = [], count: Int,
                             scratch: Scratch, into probs: inout [Float]) {
        if probs.count != count * shape.classes { probs = [Float](repeating: 0, count: count * shape.classes) }
        NNBatch.with(sequences: sequences, lengths: lengths, stats: stats, count: count) { b in
            probs.withUnsafeMutableBufferPointer { predictProba(b, scratch: scratch, into: $0) }
        }
    }
}
