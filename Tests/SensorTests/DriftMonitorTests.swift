import Alerts
import Detection
import Features
import Foundation
import Sensor
import Testing

/// The sliding-window drift monitor: eviction, the warning and its rate
/// limit, the stats object, the gauges, and the `detection.drift` keys.
@Suite struct DriftMonitorTests {
    /// A reference over duration_s, with (−∞, 1] and (1, ∞) half each, and
    /// the sequence summaries of an empty sequence (each in its first bin).
    static let reference = DriftReference(inputs: [
        .init(name: "duration_s", edges: [1], shares: [0.5, 0.5]),
        .init(name: "seq_packets", edges: [0], shares: [1, 0]),
        .init(name: "seq_mean_ip_len", edges: [0], shares: [1, 0]),
        .init(name: "seq_mean_log_iat", edges: [0], shares: [1, 0]),
    ], rows: 2)

    static func monitor(window: Int = 4) -> DriftMonitor {
        var c = DriftConfig()
        c.window = window
        return DriftMonitor(reference: reference, statIndices: [Feature.duration_s.rawValue], config: c)
    }

    static func observe(_ m: DriftMonitor, duration: Double, times: Int) {
        var f = FeatureVector()
        f[.duration_s] = duration
        for _ in 0..<times { m.observe(features: f, sequence: PacketSequence()) }
    }

    /// All of the window in one of two equal reference bins:
    /// (1 − 0.5)·ln 2 + (1e-4 − 0.5)·ln(1e-4 / 0.5) = 0.3465736 + 4.2577448 = 4.6043184.
    static let oneSidedPSI = 4.6043184

    @Test func windowEvictsTheOldestFlows() {
        let m = Self.monitor()
        Self.observe(m, duration: 0.5, times: 4)
        m.refresh()
        #expect(abs(m.scores[0].psi - Self.oneSidedPSI) < 1e-6)
        #expect(abs(m.scores[0].ks - 0.5) < 1e-12)
        // Four long flows push the four short ones out: the other side, the same PSI.
        Self.observe(m, duration: 2, times: 4)
        m.refresh()
        #expect(m.windowFlows == 4 && m.observed == 8)
        #expect(abs(m.scores[0].psi - Self.oneSidedPSI) < 1e-6)
        // Two short ones evict two long ones: half and half, no drift.
        Self.observe(m, duration: 0.5, times: 2)
        m.refresh()
        #expect(m.windowFlows == 4)
        #expect(abs(m.scores[0].psi) < 1e-12 && m.scores[0].ks < 1e-12)
        // The sequence summaries of empty sequences sit where the reference has them.
        #expect(m.scores[1...].allSatisfy { $0.psi < 1e-12 })
    }

    @Test func warningOncePerCrossingAndRateLimited() {
        let m = Self.monitor()
        Self.observe(m, duration: 0.5, times: 3)
        #expect(m.check(now: 0) == nil)  // the window is not full yet (warnAfterFlows = 4)
        Self.observe(m, duration: 0.5, times: 1)
        let w = m.check(now: 1)
        #expect(w?.contains("duration_s 4.60 (KS 0.50)") == true)
        #expect(w?.contains("PSI 0.25") == true && w?.contains("last 4 flows") == true)
        #expect(m.check(now: 2) == nil)      // still over: said once
        Self.observe(m, duration: 2, times: 2)
        #expect(m.check(now: 3) == nil)      // back to no drift
        Self.observe(m, duration: 2, times: 2)
        #expect(m.check(now: 4) == nil)      // over again, but within warn_interval (300 s) of the last line
        #expect(m.check(now: 301)?.contains("duration_s") == true)
    }

    @Test func statsObjectAndGauges() throws {
        let m = Self.monitor()
        Self.observe(m, duration: 0.5, times: 4)
        var j = JSONBuffer(reserve: 512)
        j.beginObject()
        m.appendStats(into: &j)
        j.endObject()
        let o = try #require(try JSONSerialization.jsonObject(with: Data(j.bytes)) as? [String: Any])
        let d = try #require(o["drift"] as? [String: Any])
        #expect(d["window"] as? Int == 4 && d["flows"] as? Int == 4)
        #expect(abs((d["max_psi"] as? Double ?? 0) - Self.oneSidedPSI) < 1e-6)
        #expect(d["max_psi_input"] as? String == "duration_s")
        #expect(d["inputs_over_threshold"] as? Int == 1)
        let top = try #require(d["top"] as? [[String: Any]])
        #expect(top.count == 4 && top[0]["input"] as? String == "duration_s")

        var snap = SensorMetricsSnapshot(stats: SensorStats(), interface: "eth0")
        snap.drift = m.snapshot
        var t = PrometheusText()
        snap.append(to: &t)
        let lines = t.text.split(separator: "\n").map(String.init)
        let psi = try #require(lines.first { $0.hasPrefix("flowsentry_feature_drift_psi{feature=\"duration_s\"} ") })
        #expect(abs((Double(psi.split(separator: " ")[1]) ?? 0) - Self.oneSidedPSI) < 1e-6)
        #expect(lines.contains("flowsentry_feature_drift_ks{feature=\"duration_s\"} 0.5"))
        #expect(lines.contains("flowsentry_feature_drift_window_flows 4"))
        #expect(lines.contains("flowsentry_feature_drift_inputs_over_threshold 1"))
        #expect(lines.contains("# TYPE flowsentry_feature_drift_psi gauge"))
    }

    @Test func configKeys() throws {
        let c = try SensorConfig.parse(yaml: """
            detection:
              drift:
                enabled: false
                window: 2_000
                psi_warn: 0.2
                warn_interval: 60
            """)
        #expect(!c.drift.enabled && c.drift.window == 2000 && c.drift.psiWarn == 0.2 && c.drift.warnIntervalSeconds == 60)
        #expect(SensorConfig().drift.window == 5000 && SensorConfig().drift.psiWarn == 0.25)
        #expect { _ = try SensorConfig.parse(yaml: "detection:\n  drift:\n    windw: 10\n", file: "f.yaml") } throws: {
            "\($0)".hasPrefix("f.yaml: detection.drift.windw: unknown key (allowed here: enabled, window, psi_warn")
        }
        #expect { _ = try SensorConfig.parse(yaml: "detection:\n  drift:\n    window: 5\n") } throws: {
            "\($0)".contains("detection.drift.window: must be a number of flows between 100 and 200000")
        }
        // The example config's detection block, uncommented, states the defaults.
        let example = try String(contentsOf: Repo.root.appendingPathComponent("systemd/flowsentry.yaml.example"), encoding: .utf8)
        var block: [String] = [], inside = false
        for line in example.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("# detection:") { inside = true } else if inside && !line.hasPrefix("#   ") { inside = false }
            if inside { block.append(String(line.dropFirst(2))) }
        }
        let uncommented = try SensorConfig.parse(yaml: block.joined(separator: "\n"), file: "example")
        #expect(block.contains { $0.contains("drift:") })
        #expect(uncommented.drift == DriftConfig())
        #expect { _ = try SensorConfig.parse(yaml: "detection:\n  drift:\n    psi_warn: -1\n") } throws: {
            "\($0)".contains("detection.drift.psi_warn: must be a number above 0")
        }
    }
}
