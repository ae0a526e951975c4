import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Lines of one record type handed to an output: `records` newline-ended
/// EVE lines in `bytes`.
package struct OutputChunk: Sendable {
    package var type: EveRecordType
    package var bytes: [UInt8]
    package var records: Int
}

/// A network output's bounded queue, between the sensor's output thread
/// (producer, never blocks) and the output's own writer thread (consumer).
/// The bound counts records held: queued, and taken but not yet settled
/// (sent, or given up); the lines that do not fit are dropped and
/// counted, so a slow or absent destination costs records of this output
/// only, never capture or the other outputs.
package final class OutputQueue: @unchecked Sendable {
    package let capacity: Int
    private var chunks: [OutputChunk] = []
    private var head = 0
    private var held = 0
    private var closed = false
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    /// Records refused because the queue was full.
    package let dropped = Atomic<UInt64>(0)
    /// Records held now (queued or in flight), for the stats.
    package let depth = Atomic<Int>(0)

    package init(capacity: Int) {
        precondition(capacity > 0, "output queue capacity must be positive")
        self.capacity = capacity
        pthread_mutex_init(mutex, nil)
        var attr = pthread_condattr_t()
        pthread_condattr_init(&attr)
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
        pthread_cond_init(cond, &attr)
        pthread_condattr_destroy(&attr)
    }

    deinit {
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        cond.deallocate()
    }

    /// Queues a copy of `bytes`, or of as many of its first lines as fit;
    /// the rest (all of them once the queue is closed) are counted as
    /// dropped. True when every record was queued.
    @discardableResult
    package func offer(_ type: EveRecordType, _ bytes: [UInt8], records: Int) -> Bool {
        guard records > 0 else { return true }
        pthread_mutex_lock(mutex)
        let room = closed ? 0 : min(records, capacity - held)
        if room == records {
            chunks.append(OutputChunk(type: type, bytes: bytes, records: records))
        } else if room > 0 {
            chunks.append(OutputChunk(type: type, bytes: Array(bytes[..<Self.end(ofLines: room, in: bytes)]), records: room))
        }
        if room > 0 {
            held += room
            depth.store(held, ordering: .relaxed)
        }
        pthread_mutex_unlock(mutex)
        if room > 0 { pthread_cond_signal(cond) }
        if room < records { dropped.add(UInt64(records - room), ordering: .relaxed) }
        return room == records
    }

    /// The byte just past the `n`th newline of `bytes`.
    private static func end(ofLines n: Int, in bytes: [UInt8]) -> Int {
        var seen = 0
        for (i, b) in bytes.enumerated() where b == 0x0A {
            seen += 1
            if seen == n { return i + 1 }
        }
        return bytes.count
    }

    /// Waits up to `timeout` seconds for chunks, then moves whole chunks
    /// into `out` until it holds at least `records` records (or the queue is
    /// empty). Their records stay held until `settle`d. False once the queue
    /// is closed and empty.
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
        while head < chunks.count && n < records {
            n += chunks[head].records
            out.append(chunks[head])
            chunks[head].bytes = []
            head += 1
        }
        if head == chunks.count {
            chunks.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 1024 {
            chunks.removeFirst(head)
            head = 0
        }
        return !(closed && chunks.isEmpty && n == 0)
    }

    /// Releases `records` taken records (sent, or given up on).
    package func settle(_ records: Int) {
        pthread_mutex_lock(mutex)
        held -= records
        depth.store(held, ordering: .relaxed)
        pthread_mutex_unlock(mutex)
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
