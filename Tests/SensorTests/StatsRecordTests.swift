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
        #expect(Set(st.keys) == ["uptime_s", "capture", "decoder", "flow", "queue", "output"])
        #expect(st["uptime_s"] as? Int == 12)
        let cap = try #require(st["capture"] as? [String: Any])
        #expect(cap["kernel_packets"] as? Int == 1000 && cap["kernel_drops"] as? Int == 10
            && cap["kernel_ifdrops"] as? Int == 1 && cap["reopens"] as? Int == 2)
        let dec = try #require(st["decoder"] as? [String: Any])
        #expect(dec["packets"] as? Int == 990 && dec["decoded"] as? Int == 980 && dec["invalid"] as? Int == 10)
        let flow = try #require(st["flow"] as? [String: Any])
        #expect(flow["active"] as? Int == 3 && flow["created"] as? Int == 7 && flow["memcap_bytes"] as? Int == 4096)
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

    @Test func anomaliesAppearOnlyWhenCountedAndExtraGoesInsideStats() throws {
        var s = SensorStats()
        s.packets = 5; s.decoded = 2; s.bytes = 300
        s.anomalies.bump(.notIP); s.anomalies.bump(.notIP); s.anomalies.bump(.truncatedVLAN)
        let obj = try Self.json(s, extra: { j in j.key("scoring"); j.beginObject(); j.key("flows"); j.uint(9); j.endObject() })
        #expect(obj["host"] == nil)  // no host: no key
        #expect(obj["timestamp"] as? String == "1970-01-01T00:00:00.000000+0000")
        let st = try #require(obj["stats"] as? [String: Any])
        let dec = try #require(st["decoder"] as? [String: Int])
        #expect(dec == ["packets": 5, "bytes": 300, "decoded": 2, "invalid": 3, "not_ip": 2, "truncated_vlan": 1])
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
        #expect(s.summary.contains("records not written: 2 still held at exit, 7 dropped (output full)"))
        #expect(!SensorStats().summary.contains("records not written"))
    }
}
