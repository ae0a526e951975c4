import ArgumentParser
import Detection
import Features
import Flows
import Foundation
import Perturbation
import Sensor
import Training

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Score labelled captures and print per-class precision, recall, F1, FPR, ROC-AUC, PR-AUC, recall at fixed FPR and the confusion matrix.",
        discussion: ExitStatus.discussion)

    @Option(name: .customLong("captures"), parsing: .upToNextOption) var captures: [String] = []
    @Option(name: .customLong("labels"), parsing: .upToNextOption) var labels: [String] = []
    @Option(help: "Model bundle (default: rules/flowsentry.fsb).") var model: String?
    @Option(help: "Detection policy whose behaviour thresholds and rules decide which behaviour verdicts alert (default: policy.yaml beside the model).")
    var policy: String?
    @Flag(name: .customLong("models-only"),
          help: "Count only the models' verdicts as alerts, not the behaviour verdicts across flows (which the sensor alerts as well).")
    var modelsOnly = false
    @Flag(help: "Print JSON.") var json = false
    @Flag(name: .customLong("no-evidence-gate"),
          help: "Count model verdicts whose class lacks its evidence as alerts (the sensor drops them by default).")
    var noEvidenceGate = false
    @Option(name: .customLong("perturb"), parsing: .upToNextOption,
            help: ArgumentHelp("Also score the captures with each perturbation applied to their attack flows (KIND[:STRENGTH], strength 0–1, 0.5 when left out; kinds: pad, split, inject, jitter, slow, spread) and print attack recall per class and perturbation.",
                               valueName: "kind:strength"))
    var perturb: [String] = []
    @Option(name: .customLong("perturb-seed"), help: "Seed of the perturbations' random choices.")
    var perturbSeed: UInt64 = 1
    @Option(name: .customLong("keep-perturbed"),
            help: ArgumentHelp("Keep the perturbed captures and their ground truth in DIR (CAPTURE.KIND-STRENGTH.pcap and .labels.csv).", valueName: "dir"))
    var keepPerturbed: String?

    func validate() throws {
        if captures.isEmpty { throw ValidationError("give --captures FILE...") }
        for p in perturb {
            do { _ = try Perturbation(parsing: p) } catch { throw ValidationError("--perturb: \(error)") }
        }
        if captures.count != labels.count {
            throw ValidationError("--captures has \(captures.count) files but --labels has \(labels.count)")
        }
    }

    func run() throws {
        do {
            let (m, p) = try loadModelAndPolicy(model: model, policy: policy)
            let behaviourPolicy = modelsOnly ? nil : p
            if !perturb.isEmpty {
                let r = try RobustnessReport.run(model: m, captures: captures, labels: labels,
                                                 perturbations: try perturb.map { try Perturbation(parsing: $0) },
                                                 seed: perturbSeed, evidenceGate: !noEvidenceGate, policy: behaviourPolicy,
                                                 keepIn: keepPerturbed)
                print(json ? try r.json(modelVersion: m.meta.modelVersion)
                           : r.text(title: "\(m.meta.modelVersion) on \(captures.count) capture(s), perturbed attack flows (seed \(perturbSeed))"))
                return
            }
            let data = try loadLabelled(captures: captures, labels: labels, statFeatures: m.statFeatures,
                                        flowConfig: .init(), classes: m.classes, policy: behaviourPolicy)
            let e = Evaluation.run(model: m, data: data.flows, split: nil, evidenceGate: !noEvidenceGate)
            if json {
                var obj: [String: Any] = e.flatMetrics.reduce(into: [:]) { $0[$1.key.replacingOccurrences(of: "test.", with: "")] = $1.value }
                obj["confusion"] = e.confusion
                obj["classes"] = e.classes
                obj["unlabelled_flows"] = data.unlabelled
                obj["evidence"] = e.evidenceHolds.mapValues { $0.json }
                obj["model_version"] = m.meta.modelVersion
                let d = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])
                print(String(decoding: d, as: UTF8.self))
            } else {
                print(e.text(title: "\(m.meta.modelVersion) on \(captures.count) capture(s)"))
                if data.unlabelled > 0 { print("(\(data.unlabelled) flows matched no label row and were left out)") }
            }
        } catch {
            // The bundle, a label file, or captures that match no label: nothing was scored.
            FileHandleStderr.write("flowsentry: error: \(error)\n")
            throw ExitStatus.cannotStart
        }
    }
}

func fmtPercent(_ v: Double) -> String {
    let m = Int((v * 10000).rounded())
    return "\(m / 100).\(m % 100 < 10 ? "0" : "")\(m % 100)%"
}
