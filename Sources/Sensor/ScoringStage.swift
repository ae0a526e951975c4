import Alerts
import Behaviour
import Decoding
import Detection
import Features
import Flows

/// Scores finished flows in batches, applies the policy and the alert
/// aggregation; the `RecordWriter` that holds it writes the flow records
/// (with their verdicts), the alerts and the closing alerts.
/// Not thread-safe: one per output thread; only `infer(thread:chunk:…)`
/// runs on the record writer's pool threads, each on its own chunk.
package final class ScoringStage {
    package private(set) var model: EnsembleModel
    package private(set) var policy: Policy
    private var scorer: EnsembleScorer
    /// Parallel inference (`infer(thread:chunk:…)`): a scorer (scratch
    /// buffers) per thread, thread 0's being `scorer` (empty until
    /// `prepareThreads`), and the verdicts of each chunk of the batch. Not
    /// resized while the chunks run.
    private var threadScorers: [EnsembleScorer] = []
    private var chunkVerdicts: [ChunkVerdicts] = []
    private var aggregator: AlertAggregator
    private var verdicts: [Verdict] = []
    package var explain = true
    /// Drop model verdicts whose class lacks its evidence (`ClassEvidence`).
    package var evidenceGate = true
    /// Closing aggregate alerts to write (with the batch just scored, or on
    /// their own after `expire`/`finish`/`reload`), in order; the writer empties it.
    package private(set) var closing: [ClosingAlert] = []
    /// Behaviour campaigns: one alert line when a key opens, a closing line with the count.
    private var behaviourFolder: BehaviourAlertFolder
    package private(set) var behaviourClosing: [BehaviourClosing] = []
    package let behaviourWindowSeconds: Int
    /// The policy's behaviour thresholds by `BehaviourKind.rawValue` (nil: disabled), and the lowest.
    private var behaviourThresholds: [Double?] = []
    private var lowestBehaviourThreshold = 0.0
    /// Input drift against the bundle's training reference (nil: off, or the bundle has none).
    package private(set) var drift: DriftMonitor?
    private var driftConfig: DriftConfig?

    package struct Counters: Sendable {
        package var flowsScored: UInt64 = 0
        package var suspicious: UInt64 = 0
        /// Model verdicts over the threshold dropped by the evidence gate, by class.
        package var unsupported: [String: UInt64] = [:]
        package var alerts: [String: UInt64] = [:]
        package var suppressed: UInt64 = 0
        package var allowed: UInt64 = 0
        package var folded: UInt64 = 0
        /// Closing aggregate alerts (flows folded after a key's last alert, written when no later alert will carry them).
        package var closingAlerts: UInt64 = 0
        /// Behaviour verdicts by behaviour, behaviour alert lines (opening and closing), and flows folded into them.
        package var behaviourVerdicts: [String: UInt64] = [:]
        package var behaviourAlerts: UInt64 = 0
        package var behaviourFolded: UInt64 = 0
        /// Flow ended by the table → record written, seconds; bucket upper bounds in `latencyBounds`.
        package var latencyCounts = [UInt64](repeating: 0, count: ScoringStage.latencyBounds.count + 1)
        package var latencySum: Double = 0

        /// Approximate quantile from the histogram (the bucket's upper bound).
        package func latencyQuantile(_ q: Double) -> Double {
            let total = latencyCounts.reduce(0, +)
            guard total > 0 else { return 0 }
            var seen: UInt64 = 0
            for (i, c) in latencyCounts.enumerated() {
                seen += c
                if Double(seen) >= q * Double(total) {
                    return i < ScoringStage.latencyBounds.count ? ScoringStage.latencyBounds[i] : .infinity
                }
            }
            return .infinity
        }
    }
    package static let latencyBounds: [Double] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    /// Records the latency of flows written at wall time `nowNs` (live: packet
    /// timestamps are wall-clock times, so end → written is meaningful).
    package func noteWritten(_ records: [FlowRecord], nowNs: Int64) {
        for r in records {
            let l = max(0, Double(nowNs - r.endedAtNs) * 1e-9)
            var i = 0
            while i < Self.latencyBounds.count && l > Self.latencyBounds[i] { i += 1 }
            counters.latencyCounts[i] &+= 1
            counters.latencySum += l
        }
    }

    /// The `scoring {…}` object of stats records.
    package func appendStats(into j: inout JSONBuffer) {
        let c = counters
        j.key("scoring"); j.beginObject()
        j.key("model_version"); j.string(model.meta.modelVersion)
        j.key("flows_scored"); j.uint(c.flowsScored)
        j.key("suspicious"); j.uint(c.suspicious)
        j.key("evidence_dropped"); j.beginObject()
        for (k, v) in c.unsupported.sorted(by: { $0.key < $1.key }) { j.key(k); j.uint(v) }
        j.endObject()
        j.key("alerts"); j.beginObject()
        for (k, v) in c.alerts.sorted(by: { $0.key < $1.key }) { j.key(k); j.uint(v) }
        j.endObject()
        j.key("folded"); j.uint(c.folded)
        j.key("closing_alerts"); j.uint(c.closingAlerts)
        j.key("behaviour_verdicts"); j.beginObject()
        for (k, v) in c.behaviourVerdicts.sorted(by: { $0.key < $1.key }) { j.key(k); j.uint(v) }
        j.endObject()
        j.key("behaviour_alerts"); j.uint(c.behaviourAlerts)
        j.key("behaviour_folded"); j.uint(c.behaviourFolded)
        j.key("suppressed"); j.uint(c.suppressed)
        j.key("allowed"); j.uint(c.allowed)
        j.key("latency_p50_s"); j.double(c.latencyQuantile(0.5))
        j.key("latency_p99_s"); j.double(c.latencyQuantile(0.99))
        j.endObject()
    }
    package private(set) var counters = Counters()

    package init(model: EnsembleModel, policy: Policy, behaviourWindowSeconds: Int = BehaviourConfig().windowSeconds) {
        self.model = model
        self.policy = policy
        self.behaviourWindowSeconds = behaviourWindowSeconds
        behaviourFolder = BehaviourAlertFolder(quietSeconds: behaviourWindowSeconds)
        scorer = EnsembleScorer(model: model)
        aggregator = AlertAggregator(intervalSeconds: policy.aggregateSeconds)
        noteBehaviourThresholds()
    }

    /// Swaps in a new model and policy (SIGUSR2 reload); the caller has already validated both.
    package func reload(model: EnsembleModel, policy: Policy) {
        close(.reload, position: 0)
        self.model = model
        self.policy = policy
        scorer = EnsembleScorer(model: model)
        if !threadScorers.isEmpty { prepareThreads(threadScorers.count) }
        aggregator = AlertAggregator(intervalSeconds: policy.aggregateSeconds)
        noteBehaviourThresholds()
        if let driftConfig { enableDrift(driftConfig) }
    }

    /// Gives each of `count` threads its own scorer, for `infer(thread:chunk:…)`.
    package func prepareThreads(_ count: Int) {
        threadScorers = [scorer]
        for _ in 1..<max(1, count) { threadScorers.append(EnsembleScorer(model: model)) }
    }

    /// Room for the verdicts of `count` chunks (before the chunks run).
    package func prepareChunks(_ count: Int) {
        while chunkVerdicts.count < count { chunkVerdicts.append(ChunkVerdicts()) }
    }

    /// Follows input drift with `config` (a new window on each reload);
    /// false when the model's bundle has no drift reference.
    @discardableResult
    package func enableDrift(_ config: DriftConfig) -> Bool {
        driftConfig = config
        drift = model.driftReference.map { DriftMonitor(reference: $0, statIndices: model.featureIndices, config: config) }
        return drift != nil
    }

    private func noteBehaviourThresholds() {
        behaviourThresholds = BehaviourKind.allCases.map { policy.behaviourThreshold($0) }
        lowestBehaviourThreshold = behaviourThresholds.compactMap { $0 }.min() ?? .infinity
    }

    /// Closes the keys of the aggregator that have been quiet for two
    /// intervals at flow time `nowNs` (live: an expiry sweep's wall clock less
    /// the longest idle timeout). Closings go to `closing`.
    package func expire(nowNs: Int64) {
        let n = closing.count
        aggregator.expire(now: nowNs, into: &closing)
        noteClosing(from: n, position: 0)
        behaviourFolder.expire(now: nowNs, into: &behaviourClosing)
    }

    /// End of input / shutdown: every key with folded flows gets its closing alert.
    package func finish() { close(.end, position: 0) }

    /// Empties `closing` (after the writer wrote it).
    package func clearClosing() {
        closing.removeAll(keepingCapacity: true)
        counters.behaviourAlerts &+= UInt64(behaviourClosing.count)
        behaviourClosing.removeAll(keepingCapacity: true)
    }

    private func close(_ cause: ClosingAlert.Cause, position: Int) {
        let n = closing.count
        aggregator.closeAll(cause: cause, into: &closing)
        noteClosing(from: n, position: position)
        behaviourFolder.closeAll(into: &behaviourClosing)
    }

    private func noteClosing(from n: Int, position: Int) {
        guard closing.count > n else { return }
        for i in n..<closing.count {
            closing[i].position = position
            closing[i].modelVersion = model.meta.modelVersion
        }
        counters.closingAlerts &+= UInt64(closing.count - n)
    }

    /// Scores `records` and fills `out` with one `ScoredVerdict` each, in order.
    /// `sources` tags each record for its closing alert (replay: the capture file).
    /// Closing alerts owed after this batch are appended to `closing`, each
    /// with the index of the record it goes before (`records.count`: after all).
    /// `behaviour`: the batch's behaviour values (one per record, in order, or
    /// empty) and `examples` the example flows of records that may raise a verdict.
    package func score(_ records: [FlowRecord], sources: [Int32]? = nil, behaviour: [BehaviourValues?] = [],
                       examples: [Int: [(flowID: UInt64, communityID: String)]] = [:],
                       into out: inout [ScoredVerdict]) {
        scorer.score(features: { records[$0].features }, sequences: { records[$0].sequence },
                     count: records.count, into: &verdicts)
        judge(records, sources: sources, behaviour: behaviour, examples: examples, into: &out)
    }

    /// The models' verdicts for chunk `chunk` (`records[range]`) with thread
    /// `thread`'s scorer (see `prepareThreads`, `prepareChunks`), kept for
    /// `judgeChunks`. Called from the pool's threads at once: it touches only
    /// that thread's scorer and that chunk's verdicts.
    package func infer(thread: Int, chunk: Int, records: UnsafeBufferPointer<FlowRecord>, range: Range<Int>) {
        let base = range.lowerBound, out = chunkVerdicts[chunk]
        threadScorers[thread].score(features: { records[base + $0].features }, sequences: { records[base + $0].sequence },
                                    count: range.count, into: &out.verdicts)
    }

    /// After `infer` ran for chunks `0..<count` (in the order of the
    /// records), the rest of `score`: the same verdicts, alerts and closings
    /// as scoring the whole batch at once.
    package func judgeChunks(_ count: Int, _ records: [FlowRecord], sources: [Int32]? = nil,
                            behaviour: [BehaviourValues?] = [],
                            examples: [Int: [(flowID: UInt64, communityID: String)]] = [:],
                            into out: inout [ScoredVerdict]) {
        verdicts.removeAll(keepingCapacity: true)
        for c in 0..<count { verdicts.append(contentsOf: chunkVerdicts[c].verdicts) }
        judge(records, sources: sources, behaviour: behaviour, examples: examples, into: &out)
    }

    /// Policy, evidence gate, aggregation, behaviour and drift for the
    /// models' `verdicts` of `records`, in order.
    private func judge(_ records: [FlowRecord], sources: [Int32]?, behaviour: [BehaviourValues?],
                       examples: [Int: [(flowID: UInt64, communityID: String)]],
                       into out: inout [ScoredVerdict]) {
        out.removeAll(keepingCapacity: true)
        // The batch's latest flow end (flow time) drives the aggregator's expiry:
        // deterministic in replay, and a capture whose clock goes back (files out
        // of order) only delays closings, never hurries them.
        var flowTimeNs = Int64.min
        drift?.observe(records)
        // Records are read in place (`records[i]` into a local would copy ~1.2 KB per flow).
        records.withUnsafeBufferPointer { recs in
            for (i, modelVerdict) in verdicts.enumerated() {
                counters.flowsScored &+= 1
                if recs[i].endNs > flowTimeNs { flowTimeNs = recs[i].endNs }
                var v = modelVerdict
                var unsupportedClass: String?
                if evidenceGate && v.isSuspicious && v.classIndex >= 0
                    && !ClassEvidence.supports(v.className, record: recs[i], behaviour: i < behaviour.count ? behaviour[i] : nil) {
                    v.unsupported = true
                    unsupportedClass = v.className
                    counters.unsupported[v.className, default: 0] &+= 1
                }
                // Web-attack content names the class: a flow whose requests carry
                // an injection or a tool's guesses is a web attack whatever class
                // the models guessed from its shape (they call a browser-driven
                // SQL injection answered 200 c2). The models' class is kept as
                // `ml.model_class`; the content verdict alerts in their place.
                var modelClass: String?
                if v.isSuspicious && v.className != webAttackClass, i < behaviour.count, let b = behaviour[i],
                   webAttackNamesClass(b, record: recs[i], policy: policy) {
                    modelClass = v.className
                    v.unsupported = true
                }
                var s = ScoredVerdict(verdict: v, decision: .belowThreshold, severity: 0, alerted: false)
                s.unsupportedClass = unsupportedClass
                s.modelClass = modelClass
                if v.isSuspicious {
                    counters.suspicious &+= 1
                    s.decision = policy.decide(className: v.className, score: Double(v.score),
                                               bundleThreshold: Double(v.threshold), src: recs[i].srcIP, dst: recs[i].dstIP,
                                               dstPort: recs[i].hasTransportPorts ? recs[i].dstPort : nil)
                    switch s.decision {
                    case .alert(let sev):
                        s.severity = sev
                        var folded = 0
                        let n = closing.count
                        let admitted = aggregator.admit(dst: recs[i].dstIP, classIndex: v.classIndex, at: recs[i].endNs,
                                                        foldedIn: &folded, closed: &closing) {
                            FoldedFlow(recs[i], verdict: v, severity: sev, source: sources?[i] ?? 0)
                        }
                        noteClosing(from: n, position: i)
                        if admitted {
                            s.alerted = true
                            s.folded = folded
                            counters.alerts[v.className, default: 0] &+= 1
                            if explain {
                                scorer.detail(&s.verdict, features: recs[i].features, sequence: recs[i].sequence)
                                if i < behaviour.count, let values = behaviour[i] {
                                    s.modelReason = behaviourInputReason(s.verdict.explanation, values: values,
                                                                         server: recs[i].dstIP, port: recs[i].dstPort,
                                                                         domain: recs[i].dns.domainText)
                                }
                            }
                        } else {
                            counters.folded &+= 1
                        }
                    case .suppressed: counters.suppressed &+= 1
                    case .allowed: counters.allowed &+= 1
                    default: break
                    }
                }
                if i < behaviour.count, let values = behaviour[i] {
                    judgeBehaviour(values, examples: examples[i] ?? [], record: recs[i], source: sources?[i] ?? 0, into: &s)
                }
                out.append(s)
            }
        }
        if flowTimeNs != .min {
            let n = closing.count
            aggregator.expire(now: flowTimeNs, into: &closing)
            noteClosing(from: n, position: records.count)
            behaviourFolder.expire(now: flowTimeNs, into: &behaviourClosing)
        }
    }

    private var webAttackClass: String { BehaviourKind.webAttack.className }

    /// Every behaviour over its threshold gets its policy decision and its
    /// campaign (an alert line when the campaign opens); the strongest
    /// (score / threshold) becomes the flow's verdict when the models did
    /// not find the flow suspicious.
    private func judgeBehaviour(_ v: BehaviourValues, examples: [(flowID: UInt64, communityID: String)],
                                record r: FlowRecord, source: Int32, into s: inout ScoredVerdict) {
        guard v.strongestScore >= lowestBehaviourThreshold else { return }
        var strongest: BehaviourVerdict?
        var strongestDecision = Policy.Decision.belowThreshold
        var bestRatio = 0.0
        for k in BehaviourKind.allCases {
            guard let t = behaviourThresholds[Int(k.rawValue)] else { continue }
            let score = k.score(v)
            guard score > 0, score >= t else { continue }
            var b = BehaviourVerdict(kind: k, score: score, threshold: t, values: v)
            if k == .dnsTunnel || (k == .beaconing && v.beaconingIsDNS) { b.domain = r.dns.domainText }
            counters.behaviourVerdicts[k.name, default: 0] &+= 1
            let decision = policy.decideBehaviour(k, src: r.srcIP, dst: r.dstIP, dstPort: r.hasTransportPorts ? r.dstPort : nil)
            if case .alert(let sev) = decision {
                let key = BehaviourAlertKey(kind: k, src: r.srcIP, dst: behaviourTarget(b, source: r.srcIP, destination: r.dstIP),
                                            port: r.dstPort, proto: r.proto,
                                            domain: r.dns.domainHash, dnsBeacon: v.beaconingIsDNS)
                b.examples = examples
                b.severity = sev
                b.alerted = behaviourFolder.admit(key, at: r.endNs, verdict: b, folded: FoldedFlow(
                    r, verdict: s.verdict, severity: sev, source: source), closed: &behaviourClosing)
                if b.alerted { counters.behaviourAlerts &+= 1; s.behaviourAlerts.append(b) } else { counters.behaviourFolded &+= 1 }
            }
            let ratio = score / max(t, 1e-9)
            if ratio > bestRatio { bestRatio = ratio; strongest = b; strongestDecision = decision }
        }
        guard var b = strongest else { return }
        s.behaviour = b
        s.behaviourDecision = strongestDecision
        // An allow rule says the behaviour is expected there (a mail client
        // polling): the values stay in the record's `behaviour`, the verdict
        // stays the models'. Suppressed verdicts stay on the record, marked.
        if case .allowed = strongestDecision { return }
        if !s.verdict.isSuspicious {
            b.reason = behaviourReason(b, server: behaviourTarget(b, source: r.srcIP, destination: r.dstIP), port: r.dstPort,
                                       domain: r.dns.domainText)
            s.behaviour = b
            s.fusedBehaviour = true
            s.verdict.unsupported = false
            s.verdict.className = b.kind.className
            s.verdict.classIndex = model.classes.firstIndex(of: b.kind.className) ?? -1
            s.verdict.score = Float(b.score)
            s.verdict.threshold = Float(b.threshold)
            s.decision = strongestDecision
            if case .alert(let sev) = strongestDecision { s.severity = sev }
        }
    }
}

/// The models' verdicts of one chunk of a parallel inference. Owned by the
/// thread that took the chunk while the pool runs, by the scoring stage's
/// thread otherwise.
private final class ChunkVerdicts: @unchecked Sendable {
    var verdicts: [Verdict] = []
}
