import Alerts
import Detection
import Flows
import Sensor
#if canImport(Glibc)
import Glibc
#endif

/// Scoring cost: flows/s of the whole ensemble (int8 and float classifiers,
/// batch 1 and 256) on real flow records, and the latency from a flow's end
/// to its record being written when flows arrive at a fixed rate.
package enum ScoringBench {
    package struct Throughput: Sendable { package var name: String; package var flowsPerSecond: Double }
    package struct Latency: Sendable {
        package var rate: Double
        package var flows: Int
        package var p50: Double
        package var p99: Double
        package var max: Double
        /// The same over the flows that alerted (their latency includes the explanation).
        package var alerts: Int
        package var alertP50: Double
        package var alertP99: Double
        package var alertMax: Double
        /// Every alerted flow's latency, sorted.
        package var alertLatencies: [Double] = []
    }
    package struct ExplainCost: Sendable {
        /// Flows the ensemble found suspicious (each explained once).
        package var flows: Int
        /// Mean seconds per flow of `explain` alone and of the whole `detail`
        /// (explanation, scores of the models without weight, LOF nearest references).
        package var explainMean: Double
        package var detailMean: Double
    }

    /// Finished flow records of a capture (at most `limit`).
    package static func records(_ path: String, limit: Int) -> [FlowRecord] {
        var out: [FlowRecord] = []
        let p = ReplayPipeline(config: .init())
        p.run(files: [path]) { r, _ in if out.count < limit { out.append(r) } }
        return out
    }

    /// `everyModel`: all four models on every flow, also those with no weight
    /// in the combination (by default those run only for flows that alert).
    package static func throughput(model: EnsembleModel, records: [FlowRecord], batch: Int, float: Bool,
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

    /// Flows "end" at `rate` per second on a producer thread (record i at
    /// i/rate), which hands each to a `BoundedQueue` as a capture worker
    /// does; this thread is the output thread: it takes what has arrived
    /// (`popAll(spin:)`, as `LiveSensor` does), scores all of it at once
    /// (as the live writer does), formats flow records and alerts, writes them to /dev/null, and
    /// notes for each flow the time from its hand-over to the write.
    /// `spin`: seconds the output thread polls before it blocks (0: it blocks
    /// at once, so a blocked thread's wake-up is part of the figure).
    package static func latency(model: EnsembleModel, records: [FlowRecord], rate: Double, seconds: Double,
                               spin: Double = 0) -> Latency {
        let stage = ScoringStage(model: model, policy: Policy())
        let total = min(records.count * 1000, Int(rate * seconds))
        guard total > 0 else { return Latency(rate: rate, flows: 0, p50: 0, p99: 0, max: 0, alerts: 0, alertP50: 0, alertP99: 0, alertMax: 0) }
        var lat: [Double] = [], alertLat: [Double] = []
        lat.reserveCapacity(total)
        alertLat.reserveCapacity(total)
        let fd = open("/dev/null", O_WRONLY)
        defer { close(fd) }
        var json = JSONBuffer(reserve: 1 << 20)
        let flows = EveFlowFormatter(), alerts = EveAlertFormatter(context: EveContext(), modelVersion: model.meta.modelVersion)
        let queue = BoundedQueue<FlowRecord>(capacity: 1 << 20)
        // Written by the producer before each push, read by this thread after the pop that took it (ordered by the queue's mutex).
        let handedOver = UnsafeMutablePointer<Double>.allocate(capacity: total)
        defer { handedOver.deallocate() }
        let times = UnsafeSendablePointer(handedOver)
        let recs = records
        let producer = spawnThread(name: "fs-bench-producer") {
            var t0 = timespec()
            clock_gettime(CLOCK_MONOTONIC, &t0)
            let startNs = Int64(t0.tv_sec) * 1_000_000_000 + Int64(t0.tv_nsec)
            for i in 0..<total {
                let dueNs = startNs + Int64(Double(i) / rate * 1e9)
                var ts = timespec(tv_sec: Int(dueNs / 1_000_000_000), tv_nsec: Int(dueNs % 1_000_000_000))
                while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nil) == EINTR {}
                times.pointer[i] = monotonicSeconds()
                queue.push(recs[i % recs.count])
            }
        }
        var arrived: [FlowRecord] = []
        arrived.reserveCapacity(4096)
        var scored: [ScoredVerdict] = []
        var taken = 0
        while taken < total {
            arrived.removeAll(keepingCapacity: true)
            queue.popAll(into: &arrived, timeout: 0.1, spin: spin)
            if arrived.isEmpty { continue }
            stage.score(arrived, into: &scored)
            json.reset()
            for (i, r) in arrived.enumerated() {
                let s = scored[i]
                flows.append(r, verdict: { writeVerdictSummary(s, into: &$0) }, alerted: s.alerted, into: &json)
                if s.alerted { alerts.append(r, s, into: &json) }
            }
            _ = json.bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            let done = monotonicSeconds()
            for i in arrived.indices {
                let l = done - times.pointer[taken + i]
                lat.append(l)
                if scored[i].alerted { alertLat.append(l) }
            }
            taken += arrived.count
        }
        pthread_join(producer, nil)
        lat.sort()
        alertLat.sort()
        func q(_ a: [Double], _ p: Double) -> Double { a.isEmpty ? 0 : a[min(a.count - 1, Int(p * Double(a.count)))] }
        return Latency(rate: rate, flows: lat.count, p50: q(lat, 0.5), p99: q(lat, 0.99), max: lat.last ?? 0,
                       alerts: alertLat.count, alertP50: q(alertLat, 0.5), alertP99: q(alertLat, 0.99),
                       alertMax: alertLat.last ?? 0, alertLatencies: alertLat)
    }

    /// Mean cost of explaining one suspicious flow: every suspicious record is
    /// explained (`explain`), then detailed (`detail`), `repeats` times; the
    /// best of the repeats is reported.
    package static func explainCost(model: EnsembleModel, records: [FlowRecord], repeats: Int = 3) -> ExplainCost {
        let scorer = EnsembleScorer(model: model)
        var v: [Verdict] = []
        var suspicious: [(Int, Verdict)] = []
        var i = 0
        while i < records.count {
            let n = min(256, records.count - i), base = i
            scorer.score(features: { records[base + $0].features }, sequences: { records[base + $0].sequence },
                         count: n, into: &v)
            for (j, x) in v.enumerated() where x.isSuspicious { suspicious.append((base + j, x)) }
            i += n
        }
        guard !suspicious.isEmpty else { return ExplainCost(flows: 0, explainMean: 0, detailMean: 0) }
        var bestExplain = Double.infinity, bestDetail = Double.infinity
        var sink = 0
        for _ in 0..<max(1, repeats) {
            var t0 = monotonicSeconds()
            for (r, _) in suspicious {
                sink &+= scorer.explain(features: records[r].features, sequence: records[r].sequence).count
            }
            bestExplain = min(bestExplain, monotonicSeconds() - t0)
            t0 = monotonicSeconds()
            for (r, x) in suspicious {
                var y = x
                scorer.detail(&y, features: records[r].features, sequence: records[r].sequence)
                sink &+= y.explanation.count
            }
            bestDetail = min(bestDetail, monotonicSeconds() - t0)
        }
        if sink == -1 { print(sink) }
        let n = Double(suspicious.count)
        return ExplainCost(flows: suspicious.count, explainMean: bestExplain / n, detailMean: bestDetail / n)
    }
}

/// A pointer handed to another thread whose accesses the caller orders itself.
struct UnsafeSendablePointer<T>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<T>
    init(_ p: UnsafeMutablePointer<T>) { pointer = p }
}
