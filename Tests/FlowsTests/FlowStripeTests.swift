import Testing
@testable import Decoding
@testable import Flows

/// The stripe's free list and per-class LRU lists against a plain model
/// (arrays), under random take / move / return operations.
@Suite struct FlowStripeTests {
    /// `prefault` false: slots are initialised when first handed out, in the
    /// same order as a stack of every slot would give them.
    @Test(arguments: [true, false]) func freeListAndLRUListsMatchAModel(prefault: Bool) {
        var st = StripeState(capacity: 64, histograms: 0, prefault: prefault)
        defer { st.deallocate() }
        var lists = [[Int32]](repeating: [], count: TimeoutClass.count)
        var rng = SystemRandomNumberGenerator()
        func walk(_ c: Int) -> [Int32] {
            var out: [Int32] = [], h = st.head[c]
            while h >= 0 { out.append(h); h = st.slots[Int(h)].next }
            return out
        }
        for step in 0..<5000 {
            let used = lists.flatMap { $0 }
            let op = Int.random(in: 0..<3, using: &rng)
            if op == 0 && st.freeCount > 0 {
                let i = st.popFree()
                #expect(!used.contains(i), "step \(step): slot \(i) handed out twice")
                let c = Int.random(in: 0..<TimeoutClass.count, using: &rng)
                st.pushTail(i, cls: c)
                lists[c].append(i)
            } else if op == 1, let i = used.randomElement(using: &rng) {
                // Activity: to the tail of a (possibly other) class.
                let from = lists.firstIndex { $0.contains(i) }!
                st.unlink(i)
                lists[from].removeAll { $0 == i }
                let c = Int.random(in: 0..<TimeoutClass.count, using: &rng)
                st.pushTail(i, cls: c)
                lists[c].append(i)
            } else if let i = used.randomElement(using: &rng) {
                let from = lists.firstIndex { $0.contains(i) }!
                st.unlink(i)
                lists[from].removeAll { $0 == i }
                st.pushFree(i)
            }
            for c in 0..<TimeoutClass.count {
                #expect(walk(c) == lists[c], "step \(step): class \(c)")
                #expect(st.tail[c] == (lists[c].last ?? -1))
            }
            #expect(st.freeCount + lists.reduce(0) { $0 + $1.count } == 64)
        }
    }

    /// Recycled slots go out first (the latest returned first), then the
    /// never-used ones in ascending order, whether or not the slots were
    /// written at start-up; a never-used slot goes out empty.
    @Test(arguments: [true, false]) func slotOrder(prefault: Bool) {
        var st = StripeState(capacity: 8, histograms: 0, prefault: prefault)
        defer { st.deallocate() }
        #expect([st.popFree(), st.popFree(), st.popFree()] == [0, 1, 2])
        st.pushFree(1)
        st.pushFree(0)
        #expect([st.popFree(), st.popFree(), st.popFree()] == [0, 1, 3])
        #expect(st.freeCount == 4)
        #expect(!st.slots[3].inUse && st.slots[3].prev == -1 && st.slots[3].next == -1 && st.slots[3].clientIsA)
        while st.freeCount > 0 { _ = st.popFree() }
        st.pushFree(6)
        #expect(st.popFree() == 6)
    }
}
