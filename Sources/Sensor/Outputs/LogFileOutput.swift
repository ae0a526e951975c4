import Alerts
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One log file of the live sensor (alerts, flows or stats) behind its own
/// bounded queue and writer thread. The output thread only queues lines
/// (`offer`, never waiting); the writer thread writes them to the file in
/// order, flushes whenever its queue runs empty, and takes reopen (SIGHUP)
/// and sync requests in order with the lines. A file that blocks (a FIFO
/// whose reader stopped, a hung NFS server) fills its own queue; the lines
/// that do not fit are dropped and counted for this file only, and capture,
/// the other files and the network outputs go on.
///
/// `file` belongs to the writer thread once lines are queued; its
/// disk-full handling (records held for retry up to its limit, then
/// refused and counted; a removed file created again) is unchanged.
package final class LogFileOutput: @unchecked Sendable {
    /// `alerts`, `flows` or `stats`: the `output` label and stats key.
    package let name: String
    package let type: EveRecordType
    package let file: OutputFile
    package let queue: OutputQueue
    private let log: @Sendable (String) -> Void
    private var thread: pthread_t?
    private let stopped = Atomic<Bool>(false)

    private let written = Atomic<UInt64>(0)
    /// Records the file refused (disk full past its retry limit).
    private let refused = Atomic<UInt64>(0)
    /// Records still queued when shutdown gave up waiting for the writer.
    private let abandoned = Atomic<UInt64>(0)
    private let errors = Atomic<UInt64>(0)
    private let pending = Atomic<UInt64>(0)
    /// Records counted as written that are still in the file's buffer (not
    /// yet handed to the kernel), so a give-up at shutdown (the writer
    /// blocked in a write or flush) counts them as lost. The lines being
    /// written when it blocked are still held by the queue.
    private let unflushed = Atomic<UInt64>(0)

    // The writer thread's own state.
    private var lastErrorLog = -Double.infinity
    private var failingSince: Double?
    private var recreationsSeen: UInt64 = 0

    // The producer's (output thread's) state: queue-full warnings.
    private var lastDropWarning = -Double.infinity
    private var droppedAtWarning: UInt64 = 0

    /// Most records a writer takes off its queue at a time.
    static let batchRecords = 1024
    /// Seconds a writer rests after writing a batch before it looks again:
    /// while records keep coming it takes what gathered meanwhile in one go
    /// instead of being woken for every batch of the output thread (a
    /// context switch each), at the price of up to this much more latency.
    static let restSeconds = 0.005
    /// Seconds between queue-full warnings of one output.
    static let dropWarningInterval = 60.0
    /// Seconds between write-error messages of one file.
    static let errorLogInterval = 30.0

    /// Opens `path` (append, created with `mode`) and starts its writer thread.
    package init(name: String, type: EveRecordType, path: String, mode: mode_t, queueRecords: Int, queueBytes: Int,
                 log: @escaping @Sendable (String) -> Void) throws(OutputError) {
        self.name = name
        self.type = type
        self.file = try OutputFile(path: path, mode: mode)
        file.bufferLimit = 1 << 18
        self.queue = OutputQueue(capacity: queueRecords, maxBytes: queueBytes)
        self.log = log
        thread = spawnThread(name: "fs-log-" + name) { [self] in run() }
    }

    /// Records the file accepted: written, or held in memory for retry.
    package var recordsWritten: UInt64 { written.load(ordering: .relaxed) }
    /// Records lost: the queue was full, the disk refused them past the
    /// retry limit, or shutdown gave up on the writer.
    package var recordsDropped: UInt64 {
        queue.dropped.load(ordering: .relaxed) &+ refused.load(ordering: .relaxed) &+ abandoned.load(ordering: .relaxed)
    }
    /// Failed writes or flushes, and a shutdown that had to give up on the writer.
    package var writeErrors: UInt64 { errors.load(ordering: .relaxed) }
    /// Accepted records held in memory after a failed write (as of the writer's last flush).
    package var recordsPending: UInt64 { pending.load(ordering: .relaxed) }

    package var counters: SensorStats.Output {
        SensorStats.Output(name: name, written: recordsWritten, dropped: recordsDropped,
                           queued: UInt64(queue.depth.load(ordering: .relaxed)))
    }

    /// Queues `records` complete lines (output thread; never waits). Lines
    /// that do not fit are dropped and counted, with a warning naming the
    /// output at most once a minute.
    package func offer(_ bytes: [UInt8], records: Int) {
        if queue.offer(type, bytes, records: records) { return }
        let now = monotonicSeconds()
        guard now - lastDropWarning >= Self.dropWarningInterval else { return }
        lastDropWarning = now
        let total = queue.dropped.load(ordering: .relaxed)
        log("flowsentry: warning: output \(name): \(file.path) is not keeping up; its queue is full (\(queue.capacity) records "
            + "or \(queue.maxBytes >> 20) MiB), \(total &- droppedAtWarning) records dropped since the last warning "
            + "(\(total) in all); capture and the other outputs go on")
        droppedAtWarning = total
    }

    /// Reopens the file by name after every line queued so far (SIGHUP).
    package func requestReopen() { queue.post(.reopen) }

    /// Waits up to `timeout` seconds until everything queued is written (or
    /// held for retry). False on timeout.
    package func waitWritten(timeout: Double) -> Bool { queue.waitIdle(timeout: timeout) }

    /// Shutdown, after the last record: a flush and fsync are queued after
    /// every line, and the queue is closed; the writer ends once it has
    /// done them. Returns at once; `join` waits.
    package func close() {
        queue.post(.sync)
        queue.close()
    }

    /// Waits until monotonic time `deadline` for the writer to end. If it
    /// is still blocked then (a FIFO nobody reads, a hung mount), what it
    /// holds is given up, counted as dropped and as a write error, and
    /// logged; the thread is left to the process exit. True when it ended.
    @discardableResult
    package func join(until deadline: Double) -> Bool {
        guard let t = thread else { return true }
        while !stopped.load(ordering: .acquiring) && monotonicSeconds() < deadline { sleepSeconds(0.005) }
        if stopped.load(ordering: .acquiring) {
            pthread_join(t, nil)
            thread = nil
            return true
        }
        pthread_detach(t)
        thread = nil
        let inBuffer = unflushed.load(ordering: .acquiring)
        let lost = UInt64(queue.discardAll()) &+ inBuffer
        written.subtract(inBuffer, ordering: .relaxed)
        abandoned.add(lost, ordering: .relaxed)
        errors.add(1, ordering: .relaxed)
        log("flowsentry: error: output \(name): \(file.path) still blocked at shutdown; \(lost) records not written "
            + "(given up at the shutdown deadline, counted as dropped)")
        return false
    }

    /// Closes the queue without waiting (an output dropped without a
    /// shutdown, e.g. a sensor that failed to start): the writer writes
    /// what is queued and ends on its own.
    package func detach() {
        guard let t = thread else { return }
        thread = nil
        close()
        pthread_detach(t)
    }

    // MARK: the writer thread

    private func run() {
        var batch: [OutputChunk] = []
        batch.reserveCapacity(64)
        while true {
            // Buffered lines are flushed as soon as the queue is empty; while the
            // disk refuses writes, held records are retried ten times a second.
            let wait = file.failure != nil ? 0.1 : file.pendingBytes > 0 ? 0 : 0.5
            guard queue.take(into: &batch, records: Self.batchRecords, timeout: wait) else { break }
            if batch.isEmpty {
                if file.pendingBytes > 0 { flush() }
                continue
            }
            for chunk in batch {
                switch chunk.marker {
                case nil:
                    write(chunk.bytes, records: chunk.records)
                case .reopen?:
                    do { try file.reopen() } catch { failed(error) }
                    if file.pendingBytes == 0 { unflushed.store(0, ordering: .releasing) }
                    settled()
                case .sync?:
                    do { try file.sync() } catch { failed(error) }
                    if file.pendingBytes == 0 { unflushed.store(0, ordering: .releasing) }
                    settled()
                }
            }
            batch.removeAll(keepingCapacity: true)
            if queue.isEmpty && file.pendingBytes > 0 { flush() }
            queue.settle(0)  // every record already released as written
            sleepSeconds(Self.restSeconds)
        }
        if file.pendingRecords > 0 || file.recordsDropped > 0 {
            log("flowsentry: error: \(file.path): \(file.pendingRecords) records could not be written before exit"
                + (file.failure.map { " (\($0))" } ?? "") + ", \(file.recordsDropped) dropped earlier")
        }
        stopped.store(true, ordering: .releasing)
    }

    /// Hands `records` lines to the file: written or held for retry, or
    /// (past the retry limit while the disk refuses them) dropped and counted.
    private func write(_ bytes: [UInt8], records: Int) {
        let droppedBefore = file.recordsDropped
        var accepted = true
        do {
            try file.write(bytes, records: records)
        } catch {
            // Refused (the retry buffer is full) or accepted and held for retry.
            accepted = file.recordsDropped == droppedBefore
            if !accepted { refused.add(file.recordsDropped - droppedBefore, ordering: .relaxed) }
            failed(error)
        }
        if accepted {
            written.add(UInt64(records), ordering: .relaxed)
            if file.pendingBytes > 0 { unflushed.add(UInt64(records), ordering: .releasing) }
        }
        if file.pendingBytes == 0 { unflushed.store(0, ordering: .releasing) }
        // Written (or dropped): no longer held by the queue.
        queue.release(records)
    }

    private func flush() {
        do { try file.flush() } catch { failed(error) }
        if file.pendingBytes == 0 { unflushed.store(0, ordering: .releasing) }
        settled()
    }

    private func failed(_ error: OutputError) {
        errors.add(1, ordering: .relaxed)
        let now = monotonicSeconds()
        if failingSince == nil { failingSince = now }
        if now - lastErrorLog >= Self.errorLogInterval {
            lastErrorLog = now
            log("flowsentry: error: \(error) (\(file.pendingRecords) records held in memory and retried; "
                + "beyond \(file.maxPendingBytes >> 20) MiB new records are dropped and counted)")
        }
    }

    /// After each flush: notes a file created again, a file that writes
    /// again, and the records held.
    private func settled() {
        if file.recreations != recreationsSeen {
            recreationsSeen = file.recreations
            log("flowsentry: warning: \(file.path) was removed or replaced under the sensor; created again, "
                + "writing goes on there")
        }
        if let since = failingSince, file.failure == nil {
            failingSince = nil
            log("flowsentry: \(file.path): writing again after \(formatFixed(monotonicSeconds() - since, 1)) s; "
                + "records held meanwhile are written, \(file.recordsDropped) dropped in all")
        }
        pending.store(UInt64(file.pendingRecords), ordering: .relaxed)
    }
}
