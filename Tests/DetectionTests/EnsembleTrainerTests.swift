import Foundation
import Testing
@testable import Detection
@testable import Features
@testable import Training

/// EnsembleTrainer lives in Sources/Training; this test stays with the
/// Detection tests because it uses their synthetic flows (EnsembleFixtures.swift).
@Suite struct EnsembleTrainerTests {
    /// A few epochs on a small sample: seconds per training.
    func smallConfig(epochs: Int) -> EnsembleTrainingConfig {
        var c = EnsembleTrainingConfig()
        c.epochs = epochs; c.maxPerClass = 150; c.novelty.maxReferenceRows = 128
        return c
    }

    @Test func oneClassOnlyIsRefused() {
        var d = syntheticFlows(count: 90, seed: 1)
        d.labels = d.labels.map { _ in 0 }
        #expect { _ = try EnsembleTrainer.train(d) } throws: { "\($0)".contains("one class only") }
    }

    @Test func fixedWeightsAreKeptAndTheThresholdStillHoldsTheTargetFPR() throws {
        var c = smallConfig(epochs: 2)
        c.fixedWeights = [0, 1, 0.1, 0]
        let data = syntheticFlows(count: 450, seed: 8)
        let (m, report) = try EnsembleTrainer.train(data, config: c)
        #expect(m.weights == [0, 1, 0.1, 0] && report.weights == [0, 1, 0.1, 0])
        // The validation benign flows over the threshold stay within the target rate.
        let val = data.indices(.validation).filter { data.labels[$0] == 0 }
        let g = data.gather(val)
        var v: [Verdict] = []
        EnsembleScorer(model: m).scoreRaw(stats: g.stats, raw: g.raw, lengths: g.lengths, count: val.count, into: &v)
        #expect(v.filter { $0.score >= m.threshold }.count <= Int(c.targetFPR * Double(val.count)))
    }

    /// The weights are chosen by the recall of what can alert: attack flows
    /// whose class lacks its evidence count as missed, as in the sensor.
    @Test func theWeightGridCountsOnlyWhatCanAlert() throws {
        var c = smallConfig(epochs: 3)
        c.fixedWeights = [1, 0, 0, 0]
        var data = syntheticFlows(count: 600, seed: 12)
        let (_, open) = try EnsembleTrainer.train(data, config: c)
        // The floods of the validation split lose their evidence: only "benign" holds for them.
        let floods = data.indices(.validation).filter { data.labels[$0] == 2 }
        let attacks = data.indices(.validation).filter { data.labels[$0] != 0 }
        for i in floods { data.evidence[i] = 0b1 }
        let (_, gated) = try EnsembleTrainer.train(data, config: c)
        #expect(open.validationRecall > 0.9, "\(open.validationRecall)")
        #expect(gated.validationRecall <= Double(attacks.count - floods.count) / Double(attacks.count) + 1e-9,
                "\(gated.validationRecall)")
    }

    /// Benign validation flows that look like scans (label noise here; on a
    /// real network a client's one refused connection) push the threshold up
    /// only when the sensor would let them alert: without their class's
    /// evidence they cannot, and the threshold is fitted without them.
    @Test func benignFlowsThatTheEvidenceGateDropsDoNotSetTheThreshold() throws {
        var c = smallConfig(epochs: 3)
        var data = syntheticFlows(count: 600, seed: 12)
        let noisy = data.indices(.validation).filter { data.labels[$0] == 1 }.prefix(4)
        for i in noisy { data.labels[i] = 0 }
        let (open, _) = try EnsembleTrainer.train(data, config: c)
        for i in noisy { data.evidence[i] = 0b1 }  // only "benign" is supported: no scan evidence
        let (gated, _) = try EnsembleTrainer.train(data, config: c)
        #expect(open.threshold > 0.9, "the scan-like benign flows set the threshold: \(open.threshold)")
        #expect(gated.threshold < open.threshold)
        #expect(!data.supports(noisy.first!, 1) && data.supports(noisy.first!, 0) && data.supports(0, 1))
    }
}
