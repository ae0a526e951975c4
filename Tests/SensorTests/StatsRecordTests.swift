import Alerts
import Capture
import Flows
import Foundation
import Sensor
import Testing

@Suite struct StatsRecordTests {
    @Test func statsRecordShape() throws {
        var s = SensorStats()
        s.uptimeSeconds = 12.7
        s.kernel = CaptureStats(received: 1000, dropped: 10, ifDropped: 1)
        s.reopens = 2
        s.packets = 990
        s.decoded = 980
        s.flowsActive = 3
        s.flows.created = 7
        s.flows.ended[Int(EndReason.idleTimeout.rawValue)] = 4
        s.memcapBytes = 4096
        s.queueDepth = 1
        s.queueCapacity = 65536
        s.queueOverflow = 5
        s.recordsWritten = 6
        var j = JSONBuffer()
        s.appendRecord(timestampNs: 1_700_000_000_123_456_000, host: "sensor-1", interface: "eth1", into: &j)
        #expect(j.bytes.last == 0x0A)
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(j.bytes)) as? [String: Any])
        #expect(obj["timestamp"] as? String == "2023-11-14T22:13:20.123456+0000")
        #expect(obj["event_type"] as? String == "stats")
        #expect(obj["host"] as? String == "sensor-1")
        #expect(obj["in_iface"] as? String == "eth1")
        let st = try #require(obj["stats"] as? [String: Any])
        #expect(Set(st.keys) == ["uptime", "capture", "decoder", "flow", "queue", "output"])
        #expect(st["uptime"] as? Int == 12)
        let cap = try #require(st["capture"] as? [String: Any])
        #expect(cap["kernel_packets"] as? Int == 1000 && cap["kernel_drops"] as? Int == 10
            && cap["kernel_ifdrops"] as? Int == 1 && cap["reopens"] as? Int == 2)
        let dec = try #require(st["decoder"] as? [String: Any])
        #expect(dec["pkts"] as? Int == 990 && dec["decoded"] as? Int == 980 && dec["invalid"] as? Int == 10)
        #expect((dec["event"] as? [String: Int]) == [:])
        let flow = try #require(st["flow"] as? [String: Any])
        #expect(flow["active"] as? Int == 3 && flow["total"] as? Int == 7 && flow["memcap_bytes"] as? Int == 4096)
        let ended = try #require(flow["ended"] as? [String: Int])
        #expect(ended["timeout"] == 4 && ended["shutdown"] == 0 && ended.count == EndReason.allCases.count)
        let queue = try #require(st["queue"] as? [String: Int])
        #expect(queue == ["depth": 1, "capacity": 65536, "overflow": 5])
        let output = try #require(st["output"] as? [String: Int])
        #expect(output == ["records_written": 6, "write_errors": 0, "records_pending": 0, "records_dropped": 0])
        // Key order is fixed: timestamp first, like EVE.
        #expect(String(decoding: j.bytes, as: UTF8.self).hasPrefix(#"{"timestamp":"#))
        #expect(s.summary.contains("kernel_drops 10 (0.99%)"))
    }
}

extension StatsRecordTests {
    static func json(_ s: SensorStats, host: String? = nil,
                     extra: ((inout JSONBuffer) -> Void)? = nil) throws -> [String: Any] {
        var j = JSONBuffer()
        s.appendRecord(timestampNs: 0, host: host, interface: "lo", extra: extra, into: &j)
        return try #require(try JSONSerialization.jsonObject(with: Data(j.bytes)) as? [String: Any])
    }

    /// With `--alert-pcap` the writer's and the rings' counters are in the
    /// record (`alert_pcap`) and in the metrics; without it neither has them.
    @Test func alertPcapCountersInTheRecordAndTheMetricsOnlyWhenOn() throws {
        var s = SensorStats()
        func record() throws -> [String: Any] {
            var j = JSONBuffer()
            s.appendRecord(timestampNs: 0, host: nil, interface: "lo", into: &j)
            let obj = try #require(try JSONSerialization.jsonObject(with: Data(j.bytes)) as? [String: Any])
            return try #require(obj["stats"] as? [String: Any])
        }
        func metrics() -> String {
            var t = PrometheusText()
            SensorMetricsSnapshot(stats: s, interface: "lo").append(to: &t)
            return t.text
        }
        #expect(try record()["alert_pcap"] == nil && !metrics().contains("alert_pcap"))
        var c = SensorStats.AlertPcapCounters()
        c.flowsWritten = 3; c.packetsWritten = 41; c.writeErrors = 1; c.packetsKept = 50; c.packetsNotKept = 7
        s.alertPcap = c
        #expect(try record()["alert_pcap"] as? [String: Int]
                == ["flows_written": 3, "packets_written": 41, "write_errors": 1, "packets_kept": 50, "packets_not_kept": 7])
        let lines = Set(metrics().split(separator: "\n").map(String.init))
        for want in ["flowsentry_alert_pcap_flows_total 3", "flowsentry_alert_pcap_packets_total 41",
                     "flowsentry_alert_pcap_write_errors_total 1", "flowsentry_alert_pcap_packets_kept_total 50",
                     "flowsentry_alert_pcap_packets_not_kept_total 7", "# TYPE flowsentry_alert_pcap_packets_total counter"] {
            #expect(lines.contains(want), "\(want)")
        }
    }

    @Test func anomaliesAppearOnlyWhenCountedAndExtraGoesInsideStats() throws {
        var s = SensorStats()
        s.packets = 5; s.decoded = 2; s.bytes = 300
        s.anomalies.bump(.notIP); s.anomalies.bump(.notIP); s.anomalies.bump(.truncatedVLAN)
        let obj = try Self.json(s, extra: { j in j.key("scoring"); j.beginObject(); j.key("flows"); j.uint(9); j.endObject() })
        #expect(obj["host"] == nil)  // no host: no key
        #expect(obj["timestamp"] as? String == "1970-01-01T00:00:00.000000+0000")
        let st = try #require(obj["stats"] as? [String: Any])
        let dec = try #require(st["decoder"] as? [String: Any])
        #expect(dec["pkts"] as? Int == 5 && dec["bytes"] as? Int == 300 && dec["decoded"] as? Int == 2 && dec["invalid"] as? Int == 3)
        #expect((dec["event"] as? [String: Int]) == ["not_ip": 2, "truncated_vlan": 1])
        #expect((st["scoring"] as? [String: Int]) == ["flows": 9])
        let flow = try #require(st["flow"] as? [String: Any])
        #expect(flow["evicted"] as? Int == 0)
    }

    @Test func dropPercentAndSummary() {
        var s = SensorStats()
        #expect(s.dropPercent == 0)  // nothing seen: 0, not NaN
        s.kernel = CaptureStats(received: 300, dropped: 100, ifDropped: 0)
        #expect(s.dropPercent == 25)  // 100 of 400 the kernel saw
        s.recordsPending = 2; s.recordsDropped = 7
        #expect(s.summary.contains("kernel_drops 100 (25.00%)"))
        #expect(s.summary.contains("records not written: 2 still held at exit, 7 dropped (a log file's queue or retry buffer full)"))
        #expect(!SensorStats().summary.contains("records not written"))
    }
}

/// The stats record's keys that mean what Suricata's mean carry Suricata's
/// names, so dashboards and queries written for Suricata's `event_type:
/// stats` read FlowSentry's too. The names are Suricata's, as listed in its
/// user guide, "Performance → Statistics"
/// (https://docs.suricata.io/en/latest/performance/statistics.html) and
/// registered in its sources (`decoder.pkts` in decode.c, `flow.total` and
/// `flow.active` in decode.c and flow-manager.c, `capture.kernel_*` in
/// source-pcap.c / source-af-packet.c); `uptime` is the top-level key of its
/// EVE stats record.
extension StatsRecordTests {
    static let suricataNames: [(path: String, meaning: String)] = [
        ("uptime", "whole seconds since the engine started"),
        ("capture.kernel_packets", "packets the kernel passed to the capture"),
        ("capture.kernel_drops", "packets the kernel dropped (capture buffer full)"),
        ("capture.kernel_ifdrops", "packets the interface dropped"),
        ("decoder.pkts", "packets the decoder was given"),
        ("decoder.bytes", "their bytes"),
        ("decoder.invalid", "packets that could not be decoded"),
        ("decoder.event", "decoder anomalies, by name (FlowSentry's names inside)"),
        ("flow.total", "flows created"),
        ("flow.active", "flows in the table now"),
    ]

    @Test func sharedMeaningsCarrySuricatasNames() throws {
        var s = SensorStats()
        s.uptimeSeconds = 5.9
        s.kernel = CaptureStats(received: 11, dropped: 2, ifDropped: 1)
        s.packets = 9; s.bytes = 900; s.decoded = 8
        s.anomalies.bump(.notIP)
        s.flows.created = 4; s.flowsActive = 3
        let obj = try Self.json(s)
        let st = try #require(obj["stats"] as? [String: Any])
        func value(_ path: String) -> Any? {
            var cur: Any? = st
            for part in path.split(separator: ".") { cur = (cur as? [String: Any])?[String(part)] }
            return cur
        }
        for (path, meaning) in Self.suricataNames {
            #expect(value(path) != nil, "stats.\(path) (\(meaning)) missing")
        }
        let expected: [String: Int] = ["uptime": 5, "capture.kernel_packets": 11, "capture.kernel_drops": 2,
                                       "capture.kernel_ifdrops": 1, "decoder.pkts": 9, "decoder.bytes": 900,
                                       "decoder.invalid": 1, "flow.total": 4, "flow.active": 3]
        for (path, v) in expected { #expect(value(path) as? Int == v, "stats.\(path)") }
        #expect((value("decoder.event") as? [String: Int]) == ["not_ip": 1])
        // The names FlowSentry used before, now Suricata's, are gone (a reader of both would double count).
        for old in ["uptime_s", "decoder.packets", "flow.created"] { #expect(value(old) == nil, "stats.\(old)") }
    }

    @Test func everyValueIsAnInteger() throws {
        var s = SensorStats()
        s.uptimeSeconds = 3.75
        s.anomalies.bump(.truncatedTCP)
        var j = JSONBuffer()
        s.appendRecord(timestampNs: 0, host: nil, interface: "lo", into: &j)
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(j.bytes)) as? [String: Any])
        func walk(_ v: Any, _ path: String) {
            if let o = v as? [String: Any] { for (k, x) in o { walk(x, path + "." + k) }; return }
            #expect(v is NSNumber, "\(path) is \(v)")
        }
        walk(try #require(obj["stats"]), "stats")
        // And the text has no fraction or exponent anywhere in the stats object.
        let text = String(decoding: j.bytes, as: UTF8.self)
        let stats = text[text.range(of: "\"stats\":")!.upperBound...]
        #expect(!stats.contains(".") && !stats.contains("e+"), "\(stats)")
    }
}
