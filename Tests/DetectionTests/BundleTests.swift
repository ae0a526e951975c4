import Foundation
import Testing
import Detection
import ModelFixtures
import Training

@Suite struct BundleTests {
    static let schema = (0..<6).map { "feature_\($0)" }

    /// Removes a file made under `tempPath`, and the directory once it is empty
    /// (rmdir fails harmlessly while another test's file is still in it).
    static func removeTemp(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
        rmdir(URL(fileURLWithPath: path).deletingLastPathComponent().path)
    }

    static func tempPath(_ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("flowsentry-bundle-tests-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent(name).path
    }

    /// A bundle with trained novelty sections, schema, meta and an extra opaque section.
    static func sampleBundle() throws -> (ModelBundle, NoveltyModel, [Float]) {
        var rng = TestRNG(state: 77)
        let dim = schema.count
        let train = rng.rows(600, dim), validation = rng.rows(200, dim)
        var config = NoveltyTrainingConfig()
        config.maxReferenceRows = 256
        config.k = 10
        config.nu = 0.1
        config.quantileCount = 101
        let model = try NoveltyTrainer.fit(benign: train, count: 600, dim: dim,
                                           validation: validation, validationCount: 200, config: config)
        var bundle = ModelBundle()
        bundle.setSchema(schema)
        bundle.setMeta(BundleMeta(modelVersion: "novelty-test-1", trainingCaptures: ["a.pcap", "b.pcap"],
                                  createdAt: "2026-04-22T00:00:00Z", metrics: ["fpr": 0.001]))
        model.store(in: &bundle)
        bundle.sections["cnn"] = [1, 2, 3, 0, 255]
        bundle.sections["empty"] = []
        return (bundle, model, rng.rows(40, dim))
    }

    @Test func typedSectionHelpers() throws {
        var b = ModelBundle()
        b.setFloats([1.5, -2, .infinity], section: "cnn.weights")
        b.setDoubles([0.1, 1e300], section: "d")
        b.setInts([3, -7, Int.max], section: "cnn.shape")
        let loaded = try ModelBundle(bytes: b.serialised())
        #expect(try loaded.floats("cnn.weights") == [1.5, -2, .infinity])
        #expect(try loaded.doubles("d") == [0.1, 1e300])
        #expect(try loaded.ints("cnn.shape") == [3, -7, Int.max])
        // Little-endian layout: u64 count then IEEE-754 values.
        #expect(b.sections["cnn.weights"]!.prefix(12) == [3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xC0, 0x3F])
        #expect(throws: BundleError.missingSection(path: "<memory>", section: "lstm")) { try loaded.floats("lstm") }
        #expect(throws: BundleError.self) { try loaded.floats("cnn.shape") }  // wrong payload length
    }

    @Test func fileRoundTripPreservesSectionsAndScores() throws {
        let (bundle, model, queries) = try Self.sampleBundle()
        let path = Self.tempPath("roundtrip.fsb")
        defer { Self.removeTemp(path) }
        try bundle.write(to: path)
        let loaded = try ModelBundle.load(path: path)
        #expect(loaded == bundle)
        #expect(loaded.sourcePath == path)
        #expect(loaded.sections["cnn"] == [1, 2, 3, 0, 255])
        #expect(loaded.sections["empty"] == [])
        #expect(try loaded.schema == Self.schema)
        #expect(try loaded.meta.modelVersion == "novelty-test-1")
        try loaded.checkSchema(expected: Self.schema)

        let restored = try NoveltyModel(bundle: loaded, expectedSchema: Self.schema)
        #expect(restored == model)
        #expect(restored.lofCalibration != nil && restored.ocsvmCalibration != nil)
        let a = model.makeScorer().score(batch: queries, rows: 40)
        let b = restored.makeScorer(maxBatch: 1).score(batch: queries, rows: 40)
        #expect(a.lofRaw == b.lofRaw && a.ocsvmRaw == b.ocsvmRaw && a.lof == b.lof && a.ocsvm == b.ocsvm)
        #expect(a.lof.allSatisfy { $0 >= 0 && $0 <= 1 })
        // Serialisation is deterministic.
        #expect(bundle.serialised() == loaded.serialised())
    }

    @Test func truncatedAtAnyOffsetIsAnError() throws {
        let (bundle, _, _) = try Self.sampleBundle()
        let bytes = bundle.serialised()
        let path = Self.tempPath("truncated.fsb")
        defer { Self.removeTemp(path) }
        for cut in [0, 3, 8, 11, 20, 27, 28, 40, bytes.count / 2, bytes.count - 1] {
            try Data(bytes[0..<cut]).write(to: URL(fileURLWithPath: path))
            do {
                _ = try ModelBundle.load(path: path)
                Issue.record("truncation at \(cut) was accepted")
            } catch {
                guard case .truncated(let p, _, _, _) = error else {
                    Issue.record("truncation at \(cut) gave \(error)")
                    continue
                }
                #expect(p == path)
                #expect(error.description.contains(path) && error.description.contains("offset"))
            }
        }
    }

    @Test func flippedByteIsAChecksumError() throws {
        let (bundle, _, _) = try Self.sampleBundle()
        let bytes = bundle.serialised()
        for position in [12, 15, ModelBundle.headerSize, ModelBundle.headerSize + 5, bytes.count / 3, bytes.count - 1] {
            var corrupt = bytes
            corrupt[position] ^= 0x10
            #expect(throws: BundleError.self) { try ModelBundle(bytes: corrupt, path: "x.fsb") }
            do {
                _ = try ModelBundle(bytes: corrupt, path: "x.fsb")
            } catch {
                guard case .checksumMismatch = error else { Issue.record("flip at \(position) gave \(error)"); continue }
                #expect(error.description.contains("x.fsb"))
            }
        }
        // Flipping the stored CRC itself is also caught.
        var crc = bytes
        crc[24] ^= 1
        #expect(throws: BundleError.checksumMismatch(path: "<memory>", stored: readU32(crc, 24), computed: readU32(bytes, 24))) {
            try ModelBundle(bytes: crc)
        }
    }

    @Test func badMagicVersionTrailingAndMissingSection() throws {
        let (bundle, _, _) = try Self.sampleBundle()
        let bytes = bundle.serialised()
        var magic = bytes
        magic[0] = UInt8(ascii: "X")
        #expect(throws: BundleError.badMagic(path: "m")) { try ModelBundle(bytes: magic, path: "m") }
        #expect(throws: BundleError.badMagic(path: "m")) { try ModelBundle(bytes: Array("hello".utf8), path: "m") }
        var version = bytes
        version[8] = 2
        #expect(throws: BundleError.unsupportedVersion(path: "v", found: 2, supported: 1)) { try ModelBundle(bytes: version, path: "v") }
        #expect(throws: BundleError.self) { try ModelBundle(bytes: bytes + [0], path: "t") }
        // File problems say the file and the system's reason once, in plain words.
        do {
            _ = try ModelBundle.load(path: "/nonexistent/dir/b.fsb")
            Issue.record("loading a missing file succeeded")
        } catch {
            #expect(error.description == "/nonexistent/dir/b.fsb: model bundle: cannot open: No such file or directory")
        }
        do {
            _ = try ModelBundle.load(path: "/tmp")
            Issue.record("loading a directory succeeded")
        } catch {
            #expect(error.description == "/tmp: model bundle: cannot read: Is a directory")
        }
        do {
            try bundle.write(to: "/nonexistent/dir/b.fsb")
            Issue.record("writing into a missing directory succeeded")
        } catch {
            #expect(error.description.hasPrefix("/nonexistent/dir/b.fsb: model bundle: cannot create /nonexistent/dir/b.fsb.tmp-"))
            #expect(error.description.hasSuffix(": No such file or directory"))
        }

        var noNorm = bundle
        noNorm.sections["norm"] = nil
        noNorm.sourcePath = "nonorm.fsb"
        #expect(throws: BundleError.missingSection(path: "nonorm.fsb", section: "norm")) { try NoveltyModel(bundle: noNorm) }
        var badLOF = bundle
        badLOF.sections["lof"]!.removeLast()
        do {
            _ = try NoveltyModel(bundle: badLOF)
            Issue.record("corrupt lof section accepted")
        } catch {
            guard case .corruptSection(let s, _, _) = error else { Issue.record("\(error)"); return }
            #expect(s == "lof")
        }
    }

    @Test func schemaMismatchNamesFirstDifference() throws {
        let (bundle, _, _) = try Self.sampleBundle()
        var other = Self.schema
        other[3] = "pkt_len_mean"
        #expect(throws: BundleError.schemaMismatch(path: "<memory>", index: 3, expected: "pkt_len_mean", found: "feature_3")) {
            try bundle.checkSchema(expected: other)
        }
        #expect(throws: BundleError.schemaMismatch(path: "<memory>", index: 6, expected: "extra", found: nil)) {
            try NoveltyModel(bundle: bundle, expectedSchema: Self.schema + ["extra"])
        }
        do {
            try bundle.checkSchema(expected: other)
        } catch {
            #expect(error.description.contains("pkt_len_mean") && error.description.contains("#3"))
        }
    }
}

private func readU32(_ b: [UInt8], _ o: Int) -> UInt32 {
    UInt32(b[o]) | UInt32(b[o + 1]) << 8 | UInt32(b[o + 2]) << 16 | UInt32(b[o + 3]) << 24
}
