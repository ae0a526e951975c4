import Features
import Foundation
import Perturbation
import Training

/// `train --adversarial`: one perturbed copy of every training capture, each
/// attack flow changed by one of the problem-space perturbations at the
/// moderate strength (drawn per flow), whose attack flows join the training
/// split. Only flows in the training blocks of the copy join (the copy keeps
/// the original's time order, so its blocks are the original's), so no
/// perturbed twin of a validation or test flow is trained on.
enum AdversarialTraining {
    static let perturbations = Perturbation.Kind.allCases.map { Perturbation(kind: $0, strength: Perturbation.moderateStrength) }

    static func addPerturbedCopies(to data: inout LabelledCaptures, captures: [String], labels: [String],
                                   statFeatures: [String], seed: UInt64,
                                   perturbations: [Perturbation] = AdversarialTraining.perturbations) throws -> Int {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("flowsentry-adversarial-\(getpid())-\(UInt64.random(in: 0...UInt64.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var pcaps: [String] = [], csvs: [String] = []
        for (i, (capture, label)) in zip(captures, labels).enumerated() {
            let pcap = dir.appendingPathComponent("\(i).pcap").path, csv = dir.appendingPathComponent("\(i).labels.csv").path
            _ = try PerturbedCapture.write(capture: capture, labels: label, perturbations: perturbations,
                                           seed: seed &+ UInt64(i) &* 7919, pcapOut: pcap, labelsOut: csv)
            pcaps.append(pcap)
            csvs.append(csv)
        }
        let copies = try loadLabelled(captures: pcaps, labels: csvs, statFeatures: statFeatures, flowConfig: .init(),
                                      classes: data.flows.classes)
        let benign = data.flows.classes.firstIndex(of: "benign") ?? 0
        let firstSource = data.flows.sources.count
        data.flows.sources += captures.map { "\($0) (perturbed)" }
        let f = copies.flows, d = f.dim, w = PacketSequence.length * 5
        var added = 0
        for i in 0..<f.count where f.labels[i] != benign && f.split[i] == .train && f.labels[i] < data.flows.classes.count {
            f.stats[(i * d)..<((i + 1) * d)].withUnsafeBufferPointer { s in
                f.raw[(i * w)..<((i + 1) * w)].withUnsafeBufferPointer { r in
                    data.flows.append(stats: s, raw: r, length: f.lengths[i], label: f.labels[i], split: .train,
                                      source: firstSource + f.source[i], evidence: f.evidence[i],
                                      behaviourClass: f.behaviourClass[i])
                }
            }
            added += 1
        }
        return added
    }
}
