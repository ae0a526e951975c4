import Alerts
import Detection
import Flows
import Foundation
import Sensor
import Testing

/// The scoring stage in the record writer (`write` for each batch, `sweep`
/// after each expiry sweep, `finish` at shutdown), driven as the live
/// output thread drives it, on a lab capture with floods of
/// suspicious flows: every folded flow ends up counted on exactly one alert line.
@Suite(.serialized) struct ScoringStageTests {
    static let bundle = Repo.root.appendingPathComponent("rules/flowsentry.fsb").path
    static let captures = ["attack-dos", "attack-scan"].map { Repo.root.appendingPathComponent("captures/\($0).pcap").path }

    struct Run {
        var alerts: [[String: Any]] = []
        var flows: [UInt64: [String: Any]] = [:]
        var folded: UInt64 = 0
        var closingCount: UInt64 = 0
        var alertLines: [String] = []
    }

    static func lines(_ path: String) -> [String] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// Batches of 256 records through the writer; `between` runs after each batch (sweeps, reloads).
    static func run(_ dir: URL, policy: Policy = Policy(),
                    between: (RecordWriter, Int64) -> Void = { _, _ in }) throws -> Run {
        let model = try EnsembleModel.load(path: bundle)
        let alertsPath = dir.appendingPathComponent("alerts.json").path
        let flowsPath = dir.appendingPathComponent("flows.json").path
        let out = try OutputFiles(alerts: alertsPath, flows: flowsPath, stats: nil)
        let stage = ScoringStage(model: model, policy: policy)
        stage.explain = false
        let writer = RecordWriter(context: EveContext(), scoring: stage, outputs: out)
        var all: [FlowRecord] = []
        ReplayPipeline(config: .init()).run(files: captures) { r, _ in all.append(r) }
        var lastEnd = Int64.min
        let batch = RecordBatch()
        for start in stride(from: 0, to: all.count, by: 256) {
            batch.records = Array(all[start..<min(all.count, start + 256)])
            lastEnd = max(lastEnd, batch.records.map(\.endNs).max()!)
            writer.write(batch)
            between(writer, lastEnd)
        }
        writer.finish()  // shutdown
        out.syncAll(final: true)
        var r = Run()
        r.alertLines = lines(alertsPath)
        r.alerts = r.alertLines.map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        for l in lines(flowsPath) {
            let o = try JSONSerialization.jsonObject(with: Data(l.utf8)) as! [String: Any]
            r.flows[(o["flow_id"] as! NSNumber).uint64Value] = o
        }
        r.folded = stage.counters.folded
        r.closingCount = stage.counters.closingAlerts
        #expect(stage.closing.isEmpty)
        return r
    }

    static func ml(_ a: [String: Any]) -> [String: Any] { a["ml"] as! [String: Any] }
    static func closing(_ r: Run) -> [[String: Any]] { r.alerts.filter { ml($0)["aggregate"] as? String == "closing" } }
    static func carried(_ r: Run) -> UInt64 { r.alerts.reduce(0) { $0 + UInt64((ml($1)["aggregated_flows"] as? Int) ?? 0) } }

    /// Each closing alert names a flow of the flows log: folded (not alerted), same destination and class.
    static func checkClosingFlows(_ r: Run) {
        for c in closing(r) {
            let id = (c["flow_id"] as! NSNumber).uint64Value
            let f = r.flows[id]
            #expect(f != nil, "closing alert for flow \(id) with no flow record")
            guard let f else { continue }
            #expect((f["flow"] as! [String: Any])["alerted"] as? Bool == false)
            #expect(f["dest_ip"] as? String == c["dest_ip"] as? String && f["src_ip"] as? String == c["src_ip"] as? String)
            #expect(f["community_id"] as? String == c["community_id"] as? String)
            #expect(ml(f)["class"] as? String == ml(c)["class"] as? String)
            #expect((ml(c)["aggregated_flows"] as? Int ?? 0) >= 1)
        }
    }

    @Test func shutdownClosesEveryKeyWithFoldedFlows() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try Self.run(dir)
        #expect(r.folded > 0, "the captures should fold flows (floods to one destination)")
        let cs = Self.closing(r)
        #expect(!cs.isEmpty && UInt64(cs.count) == r.closingCount)
        #expect(cs.allSatisfy { Self.ml($0)["closing_reason"] as? String == "end" })
        // Every folded flow on exactly one alert line.
        #expect(Self.carried(r) == r.folded)
        Self.checkClosingFlows(r)
        // The closing alerts are the last lines (shutdown), one per key.
        let keys = cs.map { "\($0["dest_ip"]!) \(Self.ml($0)["class"]!)" }
        #expect(Set(keys).count == keys.count)
        #expect(r.alerts.suffix(cs.count).allSatisfy { Self.ml($0)["aggregate"] as? String == "closing" })
        // Same input twice: identical alert lines.
        let dir2 = try tempDir()
        defer { try? FileManager.default.removeItem(at: dir2) }
        #expect(try Self.run(dir2).alertLines == r.alertLines)
    }

    @Test func aQuietKeyIsClosedAtASweepAndNotAgainAtShutdown() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        // A sweep two intervals after the flows (the wall clock of a live
        // sweep), after the last batch: every pending key is quiet by then.
        var batches = 0
        let counted = try Self.run(dir) { _, _ in batches += 1 }
        let dir2 = try tempDir()
        defer { try? FileManager.default.removeItem(at: dir2) }
        var seen = 0
        let q = try Self.run(dir2) { writer, lastEnd in
            seen += 1
            if seen == batches { writer.sweep(nowNs: lastEnd + 121_000_000_000) }
        }
        let cs = Self.closing(q)
        #expect(!cs.isEmpty && cs.allSatisfy { Self.ml($0)["closing_reason"] as? String == "quiet" })
        #expect(Self.carried(q) == q.folded && q.folded == counted.folded)
        #expect(cs.count == Self.closing(counted).count)
        Self.checkClosingFlows(q)
    }

    @Test func aReloadClosesThePendingKeysUnderTheOldModel() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try EnsembleModel.load(path: Self.bundle)
        var batches = 0
        let r = try Self.run(dir) { writer, _ in
            batches += 1
            if batches == 2 {
                writer.reload(model: model, policy: Policy())
                writer.sweep(nowNs: 0)  // the next sweep writes them
            }
        }
        let reloads = Self.closing(r).filter { Self.ml($0)["closing_reason"] as? String == "reload" }
        #expect(!reloads.isEmpty, "flows folded in the first two batches")
        #expect(Self.carried(r) == r.folded)
        Self.checkClosingFlows(r)
    }

    func tempDir() throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("scoring-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }
}
