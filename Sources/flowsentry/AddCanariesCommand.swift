import ArgumentParser
import Detection
import Foundation
import Training

/// Gives an existing bundle a canary set (the "canaries" section `train`
/// writes) from labelled captures: the attack flows of their held-out test
/// split (the split `train` uses, so with the bundle's own training
/// captures these are flows it never trained on) that the bundle catches.
struct AddCanariesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add-canaries",
        abstract: "Add a canary set (held-out attack flows the bundle catches) to a bundle from labelled captures, for baseline's poisoning guard.",
        discussion: ExitStatus.discussion)

    @Option(name: .customLong("captures"), parsing: .upToNextOption, help: "Capture files.") var captures: [String] = []
    @Option(name: .customLong("labels"), parsing: .upToNextOption, help: "Ground-truth CSV files, one per capture.")
    var labels: [String] = []
    @Option(help: "The bundle.") var model: String
    @Option(help: "Where to write the bundle with canaries (may be the same path).") var out: String
    @Option(name: .customLong("per-class"), help: "Canary flows per attack class at most.")
    var perClass: Int = CanarySet.defaultPerClass

    func validate() throws {
        if captures.isEmpty { throw ValidationError("give --captures FILE...") }
        if captures.count != labels.count {
            throw ValidationError("--captures has \(captures.count) files but --labels has \(labels.count); give one label file per capture")
        }
        if perClass < 1 { throw ValidationError("--per-class must be at least 1") }
    }

    func run() throws {
        var bundle: ModelBundle
        let m: EnsembleModel
        let data: LabelledCaptures
        do {
            if let problem = OutputPathCheck.problem(out) { throw TrainingError("\(out): \(problem)") }
            bundle = try ModelBundle.load(path: model)
            m = try EnsembleModel(bundle: bundle)
            data = try loadLabelled(captures: captures, labels: labels, statFeatures: m.statFeatures,
                                    flowConfig: .init(), classes: m.classes)
        } catch {
            FileHandleStderr.write("flowsentry: error: \(error)\n")
            throw ExitStatus.cannotStart
        }
        for e in data.errors { FileHandleStderr.write("flowsentry: warning: \(e)\n") }
        do throws(any Error) {
            let canaries = CanarySet.choose(from: data.flows, candidates: data.flows.indices(.test), model: m, perClass: perClass)
            guard canaries.count > 0 else {
                throw TrainingError("no held-out attack flow of these captures is caught by \(model): no canaries to add")
            }
            bundle.setCanaries(canaries)
            var provenance = try bundle.provenance ?? BundleProvenance()
            provenance.canaries = .init(writtenBy: "add-canaries", createdAt: ISO8601DateFormatter().string(from: Date()),
                                        captures: try captures.map { try FileDigest.record($0) }, perClass: canaries.perClass)
            bundle.setProvenance(provenance)
            try bundle.write(to: out)
            print("canaries: " + m.classes.compactMap { n in canaries.perClass[n].map { "\(n) \($0)" } }.joined(separator: ", "))
            print("wrote \(out) (\(m.meta.modelVersion))")
        } catch {
            FileHandleStderr.write("flowsentry: error: \(error)\n")
            throw ExitStatus.failed
        }
    }
}
