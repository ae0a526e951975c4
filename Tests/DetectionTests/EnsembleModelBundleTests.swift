import Foundation
import Testing
@testable import Detection
@testable import Features
@testable import Training

@Suite struct EnsembleModelBundleTests {
    @Test func bundleRoundTripAndErrorsAtLoad() throws {
        let (model, _) = EnsembleFixture.trained
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
}
