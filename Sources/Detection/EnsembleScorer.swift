import Features

/// Scores batches of flows with an `EnsembleModel`. One per thread: it owns
/// the scratch buffers, so scoring a batch does not allocate per flow.
/// Explanations (`detail`, `explain`) are in EnsembleExplainer.swift.
public final class EnsembleScorer {
    public let model: EnsembleModel
    public let maxBatch: Int
    let novelty: NoveltyScorer
    let cnnScratch = CNNInt8Scratch()
    let lstmScratch = LSTMInt8Scratch()
    let cnnFloatScratch = CNNScratch()
    let lstmFloatScratch = LSTMScratch()
    /// Score with the float classifiers instead of int8 (checks and benchmarks).
    public var useFloat = false
    let encoder: SequenceEncoder
    var raw: [Float]
    var encoded: [Float]
    var stats: [Float]
    var statsNorm: [Float]
    var lengths: [Int]
    var pCNN: [Float] = []
    var pLSTM: [Float] = []
    var nov = NoveltyScores()
    // Explanation scratch (EnsembleExplainer.swift), kept between alerts so
    // an explanation allocates only its result: sequence encodings of the
    // distinct sequences, head inputs of every row, the flow's own inputs,
    // the rows' verdicts.
    let encodings = NNBuffer<Float>(zero: 0)
    let headInputs = NNBuffer<Float>(zero: 0)
    var baseStats: [Float] = []
    var baseRaw: [Float] = []
    var occludedColumns: [Int] = []
    var occlusionVerdicts: [Verdict] = []
    var ranked: [(row: Int, contribution: Float)] = []
    var detailRow: [Float] = []
    var detailNovelty = NoveltyScores()

    public init(model: EnsembleModel, maxBatch: Int = 256) {
        // One scorer uses one core: OpenBLAS's own threads only add
        // scheduling overhead next to the capture threads.
        BLASRuntime.setThreadCount(1)
        self.model = model
        self.maxBatch = maxBatch
        novelty = model.novelty.makeScorer(maxBatch: maxBatch)
        encoder = SequenceEncoder(seqLen: PacketSequence.length)
        raw = Array(repeating: 0, count: maxBatch * PacketSequence.length * 5)
        encoded = Array(repeating: 0, count: maxBatch * PacketSequence.length * SequenceEncoder.channels)
        stats = Array(repeating: 0, count: maxBatch * model.statFeatures.count)
        statsNorm = stats
        lengths = Array(repeating: 0, count: maxBatch)
    }

    /// Scores `count` flows given by their features and sequences.
    public func score(features: (Int) -> FeatureVector, sequences: (Int) -> PacketSequence,
                      count: Int, into out: inout [Verdict]) {
        out.removeAll(keepingCapacity: true)
        var start = 0
        while start < count {
            let n = min(maxBatch, count - start)
            scoreChunk(start: start, n: n, features: features, sequences: sequences, into: &out)
            start += n
        }
    }

    private func scoreChunk(start: Int, n: Int, features: (Int) -> FeatureVector,
                            sequences: (Int) -> PacketSequence, into out: inout [Verdict]) {
        let d = model.statFeatures.count
        let idx = model.featureIndices
        stats.withUnsafeMutableBufferPointer { sp in
            raw.withUnsafeMutableBufferPointer { rp in
                for i in 0..<n {
                    ModelInput.stats(features(start + i), indices: idx, into: sp.baseAddress! + i * d)
                    lengths[i] = ModelInput.sequence(sequences(start + i), into: rp.baseAddress! + i * PacketSequence.length * 5)
                }
            }
        }
        scoreInputs(n: n, into: &out)
    }

    /// Scores flows given as raw statistics rows (`statFeatures` order), raw
    /// sequences (`PacketSequence.length × 5` each) and lengths.
    public func scoreRaw(stats s: [Float], raw r: [Float], lengths l: [Int], count: Int, into out: inout [Verdict]) {
        out.removeAll(keepingCapacity: true)
        let d = model.statFeatures.count, row = PacketSequence.length * 5
        var chunk: [Verdict] = []
        var start = 0
        while start < count {
            let n = min(maxBatch, count - start)
            for i in 0..<(n * d) { stats[i] = s[start * d + i] }
            for i in 0..<(n * row) { raw[i] = r[start * row + i] }
            for i in 0..<n { lengths[i] = l[start + i] }
            chunk.removeAll(keepingCapacity: true)
            scoreInputs(n: n, into: &chunk)
            out += chunk
            start += n
        }
    }

    /// Which models run for every flow. Models with no weight in the
    /// combination cannot change a verdict, so by default they run only for
    /// the flows that alert (`detail`); `scoreEveryModel` runs all four on
    /// every flow (training, checks, benchmarks).
    public var scoreEveryModel = false
    /// Benchmarks: run exactly these models (overrides the weights).
    public var onlyModels: ModelSet?

    public struct ModelSet: Sendable {
        public var cnn: Bool, lstm: Bool, novelty: Bool
        public init(cnn: Bool, lstm: Bool, novelty: Bool) { self.cnn = cnn; self.lstm = lstm; self.novelty = novelty }
    }

    /// The models that decide a verdict: those with weight in the combination
    /// (and at least one classifier, which names the class).
    var decidingModels: ModelSet {
        let w = model.weights
        func weighted(_ i: Int) -> Bool { i < w.count && w[i] > 0 }
        if let onlyModels { return onlyModels }
        if scoreEveryModel { return ModelSet(cnn: true, lstm: true, novelty: true) }
        var m = ModelSet(cnn: weighted(0), lstm: weighted(1), novelty: weighted(2) || weighted(3))
        if !m.cnn && !m.lstm { m.cnn = true; m.lstm = true }
        return m
    }

    /// Normalises and clips the first `n` rows of `stats` into `statsNorm` and
    /// encodes the first `n` sequences of `raw` into `encoded`.
    func prepare(n: Int) {
        prepareStats(n: n)
        prepareSequences(n: n)
    }

    /// Normalises and clips the first `n` rows of `stats` into `statsNorm`.
    func prepareStats(n: Int) {
        let d = model.statFeatures.count
        for i in 0..<(n * d) { statsNorm[i] = stats[i] }
        statsNorm.withUnsafeMutableBufferPointer { p in
            model.classifierNormaliser.apply(batch: UnsafeMutableBufferPointer(rebasing: p[0..<(n * d)]), rows: n)
        }
        let clip = model.statClip
        for i in 0..<(n * d) { statsNorm[i] = max(-clip, min(clip, statsNorm[i])) }
    }

    /// Encodes the first `n` sequences of `raw` into `encoded`, as the
    /// bundle's sequence view sees them (`raw` and `lengths` are rewritten to it).
    func prepareSequences(n: Int) {
        if model.sequenceView != .packets {
            raw.withUnsafeMutableBufferPointer { r in
                lengths.withUnsafeMutableBufferPointer { l in model.sequenceView.apply(rows: r, lengths: l, count: n) }
            }
        }
        raw.withUnsafeBufferPointer { r in
            lengths.withUnsafeBufferPointer { l in
                encoded.withUnsafeMutableBufferPointer { e in
                    encoder.encode(raw: r, lengths: l, count: n, into: e)
                }
            }
        }
    }

    /// Runs the chosen classifiers on the first `n` prepared rows into `pCNN` / `pLSTM`.
    func runClassifiers(n: Int, cnn runCNN: Bool, lstm runLSTM: Bool) {
        let k = model.classes.count
        withClassifierBuffers { b in
            let batch = b.batch(count: n, statsRows: n)
            let pc = UnsafeMutableBufferPointer(rebasing: b.cnn[0..<(n * k)])
            let pl = UnsafeMutableBufferPointer(rebasing: b.lstm[0..<(n * k)])
            if useFloat, let cf = model.cnnFloat, let lf = model.lstmFloat {
                if runCNN { cf.predictProba(batch, scratch: cnnFloatScratch, into: pc) }
                if runLSTM { lf.predictProba(batch, scratch: lstmFloatScratch, into: pl) }
            } else {
                if runCNN { model.cnn.predictProba(batch, scratch: cnnScratch, into: pc) }
                if runLSTM { model.lstm.predictProba(batch, scratch: lstmScratch, into: pl) }
            }
        }
    }

    /// The prepared classifier inputs (`encoded`, `lengths`, `statsNorm`)
    /// and the probability outputs (`pCNN`, `pLSTM`, sized for `maxBatch`
    /// rows here), borrowed together for the duration of `body`.
    func withClassifierBuffers<R>(_ body: (ClassifierBuffers) -> R) -> R {
        let k = model.classes.count
        if pCNN.count < maxBatch * k { pCNN = Array(repeating: 0, count: maxBatch * k); pLSTM = pCNN }
        let d = model.statFeatures.count
        return encoded.withUnsafeBufferPointer { e in
            lengths.withUnsafeBufferPointer { l in
                statsNorm.withUnsafeBufferPointer { s in
                    pCNN.withUnsafeMutableBufferPointer { pc in
                        pLSTM.withUnsafeMutableBufferPointer { pl in
                            body(ClassifierBuffers(encoded: e, lengths: l, stats: s, statsDim: d, cnn: pc, lstm: pl))
                        }
                    }
                }
            }
        }
    }

    /// Scores the first `n` rows already in `stats`, `raw` and `lengths` with
    /// the deciding models; the others' scores are NaN until `detail`.
    func scoreInputs(n: Int, into out: inout [Verdict]) {
        let m = decidingModels
        // Novelty on the raw statistics (the scorer normalises).
        if m.novelty { novelty.score(batch: stats, rows: n, into: &nov) } else { nov = NoveltyScores() }
        prepare(n: n)
        runClassifiers(n: n, cnn: m.cnn, lstm: m.lstm)
        makeVerdicts(n: n, models: m, into: &out)
    }

    /// Combines the scores of the first `n` rows (`pCNN`, `pLSTM`, `nov`) into verdicts.
    func makeVerdicts(n: Int, models m: ModelSet, into out: inout [Verdict]) {
        let k = model.classes.count
        let b = model.benignIndex
        for i in 0..<n {
            let c: Float = m.cnn ? 1 - pCNN[i * k + b] : .nan
            let l: Float = m.lstm ? 1 - pLSTM[i * k + b] : .nan
            let lof = i < nov.lof.count ? nov.lof[i] : .nan
            let oc = i < nov.ocsvm.count ? nov.ocsvm[i] : .nan
            let s = model.combine(cnn: c, lstm: l, lof: lof, ocsvm: oc)
            // Class: the classifiers' most likely attack class when they lean
            // to attack; otherwise benign, or "anomaly" when only novelty drives the score.
            var cls = b
            var best: Float = -1, second: Float = -1, secondIndex = -1
            let lean = max(c.isNaN ? 0 : c, l.isNaN ? 0 : l)
            if lean >= 0.5 {
                for j in 0..<k where j != b {
                    let p = (m.cnn ? pCNN[i * k + j] : 0) + (m.lstm ? pLSTM[i * k + j] : 0)
                    if p > best {
                        second = best; secondIndex = cls == b ? -1 : cls
                        best = p; cls = j
                    } else if p > second {
                        second = p; secondIndex = j
                    }
                }
            }
            var name = model.classes[cls]
            if cls == b && s >= model.threshold { name = "anomaly"; cls = -1 }
            var v = Verdict(classIndex: cls, className: name, score: s, threshold: model.threshold,
                            cnn: c, lstm: l, lof: lof, ocsvm: oc)
            if cls >= 0 && cls != b {
                let runs = Float((m.cnn ? 1 : 0) + (m.lstm ? 1 : 0))
                v.classProbability = best / runs
                if secondIndex >= 0 {
                    v.runnerUp = model.classes[secondIndex]
                    v.runnerUpProbability = second / runs
                }
            }
            out.append(v)
        }
    }
}

/// `EnsembleScorer`'s classifier buffers, borrowed (valid only inside
/// `withClassifierBuffers`).
struct ClassifierBuffers {
    let encoded: UnsafeBufferPointer<Float>
    let lengths: UnsafeBufferPointer<Int>
    /// Normalised statistics, `statsDim` per row.
    let stats: UnsafeBufferPointer<Float>
    let statsDim: Int
    let cnn: UnsafeMutableBufferPointer<Float>
    let lstm: UnsafeMutableBufferPointer<Float>

    /// The first `count` sequences with the first `statsRows` statistics rows.
    func batch(count: Int, statsRows: Int) -> NNBatch {
        NNBatch(sequences: UnsafeBufferPointer(rebasing: encoded[0..<(count * PacketSequence.length * SequenceEncoder.channels)]),
                lengths: UnsafeBufferPointer(rebasing: lengths[0..<count]),
                stats: UnsafeBufferPointer(rebasing: stats[0..<(statsRows * statsDim)]), count: count)
    }
}
