import Alerts
import Detection
import Foundation
import Sensor
import Testing

/// GET a path from host:port (a numeric IPv4 or IPv6 address) with a plain socket; the whole response, or nil.
func httpGet(host: String = "127.0.0.1", port: UInt16, path: String) -> String? {
    let v6 = host.contains(":")
    let s = socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard s >= 0 else { return nil }
    defer { close(s) }
    let rc: Int32
    if v6 {
        var sa = sockaddr_in6()
        sa.sin6_family = sa_family_t(AF_INET6)
        sa.sin6_port = port.bigEndian
        guard inet_pton(AF_INET6, host, &sa.sin6_addr) == 1 else { return nil }
        rc = withUnsafePointer(to: &sa) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(s, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
        }
    } else {
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = port.bigEndian
        sa.sin_addr.s_addr = inet_addr(host)
        rc = withUnsafePointer(to: &sa) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }
    guard rc == 0 else { return nil }
    let req = Array("GET \(path) HTTP/1.0\r\n\r\n".utf8)
    _ = req.withUnsafeBytes { write(s, $0.baseAddress, $0.count) }
    var out = [UInt8]()
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = read(s, &buf, buf.count)
        if n <= 0 { break }
        out += buf[0..<n]
    }
    return String(decoding: out, as: UTF8.self)
}

@Suite(.serialized, .enabled(if: SensorLab.available, SensorLab.skipReason))
struct MetricsAndScoringStatsTests {
    @Test func prometheusEndpointAndScoringCountersInStatsRecords() throws {
        let lab = try SensorLab(tag: 10)
        defer { lab.destroy() }
        var c = SensorConfig()
        c.interface = lab.hostIf
        c.flows = lab.path("flows.json"); c.alerts = lab.path("alerts.json"); c.stats = lab.path("stats.json")
        c.statsInterval = 1; c.flow.setIdleTimeout(1); c.bpfFilter = "ip"; c.warnOffloads = false
        c.flow.maxFlows = 4096; c.bufferMB = 4
        let bundle = Repo.root.appendingPathComponent("rules/flowsentry.fsb").path
        let sensor = try LiveSensor(config: c, scoring: ModelSource(model: bundle, policy: nil), log: LogLines().sink)
        let model = try EnsembleModel.load(path: bundle)
        let metrics = try MetricsEndpoint(listen: "127.0.0.1:0")
        defer { metrics.stop() }
        sensor.metrics = metrics
        try sensor.start()
        try lab.send([TestFlow(sport: 43001, dport: 53, rounds: 3), TestFlow(tcp: true, sport: 43002, dport: 80, rounds: 4, fin: true)])
        // Idle timeout 1 s: both flows are scored within a few seconds.
        var body = ""
        waitUntil(8) {
            body = httpGet(port: metrics.port, path: "/metrics") ?? ""
            return body.contains("flowsentry_ml_flows_scored_total 2")
        }
        #expect(body.hasPrefix("HTTP/1.0 200 OK"))
        #expect(body.contains("flowsentry_ml_flows_scored_total 2"), "\(body.prefix(2000))")
        #expect(body.contains("# TYPE flowsentry_capture_kernel_drops_total counter"))
        #expect(body.contains("flowsentry_capture_kernel_packets_total{interface=\"\(lab.hostIf)\",worker=\"0\"} "))
        #expect(body.contains("flowsentry_output_records_total{output=\"flows\"} "))
        #expect(body.contains("flowsentry_ml_flow_to_output_seconds_count 2"))
        #expect(httpGet(port: metrics.port, path: "/other")?.hasPrefix("HTTP/1.0 404") == true)
        // stop() returns once the serving thread has ended (joined) and closed the port.
        metrics.stop()
        #expect(httpGet(port: metrics.port, path: "/metrics") == nil)
        _ = stopAndWait(sensor)
        // The last stats record carries the scoring counters.
        let text = try String(contentsOfFile: lab.path("stats.json"), encoding: .utf8)
        let last = try #require(text.split(separator: "\n").last)
        let o = try JSONSerialization.jsonObject(with: Data(last.utf8)) as! [String: Any]
        let scoring = try #require((o["stats"] as? [String: Any])?["scoring"] as? [String: Any])
        #expect((scoring["flows_scored"] as? Int) == 2)
        #expect(scoring["model_version"] as? String == model.meta.modelVersion)
        let p99 = (scoring["latency_p99_s"] as? NSNumber)?.doubleValue ?? -1
        #expect(p99 > 0 && p99 <= 5, "p99 \(p99)")
    }
}
