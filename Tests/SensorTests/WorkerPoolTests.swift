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

    /// What each chunk saw: its range and the thread (index and pthread)
    /// that ran it. One slot per chunk, written only by that chunk's thread
    /// (no lock: the pool's join orders the writes before the reads).
    final class ChunkLog: @unchecked Sendable {
        var range: [Range<Int>?]
        var thread: [(index: Int, id: UInt)?]
        init(_ chunks: Int) {
            range = Array(repeating: nil, count: chunks)
            thread = Array(repeating: nil, count: chunks)
        }
    }

    /// 2,000 runs of varying size and chunk size: every item is done exactly
    /// once, in the chunk whose range holds it; the chunks are contiguous,
    /// in order, and cover 0..<count; each thread index is one real thread,
    /// and index 0 is the caller.
    @Test func everyItemOnceInContiguousChunks() {
        let pool = WorkerPool(width: 3)
        defer { pool.shutdown() }
        let caller = UInt(pthread_self())
        for round in 0..<2_000 {
            let count = round % 300, chunkSize = 1 + round % 40
            let chunks = WorkerPool.chunks(count: count, chunkSize: chunkSize)
            #expect(chunks == (count + chunkSize - 1) / chunkSize)
            let slots = Slots(count), log = ChunkLog(chunks)
            let done = Atomic<Int>(0)
            slots.chunkOf.withUnsafeMutableBufferPointer { chunkOf in
                log.range.withUnsafeMutableBufferPointer { ranges in
                    log.thread.withUnsafeMutableBufferPointer { threads in
                        pool.run(count: count, chunkSize: chunkSize) { thread, chunk, range in
                            let first = ranges[chunk] == nil
                            ranges[chunk] = range
                            threads[chunk] = (thread, UInt(pthread_self()))
                            var fresh = first
                            for i in range {
                                fresh = fresh && chunkOf[i] == -1
                                chunkOf[i] = chunk
                                done.add(1, ordering: .relaxed)
                            }
                            #expect(fresh)
                        }
                    }
                }
            }
            #expect(done.load(ordering: .relaxed) == count)
            var next = 0
            var idOf: [Int: UInt] = [:]
            for c in 0..<chunks {
                let range = log.range[c]!
                #expect(range.lowerBound == next && !range.isEmpty && range.count <= chunkSize)
                #expect(range == WorkerPool.range(chunk: c, count: count, chunkSize: chunkSize))
                next = range.upperBound
                for i in range { #expect(slots.chunkOf[i] == c) }
                let t = log.thread[c]!
                #expect(t.index >= 0 && t.index < 3)
                if let id = idOf[t.index] { #expect(id == t.id) } else { idOf[t.index] = t.id }
            }
            #expect(next == count)
            if let t0 = idOf[0] { #expect(t0 == caller) }
            #expect(Set(idOf.values).count == idOf.count)
        }
    }

    /// The work really runs on `width` distinct threads at once: each chunk
    /// waits until every chunk has started, which one thread alone could not pass.
    @Test func chunksRunConcurrently() {
        let pool = WorkerPool(width: 3)
        defer { pool.shutdown() }
        let started = Atomic<Int>(0)
        let log = ChunkLog(3)
        log.thread.withUnsafeMutableBufferPointer { threads in
            pool.run(count: 3, chunkSize: 1) { thread, chunk, _ in
                threads[chunk] = (thread, UInt(pthread_self()))
                started.add(1, ordering: .acquiringAndReleasing)
                let deadline = monotonicSeconds() + 10
                while started.load(ordering: .acquiring) < 3 && monotonicSeconds() < deadline { sched_yield() }
            }
        }
        #expect(started.load(ordering: .relaxed) == 3)
        #expect(Set(log.thread.map { $0!.id }).count == 3)
        #expect(Set(log.thread.map { $0!.index }) == [0, 1, 2])
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
