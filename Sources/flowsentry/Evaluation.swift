import Detection
import Training

/// Scores labelled flows with a model and computes the evaluation metrics.
struct Evaluation {
    var classes: [String]
    var report: [Metrics.ClassReport]
    var confusion: [[Int]]
    var rocAUC: Double?
    var prAUC: Double?
    var recallAt1e3: Double?
    var recallAt1e4: Double?
    var fprAtThreshold: Double
    var recallAtThreshold: Double
    var flows: Int
    var perClassAUC: [String: Double] = [:]
    /// Per attack class, how often its evidence (the gate's rule) holds:
    /// for benign flows (what the rule lets a misnamed ordinary flow through
    /// with) and for the class's own flows (the most the gate lets alert).
    var evidenceHolds: [String: EvidenceCount] = [:]

    struct EvidenceCount {
        var benign = 0, benignFlows = 0, own = 0, ownFlows = 0
        var json: [String: Int] { ["benign": benign, "benign_flows": benignFlows, "class": own, "class_flows": ownFlows] }
    }

    /// Predicted class: the verdict's class when the flow is suspicious, else its
    /// behaviour verdict's class when it has one, else benign ("anomaly"
    /// verdicts count as a detection of whatever attack it was).
    static func run(model: EnsembleModel, data: LabelledFlows, split: LabelledFlows.Split?, evidenceGate: Bool = true) -> Evaluation {
        let idx = (0..<data.count).filter { split == nil || data.split[$0] == split! }
        let g = data.gather(idx)
        let scorer = EnsembleScorer(model: model)
        var verdicts: [Verdict] = []
        scorer.scoreRaw(stats: g.stats, raw: g.raw, lengths: g.lengths, count: idx.count, into: &verdicts)
        // The sensor's evidence gate: a verdict whose class lacks its evidence does not alert.
        if evidenceGate {
            for (k, i) in idx.enumerated() where verdicts[k].isSuspicious && !data.supports(i, verdicts[k].classIndex) {
                verdicts[k].unsupported = true
            }
        }
        let benign = data.classes.firstIndex(of: "benign") ?? 0
        var classes = data.classes
        if !classes.contains("anomaly") { classes.append("anomaly") }
        let anomaly = classes.firstIndex(of: "anomaly")!
        // A flow the models pass alerts by its behaviour verdict when the
        // flows were read with the policy (`LabelledFlows.behaviourClass`), as in the sensor.
        let predicted = verdicts.indices.map { k in
            let v = verdicts[k]
            if v.isSuspicious { return v.classIndex >= 0 ? v.classIndex : anomaly }
            return data.behaviourVerdict(idx[k]) ?? benign
        }
        let m = Metrics.confusion(truth: g.labels, predicted: predicted, classes: classes.count)
        let scores = verdicts.map { Double($0.score) }
        let positive = g.labels.map { $0 != benign }
        let neg = positive.filter { !$0 }.count, pos = positive.count - neg
        var fp = 0, tp = 0
        for (k, p) in positive.enumerated() where predicted[k] != benign { if p { tp += 1 } else { fp += 1 } }
        var e = Evaluation(classes: classes, report: Metrics.report(confusion: m, names: classes), confusion: m,
                           rocAUC: Metrics.rocAUC(scores: scores, positive: positive),
                           prAUC: Metrics.prAUC(scores: scores, positive: positive),
                           recallAt1e3: Metrics.recall(atFPR: 1e-3, scores: scores, positive: positive),
                           recallAt1e4: Metrics.recall(atFPR: 1e-4, scores: scores, positive: positive),
                           fprAtThreshold: neg > 0 ? Double(fp) / Double(neg) : 0,
                           recallAtThreshold: pos > 0 ? Double(tp) / Double(pos) : 0, flows: idx.count)
        for (c, name) in data.classes.enumerated() where c != benign {
            var n = EvidenceCount()
            for (k, i) in idx.enumerated() {
                let label = g.labels[k]
                guard label == benign || label == c else { continue }
                let holds = data.supports(i, c)
                if label == benign { n.benignFlows += 1; n.benign += holds ? 1 : 0 } else { n.ownFlows += 1; n.own += holds ? 1 : 0 }
            }
            e.evidenceHolds[name] = n
        }
        // One-vs-benign ROC-AUC per attack class.
        for (c, name) in data.classes.enumerated() where c != benign {
            let sel = g.labels.indices.filter { g.labels[$0] == c || g.labels[$0] == benign }
            if let auc = Metrics.rocAUC(scores: sel.map { scores[$0] }, positive: sel.map { g.labels[$0] == c }) {
                e.perClassAUC[name] = auc
            }
        }
        return e
    }

    var flatMetrics: [String: Double] {
        var m: [String: Double] = ["test.flows": Double(flows), "test.fpr_at_threshold": fprAtThreshold,
                                   "test.recall_at_threshold": recallAtThreshold]
        if let v = rocAUC { m["test.roc_auc"] = v }
        if let v = prAUC { m["test.pr_auc"] = v }
        if let v = recallAt1e3 { m["test.recall_at_fpr_1e-3"] = v }
        if let v = recallAt1e4 { m["test.recall_at_fpr_1e-4"] = v }
        for r in report where r.support > 0 {
            m["test.\(r.name).precision"] = r.precision
            m["test.\(r.name).recall"] = r.recall
            m["test.\(r.name).f1"] = r.f1
        }
        return m
    }

    func text(title: String) -> String {
        func f(_ v: Double?) -> String {
            guard let v else { return "  n/a" }
            let m = Int((v * 1000).rounded())
            let frac = String(m % 1000)
            return "\(m / 1000)." + String(repeating: "0", count: 3 - frac.count) + frac
        }
        var s = "\(title): \(flows) flows\n"
        s += "class        support  precision  recall     f1   fpr     roc_auc\n"
        for r in report where r.support > 0 || r.precision > 0 {
            let name = r.name.padding(12)
            s += "\(name) \(String(r.support).leftPadded(7))     \(f(r.precision))   \(f(r.recall))  \(f(r.f1))  \(fmtRate(r.falsePositiveRate))  \(f(perClassAUC[r.name]))\n"
        }
        s += "attack vs benign: ROC-AUC \(f(rocAUC)), PR-AUC \(f(prAUC)), recall at FPR 1e-3 \(f(recallAt1e3)), at 1e-4 \(f(recallAt1e4))\n"
        s += "at the bundle's threshold: recall \(f(recallAtThreshold)), false-positive rate \(fmtRate(fprAtThreshold))\n"
        s += "evidence holds (the gate's rule per class): for benign flows, for the class's own flows\n"
        for name in classes where evidenceHolds[name] != nil {
            let n = evidenceHolds[name]!
            s += "  \(name.padding(11)) \(String(n.benign).leftPadded(7)) of \(String(n.benignFlows).leftPadded(7))   \(String(n.own).leftPadded(7)) of \(String(n.ownFlows).leftPadded(7))\n"
        }
        s += "confusion (rows truth, columns predicted: \(classes.joined(separator: " ")))\n"
        for (i, row) in confusion.enumerated() where row.reduce(0, +) > 0 {
            s += "  \(classes[i].padding(11)) " + row.map { String($0).leftPadded(6) }.joined() + "\n"
        }
        return s
    }
}

func fmtRate(_ v: Double) -> String {
    if v == 0 { return "0     " }
    if v >= 0.001 { return String(Int((v * 10000).rounded())).leftPadded(4) + "e-4" }
    return String(Int((v * 1_000_000).rounded())).leftPadded(4) + "e-6"
}

extension String {
    func padding(_ n: Int) -> String { count >= n ? self : self + String(repeating: " ", count: n - count) }
    func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}
