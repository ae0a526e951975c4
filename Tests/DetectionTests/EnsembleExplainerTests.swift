import Foundation
import Testing
@testable import Detection
@testable import Features
@testable import Training

@Suite(.serialized) struct EnsembleExplainerTests {
    @Test func explanationsAreTheTopFiveBySize() {
        let (model, _) = EnsembleFixture.trained
        let scorer = EnsembleScorer(model: model)
        var fv = FeatureVector()
        fv[.fwd_pkts] = 1; fv[.syn_count] = 1; fv[.src_distinct_dports] = 400
        var seq = PacketSequence()
        seq.append(SequenceEntry(direction: 1, tcpFlags: 2, ipLength: 44, payloadLength: 0, iat: 0))
        let e = scorer.explain(features: fv, sequence: seq)
        #expect(e.count == 5)
        for (a, b) in zip(e, e.dropFirst()) { #expect(abs(a.contribution) >= abs(b.contribution)) }
    }

    @Test func nearestReferenceFlowsMatchABruteForceSearch() throws {
        let (model, _) = EnsembleFixture.trained
        let lof = try #require(model.novelty.lof)
        let (fv, seq) = EnsembleFixture.probe()
        let scorer = EnsembleScorer(model: model)
        var out: [Verdict] = []
        scorer.score(features: { _ in fv }, sequences: { _ in seq }, count: 1, into: &out)
        var v = out[0]
        scorer.detail(&v, features: fv, sequence: seq)
        #expect(v.lofNearest.count == 5)
        // Brute force: normalise the row, Euclidean distance to every reference row.
        var row = [Float](repeating: 0, count: model.statFeatures.count)
        row.withUnsafeMutableBufferPointer { ModelInput.stats(fv, indices: model.featureIndices, into: $0.baseAddress!) }
        row.withUnsafeMutableBufferPointer { model.novelty.normaliser.apply(batch: $0, rows: 1) }
        var d: [(Int, Double)] = []
        for j in 0..<lof.rows {
            var s = 0.0
            for c in 0..<lof.dim { let x = Double(row[c]) - lof.reference[j * lof.dim + c]; s += x * x }
            d.append((j, s.squareRoot()))
        }
        d.sort { $0.1 < $1.1 }
        for (n, want) in zip(v.lofNearest, d) {
            #expect(abs(n.distance - want.1) <= 1e-9 * max(1, want.1), "\(n) vs \(want)")
            #expect(n.kDistance == lof.kDistance[n.reference])
        }
    }
}
