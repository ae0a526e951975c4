#if canImport(Glibc)
import Glibc
#endif

/// sd_notify without libsystemd: one datagram per message to the AF_UNIX
/// socket named by `$NOTIFY_SOCKET` (a leading '@' means the abstract
/// namespace). Does nothing when the variable is unset. Never blocks
/// (MSG_DONTWAIT): if the receiver's queue is full the message is dropped
/// rather than stalling the output thread that sends watchdog pings.
package struct SystemdNotify: Sendable {
    package let socketPath: String?
    /// Half of `$WATCHDOG_USEC` in seconds, when the watchdog is on for this process.
    package let watchdogInterval: Double?

    package init(socketPath: String?, watchdogUsec: UInt64? = nil) {
        self.socketPath = (socketPath?.isEmpty ?? true) ? nil : socketPath
        if let u = watchdogUsec, u > 0 { watchdogInterval = Double(u) / 2e6 } else { watchdogInterval = nil }
    }

    /// From `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` (the watchdog
    /// is ignored when WATCHDOG_PID names another process).
    package static func fromEnvironment() -> SystemdNotify {
        func env(_ n: String) -> String? { getenv(n).map { String(cString: $0) } }
        var usec = env("WATCHDOG_USEC").flatMap { UInt64($0) }
        if let pid = env("WATCHDOG_PID").flatMap({ Int32($0) }), pid != getpid() { usec = nil }
        return SystemdNotify(socketPath: env("NOTIFY_SOCKET"), watchdogUsec: usec)
    }

    package var enabled: Bool { socketPath != nil }

    /// Sends `state` (e.g. "READY=1", "WATCHDOG=1", "STOPPING=1"); false on error or when disabled.
    @discardableResult
    package func send(_ state: String) -> Bool {
        guard let path = socketPath else { return false }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        let abstract = bytes.first == UInt8(ascii: "@")
        if abstract { bytes[0] = 0 }
        let maxLen = MemoryLayout.size(ofValue: addr.sun_path)
        guard bytes.count < maxLen else { return false }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
            if !abstract { raw[bytes.count] = 0 }
        }
        let base = MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)!
        let len = socklen_t(base + bytes.count + (abstract ? 0 : 1))
        var msg = Array(state.utf8)
        let n = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                msg.withUnsafeMutableBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT), sa, len) }
            }
        }
        return n == msg.count
    }
}
