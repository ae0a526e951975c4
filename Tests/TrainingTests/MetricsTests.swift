import Testing
@testable import Training

@Suite struct MetricsTests {
    @Test func confusionAndReport() {
        // truth:     0 0 0 1 1 2
        // predicted: 0 1 0 1 1 0
        let m = Metrics.confusion(truth: [0, 0, 0, 1, 1, 2], predicted: [0, 1, 0, 1, 1, 0], classes: 3)
        #expect(m == [[2, 1, 0], [0, 2, 0], [1, 0, 0]])
        let r = Metrics.report(confusion: m, names: ["a", "b", "c"])
        #expect(r[0].support == 3 && abs(r[0].precision - 2.0 / 3) < 1e-12 && abs(r[0].recall - 2.0 / 3) < 1e-12)
        #expect(abs(r[1].precision - 2.0 / 3) < 1e-12 && r[1].recall == 1)
        #expect(abs(r[1].falsePositiveRate - 0.25) < 1e-12)   // 1 FP among 4 negatives
        #expect(r[2].recall == 0 && r[2].f1 == 0)
    }

    @Test func rocAUCByHand() {
        // Pairs (pos, neg): (0.9 > 0.1) (0.9 > 0.5) (0.4 > 0.1) (0.4 < 0.5) → 3/4.
        #expect(Metrics.rocAUC(scores: [0.9, 0.4, 0.1, 0.5], positive: [true, true, false, false]) == 0.75)
        // A tie counts half.
        #expect(Metrics.rocAUC(scores: [0.5, 0.5], positive: [true, false]) == 0.5)
        #expect(Metrics.rocAUC(scores: [1], positive: [true]) == nil)
    }

    @Test func averagePrecisionByHand() {
        // Ranked: 0.9 (pos) 0.8 (neg) 0.7 (pos): AP = 0.5·1 + 0.5·(2/3) = 0.8333…
        let ap = Metrics.prAUC(scores: [0.9, 0.8, 0.7], positive: [true, false, true])!
        #expect(abs(ap - (0.5 + 0.5 * 2.0 / 3)) < 1e-12)
    }

    @Test func recallAtFixedFPR() {
        let neg = (0..<1000).map { Double($0) / 1000 }          // 0.000 … 0.999
        let pos = [0.9995, 0.9985, 0.5]
        let scores = neg + pos
        let labels = Array(repeating: false, count: 1000) + [true, true, true]
        // FPR 1e-3 allows one negative through: threshold = 0.998.
        #expect(Metrics.recall(atFPR: 1e-3, scores: scores, positive: labels)! == 2.0 / 3)
        // FPR 1e-4 allows none: threshold = 0.999.
        #expect(Metrics.recall(atFPR: 1e-4, scores: scores, positive: labels)! == 1.0 / 3)
    }
}
