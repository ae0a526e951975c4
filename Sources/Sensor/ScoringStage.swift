import Alerts
import Decoding
import Detection
import Features
import Flows

/// Scores finished flows in batches, applies the policy and the alert
/// aggregation, and writes flow records (with their verdict) and alerts.
/// Not thread-safe: one per output thread.
public final class ScoringStage {
    public private(set) var model: EnsembleModel
    public private(set) var policy: Policy
    private var scorer: EnsembleScorer
    private var aggregator: AlertAggregator
    private var verdicts: [Verdict] = []
    private var scored: [ScoredVerdict] = []
    public var explain = true

    public struct Counters: Sendable {
        public var flowsScored: UInt64 = 0
        public var suspicious: UInt64 = 0
        public var alerts: [String: UInt64] = [:]
        public var suppressed: UInt64 = 0
        public var allowed: UInt64 = 0
        public var folded: UInt64 = 0
    }
    public private(set) var counters = Counters()

    public init(model: EnsembleModel, policy: Policy) {
        self.model = model
        self.policy = policy
        scorer = EnsembleScorer(model: model)
        aggregator = AlertAggregator(intervalSeconds: policy.aggregateSeconds)
    }

    /// Swaps in a new model and policy (SIGUSR2 reload); the caller has already validated both.
    public func reload(model: EnsembleModel, policy: Policy) {
        self.model = model
        self.policy = policy
        scorer = EnsembleScorer(model: model)
        aggregator = AlertAggregator(intervalSeconds: policy.aggregateSeconds)
    }

    /// Scores `records` and fills `out` with one `ScoredVerdict` each, in order.
    public func score(_ records: [FlowRecord], into out: inout [ScoredVerdict]) {
        out.removeAll(keepingCapacity: true)
        scorer.score(features: { records[$0].features }, sequences: { records[$0].sequence },
                     count: records.count, into: &verdicts)
        for (i, v) in verdicts.enumerated() {
            let r = records[i]
            counters.flowsScored &+= 1
            var s = ScoredVerdict(verdict: v, decision: .belowThreshold, severity: 0, alerted: false)
            if v.isSuspicious {
                counters.suspicious &+= 1
                s.decision = policy.decide(className: v.className, score: Double(v.score),
                                           bundleThreshold: Double(v.threshold), src: r.srcIP, dst: r.dstIP,
                                           dstPort: r.hasPorts ? r.dstPort : nil)
                switch s.decision {
                case .alert(let sev):
                    s.severity = sev
                    var folded = 0
                    if aggregator.admit(dst: r.dstIP, classIndex: v.classIndex, at: r.endNs, foldedIn: &folded) {
                        s.alerted = true
                        s.folded = folded
                        counters.alerts[v.className, default: 0] &+= 1
                        if explain {
                            s.verdict.explanation = scorer.explain(features: r.features, sequence: r.sequence)
                        }
                    } else {
                        counters.folded &+= 1
                    }
                case .suppressed: counters.suppressed &+= 1
                case .allowed: counters.allowed &+= 1
                default: break
                }
            }
            out.append(s)
        }
    }
}

/// The scoring output stage for `run`: flow records with their verdicts to
/// the flows log, alerts to the alerts log.
extension ScoringStage {
    public static func writer(_ stage: ScoringStage, context: EveContext) -> LiveSensor.RecordHandler {
    let flows = EveFlowFormatter(context: context)
    var scored: [ScoredVerdict] = []
    var alertJSON = JSONBuffer(reserve: 1 << 14)
    return { records, json, out in
        let alerts = EveAlertFormatter(context: context, modelVersion: stage.model.meta.modelVersion)
        stage.score(records, into: &scored)
        json.reset()
        alertJSON.reset()
        var nAlerts = 0
        for (i, r) in records.enumerated() {
            let s = scored[i]
            if out.flows != nil {
                flows.append(r, verdict: { writeVerdictSummary(s, into: &$0) }, alerted: s.alerted, into: &json)
            }
            if s.alerted {
                alerts.append(r, s, into: &alertJSON)
                nAlerts += 1
            }
        }
        if let f = out.flows { out.write(f, json.bytes, records: records.count) }
        if nAlerts > 0, let a = out.alerts { out.write(a, alertJSON.bytes, records: nAlerts) }
    }
}
}
