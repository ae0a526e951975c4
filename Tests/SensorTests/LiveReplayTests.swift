import Alerts
import Detection
import Flows
import Foundation
import Sensor
import Testing

/// A lab capture replayed onto a veth with tcpreplay while the live sensor
/// (scoring with the bundled model) captures the other end, compared with an
/// offline replay of the same file.
///
/// What must match: every flow's packets and IP bytes per 5-tuple, exactly,
/// with no kernel drop. What may differ, and why: timestamps (live capture
/// time), and so every timing feature a little; tcpreplay sends at the recorded
/// pace (-- multiplier 1), but a sending host is not a wire: timing jitters; flows the
/// capture cut at its start or end are the same flows either way.
let tcpreplayPath: String? = ["/usr/bin/tcpreplay", "/usr/local/bin/tcpreplay"]
    .first { FileManager.default.isExecutableFile(atPath: $0) }

@Suite(.serialized, .enabled(if: SensorLab.available && tcpreplayPath != nil,
                             "needs root, ip, python3 and tcpreplay"))
struct LiveReplayTests {
    static let capture = Repo.root.appendingPathComponent("captures/demo.pcap").path
    static let bundle = Repo.root.appendingPathComponent("rules/flowsentry.fsb").path

    struct Totals: Equatable { var pkts = 0; var bytes = 0 }

    static func key(_ o: [String: Any]) -> String {
        let a = "\(o["src_ip"] ?? "")|\(o["src_port"] ?? "")", b = "\(o["dest_ip"] ?? "")|\(o["dest_port"] ?? "")"
        return "\(o["proto"] ?? "") " + [a, b].sorted().joined(separator: " ")
    }

    static func records(_ path: String) -> [[String: Any]] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }.filter { $0["event_type"] as? String == "flow" }
    }

    static func totals(_ recs: [[String: Any]]) -> [String: Totals] {
        var t: [String: Totals] = [:]
        for r in recs {
            let f = r["flow"] as! [String: Any]
            t[key(r), default: Totals()].pkts += (f["pkts_toserver"] as! Int) + (f["pkts_toclient"] as! Int)
            t[key(r), default: Totals()].bytes += (f["bytes_toserver"] as! Int) + (f["bytes_toclient"] as! Int)
        }
        return t
    }

    @Test func liveCaptureMatchesOfflineReplay() throws {
        let lab = try SensorLab(tag: 9)
        defer { lab.destroy() }
        let model = try EnsembleModel.load(path: Self.bundle)
        var c = SensorConfig()
        c.interface = lab.hostIf
        c.flows = lab.path("flows.json")
        c.alerts = lab.path("alerts.json")
        c.stats = lab.path("stats.json")
        c.statsInterval = 1
        c.bpfFilter = "ip"
        c.warnOffloads = false
        c.flow.maxFlows = 16384
        c.bufferMB = 16
        let logs = LogLines()
        let sensor = try LiveSensor(config: c, scoring: ModelSource(model: Self.bundle, policy: nil), log: logs.sink)
        try sensor.start()
        // 1,601 packets over 72 s, sent at the recorded pace.
        _ = try SensorLab.exec(SensorLab.ip!, ["netns", "exec", lab.ns, tcpreplayPath!, "-q", "-i", lab.nsIf,
                                               "--multiplier", "1", Self.capture], timeout: 120)
        usleep(500_000)
        let stats = try #require(stopAndWait(sensor, timeout: 20))
        #expect(stats.kernel.dropped == 0 && stats.queueOverflow == 0)

        // Offline: the same file through the same model.
        var offline: [[String: Any]] = []
        var fmt = EveFlowFormatter()
        var json = JSONBuffer()
        var scored: [ScoredVerdict] = []
        let off = ScoringStage(model: model, policy: Policy())
        var batch: [FlowRecord] = []
        ReplayPipeline(config: .init()).run(files: [Self.capture]) { r, _ in batch.append(r) }
        off.score(batch, into: &scored)
        for (i, r) in batch.enumerated() {
            json.reset()
            let s = scored[i]
            fmt.append(r, verdict: { writeVerdictSummary(s, into: &$0) }, alerted: s.alerted, into: &json)
            offline.append(try JSONSerialization.jsonObject(with: Data(json.bytes)) as! [String: Any])
        }
        _ = fmt

        let live = Self.records(lab.path("flows.json"))
        let lt = Self.totals(live), ot = Self.totals(offline)
        #expect(!lt.isEmpty)
        #expect(lt == ot, "per-5-tuple packets/bytes differ: \(Set(lt.keys).symmetricDifference(ot.keys).prefix(5))")
        // Verdicts: timing features differ a little live, so the bound is
        // 85 %. Measured: bundle 1.0 on the old demo, 76 of 76 at the
        // recorded pace (55 of 76 when tcpreplay sends 4× faster); bundle
        // 1.1 on the regenerated demo, 117 of 130 — the 13 that differ are
        // one nmap sweep whose offline scores sit around the 0.933 threshold
        // (0.84–0.997) with 4–6 µs SYN→RST gaps that become tens of µs
        // through tcpreplay and a veth: the models lean on µs timing.
        // Bundle 1.2: 127 of 130 (three flows of that sweep, benign live,
        // scan offline).
        func verdicts(_ rs: [[String: Any]]) -> [String: String] {
            var v: [String: String] = [:]
            for r in rs { v[Self.key(r)] = ((r["ml"] as? [String: Any])?["class"] as? String) ?? "?" }
            return v
        }
        let lv = verdicts(live), ov = verdicts(offline)
        let same = lv.filter { ov[$0.key] == $0.value }.count
        print("live vs offline: \(live.count) / \(offline.count) flow records, \(same) of \(lv.count) 5-tuples with the same verdict class")
        for (k, v) in lv where ov[k] != v { print("  differs: \(k) live \(v) offline \(ov[k] ?? "-")") }
        #expect(Double(same) / Double(max(1, lv.count)) >= 0.85)
    }
}
