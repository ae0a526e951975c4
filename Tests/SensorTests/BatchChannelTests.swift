import Foundation
import Sensor
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The replay's reader → writer hand-off: order, back-pressure, close.
struct BatchChannelTests {
    final class Box: @unchecked Sendable { var values: [Int] = [] }

    /// 2,000 batches through a 3-batch channel to a slow consumer: all arrive,
    /// in order, and the producer never gets more than 3 ahead of it.
    @Test func everyBatchInOrderWithBackPressure() {
        let ch = BatchChannel<Box>(capacity: 3)
        let sent = Atomic<Int>(0), received = Atomic<Int>(0), maxAhead = Atomic<Int>(0)
        let got = Box()
        let consumer = spawnThread(name: "test-consumer") {
            while let b = ch.receive() {
                let r = received.add(1, ordering: .sequentiallyConsistent).newValue
                let ahead = sent.load(ordering: .sequentiallyConsistent) - r
                if ahead > maxAhead.load(ordering: .relaxed) { maxAhead.store(ahead, ordering: .relaxed) }
                got.values += b.values
                if r % 200 == 0 { usleep(2_000) }  // slow now and then: the producer must wait
                b.values.removeAll(keepingCapacity: true)
                ch.recycle(b)
            }
        }
        var reused = 0
        for i in 0..<2_000 {
            let b: Box
            if let e = ch.takeEmpty() { b = e; reused += 1 } else { b = Box() }
            #expect(b.values.isEmpty)
            b.values = [2 * i, 2 * i + 1]
            sent.add(1, ordering: .sequentiallyConsistent)
            #expect(ch.send(b))
        }
        ch.close()
        pthread_join(consumer, nil)
        #expect(got.values == Array(0..<4_000))
        #expect(received.load(ordering: .relaxed) == 2_000)
        // Sent counts one batch before send returns, and the consumer counts one
        // it has taken: at most capacity + 1 apart.
        #expect(maxAhead.load(ordering: .relaxed) <= 4)
        #expect(reused > 0, "emptied batches came back through takeEmpty")
    }

    /// After close: what was queued still comes out, then nil; send refuses.
    @Test func closeDrainsThenEnds() {
        let ch = BatchChannel<Box>(capacity: 4)
        for i in 0..<3 { let b = Box(); b.values = [i]; #expect(ch.send(b)) }
        ch.close()
        #expect(!ch.send(Box()))
        var seen: [Int] = []
        while let b = ch.receive() { seen += b.values }
        #expect(seen == [0, 1, 2])
        #expect(ch.receive() == nil)
    }

    /// A producer blocked on a full channel is released by close.
    @Test func closeReleasesABlockedSender() {
        let ch = BatchChannel<Box>(capacity: 1)
        #expect(ch.send(Box()))
        let result = Atomic<Int>(-1)
        let t = spawnThread(name: "test-sender") { result.store(ch.send(Box()) ? 1 : 0, ordering: .sequentiallyConsistent) }
        usleep(50_000)
        #expect(result.load(ordering: .sequentiallyConsistent) == -1, "send should wait on a full channel")
        ch.close()
        pthread_join(t, nil)
        #expect(result.load(ordering: .sequentiallyConsistent) == 0)
    }
}
