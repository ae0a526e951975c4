import Detection
import Features
#if canImport(Glibc)
import Glibc
#endif

/// Labelled flows as the trainer sees them: raw statistics (named by
/// `statFeatures`), raw first-packet sequences, class labels, the split each
/// flow belongs to, and the capture it came from.
package struct LabelledFlows: Sendable {
    package enum Split: UInt8, Sendable { case train = 0, validation = 1, test = 2 }
    package var classes: [String]
    package var statFeatures: [String]
    package var stats: [Float] = []
    package var raw: [Float] = []
    package var lengths: [Int] = []
    package var labels: [Int] = []
    package var split: [Split] = []
    package var source: [Int] = []
    package var sources: [String] = []
    /// Per flow, bit c set when class c's evidence holds (the sensor's
    /// evidence gate, computed when the flows were read); all bits set when unknown.
    package var evidence: [UInt8] = []
    /// Per flow, the class its behaviour verdict alerts as in the sensor
    /// (`alertingBehaviourClass`), −1 when none or not computed.
    package var behaviourClass: [Int8] = []

    package init(classes: [String], statFeatures: [String]) {
        self.classes = classes
        self.statFeatures = statFeatures
    }

    package var count: Int { labels.count }
    package var dim: Int { statFeatures.count }
    static let rawRow = PacketSequence.length * 5

    package mutating func append(stats s: UnsafeBufferPointer<Float>, raw r: UnsafeBufferPointer<Float>, length: Int,
                                label: Int, split sp: Split, source src: Int, evidence ev: UInt8 = 0xFF,
                                behaviourClass bc: Int8 = -1) {
        stats.append(contentsOf: s); raw.append(contentsOf: r)
        lengths.append(length); labels.append(label); split.append(sp); source.append(src)
        evidence.append(ev); behaviourClass.append(bc)
    }

    /// Whether flow `i`'s evidence supports class `c` (classes past the mask's 8 bits always pass).
    package func supports(_ i: Int, _ c: Int) -> Bool {
        c < 0 || c >= 8 || i >= evidence.count || evidence[i] & (1 << UInt8(c)) != 0
    }

    /// The class flow `i`'s behaviour verdict alerts as, nil when none.
    package func behaviourVerdict(_ i: Int) -> Int? {
        i < behaviourClass.count && behaviourClass[i] >= 0 ? Int(behaviourClass[i]) : nil
    }

    package func indices(_ s: Split) -> [Int] { (0..<count).filter { split[$0] == s } }

    package func gather(_ idx: [Int]) -> (stats: [Float], raw: [Float], lengths: [Int], labels: [Int]) {
        var st = [Float](), rw = [Float](), le = [Int](), la = [Int]()
        st.reserveCapacity(idx.count * dim); rw.reserveCapacity(idx.count * Self.rawRow)
        for i in idx {
            st.append(contentsOf: stats[(i * dim)..<((i + 1) * dim)])
            rw.append(contentsOf: raw[(i * Self.rawRow)..<((i + 1) * Self.rawRow)])
            le.append(lengths[i]); la.append(labels[i])
        }
        return (st, rw, le, la)
    }
}

package struct EnsembleTrainingConfig: Sendable {
    package var targetFPR: Double = 1e-3
    /// At most this many training flows per class (a deterministic sample).
    package var maxPerClass = 6000
    package var epochs = 25
    package var patience = 4
    package var learningRate: Float = 3e-3
    package var seed: UInt64 = 7
    package var novelty = NoveltyTrainingConfig()
    /// Upper bound on each novelty model's weight in the combined score:
    /// novelty learnt in one lab is unfamiliarity, not maliciousness, on another network.
    package var maxNoveltyWeight: Float = 0.1
    /// Probability that a training row's behaviour inputs (`beh_*`) are
    /// hidden (set to "no behaviour"): a flow of a campaign's first minutes,
    /// or on a network where the series is cut short, must still be found
    /// by what the flow itself shows (docs/model-card.md measured the
    /// classifiers leaning on them without it).
    package var behaviourDropout: Double = 0.5
    /// Fixed combination weights (cnn, lstm, lof, ocsvm) instead of the grid
    /// search: for studies of what each member adds (scripts/evaluate_logo.py).
    package var fixedWeights: [Float]?
    /// What the sequence models see of a flow's first packets.
    package var sequenceView: SequenceView = .packets
    /// Adversarial training of the classifiers (`FeasibleAdversary`): PGD
    /// steps per batch (0 off, 1 is FGSM) and the bound on each change.
    package var adversarialSteps = 0
    package var adversarialEpsilon: Float = 0.05
    /// The alert threshold is never below this combined score.
    package var minThreshold: Float = 0.5
    package var modelVersion = "flowsentry-ml-1"
    /// Called after each classifier epoch, for progress reports; without it
    /// the loss curves are logged when each classifier is done.
    package var onEpoch: (@Sendable (EpochProgress) -> Void)?
    package init() {
        novelty.maxReferenceRows = 2048
    }
}

package struct TrainingError: Error, CustomStringConvertible, Sendable {
    package let message: String
    package init(_ m: String) { message = m }
    package var description: String { message }
}

/// The outcome of training: the model and what it scored on held-out data.
package struct EnsembleTrainingReport: Sendable {
    package var counts: [String: [Int]] = [:]   // class → [train, validation, test]
    package var validationThreshold: Float = 0
    package var weights: [Float] = []
    /// Validation recall at the target FPR of the chosen weights, counting
    /// what can alert (a verdict whose class lacks its evidence scores 0).
    package var validationRecall = 0.0
    package var cnnHistory = ClassifierTrainingHistory()
    package var lstmHistory = ClassifierTrainingHistory()
    package var int8Agreement: [String: Double] = [:]
    package var sizeRatio: [String: Double] = [:]
    package var seconds: [String: Double] = [:]
}

package enum EnsembleTrainer {
    static func now() -> Double {
        var ts = timespec(); clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// Deterministic per-class subsample of `idx` to at most `cap` rows per class.
    static func capPerClass(_ idx: [Int], labels: [Int], cap: Int, seed: UInt64) -> [Int] {
        var byClass: [Int: [Int]] = [:]
        for i in idx { byClass[labels[i], default: []].append(i) }
        var rng = NNRandom(seed: seed)
        var out: [Int] = []
        for c in byClass.keys.sorted() {
            var rows = byClass[c]!
            if rows.count > cap {
                for i in 0..<cap { let j = i + Int(rng.next() % UInt64(rows.count - i)); rows.swapAt(i, j) }
                rows = Array(rows.prefix(cap)).sorted()
            }
            out += rows
        }
        return out
    }

    /// Classifier inputs for some rows: normalised, clipped statistics and encoded sequences.
    static func dataset(_ data: LabelledFlows, _ idx: [Int], normaliser: Normaliser, clip: Float,
                        view: SequenceView) -> ClassifierDataset {
        var g = data.gather(idx)
        g.raw.withUnsafeMutableBufferPointer { r in
            g.lengths.withUnsafeMutableBufferPointer { l in view.apply(rows: r, lengths: l, count: idx.count) }
        }
        var st = normaliser.applied(batch: g.stats, rows: idx.count)
        for i in st.indices { st[i] = max(-clip, min(clip, st[i])) }
        let enc = SequenceEncoder(seqLen: PacketSequence.length).encode(raw: g.raw, lengths: g.lengths, count: idx.count)
        return ClassifierDataset(shape: NNShape(seqLen: PacketSequence.length, channels: SequenceEncoder.channels,
                                                statsDim: data.dim, classes: data.classes.count),
                                 sequences: enc, lengths: g.lengths, stats: st, labels: g.labels)
    }

    package static func train(_ data: LabelledFlows, config: EnsembleTrainingConfig = .init(),
                             log: (String) -> Void = { _ in }) throws -> (EnsembleModel, EnsembleTrainingReport) {
        var report = EnsembleTrainingReport()
        let k = data.classes.count
        guard let benign = data.classes.firstIndex(of: "benign") else { throw TrainingError("the label set has no 'benign' class") }
        for (c, name) in data.classes.enumerated() {
            report.counts[name] = [LabelledFlows.Split.train, .validation, .test].map { s in
                (0..<data.count).filter { data.labels[$0] == c && data.split[$0] == s }.count
            }
        }
        let present = Set(data.labels)
        guard present.count >= 2 else {
            throw TrainingError("training data has one class only (\(data.classes[present.first ?? 0])): a classifier needs benign and attack flows")
        }
        let trainIdx = capPerClass(data.indices(.train), labels: data.labels, cap: config.maxPerClass, seed: config.seed)
        let valIdx = data.indices(.validation), testIdx = data.indices(.test)
        let benignTrain = data.indices(.train).filter { data.labels[$0] == benign }
        let benignVal = valIdx.filter { data.labels[$0] == benign }
        guard benignTrain.count >= 50, benignVal.count >= 20 else {
            throw TrainingError("too few benign flows (\(benignTrain.count) training, \(benignVal.count) validation) to learn a baseline")
        }
        guard valIdx.contains(where: { data.labels[$0] != benign }) else {
            throw TrainingError("the validation split has no attack flows: cannot fit ensemble weights")
        }

        // 1. Novelty side, on benign flows only.
        var t0 = now()
        let nb = data.gather(capPerClass(benignTrain, labels: data.labels, cap: 20000, seed: config.seed))
        let nv = data.gather(benignVal)
        let novelty = try NoveltyTrainer.fit(benign: nb.stats, count: nb.labels.count, dim: data.dim,
                                             validation: nv.stats, validationCount: nv.labels.count, config: config.novelty)
        report.seconds["novelty"] = now() - t0
        log("novelty: LOF k=\(config.novelty.k) and One-Class SVM on \(nb.labels.count) benign flows (\(Int(report.seconds["novelty"]!)) s)")

        // 2. Sequence classifiers on all classes.
        let clip: Float = 8
        let trainDS = dataset(data, trainIdx, normaliser: novelty.normaliser, clip: clip, view: config.sequenceView)
        let valDS = dataset(data, valIdx, normaliser: novelty.normaliser, clip: clip, view: config.sequenceView)
        var cc = ClassifierTrainingConfig()
        cc.epochs = config.epochs; cc.seed = config.seed; cc.truncationProbability = 0.3; cc.patience = config.patience
        cc.learningRate = config.learningRate
        cc.maskProbability = config.behaviourDropout
        for (c, name) in data.statFeatures.enumerated() where name.hasPrefix("beh_") {
            cc.maskColumns.append(c)
            cc.maskValues.append(max(-clip, min(clip, Float(novelty.normaliser.apply(0, column: c)))))
        }
        if config.adversarialSteps > 0 {
            cc.adversary = FeasibleAdversary(steps: config.adversarialSteps, epsilon: config.adversarialEpsilon, benign: benign,
                                             bothEnds: data.classes.map { $0 == "c2" || $0 == "tunnel" })
        }
        var trainer = ClassifierTrainer(config: cc)
        /// Reports each epoch under the model's name.
        func named(_ model: String) -> (@Sendable (EpochProgress) -> Void)? {
            guard let report = config.onEpoch else { return nil }
            return { p in var p = p; p.model = model; report(p) }
        }
        func summary(_ model: String, _ h: ClassifierTrainingHistory) {
            if config.onEpoch == nil {
                log("\(model) losses train \(h.trainLoss.map { Int($0 * 1000) }) validation \(h.validationLoss.map { Int($0 * 1000) }) (thousandths)")
            }
            log("\(model): \(h.trainLoss.count) epochs, best \(h.bestEpoch + 1), validation accuracy "
                + "\(fixedPoint(Double(h.validationAccuracy[h.bestEpoch]), 3)) (\(readableDuration(report.seconds[model]!)))")
        }
        t0 = now()
        trainer.config.onEpoch = named("cnn")
        let (cnnF, ch) = trainer.trainCNN(train: trainDS, validation: valDS)
        report.seconds["cnn"] = now() - t0
        report.cnnHistory = ch
        summary("cnn", ch)
        t0 = now()
        trainer.config.onEpoch = named("lstm")
        let (lstmF, lh) = trainer.trainLSTM(train: trainDS, validation: valDS)
        report.seconds["lstm"] = now() - t0
        report.lstmHistory = lh
        summary("lstm", lh)

        // 3. Quantize, calibrating activations on a training sample.
        let calib = dataset(data, capPerClass(trainIdx, labels: data.labels, cap: 300, seed: config.seed &+ 1),
                            normaliser: novelty.normaliser, clip: clip, view: config.sequenceView)
        let cnnQ = Quantizer.quantize(cnnF, calibration: calib)
        let lstmQ = Quantizer.quantize(lstmF, calibration: calib)
        report.sizeRatio["cnn"] = Double(cnnQ.encode().count) / Double(cnnF.encode().count)
        report.sizeRatio["lstm"] = Double(lstmQ.encode().count) / Double(lstmF.encode().count)

        // 4. Combination weights on validation, then the threshold for the target FPR.
        var model = EnsembleModel(classes: data.classes, statFeatures: data.statFeatures, novelty: novelty,
                                  cnn: cnnQ, lstm: lstmQ, cnnFloat: cnnF, lstmFloat: lstmF,
                                  weights: [1, 1, 0, 0], threshold: 1, targetFPR: config.targetFPR,
                                  meta: BundleMeta(modelVersion: config.modelVersion))
        model.meta.sequenceView = config.sequenceView.rawValue
        model.statClip = clip
        let valScores = modelScores(model, data, valIdx)
        let positive = valIdx.map { data.labels[$0] != benign }
        // What can alert: a flow whose verdict's class lacks its evidence
        // cannot (the sensor's evidence gate), so it scores 0 in the grid.
        // The class comes from the classifiers with weight: the CNN, the
        // LSTM, or both.
        var alertable: [[Bool]] = []
        for w: [Float] in [[1, 0, 0, 0], [0, 1, 0, 0], [1, 1, 0, 0]] {
            model.weights = w
            alertable.append(zip(valIdx, verdicts(model, data, valIdx)).map { data.supports($0, $1.classIndex) })
        }
        func gated(_ w: [Float]) -> [Double] {
            let a = alertable[w[0] > 0 && w[1] > 0 ? 2 : (w[0] > 0 ? 0 : 1)]
            return valScores.enumerated().map { i, v in a[i] ? Double(model.combine(cnn: v.0, lstm: v.1, lof: v.2, ocsvm: v.3)) : 0 }
        }
        var best: (Double, Double, [Float]) = (-1, -1, [1, 1, 0, 0])
        let grid: [Float] = [0, 0.25, 0.5, 0.75, 1]
        let novGrid: [Float] = [0, config.maxNoveltyWeight / 2, config.maxNoveltyWeight]
        if let w = config.fixedWeights {
            model.weights = w
            let s = gated(w)
            best = (Metrics.recall(atFPR: config.targetFPR, scores: s, positive: positive) ?? 0,
                    Metrics.rocAUC(scores: s, positive: positive) ?? 0, w)
        }
        for a in grid { for b in grid { for c in novGrid { for d in novGrid where a + b > 0 && config.fixedWeights == nil {
            let w: [Float] = [a, b, c, d]
            model.weights = w
            let s = gated(w)
            let r = Metrics.recall(atFPR: config.targetFPR, scores: s, positive: positive) ?? 0
            let auc = Metrics.rocAUC(scores: s, positive: positive) ?? 0
            if (r, auc) > (best.0, best.1) { best = (r, auc, w) }
        } } } }
        model.weights = best.2
        report.weights = best.2
        report.validationRecall = best.0
        // The threshold holds the target rate for what the sensor alerts: a
        // benign validation flow whose class lacks its evidence (the
        // sensor's evidence gate, `LabelledFlows.evidence`) cannot alert
        // whatever its score, so it does not set the threshold.
        let valVerdicts = verdicts(model, data, valIdx)
        let benignScores = zip(valIdx, valVerdicts).filter { i, v in data.labels[i] == benign && data.supports(i, v.classIndex) }
            .map { $0.1.score }
            .sorted()
        let allowed = Int((config.targetFPR * Double(benignScores.count)).rounded(.down))
        let q = benignScores[max(0, benignScores.count - 1 - allowed)]
        model.threshold = max(config.minThreshold, q.nextUp)
        report.validationThreshold = model.threshold
        log("ensemble: weights cnn \(best.2[0]) lstm \(best.2[1]) lof \(best.2[2]) ocsvm \(best.2[3]); validation recall (of what can alert) at FPR \(config.targetFPR): "
            + "\(fixedPoint(best.0, 3)); threshold \(fixedPoint(Double(model.threshold), 4))")

        // 5. Float vs int8 agreement on the test split.
        if !testIdx.isEmpty {
            let ds = dataset(data, testIdx, normaliser: novelty.normaliser, clip: clip, view: config.sequenceView)
            var pf = [Float](), pq = [Float]()
            cnnF.predictProba(sequences: ds.sequences, lengths: ds.lengths, stats: ds.stats, count: ds.count, scratch: CNNScratch(), into: &pf)
            cnnQ.predictProba(sequences: ds.sequences, lengths: ds.lengths, stats: ds.stats, count: ds.count, scratch: CNNInt8Scratch(), into: &pq)
            report.int8Agreement["cnn"] = agreement(pf, pq, k: k)
            lstmF.predictProba(sequences: ds.sequences, lengths: ds.lengths, stats: ds.stats, count: ds.count, scratch: LSTMScratch(), into: &pf)
            lstmQ.predictProba(sequences: ds.sequences, lengths: ds.lengths, stats: ds.stats, count: ds.count, scratch: LSTMInt8Scratch(), into: &pq)
            report.int8Agreement["lstm"] = agreement(pf, pq, k: k)
        }
        return (model, report)
    }

    static func agreement(_ a: [Float], _ b: [Float], k: Int) -> Double {
        let n = a.count / k
        guard n > 0 else { return 1 }
        var same = 0
        for i in 0..<n {
            let ra = a[(i * k)..<((i + 1) * k)], rb = b[(i * k)..<((i + 1) * k)]
            if ra.firstIndex(of: ra.max()!)! == rb.firstIndex(of: rb.max()!)! { same += 1 }
        }
        return Double(same) / Double(n)
    }

    /// The model's verdicts for some rows (its deciding models, as the sensor scores).
    static func verdicts(_ model: EnsembleModel, _ data: LabelledFlows, _ idx: [Int]) -> [Verdict] {
        let g = data.gather(idx)
        var v: [Verdict] = []
        EnsembleScorer(model: model).scoreRaw(stats: g.stats, raw: g.raw, lengths: g.lengths, count: idx.count, into: &v)
        return v
    }

    /// Per-model scores (cnn, lstm, lof, ocsvm) for some rows.
    static func modelScores(_ model: EnsembleModel, _ data: LabelledFlows, _ idx: [Int]) -> [(Float, Float, Float, Float)] {
        let scorer = EnsembleScorer(model: model)
        scorer.scoreEveryModel = true
        let g = data.gather(idx)
        var verdicts: [Verdict] = []
        scorer.scoreRaw(stats: g.stats, raw: g.raw, lengths: g.lengths, count: idx.count, into: &verdicts)
        return verdicts.map { ($0.cnn, $0.lstm, $0.lof, $0.ocsvm) }
    }
}
