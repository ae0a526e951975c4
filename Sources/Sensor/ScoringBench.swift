import Alerts
import Detection
import Flows
#if canImport(Glibc)
import Glibc
#endif

/// Scoring cost: flows/s of the whole ensemble (int8 and float classifiers,
/// batch 1 and 256) on real flow records, and the latency from a flow's end
/// to its record being written when flows arrive at a fixed rate.
public enum ScoringBench {
    public struct Throughput: Sendable { public var name: String; public var flowsPerSecond: Double }
    public struct Latency: Sendable {
        public var rate: Double
        public var flows: Int
        public var p50: Double
        public var p99: Double
        public var max: Double
    }

    /// Finished flow records of a capture (at most `limit`).
    public static func records(_ path: String, limit: Int) -> [FlowRecord] {
        var out: [FlowRecord] = []
        let p = ReplayPipeline(config: .init())
        p.run(files: [path]) { r, _ in if out.count < limit { out.append(r) } }
        return out
    }

    /// `everyModel`: all four models on every flow, also those with no weight
    /// in the combination (by default those run only for flows that alert).
    public static func throughput(model: EnsembleModel, records: [FlowRecord], batch: Int, float: Bool,
                                  everyModel: Bool = false, only: EnsembleScorer.ModelSet? = nil,
                                  label: String = "ensemble", minSeconds: Double = 1) -> Throughput {
        let scorer = EnsembleScorer(model: model, maxBatch: max(batch, 1))
        scorer.useFloat = float
        scorer.scoreEveryModel = everyModel
        scorer.onlyModels = only
        var v: [Verdict] = []
        var scored = 0
        let t0 = monotonicSeconds()
        var elapsed = 0.0
        repeat {
            var i = 0
            while i < records.count {
                let n = min(batch, records.count - i)
                let base = i
                scorer.score(features: { records[base + $0].features }, sequences: { records[base + $0].sequence },
                             count: n, into: &v)
                i += n
            }
            scored += records.count
            elapsed = monotonicSeconds() - t0
        } while elapsed < minSeconds
        return Throughput(name: "\(label)\(everyModel ? " (every model on every flow)" : ""), \(float ? "float" : "int8") batch \(batch)", flowsPerSecond: Double(scored) / elapsed)
    }

    /// Flows "end" at `rate` per second (record i at i/rate); the output loop
    /// scores whatever has ended (up to 256 at once), formats flow records and
    /// alerts, writes them to /dev/null, and notes each flow's latency.
    public static func latency(model: EnsembleModel, records: [FlowRecord], rate: Double, seconds: Double) -> Latency {
        let stage = ScoringStage(model: model, policy: Policy())
        let total = min(records.count * 1000, Int(rate * seconds))
        var lat: [Double] = []
        lat.reserveCapacity(total)
        let fd = open("/dev/null", O_WRONLY)
        defer { close(fd) }
        var json = JSONBuffer(reserve: 1 << 20)
        let flows = EveFlowFormatter(), alerts = EveAlertFormatter(context: EveContext(), modelVersion: model.meta.modelVersion)
        var batch: [FlowRecord] = []
        var scored: [ScoredVerdict] = []
        var next = 0
        let start = monotonicSeconds()
        while next < total {
            let now = monotonicSeconds() - start
            let due = min(total, Int(now * rate) + 1)
            if due <= next { usleep(50); continue }
            let end = min(due, next + 256)
            batch.removeAll(keepingCapacity: true)
            for i in next..<end { batch.append(records[i % records.count]) }
            stage.score(batch, into: &scored)
            json.reset()
            for (i, r) in batch.enumerated() {
                let s = scored[i]
                flows.append(r, verdict: { writeVerdictSummary(s, into: &$0) }, alerted: s.alerted, into: &json)
                if s.alerted { alerts.append(r, s, into: &json) }
            }
            _ = json.bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            let done = monotonicSeconds() - start
            for i in next..<end { lat.append(done - Double(i) / rate) }
            next = end
        }
        lat.sort()
        func q(_ p: Double) -> Double { lat.isEmpty ? 0 : lat[min(lat.count - 1, Int(p * Double(lat.count)))] }
        return Latency(rate: rate, flows: lat.count, p50: q(0.5), p99: q(0.99), max: lat.last ?? 0)
    }
}
