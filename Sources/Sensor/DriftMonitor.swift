import Alerts
import Detection
import Features
import Flows

/// `detection.drift` in the configuration (docs/drift.md).
package struct DriftConfig: Sendable, Equatable {
    /// `detection.drift.enabled`: follow drift when the bundle has a reference.
    package var enabled = true
    /// `detection.drift.window`: the last this many scored flows are compared with the reference.
    package var window = 5_000
    /// `detection.drift.psi_warn`: an input whose PSI reaches this is "over the threshold" (warned, counted).
    package var psiWarn = DriftStatistics.psiWarn
    /// Seconds between two warning lines at most.
    package var warnIntervalSeconds = 300.0

    package static let windowRange = 100...200_000

    package init() {}

    /// Flows the window must hold before a warning: PSI of a small sample is
    /// biased upwards (about (bins − 1) / flows with no shift at all).
    package var warnAfterFlows: Int { min(window, 1_000) }
}

/// The sliding-window drift of every model input against the bundle's
/// training reference (docs/drift.md): per flow scored, each input's
/// reference bin (one byte) goes into a ring of the last `window` flows and
/// into the bin counts, and the flow falling out of the ring leaves them.
/// PSI and KS per input come from the counts when asked (stats records,
/// metrics, the warning check), not per flow.
///
/// Memory: `window × inputs` bytes for the ring (5,000 flows × 101 inputs ≈
/// 0.5 MB by default) and 4 bytes per reference bin; nothing grows with
/// traffic. Not thread-safe: owned by the scoring stage on the output thread.
package final class DriftMonitor {
    package let reference: DriftReference
    package let config: DriftConfig
    private let statIndices: [Int]
    private var tally: DriftTally
    private let binner: DriftBinner
    private var ring: [UInt8]
    private var nextSlot = 0
    private var held = 0
    private var values: [Float]
    private var scratch: [Float]
    private var bins: [UInt8]
    /// Flows observed since start (not only the window's).
    package private(set) var observed: UInt64 = 0
    /// PSI and KS per input as of the last `refresh`, in reference order.
    package private(set) var scores: [DriftScore]
    /// Inputs over the threshold that have been warned about and have not fallen below since.
    private var warned = Set<Int>()
    private var lastWarning = -Double.infinity

    /// `statIndices`: the model's statistics inputs as indices into `Feature`
    /// (the reference's first inputs, in order).
    package init(reference: DriftReference, statIndices: [Int], config: DriftConfig) {
        precondition(reference.inputs.count == statIndices.count + DriftInputs.sequenceCount)
        self.reference = reference
        self.config = config
        self.statIndices = statIndices
        tally = DriftTally(reference: reference)
        binner = DriftBinner(reference: reference)
        let d = reference.inputs.count
        ring = [UInt8](repeating: 0, count: config.window * d)
        values = [Float](repeating: 0, count: d)
        scratch = [Float](repeating: 0, count: PacketSequence.length * PacketSequence.channels)
        bins = [UInt8](repeating: 0, count: d)
        scores = reference.inputs.map { DriftScore(input: $0.name, psi: 0, ks: 0) }
    }

    /// Flows in the window now.
    package var windowFlows: Int { held }

    /// Adds each record's inputs to the window (evicting the oldest when full).
    package func observe(_ records: [FlowRecord]) {
        records.withUnsafeBufferPointer { recs in
            for i in recs.indices { observe(features: recs[i].features, sequence: recs[i].sequence) }
        }
    }

    package func observe(features: FeatureVector, sequence: PacketSequence) {
        let d = reference.inputs.count
        values.withUnsafeMutableBufferPointer { v in
            scratch.withUnsafeMutableBufferPointer { s in
                DriftInputs.values(features: features, sequence: sequence, indices: statIndices,
                                   scratch: s.baseAddress!, into: v.baseAddress!)
            }
            bins.withUnsafeMutableBufferPointer { binner.bins(of: v.baseAddress!, into: $0.baseAddress!) }
        }
        ring.withUnsafeMutableBufferPointer { r in
            let slot = r.baseAddress! + nextSlot * d
            if held == config.window { tally.add(bins: slot, by: -1) } else { held += 1 }
            bins.withUnsafeBufferPointer { b in
                slot.update(from: b.baseAddress!, count: d)
                tally.add(bins: b.baseAddress!, by: 1)
            }
        }
        nextSlot = nextSlot + 1 == config.window ? 0 : nextSlot + 1
        observed &+= 1
    }

    /// Recomputes `scores` from the window.
    package func refresh() { scores = tally.scores(reference) }

    /// Inputs at or over the threshold in `scores`.
    package var overThreshold: [Int] { scores.indices.filter { scores[$0].psi >= config.psiWarn } }

    /// The highest-PSI inputs in `scores`, most drifted first.
    package func top(_ k: Int) -> [DriftScore] {
        Array(scores.sorted { ($0.psi, $1.input) > ($1.psi, $0.input) }.prefix(k))
    }

    /// Refreshes the scores and returns the warning line due at monotonic
    /// time `now`, if any: once the window holds `warnAfterFlows`, inputs that
    /// reached the threshold since they were last warned about, at most one
    /// line per `warnIntervalSeconds` (an input crossing meanwhile waits for
    /// the next line, if it is still over then).
    package func check(now: Double) -> String? {
        refresh()
        let over = Set(overThreshold)
        warned.formIntersection(over)
        guard held >= config.warnAfterFlows else { return nil }
        let crossed = over.subtracting(warned).sorted { scores[$0].psi > scores[$1].psi }
        guard !crossed.isEmpty, now - lastWarning >= config.warnIntervalSeconds else { return nil }
        lastWarning = now
        warned.formUnion(crossed)
        let listed = crossed.prefix(5).map { "\(scores[$0].input) \(formatFixed(scores[$0].psi, 2)) (KS \(formatFixed(scores[$0].ks, 2)))" }
        return "flowsentry: warning: input drift: \(crossed.count) model input\(crossed.count == 1 ? "" : "s") reached PSI "
            + "\(formatFixed(config.psiWarn, 2)) against the training reference over the last \(held) flows: "
            + listed.joined(separator: ", ") + (crossed.count > 5 ? ", …" : "")
            + " (\(over.count) over now); the model may no longer fit this traffic (docs/drift.md)"
    }

    /// The `drift {…}` object of stats records: window, flows, the highest
    /// PSI and its input, how many inputs are over the threshold, the five
    /// most drifted inputs with PSI and KS.
    package func appendStats(into j: inout JSONBuffer) {
        refresh()
        let top = self.top(5)
        j.key("drift"); j.beginObject()
        j.key("window"); j.int(config.window)
        j.key("flows"); j.int(held)
        j.key("psi_warn"); j.double(config.psiWarn)
        j.key("max_psi"); j.double(top.first?.psi ?? 0)
        j.key("max_psi_input"); j.string(top.first?.input ?? "")
        j.key("inputs_over_threshold"); j.int(overThreshold.count)
        j.key("top"); j.beginArray()
        for s in top {
            j.beginObject()
            j.key("input"); j.string(s.input)
            j.key("psi"); j.double(s.psi)
            j.key("ks"); j.double(s.ks)
            j.endObject()
        }
        j.endArray()
        j.endObject()
    }
}

/// The drift values the metrics endpoint shows (a copy: the endpoint runs on its own thread).
package struct DriftSnapshot: Sendable {
    package var window: Int
    package var flows: Int
    package var psiWarn: Double
    package var scores: [DriftScore]

    /// Gauges per input: `flowsentry_feature_drift_psi{feature}` and
    /// `flowsentry_feature_drift_ks{feature}`, with the window's fill and the
    /// count over the threshold.
    func append(to t: inout PrometheusText) {
        t.family("flowsentry_feature_drift_psi", .gauge,
                 "Population stability index of a model input over the drift window against the training reference (docs/drift.md).")
        for s in scores { t.sample("flowsentry_feature_drift_psi", [("feature", s.input)], s.psi) }
        t.family("flowsentry_feature_drift_ks", .gauge,
                 "Kolmogorov-Smirnov statistic of a model input over the drift window against the training reference, at the reference bin edges.")
        for s in scores { t.sample("flowsentry_feature_drift_ks", [("feature", s.input)], s.ks) }
        t.family("flowsentry_feature_drift_window_flows", .gauge, "Scored flows in the drift window.")
        t.sample("flowsentry_feature_drift_window_flows", [], flows)
        t.family("flowsentry_feature_drift_inputs_over_threshold", .gauge,
                 "Model inputs whose PSI is at or over detection.drift.psi_warn.")
        t.sample("flowsentry_feature_drift_inputs_over_threshold", [], scores.filter { $0.psi >= psiWarn }.count)
    }
}

extension DriftMonitor {
    /// The values as of the last `refresh`/`check`.
    package var snapshot: DriftSnapshot {
        DriftSnapshot(window: config.window, flows: windowFlows, psiWarn: config.psiWarn, scores: scores)
    }
}
