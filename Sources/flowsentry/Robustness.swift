import Alerts
import Detection
import Foundation
import Perturbation
import Sensor
import Training

/// `evaluate --perturb`: attack recall with problem-space perturbations
/// applied to the attack flows of the labelled captures, next to the
/// unperturbed captures, at the bundle's threshold.
struct RobustnessReport {
    struct Column {
        var name: String
        /// Per class: labelled flows, flagged (any attack verdict that alerts: the
        /// models' or, read with the policy, a behaviour verdict's), named as their class.
        var flows: [Int]
        var flagged: [Int]
        var named: [Int]
        var packetsChanged = 0
    }

    var classes: [String]
    var columns: [Column] = []

    static func run(model: EnsembleModel, captures: [String], labels: [String], perturbations: [Perturbation],
                    seed: UInt64, evidenceGate: Bool, policy: Policy? = nil, keepIn: String? = nil) throws -> RobustnessReport {
        let dir = keepIn.map { URL(fileURLWithPath: $0) } ?? FileManager.default.temporaryDirectory
            .appendingPathComponent("flowsentry-perturb-\(getpid())-\(UInt64.random(in: 0...UInt64.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { if keepIn == nil { try? FileManager.default.removeItem(at: dir) } }

        var report = RobustnessReport(classes: [])
        let none = try column(name: "none", model: model, captures: captures, labels: labels, evidenceGate: evidenceGate,
                              policy: policy)
        report.classes = none.classes
        report.columns.append(none.column)
        for (pi, p) in perturbations.enumerated() {
            var pcaps: [String] = [], csvs: [String] = []
            var changed = 0
            for (ci, (capture, label)) in zip(captures, labels).enumerated() {
                // <capture>.<kind>-<strength>.pcap and .labels.csv
                let stem = URL(fileURLWithPath: capture).deletingPathExtension().lastPathComponent + ".\(p.kind.rawValue)-\(p.strength)"
                let pcap = dir.appendingPathComponent("\(stem).pcap").path
                let csv = dir.appendingPathComponent("\(stem).labels.csv").path
                let s = try PerturbedCapture.write(capture: capture, labels: label, perturbations: [p],
                                                   seed: seed &+ UInt64(ci), pcapOut: pcap, labelsOut: csv)
                changed += s.packetsChanged
                pcaps.append(pcap)
                csvs.append(csv)
            }
            var c = try column(name: p.description, model: model, captures: pcaps, labels: csvs,
                               evidenceGate: evidenceGate, policy: policy, classes: report.classes).column
            c.packetsChanged = changed
            report.columns.append(c)
            if keepIn == nil { for f in pcaps + csvs { try? FileManager.default.removeItem(atPath: f) } }
        }
        return report
    }

    private static func column(name: String, model: EnsembleModel, captures: [String], labels: [String],
                               evidenceGate: Bool, policy: Policy?, classes: [String]? = nil) throws -> (column: Column, classes: [String]) {
        let data = try loadLabelled(captures: captures, labels: labels, statFeatures: model.statFeatures,
                                    flowConfig: .init(), classes: classes ?? model.classes, policy: policy)
        let e = Evaluation.run(model: model, data: data.flows, split: nil, evidenceGate: evidenceGate)
        let benign = e.classes.firstIndex(of: "benign") ?? 0
        var c = Column(name: name, flows: [], flagged: [], named: [])
        for (i, row) in e.confusion.enumerated() {
            let n = row.reduce(0, +)
            c.flows.append(n)
            c.flagged.append(n - row[benign])
            c.named.append(row[i])
        }
        return (c, e.classes)
    }

    func text(title: String) -> String {
        var s = "\(title)\nflows flagged at the threshold / labelled (share); benign: false alerts\n"
        s += "class".padding(12) + columns.map { $0.name.leftPadded(22) }.joined() + "\n"
        for (i, name) in classes.enumerated() where columns.contains(where: { $0.flows.count > i && $0.flows[i] > 0 }) {
            s += name.padding(12)
            for c in columns {
                let n = c.flows[i], k = c.flagged[i]
                let share = n > 0 ? fixedPoint(Double(k) / Double(n), 3) : "n/a"
                s += "\(k)/\(n) (\(share))".leftPadded(22)
            }
            s += "\n"
        }
        let benign = classes.firstIndex(of: "benign") ?? 0
        s += "attack recall".padding(12)
        for c in columns {
            let n = c.flows.indices.filter { $0 != benign }.map { c.flows[$0] }.reduce(0, +)
            let k = c.flagged.indices.filter { $0 != benign }.map { c.flagged[$0] }.reduce(0, +)
            s += (n > 0 ? fixedPoint(Double(k) / Double(n), 3) : "n/a").leftPadded(22)
        }
        return s + "\n"
    }

    func json(modelVersion: String) throws -> String {
        let cols: [[String: Any]] = columns.map { c in
            var perClass: [String: Any] = [:]
            for (i, name) in classes.enumerated() where c.flows[i] > 0 {
                perClass[name] = ["flows": c.flows[i], "flagged": c.flagged[i], "named": c.named[i],
                                  "recall": Double(c.flagged[i]) / Double(c.flows[i])]
            }
            return ["perturbation": c.name, "classes": perClass, "packets_changed": c.packetsChanged]
        }
        let obj: [String: Any] = ["model_version": modelVersion, "columns": cols]
        let d = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])
        return String(decoding: d, as: UTF8.self)
    }
}
