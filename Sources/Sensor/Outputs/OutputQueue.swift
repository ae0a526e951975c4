import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Lines of one record type handed to an output: `records` newline-ended
/// EVE lines in `bytes`; or, in a log file's queue, an action the file's
/// writer takes in order with the lines (`marker`, no lines).
package struct OutputChunk: Sendable {
    package var type: EveRecordType
    package var bytes: [UInt8]
    package var records: Int
    package var marker: OutputMarker? = nil
}

/// An action queued between lines, so that it happens after every line
/// queued before it and before every line queued after it.
package enum OutputMarker: Sendable, Equatable {
    /// Close and reopen the file by name (SIGHUP, after rename rotation).
    case reopen
    /// Flush and fsync.
    case sync
}

/// An output's bounded queue, between the sensor's output thread (producer,
/// never blocks) and the output's own writer thread (consumer): a network
/// output's, or a log file's. The bound counts records held (queued, and
/// taken but not yet settled: written, sent, or given up) and, optionally,
/// bytes queued; the lines that do not fit are dropped and counted, so a
/// slow, stalled or absent destination costs records of this output only,
/// never capture or the other outputs.
package final class OutputQueue: @unchecked Sendable {
    package let capacity: Int
    /// Most bytes of lines queued (not counting a batch taken by the writer).
    package let maxBytes: Int
    private var chunks: [OutputChunk] = []
    private var head = 0
    private var held = 0
    private var queuedBytes = 0
    /// A batch has been taken and not settled yet.
    private var inFlight = false
    private var closed = false
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Signalled when the writer settles a batch (for `waitIdle`).
    private let settled = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    /// Records refused because the queue was full (or closed).
    package let dropped = Atomic<UInt64>(0)
    /// Records held now (queued or in flight), for the stats.
    package let depth = Atomic<Int>(0)

    package init(capacity: Int, maxBytes: Int = Int.max) {
        precondition(capacity > 0 && maxBytes > 0, "output queue bounds must be positive")
        self.capacity = capacity
        self.maxBytes = maxBytes
        pthread_mutex_init(mutex, nil)
        var attr = pthread_condattr_t()
        pthread_condattr_init(&attr)
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
        pthread_cond_init(cond, &attr)
        pthread_cond_init(settled, &attr)
        pthread_condattr_destroy(&attr)
    }

    deinit {
        pthread_cond_destroy(cond)
        pthread_cond_destroy(settled)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        cond.deallocate()
        settled.deallocate()
    }

    /// Queues a copy of `bytes`, or of as many of its first lines as fit
    /// (in records and in bytes); the rest (all of them once the queue is
    /// closed) are counted as dropped. True when every record was queued.
    @discardableResult
    package func offer(_ type: EveRecordType, _ bytes: [UInt8], records: Int) -> Bool {
        guard records > 0 else { return true }
        pthread_mutex_lock(mutex)
        let recordRoom = closed ? 0 : capacity - held
        let byteRoom = maxBytes - queuedBytes
        var room = records, end = bytes.count
        if records > recordRoom || bytes.count > byteRoom {
            (room, end) = Self.prefix(of: bytes, lines: max(0, recordRoom), bytes: max(0, byteRoom))
        }
        if room > 0 {
            // An exact-size copy: the caller keeps (and reuses) its buffer, and the bound counts what is held.
            chunks.append(OutputChunk(type: type, bytes: Array(bytes[..<end]), records: room))
            held += room
            queuedBytes += end
            depth.store(held, ordering: .relaxed)
        }
        pthread_mutex_unlock(mutex)
        if room > 0 { pthread_cond_signal(cond) }
        if room < records { dropped.add(UInt64(records - room), ordering: .relaxed) }
        return room == records
    }

    /// Queues `marker` after every line queued so far (not counted in the
    /// bound; one left waiting at the tail is not queued twice). False once
    /// the queue is closed.
    @discardableResult
    package func post(_ marker: OutputMarker) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex); pthread_cond_signal(cond) }
        guard !closed else { return false }
        if head < chunks.count && chunks[chunks.count - 1].marker == marker { return true }
        chunks.append(OutputChunk(type: .stats, bytes: [], records: 0, marker: marker))
        return true
    }

    /// The most whole lines at the start of `bytes` within `lines` lines and
    /// `bytes` bytes, and the byte just past them.
    static func prefix(of b: [UInt8], lines maxLines: Int, bytes maxBytes: Int) -> (lines: Int, end: Int) {
        var seen = 0, end = 0
        for (i, x) in b.enumerated() where x == 0x0A {
            guard seen < maxLines, i + 1 <= maxBytes else { break }
            seen += 1
            end = i + 1
        }
        return (seen, end)
    }

    /// Waits up to `timeout` seconds for chunks, then moves whole chunks
    /// into `out` until it holds at least `records` records (or the queue is
    /// empty), markers included. Their records stay held until `settle`d.
    /// False once the queue is closed and empty.
    package func take(into out: inout [OutputChunk], records: Int, timeout: Double) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        if head == chunks.count && !closed && timeout > 0 {
            var ts = deadline(timeout)
            while head == chunks.count && !closed {
                if pthread_cond_timedwait(cond, mutex, &ts) == ETIMEDOUT { break }
            }
        }
        var n = 0
        let before = out.count
        while head < chunks.count && n < records {
            n += chunks[head].records
            queuedBytes -= chunks[head].bytes.count
            out.append(chunks[head])
            chunks[head].bytes = []
            head += 1
        }
        if out.count > before { inFlight = true }
        if head == chunks.count {
            chunks.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 1024 {
            chunks.removeFirst(head)
            head = 0
        }
        return !(closed && chunks.isEmpty && out.count == before)
    }

    /// Releases `records` taken records (sent, written, or given up on):
    /// the batch taken last is done.
    package func settle(_ records: Int) {
        pthread_mutex_lock(mutex)
        held = max(0, held - records)  // 0 after `discardAll`
        inFlight = false
        depth.store(held, ordering: .relaxed)
        pthread_mutex_unlock(mutex)
        pthread_cond_broadcast(settled)
    }

    /// Releases `records` records of the batch in flight (written or given
    /// up on) before the whole batch is `settle`d: the counts stay exact
    /// while a writer works through a large batch.
    package func release(_ records: Int) {
        pthread_mutex_lock(mutex)
        held = max(0, held - records)
        depth.store(held, ordering: .relaxed)
        pthread_mutex_unlock(mutex)
    }

    /// Nothing queued (lines or markers) and no batch in flight.
    package var isIdle: Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return head == chunks.count && !inFlight
    }

    /// Nothing queued (lines or markers); a batch may be in flight.
    package var isEmpty: Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return head == chunks.count
    }

    /// Waits up to `timeout` seconds until the writer has handled everything
    /// queued (`isIdle`). False on timeout.
    package func waitIdle(timeout: Double) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        var ts = deadline(timeout)
        while head < chunks.count || inFlight {
            if pthread_cond_timedwait(settled, mutex, &ts) == ETIMEDOUT { return head == chunks.count && !inFlight }
        }
        return true
    }

    /// Removes every queued chunk without handing it to the writer (a
    /// writer given up on at shutdown); returns the records that were held
    /// (queued and in flight), which the caller counts as lost.
    package func discardAll() -> Int {
        pthread_mutex_lock(mutex)
        let lost = held
        chunks.removeAll()
        head = 0
        queuedBytes = 0
        held = 0
        depth.store(0, ordering: .relaxed)
        pthread_mutex_unlock(mutex)
        return lost
    }

    /// No more offers; the writer drains what is queued, then stops.
    package func close() {
        pthread_mutex_lock(mutex)
        closed = true
        pthread_mutex_unlock(mutex)
        pthread_cond_broadcast(cond)
    }

    package var isClosed: Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return closed
    }

    /// Sleeps `seconds`, or less once the queue is closed (a writer's
    /// reconnection wait that must not hold up shutdown).
    package func pause(_ seconds: Double) {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        var ts = deadline(seconds)
        while !closed {
            if pthread_cond_timedwait(cond, mutex, &ts) == ETIMEDOUT { break }
        }
    }

    private func deadline(_ seconds: Double) -> timespec {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        let ns = Int(ts.tv_nsec) + Int(max(0, seconds) * 1e9)
        ts.tv_sec += ns / 1_000_000_000
        ts.tv_nsec = ns % 1_000_000_000
        return ts
    }
}
