import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A bounded multi-producer, single-consumer queue (mutex + condition
/// variable). Producers never block: what does not fit is dropped and
/// counted in `overflow`. The consumer takes everything at once; it may
/// poll for a short while before it blocks (`popAll(spin:)`), which keeps a
/// busy output thread from paying a wake-up per batch.
package final class BoundedQueue<Element>: @unchecked Sendable {
    package let capacity: Int
    private var items: [Element] = []
    private var dropped: UInt64 = 0
    private var closed = false
    private var wakeups = 0
    /// Bumped by every push, wake and close: what a polling consumer watches.
    private let events = Atomic<UInt64>(0)
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    package init(capacity: Int) {
        precondition(capacity > 0, "queue capacity must be positive")
        self.capacity = capacity
        items.reserveCapacity(min(capacity, 4096))
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

    @inline(__always) private func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }

    /// Adds one element; false (and counted) if the queue is full or closed.
    @discardableResult
    package func push(_ e: Element) -> Bool {
        let ok = locked { () -> Bool in
            if closed || items.count >= capacity { dropped &+= 1; return false }
            items.append(e)
            return true
        }
        if ok { events.add(1, ordering: .releasing); pthread_cond_signal(cond) }
        return ok
    }

    /// Moves as many of `elements` as fit (in order) and empties the array;
    /// returns how many were dropped.
    @discardableResult
    package func push(contentsOf elements: inout [Element]) -> Int {
        let lost = push(elements[...])
        elements.removeAll(keepingCapacity: true)
        return lost
    }

    /// Copies as many of `elements` as fit (in order); returns how many were dropped.
    @discardableResult
    package func push(_ elements: ArraySlice<Element>) -> Int {
        if elements.isEmpty { return 0 }
        let lost = locked { () -> Int in
            let room = closed ? 0 : max(0, capacity - items.count)
            let take = min(room, elements.count)
            items.append(contentsOf: elements.prefix(take))
            let lost = elements.count - take
            dropped &+= UInt64(lost)
            return lost
        }
        events.add(1, ordering: .releasing)
        pthread_cond_signal(cond)
        return lost
    }

    /// Waits up to `timeout` seconds for elements (or a `wake()`), then moves
    /// all of them into `out` (appending). Returns the number taken.
    /// `spin`: seconds (at most `timeout`) to poll, yielding the CPU between
    /// looks, before blocking on the condition variable. A blocked thread's
    /// wake-up can take milliseconds on a virtual machine whose idle vCPU has
    /// halted; polling for a little longer than the usual gap between batches
    /// avoids it at the cost of that core's idle time.
    @discardableResult
    package func popAll(into out: inout [Element], timeout: Double, spin: Double = 0) -> Int {
        var remaining = timeout
        if spin > 0 && timeout > 0 {
            pthread_mutex_lock(mutex)
            let idle = items.isEmpty && wakeups == 0 && !closed
            let seen = events.load(ordering: .acquiring)
            pthread_mutex_unlock(mutex)
            if idle {
                let t0 = monotonicSeconds(), limit = min(spin, timeout)
                var waited = 0.0
                while events.load(ordering: .acquiring) == seen && waited < limit {
                    sched_yield()
                    waited = monotonicSeconds() - t0
                }
                remaining = timeout - waited
            }
        }
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        if items.isEmpty && wakeups == 0 && !closed && remaining > 0 {
            var ts = timespec()
            clock_gettime(CLOCK_MONOTONIC, &ts)
            let ns = Int(ts.tv_nsec) + Int(remaining * 1e9)
            ts.tv_sec += ns / 1_000_000_000
            ts.tv_nsec = ns % 1_000_000_000
            while items.isEmpty && wakeups == 0 && !closed {
                if pthread_cond_timedwait(cond, mutex, &ts) == ETIMEDOUT { break }
            }
        }
        wakeups = 0
        let n = items.count
        if n > 0 {
            if out.isEmpty { swap(&out, &items) } else { out.append(contentsOf: items); items.removeAll(keepingCapacity: true) }
        }
        return n
    }

    /// Makes a waiting `popAll` return now (e.g. to act on a request).
    package func wake() {
        locked { wakeups += 1 }
        events.add(1, ordering: .releasing)
        pthread_cond_signal(cond)
    }

    /// Refuses further elements (they count as overflow) and wakes the consumer.
    package func close() {
        locked { closed = true }
        events.add(1, ordering: .releasing)
        pthread_cond_broadcast(cond)
    }

    package var depth: Int { locked { items.count } }
    package var overflow: UInt64 { locked { dropped } }
}
