import Sensor
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The record writer's fork-join pool: every chunk done exactly once, with
/// its own contiguous items, on as many threads as asked; a late or absent
/// worker leaves its chunks to the caller; a clean shutdown.
struct WorkerPoolTests {
    final class Slots: @unchecked Sendable {
        var chunkOf: [Int]
        init(_ n: Int) { chunkOf = Array(repeating: -1, count: n) }
    }

    /// 2,000 runs of varying size and chunk size: every item is done exactly
    /// once, in the chunk whose range holds it; the chunks are contiguous,
    /// in order, and cover 0..<count; each thread index is one real thread.
    @Test func everyItemOnceInContiguousChunks() {
        let pool = WorkerPool(width: 3)
        defer { pool.shutdown() }
        for round in 0..<2_000 {
            let count = round % 300, chunkSize = 1 + round % 40
            let slots = Slots(count)
            let ranges = Mutex<[Int: Range<Int>]>([:])
            let threadOf = Mutex<[Int: UInt]>([:])
            let done = Atomic<Int>(0)
            slots.chunkOf.withUnsafeMutableBufferPointer { chunkOf in
                pool.run(count: count, chunkSize: chunkSize) { thread, chunk, range in
                    #expect(thread >= 0 && thread < 3)
                    let me = UInt(pthread_self())
                    threadOf.withLock { t in
                        if let seen = t[thread] { #expect(seen == me) } else { t[thread] = me }
                    }
                    ranges.withLock { r in
                        #expect(r[chunk] == nil)
                        r[chunk] = range
                    }
                    for i in range {
                        #expect(chunkOf[i] == -1)
                        chunkOf[i] = chunk
                        done.add(1, ordering: .relaxed)
                    }
                }
            }
            let chunks = WorkerPool.chunks(count: count, chunkSize: chunkSize)
            #expect(chunks == (count + chunkSize - 1) / chunkSize)
            #expect(done.load(ordering: .relaxed) == count)
            let r = ranges.withLock { $0 }
            #expect(r.count == chunks)
            var next = 0
            for c in 0..<chunks {
                let range = r[c]!
                #expect(range.lowerBound == next && !range.isEmpty && range.count <= chunkSize)
                #expect(range == WorkerPool.range(chunk: c, count: count, chunkSize: chunkSize))
                next = range.upperBound
                for i in range { #expect(slots.chunkOf[i] == c) }
            }
            #expect(next == count)
            // Thread 0 is the caller.
            if let t0 = threadOf.withLock({ $0[0] }) { #expect(t0 == UInt(pthread_self())) }
        }
    }

    /// The work really runs on `width` distinct threads at once: each chunk
    /// waits until every chunk has started, which one thread alone could not pass.
    @Test func chunksRunConcurrently() {
        let pool = WorkerPool(width: 3)
        defer { pool.shutdown() }
        let started = Atomic<Int>(0)
        let threads = Mutex<Set<UInt>>([])
        pool.run(count: 3, chunkSize: 1) { _, _, _ in
            started.add(1, ordering: .acquiringAndReleasing)
            threads.withLock { _ = $0.insert(UInt(pthread_self())) }
            let deadline = monotonicSeconds() + 10
            while started.load(ordering: .acquiring) < 3 && monotonicSeconds() < deadline { sched_yield() }
        }
        #expect(started.load(ordering: .relaxed) == 3)
        #expect(threads.withLock { $0.count } == 3)
    }

    /// The caller does not wait for a worker that has not started: while the
    /// only worker is held inside a chunk, the caller takes every other chunk.
    @Test func callerTakesTheChunksOfABusyWorker() {
        let pool = WorkerPool(width: 2)
        defer { pool.shutdown() }
        let caller = UInt(pthread_self())
        let byCaller = Atomic<Int>(0), byWorker = Atomic<Int>(0)
        let release = Atomic<Bool>(false)
        pool.run(count: 100, chunkSize: 1) { thread, _, _ in
            if UInt(pthread_self()) == caller {
                byCaller.add(1, ordering: .relaxed)
                // Once the caller has done 99 chunks, the worker may finish its one.
                if byCaller.load(ordering: .relaxed) == 99 { release.store(true, ordering: .releasing) }
            } else {
                byWorker.add(1, ordering: .relaxed)
                let deadline = monotonicSeconds() + 10
                while !release.load(ordering: .acquiring) && monotonicSeconds() < deadline { sched_yield() }
            }
        }
        #expect(byCaller.load(ordering: .relaxed) + byWorker.load(ordering: .relaxed) == 100)
        #expect(byWorker.load(ordering: .relaxed) <= 1)
    }

    /// A pool of one starts no thread and runs everything on the caller, in
    /// order; shutdown joins the workers and may be called twice.
    @Test func widthOneAndShutdown() {
        let one = WorkerPool(width: 1)
        var seen: [Int] = []
        one.run(count: 1000, chunkSize: 100) { thread, chunk, range in
            #expect(thread == 0 && range == (chunk * 100)..<(chunk * 100 + 100))
            seen.append(chunk)
        }
        #expect(seen == Array(0..<10))
        one.shutdown()

        let pool = WorkerPool(width: 4)
        #expect(pool.width == 4)
        let n = Atomic<Int>(0)
        pool.run(count: 400, chunkSize: 7) { _, _, range in n.add(range.count, ordering: .relaxed) }
        #expect(n.load(ordering: .relaxed) == 400)
        pool.shutdown()
        pool.shutdown()
        #expect(WorkerPool.availableCores >= 1)
    }
}
