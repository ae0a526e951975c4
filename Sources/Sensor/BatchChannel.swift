import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A blocking single-producer, single-consumer hand-off of batches, in
/// order, with back-pressure: `send` waits while `capacity` batches are
/// queued, `receive` waits while none is, and nothing is ever dropped
/// (offline replay: the reader must not outrun the writer, and every record
/// must be written). Emptied batches go back through `recycle` and come out
/// of `takeEmpty`, so batches are allocated once, not per hand-off.
package final class BatchChannel<Batch>: @unchecked Sendable {
    package let capacity: Int
    /// Queued batches from `head` on (taken ones are nil until the array is reset).
    private var queued: [Batch?] = []
    private var head = 0
    private var spare: [Batch] = []
    private var closed = false
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let notEmpty = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let notFull = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    package init(capacity: Int) {
        precondition(capacity > 0, "channel capacity must be positive")
        self.capacity = capacity
        queued.reserveCapacity(capacity)
        spare.reserveCapacity(capacity + 2)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(notEmpty, nil)
        pthread_cond_init(notFull, nil)
    }

    deinit {
        pthread_cond_destroy(notEmpty)
        pthread_cond_destroy(notFull)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        notEmpty.deallocate()
        notFull.deallocate()
    }

    /// Queues `batch`, waiting while the channel is full. False if it was
    /// closed (the batch is not queued).
    @discardableResult
    package func send(_ batch: consuming Batch) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while !closed && queued.count - head >= capacity { pthread_cond_wait(notFull, mutex) }
        if closed { return false }
        if head > 0 && head == queued.count { queued.removeAll(keepingCapacity: true); head = 0 }
        queued.append(batch)
        pthread_cond_signal(notEmpty)
        return true
    }

    /// The oldest queued batch, waiting while there is none; nil once the
    /// channel is closed and drained.
    package func receive() -> Batch? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while head == queued.count && !closed { pthread_cond_wait(notEmpty, mutex) }
        guard head < queued.count else { return nil }
        var b: Batch? = nil
        swap(&b, &queued[head])  // moved out: no second reference to the batch's storage
        head += 1
        if head == queued.count { queued.removeAll(keepingCapacity: true); head = 0 }
        pthread_cond_signal(notFull)
        return b
    }

    /// Hands an emptied batch back for `takeEmpty`.
    package func recycle(_ batch: consuming Batch) {
        pthread_mutex_lock(mutex)
        spare.append(batch)
        pthread_mutex_unlock(mutex)
    }

    /// A recycled batch, or nil (the producer then makes a new one).
    package func takeEmpty() -> Batch? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return spare.popLast()
    }

    /// No more batches: `receive` returns what is queued, then nil; a
    /// waiting `send` returns false.
    package func close() {
        pthread_mutex_lock(mutex)
        closed = true
        pthread_cond_broadcast(notEmpty)
        pthread_cond_broadcast(notFull)
        pthread_mutex_unlock(mutex)
    }
}
