import Alerts
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The sensor's log files (alerts, flows, stats; each optional), used only
/// by the output thread. Append-only, never truncated; `reopenAll` after a
/// rename-rotation.
public final class OutputFiles: @unchecked Sendable {
    public let alerts: OutputFile?
    public let flows: OutputFile?
    public let stats: OutputFile?
    private let written = Atomic<UInt64>(0)
    private let errors = Atomic<UInt64>(0)
    private var lastErrorLog = -Double.infinity
    let log: @Sendable (String) -> Void

    public init(alerts: String?, flows: String?, stats: String?, mode: UInt32 = 0o640,
                log: @escaping @Sendable (String) -> Void = LiveSensor.stderrLog) throws(OutputError) {
        self.log = log
        let m = mode_t(mode)
        self.alerts = try alerts.map { p throws(OutputError) in try OutputFile(path: p, mode: m) }
        self.flows = try flows.map { p throws(OutputError) in try OutputFile(path: p, mode: m) }
        self.stats = try stats.map { p throws(OutputError) in try OutputFile(path: p, mode: m) }
        for f in all { f.bufferLimit = 1 << 18 }
    }

    public var all: [OutputFile] { [alerts, flows, stats].compactMap { $0 } }

    public var recordsWritten: UInt64 { written.load(ordering: .relaxed) }
    public var writeErrors: UInt64 { errors.load(ordering: .relaxed) }

    /// Queues `records` complete records (bytes ending in newlines) for `file`.
    public func write(_ file: OutputFile?, _ bytes: [UInt8], records: Int = 1) {
        guard let file else { return }
        do {
            try file.write(bytes)
            written.add(UInt64(records), ordering: .relaxed)
        } catch {
            failed(error)
        }
    }

    private func failed(_ error: OutputError) {
        errors.add(1, ordering: .relaxed)
        let now = monotonicSeconds()
        if now - lastErrorLog >= 30 {
            lastErrorLog = now
            log("flowsentry: error: \(error) (kept in memory, retried on the next flush)")
        }
    }

    /// Hands buffered records to the kernel (one write per file).
    public func flushAll() {
        for f in all {
            do { try f.flush() } catch { failed(error) }
        }
    }

    /// Flushes, then closes and reopens every file by name: records before the
    /// call are in the old (renamed) file, records after it in the new one.
    public func reopenAll() {
        for f in all {
            do { try f.reopen() } catch { failed(error) }
        }
    }

    /// Flushes and fsyncs every file.
    public func syncAll() {
        for f in all {
            do { try f.sync() } catch { failed(error) }
        }
    }
}
