import Testing
@testable import Detection
@testable import Features
@testable import Training

/// Canary sets chosen from a trained model's held-out flows, stored in a
/// bundle and read back, and checked against a model re-fitted on benign
/// and on poisoned "normal" traffic.
@Suite struct CanariesTests {
    /// Benign flows (varied sizes and timings, both directions) and floods
    /// (32 small packets one way, fast), every fifth flow held out for test.
    static func flows(count: Int, seed: UInt64) -> LabelledFlows {
        var data = LabelledFlows(classes: ["benign", "dos"], statFeatures: ModelInput.defaultFeatures)
        var rng = NNRandom(seed: seed)
        func u() -> Float { Float(rng.next() % 10_000) / 10_000 }
        let idx = ModelInput.indices(of: data.statFeatures)!
        for i in 0..<count {
            let label = i % 2
            var v = FeatureVector()
            var seq = [Float](repeating: 0, count: PacketSequence.length * 5)
            let n: Int
            if label == 0 {
                n = 6 + Int(u() * 20)
                for t in 0..<n {
                    seq[t * 5] = t % 2 == 0 ? 1 : -1; seq[t * 5 + 1] = 40 + u() * 1400
                    seq[t * 5 + 2] = max(0, seq[t * 5 + 1] - 40); seq[t * 5 + 3] = u() * 0.2; seq[t * 5 + 4] = 0x18
                }
                v[.fwd_pkts] = Double(n / 2); v[.bwd_pkts] = Double(n / 2); v[.duration_s] = Double(u() * 5)
                v[.pkt_len_mean] = 600; v[.payload_entropy] = Double(4 + u() * 3)
            } else {
                n = 32
                for t in 0..<n { seq[t * 5] = 1; seq[t * 5 + 1] = 60; seq[t * 5 + 3] = u() * 0.001 }
                v[.fwd_pkts] = Double(1000 + u() * 1000); v[.pkts_per_s] = Double(5000 + u() * 1000); v[.dst_flows] = 5
            }
            var stats = [Float](repeating: 0, count: idx.count)
            stats.withUnsafeMutableBufferPointer { ModelInput.stats(v, indices: idx, into: $0.baseAddress!) }
            let split: LabelledFlows.Split = i % 5 < 3 ? .train : (i % 5 == 3 ? .validation : .test)
            stats.withUnsafeBufferPointer { s in
                seq.withUnsafeBufferPointer { r in data.append(stats: s, raw: r, length: n, label: label, split: split, source: 0) }
            }
        }
        return data
    }

    static let data = flows(count: 600, seed: 5)
    static let model: EnsembleModel = {
        var c = EnsembleTrainingConfig()
        c.epochs = 4; c.maxPerClass = 200; c.novelty.maxReferenceRows = 256
        return try! EnsembleTrainer.train(data, config: c).0
    }()

    @Test func chosenFromHeldOutCaughtAttacksOnly() throws {
        let m = Self.model
        let test = Self.data.indices(.test)
        let set = CanarySet.choose(from: Self.data, candidates: test, model: m, perClass: 16)
        // The synthetic floods are easy: the model catches enough of them to fill the set.
        #expect(set.perClass == ["dos": 16])
        #expect(set.scores.allSatisfy { $0 >= m.threshold })
        #expect(set.stats.count == 16 * m.statFeatures.count && set.raw.count == 16 * PacketSequence.length * 5)
        // Every canary is one of the held-out flows, row for row.
        let d = m.statFeatures.count
        let heldOut = Set(test.map { Array(Self.data.stats[($0 * d)..<(($0 + 1) * d)]) })
        for k in 0..<set.count { #expect(heldOut.contains(Array(set.stats[(k * d)..<((k + 1) * d)]))) }
        // Their recall with the model that chose them is complete.
        #expect(try set.recall(of: m) == [.init(className: "dos", caught: 16, total: 16)])
    }

    @Test func roundTripThroughABundle() throws {
        let set = CanarySet.choose(from: Self.data, candidates: Self.data.indices(.test), model: Self.model, perClass: 8)
        var b = ModelBundle()
        Self.model.store(in: &b)
        b.setCanaries(set)
        let back = try ModelBundle(bytes: b.serialised(), path: "x.fsb")
        #expect(try back.canaries == set)
        // A bundle without the section has no canaries; a cut-off section is an error naming it.
        var none = b
        none.sections[CanarySet.section] = nil
        #expect(try none.canaries == nil)
        var cut = b
        cut.sections[CanarySet.section] = Array(set.encode().dropLast(3))
        #expect { _ = try cut.canaries } throws: { "\($0)".contains("canaries") }
    }

    @Test func poisonedBaselineSilencesTheCanariesAndBenignOneDoesNot() throws {
        let m = Self.model
        let set = CanarySet.choose(from: Self.data, candidates: Self.data.indices(.test), model: m)
        // "Normal" traffic that is a flood: the threshold climbs over the floods' scores.
        let fresh = Self.flows(count: 400, seed: 9)
        func refit(label: Int) throws -> EnsembleModel {
            let idx = (0..<fresh.count).filter { fresh.labels[$0] == label }
            let g = fresh.gather(idx)
            return try Baseline.refit(m, stats: g.stats, raw: g.raw, lengths: g.lengths, count: idx.count).0
        }
        let poisoned = try refit(label: 1)
        let poisonedRecall = try set.recall(of: poisoned)
        #expect(poisoned.threshold > m.threshold)
        #expect(poisonedRecall.first!.recall < 0.9)
        let f = BaselineGuard.assess(flows: 200, attackFlows: [], canaryRecall: poisonedRecall)
        #expect(f.refuses && f.silencedCanaries.map(\.className) == ["dos"])
        // Benign site traffic keeps them.
        let benign = try refit(label: 0)
        #expect(try set.recall(of: benign).allSatisfy { $0.recall >= 0.9 })
    }
}
