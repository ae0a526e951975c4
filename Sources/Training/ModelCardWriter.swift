/// The model card `train` writes beside each bundle (`<bundle>.card.md`):
/// what the bundle was made from (captures with their SHA-256 and flows per
/// class), how the flows were split, what it measured on its held-out split
/// (with the counts behind each rate), the threshold and fitted weights,
/// its canaries and its limits. The bundle's provenance records the card's
/// SHA-256, so a card and a bundle can be matched.
package struct ModelCard: Sendable {
    package struct Capture: Sendable {
        package var path: String
        package var sha256: String
        package var flows: Int
        /// Labelled flows per class.
        package var perClass: [String: Int]
        package init(path: String, sha256: String, flows: Int, perClass: [String: Int]) {
            self.path = path; self.sha256 = sha256; self.flows = flows; self.perClass = perClass
        }
    }

    package var modelVersion: String
    package var createdAt: String
    package var bundleFile: String
    package var classes: [String]
    package var captures: [Capture] = []
    /// Label files as (path, SHA-256).
    package var labels: [(path: String, sha256: String)] = []
    package var unlabelledFlows = 0
    package var split = ""
    /// Flows per class in (train, validation, test).
    package var splitCounts: [String: (train: Int, validation: Int, test: Int)] = [:]
    package var statFeatures = 0
    /// Held-out test split: per-class report, confusion (rows truth, columns
    /// `confusionClasses`), and the whole-set rates.
    package var report: [Metrics.ClassReport] = []
    package var confusion: [[Int]] = []
    package var confusionClasses: [String] = []
    package var summary: [(name: String, value: String)] = []
    package var threshold: Float = 0
    package var targetFPR: Double = 0
    /// cnn, lstm, lof, ocsvm.
    package var weights: [Float] = []
    package var canaries: [String: Int] = [:]
    package var limits: [String] = ModelCard.standingLimits

    package init(modelVersion: String, createdAt: String, bundleFile: String, classes: [String]) {
        self.modelVersion = modelVersion; self.createdAt = createdAt; self.bundleFile = bundleFile; self.classes = classes
    }

    /// What holds for every bundle `train` makes (docs/model-card.md, "Limits", has the measurements).
    package static let standingLimits = [
        "Measured on held-out time blocks of the same captures it was trained on: a network unlike them will score differently (run `flowsentry baseline` on a site's own traffic).",
        "It knows only the classes above; any other attack is at best \"anomaly\".",
        "It sees flow shape, timing and the parsed first bytes of each direction, not full payload content.",
    ]

    /// The path of the card for a bundle path: `x.fsb` → `x.card.md`, any other name + `.card.md`.
    package static func path(forBundle bundle: String) -> String {
        (bundle.hasSuffix(".fsb") ? String(bundle.dropLast(4)) : bundle) + ".card.md"
    }

    package func markdown() -> String {
        var s = "# Model card: \(bundleFile) (\(modelVersion))\n\n"
        s += "Written by `flowsentry train` at \(createdAt). The bundle's provenance section records this file's SHA-256 (`flowsentry model-info \(bundleFile)`).\n\n"
        s += "## Data\n\n"
        s += "| capture | sha256 | flows | labelled, per class |\n|---|---|---|---|\n"
        for c in captures {
            let per = classes.compactMap { n in c.perClass[n].map { "\(n) \($0)" } }.joined(separator: ", ")
            s += "| \(c.path) | `\(c.sha256)` | \(c.flows) | \(per) |\n"
        }
        if !labels.isEmpty {
            s += "\nLabel files: " + labels.map { "\($0.path) (`\($0.sha256)`)" }.joined(separator: ", ") + ".\n"
        }
        if unlabelledFlows > 0 { s += "\n\(unlabelledFlows) flows matched no label row and were left out.\n" }
        s += "\n## Split\n\n\(split)\n\n"
        s += "| class | train | validation | test |\n|---|---|---|---|\n"
        for n in classes { if let c = splitCounts[n] { s += "| \(n) | \(c.train) | \(c.validation) | \(c.test) |\n" } }
        s += "\n## Metrics (held-out test split)\n\n"
        s += "| class | support | true positives | false negatives | false positives | precision | recall | F1 |\n|---|---|---|---|---|---|---|---|\n"
        for (c, r) in report.enumerated() where r.support > 0 || (c < confusion.count && column(c) > 0) {
            let tp = c < confusion.count ? confusion[c][c] : 0
            let fp = column(c) - tp
            s += "| \(r.name) | \(r.support) | \(tp) | \(r.support - tp) | \(fp) | \(fixed(r.precision)) | \(fixed(r.recall)) | \(fixed(r.f1)) |\n"
        }
        for (name, value) in summary { s += "\n- \(name): \(value)" }
        if !summary.isEmpty { s += "\n" }
        if !confusion.isEmpty {
            s += "\nConfusion (rows truth, columns predicted):\n\n| | " + confusionClasses.joined(separator: " | ") + " |\n|"
            s += String(repeating: "---|", count: confusionClasses.count + 1) + "\n"
            for (i, row) in confusion.enumerated() where row.reduce(0, +) > 0 {
                s += "| \(confusionClasses[i]) | " + row.map(String.init).joined(separator: " | ") + " |\n"
            }
        }
        s += "\n## Threshold and weights\n\n"
        s += "- Alert threshold: \(fixed(Double(threshold), 6)) (set for a false-positive rate of \(targetFPR) on the benign validation flows).\n"
        let names = ["cnn", "lstm", "lof", "ocsvm"]
        s += "- Fitted combination weights: " + zip(names, weights).map { "\($0) \(fixed(Double($1)))" }.joined(separator: ", ") + ".\n"
        s += "- Statistics the models take: \(statFeatures).\n"
        s += "\n## Canaries\n\n"
        if canaries.isEmpty {
            s += "None: no held-out attack flow was caught at training.\n"
        } else {
            s += "Held-out attack flows the bundle catches, kept in its \"canaries\" section; `baseline` refuses a re-fit that would miss more than 10 % of a class: "
            s += classes.compactMap { n in canaries[n].map { "\(n) \($0)" } }.joined(separator: ", ") + ".\n"
        }
        s += "\n## Limits\n\n" + limits.map { "- \($0)\n" }.joined()
        return s
    }

    private func column(_ c: Int) -> Int { confusion.reduce(0) { $0 + (c < $1.count ? $1[c] : 0) } }

    private func fixed(_ v: Double, _ digits: Int = 3) -> String {
        guard v.isFinite else { return "n/a" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let m = Int((v * scale).rounded())
        let frac = String(abs(m) % Int(scale))
        return (m < 0 ? "-" : "") + "\(abs(m) / Int(scale))." + String(repeating: "0", count: digits - frac.count) + frac
    }
}
