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
            let (m, _) = try loadModelAndPolicy(model: model, policy: nil)
            if !perturb.isEmpty {
                let r = try RobustnessReport.run(model: m, captures: captures, labels: labels,
                                                 perturbations: try perturb.map { try Perturbation(parsing: $0) },
                                                 seed: perturbSeed, evidenceGate: !noEvidenceGate, keepIn: keepPerturbed)
                print(json ? try r.json(modelVersion: m.meta.modelVersion)
                           : r.text(title: "\(m.meta.modelVersion) on \(captures.count) capture(s), perturbed attack flows (seed \(perturbSeed))"))
                return
            }
            let data = try loadLabelled(captures: captures, labels: labels, statFeatures: m.statFeatures,
                                        flowConfig: .init(), classes: m.classes)
            let e = Evaluation.run(model: m, data: data.flows, split: nil, evidenceGate: !noEvidenceGate)
            if json {
                var obj: [String: Any] = e.flatMetrics.reduce(into: [:]) { $0[$1.key.replacingOccurrences(of: "test.", with: "")] = $1.value }
                obj["confusion"] = e.confusion
                obj["classes"] = e.classes
                obj["unlabelled_flows"] = data.unlabelled
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

struct BaselineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baseline",
        abstract: "Re-fit the novelty models and the alert threshold on a site's own (benign) traffic, keeping the trained classifiers.",
        discussion: ExitStatus.discussion)

    @Option(name: .customLong("captures"), parsing: .upToNextOption) var captures: [String] = []
    @Option(help: "The bundle to start from.") var model: String
    @Option(help: "Where to write the new bundle.") var out: String

    func validate() throws {
        if captures.isEmpty { throw ValidationError("give --captures FILE... of the site's normal traffic") }
    }

    func run() throws {
        let m: EnsembleModel
        do {
            if let problem = OutputPathCheck.problem(out) { throw TrainingError("\(out): \(problem)") }
            m = try EnsembleModel.load(path: model)
        } catch {
            FileHandleStderr.write("flowsentry: error: \(error)\n")
            throw ExitStatus.cannotStart
        }
        do throws(any Error) {
            var stats: [Float] = [], raw: [Float] = [], lengths: [Int] = []
            var rows: [(Int64, [Float], [Float], Int)] = []
            var s = [Float](repeating: 0, count: m.statFeatures.count)
            var w = [Float](repeating: 0, count: PacketSequence.length * 5)
            let p = ReplayPipeline(config: .init())
            p.run(files: captures) { r, _ in
                s.withUnsafeMutableBufferPointer { ModelInput.stats(r.features, indices: m.featureIndices, into: $0.baseAddress!) }
                let n = w.withUnsafeMutableBufferPointer { ModelInput.sequence(r.sequence, into: $0.baseAddress!) }
                rows.append((r.startNs, s, w, n))
            }
            for e in p.summary.errors { FileHandleStderr.write("flowsentry: warning: \(e)\n") }
            rows.sort { $0.0 < $1.0 }
            for r in rows { stats += r.1; raw += r.2; lengths.append(r.3) }
            var (newModel, report) = try Baseline.refit(m, stats: stats, raw: raw, lengths: lengths, count: rows.count)
            newModel.meta.notes["baseline"] = "novelty re-fitted on \(report.fitFlows) flows of \(captures.map { URL(fileURLWithPath: $0).lastPathComponent }.joined(separator: ", "))"
            var b = ModelBundle()
            newModel.store(in: &b)
            try b.write(to: out)
            print("baseline: novelty models re-fitted on \(report.fitFlows) flows, calibrated on \(report.calibrationFlows)")
            print("threshold \(fixedPoint(Double(report.oldThreshold), 4)) → \(fixedPoint(Double(report.newThreshold), 4)); held-out site flows flagged: \(fmtPercent(report.flaggedBefore)) before, \(fmtPercent(report.flaggedAfter)) after")
            print("wrote \(out)")
        } catch {
            FileHandleStderr.write("flowsentry: error: \(error)\n")
            throw ExitStatus.failed
        }
    }
}

func fmtPercent(_ v: Double) -> String {
    let m = Int((v * 10000).rounded())
    return "\(m / 100).\(m % 100 < 10 ? "0" : "")\(m % 100)%"
}
