#if canImport(Glibc)
import Glibc
#endif
import Features

/// The model inputs of one flow, taken from its finished features: the
/// statistics the models use (by name, from the bundle's schema) and the
/// first-packets sequence in raw form.
public enum ModelInput {
    /// Features the models use by default. Left out on purpose: the initial
    /// TCP windows (they name the operating system, not the behaviour) —
    /// learning them would make a detector trained in one lab fire on every
    /// host elsewhere.
    public static let defaultFeatures: [String] = Feature.schema.filter {
        !["fwd_init_win_bytes", "bwd_init_win_bytes"].contains($0)
    }

    /// Indices into `Feature` for schema names; nil names an unknown feature.
    public static func indices(of names: [String]) -> [Int]? {
        var out: [Int] = []
        for n in names {
            guard let i = Feature.schema.firstIndex(of: n) else { return nil }
            out.append(i)
        }
        return out
    }

    /// Writes the selected raw feature values of `v` at `out[base...]`.
    public static func stats(_ v: FeatureVector, indices: [Int], into out: UnsafeMutablePointer<Float>) {
        for (j, i) in indices.enumerated() { out[j] = Float(v.value(at: i)) }
    }

    /// Writes the sequence as `PacketSequence.length × 5` raw floats (direction,
    /// IP length, payload length, IAT seconds, flags) and returns its length.
    public static func sequence(_ s: PacketSequence, into out: UnsafeMutablePointer<Float>) -> Int {
        let n = Int(s.count)
        for t in 0..<PacketSequence.length {
            let e = t < n ? s[t] : .empty
            let o = out + t * 5
            o[0] = Float(e.direction); o[1] = Float(e.ipLength); o[2] = Float(e.payloadLength)
            o[3] = e.iat; o[4] = Float(e.tcpFlags)
        }
        return n
    }
}

/// One flow's verdict: the class, the combined score and what made it.
public struct Verdict: Sendable {
    public var classIndex: Int
    public var className: String
    /// Combined score in [0, 1]; the flow is suspicious when ≥ `threshold`.
    public var score: Float
    public var threshold: Float
    /// Per-model scores in [0, 1]: CNN and LSTM P(not benign), LOF and
    /// One-Class SVM calibrated novelty (NaN when the model is absent).
    public var cnn: Float
    public var lstm: Float
    public var lof: Float
    public var ocsvm: Float
    public var isSuspicious: Bool { score >= threshold }
    /// Filled by `EnsembleScorer.detail` for flows that alert.
    public var explanation: [Contribution] = []
    /// The LOF reference (benign) flows nearest to this one; filled by `detail`.
    public var lofNearest: [LOFNeighbour] = []

    public struct Contribution: Sendable {
        public var feature: String
        public var value: Double
        public var contribution: Float
    }
}

/// The whole detector as loaded from a bundle: normalisation, the novelty
/// models, the int8 sequence classifiers, combination weights and threshold.
public struct EnsembleModel: Sendable {
    public static let ensembleSection = "ensemble"
    public static let cnnSection = "cnn.int8", lstmSection = "lstm.int8"
    public static let cnnFloatSection = "cnn.float", lstmFloatSection = "lstm.float"
    public static let classesSection = "classes"
    public static let classifierNormSection = "norm.classifier"

    public var classes: [String]
    public var statFeatures: [String]
    public var featureIndices: [Int]
    public var novelty: NoveltyModel
    /// Normalisation of the statistics fed to the classifiers. Fixed at
    /// training: `baseline` re-fits the novelty side only.
    public var classifierNormaliser: Normaliser
    public var cnn: CNNInt8Model
    public var lstm: LSTMInt8Model
    public var cnnFloat: CNNModel?
    public var lstmFloat: LSTMModel?
    /// Weights of (cnn, lstm, lof, ocsvm) in the combined score.
    public var weights: [Float]
    public var threshold: Float
    public var targetFPR: Double
    /// Normalised statistics fed to the classifiers are clipped to ±this.
    public var statClip: Float = 8
    public var meta: BundleMeta

    public var benignIndex: Int { classes.firstIndex(of: "benign") ?? 0 }

    public init(classes: [String], statFeatures: [String], novelty: NoveltyModel, cnn: CNNInt8Model,
                lstm: LSTMInt8Model, cnnFloat: CNNModel?, lstmFloat: LSTMModel?, weights: [Float],
                threshold: Float, targetFPR: Double, meta: BundleMeta) {
        self.classes = classes
        self.statFeatures = statFeatures
        self.featureIndices = ModelInput.indices(of: statFeatures) ?? []
        self.novelty = novelty
        self.classifierNormaliser = novelty.normaliser
        self.cnn = cnn; self.lstm = lstm; self.cnnFloat = cnnFloat; self.lstmFloat = lstmFloat
        self.weights = weights; self.threshold = threshold; self.targetFPR = targetFPR; self.meta = meta
    }

    public func store(in b: inout ModelBundle) {
        b.setSchema(statFeatures)
        b.setMeta(meta)
        novelty.store(in: &b)
        b.sections[Self.classifierNormSection] = classifierNormaliser.encode()
        b.sections[Self.cnnSection] = cnn.encode()
        b.sections[Self.lstmSection] = lstm.encode()
        if let cnnFloat { b.sections[Self.cnnFloatSection] = cnnFloat.encode() }
        if let lstmFloat { b.sections[Self.lstmFloatSection] = lstmFloat.encode() }
        b.sections[Self.classesSection] = Array(classes.joined(separator: "\n").utf8)
        b.setDoubles(weights.map(Double.init) + [Double(threshold), targetFPR, Double(statClip)],
                     section: Self.ensembleSection)
    }

    /// Loads a bundle and checks it is whole and usable now (not at the first flow).
    public static func load(path: String) throws(BundleError) -> EnsembleModel {
        let b = try ModelBundle.load(path: path)
        return try EnsembleModel(bundle: b)
    }

    public init(bundle b: ModelBundle) throws(BundleError) {
        let schema = try b.schema
        guard !schema.isEmpty else { throw .missingSection(path: b.sourcePath, section: ModelBundle.schemaSection) }
        guard let idx = ModelInput.indices(of: schema) else {
            let i = schema.firstIndex { !Feature.schema.contains($0) } ?? 0
            throw .schemaMismatch(path: b.sourcePath, index: i, expected: nil, found: schema[i])
        }
        let novelty = try NoveltyModel(bundle: b, expectedSchema: nil)
        guard novelty.dim == schema.count else {
            throw .malformed(path: b.sourcePath, offset: 0, reason: "normaliser has \(novelty.dim) columns, schema \(schema.count)")
        }
        func decode<T>(_ name: String, _ f: ([UInt8]) throws -> T) throws(BundleError) -> T {
            let bytes = try b.section(name)
            do { return try f(bytes) } catch {
                throw .corruptSection(section: name, offset: 0, reason: "\(b.sourcePath): \(error)")
            }
        }
        let cnn = try decode(Self.cnnSection) { try CNNInt8Model(decoding: $0) }
        let lstm = try decode(Self.lstmSection) { try LSTMInt8Model(decoding: $0) }
        let cnnF: CNNModel? = b.sections[Self.cnnFloatSection] == nil ? nil
            : try decode(Self.cnnFloatSection) { try CNNModel(decoding: $0) }
        let lstmF: LSTMModel? = b.sections[Self.lstmFloatSection] == nil ? nil
            : try decode(Self.lstmFloatSection) { try LSTMModel(decoding: $0) }
        let classes = String(decoding: try b.section(Self.classesSection), as: UTF8.self)
            .split(separator: "\n").map(String.init)
        let e = try b.doubles(Self.ensembleSection)
        guard e.count >= 7 else {
            throw .corruptSection(section: Self.ensembleSection, offset: 0, reason: "\(b.sourcePath): expected 7 values, found \(e.count)")
        }
        for (name, m) in [("cnn", cnn.shape), ("lstm", lstm.shape)] {
            guard m.statsDim == schema.count, m.classes == classes.count else {
                throw .malformed(path: b.sourcePath, offset: 0,
                                 reason: "\(name) expects \(m.statsDim) statistics and \(m.classes) classes; bundle has \(schema.count) and \(classes.count)")
            }
        }
        self.init(classes: classes, statFeatures: schema, novelty: novelty, cnn: cnn, lstm: lstm,
                  cnnFloat: cnnF, lstmFloat: lstmF, weights: e[0..<4].map(Float.init),
                  threshold: Float(e[4]), targetFPR: e[5], meta: try b.meta)
        statClip = Float(e[6])
        featureIndices = idx
        if let bytes = b.sections[Self.classifierNormSection] {
            classifierNormaliser = try Normaliser(decoding: bytes, section: Self.classifierNormSection)
            guard classifierNormaliser.dim == schema.count else {
                throw .malformed(path: b.sourcePath, offset: 0, reason: "classifier normaliser has \(classifierNormaliser.dim) columns, schema \(schema.count)")
            }
        }
    }

    /// Combines per-model scores (NaN-safe: an absent model's weight is dropped).
    public func combine(cnn: Float, lstm: Float, lof: Float, ocsvm: Float) -> Float {
        var s: Float = 0, w: Float = 0
        for (x, wi) in zip([cnn, lstm, lof, ocsvm], weights) where x.isFinite && wi > 0 {
            s += x * wi; w += wi
        }
        return w > 0 ? s / w : 0
    }
}

/// Scores batches of flows with an `EnsembleModel`. One per thread: it owns
/// the scratch buffers, so scoring a batch does not allocate per flow.
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
    // Explanation scratch, kept between alerts so an explanation allocates
    // only its result: sequence encodings of the distinct sequences, head
    // inputs of every row, the flow's own inputs, the rows' verdicts.
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
    private func prepare(n: Int) {
        prepareStats(n: n)
        prepareSequences(n: n)
    }

    /// Normalises and clips the first `n` rows of `stats` into `statsNorm`.
    private func prepareStats(n: Int) {
        let d = model.statFeatures.count
        for i in 0..<(n * d) { statsNorm[i] = stats[i] }
        statsNorm.withUnsafeMutableBufferPointer { p in
            model.classifierNormaliser.apply(batch: UnsafeMutableBufferPointer(rebasing: p[0..<(n * d)]), rows: n)
        }
        let clip = model.statClip
        for i in 0..<(n * d) { statsNorm[i] = max(-clip, min(clip, statsNorm[i])) }
    }

    /// Encodes the first `n` sequences of `raw` into `encoded`.
    private func prepareSequences(n: Int) {
        raw.withUnsafeBufferPointer { r in
            lengths.withUnsafeBufferPointer { l in
                encoded.withUnsafeMutableBufferPointer { e in
                    encoder.encode(raw: r, lengths: l, count: n, into: e)
                }
            }
        }
    }

    /// Runs the chosen classifiers on the first `n` prepared rows into `pCNN` / `pLSTM`.
    private func runClassifiers(n: Int, cnn runCNN: Bool, lstm runLSTM: Bool) {
        let d = model.statFeatures.count
        let k = model.classes.count
        if pCNN.count < maxBatch * k { pCNN = Array(repeating: 0, count: maxBatch * k); pLSTM = pCNN }
        encoded.withUnsafeBufferPointer { e in
            lengths.withUnsafeBufferPointer { l in
                statsNorm.withUnsafeBufferPointer { s in
                    let batch = NNBatch(sequences: UnsafeBufferPointer(rebasing: e[0..<(n * PacketSequence.length * SequenceEncoder.channels)]),
                                        lengths: UnsafeBufferPointer(rebasing: l[0..<n]),
                                        stats: UnsafeBufferPointer(rebasing: s[0..<(n * d)]), count: n)
                    if useFloat, let cf = model.cnnFloat, let lf = model.lstmFloat {
                        if runCNN { pCNN.withUnsafeMutableBufferPointer { cf.predictProba(batch, scratch: cnnFloatScratch, into: UnsafeMutableBufferPointer(rebasing: $0[0..<(n * k)])) } }
                        if runLSTM { pLSTM.withUnsafeMutableBufferPointer { lf.predictProba(batch, scratch: lstmFloatScratch, into: UnsafeMutableBufferPointer(rebasing: $0[0..<(n * k)])) } }
                    } else {
                        if runCNN { pCNN.withUnsafeMutableBufferPointer { model.cnn.predictProba(batch, scratch: cnnScratch, into: UnsafeMutableBufferPointer(rebasing: $0[0..<(n * k)])) } }
                        if runLSTM { pLSTM.withUnsafeMutableBufferPointer { model.lstm.predictProba(batch, scratch: lstmScratch, into: UnsafeMutableBufferPointer(rebasing: $0[0..<(n * k)])) } }
                    }
                }
            }
        }
    }

    /// Like `runClassifiers(n: rows, …)` on the explanation's rows: rows
    /// 0..<shared all have sequence 0, row r ≥ shared has sequence r − shared + 1,
    /// which is sequence 0 without packet r − shared (`encoded` and `lengths`
    /// hold the `rows − shared + 1` distinct sequences, `statsNorm` all `rows`
    /// statistics rows). Both classifiers read the
    /// sequence only through their sequence part (CNN convolutions and
    /// pooling, LSTM recurrence) and join the statistics in the dense head, so
    /// the sequence part runs once per distinct sequence and only the head per
    /// row — the same arithmetic on the same values as the full path.
    private func runClassifiers(rows: Int, shared: Int, cnn runCNN: Bool, lstm runLSTM: Bool) {
        let d = model.statFeatures.count
        let k = model.classes.count
        let seqRows = rows - shared + 1
        if pCNN.count < maxBatch * k { pCNN = Array(repeating: 0, count: maxBatch * k); pLSTM = pCNN }
        let encodings = self.encodings, headInputs = self.headInputs
        encoded.withUnsafeBufferPointer { e in
            lengths.withUnsafeBufferPointer { l in
                statsNorm.withUnsafeBufferPointer { s in
                    let batch = NNBatch(sequences: UnsafeBufferPointer(rebasing: e[0..<(seqRows * PacketSequence.length * SequenceEncoder.channels)]),
                                        lengths: UnsafeBufferPointer(rebasing: l[0..<seqRows]),
                                        stats: UnsafeBufferPointer(rebasing: s[0..<(seqRows * d)]), count: seqRows)
                    /// Sequence part once per distinct sequence, then the head inputs
                    /// [sequence part ‖ statistics] of every row, then the head.
                    func run(width sf: Int, encode: (UnsafeMutablePointer<Float>) -> Void,
                             head: (UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void,
                             into p: UnsafeMutablePointer<Float>) {
                        let fc = sf + d
                        let enc = encodings.ensure(seqRows * sf)
                        encode(enc)
                        let hi = headInputs.ensure(rows * fc)
                        for r in 0..<rows {
                            let q = r < shared ? 0 : r - shared + 1
                            (hi + r * fc).update(from: enc + q * sf, count: sf)
                            if d > 0 { (hi + r * fc + sf).update(from: s.baseAddress! + r * d, count: d) }
                        }
                        head(hi, p)
                    }
                    if useFloat, let cf = model.cnnFloat, let lf = model.lstmFloat {
                        if runCNN {
                            pCNN.withUnsafeMutableBufferPointer { p in
                                run(width: cf.sequenceFeatureCount,
                                    encode: { cf.encodeSequences(batch, scratch: cnnFloatScratch, into: $0, stride: cf.sequenceFeatureCount) },
                                    head: { cf.predictHead(features: $0, count: rows, scratch: cnnFloatScratch, into: $1) }, into: p.baseAddress!)
                            }
                        }
                        if runLSTM {
                            pLSTM.withUnsafeMutableBufferPointer { p in
                                run(width: lf.sequenceFeatureCount,
                                    encode: { lf.encodeSequences(batch, scratch: lstmFloatScratch, into: $0, stride: lf.sequenceFeatureCount) },
                                    head: { lf.predictHead(features: $0, count: rows, scratch: lstmFloatScratch, into: $1) }, into: p.baseAddress!)
                            }
                        }
                    } else {
                        let cnn = model.cnn, lstm = model.lstm
                        if runCNN {
                            pCNN.withUnsafeMutableBufferPointer { p in
                                run(width: cnn.sequenceFeatureCount,
                                    encode: { cnn.encodeSequences(batch, scratch: cnnScratch, into: $0, stride: cnn.sequenceFeatureCount) },
                                    head: { cnn.predictHead(features: $0, count: rows, scratch: cnnScratch, into: $1) }, into: p.baseAddress!)
                            }
                        }
                        if runLSTM {
                            // Sequences 1 + p are sequence 0 without packet p: their
                            // recurrence can start from sequence 0's state (same values).
                            let removals = seqRows - 1 <= lstm.shape.clampedLength(l[0])
                            pLSTM.withUnsafeMutableBufferPointer { p in
                                run(width: lstm.sequenceFeatureCount,
                                    encode: {
                                        if removals {
                                            lstm.encodeRemovals(batch, removed: seqRows - 1, scratch: lstmScratch, into: $0, stride: lstm.sequenceFeatureCount)
                                        } else {
                                            lstm.encodeSequences(batch, scratch: lstmScratch, into: $0, stride: lstm.sequenceFeatureCount)
                                        }
                                    },
                                    head: { lstm.predictHead(features: $0, count: rows, scratch: lstmScratch, into: $1) }, into: p.baseAddress!)
                            }
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

    /// The explanation's rows: `rows` statistics rows in `stats`, of which rows
    /// 0..<shared share sequence 0 and each later row r has its own sequence
    /// r − shared + 1 (sequence 0 without packet r − shared) in `raw` / `lengths`. Same verdicts as `scoreInputs` on
    /// the rows with their sequences written out in full.
    func scoreInputs(rows: Int, shared: Int, into out: inout [Verdict]) {
        let m = decidingModels
        if m.novelty { novelty.score(batch: stats, rows: rows, into: &nov) } else { nov = NoveltyScores() }
        prepareStats(n: rows)
        prepareSequences(n: rows - shared + 1)
        runClassifiers(rows: rows, shared: shared, cnn: m.cnn, lstm: m.lstm)
        makeVerdicts(n: rows, models: m, into: &out)
    }

    /// Combines the scores of the first `n` rows (`pCNN`, `pLSTM`, `nov`) into verdicts.
    private func makeVerdicts(n: Int, models m: ModelSet, into out: inout [Verdict]) {
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
            let lean = max(c.isNaN ? 0 : c, l.isNaN ? 0 : l)
            if lean >= 0.5 {
                var best: Float = -1
                for j in 0..<k where j != b {
                    let p = (m.cnn ? pCNN[i * k + j] : 0) + (m.lstm ? pLSTM[i * k + j] : 0)
                    if p > best { best = p; cls = j }
                }
            }
            var name = model.classes[cls]
            if cls == b && s >= model.threshold { name = "anomaly"; cls = -1 }
            out.append(Verdict(classIndex: cls, className: name, score: s, threshold: model.threshold,
                               cnn: c, lstm: l, lof: lof, ocsvm: oc))
        }
    }

    /// Everything an alert reports beyond the verdict: the scores of the
    /// models that did not decide it, the explanation, and the LOF reference
    /// flows nearest to it. Called for flows that alert.
    public func detail(_ v: inout Verdict, features f: FeatureVector, sequence s: PacketSequence, top: Int = 5) {
        v.explanation = explain(features: f, sequence: s, top: top)
        // Row 0 of the buffers holds the flow itself after `explain`.
        let d = model.statFeatures.count, b = model.benignIndex
        let m = decidingModels
        if !m.cnn || !m.lstm {
            prepare(n: 1)
            runClassifiers(n: 1, cnn: !m.cnn, lstm: !m.lstm)
            if !m.cnn { v.cnn = 1 - pCNN[b] }
            if !m.lstm { v.lstm = 1 - pLSTM[b] }
        }
        if detailRow.count != d { detailRow = [Float](repeating: 0, count: d) }
        for j in 0..<d { detailRow[j] = stats[j] }
        if !m.novelty {
            novelty.score(batch: detailRow, rows: 1, into: &detailNovelty)
            if !detailNovelty.lof.isEmpty { v.lof = detailNovelty.lof[0] }
            if !detailNovelty.ocsvm.isEmpty { v.ocsvm = detailNovelty.ocsvm[0] }
        }
        v.lofNearest = novelty.nearestReferences(row: detailRow, count: top)
    }

    /// Explains a verdict: the five statistics or packet positions whose
    /// replacement by a typical benign value (the normaliser's median; a
    /// dropped packet) changes the combined score most, with the signed
    /// change in log-odds (positive: the feature raised the score).
    public func explain(features v: FeatureVector, sequence s: PacketSequence, top: Int = 5) -> [Verdict.Contribution] {
        let d = model.statFeatures.count
        let seqWidth = PacketSequence.length * 5
        if baseStats.count != d { baseStats = [Float](repeating: 0, count: d) }
        if baseRaw.count != seqWidth { baseRaw = [Float](repeating: 0, count: seqWidth) }
        baseStats.withUnsafeMutableBufferPointer { ModelInput.stats(v, indices: model.featureIndices, into: $0.baseAddress!) }
        let len = baseRaw.withUnsafeMutableBufferPointer { ModelInput.sequence(s, into: $0.baseAddress!) }
        // Statistics already at their benign median (normalised 0) would
        // be replaced by themselves: their contribution is exactly 0, so
        // they get no row.
        occludedColumns.removeAll(keepingCapacity: true)
        for f in 0..<d where model.classifierNormaliser.apply(Double(baseStats[f]), column: f) != 0 { occludedColumns.append(f) }
        let columns = occludedColumns.count
        let packets = max(0, min(Int(s.count), maxBatch - 1 - columns))
        // Row 0: the flow itself; then one row per statistic set to its
        // benign median (rows 0...columns all have the flow's own sequence);
        // then one row per packet with that packet removed, which has the
        // flow's statistics and sequence 1 + p.
        let rows = 1 + columns + packets
        for r in 0..<rows {
            for j in 0..<d { stats[r * d + j] = baseStats[j] }
        }
        for (k, f) in occludedColumns.enumerated() {
            stats[(1 + k) * d + f] = Float(model.classifierNormaliser.invert(0, column: f))
        }
        // Distinct sequences: 0 the flow's own, 1 + p without packet p.
        for q in 0..<(1 + packets) {
            for j in 0..<seqWidth { raw[q * seqWidth + j] = baseRaw[j] }
            lengths[q] = len
        }
        for p in 0..<packets {
            // Remove packet p: shift the later packets left.
            let o = (1 + p) * seqWidth
            for t in p..<(PacketSequence.length - 1) {
                for c in 0..<5 { raw[o + t * 5 + c] = raw[o + (t + 1) * 5 + c] }
            }
            lengths[1 + p] = max(0, len - 1)
        }
        occlusionVerdicts.removeAll(keepingCapacity: true)
        scoreInputs(rows: rows, shared: 1 + columns, into: &occlusionVerdicts)
        // Contributions in log-odds, so they stay informative when the
        // score itself is saturated near 1.
        func logit(_ p: Float) -> Float {
            let q = min(max(p, 1e-7), 1 - 1e-7)
            return log(q / (1 - q))
        }
        let full = logit(occlusionVerdicts[0].score)
        // Rank rows 1..<rows (statistics first, then packets, as before) and
        // name only the ones reported.
        ranked.removeAll(keepingCapacity: true)
        for r in 1..<rows { ranked.append((r, full - logit(occlusionVerdicts[r].score))) }
        ranked.sort { abs($0.contribution) > abs($1.contribution) }
        var out: [Verdict.Contribution] = []
        out.reserveCapacity(min(top, ranked.count))
        for (r, delta) in ranked.prefix(top) {
            if r <= columns {
                let f = occludedColumns[r - 1]
                out.append(.init(feature: model.statFeatures[f], value: Double(baseStats[f]), contribution: delta))
            } else {
                let p = r - 1 - columns
                out.append(.init(feature: "packet[\(p)]", value: Double(baseRaw[p * 5 + 1]) * Double(baseRaw[p * 5]),
                                 contribution: delta))
            }
        }
        return out
    }
}

extension EnsembleScorer {
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
}
