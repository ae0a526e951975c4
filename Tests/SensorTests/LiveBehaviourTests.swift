import Alerts
import Behaviour
import Foundation
import Sensor
import Testing

/// Behaviour alerts live and offline: Zeek's SSH guessing trace (11 logins
/// from one client in 70 s, ../shared/captures-public) replayed onto a veth
/// with tcpreplay (at its recorded pace: 70 s) while the live sensor captures the other end,
/// against an offline replay of the file through the same record writer.
/// The campaign — its behaviour, signature, client, server and port, an
/// opening and a closing line, and the flows it counts — must be the same:
/// repetition looks at session counts, sizes and the time they span, which
/// live capture keeps.
let sshGuessingCapture = Repo.shared.appendingPathComponent("atk_bruteforce_ssh_guessing.pcap").path

@Suite(.serialized, .enabled(if: SensorLab.available && tcpreplayPath != nil
                                 && FileManager.default.fileExists(atPath: sshGuessingCapture),
                             "needs root, ip, python3, tcpreplay and ../shared/captures-public"))
struct LiveBehaviourTests {
    static let capture = sshGuessingCapture
    static let bundle = Repo.root.appendingPathComponent("rules/flowsentry.fsb").path

    /// What identifies a behaviour alert line across runs.
    struct Line: Hashable {
        var kind, signature, src, dst: String
        var port: Int
        var closing: Bool
        var sessions: Int
        var folded: Int
    }

    static func lines(_ path: String) -> [Line] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { l -> Line? in
            guard let o = try? JSONSerialization.jsonObject(with: Data(l.utf8)) as? [String: Any],
                  let b = o["behaviour"] as? [String: Any], let a = o["alert"] as? [String: Any] else { return nil }
            return Line(kind: b["kind"] as? String ?? "", signature: a["signature"] as? String ?? "",
                        src: o["src_ip"] as? String ?? "", dst: o["dest_ip"] as? String ?? "", port: o["dest_port"] as? Int ?? -1,
                        closing: b["aggregate"] as? String == "closing", sessions: b["sessions"] as? Int ?? -1,
                        folded: b["aggregated_flows"] as? Int ?? 0)
        }
    }

    @Test func liveBehaviourAlertsEqualOffline() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fs-behaviour-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let (model, policy) = try loadModelAndPolicy(model: Self.bundle, policy: nil)
        let offlineAlerts = dir.appendingPathComponent("alerts.json").path
        let outputs = ReplayOutputs(flows: nil, alerts: try OutputFile(path: offlineAlerts))
        let writer = RecordWriter(context: EveContext(), scoring: ScoringStage(model: model, policy: policy),
                                  outputs: outputs, behaviour: BehaviourStage(config: BehaviourConfig()))
        ReplayPipeline(config: .init(), filter: "ip").run(files: [Self.capture], writer: writer)
        let offline = Self.lines(offlineAlerts)
        // The trace's own campaign: one opening and one closing line, eleven sessions in all.
        // Every session's login is refused (Zeek's baseline for this trace), so
        // repetition is whole from the third: 9 verdicts, the opening line's and 8 folded.
        try #require(offline.count == 2, "\(offline)")
        #expect(offline[0].kind == "repetition" && !offline[0].closing && offline[1].closing)
        #expect(offline[1].sessions == 11 && offline[1].folded == 8)

        let lab = try SensorLab(tag: 14)
        defer { lab.destroy() }
        var c = SensorConfig()
        c.interface = lab.hostIf
        c.alerts = lab.path("alerts.json")
        c.flows = lab.path("flows.json")
        c.bpfFilter = "ip"
        c.warnOffloads = false
        c.bufferMB = 16
        let sensor = try LiveSensor(config: c, scoring: ModelSource(model: Self.bundle, policy: nil), log: LogLines().sink)
        try sensor.start()
        let out = try SensorLab.exec(SensorLab.ip!, ["netns", "exec", lab.ns, tcpreplayPath!, "-q", "-i", lab.nsIf,
                                                     "--duration", "100", Self.capture], timeout: 120)
        #expect(LiveReplayTests.tcpreplayCount(out, "Failed packets:") == 0, "\(out)")
        waitUntil(20) { sensor.snapshot().packets >= 431 }
        let stats = try #require(stopAndWait(sensor, timeout: 20))
        #expect(stats.kernel.dropped == 0 && stats.queueOverflow == 0)
        #expect(Self.lines(lab.path("alerts.json")) == offline)
    }
}
