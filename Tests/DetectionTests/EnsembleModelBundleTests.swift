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

extension EnsembleModelBundleTests {
    /// The trained model's sections, each check changing one of them in memory
    /// (the bundle's CRC is computed on write, so these reach the section decoders).
    static func stored() -> ModelBundle {
        var b = ModelBundle()
        EnsembleFixture.trained.0.store(in: &b)
        return b
    }

    static func loadError(_ b: ModelBundle) -> BundleError? {
        do { _ = try EnsembleModel(bundle: b); return nil } catch { return error }
    }

    @Test func aCutClassifierSectionIsACorruptSectionNamedByName() throws {
        for name in [EnsembleModel.cnnSection, EnsembleModel.lstmSection] {
            var b = Self.stored()
            b.sections[name] = Array(b.sections[name]!.prefix(20))
            let e = try #require(Self.loadError(b))
            guard case let .corruptSection(section, _, reason) = e else {
                Issue.record("\(name): expected corruptSection, got \(e)"); continue
            }
            #expect(section == name)
            #expect(reason.contains("truncated"), "\(reason)")
            #expect(e.description.hasPrefix("section \"\(name)\": corrupt"))
        }
    }

    @Test func ensembleSectionNeedsSevenValuesAndClassesMustMatchTheHeads() throws {
        var short = Self.stored()
        short.setDoubles([1, 0, 0, 0, 0.5], section: EnsembleModel.ensembleSection)
        #expect(Self.loadError(short) == .corruptSection(section: "ensemble", offset: 0,
                                                         reason: "<memory>: expected 7 values, found 5"))
        var fewer = Self.stored()
        fewer.sections[EnsembleModel.classesSection] = Array("benign\nscan".utf8)
        let e = try #require(Self.loadError(fewer))
        #expect(e.description.contains("cnn expects") && e.description.contains("and 2"), "\(e)")
        var noSchema = Self.stored()
        noSchema.setSchema([])
        #expect(Self.loadError(noSchema) == .missingSection(path: "<memory>", section: "schema"))
    }

    @Test func storedSectionsAreTheDocumentedSet() throws {
        let b = Self.stored()
        for name in ["schema", "meta", "ensemble", "cnn.int8", "lstm.int8", "classes", "norm.classifier"] {
            #expect(b.sections[name] != nil, "missing \(name)")
        }
        #expect(b.sections["classes"] == Array("benign\nscan\ndos".utf8))
        // weights (4), threshold, target FPR, stat clip: 7 doubles.
        let model = EnsembleFixture.trained.0
        let stored = try b.doubles("ensemble")
        let want = model.weights.map(Double.init) + [Double(model.threshold), model.targetFPR, Double(model.statClip)]
        #expect(stored == want)
    }
}
