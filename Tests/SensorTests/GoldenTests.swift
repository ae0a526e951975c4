import Alerts
import Capture
import Flows
import Foundation
import Sensor
import Testing

/// Paths relative to this repository, found from this file's location.
enum Repo {
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let captures = root.appendingPathComponent("Tests/SensorTests/Captures")
    static let golden = root.appendingPathComponent("Tests/SensorTests/Golden")
    static let shared = root.deletingLastPathComponent().appendingPathComponent("shared/captures-public")
    static var regenerate: Bool { ProcessInfo.processInfo.environment["FLOWSENTRY_REGENERATE_GOLDEN"] == "1" }

    static func files(in dir: URL, matching exts: [String]) -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.sorted().filter { n in exts.contains { n.hasSuffix($0) } }.map { dir.appendingPathComponent($0) }
    }
}

/// Replays captures and returns the EVE flow lines, pcap_filename shortened
/// to the file's base name so goldens do not depend on where the repo lives.
func replayLines(_ paths: [String], sequence: Bool = true) -> (String, RunSummary) {
    var ctx = EveContext()
    ctx.includeSequence = sequence
    var fmt = EveFlowFormatter(context: ctx)
    var json = JSONBuffer()
    var out = [UInt8]()
    let pipeline = ReplayPipeline(config: FlowTableConfig())
    pipeline.run(files: paths) { r, file in
        fmt.context.pcapFilename = URL(fileURLWithPath: file).lastPathComponent
        json.reset()
        fmt.append(r, into: &json)
        out += json.bytes
    }
    return (String(decoding: out, as: UTF8.self), pipeline.summary)
}

/// pcap → expected JSON. Regenerate with FLOWSENTRY_REGENERATE_GOLDEN=1 after
/// a deliberate change, and review the diff: the numbers in these files are
/// checked independently against tshark and nfstream by tests/python.
func checkGolden(_ capture: URL, sequence: Bool) throws {
    let (text, _) = replayLines([capture.path], sequence: sequence)
    let goldenURL = Repo.golden.appendingPathComponent(capture.lastPathComponent + ".jsonl")
    if Repo.regenerate {
        try FileManager.default.createDirectory(at: Repo.golden, withIntermediateDirectories: true)
        try text.write(to: goldenURL, atomically: true, encoding: .utf8)
        return
    }
    let expected = try String(contentsOf: goldenURL, encoding: .utf8)
    let got = text.split(separator: "\n"), want = expected.split(separator: "\n")
    #expect(got.count == want.count, "\(capture.lastPathComponent): \(got.count) records, golden has \(want.count)")
    for (i, (g, w)) in zip(got, want).enumerated() where g != w {
        Issue.record("\(capture.lastPathComponent) record \(i + 1) differs:\n got: \(g.prefix(600))\nwant: \(w.prefix(600))")
        break
    }
}

@Suite struct GoldenTests {
    static let crafted = Repo.files(in: Repo.captures, matching: [".pcap", ".pcapng"])
        .filter { !$0.lastPathComponent.hasPrefix("cut-") }
    /// Public captures small enough for a committed golden (the big floods are
    /// covered by the oracle tests instead).
    static let publicCaptures = Repo.files(in: Repo.shared, matching: [".pcap", ".pcapng"])
        .filter { !["atk_ddos_synflood_spoofed.pcap", "atk_scan_masscan_tcp_0-1000.pcap",
                    "edge_unknown_linktype_juniper.pcap"].contains($0.lastPathComponent) }

    @Test(arguments: crafted)
    func craftedCapture(_ c: URL) throws { try checkGolden(c, sequence: true) }

    @Test(.enabled(if: !publicCaptures.isEmpty, "../shared/captures-public is absent"),
          arguments: publicCaptures)
    func publicCapture(_ c: URL) throws { try checkGolden(c, sequence: false) }

    @Test func replayIsDeterministic() {
        let files = Self.crafted.map(\.path)
        #expect(replayLines(files).0 == replayLines(files).0)
    }
}
