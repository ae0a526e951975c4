import Capture
import Flows
import Indicators
@testable import Sensor
import Testing

@Suite struct MetricsExpositionTests {
    static func snapshot() -> SensorMetricsSnapshot {
        var s = SensorStats()
        s.uptimeSeconds = 12.5
        var w0 = SensorStats.Worker(), w1 = SensorStats.Worker()
        w0.packets = 100; w0.decoded = 90; w0.kernel = CaptureStats(received: 110, dropped: 0, ifDropped: 0)
        w1.packets = 50; w1.decoded = 50; w1.kernel = CaptureStats(received: 53, dropped: 3, ifDropped: 1); w1.reopens = 1
        s.workers = [w0, w1]
        s.anomalies.bump(.notIP)
        s.flows.created = 7
        s.flowsActive = 2
        s.outputs = [.init(name: "alerts", written: 2, dropped: 0), .init(name: "flows", written: 5, dropped: 1)]
        var m = SensorMetricsSnapshot(stats: s, interface: "eth1")
        var c = ScoringStage.Counters()
        c.flowsScored = 5; c.alerts = ["dos": 2]; c.closingAlerts = 1
        c.latencyCounts[0] = 3; c.latencyCounts[c.latencyCounts.count - 1] = 1; c.latencySum = 21
        m.scoring = c
        m.modelVersion = "flowsentry-ml-test"
        m.modelClasses = ["benign", "dos", "portscan"]
        return m
    }

    /// Families by name: (kind, sample lines).
    static func families(_ text: String) -> [String: (kind: String, samples: [String])] {
        var out: [String: (kind: String, samples: [String])] = [:]
        var current = ""
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") {
                let p = line.split(separator: " ")
                current = String(p[2])
                #expect(out[current] == nil, "family \(current) twice")
                out[current] = (String(p[3]), [])
            } else if !line.hasPrefix("#") {
                out[current]?.samples.append(String(line))
            }
        }
        return out
    }

    @Test func indicatorHitsByKindWhenIndicatorsAreLoaded() {
        var m = Self.snapshot()
        var t0 = PrometheusText()
        m.append(to: &t0)
        #expect(Self.families(t0.text)["flowsentry_indicator_hits_total"] == nil)  // no files, no family
        var c = IndicatorCounters()
        c.flowsMatched = 3
        c.hits[Int(IndicatorKind.allCases[0].rawValue)] = 4
        m.indicators = c
        m.indicatorsLoaded = 1200
        var t = PrometheusText()
        m.append(to: &t)
        let f = Self.families(t.text)
        #expect(f["flowsentry_indicator_hits_total"]?.kind == "counter")
        #expect(f["flowsentry_indicator_hits_total"]?.samples.count == IndicatorKind.allCases.count)
        #expect(f["flowsentry_indicator_hits_total"]?.samples.first == "flowsentry_indicator_hits_total{kind=\"\(IndicatorKind.allCases[0].name)\"} 4")
        #expect(f["flowsentry_indicator_flows_matched_total"]?.samples == ["flowsentry_indicator_flows_matched_total 3"])
        #expect(f["flowsentry_indicators_loaded"]?.samples == ["flowsentry_indicators_loaded 1200"])
    }

    @Test func typesLabelsAndValues() {
        var t = PrometheusText()
        BuildInfo.append(to: &t)
        Self.snapshot().append(to: &t)
        let f = Self.families(t.text)
        for (name, fam) in f {
            // Counters end in _total, and only counters do; each sample belongs to its family.
            #expect((fam.kind == "counter") == name.hasSuffix("_total"), "\(name) is a \(fam.kind)")
            for s in fam.samples {
                let sampleName = String(s.prefix { $0 != "{" && $0 != " " })
                let ok = fam.kind == "histogram" ? ["_bucket", "_sum", "_count"].contains { sampleName == name + $0 } : sampleName == name
                #expect(ok, "\(s) under \(name)")
            }
        }
        #expect(f["flowsentry_build_info"]?.kind == "gauge")
        #expect(f["flowsentry_build_info"]?.samples.first?.hasPrefix("flowsentry_build_info{version=\"\(BuildInfo.version)\",swift=\"6.") == true)
        #expect(f["flowsentry_capture_kernel_drops_total"]?.samples == [
            "flowsentry_capture_kernel_drops_total{interface=\"eth1\",worker=\"0\"} 0",
            "flowsentry_capture_kernel_drops_total{interface=\"eth1\",worker=\"1\"} 3",
        ])
        #expect(f["flowsentry_capture_reopens_total"]?.samples.last == "flowsentry_capture_reopens_total{interface=\"eth1\",worker=\"1\"} 1")
        #expect(f["flowsentry_decoder_packets_total"]?.samples.count == 2)
        #expect(f["flowsentry_decoder_skipped_total"]?.samples.contains("flowsentry_decoder_skipped_total{interface=\"eth1\",reason=\"not_ip\"} 1") == true)
        #expect(f["flowsentry_flows_active"]?.kind == "gauge")
        #expect(f["flowsentry_flows_active"]?.samples == ["flowsentry_flows_active{interface=\"eth1\"} 2"])
        #expect(f["flowsentry_flows_created_total"]?.samples == ["flowsentry_flows_created_total{interface=\"eth1\"} 7"])
        #expect(f["flowsentry_output_records_total"]?.samples == [
            "flowsentry_output_records_total{output=\"alerts\"} 2", "flowsentry_output_records_total{output=\"flows\"} 5",
        ])
        #expect(f["flowsentry_output_records_dropped_total"]?.samples.last == "flowsentry_output_records_dropped_total{output=\"flows\"} 1")
        // Every non-benign class of the model has its alert counter, 0 until its first alert.
        #expect(f["flowsentry_alerts_total"]?.samples == [
            "flowsentry_alerts_total{class=\"dos\"} 2", "flowsentry_alerts_total{class=\"portscan\"} 0",
        ])
        #expect(f["flowsentry_closing_alerts_total"]?.samples == ["flowsentry_closing_alerts_total 1"])
        #expect(f["flowsentry_model_info"]?.samples == ["flowsentry_model_info{model_version=\"flowsentry-ml-test\"} 1"])
        #expect(f["flowsentry_uptime_seconds"]?.samples == ["flowsentry_uptime_seconds{interface=\"eth1\"} 12.5"])
        let h = f["flowsentry_ml_flow_to_output_seconds"]
        #expect(h?.kind == "histogram")
        #expect(h?.samples.first == "flowsentry_ml_flow_to_output_seconds_bucket{le=\"0.0001\"} 3")
        #expect(h?.samples.suffix(3) == ["flowsentry_ml_flow_to_output_seconds_bucket{le=\"+Inf\"} 4",
                                         "flowsentry_ml_flow_to_output_seconds_sum 21",
                                         "flowsentry_ml_flow_to_output_seconds_count 4"])
        // Without scoring, no scoring families.
        var bare = Self.snapshot()
        bare.scoring = nil
        var t2 = PrometheusText()
        bare.append(to: &t2)
        #expect(!t2.text.contains("flowsentry_alerts_total") && !t2.text.contains("flowsentry_model_info"))
    }
}
