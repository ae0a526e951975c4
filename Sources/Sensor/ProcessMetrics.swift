#if canImport(Glibc)
import Glibc
#endif

/// The standard `process_*` metrics, read from /proc/self as the Prometheus
/// client libraries read them (client_golang's process collector): CPU time
/// and memory from /proc/self/stat, open descriptors from /proc/self/fd, the
/// descriptor limit from RLIMIT_NOFILE, the start time from the boot time in
/// /proc/stat plus the process's start tick. Nil fields could not be read.
package struct ProcessMetrics: Equatable, Sendable {
    package var cpuSeconds: Double?
    package var residentBytes: UInt64?
    package var virtualBytes: UInt64?
    package var openFDs: Int?
    package var maxFDs: UInt64?
    package var startTimeSeconds: Double?

    package init() {}

    /// Reads the current values (a few small /proc reads; called per scrape)
    /// of this process, or of process `pid` (tests; no descriptor limit then).
    package static func read(pid: Int32? = nil) -> ProcessMetrics {
        var m = ProcessMetrics()
        let proc = pid.map { "/proc/\($0)" } ?? "/proc/self"
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        if let stat = readSmallFile(proc + "/stat"), let f = statFields(stat), ticks > 0 {
            m.cpuSeconds = Double(f.utime + f.stime) / ticks
            m.virtualBytes = f.vsize
            m.residentBytes = f.rssPages &* UInt64(sysconf(Int32(_SC_PAGESIZE)))
            if let boot = readSmallFile("/proc/stat").flatMap(bootTime) {
                m.startTimeSeconds = Double(boot) + Double(f.startTicks) / ticks
            }
        }
        m.openFDs = countEntries(proc + "/fd")
        var lim = rlimit()
        if pid == nil, getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &lim) == 0 { m.maxFDs = UInt64(lim.rlim_cur) }
        return m
    }

    /// The families, each only when its value could be read.
    package func append(to t: inout PrometheusText) {
        if let v = cpuSeconds {
            t.family("process_cpu_seconds_total", .counter, "Total user and system CPU time spent in seconds.")
            t.sample("process_cpu_seconds_total", [], v)
        }
        if let v = virtualBytes {
            t.family("process_virtual_memory_bytes", .gauge, "Virtual memory size in bytes.")
            t.sample("process_virtual_memory_bytes", [], v)
        }
        if let v = residentBytes {
            t.family("process_resident_memory_bytes", .gauge, "Resident memory size in bytes.")
            t.sample("process_resident_memory_bytes", [], v)
        }
        if let v = startTimeSeconds {
            t.family("process_start_time_seconds", .gauge, "Start time of the process since unix epoch in seconds.")
            t.sample("process_start_time_seconds", [], v)
        }
        if let v = openFDs {
            t.family("process_open_fds", .gauge, "Number of open file descriptors.")
            t.sample("process_open_fds", [], v)
        }
        if let v = maxFDs {
            t.family("process_max_fds", .gauge, "Maximum number of open file descriptors.")
            t.sample("process_max_fds", [], v)
        }
    }

    struct StatFields: Equatable {
        var utime: UInt64, stime: UInt64, startTicks: UInt64, vsize: UInt64, rssPages: UInt64
    }

    /// Fields 14, 15, 22, 23 and 24 of /proc/<pid>/stat (proc(5)); the
    /// command name in field 2 may hold spaces and parentheses, so fields are
    /// counted from the last ')'.
    static func statFields(_ text: String) -> StatFields? {
        guard let close = text.lastIndex(of: ")") else { return nil }
        let f = text[text.index(after: close)...].split(separator: " ")
        // f[0] is field 3 (state): field n is f[n - 3].
        guard f.count >= 22, let ut = UInt64(f[11]), let st = UInt64(f[12]), let start = UInt64(f[19]),
              let vs = UInt64(f[20]), let rss = Int64(f[21]) else { return nil }
        return StatFields(utime: ut, stime: st, startTicks: start, vsize: vs, rssPages: UInt64(max(0, rss)))
    }

    /// `btime` (boot time, seconds since the epoch) from /proc/stat.
    static func bootTime(_ text: String) -> UInt64? {
        for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
            return UInt64(line.dropFirst(6).trimmingPrefix(" "))
        }
        return nil
    }

    /// A /proc file's text (they report size 0, so read until EOF), at most 64 KiB.
    static func readSmallFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 65536)
        var n = 0
        while n < bytes.count {
            let r = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + n, $0.count - n) }
            if r < 0 && errno == EINTR { continue }
            if r <= 0 { break }
            n += r
        }
        return String(decoding: bytes[..<n], as: UTF8.self)
    }

    /// Entries in a directory other than `.` and `..`.
    static func countEntries(_ path: String) -> Int? {
        guard let d = opendir(path) else { return nil }
        defer { closedir(d) }
        var n = 0
        while let e = readdir(d) {
            let isDot = withUnsafeBytes(of: e.pointee.d_name) { b in
                b[0] == UInt8(ascii: ".") && (b[1] == 0 || (b[1] == UInt8(ascii: ".") && b[2] == 0))
            }
            if !isDot { n += 1 }
        }
        return n
    }
}
