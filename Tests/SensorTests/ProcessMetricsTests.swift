import Foundation
@testable import Sensor
import Testing

/// The process metrics against `ps` (procps, its own /proc reader), the
/// kernel's own account in /proc/self/limits and this thread's CPU clock.
@Suite struct ProcessMetricsTests {
    static func ps(_ field: String, pid: Int32) throws -> Double {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/ps")
        p.arguments = ["-o", "\(field)=", "-p", String(pid)]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        p.waitUntilExit()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return try #require(Double(text.trimmingCharacters(in: .whitespacesAndNewlines)), "ps -o \(field): \(text)")
    }

    /// Read from a quiet process (`sleep`), whose memory holds still between
    /// the two readings (this test process's threads come and go).
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/bin/ps")))
    func agreeWithPs() throws {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/sleep")
        child.arguments = ["30"]
        try child.run()
        defer { kill(child.processIdentifier, SIGKILL); child.waitUntilExit() }
        let pid = child.processIdentifier
        usleep(200_000)  // past exec
        let m = ProcessMetrics.read(pid: pid)
        let rss = try Self.ps("rss", pid: pid) * 1024, vsz = try Self.ps("vsz", pid: pid) * 1024
        let elapsed = try Self.ps("etimes", pid: pid)
        // /proc/PID/stat's rss sums per-CPU counters lazily (proc(5): "inaccurate"); ps may read VmRSS.
        let resident = Double(try #require(m.residentBytes))
        #expect(abs(resident - rss) <= max(0.1 * rss, 512 * 1024), "resident \(resident) vs ps \(rss)")
        #expect(m.virtualBytes.map { Double($0) } == vsz)
        let start = try #require(m.startTimeSeconds)
        let psStart = Date().timeIntervalSince1970 - elapsed
        #expect(abs(start - psStart) <= 2.5, "start \(start) vs ps \(psStart)")
        #expect(try #require(m.cpuSeconds) < 0.5)
        #expect((m.openFDs ?? 0) >= 3)  // stdin, stdout, stderr at least
        #expect(m.maxFDs == nil)  // only read for this process
        // And this process's own start lies between the boot and now.
        let mine = try #require(ProcessMetrics.read().startTimeSeconds)
        #expect(mine <= Date().timeIntervalSince1970 && mine > Date().timeIntervalSince1970 - 86_400 * 365)
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
        // Spin until this thread alone has used 0.3 s of CPU (its own clock,
        // so a loaded machine only makes the loop take longer).
        func threadCPU() -> Double {
            var ts = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
            return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
        }
        let a = try #require(ProcessMetrics.read().cpuSeconds)
        let t0 = threadCPU()
        var x = 0.0
        while threadCPU() - t0 < 0.3 { for i in 0..<10_000 { x += sqrt(Double(i)) } }
        #expect(x > 0)
        let b = try #require(ProcessMetrics.read().cpuSeconds)
        // The process counts at least this thread's time (in clock ticks, 10 ms).
        #expect(b - a >= 0.28, "\(a) -> \(b)")
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
