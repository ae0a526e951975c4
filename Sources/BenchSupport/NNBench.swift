import Detection
import ModelFixtures
import Training

/// Throughput measurement of the neural classifiers, float (OpenBLAS sgemm) vs int8, at
/// batch 1 and batch 256 on one core, on synthetic flows (`NNSyntheticData`). Meant for
/// release builds: `flowsentry-bench --nn`.
package enum NNBench {
    package struct Result: Sendable, CustomStringConvertible {
        package var model: String
        package var precision: String
        package var batch: Int
        package var lengths: String
        package var flowsPerSecond: Double

        package var description: String {
            "\(model) \(precision) batch \(batch) (\(lengths)): \(Int(flowsPerSecond)) flows/s"
        }
    }

    /// Runs all combinations. Each measurement lasts about `seconds`; float and int8 are
    /// measured alternately `rounds` times and the best rate is kept (robust to other load).
    package static func run(flows: Int = 4096, statsDim: Int = 50, seconds: Double = 0.3, rounds: Int = 3) -> [Result] {
        NNKernels.setBLASThreads(1)
        let shape = NNShape(seqLen: 32, channels: SequenceEncoder.channels, statsDim: statsDim, classes: 7)
        let mixed = NNSyntheticData.dataset(count: flows, seqLen: 32, statsDim: statsDim, seed: 1)
        var full = mixed
        full.lengths = [Int](repeating: 32, count: flows)
        // Short training so the activations (and the quantization scales) are realistic.
        var cfg = ClassifierTrainingConfig()
        cfg.epochs = 2
        let small = mixed.batchDataset(0 ..< min(flows, 1400))
        let cnn = ClassifierTrainer(config: cfg).trainCNN(train: small, validation: small).model
        let lstm = ClassifierTrainer(config: cfg).trainLSTM(train: small, validation: small).model
        let cnnQ = Quantizer.quantize(cnn, calibration: small)
        let lstmQ = Quantizer.quantize(lstm, calibration: small)
        let cs = CNNScratch(), ls = LSTMScratch(), cqs = CNNInt8Scratch(), lqs = LSTMInt8Scratch()
        var results: [Result] = []
        for (data, name) in [(mixed, "synthetic lengths 1-32"), (full, "all 32 packets")] {
            for batch in [1, 256] {
                func compare(_ model: String, _ float: (NNBatch, UnsafeMutableBufferPointer<Float>) -> Void,
                             _ int8: (NNBatch, UnsafeMutableBufferPointer<Float>) -> Void) {
                    var bestF = 0.0, bestQ = 0.0
                    for _ in 0 ..< rounds {
                        bestF = max(bestF, throughput(data, shape: shape, batch: batch, seconds: seconds, float))
                        bestQ = max(bestQ, throughput(data, shape: shape, batch: batch, seconds: seconds, int8))
                    }
                    results.append(Result(model: model, precision: "float", batch: batch, lengths: name, flowsPerSecond: bestF))
                    results.append(Result(model: model, precision: "int8", batch: batch, lengths: name, flowsPerSecond: bestQ))
                }
                compare("CNN", { cnn.predictProba($0, scratch: cs, into: $1) },
                        { cnnQ.predictProba($0, scratch: cqs, into: $1) })
                compare("LSTM", { lstm.predictProba($0, scratch: ls, into: $1) },
                        { lstmQ.predictProba($0, scratch: lqs, into: $1) })
            }
        }
        return results
    }

    static func throughput(_ d: ClassifierDataset, shape: NNShape, batch: Int, seconds: Double,
                           _ body: (NNBatch, UnsafeMutableBufferPointer<Float>) -> Void) -> Double {
        var probs = [Float](repeating: 0, count: batch * shape.classes)
        let row = shape.seqLen * shape.channels, dd = shape.statsDim
        let clock = ContinuousClock()
        var done = 0
        let start = clock.now
        d.sequences.withUnsafeBufferPointer { seq in
            d.lengths.withUnsafeBufferPointer { len in
                d.stats.withUnsafeBufferPointer { st in
                    probs.withUnsafeMutableBufferPointer { out in
                        repeat {
                            var lo = 0
                            while lo + batch <= d.count {
                                let b = NNBatch(
                                    sequences: UnsafeBufferPointer(rebasing: seq[(lo * row) ..< ((lo + batch) * row)]),
                                    lengths: UnsafeBufferPointer(rebasing: len[lo ..< lo + batch]),
                                    stats: UnsafeBufferPointer(rebasing: st[(lo * dd) ..< ((lo + batch) * dd)]),
                                    count: batch)
                                body(b, out)
                                lo += batch; done += batch
                            }
                        } while (clock.now - start) < .seconds(seconds)
                    }
                }
            }
        }
        let elapsed = clock.now - start
        let secs = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        return Double(done) / secs
    }
}

extension ClassifierDataset {
    /// A sub-dataset of the given rows.
    package func batchDataset(_ rows: Range<Int>) -> ClassifierDataset {
        let b = batch(rows)
        return ClassifierDataset(shape: shape, sequences: b.sequences, lengths: b.lengths, stats: b.stats, labels: b.labels)
    }
}
