import ArgumentParser
import Detection
import Foundation
import Training

/// Prints what a bundle is and where it came from: model version, creation
/// time, classes, threshold, sections, canaries and the provenance section
/// (training captures and label files with their SHA-256, the model card
/// and whether the file beside the bundle still matches, every baseline
/// with its captures, parent and whether it was forced). Bundles from
/// before provenance was recorded print what they have and say so.
struct ModelInfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model-info",
        abstract: "Print a model bundle's version, classes, threshold, sections and provenance.",
        discussion: ExitStatus.discussion)

    @Argument(help: "The model bundle.") var bundle: String
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let b: ModelBundle, digest: String
        do {
            b = try ModelBundle.load(path: bundle)
            digest = try FileDigest.sha256(path: bundle).hex
        } catch {
            FileHandleStderr.write("flowsentry: error: \(error)\n")
            throw ExitStatus.cannotStart
        }
        // Each part on its own: a section that cannot be read is reported, the rest still printed.
        var problems: [String] = []
        func part<T>(_ f: () throws -> T?) -> T? {
            do { return try f() } catch { problems.append("\(error)"); return nil }
        }
        let meta = part { try b.meta }
        let classes = b.sections[EnsembleModel.classesSection].map {
            String(decoding: $0, as: UTF8.self).split(separator: "\n").map(String.init)
        }
        let ensemble = part { b.sections[EnsembleModel.ensembleSection] == nil ? nil : try b.doubles(EnsembleModel.ensembleSection) }
        let schema = part { b.sections[ModelBundle.schemaSection] == nil ? nil : try b.schema }
        let canaries = part { try b.canaries }
        let provenance = part { try b.provenance }
        let card = provenance?.training?.card.map { cardStatus($0) }

        if json {
            var o: [String: Any] = ["bundle": bundle, "sha256": digest,
                                    "sections": b.sections.mapValues { $0.count }]
            if let meta {
                o["model_version"] = meta.modelVersion
                o["created_at"] = meta.createdAt
                o["notes"] = meta.notes
                o["training_captures"] = meta.trainingCaptures
            }
            if let classes { o["classes"] = classes }
            if let e = ensemble, e.count >= 6 {
                o["threshold"] = e[4]; o["target_fpr"] = e[5]
                o["weights"] = ["cnn": e[0], "lstm": e[1], "lof": e[2], "ocsvm": e[3]]
            }
            if let s = schema { o["statistics"] = s.count }
            o["canaries"] = canaries.map { $0.perClass } ?? NSNull()
            if let p = provenance {
                let data = Data(p.encoded())
                o["provenance"] = try JSONSerialization.jsonObject(with: data)
                if let card { o["card_on_disk"] = card }
            } else {
                o["provenance"] = NSNull()
            }
            if !problems.isEmpty { o["problems"] = problems }
            let d = try JSONSerialization.data(withJSONObject: o, options: [.sortedKeys, .prettyPrinted])
            print(String(decoding: d, as: UTF8.self))
        } else {
            var s = "bundle: \(bundle)\nsha256: \(digest)\n"
            if let meta {
                s += "model version: \(meta.modelVersion)\ncreated: \(meta.createdAt)\n"
            }
            if let classes { s += "classes: \(classes.joined(separator: ", "))\n" }
            if let e = ensemble, e.count >= 6 {
                s += "threshold: \(fixedPoint(e[4], 6)) (target false-positive rate \(e[5]))\n"
                s += "weights: cnn \(fixedPoint(e[0], 3)), lstm \(fixedPoint(e[1], 3)), lof \(fixedPoint(e[2], 3)), ocsvm \(fixedPoint(e[3], 3))\n"
            }
            if let sc = schema { s += "statistics: \(sc.count)\n" }
            s += "sections: " + b.sections.keys.sorted().map { "\($0) (\(b.sections[$0]!.count) B)" }.joined(separator: ", ") + "\n"
            if let c = canaries {
                s += "canaries: " + c.classes.compactMap { n in c.perClass[n].map { "\(n) \($0)" } }.joined(separator: ", ") + "\n"
            } else {
                s += "canaries: none (no \"\(CanarySet.section)\" section; baseline cannot check them)\n"
            }
            if let p = provenance {
                s += provenanceText(p, card: card)
            } else {
                s += "provenance: absent (the bundle has no \"\(BundleProvenance.section)\" section; it was made before provenance was recorded)\n"
                if let meta, !meta.trainingCaptures.isEmpty {
                    s += "  the meta section names its training captures (no hashes): \(meta.trainingCaptures.joined(separator: ", "))\n"
                }
            }
            for p in problems { s += "problem: \(p)\n" }
            print(s, terminator: "")
        }
    }

    /// Whether the card the provenance names is beside the bundle and still the one recorded.
    func cardStatus(_ card: BundleProvenance.FileRecord) -> String {
        // The path as `train` was given it; relative paths are tried from here and beside the bundle.
        let beside = URL(fileURLWithPath: bundle).deletingLastPathComponent()
            .appendingPathComponent(URL(fileURLWithPath: card.path).lastPathComponent).path
        for path in [card.path, beside] where FileManager.default.fileExists(atPath: path) {
            guard let d = try? FileDigest.sha256(path: path) else { continue }
            return d.hex == card.sha256 ? "matches \(path)" : "differs: \(path) has sha256 \(d.hex)"
        }
        return "not found"
    }

    func provenanceText(_ p: BundleProvenance, card: String?) -> String {
        func files(_ fs: [BundleProvenance.FileRecord], indent: String = "    ") -> String {
            fs.map { "\(indent)\($0.path)  sha256 \($0.sha256)  \($0.bytes) B\n" }.joined()
        }
        var s = "provenance:\n"
        if let t = p.training {
            s += "  trained: \(t.createdAt) as \(t.modelVersion)\n  training captures:\n" + files(t.captures)
            if !t.labels.isEmpty { s += "  label files:\n" + files(t.labels) }
            if let c = t.card {
                s += "  model card: \(c.path)  sha256 \(c.sha256) (\(card ?? "not checked"))\n"
            } else {
                s += "  model card: none recorded\n"
            }
        } else {
            s += "  training: not recorded\n"
        }
        if let c = p.canaries {
            s += "  canaries: written by \(c.writtenBy) at \(c.createdAt) from:\n" + files(c.captures)
        }
        if p.baselines.isEmpty {
            s += "  baselines: none\n"
        }
        for (i, bl) in p.baselines.enumerated() {
            s += "  baseline \(i + 1): \(bl.createdAt) → \(bl.modelVersion) from \(bl.parentModelVersion) (parent sha256 \(bl.parentSHA256))\n"
            s += "    \(bl.flows) flows, \(bl.attackFlows) attack flows to the parent; threshold \(fixedPoint(bl.thresholdBefore, 4)) → \(fixedPoint(bl.thresholdAfter, 4))\n"
            if let r = bl.canaryRecall {
                s += "    canary recall: " + r.keys.sorted().map { "\($0) \(fixedPoint(r[$0]!, 3))" }.joined(separator: ", ") + "\n"
            } else {
                s += "    canary recall: not checked (the parent had no canaries)\n"
            }
            s += bl.forced ? "    FORCED: the poisoning guard refused, --force overrode it: \(bl.guardFindings.joined(separator: "; "))\n"
                           : "    not forced (the poisoning guard accepted the captures)\n"
            s += "    captures:\n" + files(bl.captures, indent: "      ")
        }
        return s
    }
}
