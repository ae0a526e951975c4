import Features

/// What the classifiers were given and gave for one flow: test vectors for
/// the exported graphs (`flowsentry export-onnx --reference`).
public struct ClassifierRow: Sendable {
    /// The raw statistics, in the bundle's feature order.
    public var stats: [Float]
    /// The raw packets, `PacketSequence.length × 5` (`ModelInput.sequence`).
    public var sequence: [Float]
    public var length: Int
    /// Class probabilities of the CNN and the LSTM (empty for one that did not run).
    public var cnn: [Float]
    public var lstm: [Float]
}

extension EnsembleScorer {
    /// Row `i` of the last chunk scored: a `score` call of at most `maxBatch`
    /// flows keeps all of them (a longer one, its last chunk only). The
    /// probabilities are the float networks' when `useFloat` is set.
    public func classifierRow(_ i: Int) -> ClassifierRow {
        let d = model.statFeatures.count, r = PacketSequence.length * 5, k = model.classes.count
        let m = decidingModels
        return ClassifierRow(stats: Array(stats[(i * d)..<((i + 1) * d)]),
                             sequence: Array(raw[(i * r)..<((i + 1) * r)]),
                             length: lengths[i],
                             cnn: m.cnn ? Array(pCNN[(i * k)..<((i + 1) * k)]) : [],
                             lstm: m.lstm ? Array(pLSTM[(i * k)..<((i + 1) * k)]) : [])
    }
}
