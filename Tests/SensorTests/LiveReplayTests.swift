import Alerts
import Capture
import Detection
import Flows
import Foundation
import Sensor
import Testing

/// A lab capture replayed onto a veth with tcpreplay (inside a namespace
/// the test makes and deletes) while the live sensor, scoring with the
/// bundled model, captures the other end; compared with an offline replay of
/// the same file.
///
/// What live capture guarantees, and so what must match exactly: tcpreplay
/// sends every frame of the file; every IPv4 one (the sensor's filter is
/// `ip`, offline too) is captured and counted, with no kernel drop and no
/// queue overflow; and every 5-tuple's packets and IP bytes, summed over its
/// records, equal the offline replay's. What may differ, and is not compared: timestamps
/// (live capture time), and with them every timing feature, where a flow's
/// records split (idle timeouts run on the wall clock live, on packet time
/// offline) and so the models' verdicts, which lean on µs timing that
/// tcpreplay and a veth do not keep.
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

    /// The number after `label` in tcpreplay's statistics ("Actual: 1661 packets", "Failed packets: 0").
    static func tcpreplayCount(_ output: String, _ label: String) -> Int? {
        guard let r = output.range(of: label) else { return nil }
        return Int(output[r.upperBound...].drop { $0 == " " }.prefix { $0.isNumber })
    }

    /// Every packet in a capture file.
    static func packetCount(_ path: String) throws -> Int {
        let r = try PcapFileReader(path: path)
        var n = 0
        while try r.next() != nil { n += 1 }
        return n
    }

    @Test func liveCaptureMatchesOfflineReplay() throws {
        // Offline first: the same file through the same filter.
        let replay = ReplayPipeline(config: .init(), filter: "ip")
        var offline: [[String: Any]] = []
        let fmt = EveFlowFormatter()
        var json = JSONBuffer()
        try replay.run(files: [Self.capture]) { r, _ in
            json.reset()
            fmt.append(r, into: &json)
            offline.append(try JSONSerialization.jsonObject(with: Data(json.bytes)) as! [String: Any])
        }
        let expected = replay.summary.packetsRead  // the IPv4 packets (the file also has ARP)
        try #require(replay.summary.errors.isEmpty && expected > 0, "\(replay.summary.errors)")

        let lab = try SensorLab(tag: 9)
        defer { lab.destroy() }
        var c = SensorConfig()
        c.interface = lab.hostIf
        c.flows = lab.path("flows.json")
        c.alerts = lab.path("alerts.json")
        c.stats = lab.path("stats.json")
        c.statsInterval = 1
        c.bpfFilter = "ip"
        c.warnOffloads = false
        c.flow.maxFlows = 16384
        c.bufferMB = 16  // holds the whole capture: nothing can drop even if the sensor stalls
        let sensor = try LiveSensor(config: c, scoring: ModelSource(model: Self.bundle, policy: nil), log: LogLines().sink)
        try sensor.start()
        // 1,661 frames (1,601 IPv4, 60 ARP) recorded over 72 s, sent 8×
        // faster (9 s): what is compared does not depend on the pace.
        // Bounded by tcpreplay's own time limit and ours.
        let out = try SensorLab.exec(SensorLab.ip!, ["netns", "exec", lab.ns, tcpreplayPath!, "-q", "-i", lab.nsIf,
                                                     "--multiplier", "8", "--duration", "60", Self.capture], timeout: 90)
        let sent = try #require(Self.tcpreplayCount(out, "Actual:"), "no packet count in tcpreplay's output: \(out)")
        #expect(Self.tcpreplayCount(out, "Failed packets:") == 0, "\(out)")
        let inFile = try Self.packetCount(Self.capture)
        #expect(sent == inFile, "tcpreplay sent \(sent) of the file's \(inFile) packets")
        // Everything sent is in the capture ring by now; wait (bounded) until
        // the workers have read it all, then stop.
        waitUntil(20) { sensor.snapshot().packets >= expected }
        let stats = try #require(stopAndWait(sensor, timeout: 20))
        #expect(stats.kernel.dropped == 0 && stats.kernel.ifDropped == 0 && stats.queueOverflow == 0)
        #expect(stats.packets == expected, "live: \(stats.packets) packets captured, \(expected) sent")
        #expect(stats.bytes == replay.summary.bytesRead)

        let live = Self.records(lab.path("flows.json"))
        let lt = Self.totals(live), ot = Self.totals(offline)
        #expect(!lt.isEmpty)
        #expect(lt.values.reduce(0) { $0 + $1.pkts } == ot.values.reduce(0) { $0 + $1.pkts })
        #expect(lt == ot, "per-5-tuple packets/bytes differ: \(lt.filter { ot[$0.key] != $0.value }.prefix(5)), only offline: \(Set(ot.keys).subtracting(lt.keys).prefix(5))")
    }
}
