import Testing
import Detection

@Suite struct NNBufferTests {
    @Test func startsAtSixteenZeroedAndKeepsItsStorageWhileItFits() {
        let b = NNBuffer<Float>(zero: 0)
        #expect(b.capacity == 16)
        #expect((0..<16).allSatisfy { b.pointer[$0] == 0 })
        let p = b.ensure(16)
        for i in 0..<16 { p[i] = Float(i) }
        let again = b.ensure(10)
        #expect(again == p && b.capacity == 16)
        #expect((0..<16).allSatisfy { again[$0] == Float($0) })  // no growth: contents kept
    }

    @Test func growsToAtLeastDoubleAndFillsWithTheZeroValue() {
        let b = NNBuffer<Int>(zero: -1)
        _ = b.ensure(17)                 // 16 → max(17, 32)
        #expect(b.capacity == 32)
        _ = b.ensure(1000)               // 32 → max(1000, 64)
        #expect(b.capacity == 1000)
        let p = b.ensure(1001)           // 1000 → 2000
        #expect(b.capacity == 2000)
        #expect((0..<2000).allSatisfy { p[$0] == -1 })
        p[1999] = 5
        #expect(b.ensure(2000)[1999] == 5)
    }

    @Test func batchViewCoversTheArrays() {
        let seq: [Float] = [1, 2, 3, 4], stats: [Float] = [9]
        let n = NNBatch.with(sequences: seq, lengths: [2, 1], stats: stats, count: 2) { b in
            (b.count, Array(b.sequences), Array(b.lengths), Array(b.stats))
        }
        #expect(n.0 == 2 && n.1 == seq && n.2 == [2, 1] && n.3 == stats)
    }
}
