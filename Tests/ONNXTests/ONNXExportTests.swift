import Detection
import Foundation
@testable import ONNX
import XCTest

/// What the export refuses, and the sidecar it writes.
final class ONNXExportTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("onnx-export-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    /// The shipped bundle with `edit` applied to its sections, written to a file.
    func bundleFile(_ name: String, _ edit: (inout ModelBundle) throws -> Void) throws -> String {
        var b = try ModelBundle.load(path: ONNXTestSupport.shippedBundle)
        try edit(&b)
        let path = dir.appendingPathComponent(name).path
        try b.write(to: path)
        return path
    }

    func exportError(_ path: String) -> ONNXExportError? {
        do { _ = try ONNXExport.artefacts(bundlePath: path, producerVersion: "test"); return nil } catch { return error }
    }

    func testTruncatedBundleNamesTheFileAndOffset() throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: ONNXTestSupport.shippedBundle))
        let path = dir.appendingPathComponent("cut.fsb").path
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: path))
        let e = try XCTUnwrap(exportError(path))
        guard case .bundle(.truncated) = e else { return XCTFail("\(e)") }
        XCTAssertTrue(e.description.hasPrefix("\(path): truncated bundle at offset"), e.description)
    }

    func testBundleWithoutFloatCNNIsRefusedNamingTheSection() throws {
        let path = try bundleFile("int8-only.fsb") { $0.sections["cnn.float"] = nil }
        let e = try XCTUnwrap(exportError(path))
        guard case .unsupported = e else { return XCTFail("\(e)") }
        XCTAssertTrue(e.description.hasPrefix("\(path): cannot export to ONNX: no float CNN (section \"cnn.float\")"), e.description)
    }

    func testBundleWithoutInt8CNNIsRefusedAsTheSensorWould() throws {
        let path = try bundleFile("no-cnn.fsb") { $0.sections["cnn.int8"] = nil }
        let e = try XCTUnwrap(exportError(path))
        XCTAssertEqual(e.description, "\(path): bundle has no \"cnn.int8\" section")
    }

    func testNetworkForAnotherSequenceLengthIsUnsupported() throws {
        let path = try bundleFile("seq16.fsb") { b in
            var lstm = try LSTMModel(decoding: try b.section("lstm.float"))
            lstm.shape.seqLen = 16
            b.sections["lstm.float"] = lstm.encode()
        }
        let e = try XCTUnwrap(exportError(path))
        XCTAssertEqual(e.description, "\(path): cannot export to ONNX: the float LSTM takes 16-packet sequences; the sensor keeps 32 packets per flow")
    }

    func testSidecarNamesFeaturesClassesThresholdAndLayout() throws {
        let files = try ONNXExport.artefacts(bundlePath: ONNXTestSupport.shippedBundle, producerVersion: "9.9")
        XCTAssertEqual(files.map(\.fileName), ["cnn.onnx", "lstm.onnx", "model.json"])
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(files[2].bytes)) as? [String: Any])
        // Expected values from the bundle's sections as stored.
        let b = try ModelBundle.load(path: ONNXTestSupport.shippedBundle)
        let schema = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(try b.section("schema"))) as? [String])
        let classes = String(decoding: try b.section("classes"), as: UTF8.self).split(separator: "\n").map(String.init)
        let meta = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(try b.section("meta"))) as? [String: Any])
        let ensemble = try b.doubles("ensemble")
        XCTAssertEqual(json["features"] as? [String], schema)
        XCTAssertEqual(json["classes"] as? [String], classes)
        XCTAssertEqual(json["model_version"] as? String, meta["modelVersion"] as? String)
        XCTAssertEqual(json["threshold"] as? Double, Double(Float(ensemble[4])))
        XCTAssertEqual(json["opset"] as? Int, 17)
        XCTAssertEqual(json["benign_class"] as? String, "benign")
        XCTAssertEqual(json["producer"] as? String, "flowsentry 9.9")
        let seq = try XCTUnwrap(json["sequence"] as? [String: Any])
        XCTAssertEqual(seq["length"] as? Int, 32)
        let channels = try XCTUnwrap(seq["channels"] as? [[String: String]])
        XCTAssertEqual(channels.map { $0["name"] }, ["direction", "ip_length", "payload_length", "inter_arrival_s", "tcp_flags"])
        let inputs = try XCTUnwrap(json["inputs"] as? [[String: Any]])
        XCTAssertEqual(inputs.map { $0["name"] as? String }, ["stats", "sequence", "length"])
        XCTAssertEqual((inputs[0]["shape"] as? [Any])?.last as? Int, schema.count)
    }
}
