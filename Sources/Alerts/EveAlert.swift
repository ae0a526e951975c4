import Decoding
import Detection
import Features
import Flows

/// What happened to a flow's verdict after policy: the flow record carries it.
public struct ScoredVerdict: Sendable {
    public var verdict: Verdict
    public var decision: Policy.Decision
    public var severity: Int
    /// True when an alert line was written for this flow.
    public var alerted: Bool
    /// Alerts of the same (destination, class) folded into this one.
    public var folded: Int = 0

    public init(verdict: Verdict, decision: Policy.Decision, severity: Int, alerted: Bool, folded: Int = 0) {
        self.verdict = verdict; self.decision = decision; self.severity = severity
        self.alerted = alerted; self.folded = folded
    }
}

/// Signature ids: 9000001 + class index; "anomaly" is 9000000.
public func signatureID(for classIndex: Int) -> Int { classIndex < 0 ? 9_000_000 : 9_000_001 + classIndex }

/// Suricata-style categories for the ML classes.
public func alertCategory(_ className: String) -> String {
    switch className {
    case "scan": "Detection of a Network Scan"
    case "dos": "Detection of a Denial of Service Attack"
    case "bruteforce": "Attempted Administrator Privilege Gain"
    case "tunnel": "Potential Corporate Privacy Violation"
    case "c2": "A Network Trojan was detected"
    case "webattack": "Web Application Attack"
    default: "Misc activity"
    }
}

/// Writes the flow record's verdict: `flow.alerted` is set by the caller's
/// formatter; this adds `ml {class, score, threshold, suppressed?}`.
public func writeVerdictSummary(_ s: ScoredVerdict, into j: inout JSONBuffer) {
    j.key("ml"); j.beginObject()
    j.key("class"); j.string(s.verdict.isSuspicious ? s.verdict.className : "benign")
    j.key("score"); j.double(Double(s.verdict.score))
    j.key("threshold"); j.double(Double(s.verdict.threshold))
    switch s.decision {
    case .suppressed(let note): j.key("suppressed"); j.bool(true); if !note.isEmpty { j.key("policy_note"); j.string(note) }
    case .allowed(let note): j.key("allowed"); j.bool(true); if !note.isEmpty { j.key("policy_note"); j.string(note) }
    case .disabled: j.key("class_disabled"); j.bool(true)
    default: break
    }
    j.endObject()
}

/// Formats EVE `alert` events for flagged flows.
public struct EveAlertFormatter: Sendable {
    public var context: EveContext
    public var modelVersion: String
    public init(context: EveContext, modelVersion: String) {
        self.context = context
        self.modelVersion = modelVersion
    }

    public func append(_ r: FlowRecord, _ s: ScoredVerdict, into j: inout JSONBuffer) {
        let v = s.verdict
        j.beginObject()
        writeEveHeader(r, eventType: "alert", context: context, into: &j)
        j.key("direction"); j.string("to_server")
        j.key("alert"); j.beginObject()
        j.key("action"); j.string("allowed")
        j.key("gid"); j.int(1)
        j.key("signature_id"); j.int(signatureID(for: v.classIndex))
        j.key("rev"); j.int(1)
        j.key("signature"); j.string("FlowSentry ML: \(v.className) (\(modelVersion))")
        j.key("category"); j.string(alertCategory(v.className))
        j.key("severity"); j.int(s.severity)
        j.endObject()
        j.key("ml"); j.beginObject()
        j.key("class"); j.string(v.className)
        j.key("score"); j.double(Double(v.score))
        j.key("threshold"); j.double(Double(v.threshold))
        j.key("models"); j.beginObject()
        j.key("cnn"); j.double(Double(v.cnn))
        j.key("lstm"); j.double(Double(v.lstm))
        j.key("lof"); j.double(Double(v.lof))
        j.key("ocsvm"); j.double(Double(v.ocsvm))
        j.endObject()
        j.key("explanation"); j.beginArray()
        for c in v.explanation {
            j.beginObject()
            j.key("feature"); j.string(c.feature)
            j.key("value"); j.double(c.value)
            j.key("contribution"); j.double(Double(c.contribution))
            j.endObject()
        }
        j.endArray()
        if !v.lofNearest.isEmpty {
            // The benign reference flows nearest to this one (normalised space).
            j.key("lof_nearest"); j.beginArray()
            for n in v.lofNearest {
                j.beginObject()
                j.key("reference"); j.int(n.reference)
                j.key("distance"); j.double(n.distance)
                j.key("k_distance"); j.double(n.kDistance)
                j.endObject()
            }
            j.endArray()
        }
        if s.folded > 0 { j.key("aggregated_flows"); j.int(s.folded) }
        j.key("model_version"); j.string(modelVersion)
        j.endObject()
        writeEveFlowSummary(r, alerted: true, into: &j)
        j.endObject()
        j.newline()
    }
}

/// Folds floods of similar alerts: per (destination address, class), at most
/// one alert per interval of flow time; the flows in between are counted and
/// reported on the next alert that is written for that key (or by `flush`).
/// Memory is bounded: at most `capacity` keys; the oldest key is dropped
/// (and its pending count reported by `flush`) when full.
public struct AlertAggregator: Sendable {
    struct Entry: Sendable { var lastAlertNs: Int64; var pending: Int }
    struct Key: Hashable, Sendable { var dst: IPAddress; var cls: Int }
    var entries: [Key: Entry] = [:]
    public let intervalNs: Int64
    public let capacity: Int
    public private(set) var folded: UInt64 = 0
    public private(set) var droppedKeys: UInt64 = 0

    public init(intervalSeconds: Double, capacity: Int = 65536) {
        intervalNs = Int64(intervalSeconds * 1e9)
        self.capacity = capacity
    }

    /// True when an alert should be written now; `foldedIn` is how many earlier
    /// flows of the same key it stands for.
    public mutating func admit(dst: IPAddress, classIndex: Int, at ns: Int64, foldedIn: inout Int) -> Bool {
        foldedIn = 0
        guard intervalNs > 0 else { return true }
        let k = Key(dst: dst, cls: classIndex)
        if var e = entries[k] {
            if ns - e.lastAlertNs >= intervalNs {
                foldedIn = e.pending
                e.pending = 0
                e.lastAlertNs = ns
                entries[k] = e
                return true
            }
            e.pending += 1
            folded &+= 1
            entries[k] = e
            return false
        }
        if entries.count >= capacity {
            // Drop the key whose last alert is oldest (rare: only under huge fan-in).
            if let oldest = entries.min(by: { $0.value.lastAlertNs < $1.value.lastAlertNs })?.key {
                entries.removeValue(forKey: oldest)
                droppedKeys &+= 1
            }
        }
        entries[k] = Entry(lastAlertNs: ns, pending: 0)
        return true
    }

    /// Keys with folded flows not yet reported.
    public var pendingCount: Int { entries.values.reduce(0) { $0 + $1.pending } }
}
