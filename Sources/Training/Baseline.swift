import Detection

/// Re-fits the novelty side of a model on a site's own traffic (assumed
/// benign): normaliser, LOF reference set, One-Class SVM and their
/// calibration, then raises the alert threshold if needed so that at most
/// the target false-positive rate of the site's held-out flows alert. The
/// classifiers, their input normalisation and the combination weights are kept.
package enum Baseline {
    package struct Report: Sendable {
        package var fitFlows = 0
        package var calibrationFlows = 0
        package var oldThreshold: Float = 0
        package var newThreshold: Float = 0
        /// Share of the site's held-out flows over each threshold.
        package var flaggedBefore: Double = 0
        package var flaggedAfter: Double = 0
    }

    /// `stats` are raw statistics rows in the model's schema, in time order.
    package static func refit(_ model: EnsembleModel, stats: [Float], raw: [Float], lengths: [Int], count: Int,
                             config: EnsembleTrainingConfig = .init()) throws -> (EnsembleModel, Report) {
        let d = model.statFeatures.count
        guard count >= 50 else { throw TrainingError("baseline needs at least 50 flows of the site's traffic, got \(count)") }
        // Earlier 80 % fit, later 20 % calibrate and set the threshold.
        let cut = count * 4 / 5
        var r = Report()
        r.fitFlows = cut
        r.calibrationFlows = count - cut
        r.oldThreshold = model.threshold
        let fit = Array(stats[0..<(cut * d)]), cal = Array(stats[(cut * d)...])
        var ncfg = config.novelty
        ncfg.maxReferenceRows = min(ncfg.maxReferenceRows, 4096)
        let novelty = try NoveltyTrainer.fit(benign: fit, count: cut, dim: d, validation: cal,
                                             validationCount: count - cut, config: ncfg)
        var m = model
        let before = EnsembleScorer(model: model)
        var vb: [Verdict] = []
        let rawRow = raw.count / max(count, 1)
        let calRaw = Array(raw[(cut * rawRow)...]), calLen = Array(lengths[cut...])
        before.scoreRaw(stats: cal, raw: calRaw, lengths: calLen, count: count - cut, into: &vb)
        r.flaggedBefore = Double(vb.filter(\.isSuspicious).count) / Double(max(1, vb.count))
        m.novelty = novelty
        let after = EnsembleScorer(model: m)
        var va: [Verdict] = []
        after.scoreRaw(stats: cal, raw: calRaw, lengths: calLen, count: count - cut, into: &va)
        let scores = va.map(\.score).sorted()
        let allowed = Int((m.targetFPR * Double(scores.count)).rounded(.down))
        // A baseline only ever raises the threshold: it exists to keep the
        // site's own false-positive rate at the target, never to trade the
        // trained detection rate for sensitivity.
        m.threshold = max(model.threshold, config.minThreshold, scores[max(0, scores.count - 1 - allowed)].nextUp)
        r.newThreshold = m.threshold
        var vc: [Verdict] = []
        EnsembleScorer(model: m).scoreRaw(stats: cal, raw: calRaw, lengths: calLen, count: count - cut, into: &vc)
        r.flaggedAfter = Double(vc.filter(\.isSuspicious).count) / Double(max(1, vc.count))
        return (m, r)
    }
}

extension Baseline {
    /// The model version of a bundle re-baselined for a site: the parent's
    /// version without any earlier site suffix, then "+site." and the first
    /// eight hex digits of `capturesDigest` (a hash of the site's captures),
    /// so alerts from a site's bundle never carry the stock version.
    package static func siteVersion(parent: String, capturesDigest: String) -> String {
        let base = parent.range(of: "+site.").map { String(parent[..<$0.lowerBound]) } ?? parent
        return base + "+site." + capturesDigest.prefix(8)
    }
}
