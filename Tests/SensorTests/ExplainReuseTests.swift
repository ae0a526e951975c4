import Foundation
import Testing
@testable import Detection
import Features
import Flows
import Sensor

/// `explain` computes each classifier's sequence part once per distinct
/// sequence and runs only the heads for the statistic-occlusion rows. These
/// tests check it against the plain definition: every occlusion row written
/// out in full and scored through the ordinary path (`scoreRaw`) by a
/// separate scorer, on real flows of the bundled captures with the bundled model.
@Suite(.serialized) struct ExplainReuseTests {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let model: EnsembleModel = try! EnsembleModel.load(path: root.appendingPathComponent("rules/flowsentry.fsb").path)

    /// Flows of a capture: up to `suspicious` the model alerts on and `benign` it does not.
    static func flows(_ capture: String, suspicious: Int, benign: Int) -> [FlowRecord] {
        var recs: [FlowRecord] = []
        ReplayPipeline(config: .init()).run(files: [root.appendingPathComponent("captures/\(capture)").path]) { r, _ in
            if recs.count < 20_000 { recs.append(r) }
        }
        let scorer = EnsembleScorer(model: model)
        var v: [Verdict] = []
        scorer.score(features: { recs[$0].features }, sequences: { recs[$0].sequence }, count: recs.count, into: &v)
        var s: [FlowRecord] = [], b: [FlowRecord] = []
        for (r, x) in zip(recs, v) {
            if x.isSuspicious { if s.count < suspicious { s.append(r) } } else if b.count < benign { b.append(r) }
        }
        return s + b
    }

    /// The explanation by definition: row 0 the flow; one row per statistic
    /// whose normalised value is not 0, set to the normaliser's median; one row
    /// per packet with that packet removed (later packets shifted left). Each
    /// contribution is logit(score of the flow) − logit(score of the row).
    static func reference(_ r: FlowRecord, scorer: EnsembleScorer) -> [String: (value: Double, contribution: Float)] {
        let m = scorer.model, d = m.statFeatures.count, w = PacketSequence.length * 5
        var base = [Float](repeating: 0, count: d)
        base.withUnsafeMutableBufferPointer { ModelInput.stats(r.features, indices: m.featureIndices, into: $0.baseAddress!) }
        var seq = [Float](repeating: 0, count: w)
        let len = seq.withUnsafeMutableBufferPointer { ModelInput.sequence(r.sequence, into: $0.baseAddress!) }
        var stats: [Float] = [], raw: [Float] = [], lengths: [Int] = [], names: [String] = [], values: [Double] = []
        func add(_ s: [Float], _ q: [Float], _ l: Int) { stats += s; raw += q; lengths.append(l) }
        add(base, seq, len)
        for f in 0..<d where m.classifierNormaliser.apply(Double(base[f]), column: f) != 0 {
            var s = base
            s[f] = Float(m.classifierNormaliser.invert(0, column: f))
            add(s, seq, len)
            names.append(m.statFeatures[f]); values.append(Double(base[f]))
        }
        for p in 0..<len {
            var q = seq
            q.remove(at: p * 5 + 4); q.remove(at: p * 5 + 3); q.remove(at: p * 5 + 2); q.remove(at: p * 5 + 1); q.remove(at: p * 5)
            q += seq[(w - 5)..<w] // the last slot keeps its old value (past the new length, so unused)
            add(base, q, len - 1)
            names.append("packet[\(p)]"); values.append(Double(seq[p * 5 + 1]) * Double(seq[p * 5]))
        }
        #expect(lengths.count <= scorer.maxBatch, "reference rows exceed one explanation batch")
        var v: [Verdict] = []
        scorer.scoreRaw(stats: stats, raw: raw, lengths: lengths, count: lengths.count, into: &v)
        func logit(_ p: Float) -> Float { let q = min(max(p, 1e-7), 1 - 1e-7); return log(q / (1 - q)) }
        var out: [String: (value: Double, contribution: Float)] = [:]
        for (i, n) in names.enumerated() { out[n] = (values[i], logit(v[0].score) - logit(v[1 + i].score)) }
        return out
    }

    func check(_ capture: String, float: Bool = false, everyModel: Bool = false, tolerance: Float = 0) {
        let flows = Self.flows(capture, suspicious: 25, benign: 5)
        #expect(flows.count >= 10, "\(capture): too few flows")
        // One scorer explains all flows in turn (its buffers are reused between
        // flows of different sizes); a fresh one scores the reference rows.
        let scorer = EnsembleScorer(model: Self.model), ref = EnsembleScorer(model: Self.model)
        for s in [scorer, ref] { s.useFloat = float; s.scoreEveryModel = everyModel }
        var packetRows = 0, statRows = 0, nonZero = 0
        for r in flows {
            let want = Self.reference(r, scorer: ref)
            let all = scorer.explain(features: r.features, sequence: r.sequence, top: Int.max)
            #expect(all.count == want.count, "\(capture): \(all.count) contributions, reference \(want.count)")
            for c in all {
                guard let w = want[c.feature] else { Issue.record("\(capture): unexpected \(c.feature)"); continue }
                #expect(c.value == w.value)
                if tolerance == 0 {
                    #expect(c.contribution == w.contribution, "\(capture) \(c.feature): \(c.contribution) vs \(w.contribution)")
                } else {
                    #expect(abs(c.contribution - w.contribution) <= tolerance, "\(capture) \(c.feature): \(c.contribution) vs \(w.contribution)")
                }
                if c.feature.hasPrefix("packet[") { packetRows += 1 } else { statRows += 1 }
                if c.contribution != 0 { nonZero += 1 }
            }
            // The default top five: the largest by size, in order.
            let top = scorer.explain(features: r.features, sequence: r.sequence)
            let sizes = want.values.map { abs($0.contribution) }.sorted(by: >)
            #expect(top.count == min(5, want.count))
            for (i, c) in top.enumerated() {
                if tolerance == 0 { #expect(abs(c.contribution) == sizes[i]) } else { #expect(abs(abs(c.contribution) - sizes[i]) <= tolerance) }
            }
        }
        // The check is not vacuous: both kinds of rows, and contributions that are not 0.
        #expect(packetRows > 0 && statRows > 0 && nonZero > 0, "\(capture): \(packetRows) packet rows, \(statRows) statistic rows, \(nonZero) non-zero")
    }

    @Test func int8ExplanationEqualsFullScoringOfEveryRowShortFlows() { check("mixed-1.pcap") }
    @Test func int8ExplanationEqualsFullScoringOfEveryRowLongFlows() { check("attack-bruteforce-web.pcap") }
    @Test func int8ExplanationWithEveryModelEqualsFullScoring() { check("attack-dos.pcap", everyModel: true) }
    /// Float: the sequence parts run through OpenBLAS on a smaller batch than
    /// the full path's, and OpenBLAS picks its kernels per CPU and batch size,
    /// so float32 sums come out in a different order: equal on one machine,
    /// up to 9.5e-5 apart (on contributions of 0.017 to 1.5) on an AVX-512
    /// one. 5e-4 allows that and still catches a wrong or stale row, which
    /// moves a contribution by its own size.
    @Test func floatExplanationMatchesFullScoring() {
        check("mixed-1.pcap", float: true, tolerance: 5e-4)
        check("attack-bruteforce-web.pcap", float: true, tolerance: 5e-4)
    }

    /// `encodeRemovals` against `encodeSequences` on every sequence written out
    /// (packet p removed, later ones shifted left), for lengths 0, 1, 2, odd and
    /// full, and fewer removals than packets (the explanation's row cap).
    @Test func lstmRemovalEncodingsEqualFullRecurrence() {
        let lstm = Self.model.lstm, t = lstm.shape.seqLen, c = lstm.shape.channels, d = lstm.shape.statsDim
        let h = lstm.sequenceFeatureCount
        var rng: UInt64 = 0x9E37_79B9_7F4A_7C15
        func u() -> Float { rng = rng &* 6364136223846793005 &+ 1442695040888963407; return Float(rng >> 40) / Float(1 << 24) }
        let scratch = LSTMInt8Scratch(), fresh = LSTMInt8Scratch()
        for (len, removed) in [(0, 0), (1, 1), (2, 2), (2, 1), (5, 5), (7, 3), (t, t), (t, t - 1)] {
            var base = [Float](repeating: 0, count: t * c)
            for s in 0..<len {
                base[s * c] = u() < 0.5 ? 1 : -1
                for j in 1..<4 { base[s * c + j] = u() }
                for j in 4..<c { base[s * c + j] = u() < 0.3 ? 1 : 0 }
            }
            var seqs = base, lengths = [len]
            for p in 0..<removed {
                var q = base
                q.removeSubrange((p * c)..<((p + 1) * c))
                q += [Float](repeating: 0, count: c)
                seqs += q; lengths.append(len - 1)
            }
            let n = lengths.count
            let stats = [Float](repeating: 0, count: n * d)
            var got = [Float](repeating: .nan, count: n * h), want = got
            NNBatch.with(sequences: seqs, lengths: lengths, stats: stats, count: n) { b in
                got.withUnsafeMutableBufferPointer { lstm.encodeRemovals(b, removed: removed, scratch: scratch, into: $0.baseAddress!, stride: h) }
                want.withUnsafeMutableBufferPointer { lstm.encodeSequences(b, scratch: fresh, into: $0.baseAddress!, stride: h) }
            }
            #expect(got == want, "length \(len), \(removed) removed")
            if len > 1 { #expect(want.contains { $0 != 0 }) }
        }
    }
}
