import Capture
import Foundation
import Sensor
import Testing

@Suite struct CaptureErrorTests {
    func path(_ n: String) -> String { Repo.captures.appendingPathComponent(n).path }

    @Test func cutOffCaptureNamesFileAndOffsetAndKeepsFlows() {
        let (text, summary) = replayLines([path("cut-mid-record.pcap")])
        #expect(summary.errors.count == 1)
        let e = summary.errors.first ?? ""
        #expect(e.contains("cut-mid-record.pcap") && e.contains("offset 458"))
        // Seven whole records were read before the cut; their flow is still written.
        #expect(summary.packetsRead == 7)
        #expect(text.split(separator: "\n").count == 1)
    }

    @Test func notACaptureAndMissingFile() {
        let (_, s1) = replayLines([path("not-a-capture.txt")])
        #expect(s1.errors.first?.contains("not-a-capture.txt: not a pcap or pcapng file") == true)
        let (_, s2) = replayLines(["/nonexistent/dir/x.pcap"])
        #expect(s2.errors.first?.contains("/nonexistent/dir/x.pcap") == true)
    }

    @Test func unsupportedLinkTypeIsNamed() throws {
        // A pcap header with link type 147 (USER0) and one record.
        var bytes: [UInt8] = [0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 147, 0, 0, 0]
        bytes += [1, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 1, 2, 3, 4]
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("fs-user0-\(getpid()).pcap")
        try Data(bytes).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(throws: CaptureError.self) { _ = try PcapFileReader(path: url.path) }
        do {
            _ = try PcapFileReader(path: url.path)
        } catch {
            #expect(error.description.contains("unsupported link type 147"))
            #expect(error.description.contains(url.lastPathComponent))
        }
    }

    @Test func severalFilesAreReadInOrderAndErrorsDoNotStopTheRest() {
        let (text, s) = replayLines([path("raw-dlt12.pcap"), path("not-a-capture.txt"), path("sll.pcap")])
        #expect(s.files == 2 && s.errors.count == 1)
        #expect(text.split(separator: "\n").count == 2)
    }

    @Test func nanosecondTimestampsAreKept() {
        let (text, _) = replayLines([path("nanosecond.pcap")])
        // 1700000000.000000123: microsecond timestamps, nanoseconds in the features.
        #expect(text.contains("\"start\":\"2023-11-14T22:13:20.000000+0000\""))
    }

    @Test func bpfFilterApplies() {
        let p = ReplayPipeline(config: .init(), filter: "tcp port 80")
        var n = 0
        p.run(files: [path("ethernet-mix.pcap")]) { _, _ in n += 1 }
        #expect(n >= 1 && p.summary.packetsRead < 96)
        let bad = ReplayPipeline(config: .init(), filter: "tcp port")
        bad.run(files: [path("raw-dlt12.pcap")]) { _, _ in }
        #expect(bad.summary.errors.first?.contains("bad BPF filter") == true)
    }
}

@Suite struct PcapngTests {
    func path(_ n: String) -> String { Repo.captures.appendingPathComponent(n).path }

    @Test func interfacesWithDifferentLinkTypesInOneFile() {
        let (text, s) = replayLines([path("mixed-linktypes.pcapng")])
        #expect(s.errors.isEmpty && s.packetsRead == 8 && s.packetsDecoded == 8)
        // All eight packets, through three link layers, are one TCP flow.
        #expect(text.split(separator: "\n").count == 1)
        #expect(text.contains("\"pkts_toserver\":5,\"pkts_toclient\":3"))
    }

    @Test func blockCutOffNamesTheOffset() {
        let (text, s) = replayLines([path("cut-mid-block.pcapng")])
        #expect(s.errors.first?.contains("cut-mid-block.pcapng, byte offset 724: cut off: ") == true)
        #expect(s.packetsRead == 7 && text.split(separator: "\n").count == 1)
    }

    @Test func bpfFilterOnPcapng() {
        let p = ReplayPipeline(config: .init(), filter: "tcp[tcpflags] & tcp-syn != 0")
        p.run(files: [path("two-interfaces.pcapng")]) { _, _ in }
        #expect(p.summary.errors.isEmpty && p.summary.packetsRead == 2)
    }
}
