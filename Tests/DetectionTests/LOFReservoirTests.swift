import Foundation
import Testing
import Detection
import Training

@Suite struct LOFReservoirTests {
    @Test func boundedDeterministicAndRoughlyUniform() {
        let dim = 2, n = 20_000, cap = 1000
        var rows = [Float](repeating: 0, count: n * dim)
        for i in 0..<n { rows[i * dim] = Float(i); rows[i * dim + 1] = -Float(i) }
        var a = ReservoirSampler(capacity: cap, dim: dim, seed: 1)
        a.add(rows: rows, count: n)
        var b = ReservoirSampler(capacity: cap, dim: dim, seed: 1)
        b.add(rows: rows, count: n)
        #expect(a.count == cap && a.seen == n)
        #expect(a.rows == b.rows)
        // Rows stay intact (both columns from the same source row).
        for i in 0..<cap { #expect(a.rows[i * dim + 1] == -a.rows[i * dim]) }
        // Each quarter of the stream contributes about a quarter of the sample.
        var quarters = [0, 0, 0, 0]
        for i in 0..<cap { quarters[Int(a.rows[i * dim]) * 4 / n] += 1 }
        #expect(quarters.allSatisfy { abs($0 - cap / 4) < 60 })
        // Fewer rows than capacity: all kept in order.
        var c = ReservoirSampler(capacity: cap, dim: dim)
        c.add(rows: Array(rows[0..<20]), count: 10)
        #expect(c.rows == Array(rows[0..<20]))
    }

    @Test func trainedNoveltyModelFlagsOutliers() throws {
        var rng = TestRNG(state: 123)
        let dim = 8
        let train = rng.rows(3000, dim), validation = rng.rows(1000, dim)
        var config = NoveltyTrainingConfig()
        config.maxReferenceRows = 1024
        config.nu = 0.05
        let model = try NoveltyTrainer.fit(benign: train, count: 3000, dim: dim,
                                           validation: validation, validationCount: 1000, config: config)
        #expect(model.lof?.rows == 1024)
        let scorer = model.makeScorer(maxBatch: 64)
        let benign = scorer.score(batch: rng.rows(500, dim), rows: 500)
        var far = rng.rows(100, dim)
        for i in far.indices { far[i] = far[i] * 6 + 20 }
        let outliers = scorer.score(batch: far, rows: 100)
        let benignHigh = benign.lof.filter { $0 > 0.99 }.count
        #expect(benignHigh < 25)  // ≈1% expected
        #expect(outliers.lof.allSatisfy { $0 > 0.99 })
        #expect(outliers.ocsvm.allSatisfy { $0 > 0.99 })
        #expect(outliers.ocsvmRaw.allSatisfy { $0 < 0 })
        // Threshold for a 1% benign FPR on the validation scores also holds on fresh benign rows.
        let v = scorer.score(batch: validation, rows: 1000)
        let t = FPRThreshold.choose(forFalsePositiveRate: 0.01, benignScores: v.lofRaw.map(Double.init), higherIsAnomalous: false)
        #expect(t.achievedFPR <= 0.01)
        #expect(outliers.lofRaw.allSatisfy { t.isAnomalous(Double($0)) })
    }
}
