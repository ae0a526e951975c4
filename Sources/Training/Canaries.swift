import Detection
import Features

/// A bundle's canary set: a few dozen attack flows per class, held out from
/// training, that the bundle caught when they were chosen, stored as the
/// scorer takes them (raw statistics in the bundle's schema order, the raw
/// first-packet sequence and its length) with their combined score then.
/// `baseline` scores them with the re-fitted model: a site's "normal"
/// traffic that would make the bundle miss its own known attacks is
/// refused (`BaselineGuard`).
///
/// Section "canaries" layout (BundleWriter): tag "CNRY", classes and
/// statistics names (each a string joined by "\n"), then per flow arrays:
/// statistics (count × dim f32), sequences (count × `PacketSequence.length`
/// × 5 f32), lengths (i32), class indices into the classes (i32), scores (f32).
package struct CanarySet: Sendable, Equatable {
    package static let section = "canaries"
    /// Flows kept per attack class by default.
    package static let defaultPerClass = 32
    static let rawRow = PacketSequence.length * 5

    package var classes: [String]
    package var statFeatures: [String]
    package var stats: [Float] = []
    package var raw: [Float] = []
    package var lengths: [Int] = []
    package var labels: [Int] = []
    /// The combined score when the canary was chosen.
    package var scores: [Float] = []

    package var count: Int { labels.count }

    package init(classes: [String], statFeatures: [String]) {
        self.classes = classes
        self.statFeatures = statFeatures
    }

    /// Canary flows per class name.
    package var perClass: [String: Int] {
        labels.reduce(into: [:]) { $0[classes[$1], default: 0] += 1 }
    }

    // MARK: Choosing

    /// Chooses up to `perClass` flows of each attack class among `candidates`
    /// (indices into `flows`, e.g. the held-out test split) that `model`
    /// scores at or over its threshold, spread evenly over each class's
    /// candidates in their order (time within each capture). A flow the
    /// model already missed would only make a re-baselined bundle look worse.
    package static func choose(from flows: LabelledFlows, candidates: [Int], model: EnsembleModel,
                               perClass: Int = defaultPerClass) -> CanarySet {
        var set = CanarySet(classes: model.classes, statFeatures: model.statFeatures)
        let benign = model.benignIndex
        // Only classes the model knows, by name (the flows may carry more labels).
        let attack = candidates.filter { i in
            let name = flows.classes[flows.labels[i]]
            return name != model.classes[benign] && model.classes.contains(name)
        }
        guard !attack.isEmpty, flows.statFeatures == model.statFeatures else { return set }
        let g = flows.gather(attack)
        var verdicts: [Verdict] = []
        EnsembleScorer(model: model).scoreRaw(stats: g.stats, raw: g.raw, lengths: g.lengths, count: attack.count,
                                              into: &verdicts)
        var caught: [Int: [Int]] = [:]  // model class -> positions in `attack`
        for (k, i) in attack.enumerated() where verdicts[k].score >= model.threshold {
            caught[model.classes.firstIndex(of: flows.classes[flows.labels[i]])!, default: []].append(k)
        }
        let d = model.statFeatures.count
        for c in caught.keys.sorted() {
            let pool = caught[c]!
            let take = min(perClass, pool.count)
            for j in 0..<take {
                let k = pool[j * pool.count / take]
                set.stats += g.stats[(k * d)..<((k + 1) * d)]
                set.raw += g.raw[(k * rawRow)..<((k + 1) * rawRow)]
                set.lengths.append(g.lengths[k])
                set.labels.append(c)
                set.scores.append(verdicts[k].score)
            }
        }
        return set
    }

    // MARK: Checking

    /// How many of a class's canaries a model still catches.
    package struct ClassRecall: Sendable, Equatable {
        package var className: String
        package var caught: Int
        package var total: Int
        package var recall: Double { total > 0 ? Double(caught) / Double(total) : 1 }
    }

    /// Per class (in class order): canaries scored at or over `model`'s own
    /// threshold. The evidence gate is not applied: it judges a flow's
    /// surroundings, which `baseline` does not change.
    package func recall(of model: EnsembleModel) throws(TrainingError) -> [ClassRecall] {
        guard model.statFeatures == statFeatures else {
            throw TrainingError("the canaries were stored for \(statFeatures.count) statistics, the model has \(model.statFeatures.count) (a different schema)")
        }
        guard count > 0 else { return [] }
        var verdicts: [Verdict] = []
        EnsembleScorer(model: model).scoreRaw(stats: stats, raw: raw, lengths: lengths, count: count, into: &verdicts)
        var caught = [Int](repeating: 0, count: classes.count), total = caught
        for (v, c) in zip(verdicts, labels) {
            total[c] += 1
            if v.score >= model.threshold { caught[c] += 1 }
        }
        return classes.indices.filter { total[$0] > 0 }
            .map { ClassRecall(className: classes[$0], caught: caught[$0], total: total[$0]) }
    }

    // MARK: Bundle section

    package func encode() -> [UInt8] {
        var w = BundleWriter()
        w.tag("CNRY")
        w.string(classes.joined(separator: "\n"))
        w.string(statFeatures.joined(separator: "\n"))
        w.f32Array(stats)
        w.f32Array(raw)
        w.i32Array(lengths.map { Int32($0) })
        w.i32Array(labels.map { Int32($0) })
        w.f32Array(scores)
        return w.bytes
    }

    package init(decoding bytes: [UInt8]) throws(BundleError) {
        var r = BundleReader(bytes, section: Self.section)
        try r.expectTag("CNRY")
        classes = try r.string().split(separator: "\n").map(String.init)
        statFeatures = try r.string().split(separator: "\n").map(String.init)
        stats = try r.f32Array()
        raw = try r.f32Array()
        lengths = try r.i32Array().map { Int($0) }
        labels = try r.i32Array().map { Int($0) }
        scores = try r.f32Array()
        try r.expectEnd()
        let n = labels.count
        guard stats.count == n * statFeatures.count, raw.count == n * Self.rawRow, lengths.count == n, scores.count == n,
              labels.allSatisfy({ $0 >= 0 && $0 < classes.count }),
              lengths.allSatisfy({ $0 >= 0 && $0 <= PacketSequence.length }) else {
            throw r.fail("inconsistent canary arrays for \(n) flows")
        }
    }
}

extension ModelBundle {
    /// The bundle's canary set; nil when it has no "canaries" section.
    package var canaries: CanarySet? {
        get throws(BundleError) {
            guard let bytes = sections[CanarySet.section] else { return nil }
            return try CanarySet(decoding: bytes)
        }
    }

    package mutating func setCanaries(_ c: CanarySet) {
        sections[CanarySet.section] = c.encode()
    }
}
