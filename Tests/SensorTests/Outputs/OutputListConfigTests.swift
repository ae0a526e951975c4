import Alerts
import Foundation
import Sensor
import Testing

/// `outputs.list` / `outputs: [...]`: file entries become the log files,
/// redis entries network outputs with their settings; every mistake names
/// its key.
@Suite struct OutputListConfigTests {
    @Test func listEntriesBecomeLogFilesAndRedisOutputs() throws {
        let c = try SensorConfig.parse(yaml: """
            outputs:
              directory: /var/log/flowsentry
              list:
                - {type: file, path: flows.json, types: [flow]}
                - {type: file, path: alerts.json, types: alert}
                - type: redis
                  socket: /run/redis/redis.sock
                  mode: stream
                  stream_maxlen: 5000
                  key: "ids:{type}"
                  username: sensor
                  password: secret
                  types: [alert, flow, stats]
                  queue: 2000
                - {type: redis, name: bus2, host: "::1", port: 6380, mode: channel, batch: 64, backoff_max: 2}
            """)
        #expect(c.outputPath(c.flows) == "/var/log/flowsentry/flows.json")
        #expect(c.outputPath(c.alerts) == "/var/log/flowsentry/alerts.json")
        #expect(c.stats == nil)
        #expect(c.networkOutputs.map(\.name) == ["redis", "bus2"])
        let a = c.networkOutputs[0], b = c.networkOutputs[1]
        #expect(a.types == [.alert, .flow, .stats] && a.queueRecords == 2000)
        guard case .redis(let r) = a.transport, case .redis(let s) = b.transport else { Issue.record("not redis"); return }
        #expect(r.socket == "/run/redis/redis.sock" && r.mode == .xadd && r.streamMaxLen == 5000)
        #expect(r.key(for: .alert) == "ids:alert" && r.username == "sensor" && r.password == "secret")
        #expect(b.types == [.alert, .flow], "default record types")
        #expect(s.host == "::1" && s.port == 6380 && s.mode == .publish && s.batch == 64 && s.backoffMaxSeconds == 2)
        #expect(s.key(for: .flow) == "flowsentry:flow" && s.endpoint == "[::1]:6380")
    }

    @Test func aTopLevelListIsShortForOutputsList() throws {
        let c = try SensorConfig.parse(yaml: """
            capture: {interface: lo}
            outputs: [{type: redis, mode: rpush, types: [flow]}]
            """)
        #expect(c.networkOutputs.count == 1 && c.alerts == nil && c.flows == nil)
        try c.validate()  // a Redis output alone is an output
    }

    @Test(arguments: [
        ("outputs: [{type: kafka}]", "outputs[0].type", "unknown output type \"kafka\""),
        ("outputs: [{path: x}]", "outputs[0].type", "missing"),
        ("outputs: [{type: redis, prot: 1}]", "outputs[0].prot", "unknown key"),
        ("outputs: {list: [{type: redis, mode: queue}]}", "outputs.list[0].mode", "list (lpush), rpush"),
        ("outputs: [{type: redis, types: [flows]}]", "outputs[0].types[0]", "flow, alert or stats"),
        ("outputs: [{type: redis, port: 70000}]", "outputs[0].port", "TCP port"),
        ("outputs: [{type: redis, drain_seconds: 20}]", "outputs[0].drain_seconds", "at most 8 seconds"),
        ("outputs: [{type: redis, host: a, socket: /s}]", "outputs[0].socket", "not both"),
        ("outputs: [{type: redis, username: u}]", "outputs[0].username", "needs a password"),
        ("outputs: [{type: redis}, {type: redis, name: redis}]", "outputs[1].name", "taken"),
        ("outputs: [{type: redis, name: flows}]", "outputs[0].name", "taken"),
        ("outputs: [{type: file, path: a.json, types: [flow, alert]}]", "outputs[0].types", "exactly one record type"),
        ("outputs: {alerts: a.json, list: [{type: file, path: b.json, types: [alert]}]}", "outputs.list[0].types", "already \"a.json\""),
        ("outputs: [{type: file, types: [alert]}]", "outputs[0].path", "needs a path"),
        ("outputs: {list: {type: redis}}", "outputs.list", "must be a list of outputs"),
    ])
    func mistakesNameTheirKey(_ yaml: String, _ key: String, _ reason: String) {
        #expect {
            _ = try SensorConfig.parse(yaml: yaml, file: "f.yaml")
        } throws: { e in
            guard let e = e as? SensorConfigError else { return false }
            return e.file == "f.yaml" && e.key == key && e.reason.contains(reason)
        }
    }
}

/// The network outputs' queue: bounded in records (queued plus in flight),
/// the lines that do not fit dropped and counted, never blocking.
@Suite struct OutputQueueTests {
    @Test func boundCountsRecordsInFlightAndDropsWhatDoesNotFit() {
        let q = OutputQueue(capacity: 10)
        let line = Array("{}\n".utf8)
        #expect(q.offer(.flow, line + line + line, records: 3))
        #expect(q.offer(.alert, line, records: 1))
        var out: [OutputChunk] = []
        #expect(q.take(into: &out, records: 2, timeout: 0))
        #expect(out.count == 1 && out[0].records == 3 && out[0].type == .flow, "whole chunks until at least 2 records")
        #expect(q.depth.load(ordering: .relaxed) == 4, "taken records stay held until settled")
        #expect(q.offer(.flow, Array(repeating: line, count: 6).flatMap { $0 }, records: 6))
        #expect(!q.offer(.flow, line, records: 1), "10 held: full")
        #expect(q.dropped.load(ordering: .relaxed) == 1)
        q.settle(3)
        #expect(q.offer(.stats, line + line, records: 2))
        let three = Array("{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n".utf8)
        #expect(!q.offer(.flow, three, records: 3), "one of three fits")
        #expect(q.dropped.load(ordering: .relaxed) == 3)
        out.removeAll()
        #expect(q.take(into: &out, records: 100, timeout: 0))
        #expect(out.map(\.type) == [.alert, .flow, .stats, .flow], "in order")
        #expect(String(decoding: out[3].bytes, as: UTF8.self) == "{\"a\":1}\n" && out[3].records == 1,
                "the first line, whole")
        q.close()
        #expect(!q.offer(.flow, line, records: 1))
        out.removeAll()
        #expect(!q.take(into: &out, records: 1, timeout: 1), "closed and empty: the writer stops at once")
    }
}

/// Each output's counters in the stats record, under `stats.outputs`.
@Suite struct OutputCountersRecordTests {
    @Test func statsRecordsCarryEachOutputsCounters() throws {
        var s = SensorStats()
        s.outputs = [SensorStats.Output(name: "flows", written: 9, dropped: 0),
                     SensorStats.Output(name: "redis", written: 7, dropped: 2, queued: 3, reconnects: 1)]
        var j = JSONBuffer()
        s.appendRecord(timestampNs: 0, host: nil, interface: "lo", into: &j)
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(j.bytes)) as? [String: Any])
        let stats = try #require(obj["stats"] as? [String: Any])
        #expect(stats["output"] is [String: Int], "the log files' totals stay integers")
        let by = try #require(stats["outputs"] as? [String: [String: Int]])
        #expect(by["flows"] == ["written": 9, "dropped": 0, "queued": 0, "reconnects": 0])
        #expect(by["redis"] == ["written": 7, "dropped": 2, "queued": 3, "reconnects": 1])
    }
}

/// Each output's counters in the Prometheus exposition, labelled `output`.
@Suite struct OutputCountersMetricsTests {
    @Test func networkOutputsGetQueueAndReconnectSamples() {
        var s = SensorStats()
        s.outputs = [SensorStats.Output(name: "flows", written: 9, dropped: 1),
                     SensorStats.Output(name: "bus", written: 7, dropped: 2, queued: 3, reconnects: 4)]
        var t = PrometheusText()
        SensorMetricsSnapshot(stats: s, interface: "lo").append(to: &t)
        let lines = Set(t.text.split(separator: "\n").map(String.init))
        for want in [#"flowsentry_output_records_total{output="flows"} 9"#, #"flowsentry_output_records_total{output="bus"} 7"#,
                     #"flowsentry_output_records_dropped_total{output="flows"} 1"#,
                     #"flowsentry_output_records_dropped_total{output="bus"} 2"#,
                     #"flowsentry_output_queue_records{output="bus"} 3"#, #"flowsentry_output_reconnects_total{output="bus"} 4"#,
                     "# TYPE flowsentry_output_queue_records gauge", "# TYPE flowsentry_output_reconnects_total counter"] {
            #expect(lines.contains(want), "\(want)")
        }
        #expect(lines.contains(#"flowsentry_output_queue_records{output="flows"} 0"#), "log files have a queue of their own")
        #expect(!t.text.contains(#"flowsentry_output_reconnects_total{output="flows"}"#), "log files do not reconnect")
    }
}
