import Detection
import Foundation
import ModelFixtures
@testable import ONNX

/// Small random networks and readers for the decoded protobuf messages.
enum ONNXTestSupport {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let shippedBundle = root.appendingPathComponent("rules/flowsentry.fsb").path

    static func randoms(_ n: Int, _ rng: inout TestRNG, scale: Double = 0.3) -> [Float] {
        (0..<n).map { _ in Float(rng.normal() * scale) }
    }

    /// A CNN and an LSTM of the sensor's input shape with random weights.
    static func tinyNetworks(statsDim: Int = 3, classes: Int = 4, seqLen: Int = 32) -> (CNNModel, LSTMModel) {
        var rng = TestRNG(state: 7)
        let shape = NNShape(seqLen: seqLen, channels: SequenceEncoder.channels, statsDim: statsDim, classes: classes)
        let c = SequenceEncoder.channels, f1 = 5, f2 = 4, k = 3, h = 6
        let conv1 = Conv1DLayer(inChannels: c, outChannels: f1, kernel: k, weight: randoms(f1 * k * c, &rng), bias: randoms(f1, &rng))
        let conv2 = Conv1DLayer(inChannels: f1, outChannels: f2, kernel: k, weight: randoms(f2 * k * f1, &rng), bias: randoms(f2, &rng))
        let cnnHead = DenseLayer(inputs: 2 * f2 + statsDim, outputs: classes,
                                 weight: randoms((2 * f2 + statsDim) * classes, &rng), bias: randoms(classes, &rng))
        let lstm = LSTMLayer(inputs: c, hidden: h, wx: randoms(4 * h * c, &rng), wh: randoms(4 * h * h, &rng), bias: randoms(4 * h, &rng))
        let lstmHead = DenseLayer(inputs: h + statsDim, outputs: classes,
                                  weight: randoms((h + statsDim) * classes, &rng), bias: randoms(classes, &rng))
        return (CNNModel(shape: shape, conv1: conv1, conv2: conv2, head: cnnHead),
                LSTMModel(shape: shape, lstm: lstm, head: lstmHead))
    }

    static func initializer(_ g: Onnx_GraphProto, _ name: String) -> Onnx_TensorProto? {
        g.initializer.first { $0.name == name }
    }

    static func floats(_ t: Onnx_TensorProto) -> [Float] {
        precondition(t.dataType == Int32(Onnx_TensorProto.DataType.float.rawValue))
        return stride(from: 0, to: t.rawData.count, by: 4).map { i in
            Float(bitPattern: t.rawData[t.rawData.startIndex + i ..< t.rawData.startIndex + i + 4].reversed()
                .reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
        }
    }

    static func doubles(_ t: Onnx_TensorProto) -> [Double] {
        precondition(t.dataType == Int32(Onnx_TensorProto.DataType.double.rawValue))
        return stride(from: 0, to: t.rawData.count, by: 8).map { i in
            Double(bitPattern: t.rawData[t.rawData.startIndex + i ..< t.rawData.startIndex + i + 8].reversed()
                .reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        }
    }

    static func bools(_ t: Onnx_TensorProto) -> [Bool] {
        precondition(t.dataType == Int32(Onnx_TensorProto.DataType.bool.rawValue))
        return t.rawData.map { $0 != 0 }
    }
}
