/// Evaluation metrics for flow classification and detection.
package enum Metrics {
    /// Per-class precision, recall, F1 and false-positive rate from a
    /// confusion matrix `m[truth][predicted]`.
    package struct ClassReport: Sendable, Codable {
        package var name: String
        package var support: Int
        package var precision: Double
        package var recall: Double
        package var f1: Double
        package var falsePositiveRate: Double
    }

    package static func confusion(truth: [Int], predicted: [Int], classes: Int) -> [[Int]] {
        var m = Array(repeating: Array(repeating: 0, count: classes), count: classes)
        for (t, p) in zip(truth, predicted) where t >= 0 && t < classes && p >= 0 && p < classes { m[t][p] += 1 }
        return m
    }

    package static func report(confusion m: [[Int]], names: [String]) -> [ClassReport] {
        let k = m.count
        let total = m.reduce(0) { $0 + $1.reduce(0, +) }
        return (0..<k).map { c in
            let tp = m[c][c]
            let fn = m[c].reduce(0, +) - tp
            let fp = (0..<k).reduce(0) { $0 + ($1 == c ? 0 : m[$1][c]) }
            let tn = total - tp - fn - fp
            let p = tp + fp > 0 ? Double(tp) / Double(tp + fp) : 0
            let r = tp + fn > 0 ? Double(tp) / Double(tp + fn) : 0
            let f = p + r > 0 ? 2 * p * r / (p + r) : 0
            let fpr = fp + tn > 0 ? Double(fp) / Double(fp + tn) : 0
            return ClassReport(name: c < names.count ? names[c] : "class\(c)", support: tp + fn,
                               precision: p, recall: r, f1: f, falsePositiveRate: fpr)
        }
    }

    /// Area under the ROC curve for scores where higher means positive
    /// (ties counted half, the Mann-Whitney statistic). Nil without both classes.
    package static func rocAUC(scores: [Double], positive: [Bool]) -> Double? {
        let pos = positive.filter { $0 }.count, neg = positive.count - pos
        guard pos > 0, neg > 0 else { return nil }
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var rankSum = 0.0
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && scores[order[j + 1]] == scores[order[i]] { j += 1 }
            let avgRank = Double(i + j) / 2 + 1
            for t in i...j where positive[order[t]] { rankSum += avgRank }
            i = j + 1
        }
        return (rankSum - Double(pos) * Double(pos + 1) / 2) / (Double(pos) * Double(neg))
    }

    /// Area under the precision-recall curve (average precision, as
    /// scikit-learn's average_precision_score computes it).
    package static func prAUC(scores: [Double], positive: [Bool]) -> Double? {
        let pos = positive.filter { $0 }.count
        guard pos > 0 else { return nil }
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        var tp = 0, fp = 0, ap = 0.0, lastRecall = 0.0
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && scores[order[j + 1]] == scores[order[i]] { j += 1 }
            for t in i...j { if positive[order[t]] { tp += 1 } else { fp += 1 } }
            let recall = Double(tp) / Double(pos), precision = Double(tp) / Double(tp + fp)
            ap += (recall - lastRecall) * precision
            lastRecall = recall
            i = j + 1
        }
        return ap
    }

    /// Recall of positives at the score threshold that lets at most `fpr`
    /// of the negatives through (the threshold is the negatives' (1−fpr)
    /// quantile; a positive counts when its score is strictly above it).
    package static func recall(atFPR fpr: Double, scores: [Double], positive: [Bool]) -> Double? {
        let neg = zip(scores, positive).filter { !$0.1 }.map(\.0).sorted()
        let posScores = zip(scores, positive).filter { $0.1 }.map(\.0)
        guard !neg.isEmpty, !posScores.isEmpty else { return nil }
        let allowed = Int((fpr * Double(neg.count)).rounded(.down))
        let threshold = neg[max(0, neg.count - 1 - allowed)]
        return Double(posScores.filter { $0 > threshold }.count) / Double(posScores.count)
    }
}
