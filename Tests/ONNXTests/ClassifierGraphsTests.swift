import Detection
import Foundation
import ModelFixtures
@testable import ONNX
import SwiftProtobuf
import XCTest

/// The graphs as ONNX bytes, read back with SwiftProtobuf: the nodes, the
/// wiring, and weights laid out as ONNX's operators read them (checked by
/// running those operators' definitions here, by hand, against our networks).
final class ClassifierGraphsTests: XCTestCase {
    /// A tiny CNN and LSTM, exported and decoded from their bytes.
    static let decoded: (cnn: Onnx_ModelProto, lstm: Onnx_ModelProto, nets: (CNNModel, LSTMModel)) = {
        let nets = ONNXTestSupport.tinyNetworks()
        var model = try! EnsembleModel.load(path: ONNXTestSupport.shippedBundle)
        model.classifierNormaliser = Normaliser(columns: [
            NormaliserColumn(logScale: true, centre: 1.5, scale: 2),
            NormaliserColumn(logScale: false, centre: -3, scale: 0.5),
            NormaliserColumn(logScale: true, centre: 0, scale: 1),
        ])
        let norm = model.classifierNormaliser
        let cnn = ONNXExport.serialised(ONNXExport.wrap(ClassifierGraphs.cnn(nets.0, normaliser: norm, statClip: 8),
                                                        model: model, network: "cnn", producerVersion: "test"))
        let lstm = ONNXExport.serialised(ONNXExport.wrap(ClassifierGraphs.lstm(nets.1, normaliser: norm, statClip: 8),
                                                         model: model, network: "lstm", producerVersion: "test"))
        return (try! Onnx_ModelProto(serializedBytes: cnn), try! Onnx_ModelProto(serializedBytes: lstm), nets)
    }()

    func testModelsDeclareOpset17AndTheirInputsAndOutput() {
        for m in [Self.decoded.cnn, Self.decoded.lstm] {
            XCTAssertEqual(m.irVersion, 8)
            XCTAssertEqual(m.opsetImport.map(\.version), [17])
            XCTAssertEqual(m.opsetImport.map(\.domain), [""])
            XCTAssertEqual(m.graph.input.map(\.name), ["stats", "sequence", "length"])
            XCTAssertEqual(m.graph.output.map(\.name), ["probabilities"])
            let dims = m.graph.input[1].type.tensorType.shape.dim
            XCTAssertEqual(dims.map(\.dimParam), ["N", "", ""])
            XCTAssertEqual(dims.map(\.dimValue), [0, 32, 5])
            XCTAssertEqual(m.graph.input[2].type.tensorType.elemType, Int32(Onnx_TensorProto.DataType.int64.rawValue))
            XCTAssertEqual(m.graph.output[0].type.tensorType.shape.dim.map(\.dimValue), [0, 4])
            XCTAssertTrue(m.metadataProps.contains { $0.key == "sidecar" && $0.value == "model.json" })
        }
    }

    func testGraphsUseTheStandardOperatorsExpected() {
        func ops(_ m: Onnx_ModelProto) -> [String: Int] { m.graph.node.reduce(into: [:]) { $0[$1.opType, default: 0] += 1 } }
        let cnn = ops(Self.decoded.cnn), lstm = ops(Self.decoded.lstm)
        XCTAssertEqual(cnn["Conv"], 2)
        XCTAssertEqual(cnn["Relu"], 2)
        XCTAssertEqual(cnn["ReduceMax"], 1)
        XCTAssertEqual(lstm["LSTM"], 1)
        XCTAssertNil(lstm["Conv"])
        for o in [cnn, lstm] {
            XCTAssertEqual(o["Gemm"], 1)
            XCTAssertEqual(o["Softmax"], 1)
            XCTAssertEqual(o["Sub"], 1)  // the statistics' centring …
            XCTAssertGreaterThanOrEqual(o["Div"] ?? 0, 1)  // … and scaling
        }
        for m in [Self.decoded.cnn, Self.decoded.lstm] {
            XCTAssertTrue(m.graph.node.allSatisfy { $0.domain.isEmpty }, "only the default ai.onnx domain")
        }
    }

    /// Every node reads only graph inputs, initializers or outputs of nodes
    /// before it (ONNX wants the nodes in topological order), and no name is
    /// produced twice.
    func testNodesAreInTopologicalOrderAndNamesAreUnique() {
        for m in [Self.decoded.cnn, Self.decoded.lstm] {
            var known = Set(m.graph.input.map(\.name) + m.graph.initializer.map(\.name))
            XCTAssertEqual(known.count, m.graph.input.count + m.graph.initializer.count)
            for n in m.graph.node {
                for i in n.input where !i.isEmpty { XCTAssertTrue(known.contains(i), "\(n.opType) \(n.name) reads \(i) before it exists") }
                for o in n.output where !o.isEmpty { XCTAssertTrue(known.insert(o).inserted, "\(o) produced twice") }
            }
            XCTAssertTrue(known.contains("probabilities"))
        }
    }

    /// ONNX Conv (zero padding, weight `[out][in][kernel]`) written out by hand
    /// on the exported weights gives the CNN's own first layer.
    func testConvWeightsInONNXLayoutReproduceTheFirstLayer() throws {
        let cnn = Self.decoded.nets.0, g = Self.decoded.cnn.graph
        let w = ONNXTestSupport.floats(try XCTUnwrap(ONNXTestSupport.initializer(g, "conv1_weight")))
        let b = ONNXTestSupport.floats(try XCTUnwrap(ONNXTestSupport.initializer(g, "conv1_bias")))
        let t = cnn.shape.seqLen, c = cnn.shape.channels, f = cnn.conv1.outChannels, k = cnn.conv1.kernel
        var rng = TestRNG(state: 3)
        let x = ONNXTestSupport.randoms(t * c, &rng, scale: 1)  // [t][c], the whole sequence valid
        let scratch = CNNScratch()
        var logits = [Float](repeating: 0, count: cnn.shape.classes)
        NNBatch.with(sequences: x, lengths: [t], stats: [0, 0, 0], count: 1) { batch in
            logits.withUnsafeMutableBufferPointer { cnn.forward(batch, scratch: scratch, logits: $0.baseAddress!) }
        }
        let ours = Array(scratch.conv1Output(count: 1, seqLen: t, channels: f))  // [t][f], after ReLU
        for step in 0..<t {
            for o in 0..<f {
                var y = Double(b[o])
                for i in 0..<c {
                    for j in 0..<k {
                        let s = step + j - k / 2
                        if s >= 0 && s < t { y += Double(w[(o * c + i) * k + j]) * Double(x[s * c + i]) }
                    }
                }
                XCTAssertEqual(Double(ours[step * f + o]), max(y, 0), accuracy: 1e-4, "step \(step) filter \(o)")
            }
        }
    }

    /// The ONNX LSTM equations (gates i, o, f, c; W, R, Wb + Rb) written out
    /// by hand on the exported weights give the LSTM's own last hidden state.
    func testLSTMWeightsInONNXGateOrderReproduceTheRecurrence() throws {
        let lstm = Self.decoded.nets.1, g = Self.decoded.lstm.graph
        let w = ONNXTestSupport.floats(try XCTUnwrap(ONNXTestSupport.initializer(g, "lstm_w")))
        let r = ONNXTestSupport.floats(try XCTUnwrap(ONNXTestSupport.initializer(g, "lstm_r")))
        let b = ONNXTestSupport.floats(try XCTUnwrap(ONNXTestSupport.initializer(g, "lstm_b")))
        let h = lstm.lstm.hidden, c = lstm.shape.channels, t = lstm.shape.seqLen, length = 11
        XCTAssertEqual(b.count, 8 * h)
        var rng = TestRNG(state: 5)
        let x = ONNXTestSupport.randoms(t * c, &rng, scale: 1)
        let scratch = LSTMScratch()
        var out = [Float](repeating: 0, count: h)
        NNBatch.with(sequences: x, lengths: [length], stats: [0, 0, 0], count: 1) { batch in
            out.withUnsafeMutableBufferPointer { lstm.encodeSequences(batch, scratch: scratch, into: $0.baseAddress!, stride: h) }
        }
        func sigmoid(_ v: Double) -> Double { 1 / (1 + exp(-v)) }
        var hs = [Double](repeating: 0, count: h), cs = hs
        for step in 0..<length {
            // z[gate][j] = W x + R h + Wb + Rb, gates in ONNX order i, o, f, c.
            var z = [[Double]](repeating: [Double](repeating: 0, count: h), count: 4)
            for gate in 0..<4 {
                for j in 0..<h {
                    let row = gate * h + j
                    var v = Double(b[row]) + Double(b[4 * h + row])
                    for i in 0..<c { v += Double(w[row * c + i]) * Double(x[step * c + i]) }
                    for i in 0..<h { v += Double(r[row * h + i]) * hs[i] }
                    z[gate][j] = v
                }
            }
            for j in 0..<h {
                cs[j] = sigmoid(z[2][j]) * cs[j] + sigmoid(z[0][j]) * tanh(z[3][j])
                hs[j] = sigmoid(z[1][j]) * tanh(cs[j])
            }
        }
        for j in 0..<h { XCTAssertEqual(Double(out[j]), hs[j], accuracy: 1e-5, "hidden \(j)") }
    }

    func testGateReorderingMovesWholeBlocks() {
        // Blocks i, f, g, o of one row each (hidden 1, width 2).
        let ours: [Float] = [1, 1, 2, 2, 3, 3, 4, 4]
        XCTAssertEqual(ClassifierGraphs.onnxGateOrder(ours, hidden: 1, width: 2), [1, 1, 4, 4, 2, 2, 3, 3])
    }
}
