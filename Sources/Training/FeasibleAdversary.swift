import Detection
#if canImport(Glibc)
import Glibc
#endif

/// Projected-gradient (PGD; one step is FGSM) adversarial examples limited to
/// changes traffic can really make, for adversarial training.
///
/// On the encoded sequence (`SequenceEncoder`), of an attack flow only, only
/// the attacker's packets (the client's, direction +1; either side for the
/// classes in `bothEnds`, whose both ends the attacker runs), and only upward:
/// the IP length (channel 1) and payload length (2, only where there is a
/// payload to pad) may grow, up to a 1,500-byte datagram, and the time since
/// the previous packet (3) may grow, up to the encoder's clamp. Direction,
/// flags, the number of packets and the statistics inputs stay as they were
/// (the statistics are not recomputed: a limit of this feature-space step,
/// which the problem-space perturbations of `evaluate --perturb` do not have).
/// Each coordinate stays within `epsilon` of the original in encoded units
/// (log1p scale: 0.05 is ×1.7 in size, ×2.5 in time).
package struct FeasibleAdversary: Sendable {
    package var steps: Int
    package var epsilon: Float
    package var benign: Int
    package var bothEnds: [Bool]

    package init(steps: Int, epsilon: Float, benign: Int, bothEnds: [Bool]) {
        self.steps = steps; self.epsilon = epsilon; self.benign = benign; self.bothEnds = bothEnds
    }

    static let maxLength = log1pf(1500) / log1pf(65535)
    static let maxTime: Float = 1.5

    /// The attack rows of `b`, moved by `steps` signed-gradient steps of the
    /// loss (ascent) and projected back onto the feasible box after each; nil
    /// when the batch has no attack rows.
    package func perturb<M: NNTrainable>(_ b: NNTrainingBatch, model: M, classWeights: [Float]) -> NNTrainingBatch? {
        let rows = (0..<b.count).filter { b.labels[$0] != benign }
        guard !rows.isEmpty, steps > 0 else { return nil }
        let t = model.shape.seqLen, c = model.shape.channels
        var adv = NNTrainingBatch(sequences: [], lengths: [], stats: [], labels: [], count: rows.count)
        let d = model.shape.statsDim
        for i in rows {
            adv.sequences += b.sequences[(i * t * c)..<((i + 1) * t * c)]
            adv.stats += b.stats[(i * d)..<((i + 1) * d)]
            adv.lengths.append(b.lengths[i]); adv.labels.append(b.labels[i])
        }
        let original = adv.sequences
        let alpha = 2.5 * epsilon / Float(steps)
        for _ in 0..<steps {
            let g = model.inputGradient(adv, classWeights: classWeights)
            for r in 0..<adv.count {
                let mine = bothEnds.indices.contains(adv.labels[r]) && bothEnds[adv.labels[r]]
                for p in 0..<min(adv.lengths[r], t) {
                    let o = (r * t + p) * c
                    guard original[o] > 0 || mine else { continue }
                    for ch in 1...3 where g[o + ch] > 0 {
                        if ch == 2 && original[o + 2] == 0 { continue }
                        let cap = ch == 3 ? Self.maxTime : Self.maxLength
                        let hi = max(original[o + ch], min(original[o + ch] + epsilon, cap))
                        adv.sequences[o + ch] = min(adv.sequences[o + ch] + alpha, hi)
                    }
                }
            }
        }
        return adv
    }
}
