import Foundation
@testable import Sensor
import Testing

/// The process metrics against `ps` (procps, its own /proc reader) and the
/// kernel's own account in /proc/self/limits.
@Suite struct ProcessMetricsTests {
    static func ps(_ field: String) throws -> Double {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/ps")
        p.arguments = ["-o", "\(field)=", "-p", String(getpid())]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        p.waitUntilExit()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return try #require(Double(text.trimmingCharacters(in: .whitespacesAndNewlines)), "ps -o \(field): \(text)")
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/bin/ps")))
    func agreeWithPs() throws {
        let m = ProcessMetrics.read()
        let rss = try Self.ps("rss") * 1024, vsz = try Self.ps("vsz") * 1024, elapsed = try Self.ps("etimes")
        let resident = Double(try #require(m.residentBytes)), virtual = Double(try #require(m.virtualBytes))
        // Read a moment apart: memory may move a little in between.
        #expect(abs(resident - rss) <= 0.1 * rss, "resident \(resident) vs ps \(rss)")
        #expect(abs(virtual - vsz) <= 0.1 * vsz, "virtual \(virtual) vs ps \(vsz)")
        let start = try #require(m.startTimeSeconds)
        let psStart = Date().timeIntervalSince1970 - elapsed
        #expect(abs(start - psStart) <= 2.5, "start \(start) vs ps \(psStart)")
        #expect(try #require(m.cpuSeconds) >= 0)
    }

    @Test func fdsAndTheirLimit() throws {
        let before = try #require(ProcessMetrics.read().openFDs)
        let fd = open("/dev/null", O_RDONLY)
        defer { close(fd) }
        #expect(ProcessMetrics.read().openFDs == before + 1)
        // /proc/self/limits: "Max open files            1048576              1048576              files"
        let limits = try String(contentsOfFile: "/proc/self/limits", encoding: .utf8)
        let line = try #require(limits.split(separator: "\n").first { $0.hasPrefix("Max open files") })
        let soft = line.dropFirst("Max open files".count).split(separator: " ").first.map(String.init)
        #expect(ProcessMetrics.read().maxFDs.map(String.init) == soft)
    }

    @Test func cpuTimeGrowsWithWork() throws {
        let a = try #require(ProcessMetrics.read().cpuSeconds)
        var x = 0.0
        let t0 = Date()
        while Date().timeIntervalSince(t0) < 0.3 { for i in 0..<10_000 { x += sqrt(Double(i)) } }
        #expect(x > 0)
        let b = try #require(ProcessMetrics.read().cpuSeconds)
        #expect(b - a >= 0.1, "\(a) -> \(b)")
    }

    @Test func statFieldsCountFromTheLastParenthesis() throws {
        // proc(5): a command name may hold spaces and ')'.
        let line = "4242 (fs (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 123456 987654321 2048 "
            + "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
        let f = try #require(ProcessMetrics.statFields(line))
        #expect(f == ProcessMetrics.StatFields(utime: 250, stime: 50, startTicks: 123456, vsize: 987654321, rssPages: 2048))
        #expect(ProcessMetrics.statFields("garbage") == nil)
        #expect(ProcessMetrics.bootTime("cpu 1 2 3\nbtime 1700000000\nprocesses 9\n") == 1_700_000_000)
    }
}
