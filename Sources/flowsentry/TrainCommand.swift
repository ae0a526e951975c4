import ArgumentParser
import Detection
import Foundation
import Perturbation
import Training
#if canImport(Glibc)
import Glibc
#endif

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train every model from labelled captures and write one versioned model bundle.",
        discussion: ExitStatus.discussion(after: """
            Progress goes to stderr: each classifier epoch with its losses, the time taken and \
            the most left (early stopping may end sooner), on one updating line when stderr \
            is a terminal, one line per epoch otherwise.
            """))

    @Option(name: .customLong("captures"), parsing: .upToNextOption, help: "Capture files.")
    var captures: [String] = []

    @Option(name: .customLong("labels"), parsing: .upToNextOption, help: "Ground-truth CSV files, one per capture, in the same order.")
    var labels: [String] = []

    @Option(help: "Where to write the bundle.")
    var out: String

    @Option(name: .customLong("target-fpr"), help: "False-positive rate on benign validation flows the alert threshold is set for.")
    var targetFPR: Double = 1e-3

    @Option(help: "Training epochs (early stopping may end sooner).")
    var epochs: Int = 25

    @Option(help: "Random seed.")
    var seed: UInt64 = 7

    @Option(name: .customLong("max-per-class"), help: "Training flows per class at most.")
    var maxPerClass: Int = 6000
    @Option(name: .customLong("sequence-view"),
            help: ArgumentHelp("What the sequence models see of a flow's first packets: 'packets' (each as captured) or 'turns' (each side's turn as one entry, pure ACKs left out; docs/model-card.md).", valueName: "view"))
    var sequenceView: String = SequenceView.packets.rawValue

    @Option(name: .customLong("exclude-features"), help: "Comma-separated feature names (or prefixes ending in '*') the models must not use.")
    var excludeFeatures: String?

    @Option(name: .customLong("patience"), help: "Epochs without validation improvement before training stops.")
    var patience: Int = 4

    @Option(name: .customLong("model-version"), help: "Version string stored in the bundle and written on alerts.")
    var modelVersion: String?

    @Option(name: .customLong("behaviour-dropout"),
            help: "Probability that a training flow's behaviour inputs (beh_*) are hidden, so the classifiers also learn from the flow alone (0 to 1).")
    var behaviourDropout: Double = 0.5

    @Option(name: .customLong("max-novelty-weight"),
            help: "Upper bound on the LOF and One-Class SVM weights in the combined score (0: classifiers only; the novelty models still score and explain every alert).")
    var maxNoveltyWeight: Float = 0.1

    @Option(name: .customLong("weights"),
            help: "Fixed combination weights cnn,lstm,lof,ocsvm instead of the validation grid search (member studies).")
    var weights: String?

    @Flag(help: "Also train on a perturbed copy of every capture: each attack flow padded, split, given extra ACKs, jittered, slowed or spread over time at the moderate strength (evaluate --perturb; docs/model-card.md, robustness).")
    var adversarial = false
    @Option(name: .customLong("adversarial-kinds"), parsing: .upToNextOption,
            help: ArgumentHelp("--adversarial: the perturbations the copies draw from (default: all six kinds at the moderate strength).", valueName: "kind[:strength]"))
    var adversarialKinds: [String] = []

    @Option(name: .customLong("pgd-steps"),
            help: "Adversarial training of the classifiers: projected-gradient steps per batch on attack flows, limited to changes traffic can make (larger packets, longer gaps, attacker's packets only); 1 is FGSM, 0 off.")
    var pgdSteps = 0

    @Option(name: .customLong("pgd-epsilon"), help: "Bound on each --pgd-steps change, in encoded log units (0.05: sizes ×1.7, gaps ×2.5).")
    var pgdEpsilon: Float = 0.05

    var fixedWeights: [Float]? {
        guard let weights else { return nil }
        let w = weights.split(separator: ",").compactMap { Float($0.trimmingCharacters(in: .whitespaces)) }
        return w.count == 4 && w.allSatisfy({ $0 >= 0 && $0.isFinite }) && (w[0] + w[1]) > 0 ? w : []
    }

    /// The perturbations `--adversarial` draws from.
    var adversarialPerturbations: [Perturbation] {
        adversarialKinds.isEmpty ? AdversarialTraining.perturbations : adversarialKinds.compactMap { try? Perturbation(parsing: $0) }
    }

    func validate() throws {
        for k in adversarialKinds {
            do { _ = try Perturbation(parsing: k) } catch { throw ValidationError("--adversarial-kinds: \(error)") }
        }
        if !adversarialKinds.isEmpty && !adversarial { throw ValidationError("--adversarial-kinds needs --adversarial") }
        if fixedWeights == [] {
            throw ValidationError("--weights takes four non-negative numbers cnn,lstm,lof,ocsvm with cnn + lstm > 0 (got '\(weights ?? "")')")
        }
        if captures.isEmpty { throw ValidationError("give --captures FILE...") }
        if SequenceView(rawValue: sequenceView) == nil {
            throw ValidationError("--sequence-view: '\(sequenceView)' is not one of \(SequenceView.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if captures.count != labels.count {
            throw ValidationError("--captures has \(captures.count) files but --labels has \(labels.count); give one label file per capture")
        }
        if !(targetFPR > 0 && targetFPR < 1) { throw ValidationError("--target-fpr must be between 0 and 1") }
        if !(behaviourDropout >= 0 && behaviourDropout <= 1) { throw ValidationError("--behaviour-dropout must be between 0 and 1") }
        if pgdSteps < 0 || !(pgdEpsilon > 0 && pgdEpsilon <= 1) { throw ValidationError("--pgd-steps must be ≥ 0 and --pgd-epsilon in (0, 1]") }
        if !(maxNoveltyWeight >= 0 && maxNoveltyWeight <= 1) { throw ValidationError("--max-novelty-weight must be between 0 and 1") }
    }

    var statFeatures: [String] {
        let ex = (excludeFeatures ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        return ModelInput.defaultFeatures.filter { name in
            !ex.contains { $0.hasSuffix("*") ? name.hasPrefix($0.dropLast()) : name == $0 }
        }
    }

    func run() throws {
        let t0 = Date()
        // Training takes minutes: a bundle that could not be written is found out now.
        if let problem = OutputPathCheck.problem(out) {
            FileHandleStderr.write("flowsentry: error: \(out): \(problem)\n")
            throw ExitStatus.cannotStart
        }
        var data: LabelledCaptures
        do {
            data = try loadLabelled(captures: captures, labels: labels, statFeatures: statFeatures,
                                    flowConfig: .init())
            if adversarial {
                let n = try AdversarialTraining.addPerturbedCopies(to: &data, captures: captures, labels: labels,
                                                                   statFeatures: statFeatures, seed: seed,
                                                                   perturbations: adversarialPerturbations)
                FileHandleStderr.write("  --adversarial: \(n) perturbed attack flows added to the training split\n")
            }
        } catch {
            FileHandleStderr.write("flowsentry: error: \(error)\n")
            throw ExitStatus.cannotStart
        }
        for e in data.errors { FileHandleStderr.write("flowsentry: warning: \(e)\n") }
        for c in data.perCapture {
            FileHandleStderr.write("  \(c.capture): \(c.flows) flows, \(c.labelled) labelled\n")
        }
        if data.unlabelled > 0 { FileHandleStderr.write("  \(data.unlabelled) flows matched no label row and were left out\n") }
        var config = EnsembleTrainingConfig()
        config.targetFPR = targetFPR
        config.epochs = epochs
        config.seed = seed
        config.maxPerClass = maxPerClass
        config.sequenceView = SequenceView(rawValue: sequenceView) ?? .packets
        config.patience = patience
        config.maxNoveltyWeight = maxNoveltyWeight
        config.behaviourDropout = behaviourDropout
        config.fixedWeights = fixedWeights
        config.adversarialSteps = pgdSteps
        config.adversarialEpsilon = pgdEpsilon
        let version = modelVersion ?? "flowsentry-ml-\(ISO8601DateFormatter().string(from: t0).prefix(10))"
        config.modelVersion = version
        let progress = EpochProgressDisplay(terminal: isatty(STDERR_FILENO) != 0)
        config.onEpoch = { progress.show($0) }
        let trained: (EnsembleModel, EnsembleTrainingReport)
        do {
            trained = try EnsembleTrainer.train(data.flows, config: config) { progress.log($0) }
        } catch {
            progress.log("")
            FileHandleStderr.write("flowsentry: error: \(error)\n")
            throw ExitStatus.failed
        }
        var (model, report) = trained
        // Held-out evaluation on the test split.
        let eval = Evaluation.run(model: model, data: data.flows, split: .test)
        var meta = BundleMeta(modelVersion: version, trainingCaptures: captures.map { URL(fileURLWithPath: $0).lastPathComponent },
                              createdAt: ISO8601DateFormatter().string(from: t0))
        meta.metrics = eval.flatMetrics
        meta.sequenceView = config.sequenceView.rawValue
        for (k, v) in report.int8Agreement { meta.metrics["int8_agreement.\(k)"] = v }
        for (k, v) in report.sizeRatio { meta.metrics["int8_size_ratio.\(k)"] = v }
        meta.notes["split"] = "per capture, class and scenario by time: ten contiguous blocks, blocks 1-3 and 6-8 train, 4 and 9 validation, 5 and 10 test"
        meta.notes["weights"] = report.weights.map { String($0) }.joined(separator: ",")
        meta.notes["target_fpr"] = String(targetFPR)
        if pgdSteps > 0 { meta.notes["pgd"] = "\(pgdSteps) steps, epsilon \(pgdEpsilon)" }
        if adversarial { meta.notes["adversarial"] = "perturbed copies of the training captures: " + adversarialPerturbations.map(\.description).joined(separator: ", ") }
        meta.notes["counts"] = report.counts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.map(String.init).joined(separator: "/"))" }.joined(separator: " ")
        model.meta = meta
        model.driftReference = driftReference(from: data.flows)
        var bundle = ModelBundle()
        model.store(in: &bundle)
        // Canaries, the model card beside the bundle, provenance (TrainArtifacts.swift).
        let cardPath: String
        do {
            cardPath = try addTrainingArtifacts(to: &bundle, model: model, data: data, captures: captures, labels: labels,
                                                evaluation: eval, report: report, bundlePath: out)
        } catch {
            FileHandleStderr.write("flowsentry: error: \(error)\n")
            throw ExitStatus.failed
        }
        do { try bundle.write(to: out) } catch {
            FileHandleStderr.write("flowsentry: error: \(error)\n")
            throw ExitStatus.failed
        }
        if ProcessInfo.processInfo.environment["FLOWSENTRY_TRAIN_VERBOSE"] != nil {
            print(Evaluation.run(model: model, data: data.flows, split: .validation).text(title: "validation"))
            print(Evaluation.run(model: model, data: data.flows, split: .train).text(title: "train"))
        }
        print(eval.text(title: "held-out test split"))
        func r(_ v: Double?) -> String { fixedPoint(v ?? 0, 3) }
        print("int8 vs float agreement: cnn \(r(report.int8Agreement["cnn"])), lstm \(r(report.int8Agreement["lstm"])); "
              + "int8 size ratio: cnn \(r(report.sizeRatio["cnn"])), lstm \(r(report.sizeRatio["lstm"]))")
        print("wrote \(out) (\(version), \(readableDuration(Date().timeIntervalSince(t0))))")
        print("wrote \(cardPath) (model card)")
    }
}

/// Shows training progress on stderr: on a terminal one line rewritten in
/// place for each epoch (ended when another message comes), elsewhere one
/// line per epoch, so a log file gets no carriage returns.
final class EpochProgressDisplay: @unchecked Sendable {
    private let terminal: Bool
    private let lock = NSLock()
    private var lineOpen = false

    init(terminal: Bool) { self.terminal = terminal }

    func show(_ p: EpochProgress) {
        lock.lock(); defer { lock.unlock() }
        if terminal {
            FileHandleStderr.write("\r  \(p.line)\u{1B}[K")
            lineOpen = true
        } else {
            FileHandleStderr.write("  \(p.line)\n")
        }
    }

    /// A message of the trainer: on its own line, after any progress line.
    func log(_ message: String) {
        lock.lock(); defer { lock.unlock() }
        if lineOpen { FileHandleStderr.write("\n"); lineOpen = false }
        if !message.isEmpty { FileHandleStderr.write("  \(message)\n") }
    }
}
