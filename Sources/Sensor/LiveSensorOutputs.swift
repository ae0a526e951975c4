import Alerts
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The sensor's log files (alerts, flows, stats; each optional), used only
/// by the output thread. Append-only, never truncated; `reopenAll` after a
/// rename-rotation.
package final class OutputFiles: @unchecked Sendable {
    package let alerts: OutputFile?
    package let flows: OutputFile?
    package let stats: OutputFile?
    /// The `outputs.list` entries that are not log files, each with its own queue and writer thread.
    package let network: [NetworkOutput]
    private let written = Atomic<UInt64>(0)
    private let errors = Atomic<UInt64>(0)
    private var lastErrorLog = -Double.infinity
    let log: @Sendable (String) -> Void

    package init(alerts: String?, flows: String?, stats: String?, mode: UInt32 = 0o640, network: [OutputSpec] = [],
                log: @escaping @Sendable (String) -> Void = LiveSensor.stderrLog) throws(OutputError) {
        self.log = log
        self.network = network.map { NetworkOutput.make($0, log: log) }
        let m = mode_t(mode)
        self.alerts = try alerts.map { p throws(OutputError) in try OutputFile(path: p, mode: m) }
        self.flows = try flows.map { p throws(OutputError) in try OutputFile(path: p, mode: m) }
        self.stats = try stats.map { p throws(OutputError) in try OutputFile(path: p, mode: m) }
        for f in all { f.bufferLimit = 1 << 18 }
    }

    package var all: [OutputFile] { [alerts, flows, stats].compactMap { $0 } }

    /// Records written and dropped per log file, for the metrics' `output` label.
    private final class Tally: Sendable {
        let written = Atomic<UInt64>(0)
        let dropped = Atomic<UInt64>(0)
    }
    private let tallies = (alerts: Tally(), flows: Tally(), stats: Tally())

    private func tally(_ file: OutputFile) -> Tally {
        file === alerts ? tallies.alerts : file === flows ? tallies.flows : tallies.stats
    }

    /// Each open log file's records written and dropped (any thread).
    package var perOutput: [SensorStats.Output] {
        [("alerts", alerts, tallies.alerts), ("flows", flows, tallies.flows), ("stats", stats, tallies.stats)]
            .compactMap { name, file, t in
                file == nil ? nil : SensorStats.Output(name: name, written: t.written.load(ordering: .relaxed),
                                                       dropped: t.dropped.load(ordering: .relaxed))
            } + network.map(\.counters)
    }

    /// Whether a log file or a network output takes records of type `type`.
    package func wantsType(_ type: EveRecordType) -> Bool {
        file(for: type) != nil || network.contains { $0.spec.wants(type) }
    }

    /// Writes the lines to the type's log file, and queues a copy for every
    /// network output that takes the type (never waiting for one).
    package func writeType(_ type: EveRecordType, _ bytes: [UInt8], records: Int) {
        write(file(for: type), bytes, records: records)
        for n in network where n.spec.wants(type) { n.queue.offer(type, bytes, records: records) }
    }

    private func file(for type: EveRecordType) -> OutputFile? {
        switch type {
        case .flow: flows
        case .alert: alerts
        case .stats: stats
        }
    }

    /// Starts the network outputs' writer threads.
    package func startNetwork() { for n in network { n.start() } }

    /// At shutdown, after the last record: each network output sends what it
    /// holds (for up to its drain time) and stops.
    package func finishNetwork() {
        for n in network { n.queue.close() }
        for n in network {
            n.finish()
            let c = n.counters
            log("flowsentry: output \(c.name): \(c.written) records written, \(c.dropped) dropped, \(c.reconnects) reconnects")
        }
    }

    /// Records accepted by the log files: written, or held in memory for retry.
    package var recordsWritten: UInt64 { written.load(ordering: .relaxed) }
    /// Failed writes (each failed write or flush counts once).
    package var writeErrors: UInt64 { errors.load(ordering: .relaxed) }
    /// Records refused while the disk would not take them and the retry buffer was full.
    package var recordsDropped: UInt64 { dropped.load(ordering: .relaxed) }
    /// Accepted records not on disk yet (held for retry after a failed write).
    package var recordsPending: UInt64 { pending.load(ordering: .relaxed) }

    private let dropped = Atomic<UInt64>(0)
    private let pending = Atomic<UInt64>(0)
    private var failingSince: [ObjectIdentifier: Double] = [:]
    private var recreationsSeen: [ObjectIdentifier: UInt64] = [:]

    /// Queues `records` complete records (bytes ending in newlines) for `file`.
    /// If the kernel refuses them they stay in memory and are retried on the
    /// next flush; only past the file's retry limit are they dropped (counted).
    package func write(_ file: OutputFile?, _ bytes: [UInt8], records: Int = 1) {
        guard let file else { return }
        let droppedBefore = file.recordsDropped
        do {
            try file.write(bytes, records: records)
            written.add(UInt64(records), ordering: .relaxed)
            tally(file).written.add(UInt64(records), ordering: .relaxed)
        } catch {
            if file.recordsDropped == droppedBefore {
                written.add(UInt64(records), ordering: .relaxed)  // accepted, held for retry
                tally(file).written.add(UInt64(records), ordering: .relaxed)
            } else {
                dropped.add(file.recordsDropped - droppedBefore, ordering: .relaxed)
                tally(file).dropped.add(file.recordsDropped - droppedBefore, ordering: .relaxed)
            }
            failed(file, error)
        }
    }

    private func failed(_ file: OutputFile, _ error: OutputError) {
        errors.add(1, ordering: .relaxed)
        let now = monotonicSeconds()
        if failingSince[ObjectIdentifier(file)] == nil { failingSince[ObjectIdentifier(file)] = now }
        if now - lastErrorLog >= 30 {
            lastErrorLog = now
            log("flowsentry: error: \(error) (\(file.pendingRecords) records held in memory and retried on every flush; "
                + "beyond \(file.maxPendingBytes >> 20) MiB new records are dropped and counted)")
        }
    }

    /// After each flush: notes files that write again, and the records held.
    private func settled() {
        var held: UInt64 = 0
        for f in all {
            held &+= UInt64(f.pendingRecords)
            let id = ObjectIdentifier(f)
            if f.recreations != recreationsSeen[id, default: 0] {
                recreationsSeen[id] = f.recreations
                log("flowsentry: warning: \(f.path) was removed or replaced under the sensor; created again, "
                    + "writing goes on there")
            }
            if let since = failingSince[id], f.failure == nil {
                failingSince[id] = nil
                log("flowsentry: \(f.path): writing again after \(formatFixed(monotonicSeconds() - since, 1)) s; "
                    + "records held meanwhile are written, \(f.recordsDropped) dropped in all")
            }
        }
        pending.store(held, ordering: .relaxed)
    }

    /// Hands buffered records to the kernel (one write per file).
    package func flushAll() {
        for f in all {
            do { try f.flush() } catch { failed(f, error) }
        }
        settled()
    }

    /// Flushes, then closes and reopens every file by name: records before the
    /// call are in the old (renamed) file, records after it in the new one.
    package func reopenAll() {
        for f in all {
            do { try f.reopen() } catch { failed(f, error) }
        }
        settled()
    }

    /// Flushes and fsyncs every file. At shutdown: records that still could
    /// not be written are reported (they are lost when the process exits).
    package func syncAll(final: Bool = false) {
        for f in all {
            do { try f.sync() } catch { failed(f, error) }
        }
        settled()
        guard final else { return }
        for f in all where f.pendingRecords > 0 || f.recordsDropped > 0 {
            log("flowsentry: error: \(f.path): \(f.pendingRecords) records could not be written before exit"
                + (f.failure.map { " (\($0))" } ?? "") + ", \(f.recordsDropped) dropped earlier")
        }
    }
}
