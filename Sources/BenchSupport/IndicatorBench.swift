import Flows
import Indicators
import Sensor
#if canImport(Glibc)
import Glibc
#endif

/// The cost of matching indicators on flow records, apart from everything
/// else on the record path: every record of a capture (application layer
/// parsed, as the writer has it) matched against a loaded set, best of N
/// passes, against the same loop over an empty set.
package enum IndicatorBench {
    package struct Result {
        package var records = 0
        package var indicators = 0
        package var loadSeconds = 0.0
        package var setBytes = 0
        package var hits = 0
        /// Best pass, nanoseconds per record.
        package var nsPerRecord = 0.0
        package var nsPerRecordEmpty = 0.0
    }

    package static func run(capture: String, feed: String, passes: Int) throws -> Result {
        var r = Result()
        var records: [FlowRecord] = []
        ReplayPipeline(config: .init()).run(files: [capture]) { rec, _ in records.append(rec) }
        r.records = records.count
        let t0 = monotonic()
        let set = try IndicatorSet.load(paths: [feed])
        r.loadSeconds = monotonic() - t0
        r.indicators = set.count
        r.setBytes = set.bytes
        func best(_ s: IndicatorSet) -> (Double, Int) {
            var hits: [IndicatorHit] = []
            var bestNs = Double.infinity, total = 0
            for _ in 0..<max(1, passes) {
                total = 0
                let start = monotonic()
                for i in records.indices {
                    s.match(src: records[i].srcIP, dst: records[i].dstIP, app: records[i].app, into: &hits)
                    total &+= hits.count
                }
                bestNs = min(bestNs, (monotonic() - start) * 1e9 / Double(max(1, records.count)))
            }
            return (bestNs, total)
        }
        (r.nsPerRecord, r.hits) = best(set)
        (r.nsPerRecordEmpty, _) = best(IndicatorSet())
        return r
    }

    static func monotonic() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}
