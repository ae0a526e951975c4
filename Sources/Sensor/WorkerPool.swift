import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A small fork-join pool for the record writer's per-record work that does
/// not depend on order (application-layer parsing, model inference, flow
/// record formatting): `run(count:chunkSize:_:)` cuts `0..<count` into
/// chunks, and the calling thread and the pool's workers take chunks in turn
/// until none is left; it returns when every chunk is done. The caller then
/// does the order-dependent work alone, so what it writes does not depend
/// on how many threads helped, nor on which thread did which chunk.
///
/// Chunks are taken, not assigned: a worker the scheduler has not run yet
/// (the cores busy with the reader) leaves its chunks to the caller instead
/// of holding the run up, and the caller waits only for chunks a worker has
/// started.
///
/// Ownership: one caller thread at a time calls `run` (the writer's thread);
/// during a run, a chunk's data belongs to the thread that took it and a
/// thread's scratch (`thread` index) to that thread. The job is handed over
/// under a pthread mutex (ThreadSanitizer sees it), a few times per run;
/// chunks are claimed with one atomic add each. Worker threads hold the
/// pool until `shutdown()`, which the owner calls (the record writer does in
/// its deinit).
package final class WorkerPool: @unchecked Sendable {
    /// Threads that work on a run: the caller (thread 0) and `width - 1` workers.
    package let width: Int
    private var threads: [pthread_t] = []
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let started = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let finished = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Bumped for every run that wakes workers; a worker joins each run at most once.
    private var generation: UInt64 = 0
    /// The current run (nil between runs: a worker waking late joins nothing).
    private var job: ((Int, Int, Range<Int>) -> Void)?
    private var count = 0
    private var chunkSize = 1
    /// Workers inside the current run (the caller waits for them to leave).
    private var active = 0
    private var stopping = false
    private var stopped = false
    /// The next chunk to take.
    private let nextChunk = Atomic<Int>(0)

    /// `width` threads in all (at least 1; 1 starts no thread and runs everything on the caller).
    package init(width: Int) {
        self.width = max(1, width)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(started, nil)
        pthread_cond_init(finished, nil)
        for thread in 1..<self.width {
            threads.append(spawnThread(name: "fs-record-\(thread)") { [self] in work(thread: thread) })
        }
    }

    deinit {
        pthread_cond_destroy(started)
        pthread_cond_destroy(finished)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        started.deallocate()
        finished.deallocate()
    }

    /// Chunks `run` cuts `count` items into.
    package static func chunks(count: Int, chunkSize: Int) -> Int {
        count <= 0 ? 0 : (count + chunkSize - 1) / chunkSize
    }

    /// The items of chunk `chunk`.
    package static func range(chunk: Int, count: Int, chunkSize: Int) -> Range<Int> {
        (chunk * chunkSize)..<min(count, (chunk + 1) * chunkSize)
    }

    /// Runs `body(thread, chunk, range)` for every chunk of `0..<count`
    /// (`chunks(count:chunkSize:)` of them), each exactly once, on this
    /// thread (`thread` 0) and whichever workers are free, and returns when
    /// all are done. `body` must touch only its chunk's data and its thread's scratch.
    package func run(count: Int, chunkSize: Int, _ body: (_ thread: Int, _ chunk: Int, _ range: Range<Int>) -> Void) {
        let size = max(1, chunkSize)
        let n = Self.chunks(count: count, chunkSize: size)
        if width == 1 || n <= 1 {
            for c in 0..<n { body(0, c, Self.range(chunk: c, count: count, chunkSize: size)) }
            return
        }
        withoutActuallyEscaping(body) { job in
            pthread_mutex_lock(mutex)
            precondition(!stopping, "WorkerPool.run after shutdown")
            self.job = job
            self.count = count
            self.chunkSize = size
            nextChunk.store(0, ordering: .relaxed)
            generation &+= 1
            pthread_cond_broadcast(started)
            pthread_mutex_unlock(mutex)

            takeChunks(job, thread: 0, count: count, chunkSize: size)

            pthread_mutex_lock(mutex)
            self.job = nil  // no worker joins after this; the closure does not outlive the call
            while active > 0 { pthread_cond_wait(finished, mutex) }
            pthread_mutex_unlock(mutex)
        }
    }

    /// Takes chunks until none is left.
    private func takeChunks(_ job: (Int, Int, Range<Int>) -> Void, thread: Int, count: Int, chunkSize: Int) {
        let n = Self.chunks(count: count, chunkSize: chunkSize)
        while true {
            let c = nextChunk.wrappingAdd(1, ordering: .relaxed).oldValue
            if c >= n { return }
            job(thread, c, Self.range(chunk: c, count: count, chunkSize: chunkSize))
        }
    }

    /// Stops and joins the worker threads (idempotent). `run` must not be called afterwards.
    package func shutdown() {
        pthread_mutex_lock(mutex)
        let already = stopped
        stopping = true
        stopped = true
        pthread_cond_broadcast(started)
        pthread_mutex_unlock(mutex)
        guard !already else { return }
        for t in threads { pthread_join(t, nil) }
        threads.removeAll()
    }

    /// A worker thread: joins each run it wakes for while the run lasts.
    private func work(thread: Int) {
        var seen: UInt64 = 0
        pthread_mutex_lock(mutex)
        while true {
            while generation == seen && !stopping { pthread_cond_wait(started, mutex) }
            if stopping { break }
            seen = generation
            guard let job else { continue }  // woke after the run ended
            let count = self.count, chunkSize = self.chunkSize
            active += 1
            pthread_mutex_unlock(mutex)
            takeChunks(job, thread: thread, count: count, chunkSize: chunkSize)
            pthread_mutex_lock(mutex)
            active -= 1
            if active == 0 { pthread_cond_signal(finished) }
        }
        pthread_mutex_unlock(mutex)
    }

    /// The CPUs this process may run on: its affinity mask (`Cpus_allowed`
    /// in /proc/self/status, what taskset and cpusets set), else the CPUs
    /// online; at least 1.
    package static var availableCores: Int {
        let online = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        guard let f = fopen("/proc/self/status", "r") else { return online }
        defer { fclose(f) }
        var line = [CChar](repeating: 0, count: 4096)
        while fgets(&line, Int32(line.count), f) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard text.hasPrefix("Cpus_allowed:") else { continue }
            var n = 0
            for c in text.dropFirst("Cpus_allowed:".count) {
                if let v = c.hexDigitValue { n += v.nonzeroBitCount }
            }
            return n > 0 ? min(n, online) : online
        }
        return online
    }
}
