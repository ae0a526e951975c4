/// The one lock type for shared mutable state (flow-table stripes, the
/// fragment tracker, host-context stripes, the live sensor's handles and
/// counters).
///
/// Normally it *is* `Synchronization.Mutex` (a type alias: the same code,
/// the same speed). Built with `-Xswiftc -DFLOWSENTRY_TSAN` (what
/// scripts/sanitize.sh does for ThreadSanitizer) it is a `pthread_mutex_t`
/// with the same interface: on Linux, Swift 6's `Mutex` synchronises through
/// futex calls that ThreadSanitizer does not see, so TSan reports every
/// access to Mutex-guarded state from two threads as a race; through
/// pthread_mutex_lock/unlock, which TSan intercepts, it sees the
/// happens-before edges and only real races remain.
#if FLOWSENTRY_TSAN
#if canImport(Glibc)
import Glibc
#endif

public struct FSMutex<Value: ~Copyable>: ~Copyable, @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let value: UnsafeMutablePointer<Value>

    public init(_ initialValue: consuming sending Value) {
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        value = .allocate(capacity: 1)
        value.initialize(to: initialValue)
    }

    deinit {
        value.deinitialize(count: 1)
        value.deallocate()
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` with exclusive access to the value (as `Mutex.withLock`).
    public borrowing func withLock<Result: ~Copyable, E: Error>(
        _ body: (inout sending Value) throws(E) -> sending Result
    ) throws(E) -> sending Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value.pointee)
    }
}
#else
import Synchronization

public typealias FSMutex<Value: ~Copyable> = Mutex<Value>
#endif
