import Testing
import Detection
import ModelFixtures
import Training

@Suite struct NoveltyTrainerTests {
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
