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

/// The ensemble every Ensemble*Tests suite scores with, trained once per run
/// (a few seconds), and a flow to detail.
enum EnsembleFixture {
    static let trained: (EnsembleModel, EnsembleTrainingReport) = {
        var c = EnsembleTrainingConfig()
        c.epochs = 4; c.maxPerClass = 200; c.novelty.maxReferenceRows = 256
        return try! EnsembleTrainer.train(syntheticFlows(count: 600, seed: 3), config: c)
    }()

    /// A flow to detail: a one-SYN probe towards many ports.
    static func probe() -> (FeatureVector, PacketSequence) {
        var fv = FeatureVector()
        fv[.fwd_pkts] = 1; fv[.syn_count] = 1; fv[.src_distinct_dports] = 400
        var seq = PacketSequence()
        seq.append(SequenceEntry(direction: 1, tcpFlags: 2, ipLength: 44, payloadLength: 0, iat: 0))
        return (fv, seq)
    }
}
