import Foundation
import Testing
@testable import Detection
@testable import Features
@testable import Training

@Suite(.serialized) struct EnsembleScorerTests {
    @Test func trainsScoresAndSeparatesClasses() {
        let (model, report) = EnsembleFixture.trained
        #expect(model.classes == ["benign", "scan", "dos"])
        #expect(model.threshold >= 0.5 && model.threshold <= 1)
        #expect(report.int8Agreement["cnn"]! >= 0.95 && report.int8Agreement["lstm"]! >= 0.95)
        let test = syntheticFlows(count: 300, seed: 99)
        let scorer = EnsembleScorer(model: model)
        var v: [Verdict] = []
        let g = test.gather(Array(0..<test.count))
        scorer.scoreRaw(stats: g.stats, raw: g.raw, lengths: g.lengths, count: test.count, into: &v)
        #expect(v.count == 300)
        let correct = zip(v, test.labels).filter { verdict, label in
            label == 0 ? !verdict.isSuspicious : (verdict.isSuspicious && verdict.classIndex == label)
        }.count
        #expect(Double(correct) / 300 > 0.9, "accuracy \(correct)/300")
        for x in v { #expect(x.score >= 0 && x.score <= 1) }
    }

    @Test func modelsWithoutWeightRunOnlyForAlertsAndGiveTheSameScores() {
        var (model, _) = EnsembleFixture.trained
        model.weights = [1, 0, 0, 0]
        let test = syntheticFlows(count: 60, seed: 5)
        let g = test.gather(Array(0..<test.count))
        let lazy = EnsembleScorer(model: model), every = EnsembleScorer(model: model)
        every.scoreEveryModel = true
        var a: [Verdict] = [], b: [Verdict] = []
        lazy.scoreRaw(stats: g.stats, raw: g.raw, lengths: g.lengths, count: test.count, into: &a)
        every.scoreRaw(stats: g.stats, raw: g.raw, lengths: g.lengths, count: test.count, into: &b)
        for (x, y) in zip(a, b) {
            #expect(x.score == y.score && x.cnn == y.cnn)
            #expect(x.lstm.isNaN && x.lof.isNaN && x.ocsvm.isNaN)
            #expect(y.lstm.isFinite && y.lof.isFinite && y.ocsvm.isFinite)
        }
        // `detail` fills in the other models' scores as if they had run with the rest.
        let (fv, seq) = EnsembleFixture.probe()
        var one: [Verdict] = [], all: [Verdict] = []
        lazy.score(features: { _ in fv }, sequences: { _ in seq }, count: 1, into: &one)
        every.score(features: { _ in fv }, sequences: { _ in seq }, count: 1, into: &all)
        var v = one[0]
        lazy.detail(&v, features: fv, sequence: seq)
        #expect(abs(v.lstm - all[0].lstm) < 1e-6 && abs(v.lof - all[0].lof) < 1e-6 && abs(v.ocsvm - all[0].ocsvm) < 1e-6)
        #expect(v.score == all[0].score && v.explanation.count == 5)
    }
}
