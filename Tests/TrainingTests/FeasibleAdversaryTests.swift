import Detection
import ModelFixtures
import Testing
import Training

/// The adversary moves only what an attacker's traffic can change, only
/// upward, within epsilon, and moves it in the direction that raises the loss.
@Suite struct FeasibleAdversaryTests {
    @Test func changesStayFeasibleAndRaiseTheLoss() throws {
        let data = NNSyntheticData.dataset(count: 24, seqLen: 8, statsDim: 2, seed: 4)
        let b = data.batch(0 ..< 24)
        let shape = NNShape(seqLen: 8, channels: SequenceEncoder.channels, statsDim: 2, classes: 7)
        let model = CNNModel.initialized(shape: shape, filters1: 4, filters2: 5, kernel: 3, seed: 5)
        let weights = [Float](repeating: 1, count: 7)
        let benign = 0
        // Class 5 stands for c2: both ends are the attacker's.
        let adversary = FeasibleAdversary(steps: 3, epsilon: 0.05, benign: benign,
                                          bothEnds: (0..<7).map { $0 == 5 })
        let attackRows = (0..<b.count).filter { b.labels[$0] != benign }
        try #require(!attackRows.isEmpty && attackRows.count < b.count)
        let adv = try #require(adversary.perturb(b, model: model, classWeights: weights))
        #expect(adv.count == attackRows.count && adv.labels == attackRows.map { b.labels[$0] })
        let t = shape.seqLen, c = shape.channels
        var moved = 0
        for (r, i) in attackRows.enumerated() {
            #expect(Array(adv.stats[(r * 2)..<(r * 2 + 2)]) == Array(b.stats[(i * 2)..<(i * 2 + 2)]))
            for p in 0..<t {
                for ch in 0..<c {
                    let x0 = b.sequences[(i * t + p) * c + ch], x = adv.sequences[(r * t + p) * c + ch]
                    let mayMove = p < b.lengths[i] && (1...3).contains(ch)
                        && (b.sequences[(i * t + p) * c] > 0 || b.labels[i] == 5)
                        && !(ch == 2 && b.sequences[(i * t + p) * c + 2] == 0)
                    if !mayMove {
                        #expect(x == x0, "row \(i) packet \(p) channel \(ch) moved")
                    } else {
                        #expect(x >= x0 && x <= x0 + 0.05 + 1e-6)
                        if x > x0 { moved += 1 }
                    }
                }
            }
        }
        #expect(moved > 0)
        // The loss on the moved rows is higher than on the originals.
        let original = data.batch(attackRows)
        let before = model.lossAndGradients(original, classWeights: weights).loss
        let after = model.lossAndGradients(adv, classWeights: weights).loss
        #expect(after > before)
    }

    @Test func aBenignOnlyBatchHasNothingToMove() {
        let data = NNSyntheticData.dataset(count: 24, seqLen: 8, statsDim: 2, seed: 4)
        let rows = (0..<data.count).filter { data.labels[$0] == 0 }
        let shape = NNShape(seqLen: 8, channels: SequenceEncoder.channels, statsDim: 2, classes: 7)
        let model = CNNModel.initialized(shape: shape, filters1: 4, filters2: 5, kernel: 3, seed: 5)
        let adversary = FeasibleAdversary(steps: 1, epsilon: 0.05, benign: 0, bothEnds: [])
        #expect(adversary.perturb(data.batch(rows), model: model, classWeights: [Float](repeating: 1, count: 7)) == nil)
    }
}
