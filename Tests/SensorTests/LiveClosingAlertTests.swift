import Alerts
import Detection
import Flows
import Foundation
import Sensor
import Testing

/// One SYN from `a` to each port of `b` in 1...n (a port scan nobody answers).
private let synScanScript = """
import socket, struct, sys
ifname, a, b, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifname, 0))
def csum(h):
    t = sum(struct.unpack("!%dH" % (len(h) // 2), h))
    while t >> 16: t = (t & 0xffff) + (t >> 16)
    return (~t) & 0xffff
mac = bytes.fromhex("02005e100001") + bytes.fromhex("02005e100002")
for port in range(1, n + 1):
    l4 = struct.pack("!HHIIBBHHH", 40000, port, 1000, 0, 5 << 4, 2, 1024, 0, 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 0, 0x4000, 64, 6, 0, socket.inet_aton(a), socket.inet_aton(b))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    s.send(mac + b"\\x08\\x00" + ip + l4)
"""

/// The live sensor with the scoring stage: flows folded into an alert of a
/// scan are written on the closing alert at shutdown, and the sweep test hook
/// gets the sweep's flow time (wall clock less the longest idle timeout).
@Suite(.serialized, .enabled(if: SensorLab.available, SensorLab.skipReason))
struct LiveClosingAlertTests {
    static let bundle = Repo.root.appendingPathComponent("rules/flowsentry.fsb").path

    @Test func shutdownWritesTheClosingAlertsOfTheFoldedFlows() throws {
        let lab = try SensorLab(tag: 17)
        defer { lab.destroy() }
        var c = SensorConfig()
        c.interface = lab.hostIf
        c.flows = lab.path("flows.json")
        c.alerts = lab.path("alerts.json")
        c.stats = lab.path("stats.json")
        c.flow.setIdleTimeout(30)  // every flow ends at shutdown
        c.flow.maxFlows = 4096
        c.bufferMB = 4
        c.statsInterval = 1
        c.warnOffloads = false
        c.bpfFilter = "ip"
        let sensor = try LiveSensor(config: c, scoring: ModelSource(model: Self.bundle, policy: nil), log: LogLines().sink)
        let stage = try #require(sensor.writer.scoring)
        let sweeps = SweepLog()
        sensor.testHooks.onSweep = { now, final in
            sweeps.note(now: now, final: final, scored: stage.counters.flowsScored)
        }
        sensor.expireInterval = 0.2
        try sensor.start()
        let n = 600
        _ = try SensorLab.exec(SensorLab.ip!, ["netns", "exec", lab.ns, SensorLab.python!, "-c", synScanScript,
                                               lab.nsIf, lab.a, lab.b, String(n)], timeout: 30)
        #expect(waitUntil(5) { sensor.snapshot().decoded >= UInt64(n) })
        usleep(500_000)
        let stats = try #require(stopAndWait(sensor, timeout: 20))
        #expect(stats.kernel.dropped == 0 && stats.queueOverflow == 0)

        // The sweep hook: periodic sweeps at wall clock − 30 s, then once at shutdown after every flow was scored.
        let s = sweeps.snapshot()
        #expect(s.count >= 2 && s.last?.final == true && s.dropLast().allSatisfy { !$0.final })
        #expect(s.last?.scored == stage.counters.flowsScored && stage.counters.flowsScored >= UInt64(n))
        let wall = Int64(Date().timeIntervalSince1970 * 1e9)
        #expect(s.allSatisfy { $0.now <= wall - 30_000_000_000 && $0.now > wall - 150_000_000_000 })

        let flows = Dictionary((try String(contentsOfFile: lab.path("flows.json"), encoding: .utf8))
            .split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
            .map { (($0["flow_id"] as! NSNumber).uint64Value, $0) }, uniquingKeysWith: { a, _ in a })
        #expect(flows.count == n)
        let lines = ((try? String(contentsOfFile: lab.path("alerts.json"), encoding: .utf8)) ?? "")
            .split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        // The alerts log holds the models' alerts (`ml`) and behaviour alerts (`behaviour`):
        // the scan is also one scanning campaign from lab.a, opened and closed.
        let alerts = lines.filter { $0["ml"] != nil }
        let campaign = lines.filter { ($0["behaviour"] as? [String: Any])?["kind"] as? String == "scanning" }
        #expect(alerts.count + campaign.count == lines.count)
        #expect(campaign.count == 2 && campaign.allSatisfy { $0["src_ip"] as? String == lab.a })
        let ml = { (a: [String: Any]) in a["ml"] as! [String: Any] }
        let folded = stage.counters.folded
        print("live SYN scan: \(flows.count) flows, \(stage.counters.suspicious) suspicious, \(alerts.count) alert lines, \(folded) folded, \(stage.counters.closingAlerts) closing")
        try #require(folded > 0, "the model should call most of a \(n)-port SYN scan suspicious")
        // Every folded flow is on exactly one alert line; the closing ones come at shutdown.
        #expect(alerts.reduce(0) { $0 + UInt64((ml($1)["aggregated_flows"] as? Int) ?? 0) } == folded)
        let closing = alerts.filter { ml($0)["aggregate"] as? String == "closing" }
        #expect(!closing.isEmpty && UInt64(closing.count) == stage.counters.closingAlerts)
        for a in closing {
            #expect(ml(a)["closing_reason"] as? String == "end")
            let f = flows[(a["flow_id"] as! NSNumber).uint64Value]
            #expect(f?["dest_ip"] as? String == lab.b && f?["in_iface"] as? String == lab.hostIf)
            #expect(((f?["flow"] as? [String: Any])?["alerted"] as? Bool) == false)
            #expect((f?["ml"] as? [String: Any])?["class"] as? String == ml(a)["class"] as? String)
        }
        // The stats record counts them.
        let last = try #require((try String(contentsOfFile: lab.path("stats.json"), encoding: .utf8)).split(separator: "\n").last)
        let obj = try JSONSerialization.jsonObject(with: Data(last.utf8)) as! [String: Any]
        let scoring = (obj["stats"] as? [String: Any])?["scoring"] as? [String: Any]
        #expect(scoring?["closing_alerts"] as? Int == closing.count)
    }
}

/// The sweeps the hook saw (output thread writes, the test reads after stop).
final class SweepLog: @unchecked Sendable {
    struct Sweep { var now: Int64; var final: Bool; var scored: UInt64 }
    private let lock = NSLock()
    private var sweeps: [Sweep] = []
    func note(now: Int64, final: Bool, scored: UInt64) { lock.lock(); sweeps.append(Sweep(now: now, final: final, scored: scored)); lock.unlock() }
    func snapshot() -> [Sweep] { lock.lock(); defer { lock.unlock() }; return sweeps }
}
