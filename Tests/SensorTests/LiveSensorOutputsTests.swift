import Alerts
import Foundation
import Sensor
import Testing

@Suite struct LiveSensorOutputsTests {
    static func tempDir() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fs-outputs-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    static func read(_ path: String) -> String {
        (try? String(contentsOfFile: path, encoding: .utf8)) ?? "<missing>"
    }

    @Test func recordsReachTheirFilesAndAreCounted() throws {
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("alerts.json").path, f = dir.appendingPathComponent("flows.json").path
        let logs = LogLines()
        let out = try OutputFiles(alerts: a, flows: f, stats: nil, mode: 0o600, log: logs.sink)
        #expect(out.all.count == 2 && out.stats == nil)
        out.write(out.alerts, Array("{\"a\":1}\n".utf8))
        out.write(out.flows, Array("{\"f\":1}\n{\"f\":2}\n".utf8), records: 2)
        out.write(out.stats, Array("{\"s\":1}\n".utf8))  // no stats file: ignored, not counted
        out.flushAll()
        #expect(Self.read(a) == "{\"a\":1}\n" && Self.read(f) == "{\"f\":1}\n{\"f\":2}\n")
        #expect(out.recordsWritten == 3 && out.writeErrors == 0 && out.recordsPending == 0 && out.recordsDropped == 0)
        let mode = try FileManager.default.attributesOfItem(atPath: a)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(logs.all.isEmpty)
    }

    @Test func filesAreAppendedToAndReopenedAfterARename() throws {
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let f = dir.appendingPathComponent("flows.json").path
        try "old\n".write(toFile: f, atomically: true, encoding: .utf8)
        let out = try OutputFiles(alerts: nil, flows: f, stats: nil, log: LogLines().sink)
        out.write(out.flows, Array("one\n".utf8))
        // Rotation: rename, then reopen; the record before the call goes to the old file.
        let rotated = dir.appendingPathComponent("flows.json.1").path
        try FileManager.default.moveItem(atPath: f, toPath: rotated)
        out.reopenAll()
        out.write(out.flows, Array("two\n".utf8))
        out.syncAll(final: true)
        #expect(Self.read(rotated) == "old\none\n")
        #expect(Self.read(f) == "two\n")
        #expect(out.recordsWritten == 2)
    }

    @Test func aFullDeviceCountsErrorsHoldsThenDropsRecords() throws {
        let logs = LogLines()
        let out = try OutputFiles(alerts: nil, flows: "/dev/full", stats: nil, log: logs.sink)
        let flows = try #require(out.flows)
        flows.maxPendingBytes = 8  // set before the first record: the writer thread owns the file after it
        out.write(flows, Array("r1\n".utf8))
        out.write(flows, Array("r2\n".utf8))
        #expect(out.flushAll())  // ENOSPC: both held for retry (the writer retries on its own)
        #expect(out.writeErrors >= 1 && out.recordsPending == 2 && out.recordsWritten == 2 && out.recordsDropped == 0)
        // The error is logged at the first failure: the writer thread may have taken r1 alone, before r2 came.
        #expect(logs.all.count == 1 && logs.all[0].contains("/dev/full")
                && (logs.all[0].contains("1 records held in memory") || logs.all[0].contains("2 records held in memory")),
                "\(logs.all)")
        // Past the retry limit new records are refused and counted.
        out.write(flows, Array("r3-is-too-long\n".utf8))
        #expect(out.flushAll())
        #expect(out.recordsDropped == 1 && out.recordsWritten == 2)
        #expect(out.perOutput == [SensorStats.Output(name: "flows", written: 2, dropped: 1)])
        out.syncAll(final: true)
        #expect(logs.all.contains { $0.contains("/dev/full: 2 records could not be written before exit") && $0.contains("1 dropped earlier") },
                "\(logs.all)")
        #expect(logs.all.last == "flowsentry: output flows: 2 records written, 1 dropped")
    }

    @Test func anUnopenableFileIsNamed() {
        #expect { _ = try OutputFiles(alerts: "/nonexistent/dir/alerts.json", flows: nil, stats: nil) } throws: {
            "\($0)".contains("/nonexistent/dir/alerts.json")
        }
    }
}
