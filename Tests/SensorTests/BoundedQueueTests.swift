import Foundation
import Sensor
import Synchronization
import Testing

@Suite struct BoundedQueueTests {
    @Test func boundedQueueDropsAndCountsWhenFull() {
        let q = BoundedQueue<Int>(capacity: 5)
        #expect(q.push(1) && q.push(2))
        var more = [3, 4, 5, 6, 7]
        #expect(q.push(contentsOf: &more) == 2)  // only 3 fit
        #expect(more.isEmpty)
        #expect(!q.push(8))
        #expect(q.depth == 5 && q.overflow == 3)
        var out: [Int] = []
        #expect(q.popAll(into: &out, timeout: 0) == 5)
        #expect(out == [1, 2, 3, 4, 5])
        #expect(q.depth == 0 && q.overflow == 3)
        // A waiting consumer returns after its timeout with nothing.
        let t0 = Date()
        out.removeAll()
        #expect(q.popAll(into: &out, timeout: 0.1) == 0)
        #expect(Date().timeIntervalSince(t0) >= 0.09)
        q.close()
        #expect(!q.push(9) && q.overflow == 4)
    }

    @Test func boundedQueueManyProducersLoseNothingBelowCapacity() {
        let q = BoundedQueue<Int>(capacity: 100_000)
        DispatchQueue.concurrentPerform(iterations: 4) { w in
            for i in 0..<10_000 { q.push(w * 10_000 + i) }
        }
        var out: [Int] = []
        q.popAll(into: &out, timeout: 0)
        #expect(out.count == 40_000 && Set(out).count == 40_000 && q.overflow == 0)
    }

    @Test func boundedQueueWakesAWaitingConsumer() {
        let q = BoundedQueue<Int>(capacity: 4)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.05) { q.push(42) }
        var out: [Int] = []
        let t0 = Date()
        q.popAll(into: &out, timeout: 5)
        #expect(out == [42])
        #expect(Date().timeIntervalSince(t0) < 2)
    }

    @Test func boundedQueuePollingConsumerSeesPushesWakesAndTimeouts() {
        // Events come from their own threads (the shared dispatch pool can be busy
        // for seconds when the suite runs in parallel under sanitizers). Bounds are loose:
        // each case would take the whole 10 s timeout if the event were missed.
        let q = BoundedQueue<Int>(capacity: 4)
        var out: [Int] = []
        // Nothing comes: the whole timeout passes, the polling part (20 ms) included.
        var t0 = Date()
        #expect(q.popAll(into: &out, timeout: 0.12, spin: 0.02) == 0)
        #expect(Date().timeIntervalSince(t0) >= 0.11)
        // A push while it polls (the whole wait is polling) ends the wait.
        Thread.detachNewThread { usleep(10000); q.push(7) }
        t0 = Date()
        #expect(q.popAll(into: &out, timeout: 10, spin: 10) == 1)
        #expect(out == [7] && Date().timeIntervalSince(t0) < 8)
        // A push after the poll gave up wakes the blocked consumer.
        out.removeAll()
        Thread.detachNewThread { usleep(100000); q.push(8) }
        t0 = Date()
        #expect(q.popAll(into: &out, timeout: 10, spin: 0.005) == 1)
        #expect(out == [8] && Date().timeIntervalSince(t0) < 8)
        // wake() and close() end a poll early too.
        out.removeAll()
        Thread.detachNewThread { usleep(10000); q.wake() }
        t0 = Date()
        #expect(q.popAll(into: &out, timeout: 10, spin: 10) == 0)
        #expect(Date().timeIntervalSince(t0) < 8)
        Thread.detachNewThread { usleep(10000); q.close() }
        t0 = Date()
        #expect(q.popAll(into: &out, timeout: 10, spin: 10) == 0)
        #expect(Date().timeIntervalSince(t0) < 8)
    }
}

extension BoundedQueueTests {
    /// Producers race to fill a queue nobody reads: exactly `capacity` get in,
    /// every other push is counted, whichever thread made it.
    @Test func racingProducersFillToCapacityAndCountEveryDrop() {
        let q = BoundedQueue<Int>(capacity: 1000)
        let accepted = Mutex<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 4) { w in
            var mine = 0
            for i in 0..<700 {
                if i % 2 == 0 {
                    if q.push(w * 1000 + i) { mine += 1 }
                } else {
                    mine += 1 - q.push([w * 1000 + i][...])
                }
            }
            accepted.withLock { $0 += mine }
        }
        #expect(q.depth == 1000 && q.overflow == 2800 - 1000)
        #expect(accepted.withLock { $0 } == 1000)
        var out: [Int] = []
        #expect(q.popAll(into: &out, timeout: 0) == 1000)
        #expect(Set(out).count == 1000)
    }

    /// With a consumer draining concurrently, every element is either taken
    /// once or counted as dropped, and each producer's elements keep their order.
    @Test func concurrentConsumerTakesOrCountsEveryElementInOrder() {
        let q = BoundedQueue<Int>(capacity: 64)
        let producers = 3, perProducer = 20_000
        let done = DispatchGroup()
        for w in 0..<producers {
            done.enter()
            Thread.detachNewThread {
                var batch: [Int] = []
                for i in 0..<perProducer {
                    batch.append(w * perProducer + i)
                    if batch.count == 8 { q.push(contentsOf: &batch) }
                }
                q.push(contentsOf: &batch)
                done.leave()
            }
        }
        var taken: [Int] = []
        var producing = true
        while producing || q.depth > 0 {
            if producing && done.wait(timeout: .now()) == .success { producing = false }
            var got: [Int] = []
            q.popAll(into: &got, timeout: 0.01)
            taken += got
        }
        #expect(UInt64(taken.count) + q.overflow == UInt64(producers * perProducer))
        #expect(Set(taken).count == taken.count)
        for w in 0..<producers {
            let mine = taken.filter { $0 / perProducer == w }
            #expect(mine == mine.sorted(), "producer \(w) out of order")
        }
    }

    @Test func aClosedQueueRefusesSlicesAndCountsThem() {
        let q = BoundedQueue<Int>(capacity: 8)
        #expect(q.push([1, 2, 3][...]) == 0)
        q.close()
        #expect(q.push([4, 5][...]) == 2)
        var e = [6]
        #expect(q.push(contentsOf: &e) == 1 && e.isEmpty)
        #expect(q.push([Int]()[...]) == 0)
        #expect(q.overflow == 3 && q.depth == 3)
        // What was in before the close is still handed out.
        var out = [0]
        #expect(q.popAll(into: &out, timeout: 1) == 3)
        #expect(out == [0, 1, 2, 3])
    }
}
