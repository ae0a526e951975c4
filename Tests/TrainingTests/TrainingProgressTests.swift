import Foundation
import Testing
import ModelFixtures
@testable import Training

/// What `train` shows after each classifier epoch.
@Suite struct TrainingProgressTests {
    final class Epochs: @unchecked Sendable {
        private let lock = NSLock()
        private var seen: [EpochProgress] = []
        func add(_ p: EpochProgress) { lock.lock(); seen.append(p); lock.unlock() }
        var all: [EpochProgress] { lock.lock(); defer { lock.unlock() }; return seen }
    }

    /// One report per epoch run, numbered from 1, carrying the losses the
    /// history records and a growing elapsed time.
    @Test func everyEpochIsReportedWithItsLosses() {
        let train = NNSyntheticData.dataset(count: 140, seqLen: 8, seed: 21)
        let val = NNSyntheticData.dataset(count: 70, seqLen: 8, seed: 22)
        var c = ClassifierTrainingConfig()
        c.epochs = 3; c.batchSize = 32; c.patience = 10; c.seed = 7
        let epochs = Epochs()
        c.onEpoch = { epochs.add($0) }
        let (_, h) = ClassifierTrainer(config: c).trainCNN(train: train, validation: val, filters1: 8, filters2: 8)
        let seen = epochs.all
        #expect(seen.map(\.epoch) == Array(1...h.trainLoss.count))
        #expect(seen.allSatisfy { $0.epochs == 3 })
        #expect(seen.map(\.trainLoss) == h.trainLoss && seen.map(\.validationLoss) == h.validationLoss)
        #expect(zip(seen, seen.dropFirst()).allSatisfy { $0.elapsed <= $1.elapsed } && seen[0].elapsed > 0)
    }

    @Test func lineIsRoundedWithTimeLeft() {
        let p = EpochProgress(model: "cnn", epoch: 3, epochs: 25, trainLoss: 0.41234567, validationLoss: 0.3987,
                              validationAccuracy: 0.96349, elapsed: 12.3)
        // 4.1 s an epoch, 22 epochs to go: 90.2 s.
        #expect(p.line == "cnn epoch 3/25: loss 0.412, validation loss 0.399, accuracy 0.963; 12 s, at most 1 min 30 s left")
        var last = p
        last.epoch = 25
        #expect(last.line.hasSuffix("; 12 s") && last.secondsLeft == 0)
    }

    @Test func numbersAndDurationsAsPeopleRead() {
        #expect(fixedPoint(0.66012347, 4) == "0.6601")
        #expect(fixedPoint(1, 3) == "1.000")
        #expect(fixedPoint(-0.0004, 3) == "0.000")
        #expect(fixedPoint(-2.5, 1) == "-2.5")
        #expect(fixedPoint(12.5, 0) == "13")
        #expect(readableDuration(0.04) == "0.0 s" && readableDuration(8.44) == "8.4 s" && readableDuration(42.4) == "42 s")
        #expect(readableDuration(125) == "2 min 05 s")
        #expect(readableDuration(3840) == "1 h 04 min")
    }
}
