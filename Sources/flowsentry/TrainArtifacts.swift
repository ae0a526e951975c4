import Detection
import Foundation
import Training

/// What `train` writes beside the model sections: the canary set (chosen
/// from the held-out test split), the model card (`<bundle>.card.md`) and
/// the provenance section naming the captures, label files and card by
/// their SHA-256. Returns the card's path.
func addTrainingArtifacts(to bundle: inout ModelBundle, model: EnsembleModel, data: LabelledCaptures,
                          captures: [String], labels: [String], evaluation: Evaluation,
                          report: EnsembleTrainingReport, bundlePath: String) throws -> String {
    let canaries = CanarySet.choose(from: data.flows, candidates: data.flows.indices(.test), model: model)
    bundle.setCanaries(canaries)
    let captureRecords = try captures.map { try FileDigest.record($0) }
    let labelRecords = try labels.map { try FileDigest.record($0) }

    var card = ModelCard(modelVersion: model.meta.modelVersion, createdAt: model.meta.createdAt,
                         bundleFile: URL(fileURLWithPath: bundlePath).lastPathComponent, classes: data.flows.classes)
    let f = data.flows
    for (ci, rec) in captureRecords.enumerated() {
        var per: [String: Int] = [:]
        for i in 0..<f.count where f.source[i] == ci { per[f.classes[f.labels[i]], default: 0] += 1 }
        let total = data.perCapture.first { $0.capture == captures[ci] }?.flows ?? per.values.reduce(0, +)
        card.captures.append(.init(path: rec.path, sha256: rec.sha256, flows: total, perClass: per))
    }
    card.labels = labelRecords.map { ($0.path, $0.sha256) }
    card.unlabelledFlows = data.unlabelled
    card.split = model.meta.notes["split"] ?? ""
    // Flows from sources past the given captures: perturbed copies (train --adversarial), training side only.
    let copies = f.source.filter { $0 >= captures.count }.count
    if copies > 0 { card.split += ". The train column includes \(copies) perturbed copies of attack flows (--adversarial)." }
    for i in 0..<f.count {
        let name = f.classes[f.labels[i]]
        var c = card.splitCounts[name] ?? (0, 0, 0)
        switch f.split[i] {
        case .train: c.train += 1
        case .validation: c.validation += 1
        case .test: c.test += 1
        }
        card.splitCounts[name] = c
    }
    card.statFeatures = model.statFeatures.count
    card.report = evaluation.report
    card.confusion = evaluation.confusion
    card.confusionClasses = evaluation.classes
    // Attack vs benign at the threshold, with the counts behind the rates.
    let benign = evaluation.classes.firstIndex(of: "benign") ?? 0
    let m = evaluation.confusion
    let negatives = benign < m.count ? m[benign].reduce(0, +) : 0
    let falsePositives = negatives - (benign < m.count ? m[benign][benign] : 0)
    let positives = m.enumerated().filter { $0.offset != benign }.reduce(0) { $0 + $1.element.reduce(0, +) }
    let missed = m.enumerated().filter { $0.offset != benign }.reduce(0) { $0 + (benign < $1.element.count ? $1.element[benign] : 0) }
    card.summary = [
        ("Test flows", "\(evaluation.flows)"),
        ("Attack flows alerting at the threshold (recall)", "\(positives - missed) of \(positives) (\(fixedPoint(evaluation.recallAtThreshold, 4)))"),
        ("Benign flows alerting at the threshold (false-positive rate)", "\(falsePositives) of \(negatives) (\(fixedPoint(evaluation.fprAtThreshold, 6)))"),
        ("ROC-AUC, attack vs benign", evaluation.rocAUC.map { fixedPoint($0, 4) } ?? "n/a"),
        ("PR-AUC, attack vs benign", evaluation.prAUC.map { fixedPoint($0, 4) } ?? "n/a"),
    ]
    card.threshold = model.threshold
    card.targetFPR = model.targetFPR
    card.weights = report.weights
    card.canaries = canaries.perClass
    let cardPath = ModelCard.path(forBundle: bundlePath)
    let text = Array(card.markdown().utf8)
    do { try Data(text).write(to: URL(fileURLWithPath: cardPath), options: .atomic) } catch {
        throw TrainingError("\(cardPath): cannot write the model card: \(error.localizedDescription)")
    }

    var provenance = BundleProvenance(
        training: .init(modelVersion: model.meta.modelVersion, createdAt: model.meta.createdAt,
                        captures: captureRecords, labels: labelRecords,
                        card: .init(path: cardPath, sha256: FileDigest.sha256(bytes: text), bytes: text.count)))
    provenance.canaries = .init(writtenBy: "train", createdAt: model.meta.createdAt, captures: captureRecords,
                                perClass: canaries.perClass)
    bundle.setProvenance(provenance)
    return cardPath
}
