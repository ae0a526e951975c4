import Foundation
import Testing
@testable import Detection
@testable import Features
@testable import Training

/// A small synthetic labelled set: benign flows with varied sizes and
/// timings, scans (one SYN, maybe a RST back), floods (many small
/// packets); statistics and sequences follow the class.
func syntheticFlows(count: Int, seed: UInt64) -> LabelledFlows {
    var data = LabelledFlows(classes: ["benign", "scan", "dos"], statFeatures: ModelInput.defaultFeatures)
    var rng = NNRandom(seed: seed)
    func u() -> Float { Float(rng.next() % 10_000) / 10_000 }
    let idx = ModelInput.indices(of: data.statFeatures)!
    for i in 0..<count {
        let label = i % 3
        var v = FeatureVector()
        var seq = [Float](repeating: 0, count: PacketSequence.length * 5)
        let n: Int
        switch label {
        case 0:
            n = 6 + Int(u() * 20)
            for t in 0..<n {
                seq[t * 5] = t % 2 == 0 ? 1 : -1; seq[t * 5 + 1] = 40 + u() * 1400
                seq[t * 5 + 2] = max(0, seq[t * 5 + 1] - 40); seq[t * 5 + 3] = u() * 0.2; seq[t * 5 + 4] = 0x18
            }
            v[.fwd_pkts] = Double(n / 2); v[.bwd_pkts] = Double(n / 2); v[.duration_s] = Double(u() * 5)
            v[.pkt_len_mean] = 600; v[.payload_entropy] = Double(4 + u() * 3)
        case 1:
            n = 1 + Int(u() * 2)
            seq[0] = 1; seq[1] = 44; seq[4] = 0x02
            if n == 2 { seq[5] = -1; seq[6] = 40; seq[8] = 0.001; seq[9] = 0x14 }
            v[.fwd_pkts] = 1; v[.bwd_pkts] = Double(n - 1); v[.syn_count] = 1; v[.src_distinct_dports] = Double(50 + u() * 500)
        default:
            n = 32
            for t in 0..<n { seq[t * 5] = 1; seq[t * 5 + 1] = 60; seq[t * 5 + 3] = u() * 0.001; seq[t * 5 + 4] = 0 }
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

@Suite(.serialized) struct EnsembleTests {
    static let trained: (EnsembleModel, EnsembleTrainingReport) = {
        var c = EnsembleTrainingConfig()
        c.epochs = 4; c.maxPerClass = 200; c.novelty.maxReferenceRows = 256
        return try! EnsembleTrainer.train(syntheticFlows(count: 600, seed: 3), config: c)
    }()

    @Test func trainsScoresAndSeparatesClasses() {
        let (model, report) = Self.trained
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

    @Test func explanationsAreTheTopFiveBySize() {
        let (model, _) = Self.trained
        let scorer = EnsembleScorer(model: model)
        var fv = FeatureVector()
        fv[.fwd_pkts] = 1; fv[.syn_count] = 1; fv[.src_distinct_dports] = 400
        var seq = PacketSequence()
        seq.append(SequenceEntry(direction: 1, tcpFlags: 2, ipLength: 44, payloadLength: 0, iat: 0))
        let e = scorer.explain(features: fv, sequence: seq)
        #expect(e.count == 5)
        for (a, b) in zip(e, e.dropFirst()) { #expect(abs(a.contribution) >= abs(b.contribution)) }
    }

    /// A flow to detail: a one-SYN probe towards many ports.
    static func probe() -> (FeatureVector, PacketSequence) {
        var fv = FeatureVector()
        fv[.fwd_pkts] = 1; fv[.syn_count] = 1; fv[.src_distinct_dports] = 400
        var seq = PacketSequence()
        seq.append(SequenceEntry(direction: 1, tcpFlags: 2, ipLength: 44, payloadLength: 0, iat: 0))
        return (fv, seq)
    }

    @Test func modelsWithoutWeightRunOnlyForAlertsAndGiveTheSameScores() {
        var (model, _) = Self.trained
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
        let (fv, seq) = Self.probe()
        var one: [Verdict] = [], all: [Verdict] = []
        lazy.score(features: { _ in fv }, sequences: { _ in seq }, count: 1, into: &one)
        every.score(features: { _ in fv }, sequences: { _ in seq }, count: 1, into: &all)
        var v = one[0]
        lazy.detail(&v, features: fv, sequence: seq)
        #expect(abs(v.lstm - all[0].lstm) < 1e-6 && abs(v.lof - all[0].lof) < 1e-6 && abs(v.ocsvm - all[0].ocsvm) < 1e-6)
        #expect(v.score == all[0].score && v.explanation.count == 5)
    }

    @Test func nearestReferenceFlowsMatchABruteForceSearch() throws {
        let (model, _) = Self.trained
        let lof = try #require(model.novelty.lof)
        let (fv, seq) = Self.probe()
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

    @Test func bundleRoundTripAndErrorsAtLoad() throws {
        let (model, _) = Self.trained
        var b = ModelBundle()
        model.store(in: &b)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fs-ens-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("m.fsb").path
        try b.write(to: path)
        let loaded = try EnsembleModel.load(path: path)
        #expect(loaded.classes == model.classes && loaded.weights == model.weights && loaded.threshold == model.threshold)
        #expect(loaded.cnn == model.cnn && loaded.lstm == model.lstm)
        // Truncated, corrupted, and mismatched bundles fail at load with the file named.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let cut = dir.appendingPathComponent("cut.fsb").path
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: cut))
        #expect { _ = try EnsembleModel.load(path: cut) } throws: { "\($0)".contains("cut.fsb") }
        var flipped = bytes
        flipped[flipped.count - 10] ^= 0xFF
        let bad = dir.appendingPathComponent("bad.fsb").path
        try flipped.write(to: URL(fileURLWithPath: bad))
        #expect { _ = try EnsembleModel.load(path: bad) } throws: { "\($0)".contains("CRC-32 mismatch") }
        var other = b
        other.setSchema(["duration_s", "no_such_feature"])
        let mismatched = dir.appendingPathComponent("schema.fsb").path
        try other.write(to: mismatched)
        #expect { _ = try EnsembleModel.load(path: mismatched) } throws: { "\($0)".contains("no_such_feature") }
        var noCNN = b
        noCNN.sections.removeValue(forKey: EnsembleModel.cnnSection)
        let missing = dir.appendingPathComponent("missing.fsb").path
        try noCNN.write(to: missing)
        #expect { _ = try EnsembleModel.load(path: missing) } throws: { "\($0)".contains("cnn.int8") }
    }

    @Test func oneClassOnlyIsRefused() {
        var d = syntheticFlows(count: 90, seed: 1)
        d.labels = d.labels.map { _ in 0 }
        #expect { _ = try EnsembleTrainer.train(d) } throws: { "\($0)".contains("one class only") }
    }
}
