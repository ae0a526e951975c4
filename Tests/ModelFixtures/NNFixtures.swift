import Detection
import Training

/// Small trained models shared by the quantization and serialization tests.
package enum NNFixtures {
    package static let shape = NNShape(seqLen: 16, channels: SequenceEncoder.channels, statsDim: 3, classes: 7)
    package static let train = NNSyntheticData.dataset(count: 700, seqLen: 16, statsDim: 3, seed: 101)
    package static let validation = NNSyntheticData.dataset(count: 210, seqLen: 16, statsDim: 3, seed: 102)
    package static let test = NNSyntheticData.dataset(count: 1400, seqLen: 16, statsDim: 3, seed: 103)

    package static var config: ClassifierTrainingConfig {
        var c = ClassifierTrainingConfig()
        c.epochs = 8; c.batchSize = 32; c.learningRate = 5e-3; c.patience = 3; c.seed = 5
        return c
    }

    package static let cnn: CNNModel = ClassifierTrainer(config: config).trainCNN(train: train, validation: validation).model
    package static let lstm: LSTMModel = ClassifierTrainer(config: config).trainLSTM(train: train, validation: validation).model
    package static let cnnInt8: CNNInt8Model = Quantizer.quantize(cnn, calibration: train)
    package static let lstmInt8: LSTMInt8Model = Quantizer.quantize(lstm, calibration: train)

    package static func argmax(_ p: [Float], classes k: Int) -> [Int] {
        (0 ..< p.count / k).map { i in
            var a = 0
            for j in 1 ..< k where p[i * k + j] > p[i * k + a] { a = j }
            return a
        }
    }
}
