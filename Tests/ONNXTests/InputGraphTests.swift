import Detection
import Foundation
@testable import ONNX
import SwiftProtobuf
import XCTest

/// The input preparation inside the exported graphs carries the bundle's own
/// constants: read from the shipped bundle's sections directly, not through
/// the model the exporter used.
final class InputGraphTests: XCTestCase {
    static let exported: [String: [UInt8]] = {
        let files = try! ONNXExport.artefacts(bundlePath: ONNXTestSupport.shippedBundle, producerVersion: "test")
        return Dictionary(uniqueKeysWithValues: files.map { ($0.fileName, $0.bytes) })
    }()

    func testNormalisationConstantsAreTheBundlesClassifierNormaliser() throws {
        let bundle = try ModelBundle.load(path: ONNXTestSupport.shippedBundle)
        let norm = try Normaliser(decoding: try bundle.section("norm.classifier"), section: "norm.classifier")
        let ensemble = try bundle.doubles("ensemble")
        let statClip = ensemble[6]
        XCTAssertGreaterThan(norm.columns.filter(\.logScale).count, 0, "the shipped bundle log-scales some columns")
        for file in [ONNXExport.cnnFile, ONNXExport.lstmFile] {
            let g = try Onnx_ModelProto(serializedBytes: try XCTUnwrap(Self.exported[file])).graph
            XCTAssertEqual(ONNXTestSupport.doubles(try XCTUnwrap(ONNXTestSupport.initializer(g, "stats_centre"))),
                           norm.columns.map(\.centre), file)
            XCTAssertEqual(ONNXTestSupport.doubles(try XCTUnwrap(ONNXTestSupport.initializer(g, "stats_scale"))),
                           norm.columns.map(\.scale), file)
            XCTAssertEqual(ONNXTestSupport.bools(try XCTUnwrap(ONNXTestSupport.initializer(g, "log_scaled_columns"))),
                           norm.columns.map(\.logScale), file)
            XCTAssertEqual(ONNXTestSupport.doubles(try XCTUnwrap(ONNXTestSupport.initializer(g, "stats_clip_max"))), [statClip], file)
            XCTAssertEqual(ONNXTestSupport.doubles(try XCTUnwrap(ONNXTestSupport.initializer(g, "stats_clip_min"))), [-statClip], file)
            let stats = g.input[0].type.tensorType.shape.dim.map(\.dimValue)
            XCTAssertEqual(stats, [0, Int64(norm.dim)], file)
        }
    }

    func testPacketEncodingConstantsAreTheSequenceEncoders() throws {
        let g = try Onnx_ModelProto(serializedBytes: try XCTUnwrap(Self.exported[ONNXExport.cnnFile])).graph
        func scalar(_ name: String) throws -> Float {
            try XCTUnwrap(ONNXTestSupport.floats(try XCTUnwrap(ONNXTestSupport.initializer(g, name))).first)
        }
        // The encoder's documented constants, from their definitions.
        XCTAssertEqual(try scalar("len_norm"), 1 / Float(log1p(65535.0)), accuracy: 1e-6)
        XCTAssertEqual(try scalar("iat_norm"), 1 / Float(log1p(1e8)), accuracy: 1e-6)
        XCTAssertEqual(try scalar("iat_us_per_s"), 1e6)
        XCTAssertEqual(try scalar("iat_cap"), 1.5)
        XCTAssertEqual(ONNXTestSupport.floats(try XCTUnwrap(ONNXTestSupport.initializer(g, "flag_bit_values"))),
                       [1, 2, 4, 8, 16, 32, 64, 128])
    }

    func testFloatNetworkWeightsAreTheBundlesFloatSections() throws {
        let bundle = try ModelBundle.load(path: ONNXTestSupport.shippedBundle)
        let cnn = try CNNModel(decoding: try bundle.section("cnn.float"))
        let lstm = try LSTMModel(decoding: try bundle.section("lstm.float"))
        let cg = try Onnx_ModelProto(serializedBytes: try XCTUnwrap(Self.exported[ONNXExport.cnnFile])).graph
        let lg = try Onnx_ModelProto(serializedBytes: try XCTUnwrap(Self.exported[ONNXExport.lstmFile])).graph
        XCTAssertEqual(ONNXTestSupport.floats(try XCTUnwrap(ONNXTestSupport.initializer(cg, "head_weight"))), cnn.head.weight)
        XCTAssertEqual(ONNXTestSupport.floats(try XCTUnwrap(ONNXTestSupport.initializer(cg, "conv2_bias"))), cnn.conv2.bias)
        XCTAssertEqual(ONNXTestSupport.floats(try XCTUnwrap(ONNXTestSupport.initializer(lg, "head_bias"))), lstm.head.bias)
        XCTAssertEqual(try XCTUnwrap(ONNXTestSupport.initializer(lg, "lstm_r")).dims,
                       [1, Int64(4 * lstm.lstm.hidden), Int64(lstm.lstm.hidden)])
    }
}
