import Alerts
import Behaviour
import Detection
import Features
import Flows
import Sensor
import Training

/// The label vocabulary (captures/README.md); other labels found in ground
/// truth are appended after these.
let labelVocabulary = ["benign", "scan", "dos", "bruteforce", "tunnel", "c2", "webattack"]

struct LabelledCaptures {
    var flows: LabelledFlows
    var unlabelled = 0
    var perCapture: [(capture: String, flows: Int, labelled: Int)] = []
    var errors: [String] = []
}

/// Replays each capture, matches every finished flow to its ground-truth row
/// (with its evidence mask: which classes the sensor's evidence gate would let alert,
/// and, given the policy, the class its behaviour verdict alerts as),
/// and splits each (capture, class, scenario) by time into ten contiguous
/// blocks: blocks 1–3 and 6–8 train, 4 and 9 validate, 5 and 10 test. Never
/// random flows: neighbours in time stay on one side, and every side sees the
/// beginning and the end of a scenario (host context grows during a flood).
func loadLabelled(captures: [String], labels: [String], statFeatures: [String],
                  flowConfig: FlowTableConfig, classes: [String] = labelVocabulary,
                  policy: Policy? = nil) throws -> LabelledCaptures {
    var classes = classes
    var out = LabelledCaptures(flows: LabelledFlows(classes: classes, statFeatures: statFeatures))
    let indices = ModelInput.indices(of: statFeatures)!
    let d = statFeatures.count
    var stats = [Float](repeating: 0, count: d)
    var raw = [Float](repeating: 0, count: PacketSequence.length * 5)
    for (ci, (capture, labelPath)) in zip(captures, labels).enumerated() {
        let set = try LabelSet(csvPath: labelPath)
        for r in set.rows where !classes.contains(r.label) { classes.append(r.label) }
        var rows: [(start: Int64, label: Int, scenario: String, stats: [Float], raw: [Float], length: Int, evidence: UInt8, behaviourClass: Int8)] = []
        var total = 0
        let pipeline = ReplayPipeline(config: flowConfig)
        pipeline.run(files: [capture]) { rec, _ in
            total += 1
            guard let row = set.match(rec) else { out.unlabelled += 1; return }
            stats.withUnsafeMutableBufferPointer { ModelInput.stats(rec.features, indices: indices, into: $0.baseAddress!) }
            let n = raw.withUnsafeMutableBufferPointer { ModelInput.sequence(rec.sequence, into: $0.baseAddress!) }
            var behaviourClass: Int8 = -1
            if let policy, let b = pipeline.currentBehaviour, let name = alertingBehaviourClass(b, record: rec, policy: policy),
               let c = classes.firstIndex(of: name) {
                behaviourClass = Int8(c)
            }
            var evidence = ClassEvidence.mask(classes: classes, record: rec, behaviour: pipeline.currentBehaviour)
            // Web-attack content names the class, as in the sensor: another class the models give is set aside.
            if let policy, let b = pipeline.currentBehaviour, webAttackNamesClass(b, record: rec, policy: policy),
               let w = classes.firstIndex(of: BehaviourKind.webAttack.className), w < 8 {
                evidence &= 1 << UInt8(w)
            }
            rows.append((rec.startNs, classes.firstIndex(of: row.label)!, row.scenario, stats, raw, n, evidence, behaviourClass))
        }
        out.errors += pipeline.summary.errors
        // A capture that could not be read at all: its error, not a label mismatch.
        if total == 0, let e = pipeline.summary.errors.first { throw TrainingError(e) }
        if rows.isEmpty {
            throw TrainingError("\(labelPath): no label matches any of the \(total) flows of \(capture) (wrong file pair?)")
        }
        out.perCapture.append((capture, total, rows.count))
        // Time split per (capture, class, scenario): scenarios run one after
        // another, so splitting a class by time alone would train on one
        // tool and test on another.
        var byClass: [String: [Int]] = [:]
        for (i, r) in rows.enumerated() { byClass["\(r.label)/\(r.scenario)", default: []].append(i) }
        var split = [LabelledFlows.Split](repeating: .train, count: rows.count)
        for (_, idx) in byClass {
            let sorted = idx.sorted { rows[$0].start < rows[$1].start }
            let n = sorted.count
            for (rank, i) in sorted.enumerated() {
                // Ten contiguous time blocks; in each run of five, three train,
                // one validates, one tests.
                let block = min(9, rank * 10 / n) % 5
                split[i] = n < 10 ? .train : (block < 3 ? .train : (block == 3 ? .validation : .test))
            }
        }
        out.flows.sources.append(capture)
        for (i, r) in rows.enumerated() {
            r.stats.withUnsafeBufferPointer { s in
                r.raw.withUnsafeBufferPointer { w in
                    out.flows.append(stats: s, raw: w, length: r.length, label: r.label, split: split[i], source: ci,
                                     evidence: r.evidence, behaviourClass: r.behaviourClass)
                }
            }
        }
    }
    out.flows.classes = classes
    return out
}
