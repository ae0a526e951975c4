import Alerts
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The live sensor's outputs: the log files (alerts, flows, stats; each
/// optional), each behind its own bounded queue and writer thread
/// (`LogFileOutput`), and the `outputs.list` network outputs (each with its
/// own queue and thread too). The output thread only queues lines here and
/// never waits for a file or a destination. `alerts`/`flows`/`stats` are the
/// files themselves, for settings made before the first record (their
/// writer threads own them afterwards).
package final class OutputFiles: @unchecked Sendable {
    /// The open log files, in the order alerts, flows, stats.
    package let files: [LogFileOutput]
    /// The `outputs.list` entries that are not log files, each with its own queue and writer thread.
    package let network: [NetworkOutput]
    private let alertsOutput: LogFileOutput?
    private let flowsOutput: LogFileOutput?
    private let statsOutput: LogFileOutput?
    let log: @Sendable (String) -> Void
    /// Seconds shutdown waits for the log files' writers to write what they
    /// hold (the network outputs drain meanwhile; `run` allows 10 s in all).
    package var drainSeconds = 5.0

    /// Opens the files (append, created with `mode`) and starts their
    /// writers. `queueRecords`/`queueBytes` bound each file's queue
    /// (`outputs.file_queue`, `outputs.file_queue_mb`).
    package init(alerts: String?, flows: String?, stats: String?, mode: UInt32 = 0o640, network: [OutputSpec] = [],
                queueRecords: Int = SensorConfig.defaultFileQueueRecords, queueBytes: Int = SensorConfig.defaultFileQueueBytes,
                log: @escaping @Sendable (String) -> Void = LiveSensor.stderrLog) throws(OutputError) {
        self.log = log
        self.network = network.map { NetworkOutput.make($0, log: log) }
        let m = mode_t(mode)
        func open(_ name: String, _ type: EveRecordType, _ path: String?) throws(OutputError) -> LogFileOutput? {
            guard let path else { return nil }
            return try LogFileOutput(name: name, type: type, path: path, mode: m, queueRecords: queueRecords,
                                     queueBytes: queueBytes, log: log)
        }
        alertsOutput = try open("alerts", .alert, alerts)
        do {
            flowsOutput = try open("flows", .flow, flows)
        } catch {
            alertsOutput?.detach()
            throw error
        }
        do {
            statsOutput = try open("stats", .stats, stats)
        } catch {
            alertsOutput?.detach()
            flowsOutput?.detach()
            throw error
        }
        files = [alertsOutput, flowsOutput, statsOutput].compactMap { $0 }
    }

    deinit {
        for f in files { f.detach() }
    }

    package var alerts: OutputFile? { alertsOutput?.file }
    package var flows: OutputFile? { flowsOutput?.file }
    package var stats: OutputFile? { statsOutput?.file }
    package var all: [OutputFile] { files.map(\.file) }

    /// Each log file's and network output's counters (any thread).
    package var perOutput: [SensorStats.Output] {
        files.map(\.counters) + network.map(\.counters)
    }

    /// Whether a log file or a network output takes records of type `type`.
    package func wantsType(_ type: EveRecordType) -> Bool {
        output(for: type) != nil || network.contains { $0.spec.wants(type) }
    }

    /// Queues the lines for the type's log file and for every network
    /// output that takes the type (never waiting for one).
    package func writeType(_ type: EveRecordType, _ bytes: [UInt8], records: Int) {
        output(for: type)?.offer(bytes, records: records)
        for n in network where n.spec.wants(type) { n.queue.offer(type, bytes, records: records) }
    }

    private func output(for type: EveRecordType) -> LogFileOutput? {
        switch type {
        case .flow: flowsOutput
        case .alert: alertsOutput
        case .stats: statsOutput
        }
    }

    /// Queues `records` complete lines for the log `file` (nothing when nil).
    package func write(_ file: OutputFile?, _ bytes: [UInt8], records: Int = 1) {
        guard let file, let out = files.first(where: { $0.file === file }) else { return }
        out.offer(bytes, records: records)
    }

    /// Starts the network outputs' writer threads (the log files' run from `init`).
    package func startNetwork() { for n in network { n.start() } }

    /// Records accepted by the log files: written, or held in memory for retry.
    package var recordsWritten: UInt64 { files.reduce(0) { $0 &+ $1.recordsWritten } }
    /// Failed writes or flushes of the log files (and writers given up on at shutdown).
    package var writeErrors: UInt64 { files.reduce(0) { $0 &+ $1.writeErrors } }
    /// Records the log files lost: their queue was full, the disk refused
    /// them past the retry limit, or shutdown could not wait for them.
    package var recordsDropped: UInt64 { files.reduce(0) { $0 &+ $1.recordsDropped } }
    /// Accepted records not on disk yet (held for retry after a failed write).
    package var recordsPending: UInt64 { files.reduce(0) { $0 &+ $1.recordsPending } }

    /// Waits up to `timeout` seconds for every log file's writer to write
    /// (or hold for retry) what was queued before the call. Not for the live
    /// output thread, which never waits for a file (its writers flush on
    /// their own whenever their queue runs empty). True when all did.
    @discardableResult
    package func flushAll(timeout: Double = 5) -> Bool {
        let deadline = monotonicSeconds() + timeout
        return files.allSatisfy { $0.waitWritten(timeout: max(0, deadline - monotonicSeconds())) }
    }

    /// Reopens every file by name after the lines queued so far (SIGHUP):
    /// records before the call go to the old (renamed) file, records after
    /// it to the new one. Returns at once.
    package func reopenAll() {
        for f in files { f.requestReopen() }
    }

    /// Flushes and fsyncs every log file after the lines queued so far.
    /// Not `final`: returns at once. `final` (shutdown, after the last
    /// record): every writer also ends, and each network output's queue is
    /// closed (`finishNetwork` waits for those). This waits up to
    /// `drainSeconds` for the files; a file still blocked then is given up
    /// (what it held counted as dropped and as a write error, and logged).
    /// Records a full disk kept from being written are reported by each writer.
    package func syncAll(final: Bool) {
        guard final else {
            for f in files { f.queue.post(.sync) }
            return
        }
        for f in files { f.close() }
        for n in network { n.queue.close() }
        let deadline = monotonicSeconds() + drainSeconds
        for f in files {
            f.join(until: deadline)
            let c = f.counters
            if c.dropped > 0 {
                log("flowsentry: output \(c.name): \(c.written) records written, \(c.dropped) dropped")
            }
        }
    }

    /// At shutdown, after `syncAll`: each network output sends what it holds
    /// (for up to its drain time) and stops.
    package func finishNetwork() {
        for n in network { n.queue.close() }
        for n in network {
            n.finish()
            let c = n.counters
            log("flowsentry: output \(c.name): \(c.written) records written, \(c.dropped) dropped, \(c.reconnects) reconnects")
        }
    }
}
